"""pkttables.packet: the Packet -- one buffer, the kernel's header offsets, metadata.

In: the bytes of one packet (``bytes``/``bytearray``) and its pcap link type
(:class:`LinkType`: Ethernet, raw IPv4/IPv6, Linux cooked v1/v2).

Out: a :class:`Packet` whose ``buf`` is a private ``bytearray`` and whose attributes
are what nf_tables computes before running a chain -- ``nh_off``, ``nfproto``,
``l4proto``, ``th_off``, ``fragoff`` (``has_l4proto``, ``has_transport``), VLAN tags,
IPv6 extension headers -- plus the metadata the engine sets (``iif``, ``oif``,
``mark``, ``priority``, ``nftrace``, ``pkt_type``, ``ct``, ``ctinfo``, ``timestamp``).
Malformed packets never raise; ``flags`` (:class:`ParseFlag`) says what was wrong.

Writes go through :meth:`Packet.mangle` (nft_payload_set semantics, incremental
RFC 1624 checksums) and the NAT-style setters (``set_saddr``, ``set_dport``, ...).
:mod:`pkttables.packet.checksum` has the checksum arithmetic.

Example::

    p = Packet(frame, link=LinkType.ETHERNET)   # Ether / IPv4 / TCP
    p.l4proto, p.th_off, p.has_transport        # (6, 34, True)
    p.set_daddr("10.0.0.9")                     # DNAT-style, checksums updated
    p.verify_checksums()                        # {'ip': True, 'tcp': True}
"""

from pkttables.packet.enums import EtherType, IPProto, LinkType, NFProto, PacketType, ParseFlag
from pkttables.packet.packet import Packet

__all__ = ["Packet", "LinkType", "ParseFlag", "NFProto", "PacketType", "EtherType", "IPProto"]
