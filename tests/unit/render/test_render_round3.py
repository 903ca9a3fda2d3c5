"""Listing pins for round 3 of the nft 1.0.6 agreement work (every expected text is
nft 1.0.6's, recorded from the corpus): sub-byte extension header fields recovered from
the mask that follows the load."""

import pytest

from pkttables.commands import Options, run_text
from pkttables.model import Ruleset


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


@pytest.mark.parametrize("family", ["ip6", "inet", "netdev", "bridge"])
@pytest.mark.parametrize("rule,want", [
    ("frag frag-off 22", "frag frag-off 22"),
    ("frag frag-off != 33-45", "frag frag-off != 33-45"),
    ("frag frag-off { 33, 55, 67, 88 }", "frag frag-off { 33, 55, 67, 88 }"),
    ("frag more-fragments 1", "frag more-fragments 1"),
    ("frag reserved2 2", "frag reserved2 2"),
    ("frag id 7", "frag id 7"),
])
def test_frag_subbyte_fields(family, rule, want):
    assert _rule_lines(family, [rule]) == [want]


@pytest.mark.parametrize("rule", ["tcp option mptcp subtype 0", "tcp option mptcp subtype 1"])
def test_mptcp_subtype(rule):
    assert _rule_lines("inet", [rule]) == [rule]


@pytest.mark.parametrize("rule,want", [
    ("comp flags 0x1", "comp flags 0x1"),
    ("comp flags != 0x1", "comp flags != 0x1"),
    ("comp flags != 0x33-0x45", "comp flags != 0x33-0x45"),
    ("comp flags { 0x1 }", "comp flags 0x1"),
])
def test_comp_flags_hex(rule, want):
    # nft's bitmask_type prints in hex and an implicit `& v != 0` match as the value
    assert _rule_lines("inet", [rule]) == [want]


@pytest.mark.parametrize("family,rule,want", [
    ("ip", "ip saddr 10.0.0.0/0", "ip saddr 0.0.0.0/0"),
    ("inet", "ip saddr 0.0.0.0/0", "ip saddr 0.0.0.0/0"),
    ("ip6", "ip6 saddr ::/0", "ip6 saddr ::/0"),
])
def test_zero_prefix(family, rule, want):
    assert _rule_lines(family, [rule]) == [want]


@pytest.mark.parametrize("rule,want", [
    ("ip6 daddr ::ffff:192.168.1.1", "ip6 daddr ::ffff:192.168.1.1"),
    ("ip6 saddr ::1234:1234", "ip6 saddr ::18.52.18.52"),
    ("ip6 saddr ::1234", "ip6 saddr ::1234"),           # a 7-word zero run stays hex
    ("ip6 saddr ::1", "ip6 saddr ::1"),
    ("ip6 saddr 1234:1234:1234:1234:1234:1234:aaaa::", "ip6 saddr 1234:1234:1234:1234:1234:1234:aaaa:0"),
])
def test_ipv6_inet_ntop_forms(rule, want):
    # nft prints IPv6 addresses with glibc's inet_ntop
    assert _rule_lines("ip6", [rule]) == [want]
