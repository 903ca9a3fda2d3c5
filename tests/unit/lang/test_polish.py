"""The parser gaps other stages reported (nft 1.0.6 goldens captured with ``nft -c -f``)."""

from __future__ import annotations

import pytest

from pkttables.errors import SyntaxError_
from pkttables.lang import ast as A
from pkttables.lang import parse


def err(text: str, filename: str = "in.nft", **kw) -> str:
    with pytest.raises(SyntaxError_) as ei:
        parse(text, filename, **kw)
    return str(ei.value)


def rule(r: str) -> A.Rule:
    return parse(f"add rule ip t c {r}\n").commands[0].obj.rule


# ---------------------------------------------------------------- defines (nft -D)
def test_defines_are_outer_scope_variables():
    st = rule_with = parse("add rule ip t c tcp dport $x\n", defines={"x": "{ 22, 23 }", "y": "1"})
    m = st.commands[0].obj.rule.stmts[0]
    assert isinstance(m.right, A.SetExpr)
    assert [e.value for e in m.right.elements] == [22, 23]
    # the value keeps its place in nft's command-line buffer "define x={ 22, 23 }; ..."
    assert m.right.elements[0].loc.file == "<cmdline>"
    assert m.right.elements[0].loc.line_text == "define x={ 22, 23 }; define y=1; "
    del rule_with


def test_define_value_error_is_on_the_cmdline_buffer():
    # nft -D 'x=}' -c -f d.nft
    assert err("add rule ip t c tcp dport $x\n", "d.nft", defines={"x": "}"}) == (
        "Error: syntax error, unexpected '}'\ndefine x=}; \n         ^")


def test_define_in_file_clashes_with_cmdline_define():
    # nft -D x=1 -c -f d2.nft
    assert err("define x = 5\n", "d2.nft", defines={"x": "1"}) == (
        "d2.nft:1:8-8: Error: redefinition of symbol 'x'\ndefine x = 5\n       ^")


def test_defines_accept_pairs_and_none():
    assert parse("add rule ip t c mark $m\n", defines=[("m", "7")]).commands[0].obj.rule.stmts[0].right.value == 7
    assert parse("add table ip t\n", defines=None).commands
