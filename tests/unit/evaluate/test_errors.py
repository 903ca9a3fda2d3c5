"""Evaluation errors: nft 1.0.6's exact messages and carets (captured from the real nft
in a network namespace with /tmp-free `nft add rule ip t c RULE`), and the property
that evaluation of parser-accepted input raises nothing but PktError."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.errors import EvalError, PktError
from pkttables.evaluate import EvalContext, evaluate_rule
from pkttables.lang import parse


def _eval(rule: str, family: str = "ip"):
    script = parse(f"add rule {family} t c {rule}")
    return evaluate_rule(script.commands[0].obj.rule, EvalContext(family, "t", "c"))


# (rule, message, caret text) -- golden from nft 1.0.6
GOLDEN = [
    ("log level emerg group 2", "level and group are mutually exclusive", "log"),
    ("log flags all group 2", "flags and group are mutually exclusive", "log"),
    ('log level audit prefix "foo"', "log level audit doesn't support any further options", "log"),
    ('meta iifname ""', "Empty string is not allowed", '""'),
    ("ct label 128", "128: bit 128 out of range (128 max)", "128"),
    ("meta day 7 drop", "Value 7 exceeds valid range 0-6", "7"),
    ("meta nfproto ipv6 ct original ip saddr 1.2.3.4", "meta nfproto is only useful in the inet family",
     "meta nfproto"),
    ("tcp dport 70000", "Service out of range", "70000"),
    ("ip6 saddr ::1", "conflicting protocols specified: ip vs. ip6", "ip6 saddr"),
    ("ip saddr @nosuchset", "No such file or directory", "@nosuchset"),
    ("ether type vlan vlan id 1 ip6 saddr ::1", "conflicting protocols specified: ip vs. ip6", "ip6 saddr"),
    ("meta l4proto tcp udp dport 1", "conflicting protocols specified: tcp vs. udp", "udp dport"),
    ("tcp dport 22 udp dport 1", "conflicting protocols specified: tcp vs. udp", "udp dport"),
]


@pytest.mark.parametrize("rule,message,caret", GOLDEN)
def test_golden_errors(rule, message, caret):
    with pytest.raises(EvalError) as ei:
        _eval(rule)
    d = ei.value.diagnostics[0]
    assert d.message == message
    loc = d.location
    assert loc is not None
    line = f"add rule ip t c {rule}"
    assert line[loc.first_col - 1: loc.last_col] == caret


def test_rendered_like_nft():
    with pytest.raises(EvalError) as ei:
        _eval("tcp dport 70000")
    assert ei.value.render() == ("Error: Service out of range\n"
                                 "add rule ip t c tcp dport 70000\n"
                                 "                          ^^^^^")


_WORDS = ["tcp dport", "udp sport", "ip saddr", "ip6 daddr", "meta mark", "ct state", "meta l4proto",
          "ether saddr", "vlan id", "icmp type", "tcp flags", "ip dscp", "meta iifname", "ct mark"]
_VALUES = ["22", "ssh", "1.2.3.4", "::1", "0x10", "established", "tcp", "00:11:22:33:44:55", "{ 1, 2 }",
           "1-10", "10.0.0.0/8", '"eth0"', "syn", "cs1", "!= 3", "{ 1-3, 5 }", "foo", "70000", '""']


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_VALUES)), min_size=1, max_size=3),
       st.sampled_from(["ip", "ip6", "inet", "bridge", "netdev", "arp"]))
def test_evaluate_raises_only_pkterror(pairs, family):
    rule = " ".join(f"{w} {v}" for w, v in pairs)
    try:
        script = parse(f"add rule {family} t c {rule}")
    except PktError:
        return
    try:
        evaluate_rule(script.commands[0].obj.rule, EvalContext(family, "t", "c"))
    except PktError:
        pass
