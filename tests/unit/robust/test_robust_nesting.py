"""Nesting depth in the language front end (lang/parser.py ``_open``/``_close``,
lang/json_input.py): whatever the mix of parentheses and set braces, and however deep,
the parser answers with a syntax error or a script, never a RecursionError, and a
depth that exhausts nft's parser stack exhausts it at every greater depth.

The exact token nft 1.0.6 fails at is pinned in test_robust_regressions.py
(``test_nesting_deeper_than_nfts_parser_stack``); here hypothesis varies the shape.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.errors import PktError
from pkttables.lang import parse
from pkttables.lang.json_input import InvalidJSON, parse_json

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None)

PREFIXES = ("add rule ip t c meta mark ", "add rule ip t c ip saddr ", "add element ip t s ",
            "define x = ", "chain ip t c { ip saddr ", "table ip t { chain c { meta mark ")


def _answer(text: str) -> list[str]:
    """The parser's messages ([] when it parsed); any other exception fails the test."""
    try:
        parse(text)
    except PktError as e:
        return [d.message for d in e.diagnostics]
    return []


def _nested(kinds: str) -> str:
    opening = "".join("(" if k == "(" else "{ " for k in kinds)
    closing = "".join(")" if k == "(" else " }" for k in reversed(kinds))
    return opening + "1" + closing


@SETTINGS
@given(st.sampled_from(PREFIXES), st.lists(st.sampled_from("({"), min_size=1, max_size=40),
       st.integers(min_value=0, max_value=12_000))
def test_any_nesting_is_an_answer(prefix, pattern, depth):
    kinds = "".join(pattern) * (depth // len(pattern) + 1)
    kinds = kinds[:depth] or "("
    msgs = _answer(prefix + _nested(kinds) + "\n")
    assert all(isinstance(m, str) for m in msgs)
    if "memory exhausted" in msgs:
        # bison gives up: nothing is reported after it
        assert msgs[-1] == "memory exhausted"


@SETTINGS
@given(st.sampled_from(PREFIXES), st.sampled_from("({"), st.integers(min_value=4_900, max_value=10_100))
def test_exhaustion_is_monotonic(prefix, kind, depth):
    if kind == "{":
        depth //= 2

    def exhausted(d):
        return "memory exhausted" in _answer(prefix + _nested(kind * d) + "\n")

    if exhausted(depth):
        assert exhausted(depth + 1) and exhausted(depth + 50)


def test_limits_leave_nft_depths_alone():
    # depths nft 1.0.6 parses (measured) parse here too, with no stack error
    assert "memory exhausted" not in _answer("add rule ip t c meta mark " + _nested("(" * 9990) + "\n")
    assert "memory exhausted" not in _answer("add rule ip t c ip saddr " + _nested("{" * 4995) + "\n")
    assert "memory exhausted" in _answer("add rule ip t c meta mark " + _nested("(" * 9994) + "\n")


@SETTINGS
@given(st.one_of(st.integers(min_value=1, max_value=3_000), st.sampled_from([2042, 2043, 2044])),
       st.sampled_from("[{"))
def test_json_nesting_is_an_answer(depth, kind):
    inner = ("[" * depth + "]" * depth) if kind == "[" else ('{"a": ' * depth + "1" + "}" * depth)
    text = '{"nftables": [{"add": {"table": {"family": "ip", "name": "t", "x": ' + inner + "}}}]}"
    if depth + 5 > 2048:      # jansson's JSON_PARSER_MAX_DEPTH, 5 levels around the value
        with pytest.raises(InvalidJSON):
            parse_json(text)
    else:
        assert parse_json(text).commands[0].obj.name == "t"
