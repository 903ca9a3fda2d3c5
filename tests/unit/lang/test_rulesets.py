from __future__ import annotations

import dataclasses

import pytest

from pkttables.errors import SyntaxError_
from pkttables.lang import ast as A
from pkttables.lang.parser import parse, parse_file

RULESET = """\
#!/usr/sbin/nft -f
define lan = { 10.0.0.0/8, 192.168.0.0/16 }
define wan_if = "eth0"

table inet filter {
\tset blocked {
\t\ttype ipv4_addr
\t\tflags interval, timeout
\t\telements = { 1.2.3.0/24 timeout 1h, 5.6.7.8 }
\t}
\tmap ports {
\t\ttype inet_service : verdict
\t\telements = { 22 : accept,
\t\t\t     80 : jump web }
\t}
\tcounter hits {
\t\tpackets 0 bytes 0
\t}
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\tiifname $wan_if ip saddr @blocked drop
\t\tip saddr $lan tcp dport vmap @ports
\t\tip protocol icmp icmp type echo-request \\
\t\t\tlimit rate 5/second accept comment "ping"
\t}
\tchain web {
\t\tcounter name hits accept
\t}
}
table ip nat {
\tchain post {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\toifname $wan_if masquerade random,persistent
\t}
}
"""


def test_whole_ruleset():
    s = parse(RULESET, "rs.nft")
    assert [c.obj.name for c in s.commands] == ["filter", "nat"]
    body = s.commands[0].obj.body
    assert [type(x).__name__ for x in body] == ["SetObj", "SetObj", "StatefulObj", "ChainObj", "ChainObj"]
    chain = body[3]
    assert isinstance(chain.body[0], A.ChainType) and chain.body[0].hook == "input"
    rules = [x for x in chain.body if isinstance(x, A.Rule)]
    assert len(rules) == 4
    assert rules[3].comment == "ping" and isinstance(rules[3].stmts[2], A.Limit)
    # $wan_if expanded, located where it is used (line 22), not where it is defined.
    m = rules[1].stmts[0]
    assert m.right == A.String(m.right.loc, "eth0") and m.right.loc.line == 22
    assert m.right.loc.first_col == rules[1].loc.first_col + 8


def test_define_scopes_and_redefine():
    s = parse("define a = 1\ntable ip t {\n redefine a = 2\n chain c {\n  meta mark $a\n }\n}\nadd rule ip t c meta mark $a\n")
    inner = s.commands[0].obj.body[0].body[0].stmts[0].right
    outer = s.commands[1].obj.rule.stmts[0].right
    assert (inner.value, outer.value) == (2, 1)
    # nft's symbol_lookup searches enclosing scopes: `define` of an outer name in a
    # block is a redefinition (checked on nft 1.0.6), and `undefine` only touches the
    # current scope
    with pytest.raises(SyntaxError_) as e:
        parse("define a = 1\ntable ip t {\n define a = 2\n}\n", "f")
    assert str(e.value).startswith("f:3:9-9: Error: redefinition of symbol 'a'")
    with pytest.raises(SyntaxError_):
        parse("define a = 1\ntable ip t {\n undefine a\n define a = 2\n}\n", "f")
    s = parse("define a = 1\nredefine a = 3\nundefine a\ndefine a = 4\nadd rule ip t c meta mark $a\n")
    assert s.commands[0].obj.rule.stmts[0].right.value == 4


def test_undefined_variable():
    with pytest.raises(SyntaxError_) as e:
        parse("add rule ip t c meta mark $nope\n", "f")
    assert str(e.value).startswith("f:1:28-31: Error: unknown identifier 'nope'")


def test_includes_globs_and_errors(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.nft").write_text("add table ip b\n")
    (tmp_path / "sub" / "a.nft").write_text("define x = 7\nadd table ip a")
    main = tmp_path / "main.nft"
    main.write_text('include "sub/*.nft"\ninclude "none*.nft"\nadd rule ip a c meta mark $x\n')
    s = parse_file(str(main), include_path=[str(tmp_path)])
    assert [c.obj.name if isinstance(c.obj, A.TableObj) else c.obj.table for c in s.commands] == ["a", "b", "a"]
    assert s.commands[2].obj.rule.stmts[0].right.value == 7
    assert s.commands[0].loc.file.endswith("sub/a.nft")
    # "./x" is relative to the working directory, as in nft; absolute paths are used as is.
    main.write_text(f'include "{tmp_path}/sub/b.nft"\ninclude "missing.nft"\n')
    with pytest.raises(SyntaxError_) as e:
        parse_file(str(main), include_path=[str(tmp_path)])
    assert "File not found: missing.nft" in str(e.value)


def test_include_syntax_error_located_in_included_file(tmp_path):
    (tmp_path / "bad.nft").write_text("add rule ip t c tcp dport\n")
    main = tmp_path / "main.nft"
    main.write_text(f'include "{tmp_path}/bad.nft"\n')
    with pytest.raises(SyntaxError_) as e:
        parse_file(str(main))
    # nft prints the include chain first (test_polish.py has the nft goldens)
    assert str(e.value).startswith(f"In file included from {main}:1:1-")
    assert str(e.value).splitlines()[1].startswith(f"{tmp_path}/bad.nft:1:26-26: Error: syntax error, unexpected newline")


@pytest.mark.parametrize(
    "text",
    [
        "list ruleset\n", "list tables ip\n", "list table inet filter\n", "list chain ip t c\n",
        "list counters table ip t\n", "flush ruleset\n", "flush chain ip t c\n", "delete rule ip t c handle 5\n",
        "insert rule ip t c position 3 tcp dport 22 accept\n", "replace rule ip t c handle 2 drop\n",
        "add rule ip t c index 0 accept\n", "rename chain ip t c d\n", "describe tcp dport\n",
        "monitor trace\n", "export ruleset json\n", "delete table ip handle 4\n", "add element ip t s { 1, 2 }\n",
        "get element ip t s { 1 }\n", "add flowtable inet t f { hook ingress priority 0; devices = { lo, eth0 }; }\n",
        "add ct helper ip t h { type \"ftp\" protocol tcp; }\n", "reset counters\n", "list hooks\n",
        "add quota ip t q over 25 mbytes\n", "add limit ip t l rate 400/minute\n", "create table ip t\n",
        "add chain ip t c { type filter hook ingress device \"lo\" priority -10; }\n",
        "add map ip t m { typeof ip saddr : meta mark; }\n", "delete element ip t s { 1.2.3.4 }\n",
    ],
)
def test_commands(text):
    (cmd,) = parse(text).commands
    assert isinstance(cmd, A.Command)


def test_node_kinds_are_slotted_and_frozen():
    classes = A.node_classes()
    assert len(classes) > 60
    for c in classes:
        assert "__slots__" in c.__dict__, c
        assert dataclasses.is_dataclass(c) and c.__dataclass_params__.frozen, c


def test_error_recovery_continues_inside_block():
    text = "table ip t {\n chain c {\n  ip saddr ) accept\n  tcp dport { 22 23 }\n  accept\n }\n}\n"
    with pytest.raises(SyntaxError_) as e:
        parse(text, "f")
    assert [d.location.line for d in e.value.diagnostics] == [3, 4]
