"""Evaluation of the statements beyond matches, verdicts, counters and set: log,
limit, quota, reject, nat, queue, dup, fwd, notrack, ... (nft ``stmt_evaluate_*``)."""

from __future__ import annotations

from pkttables.errors import EvalError
from pkttables.lang import ast as A

from . import _nodes as N


def other_stmt(ev, s: A.Stmt) -> None:
    raise EvalError(f"statement not supported yet: {type(s).__name__}", s.loc)
