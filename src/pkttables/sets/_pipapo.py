"""Concatenations with ranges (the kernel's ``nft_set_pipapo``): boxes, stabbed by a point.

Problem
-------
An element of ``ipv4_addr . inet_service`` with ``flags interval`` is a *box*: one
inclusive range per field (``10.0.0.0/8 . 10-20``).  A lookup gets a point (the
register bytes: each field padded to 4 bytes) and must answer the box that contains
it; when boxes overlap (the kernel accepts a box that strictly encloses another) the
**oldest live** one wins -- the kernel's pipapo answers the lowest rule index (``ffs``
over the final bitmap), skips expired ones (``goto next_match``), and appends rules in
insertion order.

The kernel's algorithm (per-field 4-bit lookup tables of rule bitmaps, ANDed field by
field, with mapping tables between fields) costs O(n / 64) words per lookup: linear in
the element count with an AVX2 constant.  In Python that is O(n) big-int or numpy work
per packet, which at 1M elements is 10-100x the cost at 100.  The issue asks for a
lookup whose cost does not grow with the element count, so this backend keeps the
kernel's *answers* with another exact structure.

Algorithm: one field decides, the others verify
-----------------------------------------------
1. Every element is **assigned to one field**: the one where it overlaps the fewest
   other elements, estimated as ``same_f + n * width_f / 2**bits_f`` (``same_f``: how
   many elements have exactly this range in field ``f``; the second term is the
   expected number of random elements whose range in ``f`` covers a point of this
   one).  ``10.1.2.0/24 . 1000-1099`` goes to the address field; ``10.0.0.1 . 22``,
   one of a thousand ports of one host, goes to the port field.
2. The elements of a field are split into **layers** in which their ranges in that
   field are pairwise disjoint (first fit in order of range start: for intervals this
   uses the fewest layers possible, the maximum overlap depth).  A layer is sorted
   parallel lists ``starts``, ``ends``, the element, its ranges in the other fields.
3. A **lookup** bisects each layer of each field once: at most one element of a layer
   holds the point in that field; it matches if the other fields hold it too.  The
   answer is the matching live element with the lowest insertion number.  Cost:
   ``sum(layers)`` bisects, O(log n) each, independent of ``n`` as long as the overlap
   depth is.
4. Elements that fit no layer (depth over ``MAX_LAYERS`` in every field: many boxes
   piled on one point) go to a **residual** list that is scanned linearly (Python for a
   few, numpy vectorised range checks for more).  Only adversarial sets get there; the
   answer stays exact, only the cost degrades, and ``stats()`` reports it.

Worked example: ``10.0.0.0/8 . 10-20`` (#0), ``10.1.0.0/16 . 0-65535`` (#1) and
``192.168.1.1 . 22`` (#2) in an empty set.  Scores: #0 field 0 (``2**24/2**32*3``
< ``11/65536*3``); #1 field 0; #2 field 0 (a single address).  Field 0's ranges of
#0 and #1 overlap, so #1 starts layer 1; #2 goes to layer 0 after #0.  The point
``10.1.2.3 . 15`` bisects layer 0 -> #0 (port 15 in 10-20: match) and layer 1 -> #1
(match): the answer is #0, the older.

Clash rules (nft_pipapo_insert): the new box's start point inside a live element is
EEXIST if both start and end are equal, else ENOTEMPTY; the end point inside one is
ENOTEMPTY.  A box that strictly encloses an existing one is *not* detected (checked
with nft 1.0.6 on Linux 6.18: ``0.0.0.0/0 . 0-65535`` is accepted next to
``10.0.0.0/8 . 10-20``).  :meth:`PipapoBackend.clashes` gives the caller those points'
elements.

References: net/netfilter/nft_set_pipapo.c (theory of operation), Stefano Brivio,
"nftables set with arbitrary concatenation of ranges" (2020); interval partitioning
(first fit by left endpoint is optimal: Kleinberg and Tardos, *Algorithm Design* 4.1).
"""

from __future__ import annotations

import struct
from bisect import bisect_left, bisect_right
from array import array

import numpy as np

from pkttables.sets._common import PLAIN, Elem, is_plain, plain_spec

__all__ = ["PipapoBackend", "range_to_prefixes", "MAX_LAYERS"]

#: Layers kept per field before elements spill into the residual.  Each layer is one
#: bisect per lookup (~0.3 us); 16 keeps the worst layered lookup near 5 us.
MAX_LAYERS = 16
#: Up to this many residual elements are checked in Python; beyond it numpy is cheaper
#: (a vectorised check costs ~10 numpy calls, ~10-20 us, whatever the size).
RESIDUAL_PY_MAX = 48
#: Layers from this size on get a fence (see :class:`_Layer`); below it one bisect over
#: the list is as cheap as the fence's two array reads.
FENCE_MIN = 2048
#: ``int.from_bytes`` as a global: the attribute lookup on ``int`` is half its cost.
_from_bytes = int.from_bytes


def range_to_prefixes(lo: int, hi: int, bits: int) -> list[tuple[int, int]]:
    """Split ``[lo, hi]`` over ``bits`` bits into (value, prefix length) netmasks
    (what the kernel's pipapo inserts per field, ``pipapo_expand``)."""
    out = []
    while lo <= hi:
        # the largest aligned block starting at lo that does not pass hi
        size = lo & -lo if lo else 1 << bits
        while lo + size - 1 > hi:
            size >>= 1
        out.append((lo, bits - size.bit_length() + 1))
        lo += size
    return out


class _Layer:
    """Elements whose ranges in one field are pairwise disjoint, sorted by start.

    A large layer also has a *fence*: the starts' positions at every ``2**shift`` of the
    field's value space (``fence[j]`` = first start >= ``j << shift``), so a lookup
    bisects only between ``fence[v >> shift]`` and the next one -- a few entries for
    spread-out keys instead of ``log2(n)`` cache misses over a list of 1M ints.  It is
    built lazily (numpy) by the first lookup after a bulk change, and kept up to date
    by single inserts and removals: a start inserted (removed) at ``v`` moves every
    fence entry of a bucket above ``v >> shift`` by one (one numpy slice add, instead
    of an O(n) rebuild, which cost 50 ms at 1M per change); it is rebuilt once the
    layer has doubled or halved since the build, so the buckets stay a few wide.

    A fenced layer also switches to its *packed form* (fields up to 64 bits): ``starts``,
    ``ends`` and ``prios`` become ``array('Q')``, and ``oth`` holds, for every other
    field, ``array('Q')`` of its lows and highs.  A lookup then reads a few 8-byte slots
    at one index (one cache line each) instead of Python ints, a box tuple and its ints
    scattered over the heap (at 1M: ~5 cache misses instead of ~10).  Small layers keep
    lists: in the caches anyway, a list read needs no int allocation."""

    __slots__ = ("starts", "ends", "elems", "boxes", "prios", "fence", "shift", "dirty",
                 "fence_n", "oth")

    def __init__(self):
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.elems: list[Elem] = []
        self.boxes: list[tuple[int, ...]] = []     # (lo0, hi0, lo1, hi1, ...) all fields
        self.prios: list[int] = []
        self.fence = None
        self.shift = 0
        self.dirty = True
        self.fence_n = 0
        #: packed form: [(field, lows, highs)] of the other fields; None in list form
        self.oth: list | None = None

    def _shift_fence(self, v: int, d: int) -> None:
        n = len(self.starts)
        if self.fence is None:
            self.dirty = True       # (re)built at the next lookup when large enough
            return
        if n > 2 * self.fence_n or 2 * n < self.fence_n:
            self.fence = None
            self.dirty = True
            return
        view = np.frombuffer(self.fence, dtype=np.uint32)
        j = (v >> self.shift) + 1
        if d > 0:
            view[j:] += np.uint32(1)
        else:
            view[j:] -= np.uint32(1)

    def _pack(self, f: int, all_bits: list[int]) -> None:
        """List form -> packed form (see the class docstring), when every field fits."""
        if self.oth is not None or max(all_bits) > 64:
            return
        self.starts = array("Q", self.starts)
        self.ends = array("Q", self.ends)
        self.prios = array("Q", self.prios)
        self.oth = [(g, array("Q", [b[2 * g] for b in self.boxes]),
                     array("Q", [b[2 * g + 1] for b in self.boxes]))
                    for g in range(len(all_bits)) if g != f]

    def _unpack(self) -> None:
        if self.oth is not None:
            self.starts, self.ends, self.prios = list(self.starts), list(self.ends), list(self.prios)
            self.oth = None

    def build_fence(self, bits: int, f: int = 0, all_bits: list[int] | None = None) -> None:
        self.dirty = False
        n = len(self.starts)
        self.fence_n = n
        if n < FENCE_MIN:
            self.fence = None
            self._unpack()
            return
        self._pack(f, all_bits or [bits])
        k = min(bits, n.bit_length())
        self.shift = bits - k
        if bits <= 64:
            if self.oth is not None:
                st = np.frombuffer(self.starts, dtype=np.uint64)
            else:
                st = np.fromiter(self.starts, dtype=np.uint64, count=n)
            marks = np.arange((1 << k) + 1, dtype=np.uint64)
            if k < 64:
                marks = marks << np.uint64(self.shift)
                marks[-1] = np.uint64(0xFFFF_FFFF_FFFF_FFFF)   # past the last bucket
            pos = np.searchsorted(st, marks, side="left")
            del st              # release the array's buffer: it is resized by inserts
            pos[-1] = n
        else:       # wide fields: the top 64 bits are enough to bucket
            top = np.fromiter((v >> (bits - 64) for v in self.starts), dtype=np.uint64, count=n)
            marks = np.arange((1 << k) + 1, dtype=np.uint64) << np.uint64(64 - k)
            pos = np.searchsorted(top, marks, side="left")
            pos[-1] = n
        self.fence = array("I", pos.astype(np.uint32).tobytes())

    def find(self, v: int) -> int:
        """Index of the last start <= v (-1 if none), through the fence when built."""
        fence = self.fence
        if fence is None:
            return bisect_right(self.starts, v) - 1
        j = v >> self.shift
        return bisect_right(self.starts, v, fence[j], fence[j + 1]) - 1

    def fits(self, lo: int, hi: int) -> int:
        """Insert position for [lo, hi], or -1 if it overlaps an element here."""
        i = bisect_right(self.starts, lo)
        if i and self.ends[i - 1] >= lo:
            return -1
        if i < len(self.starts) and self.starts[i] <= hi:
            return -1
        return i

    def insert(self, i: int, lo: int, hi: int, e: Elem, box: tuple, prio: int) -> None:
        self.starts.insert(i, lo)
        self.ends.insert(i, hi)
        self.elems.insert(i, e)
        self.boxes.insert(i, box)
        self.prios.insert(i, prio)
        if self.oth is not None:
            for g, los, his in self.oth:
                los.insert(i, box[2 * g])
                his.insert(i, box[2 * g + 1])
        self._shift_fence(lo, 1)

    def remove(self, lo: int, e: Elem) -> bool:
        i = bisect_left(self.starts, lo)
        while i < len(self.starts) and self.starts[i] == lo:
            if self.elems[i] is e:
                del self.starts[i], self.ends[i], self.elems[i], self.boxes[i], self.prios[i]
                if self.oth is not None:
                    for _, los, his in self.oth:
                        del los[i], his[i]
                self._shift_fence(lo, -1)
                return True
            i += 1
        return False


class _Mult:
    """How many elements have exactly the range ``(lo, hi)`` in one field: the counts a
    bulk build computed with numpy (sorted unique pairs, searched in O(log n)) plus a
    small dict of changes since.  Reads like a ``Counter`` so that the first incremental
    ``add`` after a build of 1M elements does not recount them all (it took 4 s)."""

    __slots__ = ("los", "his", "cnt", "delta")

    def __init__(self, los=None, his=None, cnt=None):
        self.los, self.his, self.cnt = los, his, cnt
        self.delta: dict[tuple[int, int], int] = {}

    def _base(self, k: tuple[int, int]) -> int:
        if self.los is None:
            return 0
        lo, hi = np.uint64(k[0]), np.uint64(k[1])
        a = int(np.searchsorted(self.los, lo, "left"))
        b = int(np.searchsorted(self.los, lo, "right"))
        if a == b:
            return 0
        i = a + int(np.searchsorted(self.his[a:b], hi, "left"))
        return int(self.cnt[i]) if i < b and int(self.his[i]) == k[1] else 0

    def __getitem__(self, k: tuple[int, int]) -> int:
        return self._base(k) + self.delta.get(k, 0)

    def __setitem__(self, k: tuple[int, int], v: int) -> None:
        self.delta[k] = v - self._base(k)

    def __delitem__(self, k: tuple[int, int]) -> None:
        self.delta[k] = -self._base(k)


def _inside(box: tuple, vals: list[int]) -> bool:
    for k, v in enumerate(vals):
        if v < box[2 * k] or v > box[2 * k + 1]:
            return False
    return True


class PipapoBackend:
    """See the module docstring.  ``prio``: this backend's insertion counter, which
    decides between overlapping boxes (the oldest wins)."""

    kind = "pipapo"
    interval = True

    def __init__(self, spec):
        self._fields = spec.fields                  # unpadded byte lengths
        self._offs = []
        off = 0
        for flen in spec.padded_fields():
            self._offs.append(off)
            off += flen
        self._bits = [8 * f for f in self._fields]
        self._span = [1 << b for b in self._bits]
        self._words = [(f + 7) // 8 for f in self._fields]
        self._prio = 0
        # the key's fields in one C call when each is 1, 2, 4 or 8 bytes (``>IH2x`` for
        # ipv4_addr . inet_service): 0.1 us where slicing and int.from_bytes per field
        # took ~1 us, the largest part of a lookup
        codes = {1: "B", 2: "H", 4: "I", 8: "Q"}
        if all(f in codes for f in self._fields):
            fmt = ">" + "".join(codes[f] + ("%dx" % (p - f) if p > f else "")
                                for f, p in zip(self._fields, spec.padded_fields()))
            self._unpack = struct.Struct(fmt).unpack
        else:
            self._unpack = None
        self._spec_plain = plain_spec(spec)
        self._reset()

    def _reset(self) -> None:
        nf = len(self._fields)
        self._layers: list[list[_Layer]] = [[] for _ in range(nf)]
        self._active: list[tuple[int, list[_Layer]]] = []
        # exact-range multiplicities per field, for placing one new element; built
        # lazily (a bulk build computes its own with numpy)
        self._same: list[_Mult] | None = None
        # id(elem) -> (elem, field or -1 for the residual, prio); in insertion order
        self._where: dict[int, tuple] = {}
        self._residual: list[tuple[Elem, tuple, int]] = []
        self._res_np = None                       # numpy arrays of the residual, built lazily
        self._res_at_build = 0
        #: every element plain: the first match answers PLAIN (all answers are alike)
        self._plain = self._spec_plain

    # ------------------------------------------------------------------ helpers

    def _vals(self, key: bytes):
        """The key's field values (a tuple or list of ints, one per field)."""
        unpack = self._unpack
        if unpack is not None:
            return unpack(key)
        return [_from_bytes(key[o:o + n], "big") for o, n in zip(self._offs, self._fields)]

    def _box(self, e: Elem) -> tuple[int, ...]:
        out = []
        for lo, hi in zip(self._vals(e.key), self._vals(e.end)):
            out += (lo, hi)
        return tuple(out)

    def _counters(self) -> list:
        if self._same is None:
            same = [_Mult() for _ in self._fields]
            for e, _, _ in self._where.values():
                box = self._box(e)
                for f, c in enumerate(same):
                    c[(box[2 * f], box[2 * f + 1])] += 1
            self._same = same
        return self._same

    def _order(self, box: tuple, n: int) -> list[int]:
        """Fields by expected overlap depth, best first (step 1 of the docstring)."""
        same = self._counters()
        scores = []
        for f in range(len(self._fields)):
            lo, hi = box[2 * f], box[2 * f + 1]
            depth = same[f][(lo, hi)] + n * (hi - lo + 1) / self._span[f]
            scores.append((depth, f))
        scores.sort()
        return [f for _, f in scores]

    def _refresh_active(self) -> None:
        self._active = [(f, ls) for f, ls in enumerate(self._layers) if ls]

    def _place(self, e: Elem, box: tuple, prio: int, order: list[int]) -> None:
        """Put one element into the first layer that takes it, else the residual."""
        for f in order:
            lo, hi = box[2 * f], box[2 * f + 1]
            layers = self._layers[f]
            for layer in layers:
                i = layer.fits(lo, hi)
                if i >= 0:
                    layer.insert(i, lo, hi, e, box, prio)
                    self._where[id(e)] = (e, f, prio)
                    return
            if len(layers) < MAX_LAYERS:
                layer = _Layer()
                layer.insert(0, lo, hi, e, box, prio)
                layers.append(layer)
                self._refresh_active()
                self._where[id(e)] = (e, f, prio)
                return
        self._residual.append((e, box, prio))
        self._res_np = None
        self._where[id(e)] = (e, -1, prio)

    # ------------------------------------------------------------------ lookup

    def _residual_matches(self, vals: list[int]) -> list[tuple[int, Elem]]:
        res = self._residual
        if len(res) <= RESIDUAL_PY_MAX:
            return [(p, e) for e, box, p in res if _inside(box, vals)]
        if self._res_np is None:
            self._res_np = self._residual_arrays()
        mask = None
        for f, (los, his) in enumerate(self._res_np):
            m = _ge_words(vals[f], los, self._words[f]) & _le_words(vals[f], his, self._words[f])
            mask = m if mask is None else mask & m
        return [(res[i][2], res[i][0]) for i in np.flatnonzero(mask)]

    def _residual_arrays(self):
        out = []
        for f, w in enumerate(self._words):
            los = np.array([_split_words(box[2 * f], w) for _, box, _ in self._residual],
                           dtype=np.uint64).reshape(-1, w)
            his = np.array([_split_words(box[2 * f + 1], w) for _, box, _ in self._residual],
                           dtype=np.uint64).reshape(-1, w)
            out.append((los, his))
        return out

    def lookup(self, key: bytes, now_ns: int, exact: bool = False) -> Elem | None:
        """The packet path: the oldest live element holding the point (:data:`PLAIN` for
        a plain set, whose elements all answer alike); ``exact``: the element itself."""
        vals = self._vals(key)
        plain = self._plain and not exact
        best = None
        bestp = -1
        for f, layers in self._active:
            v = vals[f]
            for layer in layers:
                if layer.dirty:
                    layer.build_fence(self._bits[f], f, self._bits)
                fence = layer.fence
                if fence is None:
                    i = bisect_right(layer.starts, v) - 1
                else:
                    j = v >> layer.shift
                    i = bisect_right(layer.starts, v, fence[j], fence[j + 1]) - 1
                if i < 0 or v > layer.ends[i]:
                    continue
                oth = layer.oth
                if oth is None:
                    if not _inside(layer.boxes[i], vals):
                        continue
                else:                       # packed form: the other fields' arrays
                    for g, los, his in oth:
                        w = vals[g]
                        if w < los[i] or w > his[i]:
                            break
                    else:
                        oth = None
                    if oth is not None:
                        continue
                if plain:
                    return PLAIN
                p = layer.prios[i]
                if best is not None and p > bestp:
                    continue
                e = layer.elems[i]
                if e.expiration is None or now_ns < e.expiration:
                    best, bestp = e, p
        if self._residual:
            for p, e in sorted(self._residual_matches(vals), key=lambda t: t[0]):
                if best is not None and p > bestp:
                    break
                if e.expiration is None or now_ns < e.expiration:
                    best, bestp = (PLAIN if plain else e), p
                    break
        return best

    def elem(self, key: bytes, now_ns: int) -> Elem | None:
        """The live element itself (for commands)."""
        return self.lookup(key, now_ns, True)

    def _all_matches(self, key: bytes) -> list[Elem]:
        """Every element holding the point, expired ones included, oldest first."""
        vals = self._vals(key)
        found = []
        for f, layers in self._active:
            v = vals[f]
            for layer in layers:
                i = bisect_right(layer.starts, v) - 1
                if i >= 0 and v <= layer.ends[i] and _inside(layer.boxes[i], vals):
                    found.append((layer.prios[i], layer.elems[i]))
        if self._residual:
            found += self._residual_matches(vals)
        found.sort(key=lambda t: t[0])
        return [e for _, e in found]

    def get(self, key: bytes, key_end: bytes | None = None) -> Elem | None:
        end = key if key_end is None else key_end
        for e in self._all_matches(key):
            if e.key == key and e.end == end:
                return e
        return None

    def clashes(self, key: bytes, end: bytes, now_ns: int) -> list[Elem]:
        """Elements containing the start point, then those containing the end point."""
        out = self._all_matches(key)
        seen = {id(e) for e in out}
        out += [e for e in self._all_matches(end) if id(e) not in seen]
        return out

    # ------------------------------------------------------------------ updates

    def add(self, e: Elem) -> None:
        box = self._box(e)
        if self._plain and not is_plain(e):
            self._plain = False
        self._prio += 1
        order = self._order(box, len(self._where) + 1)
        for f, c in enumerate(self._counters()):
            c[(box[2 * f], box[2 * f + 1])] += 1
        self._place(e, box, self._prio, order)
        # many spills since the last build: the field choice may be stale, rebuild
        if len(self._residual) > 2 * self._res_at_build + 64:
            self._rebuild([])

    def remove(self, e: Elem) -> None:
        w = self._where.pop(id(e), None)
        if w is None:
            return
        _, f, _ = w
        box = self._box(e)
        if self._same is not None:
            for k, c in enumerate(self._same):
                key = (box[2 * k], box[2 * k + 1])
                c[key] -= 1
                if c[key] <= 0:
                    del c[key]
        if f < 0:
            self._residual = [t for t in self._residual if t[0] is not e]
            self._res_np = None
            return
        for layer in self._layers[f]:
            if layer.remove(box[2 * f], e):
                if not layer.starts:
                    self._layers[f].remove(layer)
                    self._refresh_active()
                return

    def bulk_load(self, elems) -> None:
        """Add many elements at once: the whole structure is rebuilt with numpy."""
        new = []
        for e in elems:
            self._prio += 1
            new.append((e, self._prio))
        self._rebuild(new)

    def _rebuild(self, new: list[tuple[Elem, int]]) -> None:
        items = [(w[0], w[2]) for w in self._where.values()] + new
        self._reset()
        if items:
            self._build(items)

    def _field_arrays(self, keys: list[bytes]) -> list[np.ndarray] | None:
        """Each field of every key as uint64 (None when a field is wider than 8 bytes)."""
        if max(self._fields) > 8:
            return None
        n = len(keys)
        raw = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(n, -1)
        out = []
        for o, w in zip(self._offs, self._fields):
            col = np.zeros(n, dtype=np.uint64)
            for b in range(w):      # big-endian bytes -> integer
                col = (col << np.uint64(8)) | raw[:, o + b].astype(np.uint64)
            out.append(col)
        return out

    def _build(self, items: list[tuple[Elem, int]]) -> None:
        """Vectorised build: boxes, scores and layer passes with numpy (fields up to 64
        bits; wider ones go through the one-by-one path)."""
        nf = len(self._fields)
        n = len(items)
        elems = [e for e, _ in items]
        self._plain = self._spec_plain and all(is_plain(e) for e in elems)
        prios = [p for _, p in items]
        los = self._field_arrays([e.key for e in elems])
        his = self._field_arrays([e.end for e in elems]) if los is not None else None
        if los is None:
            for e, p in items:
                box = self._box(e)
                order = self._order(box, n)
                for f, c in enumerate(self._counters()):
                    c[(box[2 * f], box[2 * f + 1])] += 1
                self._place(e, box, p, order)
            self._res_at_build = len(self._residual)
            return
        # step 1: expected overlap depth per field, choose the smallest
        depth = np.empty((nf, n), dtype=np.float64)
        same = []
        for f in range(nf):
            pair = np.stack([los[f], his[f]], axis=1)
            uniq, inv, cnt = np.unique(pair, axis=0, return_inverse=True, return_counts=True)
            width = (his[f] - los[f]).astype(np.float64) + 1.0
            depth[f] = cnt[inv.reshape(-1)] + n * width / float(self._span[f])
            # kept for incremental adds (rows sorted by lo, then hi)
            same.append(_Mult(np.ascontiguousarray(uniq[:, 0]), np.ascontiguousarray(uniq[:, 1]), cnt))
        self._same = same
        order = np.argsort(depth, axis=0, kind="stable")         # fields, best first
        choice = order[0]
        # boxes as Python tuples (lo0, hi0, lo1, hi1, ...) for the verify step
        cols = []
        for f in range(nf):
            cols += [los[f].tolist(), his[f].tolist()]
        boxes = list(zip(*cols))
        spill: list[int] = []
        for f in range(nf):
            idx = np.flatnonzero(choice == f)
            if not len(idx):
                continue
            idx = idx[np.lexsort((np.asarray(prios)[idx], los[f][idx]))]   # by start
            layers = self._layers[f]
            # step 2, one pass per layer: an element joins this layer when it starts
            # after every earlier element of the pass has ended (a valid, nearly
            # minimal partition; leftovers try again in the next pass)
            while len(idx):
                if len(layers) >= MAX_LAYERS:
                    spill += idx.tolist()
                    break
                lo, hi = los[f][idx], his[f][idx]
                prev_max = np.maximum.accumulate(hi)
                ok = np.ones(len(idx), dtype=bool)
                ok[1:] = lo[1:] > prev_max[:-1]
                take = idx[ok]
                layer = _Layer()
                layer.starts = los[f][take].tolist()
                layer.ends = his[f][take].tolist()
                layer.elems = [elems[i] for i in take.tolist()]
                layer.boxes = [boxes[i] for i in take.tolist()]
                layer.prios = [prios[i] for i in take.tolist()]
                layers.append(layer)
                for i in take.tolist():
                    self._where[id(elems[i])] = (elems[i], f, prios[i])
                idx = idx[~ok]
        self._refresh_active()
        for i in spill:
            self._place(elems[i], boxes[i], prios[i], order[:, i].tolist())
        # keep _where in insertion order for iteration and listings
        self._where = {id(e): self._where[id(e)] for e in elems}
        self._residual.sort(key=lambda t: t[2])
        self._res_at_build = len(self._residual)

    def stats(self) -> dict:
        """How the elements are spread: layers per field and the residual's size."""
        return {"layers": [len(ls) for ls in self._layers], "residual": len(self._residual),
                "elements": len(self._where)}

    def __iter__(self):
        return iter([w[0] for w in self._where.values()])

    def __len__(self) -> int:
        return len(self._where)


# ---------------------------------------------------------------------- numpy helpers
def _split_words(v: int, w: int) -> list[int]:
    """An integer as ``w`` 64-bit words, most significant first."""
    return [(v >> (64 * (w - 1 - k))) & 0xFFFF_FFFF_FFFF_FFFF for k in range(w)]


def _ge_words(v: int, arr: np.ndarray, w: int) -> np.ndarray:
    """``v >= arr`` row by row, rows being big-endian 64-bit words."""
    vw = _split_words(v, w)
    res = np.ones(arr.shape[0], dtype=bool)
    for k in range(w - 1, -1, -1):      # least significant word first
        x = np.uint64(vw[k])
        col = arr[:, k]
        res = (x > col) | ((x == col) & res)
    return res


def _le_words(v: int, arr: np.ndarray, w: int) -> np.ndarray:
    vw = _split_words(v, w)
    res = np.ones(arr.shape[0], dtype=bool)
    for k in range(w - 1, -1, -1):
        x = np.uint64(vw[k])
        col = arr[:, k]
        res = (x < col) | ((x == col) & res)
    return res
