"""Unit tests of pkttables.conntrack: TCP state machine, windows, timeouts with a manual
clock, UDP/ICMP, RELATED errors, the table limit, events and formats."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from pkttables.conntrack import (TCP_CONNTRACKS, TCP_REASONS, ConntrackTable, CtDir, CtInfo,
                                 CtStateBit, Status, TcpIndex, TcpState, Tuple, ct_state,
                                 format_entry, invert, make_template, notrack,
                                 parse_conntrack_line)
from pkttables.packet import LinkType, Packet
from pkttables.testing import packets as P

C, S = "192.168.1.10", "198.51.100.7"
SYN, A, SA, F, R, PA = P.TCP_SYN, P.TCP_ACK, P.TCP_SYN | P.TCP_ACK, P.TCP_FIN | P.TCP_ACK, P.TCP_RST, P.TCP_PSH | P.TCP_ACK


def pkt(src, dst, seg):
    if ":" in src:
        return Packet(P.ipv6(src, dst, seg), LinkType.RAW)
    return Packet(P.ipv4(src, dst, seg), LinkType.RAW)


class Flow:
    """A forwarded path: in_hook at prerouting, confirm at postrouting."""

    def __init__(self, **sysctls):
        self.ct = ConntrackTable(sysctl=lambda n: sysctls.get(n.rsplit(".", 1)[-1]))
        self.now = 0.0

    def send(self, p, dt=0.0):
        self.now += dt
        v = self.ct.in_hook(p, "prerouting", self.now)
        assert v in (0, 1)
        if v:
            self.ct.confirm(p, self.now)
        return p

    def c(self, sport, dport, flags, seq=0, ack=0, **kw):
        return self.send(pkt(C, S, P.tcp(sport, dport, flags, seq=seq, ack=ack, **kw)), kw.pop("dt", 0.0))

    def s(self, sport, dport, flags, seq=0, ack=0, **kw):
        return self.send(pkt(S, C, P.tcp(sport, dport, flags, seq=seq, ack=ack, **kw)))

    def only(self):
        (e,) = self.ct.entries(self.now)
        return e


def handshake(f, sport=1234, dport=80, cseq=1000, sseq=5000):
    a = f.c(sport, dport, SYN, seq=cseq)
    assert a.ctinfo == CtInfo.NEW and ct_state(a) == CtStateBit.NEW
    assert f.only().proto.state == TcpState.SYN_SENT
    b = f.s(dport, sport, SA, seq=sseq, ack=cseq + 1)
    assert b.ctinfo == CtInfo.ESTABLISHED_REPLY and ct_state(b) == CtStateBit.ESTABLISHED
    assert f.only().proto.state == TcpState.SYN_RECV
    c = f.c(sport, dport, A, seq=cseq + 1, ack=sseq + 1)
    assert c.ctinfo == CtInfo.ESTABLISHED
    e = f.only()
    assert e.proto.state == TcpState.ESTABLISHED and e.status & Status.ASSURED
    return e


# ---------------------------------------------------------------- the state table

def test_state_table_is_total_and_has_reasons_where_not_obvious():
    for d in CtDir:
        for i in TcpIndex:
            row = TCP_CONNTRACKS[d][i]
            assert len(row) == 10
            for s, nxt in zip(list(TcpState)[:10], row):
                assert nxt in TcpState and (nxt < TcpState.MAX or nxt in (TcpState.MAX, TcpState.IGNORE))
                if nxt in (TcpState.MAX, TcpState.IGNORE) and i != TcpIndex.RST:
                    # every invalid or ignored cell says why
                    assert (d, i, s) in TCP_REASONS, (d, i, s)


def test_known_cells():
    O, Rp = CtDir.ORIGINAL, CtDir.REPLY
    assert TCP_CONNTRACKS[O][TcpIndex.SYN][TcpState.TIME_WAIT] == TcpState.SYN_SENT
    assert TCP_CONNTRACKS[Rp][TcpIndex.SYN][TcpState.SYN_SENT] == TcpState.SYN_SENT2
    assert TCP_CONNTRACKS[Rp][TcpIndex.ACK][TcpState.SYN_SENT] == TcpState.IGNORE
    assert TCP_CONNTRACKS[O][TcpIndex.ACK][TcpState.NONE] == TcpState.ESTABLISHED
    assert TCP_CONNTRACKS[O][TcpIndex.SYNACK][TcpState.SYN_SENT2] == TcpState.SYN_RECV


# ---------------------------------------------------------------- handshakes, teardowns

def test_handshake_timeouts_and_events():
    f = Flow()
    e = handshake(f)
    assert e.remaining(f.now) == 432000
    lines = [ev.line for ev in f.ct.events]
    assert lines[0].startswith("    [NEW] tcp      6 120 SYN_SENT src=192.168.1.10")
    assert "[UNREPLIED]" in lines[0]
    assert lines[1].startswith(" [UPDATE] tcp      6 60 SYN_RECV")
    assert lines[2].endswith("[ASSURED]")


@pytest.mark.parametrize("closer", ["client", "server"])
def test_fin_teardown_both_directions(closer):
    f = Flow()
    handshake(f)
    first, second = (f.c, f.s) if closer == "client" else (f.s, f.c)
    fa = (1234, 80) if closer == "client" else (80, 1234)
    sa = fa[::-1]
    fseq, sseq = (1001, 5001) if closer == "client" else (5001, 1001)
    first(*fa, F, seq=fseq, ack=sseq)
    assert f.only().proto.state == TcpState.FIN_WAIT
    assert f.only().remaining(f.now) == 120
    second(*sa, A, seq=sseq, ack=fseq + 1)
    assert f.only().proto.state == TcpState.CLOSE_WAIT
    second(*sa, F, seq=sseq, ack=fseq + 1)
    assert f.only().proto.state == TcpState.LAST_ACK
    assert f.only().remaining(f.now) == 30
    first(*fa, A, seq=fseq + 1, ack=sseq + 1)
    assert f.only().proto.state == TcpState.TIME_WAIT
    assert f.only().remaining(f.now) == 120
    # a new SYN reopens after TIME_WAIT (RFC 1122): the old entry is destroyed
    f.c(1234, 80, SYN, seq=90000)
    e = f.only()
    assert e.proto.state == TcpState.SYN_SENT and not e.status & Status.ASSURED
    assert [ev.type.value for ev in f.ct.events][-2:] == ["DESTROY", "NEW"]


def test_rst_after_establishment_closes_with_10s():
    f = Flow()
    handshake(f)
    f.s(80, 1234, R, seq=5001)
    e = f.only()
    assert e.proto.state == TcpState.CLOSE and e.remaining(f.now) == 10
    f.now += 10.5
    assert f.ct.entries(f.now) == []
    assert f.ct.events[-1].type.value == "DESTROY"


def test_rst_answering_syn_removes_entry():
    f = Flow()
    f.c(1234, 80, SYN, seq=10)
    p = f.s(80, 1234, R | A, seq=0, ack=11)
    assert p.ctinfo == CtInfo.ESTABLISHED_REPLY      # the packet still belongs to it
    assert f.ct.entries(f.now) == []


def test_rst_below_maxack_is_invalid():
    f = Flow()
    handshake(f)
    f.c(1234, 80, PA, seq=1001, ack=5001, payload=b"x" * 100)
    f.s(80, 1234, A, seq=5001, ack=1101)
    p = f.c(1234, 80, R, seq=500)
    assert p.ct is None and ct_state(p) == CtStateBit.INVALID
    assert f.only().proto.state == TcpState.ESTABLISHED


def test_simultaneous_open():
    f = Flow()
    f.c(1234, 80, SYN, seq=100)
    f.s(80, 1234, SYN, seq=200)
    assert f.only().proto.state == TcpState.SYN_SENT2
    f.c(1234, 80, SA, seq=100, ack=201)
    assert f.only().proto.state == TcpState.SYN_RECV
    f.s(80, 1234, A, seq=201, ack=101)
    assert f.only().proto.state == TcpState.ESTABLISHED


# ---------------------------------------------------------------- windows

def test_out_of_window_segments():
    f = Flow()
    handshake(f)
    p = f.c(1234, 80, PA, seq=1001 + 10_000_000, ack=5001, payload=b"x")
    assert ct_state(p) == CtStateBit.INVALID
    assert "SEQ is over upper bound" in f.ct.last_reason
    p = f.s(80, 1234, A, seq=5001, ack=1_000_000)
    assert ct_state(p) == CtStateBit.INVALID and "ACK is over upper bound" in f.ct.last_reason
    # be_liberal accepts the same segments
    g = Flow(nf_conntrack_tcp_be_liberal=1)
    handshake(g)
    p = g.c(1234, 80, PA, seq=1001 + 10_000_000, ack=5001, payload=b"x")
    assert ct_state(p) == CtStateBit.ESTABLISHED


def test_window_scaling_is_applied_only_when_both_offer_it():
    f = Flow()
    f.c(1234, 80, SYN, seq=1000)                           # offers wscale 7
    f.s(80, 1234, SA, seq=5000, ack=1001, options=b"")    # does not
    e = f.only()
    assert e.proto.seen[0].td_scale == 0 and e.proto.seen[1].td_scale == 0
    g = Flow()
    handshake(g)
    assert g.only().proto.seen[0].td_scale == 7 and g.only().proto.seen[1].td_scale == 7


def test_sack_right_edge_counts_as_ack():
    f = Flow()
    handshake(f)
    f.c(1234, 80, PA, seq=1001, ack=5001, payload=b"a" * 50)
    # SACK block beyond everything the client sent: ACK over upper bound
    sack = bytes([1, 1, 5, 10]) + (1001).to_bytes(4, "big") + (900000).to_bytes(4, "big")
    p = f.s(80, 1234, A, seq=5001, ack=1001, options=sack)
    assert ct_state(p) == CtStateBit.INVALID


# ---------------------------------------------------------------- loose pickup

def test_loose_pickup_and_unacknowledged_timeout():
    f = Flow()
    p = f.c(1234, 80, A, seq=1000, ack=2000, window=1000)
    assert p.ctinfo == CtInfo.NEW
    e = f.only()
    assert e.proto.state == TcpState.ESTABLISHED and e.remaining(f.now) == 300
    f.s(80, 1234, A, seq=2000, ack=1000, window=1000)
    f.c(1234, 80, A, seq=1000, ack=2000, window=1000)
    assert f.only().status & Status.ASSURED


def test_no_pickup_when_loose_is_off():
    f = Flow(nf_conntrack_tcp_loose=0)
    p = f.c(1234, 80, A, seq=1000, ack=2000)
    assert ct_state(p) == CtStateBit.INVALID and f.ct.entries() == []


def test_invalid_flag_combinations():
    f = Flow()
    for flags in (0, SYN | P.TCP_FIN, SYN | R, P.TCP_FIN):
        p = f.c(1234, 80, flags, seq=1)
        assert ct_state(p) == CtStateBit.INVALID, flags
    assert f.ct.entries() == []


def test_bad_checksum_is_invalid_only_in_prerouting():
    raw = bytearray(P.ipv4(C, S, P.tcp(1, 2, SYN)))
    raw[-1] ^= 0xFF  # break the TCP checksum (last option byte)
    ct = ConntrackTable()
    p = Packet(raw, LinkType.RAW)
    ct.in_hook(p, "prerouting", 0)
    assert p.ct is None
    p = Packet(raw, LinkType.RAW)
    ct.in_hook(p, "output", 0)
    assert p.ctinfo == CtInfo.NEW


# ---------------------------------------------------------------- UDP / ICMP

def test_udp_stream_after_two_seconds():
    f = Flow()
    f.send(pkt(C, S, P.udp(5000, 53, b"q")))
    e = f.only()
    assert e.remaining(f.now) == 30 and not e.status & Status.SEEN_REPLY
    f.send(pkt(S, C, P.udp(53, 5000, b"a")), dt=0.5)
    f.send(pkt(C, S, P.udp(5000, 53, b"q")), dt=0.5)
    assert not e.status & Status.ASSURED and e.remaining(f.now) == 30
    f.send(pkt(C, S, P.udp(5000, 53, b"q")), dt=1.5)
    assert e.status & Status.ASSURED and e.remaining(f.now) == 120


def test_udp_short_length_is_invalid():
    seg = P.udp(1, 2, b"abcd")
    bad = P.Segment(17, seg.data[:4] + (200).to_bytes(2, "big") + seg.data[6:], 6)
    p = Flow().send(pkt(C, S, bad))
    assert ct_state(p) == CtStateBit.INVALID


def test_icmp_echo_and_errors_related():
    f = Flow()
    f.send(pkt(C, S, P.icmp_echo(9, 1)))
    r = f.send(pkt(S, C, P.icmp_echo(9, 1, reply=True)))
    assert r.ctinfo == CtInfo.ESTABLISHED_REPLY
    u = f.send(pkt(S, C, P.icmp_echo(10, 1, reply=True)))
    assert ct_state(u) == CtStateBit.INVALID           # a reply cannot open
    f.send(pkt(C, S, P.udp(7000, 53, b"x")))
    quoted = P.ipv4(C, S, P.udp(7000, 53, b"x"))[:28]
    err = f.send(pkt(S, C, P.icmp_error(3, 3, quoted)))
    assert err.ctinfo == CtInfo.RELATED_REPLY and ct_state(err) == CtStateBit.RELATED
    # an error in the original direction (from the client about the server's packet)
    q2 = P.ipv4(S, C, P.udp(53, 7000, b"y"))[:28]
    err2 = f.send(pkt(C, S, P.icmp_error(11, 0, q2)))
    assert err2.ctinfo == CtInfo.RELATED
    # quoting an unknown flow, or sent to someone else: invalid
    q3 = P.ipv4(C, S, P.udp(7001, 53, b"x"))[:28]
    assert ct_state(f.send(pkt(S, C, P.icmp_error(3, 3, q3)))) == CtStateBit.INVALID
    assert ct_state(f.send(pkt(S, "192.168.1.99", P.icmp_error(3, 3, quoted)))) == CtStateBit.INVALID
    # truncated inner header
    assert ct_state(f.send(pkt(S, C, P.icmp_error(3, 3, quoted[:22])))) == CtStateBit.INVALID


def test_icmpv6_nd_is_untracked_and_errors_related():
    f = Flow()
    c6, s6 = "fd00::1", "2001:db8::1"
    ns = f.send(pkt(c6, s6, P.Segment(58, bytes([135, 0, 0, 0]) + bytes(20), 2)))
    assert ct_state(ns) == CtStateBit.UNTRACKED
    f.send(pkt(c6, s6, P.tcp(1, 2, SYN)))
    err = f.send(pkt(s6, c6, P.icmp_error(1, 4, P.ipv6(c6, s6, P.tcp(1, 2, SYN))[:48], v6=True)))
    assert err.ctinfo == CtInfo.RELATED_REPLY


def test_generic_and_gre():
    f = Flow()
    f.send(pkt(C, S, P.Segment(47, b"\x00\x00\x08\x00" + b"x" * 20, None)))
    f.send(pkt(C, S, P.Segment(253, b"abc", None)))
    lines = sorted(format_entry(e, f.now) for e in f.ct.entries())
    assert lines[0].startswith("gre      47 30 src=192.168.1.10 dst=198.51.100.7 srckey=0x0 dstkey=0x0")
    assert lines[1].startswith("unknown  253 600 src=192.168.1.10 dst=198.51.100.7 [UNREPLIED]")


def test_fragments_and_garbage_are_invalid():
    frag = bytearray(P.ipv4(C, S, P.udp(1, 2, b"x" * 40), df=False))
    frag[6:8] = (0x0005).to_bytes(2, "big")
    assert ct_state(Flow().send(Packet(frag, LinkType.RAW))) == CtStateBit.INVALID
    assert ct_state(Flow().send(Packet(b"\x45\x00", LinkType.RAW))) == CtStateBit.INVALID


# ---------------------------------------------------------------- table, zones, notrack

def test_timeouts_with_manual_clock():
    f = Flow()
    f.c(1234, 80, SYN, seq=1)
    f.now = 119.0
    assert len(f.ct.entries(f.now)) == 1
    # a retransmitted SYN does not extend the entry's life
    f.c(1234, 80, SYN, seq=1)
    f.now = 120.0
    assert f.ct.entries(f.now) == []


def test_table_limit_early_drops_unassured_else_drops_packet():
    ct = ConntrackTable(sysctl={"net.netfilter.nf_conntrack_max": 3,
                                "net.netfilter.nf_conntrack_buckets": 1}.get)
    for i in range(3):
        p = pkt(C, S, P.udp(1000 + i, 53))
        assert ct.in_hook(p, "prerouting", 0) == 1 and ct.confirm(p, 0) == 1
    p = pkt(C, S, P.udp(2000, 53))
    assert ct.in_hook(p, "prerouting", 1) == 1 and ct.confirm(p, 1) == 1
    # one bucket: every non-assured entry in it was dropped to make room
    assert [e.original.sport for e in ct.entries(1)] == [2000]
    assert ct.stats["early_drop"] == 3
    # assured entries are never early-dropped
    ct2 = ConntrackTable(sysctl={"net.netfilter.nf_conntrack_max": 1,
                                 "net.netfilter.nf_conntrack_buckets": 1}.get)
    f = Flow()
    f.ct = ct2
    handshake(f)
    p = pkt(C, S, P.udp(3000, 53))
    assert ct2.in_hook(p, "prerouting", 0) == 0 and p.ct is None
    assert "table full" in ct2.last_reason
    # an established packet still passes
    assert ct2.in_hook(pkt(C, S, P.tcp(1234, 80, A, seq=1001, ack=5001)), "prerouting", 0) == 1


def test_zones_separate_entries_and_notrack():
    ct = ConntrackTable()
    for zone in (0, 7):
        p = pkt(C, S, P.udp(1, 2))
        p.ct = make_template(zone)
        ct.in_hook(p, "prerouting", 0)
        assert p.ct.zone == zone and p.ctinfo == CtInfo.NEW
        ct.confirm(p, 0)
    assert sorted(e.zone for e in ct.entries()) == [0, 7]
    assert "zone=7 use=1" in format_entry([e for e in ct.entries() if e.zone][0], 0)
    p = pkt(C, S, P.udp(1, 3))
    notrack(p)
    ct.in_hook(p, "prerouting", 0)
    assert ct_state(p) == CtStateBit.UNTRACKED and len(ct) == 2


def test_accounting_and_mark_in_listing():
    f = Flow(nf_conntrack_acct=1)
    f.send(pkt(C, S, P.udp(1, 2, b"abc")))
    f.send(pkt(S, C, P.udp(2, 1, b"abcdef")))
    e = f.only()
    e.mark = 42
    line = format_entry(e, f.now)
    assert "sport=1 dport=2 packets=1 bytes=31 src=" in line
    assert "packets=1 bytes=34 mark=42 use=1" in line


def test_expected_connection_is_related():
    f = Flow()
    f.c(1234, 21, SYN, seq=1)
    master = f.only()
    f.ct.expect(Tuple(2, bytes([198, 51, 100, 7]), bytes([192, 168, 1, 10]), 6, 20, 40000), master, f.now)
    p = f.send(pkt(S, C, P.tcp(20, 40000, SYN, seq=9)))
    assert p.ctinfo == CtInfo.RELATED and p.ct.status & Status.EXPECTED


def test_invert_and_nat_hooks():
    t = Tuple(2, b"\x01\x01\x01\x01", b"\x02\x02\x02\x02", 1, 77, 8 << 8)
    assert invert(t) == Tuple(2, t.dst, t.src, 1, 77, 0)
    assert invert(Tuple(2, t.src, t.dst, 1, 77, 3 << 8)) is None
    ct = ConntrackTable()
    p = pkt(C, S, P.tcp(1, 2, SYN))
    ct.in_hook(p, "prerouting", 0)
    new_reply = Tuple(2, bytes([198, 51, 100, 7]), bytes([203, 0, 113, 2]), 6, 2, 61000)
    ct.alter_reply(p.ct, new_reply)
    ct.confirm(p, 0)
    assert ct.tuple_taken(new_reply) and ct.lookup(new_reply)[1] == 1
    with pytest.raises(ValueError):
        ct.alter_reply(p.ct, new_reply)


# ---------------------------------------------------------------- formats

def test_parse_real_conntrack_lines():
    line = ("tcp      6 431999 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=10 dport=20 "
            "src=2.2.2.2 dst=1.1.1.1 sport=20 dport=10 [ASSURED] mark=5 use=1")
    d = parse_conntrack_line(line)
    assert d["state"] == "ESTABLISHED" and d["timeout"] == 431999 and d["mark"] == 5
    assert d["original"] == {"src": "1.1.1.1", "dst": "2.2.2.2", "sport": 10, "dport": 20}
    assert d["status"] == ["ASSURED"]
    ev = parse_conntrack_line("[DESTROY] udp      17 99 src=1.1.1.1 dst=2.2.2.2 sport=10 dport=20 "
                              "[UNREPLIED] src=2.2.2.2 dst=1.1.1.1 sport=20 dport=10 zone=3")
    assert ev["event"] == "DESTROY" and ev["zone"] == 3 and ev["status"] == ["UNREPLIED"]
    icmp = parse_conntrack_line("ipv4     2 icmp     1 29 src=1.1.1.1 dst=2.2.2.2 type=8 code=0 id=77 "
                                "[UNREPLIED] src=2.2.2.2 dst=1.1.1.1 type=0 code=0 id=77 mark=0 use=1")
    assert icmp["l3"] == "ipv4" and icmp["reply"]["type"] == 0 and icmp["original"]["id"] == 77
    with pytest.raises(ValueError):
        parse_conntrack_line("hello")


# ---------------------------------------------------------------- hypothesis

_flags = st.sampled_from([SYN, SA, A, PA, F, R, R | A, 0, SYN | P.TCP_FIN, P.TCP_FIN, 0x20 | A])
_seg = st.tuples(st.booleans(), _flags, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
                 st.integers(0, 65535), st.binary(max_size=20), st.floats(0, 200))


@settings(max_examples=150, deadline=None)
@given(st.lists(_seg, max_size=25), st.booleans())
def test_random_segment_sequences_never_crash(segs, liberal):
    f = Flow(nf_conntrack_tcp_be_liberal=int(liberal))
    for from_client, flags, seq, ack, win, payload, dt in segs:
        src, dst, sp, dp = (C, S, 1234, 80) if from_client else (S, C, 80, 1234)
        f.now += dt
        p = f.send(pkt(src, dst, P.tcp(sp, dp, flags, seq=seq, ack=ack, window=win, payload=payload)))
        assert ct_state(p) in (1, 2, 8)
        for e in f.ct.entries(f.now):
            assert e.proto.state < TcpState.MAX
            assert 0 <= e.remaining(f.now) <= 432000
            parse_conntrack_line(format_entry(e, f.now))


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=80), st.sampled_from(["prerouting", "output"]))
def test_random_bytes_never_crash(data, hook):
    ct = ConntrackTable()
    p = Packet(b"\x45" + data, LinkType.RAW)
    assert ct.in_hook(p, hook, 0) in (0, 1)
    assert ct.confirm(p, 0) in (0, 1)
