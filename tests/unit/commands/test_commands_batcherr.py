"""Batches with several errors, and hooks in the wrong family, against nft 1.0.6.

golden_batcherr.json is nft 1.0.6's stderr for each case (``nft -f b.nft`` after the
case's setup, captured in a namespace by capture_batcherr.py): every kernel error of
the batch, every evaluation error (then no kernel error), at most 10, the parser's
errors first and then the evaluation of the commands it kept."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pkttables.commands import Options, run_text
from pkttables.errors import PktError
from pkttables.model import Ruleset

GOLDEN = json.loads((Path(__file__).parent / "golden_batcherr.json").read_text())


def _pkt(case: dict) -> tuple[int, str]:
    rs = Ruleset()
    if case["setup"]:
        rs = run_text(case["setup"], rs).ruleset
    try:
        run_text(case["text"], rs, Options(), filename="b.nft")
    except PktError as e:
        return 1, e.render() + "\n"
    return 0, ""


_XFAIL = {
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(reason=_XFAIL[n], strict=True))
                                  if n in _XFAIL else n for n in sorted(GOLDEN)])
def test_batch_errors_as_nft(name):
    case = GOLDEN[name]
    assert _pkt(case) == (case["rc"], case["stderr"])


def test_nothing_changes_after_errors():
    """Errors collected from several commands still leave the base generation alone."""
    base = run_text("add table ip t; add chain ip t b { type filter hook input priority 0; }; "
                    "add chain ip t c", Ruleset()).ruleset
    with pytest.raises(PktError) as ei:
        run_text("add rule ip t c counter\nadd rule ip t c jump b\nadd chain ip t d\n"
                 "add rule ip t c goto b\n", base)
    assert len(ei.value.diagnostics) == 2
    assert list(base.tables[("ip", "t")].chains) == ["b", "c"]
    assert base.tables[("ip", "t")].chains["c"].rules == [] or not base.tables[("ip", "t")].chains["c"].rules
