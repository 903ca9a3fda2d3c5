from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.errors import SyntaxError_
from pkttables.lang.lexer import ASTRING, EOF, JUNK, NEWLINE, NUM, QSTRING, WORD, tokenize
from pkttables.lang.parser import parse


def kinds(text):
    return [(t.kind, t.text) for t in tokenize(text)[:-1]]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("echo-request", [(WORD, "echo-request")]),
        ("eth0.100", [(WORD, "eth0.100")]),
        ("10.0.0.1/24", [(WORD, "10.0.0.1"), ("/", "/"), (NUM, "24")]),
        ("fe80::1", [(WORD, "fe80::1")]),
        ("::", [(WORD, "::")]),
        ("::ffff:1.2.3.4", [(WORD, "::ffff:1.2.3.4")]),
        ("00:11:22:33:44:55", [(WORD, "00:11:22:33:44:55")]),
        ("1h2m3s", [(WORD, "1h2m3s")]),
        ("30000ms", [(WORD, "30000ms")]),
        ("0x1F", [(NUM, "0x1F")]),
        ("010", [(NUM, "010")]),
        ("08", [(WORD, "08")]),
        ("eth*", [(ASTRING, "eth*")]),
        ('"a b"', [(QSTRING, '"a b"')]),
        ("aabb:0 ", [(WORD, "aabb:0")]),
        ("established:122", [(WORD, "established"), (":", ":"), (NUM, "122")]),
        ("close_wait:16", [(WORD, "close_wait"), (":", ":"), (NUM, "16")]),
        ("8021q", [(WORD, "8021q")]),
        ("and or xor eq", [("&", "and"), ("|", "or"), ("^", "xor"), ("==", "eq")]),
        ("a ~", [(WORD, "a"), (JUNK, "~")]),
        ("1 mbytes/second", [(NUM, "1"), (WORD, "mbytes/second")]),
        ("srh sid[1]", [(WORD, "srh"), (WORD, "sid"), ("[", "["), (NUM, "1"), ("]", "]")]),
    ],
)
def test_tokens(text, expected):
    assert kinds(text) == expected


def test_rfc2732_brackets_stripped():
    (t, _eof) = tokenize("[2001:db8::1]")
    assert t.kind is WORD and t.value == "2001:db8::1"


def test_locations_and_continuation():
    toks = tokenize("a bc\\\n  d\n  # comment line\ne # tail\n", "f")
    got = [(t.kind, t.text, t.loc.line, t.loc.first_col, t.loc.last_col) for t in toks]
    assert got == [
        (WORD, "a", 1, 1, 1), (WORD, "bc", 1, 3, 4), (WORD, "d", 2, 3, 3), (NEWLINE, "\n", 2, 4, 4),
        (WORD, "e", 4, 1, 1), (NEWLINE, "\n", 4, 9, 9), (EOF, "", 5, 1, 1),
    ]
    assert toks[2].loc.line_text == "  d"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab0x19:.-/*\\\"#{}[]()@$,;= \n\t~!<>&|^fe")), max_size=60))
def test_lexer_total_and_locations_inside(text):
    toks = tokenize(text, "f")
    lines = text.split("\n")
    assert toks[-1].kind is EOF
    for t in toks[:-1]:
        assert 1 <= t.loc.line <= len(lines)
        assert 1 <= t.loc.first_col <= t.loc.last_col


WORDS = ["add", "rule", "table", "chain", "ip", "inet", "t", "c", "tcp", "dport", "22", "{", "}", ",", ";", "\n",
         "accept", "counter", "meta", "mark", "set", "ct", "state", "vmap", ":", ".", "-", "/", "$x", "@s",
         "define", "x", "=", "type", "filter", "hook", "input", "priority", "0", "policy", "drop", "snat", "to",
         "1.2.3.4", "\"s\"", "limit", "rate", "10/second", "jump", "log", "prefix", "elements", "map", "!="]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=30))
def test_parser_raises_only_syntax_errors(words):
    text = " ".join(words)
    try:
        parse(text, "f")
    except SyntaxError_ as e:
        for d in e.diagnostics:
            loc = d.location
            assert loc is not None and loc.line >= 1
            assert loc.line <= text.count("\n") + 2


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_parser_arbitrary_text(text):
    try:
        parse(text, "f")
    except SyntaxError_:
        pass
