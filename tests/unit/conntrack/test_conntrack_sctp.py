"""SCTP tracking (pkttables.conntrack._sctp) and DCCP-as-generic, without a kernel.  The
same behaviour is checked against Linux 6.18 in tests/kernel/test_conntrack_sctp_kernel.py."""

from __future__ import annotations

import struct

from hypothesis import given, settings, strategies as st

from pkttables.conntrack import ConntrackTable, CtInfo, SctpState, Status, format_entry
from pkttables.conntrack._sctp import (SCTP_CONNTRACKS, SCTP_REASONS, SCTP_TIMEOUTS, C, CtDir,
                                       basic_checks, chunk, init_chunk, sctp_bytes,
                                       sctp_can_early_drop)
from pkttables.packet import LinkType, Packet
from pkttables.testing import packets as P

CL, SV = "192.168.1.10", "198.51.100.7"
TC, TS = 0x1111, 0x2222
HB = chunk(C.HEARTBEAT, b"\x00\x01\x00\x08info")
HBA = chunk(C.HEARTBEAT_ACK, b"\x00\x01\x00\x08info")


def data(tsn=1):
    return chunk(C.DATA, struct.pack("!IHHI", tsn, 0, 0, 0) + b"abcd", flags=3)


class Sctp:
    def __init__(self, **sysctls):
        self.ct = ConntrackTable(sysctl=lambda n: sysctls.get(n.rsplit(".", 1)[-1]))
        self.now = 0.0

    def send(self, src, dst, sport, dport, vtag, *chunks, bad_crc=False, dt=0.0):
        self.now += dt
        raw = P.ipv4(src, dst, P.Segment(132, sctp_bytes(sport, dport, vtag, *chunks,
                                                          bad_crc=bad_crc), None))
        p = Packet(raw, LinkType.RAW)
        if self.ct.in_hook(p, "prerouting", self.now):
            self.ct.confirm(p, self.now)
        return p

    def c(self, vtag, *chunks, port=5000, **kw):
        return self.send(CL, SV, port, 80, vtag, *chunks, **kw)

    def s(self, vtag, *chunks, port=5000, **kw):
        return self.send(SV, CL, 80, port, vtag, *chunks, **kw)

    def state(self):
        (e,) = self.ct.entries(self.now)
        return e.proto.state

    def handshake(self):
        assert self.c(0, init_chunk(TC)).ctinfo == CtInfo.NEW
        assert self.state() == SctpState.CLOSED
        assert self.s(TC, init_chunk(TS, ack=True)).ctinfo == CtInfo.ESTABLISHED_REPLY
        assert self.state() == SctpState.COOKIE_WAIT
        self.c(TS, chunk(C.COOKIE_ECHO, b"cookie"))
        assert self.state() == SctpState.COOKIE_ECHOED
        self.s(TC, chunk(C.COOKIE_ACK))
        assert self.state() == SctpState.ESTABLISHED


def test_every_cell_has_a_state_and_a_reason():
    for d in CtDir:
        for c, row in SCTP_CONNTRACKS[d].items():
            assert len(row) == 9
            for s in list(SctpState)[:9]:
                assert SCTP_REASONS[(d, c, s)]
    # the reply direction can never open an entry
    assert all(row[SctpState.NONE] == SctpState.MAX for row in SCTP_CONNTRACKS[CtDir.REPLY].values())
    assert SCTP_CONNTRACKS[CtDir.REPLY][C.HEARTBEAT_ACK][SctpState.HEARTBEAT_SENT] == SctpState.ESTABLISHED


def test_handshake_assured_timeouts_and_graceful_close():
    f = Sctp()
    f.handshake()
    (e,) = f.ct.entries()
    assert e.status & Status.ASSURED and e.remaining(f.now) == SCTP_TIMEOUTS[SctpState.ESTABLISHED] == 210
    assert e.proto.vtag == [TS, TC]
    assert f.c(TS, data()).ctinfo == CtInfo.ESTABLISHED
    f.c(TS, chunk(C.SHUTDOWN, b"\0\0\0\0"))
    assert f.state() == SctpState.SHUTDOWN_SENT and sctp_can_early_drop(e)
    f.s(TC, chunk(C.SHUTDOWN_ACK))
    assert f.state() == SctpState.SHUTDOWN_ACK_SENT and e.remaining(f.now) == 3
    f.c(TS, chunk(C.SHUTDOWN_COMPLETE))
    assert f.state() == SctpState.CLOSED and e.remaining(f.now) == 10
    line = format_entry(e, f.now)
    assert line.startswith("sctp     132 10 CLOSED src=192.168.1.10 dst=198.51.100.7 sport=5000 dport=80")
    assert "[ASSURED]" in line


def test_invalid_packets_get_no_entry():
    f = Sctp()
    for p in (f.c(7, data()), f.c(7, chunk(C.ABORT), port=1), f.c(7, chunk(C.COOKIE_ACK), port=2),
              f.c(9, init_chunk(TC), port=3), f.c(0, init_chunk(TC), data(), port=4),
              f.c(0, port=5), f.c(0, b"\0\0\0\0", port=6), f.c(0, init_chunk(TC), port=7, bad_crc=True),
              f.s(0, init_chunk(TS), port=8) and f.c(0, chunk(C.SHUTDOWN_COMPLETE), port=9)):
        assert p.ct is None
    assert len(f.ct.entries()) == 1      # only the reply-side INIT (port 8) opened one


def test_vtag_checks():
    f = Sctp()
    f.handshake()
    assert f.c(0xdead, data()).ct is None                 # wrong tag
    assert f.c(TS, data(), bad_crc=True).ct is None       # bad CRC32c in PREROUTING
    assert f.c(TC, chunk(C.ABORT)).ct is None             # own tag expected without T
    assert f.c(TC, chunk(C.ABORT, flags=1)).ct is not None  # T bit: the peer's tag
    assert f.state() == SctpState.CLOSED


def test_init_retransmit_does_not_refresh():
    f = Sctp()
    f.c(0, init_chunk(TC))
    (e,) = f.ct.entries()
    f.c(0, init_chunk(TC), dt=4.0)
    assert e.remaining(f.now) == 6.0                       # accepted, not refreshed


def test_heartbeat_pickup_and_restart():
    f = Sctp()
    assert f.c(TS, HB).ctinfo == CtInfo.NEW
    assert f.state() == SctpState.HEARTBEAT_SENT and f.ct.entries()[0].remaining(0) == 30
    f.s(TC, HBA)
    assert f.state() == SctpState.ESTABLISHED
    (e,) = f.ct.entries()
    assert e.proto.vtag == [TS, TC]
    # the client restarted with a new tag: its heartbeat passes once, the server's ACK
    # with a new tag adopts it
    assert f.c(0x9999, HB).ct is e and e.proto.hb_vtag_failed
    assert f.s(0x7777, HBA).ct is e
    assert e.proto.vtag == [0, 0x7777] and not e.proto.hb_vtag_failed
    # but a second heartbeat with a wrong tag together with DATA is invalid
    f.c(0x5555, HB)
    assert f.c(0x4444, HB, data()).ct is None


def test_sysctl_timeouts():
    f = Sctp(nf_conntrack_sctp_timeout_established=77)
    f.handshake()
    assert f.ct.entries()[0].remaining(f.now) == 77


def test_dccp_is_generic_without_ports():
    ct = ConntrackTable()
    for sport in (1, 2):
        seg = P.Segment(33, struct.pack("!HHBBH", sport, 5000, 4, 0, 0) + b"\x01\0" + b"\0" * 10, 6)
        p = Packet(P.ipv4(CL, SV, seg), LinkType.RAW)
        ct.in_hook(p, "prerouting", 0.0)
        ct.confirm(p, 0.0)
    (e,) = ct.entries()
    assert e.original.sport == e.original.dport == 0
    assert format_entry(e, 0.0).startswith("dccp     33 600 src=192.168.1.10 dst=198.51.100.7 sport=0 dport=0 [UNREPLIED]")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.sampled_from(list(C)),
                          st.integers(0, 1)), min_size=1, max_size=12))
def test_random_chunk_sequences_keep_a_valid_state(steps):
    f = Sctp()
    tags = [0, TC, TS, 0x9999]
    for reply, tag, c, fl in steps:
        body = struct.pack("!IIHHI", TC, 1, 1, 1, 1) if c in (C.INIT, C.INIT_ACK) else b"\0" * 4
        (f.s if reply else f.c)(tags[tag], chunk(c, body, fl))
        for e in f.ct.entries():
            assert e.proto.state in list(SctpState)[:9]


@given(st.binary(max_size=80))
def test_basic_checks_never_raise(raw):
    basic_checks(b"\0" * 12 + raw, 0, 12 + len(raw))
    p = Packet(P.ipv4(CL, SV, P.Segment(132, b"\0" * 12 + raw, None)), LinkType.RAW)
    ConntrackTable().in_hook(p, "output", 0.0)
