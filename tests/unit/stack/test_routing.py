"""Routing decisions, longest-prefix match, source selection, fib/addrtype helpers."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings, strategies as st

from pkttables.stack.host import Host, Route
from pkttables.stack.routing import RouteKind, RouteTable, RTN

HOST = """
[[interface]]
name = "lan0"
mac = "02:00:00:00:00:01"
addresses = ["192.168.1.1/24", "192.168.1.7/24", "10.1.0.1/16", "fd00:1::1/64"]

[[interface]]
name = "wan0"
mac = "02:00:00:00:01:01"
addresses = ["203.0.113.2/24", "2001:db8:1::2/64"]

[[route]]
to = "0.0.0.0/0"
via = "203.0.113.1"
dev = "wan0"

[[route]]
to = "10.1.5.0/24"
via = "192.168.1.254"

[[route]]
to = "10.1.5.128/25"
via = "203.0.113.9"

[[route]]
to = "10.1.5.128/25"
via = "192.168.1.253"
metric = 10

[[route]]
to = "10.66.0.0/16"
type = "blackhole"

[[route]]
to = "10.67.0.0/16"
type = "unreachable"

[[route]]
to = "10.68.0.0/16"
type = "prohibit"

[[route]]
to = "::/0"
via = "2001:db8:1::1"

[[neighbor]]
address = "203.0.113.1"
mac = "02:00:00:00:01:fe"
dev = "wan0"
"""


@pytest.fixture(scope="module")
def h():
    return Host.from_toml(HOST)


def test_local_and_broadcast(h):
    d = h.route_input("192.168.1.1", "192.168.1.10", "lan0")
    assert d.kind is RouteKind.LOCAL and d.rtn is RTN.LOCAL and d.delivers
    assert h.route_input("203.0.113.2", "192.168.1.10", "lan0").kind is RouteKind.LOCAL   # weak host model
    assert h.route_input("192.168.1.255", "192.168.1.10", "lan0").kind is RouteKind.BROADCAST
    assert h.route_input("255.255.255.255", "192.168.1.10", "lan0").kind is RouteKind.BROADCAST
    assert h.route_input("10.1.255.255", "192.168.1.10", "lan0").kind is RouteKind.BROADCAST
    assert h.route_input("224.0.0.1", "192.168.1.10", "lan0").kind is RouteKind.MULTICAST
    assert h.route_input("ff02::1", "fe80::1", "lan0").kind is RouteKind.MULTICAST


def test_forward_via_gateway_and_on_link(h):
    d = h.route_input("8.8.8.8", "192.168.1.10", "lan0")
    assert (d.kind, d.oif, str(d.gateway), str(d.route.to)) == (RouteKind.FORWARD, "wan0", "203.0.113.1", "0.0.0.0/0")
    d = h.route_input("203.0.113.77", "192.168.1.10", "lan0")
    assert (d.kind, d.oif, str(d.gateway)) == (RouteKind.FORWARD, "wan0", "203.0.113.77")
    d = h.route_input("2001:db8:1::9", "fd00:1::9", "lan0")
    assert (d.kind, d.oif, str(d.gateway)) == (RouteKind.FORWARD, "wan0", "2001:db8:1::9")


def test_lpm_then_metric(h):
    assert str(h.route_input("10.1.5.3", "192.168.1.10", "lan0").gateway) == "192.168.1.254"    # /24
    assert str(h.route_input("10.1.5.200", "192.168.1.10", "lan0").gateway) == "203.0.113.9"    # /25 metric 0
    assert str(h.route_input("10.1.9.9", "192.168.1.10", "wan0").gateway) == "10.1.9.9"        # connected /16
    assert str(h.route_input("10.2.0.1", "192.168.1.10", "lan0").gateway) == "203.0.113.1"     # default


def test_reject_routes(h):
    d = h.route_input("10.66.0.1", "192.168.1.10", "lan0")
    assert d.kind is RouteKind.BLACKHOLE and d.icmp is None and not d.delivers
    assert h.route_input("10.67.0.1", "192.168.1.10", "lan0").icmp == (3, 1)
    d = h.route_input("10.68.0.1", "192.168.1.10", "lan0")
    assert d.kind is RouteKind.PROHIBIT and d.icmp == (3, 13)
    assert h.route_output("10.66.0.1").kind is RouteKind.BLACKHOLE


def test_unreachable_and_forwarding_disabled():
    h = Host.from_toml('[[interface]]\nname = "a"\naddresses = ["192.0.2.1/24", "2001:db8::1/64"]\n'
                       '[[interface]]\nname = "b"\naddresses = ["198.51.100.1/24", "2001:db8:1::1/64"]\n')
    d = h.route_input("8.8.8.8", "192.0.2.9", "a")
    assert d.kind is RouteKind.UNREACHABLE and d.icmp == (3, 0)        # ICMP net unreachable
    assert h.route_input("2001:db8:9::1", "2001:db8::9", "a").icmp == (1, 0)
    assert h.route_input("198.51.100.9", "192.0.2.9", "a").kind is RouteKind.FORWARD
    off = Host.from_toml('[sysctl]\n"net.ipv4.ip_forward" = 0\n"net.ipv6.conf.all.forwarding" = 0\n'
                         '[[interface]]\nname = "a"\naddresses = ["192.0.2.1/24", "2001:db8::1/64"]\n'
                         '[[interface]]\nname = "b"\naddresses = ["198.51.100.1/24", "2001:db8:1::1/64"]\n')
    d = off.route_input("198.51.100.9", "192.0.2.9", "a")
    assert d.kind is RouteKind.UNREACHABLE and d.icmp is None            # ip_error(): silent drop
    assert off.route_input("8.8.8.8", "192.0.2.9", "a").icmp is None
    d6 = off.route_input("2001:db8:1::9", "2001:db8::9", "a")
    assert d6.kind is RouteKind.UNREACHABLE and d6.icmp is None          # ip6_forward(): silent drop
    assert off.route_input("2001:db8:9::9", "2001:db8::9", "a").icmp == (1, 0)   # still ICMPv6 no route
    assert off.route_input("198.51.100.1", "192.0.2.9", "a").kind is RouteKind.LOCAL
    # Output does not depend on forwarding.
    assert off.route_output("198.51.100.9").kind is RouteKind.OUTPUT


@pytest.mark.parametrize("d,s,why", [
    ("127.0.0.1", "192.168.1.10", "loopback"), ("192.168.1.1", "127.0.0.1", "loopback"),
    ("192.168.1.1", "224.0.0.5", "multicast"), ("192.168.1.1", "192.168.1.7", "own addresses"),
    ("0.0.0.0", "192.168.1.10", "0.0.0.0"), ("::1", "fd00:1::9", "loopback"), ("fd00:1::1", "ff02::1", "multicast"),
    ("ff01::1", "fd00:1::9", "interface-local"),
])
def test_martians(h, d, s, why):
    dec = h.route_input(d, s, "lan0")
    assert dec.kind is RouteKind.MARTIAN and why in dec.reason and not dec.delivers


def test_rp_filter():
    text = ('[sysctl]\n"net.ipv4.conf.all.rp_filter" = %d\n[[interface]]\nname = "a"\naddresses = ["192.0.2.1/24"]\n'
            '[[interface]]\nname = "b"\naddresses = ["198.51.100.1/24"]\n')
    strict, loose = Host.from_toml(text % 1), Host.from_toml(text % 2)
    assert strict.route_input("192.0.2.1", "198.51.100.9", "a").kind is RouteKind.MARTIAN
    assert loose.route_input("192.0.2.1", "198.51.100.9", "a").kind is RouteKind.LOCAL
    assert loose.route_input("192.0.2.1", "8.8.8.8", "a").kind is RouteKind.MARTIAN     # no route back
    assert strict.route_input("192.0.2.1", "192.0.2.9", "a").kind is RouteKind.LOCAL


def test_source_selection_v4(h):
    assert str(h.route_output("8.8.8.8").saddr) == "203.0.113.2"
    assert str(h.route_output("192.168.1.99").saddr) == "192.168.1.1"       # primary, not the secondary .7
    assert str(h.route_output("10.1.77.1").saddr) == "10.1.0.1"
    assert str(h.route_output("10.1.5.3").saddr) == "192.168.1.1"           # via a gateway on lan0
    d = h.route_output("192.168.1.7")
    assert d.kind is RouteKind.LOCAL and d.oif == "lo" and str(d.saddr) == "192.168.1.1"   # local route's src
    assert str(h.route_output("127.0.0.9").saddr) == "127.0.0.1"
    assert str(h.route_output("8.8.8.8", saddr="192.168.1.7").saddr) == "192.168.1.7"
    assert h.route_output("8.8.8.8", saddr="10.9.9.9").kind is RouteKind.UNREACHABLE
    d = h.route_output("8.8.8.8", oif="lan0")          # no route through lan0: assumed on link
    assert (d.kind, d.oif, str(d.gateway), str(d.saddr)) == (RouteKind.OUTPUT, "lan0", "8.8.8.8", "192.168.1.1")
    assert h.select_source("8.8.8.8") == ipaddress.ip_address("203.0.113.2")


def test_source_selection_v6():
    h = Host.from_toml('[[interface]]\nname = "a"\nmac = "02:00:00:00:00:01"\n'
                       'addresses = ["fd00:1::1/64", "2001:db8:1::1/64", "2001:db8:2::1/64"]\n'
                       '[[interface]]\nname = "b"\naddresses = ["2001:db8:9::1/64"]\n'
                       '[[route]]\nto = "::/0"\nvia = "fd00:1::fe"\n')
    assert str(h.select_source("2001:db8:1::1")) == "2001:db8:1::1"             # rule 1: same address
    assert str(h.select_source("fe80::9", "a")) == "fe80::ff:fe00:1"             # rule 2: link scope
    assert str(h.select_source("2001:db8:2::77")) == "2001:db8:2::1"             # rule 8: longest prefix
    assert str(h.select_source("fd00:1::77")) == "fd00:1::1"
    # rule 5 (outgoing interface) beats rule 8: via a, so an address of a, not b's 2001:db8:9::1
    assert str(h.select_source("2001:db8:9:1::5")).startswith("2001:db8:")
    assert str(h.select_source("2001:db8:9:1::5")) != "2001:db8:9::1"
    # rule 6 (label): a ULA destination prefers the ULA source among equals
    assert str(h.select_source("fd99::1")) == "fd00:1::1"


def test_addr_type_and_helpers(h):
    assert h.addr_type("192.168.1.1") == "local"
    assert h.addr_type("192.168.1.1", "wan0") == "unicast"        # local on lan0 only
    assert h.addr_type("192.168.1.255") == "broadcast"
    assert h.addr_type("255.255.255.255") == "broadcast"
    assert h.addr_type("224.0.0.1") == "multicast"
    assert h.addr_type("8.8.8.8") == "unicast"
    assert h.addr_type("127.0.0.5") == "local"
    assert h.addr_type("fd00:1::1") == "local"
    assert h.addr_type("fd00:1::1", "wan0") == "unicast"
    assert h.addr_type("ff02::1") == "multicast"
    assert h.addr_type("fd00:1::") == "anycast"
    assert h.is_local("10.1.0.1") and h.is_local("::1") and not h.is_local("10.1.0.2")
    assert h.neighbor("203.0.113.1", "wan0") == bytes.fromhex("0200000001fe")
    assert h.neighbor("203.0.113.1", "lan0") is None
    assert [str(a) for a in h.addresses("wan0", 4)] == ["203.0.113.2/24"]


def test_fib_lookup(h):
    # fib saddr . iif oif: reverse path check.
    assert h.fib_lookup("192.168.1.10", "8.8.8.8", flags=("saddr", "iif"), result="oif", iif="lan0") == 2
    assert h.fib_lookup("192.168.1.10", "8.8.8.8", flags=("saddr", "iif"), result="oif", iif="wan0") == 0
    assert h.fib_lookup("8.8.8.8", "1.1.1.1", flags=("saddr", "iif"), result="oifname", iif="wan0") == "wan0"
    # fib daddr oif
    assert h.fib_lookup("192.168.1.10", "8.8.8.8", flags=("daddr",), result="oifname") == "wan0"
    assert h.fib_lookup("192.168.1.10", "192.168.1.1", flags=("daddr",), result="oif") == 0   # RTN_LOCAL -> none
    assert h.fib_lookup("192.168.1.10", "10.66.0.1", flags=("daddr",), result="oif") == 0     # blackhole
    assert h.fib_lookup("192.168.1.10", "192.168.1.1", flags=("daddr",), result="type") == "local"
    assert h.fib_lookup("192.168.1.10", "192.168.1.1", flags=("daddr", "iif"), result="type", iif="wan0") == "unicast"
    assert h.fib_lookup("fd00:1::9", "2001:db8:5::1", flags=("saddr", "iif"), result="oif", iif="lan0") == 2
    assert h.fib_lookup("fd00:1::9", "2001:db8:5::1", flags=("saddr", "iif"), result="oif", iif="wan0") == 0
    assert h.fib_lookup("127.0.0.1", "127.0.0.1", flags=("saddr", "iif"), result="oif", iif="lo") == 1


# -- LPM against a naive scan -------------------------------------------------------------

def _naive(routes: list[Route], addr: int) -> Route | None:
    best = None
    for r in routes:
        if addr >> (32 - r.to.prefixlen) == int(r.to.network_address) >> (32 - r.to.prefixlen):
            if (best is None or r.to.prefixlen > best.to.prefixlen
                    or (r.to.prefixlen == best.to.prefixlen and r.metric < best.metric)):
                best = r
    return best


@st.composite
def route_tables(draw):
    n = draw(st.integers(1, 25))
    routes, seen = [], set()
    for i in range(n):
        plen = draw(st.integers(0, 32))
        # Cluster the prefixes so they overlap often.
        base = draw(st.sampled_from([0x0A000000, 0x0A010000, 0xC0A80100, 0x0A0105C0, 0]))
        addr = (base | draw(st.integers(0, 0xFFFF))) & ((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF)
        metric = draw(st.integers(0, 3))
        key = (addr, plen, metric)
        if key in seen:
            continue
        seen.add(key)
        routes.append(Route(ipaddress.IPv4Network((addr, plen)), f"d{i}", metric=metric))
    return routes


@settings(max_examples=300, deadline=None)
@given(route_tables(), st.lists(st.integers(0, 0xFFFFFFFF) | st.sampled_from(
    [0x0A000001, 0x0A0105C1, 0xC0A80101, 0x0A010505, 0x0A0105FF]), min_size=1, max_size=20))
def test_lpm_matches_naive_scan(routes, addrs):
    t = RouteTable(32)
    for r in routes:
        t.add(r)
    for a in addrs:
        got, want = t.lookup(a), _naive(routes, a)
        assert (got.to, got.metric) == (want.to, want.metric) if want else got is None
        # with an oif constraint the answer is the naive scan over that device's routes
        dev = routes[a % len(routes)].dev
        got = t.lookup(a, dev)
        want = _naive([r for r in routes if r.dev == dev], a)
        assert got is want


@settings(max_examples=100, deadline=None)
@given(route_tables(), st.integers(0, 0xFFFFFFFF))
def test_host_route_input_uses_the_longest_prefix(routes, addr):
    # The same tables through a whole Host: forward decisions follow the naive scan.
    lines = ['[[interface]]\nname = "e"\naddresses = ["100.64.0.1/24"]\n']
    kept = []
    for r in routes:
        if any(k.to == r.to and k.metric == r.metric for k in kept) or r.to == ipaddress.ip_network("100.64.0.0/24"):
            continue
        kept.append(r)
        lines.append(f'[[route]]\nto = "{r.to}"\nvia = "100.64.0.{2 + len(kept)}"\nmetric = {r.metric}\n')
    h = Host.from_toml("".join(lines))
    d = ipaddress.IPv4Address(addr)
    if d.is_multicast or d.is_loopback or addr in (0, 0xFFFFFFFF) or h.addr_type(d) != "unicast":
        return
    dec = h.route_input(d, "100.64.0.99", "e")
    conn = Route(ipaddress.ip_network("100.64.0.0/24"), "e", None)
    want = _naive(kept + [conn], addr)
    if want is None:
        assert dec.kind is RouteKind.UNREACHABLE
    else:
        assert dec.kind is RouteKind.FORWARD and dec.route.to == want.to and dec.route.metric == want.metric
