"""Interval sets of one field: nft_set_rbtree as a fenced array of bounds and bisect.

nft sends an interval ``[a, b]`` as two elements: ``a`` and ``b + 1`` flagged
NFT_SET_ELEM_INTERVAL_END (none when ``b`` is the largest key); the kernel's red-black
tree orders them by ``memcmp`` of the key and a lookup walks to the greatest boundary
``<= key``: a start boundary means "inside".  Since the kernel refuses overlapping
intervals, the same answer comes from sorted arrays and one ``bisect``: parallel lists
of starts and inclusive ends while the set is small, one array of the boundaries
themselves once it is large.

Layout (why it is not a list of ``bytes``)
------------------------------------------
``memcmp`` order of big-endian keys of one length is the order of the unsigned
integers they spell, so a large set holds integers: ``array('I')`` for keys of up to 4
bytes, ``array('Q')`` up to 8, a list of ints beyond (IPv6).  An array keeps them
packed (16 per 64-byte cache line) where a list of ``bytes`` scatters one object per
boundary over the heap: a bisect over 1M of them took ~20 cache misses and cost 8-10x
a lookup at 100 elements.  (Lists of ``bytes`` per bucket, even allocated in order, were
measured again for issue 5: fast when hot, 2.5x slower than the arrays when cold.)

A small set (under ``FENCE_MIN``) keeps lists of the start and end ``bytes``
themselves: in the caches anyway, a bisect over them needs no ``int.from_bytes`` of
the key and no int object per array read (measured: 233 ns per lookup at 100 against
383 ns with arrays).  The representation switches when the set crosses ``FENCE_MIN``
(back below ``FENCE_MIN // 2``, so that one element going back and forth does not
convert each time).

The fenced form: one array of bounds
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
A set of ``FENCE_MIN`` or more intervals keeps **one** sorted array, the kernel's own
boundaries: ``bounds = [s0, e0+1, s1, e1+1, ...]`` (the last ``e+1`` is left out when
that interval ends at the largest key, as nft leaves out its end element).  Since the
intervals are disjoint the array is non-decreasing, and the count ``p`` of bounds
``<= key`` says everything: odd means inside interval ``p >> 1``, even means outside.
One bisect answers; the end is never read separately (a miss and an int less than
parallel ``starts``/``ends`` arrays: 1M lookups went from 588-656 to 524-560 ns at load
4, see docs/sets.md).  Adjacent intervals ``[a, b]``, ``[b+1, c]`` put ``b+1`` twice in
a row: a key ``b+1`` counts both and lands, rightly, in the second.

The **fence** is a direct-addressed top level over it: ``fence[j]`` is the position of
the first bound ``>= (base + j) << shift``.  A lookup of ``v`` bisects only
``bounds[fence[j]:fence[j+1]]`` for ``j = (v >> shift) - base`` (every bound before
``fence[j]`` is below ``v``, so ``p`` is still the global count).  When the bounds span
the key space (IPv4 spread over the Internet) ``base`` is 0 and the ``2**k`` buckets
cover every key: the lookup needs no range check.  When they are bunched (an IPv6
/48, one /16 of IPv4: the top bits are all equal and one bucket would hold
everything), the buckets cover only ``[bounds[0], bounds[-1]]``: a key below is
outside, a key above is inside only an interval open to the top
(:meth:`_lookup_offset`), and a bound added outside the range rebuilds the fence.
``k`` is chosen so that a bucket holds ~``BUCKET`` intervals; keys bunched inside the
range only make the bisect inside a bucket longer (O(log n), still exact).

Example: 1M intervals spread over 32 bits, ``BUCKET`` 2: ``k = (1M // 2).bit_length()
= 19``, ``shift = 13``; ``10.1.2.3`` (0x0a010203) reads ``fence[0x5008]`` and
``fence[0x5009]`` and bisects the ~4 bounds between them.

An insert or removal is a memmove of the array (O(n), C speed) and moves every fence
entry above each changed bound's bucket by one (a numpy slice add, O(n / BUCKET)); the
fence is rebuilt when the set has doubled or halved since it was built.

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
#: Intervals per fence bucket when keys are spread: 2 intervals = 4 bounds, a bisect of
#: 2-3 steps.  Measured at 1M (sets alternated in one process, thread time): BUCKET 32,
#: 16, 8, 4, 2, 1 gave 525, 483, 464, 457, 444, 451 ns cold and 403, 370, 345, 325,
#: 311, 296 ns hot: each array item read makes an int (~30 ns), so fewer bisect steps
#: win until the fence (4 bytes per bucket, 2 MiB at 1M) stops fitting the caches.
BUCKET = 2
#: Bounds spanning at least ``bits - SPREAD_BITS`` bits of the key space are "spread":
#: the buckets then cover the whole key space and a lookup needs no range check.
SPREAD_BITS = 4


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

    __slots__ = ("_klen", "_bits", "_max", "_tc", "_starts", "_ends", "_bounds", "_elems",
                 "_fence", "_shift", "_base", "_nb", "_fence_n", "_plain", "_spec_plain",
                 "_offset")

    def __init__(self, spec=None):
        self._klen = spec.klen if spec is not None else 16
        self._bits = 8 * self._klen
        self._max = (1 << self._bits) - 1
        self._tc = _typecode(self._klen)
        self._spec_plain = plain_spec(spec)
        self._reset()

    def _reset(self) -> None:
        self._starts: list = []                # small form: start keys (bytes)
        self._ends: list = []                  # small form: inclusive end keys (bytes)
        self._bounds: list | array = []        # fenced form: see the module docstring
        self._elems: list[Elem] = []
        self._fence: array | None = None       # None: small form (lists of bytes)
        self._shift = 0
        self._base = 0
        self._nb = 0
        self._fence_n = 0
        #: every element plain: lookups answer PLAIN without reading the element
        self._plain = self._spec_plain
        #: fenced with buckets over the bounds' range only (range checks needed)
        self._offset = False

    # ------------------------------------------------------------------ fence

    def _to_small(self) -> None:
        self._fence = None
        self._bounds = []
        self._starts = [e.key for e in self._elems]
        self._ends = [e.end for e in self._elems]

    def _build_fence(self) -> None:
        """Switch to the fenced form (the bounds array and the fence) from either form."""
        n = len(self._elems)
        self._fence_n = n
        self._starts = self._ends = []
        bits, tc, top = self._bits, self._tc, self._max
        starts = [e.key for e in self._elems]
        ends = [e.end for e in self._elems]
        open_end = n > 0 and int.from_bytes(ends[-1], "big") == top
        if tc is not None:
            width = np.uint32 if tc == "I" else np.uint64
            st = np.frombuffer(key_ints(starts, self._klen, tc), dtype=width).astype(np.uint64)
            en = np.frombuffer(key_ints(ends, self._klen, tc), dtype=width).astype(np.uint64)
            b = np.empty(2 * n, dtype=np.uint64)
            b[0::2] = st
            b[1::2] = en + np.uint64(1)       # wraps for a 'Q' end at the top: dropped below
            if open_end:
                b = b[:-1]
            bounds = array(tc, b.astype(width).tobytes())
            del st, en
        else:
            bounds = []
            for k, e in zip(starts, ends):
                bounds.append(int.from_bytes(k, "big"))
                bounds.append(int.from_bytes(e, "big") + 1)
            if open_end:
                bounds.pop()
            b = None
        self._bounds = bounds
        self._fence_from_bounds(b)

    def _fence_from_bounds(self, b=None) -> None:
        """``fence[j]`` = the number of bounds below bucket ``j``'s first key; buckets
        span ``[lo, hi]`` of the bounds, ``2**k`` of them for ``n`` intervals."""
        bounds, bits = self._bounds, self._bits
        n = len(self._elems)
        k = min(bits, max(1, (n // BUCKET).bit_length()))
        if not bounds:
            lo = hi = 0
        else:
            lo, hi = bounds[0], bounds[-1]
        span = hi - lo
        if span.bit_length() >= bits - SPREAD_BITS:
            # spread over the key space: buckets on the top k bits, no range checks
            shift, base, nb = bits - k, 0, 1 << k
        else:
            # bunched (an IPv6 /48, one /16 of IPv4): buckets over [lo, hi] only
            shift = max(0, span.bit_length() - k)
            base = lo >> shift
            nb = (hi >> shift) - base + 1
        # a bound v is >= bucket j's first key (base + j) << shift exactly when its
        # bucket number (v >> shift) - base is >= j: count in bucket numbers (small ints)
        # (every bound is >= bounds[0], so no bucket number is negative)
        if b is not None:
            q = ((b >> np.uint64(shift)) - np.uint64(base)).astype(np.int64)
        else:                       # wide keys: Python ints
            q = np.fromiter(((v >> shift) - base for v in bounds), dtype=np.int64, count=len(bounds))
        pos = np.searchsorted(q, np.arange(nb, dtype=np.int64), side="left")
        fence = array("I", pos.astype(np.uint32).tobytes())
        fence.append(len(bounds))
        self._fence, self._shift, self._base, self._nb = fence, shift, base, nb
        self._offset = not (base == 0 and nb << shift > self._max)

    def _moved(self, v: int, d: int) -> bool:
        """One bound ``v`` went in (d=1) or out (-1): move the fence entries above its
        bucket (a numpy slice add).  False when ``v`` lies outside the buckets."""
        j = (v >> self._shift) - self._base
        if j < 0 or j >= self._nb:
            return False
        view = np.frombuffer(self._fence, dtype=np.uint32)
        if d > 0:
            view[j + 1:] += np.uint32(1)
        else:
            view[j + 1:] -= np.uint32(1)
        return True

    def _resized(self, moved: list[int], d: int) -> None:
        """After one interval's bounds ``moved`` were inserted (d=1) or removed (-1):
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
        ok = True
        for v in moved:
            ok = self._moved(v, d) and ok
        if not ok:          # a bound outside the buckets' range: new range, new fence
            self._rebucket()

    def _rebucket(self) -> None:
        b = None
        if self._tc is not None:
            b = np.frombuffer(self._bounds, dtype=np.uint32 if self._tc == "I" else np.uint64)
            b = b.astype(np.uint64)
        self._fence_from_bounds(b)

    # ------------------------------------------------------------------ lookup

    def lookup(self, key: bytes, now_ns: int) -> Elem | None:
        """The packet path: the element holding ``key`` (or :data:`PLAIN`), else None.

        Fenced, buckets over the whole key space: one bisect over one bucket's bounds;
        an odd count of bounds ``<= key`` means inside.  (One method with a branch, not
        a bound method per form stored on the instance: calling that cost 9 ns more at
        100 elements, measured.)"""
        fence = self._fence
        if fence is None:
            i = bisect_right(self._starts, key) - 1
            if i < 0 or key > self._ends[i]:
                return None
            if self._plain:
                return PLAIN
            e = self._elems[i]
        else:
            if self._offset:
                return self._lookup_offset(key, now_ns)
            v = _from_bytes(key, "big")
            j = v >> self._shift
            p = bisect_right(self._bounds, v, fence[j], fence[j + 1])
            if not p & 1:
                return None
            if self._plain:
                return PLAIN
            e = self._elems[p >> 1]
        if e.expiration is not None and now_ns >= e.expiration:
            return None
        return e

    def _lookup_offset(self, key: bytes, now_ns: int) -> Elem | None:
        """:meth:`lookup` when the buckets cover the bounds' range only: below the
        range nothing matches, above it only an interval open to the top key."""
        v = _from_bytes(key, "big")
        j = (v >> self._shift) - self._base
        if j < 0:
            return None
        if j >= self._nb:
            p = len(self._bounds)
        else:
            fence = self._fence
            p = bisect_right(self._bounds, v, fence[j], fence[j + 1])
        if not p & 1:
            return None
        if self._plain:
            return PLAIN
        e = self._elems[p >> 1]
        if e.expiration is not None and now_ns >= e.expiration:
            return None
        return e

    def _index(self, key: bytes) -> int:
        """The position of the interval holding ``key`` (expired or not), else -1."""
        if self._fence is None:
            i = bisect_right(self._starts, key) - 1
            return -1 if i < 0 or key > self._ends[i] else i
        p = bisect_right(self._bounds, int.from_bytes(key, "big"))
        return p >> 1 if p & 1 else -1

    def elem(self, key: bytes, now_ns: int) -> Elem | None:
        """The live element itself holding ``key`` (for commands)."""
        i = self._index(key)
        if i < 0:
            return None
        e = self._elems[i]
        if e.expiration is not None and now_ns >= e.expiration:
            return None
        return e

    def get(self, key: bytes, key_end: bytes | None = None) -> Elem | None:
        """The element starting at ``key`` (and ending at ``key_end`` when given)."""
        i = self._index(key)
        if i >= 0:
            e = self._elems[i]
            if e.key == key and (key_end is None or e.end == key_end):
                return e
        return None

    def clashes(self, key: bytes, end: bytes, now_ns: int) -> list[Elem]:
        """Every element overlapping ``[key, end]`` (expired ones included)."""
        if self._fence is None:
            out = []
            i = bisect_right(self._starts, end) - 1
            ends = self._ends
            while i >= 0:
                if ends[i] < key:
                    break
                out.append(self._elems[i])
                i -= 1
            out.reverse()
            return out
        bounds = self._bounds
        # the first interval holding or after ``key``, the last holding or before ``end``
        first = bisect_right(bounds, int.from_bytes(key, "big")) >> 1
        last = (bisect_right(bounds, int.from_bytes(end, "big")) - 1) >> 1
        return self._elems[first:last + 1]

    # ------------------------------------------------------------------ updates

    def add(self, e: Elem) -> None:
        """Insert one interval; the caller has removed every element it overlaps."""
        if self._fence is None:
            i = bisect_left(self._starts, e.key)
            self._starts.insert(i, e.key)
            self._ends.insert(i, e.end)
            self._elems.insert(i, e)
            moved: list[int] = []
        else:
            v = int.from_bytes(e.key, "big")
            w = int.from_bytes(e.end, "big") + 1
            # bounds <= v: whole intervals before, plus an end equal to v (adjacent)
            i = bisect_right(self._bounds, v) >> 1
            self._bounds.insert(2 * i, v)
            moved = [v]
            if w <= self._max:
                self._bounds.insert(2 * i + 1, w)
                moved.append(w)
            self._elems.insert(i, e)
        if self._plain and not is_plain(e):
            self._plain = False
        self._resized(moved, 1)

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
        elems = self._elems
        if self._fence is None:
            i = bisect_left(self._starts, e.key)
            while i < len(elems) and elems[i] is not e and self._starts[i] == e.key:
                i += 1
            if i >= len(elems) or elems[i] is not e:
                return
            del self._starts[i], self._ends[i], elems[i]
            self._resized([], -1)
            return
        i = self._index(e.key)
        if i < 0 or elems[i] is not e:
            return
        bounds = self._bounds
        moved = [bounds[2 * i]]
        if 2 * i + 1 < len(bounds):
            moved.append(bounds[2 * i + 1])
        del bounds[2 * i:2 * i + len(moved)]
        del elems[i]
        self._resized(moved, -1)

    def stats(self) -> dict:
        return {"elements": len(self._elems), "fence": 0 if self._fence is None else len(self._fence),
                "shift": self._shift, "base": self._base, "offset": self._offset, "plain": self._plain,
                "form": "bytes" if self._fence is None else (self._tc or "ints")}

    def __iter__(self):
        return iter(list(self._elems))

    def __len__(self) -> int:
        return len(self._elems)
