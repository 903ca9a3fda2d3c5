"""What ``reject`` sends: the TCP reset of nf_reject_ipv4.c / nf_reject_ipv6.c, or the
ICMP/ICMPv6 destination unreachable the stack sends for it (``icmp_send``).

The reset (nf_send_reset / nf_send_reset6): none for fragments, for a missing TCP
header or for a packet that is itself a reset.  The reply swaps addresses and ports;
IPv4 header: TOS 0, ID 0, DF, TTL of the route (``ctx.default_ttl``); IPv6: traffic
class and flow label 0, hop limit of the route.  TCP: data offset 5, window 0;
when the offending segment had ACK, ``seq = its ack`` and only RST; otherwise
``seq = 0``, ``ack = seq + SYN + FIN + payload length`` and RST|ACK.

ICMP errors are left to the stack (an event with type and code; the engine owns ICMP
rate limiting and the quoting rules).  ``icmpx`` codes map as nft_reject_icmp_code():
no-route, port-unreachable, host-unreachable, admin-prohibited.
"""

from __future__ import annotations

import struct

from pkttables.packet.checksum import internet_checksum as _csum
from pkttables.vm.stateful import RejectType

__all__ = ["build_reject", "tcp_reset", "unreach_l3"]

_ICMPX_V4 = {0: 0, 1: 3, 2: 1, 3: 13}      # NFT_REJECT_ICMPX_* -> ICMP_*_UNREACH
_ICMPX_V6 = {0: 0, 1: 4, 2: 3, 3: 1}       # -> ICMPV6_*


def tcp_reset(l3: bytes, version: int, ttl: int = 64, thoff: int | None = None) -> bytes | None:
    """The reset the kernel sends for IP packet ``l3`` (from its network header).
    ``thoff``: where the TCP header starts in ``l3`` when IPv6 extension headers come
    first (nf_reject_ip6_tcphdr_get walks them with ipv6_skip_exthdr)."""
    if version == 4:
        if len(l3) < 20 or l3[9] != 6:
            return None
        ihl = (l3[0] & 0xF) * 4
        if struct.unpack_from("!H", l3, 6)[0] & 0x1FFF:
            return None            # a fragment: no reset
        tot = struct.unpack_from("!H", l3, 2)[0]
        th, end = ihl, min(tot, len(l3))
        src, dst = l3[12:16], l3[16:20]
    else:
        if len(l3) < 40 or (l3[6] != 6 and thoff is None):
            return None
        th, end = thoff or 40, min(40 + struct.unpack_from("!H", l3, 4)[0], len(l3))
        src, dst = l3[8:24], l3[24:40]
    if end - th < 20:
        return None
    sport, dport, seq, ack = struct.unpack_from("!HHII", l3, th)
    doff = (l3[th + 12] >> 4) * 4
    flags = l3[th + 13]
    if flags & 0x04:
        return None                # never answer a reset
    if flags & 0x10:
        rseq, rack, rflags = ack, 0, 0x04
    else:
        payload = end - th - doff
        rseq = 0
        rack = (seq + (flags & 0x02 and 1) + (flags & 0x01) + payload) & 0xFFFFFFFF
        rflags = 0x14
    tcp = bytearray(struct.pack("!HHIIBBHHH", dport, sport, rseq, rack, 5 << 4, rflags, 0, 0, 0))
    if version == 4:
        pseudo = dst + src + struct.pack("!BBH", 0, 6, 20)
    else:
        pseudo = dst + src + struct.pack("!IxxxB", 20, 6)
    struct.pack_into("!H", tcp, 16, _csum(pseudo + bytes(tcp)))
    if version == 4:
        ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, ttl, 6, 0, dst, src))
        struct.pack_into("!H", ip, 10, _csum(bytes(ip)))
    else:
        ip = bytearray(struct.pack("!IHBB16s16s", 6 << 28, 20, 6, ttl, dst, src))
    return bytes(ip) + bytes(tcp)


def unreach_l3(l3: bytes, version: int, code: int, ttl: int = 64) -> bytes | None:
    """The ICMP/ICMPv6 destination unreachable that netdev and bridge ``reject`` build
    themselves (nf_reject_skb_v4_unreach / nf_reject_skb_v6_unreach), not through
    icmp_send: no rate limit; IPv4 header TOS 0, ID 0, DF, TTL ``ttl``; IPv6 traffic
    class and flow label 0.  The quote is ``min(536, skb->len)`` (IPv6: 1220) bytes from
    the network header -- taken before the trim to the IP length, so Ethernet padding
    of a short frame is quoted too.  ``l3`` runs from the network header to the end of
    the frame; the caller has checked the transport checksum."""
    if version == 4:
        if len(l3) < 20 or l3[0] >> 4 != 4 or (l3[0] & 0xF) < 5:
            return None
        tot = struct.unpack_from("!H", l3, 2)[0]
        if tot < (l3[0] & 0xF) * 4 or len(l3) < tot:
            return None                 # nf_reject_iphdr_validate
        if struct.unpack_from("!H", l3, 6)[0] & 0x1FFF:
            return None                 # not the first fragment
        quote = l3[:min(536, len(l3))]
        icmp = bytearray(struct.pack("!BBHI", 3, code, 0, 0) + quote)
        struct.pack_into("!H", icmp, 2, _csum(bytes(icmp)))
        ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0x4000, ttl, 1, 0,
                                   l3[16:20], l3[12:16]))
        struct.pack_into("!H", ip, 10, _csum(bytes(ip)))
        return bytes(ip) + bytes(icmp)
    if len(l3) < 40 or l3[0] >> 4 != 6:
        return None
    if 40 + struct.unpack_from("!H", l3, 4)[0] > len(l3):
        return None                     # nf_reject_ip6hdr_validate
    quote = l3[:min(1220, len(l3))]
    src, dst = l3[24:40], l3[8:24]
    icmp = bytearray(struct.pack("!BBHI", 1, code, 0, 0) + quote)
    pseudo = src + dst + struct.pack("!IxxxB", len(icmp), 58)
    struct.pack_into("!H", icmp, 2, _csum(pseudo + bytes(icmp)))
    return struct.pack("!IHBB16s16s", 6 << 28, len(icmp), 58, ttl, src, dst) + bytes(icmp)


def build_reject(instr, pkt, ctx):
    """The :class:`~pkttables.vm.stateful_impl.RejectEvent` for a reject instruction."""
    from pkttables.vm.stateful_impl import RejectEvent
    v6 = int(pkt.nfproto) == 10
    fam = "ip6" if v6 else "ip"
    l3 = bytes(pkt.buf[pkt.nh_off:]) if pkt.nh_off >= 0 else b""
    hook = ctx.hook
    if instr.type == RejectType.TCP_RST:
        thoff = None
        if v6 and pkt.l4proto == 6 and pkt.th_off >= 0 and not pkt.fragoff:
            thoff = pkt.th_off - pkt.nh_off
        elif v6:
            l3 = b""               # no TCP header found behind the extension headers
        rst = tcp_reset(l3, 6 if v6 else 4, getattr(ctx, "default_ttl", 64), thoff) if l3 else None
        return RejectEvent("tcp-reset", fam, hook, 0, 0, rst, l3)
    code = instr.code
    if instr.type == RejectType.ICMPX_UNREACH:
        code = (_ICMPX_V6 if v6 else _ICMPX_V4).get(code, code)
    return RejectEvent("icmpv6" if v6 else "icmp", fam, hook, 1 if v6 else 3, code, None, l3)
