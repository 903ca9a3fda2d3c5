"""Listing pins for round 5 of the nft 1.0.6 agreement work (LIST3).  Every expected text
is what nft 1.0.6 listed for the rule (recorded in the generated corpus, or asked in a
network namespace): the family word of `rt ip nexthop`, and the groups that follow."""

import pytest

from pkttables.commands import Options, run_text
from pkttables.model import Ruleset


def _rule_lines(family: str, rules: list[str], flags=(), hook: str | None = None,
                ctype: str = "filter") -> list[str]:
    hook = hook or ("ingress" if family == "netdev" else "input")
    dev = ' device "lo"' if family == "netdev" else ""
    text = f"table {family} t {{ chain c {{ type {ctype} hook {hook}{dev} priority 0; }}; }}\n"
    text += "".join(f"add rule {family} t c {r}\n" for r in rules)
    rs = run_text(text, Ruleset()).ruleset
    out = run_text("list ruleset", rs, Options(flags=set(flags))).output
    lines = [ln.strip() for ln in out.splitlines()]
    i = next(k for k, ln in enumerate(lines) if ln.startswith("type "))
    return [ln for ln in lines[i + 1:] if ln and ln != "}"]


# -- rt nexthop: nft 1.0.6 rt_expr_print names the family in every table family

@pytest.mark.parametrize("family,rule,want", [
    ("ip", "rt nexthop 192.168.0.1", "rt ip nexthop 192.168.0.1"),
    ("ip", "rt ip nexthop 10.0.0.1", "rt ip nexthop 10.0.0.1"),
    ("ip6", "rt nexthop fd00::1", "rt ip6 nexthop fd00::1"),
    ("ip6", "rt ip6 nexthop fe80::1", "rt ip6 nexthop fe80::1"),
    ("inet", "rt ip nexthop 10.0.0.1", "rt ip nexthop 10.0.0.1"),
])
def test_rt_nexthop_family(family, rule, want):
    assert _rule_lines(family, [rule], hook="output") == [want]


# -- icmp echo fields: the type is kept, a merged id + sequence load is not the gateway

@pytest.mark.parametrize("family,rule,want", [
    ("ip", "icmp id 1 icmp sequence 2", "icmp type { echo-reply, echo-request } icmp id 1 icmp sequence 2"),
    ("inet", "icmp type { echo-reply, echo-request } icmp id 1 icmp sequence 2",
     "icmp type { echo-reply, echo-request } icmp id 1 icmp sequence 2"),
    ("ip", "icmp type echo-reply icmp id 1", "icmp type echo-reply icmp id 1"),
    ("bridge", "icmp type echo-reply icmp id 2", "icmp type echo-reply icmp id 2"),
    ("ip6", "icmpv6 type echo-reply icmpv6 id 65534", "icmpv6 type echo-reply icmpv6 id 65534"),
    # one-type fields still release their type match
    ("ip", "icmp gateway 22", "icmp gateway 22"),
    ("ip", "icmp mtu 1500", "icmp mtu 1500"),
    ("ip6", "icmpv6 type packet-too-big icmpv6 mtu 1280", "icmpv6 mtu 1280"),
    ("ip", "icmp id 22", "icmp type { echo-reply, echo-request } icmp id 22"),
])
def test_icmp_echo_fields(family, rule, want):
    assert _rule_lines(family, [rule]) == [want]


# -- reject: in ip/ip6 only `meta protocol <own family>` is the reject's dependency

@pytest.mark.parametrize("family,rule,want", [
    ("ip", "meta protocol ip reject", "reject"),
    ("ip", "meta protocol ip reject with icmp host-unreachable", "reject with icmp host-unreachable"),
    ("ip6", "meta protocol ip6 reject with icmpv6 no-route", "reject with icmpv6 no-route"),
    ("ip", "meta protocol ip6 reject", "meta protocol ip6 reject"),
    ("ip", "ether type ip reject", "ether type ip reject"),
    ("ip6", "ether type arp reject", "ether type arp reject"),
])
def test_reject_dependency(family, rule, want):
    assert _rule_lines(family, [rule], hook="prerouting") == [want]


# -- a statement between a dependency and its match keeps the dependency
#    (nft rule_maybe_reset_payload_deps); a data map's key keeps a payload dependency

@pytest.mark.parametrize("family,rule,want,hook,ctype", [
    ("ip", "ip protocol tcp meta mark set 1 tcp dport 22",
     "ip protocol tcp meta mark set 0x00000001 tcp dport 22", None, "filter"),
    ("ip", "ip protocol tcp counter ip saddr 1.2.3.4 tcp dport 22",
     "ip protocol tcp counter packets 0 bytes 0 ip saddr 1.2.3.4 tcp dport 22", None, "filter"),
    ("inet", "meta nfproto ipv4 counter ip saddr 1.2.3.4",
     "meta nfproto ipv4 counter packets 0 bytes 0 ip saddr 1.2.3.4", None, "filter"),
    ("ip", "ip protocol tcp tcp dport 22", "tcp dport 22", None, "filter"),
    ("ip", "ip protocol 6 redirect to :tcp dport map { 22 : 8000, 80 : 8080 }",
     "ip protocol tcp redirect to :tcp dport map { 22 : 8000, 80 : 8080 }", "output", "nat"),
    ("ip", "dnat ip to tcp dport map { 80 : 192.168.3.2, 81 : 192.168.3.3 }",
     "dnat to tcp dport map { 80 : 192.168.3.2, 81 : 192.168.3.3 }", "prerouting", "nat"),
])
def test_dependency_before_statement(family, rule, want, hook, ctype):
    assert _rule_lines(family, [rule], hook=hook, ctype=ctype) == [want]
