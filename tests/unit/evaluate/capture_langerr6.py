"""Capture nft 1.0.6's answers for golden_langerr6.json (round 9 of the language work:
protocol conflicts across arp/vlan/icmp, raw payload bases, socket/flow expecting lists,
prefix masks, nat address families).

Run as root with nft:  python tests/unit/evaluate/capture_langerr6.py
Every case is one command checked with ``nft --debug=netlink -c`` in a namespace
``pktl6<pid>`` (always deleted) holding SETUP; rc, stdout (bytecode) and stderr are
recorded.  Add a case here, re-run, and test_evaluate_langerr6.py pins it.
"""

from __future__ import annotations

from pathlib import Path

from pkttables.testing.nftgolden import NAT_SETUP, capture, tables_setup

HERE = Path(__file__).parent
SETUP = tables_setup(
    *NAT_SETUP,
    "add set ip t s6 { type ipv6_addr; }",
    "add chain inet t p { type nat hook postrouting priority srcnat; }",
)

CASES = [
    # prefix masks are not addresses after `/`: bison wants a comma of a list
    "add rule ip t c ip saddr 10.0.0.0/255.255.255.0",
    "add rule inet t c ip saddr 10.0.0.0/255.255.255.0 continue",
    # socket keys, flow statement words, a raw payload base that is a string
    "add rule ip t c socket uid 0",
    "add rule ip t c socket foo",
    "add rule ip t c flow bogus @ft",
    "add rule ip t c flow add @ft @ft",
    "add rule ip t c @ft",
    "add rule ip t c @foo,1,2 1",
    "add rule ip t c @nh,1,2 1",
    # nat address families, ipsec values before the family, rt nexthop addresses
    "add rule inet t p snat ip daddr 1.2.3.4 ip6 to dead::beef",
    "add rule netdev t c snat ip daddr 1.2.3.4 ip6 to dead::beef",
    "add rule arp t c ipsec in spnum 256 reqid 1",
    "add rule arp t c ipsec in spnum 1 reqid 1",
    "add rule ip6 t c rt ip nexthop 10.0.0.1",
    "add rule ip t c rt ip6 nexthop ::1",
    "add rule netdev t c meta priority ip dscp map { cs0 : 1:1, cs1 : 1:2 } udplite checksum 1 drop",
    "add rule netdev t c meta priority ip dscp map { cs0 : 1:1, cs1 : 1:2 }",
    "add rule ip6 t c rt2 addr fe80::2",
    "add rule inet t c rt2 addr fe80::2",
    # protocol conflicts: which two protocols nft names
    "add rule inet t c vlan type arp tcp ackseq { 1 } counter",
    "add rule netdev t c arp htype { 1, 0x0001 } tcp dport 80 counter",
    "add rule inet t c ip length != { 1500 } meta protocol vlan vlan id 1-100 counter accept",
    "add rule inet t c mh checksum 0x1234 icmp code frag-needed",
    "add rule inet t c ether type { ip, ip6, arp } ip saddr & 255.255.255.0 == 1.2.3.0 drop",
    "add rule ip t c ip protocol 47 comp flags != 0x1 notrack",
    "add rule netdev t c udp length 8 ip protocol 47 dccp type ack accept",
    "add rule inet t c meta ibrname != \"br0\" arp operation != request icmp code != { net-unreachable }",
    "add rule inet t c vlan type ip hbh nexthdr { udp, tcp } counter",
    "add rule netdev t c tcp option sack3 left 3 arp htype != 1 icmp code port-unreachable",
    "add rule ip6 t c meta ibrvproto != vlan ip option ra value 0 notrack",
    "add rule inet t c ether type arp icmpv6 type 133 ip ttl != { 64 } accept",
    "add rule inet t c meta ibriport != \"eth0\" arp ptype ip reject",
    "add rule bridge t c arp daddr ether != { 00:11:22:33:44:66 } icmp checksum 12343 accept",
    "add rule bridge t c ip6 saddr 2001:db8::/32 icmp sequence != 22 icmpv6 id 33 reject",
    "add rule inet t c hbh hdrlength 1-5 icmp gateway { 10.0.0.1 } accept",
    "add rule netdev t c frag reserved 22 icmpv6 sequence 2 igmp type membership-query drop",
    "add rule bridge t c ip option ssrr exists frag reserved 22 accept",
    "add rule bridge t c arp daddr ether 00:11:22:33:44:66 icmp gateway 10.0.0.1 reject",
    "add rule inet t c meta nfproto ipv4 icmpv6 type echo-request",
    "add rule inet t c meta nfproto ipv6 icmp type echo-request",
    "add rule inet t i meta nfproto ipv4 icmpv6 type echo-request",
    "add rule inet t i meta nfproto ipv6 icmp type echo-request",
    "add rule inet t i ip protocol ipv6-icmp meta l4proto ipv6-icmp icmpv6 type 1",
    "add rule inet t i mh checksum 0x1234 icmp code frag-needed meta iif { \"lo\", lo, 1 } reject",
    "add rule inet t c mh checksum 0x1234 icmp code frag-needed reject",
    "add rule ip t c ip protocol 47 comp flags != 0x1",
    "add rule inet t c ip protocol ipv6-icmp meta l4proto ipv6-icmp icmpv6 type 1",
    "add rule bridge t c ip protocol ipv6-icmp meta l4proto ipv6-icmp icmpv6 type 1",
    "add rule arp t c meta l4proto ipv6-icmp icmpv6 type nd-router-advert",
    "add rule arp t c meta protocol ip6 udp dport 67",
    "add rule ip6 t c ether type 8021ad vlan id 1 ip protocol 6 accept",
    "add rule ip6 t c ether type 8021ad vlan id 1 vlan type 8021q vlan id 2 vlan type ip counter",
    "add rule arp t c ether type 8021ad vlan id 1 vlan type 8021q vlan id 2 vlan type ip ip protocol 6",
    "add rule netdev t c ether type 8021ad vlan id 1 vlan type 8021q vlan id 2 vlan type ip counter",
    "add rule arp t c ct saddr 1.2.3.4",
    "add rule arp t c ct daddr ::1",
    "add rule inet t c ct original saddr 1.2.3.0/24",
    "add rule ip t c ip daddr @s6",
]


if __name__ == "__main__":
    capture(CASES, SETUP, HERE / "golden_langerr6.json", "pktl6")
