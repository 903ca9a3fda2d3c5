"""Rewriting packets for NAT: net/netfilter/nf_nat_proto.c.

Everything here works on a ``bytearray`` at an IP header offset, so the same code
rewrites a packet and the packet quoted inside an ICMP error:

- :func:`l3_manip` is ``nf_nat_ipv4_manip_pkt`` / ``nf_nat_ipv6_manip_pkt``: first the
  transport header (ports or the ICMP id, and the checksum for the pseudo-header change),
  then the address (and, for IPv4, the header checksum).  All updates are incremental
  (RFC 1624), as the kernel's ``csum_replace4``/``inet_proto_csum_replace*``.
- A transport header that the packet holds only in part (an ICMP error quotes at least
  8 bytes of it) gets its ports rewritten but not its checksum: the kernel's
  ``tcp_manip_pkt`` "cannot update the checksum field since it is outside of the 8
  bytes of transport layer headers we are guaranteed".
- :func:`icmp_reply_translation` is ``nf_nat_icmp_reply_translation`` /
  ``nf_nat_icmpv6_reply_translation``: an ICMP error about a NATed packet gets the
  quoted packet translated with the *other* direction's tuple and the inverse manip, its
  ICMP checksum recomputed from scratch, and then the outer header translated as the
  reply would be.

``target`` is a conntrack :class:`~pkttables.conntrack.Tuple`: a SRC manip writes its
``src``/``sport``, a DST manip its ``dst``/``dport``; ICMP echo ids live in ``sport``.
"""

from __future__ import annotations

import struct

from pkttables.conntrack import Status, Tuple
from pkttables.packet.checksum import (CSUM_MANGLED_0, crc32c, csum_replace,
                                       internet_checksum, pseudo_header_v6)

__all__ = ["l3_manip", "icmp_reply_translation", "ipv6_skip_exthdr", "NAT_MASK",
           "NAT_DONE_MASK"]

IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_DCCP = 1, 6, 17, 33
IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_UDPLITE = 58, 132, 136
SRC, DST = 0, 1

NAT_MASK = Status.SRC_NAT | Status.DST_NAT
NAT_DONE_MASK = Status.SRC_NAT_DONE | Status.DST_NAT_DONE

# icmp_manip_pkt(): only the query/answer types carry an id
_ICMP_QUERY = frozenset((0, 8, 13, 14, 15, 16, 17, 18))
_ICMPV6_ECHO = frozenset((128, 129))
ICMP_REDIRECT, NDISC_REDIRECT = 5, 137


def _get16(buf, off: int) -> int:
    return buf[off] << 8 | buf[off + 1]


def _put16(buf, off: int, v: int) -> None:
    buf[off] = v >> 8
    buf[off + 1] = v & 0xFF


def _replace(buf, csum_off: int, old: bytes, new: bytes) -> None:
    _put16(buf, csum_off, csum_replace(_get16(buf, csum_off), old, new))


def ipv6_skip_exthdr(buf, off: int, nexthdr: int, end: int) -> tuple[int, int, int]:
    """ipv6_skip_exthdr(): (offset of the upper-layer header, its protocol, the fragment
    offset field) -- offset -1 when the chain is cut short."""
    frag = 0
    while nexthdr in (0, 43, 60, 44, 51):
        if off + 8 > end:
            return -1, nexthdr, frag
        if nexthdr == 44:
            frag = _get16(buf, off + 2) & 0xFFF8
            if frag:
                return off, buf[off], frag   # a non-first fragment: stop here
            hl = 8
        elif nexthdr == 51:
            hl = (buf[off + 1] + 2) * 4
        else:
            hl = (buf[off + 1] + 1) * 8
        nexthdr = buf[off]
        off += hl
    return off, nexthdr, frag


def _addr_fields(v6: bool, manip: int) -> tuple[int, int]:
    """(offset in the IP header, length) of the address a manip rewrites."""
    if v6:
        return (8 if manip == SRC else 24), 16
    return (12 if manip == SRC else 16), 4


def _pseudo_update(buf, iph: int, v6: bool, csum_off: int, t: Tuple, manip: int) -> None:
    """nf_csum_update(): the transport checksum follows the address about to change."""
    off, n = _addr_fields(v6, manip)
    old = bytes(buf[iph + off:iph + off + n])
    _replace(buf, csum_off, old, t.src if manip == SRC else t.dst)


def _l4_manip(buf, iph: int, hdroff: int, end: int, v6: bool, t: Tuple, manip: int) -> bool:
    """l4proto_manip_pkt(): False where the kernel fails (header not writable)."""
    proto = t.protonum
    if proto in (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPPROTO_SCTP, IPPROTO_DCCP):
        full = {IPPROTO_TCP: 20, IPPROTO_UDP: 8, IPPROTO_UDPLITE: 8, IPPROTO_SCTP: 12,
                IPPROTO_DCCP: 12}[proto]
        hdrsize = full if end >= hdroff + full else 8
        if hdroff + hdrsize > end:
            return False
        port_off = hdroff + (0 if manip == SRC else 2)
        new = t.sport if manip == SRC else t.dport
        old_b, new_b = bytes(buf[port_off:port_off + 2]), new.to_bytes(2, "big")
        if hdrsize < full:
            buf[port_off:port_off + 2] = new_b     # quoted header: ports only
            return True
        if proto == IPPROTO_SCTP:
            # sctp_manip_pkt(): CRC32c over the whole SCTP packet, addresses not covered
            buf[port_off:port_off + 2] = new_b
            c = crc32c(buf[hdroff:hdroff + 8])
            c = crc32c(b"\0\0\0\0", c)
            c = crc32c(buf[hdroff + 12:end], c)
            buf[hdroff + 8:hdroff + 12] = struct.pack("<I", c)
            return True
        csum_off = hdroff + {IPPROTO_TCP: 16, IPPROTO_DCCP: 6}.get(proto, 6)
        if proto == IPPROTO_UDP and _get16(buf, csum_off) == 0:
            buf[port_off:port_off + 2] = new_b     # __udp_manip_pkt: no checksum, none to fix
            return True
        _pseudo_update(buf, iph, v6, csum_off, t, manip)
        _replace(buf, csum_off, old_b, new_b)
        if proto in (IPPROTO_UDP, IPPROTO_UDPLITE) and _get16(buf, csum_off) == 0:
            _put16(buf, csum_off, CSUM_MANGLED_0)
        buf[port_off:port_off + 2] = new_b
        return True
    if proto == IPPROTO_ICMP:
        if hdroff + 8 > end:
            return False
        if buf[hdroff] in _ICMP_QUERY:
            new_b = t.sport.to_bytes(2, "big")
            _replace(buf, hdroff + 2, bytes(buf[hdroff + 4:hdroff + 6]), new_b)
            buf[hdroff + 4:hdroff + 6] = new_b
        return True
    if proto == IPPROTO_ICMPV6:
        if hdroff + 8 > end:
            return False
        _pseudo_update(buf, iph, v6, hdroff + 2, t, manip)
        if buf[hdroff] in _ICMPV6_ECHO:
            new_b = t.sport.to_bytes(2, "big")
            _replace(buf, hdroff + 2, bytes(buf[hdroff + 4:hdroff + 6]), new_b)
            buf[hdroff + 4:hdroff + 6] = new_b
        return True
    # GRE (keys only for PPTP, which needs a helper) and every other protocol: addresses only
    return True


def l3_manip(buf: bytearray, iph: int, end: int, t: Tuple, manip: int) -> bool:
    """nf_nat_ipv4_manip_pkt / nf_nat_ipv6_manip_pkt on the IP header at ``iph``;
    ``end`` is where the packet ends (skb->len).  False: the kernel would drop it."""
    if iph + 1 > end:
        return False
    v6 = buf[iph] >> 4 == 6
    if v6:
        if iph + 40 > end:
            return False
        hdroff, _nh, frag = ipv6_skip_exthdr(buf, iph + 40, buf[iph + 6], end)
        if hdroff >= 0 and frag == 0 and not _l4_manip(buf, iph, hdroff, end, True, t, manip):
            return False
    else:
        if iph + 20 > end:
            return False
        hdroff = iph + (buf[iph] & 0xF) * 4
        # conntrack never sees later fragments (defrag); do not mangle their payload
        if not _get16(buf, iph + 6) & 0x1FFF and not _l4_manip(buf, iph, hdroff, end, False, t, manip):
            return False
    off, n = _addr_fields(v6, manip)
    new = t.src if manip == SRC else t.dst
    if not v6:
        _replace(buf, iph + 10, bytes(buf[iph + off:iph + off + n]), new)
    buf[iph + off:iph + off + n] = new
    return True


def icmp_reply_translation(buf: bytearray, nh: int, end: int, ct, ctinfo: int, manip: int) -> bool:
    """nf_nat_icmp_reply_translation / nf_nat_icmpv6_reply_translation for a RELATED
    ICMP error at the IP header ``nh``.  False: drop."""
    v6 = buf[nh] >> 4 == 6
    if v6:
        hdr, proto, _f = ipv6_skip_exthdr(buf, nh + 40, buf[nh + 6], end)
        inner_len = 40
    else:
        hdr = nh + (buf[nh] & 0xF) * 4
        inner_len = 20
    if hdr < 0 or hdr + 8 + inner_len > end:
        return False
    # nf_ip_checksum / nf_ip6_checksum: a corrupt error is dropped
    if v6:
        pseudo = pseudo_header_v6(bytes(buf[nh + 8:nh + 24]), bytes(buf[nh + 24:nh + 40]),
                                  IPPROTO_ICMPV6, end - hdr)
        if internet_checksum(buf, hdr, end, initial=pseudo) != 0:
            return False
    elif internet_checksum(buf, hdr, end) != 0:
        return False
    status = ct.status
    if buf[hdr] == (NDISC_REDIRECT if v6 else ICMP_REDIRECT):
        # redirects are only passed on for connections that have no NAT at all
        if status & NAT_DONE_MASK != NAT_DONE_MASK or status & NAT_MASK:
            return False
    dir_ = 1 if ctinfo >= 3 else 0
    statusbit = Status.SRC_NAT if manip == SRC else Status.DST_NAT
    if dir_ == 1:
        statusbit ^= NAT_MASK
    if not status & statusbit:
        return True
    other = ct.tuples[1 - dir_]
    if not l3_manip(buf, hdr + 8, end, other, 1 - manip):
        return False
    buf[hdr + 2:hdr + 4] = b"\0\0"
    if v6:
        pseudo = pseudo_header_v6(bytes(buf[nh + 8:nh + 24]), bytes(buf[nh + 24:nh + 40]),
                                  IPPROTO_ICMPV6, end - hdr)
        _put16(buf, hdr + 2, internet_checksum(buf, hdr, end, initial=pseudo))
    else:
        _put16(buf, hdr + 2, internet_checksum(buf, hdr, end))
    # the outer header, as the reply to an incoming packet would look
    target = Tuple(other.l3num, other.dst, other.src, IPPROTO_ICMPV6 if v6 else IPPROTO_ICMP)
    return l3_manip(buf, nh, end, target, manip)
