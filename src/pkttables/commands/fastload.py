"""Rule-shape cache: rules that differ only in their constants share one compiled template.

Theory of operation
-------------------
A generated ACL of 10k rules has a few hundred *shapes*: ``ip saddr A ip daddr B/24
meta l4proto tcp th dport P accept`` is one shape whatever A, B and P are.  Evaluating
(datatypes, dependencies, payload merging) and linearizing such a rule costs ~65 us,
yet for one shape everything but the constants' bytes and the source locations is the
same.  This module keys a parsed rule by its shape, and for a shape seen before builds
the typed statements and the program straight from the new constants' bytes and the new
locations, with a constructor function generated for that shape.

The key (:func:`scan`) is every field of the parsed rule except locations, with the
constants of a few *slots* replaced by their kind.  A slot is a constant compared
(``implicit``, ``==``, ``!=``) with a header field whose encoding is fixed and
value-independent:

* ``ip saddr``/``ip daddr`` with a canonical dotted quad (``a``), a prefix (``pf``; the
  key keeps the prefix length's class: 0, 8, 16, 24, 32 or "other" -- nft 1.0.6 trims a
  byte-aligned prefix to a shorter load, others get a mask), or a range ``lo-hi`` with
  ``lo < hi`` (``r4``);
* ``th``/``tcp``/``udp`` ``sport``/``dport`` with a decimal number 0-65535 written
  without leading zeros (``n``) or a range of two with ``lo < hi`` (``r16``).

Anything else in the rule (other constants, symbols, other operators) stays in the key
as it is, so it is shared only by rules where it is identical.  Only the statement and
expression kinds listed in ``scan`` are handled; any other (sets, maps, jumps, interface
names, time...) makes the rule take the slow path.  Each slot contributes *atoms*, the
bytes evaluation derives from it: the 4 address bytes (network order), the masked prefix
address and its mask, a range's two bounds, a port's 2 bytes.

A template is built the 8th time a shape is seen (shapes seen less often cost only
their key: ``BUILD_AT``).  :func:`build_template` runs the slow path (``evaluate_rule`` + ``linearize``) on
the rule itself and on two *probes*: the same rule with every slot's constant replaced by
random values of the same class whose bytes are distinct from each other and between the
probes.  The three outputs are walked side by side and a constructor is generated:

* an object that is the same object in all three (a ``Datatype``, an interned string)
  is shared, as the slow path shares it;
* a location becomes the rule's parsed location equal to it (``L[i]``);
* a ``bytes`` value equal in both probes is a constant; one equal to a whole atom in
  both probes is that atom; otherwise it is cut into runs of atom bytes (found by the
  probes' unique byte values) and constant bytes, and that cut must give both probes;
* any other value must be equal in all three (a value that changes with the constants
  in a way the probes do not explain makes the shape uncacheable).

The generated function is then run on the rule's own locations and atoms and must give
exactly the slow path's statements and program (``==`` and ``repr``); otherwise the
shape is marked uncacheable and always takes the slow path.  The equivalence is also
tested with hypothesis against the slow path (``tests/unit/perf``).

``PKT_NO_SHAPES=1`` disables the cache.
"""

from __future__ import annotations

import dataclasses
import enum
import linecache
import os
import random
import re
import types

from pkttables.errors import Location
from pkttables.lang import ast as A

__all__ = ["ShapeCache", "scan", "build_template", "SHAPES"]

_OCT = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IP4 = re.compile(rf"{_OCT}\.{_OCT}\.{_OCT}\.{_OCT}")
_PORT = re.compile(r"0|[1-9][0-9]{0,4}")
_ADDR_FIELDS = frozenset({("ip", "saddr"), ("ip", "daddr")})
_PORT_FIELDS = frozenset((p, f) for p in ("th", "tcp", "udp") for f in ("sport", "dport"))
_SLOT_OPS = frozenset({"implicit", "==", "!="})
# meta keys whose evaluation reads nothing but the rule (no interface table, no clock)
_META_OK = frozenset({"l4proto", "protocol", "nfproto", "mark", "length", "pkttype", "priority"})
_VERDICTS = frozenset({"accept", "drop", "continue", "return"})


def _ip4_bytes(text: str) -> bytes:
    return bytes(map(int, text.split(".")))


class _NoShape(Exception):
    """The rule has something the cache does not handle."""


def _lit(e) -> tuple:
    """The key of a constant that is not a slot: all of it."""
    t = type(e)
    if t is A.Symbol:
        return ("S", e.name)
    if t is A.Number:
        return ("N", e.value, e.text)
    if t is A.Prefix:
        return ("P", _lit(e.expr), e.length)
    if t is A.Range:
        return ("R", _lit(e.low), _lit(e.high))
    raise _NoShape


def _slot(field: tuple, op: str, r, locs: list, atoms: list):
    """The key of the right-hand side ``r`` of a match on ``field``, its locations and
    atoms appended; None when ``r`` is not a slot of that field."""
    if op not in _SLOT_OPS:
        return None
    t = type(r)
    if field in _ADDR_FIELDS:
        if t is A.Symbol:
            if _IP4.fullmatch(r.name) is None:
                return None
            locs.append(r.loc)
            atoms.append(_ip4_bytes(r.name))
            return "a"
        if t is A.Prefix:
            e = r.expr
            plen = r.length
            if type(e) is not A.Symbol or _IP4.fullmatch(e.name) is None or not 0 <= plen <= 32:
                return None
            mask = ((1 << 32) - 1) ^ ((1 << (32 - plen)) - 1)
            n = int.from_bytes(_ip4_bytes(e.name), "big") & mask
            locs.append(r.loc)
            locs.append(e.loc)
            atoms.append(n.to_bytes(4, "big"))
            atoms.append(mask.to_bytes(4, "big"))
            return ("pf", plen if plen % 8 == 0 else "m")
        if t is A.Range:
            lo, hi = r.low, r.high
            if type(lo) is not A.Symbol or type(hi) is not A.Symbol or _IP4.fullmatch(lo.name) is None \
                    or _IP4.fullmatch(hi.name) is None:
                return None
            a, b = _ip4_bytes(lo.name), _ip4_bytes(hi.name)
            if not a < b:
                return None
            locs.append(r.loc)
            locs.append(lo.loc)
            locs.append(hi.loc)
            atoms.append(a)
            atoms.append(b)
            return "r4"
        return None
    if field in _PORT_FIELDS:
        if t is A.Number:
            if r.value > 65535 or _PORT.fullmatch(r.text) is None:
                return None
            locs.append(r.loc)
            atoms.append(r.value.to_bytes(2, "big"))
            return "n"
        if t is A.Range:
            lo, hi = r.low, r.high
            if type(lo) is not A.Number or type(hi) is not A.Number or not lo.value < hi.value <= 65535 \
                    or _PORT.fullmatch(lo.text) is None or _PORT.fullmatch(hi.text) is None:
                return None
            locs.append(r.loc)
            locs.append(lo.loc)
            locs.append(hi.loc)
            atoms.append(lo.value.to_bytes(2, "big"))
            atoms.append(hi.value.to_bytes(2, "big"))
            return "r16"
    return None


def _lit_locs(e, locs: list) -> None:
    locs.append(e.loc)
    t = type(e)
    if t is A.Prefix:
        _lit_locs(e.expr, locs)
    elif t is A.Range:
        _lit_locs(e.low, locs)
        _lit_locs(e.high, locs)


def scan(rule: A.Rule) -> tuple[tuple, list, list] | None:
    """``(key, locations, atoms)`` of a parsed rule, or None when it has a statement or
    expression the cache does not handle."""
    locs = [rule.loc]
    atoms: list[bytes] = []
    key: list = [rule.comment]
    try:
        for s in rule.stmts:
            t = type(s)
            locs.append(s.loc)
            if t is A.Match:
                left = s.left
                tl = type(left)
                locs.append(left.loc)
                if tl is A.Payload:
                    field = (left.proto, left.field)
                    lk = ("p", left.proto, left.field)
                elif tl is A.Meta and left.key in _META_OK:
                    field = None
                    lk = ("m", left.key, left.qualified)
                else:
                    return None
                op = s.op
                sk = _slot(field, op, s.right, locs, atoms) if field is not None else None
                if sk is None:
                    sk = _lit(s.right)
                    _lit_locs(s.right, locs)
                key.append((lk, op, sk))
            elif t is A.VerdictStmt:
                v = s.verdict
                if type(v) is not A.Verdict or v.kind not in _VERDICTS or v.target is not None:
                    return None
                locs.append(v.loc)
                key.append(("v", v.kind))
            elif t is A.Counter:
                key.append(("c", s.packets, s.bytes))
            else:
                return None
    except _NoShape:
        return None
    return tuple(key), locs, atoms


# ---------------------------------------------------------------- probes
# Byte values a probe may use: none of 0x00-0x10 (small constants: protocol numbers,
# lengths) or the prefix-mask bytes, so a constant byte is never taken for an atom's.
_POOL = [b for b in range(0x11, 0xFF) if b not in (0x80, 0xC0, 0xE0, 0xF0, 0xF8, 0xFC, 0xFE)]


def _probe(rule: A.Rule, rng: random.Random, avoid: set[int], plens: set[int] | None = None) -> A.Rule:
    """``rule`` with every slot's constant replaced by a random one of the same class
    whose bytes are all distinct and not in ``avoid`` (the other probe's bytes).
    Unaligned prefix lengths are distinct and not in ``plens`` (the lengths the other
    probe used, updated): two equal masks would be taken for one another."""
    if plens is None:
        plens = set()
    pool = [b for b in _POOL if b not in avoid]
    it = iter(rng.sample(pool, 4 * 2 * len(rule.stmts)))     # at most 2 addresses a statement

    def octets(n):
        return [next(it) for _ in range(n)]

    def ip(loc):
        return A.Symbol(loc, ".".join(map(str, octets(4))))

    def port(loc):
        a, b = octets(2)
        v = (a << 8) | b
        return A.Number(loc, v, str(v))

    def two(make, lo, hi, keyf):
        x, y = make(lo.loc), make(hi.loc)
        if keyf(x) > keyf(y):
            x, y = A.Symbol(lo.loc, y.name) if isinstance(y, A.Symbol) else A.Number(lo.loc, y.value, y.text), \
                A.Symbol(hi.loc, x.name) if isinstance(x, A.Symbol) else A.Number(hi.loc, x.value, x.text)
        return x, y

    stmts = []
    for s in rule.stmts:
        if type(s) is A.Match and type(s.left) is A.Payload:
            field = (s.left.proto, s.left.field)
            k = _slot(field, s.op, s.right, [], [])
            r = s.right
            if k == "a":
                r = ip(r.loc)
            elif k == "n":
                r = port(r.loc)
            elif k == "r4":
                lo, hi = two(ip, r.low, r.high, lambda x: _ip4_bytes(x.name))
                r = A.Range(r.loc, lo, hi)
            elif k == "r16":
                lo, hi = two(port, r.low, r.high, lambda x: x.value)
                r = A.Range(r.loc, lo, hi)
            elif isinstance(k, tuple):          # a prefix: keep the length's class
                cls = k[1]
                if cls == "m":
                    plen = rng.choice([n for n in range(1, 32) if n % 8 and n not in plens])
                    plens.add(plen)
                else:
                    plen = cls
                r = A.Prefix(r.loc, ip(r.expr.loc), plen)
            s = A.Match(s.loc, s.left, s.op, r)
        stmts.append(s)
    return A.Rule(rule.loc, tuple(stmts), rule.comment)


# ---------------------------------------------------------------- templates
_FIELDS: dict = {}      # dataclass -> its field names (all init fields)
_CODE: dict = {}        # constructor source -> code object


class _Unfit(Exception):
    """The three outputs differ in a way the slots do not explain."""


class _Gen:
    """Writes the constructor of one shape from the outputs of the real rule and the
    two probes."""

    def __init__(self, locs: list, atoms: tuple[list, list, list]):
        self.locidx: dict = {}
        for i, loc in enumerate(locs):
            self.locidx.setdefault(loc, i)
        self.atoms = atoms
        self.ns: dict = {}
        self.names: dict = {}
        # source text -> closure ``f(L, A, R)`` computing it: within one _Gen a text
        # always means the same computation (its K names are this _Gen's), so the
        # closures of the sub-expressions are found by the text :meth:`expr` returns
        self.fns: dict = {}

    def const(self, v) -> str:
        k = id(v)
        name = self.names.get(k)
        if name is None:
            name = self.names[k] = f"K{len(self.names)}"
            self.ns[name] = v
            self.fns[name] = lambda L, A, R=None: v
        return name

    def _fn(self, src: str, make):
        """``src``, its closure made by ``make()`` the first time the text is seen."""
        if src not in self.fns:
            self.fns[src] = make()
        return src

    def expr(self, real, p1, p2) -> str:
        t = type(real)
        if t is Location:
            # before the identity test: the probes keep the rule's Location objects
            i = self.locidx.get(real)
            if i is None or p1 != real or p2 != real:
                raise _Unfit("a location that is not the rule's")
            return self._fn(f"L[{i}]", lambda: lambda L, A, R=None: L[i])
        if real is p1 and real is p2:
            return self.const(real)
        if type(p1) is not t or type(p2) is not t:
            raise _Unfit("types differ")
        if t is bytes:
            return self.bytes_expr(real, p1, p2)
        if t is tuple or t is list:
            if len(p1) != len(real) or len(p2) != len(real):
                raise _Unfit("lengths differ")
            items = [self.expr(a, b, c) for a, b, c in zip(real, p1, p2)]
            fns = [self.fns[x] for x in items]
            if t is tuple:
                return self._fn("(" + "".join(x + ", " for x in items) + ")", lambda: _tuple_fn(fns))
            return self._fn("[" + ", ".join(items) + "]", lambda: lambda L, A, R=None: [f(L, A, R) for f in fns])
        fs = _FIELDS.get(t)
        if fs is None and dataclasses.is_dataclass(t):
            if any(not f.init for f in dataclasses.fields(t)):
                raise _Unfit("a field without init")
            fs = _FIELDS[t] = tuple(f.name for f in dataclasses.fields(t))
        if fs is not None:
            args = [self.expr(getattr(real, f), getattr(p1, f), getattr(p2, f)) for f in fs]
            if all(a[0] == "K" for a in args) and getattr(t, "__setattr__", None) is not object.__setattr__:
                # frozen, and the same in every rule of the shape (a load, a verdict): one
                # object for all of them, as equal as the slow path's fresh ones
                return self.const(real)
            fns = [self.fns[x] for x in args]
            vals = [self.ns[x] if x in self.ns else _VAR for x in args]
            return self._fn(f"{self.const(t)}({', '.join(args)})", lambda: _call_fn(t, fns, vals))
        if t in (int, str, bool, float, type(None)) or isinstance(real, enum.Enum):
            if real == p1 == p2:
                return self.const(real)
            raise _Unfit("a value that follows the constants")
        raise _Unfit(f"unhandled {t.__name__}")

    def bytes_expr(self, real: bytes, p1: bytes, p2: bytes) -> str:
        ar, a1, a2 = self.atoms
        if p1 == p2:
            if real != p1:
                raise _Unfit("bytes equal in the probes, not in the rule")
            return self.const(real)
        for i, (x, y) in enumerate(zip(a1, a2)):
            if x == p1 and y == p2:
                if ar[i] != real:
                    raise _Unfit("whole atom")
                return self._fn(f"A[{i}]", lambda: lambda L, A, R=None: A[i])
        # runs of atom bytes (unique values in the probes) and constant bytes
        where = {}
        dup = set()
        for i, x in enumerate(a1):
            for j, b in enumerate(x):
                if b in where:
                    dup.add(b)
                where[b] = (i, j)
        parts: list[tuple] = []
        p = 0
        while p < len(p1):
            b = p1[p]
            if b in where and b not in dup:
                i, j = where[b]
                k = 1
                while p + k < len(p1) and j + k < len(a1[i]) and p1[p + k] == a1[i][j + k]:
                    k += 1
                parts.append(("a", i, j, j + k))
                p += k
            else:
                if p1[p] != p2[p]:
                    raise _Unfit("a byte that is neither constant nor an atom's")
                if parts and parts[-1][0] == "c":
                    parts[-1] = ("c", parts[-1][1] + bytes([b]))
                else:
                    parts.append(("c", bytes([b])))
                p += 1

        def glue(atoms):
            return b"".join(x[1] if x[0] == "c" else atoms[x[1]][x[2]:x[3]] for x in parts)

        if glue(a1) != p1 or glue(a2) != p2 or glue(ar) != real:
            raise _Unfit("the cut does not give the probes")
        src = " + ".join(self.const(x[1]) if x[0] == "c" else f"A[{x[1]}][{x[2]}:{x[3]}]" for x in parts)
        return self._fn(src, lambda: _glue_fn(parts))


def _tuple_fn(fns: list):
    """The closure of a tuple display of ``fns``' values (the usual lengths unrolled:
    a unit's constructor is a tuple of 1-3 statements)."""
    n = len(fns)
    if n == 0:
        return lambda L, A, R=None: ()
    if n == 1:
        (f,) = fns
        return lambda L, A, R=None: (f(L, A, R),)
    if n == 2:
        f, g = fns
        return lambda L, A, R=None: (f(L, A, R), g(L, A, R))
    if n == 3:
        f, g, h = fns
        return lambda L, A, R=None: (f(L, A, R), g(L, A, R), h(L, A, R))
    fns = tuple(fns)
    return lambda L, A, R=None: tuple([f(L, A, R) for f in fns])


def _call_fn(t: type, fns: list, vals: list):
    """The closure of ``t(*values of fns)``.  ``vals[i]`` is the i-th argument when it
    is a constant of the shape (most fields of a typed node are), else ``_VAR``: the
    constants are placed once, only the other arguments are called for."""
    var = tuple((i, f) for i, (f, v) in enumerate(zip(fns, vals)) if v is _VAR)
    if len(var) == len(fns):
        fns = tuple(fns)
        return lambda L, A, R=None: t(*[f(L, A, R) for f in fns])
    if len(var) == 1:
        ((i, f),) = var
        before, after = tuple(vals[:i]), tuple(vals[i + 1:])
        return lambda L, A, R=None: t(*before, f(L, A, R), *after)
    base = list(vals)

    def call(L, A, R=None):
        a = base.copy()
        for i, f in var:
            a[i] = f(L, A, R)
        return t(*a)
    return call


_VAR = object()


def _glue_fn(parts: list):
    """The closure of the bytes a :meth:`_Gen.bytes_expr` cut glues."""
    if len(parts) == 1 and parts[0][0] == "a":
        _, i, j, k = parts[0]
        return lambda L, A, R=None: A[i][j:k]
    parts = tuple(parts)
    return lambda L, A, R=None: b"".join(x[1] if x[0] == "c" else A[x[1]][x[2]:x[3]] for x in parts)


def build_template(rule: A.Rule, scanned: tuple, slow, real: tuple):
    """The constructor ``f(L, A) -> (stmts, program)`` for the shape of ``rule``, or None.

    ``slow(rule)`` is the slow path (``(stmts, program)``), ``real`` its answer for
    ``rule``, ``scanned`` what :func:`scan` gave for it."""
    key, locs, atoms = scanned
    # seeded from the key's text, not hash(): the same probes in every process (PYTHONHASHSEED)
    rng = random.Random(repr(key))
    try:
        r1 = _probe(rule, rng, set())
        s1 = scan(r1)
        used = {b for x in s1[2] for b in x} if s1 else set()
        r2 = _probe(rule, rng, used)
        s2 = scan(r2)
        if s1 is None or s2 is None or s1[0] != key or s2[0] != key or s1[1] != locs or s2[1] != locs:
            return None
        o1, o2 = slow(r1), slow(r2)
        g = _Gen(locs, (atoms, s1[2], s2[2]))
        body = g.expr(real, o1, o2)
    except _Unfit:
        return None
    except Exception:               # a probe the slow path refuses: not a shape to share
        return None
    src = f"def build(L, A):\n    return {body}\n"
    code = _CODE.get(src)
    if code is None:
        # shapes with the same structure (other datatypes, other constants) share the text
        mod = compile(src, "<pkttables rule shape>", "exec")
        code = _CODE[src] = next(c for c in mod.co_consts if isinstance(c, types.CodeType))
        linecache.cache[f"<pkttables rule shape>"] = (len(src), None, src.splitlines(True), "<pkttables rule shape>")
    fn = types.FunctionType(code, g.ns, "build")
    try:
        got = fn(locs, atoms)
    except Exception:
        return None
    # the frozen dataclasses compare every field (none is compare=False)
    if got != real:
        return None
    return fn


_UNFIT = object()
# A template is built at a shape's 8th rule: building costs ~1 ms (two slow-path
# probes, the generated constructor), a hit saves ~20 us (10k-rule ACL, see
# docs/perf.md); shapes seen less often -- most of a 1k-rule ACL -- never pay it.
BUILD_AT = 8


class ShapeCache:
    """Shape key -> constructor (or how many rules of it were seen, or not cacheable).  Bounded: it
    is emptied when it holds ``limit`` shapes."""

    def __init__(self, limit: int = 20000, build_at: int = BUILD_AT):
        self.map: dict = {}
        self.limit = limit
        self.build_at = build_at
        self.stages = None
        self.hits = 0
        self.built = 0

    def clear(self) -> None:
        self.map.clear()

    def compile(self, rule: A.Rule, family: str, table: str, chain: str, slow, stages=None):
        """``(stmts, program)`` of ``rule``: from the shape's constructor when there is
        one, else ``slow(rule)`` (which may raise, as the slow path does)."""
        if stages is not self.stages and stages != self.stages:
            # another evaluate/linearize (a test's patch): templates of the old ones go
            self.map.clear()
            self.stages = stages
        sc = scan(rule)
        if sc is None:
            return slow(rule)
        key = (family, table, chain, sc[0])
        ent = self.map.get(key)
        if ent is not None and type(ent) is not int and ent is not _UNFIT:
            self.hits += 1
            return ent(sc[1], sc[2])
        out = slow(rule)
        if ent is None:
            if len(self.map) >= self.limit:
                self.map.clear()
            self.map[key] = 1
        elif type(ent) is int:
            if ent + 1 < self.build_at:
                self.map[key] = ent + 1
            else:
                fn = build_template(rule, sc, slow, out)
                self.map[key] = fn if fn is not None else _UNFIT
                if fn is not None:
                    self.built += 1
        return out


SHAPES = ShapeCache()


def enabled() -> bool:
    return not os.environ.get("PKT_NO_SHAPES")
