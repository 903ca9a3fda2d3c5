"""Interval sets of one field: nft_set_rbtree as sorted boundary arrays and bisect.

nft sends an interval ``[a, b]`` as two elements: ``a`` and ``b + 1`` flagged
NFT_SET_ELEM_INTERVAL_END (none when ``b`` is the largest key); the kernel's red-black
tree orders them by ``memcmp`` of the key and a lookup walks to the greatest boundary
``<= key``: a start boundary means "inside".  Since the kernel refuses overlapping
intervals, the same answer comes from two parallel sorted lists -- ``starts`` and the
elements, each holding its inclusive end -- and one ``bisect``: O(log n) per lookup,
O(n) memmove per insert (cheap at 1M: C memmove of pointers).

Overlap (``__nft_rbtree_insert``): the same start and end as a live element is
``EEXIST`` (the caller decides between "already there" and a clash); any other overlap
is ``ENOTEMPTY``, which nf_tables_api turns into ``EEXIST`` too.  Expired elements met
on the way are not overlaps: the kernel collects them synchronously during insert.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from pkttables.sets._common import Elem

__all__ = ["IntervalBackend"]


class IntervalBackend:
    kind = "rbtree"
    interval = True

    __slots__ = ("_starts", "_elems")

    def __init__(self, spec=None):
        self._starts: list[bytes] = []
        self._elems: list[Elem] = []

    def lookup(self, key: bytes, now_ns: int) -> Elem | None:
        i = bisect_right(self._starts, key) - 1
        if i < 0:
            return None
        e = self._elems[i]
        if key > e.end or (e.expiration is not None and now_ns >= e.expiration):
            return None
        return e

    def get(self, key: bytes, key_end: bytes | None = None) -> Elem | None:
        i = bisect_left(self._starts, key)
        if i < len(self._starts) and self._starts[i] == key:
            e = self._elems[i]
            if key_end is None or e.end == key_end:
                return e
        return None

    def clashes(self, key: bytes, end: bytes, now_ns: int) -> list[Elem]:
        """Every element overlapping ``[key, end]`` (expired ones included)."""
        out = []
        i = bisect_right(self._starts, end) - 1
        while i >= 0:
            e = self._elems[i]
            if e.end < key:
                break
            out.append(e)
            i -= 1
        out.reverse()
        return out

    def add(self, e: Elem) -> None:
        i = bisect_left(self._starts, e.key)
        self._starts.insert(i, e.key)
        self._elems.insert(i, e)

    def bulk_load(self, elems) -> None:
        merged = sorted(list(self._elems) + list(elems), key=lambda e: e.key)
        self._elems = merged
        self._starts = [e.key for e in merged]

    def remove(self, e: Elem) -> None:
        i = bisect_left(self._starts, e.key)
        while i < len(self._elems) and self._starts[i] == e.key:
            if self._elems[i] is e:
                del self._starts[i]
                del self._elems[i]
                return
            i += 1

    def __iter__(self):
        return iter(list(self._elems))

    def __len__(self) -> int:
        return len(self._elems)
