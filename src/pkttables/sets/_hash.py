"""Exact-key sets: nft_set_hash (rhash / hash / hash_fast) as a dict on key bytes.

The kernel hashes the key's ``klen`` bytes with jhash (or, for 4-byte keys, the key
itself: nft_hash_fast); equality is ``memcmp`` of the key.  A dict on ``bytes`` gives
the same answers in O(1).  An expired element is invisible to lookups
(``nft_rhash_cmp`` treats it as a mismatch); the owner removes it on the next insert
of the same key or at gc.
"""

from __future__ import annotations

from pkttables.sets._common import Elem

__all__ = ["HashBackend"]


class HashBackend:
    kind = "hash"
    interval = False

    __slots__ = ("_d",)

    def __init__(self, spec=None):
        self._d: dict[bytes, Elem] = {}

    def lookup(self, key: bytes, now_ns: int) -> Elem | None:
        e = self._d.get(key)
        if e is None or (e.expiration is not None and now_ns >= e.expiration):
            return None
        return e

    def get(self, key: bytes, key_end: bytes | None = None) -> Elem | None:
        return self._d.get(key)

    def clashes(self, key: bytes, end: bytes, now_ns: int) -> list[Elem]:
        e = self._d.get(key)
        return [] if e is None else [e]

    def add(self, e: Elem) -> None:
        self._d[e.key] = e

    def bulk_load(self, elems) -> None:
        for e in elems:
            self._d[e.key] = e

    def remove(self, e: Elem) -> None:
        if self._d.get(e.key) is e:
            del self._d[e.key]

    def __iter__(self):
        return iter(list(self._d.values()))

    def __len__(self) -> int:
        return len(self._d)
