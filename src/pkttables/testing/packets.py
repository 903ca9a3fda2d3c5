"""Packet builders without scapy: small, exact, dependency-free frames for examples,
benchmarks and users' own tests.  Checksums are always filled in.

    frame = ether(dst_mac, src_mac, ipv4("192.168.1.10", "8.8.8.8", udp(40000, 53, b"...")))

Layers are built inside out: a transport builder returns a ``Segment`` that knows its
protocol number and where its checksum goes; the IP builder fills that checksum with the
pseudo-header, then its own.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from pkttables.packet.checksum import internet_checksum

ETH_P_IP, ETH_P_IPV6, ETH_P_ARP, ETH_P_8021Q = 0x0800, 0x86DD, 0x0806, 0x8100
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10
# MSS 1460, SACK permitted, timestamps, NOP, window scale 7: what Linux puts in a SYN.
LINUX_SYN_OPTIONS = bytes.fromhex("020405b4" "0402" "080a0000000100000000" "01" "030307")


@dataclass(frozen=True, slots=True)
class Segment:
    proto: int              # IPPROTO_*
    data: bytes
    csum_off: int | None    # where the transport checksum goes, None for none
    pseudo: bool = True     # does the checksum cover the IP pseudo-header (not ICMPv4)


def _addr(a) -> bytes:
    if isinstance(a, bytes):
        return a
    return ipaddress.ip_address(a).packed


def _mac(m) -> bytes:
    return m if isinstance(m, bytes) else bytes.fromhex(m.replace(":", ""))


def tcp(sport: int, dport: int, flags: int = TCP_SYN, seq: int = 1000, ack: int = 0,
        window: int = 64240, options: bytes | None = None, payload: bytes = b"") -> Segment:
    if options is None:
        options = LINUX_SYN_OPTIONS if flags & TCP_SYN else b""
    options += b"\0" * (-len(options) % 4)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (5 + len(options) // 4) << 4, flags,
                      window, 0, 0)
    return Segment(6, hdr + options + payload, 16)


def udp(sport: int, dport: int, payload: bytes = b"") -> Segment:
    return Segment(17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload, 6)


def icmp_echo(ident: int, seq: int, payload: bytes = b"", *, reply: bool = False, v6: bool = False) -> Segment:
    if v6:
        return Segment(58, struct.pack("!BBHHH", 129 if reply else 128, 0, 0, ident, seq) + payload, 2)
    return Segment(1, struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq) + payload, 2, pseudo=False)


def icmp_error(type_: int, code: int, quoted: bytes, *, v6: bool = False, rest: int = 0) -> Segment:
    """An ICMP/ICMPv6 error quoting (the start of) an offending IP packet."""
    hdr = struct.pack("!BBHI", type_, code, 0, rest)
    return Segment(58 if v6 else 1, hdr + quoted, 2, pseudo=v6)


def _fill(seg: Segment, pseudo: bytes) -> bytes:
    data = bytearray(seg.data)
    if seg.csum_off is not None:
        c = internet_checksum((pseudo if seg.pseudo else b"") + bytes(data))
        if c == 0 and seg.proto == 17:
            c = 0xFFFF  # RFC 768: a computed zero is sent as all ones
        struct.pack_into("!H", data, seg.csum_off, c)
    return bytes(data)


def ipv4(src, dst, seg: Segment, *, ttl: int = 64, ident: int = 1, df: bool = True, tos: int = 0,
         options: bytes = b"") -> bytes:
    s, d = _addr(src), _addr(dst)
    options += b"\0" * (-len(options) % 4)
    l4 = _fill(seg, s + d + struct.pack("!BBH", 0, seg.proto, len(seg.data)))
    ihl = 5 + len(options) // 4
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, ihl * 4 + len(l4), ident,
                               0x4000 if df else 0, ttl, seg.proto, 0, s, d) + options)
    struct.pack_into("!H", ip, 10, internet_checksum(bytes(ip)))
    return bytes(ip) + l4


def ipv6(src, dst, seg: Segment, *, hlim: int = 64, exthdrs: bytes = b"", first_nexthdr: int | None = None,
         flow: int = 0) -> bytes:
    """`exthdrs` are raw extension headers; `first_nexthdr` names the first of them (the
    caller chains their next-header fields, the last pointing at ``seg.proto``)."""
    s, d = _addr(src), _addr(dst)
    l4 = _fill(seg, s + d + struct.pack("!IxxxB", len(seg.data), seg.proto))
    nxt = seg.proto if first_nexthdr is None else first_nexthdr
    return struct.pack("!IHBB16s16s", 0x60000000 | flow, len(exthdrs) + len(l4), nxt, hlim, s, d) + exthdrs + l4


def ether(dst, src, payload: bytes, ethertype: int | None = None, vlan: int | None = None) -> bytes:
    if ethertype is None:
        ethertype = ETH_P_IPV6 if payload[:1] and payload[0] >> 4 == 6 else ETH_P_IP
    if vlan is None:
        return struct.pack("!6s6sH", _mac(dst), _mac(src), ethertype) + payload
    return struct.pack("!6s6sHHH", _mac(dst), _mac(src), ETH_P_8021Q, vlan, ethertype) + payload


def arp_request(src_mac, spa, tpa) -> bytes:
    arp = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 1, _mac(src_mac), _addr(spa), b"\0" * 6, _addr(tpa))
    return ether(b"\xff" * 6, src_mac, arp, ETH_P_ARP)
