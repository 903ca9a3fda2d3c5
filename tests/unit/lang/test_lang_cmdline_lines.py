"""A command-line buffer of several lines: every location keeps its own source line
(the fast paths slice statements out of it), while an error shows the buffer's first
line with the error's columns, as nft's erec_print does for INDESC_BUFFER input.

Regression: showing the first line by overwriting ``line_text`` made the rule-shape
probes read garbage (``add rule inet t c t t { 0``) for multi-line ``run_text`` input."""

import pytest

from pkttables.commands import run_text
from pkttables.errors import PktError
from pkttables.lang.lexer import tokenize
from pkttables.model import Ruleset

TEXT = "table ip t {\n\tchain c {\n\t\ttcp dport { 22, 80 } accept\n\t}\n}\n"


def test_locations_keep_their_own_line():
    toks = [t for t in tokenize(TEXT) if t.text == "dport"]
    assert toks[0].loc.line_text == "\t\ttcp dport { 22, 80 } accept"
    assert toks[0].loc.shown_text == "table ip t {"


def test_single_line_buffer_shows_itself():
    tok = tokenize("add table ip t")[0]
    assert tok.loc.shown_text is None


def test_multi_line_buffer_loads():
    rules = TEXT.replace("tcp dport { 22, 80 } accept",
                         "tcp dport { 22, 80 } accept\n\t\tip saddr 10.0.0.0/8 tcp dport 22 counter drop")
    rs = run_text(rules * 1, Ruleset()).ruleset
    assert len(rs.tables[("ip", "t")].chains["c"].rules) == 2


def test_error_on_a_later_line_shows_the_first_line():
    with pytest.raises(PktError) as e:
        run_text("add table ip t\nadd chain ip t c { bogus }\n", Ruleset())
    lines = e.value.render().splitlines()
    assert lines[1] == "add table ip t"


# nft 1.0.6 `nft -c $'...'` on this host (a namespace of its own), stderr without the
# trailing newline.  Most errors show the buffer's first line; the log option check shows
# its own line (its location in nft is not the parser's buffer location).
_CONFLICT = "add table ip t\nadd chain ip t c\nadd rule ip t c ip saddr 1.2.3.4 ip6 daddr ::1"
NFT_MULTILINE = [
    ("add table ip t\nadd chain ip t c\nadd rule ip t c log level emerg group 1",
     "Error: level and group are mutually exclusive\nadd rule ip t c log level emerg group 1\n"
     "                ^^^"),
    ("add table ip t\nadd chain ip t c\nadd rule ip t c tcp dport 99999",
     "Error: Service out of range\nadd table ip t\n                          ^^^^^"),
    ("add table ip t\nadd chain ip t c { bogus }",
     "Error: syntax error, unexpected '}'\nadd table ip t\n                         ^\n"
     "Error: syntax error, unexpected end of file\nadd table ip t\n^"),
    # (the parser's spans keep the shown line: ERR9)
    (_CONFLICT, "Error: conflicting protocols specified: ip vs. ip6\nadd table ip t\n"
     "                                 ^^^^^^^^^"),
]


@pytest.mark.parametrize("text,want", NFT_MULTILINE)
def test_multiline_cmdline_errors_as_nft(text, want):
    with pytest.raises(PktError) as e:
        run_text(text, Ruleset())
    assert e.value.render() == want
