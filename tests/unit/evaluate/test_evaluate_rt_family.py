"""`rt ip|ip6 KEY`: nft 1.0.6 takes the family word before every rt key
(parser_bison.y rt_expr: RT nf_key_proto rt_key) but it only picks nexthop4 or
nexthop6; `rt ip6 mtu` is `rt mtu` (tcpmss) in every table family and lists as
`rt mtu`.  Bytecode and listing pinned to nft 1.0.6 (`nft --debug=netlink -c` and
`nft list ruleset`, in a network namespace)."""

from __future__ import annotations

import pytest

from pkttables.commands import Options, run_text
from pkttables.compile import dump, linearize
from pkttables.errors import PktError
from pkttables.evaluate import EvalContext, evaluate_rule
from pkttables.lang import parse
from pkttables.model import Ruleset
from pkttables.render.text import list_ruleset


def _instrs(rule: str, family: str) -> list[str]:
    r = parse(f"add rule {family} t c {rule}").commands[0].obj.rule
    ctx = EvalContext(family, "t", "c", {})
    return [ln.strip() for ln in dump(linearize(evaluate_rule(r, ctx))).splitlines()
            if ln.strip().startswith("[")]


# nft 1.0.6 --debug=netlink, identical in ip, ip6, inet, bridge and netdev
MTU = ["[ rt load tcpmss => reg 1 ]", "[ cmp eq reg 1 0x000005dc ]"]


@pytest.mark.parametrize("family", ["ip", "ip6", "inet", "bridge", "netdev"])
@pytest.mark.parametrize("rule", ["rt ip6 mtu 1500", "rt ip mtu 1500", "rt mtu 1500"])
def test_rt_family_mtu_is_tcpmss(family, rule):
    assert _instrs(rule, family) == MTU


def test_rt_family_on_classid_and_ipsec():
    assert _instrs("rt ip6 classid 0x10001", "ip") == [
        "[ rt load classid => reg 1 ]", "[ cmp eq reg 1 0x00010001 ]"]
    assert _instrs("rt ip ipsec exists", "ip") == [
        "[ rt load ipsec => reg 1 ]", "[ cmp eq reg 1 0x00000001 ]"]
    assert _instrs("rt ip6 ipsec missing", "ip") == [
        "[ rt load ipsec => reg 1 ]", "[ cmp eq reg 1 0x00000000 ]"]


def test_rt_family_still_selects_the_nexthop():
    assert _instrs("rt ip6 nexthop ::1", "inet")[0] == "[ rt load nexthop6 => reg 1 ]"
    assert _instrs("rt ip nexthop 10.0.0.1", "inet")[0] == "[ rt load nexthop4 => reg 1 ]"


def test_rt_ip6_mtu_lists_as_rt_mtu():
    text = ("table inet t {\n\tchain c {\n"
            "\t\ttcp flags syn tcp option maxseg size set rt ip6 mtu\n"
            "\t\trt ip6 mtu 1500\n\t\trt ip mtu 1400\n\t}\n}\n")
    rs = run_text(text, Ruleset()).ruleset
    # nft 1.0.6's listing of the same file
    assert list_ruleset(rs) == ("table inet t {\n\tchain c {\n"
                                "\t\ttcp flags syn tcp option maxseg size set rt mtu\n"
                                "\t\trt mtu 1500\n\t\trt mtu 1400\n\t}\n}\n")


@pytest.mark.parametrize("rule", ["rt ip6 mtu set 1", "rt mtu set 1"])
def test_rt_is_not_a_statement(rule):
    # nft 1.0.6: "syntax error, unexpected set" (no rt statement exists)
    rs = run_text("add table ip t; add chain ip t c", Ruleset()).ruleset
    with pytest.raises(PktError) as ei:
        run_text(f"add rule ip t c {rule}", rs, Options(dry_run=True))
    assert "syntax error, unexpected set" in ei.value.render()
