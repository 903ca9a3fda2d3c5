"""Capture nft 1.0.6's answers for golden_langerr4.json (round 7 of the language work:
accept/reject leftovers, bison's token names and ``expecting`` lists).

Run as root with nft:  python tests/unit/evaluate/capture_langerr4.py
Every case is one command checked with ``nft --debug=netlink -c`` in a namespace
``pktlh<pid>`` (always deleted) holding SETUP; rc, stdout (bytecode) and stderr are
recorded.  Add a case here, re-run, and test_evaluate_langerr4.py pins it.
"""

from __future__ import annotations

from pathlib import Path

from pkttables.testing.nftgolden import NAT_SETUP, capture, tables_setup

HERE = Path(__file__).parent
SETUP = tables_setup(*NAT_SETUP)

CASES = [
    # log: snaplen and queue-threshold go to the kernel only with a group
    "add rule ip t c log snaplen 10",
    "add rule ip t c log queue-threshold 2 prefix \"x\"",
    "add rule ip t c log group 2 snaplen 10",
    "add rule ip t c log snaplen 10 level info",
    # redirect to PORT: the colon is optional (masquerade needs it)
    "add rule ip t n tcp dport 22 redirect to 2222",
    "add rule ip t n tcp dport 22 redirect to 2222-2223 random",
    "add rule ip t n tcp dport 22 redirect to ftp",
    "add rule ip t n tcp dport 22 redirect to 1.2.3.4",
    "add rule ip t n tcp dport 22 redirect to 1.2.3.4:22",
    "add rule ip t n tcp dport 22 redirect to",
    "add rule ip t n redirect to 2222",
    "add rule ip t n tcp dport 22 masquerade to 2222",
    # osf: `ttl loose|skip` is checked in the grammar action, then `name|version`
    "add rule ip t c osf ttl global",
    "add rule ip t c osf ttl global name \"Linux\"",
    "add rule ip t c osf ttl \"loose\" name \"Linux\"",
    "add rule ip t c osf ttl loose name \"Linux\"",
    "add rule ip t c osf ttl skip version \"Linux:3.0\"",
    "add rule ip t c osf ttl name",
    "add rule ip t c osf ttl",
    "add rule ip t c osf ttl loose ttl",
    "add rule ip t c osf foo",
    "add rule ip t c osf counter",
    "add rule ip t c osf",
    # reject: nft's order (default/reset check, family check, dependency), its places
    "add rule ip6 t c ether type arp reject",
    "add rule ip6 t c ether type arp reject with icmpv6 type admin-prohibited",
    "add rule ip6 t c ether type arp reject with tcp reset",
    "add rule ip6 t c ether type arp reject with icmpx admin-prohibited",
    "add rule ip t c meta protocol arp reject",
    "add rule ip t c ether type ip6 reject with icmp type host-unreachable",
    "add rule ip t c ether type ip6 reject with icmpv6 port-unreachable",
    "add rule ip t c reject with icmpv6 no-route",
    "add rule ip6 t c reject with icmp 3",
    "add rule inet t c ether type arp reject",
    "add rule inet t c ether type arp reject with tcp reset",
    "add rule inet t c ether type arp reject with icmp type host-unreachable",
    "add rule inet t c meta protocol arp reject",
    "add rule inet t c meta protocol ip ip protocol icmp",
    "add rule inet t c meta protocol ip ip protocol icmp reject with icmpv6 no-route",
    "add rule inet t c meta nfproto ipv6 reject with icmp host-unreachable",
    "add rule inet t c ip6 saddr ::1 reject with icmp host-unreachable",
    "add rule inet t c meta l4proto udp reject with tcp reset",
    "add rule bridge t c ether type arp reject",
    "add rule bridge t c ether type arp reject with icmpx admin-prohibited",
    "add rule bridge t c ether type ip reject with icmpv6 no-route",
    "add rule bridge t c ip6 saddr ::1 reject with icmp host-unreachable",
    "add rule bridge t c udp dport 1 reject with tcp reset",
    "add rule netdev t c meta protocol ip6 reject with icmp host-unreachable",
    "add rule netdev t c ether type arp reject with tcp reset",
    "add rule arp t c meta l4proto tcp reject with tcp reset",
    "add rule arp t c reject with tcp reset",
    "add rule arp t c reject",
    # a match's right-hand side: keywords outside nft's primary_rhs_expr are bison's
    # bare "unexpected X" (also after an operator, in ranges, concatenations, lists,
    # parentheses; set elements: the first alone, after a comma "expecting comma or '}'")
    "add rule ip t c ct mark meta mark",
    "add rule ip t c ct zone meta mark map { 1 : 1, 2 : 2 }",
    "add rule ip t c meta mark ct mark",
    "add rule ip t c meta mark jhash ip saddr mod 4",
    "add rule ip t c ct mark numgen random mod 5",
    "add rule ip t c meta mark symhash mod 2",
    "add rule ip t c ct mark == meta mark",
    "add rule ip t c ct mark != counter",
    "add rule ip t c ct mark < meta",
    "add rule ip t c ct mark 1, meta",
    "add rule ip t c ct mark 1-meta",
    "add rule ip t c ct mark 1 . meta",
    "add rule ip t c ct mark 1 | meta",
    "add rule ip t c ct mark (meta mark)",
    "add rule ip t c ct mark accept",
    "add rule ip t c ct mark { meta }",
    "add rule ip t c ct mark { 1, meta }",
    "add rule ip t c ct mark { accept }",
    "add rule ip t c ct mark vmap { 1 : accept, meta : drop }",
    "add rule ip t c ct mark set counter",
    "add rule ip t c meta l4proto tcp",
    "add rule ip t c meta protocol ip6",
    "add rule ip t c ct status dnat",
    "add rule ip t c ether type vlan",
    "add rule ip6 t c exthdr hbh exists",
    # nat/tproxy address family against the network protocol known (nft
    # stmt_evaluate_l3proto): under the keyword (nat) or the statement (tproxy)
    "add rule ip6 t n dnat ip to 10.0.0.1",
    "add rule ip t n dnat ip6 to [fe80::1]:80",
    "add rule inet t n meta nfproto ipv6 dnat ip to 10.0.0.1",
    "add rule inet t n ip6 saddr ::1 dnat ip to 10.0.0.1",
    "add rule ip t n meta l4proto 6 tproxy ip6 to :50080",
    "add rule inet t n ip protocol 0 tproxy to :50080",
    "add rule inet t n ip protocol 6 tproxy to :50080",
    "add rule inet t n ip6 nexthdr 6 tproxy ip to 192.0.2.1",
    "add rule inet t n meta l4proto 6 tproxy ip6 to :50080",
    "add rule ip t n ip protocol 47 tproxy to :50080",
    "add rule ip6 t n meta l4proto 16 tproxy to [2001:db8::1]:50080",
    "add rule ip t n meta l4proto 6 tproxy",
    "add rule ip t n meta l4proto 6 tproxy ip",
    "add rule netdev t c meta l4proto 0 icmpv6 type nd-router-advert",
    # ipsec without a key
    "add rule ip t c ipsec in",
    "add rule ip t c ipsec in reqid 1",
]


if __name__ == "__main__":
    capture(CASES, SETUP, HERE / "golden_langerr4.json", "pktlh")
