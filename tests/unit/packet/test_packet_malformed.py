"""Malformed packets parse as far as they are valid, set flags, and never raise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.all import (
    AH, IP, TCP, UDP, CookedLinux, Dot1Q, Ether, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, SCTP, ICMP,
)
from scapy.all import raw as sraw

from pkttables.packet import LinkType, Packet, ParseFlag

ETH = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
V6 = dict(src="2001:db8::1", dst="2001:db8::2")

VALID = {
    "ipv4-tcp-opts": sraw(Ether(**ETH) / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(options=[("MSS", 1460), ("NOP", None)]) / b"payload"),
    "qinq-udp": sraw(Ether(**ETH) / Dot1Q(vlan=1) / Dot1Q(vlan=2) / IP() / UDP() / b"x"),
    "ipv6-chain": sraw(Ether(**ETH) / IPv6(**V6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() / IPv6ExtHdrFragment()
                       / IPv6ExtHdrDestOpt() / TCP()),
    "ipv6-ah": sraw(Ether(**ETH) / IPv6(**V6, nh=51) / AH(nh=6, payloadlen=4, icv=b"\0" * 12) / TCP()),
    "sctp": sraw(Ether(**ETH) / IP() / SCTP()),
    "icmp": sraw(Ether(**ETH) / IP() / ICMP() / IP() / UDP()),
}

ALL_LINKS = list(LinkType) + [0, 999]


def mutant(name: str, changes: dict[int, int | bytes]) -> Packet:
    """``VALID[name]`` with bytes overwritten (offset -> a byte or a byte string), parsed."""
    data = bytearray(VALID[name])
    for at, value in changes.items():
        if isinstance(value, int):
            data[at] = value
        else:
            data[at:at + len(value)] = value
    return Packet(bytes(data))


def consistent(p: Packet) -> None:
    """Invariants every parse result must satisfy, whatever the input."""
    n = len(p.buf)
    assert isinstance(p.flags, ParseFlag)
    assert -1 <= p.nh_off <= n
    if p.l4proto >= 0:
        assert p.nh_off >= 0 and p.th_off >= p.nh_off
        assert 0 <= p.l4proto <= 255
    else:
        assert p.th_off == -1 and p.fragoff == 0
    if p.nh_off >= 0:
        assert 0 <= p.l3_len <= n - p.nh_off
    assert p.has_transport == (p.l4proto >= 0 and p.fragoff == 0)
    # every view works on whatever was parsed
    p.summary()
    repr(p)
    list(p.tcp_options())
    p.inner_nh_off
    p.verify_checksums()
    p.find_exthdr(44)


@pytest.mark.parametrize("name", sorted(VALID))
def test_truncated_at_every_length(name):
    data = VALID[name]
    full = Packet(data)
    assert full.flags == ParseFlag.NONE
    for cut in range(len(data)):
        p = Packet(data[:cut])
        consistent(p)
        # a cut packet is flagged unless the cut fell exactly after a complete packet
        assert p.flags != ParseFlag.NONE or cut >= full.nh_off + full.l3_len, cut
        # the IP length says more than there is: the kernel gives no L4 information
        if p.nh_off >= 0 and cut < full.nh_off + full.l3_len:
            assert p.l4proto == -1


@pytest.mark.parametrize("ihl", [0, 1, 4])
def test_bad_ihl(ihl):
    p = mutant("ipv4-tcp-opts", {14: 0x40 | ihl})
    assert p.flags == ParseFlag.BAD_IHL
    assert p.l4proto == -1 and p.th_off == -1 and not p.has_l4proto


def test_ihl_beyond_total_length():
    p = mutant("ipv4-tcp-opts", {14: 0x4F, 16: (40).to_bytes(2, "big")})  # a 60-byte header in 40
    assert ParseFlag.BAD_TOTLEN in p.flags and p.l4proto == -1


def test_total_length_beyond_buffer():
    p = mutant("ipv4-tcp-opts", {16: (1500).to_bytes(2, "big")})
    assert p.flags == ParseFlag.BAD_TOTLEN | ParseFlag.TRUNCATED
    assert p.l4proto == -1
    assert p.l3_len == len(VALID["ipv4-tcp-opts"]) - 14


def test_total_length_shorter_than_header():
    p = mutant("ipv4-tcp-opts", {16: (10).to_bytes(2, "big")})
    assert ParseFlag.BAD_TOTLEN in p.flags and p.l4proto == -1


def test_total_length_cuts_the_transport_header():
    # valid IP, but tot_len leaves only 10 bytes of TCP: L4 known, header TRUNCATED
    p = mutant("ipv4-tcp-opts", {16: (30).to_bytes(2, "big")})
    assert p.l4proto == 6 and p.th_off == 34 and p.has_transport
    assert p.flags == ParseFlag.TRUNCATED


def test_bad_version_in_ipv4_ethertype():
    p = mutant("ipv4-tcp-opts", {14: 0x65})
    assert p.flags == ParseFlag.BAD_VERSION and p.l4proto == -1


def test_bad_tcp_data_offset():
    p = mutant("ipv4-tcp-opts", {34 + 12: 0x30})
    assert p.flags == ParseFlag.BAD_TCP_DOFF
    assert p.l4proto == 6 and p.th_off == 34  # still what the kernel sets
    assert list(p.tcp_options()) == []


def test_ipv6_payload_length_beyond_buffer():
    p = mutant("ipv6-chain", {18: (4000).to_bytes(2, "big")})
    assert ParseFlag.BAD_TOTLEN in p.flags and p.l4proto == -1


def test_ipv6_extension_header_longer_than_packet():
    # hop-by-hop claims 1608 bytes: the next header is past the end
    p = mutant("ipv6-chain", {54 + 1: 200})
    assert p.flags == ParseFlag.BAD_EXTHDR | ParseFlag.TRUNCATED
    assert p.l4proto == -1


def test_ipv6_last_exthdr_overruns_into_transport():
    # ipv6_find_hdr does not check the upper-layer offset: L4 known, header cut
    data = bytearray(sraw(Ether(**ETH) / IPv6(**V6) / IPv6ExtHdrDestOpt(nh=6) / TCP()))
    data[54 + 1] = 3  # 32 bytes of options: TCP would start at 86 > end 82
    p = Packet(bytes(data))
    assert p.l4proto == 6 and p.th_off == 86
    assert p.flags == ParseFlag.TRUNCATED


def test_truncated_vlan_tag():
    data = sraw(Ether(**ETH) / Dot1Q(vlan=3) / IP())[:16]
    p = Packet(data)
    assert p.flags == ParseFlag.TRUNCATED and p.nh_off == -1


def test_short_link_headers():
    assert Packet(b"\x00" * 13).flags == ParseFlag.TRUNCATED | ParseFlag.BAD_LINK
    assert Packet(b"", link=LinkType.RAW).flags == ParseFlag.TRUNCATED
    assert Packet(sraw(CookedLinux())[:10], link=LinkType.LINUX_SLL).flags == ParseFlag.TRUNCATED | ParseFlag.BAD_LINK


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200), link=st.sampled_from(ALL_LINKS))
def test_random_bytes_never_raise(data, link):
    p = Packet(data, link=link)
    consistent(p)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(VALID)), pos=st.integers(0, 10_000), val=st.integers(0, 255),
       cut=st.integers(0, 10_000))
def test_corrupted_valid_packets_never_raise(name, pos, val, cut):
    data = bytearray(VALID[name])
    data[pos % len(data)] = val
    data = data[: cut % (len(data) + 1)]
    p = Packet(bytes(data))
    consistent(p)
    # parsing is a pure function of the bytes: copies and reparses agree
    q = p.copy()
    q.reparse()
    for name_ in Packet.__slots__:
        assert getattr(q, name_) == getattr(p, name_)
