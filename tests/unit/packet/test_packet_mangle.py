"""Mangling: nft_payload_set semantics, NAT-style setters; incremental == full."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.all import (
    ICMP, IP, SCTP, TCP, UDP, Ether, ICMPv6EchoRequest, IPv6, IPv6ExtHdrFragment, Raw, SCTPChunkData,
)
from scapy.all import raw as sraw

from pkttables.errors import PktError
from pkttables.packet import Packet

ETH = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def v4(l4, **ip):
    kw = dict(src="192.0.2.1", dst="198.51.100.7", ttl=64, tos=0)
    kw.update(ip)
    return Ether(**ETH) / IP(**kw) / l4


def v6(l4, **ip):
    kw = dict(src="2001:db8::1", dst="2001:db8::2", hlim=64, tc=0)
    kw.update(ip)
    return Ether(**ETH) / IPv6(**kw) / l4


L4V4 = {
    "tcp": TCP(sport=1000, dport=80, flags="S", seq=12345) / b"data",
    "udp": UDP(sport=1000, dport=53) / b"query",
    "icmp": ICMP(type=8, id=1, seq=1) / b"ping",
    "sctp": SCTP(sport=1000, dport=80) / SCTPChunkData(data=b"chunk"),
}
L4V6 = {
    "tcp": TCP(sport=1000, dport=80, flags="SA") / b"data6",
    "udp": UDP(sport=1000, dport=53) / b"q6",
    "icmpv6": ICMPv6EchoRequest(id=1, seq=1, data=b"echo6"),
    "sctp": SCTP(sport=1000, dport=80) / SCTPChunkData(data=b"chunk6"),
}


@pytest.mark.parametrize("name", sorted(L4V4))
def test_ipv4_snat_dnat_equal_scapy_rebuild(name):
    l4 = L4V4[name]
    p = Packet(sraw(v4(l4)))
    assert p.set_saddr("203.0.113.5")
    assert p.set_daddr(ipaddress.IPv4Address("10.9.8.7"))
    assert bytes(p.buf) == sraw(v4(l4, src="203.0.113.5", dst="10.9.8.7"))
    assert all(p.verify_checksums().values())


@pytest.mark.parametrize("name", sorted(L4V6))
def test_ipv6_snat_dnat_equal_scapy_rebuild(name):
    l4 = L4V6[name]
    p = Packet(sraw(v6(l4)))
    assert p.set_saddr(ipaddress.IPv6Address("2001:db8:aa::5").packed)
    assert p.set_daddr("2001:db8:bb::7")
    assert bytes(p.buf) == sraw(v6(l4, src="2001:db8:aa::5", dst="2001:db8:bb::7"))
    assert all(p.verify_checksums().values())


@pytest.mark.parametrize("name", ["tcp", "udp", "sctp"])
@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_ports_equal_scapy_rebuild(name, fam):
    l4 = (L4V4 if fam == "v4" else L4V6)[name]
    build = v4 if fam == "v4" else v6
    p = Packet(sraw(build(l4)))
    assert p.set_sport(40000)
    assert p.set_dport(8080)
    l4b = l4.copy()
    l4b.sport, l4b.dport = 40000, 8080
    assert bytes(p.buf) == sraw(build(l4b))
    assert all(p.verify_checksums().values())


def test_udp_without_checksum_stays_without():
    d = bytearray(sraw(v4(UDP(sport=1, dport=2) / b"abc")))
    d[40:42] = b"\0\0"
    p = Packet(bytes(d))
    p.set_saddr("10.0.0.1")
    p.set_dport(99)
    assert p.buf[40:42] == b"\0\0"
    assert p.verify_checksums() == {"ip": True, "udp": True}
    assert p.mangle(26, b"\x0a\x00\x00\x02", csum_offset=24, l4_pseudo=True)
    assert p.buf[40:42] == b"\0\0"


def test_ports_on_protocol_without_ports():
    p = Packet(sraw(v4(ICMP())))
    assert not p.set_sport(1) and not p.set_dport(2)
    with pytest.raises(PktError):
        p.set_sport(70000)


def test_fragment_setters_leave_transport_alone():
    # a non-first fragment has no transport header: addresses change, no L4 checksum touched
    s = v4(Raw(b"\x11" * 24), proto=6, frag=100)
    p = Packet(sraw(s))
    before = bytes(p.buf[34:])
    assert p.set_daddr("10.1.1.1")
    assert bytes(p.buf[34:]) == before
    assert p.verify_checksums() == {"ip": True}
    assert not p.set_dport(1)


def test_ipv6_fragment_l4_pseudo_mangle_skips_transport():
    s = v6(IPv6ExtHdrFragment(offset=10, nh=6) / Raw(b"\x22" * 24))
    p = Packet(sraw(s))
    before = bytes(p.buf[62:])
    assert p.mangle(14 + 24, b"\x20\x01\x0d\xb8" + bytes(12), l4_pseudo=True)
    assert bytes(p.buf[62:]) == before


def test_ttl_tos_dscp_equal_scapy_rebuild():
    l4 = L4V4["tcp"]
    p = Packet(sraw(v4(l4)))
    assert p.set_ttl(3)
    assert p.set_tos(0xB9)
    assert bytes(p.buf) == sraw(v4(l4, ttl=3, tos=0xB9))
    assert p.set_dscp(10)
    assert p.get_tos() == (10 << 2) | 1
    assert p.verify_checksums() == {"ip": True, "tcp": True}
    q = Packet(sraw(v6(L4V6["udp"])))
    assert q.set_hoplimit(1) and q.set_tos(0xB9)
    assert bytes(q.buf) == sraw(v6(L4V6["udp"], hlim=1, tc=0xB9))
    assert q.set_dscp(46) and q.get_tos() == (46 << 2) | 1


def test_set_l2():
    p = Packet(sraw(v4(L4V4["udp"])))
    assert p.set_l2(b"\xaa" * 6, None)
    assert p.buf[0:6] == b"\xaa" * 6 and p.buf[6:12] == bytes.fromhex("020000000001")
    assert p.set_l2(src_mac=b"\xbb" * 6) and p.buf[6:12] == b"\xbb" * 6
    with pytest.raises(PktError):
        p.set_l2(b"\x01\x02")


def test_bad_address_raises_pkterror():
    p = Packet(sraw(v4(L4V4["tcp"])))
    with pytest.raises(PktError):
        p.set_saddr("2001:db8::1")
    with pytest.raises(PktError):
        p.set_daddr("not-an-address")


def test_mangle_outside_buffer_is_refused_unchanged():
    data = sraw(v4(L4V4["tcp"]))
    p = Packet(data)
    assert not p.mangle(len(data) - 1, b"\0\0")
    assert not p.mangle(-1, b"\0")
    assert not p.mangle(0, b"\0", csum_offset=len(data))
    assert bytes(p.buf) == data


def test_mangle_ip_header_with_l4_pseudo_tcp():
    p = Packet(sraw(v4(L4V4["tcp"])))
    # ip saddr set 10.0.0.1: nft writes 4 bytes at nh+12, csum inet at nh+10, pseudo flag
    assert p.mangle(26, bytes([10, 0, 0, 1]), csum_offset=24, l4_pseudo=True)
    assert bytes(p.buf) == sraw(v4(L4V4["tcp"], src="10.0.0.1"))


def test_mangle_result_zero_is_stored_as_ffff():
    # choose an IP id that makes the header sum 0xffff, i.e. a checksum of 0:
    # nft_csum_replace stores CSUM_MANGLED_0 (0xffff) instead
    from pkttables.packet.checksum import ones_sum
    p = Packet(sraw(v4(L4V4["tcp"])))
    hdr = bytearray(p.buf[14:34])
    hdr[4:6] = hdr[10:12] = b"\0\0"
    ip_id = 0xFFFF - ones_sum(hdr)
    q = p.copy()
    q.buf[18:20] = ip_id.to_bytes(2, "big")
    q.fix_checksums()
    assert q.buf[24:26] == b"\0\0"  # a full recompute gives 0 ...
    assert p.mangle(18, ip_id.to_bytes(2, "big"), csum_offset=24)
    assert p.buf[24:26] == b"\xff\xff"  # ... the kernel's incremental update 0xffff
    assert p.verify_checksums()["ip"]


# ------------------------------------------------------------------ hypothesis

PACKETS = [sraw(v4(l)) for l in L4V4.values()] + [sraw(v6(l)) for l in L4V6.values()]


def normalized(p: Packet) -> bytes:
    """The packet with every checksum recomputed, CSUM_MANGLED_0 folded back."""
    q = p.copy()
    q.fix_checksums()
    return bytes(q.buf)


def same_modulo_zero(a: bytes, b: bytes) -> bool:
    """Equal, except where one has 0x0000 and the other 0xffff (two zeros)."""
    if len(a) != len(b):
        return False
    i = 0
    while i < len(a):
        if a[i] != b[i]:
            j = i & ~1
            if {a[j:j + 2], b[j:j + 2]} != {b"\0\0", b"\xff\xff"}:
                return False
            i = j + 2
        else:
            i += 1
    return True


@settings(max_examples=200, deadline=None)
@given(idx=st.integers(0, len(PACKETS) - 1), word=st.integers(0, 15), size=st.sampled_from([1, 2, 4]),
       new=st.binary(min_size=4, max_size=4))
def test_random_address_mangles_keep_checksums_valid(idx, word, size, new):
    p = Packet(PACKETS[idx])
    nh = p.nh_off
    if p.nfproto == 2:
        off = nh + 12 + (word * 2) % 8
        off -= (off + size - (nh + 20)) if off + size > nh + 20 else 0
        ok = p.mangle(off, new[:size], csum_offset=nh + 10, l4_pseudo=True)
    else:
        off = nh + 8 + min(word * 2, 32 - size) // 2 * 2  # inside the two addresses
        ok = p.mangle(off, new[:size], l4_pseudo=True)
    assert ok
    res = p.verify_checksums()
    # SCTP's CRC does not cover addresses and ICMP has no pseudo-header: always valid
    assert all(res.values()), res
    assert same_modulo_zero(bytes(p.buf), normalized(p))


@settings(max_examples=200, deadline=None)
@given(idx=st.integers(0, len(PACKETS) - 1), pos=st.integers(0, 40), size=st.sampled_from([1, 2, 3, 4]),
       new=st.binary(min_size=4, max_size=4))
def test_random_transport_mangles_with_inet_csum(idx, pos, size, new):
    p = Packet(PACKETS[idx])
    name = [k for k in p.verify_checksums() if k != "ip"][0]
    if name == "sctp":
        return  # CRC32c: no incremental update
    th = p.th_off
    csum = th + {"tcp": 16, "udp": 6, "icmp": 2, "icmpv6": 2}[name]
    end = p.nh_off + p.l3_len
    off = th + (pos & ~1)
    if off + size > end or (off < csum + 2 and off + size > csum):
        return  # outside the segment, or overlapping the checksum itself
    assert p.mangle(off, new[:size], csum_offset=csum)
    assert p.verify_checksums()[name], (name, off, size)
    assert same_modulo_zero(bytes(p.buf), normalized(p))


@settings(max_examples=100, deadline=None)
@given(idx=st.integers(0, len(PACKETS) - 1), a=st.binary(min_size=16, max_size=16),
       sport=st.integers(0, 65535), dport=st.integers(0, 65535))
def test_random_nat_equals_full_recompute_exactly(idx, a, sport, dport):
    p = Packet(PACKETS[idx])
    size = 4 if p.nfproto == 2 else 16
    p.set_saddr(a[:size])
    p.set_daddr(a[::-1][:size])
    p.set_sport(sport)
    p.set_dport(dport)
    assert all(p.verify_checksums().values())
    # nf_nat's updates are plain RFC 1624 (UDP's 0 -> 0xffff is also what a full
    # recompute stores), so the bytes equal a full recomputation exactly
    assert bytes(p.buf) == normalized(p)
    q = p.copy()
    q.reparse()
    assert (q.nh_off, q.th_off, q.l4proto) == (p.nh_off, p.th_off, p.l4proto)
