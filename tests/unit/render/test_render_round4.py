"""Listing pins for round 4 of the nft 1.0.6 agreement work.  Every expected text is what
nft 1.0.6 listed for the rule on this kernel (asked in a network namespace, or recorded in
the corpus): per-family dependency kill, interval concatenations, bitmask sets, ct
direction and labels, prefixes only the cmp length tells, catch-all elements, tproxy
and dup IPv6 addresses, decimal raw tcp options."""

import pytest

from pkttables.commands import Options, run_text
from pkttables.model import Ruleset
from pkttables.render import parse_netlink_debug, rule_text


def _rule_lines(family: str, rules: list[str], flags=()) -> list[str]:
    hook = "ingress" if family == "netdev" else "input"
    dev = ' device "lo"' if family == "netdev" else ""
    text = f"table {family} t {{ chain c {{ type filter hook {hook}{dev} priority 0; }}; }}\n"
    text += "".join(f"add rule {family} t c {r}\n" for r in rules)
    rs = run_text(text, Ruleset()).ruleset
    out = run_text("list ruleset", rs, Options(flags=set(flags))).output
    lines = [ln.strip() for ln in out.splitlines()]
    i = next(k for k, ln in enumerate(lines) if ln.startswith("type filter"))
    return [ln for ln in lines[i + 1:] if ln and ln != "}"]


# -- dependency kill per family (nft payload_dependency_kill / meta_may_dependency_kill)

@pytest.mark.parametrize("family,rule,want", [
    # meta l4proto icmp implies IPv4: the network match goes; igmp/tcp do not imply it
    ("inet", "meta nfproto ipv4 meta l4proto icmp", "meta l4proto icmp"),
    ("inet", "meta nfproto ipv6 meta l4proto icmpv6", "meta l4proto ipv6-icmp"),
    ("inet", "meta nfproto ipv4 meta l4proto igmp", "meta nfproto ipv4 meta l4proto igmp"),
    ("inet", "meta nfproto ipv4 meta l4proto tcp", "meta nfproto ipv4 meta l4proto tcp"),
    ("inet", "meta nfproto ipv6 meta l4proto icmp", "meta nfproto ipv6 meta l4proto icmp"),
    ("bridge", "ether type ip meta l4proto icmp", "meta l4proto icmp"),
    ("bridge", "ether type ip meta l4proto igmp", "ether type ip meta l4proto igmp"),
    ("netdev", "meta protocol ip meta l4proto icmp", "meta l4proto icmp"),
    ("inet", "icmp type echo-request", "icmp type echo-request"),
    ("inet", "igmp type membership-query", "meta nfproto ipv4 igmp type membership-query"),
    ("bridge", "igmp type membership-query", "ether type ip igmp type membership-query"),
    ("netdev", "igmp type membership-query", "meta protocol ip igmp type membership-query"),
    # extension headers and IPv4 options release the network match
    ("inet", "exthdr hbh exists", "exthdr hbh exists"),
    ("bridge", "exthdr frag exists", "exthdr frag exists"),
    ("netdev", "exthdr rt missing", "exthdr rt missing"),
    ("inet", "ip option rr exists", "ip option rr exists"),
    ("bridge", "ip option lsrr type 1", "ip option lsrr type 1"),
    # the vlan header's protocol key keeps `ether type 8021q`; other vlan fields drop it
    ("bridge", "vlan type ip", "ether type 8021q vlan type ip"),
    ("inet", "vlan type != ip", "ether type 8021q vlan type != ip"),
    ("netdev", "vlan type ip ip saddr 1.1.1.1", "ether type 8021q ip saddr 1.1.1.1"),
    ("bridge", "vlan type ip vlan id 1", "vlan type ip vlan id 1"),
    ("bridge", "vlan id 1", "vlan id 1"),
    ("bridge", "vlan type { ip, arp, ip6 }", "vlan type { ip, arp, ip6 }"),
])
def test_dependency_kill(family, rule, want):
    assert _rule_lines(family, [rule]) == [want]


# -- interval concatenations (pipapo: key .. key end per element)

@pytest.mark.parametrize("rule,want", [
    ("ip saddr . tcp dport { 1.1.1.1-1.1.1.9 . 20-30 }", None),
    ("ip saddr . tcp dport { 10.0.0.0/8 . 22, 1.1.1.1-1.1.1.9 . 20-30, 3.3.3.3 . 1 }", None),
    ("udp dport . udp sport { 53 . 1024-65535 }", None),
    ("meta mark . tcp dport { 0x0000000a-0x00000014 . 80-90, 0x00100000-0x00100123 . 100-120 }", None),
    ("ip saddr . ip daddr vmap { 192.168.5.1-192.168.5.128 . 192.168.6.1-192.168.6.128 : accept }", None),
])
def test_interval_concatenation(rule, want):
    assert _rule_lines("ip", [rule]) == [want or rule]


def test_concatenation_keys_sorted_as_nft():
    # list_expr_sort: parts joined and read host-endian (the port's low byte leads)
    assert _rule_lines("ip", ["ip saddr . tcp dport { 10.0.0.0 . 22, 1.1.1.1 . 20, 3.3.3.3 . 1 }"]) == \
        ["ip saddr . tcp dport { 3.3.3.3 . 1, 1.1.1.1 . 20, 10.0.0.0 . 22 }"]


def test_interval_concatenation_from_netlink_debug():
    sets, ins = parse_netlink_debug(
        "__set%d t 87 size 1\n__set%d t 0\n"
        "\telement 01010101 00001400  - 09010101 00001e00  : 0 [end]\n"
        "  [ meta load l4proto => reg 1 ]\n  [ cmp eq reg 1 0x00000006 ]\n"
        "  [ payload load 4b @ network header + 12 => reg 1 ]\n"
        "  [ payload load 2b @ transport header + 2 => reg 9 ]\n"
        "  [ lookup reg 1 set __set%d ]\n")
    assert rule_text(ins, "ip", sets) == "ip saddr . tcp dport { 1.1.1.1-1.1.1.9 . 20-30 }"


# -- bitmask sets and matches

@pytest.mark.parametrize("rule,want", [
    ("tcp flags { syn, syn | ack }", "tcp flags { syn | ack, syn }"),
    ("tcp flags { fin|syn, fin|rst, fin }", "tcp flags { fin, fin | rst, fin | syn }"),
    ("tcp flags { fin|rst, fin|syn, fin }", "tcp flags { fin, fin | syn, fin | rst }"),
    ("tcp flags { syn, syn,ack, fin|psh|ack|urg }", "tcp flags { fin | psh | ack | urg, syn, ack }"),
    ("tcp flags & (fin | syn | rst | psh | ack | urg) == { fin, ack, psh | ack, fin | psh | ack }",
     "tcp flags & (fin | syn | rst | psh | ack | urg) == { fin | psh | ack, fin, psh | ack, ack }"),
    ("tcp flags & (syn|ack) != { syn, ack }", "tcp flags & (syn | ack) != { syn, ack }"),
    ("meta mark & 0xff { 1, 2 }", "meta mark & 0x000000ff == { 0x00000001, 0x00000002 }"),
    ("ct state { established, related, new|untracked }",
     "ct state { established, related, new | untracked }"),
    ("tcp flags == 0xff", "tcp flags == 0xff"),
    ("tcp flags == syn|ack", "tcp flags == 0x12"),
    ("tcp flags == 0x80", "tcp flags == cwr"),
    ("tcp flags syn,ack", "tcp flags syn,ack"),
])
def test_bitmask(rule, want):
    assert _rule_lines("ip", [rule]) == [want]


# -- ct: direction as the kernel dumps it, labels, prefixes

@pytest.mark.parametrize("rule,want", [
    ("ct original protocol udp", "ct protocol udp"),
    ("ct reply l3proto ipv4", "ct l3proto ipv4"),
    ("ct original ip daddr 10.0.0.1", "ct original ip daddr 10.0.0.1"),
    ("ct reply packets > 10", "ct reply packets > 10"),
    ("ct original zone 1", "ct original zone 1"),
    ("ct label 1", "ct label 1"),
    ("ct label 127", "ct label 127"),
    ("ct original ip daddr 10.0.0.0/8", "ct original ip daddr 10.0.0.0/8"),
    ("ct reply ip daddr != 10.0.0.0/8", "ct reply ip daddr != 10.0.0.0/8"),
    ("ipsec in ip saddr 192.168.1.0/24", "ipsec in ip saddr 192.168.1.0/24"),
    ('osf ttl loose name "Linux"', 'osf ttl loose name "Linux"'),
    ('osf ttl skip version "Linux:3.0"', 'osf ttl skip version "Linux:3.0"'),
])
def test_ct_and_kept_attributes(rule, want):
    assert _rule_lines("ip", [rule]) == [want]


# -- elements, addresses, bases

@pytest.mark.parametrize("family,rule,want", [
    ("ip", "ip saddr vmap { 1.1.1.1 : drop, * : accept }", None),
    ("ip", "ip saddr vmap { 1.1.1.0/24 : drop, * : accept }", None),
    ("ip", "meta mark set ip saddr map { 1.1.1.1 : 0x00000001, * : 0x00000002 }", None),
    ("inet", "meta l4proto tcp tproxy ip6 to [2001:db8::1]", None),
    ("inet", "meta l4proto udp tproxy ip6 to [2001:db8::1]:50080", None),
    ("ip6", "dup to fe80::1", None),
    ("ip6", 'dup to fe80::1 device "lo"', None),
    ("ip", "tcp option @255,8,8 255", None),
    ("ip", "dccp type 15", None),
])
def test_elements_addresses_bases(family, rule, want):
    assert _rule_lines(family, [rule]) == [want or rule]


# -- numeric listings (-n): booleans, reject codes, symbolic types through their basetype

@pytest.mark.parametrize("family,rule,want", [
    ("inet", "tcp flags { syn, syn | ack }", "tcp flags { 0x2 | 0x10, 0x2 }"),
    ("inet", "dccp type 5", "dccp type 5"),
    ("inet", "ip ecn 0", "ip ecn 0x0"),
    ("inet", "ip dscp cs1", "ip dscp 0x08"),
    ("inet", "ether type arp", "ether type 0x0806"),
    ("inet", "exthdr frag exists", "exthdr frag 1"),
    ("inet", "tcp option 6 missing", "tcp option 6 0"),
    ("inet", "meta iiftype 772", "meta iiftype 772"),
    ("inet", "ct state established", "ct state 0x2"),
    ("inet", "ip saddr 1.2.3.0/24 reject with icmp port-unreachable", "ip saddr 1.2.3.0/24 reject with icmp 3"),
    ("arp", "arp operation 3", "arp operation 3"),
])
def test_numeric(family, rule, want):
    assert _numeric_line(family, rule) == want


def _numeric_line(family: str, rule: str) -> str:
    from pkttables.render import ListOptions, text
    hook = "ingress" if family == "netdev" else "input"
    dev = ' device "lo"' if family == "netdev" else ""
    rs = run_text(f"table {family} t {{ chain c {{ type filter hook {hook}{dev} priority 0; }}; }}\n"
                  f"add rule {family} t c {rule}\n", Ruleset()).ruleset
    r = list(rs.chain(family, "t", "c").rules)[-1]
    return text.rule_line(r, family, ListOptions.from_flags("-n"), rs.table(family, "t"))


def test_range_of_a_symbolic_type_is_decimal():
    # range_expr_print prints both ends numerically: arp_op has no hex basefmt
    assert _rule_lines("arp", ["arp operation 1-2"]) == ["arp operation 1-2"]
    assert _rule_lines("arp", ["arp operation 3"]) == ["arp operation rrequest"]


@pytest.mark.parametrize("rule,want", [
    ('iifname { "lo", "dum0", "eth1" }', 'iifname { "lo", "dum0", "eth1" }'),
    ('iifname { "lo", "dum0", "eth*" }', 'iifname { "dum0", "eth*", "lo" }'),
    ('iifname { "veth*", "lo" }', 'iifname { "lo", "veth*" }'),
    ('oifname { "ppp*", "veth0" }', 'oifname { "ppp*", "veth0" }'),
])
def test_wildcard_sets(rule, want):
    # a wildcard element holds only its prefix; nft lists such a set in byte order
    assert _rule_lines("ip", [rule]) == [want]
