"""pkttables.evaluate -- AST -> typed AST, as nft 1.0.6's ``evaluate.c``.

In: a parsed :class:`pkttables.lang.ast.Rule` and an :class:`EvalContext` (family,
table, the named sets there).  Out: a :class:`TypedRule` whose expressions carry
datatypes, lengths, byte orders and register-form constants, with nft's implicit
dependencies inserted.  Bad input raises :class:`pkttables.errors.EvalError` with nft's
message and the offending location.

    >>> from pkttables.lang import parse
    >>> rule = parse("add rule inet t c tcp dport 22").commands[0].obj.rule
    >>> [type(s).__name__ for s in evaluate_rule(rule, EvalContext("inet")).stmts]
    ['Match', 'Match']
"""

from . import _nodes as nodes
from ._eval import EvalContext, SetInfo, evaluate_rule, set_info
from ._nodes import TypedRule

__all__ = ["EvalContext", "SetInfo", "TypedRule", "evaluate_rule", "nodes", "set_info"]
