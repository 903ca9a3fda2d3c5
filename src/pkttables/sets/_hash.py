"""Exact-key sets: nft_set_hash (rhash / hash / hash_fast) as a dict on key bytes.

The kernel hashes the key's ``klen`` bytes with jhash (or, for 4-byte keys, the key
itself: nft_hash_fast); equality is ``memcmp`` of the key.  A dict on ``bytes`` gives
the same answers in O(1).  An expired element is invisible to lookups
(``nft_rhash_cmp`` treats it as a mismatch); the owner removes it on the next insert
of the same key or at gc.

Cache behaviour at 1M elements
------------------------------
A dict lookup of a present key touches the index table, the entry table, the stored
key (for ``memcmp`` when the probe is another object, as a packet's key always is) and
then the element: four cache misses in a heap of hundreds of MB, which made a lookup at
1M cost 4-5x one at 100 although the algorithm is O(1).  Plain sets (no data, no
timeout flag, no element expressions: :func:`~pkttables.sets._common.plain_spec`) also
keep their keys in a ``set``, whose table holds key and hash inline: a lookup touches
that slot and the stored key, and answers the :data:`~pkttables.sets._common.PLAIN`
stand-in instead of reading the element.  The dict stays the source of truth for
commands and listings; the first non-plain element (one with its own counter, say)
drops the ``set`` for good.  Measured (sets/bench.py, fresh probe keys, alternated):
hash 1M vs 100 went from 2.7-4.3x to the figures in docs/sets.md.

That ``set`` is a :class:`pkttables.sets._keyset.KeySet` where the C extension is
built: the key bytes sit in the table slot (as nft_hash_fast keeps a 4-byte key in its
element), so a present key costs one memory read instead of the slot plus the stored
key object (docs/sets.md, "hash: the floor").  Without a compiler the extension is not
built and a Python ``set`` answers the same.
"""

from __future__ import annotations

import os

from pkttables.sets._common import PLAIN, Elem, is_plain, plain_spec

try:
    from pkttables.sets._keyset import KeySet
except ImportError:         # built without a C compiler: the Python set answers
    KeySet = None

__all__ = ["HashBackend", "KeySet"]

#: the inline table's hash seed, random per process as the kernel seeds jhash at boot
_SEED = int.from_bytes(os.urandom(8), "little")


def _keys(klen: int | None, keys=()):
    """The fast key set: an inline :class:`KeySet` of ``klen``-byte keys, else a ``set``."""
    if KeySet is not None and klen:
        ks = KeySet(klen, _SEED)
        try:
            ks.update(keys)
            return ks
        except ValueError:          # a key of another length: keep the general set
            pass
    return set(keys)


class HashBackend:
    kind = "hash"
    interval = False

    __slots__ = ("_d", "_fast", "_klen")

    def __init__(self, spec=None):
        self._d: dict[bytes, Elem] = {}
        self._klen: int | None = getattr(spec, "klen", None)
        #: the keys, while every element is plain; None otherwise
        self._fast = _keys(self._klen) if plain_spec(spec) else None

    def lookup(self, key: bytes, now_ns: int) -> Elem | None:
        """The packet path: the element, or :data:`PLAIN` for a plain one."""
        fast = self._fast
        if fast is not None:
            return PLAIN if key in fast else None
        e = self._d.get(key)
        if e is None or (e.expiration is not None and now_ns >= e.expiration):
            return None
        return e

    def elem(self, key: bytes, now_ns: int) -> Elem | None:
        """The live element itself (for commands that change or list it)."""
        e = self._d.get(key)
        if e is None or (e.expiration is not None and now_ns >= e.expiration):
            return None
        return e

    def get(self, key: bytes, key_end: bytes | None = None) -> Elem | None:
        return self._d.get(key)

    def clashes(self, key: bytes, end: bytes, now_ns: int) -> list[Elem]:
        e = self._d.get(key)
        return [] if e is None else [e]

    def _note(self, e: Elem) -> None:
        fast = self._fast
        if fast is not None:
            if is_plain(e):
                fast.add(e.key)
            else:
                self._fast = None

    def add(self, e: Elem) -> None:
        self._d[e.key] = e
        self._note(e)

    def bulk_load(self, elems) -> None:
        d = self._d
        for e in elems:
            d[e.key] = e
        if self._fast is not None:
            if all(is_plain(e) for e in d.values()):
                self._fast = _keys(self._klen, d)
            else:
                self._fast = None

    def remove(self, e: Elem) -> None:
        if self._d.get(e.key) is e:
            del self._d[e.key]
            if self._fast is not None:
                self._fast.discard(e.key)

    def __iter__(self):
        return iter(list(self._d.values()))

    def __len__(self) -> int:
        return len(self._d)
