"""Header layouts: every protocol nft 1.0.6 can match by payload or exthdr.

Theory of operation
-------------------
nft describes a header once (``src/proto.c``, ``src/exthdr.c``, ``src/tcpopt.c``,
``src/ipopt.c``, ``src/sctp_chunk.c``) as a table of templates; the parser, evaluator,
linearizer, delinearizer and ``nft describe`` all read it.  We do the same: a
:class:`Field` is ``(name, offset_bits, len_bits, dtype_name, byteorder)`` where
``offset_bits`` counts from the first bit of *this* header, and a :class:`Proto` says at
which payload base (:class:`Base`) the header sits and how long it is.

Worked example: ``tcp dport`` is ``Field("dport", 16, 16, "inet_service", BIG)`` in
``PROTOCOLS["tcp"]`` whose base is ``TRANSPORT_HEADER``, so the compiler emits
``[ payload load 2b @ transport header + 2 => reg 1 ]``.  ``vlan id`` is 12 bits at bit 4
of a header that starts 14 bytes after the link header (``hdr_offset_bits`` of ``vlan``
is the length of ``ether``); it loads 2 bytes at ``link header + 14`` and masks.
Fields that are not byte aligned (``ip dscp``, ``vlan id``, ``dccp type``) are loaded
as the smallest byte-aligned span and masked (and shifted) by the evaluator, as nft's
``payload_expr_expand``/``expr_evaluate_bits`` do.

``dtype_name`` is a key of :data:`pkttables.types.DATATYPES` (the nft datatype name;
the one clash in nft, two datatypes both called ``time``, is resolved by naming
``meta time``'s datatype ``time_date`` after nft's ``TYPE_TIME_DATE``).

Extension headers (:class:`ExtHeader`) are the same shape but are found by walking
(``ExthdrOp``): IPv6 extension headers by next-header number, TCP options by kind,
IPv4 options by type, SCTP chunks by chunk type.  Their ``offset_bits`` are relative
to the start of the option/extension header the kernel finds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ._enums import (
    Base, ByteOrder, EthProto, ExthdrOp, IpOptType, IpProto, Ipv6Exthdr, SctpChunkType,
    TcpOptKind,
)

__all__ = [
    "Field", "Proto", "ExtHeader", "PROTOCOLS", "PROTOCOL_ALIASES", "IPV6_EXTHDRS",
    "TCP_OPTIONS", "IP_OPTIONS", "SCTP_CHUNKS", "field_by_offset",
]

BIG = ByteOrder.BIG


@dataclass(frozen=True, slots=True)
class Field:
    """One header field: bits from the header's start, its nft datatype, byte order."""

    name: str
    offset_bits: int
    len_bits: int
    dtype_name: str = "integer"
    byteorder: ByteOrder = BIG
    # ICMP/ICMPv6 types this field only exists in: nft 1.0.6 adds ``icmp type`` (one
    # value: cmp, several: anonymous set) before matching ``icmp mtu`` / ``icmpv6 id``.
    icmp_dep: tuple[int, ...] = ()

    @property
    def byte_aligned(self) -> bool:
        """True when a plain load of whole bytes yields exactly this field."""
        return self.offset_bits % 8 == 0 and self.len_bits % 8 == 0

    def load_span(self) -> tuple[int, int]:
        """(byte offset, byte length) of the smallest load that covers the field."""
        start = self.offset_bits // 8
        end = (self.offset_bits + self.len_bits + 7) // 8
        return start, end - start


def _fields(*fs: Field) -> Mapping[str, Field]:
    return MappingProxyType({f.name: f for f in fs})


@dataclass(frozen=True, slots=True)
class Proto:
    """A header matched with ``payload`` (``struct proto_desc`` in nft).

    ``upper`` maps an upper protocol name to the value of ``protocol_key`` that selects
    it (``ip``: ``{"tcp": 6, ...}`` keyed by the ``protocol`` field).  ``hdr_len_bits``
    is the fixed part of the header; headers below this one in the same base add theirs
    (``vlan`` sits after ``ether``).
    """

    name: str
    base: Base
    fields: Mapping[str, Field]
    hdr_len_bits: int
    protocol_key: str | None = None
    upper: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # Value identifying this protocol to nft's tracing/`meta` (ETH_P_* or IPPROTO_*).
    number: int | None = None


@dataclass(frozen=True, slots=True)
class ExtHeader:
    """A header found by walking: IPv6 exthdr, TCP option, IPv4 option or SCTP chunk."""

    name: str
    op: ExthdrOp
    kind: int          # next-header number / option kind / option type / chunk type
    fields: Mapping[str, Field]
    # Only for rt0/rt2/srh: the routing type below the common routing header.
    rt_type: int | None = None


def F(name: str, off: int, bits: int, dtype: str = "integer", icmp_dep: tuple[int, ...] = ()) -> Field:
    return Field(name, off, bits, dtype, BIG, icmp_dep)


# nft's icmp_hdr_field_type: which ICMP types carry the field (RFC 792, RFC 4443, RFC 2710).
ICMP_ECHO = (8, 0)            # echo-request, echo-reply
ICMP_MTU = (3,)               # destination-unreachable (frag needed)
ICMP_ADDRESS = (5,)           # redirect
ICMP6_ECHO = (128, 129)       # echo-request, echo-reply
ICMP6_MTU = (2,)              # packet-too-big
ICMP6_PPTR = (4,)             # parameter-problem
ICMP6_MGMQ = (130,)           # mld-listener-query


_TRANSPORT_UPPER = {
    "icmp": IpProto.ICMP, "igmp": IpProto.IGMP, "tcp": IpProto.TCP, "udp": IpProto.UDP,
    "udplite": IpProto.UDPLITE, "esp": IpProto.ESP, "ah": IpProto.AH, "comp": IpProto.COMP,
    "dccp": IpProto.DCCP, "sctp": IpProto.SCTP,
}
_ETH_UPPER = {"ip": EthProto.IP, "ip6": EthProto.IPV6, "arp": EthProto.ARP, "vlan": EthProto.VLAN_8021Q}

_PROTOS: list[Proto] = [
    # IEEE 802.3 / Ethernet II (proto_eth; nft calls it "ether").
    Proto("ether", Base.LL_HEADER, _fields(
        F("daddr", 0, 48, "ether_addr"),
        F("saddr", 48, 48, "ether_addr"),
        F("type", 96, 16, "ether_type"),
    ), 112, "type", MappingProxyType(dict(_ETH_UPPER))),
    # IEEE 802.1Q tag, placed after the ether header (TCI then encapsulated type).
    Proto("vlan", Base.LL_HEADER, _fields(
        F("pcp", 0, 3),
        F("dei", 3, 1),
        F("cfi", 3, 1),   # old name of dei, still accepted and listed as such by 1.0.6
        F("id", 4, 12),
        F("type", 16, 16, "ether_type"),
    ), 32, "type", MappingProxyType(dict(_ETH_UPPER)), EthProto.VLAN_8021Q),
    # RFC 826, with nft's Ethernet/IPv4 address layout.
    Proto("arp", Base.NETWORK_HEADER, _fields(
        F("htype", 0, 16),
        F("ptype", 16, 16, "ether_type"),
        F("hlen", 32, 8),
        F("plen", 40, 8),
        F("operation", 48, 16, "arp_op"),
        F("saddr ether", 64, 48, "ether_addr"),
        F("saddr ip", 112, 32, "ipv4_addr"),
        F("daddr ether", 144, 48, "ether_addr"),
        F("daddr ip", 192, 32, "ipv4_addr"),
    ), 224, number=EthProto.ARP),
    # RFC 791 (dscp/ecn per RFC 2474/3168).
    Proto("ip", Base.NETWORK_HEADER, _fields(
        F("version", 0, 4),
        F("hdrlength", 4, 4),
        F("dscp", 8, 6, "dscp"),
        F("ecn", 14, 2, "ecn"),
        F("length", 16, 16),
        F("id", 32, 16),
        F("frag-off", 48, 16),
        F("ttl", 64, 8),
        F("protocol", 72, 8, "inet_proto"),
        F("checksum", 80, 16),
        F("saddr", 96, 32, "ipv4_addr"),
        F("daddr", 128, 32, "ipv4_addr"),
    ), 160, "protocol", MappingProxyType(dict(_TRANSPORT_UPPER)), EthProto.IP),
    # RFC 792; id/sequence, gateway and mtu overlay the "rest of header" word.
    Proto("icmp", Base.TRANSPORT_HEADER, _fields(
        F("type", 0, 8, "icmp_type"),
        F("code", 8, 8, "icmp_code"),
        F("checksum", 16, 16),
        F("id", 32, 16, icmp_dep=ICMP_ECHO),
        F("sequence", 48, 16, icmp_dep=ICMP_ECHO),
        F("gateway", 32, 32, icmp_dep=ICMP_ADDRESS),
        F("mtu", 48, 16, icmp_dep=ICMP_MTU),
    ), 64, number=IpProto.ICMP),
    # RFC 2236 / 3376.
    Proto("igmp", Base.TRANSPORT_HEADER, _fields(
        F("type", 0, 8, "igmp_type"),
        F("mrt", 8, 8),
        F("checksum", 16, 16),
        F("group", 32, 32),
    ), 64, number=IpProto.IGMP),
    # RFC 8200.
    Proto("ip6", Base.NETWORK_HEADER, _fields(
        F("version", 0, 4),
        F("dscp", 4, 6, "dscp"),
        F("ecn", 10, 2, "ecn"),
        F("flowlabel", 12, 20),
        F("length", 32, 16),
        F("nexthdr", 48, 8, "inet_proto"),
        F("hoplimit", 56, 8),
        F("saddr", 64, 128, "ipv6_addr"),
        F("daddr", 192, 128, "ipv6_addr"),
    ), 320, "nexthdr",
        MappingProxyType({**_TRANSPORT_UPPER, "icmpv6": IpProto.ICMPV6}), EthProto.IPV6),
    # RFC 4443 (max-delay: RFC 2710 MLD).
    Proto("icmpv6", Base.TRANSPORT_HEADER, _fields(
        F("type", 0, 8, "icmpv6_type"),
        F("code", 8, 8, "icmpv6_code"),
        F("checksum", 16, 16),
        F("param-problem", 32, 32, icmp_dep=ICMP6_PPTR),
        F("mtu", 32, 32, icmp_dep=ICMP6_MTU),
        F("id", 32, 16, icmp_dep=ICMP6_ECHO),
        F("sequence", 48, 16, icmp_dep=ICMP6_ECHO),
        F("max-delay", 32, 16, icmp_dep=ICMP6_MGMQ),
    ), 64, number=IpProto.ICMPV6),
    # RFC 9293 s3.1; doff is the data offset in 32-bit words.
    Proto("tcp", Base.TRANSPORT_HEADER, _fields(
        F("sport", 0, 16, "inet_service"),
        F("dport", 16, 16, "inet_service"),
        F("sequence", 32, 32),
        F("ackseq", 64, 32),
        F("doff", 96, 4),
        F("reserved", 100, 4),
        F("flags", 104, 8, "tcp_flag"),
        F("window", 112, 16),
        F("checksum", 128, 16),
        F("urgptr", 144, 16),
    ), 160, number=IpProto.TCP),
    # RFC 768.
    Proto("udp", Base.TRANSPORT_HEADER, _fields(
        F("sport", 0, 16, "inet_service"),
        F("dport", 16, 16, "inet_service"),
        F("length", 32, 16),
        F("checksum", 48, 16),
    ), 64, number=IpProto.UDP),
    # RFC 3828.
    Proto("udplite", Base.TRANSPORT_HEADER, _fields(
        F("sport", 0, 16, "inet_service"),
        F("dport", 16, 16, "inet_service"),
        F("csumcov", 32, 16),
        F("checksum", 48, 16),
    ), 64, number=IpProto.UDPLITE),
    # RFC 9260 s3.1 common header (chunks are exthdr, below).
    Proto("sctp", Base.TRANSPORT_HEADER, _fields(
        F("sport", 0, 16, "inet_service"),
        F("dport", 16, 16, "inet_service"),
        F("vtag", 32, 32),
        F("checksum", 64, 32),
    ), 96, number=IpProto.SCTP),
    # RFC 4340 s5.1: the 4-bit type follows 3 reserved bits in byte 8.
    Proto("dccp", Base.TRANSPORT_HEADER, _fields(
        F("sport", 0, 16, "inet_service"),
        F("dport", 16, 16, "inet_service"),
        F("type", 67, 4, "dccp_pkttype"),
    ), 128, number=IpProto.DCCP),
    # RFC 4302.
    Proto("ah", Base.TRANSPORT_HEADER, _fields(
        F("nexthdr", 0, 8, "inet_proto"),
        F("hdrlength", 8, 8),
        F("reserved", 16, 16),
        F("spi", 32, 32),
        F("sequence", 64, 32),
    ), 96, number=IpProto.AH),
    # RFC 4303.
    Proto("esp", Base.TRANSPORT_HEADER, _fields(
        F("spi", 0, 32),
        F("sequence", 32, 32),
    ), 64, number=IpProto.ESP),
    # RFC 3173 (IPComp).
    Proto("comp", Base.TRANSPORT_HEADER, _fields(
        F("nexthdr", 0, 8, "inet_proto"),
        F("flags", 8, 8, "bitmask"),
        F("cpi", 16, 16),
    ), 32, number=IpProto.COMP),
    # nft's proto_th: the ports any port-carrying transport header shares.
    Proto("th", Base.TRANSPORT_HEADER, _fields(
        F("sport", 0, 16, "inet_service"),
        F("dport", 16, 16, "inet_service"),
    ), 32),
]

#: Every payload protocol by the name nft's grammar uses.
PROTOCOLS: Mapping[str, Proto] = MappingProxyType({p.name: p for p in _PROTOS})

#: Other spellings nft's scanner accepts for a protocol keyword.
PROTOCOL_ALIASES: Mapping[str, str] = MappingProxyType({"eth": "ether", "icmp6": "icmpv6"})


def field_by_offset(proto: Proto, offset_bits: int, len_bits: int) -> Field | None:
    """The field a raw load matches, as nft's delinearizer finds templates (first wins)."""
    for f in proto.fields.values():
        if f.offset_bits == offset_bits and f.len_bits == len_bits:
            return f
    return None


def _hdr(name: str, op: ExthdrOp, kind: int, *fs: Field, rt_type: int | None = None) -> ExtHeader:
    return ExtHeader(name, op, int(kind), _fields(*fs), rt_type)


_NH = F("nexthdr", 0, 8, "inet_proto")
_HL = F("hdrlength", 8, 8)

#: IPv6 extension headers (RFC 8200 s4, RFC 6275 s6.1 for mh, RFC 8754 for srh).
#: ``rt0 addr[N]`` / ``srh sid[N]`` are indexed: see :func:`indexed_field`.
IPV6_EXTHDRS: Mapping[str, ExtHeader] = MappingProxyType({h.name: h for h in (
    _hdr("hbh", ExthdrOp.IPV6, Ipv6Exthdr.HBH, _NH, _HL),
    _hdr("rt", ExthdrOp.IPV6, Ipv6Exthdr.RT, _NH, _HL, F("type", 16, 8), F("seg-left", 24, 8)),
    _hdr("rt0", ExthdrOp.IPV6, Ipv6Exthdr.RT, F("reserved", 32, 32), F("addr", 64, 128, "ipv6_addr"),
         rt_type=0),
    _hdr("rt2", ExthdrOp.IPV6, Ipv6Exthdr.RT, F("reserved", 32, 32), F("addr", 64, 128, "ipv6_addr"),
         rt_type=2),
    _hdr("srh", ExthdrOp.IPV6, Ipv6Exthdr.RT, F("last-entry", 32, 8), F("flags", 40, 8),
         F("tag", 48, 16), F("sid", 64, 128, "ipv6_addr"), rt_type=4),
    _hdr("frag", ExthdrOp.IPV6, Ipv6Exthdr.FRAG, _NH, F("reserved", 8, 8), F("frag-off", 16, 13),
         F("reserved2", 29, 2), F("more-fragments", 31, 1), F("id", 32, 32)),
    _hdr("dst", ExthdrOp.IPV6, Ipv6Exthdr.DST, _NH, _HL),
    _hdr("mh", ExthdrOp.IPV6, Ipv6Exthdr.MH, _NH, _HL, F("type", 16, 8, "mh_type"),
         F("reserved", 24, 8), F("checksum", 32, 16)),
)})

#: Fields that take an index (``rt0 addr[2]``, ``srh sid[1]``): each step is 128 bits.
INDEXED_FIELDS: Mapping[tuple[str, str], int] = MappingProxyType({("rt0", "addr"): 128, ("srh", "sid"): 128})


def indexed_field(hdr: ExtHeader, name: str, index: int) -> Field:
    """``addr[index]`` (1-based as in nft) as a plain Field with its real offset."""
    f = hdr.fields[name]
    step = INDEXED_FIELDS[(hdr.name, name)]
    return Field(f"{name}[{index}]", f.offset_bits + (index - 1) * step, f.len_bits, f.dtype_name, f.byteorder)


_KIND = F("kind", 0, 8)
_LEN = F("length", 8, 8)

#: TCP options (RFC 9293 s3.2, RFC 7323 window/timestamp, RFC 2018 sack, RFC 7413
#: fastopen, RFC 2385 md5sig, RFC 8684 mptcp).  ``sack`` is ``sack0``.
TCP_OPTIONS: Mapping[str, ExtHeader] = MappingProxyType({h.name: h for h in (
    _hdr("eol", ExthdrOp.TCPOPT, TcpOptKind.EOL, _KIND),
    _hdr("nop", ExthdrOp.TCPOPT, TcpOptKind.NOP, _KIND),
    _hdr("maxseg", ExthdrOp.TCPOPT, TcpOptKind.MAXSEG, _KIND, _LEN, F("size", 16, 16)),
    _hdr("window", ExthdrOp.TCPOPT, TcpOptKind.WINDOW, _KIND, _LEN, F("count", 16, 8)),
    _hdr("sack-perm", ExthdrOp.TCPOPT, TcpOptKind.SACK_PERM, _KIND, _LEN),
    *(
        _hdr(name, ExthdrOp.TCPOPT, TcpOptKind.SACK, _KIND, _LEN,
             F("left", 16 + 64 * i, 32), F("right", 48 + 64 * i, 32))
        for name, i in (("sack", 0), ("sack0", 0), ("sack1", 1), ("sack2", 2), ("sack3", 3))
    ),
    _hdr("timestamp", ExthdrOp.TCPOPT, TcpOptKind.TIMESTAMP, _KIND, _LEN,
         F("tsval", 16, 32), F("tsecr", 48, 32)),
    _hdr("md5sig", ExthdrOp.TCPOPT, TcpOptKind.MD5SIG, _KIND, _LEN),
    _hdr("mptcp", ExthdrOp.TCPOPT, TcpOptKind.MPTCP, _KIND, _LEN, F("subtype", 16, 4)),
    _hdr("fastopen", ExthdrOp.TCPOPT, TcpOptKind.FASTOPEN, _KIND, _LEN),
)})

#: Fields of a TCP option given by number (``tcp option 34 length``).
TCP_OPTION_GENERIC_FIELDS: Mapping[str, Field] = _fields(_KIND, _LEN)

_IPOPT_ROUTE = (F("type", 0, 8), F("length", 8, 8), F("ptr", 16, 8), F("addr", 24, 32))

#: IPv4 options (RFC 791 s3.1 lsrr/ssrr/rr, RFC 2113 router alert).
IP_OPTIONS: Mapping[str, ExtHeader] = MappingProxyType({h.name: h for h in (
    _hdr("lsrr", ExthdrOp.IPV4, IpOptType.LSRR, *_IPOPT_ROUTE),
    _hdr("rr", ExthdrOp.IPV4, IpOptType.RR, *_IPOPT_ROUTE),
    _hdr("ssrr", ExthdrOp.IPV4, IpOptType.SSRR, *_IPOPT_ROUTE),
    _hdr("ra", ExthdrOp.IPV4, IpOptType.RA, F("type", 0, 8), F("length", 8, 8), F("value", 16, 16)),
)})

_CH = (F("type", 0, 8), F("flags", 8, 8), F("length", 16, 16))
_INIT = (F("init-tag", 32, 32), F("a-rwnd", 64, 32), F("num-outbound-streams", 96, 16),
         F("num-inbound-streams", 112, 16), F("initial-tsn", 128, 32))
_S = SctpChunkType

#: SCTP chunks (RFC 9260 s3.3, RFC 5061 asconf, RFC 3758 forward-tsn).
SCTP_CHUNKS: Mapping[str, ExtHeader] = MappingProxyType({h.name: h for h in (
    _hdr("data", ExthdrOp.SCTP, _S.DATA, *_CH, F("tsn", 32, 32), F("stream", 64, 16),
         F("ssn", 80, 16), F("ppid", 96, 32)),
    _hdr("init", ExthdrOp.SCTP, _S.INIT, *_CH, *_INIT),
    _hdr("init-ack", ExthdrOp.SCTP, _S.INIT_ACK, *_CH, *_INIT),
    _hdr("sack", ExthdrOp.SCTP, _S.SACK, *_CH, F("cum-tsn-ack", 32, 32), F("a-rwnd", 64, 32),
         F("num-gap-ack-blocks", 96, 16), F("num-dup-tsns", 112, 16)),
    _hdr("heartbeat", ExthdrOp.SCTP, _S.HEARTBEAT, *_CH),
    _hdr("heartbeat-ack", ExthdrOp.SCTP, _S.HEARTBEAT_ACK, *_CH),
    _hdr("abort", ExthdrOp.SCTP, _S.ABORT, *_CH),
    _hdr("shutdown", ExthdrOp.SCTP, _S.SHUTDOWN, *_CH, F("cum-tsn-ack", 32, 32)),
    _hdr("shutdown-ack", ExthdrOp.SCTP, _S.SHUTDOWN_ACK, *_CH),
    _hdr("error", ExthdrOp.SCTP, _S.ERROR, *_CH),
    _hdr("cookie-echo", ExthdrOp.SCTP, _S.COOKIE_ECHO, *_CH),
    _hdr("cookie-ack", ExthdrOp.SCTP, _S.COOKIE_ACK, *_CH),
    _hdr("ecne", ExthdrOp.SCTP, _S.ECNE, *_CH, F("lowest-tsn", 32, 32)),
    _hdr("cwr", ExthdrOp.SCTP, _S.CWR, *_CH, F("lowest-tsn", 32, 32)),
    _hdr("shutdown-complete", ExthdrOp.SCTP, _S.SHUTDOWN_COMPLETE, *_CH),
    _hdr("asconf-ack", ExthdrOp.SCTP, _S.ASCONF_ACK, *_CH, F("seqno", 32, 32)),
    _hdr("forward-tsn", ExthdrOp.SCTP, _S.FORWARD_TSN, *_CH, F("new-cum-tsn", 32, 32)),
    _hdr("asconf", ExthdrOp.SCTP, _S.ASCONF, *_CH, F("seqno", 32, 32)),
)})
