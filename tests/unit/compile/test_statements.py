"""Statements beyond matches: bytecode pinned to what nft 1.0.6 printed with
``--debug=netlink`` (captured in a network namespace, table ``t``, chain ``c``, with
the sets and objects below declared)."""

from __future__ import annotations

import pytest

from pkttables.compile import dump, linearize
from pkttables.errors import EvalError, PktError
from pkttables.evaluate import EvalContext, evaluate_rule, set_info
from pkttables.lang import parse

SETS = {
    "s": set_info("s", "type", "ipv4_addr", None, "dynamic,timeout", "ip"),
    "s2": set_info("s2", "type", "ipv4_addr . inet_service", None, "dynamic", "ip"),
    "m": set_info("m", "type", "ipv4_addr", "mark", "dynamic,timeout", "ip"),
    "cm": set_info("cm", "type", "ipv4_addr", "counter", None, "ip"),
}
OBJECTS = {"counter": frozenset({"c1"}), "ct helper": frozenset({"h1"}), "secmark": frozenset({"sm"})}


def _dump(rule: str, family: str = "ip") -> list[str]:
    r = parse(f"add rule {family} t c {rule}").commands[0].obj.rule
    ctx = EvalContext(family, "t", "c", SETS, objects=OBJECTS, ifindex=lambda n: {"lo": 1}.get(n))
    return [ln.strip() for ln in dump(linearize(evaluate_rule(r, ctx))).splitlines()]


def _instrs(rule: str, family: str = "ip") -> list[str]:
    return [ln for ln in _dump(rule, family) if ln.startswith("[")]


GOLDEN = [
    ("ip", "update @s { ip saddr timeout 10s limit rate 1/second counter }", [
        "[ payload load 4b @ network header + 12 => reg 1 ]",
        "[ dynset update reg_key 1 set s timeout 10000ms expr [ limit rate 1/second burst 5 type packets "
        "flags 0x0 ] expr [ counter pkts 0 bytes 0 ] ]"]),
    ("ip", "add @s { ip saddr limit rate over 10 mbytes/second burst 1 mbytes quota 10 mbytes }", [
        "[ payload load 4b @ network header + 12 => reg 1 ]",
        "[ dynset add reg_key 1 set s expr [ limit rate 10485760/second burst 1048576 type bytes flags 0x1 ] "
        "expr [ quota bytes 10485760 consumed 0 flags 0 ] ]"]),
    ("ip", "update @m { ip saddr : 0x3 }", [
        "[ payload load 4b @ network header + 12 => reg 1 ]",
        "[ immediate reg 2 0x00000003 ]",
        "[ dynset update reg_key 1 set m sreg_data 2 ]"]),
    ("ip", "add @s2 { ip saddr . tcp dport }", [
        "[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
        "[ payload load 4b @ network header + 12 => reg 1 ]",
        "[ payload load 2b @ transport header + 2 => reg 9 ]",
        "[ dynset add reg_key 1 set s2 ]"]),
    ("ip", "update @s { ip saddr counter } drop", [
        "[ payload load 4b @ network header + 12 => reg 1 ]",
        "[ dynset update reg_key 1 set s expr [ counter pkts 0 bytes 0 ] ]",
        "[ immediate reg 0 drop ]"]),
    ("ip", "update @s { ip saddr timeout 0s }", [
        "[ payload load 4b @ network header + 12 => reg 1 ]", "[ dynset update reg_key 1 set s ]"]),
    ("ip", "delete @s { ip saddr }", [
        "[ payload load 4b @ network header + 12 => reg 1 ]", "[ dynset delete reg_key 1 set s ]"]),
    ("ip", "meter foo size 1234 { ip saddr . tcp dport limit rate 10/second }", [
        "[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
        "[ payload load 4b @ network header + 12 => reg 1 ]",
        "[ payload load 2b @ transport header + 2 => reg 9 ]",
        "[ dynset add reg_key 1 set foo expr [ limit rate 10/second burst 5 type packets flags 0x0 ] ]"]),
    ("ip", "meter foo2 { ip saddr timeout 10s limit rate 10/second }", [
        "[ payload load 4b @ network header + 12 => reg 1 ]",
        "[ dynset update reg_key 1 set foo2 timeout 10000ms expr [ limit rate 10/second burst 5 type packets "
        "flags 0x0 ] ]"]),
    ("ip", "counter name ip saddr map @cm", [
        "[ payload load 4b @ network header + 12 => reg 1 ]", "[ objref sreg 1 set cm ]"]),
    ("ip", 'ip saddr @s counter name "c1"', [
        "[ payload load 4b @ network header + 12 => reg 1 ]", "[ lookup reg 1 set s ]",
        "[ objref type 1 name c1 ]"]),
    ("ip", 'ct helper set "h1"', ["[ objref type 3 name h1 ]"]),
    ("ip", 'ct helper set tcp dport map { 21 : "h1" }', [
        "[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
        "[ payload load 2b @ transport header + 2 => reg 1 ]", "[ objref sreg 1 set __objmap%d ]"]),
    ("ip", 'meta secmark set "sm"', ["[ objref type 8 name sm ]"]),
    ("ip", "ct secmark set meta secmark", ["[ meta load secmark => reg 1 ]", "[ ct set secmark with reg 1 ]"]),
    ("ip", "ct label set 127", [
        "[ immediate reg 1 0x00000000 0x00000000 0x00000000 0x80000000 ]", "[ ct set label with reg 1 ]"]),
    ("ip", "ct id 12345", ["[ ct load unknown => reg 1 ]", "[ cmp eq reg 1 0x39300000 ]"]),
    ("ip", "ip protocol tcp flow add @ft", [
        "[ payload load 1b @ network header + 9 => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
        "[ flow_offload flowtable ft ]"]),
    ("ip", "meta l4proto 17 tproxy to 1.2.3.4", [
        "[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000011 ]",
        "[ immediate reg 1 0x04030201 ]", "[ tproxy ip addr reg 1 ]"]),
    ("inet", "meta l4proto 17 tproxy to :50080", [
        "[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000011 ]",
        "[ immediate reg 1 0x0000a0c3 ]", "[ tproxy port reg 1 ]"]),
    ("ip", 'dup to 192.168.2.1 device "lo"', [
        "[ immediate reg 1 0x0102a8c0 ]", "[ immediate reg 2 0x00000001 ]",
        "[ dup sreg_addr 1 sreg_dev 2 ]"]),
    ("netdev", 'fwd ip to 192.168.2.200 device "lo"', [
        "[ immediate reg 1 0x00000001 ]", "[ immediate reg 2 0xc802a8c0 ]",
        "[ fwd sreg_dev 1 sreg_addr 2 nfproto 2 ]"]),
    ("ip", "reset tcp option mptcp", ["[ exthdr reset tcpopt 30 ]"]),
    ("ip", "synproxy mss 1460 wscale 5 timestamp sack-perm", ["[ synproxy mss 1460 wscale 5 ]"]),
    ("ip", "snat ip to ip saddr map { 10.141.11.4 : 192.168.2.2-192.168.2.4 }", [
        "[ payload load 4b @ network header + 12 => reg 1 ]", "[ lookup reg 1 set __map%d dreg 1 ]",
        "[ nat snat ip addr_min reg 1 addr_max reg 9 ]"]),
    ("ip", "dnat ip to ip saddr . tcp dport map { 192.168.1.2 . 80 : 10.141.10.0/24 . 8888-8999 }", [
        "[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
        "[ payload load 4b @ network header + 12 => reg 1 ]",
        "[ payload load 2b @ transport header + 2 => reg 9 ]",
        "[ lookup reg 1 set __map%d dreg 1 ]",
        "[ nat dnat ip addr_min reg 1 addr_max reg 10 proto_min reg 9 proto_max reg 11 ]"]),
]


@pytest.mark.parametrize("family,rule,expected", GOLDEN, ids=[g[1] for g in GOLDEN])
def test_bytecode_like_nft(family, rule, expected):
    assert _instrs(rule, family) == expected


def test_objmap_declaration():
    lines = _dump('ct helper set tcp dport map { 21 : "h1" }')
    assert lines[0] == "__objmap%d t 43 size 1"   # nft 1.0.6 declares the element count
    assert lines[2] == "element 00001500  : 0 [end]"


def test_meter_declares_its_set():
    lines = _dump("meter foo size 1234 { ip saddr . tcp dport limit rate 10/second }")
    assert lines[:2] == ["foo t 21 size 1234", "foo t 0"]
    assert _dump("meter foo2 { ip saddr timeout 10s limit rate 10/second }")[0] == "foo2 t 31"


def test_catchall_element():
    lines = _dump("ip saddr vmap { 1.1.1.1 : drop, * : accept }")
    elems = " ".join(lines[2].split())
    assert elems == "element 01010101 : drop 0 [end] element : accept 2 [end]"


def test_nat_map_interval_data():
    lines = _dump("dnat ip to ip saddr . tcp dport map { 192.168.1.2 . 80 : 10.141.10.0/24 . 8888-8999 }")
    assert " ".join(lines[2].split()) == "element 0201a8c0 00005000 : 000a8d0a 0000b822 ff0a8d0a 00002723 0 [end]"


ERRORS = [
    ("ip", "tproxy to :50080", "Transparent proxy support requires transport protocol match"),
    ("inet", "meta l4proto 17 tproxy to 192.0.2.1", "ip or ip6 must be specified with address for inet tables."),
    ("ip", 'ip saddr 1.2.3.4 counter name "nope"', "Could not process rule: No such file or directory"),
    ("ip", "reset tcp option 256", "value too large"),
    ("ip", "accept counter", "Statement after terminal statement has no effect"),
    ("ip", "queue num 65536", "Value 65536 exceeds valid range 0-65535"),
    ("ip", "ip saddr @ss drop", "No such file or directory; did you mean set \u2018s\u2019 in table ip \u2018t\u2019?"),
]


@pytest.mark.parametrize("family,rule,message", ERRORS, ids=[e[1] for e in ERRORS])
def test_errors_like_nft(family, rule, message):
    with pytest.raises(PktError) as ei:
        _dump(rule, family)
    assert ei.value.diagnostics[0].message == message


def test_last_is_not_nft_1_0_6():
    # nft 1.0.6 has no `last` statement
    with pytest.raises(PktError) as ei:
        _dump("last")
    assert ei.value.diagnostics[0].message.startswith("syntax error")


def test_continue_is_not_terminal():
    assert _instrs("continue counter")[-1] == "[ counter pkts 0 bytes 0 ]"


def test_unknown_objects_unchecked_without_a_table():
    r = parse('add rule ip t c counter name "anything"').commands[0].obj.rule
    prog = linearize(evaluate_rule(r, EvalContext("ip")))
    assert "[ objref type 1 name anything ]" in dump(prog)


def test_misspell_hint_threshold():
    from pkttables.evaluate._eval import misspell_closest
    assert misspell_closest("set33", ["set1", "set3"]) == 1
    assert misspell_closest("abcdef", ["xyz"]) is None
    with pytest.raises(EvalError):
        _dump("ip saddr @zzzzzz drop")


def test_programs_hold_vm_instructions():
    """linearize emits pkttables.vm classes: what is stored is what the interpreter runs,
    and the vm's own dump parser reads the compiler's dump back to the same objects."""
    from pkttables import vm
    for family, rule, _ in GOLDEN:
        r = parse(f"add rule {family} t c {rule}").commands[0].obj.rule
        ctx = EvalContext(family, "t", "c", SETS, objects=OBJECTS, ifindex=lambda n: {"lo": 1}.get(n))
        prog = linearize(evaluate_rule(r, ctx))
        assert all(isinstance(i, vm.Instr) for i in prog.instrs)
        # (dumps print whole words, so lengths are not part of the round trip)
        assert [vm.parse_instr(i.dump()).dump() for i in prog.instrs] == [i.dump() for i in prog.instrs]


def test_vm_instruction_fields():
    from pkttables import vm
    from pkttables.proto import Base
    r = parse("add rule ip t c tcp dport 22 meta mark set 1").commands[0].obj.rule
    instrs = linearize(evaluate_rule(r, EvalContext("ip"))).instrs
    assert instrs[2] == vm.PayloadLoad(Base.TRANSPORT_HEADER, 2, 2, 1)
    assert instrs[3] == vm.Cmp(vm.CmpOp.EQ, 1, b"\x00\x16")
    assert isinstance(instrs[-1], vm.MetaSet) and instrs[-1].sreg == 1


def test_anonymous_vmap_jump_elements_dump_as_nft():
    # nft 1.0.6 --debug=netlink: "element 00001600  : jump -> d 0 [end]"
    from pkttables.commands import Options, run_text
    from pkttables.model import Ruleset

    out = run_text("add table ip t; add chain ip t d; add chain ip t c; "
                   "add rule ip t c tcp dport vmap { 22 : jump d }", Ruleset(), Options(debug={"netlink"})).output
    assert "\telement 00001600  : jump -> d 0 [end]" in out
    listing = run_text("add table ip t; add chain ip t d; add chain ip t c; "
                       "add rule ip t c tcp dport vmap { 22 : jump d }; list chain ip t c", Ruleset()).output
    assert "tcp dport vmap { 22 : jump d }" in listing
