"""Listings from the model compared with what nft 1.0.6 printed for the same ruleset.

golden/g1.nft and golden/g2.nft were loaded into a network namespace with the real nft
(golden/capture.sh: ``nft -f``, then ``nft [-a|-s|-t|-n|-y|-nn|-p|-T|-S|-u|-N] list ...``);
the models below hold the same tables, chains, sets and objects, and each rule's
instruction list as nft's ``--debug=netlink`` printed it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkttables.model import Chain, Element, Hook, Rule, Ruleset, Set, StatefulObject, Table
from pkttables.render import ListOptions
from pkttables.render import text as T

GOLDEN = Path(__file__).parent / "golden"


def ip4(s: str) -> bytes:
    return bytes(int(x) for x in s.split("."))


def port(n: int) -> bytes:
    return n.to_bytes(2, "big")


def R(handle, *lines, comment=None):
    return Rule(handle=handle, stmts=tuple(lines), comment=comment)


def model1() -> Ruleset:
    rs = Ruleset()
    t = Table("inet", "filter", 1, comment="main table")
    objs = [
        StatefulObject("counter", "cnt1", 5, {"packets": 0, "bytes": 0}),
        StatefulObject("counter", "cnt2", 6, {"packets": 0, "bytes": 0}, comment="c2"),
        StatefulObject("quota", "q1", 7, {"bytes": 2 * 1024 * 1024, "over": True}),
        StatefulObject("quota", "q2", 8, {"bytes": 1000, "used": 10}),
        StatefulObject("limit", "l1", 9, {"rate": 10, "unit": "second", "burst": 5, "type": "packets"}),
        StatefulObject("limit", "l2", 10, {"rate": 1024 * 1024, "unit": "second", "burst": 1000,
                                           "type": "bytes", "over": True}),
        StatefulObject("ct helper", "ftph", 11, {"type": "ftp", "protocol": "tcp", "l3proto": "inet"}),
        StatefulObject("ct timeout", "cto", 12, {"protocol": "tcp", "l3proto": "ip",
                                                 "policy": {"established": 100, "close": 4}}),
        StatefulObject("ct expectation", "cte", 13, {"protocol": "tcp", "dport": 21, "timeout": 1000,
                                                     "size": 10, "l3proto": "ip"}),
    ]
    for o in objs:
        t.objects[(o.kind, o.name)] = o
    t.sets["blocked"] = Set("blocked", 14, "ipv4_addr", flags=frozenset({"interval"}), elements=[
        Element(ip4("10.0.0.0"), key_end=ip4("10.255.255.255")),
        Element(ip4("172.16.0.1"), key_end=ip4("172.16.0.9")),
        Element(ip4("192.168.1.1"))])
    t.sets["ports"] = Set("ports", 15, "inet_service", elements=[Element(port(p)) for p in (22, 80, 443)])
    t.sets["empty4"] = Set("empty4", 16, "ipv4_addr", flags=frozenset({"dynamic", "timeout"}), size=65535,
                           timeout=3600_000, gc_interval=30_000, comment="dyn")
    t.sets["big"] = Set("big", 17, "ipv4_addr", elements=[Element(ip4(f"10.0.0.{i}")) for i in range(1, 21)])
    t.sets["portmap"] = Set("portmap", 18, "inet_service", "verdict", is_map=True,
                            elements=[Element(port(22), "accept"), Element(port(23), "drop")])
    t.sets["marks"] = Set("marks", 19, "ipv4_addr", "mark", is_map=True,
                          elements=[Element(ip4("1.1.1.1"), (1).to_bytes(4, "little"))])
    t.chains["input"] = Chain("input", 1, Hook("filter", "input", 0, policy="drop"), rules=[
        R(20, "[ ct load state => reg 1 ]", "[ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ]",
          "[ cmp neq reg 1 0x00000000 ]", "[ immediate reg 0 accept ]"),
        R(21, "[ meta load iifname => reg 1 ]", "[ cmp eq reg 1 0x00006f6c 0x00000000 0x00000000 0x00000000 ]",
          "[ immediate reg 0 accept ]", comment="loopback"),
        R(22, "[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
          "[ payload load 2b @ transport header + 2 => reg 1 ]", "[ lookup reg 1 set ports ]",
          "[ counter pkts 0 bytes 0 ]", "[ immediate reg 0 accept ]"),
        R(23, "[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x00000002 ]",
          "[ payload load 4b @ network header + 12 => reg 1 ]", "[ lookup reg 1 set blocked ]",
          "[ immediate reg 0 drop ]"),
        R(24, "[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
          "[ payload load 2b @ transport header + 2 => reg 1 ]", "[ lookup reg 1 set portmap dreg 0 ]"),
        R(25, "[ immediate reg 0 jump -> sub ]"),
    ])
    t.chains["forward"] = Chain("forward", 2, Hook("filter", "forward", 5, policy="accept"))
    t.chains["output"] = Chain("output", 3, Hook("filter", "output", -150, policy="accept"), rules=[
        R(26, "[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x00000002 ]",
          "[ payload load 4b @ network header + 16 => reg 1 ]", "[ lookup reg 1 set marks dreg 1 ]",
          "[ meta set mark with reg 1 ]")])
    t.chains["sub"] = Chain("sub", 4, comment="subchain", rules=[
        R(27, "[ objref type 1 name cnt1 ]"), R(28, "[ objref type 4 name l1 ]"),
        R(29, "[ immediate reg 0 return ]")])
    rs.tables[("inet", "filter")] = t
    nat = Table("ip", "nat", 2)
    nat.chains["pre"] = Chain("pre", 1, Hook("nat", "prerouting", -100, policy="accept"), rules=[
        R(3, "[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
          "[ payload load 2b @ transport header + 2 => reg 1 ]", "[ cmp eq reg 1 0x00005000 ]",
          "[ immediate reg 1 0x0100000a ]", "[ immediate reg 2 0x0000901f ]",
          "[ nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2 ]")])
    nat.chains["post"] = Chain("post", 2, Hook("nat", "postrouting", 100, policy="accept"), rules=[
        R(4, "[ meta load oifname => reg 1 ]", "[ cmp eq reg 1 0x30687465 0x00000000 0x00000000 0x00000000 ]",
          "[ masq ]")])
    rs.tables[("ip", "nat")] = nat
    nd = Table("netdev", "nd", 3)
    nd.chains["ing"] = Chain("ing", 1, Hook("filter", "ingress", -500, devices=("lo",), policy="accept"))
    rs.tables[("netdev", "nd")] = nd
    br = Table("bridge", "br", 4)
    br.chains["c"] = Chain("c", 1, Hook("filter", "input", -200, policy="accept"))
    rs.tables[("bridge", "br")] = br
    a = Table("arp", "a", 5)
    a.chains["c"] = Chain("c", 1, Hook("filter", "input", 0, policy="accept"))
    rs.tables[("arp", "a")] = a
    t6 = Table("ip6", "t6", 6, flags=frozenset({"dormant"}))
    t6.chains["c"] = Chain("c", 1)
    rs.tables[("ip6", "t6")] = t6
    return rs


def model2(expires: int = 3599_996) -> Ruleset:
    rs = Ruleset()
    t = Table("ip", "t", 1)
    t.sets["s1"] = Set("s1", 5, ("ipv4_addr", "inet_service"), elements=[
        Element((ip4("1.1.1.1"), port(22))), Element((ip4("2.2.2.2"), port(80)))])
    t.sets["s2"] = Set("s2", 6, "ipv4_addr", flags=frozenset({"timeout"}), stmts=("counter",), elements=[
        Element(ip4("1.1.1.1"), timeout=3600_000, expires=expires, comment="one",
                stmts=("[ counter pkts 0 bytes 0 ]",)),
        Element(ip4("2.2.2.2"), stmts=("[ counter pkts 0 bytes 0 ]",))])
    t.sets["s3"] = Set("s3", 7, "inet_service", flags=frozenset({"interval"}), auto_merge=True, elements=[
        Element(port(1), key_end=port(7)), Element(port(10), key_end=port(20))])
    t.sets["s4"] = Set("s4", 8, "ip saddr", typeof=True, policy="memory", elements=[Element(ip4("9.9.9.9"))])
    t.sets["s5"] = Set("s5", 9, "ipv6_addr", elements=[Element(i.to_bytes(16, "big")) for i in (1, 2, 3)])
    t.sets["s6"] = Set("s6", 10, "mark", flags=frozenset({"constant"}),
                       elements=[Element(i.to_bytes(4, "little")) for i in range(1, 13)])
    t.sets["m1"] = Set("m1", 11, ("ipv4_addr", "inet_service"), ("ipv4_addr", "inet_service"), is_map=True,
                       elements=[Element((ip4("1.1.1.1"), port(80)), (ip4("2.2.2.2"), port(8080)))])
    t.sets["m2"] = Set("m2", 12, "ipv4_addr", "verdict", is_map=True, flags=frozenset({"interval"}), elements=[
        Element(ip4("10.0.0.0"), "jump c", key_end=ip4("10.0.0.255")),
        Element(ip4("10.1.0.0"), "goto c", key_end=ip4("10.1.255.255"))])
    t.sets["__set0"] = Set("__set0", 14, "ipv4_addr", flags=frozenset({"anonymous", "constant"}),
                           elements=[Element(ip4("1.1.1.1")), Element(ip4("2.2.2.2"))])
    t.sets["__set1"] = Set("__set1", 16, "inet_service", flags=frozenset({"anonymous", "constant", "interval"}),
                           elements=[Element(port(1), key_end=port(100)), Element(port(200))])
    t.chains["c"] = Chain("c", 1, rules=[
        R(13, "[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
          "[ payload load 4b @ network header + 12 => reg 1 ]",
          "[ payload load 2b @ transport header + 2 => reg 9 ]", "[ lookup reg 1 set s1 ]",
          "[ immediate reg 0 accept ]"),
        R(15, "[ payload load 4b @ network header + 16 => reg 1 ]", "[ lookup reg 1 set __set0 ]",
          "[ immediate reg 0 drop ]"),
        R(17, "[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
          "[ payload load 2b @ transport header + 2 => reg 1 ]", "[ lookup reg 1 set __set1 ]",
          "[ counter pkts 0 bytes 0 ]"),
        R(18, "[ log prefix hi  level 6 ]"),
        R(19, "[ payload load 1b @ network header + 12 => reg 1 ]", "[ cmp eq reg 1 0x0000000a ]",
          "[ immediate reg 1 0x00000010 ]", "[ meta set mark with reg 1 ]", comment="cmt"),
    ])
    t.chains["b"] = Chain("b", 2, Hook("filter", "prerouting", -300, policy="accept"))
    t.chains["b2"] = Chain("b2", 3, Hook("filter", "prerouting", -310))
    t.chains["b3"] = Chain("b3", 4, Hook("route", "output", 20))
    rs.tables[("ip", "t")] = t
    return rs


def golden(name: str) -> str:
    return (GOLDEN / name).read_text()


@pytest.mark.parametrize("flags", ["", "-a", "-s", "-t", "-n", "-y", "-nn", "-p", "-T", "-u", "-N", "-as"])
def test_list_ruleset_model1(flags):
    assert T.list_ruleset(model1(), ListOptions.from_flags(flags)) == golden(f"g1_out{flags}.txt")


# the element's time left when each listing was taken
EXPIRES = {"": 3599_996, "-a": 3599_988, "-s": 0, "-t": 0, "-n": 3599_000, "-y": 3599_968, "-nn": 3599_000,
           "-p": 3599_952, "-T": 3599_000, "-u": 3599_936, "-N": 3599_932}


@pytest.mark.parametrize("flags", sorted(EXPIRES))
def test_list_ruleset_model2(flags):
    got = T.list_ruleset(model2(EXPIRES[flags]), ListOptions.from_flags(flags))
    assert got == golden(f"g2_out{flags}.txt")


def test_list_commands_model1():
    rs = model1()
    assert T.list_tables(rs) == golden("g1_tables.txt")
    assert T.list_chains(rs) == golden("g1_chains.txt")
    assert T.list_chain(rs, "inet", "filter", "input") == golden("g1_chain.txt")
    assert T.list_table(rs, "inet", "filter") == golden("g1_table.txt")
    assert T.list_table(rs, "inet", "filter", ListOptions(handle=True)) == golden("g1_table-a.txt")
    assert T.list_sets(rs) == golden("g1_sets.txt")
    assert T.list_maps(rs) == golden("g1_maps.txt")
    assert T.list_set(rs, "inet", "filter", "blocked") == golden("g1_set.txt")
    assert T.list_set(rs, "inet", "filter", "portmap") == golden("g1_map.txt")
    assert T.list_objects(rs, "counter") == golden("g1_counters.txt")
    assert T.list_objects(rs, "quota") == golden("g1_quotas.txt")
    assert T.list_objects(rs, "limit") == golden("g1_limits.txt")
    assert T.list_objects(rs, "ct helper", family="inet", table="filter") == golden("g1_helpers.txt")
    assert T.list_object(rs, "counter", "inet", "filter", "cnt1") == golden("g1_counter.txt")
    assert T.list_flowtables(rs) == golden("g1_flowtables.txt")
