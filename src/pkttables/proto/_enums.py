"""Kernel enum values, as IntEnums, so dumps and reprs print the kernel's names.

Values come from the kernel UAPI headers ``linux/netfilter/nf_tables.h``,
``linux/netfilter.h``, ``linux/in.h`` and ``linux/if_ether.h``; the names follow the
kernel's with the common prefix dropped (``NFT_META_MARK`` -> ``MetaKeyId.MARK``).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = [
    "ByteOrder", "Base", "NfProto", "IpProto", "EthProto", "MetaKeyId", "CtKeyId",
    "CtDir", "RtKeyId", "FibResult", "FibFlag", "SocketKeyId", "NgType", "HashType",
    "XfrmKey", "XfrmDir", "ExthdrOp", "ExthdrFlag", "InetHook", "ArpHook", "NetdevHook",
    "Ipv6Exthdr", "TcpOptKind", "IpOptType", "SctpChunkType", "OsfFlag",
]


class ByteOrder(IntEnum):
    """nft's ``enum byteorder`` (datatype.h): how a value sits in a register."""

    INVALID = 0
    HOST = 1  # BYTEORDER_HOST_ENDIAN: meta/ct keys the kernel stores as native ints
    BIG = 2   # BYTEORDER_BIG_ENDIAN: packet bytes, as on the wire


class Base(IntEnum):
    """``enum nft_payload_bases``: which header offset a payload load is relative to."""

    LL_HEADER = 0
    NETWORK_HEADER = 1
    TRANSPORT_HEADER = 2
    INNER_HEADER = 3
    # Not a kernel base: nft's PROTO_BASE_INVALID / exthdr-only descriptions.
    NONE = -1

    @property
    def nft_name(self) -> str:
        """The word the netlink dump prints (``@ transport header + 2``)."""
        return {0: "link", 1: "network", 2: "transport", 3: "inner"}.get(int(self), "invalid")


class NfProto(IntEnum):
    """``NFPROTO_*`` (linux/netfilter.h): families of tables and ``meta nfproto``."""

    UNSPEC = 0
    INET = 1
    IPV4 = 2
    ARP = 3
    NETDEV = 5
    BRIDGE = 7
    IPV6 = 10
    DECNET = 12


class IpProto(IntEnum):
    """``IPPROTO_*`` values nft links transport headers with (linux/in.h, in6.h)."""

    HOPOPTS = 0
    ICMP = 1
    IGMP = 2
    IPIP = 4
    TCP = 6
    UDP = 17
    IPV6 = 41
    ROUTING = 43
    FRAGMENT = 44
    GRE = 47
    ESP = 50
    AH = 51
    ICMPV6 = 58
    NONE = 59
    DSTOPTS = 60
    DCCP = 33
    COMP = 108
    SCTP = 132
    MH = 135
    UDPLITE = 136


class EthProto(IntEnum):
    """``ETH_P_*`` (linux/if_ether.h) used by ``ether type`` / ``meta protocol``."""

    IP = 0x0800
    ARP = 0x0806
    IPV6 = 0x86DD
    VLAN_8021Q = 0x8100
    VLAN_8021AD = 0x88A8


class MetaKeyId(IntEnum):
    """``enum nft_meta_keys``."""

    LEN = 0
    PROTOCOL = 1
    PRIORITY = 2
    MARK = 3
    IIF = 4
    OIF = 5
    IIFNAME = 6
    OIFNAME = 7
    IIFTYPE = 8
    OIFTYPE = 9
    SKUID = 10
    SKGID = 11
    NFTRACE = 12
    RTCLASSID = 13
    SECMARK = 14
    NFPROTO = 15
    L4PROTO = 16
    BRI_IIFNAME = 17
    BRI_OIFNAME = 18
    PKTTYPE = 19
    CPU = 20
    IIFGROUP = 21
    OIFGROUP = 22
    CGROUP = 23
    PRANDOM = 24
    SECPATH = 25
    IIFKIND = 26
    OIFKIND = 27
    BRI_IIFPVID = 28
    BRI_IIFVPROTO = 29
    TIME_NS = 30
    TIME_DAY = 31
    TIME_HOUR = 32
    SDIF = 33
    SDIFNAME = 34


class CtKeyId(IntEnum):
    """``enum nft_ct_keys``."""

    STATE = 0
    DIRECTION = 1
    STATUS = 2
    MARK = 3
    SECMARK = 4
    EXPIRATION = 5
    HELPER = 6
    L3PROTOCOL = 7
    SRC = 8
    DST = 9
    PROTOCOL = 10
    PROTO_SRC = 11
    PROTO_DST = 12
    LABELS = 13
    PKTS = 14
    BYTES = 15
    AVGPKT = 16
    ZONE = 17
    EVENTMASK = 18
    SRC_IP = 19
    DST_IP = 20
    SRC_IP6 = 21
    DST_IP6 = 22
    ID = 23


class CtDir(IntEnum):
    """``enum ip_conntrack_dir``: ``ct original ...`` / ``ct reply ...``."""

    ORIGINAL = 0
    REPLY = 1


class RtKeyId(IntEnum):
    """``enum nft_rt_keys``."""

    CLASSID = 0
    NEXTHOP4 = 1
    NEXTHOP6 = 2
    TCPMSS = 3
    XFRM = 4


class FibResult(IntEnum):
    """``enum nft_fib_result``."""

    UNSPEC = 0
    OIF = 1
    OIFNAME = 2
    ADDRTYPE = 3


class FibFlag(IntFlag):
    """``enum nft_fib_flags``."""

    SADDR = 1
    DADDR = 2
    MARK = 4
    IIF = 8
    OIF = 16
    PRESENT = 32


class SocketKeyId(IntEnum):
    """``enum nft_socket_keys``."""

    TRANSPARENT = 0
    MARK = 1
    WILDCARD = 2
    CGROUPV2 = 3


class NgType(IntEnum):
    """``enum nft_ng_types`` (numgen)."""

    INCREMENTAL = 0
    RANDOM = 1


class HashType(IntEnum):
    """``enum nft_hash_types``."""

    JENKINS = 0
    SYM = 1


class XfrmKey(IntEnum):
    """``enum nft_xfrm_keys`` (the ``ipsec`` expression)."""

    UNSPEC = 0
    DADDR_IP4 = 1
    DADDR_IP6 = 2
    SADDR_IP4 = 3
    SADDR_IP6 = 4
    REQID = 5
    SPI = 6


class XfrmDir(IntEnum):
    """``XFRM_POLICY_IN/OUT``: ``ipsec in`` / ``ipsec out``."""

    IN = 0
    OUT = 1


class ExthdrOp(IntEnum):
    """``enum nft_exthdr_op``: which header space an exthdr expression walks."""

    IPV6 = 0
    TCPOPT = 1
    IPV4 = 2
    SCTP = 3


class ExthdrFlag(IntFlag):
    """``enum nft_exthdr_flags``: PRESENT turns a load into an existence test."""

    PRESENT = 1


class OsfFlag(IntFlag):
    """``NFT_OSF_F_VERSION``: ``osf version`` also loads the OS version."""

    VERSION = 1


class InetHook(IntEnum):
    """``enum nf_inet_hooks`` (ip, ip6, inet, and bridge which uses the same numbers)."""

    PRE_ROUTING = 0
    LOCAL_IN = 1
    FORWARD = 2
    LOCAL_OUT = 3
    POST_ROUTING = 4
    INGRESS = 5


class ArpHook(IntEnum):
    """``NF_ARP_IN/OUT/FORWARD`` (linux/netfilter_arp.h)."""

    IN = 0
    OUT = 1
    FORWARD = 2


class NetdevHook(IntEnum):
    """``enum nf_dev_hooks``."""

    INGRESS = 0
    EGRESS = 1


class Ipv6Exthdr(IntEnum):
    """Next-header numbers of the IPv6 extension headers nft's exthdr knows."""

    HBH = 0
    RT = 43
    FRAG = 44
    DST = 60
    MH = 135


class TcpOptKind(IntEnum):
    """TCP option kinds (IANA "TCP Option Kind Numbers") that nft names."""

    EOL = 0
    NOP = 1
    MAXSEG = 2
    WINDOW = 3
    SACK_PERM = 4
    SACK = 5
    TIMESTAMP = 8
    MD5SIG = 19
    MPTCP = 30
    FASTOPEN = 34


class IpOptType(IntEnum):
    """IPv4 option types (RFC 791, RFC 2113) that nft's ``ip option`` knows."""

    RR = 7
    LSRR = 131
    SSRR = 137
    RA = 148


class SctpChunkType(IntEnum):
    """SCTP chunk types (RFC 9260 s3.2, RFC 5061, RFC 3758)."""

    DATA = 0
    INIT = 1
    INIT_ACK = 2
    SACK = 3
    HEARTBEAT = 4
    HEARTBEAT_ACK = 5
    ABORT = 6
    SHUTDOWN = 7
    SHUTDOWN_ACK = 8
    ERROR = 9
    COOKIE_ECHO = 10
    COOKIE_ACK = 11
    ECNE = 12
    CWR = 13
    SHUTDOWN_COMPLETE = 14
    ASCONF_ACK = 0x80
    FORWARD_TSN = 0xC0
    ASCONF = 0xC1
