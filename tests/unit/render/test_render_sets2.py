"""Set constructs listed as nft 1.0.6 lists them (LIST2): dynamic set and map updates,
meters, anonymous object maps, and their JSON.

Expected texts were produced by the real nft 1.0.6 (``nft -f`` then ``nft list ruleset``
and ``nft -j list ruleset`` in a network namespace) or come from the generated corpus.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.commands import run_text
from pkttables.model import Ruleset
from pkttables.render import AnonSet, ListOptions, delinearize
from pkttables.render import json_output as J
from pkttables.render import text as T
from pkttables.render._dump import SET_ANONYMOUS, SET_EVAL, SET_MAP, SET_OBJECT

CTX = """table ip t {
  map mdyn { type ipv4_addr : mark; flags dynamic,timeout; }
  map mnat4 { type ipv4_addr : ipv4_addr; flags dynamic; }
  map om { type ipv4_addr : counter; }
  set s4 { type ipv4_addr; flags dynamic,timeout; }
  counter c1 {}
  counter c2 {}
  quota q1 { 25 mbytes }
  ct helper h1 { type "ftp" protocol tcp; }
  ct timeout to1 { protocol tcp; l3proto ip; policy = { established: 120 }; }
  synproxy sp1 { mss 1460; wscale 7; }
  chain c { type filter hook input priority 0; }
}
"""

_BASE = None


def _base() -> Ruleset:
    global _BASE
    if _BASE is None:
        _BASE = run_text(CTX, Ruleset()).ruleset
    return _BASE


def _added(rule: str):
    rs = run_text(f"add rule ip t c {rule}", _base()).ruleset
    table = rs.table("ip", "t")
    chain = rs.chain("ip", "t", "c")
    return list(chain.rules)[-1], chain, table


def listed(rule: str, flags: str = "") -> str:
    r, _, table = _added(rule)
    return T.rule_line(r, "ip", ListOptions.from_flags(flags), table)


def listed_json(rule: str) -> list:
    r, chain, table = _added(rule)
    return J.rule_obj_json(r, chain, table, ListOptions())["rule"]["expr"]


# (rule as added, listing nft 1.0.6 prints)
CASES = [
    # map statements: the data register, typed by the map's data type
    ("add @mdyn { ip saddr : 0x1 }", "add @mdyn { ip saddr : 0x00000001 }"),
    ("update @mdyn { ip saddr : meta mark }", "update @mdyn { ip saddr : meta mark }"),
    ("add @mnat4 { ip saddr : 1.2.3.4 }", "add @mnat4 { ip saddr : 1.2.3.4 }"),
    # every statement of a dynset, stateless
    ("add @s4 { ip saddr counter quota 10 mbytes }", "add @s4 { ip saddr counter quota 10 mbytes }"),
    ("add @s4 { ip saddr timeout 5s counter }", "add @s4 { ip saddr timeout 5s counter }"),
    ("delete @s4 { ip saddr }", "delete @s4 { ip saddr }"),
    # meters: their own anonymous set, nft's default size 65535
    ("meter m1 { ip saddr limit rate 10/second }", "meter m1 size 65535 { ip saddr limit rate 10/second }"),
    ("meter m2 size 128 { ip saddr . tcp dport counter }", "meter m2 size 128 { ip saddr . tcp dport counter }"),
    ("meter xyz size 8192 { ip saddr timeout 30s counter}", "meter xyz size 8192 { ip saddr timeout 30s counter }"),
    ("meter m1 { ip saddr counter } tcp dport { 22, 80 } accept",
     "meter m1 size 65535 { ip saddr counter } tcp dport { 22, 80 } accept"),
    ("tcp sport { 1, 2 } meter m2 size 100 { ip daddr timeout 1m limit rate 5/second } accept",
     "tcp sport { 1, 2 } meter m2 size 100 { ip daddr timeout 1m limit rate 5/second } accept"),
    # anonymous object maps: the object kind and names
    ('counter name tcp dport map { 22 : "c1", 80 : "c2" }', 'counter name tcp dport map { 22 : "c1", 80 : "c2" }'),
    ('counter name tcp dport map { 22 : "c1", * : "c2" }', 'counter name tcp dport map { 22 : "c1", * : "c2" }'),
    ('counter name ip saddr map { 10.0.0.0/8 : "c1", * : "c2" }',
     'counter name ip saddr map { 10.0.0.0/8 : "c1", * : "c2" }'),
    ('quota name tcp dport map { 22 : "q1" }', 'quota name tcp dport map { 22 : "q1" }'),
    ('ct helper set tcp dport map { 21 : "h1" }', 'ct helper set tcp dport map { 21 : "h1" }'),
    ('ct helper set ip protocol map { tcp : "h1" }', 'ct helper set ip protocol map { tcp : "h1" }'),
    ('ct timeout set tcp dport map { 22 : "to1" }', 'ct timeout set tcp dport map { 22 : "to1" }'),
    ('synproxy name ip saddr map { 192.168.1.0/24 : "sp1" }',
     'synproxy name ip saddr map { 192.168.1.0/24 : "sp1" }'),
    # a named object map: the kind is the map's data type
    ("counter name ip saddr map @om", "counter name ip saddr map @om"),
]


@pytest.mark.parametrize("rule,want", CASES)
def test_listing_as_nft(rule, want):
    assert listed(rule) == want


def test_numeric_listing_of_object_map_key():
    # corpus stmt-00101: -n prints the protocol number, the object name stays quoted
    assert listed('ct helper set ip protocol map { tcp : "h1" }', "-n") == \
        'ct helper set ip protocol map { 6 : "h1" }'


def test_stateless_flag_does_not_change_meter():
    assert listed("meter m1 { ip saddr counter }", "-s") == "meter m1 size 65535 { ip saddr counter }"


# JSON as nft 1.0.6 prints it (nft -j list ruleset, measured)
JSON_CASES = [
    # nft 1.0.6 has no json callback for the map statement: its listing text, a string
    ("add @mnat4 { ip saddr : 1.2.3.4 }", ["add @mnat4 { ip saddr : 1.2.3.4 }"]),
    ("update @mdyn { ip saddr : meta mark }", ["update @mdyn { ip saddr : meta mark }"]),
    ("delete @s4 { ip saddr }",
     [{"set": {"op": "delete", "elem": {"payload": {"protocol": "ip", "field": "saddr"}}, "set": "@s4"}}]),
    ("add @s4 { ip saddr counter quota 10 mbytes }",
     [{"set": {"op": "add", "elem": {"payload": {"protocol": "ip", "field": "saddr"}}, "set": "@s4",
               "stmt": [{"counter": None}, {"quota": {"val": 10, "val_unit": "mbytes"}}]}}]),
    ("meter m1 { ip saddr counter } tcp dport { 22, 80 } accept",
     [{"meter": {"key": {"payload": {"protocol": "ip", "field": "saddr"}}, "stmt": {"counter": None},
                 "size": 65535, "name": "m1"}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": {"set": [22, 80]}}},
      {"accept": None}]),
    ("tcp sport { 1, 2 } meter m2 size 100 { ip daddr timeout 1m limit rate 5/second } accept",
     [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "sport"}}, "right": {"set": [1, 2]}}},
      {"meter": {"key": {"elem": {"val": {"payload": {"protocol": "ip", "field": "daddr"}}, "timeout": 60}},
                 "stmt": {"limit": {"rate": 5, "burst": 5, "per": "second"}}, "size": 100, "name": "m2"}},
      {"accept": None}]),
    ('counter name tcp dport map { 22 : "c1", * : "c2" }',
     [{"counter": {"map": {"key": {"payload": {"protocol": "tcp", "field": "dport"}},
                           "data": {"set": [[22, "c1"], ["*", "c2"]]}}}}]),
    ('counter name ip saddr map { 10.0.0.0/8 : "c1", * : "c2" }',
     [{"counter": {"map": {"key": {"payload": {"protocol": "ip", "field": "saddr"}},
                           "data": {"set": [[{"prefix": {"addr": "10.0.0.0", "len": 8}}, "c1"], ["*", "c2"]]}}}}]),
    ('ct helper set tcp dport map { 21 : "h1" }',
     [{"ct helper": {"map": {"key": {"payload": {"protocol": "tcp", "field": "dport"}},
                             "data": {"set": [[21, "h1"]]}}}}]),
]


@pytest.mark.parametrize("rule,want", JSON_CASES)
def test_json_as_nft(rule, want):
    # key order as nft prints it too
    assert J.dumps(listed_json(rule)) == J.dumps(want)


def test_set_objects_json_flags_and_concat_data():
    """nft 1.0.6 set_print_json: no "dynamic" flag; a concatenated data type is one
    string, a concatenated key an array (measured)."""
    rs = run_text("""table ip t {
      set s2 { type ipv4_addr . inet_service; flags dynamic,timeout; timeout 10s; }
      map m1 { type ipv4_addr . inet_service : ipv4_addr . inet_service; flags interval; }
    }""", Ruleset()).ruleset
    t = rs.table("ip", "t")
    s2 = J.set_json(t.sets["s2"], t)["set"]
    m1 = J.set_json(t.sets["m1"], t)["map"]
    assert s2["flags"] == ["timeout"] and s2["type"] == ["ipv4_addr", "inet_service"]
    assert m1["map"] == "ipv4_addr . inet_service" and m1["type"] == ["ipv4_addr", "inet_service"]


def test_object_names_reach_the_model():
    """``ct helper set KEY map { k : "h1" }`` is an object map: its element holds the
    helper's name (the kernel's NFTA_SET_ELEM_OBJREF), not nothing."""
    r, _, table = _added('ct helper set tcp dport map { 21 : "h1", 22 : "h1" }')
    (name,) = r.userdata["sets"]
    s = table.sets[name]
    assert s.data_type == "ct helper"
    assert [el.data for el in s.elements] == ["h1", "h1"]


# ---------------------------------------------------------------- delinearize alone


def test_meter_needs_the_set_to_be_anonymous():
    """nft netlink_parse_dynset: statements on an anonymous set are a meter; on a named
    set the same instruction is a set statement."""
    ins = ["[ payload load 4b @ network header + 12 => reg 1 ]",
           "[ dynset add reg_key 1 set m expr [ counter pkts 0 bytes 0 ] ]"]
    anon = {"m": AnonSet("m", SET_ANONYMOUS | SET_EVAL, 42)}
    named = {"m": AnonSet("m", SET_EVAL, 42)}
    assert [s.text for s in delinearize(ins, "ip", named_sets=anon)] == ["meter m size 42 { ip saddr counter }"]
    assert [s.text for s in delinearize(ins, "ip", named_sets=named)] == ["add @m { ip saddr counter }"]
    assert [s.text for s in delinearize(ins, "ip")] == ["add @m { ip saddr counter }"]


def test_map_data_without_table_is_the_register_word():
    ins = ["[ payload load 4b @ network header + 12 => reg 1 ]", "[ immediate reg 2 0x00000001 ]",
           "[ dynset add reg_key 1 set m sreg_data 2 ]"]
    assert [s.text for s in delinearize(ins, "ip")] == ["add @m { ip saddr : 0x00000001 }"]
    info = {"m": AnonSet("m", SET_MAP | SET_EVAL, dtype="ipv4_addr")}
    ins[1] = "[ immediate reg 2 0x0100a8c0 ]"
    assert [s.text for s in delinearize(ins, "ip", named_sets=info)] == ["add @m { ip saddr : 192.168.0.1 }"]


def test_object_map_kind_from_the_anonymous_set():
    from pkttables.render import SetElem
    ins = ["[ payload load 4b @ network header + 12 => reg 1 ]", "[ objref sreg 1 set __objmap%d ]"]
    a = AnonSet("__objmap%d", SET_ANONYMOUS | SET_OBJECT | SET_MAP, 1,
                [SetElem(bytes([10, 0, 0, 1]), '"q1"')], dtype="quota")
    assert [s.text for s in delinearize(ins, "ip", [a])] == ['quota name ip saddr map { 10.0.0.1 : "q1" }']


def test_meter_set_does_not_take_an_anonymous_lookup_slot():
    """The rule's sets list holds the meter's own set; a later ``{ 22, 80 }`` lookup
    still reads its own ``__set%d`` (not the meter's)."""
    assert listed("meter m3 { ip saddr counter } tcp dport { 22, 80 } accept") == \
        "meter m3 size 65535 { ip saddr counter } tcp dport { 22, 80 } accept"


# ---------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_map_statement_mark_data(v):
    want = f"add @mdyn {{ ip saddr : 0x{v:08x} }}"
    assert listed(f"add @mdyn {{ ip saddr : {v} }}") == want
    assert listed_json(f"add @mdyn {{ ip saddr : {v} }}") == [want]
    # the listing reads back as the same rule
    assert listed(want) == want


_OBJS = st.sampled_from(["c1", "c2"])


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.integers(1, 65535), _OBJS, min_size=1, max_size=6))
def test_counter_object_map(m):
    body = ", ".join(f'{k} : "{v}"' for k, v in m.items())
    text = listed(f"counter name tcp dport map {{ {body} }}")
    # nft lists the elements in key order
    want = ", ".join(f'{k} : "{m[k]}"' for k in sorted(m))
    assert text == f"counter name tcp dport map {{ {want} }}"
    data = listed_json(f"counter name tcp dport map {{ {body} }}")[0]["counter"]["map"]["data"]["set"]
    assert data == [[k, m[k]] for k in sorted(m)]
    assert listed(text) == text


def test_interval_map_catchall_is_the_catchall_element():
    """An interval map's ``*`` is stored as the kernel's catch-all element
    (NFT_SET_ELEM_CATCHALL), so it lists last and a lookup that misses falls back to it
    (nft_lookup_eval -> nft_set_catchall_lookup)."""
    from pkttables.sets.generation import instances_from_model
    r, _, table = _added("meta mark set ip saddr map { 10.0.0.0/8 : 1, * : 2 }")
    (name,) = r.userdata["sets"]
    catchall = [el for el in table.sets[name].elements if el.key == b""]
    assert [el.flags for el in catchall] == [0x2]
    assert T.rule_line(r, "ip", ListOptions(), table) == \
        "meta mark set ip saddr map { 10.0.0.0/8 : 0x00000001, * : 0x00000002 }"
    rs = run_text("add rule ip t c meta mark set ip saddr map { 10.0.0.0/8 : 1, * : 2 }", _base()).ruleset
    inst = instances_from_model(rs)[("ip", "t", name)]
    assert inst.find(bytes([10, 1, 2, 3]))[0] is True
    found, data = inst.find(bytes([192, 168, 0, 1]))
    assert found and bytes(data)[:4] == (2).to_bytes(4, "little")


# ---------------------------------------------------------------- synproxy flags

# (rule, listing, JSON statement) as nft 1.0.6 prints them (generated corpus)
SYNPROXY = [
    ("synproxy mss 1460", "synproxy mss 1460 wscale 0", {"synproxy": {"mss": 1460}}),
    ("synproxy wscale 7", "synproxy mss 0 wscale 7", {"synproxy": {"wscale": 7}}),
    ("synproxy mss 1460 wscale 7", "synproxy mss 1460 wscale 7", {"synproxy": {"mss": 1460, "wscale": 7}}),
    ("synproxy mss 1460 wscale 7 timestamp sack-perm", "synproxy mss 1460 wscale 7 timestamp sack-perm",
     {"synproxy": {"mss": 1460, "wscale": 7, "flags": ["timestamp", "sack-perm"]}}),
    ("synproxy timestamp", "synproxy timestamp", {"synproxy": {"flags": ["timestamp"]}}),
    ("synproxy sack-perm", "synproxy sack-perm", {"synproxy": {"flags": ["sack-perm"]}}),
    ("synproxy timestamp sack-perm", "synproxy timestamp sack-perm",
     {"synproxy": {"flags": ["timestamp", "sack-perm"]}}),
    ("synproxy", "synproxy", {"synproxy": None}),
]


@pytest.mark.parametrize("rule,want,want_json", SYNPROXY)
def test_synproxy_as_nft(rule, want, want_json):
    assert listed(rule) == want
    assert J.dumps(listed_json(rule)) == J.dumps([want_json])


def test_synproxy_flags_reach_the_instruction_not_its_dump():
    """NFTA_SYNPROXY_FLAGS (NF_SYNPROXY_OPT_MSS 1, WSCALE 2, SACK_PERM 4, TIMESTAMP 8)
    are kept on the instruction; libnftnl's dump shows mss and wscale only."""
    r, _, _ = _added("synproxy mss 1460 timestamp")
    (ins,) = [x for x in r.userdata["program"].instrs if type(x).__name__ == "Synproxy"]
    assert ins.flags == 0x1 | 0x8
    assert ins.dump() == "[ synproxy mss 1460 wscale 0 ]"


# ---------------------------------------------------------------- srh sid[N], raw link loads


def _listed_in(family: str, chain_decl: str, rule: str) -> str:
    rs = run_text(f"add table {family} x\nadd chain {family} x c {{ {chain_decl} }}\n"
                  f"add rule {family} x c {rule}", Ruleset()).ruleset
    r = list(rs.chain(family, "x", "c").rules)[-1]
    return T.rule_line(r, family, ListOptions(), rs.table(family, "x"))


@pytest.mark.parametrize("rule,want", [
    ("srh sid[1] fd00::1", "srh sid[1] fd00::1"),
    ("srh sid[2] dead::beef", "srh sid[2] dead::beef"),
    # nft lists the routing header's address array as the segment routing header's
    ("rt0 addr[1] fe80::1", "srh sid[1] fe80::1"),
    ("srh tag 127", "srh tag 127"),
])
def test_srh_sid(rule, want):
    assert _listed_in("ip6", "type filter hook input priority 0;", rule) == want


def test_srh_sid_json():
    rs = run_text("add table ip6 x\nadd chain ip6 x c\nadd rule ip6 x c srh sid[2] dead::beef", Ruleset()).ruleset
    r = list(rs.chain("ip6", "x", "c").rules)[-1]
    got = J.rule_obj_json(r, rs.chain("ip6", "x", "c"), rs.table("ip6", "x"))["rule"]["expr"]
    assert got[0]["match"]["left"] == {"exthdr": {"name": "srh", "field": "sid[2]"}}


@pytest.mark.parametrize("family,chain,rule,want", [
    # no `meta iiftype ether` before it: nft has no link layer protocol, lists raw
    ("ip", "type filter hook input priority 0;", "@ll,0,8 0x1", "@ll,0,8 0x1"),
    ("inet", "type filter hook input priority 0;", "@ll,48,48 0x0123456789ab", "@ll,48,48 0x123456789ab"),
    ("netdev", "type filter hook ingress device lo priority 0;", "@ll,0,8 0x1", "@ll,0,8 0x1"),
    # `ether saddr` brings its iiftype dependency: the field is named
    ("inet", "type filter hook input priority 0;", "ether saddr 00:0f:54:0c:11:04", "ether saddr 00:0f:54:0c:11:04"),
    ("netdev", "type filter hook ingress device lo priority 0;", "ether saddr 00:0f:54:0c:11:04",
     "ether saddr 00:0f:54:0c:11:04"),
    # the bridge family's link layer is always ethernet
    ("bridge", "type filter hook input priority 0;", "@ll,48,48 0x0123456789ab", "ether saddr 01:23:45:67:89:ab"),
])
def test_link_layer_loads(family, chain, rule, want):
    assert _listed_in(family, chain, rule) == want


def test_bitmask_set_json_nests_binops_as_nft_1_0_6():
    # nft 1.0.6 binop_expr_json: one [left, right] pair per operator (corpus payload-01333)
    got = listed_json("tcp flags { syn, syn,ack, fin|psh|ack|urg }")
    assert got[0]["match"]["right"] == {"set": [{"|": [{"|": [{"|": ["fin", "psh"]}, "ack"]}, "urg"]}, "syn", "ack"]}


def test_masked_bitmask_lookup_numeric():
    rule = "tcp flags & (fin | syn | rst | psh | ack | urg) == { fin, ack, psh | ack, fin | psh | ack }"
    assert listed(rule, "-n") == \
        "tcp flags & (0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20) == { 0x1 | 0x8 | 0x10, 0x1, 0x8 | 0x10, 0x10 }"
