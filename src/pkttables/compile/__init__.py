"""pkttables.compile -- typed rules -> the kernel's expressions (nft bytecode).

In: a :class:`pkttables.evaluate.TypedRule`.  Out: a :class:`Program` -- the anonymous
sets the rule declares and its instructions with nft 1.0.6's register allocation --
and :func:`dump`, the ``nft --debug=netlink`` text of it.

    >>> print(compile_rule("tcp dport 22", "ip", table="t", chain="c"), end="")
    ip t c
      [ meta load l4proto => reg 1 ]
      [ cmp eq reg 1 0x00000006 ]
      [ payload load 2b @ transport header + 2 => reg 1 ]
      [ cmp eq reg 1 0x00001600 ]
"""

from __future__ import annotations

from pkttables.errors import EvalError
from pkttables.evaluate import EvalContext, SetInfo, evaluate_rule
from pkttables.lang import parse
from pkttables.lang import ast as A

from .linearize import AnonSetDecl, Program, dump, linearize

__all__ = ["AnonSetDecl", "Program", "compile_rule", "dump", "linearize"]


def compile_rule(text: str, family: str, table: str = "t", chain: str = "c",
                 sets: dict[str, SetInfo] | None = None) -> str:
    """Parse, evaluate and linearize one rule (the text after ``add rule F T C``) and
    return its dump."""
    script = parse(f"add rule {family} {table} {chain} {text}")
    obj = script.commands[0].obj
    if not isinstance(obj, A.RuleObj) or obj.rule is None:
        raise EvalError("not a rule")
    ctx = EvalContext(family, table, chain, dict(sets or {}))
    return dump(linearize(evaluate_rule(obj.rule, ctx)))
