"""Interval sets of one field: nft_set_rbtree as a fenced sorted array and bisect.

nft sends an interval ``[a, b]`` as two elements: ``a`` and ``b + 1`` flagged
NFT_SET_ELEM_INTERVAL_END (none when ``b`` is the largest key); the kernel's red-black
tree orders them by ``memcmp`` of the key and a lookup walks to the greatest boundary
``<= key``: a start boundary means "inside".  Since the kernel refuses overlapping
intervals, the same answer comes from parallel sorted arrays -- ``starts``, inclusive
``ends`` and the elements -- and one ``bisect``.

Layout (why it is not a list of ``bytes``)
------------------------------------------
``memcmp`` order of big-endian keys of one length is the order of the unsigned
integers they spell, so a large set's ``starts`` and ``ends`` hold integers:
``array('I')`` for keys of up to 4 bytes, ``array('Q')`` up to 8, lists of ints beyond
(IPv6).  An array keeps the boundaries packed (16 starts per 64-byte cache line) where
a list of ``bytes`` scatters one object per boundary over the heap: a bisect over 1M of
them took ~20 cache misses and cost 8-10x a lookup at 100 elements.

A small set (under ``FENCE_MIN``) keeps lists of the key ``bytes`` themselves: in the
caches anyway, a bisect over them needs no ``int.from_bytes`` of the key and no int
object per array read (measured: 233 ns per lookup at 100 against 383 ns with arrays).
The representation switches when the set crosses ``FENCE_MIN`` (back below
``FENCE_MIN // 2``, so that one element going back and forth does not convert each
time); ``_k`` turns a key into whichever form the arrays hold.

A set of ``FENCE_MIN`` or more intervals also has a **fence**, a direct-addressed top
index: ``fence[j]`` is the position of the first start ``>= j << shift``, with
``shift`` chosen so that a bucket holds ~``BUCKET`` starts when the keys are spread.
A lookup of ``v`` bisects only ``starts[fence[j]:fence[j+1]]`` for ``j = v >> shift``
(the start just before ``fence[j]`` is the greatest below the bucket, so ``i - 1`` may
fall there, correctly).  The fence is 4 bytes per bucket (256 KiB at 1M: it stays in
the L2 cache), a bucket's starts sit in one or two cache lines, ``ends[i]`` is one more:
about two misses per lookup whatever the size.  Keys bunched into a few buckets only
make the bisect inside a bucket longer (O(log n), still exact).

Example: 1M starts spread over 32 bits, ``BUCKET`` 16: ``k = (1M // 16).bit_length()
= 16``, ``shift = 16``; ``10.1.2.3`` (0x0a010203) reads ``fence[0x0a01]`` and
``fence[0x0a02]`` and bisects the ~16 starts between them.

An insert or removal is a memmove of the arrays (O(n), C speed) and moves every fence
entry above the key's bucket by one (a numpy slice add, O(n / BUCKET)); the fence is
rebuilt when the set has doubled or halved since it was built.

Plain sets (:func:`~pkttables.sets._common.plain_spec`, every element plain) answer the
:data:`~pkttables.sets._common.PLAIN` stand-in without reading the element.

Overlap (``__nft_rbtree_insert``): the same start and end as a live element is
``EEXIST`` (the caller decides between "already there" and a clash); any other overlap
is ``ENOTEMPTY``, which nf_tables_api turns into ``EEXIST`` too.  Expired elements met
on the way are not overlaps: the kernel collects them synchronously during insert.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right

import numpy as np

from pkttables.sets._common import PLAIN, Elem, is_plain, plain_spec

__all__ = ["IntervalBackend", "FENCE_MIN", "BUCKET"]

#: ``int.from_bytes`` as a global: the attribute lookup on ``int`` costs ~35 ns, half
#: of the conversion, on every fenced lookup.
_from_bytes = int.from_bytes

#: Below this many intervals one bisect over the whole array is as cheap as going
#: through the fence (both fit in the caches).
FENCE_MIN = 2048
#: Starts per fence bucket when keys are spread: 16 uint32 = one cache line.
BUCKET = 16


def _typecode(klen: int) -> str | None:
    if klen <= 4:
        return "I"
    if klen <= 8:
        return "Q"
    return None            # wider keys: lists of Python ints


def key_ints(keys: list[bytes], klen: int, typecode: str | None):
    """Big-endian keys of ``klen`` bytes -> an array (or list) of their integers."""
    if typecode is None or not keys:
        out = [int.from_bytes(k, "big") for k in keys]
        return out if typecode is None else array(typecode, out)
    width = 4 if typecode == "I" else 8
    raw = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), klen)
    if klen != width:       # left-pad with zero bytes to the array's width
        raw = np.concatenate([np.zeros((len(keys), width - klen), np.uint8), raw], axis=1)
    vals = np.ascontiguousarray(raw).view(">u%d" % width).reshape(-1)
    out = array(typecode)
    out.frombytes(vals.astype("=u%d" % width).tobytes())
    return out


class IntervalBackend:
    kind = "rbtree"
    interval = True

    __slots__ = ("_klen", "_bits", "_tc", "_starts", "_ends", "_elems", "_fence", "_shift",
                 "_fence_n", "_plain", "_spec_plain")

    def __init__(self, spec=None):
        self._klen = spec.klen if spec is not None else 16
        self._bits = 8 * self._klen
        self._tc = _typecode(self._klen)
        self._spec_plain = plain_spec(spec)
        self._reset()

    def _reset(self) -> None:
        self._starts: list | array = []
        self._ends: list | array = []
        self._elems: list[Elem] = []
        self._fence: array | None = None       # None: small form (lists of bytes)
        self._shift = 0
        self._fence_n = 0
        #: every element plain: lookups answer PLAIN without reading the element
        self._plain = self._spec_plain

    def _k(self, key: bytes):
        """A key in the form the arrays hold: bytes when small, an int when fenced."""
        return key if self._fence is None else int.from_bytes(key, "big")

    # ------------------------------------------------------------------ fence

    def _to_small(self) -> None:
        self._fence = None
        self._starts = [e.key for e in self._elems]
        self._ends = [e.end for e in self._elems]

    def _build_fence(self) -> None:
        """Switch to the fenced form (arrays of ints and the fence) from either form."""
        n = len(self._elems)
        self._fence_n = n
        bits = self._bits
        self._starts = key_ints([e.key for e in self._elems], self._klen, self._tc)
        self._ends = key_ints([e.end for e in self._elems], self._klen, self._tc)
        k = min(bits, max(1, (n // BUCKET).bit_length()))
        if self._tc is not None:
            st = np.frombuffer(self._starts, dtype=np.uint32 if self._tc == "I" else np.uint64)
            marks = np.arange(1 << k, dtype=np.uint64) << np.uint64(bits - k)
        else:       # wide keys: the top 64 bits are enough to bucket
            st = np.fromiter((v >> (bits - 64) for v in self._starts), dtype=np.uint64, count=n)
            marks = np.arange(1 << k, dtype=np.uint64) << np.uint64(64 - k)
        pos = np.searchsorted(st, marks, side="left")
        del st                  # release the buffer: the array may be resized later
        self._shift = bits - k
        fence = array("I", pos.astype(np.uint32).tobytes())
        fence.append(n)
        self._fence = fence

    def _resized(self, v, d: int) -> None:
        """After one start ``v`` (in ``_k`` form) was inserted (d=1) or removed (-1):
        switch forms at the thresholds, else keep the fence right."""
        n = len(self._elems)
        if self._fence is None:
            if n >= FENCE_MIN:
                self._build_fence()
            return
        if n < FENCE_MIN // 2:
            self._to_small()
            return
        if n > 2 * self._fence_n or 2 * n < self._fence_n:
            self._build_fence()
            return
        view = np.frombuffer(self._fence, dtype=np.uint32)
        j = (v >> self._shift) + 1
        if d > 0:
            view[j:] += np.uint32(1)
        else:
            view[j:] -= np.uint32(1)

    # ------------------------------------------------------------------ lookup

    def lookup(self, key: bytes, now_ns: int) -> Elem | None:
        """The packet path: the element holding ``key`` (or :data:`PLAIN`), else None."""
        fence = self._fence
        if fence is None:
            i = bisect_right(self._starts, key) - 1
            if i < 0 or key > self._ends[i]:
                return None
        else:
            v = _from_bytes(key, "big")
            j = v >> self._shift
            i = bisect_right(self._starts, v, fence[j], fence[j + 1]) - 1
            if i < 0 or v > self._ends[i]:
                return None
        if self._plain:
            return PLAIN
        e = self._elems[i]
        if e.expiration is not None and now_ns >= e.expiration:
            return None
        return e

    def elem(self, key: bytes, now_ns: int) -> Elem | None:
        """The live element itself holding ``key`` (for commands)."""
        v = self._k(key)
        i = bisect_right(self._starts, v) - 1
        if i < 0 or v > self._ends[i]:
            return None
        e = self._elems[i]
        if e.expiration is not None and now_ns >= e.expiration:
            return None
        return e

    def get(self, key: bytes, key_end: bytes | None = None) -> Elem | None:
        v = self._k(key)
        i = bisect_left(self._starts, v)
        if i < len(self._starts) and self._starts[i] == v:
            e = self._elems[i]
            if key_end is None or e.end == key_end:
                return e
        return None

    def clashes(self, key: bytes, end: bytes, now_ns: int) -> list[Elem]:
        """Every element overlapping ``[key, end]`` (expired ones included)."""
        out = []
        lo = self._k(key)
        i = bisect_right(self._starts, self._k(end)) - 1
        ends = self._ends
        while i >= 0:
            if ends[i] < lo:
                break
            out.append(self._elems[i])
            i -= 1
        out.reverse()
        return out

    # ------------------------------------------------------------------ updates

    def add(self, e: Elem) -> None:
        v = self._k(e.key)
        i = bisect_left(self._starts, v)
        self._starts.insert(i, v)
        self._ends.insert(i, self._k(e.end))
        self._elems.insert(i, e)
        if self._plain and not is_plain(e):
            self._plain = False
        self._resized(v, 1)

    def bulk_load(self, elems) -> None:
        merged = list(self._elems) + list(elems)
        merged.sort(key=lambda e: e.key)
        self._reset()
        self._elems = merged
        self._plain = self._spec_plain and all(is_plain(e) for e in merged)
        if len(merged) >= FENCE_MIN:
            self._build_fence()
        else:
            self._to_small()

    def remove(self, e: Elem) -> None:
        v = self._k(e.key)
        starts = self._starts
        i = bisect_left(starts, v)
        while i < len(self._elems) and starts[i] == v:
            if self._elems[i] is e:
                del starts[i]
                del self._ends[i]
                del self._elems[i]
                self._resized(v, -1)
                return
            i += 1

    def stats(self) -> dict:
        return {"elements": len(self._elems), "fence": 0 if self._fence is None else len(self._fence),
                "shift": self._shift, "plain": self._plain,
                "form": "bytes" if self._fence is None else (self._tc or "ints")}

    def __iter__(self):
        return iter(list(self._elems))

    def __len__(self) -> int:
        return len(self._elems)
