"""The parser gaps other stages reported (nft 1.0.6 goldens captured with ``nft -c -f``)."""

from __future__ import annotations

import pytest

import os
import sys

from pkttables.errors import SyntaxError_
from pkttables.lang import ast as A
from pkttables.lang import parse

sys.path.insert(0, os.path.dirname(__file__))


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


# ---------------------------------------------------------------- nat type flags
def nat(r: str) -> A.Nat:
    (s,) = rule(r).stmts
    assert isinstance(s, A.Nat)
    return s


def test_nat_interval_and_concat_flags():
    s = nat("snat ip interval to ip saddr map { 10.141.11.4 : 192.168.2.2-192.168.2.4 }")
    assert (s.family, s.interval, s.prefix, s.concat) == ("ip", True, False, False)
    assert isinstance(s.addr, A.MapExpr)
    s = nat("dnat ip interval to 10.0.0.1-10.0.0.5 persistent")
    assert s.interval and isinstance(s.addr, A.Range) and s.flags == ("persistent",)
    s = nat("snat interval to 10.0.0.1-10.0.0.5")
    assert s.interval and s.family is None
    s = nat("snat ip addr . port to ip saddr map { 1.1.1.1 : 2.2.2.2 . 80 }")
    assert s.concat and not s.interval and s.port is None
    s = nat("snat ip prefix to ip saddr map { 10.141.11.0/24 : 192.168.2.0/24 }")
    assert s.prefix and not s.interval
    s = nat("snat 10.0.0.1")  # the ``to`` is optional
    assert s.addr == A.Symbol(s.addr.loc, "10.0.0.1")


def test_nat_json_type_flags():
    from pkttables.lang.json_input import parse_json
    import json
    doc = {"nftables": [{"add": {"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [
        {"snat": {"family": "ip", "addr": {"range": ["10.0.0.1", "10.0.0.5"]}, "type_flags": ["interval"]}}]}}}]}
    s = parse_json(json.dumps(doc)).commands[0].obj.rule.stmts[0]
    assert s.interval and not s.concat


@pytest.mark.parametrize("r, golden", [
    ("snat ip interval 10.0.0.1", "in.nft:1:34-41: Error: syntax error, unexpected string, expecting to"),
    ("snat ip interval to :80", "in.nft:1:37-37: Error: syntax error, unexpected colon"),
    ("snat addr . port to 1.1.1.1", "in.nft:1:22-25: Error: syntax error, unexpected addr"),
    ("snat", "in.nft:1:21-21: Error: syntax error, unexpected newline"),
    ("snat random", "in.nft:1:22-27: Error: syntax error, unexpected random"),
])
def test_nat_errors_as_nft(r, golden):
    assert err(f"add rule ip t c {r}\n").splitlines()[0] == golden


# ---------------------------------------------------------------- log flags
@pytest.mark.parametrize("r, flags", [
    ("log flags tcp sequence,options", [("tcp sequence", "tcp options")]),
    ("log flags tcp options,sequence", [("tcp options", "tcp sequence")]),
    ("log flags ip options", [("ip options",)]),
    ("log flags skuid", [("skuid",)]),
    ("log flags ether", [("ether",)]),
    ("log flags all", [("all",)]),
    ("log flags tcp sequence flags ip options", [("tcp sequence",), ("ip options",)]),
])
def test_log_flags_are_split(r, flags):
    (s,) = rule(r).stmts
    assert [v for k, v in s.opts if k == "flags"] == flags


def test_log_flags_text_and_json_agree():
    import json
    from json_compare import strip
    from pkttables.lang.json_input import parse_json
    doc = {"nftables": [{"add": {"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [
        {"log": {"flags": ["tcp sequence", "tcp options"]}}]}}}]}
    j = parse_json(json.dumps(doc)).commands[0].obj.rule.stmts[0]
    assert strip(j) == strip(rule("log flags tcp sequence,options").stmts[0])


# goldens: nft 1.0.6 -c -f, the rule inside "table ip t { chain c { ... } }" shifted to
# the command line (same messages; columns moved by the prefix).
@pytest.mark.parametrize("r, golden", [
    ("log flags foo", "in.nft:1:27-29: Error: syntax error, unexpected string"),
    ("log flags tcp", "in.nft:1:30-30: Error: syntax error, unexpected newline, expecting seq or options"),
    ("log flags tcp sequence,foo", "in.nft:1:40-42: Error: syntax error, unexpected string, expecting seq or options"),
    ("log flags ip", "in.nft:1:29-29: Error: syntax error, unexpected newline, expecting options"),
    ("log flags ip sequence", "in.nft:1:30-37: Error: syntax error, unexpected string, expecting options"),
    ("log flags ether,skuid",
     "in.nft:1:32-32: Error: syntax error, unexpected comma, expecting end of file or newline or semicolon"),
])
def test_log_flag_errors_as_nft(r, golden):
    assert err(f"add rule ip t c {r}\n").splitlines()[0] == golden


def test_log_flag_comma_in_a_block():
    assert err("table ip t {\n chain c {\n  log flags all,skuid\n }\n}\n").splitlines()[0] == (
        "in.nft:3:16-16: Error: syntax error, unexpected comma, expecting newline or semicolon")


# ---------------------------------------------------------------- words nft 1.0.6 knows (or not)
def test_unqualified_meta_keys_of_nft_1_0_6():
    # nft 1.0.6 (``KEY 1`` in a chain): time/day/hour are meta keys without ``meta``.
    for key in ("time", "day", "hour", "mark", "iifname", "cgroup", "ipsec"):
        (m,) = rule(f"{key} 1").stmts
        assert m.left == A.Meta(m.left.loc, key, False)
    # length/l4proto/sdif are no meta keys unqualified: plain symbols (evaluate rejects them).
    (m,) = rule("length 1").stmts
    assert isinstance(m.left, A.Symbol)


@pytest.mark.parametrize("text, golden", [
    ("add rule ip t c random 1\n", "in.nft:1:17-22: Error: syntax error, unexpected random"),
    ("add rule ip t c priority 1\n", "in.nft:1:17-24: Error: syntax error, unexpected priority"),
    ("add table ip flags\n", "in.nft:1:14-18: Error: syntax error, unexpected flags, expecting string"),
    ("add table ip time\n", "in.nft:1:14-17: Error: syntax error, unexpected time, expecting string"),
    ("add table ip priority\n", "in.nft:1:14-21: Error: syntax error, unexpected priority, expecting string"),
    # nft 1.0.6 has no ``last`` statement, no ``gre`` expression, no ``dccp option``.
    ("add rule ip t c last used never\n", "in.nft:1:32-32: Error: syntax error, unexpected newline"),
    ("add rule ip t c counter last\n", "in.nft:1:29-29: Error: syntax error, unexpected newline"),
    ("add rule ip t c gre foo 1\n", "in.nft:1:26-26: Error: syntax error, unexpected newline"),
    ("add rule ip t c dccp option 4 exists\n",
     "in.nft:1:22-27: Error: syntax error, unexpected string, expecting type or sport or dport"),
])
def test_keywords_as_nft_1_0_6(text, golden):
    assert err(text).splitlines()[0] == golden


@pytest.mark.parametrize("text", ["add table ip gre\n", "add table ip last\n", "add table ip vxlan\n",
                                  "add table ip geneve\n", "add table ip gretap\n"])
def test_words_that_are_no_keywords_in_nft_1_0_6(text):
    assert parse(text).commands[0].obj.name == text.split()[-1]


def test_json_has_no_last_statement():
    from pkttables.lang.json_input import parse_json
    doc = {"nftables": [{"add": {"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [{"last": {"used": 1}}]}}}]}
    with pytest.raises(SyntaxError_, match="unknown statement object 'last'"):
        parse_json(doc)


@pytest.mark.parametrize("proto, expecting", [
    ("ether", "saddr or daddr or type"), ("igmp", "type or checksum or mrt or group"), ("esp", "seq or spi"),
    ("comp", "nexthdr or flags or cpi"), ("udp", "length or checksum or sport or dport"),
    ("udplite", "checksum or sport or dport or csumcov"), ("th", "sport or dport"), ("vlan", None), ("tcp", None),
])
def test_unknown_field_expecting_as_nft(proto, expecting):
    first = 17 + len(proto) + 1
    want = f"in.nft:1:{first}-{first + 2}: Error: syntax error, unexpected string"
    if expecting:
        want += ", expecting " + expecting
    assert err(f"add rule ip t c {proto} foo 1\n").splitlines()[0] == want


# ---------------------------------------------------------------- spans
def cols(loc):
    return loc.first_col, loc.last_col


def test_object_span_ends_after_trailing_handle():
    for text, end in [("delete table ip handle 5\n", 24), ("delete chain ip t handle 12\n", 27),
                      ("delete set ip t handle 3\n", 24), ("delete counter ip t handle 3\n", 28),
                      ("delete flowtable ip t handle 3\n", 30), ("delete rule ip t c handle 7\n", 27)]:
        c = parse(text).commands[0]
        assert cols(c.obj.loc) == (8, end), text
        assert c.loc.last_col == end


def test_flags_property_spans_its_values():
    t = parse("table ip t { flags dormant, owner\n}\n").commands[0].obj
    (p,) = t.body
    assert p.value == ("dormant", "owner") and cols(p.loc) == (14, 33)
    s = parse("table ip t { set s { type ipv4_addr; flags interval, timeout; }\n}\n").commands[0].obj.body[0]
    f = [i for i in s.body if isinstance(i, A.Prop)][0]
    assert cols(f.loc) == (38, 60)


def test_every_node_ends_at_its_last_token():
    r = rule("ip saddr 10.0.0.1 counter name cnt limit name lim")
    assert [cols(s.loc) for s in r.stmts] == [(17, 33), (35, 50), (52, 65)]


# ---------------------------------------------------------------- stateful objects: text == JSON
_OBJ_PAIRS = [
    ("counter", "packets 1 bytes 2", {"packets": 1, "bytes": 2}),
    ("quota", "over 2500 bytes used 10 bytes", {"bytes": 2500, "used": 10, "inv": True}),
    ("quota", "2500 bytes", {"bytes": 2500}),
    ("limit", "rate over 10/second burst 5 packets", {"rate": 10, "per": "second", "burst": 5, "inv": True}),
    ("limit", "rate 10 mbytes/second burst 5 bytes", {"rate": 10, "per": "second", "rate_unit": "mbytes", "burst": 5}),
    ("limit", "rate 10/minute", {"rate": 10, "per": "minute"}),
    ("ct helper", 'type "ftp" protocol tcp; l3proto ip', {"type": "ftp", "protocol": "tcp", "l3proto": "ip"}),
    ("ct timeout", "protocol tcp; l3proto ip; policy = { established: 10, close: 2 }",
     {"protocol": "tcp", "l3proto": "ip", "policy": {"established": 10, "close": 2}}),
    ("ct expectation", "protocol tcp; dport 22; timeout 1000ms; size 12; l3proto ip",
     {"protocol": "tcp", "dport": 22, "timeout": 1000, "size": 12, "l3proto": "ip"}),
    ("synproxy", "mss 1460; wscale 7; timestamp sack-perm",
     {"mss": 1460, "wscale": 7, "flags": ["timestamp", "sack-perm"]}),
    ("secmark", '"system_u:object_r:ssh_server_packet_t:s0"', {"context": "system_u:object_r:ssh_server_packet_t:s0"}),
]


def _json_obj(kind, d):
    from pkttables.lang.json_input import parse_json
    o = dict(family="ip", table="t", name="o", **d)
    return parse_json({"nftables": [{"add": {kind: o}}]}).commands[0].obj


@pytest.mark.parametrize("kind, text, js", _OBJ_PAIRS, ids=[f"{k}:{t[:20]}" for k, t, _ in _OBJ_PAIRS])
def test_stateful_object_text_block_inline_and_json_agree(kind, text, js):
    from json_compare import normalize
    block = parse(f"table ip t {{ {kind} o {{ {text}; }}\n}}\n").commands[0].obj.body[0]
    assert not any(p.name == "group" for p in block.body)  # flat, as JSON
    j = _json_obj(kind, js)
    assert normalize(block.body) == normalize(j.body)
    if ";" not in text:  # the one-line command form: add KIND ip t o PROPS
        cmd = parse(f"add {kind} ip t o {text}\n").commands[0].obj
        assert normalize(cmd.body) == normalize(j.body)


def test_object_comment_and_multiline_block():
    o = parse('table ip t {\n counter c {\n  packets 1 bytes 2\n  comment "x"\n }\n}\n').commands[0].obj.body[0]
    assert [p.name for p in o.body] == ["packets", "bytes", "comment"]
    assert o.body[2].value[0].value == "x"


def test_object_comment_text_and_json_agree():
    from json_compare import normalize
    t = parse('add counter ip t o packets 1 bytes 2 comment "x"\n').commands[0].obj
    j = _json_obj("counter", {"packets": 1, "bytes": 2, "comment": "x"})
    assert normalize(t.body) == normalize(j.body)


# ---------------------------------------------------------------- columns count UTF-8 bytes
# goldens: nft 1.0.6 -c -f u.nft (first line of the message)
@pytest.mark.parametrize("text, golden", [
    ('add rule ip t c meta mark 1 comment "éééé" foo\n',
     "u.nft:1:48-50: Error: syntax error, unexpected string, expecting end of file or newline or semicolon"),
    ('add rule ip t c iifname "é é" }\n',
     "u.nft:1:33-33: Error: syntax error, unexpected '}', expecting end of file or newline or semicolon"),
    ('add rule ip t c iifname "héllo wörld" }\n',
     "u.nft:1:41-41: Error: syntax error, unexpected '}', expecting end of file or newline or semicolon"),
    ("add rule ip t c iifname €€ }\n", "u.nft:1:25-25: Error: syntax error, unexpected junk"),
    ("add rule ip t c tcp dport # café\n", "u.nft:1:34-34: Error: syntax error, unexpected newline"),
    ('table ip t {\n\tchain c {\n\t\tiifname "éé" }\n\t}\n}\n',
     "u.nft:3:18-18: Error: syntax error, unexpected '}', expecting newline or semicolon"),
])
def test_columns_count_bytes_like_nft(text, golden):
    with pytest.raises(SyntaxError_) as ei:
        parse(text, "u.nft")
    first = ei.value.diagnostics[0]
    assert first.render().splitlines()[0] == golden


def test_token_locations_are_byte_columns():
    from pkttables.lang.lexer import tokenize
    toks = tokenize('"€" x # é\n')
    assert [(t.text, t.loc.first_col, t.loc.last_col) for t in toks[:3]] == [('"€"', 1, 5), ("x", 7, 7), ("\n", 13, 13)]


# nft counts columns in bytes, carets included (errors._marker_line).
def test_caret_indent_counts_bytes():
    with pytest.raises(SyntaxError_) as ei:
        parse('add rule ip t c iifname "é é" }\n', "u.nft")
    assert ei.value.diagnostics[0].render().splitlines()[2] == " " * 32 + "^"


# ---------------------------------------------------------------- include chains
def _files(tmp_path, monkeypatch, files: dict):
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        (tmp_path / name).write_text(text)


def _ferr(path: str) -> str:
    from pkttables.lang import parse_file
    with pytest.raises(SyntaxError_) as ei:
        parse_file(path)
    return str(ei.value)


# goldens: nft 1.0.6 -c -f FILE run in the directory holding the files
def test_include_chain_nested(tmp_path, monkeypatch):
    _files(tmp_path, monkeypatch, {"main.nft": '# top\ninclude "./a.nft"\n',
                                   "a.nft": 'add table ip t\n  include "./b.nft"\n',
                                   "b.nft": "add rule ip t c tcp dport }\n"})
    assert _ferr("main.nft") == (
        "In file included from ./a.nft:2:3-20:\n"
        "                 from main.nft:2:1-18:\n"
        "./b.nft:1:27-27: Error: syntax error, unexpected '}'\n"
        "add rule ip t c tcp dport }\n"
        "                          ^")


def test_include_chain_two_includes_on_one_line(tmp_path, monkeypatch):
    _files(tmp_path, monkeypatch, {"two.nft": 'include "./b.nft"; include "./d.nft"\n',
                                   "b.nft": "add rule ip t c tcp dport }\n", "d.nft": "add rule ip t c ) 1\n"})
    assert _ferr("two.nft") == (
        "In file included from two.nft:1:1-18:\n"
        "./b.nft:1:27-27: Error: syntax error, unexpected '}'\n"
        "add rule ip t c tcp dport }\n"
        "                          ^\n"
        "In file included from two.nft:1:20-37:\n"
        "./d.nft:1:17-17: Error: syntax error, unexpected ')'\n"
        "add rule ip t c ) 1\n"
        "                ^")


def test_include_inside_a_block(tmp_path, monkeypatch):
    _files(tmp_path, monkeypatch, {"blk.nft": 'table ip t {\n include "./c.nft"\n}\n',
                                   "c.nft": "chain c {\n foo bar }\n}\n"})
    assert _ferr("blk.nft") == (
        "In file included from blk.nft:2:2-19:\n"
        "./c.nft:2:10-10: Error: syntax error, unexpected '}', expecting newline or semicolon\n"
        " foo bar }\n"
        "         ^")


def test_missing_file_inside_an_include(tmp_path, monkeypatch):
    _files(tmp_path, monkeypatch, {"m2.nft": 'include "./a2.nft"\n', "a2.nft": 'include "./nf.nft"\n'})
    assert _ferr("m2.nft") == (
        "In file included from m2.nft:1:1-19:\n"
        "./a2.nft:1:1-19: Error: File not found: ./nf.nft\n"
        'include "./nf.nft"\n'
        "^^^^^^^^^^^^^^^^^^^")


def test_include_nested_too_deeply(tmp_path, monkeypatch):
    _files(tmp_path, monkeypatch, {"self.nft": 'include "./self.nft"\n'})
    want = ("In file included from ./self.nft:1:1-21:\n"
            + "                 from ./self.nft:1:1-21:\n" * 13
            + "                 from self.nft:1:1-21:\n"
            "./self.nft:1:1-21: Error: Include nested too deeply, max 16 levels\n"
            'include "./self.nft"\n' + "^" * 21)
    assert _ferr("self.nft") == want
