"""errors.Diagnostic.render against nft 1.0.6's erec_print, byte for byte.

golden_errors_render.json holds nft's stderr for each case (capture_errors_render.py,
``nft -c`` in a namespace of our own).  The end-to-end test runs the same input through
pkttables (``run_file``/``run_text``, check mode) and compares the rendering; the other
tests pin each drawing rule on hand-made diagnostics whose locations are those nft
reported, and hypothesis checks the marker line's invariants.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture_errors_render import SET
from pkttables.commands import Options, run_file, run_text
from pkttables.errors import CMDLINE, FILE_LINE_MAX, Diagnostic, Location, PktError
from pkttables.model import Ruleset

GOLDEN = json.loads((Path(__file__).parent / "golden_errors_render.json").read_text())

# Cases where pkttables differs from nft for a reason outside errors.py (the report of
# the ERRRENDER task names them): strict xfail, so a fix shows up as XPASS.
KNOWN = {
    "span_concat_over_lines": "evaluate: nft says 'invalid data type, expected concatenation' "
                              "for a single value in a concatenation set",
}


def _pkt_stderr(case: dict, tmp_path) -> str:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        if "cmd" in case:
            rs = run_text(SET, Ruleset(), filename="base.nft").ruleset
            run_text(case["cmd"], rs, Options(dry_run=True))
        else:
            for fn, text in case["files"].items():
                Path(fn).write_text(text)
            run_file(next(iter(case["files"])), Ruleset(), Options(dry_run=True))
    except PktError as e:
        return e.render() + "\n"
    finally:
        os.chdir(cwd)
    return ""


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN[n], strict=True)) if n in KNOWN else n
    for n in GOLDEN])
def test_rendering_is_nfts(name, tmp_path):
    case = GOLDEN[name]
    assert case["rc"] == 1
    assert _pkt_stderr(case, tmp_path) == case["stderr"]


# --- each rule on hand-made diagnostics (locations as nft reported them) ---------------

def _golden(name: str) -> str:
    return GOLDEN[name]["stderr"].rstrip("\n")


def test_tilde_on_a_longer_line_extends_the_marker_line():
    # ^ on line 5 (31 bytes), ~ at line 4's columns 61-71: the marker line runs to 71
    l5 = "add element ip t s { 10.0.5.7 }"
    l4 = "add element ip t s { 10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, 10.0.5.0/24 }"
    d = Diagnostic(Location("a.nft", 5, 22, 29, l5), "conflicting intervals specified",
                   secondary=(Location("a.nft", 4, 61, 71, l4),))
    assert d.render() == _golden("interval_tilde_longer_line")
    assert len(d.render().splitlines()[-1]) == 71 > len(l5)


def test_tilde_from_another_line_keeps_the_carets_lines_tabs():
    # reject's ~ (line 3, after two tabs) drawn over line 4's third tab
    d = Diagnostic(Location("a.nft", 4, 4, 9, "\t\t\treject with tcp reset"),
                   "you cannot use tcp reset with this protocol",
                   secondary=(Location("a.nft", 3, 3, 18, "\t\tmeta l4proto tcp \\"),))
    assert d.render() == _golden("reject_across_lines")
    assert d.render().splitlines()[-1] == "\t\t~^^^^^^~~~~~~~~~"


def test_secondary_inside_the_primary_span_is_hidden():
    d = Diagnostic(Location("a.nft", 4, 2, 21, " ct original ip saddr 1.2.3.4"),
                   "conflicting protocols specified: ip6 vs. ip",
                   secondary=(Location("a.nft", 3, 3, 19, "\t\tmeta nfproto ipv6 meta mark 1 meta mark 2 \\"),))
    assert d.render() == _golden("conflicting_protocols_across_lines")


def test_secondary_in_another_file_is_drawn_by_columns_too():
    d = Diagnostic(Location("a.nft", 2, 22, 29, "add element ip t s { 10.0.1.7 }"),
                   "conflicting intervals specified",
                   secondary=(Location("b.nft", 7, 22, 32, None),))
    assert d.render().splitlines()[-1] == " " * 21 + "^^^^^^^^~~~"


def test_file_line_is_cut_at_1023_bytes_marks_are_not():
    line = _golden("long_file_line_error_late").splitlines()
    full = GOLDEN["long_file_line_error_late"]["files"]["a.nft"].splitlines()[3]
    assert len(full.encode()) == 1373 and len(line[1].encode()) == FILE_LINE_MAX
    d = Diagnostic(Location("a.nft", 4, 1371, 1373, full),
                   "Could not resolve service: Servname not supported for ai_socktype")
    assert d.render() == "\n".join(line)
    assert d.render().splitlines()[-1] == " " * 1370 + "^^^"


def test_cmdline_line_is_printed_whole():
    cmd = GOLDEN["long_cmdline_error_late"]["cmd"]
    d = Diagnostic(Location(CMDLINE, 1, 1371, 1373, cmd),
                   "Could not resolve service: Servname not supported for ai_socktype")
    assert d.render() == _golden("long_cmdline_error_late")
    assert d.render().splitlines()[1] == cmd


def test_cut_never_splits_a_character():
    line = "x" * 1022 + "é" + "y"           # é is bytes 1023-1024: cut through it
    d = Diagnostic(Location("u.nft", 1, 1, 1, line), "m")
    assert d.render().splitlines()[1] == "x" * 1022


def test_tabs_stay_tabs_in_source_and_marker_lines():
    line = "add rule ip t c\ttcp\tdport\tfoo"
    for f, name in ((CMDLINE, "tabs_in_cmdline"), ("a.nft", "tabs_in_file_line")):
        d = Diagnostic(Location(f, 4, 27, 29, line),
                       "Could not resolve service: Servname not supported for ai_socktype")
        assert d.render() == _golden(name)


def test_end_of_file_on_an_empty_line():
    d = Diagnostic(Location("a.nft", 5, 1, 1, ""), "syntax error, unexpected end of file")
    assert d.render() == _golden("eof_empty_last_line")


def test_span_over_lines_draws_first_to_last_column_on_the_first_line():
    # a location from line 3 col 5 to line 4 col 9: columns 5..9 of line 3's markers
    d = Diagnostic(Location("a.nft", 3, 5, 9, "\tab cdefghij"), "m")
    assert d.render().splitlines()[-1] == "\t   ^^^^^"
    # ending at a column before its first one: nothing drawn, the line as long as `last`
    d = Diagnostic(Location("a.nft", 3, 8, 3, "\tab cdefghij"), "m")
    assert d.render().splitlines()[-1] == "\t  "


def test_primary_without_columns_has_no_marker_line():
    assert Diagnostic(Location("a.nft", 3, 0, 0, "abc"), "m").render() == "a.nft:3: Error: m\nabc"


# --- invariants ------------------------------------------------------------------------

_spans = st.tuples(st.integers(0, 60), st.integers(0, 60))


@settings(max_examples=200, deadline=None)
@given(line=st.text(alphabet="ab \t", max_size=50), prim=st.tuples(st.integers(1, 60), st.integers(1, 60)),
       secs=st.lists(_spans, max_size=3), cmdline=st.booleans())
def test_marker_line_invariants(line, prim, secs, cmdline):
    f = CMDLINE if cmdline else "p.nft"
    d = Diagnostic(Location(f, 1, prim[0], prim[1], line), "m",
                   secondary=tuple(Location("q.nft", 9, a, b) for a, b in secs))
    out = d.render().split("\n")
    assert out[1] == line
    marks = out[2]
    assert len(marks) == max([prim[1]] + [b for _, b in secs])
    for i, ch in enumerate(marks):
        if prim[0] - 1 <= i < prim[1]:
            assert ch == "^"                    # the primary wins
        elif any(max(a - 1, 0) <= i < b for a, b in secs):
            assert ch == "~"
        else:                                   # blank, or the source's tab
            assert ch == ("\t" if i < len(line) and line[i] == "\t" else " ")


@settings(max_examples=100, deadline=None)
@given(line=st.text(max_size=1400), cmdline=st.booleans())
def test_source_line_cut_only_for_files(line, cmdline):
    line = line.replace("\n", " ")
    out = Diagnostic(Location(CMDLINE if cmdline else "p.nft", 1, 1, 1, line), "m").render()
    shown = out.split("\n")[1]
    if cmdline:
        assert shown == line
    else:
        raw = line.encode()
        if len(raw) <= FILE_LINE_MAX:
            assert shown == line
        else:                                   # 1023 bytes, less a split character
            assert raw[:FILE_LINE_MAX].startswith(shown.encode())
            assert FILE_LINE_MAX - 3 <= len(shown.encode()) <= FILE_LINE_MAX
