"""Capture nft 1.0.6's answers for ERR9 (issue 3, the last bytecode, listing and error
differences).

Two goldens, both re-made by running this file as root (namespace ``pktE9<pid>``,
always deleted), the same way as capture_err8.py:

* ``golden_err9.json``: ``nft --debug=netlink -c add rule CASE`` for every case (the
  bytecode of accepted rules, the error text of refused ones) -- compared by
  test_evaluate_err9.py through :class:`pkttables.testing.nftgolden.CommandGolden`;
* ``golden_err9_listing.json``: for each accepted case, the rule's line in ``nft list
  chain`` and its ``-j`` expression list, with the rule really added (one fresh chain
  per case) -- compared by tests/unit/render/test_render_err9.py.
"""

from __future__ import annotations

from pathlib import Path

from pkttables.testing.nftgolden import capture, capture_listing, tables_setup

HERE = Path(__file__).parent

SETUP = tables_setup(
    "add set ip t s6 { type ipv6_addr; }", "add set inet t s6 { type ipv6_addr; }",
    "add chain ip t p { type nat hook postrouting priority srcnat; }",
    "add chain inet t p { type nat hook postrouting priority srcnat; }",
)

# bytecode: checksum of payload writes (nft proto_desc checksum key/type), and the plain
# `bitmask` type of `comp flags` (compared as an integer, no implicit `& v != 0`)
BYTECODE = [
    "ip t c udplite sport set 80",
    "ip6 t c udplite dport set 80",
    "inet t c udplite checksum set 0",
    "ip t c udplite csumcov set 2",
    "ip t c sctp sport set 23",
    "bridge t c sctp dport set 23",
    "ip t c sctp vtag set 23",
    "ip t c dccp sport set 23",
    "ip t c udp sport set 23",
    "ip t c comp flags 0x1",
    "ip t c comp flags 0x23",
    "ip t c comp flags 0x0",
    "ip t c comp flags ! 0x1",
    "inet t c comp flags 0x1 counter",
    "ip t c tcp flags syn",
    "ip t c tcp flags ! syn",
]

# listings: jhash seed given (0 too), `ct expiration 0s`, a family-less ct address
# compared with a prefix, raw network payloads over sub-byte ip fields
LISTING = [
    "ip t c ct mark set jhash ip saddr mod 2 seed 0x0",
    "ip t c ct mark set jhash ip saddr mod 2",
    "ip t c ct mark set jhash ip saddr . ip daddr mod 2 seed 0x1 offset 3",
    "ip t c ct expiration 0s",
    "ip t c ct expiration 0s counter",
    "ip t c ct expiration != 0s",
    "ip t c ct expiration 1m",
    "ip t c ct original saddr 1.2.3.0/24",
    "ip t c ct original ip saddr 1.2.3.0/24",
    "ip t c ct original saddr 1.2.3.4",
    "ip t c ct reply daddr 10.0.0.0/8",
    "ip t c ct reply daddr != 10.0.0.0/8",
    "ip t c ct original saddr 1.2.3.0-1.2.3.9",
    "ip t c ct original saddr { 1.2.3.0/24 }",
    "ip6 t c ct original saddr ::/64",
    "ip6 t c ct original saddr 2001:db8::/32",
    "ip t c @nh,8,8 0x10",
    "ip t c @nh,8,8 0x11",
    "ip t c @nh,8,8 != 0x11",
    "ip t c @nh,0,8 0x45",
    "ip t c @nh,8,6 0x4",
    "ip t c @nh,8,8 0x10 ip ecn not-ect",
    "ip t c ip frag-off != { 0 } ip ecn not-ect @nh,8,8 0x10",
    "ip6 t c @nh,8,8 0x10",
    "ip6 t c @nh,0,8 0x60",
    "ip6 t c @nh,0,8 0x6f",
    "ip6 t c @nh,0,8 0x63",
    "ip6 t c @nh,0,16 0x6000",
    "ip6 t c @nh,0,12 0x600",
    "ip t c @nh,0,12 0x450",
    "ip t c @nh,4,8 0x50",
    "ip6 t c @nh,4,4 0x0",
]

# dependencies nft's delinearize drops: `ct protocol` releases the network dependency,
# `meta l4proto` only in ip/ip6 (and only `ether type <family>`); `-n` bitmask order
DEPS = [
    "ip t c ether type ip tcp dport 22",
    "ip t c ether type ip ip saddr 1.2.3.4",
    "ip t c ether type ip counter",
    "ip t c ether type ip6 tcp dport 22",
    "ip t c ether type ip meta mark 1",
    "ip t c ether type ip meta l4proto tcp",
    "ip t c ether type ip ct protocol tcp",
    "ip t c ether type ip6 ct protocol tcp",
    "ip6 t c ether type ip6 udp dport 53",
    "inet t c ether type arp ct reply protocol udp",
    "inet t c ether type arp ct protocol udp",
    "inet t c ether type arp meta mark 1",
    "inet t c ether type ip ct protocol udp",
    "inet t c ether type ip meta l4proto tcp",
    "inet t c ether type ip meta l4proto tcp tcp dport 22",
    "inet t c meta nfproto ipv4 ct protocol tcp",
    "inet t c meta protocol ip ct protocol tcp",
    "inet t c ether type ip meta nfproto ipv4",
    "inet t c ether type ip ct protocol { tcp, udp }",
    "inet t c ether type ip ct protocol != tcp",
    "inet t c ether type ip ct l3proto ipv4",
    "bridge t c ether type ip meta l4proto tcp",
    "netdev t c ether type ip meta l4proto tcp",
    "ip t c ct state new,related",
    "inet t c ct state new,established,related,untracked",
    "ip t c ct status expected,seen-reply",
    "ip t c tcp flags syn,ack / syn,ack,fin",
]

# JSON: realm values are printed text (a string), a range names its ends where the type
# has symbols (not protocols nor services), `prefix to` NAT carries the netmap flag
JSON = [
    "ip t c meta rtclassid 12",
    "ip t c meta rtclassid cosmos",
    "inet t c meta rtclassid { cosmos, 12 }",
    "ip t c rt classid 12",
    "arp t c arp operation 1-2",
    "ip6 t c icmpv6 code 3-66",
    "ip t c icmp type 0-8",
    "ip t c tcp dport 22-80",
    "ip t c ip protocol 6-17",
    "ip t c meta mark 1-2",
    "ip t c ether type 0x0800-0x0806",
    "ip t p snat ip prefix to ip saddr map { 10.141.11.0/24 : 192.168.2.0/24 }",
    "inet t p snat ip prefix to ip saddr map { 10.141.11.0/24 : 192.168.2.0/24 }",
    "ip t p snat ip prefix to ip saddr map { 10.141.11.0/24 : 192.168.2.0/24 } persistent",
    "ip t p snat ip prefix to 10.141.11.0/24",
]

# an extension header's (IPv4 option's) dependency goes to the head of the rule;
# concatenated interval keys convert host-endian parts (byteorder hton, big-endian
# elements)
PLACEMENT = [
    "inet t c meta pkttype != host srh flags 0 ct mark set 2 accept",
    "inet t c sctp chunk init num-outbound-streams 1 srh tag 1 accept",
    "inet t c th dport != 53 exthdr frag exists tcp flags fin|psh|ack|urg continue",
    "netdev t c tcp option timestamp tsecr 2 dst hdrlength 1 drop",
    "netdev t c tcp option mptcp subtype 0 rt hdrlength 22 continue",
    "inet t c udplite checksum { 1 } ip option lsrr type 1 accept",
    "inet t c meta mark 1 ip option rr type 7",
    "bridge t c meta mark 1 frag more-fragments 1",
    "inet t c tcp dport 22 meta mark 1 hbh nexthdr 6",
    "inet t c meta mark . tcp dport { 0x0000000a-0x00000014 . 80-90, 0x00100000-0x00100123 . 100-120 }",
    "bridge t c meta mark . tcp dport { 0x0000000a-0x00000014 . 80-90 }",
    "inet t c ip saddr . meta mark { 1.2.3.4 . 0x00000100 , 1.2.3.6-1.2.3.8 . 0x00000200-0x00000300 }",
    "inet t c meta mark . tcp dport { 0x0000000a . 80, 0x00000014 . 90 }",
    "ip t c meta mark . ip saddr vmap { 0x1-0x2 . 10.0.0.0/8 : accept, 0x100 . 1.2.3.4 : drop }",
    "ip t c iifname . meta mark { \"lo\" . 0x1-0x5 }",
    "ip t c ct mark . tcp sport { 0x1-0x2 . 1-1023 }",
    # sub-byte fields in a concatenation: the register is shifted down
    "ip t c ip dscp . tcp dport { cs1 . 22 }",
    "ip t c ip dscp . tcp dport { cs1 . 22, af41 . 80 }",
    "ip t c ip saddr . @nh,8,6 { 1.1.1.1 . 0x4 }",
    "inet t c ip saddr . @ih,32,45 { 1.1.1.1 . 0x14, 2.2.2.2 . 0x1e }",
    "ip6 t c ip6 dscp . ip6 ecn { cs1 . ect0 }",
]

# error texts: a family-less ct address (arp: only the value's message; the value's
# caret under the address alone), `rt ip nexthop` in ip6 (the address family), the ct
# family conflict marks where the network protocol was learnt, cgroupv2 paths (a host
# property: paths no host has, so both sides miss them)
ERRORS = [
    "arp t c ct saddr 1.2.3.4",
    "arp t c ct saddr 1.2.3.0/24",
    "arp t c ct original daddr ::1",
    "bridge t c ct saddr 1.2.3.4",
    "netdev t c ct saddr 1.2.3.4",
    "inet t c ct saddr 1.2.3.4",
    "inet t c ct original saddr 1.2.3.0/24",
    "inet t c ct reply daddr 1.2.3.4-1.2.3.5",
    "inet t c ct original saddr { 1.2.3.4 }",
    "inet t c meta priority none sctp checksum 1111 ct reply saddr 1.2.3.0/24 meta mark set 1",
    "ip6 t c rt ip nexthop 10.0.0.1",
    "ip6 t c rt ip nexthop 10.0.0.0/8",
    "ip6 t c rt ip nexthop { 10.0.0.1 }",
    "ip t c rt ip6 nexthop ::1",
    "inet t c meta nfproto ipv6 ct original ip saddr 1.2.3.4",
    "inet t c meta nfproto ipv4 ct original ip6 saddr ::1",
    "inet t c ip saddr 1.2.3.4 ct original ip6 saddr ::1",
    "ip t c socket cgroupv2 level 1 \"pkttables-none.slice\"",
    "inet t c socket cgroupv2 level 2 \"pkttables-none.slice/sshd.service\"",
    "ip t c socket cgroupv2 level 1 { \"pkttables-none\", \"pkttables-none.slice\" }",
]

# QinQ in arp tables: a user's `vlan type ip` makes the network header IPv4; in inet,
# `meta protocol vlan` after a known network protocol is `ether vs. vlan`
QINQ = [
    "arp t c ether type 8021ad vlan id 1 vlan type 8021q vlan id 2 vlan type ip ip protocol 6",
    "arp t c vlan id 2 vlan type ip ip protocol 6",
    "arp t c vlan type ip ip protocol 6",
    "arp t c ether type 8021q vlan type ip ip saddr 1.2.3.4",
    "arp t c vlan id 2 ip protocol 6",
    "arp t c vlan id 2 arp htype 1",
    "arp t c vlan type arp arp htype 1",
    "inet t c ip length != { 1500 } meta protocol vlan vlan id 1-100 counter accept",
    "inet t c meta protocol vlan vlan id 1-100",
    "inet t c ip length 1500 meta protocol vlan vlan id 1",
    "inet t c ip length 1500 vlan id 1",
    "inet t c meta nfproto ipv4 meta protocol vlan vlan id 1",
    "inet t c meta protocol ip vlan id 1",
    "inet t c meta protocol ip ip length 1500 vlan id 1",
    "inet t c vlan id 1 ip length 1500",
    "ip t c ether type 8021q vlan type ip ip saddr 1.2.3.4",
    "ip t c ether type 8021q vlan type ip",
    "ip6 t c ether type 8021q vlan type ip6 tcp dport 22",
    "arp t c ether type 8021q vlan type arp",
    "bridge t c ether type 8021q vlan type ip ip saddr 1.2.3.4",
]

# classid symbols: nft 1.0.6's tchandle_type_parse runs strtoull without a check (a word
# is 0, `none`); a mapped bare symbol on the left is `No symbol type information`
CLASSID = [
    "ip t c meta priority abc",
    "ip t c meta priority ip",
    "ip t c meta priority ip counter",
    "ip t c meta priority 12",
    "ip t c meta priority 0x12",
    "ip t c meta priority 1:2",
    "ip t c meta priority 123456789",
    "ip t c meta priority set abc",
    "ip t c meta priority { abc, 1:2 }",
    "netdev t c meta priority ip dscp map { cs0 : 1:1, cs1 : 1:2 } udplite checksum 1 drop",
    "ip t c meta priority ip dscp udplite",
    "ip t c dscp map { cs0 : 1 } udplite",
    "ip t c meta mark ip udplite checksum 1",
]

# `snat ip daddr` is nat to the address expression `ip daddr` (no `to`); `to` starts a
# match at a statement's start (a plain string outside the nat scope); a terminal nat,
# reject or queue statement is marked at its keyword
SNAT = [
    "ip t p snat ip daddr",
    "ip t p snat ip daddr counter",
    "ip t p snat ip daddr 1.2.3.4 ip6 to dead::beef",
    "inet t p snat ip daddr 1.2.3.4 ip6 to dead::beef",
    "netdev t c snat ip daddr 1.2.3.4 ip6 to dead::beef",
    "ip t p snat ip daddr 1.2.3.4 ip to 1.2.3.5",
    "ip t p snat ip daddr 1.2.3.4",
    "ip t p snat ip saddr 1.2.3.4 counter",
    "ip t c to 1",
    "ip t c foo ip6 to dead::beef",
    "ip t c foo udplite checksum 1",
    "ip t p snat to 1.2.3.4 counter",
    "ip t p snat ip to 1.2.3.4 counter",
    "ip t p masquerade random counter",
    "ip t c reject with icmp host-unreachable counter",
    "ip t c queue num 1 counter",
    "ip t c drop counter",
]

# the round trip: nft refuses its own listing of `ct expiration 0s`
ROUNDTRIP = [
    "ip t c ct expiration ",
    "arp t c vlan id 1 vlan id 2 ip protocol tcp",
    "ip t c vlan type ip tcp dport 22",
    "ip t c ether type 8021q vlan type ip meta l4proto tcp",
]

CASES = BYTECODE + LISTING + DEPS + JSON + PLACEMENT + ERRORS + QINQ + CLASSID + SNAT + ROUNDTRIP
EXTRA: list[str] = []


if __name__ == "__main__":
    capture(CASES + EXTRA, SETUP, HERE / "golden_err9.json", "pktE9", command="add rule ",
            sort_keys=False, ensure_ascii=False)
    capture_listing(CASES + EXTRA, SETUP, HERE.parent / "render" / "golden_err9_listing.json", "pktE9", numeric=True)
    print("captured", len(CASES + EXTRA))
