"""Constants of the packet layer, with the values the kernel and libpcap use.

``LinkType`` holds pcap LINKTYPE_* values (what a capture file says about its first
byte), ``NFProto`` the kernel's NFPROTO_* families, ``PacketType`` the kernel's
PACKET_* values of ``skb->pkt_type``, ``ParseFlag`` what went wrong while parsing.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

# One definition each, shared with the rest of pkttables: pcap link types live with the
# capture files, NFPROTO_*/IPPROTO_* with the protocol tables.
from pkttables.capture import LinkType
from pkttables.proto import IpProto as IPProto, NfProto as NFProto

__all__ = ["LinkType", "NFProto", "PacketType", "ParseFlag", "EtherType", "IPProto"]


class PacketType(IntEnum):
    """PACKET_* values of skb->pkt_type (include/uapi/linux/if_packet.h)."""

    HOST = 0
    BROADCAST = 1
    MULTICAST = 2
    OTHERHOST = 3
    OUTGOING = 4
    LOOPBACK = 5


class ParseFlag(IntFlag):
    """Why a packet was not parsed all the way.  0 means nothing was wrong.

    A flag never stops the engine: the packet keeps whatever offsets were valid, and
    ``l4proto == -1`` when the kernel would have given it no L4 information
    (``nft_set_pktinfo_unspec``).
    """

    NONE = 0
    TRUNCATED = 0x1       # a header (link, network or transport) is cut by the buffer end
    BAD_IHL = 0x2         # IPv4 ihl < 5
    BAD_VERSION = 0x4     # IP version nibble does not match the ethertype / link type
    BAD_TOTLEN = 0x8      # IP total / payload length beyond the buffer, or < header length
    BAD_EXTHDR = 0x10     # IPv6 extension header chain cut short or unwalkable
    BAD_TCP_DOFF = 0x20   # TCP data offset < 5
    BAD_LINK = 0x40       # unknown link type, or link header too short
    JUMBO = 0x80          # IPv6 payload length 0 with hop-by-hop header (RFC 2675)


class EtherType(IntEnum):
    """ETH_P_* values used here (include/uapi/linux/if_ether.h)."""

    IP = 0x0800
    ARP = 0x0806
    IPV6 = 0x86DD
    VLAN_8021Q = 0x8100
    VLAN_8021AD = 0x88A8
    # eth_type_trans() sets these for 802.3 frames whose type field is a length
    ETH_802_3 = 0x0001
    ETH_802_2 = 0x0004


