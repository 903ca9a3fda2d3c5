"""``ct count``: the connection lists behind nft_connlimit (net/netfilter/nf_conncount.c).

A :class:`ConnCountList` remembers the connections counted for one key (one rule, or
one set element); :class:`ConnCount` maps keys to lists, as ``nf_conncount_data`` does
for ``add @s { ip saddr ct count over 10 }``.

The lists hold conntrack *identities* (any hashable: a tuple, an entry id) and never
own the entries.  Whoever drives them -- conntrack, later -- passes ``alive(conn_id)``,
which tells whether that entry still exists; dead ones are dropped lazily, as
``__nf_conncount_add`` does while it walks the list (at most ``CONNCOUNT_GC_MAX_NODES``
per call) and as ``nf_conncount_gc_list`` does from the gc.  Adding a connection that is
already listed does not count it twice (the kernel compares tuple and zone).
"""

from __future__ import annotations

from typing import Callable, Hashable

__all__ = ["ConnCountList", "ConnCount", "CONNCOUNT_GC_MAX_NODES"]

#: nf_conncount.c: how many dead entries one add may reap while walking the list.
CONNCOUNT_GC_MAX_NODES = 8

Alive = Callable[[Hashable], bool]


class ConnCountList:
    """The connections counted for one key, in insertion order."""

    __slots__ = ("_conns",)

    def __init__(self):
        self._conns: dict[Hashable, None] = {}

    @property
    def count(self) -> int:
        return len(self._conns)

    def add(self, conn_id: Hashable, alive: Alive | None = None) -> int:
        """Count ``conn_id`` (once); reap up to 8 dead entries on the way; new count."""
        if alive is not None:
            reaped = 0
            for c in list(self._conns):
                if reaped >= CONNCOUNT_GC_MAX_NODES:
                    break
                if c != conn_id and not alive(c):
                    del self._conns[c]
                    reaped += 1
        self._conns[conn_id] = None
        return len(self._conns)

    def remove(self, conn_id: Hashable) -> bool:
        return self._conns.pop(conn_id, 0) is None

    def gc(self, alive: Alive) -> bool:
        """Drop every dead entry (nf_conncount_gc_list); True when the list is empty."""
        for c in [c for c in self._conns if not alive(c)]:
            del self._conns[c]
        return not self._conns

    def __iter__(self):
        return iter(self._conns)

    def __len__(self) -> int:
        return len(self._conns)


class ConnCount:
    """Lists per key (``nf_conncount_count``): ``count(key, conn_id, alive)`` adds the
    connection to the key's list and returns how many live connections the key has."""

    def __init__(self):
        self._lists: dict[Hashable, ConnCountList] = {}

    def count(self, key: Hashable, conn_id: Hashable | None, alive: Alive | None = None) -> int:
        lst = self._lists.get(key)
        if conn_id is None:   # only look: no connection to add
            if lst is None:
                return 0
            if alive is not None:
                lst.gc(alive)
            return lst.count
        if lst is None:
            lst = self._lists[key] = ConnCountList()
        return lst.add(conn_id, alive)

    def remove(self, key: Hashable, conn_id: Hashable) -> bool:
        lst = self._lists.get(key)
        return bool(lst and lst.remove(conn_id))

    def gc(self, alive: Alive) -> int:
        """Reap dead connections everywhere and drop empty keys; returns keys dropped."""
        empty = [k for k, lst in self._lists.items() if lst.gc(alive)]
        for k in empty:
            del self._lists[k]
        return len(empty)

    def keys(self):
        return self._lists.keys()

    def __len__(self) -> int:
        return len(self._lists)
