"""Unit tests of the engine: no kernel.  The kernel comparisons are in
tests/kernel/test_stack_engine.py; these pin the hook interface, the path order,
verdicts, the rate limiter and the builders."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.packet import Packet
from pkttables.packet.checksum import internet_checksum
from pkttables.stack import _build as B
from pkttables.stack._ratelimit import RateLimiter
from pkttables.stack.engine import Disposition, Engine, mask_random
from pkttables.stack.hooks import HookTable, HookVerdict, PriorityHooks, Verdict
from pkttables.stack.host import Host
from pkttables.testing.packets import (TCP_ACK, TCP_SYN, arp_request, ether, icmp_echo, ipv4, ipv6, tcp, udp)

import random

HOST_TOML = """
[[interface]]
name = "lan0"
mac = "02:00:00:00:00:01"
addresses = ["192.168.1.1/24", "fd00:1::1/64"]
[[interface]]
name = "wan0"
mac = "02:00:00:00:01:01"
addresses = ["203.0.113.2/24", "2001:db8:1::2/64"]
mtu = 1400
[[route]]
to = "0.0.0.0/0"
via = "203.0.113.1"
[[route]]
to = "::/0"
via = "2001:db8:1::1"
dev = "wan0"
[[neighbor]]
address = "203.0.113.1"
mac = "02:00:00:00:01:fe"
dev = "wan0"
[[neighbor]]
address = "2001:db8:1::1"
mac = "02:00:00:00:01:fe"
dev = "wan0"
[[neighbor]]
address = "192.168.1.10"
mac = "02:00:00:00:00:10"
dev = "lan0"
"""
LAN, CLIENT, WAN, GW = "02:00:00:00:00:01", "02:00:00:00:00:10", "02:00:00:00:01:01", "02:00:00:00:01:fe"


def host() -> Host:
    return Host.from_toml(HOST_TOML)


class Recorder:
    """Test double of a chain: records what it saw and returns a fixed verdict."""

    def __init__(self, verdict=Verdict.ACCEPT):
        self.verdict = verdict
        self.seen = []

    def __call__(self, pkt, state):
        self.seen.append((state.family, state.hook, state.iif, state.oif, pkt.l4proto))
        return self.verdict


def fc(l3: bytes) -> bytes:
    return ether(LAN, CLIENT, l3)


def test_forward_path_hooks_and_bytes():
    eng = Engine(host())
    out = eng.process(fc(ipv4("192.168.1.10", "8.8.8.8", udp(1, 53, b"q"))), 0.0, iif="lan0")
    assert out.verdict == Disposition.ACCEPT
    assert out.hooks == (("netdev", "ingress"), ("ip", "prerouting"), ("ip", "forward"),
                         ("ip", "postrouting"), ("netdev", "egress"))
    (e,) = out.emitted
    assert e.ifname == "wan0" and e.data[:12] == bytes.fromhex("0200000001fe020000000101")
    assert e.data[14 + 8] == 63 and internet_checksum(e.data, 14, 34) == 0


def test_hook_callbacks_in_priority_order_and_drop():
    table = HookTable()
    calls = []
    table.register("ip", "forward", 10, lambda p, s: calls.append("late") or Verdict.ACCEPT)
    table.register("ip", "forward", -10, lambda p, s: calls.append("early") or Verdict.ACCEPT)
    rec = Recorder(Verdict.DROP)
    table.register("ip", "forward", 0, rec, name="filter")
    eng = Engine(host(), table)
    out = eng.process(fc(ipv4("192.168.1.10", "8.8.8.8", udp(1, 53))), 0.0, iif="lan0")
    assert calls == ["early"]
    assert rec.seen == [("ip", "forward", "lan0", "wan0", 17)]
    assert out.verdict == Disposition.DROP and out.emitted == ()
    assert out.hooks[-1] == ("ip", "forward")


def test_queue_and_stolen_verdicts():
    for v, disp in ((HookVerdict(Verdict.QUEUE, queue_num=3), Disposition.QUEUE),
                    (Verdict.STOLEN, Disposition.STOLEN)):
        table = HookTable()
        table.register("ip", "prerouting", 0, lambda p, s, v=v: v)
        out = Engine(host(), table).process(fc(ipv4("192.168.1.10", "8.8.8.8", udp(1, 53))), 0.0, iif="lan0")
        assert out.verdict == disp and out.emitted == ()


def test_stop_ends_the_walk_with_accept():
    h = PriorityHooks()
    seen = []
    h.register(0, lambda p, s: Verdict.STOP)
    h.register(5, lambda p, s: seen.append(1) or Verdict.DROP)
    assert h.run(None, None).verdict == Verdict.ACCEPT and seen == []


def test_reset_goes_through_output_and_postrouting():
    rec = Recorder()
    table = HookTable()
    for hook in ("input", "output", "postrouting"):
        table.register("ip", hook, 0, rec)
    eng = Engine(host(), table)
    out = eng.process(fc(ipv4("192.168.1.10", "192.168.1.1", tcp(4000, 22, flags=TCP_SYN, seq=10))), 0.0,
                      iif="lan0")
    assert out.verdict == Disposition.LOCAL
    (g,) = out.generated
    assert g.kind == "tcp-reset" and g.hooks == (("ip", "output"), ("ip", "postrouting"), ("netdev", "egress"))
    seq, ack = struct.unpack_from("!II", g.data, 24)
    assert (seq, ack, g.data[33]) == (0, 11, 0x14)
    assert [s[1] for s in rec.seen] == ["input", "output", "postrouting"]


def test_output_drop_gives_eperm_for_local_sends():
    table = HookTable()
    table.register("ip", "output", 0, lambda p, s: Verdict.DROP)
    out = Engine(host(), table).process(ipv4("203.0.113.2", "8.8.8.8", udp(1, 2)), 0.0, iif="local")
    assert out.send_error == 1 and out.verdict == Disposition.DROP


def test_local_send_without_route_is_enetunreach():
    h = Host.single_interface()
    out = Engine(h).process(ipv4("192.0.2.1", "8.8.8.8", udp(1, 2)), 0.0, iif="local")
    assert out.send_error == 101 and out.emitted == ()


def test_arp_reply_and_learning():
    eng = Engine(host())
    out = eng.process(arp_request("02:00:00:00:00:33", "192.168.1.33", "192.168.1.1"), 0.0, iif="lan0")
    (e,) = out.emitted
    assert e.data[:6] == bytes.fromhex("020000000033") and e.data[20:22] == b"\x00\x02"
    # the asker was learned: a packet to it needs no ARP
    fwd = eng.process(ether(WAN, GW, ipv4("8.8.8.8", "192.168.1.33", udp(1, 2))), 1.0, iif="wan0")
    assert [x.ifname for x in fwd.emitted] == ["lan0"] and fwd.emitted[0].data[:6] == bytes.fromhex("020000000033")
    assert eng.process(arp_request(CLIENT, "192.168.1.10", "192.168.1.50"), 0.0, iif="lan0").emitted == ()


def test_missing_neighbour_arp_then_host_unreachable_after_three_probes():
    eng = Engine(host())
    out = eng.process(ether(WAN, GW, ipv4("8.8.8.8", "192.168.1.77", udp(1, 2))), 0.0, iif="wan0")
    assert [g.kind for g in out.generated] == ["arp-request"]
    assert eng.advance(0.5).emitted == ()
    assert len(eng.advance(2.0).emitted) == 2                      # retries at 1 s and 2 s
    last = eng.advance(3.0)
    assert [g.kind for g in last.generated] == ["icmp-3-1"]
    assert last.emitted[0].ifname == "wan0"


def test_arp_reply_flushes_the_queue():
    eng = Engine(host())
    eng.process(ether(WAN, GW, ipv4("8.8.8.8", "192.168.1.77", udp(1, 2))), 0.0, iif="wan0")
    reply = ether(LAN, "02:00:00:00:00:77", B.arp(2, bytes.fromhex("020000000077"), bytes([192, 168, 1, 77]),
                                                  bytes.fromhex(LAN.replace(":", "")), bytes([192, 168, 1, 1])),
                  B.ETH_P_ARP)
    out = eng.process(reply, 0.1, iif="lan0")
    assert [e.ifname for e in out.emitted] == ["lan0"]
    assert out.emitted[0].data[:6] == bytes.fromhex("020000000077")


def test_rate_limit_six_then_one_per_second():
    eng = Engine(host())
    frame = fc(ipv4("192.168.1.10", "192.168.1.1", udp(1, 9)))
    sent = [len(eng.process(frame, 0.001 * i, iif="lan0").emitted) for i in range(8)]
    assert sent == [1] * 6 + [0, 0]
    assert len(eng.process(frame, 1.01, iif="lan0").emitted) == 1


def test_rate_limiter_peer_bucket():
    rl = RateLimiter(random.Random(1))
    ok = [rl.allow4(3, 3, b"\x01\x02\x03\x04", 0.0) for _ in range(8)]
    assert ok.count(True) == 6
    assert rl.allow4(3, 4, b"\x01\x02\x03\x04", 0.0)              # frag needed is never limited
    assert rl.allow4(0, 0, b"\x01\x02\x03\x04", 0.0)              # echo reply not in the mask


def test_receive_checks_drop_silently():
    eng = Engine(host())
    good = ipv4("192.168.1.10", "192.168.1.1", udp(1, 9))
    bad_csum = good[:10] + b"\0\0" + good[12:]
    for l3 in (bad_csum, b"\x44" + good[1:], good[:2] + b"\xff\xff" + good[4:], b"\x55" + good[1:]):
        out = eng.process(fc(l3), 0.0, iif="lan0")
        assert out.verdict == Disposition.DROP and out.emitted == () and out.hooks == (("netdev", "ingress"),)
    vlan = eng.process(ether(LAN, CLIENT, good, vlan=7), 0.0, iif="lan0")
    assert vlan.verdict == Disposition.DROP and "VLAN" in vlan.drop_reason
    other = eng.process(ether("02:00:00:00:00:99", CLIENT, good), 0.0, iif="lan0")
    assert other.verdict == Disposition.DROP and "OTHERHOST" in other.drop_reason


def test_ipv6_echo_reply_and_parameter_problem():
    eng = Engine(host())
    out = eng.process(fc(ipv6("fd00:1::10", "fd00:1::1", icmp_echo(1, 2, b"x", v6=True))), 0.0, iif="lan0")
    # no neighbour entry for fd00:1::10 here: the reply waits for a solicitation
    assert [g.kind for g in out.generated] == ["icmpv6-echo-reply", "neighbour-solicitation"]
    assert out.emitted[0].data[:6] == bytes.fromhex("3333ff000010")
    from pkttables.testing.packets import Segment
    pp = eng.process(fc(ipv6("fd00:1::10", "fd00:1::1", Segment(253, b"zz", None))), 0.0, iif="lan0")
    g = pp.generated[0]
    assert g.kind == "icmpv6-4-1" and g.data[44:48] == b"\0\0\0\x06"


def test_decrease_ttl_matches_full_recompute():
    @given(st.binary(min_size=20, max_size=20), st.integers(2, 255))
    @settings(max_examples=300)
    def check(hdr, ttl):
        h = bytearray(hdr)
        h[0] = 0x45
        h[8] = ttl
        h[10:12] = b"\0\0"
        c = internet_checksum(h)
        h[10:12] = c.to_bytes(2, "big")
        B.decrease_ttl(h, 0)
        assert h[8] == ttl - 1
        assert internet_checksum(h) in (0, 0xFFFF) or h[10:12] == b"\0\0"
        assert internet_checksum(h) == 0 or h[10:12] == b"\0\0"
    check()


@given(st.binary(min_size=1, max_size=4000), st.sampled_from([576, 1280, 1400, 1500]))
def test_fragments_reassemble(payload, mtu):
    l3 = ipv4("10.0.0.1", "10.0.0.2", udp(1, 2, payload), df=False, ident=42)
    frags = B.fragment_v4(l3, mtu)
    assert all(len(f) <= mtu for f in frags)
    data = b"".join(f[20:] for f in frags)
    assert data == l3[20:]
    assert all(internet_checksum(f, 0, 20) == 0 for f in frags)
    assert [bool(f[6] & 0x20) for f in frags] == [True] * (len(frags) - 1) + [False]


@given(st.binary(min_size=14, max_size=200))
def test_engine_never_raises_on_garbage(frame):
    eng = Engine(host())
    out = eng.process(frame, 0.0, iif="lan0")
    assert out.verdict in set(Disposition)
    assert Engine(host()).process(frame, 0.0, iif="local").send_error is not None


def test_bridge_floods_then_learns():
    h = Host.from_toml('[[interface]]\nname="p1"\n[[interface]]\nname="p2"\n[[interface]]\nname="p3"\n'
                       '[[bridge]]\nname="br0"\nmac="02:00:00:00:03:01"\nports=["p1","p2","p3"]\n'
                       'addresses=["10.0.0.1/24"]\n')
    eng = Engine(h)
    a, b = "02:00:00:00:0a:01", "02:00:00:00:0b:01"
    out = eng.process(ether(b, a, ipv4("10.0.0.10", "10.0.0.20", udp(1, 2))), 0.0, iif="p1")
    assert sorted(e.ifname for e in out.emitted) == ["p2", "p3"]
    assert ("bridge", "forward") in out.hooks and ("ip", "forward") in out.hooks
    eng.process(ether(a, b, ipv4("10.0.0.20", "10.0.0.10", udp(2, 1))), 0.0, iif="p3")
    out = eng.process(ether(b, a, ipv4("10.0.0.10", "10.0.0.20", udp(1, 2))), 0.0, iif="p1")
    assert [e.ifname for e in out.emitted] == ["p3"]
    arp = eng.process(arp_request(a, "10.0.0.10", "10.0.0.1"), 0.0, iif="p1")
    assert "p1" in [e.ifname for e in arp.emitted]


def test_mask_random_only_touches_random_fields():
    loc = {bytes([192, 168, 1, 1])}
    f = fc(ipv4("192.168.1.1", "192.168.1.10", udp(1, 2), df=False, ident=99))
    m = mask_random(f, loc)
    assert m[18:20] == b"\0\0" and m[24:26] == b"\0\0" and m[26:] == f[26:]
    fwd = fc(ipv4("192.168.1.10", "8.8.8.8", udp(1, 2), df=False, ident=99))
    assert mask_random(fwd, loc) == fwd


def test_tcp_to_a_closed_port_both_families():
    # one code path for tcp_v4_rcv/tcp_v6_rcv: a valid segment gets a reset, a bad
    # checksum or a short data offset is dropped without one
    for l3, thoff in ((lambda seg: ipv4("192.168.1.10", "192.168.1.1", seg), 20),
                      (lambda seg: ipv6("fd00:1::10", "fd00:1::1", seg), 40)):
        frame = fc(l3(tcp(4000, 22, flags=TCP_SYN, seq=10)))
        out = Engine(host()).process(frame, 0.0, iif="lan0")
        assert out.verdict == Disposition.LOCAL
        assert [g.kind for g in out.generated].count("tcp-reset") == 1   # (v6: and an NS for fd00:1::10)
        bad_sum = bytearray(frame)
        bad_sum[14 + thoff + 16] ^= 0xFF
        bad_off = bytearray(frame)
        bad_off[14 + thoff + 12] = 4 << 4
        for bad, why in ((bad_sum, "TCP: bad checksum"), (bad_off, "TCP: bad data offset")):
            out = Engine(host()).process(bytes(bad), 0.0, iif="lan0")
            assert out.verdict == Disposition.DROP and out.generated == ()
            assert out.drop_reason == why
