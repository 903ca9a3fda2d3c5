"""Sets from the model, on the VM's packet path, and across commits.

Rulesets are loaded with the commands executor (the model's Set/Element contract),
bound with ``instances_from_model`` and run by the vm's ChainRuntime at ``ip input``:
what a packet finds, what element counters say afterwards, what dynset writes, and
what a new generation keeps."""

from __future__ import annotations

import pytest

from pkttables.commands import run_text
from pkttables.model import Ruleset
from pkttables.packet import Packet
from pkttables.packet.packet import LinkType
from pkttables.sets import SetFlags, SetInstance, SetSpec, instances_from_model, spec_from_model
from pkttables.testing.packets import ipv4, tcp, udp
from pkttables.vm.chain import LoadedRuleset
from pkttables.vm.context import EvalContext, SetMatch
from pkttables.vm.regs import Regs, Verdict, VerdictData
from pkttables.vm.stateful_impl import ChainRuntime

IP = lambda s: bytes(int(x) for x in s.split("."))  # noqa: E731

RULESET = """
table ip t {
  counter c1 {
  }
  set s4 {
    type ipv4_addr
    flags interval
    elements = { 10.0.0.0/8, 192.168.1.1 }
  }
  set cc {
    type ipv4_addr . inet_service
    flags interval
    counter
    elements = { 10.0.0.0/8 . 10-20, 1.2.3.4 . 80 }
  }
  set seen {
    type ipv4_addr
    size 2
    flags dynamic,timeout
    timeout 30s
  }
  map vm {
    type inet_service : verdict
    elements = { 22 : accept, 80 : jump c }
  }
  map om {
    type ipv4_addr : counter
    elements = { 1.1.1.1 : "c1" }
  }
  map dm {
    type ipv4_addr : mark
    elements = { 1.1.1.1 : 5, * : 7 }
  }
  chain c {
    counter drop
  }
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr . tcp dport @cc drop
    add @seen { ip saddr } counter
    meta mark set ip saddr map @dm
    counter name ip saddr map @om
    tcp dport vmap @vm
  }
}
"""


def load(text=RULESET, previous=None, now=0.0):
    rs = run_text(text, Ruleset()).ruleset
    sets = instances_from_model(rs, now=now, previous=previous)
    return rs, sets


def pkt(src, dport, proto="tcp"):
    seg = tcp(40000, dport) if proto == "tcp" else udp(40000, dport)
    return Packet(ipv4(src, "192.0.2.1", seg), LinkType.RAW, iif="eth0")


def test_specs_follow_the_model_contract():
    rs, sets = load()
    cc = sets[("ip", "t", "cc")]
    assert cc.kind == "pipapo" and cc.spec.klen == 8 and cc.spec.field_len == (4, 2)
    assert cc.spec.flags & SetFlags.CONCAT and cc.spec.flags & SetFlags.INTERVAL
    assert sets[("ip", "t", "s4")].kind == "rbtree"
    seen = sets[("ip", "t", "seen")]
    assert seen.kind == "hash" and seen.spec.timeout == 30000 and seen.spec.size == 2
    assert seen.spec.flags & SetFlags.EVAL and seen.spec.flags & SetFlags.TIMEOUT
    assert sets[("ip", "t", "om")].obj_kind == "counter"
    vm = sets[("ip", "t", "vm")]
    assert vm.lookup(b"\x00P") == (True, VerdictData(Verdict.JUMP, "c"))
    dm = sets[("ip", "t", "dm")]
    assert dm.spec.dlen == 4 and dm.match(IP("9.9.9.9"), 0.0) == (True, b"\x07\0\0\0", False)
    assert isinstance(cc, SetMatch)
    # every element is there, in kernel form
    assert [v.key for v in cc.elements()] == [IP("10.0.0.0") + b"\x00\x0a\0\0",
                                              IP("1.2.3.4") + b"\x00\x50\0\0"]
    assert spec_from_model(rs.tables[("ip", "t")].sets["s4"]).klen == 4


def test_anonymous_sets_are_instances_too():
    rs, sets = load("table ip t { chain c { tcp dport { 1, 2, 3 } drop; ip saddr { 10.0.0.0/8, 192.168.0.0/16 } drop; }; }")
    anon = {k: v for k, v in sets.items() if k[2].startswith("__set")}
    assert len(anon) == 2
    kinds = sorted(v.kind for v in anon.values())
    assert kinds == ["bitmap", "rbtree"]


def run(rs, sets, packets, now=0.0, runtime=None):
    if runtime is None:
        runtime = ChainRuntime(LoadedRuleset(rs, sets=sets))
    else:
        runtime.reload(LoadedRuleset(rs, sets=sets))
    out = []
    for p in packets:
        out.append(runtime.run_hook("ip", "input", p, now=now))
    return runtime, out


def test_packet_path_counts_element_counters_and_applies_maps():
    rs, sets = load()
    p1 = pkt("10.1.2.3", 15)                  # in cc: dropped by the first rule
    rt, (v1,) = run(rs, sets, [p1])
    assert v1.verdict == 0
    cc = sets[("ip", "t", "cc")]
    ctr = cc.get(IP("10.1.2.3") + b"\x00\x0f\0\0").counter
    assert ctr == (1, len(p1.buf))            # skb->len at input: the IP packet
    assert cc.get(IP("1.2.3.4") + b"\x00\x50\0\0").counter == (0, 0)
    # not in cc: the dynset adds the source, the mark map and the vmap decide
    p2 = pkt("1.1.1.1", 22)
    rt, (v2,) = run(rs, sets, [p2], runtime=rt)
    assert int(v2.verdict) == 1 and p2.mark == 5
    assert sets[("ip", "t", "seen")].lookup(IP("1.1.1.1")) == (True, None)
    assert rt.state.object(rt.loaded, "ip", "t", "counter", "c1").packets == 1


def test_dynset_timeout_and_size_break_the_rule():
    rs, sets = load()
    seen = sets[("ip", "t", "seen")]
    rt, _ = run(rs, sets, [pkt("3.3.3.3", 99), pkt("4.4.4.4", 99)], now=1.0)
    assert len(seen) == 2
    def dynset_rule_count():
        (c,) = [c for k, c in rt.state.rule_counters().items() if k[2] == "input"]
        return c.packets
    assert dynset_rule_count() == 2
    # the set is full: a third source BREAKs the dynset rule (its counter stays)
    rt, _ = run(rs, sets, [pkt("1.1.1.1", 99)], now=2.0, runtime=rt)
    assert seen.lookup(IP("1.1.1.1"), 2.0) == (False, None)
    assert dynset_rule_count() == 2
    # an element already there: add leaves it alone, the rule goes on
    rt, _ = run(rs, sets, [pkt("3.3.3.3", 99)], now=2.0, runtime=rt)
    assert dynset_rule_count() == 3
    # 30 s after they were added both have expired (lookup at the packet's now)
    assert seen.match(IP("3.3.3.3"), 30.9) == (True, None, False)
    assert seen.match(IP("3.3.3.3"), 31.0) == (False, None, False)


def test_a_new_generation_keeps_counters_and_packet_path_elements():
    rs, sets = load()
    rt, _ = run(rs, sets, [pkt("10.1.2.3", 15), pkt("5.5.5.5", 99)], now=1.0)
    cc = sets[("ip", "t", "cc")]
    seen = sets[("ip", "t", "seen")]
    text2 = RULESET.replace("1.2.3.4 . 80 }", "1.2.3.4 . 80, 8.8.8.8 . 53 }").replace(
        "10.0.0.0/8, 192.168.1.1", "10.0.0.0/8")
    rs2, sets2 = load(text2, previous=sets, now=2.0)
    assert sets2[("ip", "t", "cc")] is cc and sets2[("ip", "t", "seen")] is seen
    key = IP("10.1.2.3") + b"\x00\x0f\0\0"
    assert cc.get(key).counter[0] == 1                     # counter survived the commit
    assert cc.lookup(IP("8.8.8.8") + b"\x00\x35\0\0") == (True, None)   # added by the model
    assert seen.lookup(IP("5.5.5.5")) == (True, None)      # added by the packet path
    s4 = sets2[("ip", "t", "s4")]
    assert s4.lookup(IP("192.168.1.1")) == (False, None)  # deleted by the model
    assert s4.lookup(IP("10.9.9.9")) == (True, None)
    # the packet path goes on counting in the same element
    rt, _ = run(rs2, sets2, [pkt("10.1.2.3", 15)], now=3.0, runtime=rt)
    assert cc.get(key).counter[0] == 2


def test_changed_spec_or_handle_is_a_new_instance():
    rs, sets = load()
    old = sets[("ip", "t", "s4")]
    old.model_handle = -1                       # as if the set had been deleted and re-created
    _, sets2 = load(previous=sets)
    assert sets2[("ip", "t", "s4")] is not old
    assert sets2[("ip", "t", "cc")] is sets[("ip", "t", "cc")]


# ------------------------------------------------------------------ match semantics

def test_match_inverted_and_catchall_as_linux_6_18():
    s = SetInstance(SetSpec(4, flags=SetFlags.MAP, dlen=4))
    s.add(IP("1.1.1.1"), data=b"\x01\0\0\0")
    assert s.match(IP("1.1.1.1"), 0, invert=True) == (False, None, False)
    assert s.match(IP("2.2.2.2"), 0, invert=True) == (True, None, False)
    s.add(None, data=b"\x09\0\0\0", catchall=True)
    # kernel 6.18: the catch-all is tried after the inversion says "not found"
    assert s.match(IP("1.1.1.1"), 0, invert=True) == (True, b"\x09\0\0\0", False)
    assert s.match(IP("2.2.2.2"), 0) == (True, b"\x09\0\0\0", False)


def test_lookup_instruction_uses_match_with_now_and_length():
    from pkttables.vm.lookup import Lookup
    from pkttables.vm.stateful import Quota
    s = SetInstance(SetSpec(4, flags=SetFlags.TIMEOUT, timeout=1000))
    s.add(IP("1.1.1.1"), exprs=(Quota(bytes=100, consumed=0, flags=0),), now=0.0)
    ctx = EvalContext(sets={"s": s}, now=0.5)
    regs = Regs()
    regs.store(1, IP("1.1.1.1"))
    p = pkt("1.1.1.1", 1)
    ins = Lookup(1, "s")
    ins.eval(regs, p, ctx)
    assert regs.verdict == Verdict.CONTINUE       # 40 bytes of 100
    regs.verdict = Verdict.CONTINUE
    for _ in range(2):
        ins.eval(regs, p, ctx)
    assert regs.verdict == Verdict.BREAK          # 120 >= 100: the element's quota BREAKs
    ctx.now = 1.0
    regs.verdict = Verdict.CONTINUE
    s2 = SetInstance(SetSpec(4, flags=SetFlags.TIMEOUT, timeout=1000))
    s2.add(IP("1.1.1.1"), now=0.0)
    ctx.sets["s"] = s2
    ins.eval(regs, p, ctx)
    assert regs.verdict == Verdict.BREAK          # expired at now = 1.0 exactly
