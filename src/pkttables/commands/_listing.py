"""Listings (``list ruleset``, ``list table``, ``-j``...) are produced by ``pkttables.render``.

This module is the one place that knows render's entry points; until render is
committed, a listing raises :class:`NotAvailable` with one clear line.
"""

from __future__ import annotations

from pkttables.errors import Diagnostic
from pkttables.lang import ast as A
from pkttables.model import Ruleset


def render(cmd: A.Command, ruleset: Ruleset, opts) -> str:
    from ._exec import NotAvailable
    try:
        from pkttables import render as R
    except Exception:
        R = None
    fn = getattr(R, "render_command", None) if R is not None else None
    if fn is None:
        raise NotAvailable(Diagnostic(None, f"'{cmd.verb}' is not available yet: "
                                      "pkttables.render (nft listings) has not landed"))
    return fn(cmd, ruleset, opts)
