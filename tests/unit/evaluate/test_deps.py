"""Implicit dependencies per family and the protocol context (expected bytecode from
nft 1.0.6's suite)."""

from __future__ import annotations

import pytest

from pkttables.compile import compile_rule


def _instrs(rule: str, family: str) -> list[str]:
    return [l.strip() for l in compile_rule(rule, family).splitlines() if l.strip().startswith("[")]


L4_TCP = ["[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]"]
DPORT22 = ["[ payload load 2b @ transport header + 2 => reg 1 ]", "[ cmp eq reg 1 0x00001600 ]"]


@pytest.mark.parametrize("family", ["ip", "ip6", "inet", "bridge", "netdev"])
def test_tcp_gets_l4proto_everywhere(family):
    assert _instrs("tcp dport 22", family) == L4_TCP + DPORT22


@pytest.mark.parametrize("family,dep", [
    ("inet", ["[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x00000002 ]"]),
    ("bridge", ["[ meta load protocol => reg 1 ]", "[ cmp eq reg 1 0x00000008 ]"]),
    ("netdev", ["[ meta load protocol => reg 1 ]", "[ cmp eq reg 1 0x00000008 ]"]),
    ("ip", []),
])
def test_ip_network_dependency(family, dep):
    assert _instrs("ip ttl 1", family) == dep + ["[ payload load 1b @ network header + 8 => reg 1 ]",
                                                  "[ cmp eq reg 1 0x00000001 ]"]


def test_context_removes_dependency():
    # a user match on l4proto / ip protocol satisfies the dependency (no second check)
    assert _instrs("meta l4proto tcp tcp dport 22", "inet") == L4_TCP + DPORT22
    assert _instrs("ip protocol tcp tcp dport 22", "ip") == [
        "[ payload load 1b @ network header + 9 => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]"] + DPORT22


def test_icmp_pins_network_in_inet():
    assert _instrs("icmp type echo-request", "inet") == [
        "[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x00000002 ]",
        "[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000001 ]",
        "[ payload load 1b @ transport header + 0 => reg 1 ]", "[ cmp eq reg 1 0x00000008 ]"]


def test_link_layer_iiftype_except_bridge():
    ether = ["[ payload load 6b @ link header + 6 => reg 1 ]", "[ cmp eq reg 1 0x03020100 0x00000504 ]"]
    assert _instrs("ether saddr 00:01:02:03:04:05", "bridge") == ether
    assert _instrs("ether saddr 00:01:02:03:04:05", "ip") == [
        "[ meta load iiftype => reg 1 ]", "[ cmp eq reg 1 0x00000001 ]"] + ether


def test_meta_protocol_redundant_in_ip_table():
    assert _instrs("meta protocol ip udp dport 67", "ip") == [
        "[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000011 ]",
        "[ payload load 2b @ transport header + 2 => reg 1 ]", "[ cmp eq reg 1 0x00004300 ]"]
