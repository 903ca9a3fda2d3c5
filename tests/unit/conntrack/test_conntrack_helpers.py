"""FTP helper parser, expectations, seqadj and the userspace helper interface."""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given, settings, strategies as st

from pkttables.conntrack import ConntrackTable, CtInfo, Status, Tuple, format_entry
from pkttables.conntrack.expect import Expectation, ExpectError, ExpectFlag, format_expect
from pkttables.conntrack.helpers import NF_ACCEPT, Helper, register_helper
from pkttables.conntrack.helpers.ftp import PARTIAL, FtpType, parse_command
from pkttables.conntrack.seqadj import seq_adjust, seq_offset, seqadj_set
from pkttables.packet import LinkType, Packet
from pkttables.testing import packets as P

CL, SV = "192.168.1.10", "198.51.100.7"
CLB, SVB = bytes([192, 168, 1, 10]), bytes([198, 51, 100, 7])
A, PA, SA, SYN = P.TCP_ACK, P.TCP_PSH | P.TCP_ACK, P.TCP_SYN | P.TCP_ACK, P.TCP_SYN


@pytest.mark.parametrize("data,d,want", [
    (b"PORT 192,168,1,10,156,65\r\n", 0, (FtpType.PORT, CLB, 40001, 5, 19)),
    (b"port 192,168,1,10,156,65\r\n", 0, (FtpType.PORT, CLB, 40001, 5, 19)),
    (b"EPRT |1|192.168.1.10|40013|\r\n", 0, (FtpType.EPRT, CLB, 40013, 5, 22)),
    (b"227 Entering Passive Mode (198,51,100,7,117,49).\r\n", 1, (FtpType.PASV, SVB, 30001, 27, 19)),
    (b"227 =198,51,100,7,117,49\r\n", 1, (FtpType.PASV, SVB, 30001, 5, 19)),
    (b"229 Extended (|||30002|)\r\n", 1, (FtpType.EPSV, SVB, 30002, 14, 9)),
])
def test_parse_commands(data, d, want):
    m = parse_command(data, d, 2, SVB if d else CLB)
    assert (m.type, m.addr, m.port, m.matchoff, m.matchlen) == want


@pytest.mark.parametrize("data,d,want", [
    (b"PASV\r\n", 0, None), (b"USER a\r\n", 0, None), (b"200 ok\r\n", 1, None),
    (b"PO", 0, PARTIAL),                       # shorter than the pattern, a prefix of it
    (b"PORT 192,168", 0, PARTIAL),             # numbers cut short
    (b"PORT x\r\n", 0, PARTIAL),               # not numbers: the kernel drops it too
    (b"EPRT |2|::1|5|\r\n", 0, PARTIAL),       # IPv6 EPRT on an IPv4 connection
    (b"229 (|||0|)\r\n", 1, PARTIAL),          # port 0
    (b"227 no numbers\r\n", 1, PARTIAL),
])
def test_parse_no_match_and_partial(data, d, want):
    assert parse_command(data, d, 2, CLB) == want


@given(st.binary(max_size=60), st.integers(0, 1), st.sampled_from([2, 10]))
def test_parser_never_raises(data, d, l3):
    m = parse_command(data, d, l3, CLB)
    if m not in (None, PARTIAL):
        assert 0 <= m.port <= 65535 and m.matchoff + m.matchlen <= len(data)


@given(st.lists(st.integers(0, 255), min_size=4, max_size=4), st.integers(1, 65535))
def test_port_roundtrip(addr, port):
    text = "PORT " + ",".join(map(str, addr + [port >> 8, port & 255])) + "\r\n"
    m = parse_command(text.encode(), 0, 2, CLB)
    assert m.addr == bytes(addr) and m.port == port


class Ftp:
    """A forwarded FTP control connection with the helper assigned at prerouting."""

    def __init__(self):
        self.ct = ConntrackTable()
        self.now = 0.0
        self.c, self.s = 1000, 5000

    def send(self, src, dst, seg, helper=False):
        p = Packet(P.ipv4(src, dst, seg), LinkType.RAW)
        self.ct.in_hook(p, "prerouting", self.now)
        if helper:
            self.ct.assign_helper(p, "ftp")
        self.verdict = self.ct.confirm(p, self.now)
        return p

    def c2s(self, payload, flags=PA, sport=40000):
        p = self.send(CL, SV, P.tcp(sport, 21, flags, seq=self.c, ack=self.s, payload=payload),
                      helper=True)
        if self.verdict:
            self.c += len(payload) + bool(flags & SYN)
        return p

    def s2c(self, payload, flags=PA, sport=40000):
        p = self.send(SV, CL, P.tcp(21, sport, flags, seq=self.s, ack=self.c, payload=payload))
        if self.verdict:
            self.s += len(payload) + bool(flags & SYN)
        return p

    def login(self):
        self.send(CL, SV, P.tcp(40000, 21, SYN, seq=self.c), helper=True)
        self.c += 1
        self.s2c(b"", SA)
        self.c2s(b"", A)
        self.s2c(b"220 hi\r\n")
        self.c2s(b"USER a\r\n")
        self.s2c(b"331 pw\r\n")


def test_port_creates_expectation_and_related_data_connection():
    f = Ftp()
    f.login()
    (master,) = f.ct.entries()
    assert master.helper == "ftp" and master.status & Status.HELPER
    f.c2s(b"PORT 192,168,1,10,156,65\r\n")
    (exp,) = f.ct.expectations()
    assert exp.tuple == Tuple(2, SVB, CLB, 6, 0, 40001) and exp.sport_mask == 0
    assert format_expect(exp, 1.0) == (
        "299 proto=6 src=198.51.100.7 dst=192.168.1.10 sport=0 dport=40001 "
        "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 "
        "master-src=192.168.1.10 master-dst=198.51.100.7 sport=40000 dport=21 class=0 helper=ftp")
    # an expectation holds no reference on its master (tests/kernel/test_conntrack_expect_kernel.py)
    assert "helper=ftp use=1" in format_entry(master, 0)
    p = f.send(SV, CL, P.tcp(20, 40001, SYN, seq=1))
    assert p.ctinfo == CtInfo.RELATED and p.ct.master is master and p.ct.status & Status.EXPECTED
    assert not f.ct.expectations() and "use=2" in format_entry(master, 0)
    f.ct.kill(p.ct, 0)
    assert "use=1" in format_entry(master, 0)


def test_first_segment_of_a_direction_is_not_parsed_and_newer_replaces():
    f = Ftp()
    f.send(CL, SV, P.tcp(40000, 21, SYN, seq=f.c), helper=True)
    f.c += 1
    f.s2c(b"", SA)
    f.c2s(b"", A)
    f.c2s(b"PORT 192,168,1,10,156,65\r\n")     # no line end seen before it
    assert not f.ct.expectations()
    f.c2s(b"PORT 192,168,1,10,156,66\r\n")
    f.c2s(b"PORT 192,168,1,10,156,67\r\n")     # max_expected 1: replaces the previous
    assert [e.tuple.dport for e in f.ct.expectations()] == [40003]


def test_partial_command_is_dropped_and_third_party_address_ignored():
    f = Ftp()
    f.login()
    f.c2s(b"PORT 192,168")
    assert f.verdict == 0 and f.ct.helper_log[-1].startswith("nf_ct_ftp: partial")
    f.c2s(b"PORT 10,0,0,9,1,2\r\n")
    assert f.verdict == 1 and not f.ct.expectations()


def test_expectations_expire_and_die_with_master():
    f = Ftp()
    f.login()
    f.c2s(b"PORT 192,168,1,10,156,65\r\n")
    assert len(f.ct.expectations(299.0)) == 1 and not f.ct.expectations(300.5)
    f.c2s(b"PORT 192,168,1,10,156,65\r\n")
    (master,) = f.ct.entries()
    f.ct.kill(master, 1.0)
    assert not f.ct.expectations()


def test_expect_table_rules():
    ct = ConntrackTable(sysctl=lambda n: 2 if n.endswith("expect_max") else None)
    f = Ftp()
    f.login()
    (m,) = f.ct.entries()
    t = Tuple(2, SVB, CLB, 6, 0, 5)
    ct.expect_related(Expectation(t, m), 0, timeout=10)
    other = Ftp()
    other.login()
    (m2,) = other.ct.entries()
    with pytest.raises(ExpectError) as e:          # same tuple from another master
        ct.expect_related(Expectation(t, m2), 0, timeout=10)
    assert e.value.errno == errno.EBUSY
    ct.expect_related(Expectation(Tuple(2, SVB, CLB, 6, 0, 6), m), 0, timeout=10)
    with pytest.raises(ExpectError) as e:
        ct.expect_related(Expectation(Tuple(2, SVB, CLB, 6, 0, 7), m), 0, timeout=10)
    assert e.value.errno == errno.EMFILE
    perm = Expectation(Tuple(2, SVB, CLB, 6, 0, 8), m, flags=ExpectFlag.PERMANENT)
    ct.expect_table.remove(ct.expectations()[0])
    ct.expect_related(perm, 0, timeout=10)
    assert "PERMANENT class=0" in format_expect(perm, 0)
    assert ct.expect_table.find(Tuple(2, SVB, CLB, 6, 999, 8), 0, 1) is perm
    assert ct.expect_table.find(Tuple(2, SVB, CLB, 6, 999, 8), 0, 1) is perm   # stays


def _seg(seq, ack, payload=b"", sack=None):
    opts = b""
    if sack:
        opts = b"\x01\x01\x05" + bytes([2 + 8 * len(sack)]) + b"".join(struct.pack("!II", *b) for b in sack)
    return Packet(P.ipv4(CL, SV, P.tcp(40000, 21, PA, seq=seq, ack=ack, options=opts, payload=payload)),
                  LinkType.RAW)


def test_seqadj_rewrites_seq_ack_sack_with_valid_checksums():
    ct = ConntrackTable()
    p = _seg(1000, 5000, b"PORT 1,2,3,4,5,6\r\n")
    ct.in_hook(p, "prerouting", 0)
    conn = p.ct
    # NAT made this segment 3 bytes longer
    seqadj_set(conn, CtInfo.NEW, 1000, 3)
    assert conn.status & Status.SEQ_ADJUST
    assert seq_offset(conn, 0, 1000) == 0 and seq_offset(conn, 0, 1001) == 3
    later = _seg(1018, 5000)
    seq_adjust(later, conn, CtInfo.ESTABLISHED)
    assert struct.unpack_from("!I", later.buf, later.th_off + 4)[0] == 1021
    assert all(later.verify_checksums().values())
    # the reply acknowledges adjusted numbers: mapped back, SACK blocks too
    reply = Packet(P.ipv4(SV, CL, P.tcp(21, 40000, A, seq=5000, ack=1021,
                                        options=b"\x01\x01\x05\x0a" + struct.pack("!II", 1021, 1031))),
                   LinkType.RAW)
    seq_adjust(reply, conn, CtInfo.ESTABLISHED_REPLY)
    th = reply.th_off
    assert struct.unpack_from("!I", reply.buf, th + 8)[0] == 1018
    assert struct.unpack_from("!II", reply.buf, th + 24) == (1018, 1028)
    assert all(reply.verify_checksums().values())
    # a retransmission of the resized segment is not counted twice
    seqadj_set(conn, CtInfo.NEW, 1000, 3)
    assert seq_offset(conn, 0, 2000) == 3


def test_userspace_helper_example():
    class Echo7(Helper):
        name, protonum, max_expected, timeout = "echo7-test", 17, 1, 30

        def help(self, h):
            if h.dir == 0 and h.payload.startswith(b"OPEN "):
                h.expect(dport=int(h.payload[5:].split()[0]))
            return NF_ACCEPT

    register_helper(Echo7())
    ct = ConntrackTable()
    p = Packet(P.ipv4(CL, SV, P.udp(7000, 7, b"OPEN 9999\n")), LinkType.RAW)
    ct.in_hook(p, "prerouting", 0)
    assert ct.assign_helper(p, "echo7-test") and not ct.assign_helper(p, "ftp")
    ct.confirm(p, 0)
    (exp,) = ct.expectations()
    assert exp.tuple == Tuple(2, SVB, CLB, 17, 0, 9999) and exp.remaining(0) == 30
    q = Packet(P.ipv4(SV, CL, P.udp(1234, 9999, b"hello")), LinkType.RAW)
    ct.in_hook(q, "prerouting", 1)
    assert q.ctinfo == CtInfo.RELATED
