"""Differential tests: the same forwarded traffic through the kernel's conntrack (in a
network namespace) and through pkttables.conntrack driven at the hooks the kernel uses
for forwarded packets (PREROUTING nf_conntrack_in, POSTROUTING confirm).  Compared:
the entries (tuples, state, ASSURED/UNREPLIED, mark, zone, timeout within a second) and
each packet's ``ct state`` (counters on ``ct state X`` rules in forward)."""

from __future__ import annotations

import time

import pytest

from lab_hosts import CLIENT_MAC, GW_MAC, LAN_MAC, WAN_MAC, two_interface_host
from pkttables.conntrack import ConntrackTable, CtStateBit, ct_state, format_entry
from pkttables.packet import LinkType, Packet
from pkttables.testing import packets as P
from pkttables.testing.kernel import Injection, KernelLab

pytestmark = pytest.mark.kernel

RULESET = """
table inet t {
    chain fw {
        type filter hook forward priority 0; policy accept;
        ct state invalid counter
        ct state new counter
        ct state established counter
        ct state related counter
        ct state untracked counter
    }
}
"""
STATES = ("invalid", "new", "established", "related", "untracked")
BITS = (CtStateBit.INVALID, CtStateBit.NEW, CtStateBit.ESTABLISHED, CtStateBit.RELATED,
        CtStateBit.UNTRACKED)

C4, S4 = "192.168.1.10", "198.51.100.7"
C6, S6 = "fd00:1::10", "2001:db8:99::7"
A, SA, F, R, PA = P.TCP_ACK, P.TCP_SYN | P.TCP_ACK, P.TCP_FIN | P.TCP_ACK, P.TCP_RST, P.TCP_PSH | P.TCP_ACK


def out(src, dst, seg, v6=False):
    """client -> server: arrives on lan0"""
    ip = P.ipv6(src, dst, seg) if v6 else P.ipv4(src, dst, seg)
    return Injection("lan0", P.ether(LAN_MAC, CLIENT_MAC, ip))


def back(src, dst, seg, v6=False):
    """server -> client: arrives on wan0 from the gateway"""
    ip = P.ipv6(src, dst, seg) if v6 else P.ipv4(src, dst, seg)
    return Injection("wan0", P.ether(WAN_MAC, GW_MAC, ip))


def simulate(traffic, now=0.0):
    """Our tracker on the forwarded path; returns (table, per-state packet counts)."""
    ct = ConntrackTable(two_interface_host())
    counts = dict.fromkeys(STATES, 0)
    for inj in traffic:
        pkt = Packet(inj.frame, LinkType.ETHERNET, iif=inj.ifname)
        assert ct.in_hook(pkt, "prerouting", now) == 1
        bits = ct_state(pkt)
        for name, bit in zip(STATES, BITS):
            if bits & bit:
                counts[name] += 1
        assert ct.confirm(pkt, now) == 1
    return ct, counts


def run_both(traffic):
    host = two_interface_host()
    with KernelLab(host, timeout=20, settle=0.2) as lab:
        lab.load(RULESET)
        t0 = time.monotonic()
        lab.inject(traffic)
        obs = lab.observe()
        elapsed = time.monotonic() - t0
    ours, counts = simulate(traffic)
    rules = sorted(k for k in obs.counters if k[2] == "fw")
    kcounts = {name: obs.counters[k].packets for name, k in zip(STATES, rules)}
    return obs, ours, counts, kcounts, elapsed


def norm_kernel(e):
    orig = {k: v for k, v in e["original"].items() if k in ("src", "dst", "sport", "dport", "type", "code", "id")}
    rep = {k: v for k, v in e["reply"].items() if k in ("src", "dst", "sport", "dport", "type", "code", "id")}
    status = sorted(s for s in e["status"] if s in ("ASSURED", "UNREPLIED"))
    return (e["proto"], e["state"], tuple(sorted(orig.items())), tuple(sorted(rep.items())),
            tuple(status), e["mark"], e["zone"])


def norm_ours(line):
    from pkttables.conntrack import parse_conntrack_line
    d = parse_conntrack_line(line)
    if d["proto"] == "icmpv6":
        d["proto"] = "ipv6-icmp"
    status = sorted(s for s in d["status"] if s in ("ASSURED", "UNREPLIED"))
    return (d["proto"], d["state"], tuple(sorted(d["original"].items())),
            tuple(sorted(d["reply"].items())), tuple(status), d["mark"], d["zone"]), d["timeout"]


def compare(traffic):
    obs, ours, counts, kcounts, elapsed = run_both(traffic)
    # the kernel's `conntrack -L -o extended` text, read with our own parser; the XML
    # read-back agrees on the fields it has (checked below)
    kern = dict(norm_ours(line) for line in obs.conntrack_text.splitlines() if line.strip())
    assert len(kern) == len(obs.conntrack)
    for e in obs.conntrack:
        if e["proto"] in ("tcp", "udp"):
            assert norm_kernel(e) in kern
    mine = dict(norm_ours(format_entry(c, elapsed)) for c in ours.entries())
    assert counts == kcounts, (counts, kcounts)
    assert set(mine) == set(kern), (
        "\nkernel:\n" + obs.conntrack_text + "\nours:\n" +
        "\n".join(format_entry(c, elapsed) for c in ours.entries()))
    for k, kt in kern.items():
        assert abs(mine[k] - kt) <= 1, (k, mine[k], kt)
    return obs, ours


def test_tcp_handshake_data_fin_close_both_directions():
    seq_c, seq_s = 1000, 5000
    traffic = [
        # client closes first
        out(C4, S4, P.tcp(40001, 80, P.TCP_SYN, seq=seq_c)),
        back(S4, C4, P.tcp(80, 40001, SA, seq=seq_s, ack=seq_c + 1)),
        out(C4, S4, P.tcp(40001, 80, A, seq=seq_c + 1, ack=seq_s + 1)),
        out(C4, S4, P.tcp(40001, 80, PA, seq=seq_c + 1, ack=seq_s + 1, payload=b"GET / HTTP/1.0\r\n\r\n")),
        back(S4, C4, P.tcp(80, 40001, PA, seq=seq_s + 1, ack=seq_c + 19, payload=b"HTTP/1.0 200 OK\r\n")),
        out(C4, S4, P.tcp(40001, 80, F, seq=seq_c + 19, ack=seq_s + 18)),
        back(S4, C4, P.tcp(80, 40001, A, seq=seq_s + 18, ack=seq_c + 20)),
        back(S4, C4, P.tcp(80, 40001, F, seq=seq_s + 18, ack=seq_c + 20)),
        out(C4, S4, P.tcp(40001, 80, A, seq=seq_c + 20, ack=seq_s + 19)),
        # server closes first, stops in CLOSE_WAIT / LAST_ACK
        out(C4, S4, P.tcp(40002, 443, P.TCP_SYN, seq=77)),
        back(S4, C4, P.tcp(443, 40002, SA, seq=99, ack=78)),
        out(C4, S4, P.tcp(40002, 443, A, seq=78, ack=100)),
        back(S4, C4, P.tcp(443, 40002, F, seq=100, ack=78)),
        out(C4, S4, P.tcp(40002, 443, A, seq=78, ack=101)),
        # a third one only half-closed: FIN_WAIT
        out(C4, S4, P.tcp(40003, 22, P.TCP_SYN, seq=5)),
        back(S4, C4, P.tcp(22, 40003, SA, seq=7, ack=6)),
        out(C4, S4, P.tcp(40003, 22, A, seq=6, ack=8)),
        out(C4, S4, P.tcp(40003, 22, F, seq=6, ack=8)),
    ]
    obs, ours = compare(traffic)
    states = sorted(e["state"] for e in obs.conntrack)
    assert states == ["CLOSE_WAIT", "FIN_WAIT", "TIME_WAIT"]


def test_tcp_rst_unsolicited_and_pickup():
    traffic = [
        # RST from the server answering a SYN: the entry goes away (no reply seen but RST)
        out(C4, S4, P.tcp(41001, 81, P.TCP_SYN, seq=10)),
        back(S4, C4, P.tcp(81, 41001, R | A, seq=0, ack=11)),
        # RST after establishment: CLOSE
        out(C4, S4, P.tcp(41002, 82, P.TCP_SYN, seq=10)),
        back(S4, C4, P.tcp(82, 41002, SA, seq=500, ack=11)),
        out(C4, S4, P.tcp(41002, 82, A, seq=11, ack=501)),
        back(S4, C4, P.tcp(82, 41002, R, seq=501)),
        # unsolicited SYN/ACK and FIN: invalid, no entry
        out(C4, S4, P.tcp(41003, 83, SA, seq=10, ack=20)),
        out(C4, S4, P.tcp(41004, 84, F, seq=10, ack=20)),
        # a mid-stream ACK is picked up (nf_conntrack_tcp_loose=1), then answered
        out(C4, S4, P.tcp(41005, 85, A, seq=1000, ack=2000, window=1000)),
        back(S4, C4, P.tcp(85, 41005, A, seq=2000, ack=1000, window=1000)),
        # a segment with no flags at all: invalid
        out(C4, S4, P.tcp(41006, 86, 0, seq=1)),
    ]
    compare(traffic)


def test_tcp_out_of_window_is_invalid():
    traffic = [
        out(C4, S4, P.tcp(42001, 80, P.TCP_SYN, seq=1000, window=1000, options=b"")),
        back(S4, C4, P.tcp(80, 42001, SA, seq=5000, ack=1001, window=1000, options=b"")),
        out(C4, S4, P.tcp(42001, 80, A, seq=1001, ack=5001, window=1000)),
        # far beyond what the server allowed: SEQ over upper bound
        out(C4, S4, P.tcp(42001, 80, PA, seq=1001 + 500000, ack=5001, payload=b"x")),
        # acking data never sent: ACK over upper bound
        back(S4, C4, P.tcp(80, 42001, A, seq=5001, ack=900000, window=1000)),
        # an old retransmission: ignored but accepted (still established)
        out(C4, S4, P.tcp(42001, 80, A, seq=1001, ack=5001, window=1000)),
    ]
    compare(traffic)


def test_udp_icmp_and_related_errors():
    quoted = P.ipv4(C4, S4, P.udp(43002, 53, b"q"))[:28]
    traffic = [
        out(C4, S4, P.udp(43001, 53, b"query")),
        back(S4, C4, P.udp(53, 43001, b"answer")),
        out(C4, S4, P.udp(43001, 53, b"again")),
        out(C4, S4, P.udp(43002, 53, b"q")),
        back(S4, C4, P.icmp_error(3, 3, quoted)),              # related to 43002
        back(S4, C4, P.icmp_error(3, 3, P.ipv4(C4, S4, P.udp(43999, 53, b"z"))[:28])),  # no match
        out(C4, S4, P.icmp_echo(7, 1, b"ping")),
        back(S4, C4, P.icmp_echo(7, 1, b"ping", reply=True)),
        back(S4, C4, P.icmp_echo(8, 1, b"pong", reply=True)),  # unsolicited reply: invalid
        out(C4, S4, P.udp(43003, 123, b"ntp")),
    ]
    compare(traffic)


def test_ipv6_tcp_and_icmpv6():
    traffic = [
        out(C6, S6, P.tcp(44001, 80, P.TCP_SYN, seq=1), v6=True),
        back(S6, C6, P.tcp(80, 44001, SA, seq=9, ack=2), v6=True),
        out(C6, S6, P.tcp(44001, 80, A, seq=2, ack=10), v6=True),
        out(C6, S6, P.icmp_echo(5, 1, b"x", v6=True), v6=True),
        back(S6, C6, P.icmp_echo(5, 1, b"x", reply=True, v6=True), v6=True),
        back(S6, C6, P.icmp_error(1, 4, P.ipv6(C6, S6, P.tcp(44001, 80, A, seq=2, ack=10))[:48], v6=True), v6=True),
    ]
    compare(traffic)
