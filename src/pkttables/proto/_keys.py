"""Keys of the non-payload expressions: meta, ct, rt, fib, socket, osf, numgen, hash,
ipsec (xfrm).

Each key is described once with the kernel's key number, the nft datatype of the value
(a key of ``pkttables.types.DATATYPES``), the register length nft uses and the byte
order the kernel stores it in (``meta mark`` is a host-endian u32, ``meta protocol``
is the big-endian ETH_P value).  Which keys the grammar accepts without the ``meta``
prefix, and which ``ct`` keys take a direction, were checked against nft 1.0.6
(``tests/unit/proto/test_keys.py`` names the cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Mapping

from ._enums import (
    ByteOrder, CtKeyId, FibFlag, FibResult, HashType, MetaKeyId, NgType, RtKeyId, SocketKeyId,
    XfrmKey,
)

__all__ = [
    "MetaKey", "META_KEYS", "META_KEY_ALIASES", "CtKey", "CtDirRule", "CT_KEYS", "CT_KEYS_BY_ID",
    "RtKey", "RT_KEYS", "FibResultDesc", "FIB_RESULTS", "FIB_FLAGS", "SocketKey", "SOCKET_KEYS",
    "OSF_KEYS", "NUMGEN_TYPES", "HASH_TYPES", "XfrmKeyDesc", "XFRM_KEYS", "EXTHDR_FLAGS",
    "IFNAMSIZ",
]

HOST = ByteOrder.HOST
BIG = ByteOrder.BIG

IFNAMSIZ = 16
NF_CT_HELPER_NAME_LEN = 16
NFT_OSF_MAXGENRELEN = 16


@dataclass(frozen=True, slots=True)
class MetaKey:
    """A ``meta`` key (nft ``meta_templates[]``).

    ``unqualified``: the grammar accepts it without ``meta`` (``mark 1``, ``iif lo``).
    ``print_unqualified``: nft lists it without ``meta`` (only the interface keys).
    """

    name: str
    key: MetaKeyId
    dtype_name: str
    len_bits: int
    byteorder: ByteOrder = HOST
    unqualified: bool = False
    print_unqualified: bool = False


def _m(name: str, key: MetaKeyId, dtype: str, bits: int, bo: ByteOrder = HOST,
       unq: bool = False, punq: bool = False) -> MetaKey:
    return MetaKey(name, key, dtype, bits, bo, unq or punq, punq)


_K = MetaKeyId
_META = (
    _m("length", _K.LEN, "integer", 32),
    _m("protocol", _K.PROTOCOL, "ether_type", 16, BIG),
    _m("priority", _K.PRIORITY, "classid", 32),
    _m("mark", _K.MARK, "mark", 32, unq=True),
    _m("iif", _K.IIF, "iface_index", 32, punq=True),
    _m("iifname", _K.IIFNAME, "ifname", IFNAMSIZ * 8, punq=True),
    _m("iiftype", _K.IIFTYPE, "iface_type", 16, unq=True),
    _m("oif", _K.OIF, "iface_index", 32, punq=True),
    _m("oifname", _K.OIFNAME, "ifname", IFNAMSIZ * 8, punq=True),
    _m("oiftype", _K.OIFTYPE, "iface_type", 16, unq=True),
    _m("skuid", _K.SKUID, "uid", 32, unq=True),
    _m("skgid", _K.SKGID, "gid", 32, unq=True),
    _m("nftrace", _K.NFTRACE, "integer", 1, unq=True),
    _m("rtclassid", _K.RTCLASSID, "realm", 32, unq=True),
    _m("secmark", _K.SECMARK, "integer", 32),
    _m("nfproto", _K.NFPROTO, "nf_proto", 8),
    _m("l4proto", _K.L4PROTO, "inet_proto", 8),
    _m("ibrname", _K.BRI_IIFNAME, "ifname", IFNAMSIZ * 8, unq=True),
    _m("obrname", _K.BRI_OIFNAME, "ifname", IFNAMSIZ * 8, unq=True),
    _m("pkttype", _K.PKTTYPE, "pkt_type", 8, unq=True),
    _m("cpu", _K.CPU, "integer", 32, unq=True),
    _m("iifgroup", _K.IIFGROUP, "devgroup", 32, punq=True),
    _m("oifgroup", _K.OIFGROUP, "devgroup", 32, punq=True),
    _m("cgroup", _K.CGROUP, "integer", 32, unq=True),
    _m("random", _K.PRANDOM, "integer", 32, BIG),
    # The kernel key is SECPATH; nft lists it as "ipsec" and accepts "secpath" after "meta".
    _m("ipsec", _K.SECPATH, "boolean", 8, unq=True),
    _m("iifkind", _K.IIFKIND, "ifname", IFNAMSIZ * 8),
    _m("oifkind", _K.OIFKIND, "ifname", IFNAMSIZ * 8),
    _m("ibrpvid", _K.BRI_IIFPVID, "integer", 16),
    _m("ibrvproto", _K.BRI_IIFVPROTO, "ether_type", 16, BIG),
    _m("time", _K.TIME_NS, "time_date", 64, unq=True),
    _m("day", _K.TIME_DAY, "day", 8, unq=True),
    _m("hour", _K.TIME_HOUR, "hour", 32, unq=True),
    _m("sdif", _K.SDIF, "iface_index", 32),
    _m("sdifname", _K.SDIFNAME, "ifname", IFNAMSIZ * 8),
)

#: Meta keys by the name nft lists them with.
META_KEYS: Mapping[str, MetaKey] = MappingProxyType({k.name: k for k in _META})
META_KEYS_BY_ID: Mapping[MetaKeyId, MetaKey] = MappingProxyType({k.key: k for k in _META})

#: Spellings the grammar also accepts: (alias, canonical, accepted unqualified too).
META_KEY_ALIASES: Mapping[str, tuple[str, bool]] = MappingProxyType({
    "secpath": ("ipsec", False),
    "ibriport": ("ibrname", True),
    "obriport": ("obrname", True),
})


class CtDirRule(Enum):
    """Whether ``ct original|reply KEY`` is allowed (nft grammar ``ct_key``/``ct_key_dir``)."""

    NONE = "none"          # ct state; "ct original state" is a syntax error
    OPTIONAL = "optional"  # ct packets / ct original packets
    REQUIRED = "required"  # ct original ip saddr; "ct ip saddr" is a syntax error


@dataclass(frozen=True, slots=True)
class CtKey:
    """A ``ct`` key (nft ``ct_templates[]``).  ``dtype_name`` ``invalid`` means the type
    comes from the family/l3proto context (``ct original saddr``).

    ``kernel_requires_dir``: the grammar takes the key without a direction but the
    kernel's ``nft_ct_get_init`` rejects it with EINVAL (``ct saddr 1.2.3.4``).
    """

    name: str
    key: CtKeyId
    dtype_name: str
    len_bits: int
    byteorder: ByteOrder
    dir: CtDirRule
    kernel_requires_dir: bool = False


_C = CtKeyId
_N, _O, _R = CtDirRule.NONE, CtDirRule.OPTIONAL, CtDirRule.REQUIRED
_CT = (
    CtKey("state", _C.STATE, "ct_state", 32, HOST, _N),
    CtKey("direction", _C.DIRECTION, "ct_dir", 8, HOST, _N),
    CtKey("status", _C.STATUS, "ct_status", 32, HOST, _N),
    CtKey("mark", _C.MARK, "mark", 32, HOST, _N),
    CtKey("secmark", _C.SECMARK, "integer", 32, HOST, _N),
    CtKey("expiration", _C.EXPIRATION, "time", 32, HOST, _N),
    CtKey("helper", _C.HELPER, "string", NF_CT_HELPER_NAME_LEN * 8, HOST, _N),
    CtKey("l3proto", _C.L3PROTOCOL, "nf_proto", 8, HOST, _O),
    CtKey("saddr", _C.SRC, "invalid", 0, BIG, _O, True),
    CtKey("daddr", _C.DST, "invalid", 0, BIG, _O, True),
    CtKey("protocol", _C.PROTOCOL, "inet_proto", 8, BIG, _O),
    CtKey("proto-src", _C.PROTO_SRC, "invalid", 16, BIG, _O, True),
    CtKey("proto-dst", _C.PROTO_DST, "invalid", 16, BIG, _O, True),
    CtKey("label", _C.LABELS, "ct_label", 128, HOST, _N),
    CtKey("packets", _C.PKTS, "integer", 64, HOST, _O),
    CtKey("bytes", _C.BYTES, "integer", 64, HOST, _O),
    CtKey("avgpkt", _C.AVGPKT, "integer", 64, HOST, _O),
    CtKey("zone", _C.ZONE, "integer", 16, HOST, _O),
    CtKey("event", _C.EVENTMASK, "ct_event", 32, HOST, _N),
    CtKey("ip saddr", _C.SRC_IP, "ipv4_addr", 32, BIG, _R, True),
    CtKey("ip daddr", _C.DST_IP, "ipv4_addr", 32, BIG, _R, True),
    CtKey("ip6 saddr", _C.SRC_IP6, "ipv6_addr", 128, BIG, _R, True),
    CtKey("ip6 daddr", _C.DST_IP6, "ipv6_addr", 128, BIG, _R, True),
    CtKey("id", _C.ID, "integer", 32, BIG, _N),
)

#: ct keys by the words nft uses after ``ct [original|reply]``.
CT_KEYS: Mapping[str, CtKey] = MappingProxyType({k.name: k for k in _CT})
CT_KEYS_BY_ID: Mapping[CtKeyId, CtKey] = MappingProxyType({k.key: k for k in _CT})


@dataclass(frozen=True, slots=True)
class RtKey:
    """An ``rt`` key (nft ``rt_templates[]``); ``family`` restricts nexthop spellings."""

    name: str
    key: RtKeyId
    dtype_name: str
    len_bits: int
    byteorder: ByteOrder
    invalid_only_in_family: bool = False


RT_KEYS: Mapping[str, RtKey] = MappingProxyType({k.name: k for k in (
    RtKey("classid", RtKeyId.CLASSID, "realm", 32, HOST),
    # bare "rt nexthop" takes its type (and key NEXTHOP4/6) from the table family
    RtKey("nexthop", RtKeyId.NEXTHOP4, "invalid", 0, BIG, True),
    RtKey("ip nexthop", RtKeyId.NEXTHOP4, "ipv4_addr", 32, BIG),
    RtKey("ip6 nexthop", RtKeyId.NEXTHOP6, "ipv6_addr", 128, BIG),
    RtKey("mtu", RtKeyId.TCPMSS, "integer", 16, HOST),
    RtKey("ipsec", RtKeyId.XFRM, "boolean", 8, HOST),
)})


@dataclass(frozen=True, slots=True)
class FibResultDesc:
    """A ``fib`` result: what the lookup returns into the destination register."""

    name: str
    result: FibResult
    dtype_name: str
    len_bits: int
    byteorder: ByteOrder = HOST


FIB_RESULTS: Mapping[str, FibResultDesc] = MappingProxyType({r.name: r for r in (
    FibResultDesc("oif", FibResult.OIF, "iface_index", 32),
    FibResultDesc("oifname", FibResult.OIFNAME, "string", IFNAMSIZ * 8),
    FibResultDesc("type", FibResult.ADDRTYPE, "fib_addrtype", 32),
)})

#: ``fib saddr . mark . iif oif`` keywords; ``check`` (present) is nft's existence test.
FIB_FLAGS: Mapping[str, FibFlag] = MappingProxyType({
    "saddr": FibFlag.SADDR, "daddr": FibFlag.DADDR, "mark": FibFlag.MARK,
    "iif": FibFlag.IIF, "oif": FibFlag.OIF, "present": FibFlag.PRESENT,
})


@dataclass(frozen=True, slots=True)
class SocketKey:
    """A ``socket`` key (nft ``socket_templates[]``); cgroupv2 also takes ``level N``."""

    name: str
    key: SocketKeyId
    dtype_name: str
    len_bits: int
    byteorder: ByteOrder = HOST


SOCKET_KEYS: Mapping[str, SocketKey] = MappingProxyType({k.name: k for k in (
    SocketKey("transparent", SocketKeyId.TRANSPARENT, "integer", 8),
    SocketKey("mark", SocketKeyId.MARK, "mark", 32),
    SocketKey("wildcard", SocketKeyId.WILDCARD, "integer", 8),
    SocketKey("cgroupv2", SocketKeyId.CGROUPV2, "cgroupsv2", 64),
)})

#: ``osf [ttl loose|skip] name|version``: both load the OS genre string.
OSF_KEYS: Mapping[str, tuple[str, int]] = MappingProxyType({
    "name": ("string", NFT_OSF_MAXGENRELEN * 8),
    "version": ("string", NFT_OSF_MAXGENRELEN * 8),
})
#: ``osf ttl`` modes (NF_OSF_TTL_*): true (default), loose, skip.
OSF_TTL: Mapping[str, int] = MappingProxyType({"true": 0, "loose": 1, "skip": 2})

NUMGEN_TYPES: Mapping[str, NgType] = MappingProxyType({"inc": NgType.INCREMENTAL, "random": NgType.RANDOM})
HASH_TYPES: Mapping[str, HashType] = MappingProxyType({"jhash": HashType.JENKINS, "symhash": HashType.SYM})
#: numgen and hash results: ``integer``, 32 bits, host order.
NUMGEN_HASH_RESULT = ("integer", 32, HOST)


@dataclass(frozen=True, slots=True)
class XfrmKeyDesc:
    """An ``ipsec in|out [spnum N]`` key (nft ``xfrm_templates[]``)."""

    name: str
    key: XfrmKey
    dtype_name: str
    len_bits: int
    byteorder: ByteOrder


XFRM_KEYS: Mapping[str, XfrmKeyDesc] = MappingProxyType({k.name: k for k in (
    XfrmKeyDesc("ip daddr", XfrmKey.DADDR_IP4, "ipv4_addr", 32, BIG),
    XfrmKeyDesc("ip6 daddr", XfrmKey.DADDR_IP6, "ipv6_addr", 128, BIG),
    XfrmKeyDesc("ip saddr", XfrmKey.SADDR_IP4, "ipv4_addr", 32, BIG),
    XfrmKeyDesc("ip6 saddr", XfrmKey.SADDR_IP6, "ipv6_addr", 128, BIG),
    XfrmKeyDesc("reqid", XfrmKey.REQID, "integer", 32, HOST),
    XfrmKeyDesc("spi", XfrmKey.SPI, "integer", 32, BIG),
)})

#: ``exthdr ... exists`` / ``missing`` compile to a PRESENT load compared with 1 / 0.
EXTHDR_FLAGS: Mapping[str, int] = MappingProxyType({"exists": 1, "missing": 0})
