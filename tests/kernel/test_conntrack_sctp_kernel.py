"""SCTP and DCCP through the kernel's conntrack (Linux 6.18, forwarded path) and through
pkttables.conntrack at the same hooks: the entries (tuples, state, ASSURED/UNREPLIED,
timeout within a second) and every packet's ``ct state`` must agree.

DCCP: Linux removed DCCP in 6.16, with nf_conntrack_proto_dccp; the kernel here has no
``CONFIG_NF_CT_PROTO_DCCP`` and no dccp sysctls.  DCCP packets are therefore tracked by
the generic tracker: no ports in the tuple (so two DCCP flows between the same
addresses are one entry), no state, 600 s -- the test proves it."""

from __future__ import annotations

import struct

import pytest

from test_conntrack_kernel import C4, S4, C6, S6, back, compare, out
from pkttables.conntrack import parse_conntrack_line
from pkttables.conntrack._sctp import C, chunk, init_chunk, sctp_bytes
from pkttables.testing import packets as P

pytestmark = pytest.mark.kernel

TC, TS = 0x11111111, 0x22222222      # the client's and the server's initiate tags


def sctp(sport, dport, vtag, *chunks_, bad_crc=False):
    return P.Segment(132, sctp_bytes(sport, dport, vtag, *chunks_, bad_crc=bad_crc), None)


def kstates(obs):
    """The kernel's states from its `-o extended` text (the harness's XML read-back names
    SCTP states with the TCP names of the same numbers)."""
    return sorted(parse_conntrack_line(line)["state"] or "-"
                  for line in obs.conntrack_text.splitlines() if line.strip())


def handshake(cp, sp, v6=False, c=C4, s=S4):
    return [
        out(c, s, sctp(cp, sp, 0, init_chunk(TC)), v6),
        back(s, c, sctp(sp, cp, TC, init_chunk(TS, ack=True)), v6),
        out(c, s, sctp(cp, sp, TS, chunk(C.COOKIE_ECHO, b"cookie!!")), v6),
        back(s, c, sctp(sp, cp, TC, chunk(C.COOKIE_ACK)), v6),
    ]


def data(n=b"abcd", tsn=1):
    return chunk(C.DATA, struct.pack("!IHHI", tsn, 0, 0, 0) + n, flags=3)


def test_sctp_handshake_states_and_shutdown():
    traffic = [
        # stops in CLOSED (INIT only), COOKIE_WAIT, COOKIE_ECHOED
        out(C4, S4, sctp(5001, 80, 0, init_chunk(TC))),
        out(C4, S4, sctp(5002, 80, 0, init_chunk(TC))),
        back(S4, C4, sctp(80, 5002, TC, init_chunk(TS, ack=True))),
        out(C4, S4, sctp(5003, 80, 0, init_chunk(TC))),
        back(S4, C4, sctp(80, 5003, TC, init_chunk(TS, ack=True))),
        out(C4, S4, sctp(5003, 80, TS, chunk(C.COOKIE_ECHO, b"cookie!!"))),
        # established with data both ways
        *handshake(5004, 80),
        out(C4, S4, sctp(5004, 80, TS, data())),
        back(S4, C4, sctp(80, 5004, TC, chunk(C.SACK, struct.pack("!IIHH", 1, 65535, 0, 0)))),
        # graceful close: SHUTDOWN_SENT -> SHUTDOWN_ACK_SENT -> CLOSED
        *handshake(5005, 80),
        out(C4, S4, sctp(5005, 80, TS, chunk(C.SHUTDOWN, struct.pack("!I", 0)))),
        back(S4, C4, sctp(80, 5005, TC, chunk(C.SHUTDOWN_ACK))),
        out(C4, S4, sctp(5005, 80, TS, chunk(C.SHUTDOWN_COMPLETE))),
        # the server closes: SHUTDOWN_RECD
        *handshake(5006, 80),
        back(S4, C4, sctp(80, 5006, TC, chunk(C.SHUTDOWN, struct.pack("!I", 0)))),
        # half-way close stops in SHUTDOWN_SENT
        *handshake(5007, 80),
        out(C4, S4, sctp(5007, 80, TS, chunk(C.SHUTDOWN, struct.pack("!I", 0)))),
        # abort
        *handshake(5008, 80),
        back(S4, C4, sctp(80, 5008, TC, chunk(C.ABORT))),
    ]
    obs, ours = compare(traffic)
    states = kstates(obs)
    assert states == sorted(["CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED", "CLOSED",
                             "SHUTDOWN_RECD", "SHUTDOWN_SENT", "CLOSED"]), states


def test_sctp_invalid_packets_and_vtags():
    traffic = [
        *handshake(5101, 80),
        # wrong verification tag on DATA: invalid
        out(C4, S4, sctp(5101, 80, 0xdead, data())),
        # right tag, bad CRC32c: invalid (checked in PREROUTING)
        out(C4, S4, sctp(5101, 80, TS, data(), bad_crc=True)),
        # DATA cannot open an entry; nor can ABORT or COOKIE ACK (out of the blue)
        out(C4, S4, sctp(5102, 80, 7, data())),
        out(C4, S4, sctp(5103, 80, 7, chunk(C.ABORT))),
        out(C4, S4, sctp(5104, 80, 7, chunk(C.COOKIE_ACK))),
        # INIT with a non-zero tag, INIT not alone, no chunk at all, a zero-length chunk
        out(C4, S4, sctp(5105, 80, 9, init_chunk(TC))),
        out(C4, S4, sctp(5106, 80, 0, init_chunk(TC), data())),
        out(C4, S4, sctp(5107, 80, 0)),
        out(C4, S4, sctp(5108, 80, 0, b"\x00\x00\x00\x00")),
        # an INIT in the reply direction of a new entry? the reply sees it as a new INIT
        back(S4, C4, sctp(80, 5109, 0, init_chunk(TS))),
        # ABORT with the T bit carries the peer's tag
        *handshake(5110, 80),
        out(C4, S4, sctp(5110, 80, TC, chunk(C.ABORT, flags=1))),
        # a COOKIE ECHO with the wrong tag
        out(C4, S4, sctp(5111, 80, 0, init_chunk(TC))),
        back(S4, C4, sctp(80, 5111, TC, init_chunk(TS, ack=True))),
        out(C4, S4, sctp(5111, 80, TS + 1, chunk(C.COOKIE_ECHO, b"cookie!!"))),
    ]
    compare(traffic)


def test_sctp_heartbeat_pickup_and_ipv6():
    hb = chunk(C.HEARTBEAT, b"\x00\x01\x00\x08info")
    hback = chunk(C.HEARTBEAT_ACK, b"\x00\x01\x00\x08info")
    traffic = [
        # a secondary path: HEARTBEAT opens HEARTBEAT_SENT, the ACK makes it ESTABLISHED
        out(C4, S4, sctp(5201, 80, TS, hb)),
        back(S4, C4, sctp(80, 5201, TC, hback)),
        out(C4, S4, sctp(5201, 80, TS, data())),
        # one left unanswered
        out(C4, S4, sctp(5202, 80, TS, hb)),
        # IPv6 handshake
        *handshake(5203, 80, True, C6, S6),
    ]
    obs, _ = compare(traffic)
    assert kstates(obs) == ["ESTABLISHED", "ESTABLISHED", "HEARTBEAT_SENT"]


def dccp(sport, dport, typ=0):
    """A DCCP header (RFC 4340 5.1): ports, data offset 4 words (extended seq), type."""
    hdr = bytearray(struct.pack("!HHBBH", sport, dport, 4, 0, 0) +
                    bytes([(typ << 1) | 1, 0]) + b"\0\0\0\0\0\1" + b"\0" * 0)
    hdr += b"\0" * (16 - len(hdr))
    return P.Segment(33, bytes(hdr), 6)


def test_dccp_is_tracked_as_generic():
    traffic = [
        out(C4, S4, dccp(6001, 5000, 0)),      # DCCP-Request
        back(S4, C4, dccp(5000, 6001, 1)),     # DCCP-Response
        out(C4, S4, dccp(6002, 5001, 0)),      # another flow: the same generic entry
        out(C6, S6, dccp(6003, 5002, 0), True),
    ]
    obs, ours = compare(traffic)
    assert len(obs.conntrack) == 2
    for e in obs.conntrack:
        assert e["original"].get("sport", 0) == 0 and e["original"].get("dport", 0) == 0
    assert kstates(obs) == ["-", "-"]
