"""Find the stateless first-match runs of a chain and turn each rule into field constraints.

Theory of operation
-------------------
A rule the classifier may take over must behave like a pure predicate on a few packet
fields followed by a verdict: *if every field is present and inside its allowed set,
the rule decides; otherwise the next rule runs*.  :func:`rule_spec` checks that by
executing the rule symbolically, instruction by instruction, with the register file
holding descriptions instead of bytes:

* ``payload load Nb @ base + off => reg r`` and ``meta load KEY => reg r`` (keys whose
  value depends only on the packet and the host: l4proto, protocol, nfproto, mark,
  len, ...) put *field* ``(base, off)`` / ``(meta, KEY)`` of N bytes in ``reg r``;
* ``bitwise reg d = (reg s & mask) ^ xor`` over such a field keeps a masked field;
* ``cmp``, ``range`` and ``lookup`` (an anonymous, constant set of plain keys: no map,
  no concatenation) read a field back and become an **interval list** on it;
* ``counter`` (after the last match) is remembered; ``immediate reg 0 VERDICT``
  (accept, drop, jump, goto, return) must be the last instruction.

Anything else -- stateful matches, byteorder, shifts, maps, named sets (their elements
change without a new ruleset generation), reads of registers the rule did not write --
makes the rule *opaque*: it ends the run and is left to the interpreter.  Runs are the
maximal sequences of non-opaque rules (:func:`split_runs`).

Values are the big-endian integers of the register bytes, since ``cmp``/``range`` and
set keys compare with ``memcmp``.  A read of L bytes of an N-byte field (registers are
zero-padded to a word) is ``v >> 8(N-L)`` when L < N and ``v << 8(L-N)`` when L > N;
the interval conditions on the register are turned back into intervals on ``v``::

    ip saddr 10.0.0.0/8    [ payload load 1b @ network header + 12 => reg 1 ]
                           [ cmp eq reg 1 0x0000000a ]   (4 bytes read, 0x0a000000)
    -> field (network, 12), 1 byte:  v in [0x0a, 0x0a]

A prefix mask (``bitwise & 0xfff00000``) on a wide field becomes one interval; any
condition on a field of at most 2 bytes is solved by enumerating its values.  An
exact rule on a field the classifier cannot express (a non-prefix mask on a 4-byte
field) is opaque.  The semantics is nft_do_chain's: a rule whose loads BREAK (field
absent) does not match; the classifier deals with presence per field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from pkttables.proto import MetaKeyId as _K
from pkttables.vm.bitwise import Bitwise, BitwiseOp
from pkttables.vm.cmp import Cmp, CmpOp, Range, RangeOp
from pkttables.vm.immediate import Immediate
from pkttables.vm.lookup import Lookup
from pkttables.vm.meta import MetaLoad
from pkttables.vm.payload import PayloadLoad
from pkttables.vm.program import ELEM_CATCHALL, ELEM_INTERVAL_END, SetFlag
from pkttables.vm.regs import Verdict, VerdictData, reg_offset
from pkttables.vm.stateful import Counter

__all__ = ["FieldKey", "Constraint", "RuleSpec", "Run", "Opaque", "rule_spec", "split_runs",
           "Intervals", "intersect", "complement", "META_WIDTH"]

#: A field: ("payload", base, offset) or ("meta", key).
FieldKey = tuple
#: Sorted, disjoint, inclusive (lo, hi) pairs.
Intervals = tuple[tuple[int, int], ...]

#: meta keys whose value is a function of the packet and the host (vm/meta.py), with
#: the register length they load
META_WIDTH = {
    _K.L4PROTO: 1, _K.NFPROTO: 1, _K.PROTOCOL: 2, _K.MARK: 4, _K.LEN: 4, _K.PRIORITY: 4,
    _K.IIF: 4, _K.OIF: 4, _K.IIFTYPE: 2, _K.OIFTYPE: 2, _K.PKTTYPE: 1, _K.IIFGROUP: 4,
    _K.OIFGROUP: 4,
}
_TERMINAL = frozenset((Verdict.ACCEPT, Verdict.DROP, Verdict.JUMP, Verdict.GOTO, Verdict.RETURN))
# fields this wide are enumerated (65,536 values at most)
_ENUM_BYTES = 2


class Opaque(Exception):
    """The rule is not a stateless field predicate; the message says why."""


@dataclass(frozen=True, slots=True)
class Constraint:
    """``field`` loaded with ``length`` bytes must be present and its value (an integer
    of ``length`` bytes) inside ``allowed``."""

    field: FieldKey
    length: int
    allowed: Intervals


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One classifiable rule: its position in the chain, the conjunction of its
    constraints (at most one per (field, length)), its verdict and counter."""

    index: int
    constraints: tuple[Constraint, ...]
    verdict: VerdictData
    counter: Counter | None = None


@dataclass(frozen=True, slots=True)
class Run:
    """Chain positions ``start`` .. ``stop - 1`` (all classifiable), in order."""

    start: int
    stop: int
    rules: tuple[RuleSpec, ...]


# ------------------------------------------------------------------ intervals
def intersect(a: Intervals, b: Intervals) -> Intervals:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def complement(a: Intervals, top: int) -> Intervals:
    out = []
    nxt = 0
    for lo, hi in a:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= top:
        out.append((nxt, top))
    return tuple(out)


def _merge(pts: Iterable[tuple[int, int]]) -> Intervals:
    out: list[list[int]] = []
    for lo, hi in sorted(pts):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


def _from_mask(ok) -> Intervals:
    """Intervals of the True positions of a numpy bool array."""
    import numpy as np

    d = np.diff(np.concatenate(([0], ok.astype(np.int8), [0])))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1) - 1
    return tuple(zip(starts.tolist(), ends.tolist()))


# ------------------------------------------------------------------ symbolic registers
@dataclass(frozen=True, slots=True)
class _Val:
    field: FieldKey
    n: int                       # bytes loaded
    mask: int | None = None      # bitwise over the padded register (R bytes), big-endian int
    xor: int = 0

    @property
    def r(self) -> int:          # bytes the value occupies in the register file
        return -(-self.n // 4) * 4


class _Regs:
    def __init__(self) -> None:
        self.slots: dict[int, tuple[int, _Val]] = {}   # start byte -> (end byte, value)

    def write(self, reg: int, val: _Val) -> None:
        s = reg_offset(reg)
        e = s + val.r
        self.slots = {k: v for k, v in self.slots.items() if v[0] <= s or k >= e}
        self.slots[s] = (e, val)

    def read(self, reg: int, length: int) -> _Val:
        s = reg_offset(reg)
        ent = self.slots.get(s)
        if ent is None or s + length > ent[0]:
            raise Opaque(f"reads reg {reg} ({length} bytes) that the rule did not load")
        return ent[1]


def _cond_cmp(op: CmpOp, c: int, top: int) -> Intervals:
    if op == CmpOp.EQ:
        return ((c, c),)
    if op == CmpOp.NEQ:
        return complement(((c, c),), top)
    if op == CmpOp.LT:
        return ((0, c - 1),) if c > 0 else ()
    if op == CmpOp.LTE:
        return ((0, c),)
    if op == CmpOp.GT:
        return ((c + 1, top),) if c < top else ()
    if op == CmpOp.GTE:
        return ((c, top),)
    raise Opaque(f"unknown cmp op {op}")


def _set_intervals(s: Any, klen: int) -> Intervals:
    """The keys a constant anonymous set holds, as intervals of ``klen``-byte integers."""
    top = (1 << (8 * klen)) - 1
    raw = getattr(s, "elements", ())
    if callable(raw):
        return _instance_intervals(s, klen, raw())
    flags = getattr(s, "flags", 0)
    elems = list(raw)
    if any(e.flags & ELEM_CATCHALL for e in elems):
        return ((0, top),)
    if any(e.key_end is not None for e in elems):
        raise Opaque("concatenated ranges (pipapo) are not classified")
    keys = [(int.from_bytes(e.key.ljust(klen, b"\0")[:klen], "big"), bool(e.flags & ELEM_INTERVAL_END))
            for e in elems]
    if not flags & SetFlag.INTERVAL:
        return _merge((k, k) for k, _ in keys)
    # chain.DumpSet.lookup: the last start <= key decides; an end marker means "outside"
    keys.sort()
    out = []
    for i, (k, is_end) in enumerate(keys):
        if is_end:
            continue
        hi = keys[i + 1][0] - 1 if i + 1 < len(keys) else top
        if hi >= k:
            out.append((k, hi))
    return _merge(out)


def _instance_intervals(s: Any, klen: int, views: Sequence[Any]) -> Intervals:
    """The keys of a :class:`pkttables.sets.instance.SetInstance` (its ``elements()``
    views: ``key``, inclusive ``key_end`` for a range, ``catchall``)."""
    top = (1 << (8 * klen)) - 1
    spec = getattr(s, "spec", None)
    if spec is not None and getattr(spec, "is_concat", False):
        raise Opaque("concatenated keys are not classified")
    out = []
    for v in views:
        if getattr(v, "catchall", False) or v.key is None:
            return ((0, top),)
        lo = int.from_bytes(v.key.ljust(klen, b"\0")[:klen], "big")
        hi = lo if v.key_end is None else int.from_bytes(v.key_end.ljust(klen, b"\0")[:klen], "big")
        out.append((lo, hi))
    return _merge(out)


def _back_to_field(val: _Val, length: int, cond: Intervals) -> Intervals:
    """Intervals of the field value ``v`` (``val.n`` bytes) for which the ``length``-byte
    register read satisfies ``cond``."""
    n = val.n
    if val.mask is None:
        if length <= n:
            k = 8 * (n - length)
            low = (1 << k) - 1
            return tuple((a << k, (b << k) | low) for a, b in cond)
        k = 8 * (length - n)
        out = []
        for a, b in cond:
            lo = -(-a >> k)
            hi = b >> k
            if lo <= hi:
                out.append((lo, hi))
        return tuple(out)
    r = val.r
    if n <= _ENUM_BYTES:
        import numpy as np

        v = np.arange(1 << (8 * n), dtype=np.int64)
        x = ((v << (8 * (r - n))) & val.mask) ^ val.xor
        y = x >> (8 * (r - length))
        ok = np.zeros(len(v), dtype=bool)
        for a, b in cond:
            ok |= (y >= a) & (y <= b)
        return _from_mask(ok)
    top_l = (1 << (8 * length)) - 1
    if length != r:
        raise Opaque("partial read of a masked wide field")
    if len(cond) == 1 and cond[0][0] == cond[0][1]:
        eq, c = True, cond[0][0]
    elif len(complement(cond, top_l)) == 1 and complement(cond, top_l)[0][0] == complement(cond, top_l)[0][1]:
        eq, c = False, complement(cond, top_l)[0][0]
    else:
        raise Opaque("range over a masked wide field")
    full = (1 << (8 * n)) - 1
    s = 8 * (r - n)
    d = c ^ val.xor
    # the register's pad bits are zero: a mask that keeps them needs zeros there too
    possible = not (d & val.mask & ((1 << s) - 1)) and not (d & ~val.mask)
    mv = (val.mask >> s) & full
    dv = (d >> s) & full
    free = full ^ mv
    if free & (free + 1):
        raise Opaque("non-prefix mask on a wide field")
    hit: Intervals = ((dv, dv | free),) if possible else ()
    return hit if eq else complement(hit, full)


def rule_spec(index: int, instrs: Sequence[Any], sets: dict | None = None) -> RuleSpec:
    """The :class:`RuleSpec` of one rule's instructions, or raise :class:`Opaque`.
    ``sets``: the rule's anonymous sets by the name its lookups use."""
    sets = sets or {}
    regs = _Regs()
    cons: dict[tuple[FieldKey, int], Intervals] = {}
    counter = None
    verdict = None
    for pos, ins in enumerate(instrs):
        if verdict is not None:
            raise Opaque("instructions after the verdict")
        t = type(ins)
        if t is PayloadLoad:
            if counter is not None:
                raise Opaque("match after the counter")
            val = _Val(("payload", int(ins.base), ins.offset), ins.len)
            if ins.len > 7:
                raise Opaque("fields wider than 7 bytes are not classified")
            regs.write(ins.dreg, val)
            cons.setdefault((val.field, val.n), ((0, (1 << (8 * val.n)) - 1),))
        elif t is MetaLoad:
            if counter is not None:
                raise Opaque("match after the counter")
            n = META_WIDTH.get(ins.key)
            if n is None:
                raise Opaque(f"meta {ins.key!r} is not a packet field")
            val = _Val(("meta", int(ins.key)), n)
            regs.write(ins.dreg, val)
            cons.setdefault((val.field, val.n), ((0, (1 << (8 * n)) - 1),))
        elif t is Bitwise:
            if ins.op != BitwiseOp.BOOL:
                raise Opaque("shifts are not classified")
            nb = -(-ins.len // 4) * 4
            src = regs.read(ins.sreg, nb)
            if src.mask is not None or src.r != nb:
                raise Opaque("bitwise of a bitwise result or of part of a field")
            mask = int.from_bytes(ins.mask.ljust(nb, b"\0")[:nb], "big")
            xor = int.from_bytes(ins.xor.ljust(nb, b"\0")[:nb], "big")
            regs.write(ins.dreg, _Val(src.field, src.n, mask, xor))
        elif t is Cmp or t is Range or t is Lookup:
            if counter is not None:
                raise Opaque("match after the counter")
            if t is Lookup:
                if ins.dreg is not None:
                    raise Opaque("maps and verdict maps are not classified")
                s = sets.get(ins.set)
                if s is None:
                    raise Opaque(f"lookup in named set {ins.set!r} (its elements can change)")
                length = getattr(s, "klen", 4)
                cond = _set_intervals(s, length)
                if ins.inverted:
                    cond = complement(cond, (1 << (8 * length)) - 1)
            elif t is Cmp:
                length = len(ins.data)
                cond = _cond_cmp(ins.op, int.from_bytes(ins.data, "big"), (1 << (8 * length)) - 1)
            else:
                length = len(ins.data_from)
                lo, hi = int.from_bytes(ins.data_from, "big"), int.from_bytes(ins.data_to, "big")
                cond = ((lo, hi),) if lo <= hi else ()
                if ins.op == RangeOp.NEQ:
                    cond = complement(cond, (1 << (8 * length)) - 1)
                elif ins.op != RangeOp.EQ:
                    raise Opaque("unknown range op")
            val = regs.read(ins.sreg, length)
            allowed = _back_to_field(val, length, cond)
            key = (val.field, val.n)
            cons[key] = intersect(cons[key], allowed)
        elif t is Counter:
            if counter is not None:
                raise Opaque("two counters")
            counter = ins
        elif t is Immediate:
            if ins.dreg != 0 or not isinstance(ins.data, VerdictData) or ins.data.code not in _TERMINAL:
                raise Opaque("immediate that is not a terminal verdict")
            verdict = ins.data
        else:
            raise Opaque(f"{getattr(ins, 'name', t.__name__)} is not classified")
    if verdict is None:
        raise Opaque("no verdict: the rule does not end the chain walk")
    return RuleSpec(index, tuple(Constraint(f, n, iv) for (f, n), iv in cons.items()), verdict, counter)


def split_runs(rules: Sequence[Any], *, min_run: int = 1) -> tuple[list[Run], dict[int, str]]:
    """Runs of classifiable rules (``min_run`` or more) and, for every other position,
    why it is opaque.  ``rules``: objects with ``instrs`` and ``sets``
    (:class:`pkttables.vm.chain.LoadedRule`) or ``(instrs, sets)`` pairs."""
    runs: list[Run] = []
    opaque: dict[int, str] = {}
    cur: list[RuleSpec] = []

    def close(end: int) -> None:
        if cur and len(cur) >= min_run:
            runs.append(Run(cur[0].index, end, tuple(cur)))
        elif cur:
            for r in cur:
                opaque[r.index] = "run shorter than min_run"
        cur.clear()

    for i, r in enumerate(rules):
        instrs, sets = (r.instrs, r.sets) if hasattr(r, "instrs") else r
        try:
            cur.append(rule_spec(i, instrs, sets))
        except Opaque as e:
            close(i)
            opaque[i] = str(e)
    close(len(rules))
    return runs, opaque
