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
from dataclasses import dataclass

from pkttables.lang import ast as A


@dataclass(frozen=True, slots=True)
class Compiled:
    """A rule ready for the model: ``stmts`` (typed when evaluation ran, else parsed)
    and the bytecode dump lines (empty when the compiler is not available)."""

    stmts: tuple
    text: str | None = None         # the dump when given; None: printed from ``program`` on demand
    typed: bool = False
    program: object = None          # compile.Program: anonymous sets + instructions

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
    """What evaluation needs about the named sets of a model table (``evaluate.SetInfo``),
    for sets declared with ``type`` names; ``typeof`` sets are left to evaluation."""
    try:
        from pkttables.evaluate import set_info
    except Exception:
        return {}
    out = {}
    for name, s in table.sets.items():
        if not isinstance(s.key_type, tuple):
            continue
        try:
            if s.typeof:
                key = " . ".join(_expr_text(k) for k in s.key_type)
                data = " . ".join(_expr_text(k) for k in s.data_type) if s.data_type else None
            else:
                key = " . ".join(s.key_type)
                data = " . ".join(s.data_type) if s.data_type else None
            flags = ",".join(sorted(s.flags)) or None
            out[name] = set_info(name, "typeof" if s.typeof else "type", key, data, flags, table.family)
        except Exception:  # a declaration evaluation cannot type: the rule will say so
            continue
    return out


def _expr_text(e) -> str:
    """The source text of a ``typeof`` expression (from its location)."""
    loc = getattr(e, "loc", None)
    if loc is not None and loc.line_text and loc.first_col:
        return loc.line_text[loc.first_col - 1:loc.last_col]
    return str(e)


def compile_rule(rule: A.Rule, family: str, table: str, chain: str, *,
                 sets: dict | None = None, chains: frozenset[str] | None = None,
                 ifindex=None) -> Compiled:
    """Evaluate and compile one rule of ``family table chain``.

    Raises :class:`pkttables.errors.EvalError` for rules nft rejects while evaluating.
    ``ifindex`` resolves interface names (``meta iif lan0``); None: this machine's.
    """
    st = _stages()
    if st is None:
        return Compiled(tuple(rule.stmts))
    evaluate_rule, EvalContext, linearize, dump = st
    ctx = EvalContext(family=family, table=table, chain=chain, sets=dict(sets or {}), chains=chains,
                      ifindex=ifindex, kernel=True)
    typed = evaluate_rule(rule, ctx)
    if linearize is None:
        return Compiled(tuple(typed.stmts), "", True)
    prog = linearize(typed)
    return Compiled(tuple(typed.stmts), None, True, prog)
