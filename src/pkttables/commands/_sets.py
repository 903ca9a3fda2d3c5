"""Set declarations and element lists -> the model's kernel form.

Theory of operation
-------------------
nft turns ``set s { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 1.2.3.4 } }``
into what it sends the kernel: a key type with its length (``ipv4_addr``, 32 bits; for
``typeof`` the expression's type, the expression itself going into the set's udata),
and elements whose keys are register values.  Here:

1. :func:`key_spec` gives each key part its datatype, length and byte order, and the
   data's, from the declaration (``pkttables.evaluate.set_info`` does the typing, so a
   ``typeof`` key is typed exactly as a rule's expression is).
2. :func:`build_elements` parses each element with the same code that evaluates a
   rule's right-hand side (``evaluate``'s constant parser: symbols, prefixes, ranges,
   concatenations, bitmask lists), so ``10.0.0.0/8`` in a set and in a rule give the
   same bytes.  Map data is a verdict, an object name, or a value of the data type.
   Element options become the model's ``timeout``/``expires``/``comment`` and counters,
   quotas and limits their kernel dump lines (compiled by ``pkttables.compile``).
3. Interval sets then go through nft's segtree rules (``src/intervals.c``, nft 1.0.6):
   elements sorted by their low end; with ``auto-merge`` overlapping and adjacent ranges
   are merged, without it an overlap (with a new element or one the set already holds)
   is ``Error: conflicting intervals specified`` under the element, or ``interval
   overlaps with an existing one`` when the other element is in the kernel already
   (:func:`add_interval_elements`; the check in nft's order runs on the error path
   only, so a 1M-element load pays nothing for it).

Example: ``type inet_service; flags interval; auto-merge; elements = { 1-10, 5-20, 21 }``
gives one element ``key=b"\\x00\\x01", key_end=b"\\x00\\x15"`` (listed ``1-21``).
"""

from __future__ import annotations

import dataclasses
import weakref
from dataclasses import dataclass

from pkttables.errors import Diagnostic, EvalError, Location, PktError
from pkttables.lang import ast as A
from pkttables.lang.elements_fast import BulkElements
from pkttables.model import Element, Set

from .fastelements import ElementList, bulk_elements, merge_new

__all__ = ["KeySpec", "key_spec", "build_elements", "merge_intervals", "add_interval_elements",
           "key_locations", "sort_key", "stmt_dumps"]

# object maps: `type ipv4_addr : counter`
OBJECT_KINDS = ("counter", "quota", "limit", "ct helper", "ct timeout", "ct expectation", "synproxy",
                "secmark")


@dataclass(frozen=True, slots=True)
class KeySpec:
    """Key parts and data of a set: ``(Datatype, bits, ByteOrder)`` each."""
    key: tuple
    data: tuple | None = None       # (Datatype, bits, ByteOrder) of a value map
    data_kind: str | None = None    # "verdict" / an object kind / None (value data)


def _expr_text(e) -> str:
    """A ``typeof`` expression as nft lists it (its source text, blanks normalised)."""
    if isinstance(e, A.Concat):
        return " . ".join(_expr_text(p) for p in e.parts)
    if isinstance(e, A.Meta) and not getattr(e, "qualified", True):
        return f"meta {e.key}"
    loc = getattr(e, "loc", None)
    if loc is not None and loc.line_text and loc.first_col:
        return " ".join(loc.line_text[loc.first_col - 1:loc.last_col].split())
    return str(e)


def typeof_parts(e) -> tuple[str, ...]:
    if isinstance(e, A.Concat):
        return tuple(_expr_text(p) for p in e.parts)
    return (_expr_text(e),)


def key_spec(s: Set, family: str) -> KeySpec:
    """Type the key and data of ``s`` (a model set whose ``key_type`` holds names, or
    ``key_typeof`` expressions) with ``evaluate.set_info``."""
    from pkttables.evaluate import set_info
    if s.typeof and s.key_typeof:
        key = " . ".join(s.key_typeof)
        kw = "typeof"
    else:
        key = " . ".join(_names(s.key_type))
        kw = "type"
    dnames = _names(s.data_type)
    kind = None
    data = None
    if s.is_map:
        if dnames == ["verdict"]:
            kind = "verdict"
        elif " ".join(dnames) in OBJECT_KINDS:
            kind = " ".join(dnames)
        elif s.typeof and s.data_typeof:
            data = s.data_typeof
            kw_d = "typeof"
        else:
            data = " . ".join(dnames)
    info = set_info(s.name, kw, key, None, None, family)
    dspec = None
    if data is not None:
        dkw = "typeof" if (s.typeof and s.data_typeof) else "type"
        dinfo = set_info(s.name, dkw, data, None, None, family)
        dspec = dinfo.key if len(dinfo.key) > 1 else dinfo.key[0]
    return KeySpec(tuple(info.key), dspec, kind)


def _names(t) -> list[str]:
    if t is None:
        return []
    if isinstance(t, str):
        return [p.strip() for p in t.split(" . ")] if " . " in t else [t]
    if isinstance(t, (tuple, list)):
        out: list[str] = []
        for x in t:
            out.extend(_names(x))
        return out
    return [getattr(t, "key", None) or getattr(t, "name", None) or str(t)]


# ------------------------------------------------------------------ elements

def _evaluator(family: str):
    from pkttables.evaluate._eval import EvalContext, _RuleEval
    return _RuleEval(EvalContext(family))


def _lhs(part):
    """An evaluate ``_Lhs`` standing for a key part of (Datatype, bits, ByteOrder)."""
    from pkttables.evaluate import nodes as N
    from pkttables.evaluate._eval import _Lhs
    dt, bits, order = part
    return _Lhs(N.Value(None, dt, bits, order, b""), dt, bits)


def _concat_lhs(parts):
    from pkttables.evaluate import nodes as N
    from pkttables.evaluate._eval import _Lhs
    from pkttables.proto import ByteOrder
    from pkttables.types import DATATYPES
    lhs_parts = [_lhs(p) for p in parts]
    tot = sum(((p[1] + 31) // 32) * 32 for p in parts)
    c = N.Concat(None, DATATYPES["integer"], tot, ByteOrder.BIG, tuple(p.expr for p in lhs_parts))
    lh = _Lhs(c, DATATYPES["integer"], tot)
    lh.parts = lhs_parts  # type: ignore[attr-defined]
    return lh


def _flatten(elements):
    for el in elements:
        if isinstance(el, A.SetExpr):
            yield from _flatten(el.elements)
        else:
            yield el


def _key_bytes(k) -> tuple:
    """(low, high) register forms of an evaluated key (Value, Range, Concat)."""
    from pkttables.evaluate import nodes as N
    from pkttables.evaluate._eval import _PrefixRange
    if isinstance(k, _PrefixRange):
        k = k.range
    if isinstance(k, N.Concat):
        lows, highs = zip(*(_key_bytes(p) for p in k.parts))
        return tuple(lows), tuple(highs)
    if isinstance(k, N.Range):
        return k.low.data, k.high.data
    return k.data, k.data


def _time(v, loc) -> int:
    from ._exec import _time_ms
    return _time_ms(v, loc)


def stmt_dumps(stmts, family: str) -> tuple[str, ...]:
    """Counter/quota/limit statements (AST) -> their kernel dump lines."""
    if not stmts:
        return ()
    from pkttables.compile import dump, linearize
    from pkttables.evaluate import EvalContext, evaluate_rule
    rule = A.Rule(None, tuple(stmts), None)
    prog = linearize(evaluate_rule(rule, EvalContext(family)))
    return tuple(i.dump() for i in prog.instrs)


def build_elements(s: Set, spec: KeySpec, family: str, se, *, set_stmts: tuple = (),
                   check_stmts: bool = False) -> list[Element]:
    """Parse the elements of ``se`` (an ``A.SetExpr``) for set ``s``.

    ``check_stmts`` (adding): an element statement needs the set to declare statements
    (nft's setelem evaluation: "missing statement in set declaration", under the
    element's statements)."""
    ev = _evaluator(family)
    concat = len(spec.key) > 1
    klhs = _concat_lhs(spec.key) if concat else _lhs(spec.key[0])
    dlhs = None
    if spec.data is not None:
        dlhs = _concat_lhs(spec.data) if isinstance(spec.data[0], tuple) else _lhs(spec.data)
    interval = "interval" in s.flags
    out: list[Element] = []
    # Fast path for big sets: a plain value, prefix or range of a single-key set (no
    # options, no data) is evaluated exactly as below with the per-element branching,
    # imports and attribute writes left out (1M elements: ~3 us each saved).
    fast = (A.Symbol, A.Number, A.Prefix, A.Range) if not concat and not s.is_map else ()
    set_stmts = tuple(set_stmts)
    from pkttables.evaluate import nodes as N
    from pkttables.evaluate._eval import _PrefixRange
    elem_key = ev._elem_key
    quad = _ipv4_bulk(klhs) if fast else None
    if fast and type(getattr(se, "elements", None)) is BulkElements:
        # a plain list kept as text: keys in one pass (commands/fastelements.py)
        bulk = bulk_elements(se.elements, klhs, interval, set_stmts)
        if bulk is not None:
            return bulk
    for it in _flatten(getattr(se, "elements", ())):
        if type(it) in fast:
            if quad is not None:
                r = quad(it)
                if r is not None:
                    lo, hi = r
                    if lo != hi and not interval:
                        raise EvalError(Diagnostic(it.loc, "You must add 'flags interval' to your set "
                                                   "declaration if you want to use ranges"))
                    out.append(Element(lo, None, None, None, None, set_stmts, hi if interval else None))
                    continue
            try:
                k = elem_key(it, klhs)
            except EvalError as e:
                if e.diagnostics and e.diagnostics[0].location is None:
                    raise EvalError(Diagnostic(it.loc, e.diagnostics[0].message)) from None
                raise
            tk = type(k)
            if tk is _PrefixRange:
                lo, hi = k.range.low.data, k.range.high.data
            elif tk is N.Range:
                lo, hi = k.low.data, k.high.data
            else:
                lo = hi = k.data
            if lo != hi and not interval:
                raise EvalError(Diagnostic(it.loc, "You must add 'flags interval' to your set "
                                           "declaration if you want to use ranges"))
            out.append(Element(lo, None, None, None, None, set_stmts, hi if interval else None))
            continue
        data = None
        opts: tuple = ()
        key_ast = it
        if isinstance(key_ast, A.Mapping):
            data_ast, key_ast = key_ast.value, key_ast.key
            if not s.is_map:
                raise EvalError(Diagnostic(it.loc, "invalid set element: a map element in a set"))
            data = _data(ev, spec, dlhs, data_ast)
        elif s.is_map:
            raise EvalError(Diagnostic(getattr(it, "loc", None), "invalid map element: a set element in a map"))
        if isinstance(key_ast, A.Elem):
            opts = key_ast.opts
            key_ast = key_ast.key
        el = Element(None, data)
        stmts = []
        for o in opts:
            if isinstance(o, A.ElemOpt) and o.name in ("timeout", "expires"):
                setattr(el, o.name, _time(o.value, o.loc))
            elif isinstance(o, A.ElemOpt) and o.name == "comment":
                el.comment = o.value if isinstance(o.value, str) else getattr(o.value, "value", str(o.value))
            elif isinstance(o, A.ElemOpt):
                stmts.append(o.value if o.value is not None else o)
            else:
                stmts.append(o)
        # a dynamic set takes element statements it does not declare (nft 1.0.6)
        if stmts and check_stmts and not set_stmts and "dynamic" not in s.flags:
            raise EvalError(Diagnostic(_span(stmts), "missing statement in set declaration"))
        if isinstance(key_ast, A.Wildcard):
            el.flags = 2
            el.key = b""
        else:
            try:
                k = ev._concat_const(key_ast, klhs) if concat else ev._elem_key(key_ast, klhs)
            except EvalError as e:
                if e.diagnostics and e.diagnostics[0].location is None:
                    raise EvalError(Diagnostic(key_ast.loc, e.diagnostics[0].message)) from None
                raise
            lo, hi = _key_bytes(k)
            if lo != hi:
                if not interval:
                    raise EvalError(Diagnostic(key_ast.loc, "You must add 'flags interval' to your set "
                                               "declaration if you want to use ranges"))
                el.key, el.key_end = lo, hi
            else:
                el.key = lo
                if interval and not concat:
                    el.key_end = hi
                elif interval and concat:
                    el.key_end = hi
        if el.timeout is not None and el.expires is None:
            el.expires = el.timeout         # a fresh element: the whole timeout is left
        # (without a timeout of its own the set's applies: _Executor._add_elements)
        el.stmts = tuple(stmt_dumps(stmts, family)) if stmts else tuple(set_stmts)
        out.append(el)
    return out


def _span(nodes) -> Location | None:
    """From the first node's first column to the last node's last column (one line)."""
    first = getattr(nodes[0], "loc", None)
    last = getattr(nodes[-1], "loc", None)
    if first is None or last is None or first.line != last.line:
        return first
    return dataclasses.replace(first, last_col=last.last_col)


def _ipv4_bulk(klhs):
    """For a big-endian 32-bit ipv4_addr key: a function giving the (low, high) key bytes
    of a canonical dotted quad, a prefix of one or an ascending range of two -- what
    ``_elem_key`` gives for them, without its typed nodes -- or None (the element then
    takes the general path, which also reports the errors)."""
    from pkttables.evaluate._eval import _IPV4_RE
    from pkttables.proto import ByteOrder
    x = klhs.expr
    if klhs.dtype.name != "ipv4_addr" or klhs.shift or x.len_bits != 32 or x.byteorder is not ByteOrder.BIG:
        return None
    quad = _IPV4_RE.fullmatch
    Sym, Pre, Rng = A.Symbol, A.Prefix, A.Range

    def key(it):
        t = type(it)
        if t is Sym:
            if quad(it.name) is None:
                return None
            b = bytes(map(int, it.name.split(".")))
            return b, b
        if t is Pre:
            e, plen = it.expr, it.length
            if type(e) is not Sym or not 0 <= plen <= 32 or quad(e.name) is None:
                return None
            n = int.from_bytes(bytes(map(int, e.name.split("."))), "big")
            host = (1 << (32 - plen)) - 1
            return (n & ~host & 0xFFFFFFFF).to_bytes(4, "big"), (n | host).to_bytes(4, "big")
        if t is Rng:
            a, b = it.low, it.high
            if type(a) is not Sym or type(b) is not Sym or quad(a.name) is None or quad(b.name) is None:
                return None
            lo, hi = bytes(map(int, a.name.split("."))), bytes(map(int, b.name.split(".")))
            return (lo, hi) if lo <= hi else None
        return None
    return key


def _data(ev, spec: KeySpec, dlhs, data_ast):
    if spec.data_kind == "verdict":
        v = ev._verdict(data_ast)
        return v.kind if v.chain is None else f"{v.kind} {v.chain}"
    if spec.data_kind is not None:
        name = getattr(data_ast, "value", None) or getattr(data_ast, "name", None)
        if not isinstance(name, str):
            raise EvalError(Diagnostic(data_ast.loc, "expected an object name"))
        return name
    if dlhs is None:
        raise EvalError(Diagnostic(data_ast.loc, "map data without a data type"))
    if getattr(dlhs, "parts", None) is not None:
        d = ev._concat_const(data_ast, dlhs)
        return _key_bytes(d)[0]
    d = ev._elem_key(data_ast, dlhs)
    lo, hi = _key_bytes(d)
    return lo if lo == hi else ("range", lo, hi)


# ------------------------------------------------------------------ intervals

def _int(b, host: bool) -> int:
    return int.from_bytes(b, "little" if host else "big")


def merge_intervals(s: Set, new: list[Element], loc=None, host: bool = False, *,
                    locate=None, origin=None) -> list[Element]:
    """nft 1.0.6's segtree for a single-key interval set: the set's elements after
    adding ``new`` (sorted; merged with ``auto-merge``; overlaps refused otherwise).
    ``host``: the key is host-endian (compared as numbers, not bytes).  Concatenated
    ranges (pipapo) are kept as given, duplicates dropped.

    An overlap is located as nft locates it (:func:`_check_overlap`): ``locate(i)`` is
    the location of ``new[i]``'s key, ``origin(e)`` that of an element the set already
    holds when an earlier command of this transaction added it (None: the kernel holds
    it).  Without them the error sits at ``loc``, the whole list."""
    if not s.elements and not host and isinstance(new, ElementList):
        merged = merge_new(s, new, loc)        # the same rules on arrays (fastelements.py)
        if merged is not None:
            return merged
    if any(isinstance(e.key, tuple) for e in new + s.elements):
        have = {(e.key, e.key_end) for e in s.elements}
        out = list(s.elements)
        for e in new:
            if (e.key, e.key_end) not in have:
                out.append(e)
                have.add((e.key, e.key_end))
        return out
    plain = [e for e in s.elements + new if not e.flags & 2]
    if not plain:
        return list(s.elements) + [e for e in new if e not in s.elements]
    width = len(plain[0].key)
    segs = sorted(((_int(e.key, host), _int(e.key_end if e.key_end is not None else e.key, host), e)
                   for e in plain), key=lambda x: (x[0], x[1]))
    out: list[list] = []
    for lo, hi, e in segs:
        if out and lo <= out[-1][1] + (1 if s.auto_merge and not s.is_map else 0):
            plo, phi, pe = out[-1]
            if lo == plo and hi == phi:
                continue                # the same interval again: nothing new
            if not s.auto_merge or s.is_map:
                if locate is not None:      # the error path only: a scan in nft's order
                    _check_overlap(s, new, host, locate, origin or (lambda e: None), loc)
                raise EvalError(Diagnostic(loc, "conflicting intervals specified"))
            out[-1] = [plo, max(phi, hi), pe]
            continue
        out.append([lo, hi, e])
    order = "little" if host else "big"
    res = [Element(lo.to_bytes(width, order), e.data, e.timeout, e.expires, e.comment, e.stmts,
                   hi.to_bytes(width, order), e.flags) for lo, hi, e in out]
    res.extend(e for e in s.elements + new if e.flags & 2)
    return res



# ------------------------------------------------------------------ located overlaps
# nft 1.0.6 (observed in a network namespace; pinned in
# tests/unit/sets/test_sets_overlap_errors.py) reports the first overlap of one scan
# over the set's elements, old and new, sorted by their low end:
#
# * both elements come from this transaction (the list itself, or an earlier command
#   of the same file): ``conflicting intervals specified``, ``^`` under the later one in
#   that order, ``~`` under the earlier -- drawn on the ``^``'s line at the ``~``
#   element's own columns, wherever that element is (nft marks columns only);
# * one of them is in the kernel already (a previous transaction): ``interval overlaps
#   with an existing one``, ``^`` under the new element only.
#
# Equal low ends sort the later-listed element first (``{ 10.0.1.0/24, 10.0.1.0/25 }``
# puts ``^`` under the /24, ``{ 10.0.1.0/25, 10.0.1.0/24 }`` under the /25), the set's
# own elements counting as listed before the new ones.  Identical ranges pass.

#: transaction -> id(set) -> (set, [(element list AST, elements built from it)]): the
#: element lists earlier commands of the transaction added, to locate their elements.
_ADDED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def key_locations(se) -> list:
    """The location of each element's key in the list ``se`` (an ``A.SetExpr``), in
    :func:`build_elements`' order (one element per flattened item)."""
    out = []
    for it in _flatten(getattr(se, "elements", ())):
        k = it
        if isinstance(k, A.Mapping):
            k = k.key
        if isinstance(k, A.Elem):
            k = k.key
        out.append(getattr(k, "loc", None) or getattr(it, "loc", None))
    return out


def add_interval_elements(tx, s: Set, new: list[Element], se, loc=None, host: bool = False) -> list[Element]:
    """:func:`merge_intervals` for ``add element``/``elements =`` of transaction
    ``tx``: overlaps located at the elements as nft does.  Remembers the list so that
    a later command of ``tx`` can point at these elements."""
    seen = _ADDED.setdefault(tx, {})
    _, lists = seen.setdefault(id(s), (s, []))
    locs: list | None = None

    def locate(i: int):
        nonlocal locs
        if locs is None:
            locs = key_locations(se)
        return locs[i] if i < len(locs) else None

    def origin(e: Element):
        want = (e.key, e.key_end if e.key_end is not None else e.key)
        for ase, elems in reversed(lists):
            for i, x in enumerate(elems):
                if (x.key, x.key_end if x.key_end is not None else x.key) == want:
                    ls = key_locations(ase)
                    return ls[i] if i < len(ls) else None
        return None

    out = merge_intervals(s, new, loc, host, locate=locate, origin=origin)
    if not s.auto_merge or s.is_map:        # auto-merge never refuses an overlap
        lists.append((se, new))
    return out


def _check_overlap(s: Set, new: list[Element], host: bool, locate, origin, loc) -> None:
    """Raise nft's error for the first overlap among the set's elements and ``new``
    (see the comment above); nothing when there is none."""
    items = []          # (low, -seq, high, is_new, index or element)
    seq = 0
    for e in s.elements:
        if not e.flags & 2:
            items.append((_int(e.key, host), -seq, _int(e.key_end if e.key_end is not None else e.key, host),
                          False, e))
            seq += 1
    for i, e in enumerate(new):
        if not e.flags & 2:
            items.append((_int(e.key, host), -seq, _int(e.key_end if e.key_end is not None else e.key, host),
                          True, i))
            seq += 1
    items.sort(key=lambda t: (t[0], t[1]))
    prev = None
    for cur in items:
        if prev is not None:
            if cur[0] == prev[0] and cur[2] == prev[2]:
                continue            # the same interval again: nothing new
            if cur[0] <= prev[2]:
                _raise_overlap(prev, cur, locate, origin, loc)
        prev = cur


def _raise_overlap(prev, cur, locate, origin, loc) -> None:
    def where(t):
        return locate(t[4]) if t[3] else origin(t[4])

    kernel = [t for t in (prev, cur) if not t[3] and origin(t[4]) is None]
    if kernel:
        fresh = cur if cur[3] else prev
        raise EvalError(Diagnostic(where(fresh) or loc, "interval overlaps with an existing one"))
    here, other = where(cur), where(prev)
    if here is None:
        raise EvalError(Diagnostic(loc, "conflicting intervals specified"))
    # the earlier element: Diagnostic.render draws its columns on the ``^``'s line as
    # nft does, whatever line it is on (and cuts a file's long line at 1023 bytes)
    secondary = (other,) if other is not None else ()
    raise EvalError(Diagnostic(here, "conflicting intervals specified", secondary=secondary))


def sort_key(part_orders: tuple, key) -> int:
    """nft's ``expr_msort_value`` (src/mergesort.c): a value's number in its byte order;
    a concatenation's parts exported in their byte orders, joined, read host-endian."""
    from pkttables.proto import ByteOrder
    if isinstance(key, tuple):
        return int.from_bytes(b"".join(key), "little")
    order = part_orders[0] if part_orders else ByteOrder.BIG
    return int.from_bytes(key, "little" if order is ByteOrder.HOST else "big")


def check_known(names, loc, word) -> None:
    from pkttables.types import lookup
    for name in names:
        if name in ("verdict",) or name in OBJECT_KINDS or name.startswith("$"):
            continue
        try:
            lookup(name)
        except PktError:
            raise EvalError(Diagnostic(word(name) or loc, f"unknown datatype {name}")) from None
