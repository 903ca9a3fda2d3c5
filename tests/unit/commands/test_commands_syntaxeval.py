"""Files mixing parser and evaluation errors, against nft 1.0.6 (``nft -c -f``).

golden_syntaxeval.json was captured by capture_syntaxeval.py in a namespace.  nft
1.0.6 evaluates the commands its parser kept even when the parser failed
(``nft_evaluate`` runs whatever the parser answered), prints their errors after the
parser's, and never sends the batch to the kernel; parser and evaluation share one
error counter that stops evaluation when it reaches 10 (never, after a parser that
already stopped at its 10th error)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkttables.commands import execute, parse_text, run_text
from pkttables.errors import SyntaxError_
from pkttables.lang import parse
from pkttables.model import Ruleset
from pkttables.testing.nftgolden import FileGolden

_XFAIL: dict[str, str] = {}

G = FileGolden(Path(__file__).parent / "golden_syntaxeval.json", known=_XFAIL)


@pytest.mark.parametrize("name", G.params())
def test_syntax_and_evaluation_errors_as_nft(name):
    got, want = G.compare(name)
    assert got == want


def test_parse_still_raises_by_default():
    with pytest.raises(SyntaxError_):
        parse("add rule ip t c counter )\n")


def test_parse_keep_going_returns_the_kept_commands():
    s = parse("add table ip a\nadd rule ip t c counter )\nadd table ip b\n", keep_going=True)
    assert isinstance(s.error, SyntaxError_)
    assert [c.obj.name for c in s.commands] == ["a", "b"]
    assert len(s.error.diagnostics) == 1


def test_failed_parse_changes_nothing_even_when_the_rest_is_valid():
    base = run_text("add table ip t", Ruleset()).ruleset
    script = parse_text("add table ip u\nadd rule ip t c counter )\n")
    with pytest.raises(SyntaxError_) as ei:
        execute(script, base)
    assert len(ei.value.diagnostics) == 1
    assert getattr(ei.value, "output", None) == ""
    assert ("ip", "u") not in base.tables
