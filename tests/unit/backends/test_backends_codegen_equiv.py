"""The generated-code backend against the reference interpreter.

Random rulesets (rule texts through the real pipeline: parse, evaluate, compile, load)
and random packets run through ``ChainRuntime`` (the interpreter) and ``CodegenRuntime``
side by side; for every packet the hook verdict, the deciding rule, the context events
(log, reject, queue), the packet's mark/priority and, at the end, every counter, limit
and quota must be equal.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pkttables.backends.codegen import CodegenRuntime
from pkttables.commands import run_text
from pkttables.errors import PktError
from pkttables.model import Ruleset
from pkttables.packet import Packet
from pkttables.stack.host import Host
from pkttables.testing import packets as B
from pkttables.vm.chain import LoadedRuleset
from pkttables.vm.context import HookNotImplemented
from pkttables.vm.stateful_impl import ChainRuntime

HOST = Host.from_toml('[[interface]]\nname = "eth0"\nmac = "02:00:00:00:00:01"\n'
                      'addresses = ["192.0.2.1/24", "2001:db8::1/64"]\n'
                      '[[interface]]\nname = "wan0"\nmac = "02:00:00:00:01:01"\n'
                      'addresses = ["203.0.113.2/24"]\n', "<test>")

ADDRS = ["10.0.0.0/8", "10.1.2.0/24", "10.1.2.3", "192.168.0.0/16", "0.0.0.0/1", "10.1.2.128/25"]
HOSTS = ["10.1.2.3", "10.1.2.200", "10.9.9.9", "11.1.1.1", "192.168.1.7", "172.16.0.1"]
PORTS = [22, 53, 80, 443, 1000, 1024, 5000, 65535]

match = st.one_of(
    st.builds("ip saddr {}".format, st.sampled_from(ADDRS)),
    st.builds("ip daddr != {}".format, st.sampled_from(ADDRS)),
    st.builds(lambda a: "ip saddr { " + ", ".join(sorted(set(a))) + " }",
              st.lists(st.sampled_from(["10.1.2.3", "11.1.1.1", "192.168.0.0/16", "10.9.0.0/16"]),
                       min_size=1, max_size=3)),
    st.sampled_from(["meta l4proto tcp", "meta l4proto udp", "ip protocol icmp", "meta l4proto { tcp, udp }",
                     "meta nfproto ipv4", "meta nfproto ipv6", "meta protocol ip", "ip6 nexthdr tcp",
                     "iifname eth0", "iifname wan0", "iifname != eth0", "iif eth0", "iifname \"et*\"",
                     "meta mark 1", "meta mark 0", "meta mark != 1", "meta mark 1-3", "meta mark & 0x2 == 0x2",
                     "tcp flags syn", "tcp flags & (syn|ack) == syn", "ip ttl < 64", "ip ttl 64",
                     "ip dscp 0", "ct state established", "ct state new,established", "ct state invalid",
                     "ct state != new", "ct mark 5", "meta length > 60", "udp length 8",
                     "ip saddr . tcp dport { 10.1.2.3 . 22, 11.1.1.1 . 80 }",
                     "ip6 saddr 2001:db8::/32", "tcp dport != { 22, 80 }", "@th,16,16 22",
                     "ip saddr . ip daddr { 10.1.2.3 . 10.9.9.9 }", "meta pkttype host",
                     "tcp option maxseg exists", "ip option rr exists"]),
    st.builds("th dport {}".format, st.sampled_from(PORTS)),
    st.builds(lambda a, b: f"th sport {min(a, b)}-{max(a, b)}", st.sampled_from(PORTS), st.sampled_from(PORTS)),
    st.builds(lambda a, b: f"tcp dport != {min(a, b)}-{max(a, b)}", st.sampled_from(PORTS), st.sampled_from(PORTS)),
    st.builds(lambda ps: "th dport { " + ", ".join(map(str, sorted(set(ps)))) + " }",
              st.lists(st.sampled_from(PORTS), min_size=1, max_size=4)),
    st.just("th sport { 22, 1000-2000, 5000 }"),
)
stmt = st.sampled_from(["counter", "meta mark set 1", "meta mark set 3", "meta priority set 2",
                        "limit rate 2/second burst 2 packets", "limit rate over 1/second",
                        "quota until 200 bytes", "quota over 300 bytes", "log prefix \"x \"",
                        "meta mark set ip ttl", "ct mark set 4", "meta nftrace set 0"])


def verdicts(jump_targets):
    vs = ["accept", "drop", "continue", "return", "",
          "tcp dport vmap { 22 : accept, 80 : drop, 443 : return }",
          "meta l4proto vmap { tcp : drop, udp : accept, icmp : continue }",
          "reject", "queue num 3", "queue num 4 bypass"]
    vs += [f"jump {t}" for t in jump_targets] + [f"goto {t}" for t in jump_targets]
    return st.sampled_from(vs)


@st.composite
def rule(draw, jump_targets):
    parts = draw(st.lists(match, max_size=3)) + draw(st.lists(stmt, max_size=2))
    v = draw(verdicts(jump_targets))
    if v.endswith("}") and "vmap" in v:
        return " ".join(parts + [v])
    return " ".join(parts + ([v] if v else [])) or "counter"


@st.composite
def ruleset_text(draw):
    names = ["c2", "c1"]   # a chain only jumps to the chains after it: no loops
    chains = {}
    for i, name in enumerate(names):
        chains[name] = draw(st.lists(rule(names[:i]), max_size=5))
    base = draw(st.lists(rule(names), min_size=1, max_size=8))
    policy = draw(st.sampled_from(["accept", "drop"]))
    hook = draw(st.sampled_from(["input", "prerouting"]))
    text = "table inet t {\n"
    for name, rules in chains.items():
        text += f" chain {name} {{\n" + "".join(f"  {r}\n" for r in rules) + " }\n"
    text += f" chain base {{\n  type filter hook {hook} priority 0; policy {policy};\n"
    text += "".join(f"  {r}\n" for r in base) + " }\n}\n"
    return text, hook


@st.composite
def frame(draw):
    src, dst = draw(st.sampled_from(HOSTS)), draw(st.sampled_from(HOSTS))
    kind = draw(st.sampled_from(["tcp", "tcp", "udp", "icmp", "trunc", "frag", "v6", "opts", "arp"]))
    sp, dp = draw(st.sampled_from(PORTS)), draw(st.sampled_from(PORTS))
    ttl = draw(st.sampled_from([1, 63, 64, 200]))
    if kind == "udp":
        ip = B.ipv4(src, dst, B.udp(sp, dp), ttl=ttl)
    elif kind == "icmp":
        ip = B.ipv4(src, dst, B.icmp_echo(sp, dp), ttl=ttl)
    elif kind == "v6":
        return B.ether("02:00:00:00:00:01", "02:00:00:00:00:02",
                       B.ipv6("2001:db8::1", "2001:db8::2", B.tcp(sp, dp)))
    elif kind == "arp":
        return B.arp_request("02:00:00:00:00:02", src, dst)
    elif kind == "opts":
        ip = B.ipv4(src, dst, B.tcp(sp, dp, flags=B.TCP_ACK), ttl=ttl, options=b"\x07\x07\x04\x00\x00\x00\x00\x00")
    else:
        ip = B.ipv4(src, dst, B.tcp(sp, dp, flags=draw(st.sampled_from([B.TCP_SYN, B.TCP_ACK]))), ttl=ttl)
    f = B.ether("02:00:00:00:00:01", "02:00:00:00:00:02", ip)
    if kind == "trunc":
        f = f[: draw(st.integers(14, 40))]
    elif kind == "frag":
        b = bytearray(f)
        b[20:22] = (0x0001).to_bytes(2, "big")
        f = bytes(b)
    return f


def _ct_get(ctx, instr, pkt):
    """A deterministic stand-in for conntrack: state and mark from the packet's bytes."""
    from pkttables.proto import CtKeyId
    h = sum(pkt.buf) if len(pkt.buf) else 0
    if instr.key == CtKeyId.STATE:
        return (1 << (h % 4)).to_bytes(4, "little")
    if instr.key == CtKeyId.MARK:
        return None if h % 5 == 0 else (h % 7).to_bytes(4, "little")
    raise HookNotImplemented("ct key")


def _ct_set(instr, pkt, value):
    pkt.priority ^= int.from_bytes(value, "little")


def make(cls, rs):
    rt = cls(LoadedRuleset(rs), host=HOST, seed=7, queue_listeners={3})
    rt.ctx.ct_get = lambda instr, pkt, _c=rt.ctx: _ct_get(_c, instr, pkt)
    rt.ctx.ct_set = _ct_set
    return rt


def run_one(rt, hook, f, iif, now):
    pkt = Packet(f, iif=iif)
    pkt.mark = len(f) % 4
    fam = "ip6" if pkt.nfproto == 10 else "ip"

    class St:
        events: list = []
    st_ = St()
    st_.events = []
    try:
        hv = rt.run_hook(fam, hook, pkt, now=now, state=st_)
        out = (hv.verdict, hv.reason, getattr(hv, "queue_num", None))
    except (HookNotImplemented, PktError) as e:
        out = ("raised", type(e).__name__, str(e))
    return out, st_.events, pkt.mark, pkt.priority, bytes(pkt.buf)


def load(text):
    try:
        rs = run_text(text, Ruleset()).ruleset
        LoadedRuleset(rs)
    except PktError:
        assume(False)
    return rs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ruleset_text(), st.lists(st.tuples(frame(), st.sampled_from(["eth0", "wan0"])), min_size=1, max_size=10))
def test_codegen_equals_interpreter(rs_hook, traffic):
    text, hook = rs_hook
    rs = load(text)
    ref, gen = make(ChainRuntime, rs), make(CodegenRuntime, rs)
    for i, (f, iif) in enumerate(traffic):
        a = run_one(ref, hook, f, iif, now=i * 0.3)
        b = run_one(gen, hook, f, iif, now=i * 0.3)
        assert a == b, (text, i, gen.compiled.source())
    assert ref.state.counters == gen.state.counters
    assert ref.state.quotas == gen.state.quotas
    assert ref.state.limits == gen.state.limits
