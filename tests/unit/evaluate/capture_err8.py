"""Capture nft 1.0.6's answers for ERR8 (issue 3, the last language differences).

Two goldens, both re-made by running this file as root (namespace ``pktER<pid>``,
always deleted):

* ``golden_err8.json``: ``nft --debug=netlink -c add rule CASE`` for every case (the
  bytecode of accepted rules, the error text of refused ones) -- compared by
  test_evaluate_err8.py through :class:`pkttables.testing.nftgolden.CommandGolden`;
* ``golden_err8_listing.json``: for each accepted case, the rule's line in ``nft list
  chain`` and its ``-j`` expression list, with the rule really added (one fresh chain
  per case) -- compared by tests/unit/render/test_render_err8.py.
"""

from __future__ import annotations

from pathlib import Path

from pkttables.testing.nftgolden import capture, capture_listing, tables_setup

HERE = Path(__file__).parent

SETUP = tables_setup(
    "add set ip t s6 { type ipv6_addr; }", "add set ip6 t s6 { type ipv6_addr; }",
    "add set inet t s6 { type ipv6_addr; }", "add set bridge t s6 { type ipv6_addr; }",
    "add set netdev t s6 { type ipv6_addr; }",
)

# payload merging (nft rule_postprocess/stmt_reduce) and the `ether type` dependency
MERGE = [
    "bridge t c vlan id 2 ether saddr 0:1:2:3:4:6",
    "netdev t c vlan id 2 ether saddr 0:1:2:3:4:6",
    "ip t c vlan id 2 ether saddr 0:1:2:3:4:6",
    "bridge t c tcp sport != 22 tcp dport != 23",
    "ip t c tcp sport != 22 tcp dport 23",
    "bridge t c ether saddr 0:1:2:3:4:6 counter ether type ip",
    "bridge t c ip checksum 1 ip saddr 1.2.3.4",
    "bridge t c ether saddr 0:1:2:3:4:6 counter ip saddr 1.2.3.4",
    "bridge t c meta mark 1 ether daddr 0:1:2:3:4:5 meta mark 2 ether saddr 0:1:2:3:4:6",
    "ip t c tcp sport 1 counter tcp dport 2",
    "ip t c tcp sport 1 counter accept",
    "ip t c udp sport 1 counter udp dport 2 counter ip saddr 1.2.3.4 ip daddr 1.2.3.5",
    "ip t c ip saddr 1.2.3.4 counter ip daddr 1.2.3.5 tcp dport 2 counter tcp sport 3",
    "ip t c ip saddr 10.0.0.1 ip daddr 10.1.1.0/24",
    "ip t c ip saddr 10.0.0.0/24 ip daddr 10.1.1.1",
    "ip t c ip daddr 10.1.1.0/24 ip saddr 10.0.0.1",
    "ip t c ip ttl 1 ip protocol 6 ip checksum 3",
    "ip t c ip saddr 1.2.3.4 ip daddr 1.2.3.5",
    "ip6 t c ip6 saddr ::1 ip6 daddr ::2",
    "ip t c meta protocol ip counter",
    "ip t c meta protocol ip",
    "ip t c meta protocol ip meta mark 1",
    "ip6 t c meta protocol ip6 reject",
    "ip t c meta protocol ip6 counter",
    "inet t c ether saddr 0:1:2:3:4:6 icmp type 1",
    "inet t c ether saddr 0:1:2:3:4:6 ip6 daddr ::1",
    "inet t c meta iiftype ether ip saddr 1.2.3.4",
    "inet t c ether saddr 0:1:2:3:4:6 meta nfproto ipv4 ip saddr 1.2.3.4",
    "inet t c tcp dport 22 iiftype ether ip daddr 1.2.3.4 ether saddr 00:0f:54:0c:11:4 accept",
    "netdev t c ether saddr 0:1:2:3:4:6 arp htype 1",
    "netdev t c ether saddr 0:1:2:3:4:6 ip saddr 1.2.3.4 counter",
    "netdev t c ether saddr 0:1:2:3:4:6 icmpv6 type 1",
    "netdev t c ether saddr 0:1:2:3:4:6 vlan id 1",
    "netdev t c ether saddr != 0:1:2:3:4:6 th sport != 22 ip checksum != 0x1234 accept",
    "bridge t c ether daddr 0:1:2:3:4:5 ether saddr 0:1:2:3:4:6 ether type ip",
    "arp t c arp htype 1 arp ptype ip arp hlen 6",
]

# parser/evaluator texts and listings fixed in the same round
OTHERS = [
    "ip t c ip daddr @s6",
    "inet t c ip daddr @s6",
    "bridge t c ip daddr @s6",
    "ip t c ipsec out spnum 0x100000000",
    "ip t c ipsec out spnum 256",
    "ip t c ipsec out spnum 256 ip",
    "ip t c ipsec out spnum 256 bogus",
    "ip t c ipsec out spnum 256 spi 1",
    "ip t c ipsec out spnum 0x100000000 spi 1",
    "ip t c ipsec out saddr 1.2.3.4",
    "ip t c ipsec out ip spi 1",
    "ip t c ipsec out ip6 reqid 1",
    "ip6 t c exthdr hbh != exists",
    "ip6 t c exthdr hbh != missing",
    "inet t c exthdr rt != missing",
    "ip6 t c exthdr hbh missing",
    "ip t c ct mark set ct mark and 0xffff0000 or 0x1",
    "ip t c ct mark set ct mark or 0x1",
    "ip t c meta mark set meta mark and 0xff00 or 0x3",
    "ip t c ct mark set ct mark and 0xffff0000",
    "netdev t c fwd ip to 192.168.2.200 device \"lo\"",
    "netdev t c fwd ip6 to fe80::1 device \"lo\"",
]

# the round trip's unstable listings (test_roundtrip_listing.py): nft lists these rules
# and refuses its own listing too (checked), so they stay unstable on both sides
ROUNDTRIP = [
    "ip6 t c ether saddr 00:01:02:03:04:06 vlan id 2",
    "ip t c ether saddr 00:01:02:03:04:06 vlan id 2",
    "ip6 t c vlan id 2 ether saddr 00:01:02:03:04:06",
    "arp t c tcp dport { 22, 23, 80 }",
    "arp t c icmpv6 type nd-router-advert",
]

CASES = MERGE + OTHERS + ROUNDTRIP
EXTRA: list[str] = []


if __name__ == "__main__":
    capture(CASES + EXTRA, SETUP, HERE / "golden_err8.json", "pktER", command="add rule ",
            sort_keys=False, ensure_ascii=False)
    capture_listing(CASES + EXTRA, SETUP, HERE.parent / "render" / "golden_err8_listing.json", "pktER")
    print("captured", len(CASES + EXTRA))
