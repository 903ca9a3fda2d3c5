"""The Packet: one bytearray, the header offsets the kernel would compute, metadata.

Theory of operation
-------------------
``Packet(data, link)`` copies the bytes into ``buf`` and parses them eagerly in one
function (:meth:`Packet._parse`) with direct indexing and ``struct.unpack_from``: no
per-header objects.  What it computes is what nf_tables computes in ``struct
nft_pktinfo`` before a chain runs, so the register machine can read it directly:

* link: Ethernet (any number of 802.1Q / 802.1ad tags, kept in ``vlans``; the
  ``ethertype`` is the inner one, as ``skb->protocol`` after VLAN untagging), Linux
  cooked captures v1/v2, or raw L3.  ``mac_off``/``mac_len`` cover the Ethernet header
  with its tags; ``nh_off`` is the network header.
* IPv4, as ``__nft_set_pktinfo_ipv4_validate`` (include/net/netfilter/nf_tables_ipv4.h):
  version 4, ihl >= 5, ihl*4 <= tot_len <= bytes available, else no L4 information
  (``l4proto = -1``, the kernel's ``nft_set_pktinfo_unspec``).  ``th_off = nh_off +
  ihl*4``; the protocol is known for any fragment, the transport header only for the
  first (``has_transport``).
* IPv6, as ``__nft_set_pktinfo_ipv6_validate`` + ``ipv6_find_hdr(skb, &thoff, -1,
  &frag_off, IP6_FH_F_AUTH)`` (net/ipv6/exthdrs_core.c): walk hop-by-hop, routing,
  destination options and first-fragment headers; stop at the first non-extension
  header, at "no next header" (l4proto 59), and -- because nft passes IP6_FH_F_AUTH --
  at AH (l4proto 51, th_off at the AH header).  A fragment header with a non-zero
  offset ends the walk: l4proto is its next header, fragoff its offset, and th_off is
  left where the kernel leaves it, at the network header (the kernel's "meaningless"
  offset); a non-first fragment followed by another extension header gets no L4 info.
  A header cut by the end of the payload is -EBADMSG: no L4 info, BAD_EXTHDR.
  ``ip6_exthdrs`` lists every extension header of the chain, AH and after included,
  for ``exthdr`` lookups (:meth:`find_exthdr` reproduces ``ipv6_find_hdr`` with a target).
* Walks are bounded by the IP payload end (``nh_off + l3_len``), as in the inet hooks
  where ip_rcv/ip6_rcv have trimmed the skb to the IP length.
* Transport headers are not parsed into fields; only their presence is checked
  (TRUNCATED when the fixed part of TCP/UDP/UDP-Lite/ICMP/ICMPv6/SCTP/DCCP/GRE/ESP/AH
  does not fit, BAD_TCP_DOFF for a TCP data offset < 5).  ``th_off`` is still the
  kernel's value.

``fragoff`` is in bytes (the IPv4 field << 3; ipv6_find_hdr already gives bytes).  The
kernel keeps the raw 13-bit IPv4 field, but only ``fragoff != 0`` is ever observed.

Offsets are absolute indices into ``buf`` (-1 when absent); the kernel's ``thoff`` is
``th_off - nh_off``.  Malformed input never raises: parsing stops where the data stops
being valid and ``flags`` (:class:`ParseFlag`) says why.

Mangling (:meth:`Packet.mangle`) reproduces ``nft_payload_set_eval``: write bytes,
update a 16-bit Internet checksum incrementally (RFC 1624, CSUM_MANGLED_0), and the
transport checksum when the bytes are part of the pseudo-header.  The ``set_*``
helpers reproduce nf_nat's manip functions (net/netfilter/nf_nat_proto.c).
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Iterator

from pkttables.errors import PktError
from pkttables.packet import checksum as _ck
from pkttables.packet.enums import LinkType, NFProto, PacketType, ParseFlag

__all__ = ["Packet"]

_unpack_from = struct.unpack_from
_H = struct.Struct("!H").unpack_from
_HH = struct.Struct("!HH").unpack_from

# ParseFlag values as plain ints for the hot path
_TRUNC = int(ParseFlag.TRUNCATED)
_BAD_IHL = int(ParseFlag.BAD_IHL)
_BAD_VER = int(ParseFlag.BAD_VERSION)
_BAD_TOT = int(ParseFlag.BAD_TOTLEN)
_BAD_EXT = int(ParseFlag.BAD_EXTHDR)
_BAD_DOFF = int(ParseFlag.BAD_TCP_DOFF)
_BAD_LINK = int(ParseFlag.BAD_LINK)
_JUMBO = int(ParseFlag.JUMBO)

_NF_UNSPEC = NFProto.UNSPEC
_NF_IPV4 = NFProto.IPV4
_NF_IPV6 = NFProto.IPV6
_NF_ARP = NFProto.ARP

_PT = tuple(PacketType)  # index -> member, for SLL packet types
_HOST = PacketType.HOST
_BCAST = PacketType.BROADCAST
_MCAST = PacketType.MULTICAST

_BCAST_MAC = b"\xff" * 6

# ipv6_ext_hdr(): hop-by-hop, routing, fragment, AH, no-next-header, destination options
_IP6_EXT = frozenset((0, 43, 44, 51, 59, 60))

# Fixed part of each transport header: less than this is TRUNCATED.
_L4_MIN = {6: 20, 17: 8, 136: 8, 1: 8, 58: 8, 132: 12, 33: 12, 47: 4, 50: 8, 51: 12}

# ICMP error types that carry the offending IP header (RFC 792): unreachable, source
# quench, redirect, time exceeded, parameter problem
_ICMP_ERRORS = frozenset((3, 4, 5, 11, 12))

class Packet:
    """One packet: ``buf`` (a bytearray from layer 2 or 3), offsets, metadata."""

    __slots__ = (
        "buf", "link", "mac_off", "mac_len", "ethertype", "vlans", "nh_off", "nfproto",
        "l4proto", "th_off", "fragoff", "is_fragment", "ip6_exthdrs", "l3_len", "_flags",
        "iif", "oif", "mark", "priority", "nftrace", "pkt_type", "ct", "ctinfo", "timestamp",
    )

    def __init__(self, data, link: int = LinkType.ETHERNET, *, iif: str | None = None,
                 oif: str | None = None, mark: int = 0, timestamp: float = 0.0):
        self.buf = bytearray(data)
        self.link = link
        self.iif = iif
        self.oif = oif
        self.mark = mark
        self.priority = 0
        self.nftrace = 0
        self.ct = None
        self.ctinfo = None
        self.timestamp = timestamp
        self._parse()

    # ------------------------------------------------------------------ parsing

    def _parse(self) -> None:
        """Compute every offset from ``buf``; sets ``pkt_type`` from the link header."""
        buf = self.buf
        blen = len(buf)
        link = self.link
        flags = 0
        mac_off = -1
        mac_len = 0
        ethertype = -1
        vlans = ()
        nh_off = -1
        nfproto = _NF_UNSPEC
        l4proto = -1
        th_off = -1
        fragoff = 0
        is_frag = False
        exthdrs = ()
        l3_len = -1
        pkt_type = _HOST

        # ---- link layer
        if link == 1:  # Ethernet (eth_type_trans)
            if blen < 14:
                flags = _TRUNC | _BAD_LINK
            else:
                mac_off = 0
                if buf[0] & 1:
                    pkt_type = _BCAST if buf[0:6] == _BCAST_MAC else _MCAST
                ethertype = (buf[12] << 8) | buf[13]
                off = 14
                if ethertype == 0x8100 or ethertype == 0x88A8:
                    vlans, ethertype, off, flags = _vlan_tags(buf, off, ethertype)
                mac_len = off
                if not flags:
                    nh_off = off
                    if ethertype < 0x0600:
                        # 802.3 length field: eth_type_trans picks a pseudo protocol
                        raw = off + 2 <= blen and buf[off] == 0xFF and buf[off + 1] == 0xFF
                        ethertype = 0x0001 if raw else 0x0004
        elif link == 101 or link == 228 or link == 229:  # raw L3
            if blen < 1:
                flags = _TRUNC
            else:
                nh_off = 0
                if link == 228:
                    ethertype = 0x0800
                elif link == 229:
                    ethertype = 0x86DD
                else:
                    ver = buf[0] >> 4
                    if ver == 4:
                        ethertype = 0x0800
                    elif ver == 6:
                        ethertype = 0x86DD
                    else:
                        flags = _BAD_VER
        elif link == 113 or link == 276:  # Linux cooked capture v1 / v2
            hl = 16 if link == 113 else 20
            if blen < hl:
                flags = _TRUNC | _BAD_LINK
            else:
                if link == 113:
                    pt = (buf[0] << 8) | buf[1]
                    ethertype = (buf[14] << 8) | buf[15]
                else:
                    ethertype = (buf[0] << 8) | buf[1]
                    pt = buf[10]
                if pt < len(_PT):
                    pkt_type = _PT[pt]
                off = hl
                if ethertype == 0x8100 or ethertype == 0x88A8:
                    vlans, ethertype, off, flags = _vlan_tags(buf, off, ethertype)
                if not flags:
                    nh_off = off
        else:
            flags = _BAD_LINK

        # ---- network layer
        if nh_off >= 0:
            nh = nh_off
            avail = blen - nh
            if ethertype == 0x0800:
                nfproto = _NF_IPV4
                if avail < 20:
                    flags |= _TRUNC
                    if avail and buf[nh] >> 4 != 4:
                        flags |= _BAD_VER
                    l3_len = avail
                else:
                    vihl = buf[nh]
                    ihl = vihl & 15
                    tot, frag = _unpack_from("!H2xH", buf, nh + 2)
                    is_frag = (frag & 0x3FFF) != 0
                    l3_len = tot if tot < avail else avail
                    if vihl >> 4 != 4:
                        flags |= _BAD_VER
                    elif ihl < 5:
                        flags |= _BAD_IHL
                    elif tot > avail:
                        flags |= _BAD_TOT | _TRUNC
                    elif tot < ihl * 4:
                        flags |= _BAD_TOT
                    else:
                        l4proto = buf[nh + 9]
                        th_off = nh + ihl * 4
                        fragoff = (frag & 0x1FFF) << 3
            elif ethertype == 0x86DD:
                nfproto = _NF_IPV6
                if avail < 40:
                    flags |= _TRUNC
                    if avail and buf[nh] >> 4 != 6:
                        flags |= _BAD_VER
                    l3_len = avail
                elif buf[nh] >> 4 != 6:
                    flags |= _BAD_VER
                    l3_len = avail
                else:
                    plen = (buf[nh + 4] << 8) | buf[nh + 5]
                    nexthdr = buf[nh + 6]
                    if plen + 40 > avail:
                        flags |= _BAD_TOT | _TRUNC
                        l3_len = avail
                    else:
                        if plen == 0 and nexthdr == 0:
                            flags |= _JUMBO
                            l3_len = self._jumbo_len(nh, avail)
                        else:
                            l3_len = plen + 40
                        end = nh + l3_len
                        start = nh + 40
                        if nexthdr not in _IP6_EXT or nexthdr == 59:
                            # the common case: no extension header
                            l4proto = nexthdr
                            th_off = start
                        else:
                            l4proto, th_off, fragoff, is_frag, exthdrs, bad = _ipv6_walk(
                                buf, nh, start, end, nexthdr)
                            flags |= bad
                            if th_off - nh > 0xFFFF:  # nft_pktinfo.thoff is u16
                                l4proto = -1
                                th_off = -1
                                fragoff = 0
            elif ethertype == 0x0806:
                nfproto = _NF_ARP
                l3_len = avail
                if avail < 8:
                    flags |= _TRUNC
            else:
                l3_len = avail

            # ---- transport layer: presence only
            if th_off >= 0 and fragoff == 0 and l4proto >= 0:
                need = _L4_MIN.get(l4proto)
                if need is not None:
                    end = nh + l3_len
                    if th_off + need > end:
                        flags |= _TRUNC
                    elif l4proto == 6:
                        doff = buf[th_off + 12] >> 4
                        if doff < 5:
                            flags |= _BAD_DOFF
                        elif th_off + doff * 4 > end:
                            flags |= _TRUNC

        self.mac_off = mac_off
        self.mac_len = mac_len
        self.ethertype = ethertype
        self.vlans = vlans
        self.nh_off = nh_off
        self.nfproto = nfproto
        self.l4proto = l4proto
        self.th_off = th_off
        self.fragoff = fragoff
        self.is_fragment = is_frag
        self.ip6_exthdrs = exthdrs
        self.l3_len = l3_len
        self._flags = flags
        self.pkt_type = pkt_type

    def _jumbo_len(self, nh: int, avail: int) -> int:
        """IPv6 length of a jumbogram (RFC 2675): 40 + the Jumbo Payload option of the
        hop-by-hop header if there is one, else everything there is; clipped."""
        buf = self.buf
        hbh = nh + 40
        if hbh + 2 <= nh + avail:
            hend = min(hbh + ((buf[hbh + 1] + 1) << 3), nh + avail)
            i = hbh + 2
            while i < hend:
                t = buf[i]
                if t == 0:  # Pad1
                    i += 1
                    continue
                if i + 1 >= hend:
                    break
                olen = buf[i + 1]
                if t == 0xC2 and olen == 4 and i + 6 <= hend:
                    jl = _unpack_from("!I", buf, i + 2)[0]
                    return min(40 + jl, avail)
                i += 2 + olen
        return avail

    def reparse(self) -> None:
        """Recompute the offsets after a mangle that changed a header's layout.
        Metadata (including ``pkt_type``) is kept."""
        pkt_type = self.pkt_type
        self._parse()
        self.pkt_type = pkt_type

    # ------------------------------------------------------------------ views

    @property
    def flags(self) -> ParseFlag:
        return ParseFlag(self._flags)

    @property
    def has_l4proto(self) -> bool:
        """The kernel's NFT_PKTINFO_L4PROTO: ``meta l4proto`` and friends are valid."""
        return self.l4proto >= 0

    @property
    def has_transport(self) -> bool:
        """What nft_payload needs for a transport header load: L4PROTO and fragoff 0."""
        return self.l4proto >= 0 and self.fragoff == 0

    def transport_load_allowed(self, offset: int, length: int) -> bool:
        """Whether the kernel lets ``payload load <length>b @ transport header + <offset>``
        start (the bytes must still be in the packet).

        nft_payload_eval refuses a non-first fragment (``pkt->fragoff``), but on the
        6.18 kernel we test against, the fast path nft_payload_fast_eval
        (nf_tables_core.c) -- chosen at load time for length 1, 2 or 4 at an offset
        aligned to the length -- only checks NFT_PKTINFO_L4PROTO.  Verified against
        the kernel: ``@th,16,16`` matches on IPv4 and IPv6 non-first fragments (at the
        network header for IPv6, thoff 0), ``@th,8,24`` does not.
        """
        if self.l4proto < 0:
            return False
        if length in (1, 2, 4) and offset % length == 0:
            return True
        return self.fragoff == 0

    @property
    def l3_end(self) -> int:
        """Absolute end of the IP packet (``nh_off + l3_len``), -1 without a network header."""
        return self.nh_off + self.l3_len if self.nh_off >= 0 else -1

    @property
    def inner_nh_off(self) -> int:
        """Offset of the IP header embedded in an ICMP / ICMPv6 error message, else -1."""
        th = self.th_off
        if not self.has_transport or th + 8 >= self.nh_off + self.l3_len:
            return -1
        p = self.l4proto
        t = self.buf[th]
        if p == 1 and self.nfproto == _NF_IPV4 and t in _ICMP_ERRORS:
            return th + 8
        if p == 58 and self.nfproto == _NF_IPV6 and t < 128:
            return th + 8
        return -1

    def find_exthdr(self, target: int) -> int:
        """Offset of the first IPv6 extension header of type ``target``, or -1:
        ``ipv6_find_hdr(skb, &off, target, NULL, NULL)`` as nft_exthdr calls it.

        Like the kernel, this walks past AH, fails (-1) on a non-first fragment (even
        for ``target`` == fragment) and on a header cut by the end of the packet, and
        finds a header only when at least its first two bytes are present.
        """
        if self.nfproto != _NF_IPV6 or self.nh_off < 0 or self.l3_len < 40:
            return -1
        buf = self.buf
        nh = self.nh_off
        end = nh + self.l3_len
        start = nh + 40
        nexthdr = buf[nh + 6]
        while True:
            found = nexthdr == target
            if nexthdr not in _IP6_EXT or nexthdr == 59:
                return start if found else -1
            if start + 2 > end:
                return -1
            if nexthdr == 43 and start + 4 > end:
                return -1
            if nexthdr == 44:
                if start + 4 > end:
                    return -1
                if _H(buf, start + 2)[0] & ~7:
                    return -1
                hdrlen = 8
            elif nexthdr == 51:
                hdrlen = (buf[start + 1] + 2) << 2
            else:
                hdrlen = (buf[start + 1] + 1) << 3
            if found:
                return start
            nexthdr = buf[start]
            start += hdrlen

    def tcp_options(self) -> Iterator[tuple[int, int, int]]:
        """Yield ``(kind, offset, length)`` for each TCP option, walking as nft_exthdr
        does (nft_exthdr_tcp_eval): EOL and NOP are one byte and do not end the walk,
        a length byte of 0 counts as 1, the walk stops before the header's last byte.
        ``offset`` is absolute in ``buf``; ``length`` may run past the header (garbage):
        the caller checks it, as the kernel does.
        """
        if self.l4proto != 6 or not self.has_transport:
            return
        buf = self.buf
        th = self.th_off
        end = self.nh_off + self.l3_len
        if th + 20 > end:
            return
        hlen = (buf[th + 12] >> 4) * 4
        if hlen < 20 or th + hlen > end:
            return
        i = 20
        while i < hlen - 1:
            kind = buf[th + i]
            if kind <= 1 or buf[th + i + 1] == 0:
                optl = 1
            else:
                optl = buf[th + i + 1]
            yield kind, th + i, optl
            i += optl

    # ------------------------------------------------------------------ misc

    def copy(self) -> "Packet":
        """An independent copy (own buffer), offsets and metadata included."""
        new = Packet.__new__(Packet)
        for name in Packet.__slots__:
            setattr(new, name, getattr(self, name))
        new.buf = bytearray(self.buf)
        return new

    def __repr__(self) -> str:
        return (f"<Packet {self.summary()!r} len={len(self.buf)} nh_off={self.nh_off} "
                f"th_off={self.th_off} l4proto={self.l4proto} flags={self.flags!r}>")

    def summary(self) -> str:
        """One line in the manner of tcpdump, e.g. ``IP 10.0.0.1.1234 > 10.0.0.2.80: TCP [S]``."""
        from pkttables.packet._summary import summary
        return summary(self)

    # ------------------------------------------------------------------ checksums

    def _pseudo(self, proto: int, length: int) -> int:
        buf = self.buf
        nh = self.nh_off
        if self.nfproto == _NF_IPV4:
            return _ck.pseudo_header_v4(buf[nh + 12:nh + 16], buf[nh + 16:nh + 20], proto, length)
        return _ck.pseudo_header_v6(buf[nh + 8:nh + 24], buf[nh + 24:nh + 40], proto, length)

    def _l4_checksum(self):
        """(name, field offset, field bytes, computed bytes) of the transport checksum,
        or None when there is none to check (no transport header, not all of it here,
        or a protocol without a checksum)."""
        if not self.has_transport:
            return None
        p = self.l4proto
        th = self.th_off
        end = self.nh_off + self.l3_len
        buf = self.buf
        if th + _L4_MIN.get(p, 1 << 30) > end:
            return None
        seg = memoryview(buf)[th:end]
        n = end - th
        if p == 6:
            c = _ck.tcp_checksum(seg, self._pseudo(6, n))
            return "tcp", th + 16, c.to_bytes(2, "big")
        if p == 17:
            ulen = _H(buf, th + 4)[0]
            if 8 <= ulen < n:
                seg = seg[:ulen]
                n = ulen
            c = _ck.udp_checksum(seg, self._pseudo(17, n))
            return "udp", th + 6, c.to_bytes(2, "big")
        if p == 136:
            c = _ck.udplite_checksum(seg, self._pseudo(136, n))
            return "udplite", th + 6, c.to_bytes(2, "big")
        if p == 1 and self.nfproto == _NF_IPV4:
            return "icmp", th + 2, _ck.icmp_checksum(seg).to_bytes(2, "big")
        if p == 58 and self.nfproto == _NF_IPV6:
            c = _ck.icmpv6_checksum(seg, self._pseudo(58, n))
            return "icmpv6", th + 2, c.to_bytes(2, "big")
        if p == 132:
            return "sctp", th + 8, _ck.sctp_checksum(seg)
        if p == 33:
            c = _ck.dccp_checksum(seg, self._pseudo(33, n))
            return "dccp", th + 6, c.to_bytes(2, "big")
        if p == 47 and buf[th] & 0x80:  # GRE with the C bit
            return "gre", th + 4, _ck.gre_checksum(seg).to_bytes(2, "big")
        return None

    def verify_checksums(self) -> dict[str, bool]:
        """Check every checksum present: ``{"ip": ..., "tcp": ...}``.

        A zero UDP checksum is "none" over IPv4 (valid) and invalid over IPv6 (RFC 8200
        8.1).  One's complement has two zeros, so a stored 0xffff where 0 was computed
        (CSUM_MANGLED_0) is valid, and the other way round.
        """
        out: dict[str, bool] = {}
        buf = self.buf
        nh = self.nh_off
        if self.nfproto == _NF_IPV4 and nh >= 0 and len(buf) - nh >= 20:
            ihl = (buf[nh] & 15) * 4
            if ihl >= 20 and nh + ihl <= len(buf):
                out["ip"] = _ck.ones_sum(buf, nh, nh + ihl) == 0xFFFF
        l4 = self._l4_checksum()
        if l4 is not None:
            name, off, want = l4
            have = bytes(buf[off:off + len(want)])
            if name == "udp" and have == b"\0\0":
                out[name] = self.nfproto == _NF_IPV4
            elif name == "sctp":
                out[name] = have == want
            else:
                ok = have == want or {have, want} == {b"\0\0", b"\xff\xff"}
                if name == "udplite" and have == b"\0\0":
                    ok = False  # RFC 3828 3.1: a zero UDP-Lite checksum is always invalid
                out[name] = ok
        return out

    def fix_checksums(self) -> None:
        """Recompute and store every checksum: IPv4 header, then the transport one.
        A zero UDP checksum over IPv4 (none) stays zero."""
        buf = self.buf
        nh = self.nh_off
        if self.nfproto == _NF_IPV4 and nh >= 0 and len(buf) - nh >= 20:
            ihl = (buf[nh] & 15) * 4
            if ihl >= 20 and nh + ihl <= len(buf):
                c = _ck.ipv4_header_checksum(memoryview(buf)[nh:nh + ihl])
                buf[nh + 10:nh + 12] = c.to_bytes(2, "big")
        l4 = self._l4_checksum()
        if l4 is not None:
            name, off, want = l4
            if name == "udp" and self.nfproto == _NF_IPV4 and buf[off:off + 2] == b"\0\0":
                return
            buf[off:off + len(want)] = want

    # ------------------------------------------------------------------ mangling

    def mangle(self, offset: int, new: bytes, *, csum_offset: int | None = None,
               l4_pseudo: bool = False) -> bool:
        """Write ``new`` at absolute ``offset``, as nft_payload_set_eval does.

        ``csum_offset``: absolute offset of a 16-bit Internet checksum to update
        incrementally (csum_type inet); a result of 0 is stored as 0xffff
        (nft_csum_replace).  ``l4_pseudo``: the bytes are part of the pseudo-header, so
        also update the transport checksum (NFT_PAYLOAD_L4CSUM_PSEUDOHDR): TCP, UDP
        unless its checksum is 0, UDP-Lite, ICMPv6 -- the kernel's
        nft_payload_l4csum_offset list; nothing for a non-first fragment.

        The bytes are summed as if they started at an even offset of the checksummed
        data (csum_partial); nft only emits such writes.  Returns False, changing
        nothing, where the kernel breaks (NFT_BREAK): a write or checksum outside the
        buffer.
        """
        buf = self.buf
        new = bytes(new)
        n = len(new)
        if offset < 0 or offset + n > len(buf):
            return False
        old = bytes(buf[offset:offset + n])
        l4off = -1
        if l4_pseudo:
            l4off = self._l4csum_offset_nft()
            if l4off == -2:
                return False
        if csum_offset is not None:
            if csum_offset < 0 or csum_offset + 2 > len(buf):
                return False
            self._csum_update(csum_offset, old, new, True)
        if l4off >= 0:
            self._csum_update(l4off, old, new, True)
        buf[offset:offset + n] = new
        return True

    def _l4csum_offset_nft(self) -> int:
        """nft_payload_l4csum_offset: -1 = nothing to update, -2 = error."""
        if not self.has_transport:
            return -1
        p = self.l4proto
        th = self.th_off
        if p == 6:
            off = th + 16
        elif p == 17:
            if th + 8 > len(self.buf) or self.buf[th + 6:th + 8] == b"\0\0":
                return -1
            off = th + 6
        elif p == 136:
            off = th + 6
        elif p == 58:
            off = th + 2
        else:
            return -1
        return off if off + 2 <= len(self.buf) else -2

    def _csum_update(self, off: int, old: bytes, new: bytes, mangled0: bool) -> None:
        buf = self.buf
        c = _ck.csum_replace((buf[off] << 8) | buf[off + 1], old, new)
        if mangled0 and c == 0:
            c = 0xFFFF
        buf[off] = c >> 8
        buf[off + 1] = c & 0xFF

    def _nat_l4_update(self, old: bytes, new: bytes) -> None:
        """Transport checksum after a pseudo-header change, as nf_nat's l4 manip does:
        TCP and DCCP plain, UDP skipped when 0 and 0 -> 0xffff, UDP-Lite 0 -> 0xffff,
        ICMPv6 plain.  Not for non-first fragments (no transport header there)."""
        if not self.has_transport:
            return
        p = self.l4proto
        th = self.th_off
        buf = self.buf
        if p == 6:
            off, m0 = th + 16, False
        elif p == 17:
            off, m0 = th + 6, True
            if th + 8 > len(buf) or buf[off:off + 2] == b"\0\0":
                return
        elif p == 136:
            off, m0 = th + 6, True
        elif p == 33:
            off, m0 = th + 6, False
        elif p == 58 and self.nfproto == _NF_IPV6:
            off, m0 = th + 2, False
        else:
            return
        if off + 2 <= len(buf):
            self._csum_update(off, old, new, m0)

    @staticmethod
    def _addr_bytes(addr, size: int) -> bytes:
        if isinstance(addr, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            b = addr.packed
        elif isinstance(addr, str):
            try:
                b = ipaddress.ip_address(addr).packed
            except ValueError:
                raise PktError(f"not an IP address: {addr!r}") from None
        else:
            b = bytes(addr)
        if len(b) != size:
            raise PktError(f"address {addr!r} is {len(b)} bytes, this packet needs {size}")
        return b

    def _set_addr(self, which: int, addr) -> bool:
        buf = self.buf
        nh = self.nh_off
        if self.nfproto == _NF_IPV4 and nh >= 0 and nh + 20 <= len(buf):
            new = self._addr_bytes(addr, 4)
            off = nh + 12 + 4 * which
            old = bytes(buf[off:off + 4])
            # nf_nat_ipv4_manip_pkt: csum_replace4 on the header checksum
            self._csum_update(nh + 10, old, new, False)
        elif self.nfproto == _NF_IPV6 and nh >= 0 and nh + 40 <= len(buf):
            new = self._addr_bytes(addr, 16)
            off = nh + 8 + 16 * which
            old = bytes(buf[off:off + 16])
        else:
            return False
        self._nat_l4_update(old, new)
        buf[off:off + len(new)] = new
        return True

    def set_saddr(self, addr) -> bool:
        """Rewrite the IP source address (bytes, str or ipaddress object), updating the
        IPv4 header checksum and the transport pseudo-header checksum as SNAT does.
        False when the packet has no IP header of its own family."""
        return self._set_addr(0, addr)

    def set_daddr(self, addr) -> bool:
        """Rewrite the IP destination address; see :meth:`set_saddr`."""
        return self._set_addr(1, addr)

    def _set_port(self, which: int, port: int) -> bool:
        if not 0 <= port <= 0xFFFF:
            raise PktError(f"port {port} out of range 0-65535")
        p = self.l4proto
        if not self.has_transport or p not in (6, 17, 136, 132, 33):
            return False
        buf = self.buf
        th = self.th_off
        if th + _L4_MIN[p] > len(buf):
            return False
        off = th + 2 * which
        old = bytes(buf[off:off + 2])
        new = port.to_bytes(2, "big")
        if p == 6:
            self._csum_update(th + 16, old, new, False)
        elif p == 17:
            if buf[th + 6:th + 8] != b"\0\0":
                self._csum_update(th + 6, old, new, True)
        elif p == 136:
            self._csum_update(th + 6, old, new, True)
        elif p == 33:
            self._csum_update(th + 6, old, new, False)
        buf[off:off + 2] = new
        if p == 132:
            # CRC32c cannot be updated incrementally: sctp_manip_pkt recomputes it
            end = self.nh_off + self.l3_len
            buf[th + 8:th + 12] = _ck.sctp_checksum(memoryview(buf)[th:end])
        return True

    def set_sport(self, port: int) -> bool:
        """Rewrite the source port of TCP, UDP, UDP-Lite, SCTP or DCCP with its checksum."""
        return self._set_port(0, port)

    def set_dport(self, port: int) -> bool:
        """Rewrite the destination port; see :meth:`set_sport`."""
        return self._set_port(1, port)

    def set_ttl(self, ttl: int) -> bool:
        """Set the IPv4 TTL (header checksum updated, as ``ip ttl set``) or the IPv6
        hop limit."""
        if not 0 <= ttl <= 255:
            raise PktError(f"ttl {ttl} out of range 0-255")
        nh = self.nh_off
        if self.nfproto == _NF_IPV4 and nh >= 0 and nh + 20 <= len(self.buf):
            return self.mangle(nh + 8, bytes((ttl,)), csum_offset=nh + 10)
        if self.nfproto == _NF_IPV6 and nh >= 0 and nh + 40 <= len(self.buf):
            self.buf[nh + 7] = ttl
            return True
        return False

    def set_hoplimit(self, hoplimit: int) -> bool:
        """Set the IPv6 hop limit (or the IPv4 TTL)."""
        return self.set_ttl(hoplimit)

    def set_tos(self, tos: int) -> bool:
        """Set the IPv4 TOS byte / IPv6 traffic class (DSCP and ECN together).  The IPv4
        write covers bytes 0-1 so the checksum update stays 16-bit aligned, as nft does."""
        if not 0 <= tos <= 255:
            raise PktError(f"tos {tos} out of range 0-255")
        buf = self.buf
        nh = self.nh_off
        if self.nfproto == _NF_IPV4 and nh >= 0 and nh + 20 <= len(buf):
            return self.mangle(nh, bytes((buf[nh], tos)), csum_offset=nh + 10)
        if self.nfproto == _NF_IPV6 and nh >= 0 and nh + 40 <= len(buf):
            buf[nh] = (buf[nh] & 0xF0) | (tos >> 4)
            buf[nh + 1] = ((tos & 0x0F) << 4) | (buf[nh + 1] & 0x0F)
            return True
        return False

    def get_tos(self) -> int:
        """The IPv4 TOS byte / IPv6 traffic class, -1 without an IP header."""
        buf = self.buf
        nh = self.nh_off
        if self.nfproto == _NF_IPV4 and nh >= 0 and nh + 2 <= len(buf):
            return buf[nh + 1]
        if self.nfproto == _NF_IPV6 and nh >= 0 and nh + 2 <= len(buf):
            return ((buf[nh] & 0x0F) << 4) | (buf[nh + 1] >> 4)
        return -1

    def set_dscp(self, dscp: int) -> bool:
        """Set the DSCP (upper 6 bits of TOS / traffic class), keeping ECN."""
        if not 0 <= dscp <= 63:
            raise PktError(f"dscp {dscp} out of range 0-63")
        tos = self.get_tos()
        if tos < 0:
            return False
        return self.set_tos((dscp << 2) | (tos & 3))

    def set_l2(self, dst_mac: bytes | None = None, src_mac: bytes | None = None) -> bool:
        """Rewrite the Ethernet destination and/or source address (6 bytes each)."""
        if self.mac_off < 0 or self.link != LinkType.ETHERNET:
            return False
        m = self.mac_off
        for mac, off in ((dst_mac, m), (src_mac, m + 6)):
            if mac is None:
                continue
            mac = bytes(mac)
            if len(mac) != 6:
                raise PktError(f"MAC address {mac.hex(':')} is not 6 bytes")
            self.buf[off:off + 6] = mac
        return True


def _vlan_tags(buf, off: int, ethertype: int) -> tuple[tuple[tuple[int, int], ...], int, int, int]:
    """The 802.1Q / 802.1ad tags from ``off`` on, for Ethernet and cooked captures alike
    (called only when ``ethertype`` is a tag's, to keep untagged frames call-free):
    ``(tags as (tpid, tci), inner ethertype, offset after the tags, TRUNCATED or 0)``."""
    blen = len(buf)
    vl = []
    while ethertype == 0x8100 or ethertype == 0x88A8:
        if off + 4 > blen:
            return tuple(vl), ethertype, off, _TRUNC
        tci, inner = _HH(buf, off)
        vl.append((ethertype, tci))
        ethertype = inner
        off += 4
    return tuple(vl), ethertype, off, 0


def _ipv6_walk(buf, nh: int, start: int, end: int, nexthdr: int):
    """ipv6_find_hdr(skb, &thoff, -1, &frag_off, IP6_FH_F_AUTH) over buf[..end].

    Returns (l4proto, th_off, fragoff, is_fragment, exthdrs, flags).  The chain after
    the point where the kernel stops (AH) is still recorded in ``exthdrs``.
    """
    l4proto = -1
    th_off = -1
    fragoff = 0
    is_frag = False
    bad = 0
    exthdrs = []
    done = False
    while True:
        if nexthdr not in _IP6_EXT or nexthdr == 59:
            if not done:
                l4proto = nexthdr
                th_off = start
            break
        if start + 2 > end or (nexthdr == 43 and start + 4 > end):
            if not done:
                bad = _BAD_EXT | _TRUNC
            break
        if nexthdr == 44:
            if start + 4 > end:
                if not done:
                    bad = _BAD_EXT | _TRUNC
                break
            exthdrs.append((44, start))
            is_frag = True
            fo = _H(buf, start + 2)[0] & ~7
            if fo:
                if not done:
                    nxt = buf[start]
                    if nxt not in _IP6_EXT or nxt == 59:
                        l4proto = nxt
                        # the kernel returns before updating *offset: thoff stays 0
                        th_off = nh
                        fragoff = fo
                break
            hdrlen = 8
        elif nexthdr == 51:
            exthdrs.append((51, start))
            if not done:
                # nft passes IP6_FH_F_AUTH: the walk stops at AH
                l4proto = 51
                th_off = start
                done = True
            hdrlen = (buf[start + 1] + 2) << 2
        else:
            exthdrs.append((nexthdr, start))
            hdrlen = (buf[start + 1] + 1) << 3
        nexthdr = buf[start]
        start += hdrlen
    return l4proto, th_off, fragoff, is_frag, tuple(exthdrs), bad
