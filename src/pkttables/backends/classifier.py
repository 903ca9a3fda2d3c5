"""A first-match packet classifier for stateless runs of rules: tuple space search or a cut tree over boxes.

Theory of operation
-------------------
:mod:`pkttables.backends.extract` turns each rule of a run into constraints on packet
fields.  Here every field becomes a **dimension** of ``8W + 1`` bits, ``W`` the widest
load of that field in the run: values ``0 .. 2^8W - 1`` are the field's bytes as a
big-endian integer, ``2^8W`` (``ABSENT``) means "the load would BREAK".  A constraint
of an ``n``-byte load (n < W, e.g. ``ip saddr 10.0.0.0/8`` loads 1 byte of the 4-byte
field) is the interval ``[a << 8(W-n), b << 8(W-n) | ones]``; a field a rule does not
load is the whole dimension (absent included).  Each rule is then a union of
**boxes** (the cross product of its interval lists; one box for an ACL rule), and the
answer for a packet is the rule of the first box that contains its point.

Two decompositions of the boxes are implemented (``method``):

* ``"tuple"`` (the default, ``"auto"``): tuple space search with merged tuples,
  :mod:`pkttables.backends.tuplespace` -- no box is replicated, a lookup is one hash
  probe per tuple (about 10 tuples at 100k ACL rules) plus at most ``limit`` candidate
  boxes per probe.
* ``"tree"``: the cut tree below, kept for comparison; it replicates wildcard boxes
  and loses to the tuple space at every size measured (docs/classifier.md).

The decomposition is a HiCuts/HyperCuts-style decision tree (Gupta and McKeown, "Packet
Classification using Hierarchical Intelligent Cuttings", Hot Interconnects 1999; Singh
et al., HyperCuts, SIGCOMM 2003) with aligned power-of-two cuts, so a node is a
multibit-trie step on one dimension:

* a node covers an aligned block of every dimension; it cuts one dimension into
  ``2^k`` equal children and the child of a point is ``(v >> shift) & (2^k - 1)``;
* the dimension is the one whose largest child holds the fewest boxes, ``k`` the
  largest for which the boxes copied into children stay under ``spfac`` times the
  node's boxes (HiCuts' space measure);
* boxes after the first one that covers the node's whole block can never be first:
  they are dropped (this also ends the recursion on piles of overlapping wildcards);
* siblings with the same boxes, all covering both siblings' blocks on the cut
  dimension, share one subtree;
* a node with ``binth`` boxes or fewer is a leaf, scanned in priority order.

A lookup is a walk of a few nodes plus a scan of at most ``binth`` boxes (usually):
its cost depends on the tree depth, not on the rule count.  The batch path
(:meth:`Classifier.classify_batch`) does the same walk for a whole numpy array of
points, one level at a time, then scans the leaves position by position, keeping
only the packets still unmatched.

Measured for the tree (this machine, 1 shared core, ClassBench-style ACL): at
4,000 rules ``binth=32, spfac=1.5`` builds in 8.7 s, 1,167 B/rule, ~1.0 M pkt/s batch,
79 k pkt/s per packet; ``binth=16, spfac=4`` built 105,764 nodes (3 KB/rule, 35 s);
``binth=64`` is 4x smaller but 4x slower in batch.  Replication of wildcard boxes
grows faster than the rule count: this is why tuple space search is the default.
The naive loop over the rules (:meth:`Classifier.match_linear`) is the baseline
measured beside both.

Presence: the kernel BREAKs a payload load when its bytes are not in the packet, and
whether they are depends on the load's length (a non-first fragment allows aligned 1,
2 and 4-byte transport loads only).  When the loads of one field, at the lengths the
run uses, disagree for a packet (some present, some not: truncated or fragmented
packets), :meth:`Classifier.classify` falls back to :meth:`Classifier.match_linear`,
the rules one by one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from pkttables.backends.extract import Intervals, Run, RuleSpec, intersect, split_runs
from pkttables.backends.tuplespace import TupleSpace
from pkttables.packet import Packet
from pkttables.proto import MetaKeyId
from pkttables.vm.meta import MetaLoad
from pkttables.vm.payload import base_offset
from pkttables.vm.interp import run as vm_run
from pkttables.vm.regs import Regs, Verdict

__all__ = ["Dim", "Classifier", "ChainClassifier", "BuildStats", "extract_frames"]

_L4PROTO = int(MetaKeyId.L4PROTO)
_PROTOCOL = int(MetaKeyId.PROTOCOL)
_BREAK = Verdict.BREAK
MAX_BOXES_PER_RULE = 4096
METHODS = ("auto", "tree", "tuple")
#: "auto" builds the cut tree up to this many boxes, tuple space search above.  0: the
#: tuple space won at every size measured (ClassBench ACL, docs/classifier.md: 1k rules
#: batch 2.8 M/s vs 0.86 M/s, per point 590 k/s vs 440 k/s)
AUTO_TREE_MAX_BOXES = 0


@dataclass(frozen=True, slots=True)
class Dim:
    """One dimension: a field, its width in bytes and the load lengths the run uses."""

    field: tuple
    width: int
    lengths: tuple[int, ...]

    @property
    def absent(self) -> int:
        return 1 << (8 * self.width)

    @property
    def bits(self) -> int:
        return 8 * self.width + 1


@dataclass(frozen=True, slots=True)
class BuildStats:
    rules: int
    boxes: int
    nodes: int
    leaves: int
    leaf_entries: int
    max_leaf: int
    depth: int
    nbytes: int              # numpy arrays of the structure (batch and per-packet share them)
    method: str = "tree"     # "tree": nodes/leaves/depth; "tuple": tuples/buckets, depth 0


def _limit(pkt, ctx) -> int:
    if ctx is not None and ctx.l3_trim and pkt.nh_off >= 0:
        return pkt.nh_off + pkt.l3_len
    return len(pkt.buf)


class Classifier:
    """The classifier of one :class:`~pkttables.backends.extract.Run`.

    ``classify(pkt, ctx)`` / ``classify_batch(points)`` return the chain position of
    the first matching rule (None / -1 when no rule of the run matches)."""

    _serial = 0          # numbers the generated functions' linecache names

    def __init__(self, run: Run, *, method: str = "auto", binth: int = 32, spfac: float = 1.5,
                 kmax: int = 8, limit: int = 4, grid: int = 8, alpha: float = 0.75):
        if method not in METHODS:
            raise ValueError(f"classifier method {method!r}: expected one of {', '.join(METHODS)}")
        self.run = run
        self.rules: tuple[RuleSpec, ...] = run.rules
        widths: dict[tuple, set[int]] = {}
        for r in run.rules:
            for c in r.constraints:
                widths.setdefault(c.field, set()).add(c.length)
        self.dims = [Dim(f, max(ls), tuple(sorted(ls))) for f, ls in widths.items()]
        self._dim_of = {d.field: i for i, d in enumerate(self.dims)}
        self.binth, self.spfac, self.kmax = binth, spfac, kmax
        self._build_boxes()
        if method == "auto":
            method = "tree" if len(self.box_rule) <= AUTO_TREE_MAX_BOXES else "tuple"
        self.method = method
        if method == "tree":
            self._build_checks()
            self._build_tree()
            self.classify_point = self._tree_point
            self.classify_batch = self._tree_batch
        else:
            self._tss = TupleSpace(self.lo, self.hi, [d.bits for d in self.dims], limit=limit, grid=grid,
                                   alpha=alpha)
            self.classify = self._compile_classify()

    # ------------------------------------------------------------------ boxes
    def _rule_dim_intervals(self, r: RuleSpec) -> list[Intervals]:
        per = list(self._full)
        full = self._full
        for c in r.constraints:
            i = self._dim_of[c.field]
            k = self._shift[i][c.length]
            if k:
                low = (1 << k) - 1
                iv = tuple((a << k, (b << k) | low) for a, b in c.allowed)
            else:
                iv = c.allowed
            # intersect() with the whole dimension keeps iv's non-empty intervals: skip
            # it for the first constraint of a dimension (the build's hot loop at 100k)
            per[i] = tuple(x for x in iv if x[0] <= x[1]) if per[i] is full[i] else intersect(per[i], iv)
        return per

    def _build_boxes(self) -> None:
        self._full = tuple(((0, (1 << d.bits) - 1),) for d in self.dims)
        self._shift = [{n: 8 * (d.width - n) for n in d.lengths} for d in self.dims]
        los, his, owner = [], [], []
        for ri, r in enumerate(self.rules):
            per = self._rule_dim_intervals(r)
            count = 1
            for iv in per:
                count *= len(iv)
            if count == 1:            # one box (every ACL rule): no product to build
                los.append([iv[0][0] for iv in per])
                his.append([iv[0][1] for iv in per])
                owner.append(ri)
                continue
            if count > MAX_BOXES_PER_RULE:
                raise ValueError(f"rule {r.index}: {count} boxes (limit {MAX_BOXES_PER_RULE})")
            for combo in itertools.product(*per):
                los.append([a for a, _ in combo])
                his.append([b for _, b in combo])
                owner.append(ri)
        shape = (len(owner), len(self.dims))
        self.lo = np.array(los, dtype=np.uint64).reshape(shape)
        self.hi = np.array(his, dtype=np.uint64).reshape(shape)
        self.box_rule = np.array(owner, dtype=np.int32)
        self.box_pos = np.array([self.rules[o].index for o in owner], dtype=np.int64)
        self._box_pos = self.box_pos.tolist()

    def _build_checks(self) -> None:
        # per-packet scan of the tree's leaves: only the dimensions a box constrains
        full = [(1 << d.bits) - 1 for d in self.dims]
        los, his = self.lo.tolist(), self.hi.tolist()
        self._checks = []
        for b in range(len(los)):
            self._checks.append(tuple((d, los[b][d], his[b][d]) for d in range(len(self.dims))
                                      if los[b][d] != 0 or his[b][d] != full[d]))

    # ------------------------------------------------------------------ tree
    def _build_tree(self) -> None:
        nd = len(self.dims)
        self._ndim: list[int] = []
        self._nshift: list[int] = []
        self._nmask: list[int] = []
        self._nbase: list[int] = []
        self._nlen: list[int] = []
        self._kids: list[int] = []
        self._leaf: list[int] = []
        self._max_depth = 0
        lo, hi = self.lo, self.hi
        binth, spfac, kmax = self.binth, self.spfac, self.kmax
        bits = [d.bits for d in self.dims]

        def new_leaf(idx: np.ndarray) -> int:
            n = len(self._ndim)
            self._ndim.append(-1)
            self._nshift.append(0)
            self._nmask.append(0)
            self._nbase.append(len(self._leaf))
            self._nlen.append(len(idx))
            self._leaf.extend(idx.tolist())
            return n

        def contained(idx: np.ndarray, base: list[int], rem: list[int]) -> np.ndarray:
            """``idx`` without the boxes that an earlier box contains inside this block."""
            if len(idx) < 2 or len(idx) > 4096:
                return idx
            bl = np.array(base, dtype=np.uint64)
            top = np.array([b + (1 << r) - 1 for b, r in zip(base, rem)], dtype=np.uint64)
            cl = np.maximum(lo[idx], bl)
            ch = np.minimum(hi[idx], top)
            keep = np.ones(len(idx), dtype=bool)
            for j in range(1, len(idx)):
                earlier = keep[:j]
                inside = ((cl[:j] <= cl[j]) & (ch[:j] >= ch[j])).all(axis=1) & earlier
                if inside.any():
                    keep[j] = False
            return idx[keep]

        def build(idx: np.ndarray, base: list[int], rem: list[int], depth: int) -> int:
            self._max_depth = max(self._max_depth, depth)
            if len(idx) and nd:
                top = np.array([b + (1 << r) - 1 for b, r in zip(base, rem)], dtype=np.uint64)
                bl = np.array(base, dtype=np.uint64)
                cover = ((lo[idx] <= bl) & (hi[idx] >= top)).all(axis=1)
                first = np.flatnonzero(cover)
                if first.size:
                    idx = idx[: first[0] + 1]
            if len(idx) <= binth or not nd or depth > 64:
                return new_leaf(contained(idx, base, rem) if nd else idx[:1])
            n = len(idx)
            best = None
            for d in range(nd):
                if rem[d] == 0:
                    continue
                b0 = base[d]
                btop = b0 + (1 << rem[d]) - 1
                l = np.maximum(lo[idx, d], np.uint64(b0)) - np.uint64(b0)
                h = np.minimum(hi[idx, d], np.uint64(btop)) - np.uint64(b0)
                pick = None
                for k in range(1, min(rem[d], kmax) + 1):
                    sh = np.uint64(rem[d] - k)
                    clo = (l >> sh).astype(np.int64)
                    chi = (h >> sh).astype(np.int64)
                    total = int((chi - clo + 1).sum())
                    if pick is not None and total + (1 << k) > spfac * n:
                        break
                    diff = np.bincount(clo, minlength=(1 << k) + 1) - np.bincount(chi + 1, minlength=(1 << k) + 1)
                    mx = int(np.cumsum(diff)[: 1 << k].max())
                    pick = (mx, total, k, clo, chi)
                if pick is None:
                    continue
                if best is None or (pick[0], pick[1]) < (best[0], best[1]):
                    best = (pick[0], pick[1], pick[2], pick[3], pick[4], d)
            if best is None or best[0] >= n:
                # no cut separates the boxes: drop the ones an earlier box hides here
                kept = contained(idx, base, rem)
                if len(kept) < n:
                    return build(kept, base, rem, depth)
                return new_leaf(idx)
            _, _, k, clo, chi, d = best
            node = len(self._ndim)
            self._ndim.append(d)
            self._nshift.append(rem[d] - k)
            self._nmask.append((1 << k) - 1)
            kb = len(self._kids)
            self._nbase.append(kb)
            self._nlen.append(0)
            self._kids.extend([0] * (1 << k))
            shared: dict[bytes, int] = {}
            csize = 1 << (rem[d] - k)
            for c in range(1 << k):
                members = idx[(clo <= c) & (chi >= c)]
                cb = base[d] + c * csize
                key = members.tobytes()
                # a subtree is reusable for a sibling only if its boxes cover both
                # siblings' blocks whole on the cut dimension
                whole = bool(((lo[members, d] <= np.uint64(cb)) &
                              (hi[members, d] >= np.uint64(cb + csize - 1))).all())
                if whole and key in shared:
                    self._kids[kb + c] = shared[key]
                    continue
                nb = list(base)
                nb[d] = cb
                nr = list(rem)
                nr[d] = rem[d] - k
                child = build(members, nb, nr, depth + 1)
                self._kids[kb + c] = child
                if whole:
                    shared[key] = child
            return node

        build(np.arange(len(self.box_rule), dtype=np.int64), [0] * nd, bits, 0)
        self.ndim = np.array(self._ndim, dtype=np.int64)
        self.nshift = np.array(self._nshift, dtype=np.uint64)
        self.nmask = np.array(self._nmask, dtype=np.uint64)
        self.nbase = np.array(self._nbase, dtype=np.int64)
        self.nlen = np.array(self._nlen, dtype=np.int64)
        self.kids = np.array(self._kids, dtype=np.int64)
        self.leaf = np.array(self._leaf, dtype=np.int64)
        self._nodes = list(zip(self._ndim, self._nshift, self._nmask, self._nbase, self._nlen))

    def stats(self) -> BuildStats:
        if self.method == "tuple":
            t = self._tss.stats()
            return BuildStats(len(self.rules), len(self.box_rule), t.tuples, t.buckets, t.entries,
                              t.max_bucket, 0, t.nbytes + self.box_pos.nbytes + self.box_rule.nbytes,
                              "tuple")
        arrays = (self.lo, self.hi, self.box_rule, self.box_pos, self.ndim, self.nshift, self.nmask,
                  self.nbase, self.nlen, self.kids, self.leaf)
        leaves = int((self.ndim < 0).sum())
        return BuildStats(len(self.rules), len(self.box_rule), len(self.ndim), leaves, len(self.leaf),
                          int(self.nlen.max()) if len(self.nlen) else 0, self._max_depth,
                          sum(a.nbytes for a in arrays))

    # ------------------------------------------------------------------ fields of a packet
    def _load(self, field: tuple, n: int, pkt, ctx):
        """The ``n``-byte value of ``field`` as the kernel would load it, or None (BREAK)."""
        if field[0] == "payload":
            _, base, off = field
            start = base_offset(pkt, base, off, n)
            if start < 0:
                return None
            start += off
            if start + n > _limit(pkt, ctx):
                return None
            return int.from_bytes(pkt.buf[start:start + n], "big")
        key = field[1]
        if key == _L4PROTO:   # meta._get: l4proto is known or the load BREAKs
            return pkt.l4proto if pkt.l4proto >= 0 else None
        regs = Regs()
        regs.verdict = Verdict.CONTINUE
        MetaLoad(MetaKeyId(key), 1).eval(regs, pkt, ctx)
        if regs.verdict == _BREAK:
            return None
        return int.from_bytes(regs.load(1, n), "big")

    def point(self, pkt, ctx) -> list[int] | None:
        """The packet's point (one value per dimension), or None when the loads of one
        field disagree on presence (then only the linear scan is exact)."""
        out = []
        for d in self.dims:
            v = self._load(d.field, d.width, pkt, ctx)
            if len(d.lengths) > 1:
                pres = [self._load(d.field, n, pkt, ctx) is not None for n in d.lengths[:-1]]
                pres.append(v is not None)
                if any(pres) and not all(pres):
                    return None
            out.append(d.absent if v is None else v)
        return out

    # ------------------------------------------------------------------ lookups
    def classify_point(self, p: Sequence[int]) -> int | None:
        """Chain position of the first rule whose box contains ``p``, or None."""
        b = self._tss.lookup(p)
        return None if b < 0 else self._box_pos[b]

    def _tree_point(self, p: Sequence[int]) -> int | None:
        nodes, kids = self._nodes, self._kids
        d, sh, mk, b, ln = nodes[0]
        while d >= 0:
            d, sh, mk, b, ln = nodes[kids[b + ((p[d] >> sh) & mk)]]
        checks, leaf = self._checks, self._leaf
        for j in range(b, b + ln):
            box = leaf[j]
            for dd, lo, hi in checks[box]:
                v = p[dd]
                if v < lo or v > hi:
                    break
            else:
                return self.rules[self._owner(box)].index
        return None

    def _owner(self, box: int) -> int:
        return int(self.box_rule[box])

    def classify(self, pkt, ctx=None) -> int | None:
        """Chain position of the first rule of the run that matches ``pkt``, or None."""
        p = self.point(pkt, ctx)
        if p is None:
            return self.match_linear(pkt, ctx)
        return self.classify_point(p)

    # ------------------------------------------------------------------ generated per-packet path
    def _start_expr(self, base: int, off: int, n: int) -> str:
        """Source of ``base_offset(pkt, base, off, n)`` for this load (-1: BREAK)."""
        if base == 0:
            return "pkt.mac_off"
        if base == 1:
            return "pkt.nh_off"
        if base == 2:
            # Packet.transport_load_allowed: nft_payload_fast_eval's aligned 1/2/4-byte
            # loads need only the l4proto; the others also a first fragment
            if n in (1, 2, 4) and off % n == 0:
                return "(pkt.th_off if pkt.l4proto >= 0 else -1)"
            return "(pkt.th_off if pkt.l4proto >= 0 and pkt.fragoff == 0 else -1)"
        if base == 3:
            return "_inner_offset(pkt)"
        return "-1"

    def _compile_classify(self):
        """:meth:`classify` as one generated function for this run: the point's loads
        inlined (:meth:`_load`'s semantics, field by field, constants folded) followed
        by the tuple space lookup unrolled (:meth:`TupleSpace.emit_lookup`).  The same
        answers as ``point`` + ``classify_point`` (tested with hypothesis against them
        and against vm.run); about twice as fast per packet (docs/classifier.md).  The
        source is in :mod:`linecache` under ``<pkttables classifier N>`` and in
        :attr:`source`."""
        import linecache

        from pkttables.vm.payload import _inner_offset

        env: dict = {"_inner_offset": _inner_offset, "_load": self._load, "_linear": self.match_linear,
                     "_pos": self._box_pos}
        lines = ["def classify(pkt, ctx=None):",
                 "    buf = pkt.buf",
                 "    if ctx is not None and ctx.l3_trim and pkt.nh_off >= 0:",
                 "        lim = pkt.nh_off + pkt.l3_len",
                 "    else:",
                 "        lim = len(buf)"]
        names = []
        for i, d in enumerate(self.dims):
            v = f"v{i}"
            names.append(v)
            f, W = d.field, d.width
            lines.append(f"    # dimension {i}: {f} {W} bytes, loads of {', '.join(map(str, d.lengths))}")
            if f[0] == "meta" and f[1] == _L4PROTO:
                lines.append(f"    {v} = pkt.l4proto if pkt.l4proto >= 0 else {d.absent}")
                continue
            if f[0] != "payload":
                env[f"_F{i}"] = f
                lines += [f"    {v} = _load(_F{i}, {W}, pkt, ctx)"]
                for n in d.lengths[:-1]:
                    lines += [f"    if (_load(_F{i}, {n}, pkt, ctx) is None) != ({v} is None):",
                              "        return _linear(pkt, ctx)"]
                lines += [f"    if {v} is None:", f"        {v} = {d.absent}"]
                continue
            _, base, off = f
            lines.append(f"    s = {self._start_expr(base, off, W)}")
            if W == 1:
                get = f"buf[s + {off}]"
            elif W == 2:
                get = f"(buf[s + {off}] << 8) | buf[s + {off + 1}]"
            else:
                get = f"int.from_bytes(buf[s + {off}:s + {off + W}], 'big')"
            lines += [f"    if s >= 0 and s + {off + W} <= lim:",
                      f"        {v} = {get}",
                      "    else:",
                      f"        {v} = {d.absent}"]
            for n in d.lengths[:-1]:
                # a shorter load of the same field: when it disagrees on presence only
                # the rules one by one are exact (see point())
                lines += [f"    s = {self._start_expr(base, off, n)}",
                          f"    if (s >= 0 and s + {off + n} <= lim) != ({v} != {d.absent}):",
                          "        return _linear(pkt, ctx)"]
        body, tenv = self._tss.emit_lookup(names)
        env.update(tenv)
        lines += body
        lines.append("    return None if best == _NONE else _pos[best]")
        src = "\n".join(lines) + "\n"
        Classifier._serial += 1
        fname = f"<pkttables classifier {Classifier._serial}>"
        linecache.cache[fname] = (len(src), None, src.splitlines(True), fname)
        exec(compile(src, fname, "exec"), env)
        self.source = src
        return env["classify"]

    def match_linear(self, pkt, ctx=None) -> int | None:
        """The rules one by one, each load at its own length: the naive evaluator."""
        cache: dict[tuple, Any] = {}
        for r in self.rules:
            for c in r.constraints:
                key = (c.field, c.length)
                if key not in cache:
                    cache[key] = self._load(c.field, c.length, pkt, ctx)
                v = cache[key]
                if v is None or not any(a <= v <= b for a, b in c.allowed):
                    break
            else:
                return r.index
        return None

    def classify_batch(self, points: np.ndarray) -> np.ndarray:
        """Chain positions (int64, -1: no match) for an array of points ``[P, D]``
        (uint64, absent fields as :attr:`Dim.absent`)."""
        pts = np.ascontiguousarray(points, dtype=np.uint64)
        if not len(self.box_pos):
            return np.full(len(pts), -1, dtype=np.int64)
        b = self._tss.lookup_batch(pts)
        return np.where(b >= 0, self.box_pos[np.maximum(b, 0)], -1)

    def _tree_batch(self, points: np.ndarray) -> np.ndarray:
        pts = np.ascontiguousarray(points, dtype=np.uint64)
        P = len(pts)
        res = np.full(P, -1, dtype=np.int64)
        if P == 0:
            return res
        node = np.zeros(P, dtype=np.int64)
        act = np.arange(P)
        ndim, nshift, nmask, nbase, kids = self.ndim, self.nshift, self.nmask, self.nbase, self.kids
        while act.size:
            nn = node[act]
            dd = ndim[nn]
            inner = dd >= 0
            if not inner.all():
                act, nn, dd = act[inner], nn[inner], dd[inner]
                if not act.size:
                    break
            v = pts[act, dd]
            c = ((v >> nshift[nn]) & nmask[nn]).astype(np.int64)
            node[act] = kids[nbase[nn] + c]
        start = self.nbase[node]
        ln = self.nlen[node]
        act = np.flatnonzero(ln > 0)
        lo, hi, leaf, box_pos = self.lo, self.hi, self.leaf, self.box_pos
        j = 0
        while act.size:
            b = leaf[start[act] + j]
            p = pts[act]
            m = ((lo[b] <= p) & (p <= hi[b])).all(axis=1)
            res[act[m]] = box_pos[b[m]]
            act = act[~m]
            j += 1
            act = act[ln[act] > j]
        return res

    def points(self, pkts: Sequence, ctx=None) -> tuple[np.ndarray, np.ndarray]:
        """Points of parsed packets, and a bool array of the ones that need the
        linear scan (see :meth:`point`)."""
        out = np.zeros((len(pkts), len(self.dims)), dtype=np.uint64)
        slow = np.zeros(len(pkts), dtype=bool)
        for i, pkt in enumerate(pkts):
            p = self.point(pkt, ctx)
            if p is None:
                slow[i] = True
            else:
                out[i] = p
        return out, slow


def extract_frames(clf: Classifier, frames: Sequence[bytes], ctx=None, *, link: int = 1,
                   window: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Points of a batch of frames, vectorised for Ethernet/IPv4 without VLAN tags,
    options or fragments ("simple" frames, where :class:`Packet`'s parse is a handful
    of byte tests); every other frame is parsed as a :class:`Packet`.  Returns
    ``(points, slow)`` like :meth:`Classifier.points`."""
    P = len(frames)
    nd = len(clf.dims)
    pts = np.zeros((P, nd), dtype=np.uint64)
    slow = np.zeros(P, dtype=bool)
    if P == 0:
        return pts, slow
    lens = np.fromiter((len(f) for f in frames), dtype=np.int64, count=P)
    buf = np.frombuffer(b"".join(bytes(f[:window]).ljust(window, b"\0") for f in frames),
                        dtype=np.uint8).reshape(P, window).astype(np.int64)
    simple = (link == 1) & (lens >= 34) & (buf[:, 12] == 8) & (buf[:, 13] == 0)
    ver, ihl = buf[:, 14] >> 4, buf[:, 14] & 15
    tot = (buf[:, 16] << 8) | buf[:, 17]
    frag = ((buf[:, 20] << 8) | buf[:, 21]) & 0x3FFF
    simple &= (ver == 4) & (ihl >= 5) & (tot <= lens - 14) & (tot >= ihl * 4) & (frag == 0)
    th = 14 + ihl * 4
    limit = (14 + tot) if (ctx is not None and ctx.l3_trim) else lens
    rows = np.arange(P)
    for i, d in enumerate(clf.dims):
        f = d.field
        if f[0] == "meta":
            if f[1] == _L4PROTO:
                pts[:, i] = buf[:, 23]
            elif f[1] == _PROTOCOL:
                pts[:, i] = 0x0800
            else:
                simple[:] = False
            continue
        _, base, off = f
        if base == 0:
            start = np.zeros(P, dtype=np.int64)
        elif base == 1:
            start = np.full(P, 14, dtype=np.int64)
        elif base == 2:
            start = th
        else:
            simple[:] = False
            continue
        start = start + off
        end = start + d.width
        present = end <= limit
        short = start + min(d.lengths) <= limit
        simple &= (present == short) & (end <= window)   # mixed presence or past the window
        idx = np.clip(start[:, None] + np.arange(d.width), 0, window - 1)
        by = buf[rows[:, None], idx]
        val = np.zeros(P, dtype=np.uint64)
        for k in range(d.width):
            val = (val << np.uint64(8)) | by[:, k].astype(np.uint64)
        pts[:, i] = np.where(present, val, np.uint64(d.absent))
    for r in np.flatnonzero(~simple).tolist():
        p = clf.point(Packet(frames[r], link), ctx)
        if p is None:
            slow[r] = True
        else:
            pts[r] = p
    return pts, slow


class ChainClassifier:
    """A chain's rules, in order: each stateless run of at least ``min_run`` rules
    through a :class:`Classifier`, every other rule through the interpreter.

    :meth:`first_match` gives what nft_do_chain's rule loop gives: the position of the
    first rule that ends it (a verdict other than CONTINUE), its verdict and chain, or
    ``(None, CONTINUE, None)``; the matched run rule's counter is counted through
    ``ctx.counter`` as the interpreter would.  Opaque rules may have side effects
    (counters, ``meta set``) and see the packet as the interpreter leaves it."""

    def __init__(self, rules: Sequence[Any], *, min_run: int = 8, **tree):
        self.rules = list(rules)
        runs, self.opaque = split_runs(self.rules, min_run=min_run)
        self.classifiers = [Classifier(r, **tree) for r in runs]
        self._seg: list[tuple[int, Any]] = []     # (position, Classifier | rule)
        starts = {c.run.start: c for c in self.classifiers}
        i = 0
        while i < len(self.rules):
            c = starts.get(i)
            if c is not None:
                self._seg.append((i, c))
                i = c.run.stop
            else:
                self._seg.append((i, self.rules[i]))
                i += 1
        self._spec = {r.index: r for c in self.classifiers for r in c.rules}

    def first_match(self, pkt, ctx, regs: Regs | None = None):
        regs = regs if regs is not None else Regs()
        for pos, seg in self._seg:
            if isinstance(seg, Classifier):
                hit = seg.classify(pkt, ctx)
                if hit is not None:
                    spec = self._spec[hit]
                    if spec.counter is not None:
                        ctx.counter(spec.counter, pkt)
                    return hit, Verdict(spec.verdict.code), spec.verdict.chain
                continue
            instrs, sets = (seg.instrs, seg.sets) if hasattr(seg, "instrs") else seg
            if sets:
                ctx.rule_sets = sets       # as do_chain hands a rule its anonymous sets
            verdict, chain = vm_run(instrs, pkt, ctx, regs)
            if verdict != Verdict.CONTINUE:
                return pos, verdict, chain
        return None, Verdict.CONTINUE, None
