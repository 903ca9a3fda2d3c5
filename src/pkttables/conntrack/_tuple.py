"""Connection tuples: what identifies the two directions of a connection.

A tuple is ``struct nf_conntrack_tuple`` reduced to values: the layer-3 protocol
(``l3num``, AF_INET 2 / AF_INET6 10), source and destination address as packed bytes,
the layer-4 protocol number and two 16-bit words that mean what the l4 tracker says:

=============  ======================  ===========================
protocol       ``sport`` (src.u)       ``dport`` (dst.u)
=============  ======================  ===========================
TCP, UDP, UDP-Lite, SCTP   source port     destination port
ICMP, ICMPv6   echo identifier         ``type << 8 | code``
GRE (keyless), DCCP, generic     0               0
=============  ======================  ===========================

Compact keys (issue 6: bytes per entry).  The table does not keep ``Tuple`` objects: an
entry holds one ``bytes`` *key* per direction, ``protonum | sport | dport | src | dst``
(1 + 2 + 2 bytes, network order, then the packed addresses: 13 bytes for IPv4, 37 for
IPv6, 46 / 70 bytes as Python objects against 80 for a ``Tuple`` plus its address
bytes).  The family follows from the length (4- or 16-byte addresses; anything else is
family 0, as a template's empty tuple).  ``packet_key`` slices the key straight out of
the packet (the ports, or the ICMP id and type/code, are already in network order),
``invert_key`` swaps the halves without building a tuple, and ``key_tuple`` gives the
``Tuple`` back when somebody reads ``ct.tuples``.  Equal tuples give equal keys and
vice versa, so the dict that maps keys to entries keeps Python's keyed SipHash.

``get_tuple`` reads them from a packet as ``nf_ct_get_tuple()`` does, reading at most
what the IP length says is there (``skb_header_pointer`` on a trimmed skb); it returns
None where the kernel's ``pkt_to_tuple`` fails.  ``invert`` is ``nf_ct_invert_tuple()``:
addresses and ports swap; ICMP keeps the id and maps the type to its answer (echo
request -> echo reply ...), and fails for a type that has no answer, which is why an
ICMP "router advertisement" can never be a new connection.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

__all__ = ["Tuple", "get_tuple", "invert", "AF_INET", "AF_INET6", "PROTO_NAMES",
           "ICMP_INVMAP", "ICMPV6_INVMAP", "l3_bounds", "tuple_key", "key_tuple",
           "invert_key", "packet_key"]

AF_INET, AF_INET6 = 2, 10

IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_DCCP = 1, 6, 17, 33
IPPROTO_GRE, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_UDPLITE = 47, 58, 132, 136

# Names conntrack-tools prints (libnetfilter_conntrack's proto table); others "unknown".
PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 33: "dccp", 47: "gre", 58: "icmpv6",
               132: "sctp", 136: "udplite"}

# DCCP is not here: Linux 6.16 removed DCCP and nf_conntrack_proto_dccp, so the kernel
# this project checks against (6.18) tracks DCCP as generic, without ports
# (tests/kernel/test_conntrack_sctp_kernel.py::test_dccp_is_tracked_as_generic).
_PORT_PROTOS = frozenset((IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPPROTO_SCTP))

# icmp_invert_tuple(): request <-> reply pairs (RFC 792: echo, timestamp, information,
# address mask).  Types missing here cannot be inverted.
ICMP_INVMAP = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17}
# icmpv6_invert_tuple(): echo (RFC 4443) and node information (RFC 4620).
ICMPV6_INVMAP = {128: 129, 129: 128, 139: 140, 140: 139}

_H = struct.Struct("!H").unpack_from
_HH = struct.Struct("!HH").unpack_from


@dataclass(frozen=True, slots=True)
class Tuple:
    l3num: int
    src: bytes
    dst: bytes
    protonum: int
    sport: int = 0
    dport: int = 0

    @property
    def icmp_type(self) -> int:
        return self.dport >> 8

    @property
    def icmp_code(self) -> int:
        return self.dport & 0xFF

    @property
    def icmp_id(self) -> int:
        return self.sport

    @property
    def src_addr(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return ipaddress.ip_address(self.src)

    @property
    def dst_addr(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return ipaddress.ip_address(self.dst)

    def __str__(self) -> str:
        return f"{self.src_addr}:{self.sport} -> {self.dst_addr}:{self.dport} proto {self.protonum}"


def invert(t: Tuple) -> Tuple | None:
    """nf_ct_invert_tuple(): the tuple the answer to ``t`` carries; None if it has none."""
    if t.protonum == IPPROTO_ICMP or t.protonum == IPPROTO_ICMPV6:
        inv = ICMP_INVMAP if t.protonum == IPPROTO_ICMP else ICMPV6_INVMAP
        rtype = inv.get(t.dport >> 8)
        if rtype is None:
            return None
        return Tuple(t.l3num, t.dst, t.src, t.protonum, t.sport, rtype << 8 | (t.dport & 0xFF))
    return Tuple(t.l3num, t.dst, t.src, t.protonum, t.dport, t.sport)


def l3_bounds(buf, nh: int, avail_end: int) -> tuple[int, int, int, int] | None:
    """(l3num, protonum, dataoff, end) of the IP header at ``nh``, as the conntrack
    l3 parsers see it (ipv4_get_l4proto / ipv6_get_l4proto), or None for "not trackable":
    a truncated header, a non-first fragment, or an IPv6 header chain that does not end.
    ``end`` is where the IP length says the packet ends (clipped to ``avail_end``)."""
    if nh < 0 or nh + 1 > avail_end:
        return None
    ver = buf[nh] >> 4
    if ver == 4:
        if nh + 20 > avail_end:
            return None
        ihl = (buf[nh] & 15) * 4
        if ihl < 20:
            return None
        frag = _H(buf, nh + 6)[0]
        if frag & 0x1FFF:
            return None  # only the first fragment carries the transport header
        tot = _H(buf, nh + 2)[0]
        end = min(nh + tot, avail_end) if tot >= ihl else avail_end
        return AF_INET, buf[nh + 9], nh + ihl, end
    if ver == 6:
        if nh + 40 > avail_end:
            return None
        plen = _H(buf, nh + 4)[0]
        end = min(nh + 40 + plen, avail_end) if plen else avail_end
        nexthdr = buf[nh + 6]
        off = nh + 40
        # ipv6_skip_exthdr(): hop-by-hop, routing, destination options, AH (its own
        # length unit, RFC 4302), fragment; a non-first fragment is not trackable.
        while nexthdr in (0, 43, 60, 51, 44):
            if off + 8 > end:
                return None
            if nexthdr == 44:
                fo = _H(buf, off + 2)[0] & 0xFFF8
                if fo:
                    return None
                nexthdr = buf[off]
                off += 8
                continue
            hl = (buf[off + 1] + 2) * 4 if nexthdr == 51 else (buf[off + 1] + 1) * 8
            nexthdr = buf[off]
            off += hl
        if off > end:
            return None
        return AF_INET6, nexthdr, off, end
    return None


def get_tuple(buf, l3num: int, src: bytes, dst: bytes, protonum: int, dataoff: int,
              end: int) -> Tuple | None:
    """nf_ct_get_tuple(): the tuple of a packet whose transport header starts at
    ``dataoff``; None when the protocol's pkt_to_tuple cannot read what it needs."""
    if protonum in _PORT_PROTOS:
        # nf_ct_get_tuple_ports(): just the two ports
        if dataoff + 4 > end:
            return None
        sport, dport = _HH(buf, dataoff)
        return Tuple(l3num, src, dst, protonum, sport, dport)
    if protonum == IPPROTO_ICMP or protonum == IPPROTO_ICMPV6:
        if dataoff + 8 > end:  # struct icmphdr / icmp6hdr
            return None
        return Tuple(l3num, src, dst, protonum, _H(buf, dataoff + 4)[0],
                     buf[dataoff] << 8 | buf[dataoff + 1])
    # GRE: only PPTP (version 1) has keys; version 0 and a short header are tracked like
    # the generic protocol (gre_pkt_to_tuple), as is every other protocol.
    return Tuple(l3num, src, dst, protonum, 0, 0)


def addresses(buf, nh: int, l3num: int) -> tuple[bytes, bytes]:
    if l3num == AF_INET:
        return bytes(buf[nh + 12:nh + 16]), bytes(buf[nh + 16:nh + 20])
    return bytes(buf[nh + 8:nh + 24]), bytes(buf[nh + 24:nh + 40])


# ---- compact keys (see the module docstring)

_BHH = struct.Struct("!BHH")
_ONE = tuple(bytes((i,)) for i in range(256))
_NOPORTS = b"\0\0\0\0"


def tuple_key(t: Tuple) -> bytes:
    """The compact key of a tuple (the inverse of :func:`key_tuple`)."""
    return _BHH.pack(t.protonum & 0xFF, t.sport & 0xFFFF, t.dport & 0xFFFF) + bytes(t.src) \
        + bytes(t.dst)


def key_tuple(k: bytes) -> Tuple:
    """The ``Tuple`` a compact key stands for."""
    n = (len(k) - 5) >> 1
    proto, sport, dport = _BHH.unpack_from(k)
    return Tuple(AF_INET if n == 4 else AF_INET6 if n == 16 else 0, k[5:5 + n], k[5 + n:],
                 proto, sport, dport)


def invert_key(k: bytes) -> bytes | None:
    """:func:`invert` on keys: the halves swap; ICMP keeps the id and answers the type."""
    n = (len(k) - 5) >> 1
    p = k[0]
    if p == IPPROTO_ICMP or p == IPPROTO_ICMPV6:
        rtype = (ICMP_INVMAP if p == IPPROTO_ICMP else ICMPV6_INVMAP).get(k[3])
        if rtype is None:
            return None
        return k[:3] + _ONE[rtype] + k[4:5] + k[5 + n:] + k[5:5 + n]
    return k[:1] + k[3:5] + k[1:3] + k[5 + n:] + k[5:5 + n]


def packet_key(buf, nh: int, l3num: int, protonum: int, dataoff: int, end: int) -> bytes | None:
    """:func:`get_tuple` straight to a key: the same fields, the same failures (None)."""
    addrs = buf[nh + 12:nh + 20] if l3num == AF_INET else buf[nh + 8:nh + 40]
    if protonum in _PORT_PROTOS:
        if dataoff + 4 > end:
            return None
        return _ONE[protonum] + buf[dataoff:dataoff + 4] + addrs
    if protonum == IPPROTO_ICMP or protonum == IPPROTO_ICMPV6:
        if dataoff + 8 > end:
            return None
        # sport = echo id (bytes 4-5), dport = type << 8 | code (bytes 0-1)
        return _ONE[protonum] + buf[dataoff + 4:dataoff + 6] + buf[dataoff:dataoff + 2] + addrs
    return _ONE[protonum] + _NOPORTS + addrs
