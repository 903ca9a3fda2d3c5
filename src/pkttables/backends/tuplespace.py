"""Tuple space search with merged tuples (TupleMerge) over the classifier's boxes.

Theory of operation
-------------------
The input is what :class:`pkttables.backends.classifier.Classifier` builds: ``N`` boxes
in priority order (box ``i`` beats box ``j > i``), each an inclusive interval
``[lo, hi]`` per dimension, dimension ``d`` being ``bits[d]`` bits wide (the top value
of a dimension means "absent").  A lookup returns the lowest box index containing the
point.

**Prefix lengths.**  For one box and dimension, ``lcp`` is the number of leading bits
``lo`` and ``hi`` share: the interval lies inside one aligned block of that prefix
length.  ``ip saddr 10.1.0.0/16`` in the 33-bit dimension of a 4-byte field (presence
bit + 32 address bits) has ``lcp = 17``; a port range 1024-65535 has ``lcp = 0``; an
unconstrained dimension has ``lcp = 0``.

**Tuples.**  A tuple ``T`` is one prefix length per dimension.  A box may be stored in
tuple ``T`` if ``T <= lcp`` in every dimension; its hash key is then ``lo >> (bits -
T)`` per dimension, and a point can only be inside the box if its own key, computed
the same way, is equal.  So a lookup hashes the point once per tuple and verifies only
the boxes of one bucket per tuple (Srinivasan, Suri and Varghese, "Packet
Classification using Tuple Space Search", SIGCOMM 1999).

**Merging** (after Daly et al., "TupleMerge: Fast Software Packet Processing for
Online Packet Classification", IEEE/ACM ToN 2019): storing boxes only in their exact
tuple makes hundreds of tuples on a real ACL (every pair of prefix lengths), and
lookups visit all of them.  Since a box fits every tuple below its ``lcp``, few tuples
can hold all boxes.  The build (offline: the ruleset is static) is a greedy cover:

1. round each ``lcp`` down to a grid (``0`` or ``1 + k * grid`` bits: byte boundaries
   by default -- the presence bit alone never discriminates);
2. candidates are the tuples below the rounded vectors of the remaining boxes; score
   each on a sample of them: how many boxes it would place with at most ``limit`` per
   bucket (the collision limit that bounds the verification cost);
3. take the most specific candidate (largest sum of lengths) among those scoring at
   least ``alpha`` times the best score: a coarse tuple places many boxes but its
   buckets are hit by many packets, each paying its candidates (ACL 100k, batch: 1.04 M
   pkt/s at ``alpha=0.9``, 1.24 M at 0.75, 1.07 M at 0.5; 0.75 is the default);
4. place the eligible boxes, the first ``limit`` of each bucket by priority; the rest
   stay for the next round.  After ``max_tuples - 1`` tuples the last one takes every
   remaining box, whatever its buckets' sizes (the answer stays exact).

Boxes equal to an earlier box are dropped (never first).

**Priority.**  Tuples are visited in order of the lowest box they hold; once the best
box found is lower than a tuple's lowest box, that tuple and all later ones cannot
improve the answer and the lookup stops (TupleMerge's priority sorting).  Inside a
bucket boxes are in priority order, so the scan stops at the first match or at the
first box not lower than the best so far.

Two lookups share this structure:

* per packet (:meth:`TupleSpace.lookup`, and unrolled into generated code by
  :meth:`TupleSpace.emit_lookup`): per tuple a dict keyed by the exact concatenation
  of the prefix bits (a Python int).  A bucket holds *entries* ``(box, lo, hi, lo,
  hi, ...)`` over the tuple's residual dimensions (those the key does not decide for
  some box of the tuple; an exact prefix at the tuple's length needs no check, and
  such a box gets the dimension's whole range).  A bucket of one entry is the entry
  itself; several are padded to an even count with a sentinel, so ``len`` tells the
  two apart.  Each bucket's ints are allocated together, next to its entries: at
  100k rules a lookup is bound by cache misses, not by bytecodes.
* the **prefilter** (per packet only): for one or two wide dimensions, a list indexed
  by the top bits of the value (``kbits``: ~4 slices per box, 2^8..2^17) giving the
  bitmask of tuples with a box overlapping that slice.  The AND of the lists is the
  set of tuples worth probing; a clear bit proves no box of the tuple contains the
  point.  Kept only when the expected probes saved (on sampled points inside boxes)
  pay for it: ACL 100k, 9 -> 3.6 probes per packet; 1k, 5.8 -> 1.9.
* batch (:meth:`TupleSpace.lookup_batch`): per tuple an open-addressing hash table in
  numpy arrays (64-bit multiplicative hash of the prefix bits, linear probing, load
  <= 1/2), probed for all active points at once; candidate boxes are verified in all
  dimensions against ``lo``/``hi``, so a hash collision only costs a candidate.

Worked example (dimensions saddr[33], dport[17], ``grid=8``, ``limit=1``)::

    0: ip saddr 10.1.2.3    th dport 22     lcp (33, 17)  rounded (33, 17)
    1: ip saddr 10.1.2.0/24 th dport 80     lcp (25, 17)  rounded (25, 17)
    2: ip saddr 10.1.2.0/29 th dport 1-1023 lcp (30, 7)   rounded (25, 0)
    3: th dport 443                          lcp (0, 17)   rounded (0, 17)

The tuple (0, 17) (key: the port) places boxes 0, 1 and 3 in three buckets; (25, 0)
would place 0, 1 and 2 but in one bucket (10.1.2.0/24), so it scores 1.  Round 1 takes
(0, 17); round 2 places box 2 in (25, 0).  Visited in order of their lowest box:
(0, 17) [lowest 0], then (25, 0) [lowest 2].  A packet from 10.1.2.5 to port 80 hits
bucket 80 of (0, 17): box 1 matches, best = 1 < 2, so (25, 0) is not probed.

Measured figures (ClassBench-style ACLs) are in docs/classifier.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import itertools

import numpy as np

__all__ = ["TupleSpace", "TupleStats", "bit_length"]

_K1 = np.uint64(0x9E3779B97F4A7C15)      # 2^64 / golden ratio: Fibonacci hashing multiplier
_S = np.uint64(29)
_NONE = np.iinfo(np.int64).max
# boxes scored per candidate tuple while choosing tuples (a random sample of the rest)
SAMPLE = 8192
#: the prefilter's cost model in ns per packet (generated classify, this machine):
#: one tuple probe, one filter dimension (shift, list index, and), one skipped tuple's test
FILTER_COSTS = (100.0, 50.0, 20.0)


def bit_length(x: np.ndarray) -> np.ndarray:
    """``int.bit_length`` of each uint64 (exact, without floating point)."""
    x = x.astype(np.uint64, copy=True)
    out = np.zeros(x.shape, dtype=np.int64)
    for s in (32, 16, 8, 4, 2, 1):
        m = (x >> np.uint64(s)) != 0
        out += np.where(m, s, 0)
        x = np.where(m, x >> np.uint64(s), x)
    return out + (x != 0)


def _hash(cols: list[np.ndarray], n: int) -> np.ndarray:
    """64-bit hash of the per-dimension prefix bits (``cols``: ``n`` uint64 each)."""
    h = np.zeros(n, dtype=np.uint64)
    for m in cols:
        h = (h ^ m) * _K1
        h ^= h >> _S
    return h


@dataclass(frozen=True, slots=True)
class TupleStats:
    tuples: int
    buckets: int
    max_bucket: int
    entries: int
    nbytes: int


class _Tuple:
    """One tuple: its prefix lengths, its buckets (per packet and batch forms)."""

    __slots__ = ("lengths", "parts", "minbox", "boxes", "buckets", "shifts", "tbits", "tkey", "tbuck",
                 "bstart", "blen", "bbox", "maxlen", "rdims")

    def __init__(self, lengths: tuple[int, ...], bits: list[int]):
        self.lengths = lengths
        # (dimension, shift, width) of every dimension the key uses
        self.parts = tuple((d, bits[d] - t, t) for d, t in enumerate(lengths) if t)
        self.buckets: dict[int, tuple[int, ...]] = {}

    def key(self, row) -> int:
        k = 0
        for d, s, w in self.parts:
            k = (k << w) | (row[d] >> s)
        return k


class TupleSpace:
    """First-match lookup over boxes ``lo``/``hi`` (``[N, D]`` uint64, priority order)."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray, bits: list[int], *, limit: int = 16,
                 grid: int = 8, max_tuples: int = 48, alpha: float = 0.75, prefilter: str | bool = "auto"):
        if prefilter not in ("auto", True, False):
            raise ValueError(f"prefilter {prefilter!r}: expected 'auto', True or False")
        self.alpha = alpha
        self.lo, self.hi, self.bits = lo, hi, list(bits)
        self.limit, self.grid, self.max_tuples = limit, grid, max_tuples
        N, D = lo.shape
        bitsa = np.array(self.bits, dtype=np.int64)
        bl = bit_length(lo ^ hi) if N else np.zeros((0, D), dtype=np.int64)
        lcp = bitsa[None, :] - bl
        low = ((np.uint64(1) << bl.astype(np.uint64)) - np.uint64(1)).astype(np.uint64)
        # exact: the interval IS the aligned block, so an equal key proves the dimension
        exact = ((lo & low) == 0) & ((hi & low) == low)
        top = (np.uint64(1) << bitsa.astype(np.uint64)) - np.uint64(1)
        full = (lo == 0) & (hi == top[None, :])
        rounded = self._round(lcp, grid)
        # a box equal to an earlier one can never be first: place only the first copy
        if N:
            _, first = np.unique(np.concatenate((lo, hi), axis=1), axis=0, return_index=True)
            live = np.sort(first)
        else:
            live = np.zeros(0, dtype=np.int64)
        self.dropped = N - len(live)
        self._place(lo, rounded, live)
        self._finish(lo, lcp, exact, full)
        self._build_filter(lo, self.hi, prefilter)

    @staticmethod
    def _round(lcp: np.ndarray, grid: int) -> np.ndarray:
        # levels 0, 1 + grid, 1 + 2 grid, ...: the presence bit alone never discriminates
        return np.where(lcp >= 1 + grid, 1 + grid * ((lcp - 1) // grid), 0)

    # ------------------------------------------------------------------ build
    def _levels(self, d: int) -> list[int]:
        return [0] + list(range(1 + self.grid, self.bits[d] + 1, self.grid))

    def _place(self, lo: np.ndarray, rounded: np.ndarray, live: np.ndarray) -> None:
        """Greedy cover: repeatedly take the tuple that places the most remaining boxes
        with at most ``limit`` per bucket, place them, until every box is placed."""
        D = len(self.bits)
        levels = [self._levels(d) for d in range(D)]
        limit = self.limit
        rng = np.random.default_rng(0)          # deterministic builds
        rem = np.asarray(live, dtype=np.int64)
        self.tuples = []
        while rem.size:
            sample = rem if len(rem) <= SAMPLE else np.sort(rng.choice(rem, SAMPLE, replace=False))
            cands: set[tuple] = set()
            for r in np.unique(rounded[sample], axis=0).tolist():
                cands.update(itertools.product(*[[v for v in levels[d] if v <= r[d]] for d in range(D)]))
            rs = rounded[sample]
            best = None
            scores: list[tuple] = []
            for t in cands:
                ta = np.array(t, dtype=np.int64)
                el = sample[(rs >= ta).all(axis=1)]
                score = int(np.minimum(self._counts(lo, el, t), limit).sum())
                scores.append((score, sum(t), t))
                if best is None or score > best[0]:
                    best = (score, sum(t), t)
            # the most specific tuple among those that place nearly as many boxes: a
            # coarse tuple's buckets are hit by many packets, each paying the candidates
            t = \
                max((sc for sc in scores if sc[0] >= self.alpha * best[0]), key=lambda sc: (sc[1], sc[0]))[2]
            el = rem[(rounded[rem] >= np.array(t, dtype=np.int64)).all(axis=1)]
            if len(self.tuples) + 1 >= self.max_tuples:
                placed = el                      # the last tuple takes the rest, buckets unbounded
            else:
                h = _hash([lo[el, d] >> np.uint64(self.bits[d] - v) for d, v in enumerate(t) if v], len(el))
                order = np.lexsort((el, h))
                hs = h[order]
                new = np.concatenate(([True], hs[1:] != hs[:-1]))
                gstart = np.maximum.accumulate(np.where(new, np.arange(len(hs)), 0))
                placed = np.sort(el[order][np.arange(len(hs)) - gstart < limit])
            tu = _Tuple(tuple(t), self.bits)
            tu.boxes = placed
            self.tuples.append(tu)
            rem = np.setdiff1d(rem, placed, assume_unique=True)

    def _counts(self, lo: np.ndarray, el: np.ndarray, t: tuple) -> np.ndarray:
        if not len(el):
            return np.zeros(0, dtype=np.int64)
        h = _hash([lo[el, d] >> np.uint64(self.bits[d] - v) for d, v in enumerate(t) if v], len(el))
        return np.unique(h, return_counts=True)[1]

    def _finish(self, lo: np.ndarray, lcp: np.ndarray, exact: np.ndarray, full: np.ndarray) -> None:
        lo_l, hi_l = lo.tolist(), self.hi.tolist()
        lcp_l, exact_l, full_l = lcp.tolist(), exact.tolist(), full.tolist()
        D = len(self.bits)
        # bounds of a dimension that an entry need not check: one shared pair per
        # dimension (always true, and hot in the cache however many entries use it)
        anyv = [(0, (1 << b) - 1) for b in self.bits]
        self._pp = []
        self.tuples.sort(key=lambda t: int(t.boxes[0]))
        for t in self.tuples:
            boxes = t.boxes.tolist()
            grouped: dict[int, list[int]] = {}
            for i in boxes:
                grouped.setdefault(t.key(lo_l[i]), []).append(i)
            # residual dimensions: those the key does not decide for some box of the
            # tuple (an exact prefix at the tuple's length is decided by the key)
            res = {i: [d for d in range(D) if not (full_l[i][d] or
                                                   (exact_l[i][d] and lcp_l[i][d] == t.lengths[d]))]
                   for i in boxes}
            t.rdims = tuple(sorted({d for r in res.values() for d in r}))
            sentinel = (_NONE,) + tuple(x for d in t.rdims for x in anyv[d])
            # entries (box, lo, hi per residual dimension), a bucket at a time, with
            # fresh int objects (``x + 0``): the ints of one bucket are allocated next
            # to each other, so verifying a candidate touches a few cache lines, not
            # objects spread over the whole heap (ACL 100k: the checks were 40 % of a
            # lookup; docs/classifier.md)
            buckets: dict[int, tuple] = {}
            for k, members in grouped.items():
                entries = []
                for i in members:
                    e = [i + 0]
                    ri = res[i]
                    for d in t.rdims:
                        if d in ri:
                            e += (lo_l[i][d] + 0, hi_l[i][d] + 0)
                        else:
                            e += anyv[d]
                    entries.append(tuple(e))
                # one entry (97 % of the buckets at ACL 100k): the entry itself, one
                # object less to reach.  Several: padded to an even count with a
                # sentinel that ends every scan, so ``len`` tells the two forms apart
                # (an entry has an odd length, 1 + 2 per residual dimension)
                if len(entries) == 1:
                    buckets[k] = entries[0]
                else:
                    if len(entries) % 2:
                        entries.append(sentinel)
                    buckets[k] = tuple(entries)
            t.buckets = buckets
            t.minbox = boxes[0]
            self._pp.append((t.minbox, t.parts, t.buckets, t.rdims))
            # batch form: buckets by the 64-bit hash (colliding keys share a bucket)
            bx = np.array(boxes, dtype=np.int64)
            h = _hash([lo[bx, d] >> np.uint64(s) for d, s, _ in t.parts], len(bx))
            order = np.lexsort((bx, h))
            h, bx = h[order], bx[order]
            first = np.flatnonzero(np.concatenate(([True], h[1:] != h[:-1])))
            keys = h[first]
            t.bstart = first.astype(np.int64)
            t.blen = np.diff(np.concatenate((first, [len(h)]))).astype(np.int64)
            t.bbox = bx
            t.maxlen = int(t.blen.max())
            t.shifts = [(d, np.uint64(s)) for d, s, _ in t.parts]
            t.tbits = max(1, int(len(keys) * 2 - 1).bit_length())
            size = 1 << t.tbits
            t.tkey = np.zeros(size, dtype=np.uint64)
            t.tbuck = np.full(size, -1, dtype=np.int64)
            slot = (keys >> np.uint64(64 - t.tbits)).astype(np.int64)
            pend = np.arange(len(keys))
            while pend.size:                      # linear probing, vectorised
                s = slot[pend]
                free = t.tbuck[s] < 0
                cand = pend[free]
                _, win = np.unique(s[free], return_index=True)
                won = cand[win]
                t.tbuck[slot[won]] = won
                t.tkey[slot[won]] = keys[won]
                rest = np.setdiff1d(pend, won, assume_unique=True)
                slot[rest] = (slot[rest] + 1) & (size - 1)
                pend = rest

    def _build_filter(self, lo: np.ndarray, hi: np.ndarray, mode: str | bool) -> None:
        """The per-packet prefilter: for a few dimensions, a list indexed by the top
        ``kbits`` bits of the point's value whose item is the bitmask of the tuples
        holding some box that overlaps that slice of the dimension.  ANDed over the
        dimensions it names the tuples a lookup must probe; a clear bit proves the
        tuple has no box containing the point, so skipping it is exact.  "auto" keeps
        the dimensions (and the filter) only where the expected probes saved, on a
        sample of points inside the boxes, outweigh its own cost (see FILTER_COSTS)."""
        self.filter: tuple = ()          # ((dimension, shift, list of masks), ...)
        self.bfilter: tuple = ()         # ((dimension, shift, numpy masks), ...): lookup_batch's
        T = len(self.tuples)
        n = sum(len(t.boxes) for t in self.tuples)
        if T < 2 or T > 62:
            return
        # slices: ~4 per box, between 2^8 and 2^17 per dimension (the list costs 8 bytes
        # per slice: ACL 1k 64 B/rule for two address dimensions, 100k 20 B/rule)
        kbits = min(17, max(8, n.bit_length() + 2))
        tbit = np.zeros(len(lo), dtype=np.int64)
        for j, t in enumerate(self.tuples):
            tbit[t.boxes] = 1 << j
        rng = np.random.default_rng(1)
        live = np.concatenate([t.boxes for t in self.tuples])
        sample = live if len(live) <= SAMPLE else rng.choice(live, SAMPLE, replace=False)
        cands = []
        for d, b in enumerate(self.bits):
            sh = max(0, b - kbits)
            size = (((1 << b) - 1) >> sh) + 1
            cover = np.zeros((T, size + 1), dtype=np.int32)
            for j, t in enumerate(self.tuples):
                np.add.at(cover[j], (lo[t.boxes, d] >> np.uint64(sh)).astype(np.int64), 1)
                np.add.at(cover[j], (hi[t.boxes, d] >> np.uint64(sh)).astype(np.int64) + 1, -1)
            masks = ((np.cumsum(cover, axis=1)[:, :size] > 0).astype(np.int64)
                     << np.arange(T, dtype=np.int64)[:, None]).sum(axis=0)
            cands.append((d, sh, masks))
        # the batch lookup ANDs every dimension's masks (a gather and an AND per dimension
        # are cheap next to a probe of the rows they remove: ACL 100k, 10 -> 3.8 tuples
        # probed per row, 1k 6 -> 1.95), in the smallest dtype that holds T bits
        dt = np.uint8 if T <= 8 else np.uint16 if T <= 16 else np.uint32 if T <= 32 else np.uint64
        self.bfilter = tuple((d, np.uint64(sh), masks.astype(dt)) for d, sh, masks in cands)
        if mode is False:
            return
        # greedy: add the dimension that removes the most expected probes while that
        # pays for its own lookup (points: the low corners of sampled boxes)
        cur = np.full(len(sample), (1 << T) - 1, dtype=np.int64)
        chosen = []
        probe, dim_cost, guard = FILTER_COSTS
        passes = T
        while True:
            best = None
            for c in cands:
                if c in chosen:
                    continue
                d, sh, masks = c
                m = cur & masks[(lo[sample, d] >> np.uint64(sh)).astype(np.int64)]
                e = float(np.unpackbits(m.view(np.uint8)).sum()) / len(sample)
                if best is None or e < best[0]:
                    best = (e, c, m)
            if best is None or (passes - best[0]) * probe <= dim_cost:
                break
            passes, cur = best[0], best[2]
            chosen.append(best[1])
        if not chosen or (mode == "auto" and (T - passes) * probe <= len(chosen) * dim_cost + T * guard):
            if mode is not True:
                return
            if not chosen:
                chosen = [max(cands, key=lambda c: self.bits[c[0]])]
        filt = []
        for d, sh, masks in chosen:
            uniq, inv = np.unique(masks, return_inverse=True)
            objs = uniq.tolist()        # one int object per distinct mask, shared by the list
            filt.append((d, sh, [objs[i] for i in inv.tolist()]))
        self.filter = tuple(filt)

    # ------------------------------------------------------------------ lookups
    def lookup(self, p) -> int:
        """Lowest box index containing point ``p`` (a sequence of ints), or -1."""
        best = _NONE
        for minbox, parts, table, rdims in self._pp:
            if minbox >= best:
                break
            k = 0
            for d, s, w in parts:
                k = (k << w) | (p[d] >> s)
            bucket = table.get(k)
            if bucket is None:
                continue
            if len(bucket) % 2:
                bucket = (bucket,)
            for e in bucket:
                if e[0] >= best:
                    break
                j = 1
                for d in rdims:
                    v = p[d]
                    if v < e[j] or v > e[j + 1]:
                        break
                    j += 2
                else:
                    best = e[0]
                    break
        return -1 if best == _NONE else best

    def emit_lookup(self, names: list[str], indent: str = "    ") -> tuple[list[str], dict]:
        """Python source of :meth:`lookup` unrolled over the tuples, for a generated
        function whose point is in the local variables ``names`` (one per dimension);
        it leaves the lowest box index in ``best`` (``_NONE``: none).  Returns the lines
        and the globals they need.  The shifts, widths and lowest boxes become
        constants and each tuple's dict a global: per tuple one ``dict.get`` on an int
        computed inline, and per candidate entry one unpacking and a chained
        comparison per residual dimension (docs/classifier.md has the figures)."""
        env: dict = {"_NONE": _NONE}
        out = [f"{indent}best = _NONE"]
        if self.filter:
            terms = []
            for j, (d, sh, lst) in enumerate(self.filter):
                env[f"_M{j}"] = lst
                terms.append(f"_M{j}[{names[d]}]" if sh == 0 else f"_M{j}[{names[d]} >> {sh}]")
            out.append(f"{indent}m = {' & '.join(terms)}")
        for k, (minbox, parts, table, rdims) in enumerate(self._pp):
            env[f"_T{k}"] = table
            key = "0"
            for j, (d, sh, w) in enumerate(parts):
                v = names[d] if sh == 0 else f"({names[d]} >> {sh})"
                key = v if j == 0 else f"(({key}) << {w}) | {v}"
            ind = indent
            # tuples are sorted by their lowest box: once best is below it, no later
            # tuple can improve the answer (TupleMerge's priority sorting); the
            # prefilter's bit k clear: no box of tuple k contains the point
            cond = ([f"best > {minbox}"] if k else []) + ([f"m & {1 << k}"] if self.filter else [])
            if cond:
                out.append(f"{ind}if {' and '.join(cond)}:")
                ind += "    "
            out += [f"{ind}b = _T{k}.get({key})",
                    f"{ind}if b is not None:"]
            S = 1 + 2 * len(rdims)
            unpack = ", ".join(["box"] + [f"a{d}, z{d}" for d in rdims])
            test = "".join(f" and a{d} <= {names[d]} <= z{d}" for d in rdims)
            out += [f"{ind}    if len(b) == {S}:",
                    f"{ind}        {unpack}{',' if S == 1 else ''} = b",
                    f"{ind}        if box < best{test}:",
                    f"{ind}            best = box",
                    f"{ind}    else:"]
            if not rdims:
                # the key decides every box of this tuple: the bucket's first entry wins
                out += [f"{ind}        box = b[0][0]",
                        f"{ind}        if box < best:",
                        f"{ind}            best = box"]
                continue
            out += [f"{ind}        for {unpack} in b:",
                    f"{ind}            if box >= best:",
                    f"{ind}                break",
                    f"{ind}            if {test[5:]}:",
                    f"{ind}                best = box",
                    f"{ind}                break"]
        return out, env

    def lookup_batch(self, pts: np.ndarray) -> np.ndarray:
        """Lowest box index per point of ``pts`` (``[P, D]`` uint64), -1 where none.

        Per tuple only the rows that can still improve (``best > minbox``) and whose
        prefilter bit is set (:attr:`bfilter`: some box of the tuple overlaps the
        row's slice in every dimension) are hashed and probed; the (row, candidate)
        pairs are then verified one dimension at a time, each step keeping only the
        pairs still inside, so most pairs are dropped after one or two gathers."""
        P = len(pts)
        best = np.full(P, _NONE, dtype=np.int64)
        cols = [np.ascontiguousarray(pts[:, d]) for d in range(pts.shape[1])]
        lo, hi = self.lo, self.hi
        D = len(cols)
        m = None
        for d, sh, masks in self.bfilter:
            x = masks[cols[d] >> sh]
            m = x if m is None else m & x
        for j, t in enumerate(self.tuples):
            c = best > t.minbox
            if m is not None:
                c &= (m & m.dtype.type(1 << j)) != 0
            act = np.flatnonzero(c)
            if not act.size:
                continue
            if t.shifts:
                h = np.zeros(len(act), dtype=np.uint64)
                for d, s in t.shifts:
                    h = (h ^ (cols[d][act] >> s)) * _K1
                    h ^= h >> _S
                slot = (h >> np.uint64(64 - t.tbits)).astype(np.int64)
            else:
                h = np.zeros(len(act), dtype=np.uint64)
                slot = np.zeros(len(act), dtype=np.int64)
            mask = (1 << t.tbits) - 1
            bucket = np.full(len(act), -1, dtype=np.int64)
            pend = np.arange(len(act))
            while pend.size:
                tb = t.tbuck[slot]
                hit = (tb >= 0) & (t.tkey[slot] == h)
                bucket[pend[hit]] = tb[hit]
                go = (tb >= 0) & ~hit
                pend, slot, h = pend[go], (slot[go] + 1) & mask, h[go]
            sel = np.flatnonzero(bucket >= 0)
            if not sel.size:
                continue
            # every (point, candidate box) pair at once; a point's candidates are in
            # priority order, so its first matching pair is its best box in this tuple
            a = act[sel]
            b = bucket[sel]
            ln = t.blen[b]
            if t.maxlen == 1:
                pa, box = a, t.bbox[t.bstart[b]]
            else:
                pa = np.repeat(a, ln)
                first = np.cumsum(ln) - ln
                box = t.bbox[np.repeat(t.bstart[b] - first, ln) + np.arange(len(pa))]
            ok = box < best[pa]
            pa, box = pa[ok], box[ok]
            # dimension by dimension (rows of lo/hi: one box's bounds share a cache line)
            for d in range(D):
                if not pa.size:
                    break
                v = cols[d][pa]
                k = (lo[box, d] <= v) & (v <= hi[box, d])
                pa, box = pa[k], box[k]
            if t.maxlen > 1 and pa.size:
                keep = np.concatenate(([True], pa[1:] != pa[:-1]))
                pa, box = pa[keep], box[keep]
            best[pa] = box
        best[best == _NONE] = -1
        return best

    def stats(self) -> TupleStats:
        nb = sum(len(t.blen) for t in self.tuples)
        mx = max((int(t.blen.max()) for t in self.tuples), default=0)
        nbytes = sum(t.tkey.nbytes + t.tbuck.nbytes + t.bstart.nbytes + t.blen.nbytes + t.bbox.nbytes
                     for t in self.tuples) + self.lo.nbytes + self.hi.nbytes \
            + sum(masks.nbytes for _, _, masks in self.bfilter)
        return TupleStats(len(self.tuples), nb, mx, sum(len(t.bbox) for t in self.tuples), nbytes)
