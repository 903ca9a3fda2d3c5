"""datapath.replay: the Simulator on small captures (host stack, conntrack, the
backend seam, timers, NAT detection, errors) and the Space-Saving summary."""

from __future__ import annotations

import io
import tracemalloc
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.capture import CaptureRecord, LinkType, PcapngWriter, PcapWriter, read_capture
from pkttables.datapath import (Decision, PacketResult, RunnerUnavailable, Simulator, TimerResult,
                                load_ruleset, needs_conntrack)
from pkttables.datapath.replay import event_json, flow_of
from pkttables.datapath.summary import SpaceSaving, Summary
from pkttables.errors import PktError
from pkttables.stack.hooks import HookVerdict, Verdict
from pkttables.stack.host import Host
from pkttables.testing.packets import TCP_SYN, ether, icmp_echo, ipv4, ipv6, tcp, udp

T0 = 1_700_000_000 * 10**9
ROUTER = """
[sysctl]
"net.ipv4.ip_forward" = 1

[[interface]]
name = "lan0"
mac = "02:00:00:00:00:01"
addresses = ["192.168.1.1/24", "fd00:1::1/64"]

[[interface]]
name = "wan0"
mac = "02:00:00:00:01:01"
addresses = ["203.0.113.2/24"]

[[route]]
to = "0.0.0.0/0"
via = "203.0.113.1"
dev = "wan0"

[[neighbor]]
address = "203.0.113.1"
mac = "02:00:00:00:01:fe"
dev = "wan0"

[[neighbor]]
address = "192.168.1.10"
mac = "02:00:00:00:00:10"
dev = "lan0"
"""
LAN, PC = "02:00:00:00:00:01", "02:00:00:00:00:10"


def router() -> Host:
    return Host.from_toml(ROUTER, "<router>")


def rec(i: int, data: bytes, ifname: str | None = "lan0", link: int = LinkType.ETHERNET,
        ts: int | None = None) -> CaptureRecord:
    return CaptureRecord(T0 + i * 10_000_000 if ts is None else ts, data, len(data), link, ifname, 0, None, i)


def fwd(sport=4000, dport=53, payload=b"q") -> bytes:
    return ether(LAN, PC, ipv4("192.168.1.10", "9.9.9.9", udp(sport, dport, payload)))


def to_router(seg) -> bytes:
    return ether(LAN, PC, ipv4("192.168.1.10", "192.168.1.1", seg))


def packets(results) -> list[PacketResult]:
    return [r for r in results if isinstance(r, PacketResult)]


def ruleset(text: str):
    from pkttables.commands import run_text
    from pkttables.model import Ruleset
    # one statement per line, as in a file
    return run_text(text.replace("; ", "\n").replace("{ ", "{\n").replace(" }", "\n}"), Ruleset()).ruleset


# ------------------------------------------------------------------ host stack only
def test_host_stack_verdicts_hooks_and_emissions():
    sim = Simulator(router(), None)
    res = packets(sim.replay([rec(0, fwd()), rec(1, to_router(udp(5, 9, b"x"))),
                              rec(2, to_router(tcp(5, 22, TCP_SYN)))]))
    assert [r.verdict for r in res] == ["accept", "local", "local"]
    assert res[0].hooks == ("netdev ingress", "ip prerouting", "ip forward", "ip postrouting", "netdev egress")
    assert [(e.oif, e.kind, e.index) for e in res[0].emitted] == [("wan0", "packet", 0)]
    assert [e.kind for e in res[1].emitted] == ["icmp-3-3"]
    assert [e.kind for e in res[2].emitted] == ["tcp-reset"]
    assert [e.index for r in res for e in r.emitted] == [0, 1, 2]
    assert res[0].ct is None and res[0].rule is None and res[0].nat is None
    assert str(res[0].flow) == "udp 192.168.1.10:4000 -> 9.9.9.9:53"
    # the forwarded frame: TTL decremented, for the gateway's MAC
    out = res[0].emitted[0].data
    assert out[:6] == bytes.fromhex("0200000001fe") and out[22] == 63
    assert res[1].time_ns == T0 + 10_000_000 and res[1].emitted[0].time_ns == res[1].time_ns


def test_replay_is_a_generator_and_deterministic_with_seed():
    recs = [rec(i, to_router(udp(100 + i, 9, b"x"))) for i in range(4)]
    gen = Simulator(router(), None, seed=3).replay(recs)
    assert iter(gen) is gen
    a = [(r.verdict, tuple(e.data for e in r.emitted)) for r in gen]
    b = [(r.verdict, tuple(e.data for e in r.emitted)) for r in Simulator(router(), None, seed=3).replay(recs)]
    c = [(r.verdict, tuple(e.data for e in r.emitted)) for r in Simulator(router(), None, seed=4).replay(recs)]
    assert a == b
    assert a != c      # the IPv4 ID of the ICMP errors comes from the seed


def test_local_sends_and_raw_ip_records_get_the_right_framing():
    host = router()
    l3 = ipv4("192.168.1.1", "192.168.1.10", udp(7, 7, b"hi"))
    raw_in = ipv4("192.168.1.10", "192.168.1.1", icmp_echo(1, 1, b"p"))
    res = packets(Simulator(host, None).replay([rec(0, l3, "local", LinkType.RAW),
                                                rec(1, raw_in, None, LinkType.RAW)], iif="lan0"))
    assert res[0].iif == "local" and res[0].verdict == "accept" and res[0].send_error == 0
    assert res[0].hooks[0] == "ip output"
    assert res[1].iif == "lan0" and res[1].verdict == "local"
    assert [e.kind for e in res[1].emitted] == ["icmp-echo-reply"]
    # the reply goes to the neighbour's MAC; the synthesized source MAC is never answered
    assert res[1].emitted[0].data[:6] == bytes.fromhex("020000000010")


def test_ipv6_flow_and_timers_run_on_capture_time():
    # A forwarded packet to a neighbour-less address on lan0 waits for ARP; three probes
    # a second apart, then host unreachable -- emitted by the timers, at their own times.
    sim = Simulator(router(), None)
    first = ether(LAN, PC, ipv4("192.168.1.10", "192.168.1.77", udp(1, 2, b"z"), ttl=9))
    later = to_router(icmp_echo(2, 2))
    out = list(sim.replay([rec(0, first), rec(1, later, ts=T0 + 5 * 10**9)]))
    kinds = [type(r).__name__ for r in out]
    assert kinds[0] == "PacketResult" and kinds[-1] == "PacketResult"
    timers = [r for r in out if isinstance(r, TimerResult)]
    assert timers, "no timer results"
    assert all(T0 < t.time_ns < T0 + 5 * 10**9 for t in timers)
    assert [t.time_ns for t in timers] == sorted(t.time_ns for t in timers)
    timer_kinds = [e.kind for t in timers for e in t.emitted]
    assert timer_kinds == ["arp", "arp", "icmp-3-1"], timer_kinds
    # the packet itself: an ICMP redirect (it leaves by lan0, where it came from) and ARP
    assert [e.kind for e in out[0].emitted] == ["icmp-5-1", "arp"]
    v6 = flow_of(ether(LAN, PC, ipv6("fd00:1::10", "fd00:1::1", tcp(1, 2))))
    assert v6.family == 6 and v6.sport == 1 and str(v6) == "tcp [fd00:1::10]:1 -> [fd00:1::1]:2"


def test_time_going_backwards_is_clamped_and_noted():
    res = packets(Simulator(router(), None).replay([rec(0, fwd(), ts=T0 + 10**9), rec(1, fwd(5), ts=T0)]))
    assert res[1].time_ns == T0 + 10**9
    assert any(e["type"] == "note" and "clamped" in e["line"] for e in res[1].events)


def test_streaming_keeps_memory_bounded():
    def records(n):
        for i in range(n):
            yield rec(i, fwd(1000 + i % 7))
    sim = Simulator(router(), None)
    it = sim.replay(records(3000))
    for _ in zip(range(500), it):
        pass
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in it:
        pass
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert sim.packets == 3000
    assert grown < 512 * 1024, grown


# ------------------------------------------------------------------ conntrack
def test_conntrack_follows_the_ruleset_like_the_kernel():
    assert not needs_conntrack(None)
    assert not needs_conntrack(ruleset("table ip t { chain c { tcp dport 22 accept } }"))
    assert needs_conntrack(ruleset("table ip t { chain c { ct state new accept } }"))
    # kernel 6.18: a nat chain alone does not start conntrack (tests/kernel/test_diff_needsct.py)
    assert not needs_conntrack(ruleset("table ip t { chain c { type nat hook postrouting priority 100; } }"))
    assert needs_conntrack(ruleset("table ip t { chain c { type nat hook postrouting priority 100; masquerade } }"))
    assert needs_conntrack(ruleset('table ip t { ct timeout x { protocol udp; policy = { unreplied: 10 } } }'))
    assert not needs_conntrack(ruleset("table ip t { chain c { notrack } }"))
    assert not needs_conntrack(ruleset("table ip6 t { chain c { ct state new accept } }"), family="ip")
    assert Simulator(router(), ruleset("table ip t { chain c { tcp dport 22 accept } }")).ct_table is None


def test_conntrack_states_entries_and_events():
    rs = ruleset("table ip t { chain c { ct state new counter } }")   # no base chain: no runner needed
    sim = Simulator(router(), rs)
    assert sim.ct_table is not None and sim.runtime is None
    syn = ether(LAN, PC, ipv4("192.168.1.10", "9.9.9.9", tcp(4000, 80, TCP_SYN)))
    res = packets(sim.replay([rec(0, syn), rec(1, fwd()), rec(2, fwd())]))
    assert [r.ct.state for r in res] == ["new", "new", "new"]
    assert [r.ct.new for r in res] == [True, True, False]
    assert res[0].ct.entry.startswith("tcp      6 120 SYN_SENT src=192.168.1.10 dst=9.9.9.9")
    assert any(e["type"] == "conntrack" and e["event"] == "NEW" for e in res[0].events)
    assert len(sim.conntrack_entries()) == 2


# ------------------------------------------------------------------ the backend seam
class _Chain:
    family, table, name = "inet", "fw", "input"


class _Rule:
    family, table, chain, handle, rule = "inet", "fw", "input", 7, None


class _Result:
    """What vm.chain.do_chain returns (ChainResult): verdict, rule, chain, policy."""

    def __init__(self, verdict, rule):
        self.verdict, self.rule, self.chain, self.policy = verdict, rule, _Chain(), rule is None


class FakeRuntime:
    """A test double with ChainRuntime's interface: drops TCP to port 22 at input with
    'rule 7', accepts the rest by policy, rewrites the source of forwarded UDP."""

    def __init__(self):
        self.installed = False

    def install(self, table):
        self.installed = True
        table.register("ip", "input", 0, self.input, name="fw input")
        table.register("ip", "postrouting", 100, self.snat, name="fw snat")

    def input(self, pkt, st):
        tcp22 = pkt.l4proto == 6 and pkt.buf[pkt.th_off + 2:pkt.th_off + 4] == b"\x00\x16"
        res = _Result(0 if tcp22 else 1, _Rule() if tcp22 else None)
        st.events.append(res)
        st.events.append("trace id 0000abcd inet fw input rule tcp dport 22 drop (verdict drop)")
        return HookVerdict(Verdict.DROP if tcp22 else Verdict.ACCEPT)

    def snat(self, pkt, st):
        if st.oif == "wan0" and pkt.l4proto == 17:
            pkt.set_saddr("203.0.113.2")
        return Verdict.ACCEPT


def test_backend_seam_decisions_rules_and_nat():
    rt = FakeRuntime()
    sim = Simulator(router(), None, runtime=rt)
    assert rt.installed
    res = packets(sim.replay([rec(0, to_router(tcp(5, 22, TCP_SYN))), rec(1, to_router(udp(5, 9))), rec(2, fwd())]))
    assert res[0].verdict == "drop" and res[0].emitted == ()
    assert res[0].rule == Decision("ip input", "drop", "inet", "fw", "input", 7, None, False)
    j = res[0].to_json()
    assert j["rule"]["handle"] == 7 and j["policy"] is None
    assert not any(e.get("type") == "chainresult" for e in j["events"])
    assert {"type": "trace", "line": "trace id 0000abcd inet fw input rule tcp dport 22 drop (verdict drop)"} in j["events"]
    assert res[1].rule.policy and res[1].to_json()["policy"]["verdict"] == "accept"
    before, after = res[2].nat
    assert str(before) == "udp 192.168.1.10:4000 -> 9.9.9.9:53"
    assert str(after) == "udp 203.0.113.2:4000 -> 9.9.9.9:53"
    summary = Summary()
    for r in res:
        summary.add(r)
    assert summary.verdicts == Counter({"drop": 1, "local": 1, "accept": 1})
    assert summary.rules[("inet", "fw", "input", 7, None, "drop")] == 1
    assert summary.nat.top(1)[0][1] == 1


def test_base_chains_without_a_runner_are_refused(monkeypatch):
    from pkttables.datapath import replay

    def unavailable(rs, host, *, seed):
        raise RunnerUnavailable("no runner")
    monkeypatch.setitem(replay.BACKENDS, "interp", unavailable)
    rs = ruleset("table ip t { chain c { type filter hook input priority 0; } }")
    with pytest.raises(RunnerUnavailable):
        Simulator(router(), rs)
    with pytest.raises(PktError, match="unknown backend 'nope'"):
        Simulator(router(), rs, backend="nope")


def test_the_interpreter_runs_a_filter_ruleset():
    rs = ruleset("table inet f { chain input { type filter hook input priority 0; policy drop; "
                 "tcp dport 22 accept; } }")
    sim = Simulator(router(), rs)
    res = packets(sim.replay([rec(0, to_router(tcp(5, 22, TCP_SYN))), rec(1, to_router(tcp(5, 23, TCP_SYN)))]))
    assert [r.verdict for r in res] == ["local", "drop"]
    assert res[0].rule.handle is not None and res[0].rule.text == "tcp dport 22 accept"
    assert res[1].rule.policy and res[1].rule.chain == "input"


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("records, iif, message", [
    ([rec(0, fwd(), None)], None, "names no interface: give --iif"),
    ([rec(0, fwd(), "eth9")], None, "interface 'eth9' is not in the host"),
    ([rec(0, fwd(), "lo")], None, "loopback"),
    ([rec(0, fwd(), "lan0", 147)], None, "link type 147 is not supported"),
])
def test_bad_records_name_the_packet(records, iif, message):
    with pytest.raises(PktError, match=message) as ei:
        list(Simulator(router(), None).replay(records, iif=iif))
    assert "packet 0" in str(ei.value)


def test_load_ruleset_text_json_and_errors(tmp_path):
    j = tmp_path / "r.json"
    j.write_text('{"nftables": [{"add": {"table": {"family": "ip", "name": "jt"}}}]}')
    assert ("ip", "jt") in load_ruleset(str(j)).tables
    bad = tmp_path / "bad.nft"
    bad.write_text("table ip t {\n\tchain c {\n\t\tbogus\n\t}\n}\n")
    with pytest.raises(PktError) as ei:
        load_ruleset(str(bad))
    assert f"{bad}:3:" in ei.value.render()
    with pytest.raises(PktError, match="Could not open file"):
        load_ruleset(str(tmp_path / "missing.nft"))


# ------------------------------------------------------------------ properties
@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80))
def test_flow_of_never_raises(data):
    for l3 in (False, True):
        f = flow_of(data, l3=l3)
        assert f is None or f.family in (4, 6)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=120))
def test_garbage_frames_never_stop_the_replay(data):
    res = packets(Simulator(router(), None).replay([rec(0, data), rec(1, fwd())]))
    assert len(res) == 2 and res[1].verdict == "accept"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 30), max_size=300), st.integers(1, 12))
def test_space_saving_bounds(stream, capacity):
    ss = SpaceSaving(capacity)
    for x in stream:
        ss.add(x)
    true = Counter(stream)
    assert len(ss) <= capacity and ss.total == len(stream)
    for key, count, err in ss.top(capacity):
        assert true[key] <= count <= true[key] + err
    for key, n in true.items():
        if n > len(stream) / capacity:
            assert key in ss.counts
    if len(true) <= capacity:
        assert {k: c for k, c, e in ss.top(capacity)} == dict(true)


def test_event_json_forms():
    assert event_json(("neigh", "incomplete", "lan0", bytes([192, 168, 1, 77]))) == \
        {"type": "neigh", "args": ["incomplete", "lan0", "192.168.1.77"]}
    assert event_json("trace id 1 x")["type"] == "trace"
    assert event_json(object())["type"] == "note"


def test_nat_chains_run_with_conntrack():
    rs = ruleset("table ip nat { chain post { type nat hook postrouting priority srcnat; "
                 "oifname \"wan0\" masquerade; } }")
    sim = Simulator(router(), rs)
    assert sim.ct_table is not None and sim.nat_table is not None and sim.warnings == []
    reply = ether("02:00:00:00:01:01", "02:00:00:00:01:fe", ipv4("9.9.9.9", "203.0.113.2", udp(53, 4000, b"a")))
    res = packets(sim.replay([rec(0, fwd()), rec(1, reply, "wan0")]))
    assert str(res[0].nat[1]) == "udp 203.0.113.2:4000 -> 9.9.9.9:53"
    assert res[0].rule.text == 'oifname "wan0" masquerade' and res[0].rule.chain == "post"
    assert res[1].verdict == "accept" and res[1].ct.state == "established"
    assert str(res[1].nat[1]) == "udp 9.9.9.9:53 -> 192.168.1.10:4000"   # de-masqueraded
    assert res[1].emitted[0].oif == "lan0"
    off = Simulator(router(), rs, conntrack=False)
    assert off.nat_table is None and "need connection tracking" in off.warnings[0]
