"""Snapshot version 2 at the table level: a ConntrackTable fed a mixed capture (TCP with
window scaling and a retransmission, UDP becoming a stream, SCTP with its vtags and a
heartbeat, ICMP echo, IPv6, a mark, labels, a zone and a ``ct timeout`` policy) is
dumped at random points, loaded into a fresh table (through JSON text), and fed the rest.
Every packet gets the same verdict, ctinfo and ``-L`` line as in one table fed
everything, and the final snapshots are equal -- with random gaps between packets, so
entries also expire on either side of a cut."""

from __future__ import annotations

import json
import struct

from hypothesis import given, settings, strategies as st

from pkttables.conntrack import ConntrackTable, format_entry
from pkttables.conntrack._sctp import C, chunk, init_chunk, sctp_bytes
from pkttables.conntrack._table import make_template
from pkttables.conntrack.snapshot import dump_snapshot, load_snapshot_full
from pkttables.packet import LinkType, Packet
from pkttables.testing import packets as P

CL, SV, CL6, SV6 = "192.168.1.10", "198.51.100.7", "fd00::10", "2001:db8::7"
A, PA, SYN, SA, FIN = P.TCP_ACK, P.TCP_PSH | P.TCP_ACK, P.TCP_SYN, P.TCP_SYN | P.TCP_ACK, P.TCP_FIN | P.TCP_ACK


def _sctp(src, dst, sport, dport, vtag, *chunks):
    return P.ipv4(src, dst, P.Segment(132, sctp_bytes(sport, dport, vtag, *chunks), None))


def traffic() -> list[tuple[bytes, str | None]]:
    """(IP packet, what the ruleset does to its new entry)."""
    t: list[tuple[bytes, str | None]] = []
    # TCP: handshake with window scaling (LINUX_SYN_OPTIONS), data, a retransmission
    t += [(P.ipv4(CL, SV, P.tcp(40000, 80, SYN, seq=100)), "timeout"),
          (P.ipv4(SV, CL, P.tcp(80, 40000, SA, seq=900, ack=101)), None),
          (P.ipv4(CL, SV, P.tcp(40000, 80, A, seq=101, ack=901)), None),
          (P.ipv4(CL, SV, P.tcp(40000, 80, PA, seq=101, ack=901, payload=b"GET / HTTP/1.0\r\n\r\n")), None),
          (P.ipv4(SV, CL, P.tcp(80, 40000, PA, seq=901, ack=119, payload=b"x" * 500)), None),
          (P.ipv4(SV, CL, P.tcp(80, 40000, PA, seq=901, ack=119, payload=b"x" * 500)), None),   # again
          (P.ipv4(CL, SV, P.tcp(40000, 80, A, seq=119, ack=1401)), None)]
    # UDP: unreplied, replied, then a stream
    t += [(P.ipv4(CL, SV, P.udp(5000, 53, b"q")), "mark"),
          (P.ipv4(SV, CL, P.udp(53, 5000, b"r")), None),
          (P.ipv4(CL, SV, P.udp(5000, 53, b"q2")), None),
          (P.ipv4(SV, CL, P.udp(53, 5000, b"r2")), None)]
    # SCTP: INIT, INIT-ACK, COOKIE-ECHO, COOKIE-ACK, a heartbeat each way, DATA
    tc, ts = 0x1111, 0x2222
    t += [(_sctp(CL, SV, 5001, 80, 0, init_chunk(tc)), None),
          (_sctp(SV, CL, 80, 5001, tc, init_chunk(ts, ack=True)), None),
          (_sctp(CL, SV, 5001, 80, ts, chunk(C.COOKIE_ECHO, b"cookie")), None),
          (_sctp(SV, CL, 80, 5001, tc, chunk(C.COOKIE_ACK)), None),
          (_sctp(CL, SV, 5001, 80, ts, chunk(C.HEARTBEAT, b"\x00\x01\x00\x08info")), None),
          (_sctp(SV, CL, 80, 5001, tc, chunk(C.HEARTBEAT_ACK, b"\x00\x01\x00\x08info")), None),
          (_sctp(CL, SV, 5001, 80, ts, chunk(C.DATA, struct.pack("!IHHI", 1, 0, 0, 0) + b"abcd",
                                                 flags=3)), None)]
    # ICMP echo in a zone, IPv6 TCP with labels, then the TCP flow closes
    t += [(P.ipv4(CL, SV, P.icmp_echo(7, 1)), "zone"),
          (P.ipv4(SV, CL, P.icmp_echo(7, 1, reply=True)), "zone"),
          (P.ipv6(CL6, SV6, P.tcp(41000, 443, SYN, seq=1)), "labels"),
          (P.ipv6(SV6, CL6, P.tcp(443, 41000, SA, seq=50, ack=2)), None),
          (P.ipv6(CL6, SV6, P.tcp(41000, 443, A, seq=2, ack=51)), None),
          (P.ipv4(CL, SV, P.tcp(40000, 80, FIN, seq=119, ack=1401)), None),
          (P.ipv4(SV, CL, P.tcp(80, 40000, FIN, seq=1401, ack=120)), None),
          (P.ipv4(CL, SV, P.tcp(40000, 80, A, seq=120, ack=1402)), None)]
    return t


TRAFFIC = traffic()
ZONE = make_template(zone=7)


def feed(ct: ConntrackTable, i: int, now: float) -> tuple:
    raw, action = TRAFFIC[i]
    pkt = Packet(raw, LinkType.RAW)
    if action == "zone":
        pkt.ct = ZONE                      # `ct zone set 7` in a raw chain: a template
    v = ct.in_hook(pkt, "prerouting", now)
    if v and pkt.ct is not None and not pkt.ct.confirmed:
        if action == "timeout":
            ct.assign_timeout(pkt, 6, {"established": 600, "close_wait": 20}, obj=("inet", "t", "pol"))
        elif action == "mark":
            pkt.ct.mark = 0x2A
        elif action == "labels":
            pkt.ct.labels = 1 << 100
    if v:
        v = ct.confirm(pkt, now)
    line = format_entry(pkt.ct, now) if pkt.ct is not None and pkt.ct.confirmed else None
    return v, pkt.ctinfo, line


@settings(max_examples=60, deadline=None)
@given(gaps=st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0, 31.0, 125.0]), min_size=len(TRAFFIC),
                     max_size=len(TRAFFIC)),
       cuts=st.lists(st.integers(min_value=0, max_value=len(TRAFFIC)), max_size=3))
def test_cut_anywhere_gives_the_same_packets_and_table(gaps, cuts):
    times, t = [], 1000.0
    for g in gaps:
        t += g
        times.append(t)
    one = ConntrackTable(keep_events=False)
    want = [feed(one, i, times[i]) for i in range(len(TRAFFIC))]
    ct = ConntrackTable(keep_events=False)
    got = []
    for i in range(len(TRAFFIC)):
        if i in cuts:
            now = times[i - 1] if i else 999.0
            text = json.dumps(dump_snapshot(ct, now, packets=i))
            snap = load_snapshot_full(json.loads(text), resume=True)
            assert snap.packets == i and snap.now == now
            ct = snap.table
        got.append(feed(ct, i, times[i]))
    assert got == want
    end = times[-1]
    assert dump_snapshot(ct, end) == dump_snapshot(one, end)


def test_the_capture_reaches_the_states_the_snapshot_must_keep():
    ct = ConntrackTable(keep_events=False)
    for i in range(len(TRAFFIC)):
        feed(ct, i, 1000.0 + i)
    doc = dump_snapshot(ct, 1000.0 + len(TRAFFIC))
    kinds = {e["proto"]["kind"] if e["proto"] else None for e in doc["entries"]}
    assert kinds == {"tcp", "udp", "sctp", None}
    (tcp4,) = [e for e in doc["entries"] if e["orig"]["dport"] == 80 and e["protonum"] == 6]
    assert tcp4["state"] == "TIME_WAIT" and tcp4["proto"]["seen"][0][4] == 7      # wscale 7
    assert tcp4["ext"]["timeout"]["ESTABLISHED"] == 600 and tcp4["ext"]["timeout_obj"] == ["inet", "t", "pol"]
    (sctp,) = [e for e in doc["entries"] if e["protonum"] == 132]
    assert sctp["state"] == "ESTABLISHED" and sctp["proto"]["vtag"] == [0x2222, 0x1111]
    (icmp,) = [e for e in doc["entries"] if e["protonum"] == 1]
    assert icmp["zone"] == 7
    assert any(e["labels"] == hex(1 << 100) for e in doc["entries"])
    assert any(e["mark"] == 0x2A and e["proto"]["kind"] == "udp" for e in doc["entries"])
