"""The one door rules go through: ``compile_rule``.

When ``pkttables.evaluate`` and ``pkttables.compile`` export what is needed
(``evaluate.evaluate_rule`` + ``evaluate.EvalContext``, ``compile.linearize``), a rule is
evaluated (typed, with nft's errors) and compiled to its bytecode; otherwise the parsed
statements are kept as they are and no bytecode exists yet.  Either way the executor and
the store see the same shape, so the day the stages land nothing else changes.

``PKT_NO_EVAL=1`` forces the parse-only path (tests, or to bypass a stage in progress).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import partial as _partial

from pkttables.lang import ast as A

from . import _fastline as _line
from . import fastload as _fast


@dataclass(frozen=True, slots=True)
class Compiled:
    """A rule ready for the model: ``stmts`` (typed when evaluation ran, else parsed)
    and the bytecode dump lines (empty when the compiler is not available)."""

    stmts: tuple
    text: str | None = None         # the dump when given; None: printed from ``program`` on demand
    typed: bool = False
    program: object = None          # compile.Program: anonymous sets + instructions
    make: object = None             # fast rules: builds ``stmts`` on first read (model.LazyRule)

    @property
    def bytecode(self) -> str:
        """The --debug=netlink text ("ip t c\n  [ ... ]\n"), printed only when asked
        for: most batches never show it, and printing cost as much as compiling."""
        if self.text is not None:
            return self.text
        if self.program is None:
            return ""
        from pkttables.compile import dump
        return dump(self.program)


def _stages():
    """(evaluate_rule, EvalContext, linearize) or None when a stage is missing."""
    if os.environ.get("PKT_NO_EVAL"):
        return None
    _compile = sys.modules.get("pkttables.compile")     # once imported: no import statement
    _evaluate = sys.modules.get("pkttables.evaluate")   # per rule (~3 us)
    if _compile is None or _evaluate is None:
        try:
            from pkttables import compile as _compile
            from pkttables import evaluate as _evaluate
        except Exception:  # a stage that does not import is a stage that is not there yet
            return None
    ev = getattr(_evaluate, "evaluate_rule", None)
    ctx = getattr(_evaluate, "EvalContext", None)
    lin = getattr(_compile, "linearize", None)
    dump = getattr(_compile, "dump", None)
    if ev is None or ctx is None:
        return None
    return ev, ctx, (lin if dump is not None else None), dump


def available() -> bool:
    """Whether rules are evaluated (and compiled, when ``linearize`` exists)."""
    return _stages() is not None


def set_infos(table) -> dict:
    """What evaluation needs about the named sets of a model table (``evaluate.SetInfo``).

    ``type`` sets are typed from ``key_type``/``data_type`` (datatype names); ``typeof``
    sets from ``key_typeof``/``data_typeof``, the expressions as nft stores them (the
    contract of :class:`pkttables.model.objects.Set`): ``key_type`` of a typeof set holds
    the expressions' datatype names, which are not expressions and do not parse as such."""
    try:
        from dataclasses import replace

        from pkttables.evaluate import set_info
    except Exception:
        return {}
    out = {}
    for name, s in table.sets.items():
        try:
            typeof_key = bool(s.typeof and s.key_typeof)
            key = " . ".join(s.key_typeof) if typeof_key else " . ".join(_names(s.key_type))
            if not key:
                continue
            dnames = " . ".join(_names(s.data_type)) if s.is_map or s.data_type else None
            typeof_data = bool(s.typeof and s.data_typeof)
            data = s.data_typeof if typeof_data else (dnames or None)
            flags = ",".join(sorted(s.flags)) or None
            info = set_info(name, "typeof" if typeof_key else "type", key,
                            data if typeof_data == typeof_key else None, flags, table.family)
            if data is not None and typeof_data != typeof_key:
                # key and data declared differently (`typeof ip saddr : mark`): type the data
                # on its own with its own keyword and keep the key's answer
                if typeof_data:
                    dinfo = set_info(name, "typeof", data, data, flags, table.family)
                else:
                    dinfo = set_info(name, "type", " . ".join(_names(s.key_type)), data, flags,
                                     table.family)
                info = replace(info, data=dinfo.data, is_map=dinfo.is_map, objmap=dinfo.objmap)
            out[name] = info
        except Exception:  # a declaration evaluation cannot type: the rule will say so
            continue
    return out


def _names(t) -> list[str]:
    """Datatype names of a model ``key_type``/``data_type`` (a tuple, or one name)."""
    if t is None:
        return []
    if isinstance(t, str):
        return [t]
    return [str(x) for x in t]


FastRule = _line.FastRule


def stages():
    """The stages :func:`compile_rule` would use now (None: parse only)."""
    return _stages()


def fast_rule(rule, family: str, table: str, chain: str, st=None) -> Compiled | None:
    """A :class:`~._fastline.FastRule` whose shape has a template: its program, and its
    typed statements as ``make`` (built on first read); None: use :func:`compile_rule`.
    ``st``: :func:`stages` when the caller has it."""
    if st is None:
        st = _stages()
    if st is None or st[2] is None:
        return None
    tpl = _line.LINES.lookup(rule, family, st)
    if tpl is None:
        return None
    _line.LINES.hits += 1
    prog = _line.program_of(tpl, rule, family, table, chain)
    return Compiled((), None, True, prog, _partial(_line.stmts_late, tpl, rule, family, table, chain))


def fast_parts(rule, family: str, table: str, chain: str, st):
    """:func:`fast_rule`'s ``(program, make)`` without the :class:`Compiled` around
    them (the executor's per-rule door: ~1 us a rule of a 1k-rule load), or None."""
    if st is None or st[2] is None:
        return None
    lines = _line.LINES
    tpl = lines.lookup(rule, family, st)
    if tpl is None:
        return None
    lines.hits += 1
    return _line.program_of(tpl, rule, family, table, chain), _partial(_line.stmts_late, tpl, rule, family, table, chain)


def slow_answer(rule, family: str, table: str, chain: str) -> tuple:
    """``(typed statements, program)`` of a rule line by the slow path, in a context of
    its family, table and chain only (the fast grammar names no set, chain or
    interface): :func:`_fastline.late_answer`'s answer for a unit whose deferred walk
    failed.  An evaluation error is raised as usual."""
    evaluate_rule, EvalContext, linearize, _dump = _stages()
    ctx = EvalContext(family=family, table=table, chain=chain, sets={}, chains=None, kernel=True)
    typed = _objmap_names(rule, evaluate_rule(rule, ctx))
    return tuple(typed.stmts), linearize(typed)


def compile_rule(rule: A.Rule, family: str, table: str, chain: str, *,
                 sets: dict | None = None, chains: frozenset[str] | None = None,
                 ifindex=None, lazy: bool = False) -> Compiled:
    """Evaluate and compile one rule of ``family table chain``.

    Raises :class:`pkttables.errors.EvalError` for rules nft rejects while evaluating.
    ``ifindex`` resolves interface names (``meta iif lan0``); None: this machine's.
    ``lazy``: a rule line answered from its units may come back as :func:`fast_rule`'s
    do (``make`` and a lazy program: the executor's fast path).
    """
    st = _stages()
    if st is None:
        return Compiled(tuple(rule.stmts))
    if type(rule) is _line.FastRule and st[2] is not None:
        # a rule line the text pass kept unparsed (commands/_fastline.py)
        tpl = _line.LINES.lookup(rule, family, st)
        if tpl is not None:
            _line.LINES.hits += 1
            stmts, prog = _line.instantiate(tpl, rule, family, table, chain, rule.locs())
            return Compiled(stmts, None, True, prog)
    evaluate_rule, EvalContext, linearize, dump = st

    def slow(rule):
        ctx = EvalContext(family=family, table=table, chain=chain, sets=dict(sets or {}), chains=chains,
                          ifindex=ifindex, kernel=True)
        typed = evaluate_rule(rule, ctx)
        typed = _objmap_names(rule, typed)
        return tuple(typed.stmts), (linearize(typed) if linearize is not None else None)

    if linearize is None:
        return Compiled(slow(rule)[0], "", True)
    if type(rule) is _line.FastRule:
        _line.LINES.misses += 1
        # a new shape of an ip table: its missing units made from it answer it, with no
        # slow run of the whole rule (docs/perf.md, "Rules answered by their units")
        tpl = _line.LINES.from_units(rule, family, slow, st)
        if tpl is not None:
            if lazy:
                prog = _line.program_of(tpl, rule, family, table, chain)
                return Compiled((), None, True, prog, _partial(_line.stmts_late, tpl, rule, family, table, chain))
            stmts, prog = _line.instantiate(tpl, rule, family, table, chain, rule.locs())
            return Compiled(stmts, None, True, prog)
        stmts, prog = out = slow(rule)
        _line.LINES.build(rule, family, table, chain, slow, out, st)
        return Compiled(stmts, None, True, prog)
    if _fast.enabled():
        # rules that differ only in constants share one template (commands/fastload.py)
        stmts, prog = _fast.SHAPES.compile(rule, family, table, chain, slow, st)
    else:
        stmts, prog = slow(rule)
    return Compiled(stmts, None, True, prog)


def _objmap_names(rule: A.Rule, typed):
    """Put the object names of anonymous object maps into the typed rule.

    ``counter name ip saddr map { 10.0.0.1 : "c1" }``: evaluation checks the names but
    its ``AnonSet`` keeps no data for them, so the compiled ``__objmap%d`` would select no
    object.  The names are taken from the parsed statement (its elements flattened in
    the order evaluation typed them, one ``Elem`` each) and set as each ``Elem``'s data;
    ``compile.build_set`` hands them on as ``SetElem.obj`` (the kernel's
    NFTA_SET_ELEM_OBJREF)."""
    import dataclasses

    def flat(elements):
        for el in elements:
            if isinstance(el, A.SetExpr):
                yield from flat(el.elements)
            else:
                yield el

    wanted = []
    for st in rule.stmts:
        m = getattr(st, "name", None) if isinstance(st, A.ObjRef) else None
        if isinstance(st, A.SetStmt) and (
                isinstance(st.target, A.Ct) and st.target.key in ("helper", "timeout", "expectation")
                and st.target.direction is None
                or isinstance(st.target, A.Meta) and st.target.key == "secmark"):
            m = st.value            # `ct helper set KEY map { k : "h1" }` is an objref too
        if isinstance(m, A.MapExpr) and isinstance(m.mapping, A.SetExpr):
            names = []
            for it in flat(m.mapping.elements):
                v = it.value if isinstance(it, A.Mapping) else None
                names.append(v.value if isinstance(v, A.String) else getattr(v, "name", None))
            wanted.append(names)
    if not wanted:
        return typed
    stmts = list(typed.stmts)
    k = 0
    for i, st in enumerate(stmts):
        mp = getattr(st, "mapping", None)
        if type(st).__name__ != "Objref" or not getattr(mp, "objmap", False) \
                or not hasattr(mp, "elements") or k >= len(wanted):
            continue
        names = wanted[k]
        k += 1
        if len(names) != len(mp.elements):
            continue                    # not the shape expected: leave the names out
        elems = tuple(dataclasses.replace(el, data=n) if n is not None else el
                      for el, n in zip(mp.elements, names))
        stmts[i] = dataclasses.replace(st, mapping=dataclasses.replace(mp, elements=elems))
    return dataclasses.replace(typed, stmts=tuple(stmts))
