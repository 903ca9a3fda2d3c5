"""Pins for the language gaps closed against our generated nft 1.0.6 corpus (issue 3).

Each expectation is copied from a record of ``tests/corpus/generated/rules`` (nft 1.0.6's
own answer), so these fail if the behaviour drifts from nft's."""

from __future__ import annotations

import pytest

from pkttables.commands import Options, run_text
from pkttables.errors import PktError
from pkttables.model import Ruleset


def _ctx(family: str) -> str:
    chain = "ingress" if family == "netdev" else "c"
    spec = ('{ type filter hook ingress device "lo" priority 0; }' if family == "netdev"
            else "{ type filter hook input priority 0; }")
    return f"add table {family} t; add chain {family} t {chain} {spec}; ", chain


def debug(family: str, rule: str) -> str:
    pre, chain = _ctx(family)
    return run_text(pre + f"add rule {family} t {chain} {rule}", Ruleset(), Options(debug={"netlink"})).output


def error(family: str, rule: str) -> str:
    pre, chain = _ctx(family)
    with pytest.raises(PktError) as ei:
        run_text(f"add rule {family} t {chain} {rule}", run_text(pre, Ruleset()).ruleset)
    return ei.value.render()


def listing(family: str, rule: str) -> str:
    pre, chain = _ctx(family)
    out = run_text(pre + f"add rule {family} t {chain} {rule}; list chain {family} t {chain}", Ruleset()).output
    return [ln.strip() for ln in out.splitlines() if ln.startswith("\t\t")][-1]   # the rule follows the chain spec


def test_one_element_set_is_a_plain_compare():
    out = debug("ip", "tcp dport != { 22 } accept")
    assert "__set" not in out
    assert "[ cmp neq reg 1 0x00001600 ]" in out


def test_one_element_bitmask_set_is_exact():
    # nft: `tcp flags != { syn }` -> cmp neq 0x02, no flag test
    out = debug("ip", "tcp flags != { syn }")
    assert "bitwise" not in out and "[ cmp neq reg 1 0x00000002 ]" in out


def test_one_element_concatenation_keeps_its_set():
    assert "__set%d t 3 size 1" in debug("ip", "ip saddr . meta mark { 1.2.3.4 . 0x1 }")


def test_anonymous_set_declares_its_size():
    assert debug("ip", "ip ttl != { 1, 2 }").startswith("__set%d t 3 size 2\n")


def test_rule_comment_is_userdata():
    out = debug("ip", 'counter comment "combo"')
    assert out.endswith("[ counter pkts 0 bytes 0 ]\n  userdata = { \\x00\\x06combo\\x00 }\n")


def test_catchall_element_dump():
    out = debug("ip", "ip saddr vmap { 1.1.1.1 : drop, * : accept }")
    assert "\telement  : accept 2 [end]" in out


def test_subbyte_field_and_user_mask_are_one_bitwise():
    out = debug("ip", "ip hdrlength & 0x3 == 1")
    assert out.count("bitwise") == 1 and "( reg 1 & 0x00000003 )" in out


@pytest.mark.parametrize("family", ["bridge", "netdev"])
def test_nat_only_in_ip_families(family):
    chain = "ingress" if family == "netdev" else "c"
    msg = error(family, "dnat ip to 10.0.0.1")
    assert msg.startswith("Error: NAT is only supported for IPv4/IPv6\n")
    assert msg.splitlines()[2] == " " * len(f"add rule {family} t {chain} ") + "^^^^"


def test_ipsec_only_in_ip_families():
    assert "ipsec expression is only valid in ip/ip6/inet tables" in error("bridge", "ipsec in reqid 1")


def test_icmpx_refused_in_ip():
    msg = error("ip", "reject with icmpx host-unreachable")
    assert msg == ("Error: abstracted ICMP unreachable not supported\n"
                   "add rule ip t c reject with icmpx host-unreachable\n"
                   "                ~~~~~~            ^^^^^^^^^^^^^^^^")


def test_no_reject_in_arp():
    pre = "add table arp t; add chain arp t c { type filter hook input priority 0; }"
    with pytest.raises(PktError) as ei:
        run_text("add rule arp t c reject", run_text(pre, Ruleset()).ruleset)
    assert ei.value.render().startswith("Error: cannot use reject with arp")


def test_tproxy_only_in_ip_families():
    assert "tproxy is only supported for IPv4/IPv6/INET" in error("bridge", "meta l4proto 6 tproxy to 192.0.2.1:50080")


def test_ct_proto_src_needs_a_transport():
    msg = error("ip", "ct original proto-dst 1-1024")
    assert msg == ("Error: Can't parse symbolic invalid expressions\n"
                   "add rule ip t c ct original proto-dst 1-1024\n"
                   "                                      ^")
    # `ct protocol tcp` names the transport (and satisfies tcp dport's dependency)
    out = debug("ip", "ct protocol tcp tcp dport 22")
    assert "l4proto" not in out
    assert "ct load proto_dst" in debug("ip", "ct protocol 6 ct original proto-dst 22")


def test_secmark_never_compared_with_a_constant():
    msg = error("ip", "meta secmark 0x1")
    assert msg.splitlines()[0] == "Error: Cannot be used with right hand side constant value"
    assert msg.splitlines()[2] == "                ~~~~~~~~~~~~ ^^^"


def test_icmp_type_set_satisfies_the_field_dependency():
    out = debug("ip", "icmp type { echo-reply, echo-request } icmp id 22")
    assert out.count("payload load 1b @ transport header + 0") == 1


def test_log_prefix_expands_defines():
    pre, chain = _ctx("ip")
    out = run_text('define b = "zz"; ' + pre + f'add rule ip t {chain} log prefix "a $b c"', Ruleset(),
                   Options(debug={"netlink"})).output
    assert "[ log prefix a zz c ]" in out
    with pytest.raises(PktError) as ei:
        run_text(pre + f'add rule ip t {chain} log prefix "${{X}}"', Ruleset())
    assert "unknown identifier ''" in ei.value.render()


@pytest.mark.parametrize("decl", ["add counter ip t c1 { packets 1 bytes 2 }", "add quota ip t q1 { 25 mbytes }",
                                  "add limit ip t l1 { rate 400/minute }",
                                  'add quota ip t q2 { over 25 mbytes used 1 kbytes comment "x" }',
                                  "add synproxy ip t sp { mss 1460 wscale 7 timestamp sack-perm }"])
def test_object_blocks_without_separators(decl):
    run_text("add table ip t; " + decl, Ruleset())


def test_ct_helper_block_still_needs_separators():
    with pytest.raises(PktError):
        run_text('add table ip t; add ct helper ip t h { type "ftp" protocol tcp l3proto ip }', Ruleset())


def test_listing_ranges_are_numeric():
    assert listing("ip", "meta l4proto 33-45") == "meta l4proto 33-45"


def test_listing_bitmap_keys_by_value():
    assert listing("ip", "meta iiftype { ether, ppp, ipip }") == "meta iiftype { ether, ppp, ipip }"


def test_listing_duplicate_keys_once():
    assert listing("arp", "arp htype { 1, 0x0001, 6 }") == "arp htype { 1, 6 }"


@pytest.mark.parametrize("family,want", [("ip", "reject with tcp reset"),
                                         ("inet", "ip protocol tcp reject with tcp reset")])
def test_listing_tcp_reset_dependency(family, want):
    assert listing(family, "ip protocol tcp reject with tcp reset") == want


def test_listing_keeps_ip_protocol_in_inet():
    assert listing("inet", "ip protocol tcp tcp dport 22") == "ip protocol tcp tcp dport 22"
    assert listing("ip", "ip protocol tcp tcp dport 22") == "tcp dport 22"
