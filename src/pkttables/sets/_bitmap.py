"""Keys of at most 16 bits: nft_set_bitmap.

The kernel keeps two bits per possible key (current and next generation) in a bitmap
of ``2**bits`` entries and a list of the elements for dumps; nft_bitmap_estimate takes
only ``klen <= 2`` and, having no features, only plain sets (no map, interval or
timeout).  Here: one slot per possible key holding the element or None, so a lookup is
an index.  The key is read big-endian, as the kernel's ``nft_bitmap_location`` indexes
the raw bytes (the order only matters for listings, which follow insertion order like
the kernel's list).

While every element is plain (:func:`~pkttables.sets._common.is_plain`) the packet path
reads a ``bytearray`` of one byte per key instead (64 KiB for 16 bits, which stays in
the CPU caches, where the slot list is 512 KiB of pointers to elements all over the
heap) and answers the :data:`~pkttables.sets._common.PLAIN` stand-in.
"""

from __future__ import annotations

from pkttables.sets._common import PLAIN, Elem, is_plain

__all__ = ["BitmapBackend"]


class BitmapBackend:
    kind = "bitmap"
    interval = False

    __slots__ = ("_slots", "_order", "_klen", "_fast")

    def __init__(self, spec):
        self._klen = spec.klen
        self._slots: list[Elem | None] = [None] * (1 << (8 * spec.klen))
        self._order: dict[int, Elem] = {}   # insertion order, as the kernel's list
        #: presence bytes while every element is plain; None otherwise
        self._fast: bytearray | None = bytearray(1 << (8 * spec.klen))

    def _idx(self, key: bytes) -> int:
        return int.from_bytes(key, "big")

    def lookup(self, key: bytes, now_ns: int) -> Elem | None:
        fast = self._fast
        if fast is not None:
            # two byte reads are cheaper than int.from_bytes (60 vs 80 ns)
            return PLAIN if fast[(key[0] << 8) | key[1] if self._klen == 2 else key[0]] else None
        e = self._slots[int.from_bytes(key, "big")]
        if e is None or (e.expiration is not None and now_ns >= e.expiration):
            return None
        return e

    def elem(self, key: bytes, now_ns: int) -> Elem | None:
        e = self._slots[int.from_bytes(key, "big")]
        if e is None or (e.expiration is not None and now_ns >= e.expiration):
            return None
        return e

    def get(self, key: bytes, key_end: bytes | None = None) -> Elem | None:
        return self._slots[self._idx(key)]

    def clashes(self, key: bytes, end: bytes, now_ns: int) -> list[Elem]:
        e = self._slots[self._idx(key)]
        return [] if e is None else [e]

    def add(self, e: Elem) -> None:
        i = self._idx(e.key)
        self._slots[i] = e
        self._order[i] = e
        if self._fast is not None:
            if is_plain(e):
                self._fast[i] = 1
            else:
                self._fast = None

    def bulk_load(self, elems) -> None:
        for e in elems:
            self.add(e)

    def remove(self, e: Elem) -> None:
        i = self._idx(e.key)
        if self._slots[i] is e:
            self._slots[i] = None
            del self._order[i]
            if self._fast is not None:
                self._fast[i] = 0

    def __iter__(self):
        return iter(list(self._order.values()))

    def __len__(self) -> int:
        return len(self._order)
