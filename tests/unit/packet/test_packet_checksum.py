"""Checksums: full computation against scapy's, incremental (RFC 1624) against full."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.all import (
    GRE, ICMP, IP, SCTP, TCP, UDP, Ether, ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt, SCTPChunkData,
)
from scapy.all import raw as sraw

from pkttables.packet import Packet
from pkttables.packet import checksum as ck

ETH = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
V4 = dict(src="192.0.2.1", dst="198.51.100.7")
V6 = dict(src="2001:db8::1", dst="2001:db8:ffff::2")


def ref_sum(data: bytes) -> int:
    """RFC 1071 by the book: add 16-bit words with end-around carry."""
    if len(data) % 2:
        data += b"\0"
    s = 0
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | data[i + 1]
        s = (s & 0xFFFF) + (s >> 16)
    return s


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_ones_sum_matches_reference(data):
    assert ck.ones_sum(data) == ref_sum(data)
    assert ck.internet_checksum(data) == ~ref_sum(data) & 0xFFFF


def test_ones_sum_zero_representation():
    assert ck.ones_sum(b"") == 0
    assert ck.ones_sum(b"\0\0\0") == 0
    assert ck.ones_sum(b"\xff\x00\x00\xff") == 0xFFFF  # sum is a multiple of 0xffff
    assert ck.internet_checksum(b"\xff\x00\x00\xff") == 0


@settings(max_examples=300, deadline=None)
@given(data=st.binary(min_size=2, max_size=120), pos=st.integers(0, 200), new=st.binary(min_size=1, max_size=16))
def test_rfc1624_incremental_equals_full(data, pos, new):
    data = bytearray(data)
    pos = (pos % len(data)) & ~1  # csum_partial assumes an even start
    new = new[: len(data) - pos]
    old = bytes(data[pos:pos + len(new)])
    before = ck.internet_checksum(data)
    data[pos:pos + len(new)] = new
    full = ck.internet_checksum(data)
    inc = ck.csum_replace(before, old, new)
    # the only difference: all-zero data, whose full checksum is 0xffff (RFC 1624 sec. 3)
    assert inc == full or (not any(data) and (inc, full) == (0, 0xFFFF))


def test_rfc1624_example():
    # RFC 1624 section 4: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285 gives HC' = 0x0000
    assert ck.csum_replace(0xDD2F, b"\x55\x55", b"\x32\x85") == 0x0000


def built(pkt):
    """Bytes with every checksum filled in by scapy, and the same with ours zeroed."""
    return sraw(pkt)


CASES = {
    "ipv4-tcp": Ether(**ETH) / IP(**V4) / TCP(sport=40000, dport=443, flags="PA") / b"hello world",
    "ipv4-tcp-odd": Ether(**ETH) / IP(**V4) / TCP(options=[("MSS", 1400)]) / b"odd",
    "ipv4-udp": Ether(**ETH) / IP(**V4) / UDP(sport=5000, dport=53) / b"abcde",
    "ipv4-icmp": Ether(**ETH) / IP(**V4) / ICMP(type=8, id=3, seq=9) / b"ping-data",
    "ipv4-sctp": Ether(**ETH) / IP(**V4) / SCTP(sport=9, dport=10, tag=77) / SCTPChunkData(data=b"chunk"),
    "ipv4-gre-csum": Ether(**ETH) / IP(**V4) / GRE(chksum_present=1) / IP(**V4) / UDP(),
    "ipv6-tcp": Ether(**ETH) / IPv6(**V6) / TCP(sport=1, dport=2) / (b"x" * 33),
    "ipv6-udp-ext": Ether(**ETH) / IPv6(**V6) / IPv6ExtHdrDestOpt() / UDP(sport=1, dport=2) / (b"y" * 7),
    "ipv6-icmpv6": Ether(**ETH) / IPv6(**V6) / ICMPv6EchoRequest(id=1, seq=2, data=b"echo"),
    "ipv6-sctp": Ether(**ETH) / IPv6(**V6) / SCTP(sport=9, dport=10) / SCTPChunkData(data=b"chunk6"),
}
EXPECT = {
    "ipv4-tcp": {"ip", "tcp"}, "ipv4-tcp-odd": {"ip", "tcp"}, "ipv4-udp": {"ip", "udp"},
    "ipv4-icmp": {"ip", "icmp"}, "ipv4-sctp": {"ip", "sctp"}, "ipv4-gre-csum": {"ip", "gre"},
    "ipv6-tcp": {"tcp"}, "ipv6-udp-ext": {"udp"}, "ipv6-icmpv6": {"icmpv6"}, "ipv6-sctp": {"sctp"},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_scapy_checksums_verify(name):
    data = built(CASES[name])
    p = Packet(data)
    res = p.verify_checksums()
    assert set(res) == EXPECT[name]
    assert all(res.values()), res


@pytest.mark.parametrize("name", sorted(CASES))
def test_fix_checksums_reproduces_scapy(name):
    data = built(CASES[name])
    p = Packet(data)
    # wreck every checksum, then recompute
    nh, th = p.nh_off, p.th_off
    for key in p.verify_checksums():
        off = {"ip": nh + 10, "tcp": th + 16, "udp": th + 6, "icmp": th + 2, "icmpv6": th + 2,
               "sctp": th + 8, "gre": th + 4}[key]
        p.buf[off] ^= 0x5A
    assert not any(p.verify_checksums().values())
    p.fix_checksums()
    assert bytes(p.buf) == data
    assert all(p.verify_checksums().values())


def test_sctp_crc32c_matches_scapy_and_rfc3720_vector():
    # RFC 3720 B.4: 32 bytes of zeros -> CRC32c 0x8a9136aa
    assert ck.crc32c(bytes(32)) == 0x8A9136AA
    data = built(CASES["ipv4-sctp"])
    assert ck.sctp_checksum(data[34:]) == data[34 + 8:34 + 12]


def test_udp_zero_checksum_means_none_over_ipv4_only():
    d4 = bytearray(built(Ether(**ETH) / IP(**V4) / UDP() / b"z"))
    d4[34 + 6:34 + 8] = b"\0\0"
    p = Packet(bytes(d4))
    assert p.verify_checksums() == {"ip": True, "udp": True}
    p.fix_checksums()
    assert p.buf[34 + 6:34 + 8] == b"\0\0"  # stays "no checksum"
    d6 = bytearray(built(Ether(**ETH) / IPv6(**V6) / UDP() / b"z"))
    d6[54 + 6:54 + 8] = b"\0\0"
    assert Packet(bytes(d6)).verify_checksums() == {"udp": False}


def test_udp_computed_zero_is_sent_as_ffff():
    # pick a payload that makes the UDP sum 0xffff: the checksum would be 0
    base = bytearray(built(Ether(**ETH) / IP(**V4) / UDP(sport=1, dport=2) / b"\0\0"))
    p = Packet(bytes(base))
    cur = int.from_bytes(p.buf[40:42], "big")
    # adding a word equal to the checksum makes the total sum 0xffff
    p.buf[42:44] = cur.to_bytes(2, "big")
    p.fix_checksums()
    assert p.buf[40:42] == b"\xff\xff"
    assert p.verify_checksums()["udp"]


SRC6 = bytes.fromhex("20010db8000000000000000000000001")
DST6 = bytes.fromhex("20010db8ffff00000000000000000002")
SRC4 = bytes([192, 0, 2, 1])
DST4 = bytes([198, 51, 100, 7])


def _udplite(payload: bytes, coverage: int, v6: bool):
    """A UDP-Lite datagram whose checksum is computed by the book (RFC 3828 3.1)."""
    seg = struct.pack("!HHHH", 1111, 2222, coverage, 0) + payload
    if v6:
        ip = IPv6(**V6, nh=136)
        pseudo = SRC6 + DST6 + len(seg).to_bytes(4, "big") + bytes([0, 0, 0, 136])
    else:
        ip = IP(**V4, proto=136)
        pseudo = SRC4 + DST4 + bytes([0, 136]) + len(seg).to_bytes(2, "big")
    covered = seg if coverage == 0 else seg[:coverage]
    c = (~ref_sum(pseudo + covered) & 0xFFFF) or 0xFFFF
    seg = seg[:6] + c.to_bytes(2, "big") + seg[8:]
    return Ether(**ETH) / ip / seg


@pytest.mark.parametrize("coverage", [0, 8, 12])
@pytest.mark.parametrize("v6", [False, True])
def test_udplite_checksum_coverage(coverage, v6):
    data = sraw(_udplite(b"0123456789abcdef", coverage, v6))
    p = Packet(data)
    assert p.l4proto == 136
    res = p.verify_checksums()
    assert res["udplite"] is True
    if coverage:
        # bytes outside the coverage are not protected
        q = Packet(data[:-1] + bytes([data[-1] ^ 0xFF]))
        assert q.verify_checksums()["udplite"] is True
    q = Packet(data)
    q.buf[q.th_off + 8] ^= 0xFF  # first payload byte is always covered when coverage > 8 or 0
    assert q.verify_checksums()["udplite"] is (coverage == 8)


def test_dccp_checksum_roundtrip():
    # DCCP-Request (type 0, X=1): 16-byte generic header + 4-byte service code
    hdr = bytearray(struct.pack("!HHBBHBBHI", 5000, 80, 5, 0x00, 0, (0 << 1) | 1, 0, 0, 1) + b"\0\0\0\0")
    data = bytearray(sraw(Ether(**ETH) / IP(**V4, proto=33) / bytes(hdr)))
    p = Packet(bytes(data))
    assert p.l4proto == 33
    p.fix_checksums()
    assert p.verify_checksums() == {"ip": True, "dccp": True}
    # independent: by-the-book sum over pseudo header + whole packet is 0xffff
    seg = bytes(p.buf[p.th_off:])
    pseudo = bytes([192, 0, 2, 1, 198, 51, 100, 7, 0, 33]) + len(seg).to_bytes(2, "big")
    assert ref_sum(pseudo + seg) == 0xFFFF
