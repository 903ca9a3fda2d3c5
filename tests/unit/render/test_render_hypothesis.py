"""Rendering never raises: random tables, chains, sets, objects and instruction lists."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from pkttables.model import Chain, Element, Hook, Rule, Ruleset, Set, StatefulObject, Table
from pkttables.render import ListOptions, rule_text
from pkttables.render import text as T

names = st.text("abcdefgh_0123456789", min_size=1, max_size=8)
keys = st.sampled_from(["ipv4_addr", "ipv6_addr", "inet_service", "mark", "ether_addr", "ifname",
                        "ct_state", "inet_proto", "integer", ("ipv4_addr", "inet_service")])
opts = st.builds(ListOptions, handle=st.booleans(), stateless=st.booleans(), terse=st.booleans(),
                 numeric=st.integers(0, 2), numeric_proto=st.booleans(), numeric_time=st.booleans(),
                 numeric_priority=st.booleans())
DUMP = ["[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
        "[ payload load 2b @ transport header + 2 => reg 1 ]", "[ cmp neq reg 1 0x00001600 ]",
        "[ bitwise reg 1 = ( reg 1 & 0x000000ff ) ^ 0x00000000 ]", "[ lookup reg 1 set s ]",
        "[ immediate reg 0 accept ]", "[ counter pkts 1 bytes 2 ]", "[ ct load state => reg 1 ]",
        "[ range eq reg 1 0x00000100 0x00000200 ]", "[ meta set mark with reg 1 ]", "[ bogus ]",
        "[ payload write reg 1 => 2b @ network header + 0 csum_type 1 csum_off 10 csum_flags 0x0 ]"]


@st.composite
def elements(draw, key):
    out = []
    for _ in range(draw(st.integers(0, 8))):
        if isinstance(key, tuple):
            k = (draw(st.binary(min_size=4, max_size=4)), draw(st.binary(min_size=2, max_size=2)))
        else:
            k = draw(st.one_of(st.binary(max_size=16), st.integers(0, 2**32)))
        out.append(Element(k, data=draw(st.one_of(st.none(), st.sampled_from(["accept", "drop"]))),
                           timeout=draw(st.one_of(st.none(), st.integers(0, 10**9))),
                           comment=draw(st.one_of(st.none(), names))))
    return out


@st.composite
def rulesets(draw):
    rs = Ruleset()
    for ti in range(draw(st.integers(0, 3))):
        fam = draw(st.sampled_from(["ip", "ip6", "inet", "arp", "bridge", "netdev"]))
        t = Table(fam, draw(names), ti + 1, flags=draw(st.frozensets(st.sampled_from(["dormant", "owner"]))),
                  comment=draw(st.one_of(st.none(), names)))
        for ci in range(draw(st.integers(0, 3))):
            hook = draw(st.one_of(st.none(), st.builds(
                Hook, st.sampled_from(["filter", "nat", "route"]),
                st.sampled_from(["input", "output", "prerouting", "ingress"]), st.integers(-500, 500),
                devices=st.lists(names, max_size=2).map(tuple),
                policy=st.one_of(st.none(), st.sampled_from(["accept", "drop"])))))
            rules = [Rule(i, tuple(draw(st.lists(st.sampled_from(DUMP), max_size=6))),
                          comment=draw(st.one_of(st.none(), names))) for i in range(draw(st.integers(0, 3)))]
            t.chains[f"c{ci}"] = Chain(f"c{ci}", ci, hook, rules)
        for si in range(draw(st.integers(0, 3))):
            k = draw(keys)
            is_map = draw(st.booleans())
            t.sets[f"s{si}"] = Set(f"s{si}", si, k, "verdict" if is_map else None, is_map=is_map,
                                   flags=draw(st.frozensets(st.sampled_from(["interval", "timeout", "constant"]))),
                                   timeout=draw(st.one_of(st.none(), st.integers(0, 10**8))),
                                   elements=draw(elements(k)))
        kind = draw(st.sampled_from(["counter", "quota", "limit", "ct helper", "synproxy", "secmark"]))
        t.objects[(kind, "o")] = StatefulObject(kind, "o", 99, {"packets": 1, "bytes": 2, "rate": 3})
        rs.tables[(fam, t.name)] = t
    return rs


@settings(max_examples=150, deadline=None)
@given(rulesets(), opts)
def test_rendering_never_raises(rs, o):
    out = T.list_ruleset(rs, o)
    assert isinstance(out, str)
    assert out.count("{") >= len(rs.tables)
    T.list_chains(rs, o), T.list_sets(rs, o), T.list_maps(rs, o), T.list_tables(rs, o)
    T.list_objects(rs, "counter", o), T.list_flowtables(rs, o)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(DUMP), max_size=8), st.sampled_from(["ip", "ip6", "inet", "bridge"]))
def test_rule_text_raises_only_delinearize_error(lines, fam):
    from pkttables.render import DelinearizeError
    try:
        rule_text(lines, fam)
    except DelinearizeError:
        pass
