"""Fixes found by the kernel set comparison (tests/kernel/test_diff_sets.py): typeof sets
used by rules, anonymous object maps' names, and the refusals of nft 1.0.6 / the kernel
(golden texts captured from the real nft 1.0.6 in a network namespace)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from pkttables.commands import CommandError, run_text
from pkttables.errors import EvalError, PktError
from pkttables.model import Ruleset


def run(text, base=None):
    return run_text(text, base or Ruleset(), filename="/tmp/x.nft").ruleset


def refusal(text) -> str:
    with pytest.raises(PktError) as ei:
        run(text)
    return ei.value.render()


TYPEOF = """table ip t {
  set ty { typeof ip saddr . udp dport; elements = { 192.168.1.10 . 53 } }
  set s { typeof ip saddr; }
  map tm { typeof udp dport : meta mark; elements = { 53 : 0x10 } }
  map m { typeof ip saddr : meta mark; }
  chain c {
    ip saddr . udp dport @ty counter
    ip saddr @s
    meta mark set udp dport map @tm
    meta mark set ip saddr map @m
  }
}"""


def test_rules_naming_typeof_sets_and_maps_compile():
    rs = run(TYPEOF)
    rules = rs.chain("ip", "t", "c").rules
    assert len(rules) == 4
    from pkttables.compile import dump
    text = "".join(dump(r.userdata["program"]) for r in rules)
    assert "lookup reg 1 set ty" in text
    assert "lookup reg 1 set s" in text
    assert "lookup reg 1 set tm dreg 1" in text
    assert "lookup reg 1 set m dreg 1" in text


def test_typeof_set_key_width_is_checked():
    # the typeof key is 4 bytes: a 2-byte lookup is a datatype mismatch, not ENOENT
    with pytest.raises(EvalError) as ei:
        run("table ip t {\n  set s { typeof ip saddr; }\n  chain c {\n    udp dport @s\n  }\n}")
    assert "datatype mismatch" in str(ei.value)


OBJ = """table ip t {
  counter c1 { }
  counter c2 { }
  quota q1 { 100 bytes }
  chain c {
    counter name ip saddr map { 10.0.0.1 : "c1", 10.0.0.2 : "c2" }
    quota name ip saddr map { 10.0.0.0/8 : "q1", 11.0.0.0/8 : "q1" }
  }
}"""


def test_anonymous_object_maps_keep_object_names_and_kind():
    rs = run(OBJ)
    t = rs.table("ip", "t")
    maps = sorted((s for s in t.sets.values() if "object" in s.flags), key=lambda s: s.name)
    assert [s.name for s in maps] == ["__objmap0", "__objmap1"]
    c, q = maps
    assert c.data_type == "counter"
    assert {e.key: e.data for e in c.elements} == {b"\n\0\0\x01": "c1", b"\n\0\0\x02": "c2"}
    assert q.data_type == "quota"
    # adjacent ranges of an object map are not merged: each keeps its object
    assert [(e.key, e.key_end, e.data) for e in q.elements] == [
        (b"\n\0\0\0", b"\n\xff\xff\xff", "q1"), (b"\x0b\0\0\0", b"\x0b\xff\xff\xff", "q1")]


def test_anonymous_object_map_dump_is_unchanged():
    # libnftnl does not print NFTA_SET_ELEM_OBJREF: the debug text has no names
    rs = run(OBJ)
    from pkttables.compile import dump
    text = dump(rs.chain("ip", "t", "c").rules[0].userdata["program"])
    assert "element 0100000a  : 0 [end]" in text and "c1" not in text


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 254), min_size=1, max_size=6, unique=True))
def test_object_map_names_follow_their_keys(octets):
    elems = ", ".join(f'10.0.0.{o} : "c{o % 2}"' for o in octets)
    rs = run("table ip t {\n  counter c0 { }\n  counter c1 { }\n  chain c {\n"
             f"    counter name ip saddr map {{ {elems} }}\n  }}\n}}")
    s = rs.table("ip", "t").sets["__objmap0"]
    assert {e.key: e.data for e in s.elements} == {bytes([10, 0, 0, o]): f"c{o % 2}" for o in octets}


# ------------------------------------------------------------ refusals (nft 1.0.6 text)

def test_element_statement_not_declared():
    assert refusal("table ip t {\n  set e { type ipv4_addr; elements = { 192.168.1.10 counter } }\n}") == (
        "/tmp/x.nft:2:53-59: Error: missing statement in set declaration\n"
        "  set e { type ipv4_addr; elements = { 192.168.1.10 counter } }\n"
        "                                                    ^^^^^^^")
    assert refusal("table ip t {\n  set e { type ipv4_addr; elements = { 192.168.1.12 limit rate 1/second } }\n}") \
        .startswith("/tmp/x.nft:2:53-71: Error: missing statement in set declaration\n")


def test_element_statement_declared_is_accepted():
    rs = run("table ip t {\n  set e { type ipv4_addr; counter; elements = { 192.168.1.12 counter } }\n}")
    assert len(rs.table("ip", "t").sets["e"].elements) == 1


def test_more_elements_than_size():
    text = "table ip t {\n  set e { type ipv4_addr; size 1; elements = { 10.0.0.1, 10.0.0.2 } }\n}"
    with pytest.raises(CommandError) as ei:
        run(text)
    assert ei.value.render() == (
        "/tmp/x.nft:2:58-65: Error: Could not process rule: Too many open files in system\n"
        "  set e { type ipv4_addr; size 1; elements = { 10.0.0.1, 10.0.0.2 } }\n"
        "                                                         ^^^^^^^^")
    # exactly size elements fit; a later batch over the limit is refused too
    rs = run("table ip t {\n  set e { type ipv4_addr; size 2; elements = { 10.0.0.1, 10.0.0.2 } }\n}")
    assert len(rs.table("ip", "t").sets["e"].elements) == 2
    with pytest.raises(CommandError):
        run("add element ip t e { 10.0.0.3 }", rs)
    run("add element ip t e { 10.0.0.2 }", rs)     # already there: no new element


def test_interval_set_updated_from_the_packet_path():
    text = ("table ip t {\n  set e { type ipv4_addr; flags interval; }\n"
            "  chain c { type filter hook forward priority 0;\n    add @e { ip saddr }\n  }\n}")
    assert refusal(text) == (
        "/tmp/x.nft:2:7-7: Error: Could not process rule: Operation not supported\n"
        "  set e { type ipv4_addr; flags interval; }\n"
        "      ^")
    # a set of an earlier batch: the rule is refused
    rs = run("table ip t {\n  set e { type ipv4_addr; flags interval; }\n  chain c { }\n}")
    with pytest.raises(CommandError) as ei:
        run("add rule ip t c update @e { ip saddr }", rs)
    assert ei.value.errno == 95
