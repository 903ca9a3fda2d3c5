"""Byte builders for the packets the host's own stack sends: ICMP/ICMPv6 messages, TCP
resets, ARP, neighbour solicitations, IPv4 fragments.  Each one writes the fields the
kernel function named in its docstring writes; the engine decides when to send them."""

from __future__ import annotations

import struct

from pkttables.packet.checksum import internet_checksum, pseudo_header_v4, pseudo_header_v6

BCAST_MAC = b"\xff" * 6
ETH_P_IP, ETH_P_ARP, ETH_P_IPV6 = 0x0800, 0x0806, 0x86DD
IP_DF, IP_MF, IP_OFFSET = 0x4000, 0x2000, 0x1FFF


def ether(dst: bytes, src: bytes, ethertype: int, payload: bytes) -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, *, tos: int = 0, ttl: int = 64,
         ident: int = 0, df: bool = False) -> bytes:
    hdr = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(payload), ident,
                                IP_DF if df else 0, ttl, proto, 0, src, dst))
    struct.pack_into("!H", hdr, 10, internet_checksum(hdr))
    return bytes(hdr) + payload


def ipv6(src: bytes, dst: bytes, nexthdr: int, payload: bytes, *, hlim: int = 64,
         tclass: int = 0, flow: int = 0) -> bytes:
    return struct.pack("!IHBB16s16s", 0x60000000 | tclass << 20 | flow, len(payload), nexthdr,
                       hlim, src, dst) + payload


def icmp4(type_: int, code: int, rest: bytes, data: bytes) -> bytes:
    msg = bytearray(struct.pack("!BBH", type_, code, 0) + rest + data)
    struct.pack_into("!H", msg, 2, internet_checksum(msg))
    return bytes(msg)


def icmp6(src: bytes, dst: bytes, type_: int, code: int, rest: bytes, data: bytes) -> bytes:
    msg = bytearray(struct.pack("!BBH", type_, code, 0) + rest + data)
    struct.pack_into("!H", msg, 2, internet_checksum(msg, initial=pseudo_header_v6(src, dst, 58, len(msg))))
    return bytes(msg)


def tcp_reset(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int,
              v6: bool) -> bytes:
    """tcp_v4_send_reset() / tcp_v6_send_response(): a bare 20-byte header, window 0."""
    seg = bytearray(struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 0, 0, 0))
    pseudo = (pseudo_header_v6(src, dst, 6, 20) if v6 else pseudo_header_v4(src, dst, 6, 20))
    struct.pack_into("!H", seg, 16, internet_checksum(seg, initial=pseudo))
    return bytes(seg)


def arp(op: int, sha: bytes, spa: bytes, tha: bytes, tpa: bytes) -> bytes:
    """arp_create(): Ethernet/IPv4 ARP, no padding (veths do not pad)."""
    return struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, op, sha, spa, tha, tpa)


def solicited_node(target: bytes) -> bytes:
    """ff02::1:ffXX:XXXX (RFC 4291 2.7.1)."""
    return bytes.fromhex("ff0200000000000000000001ff") + target[13:]


def multicast_mac(daddr: bytes) -> bytes:
    """ip_eth_mc_map() / ipv6_eth_mc_map()."""
    if len(daddr) == 4:
        return bytes([0x01, 0x00, 0x5E, daddr[1] & 0x7F, daddr[2], daddr[3]])
    return b"\x33\x33" + daddr[12:]


def neighbour_solicitation(src: bytes, target: bytes, mac: bytes) -> bytes:
    """ndisc_send_ns(): to the solicited-node group, hop limit 255, with the source
    link-layer address option unless the source is unspecified."""
    dst = solicited_node(target)
    opt = b"\x01\x01" + mac if src != bytes(16) else b""
    body = icmp6(src, dst, 135, 0, bytes(4), target + opt)
    return ipv6(src, dst, 58, body, hlim=255)


def fragment_v4(l3: bytes, mtu: int) -> list[bytes]:
    """ip_do_fragment() slow path for a header without options: payload pieces of
    (mtu - hlen) & ~7 bytes, the ID kept, MF on all but the last (or all, when the
    packet was itself a non-last fragment), each header checksummed again."""
    hlen = (l3[0] & 0xF) * 4
    hdr = bytearray(l3[:hlen])
    payload = l3[hlen:]
    fo = struct.unpack_from("!H", hdr, 6)[0]
    base = (fo & IP_OFFSET) << 3
    more = bool(fo & IP_MF)
    step = (mtu - hlen) & ~7
    out = []
    pos = 0
    while pos < len(payload):
        piece = payload[pos:pos + step]
        last = pos + len(piece) >= len(payload)
        h = bytearray(hdr)
        off = (base + pos) >> 3
        struct.pack_into("!H", h, 2, hlen + len(piece))
        struct.pack_into("!H", h, 6, off | (IP_MF if (not last or more) else 0))
        struct.pack_into("!H", h, 10, 0)
        struct.pack_into("!H", h, 10, internet_checksum(h))
        out.append(bytes(h) + piece)
        pos += len(piece)
    return out


def decrease_ttl(buf: bytearray, nh: int) -> None:
    """ip_decrease_ttl(): TTL - 1 and ``check += htons(0x0100)`` on the checksum as the
    little-endian host holds it, then ``check + (check >= 0xFFFF)`` truncated to 16 bits:
    the end-around carry, with the kernel's corner (a stored 0xffff becomes 0x0000)."""
    v = (buf[nh + 10] | buf[nh + 11] << 8) + 1
    v = (v + (v >= 0xFFFF)) & 0xFFFF
    buf[nh + 10] = v & 0xFF
    buf[nh + 11] = v >> 8
    buf[nh + 8] -= 1
