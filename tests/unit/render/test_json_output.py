"""Unit tests of :mod:`pkttables.render.json_output`: serialization as jansson prints it,
rule statements from instruction lists, options, and the model objects."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from pkttables.model import Chain, Element, Hook, Rule, Ruleset, Set, StatefulObject, Table
from pkttables.render import DelinearizeError, ListOptions
from pkttables.render import json_output as J

TCP22 = ["[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
         "[ payload load 2b @ transport header + 2 => reg 1 ]", "[ cmp eq reg 1 0x00001600 ]",
         "[ immediate reg 0 accept ]"]


# ---------------------------------------------------------------------------- dumps


def test_dumps_separators_and_order():
    assert J.dumps({"b": 1, "a": [None, True, False, "x"]}) == '{"b": 1, "a": [null, true, false, "x"]}'


def test_dumps_escapes_like_jansson():
    # checked against nft 1.0.6: UTF-8 and "/" as is, short escapes, \uXXXX upper case
    assert J.dumps("b\\ é/ \ttab") == '"b\\\\ é/ \\ttab"'
    assert J.dumps("\x01\"") == '"\\u0001\\""'


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.text(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=5), kids, max_size=4),
    max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_dumps_is_json_that_reads_back(v):
    assert json.loads(J.dumps(v)) == v


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_dumps_matches_json_module_without_control_chars(v):
    s = json.dumps(v, ensure_ascii=False)
    if "\\u00" not in s:          # jansson writes those escapes in upper case
        assert J.dumps(v) == s


# ---------------------------------------------------------------------------- rules


def test_rule_json_tcp_dport():
    assert J.rule_json(TCP22, "inet") == [
        {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}},
        {"accept": None}]


@pytest.mark.parametrize("text,family,want", [
    ("ct state established,related", "ip",
     {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}),
    ("meta mark 0x00000010", "ip", {"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": 16}}),
    ("ct expiration 1m-1h", "ip",
     {"match": {"op": "==", "left": {"ct": {"key": "expiration"}}, "right": {"range": [60, 3600]}}}),
    ("tcp flags syn / fin,syn", "ip",
     {"match": {"op": "==", "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, ["fin", "syn"]]},
                "right": "syn"}}),
    ("sctp chunk ecne exists", "ip", {"match": {"op": "==", "left": {"sctp chunk": {"name": "ecne"}}, "right": True}}),
    ("ip saddr 10.0.0.0/8", "ip",
     {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                "right": {"prefix": {"addr": "10.0.0.0", "len": 8}}}}),
    ("reject", "inet", {"reject": {"type": "icmpx", "expr": "port-unreachable"}}),
    ("reject", "ip", {"reject": {"type": "icmp", "expr": "port-unreachable"}}),
    ("log flags all", "ip", {"log": {"flags": "all"}}),
    ("masquerade random,persistent", "ip", {"masquerade": {"flags": ["random", "persistent"]}}),
    ("masquerade random", "ip", {"masquerade": {"flags": "random"}}),
    ("queue", "ip", {"queue": {"num": 0}}),
    ("limit rate 10 mbytes/second", "ip",
     {"limit": {"rate": 10, "burst": 0, "per": "second", "rate_unit": "mbytes", "burst_unit": "bytes"}}),
    ("quota over 10 mbytes", "ip", {"quota": {"val": 10, "val_unit": "mbytes", "inv": True}}),
    ("jump foo", "ip", {"jump": {"target": "foo"}}),
    ("tcp dport vmap { 22 : accept, 23 : drop }", "ip",
     {"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}},
               "data": {"set": [[22, {"accept": None}], [23, {"drop": None}]]}}}),
    ("ct helper set \"ftp\"", "ip", {"ct helper": "ftp"}),
    ("counter name \"c1\"", "ip", {"counter": "c1"}),
])
def test_text_json(text, family, want):
    got = J.text_json(text, family, ListOptions(stateless=True))
    assert got[0] == want


def test_counter_stateless_and_not():
    assert J.text_json("counter packets 3 bytes 4", "ip") == [{"counter": {"packets": 3, "bytes": 4}}]
    assert J.text_json("counter packets 3 bytes 4", "ip", ListOptions(stateless=True)) == [{"counter": None}]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=4))
def test_rule_json_garbage_raises_only_our_errors(lines):
    try:
        J.rule_json(lines, "ip")
    except (DelinearizeError, J.JsonOutputError):
        pass


# ---------------------------------------------------------------------------- model objects


def _rs() -> Ruleset:
    rs = Ruleset()
    t = Table("ip", "f", 1)
    c = Chain("in", 1, Hook("filter", "input", 0, policy="drop"))
    c.rules.append(Rule(3, tuple(TCP22), comment="ssh"))
    t.chains["in"] = c
    t.sets["s"] = Set("s", 2, ("ipv4_addr",), flags=frozenset({"interval"}),
                      elements=[Element(b"\x0a\x00\x00\x00", key_end=b"\x0a\xff\xff\xff"),
                                Element(b"\x01\x02\x03\x04", timeout=30000, comment="x")])
    t.objects[("counter", "c")] = StatefulObject("counter", "c", 4, {"packets": 1, "bytes": 2})
    rs.tables[("ip", "f")] = t
    return rs


def test_list_ruleset_from_hand_built_model():
    doc = J.list_ruleset_json(_rs())
    items = doc["nftables"]
    assert items[0] == J.metainfo()
    assert [next(iter(x)) for x in items[1:]] == ["table", "counter", "set", "chain", "rule"]
    assert items[2]["counter"] == {"family": "ip", "name": "c", "table": "f", "handle": 4, "packets": 1, "bytes": 2}
    # nft lists elements in key order, whatever order they were added in
    assert items[3]["set"]["elem"] == [{"elem": {"val": "1.2.3.4", "timeout": 30, "comment": "x"}},
                                       {"prefix": {"addr": "10.0.0.0", "len": 8}}]
    assert items[4]["chain"] == {"family": "ip", "table": "f", "name": "in", "handle": 1, "type": "filter",
                                 "hook": "input", "prio": 0, "policy": "drop"}
    rule = items[5]["rule"]
    assert list(rule) == ["family", "table", "chain", "handle", "comment", "expr"]
    assert rule["expr"][1] == {"accept": None}


def test_list_commands_filter():
    rs = _rs()
    assert J.list_tables_json(rs)["nftables"][1:] == [{"table": {"family": "ip", "name": "f", "handle": 1}}]
    assert J.list_ruleset_json(rs, family="inet")["nftables"] == [J.metainfo()]
    assert J.list_maps_json(rs)["nftables"] == [J.metainfo()]
    assert len(J.list_objects_json(rs, "counter", name="c")["nftables"]) == 2
    assert J.list_objects_json(rs, "quota")["nftables"] == [J.metainfo()]
