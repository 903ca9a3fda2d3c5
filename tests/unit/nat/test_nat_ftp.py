"""nat._ftp: the command text (nf_nat_ftp_fmt_cmd) and payload mangling with sequence
adjustment (the kernel comparison is tests/kernel/ctnat_scenarios.py ftp_nat)."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.conntrack import ConntrackTable, Status
from pkttables.conntrack.helpers.ftp import FtpType, parse_command
from pkttables.nat._ftp import fmt_cmd, mangle_tcp_packet
from pkttables.packet import LinkType, Packet
from pkttables.testing import packets as P


@given(st.binary(min_size=4, max_size=4), st.integers(1, 65535))
@settings(max_examples=50, deadline=None)
def test_port_and_eprt_text_parse_back(addr, port):
    for t, cmd in ((FtpType.PORT, b"PORT "), (FtpType.EPRT, b"EPRT ")):
        data = cmd + fmt_cmd(t, addr, port, 2) + b"\r\n"
        m = parse_command(data, 0, 2, addr)
        assert m is not None and m != "partial" and m.addr == addr and m.port == port


def test_eprt_ipv6_is_printed_uncompressed_as_pI6():
    a = ipaddress.IPv6Address("2001:db8:1::2").packed
    assert fmt_cmd(FtpType.EPRT, a, 40021, 10) == b"|2|2001:0db8:0001:0000:0000:0000:0000:0002|40021|"
    assert fmt_cmd(FtpType.EPSV, a, 30000, 10) == b"|||30000|"


def test_mangle_resizes_fixes_checksums_and_records_seqadj():
    payload = b"PORT 192,168,1,10,156,65\r\n"
    frame = P.ether("02:00:00:00:00:01", "02:00:00:00:00:10",
                    P.ipv4("192.168.1.10", "198.51.100.7", P.tcp(40000, 21, P.TCP_PSH | P.TCP_ACK, seq=5000,
                                                                 ack=1, payload=payload)))
    pkt = Packet(frame, LinkType.ETHERNET, iif="lan0")
    ct = ConntrackTable()
    ct.in_hook(pkt, "prerouting", 0.0)
    new = b"203,0,113,2,156,65"
    assert mangle_tcp_packet(pkt, pkt.ct, pkt.ctinfo, 5, len(b"192,168,1,10,156,65"), new)
    assert bytes(pkt.buf[pkt.th_off + 20:pkt.l3_end]) == b"PORT 203,0,113,2,156,65\r\n"
    assert pkt.verify_checksums() == {"ip": True, "tcp": True}
    assert pkt.ct.status & Status.SEQ_ADJUST
    assert len(pkt.buf) == len(frame) - 1
