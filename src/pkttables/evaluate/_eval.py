"""Evaluation: AST rule -> typed rule, as nft 1.0.6's ``src/evaluate.c`` does it.

Theory of operation
-------------------
A rule is evaluated statement by statement, left to right, with a *protocol context*
(nft's ``struct proto_ctx``): for each payload base (link, network, transport) the
protocol known to be there.  The table family seeds it (an ``ip`` table knows the
network header is IPv4; a ``bridge`` table knows the link layer is Ethernet).  When a
header field is used whose protocol is not yet known at its base, the implicit matches
of :data:`pkttables.proto.DEPENDENCIES` are inserted just before the statement (nft's
``payload_gen_dependency``) and the context learns the protocol; a match the user wrote
(``meta l4proto tcp``, ``ip protocol tcp``, ``meta nfproto ipv4``, ``ether type ip``)
teaches it the same, so ``ip protocol tcp tcp dport 22`` gets no second check.

The left-hand side of a relation decides the type of the right-hand side: symbols and
numbers are parsed with the LHS datatype (``types.Datatype.parse``) and encoded in the
LHS byte order and length into ``Value.data`` -- the register bytes.  Header fields that
are not byte aligned (``ip dscp``, ``vlan id``) are loaded as whole bytes and masked;
constants are shifted into place (nft's ``expr_evaluate_bits``; 1.0.6 shifts the
constant, not the register).  A bitmask type with an implicit operator is a flag test
(``tcp flags syn`` == ``tcp flags & syn != 0``, nft's ``OP_IMPLICIT`` on bitmasks).
Binary operations on the LHS are folded the way nft folds them: ``x | c`` becomes
``x & ~c ^ c``, ``x ^ c == v`` becomes ``x == v ^ c``.

Sets: anonymous set elements are typed by the key; a range or prefix anywhere makes it
an interval set, whose host-endian keys are stored big endian (nft converts, and
inserts a ``byteorder`` before the lookup).

Errors are raised as :class:`pkttables.errors.EvalError` with nft's message and the
location of the offending node.
"""

from __future__ import annotations

import dataclasses

import os
import re
import socket
from dataclasses import dataclass, field
from typing import Callable

from pkttables.errors import Diagnostic, EvalError, Location, PktError
from pkttables.lang import ast as A
from pkttables.proto import (
    CT_KEYS, DEPENDENCIES, FIB_RESULTS, IP_OPTIONS, IPV6_EXTHDRS, META_KEY_ALIASES, META_KEYS,
    NUMGEN_HASH_RESULT, OSF_KEYS, PROTOCOL_ALIASES, PROTOCOLS, RT_KEYS, SCTP_CHUNKS, SOCKET_KEYS,
    TCP_OPTION_GENERIC_FIELDS, TCP_OPTIONS, XFRM_KEYS, Base, ByteOrder, CtKeyId, Dep, EthProto,
    ExthdrOp, Field, IpProto, MetaKeyId, NfProto, indexed_field,
)
from pkttables.types import DATATYPES, Datatype

from . import _nodes as N

__all__ = ["EvalContext", "SetInfo", "evaluate_rule"]

HOST, BIG = ByteOrder.HOST, ByteOrder.BIG
INTEGER = DATATYPES["integer"]
VERDICT = DATATYPES["verdict"]

# libnftnl's names for meta keys (nftnl meta_key2str), indexed by MetaKeyId.
META_DUMP = {
    MetaKeyId.LEN: "len", MetaKeyId.PROTOCOL: "protocol", MetaKeyId.PRIORITY: "priority",
    MetaKeyId.MARK: "mark", MetaKeyId.IIF: "iif", MetaKeyId.OIF: "oif", MetaKeyId.IIFNAME: "iifname",
    MetaKeyId.OIFNAME: "oifname", MetaKeyId.IIFTYPE: "iiftype", MetaKeyId.OIFTYPE: "oiftype",
    MetaKeyId.SKUID: "skuid", MetaKeyId.SKGID: "skgid", MetaKeyId.NFTRACE: "nftrace",
    MetaKeyId.RTCLASSID: "rtclassid", MetaKeyId.SECMARK: "secmark", MetaKeyId.NFPROTO: "nfproto",
    MetaKeyId.L4PROTO: "l4proto", MetaKeyId.BRI_IIFNAME: "bri_iifname",
    MetaKeyId.BRI_OIFNAME: "bri_oifname", MetaKeyId.PKTTYPE: "pkttype", MetaKeyId.CPU: "cpu",
    MetaKeyId.IIFGROUP: "iifgroup", MetaKeyId.OIFGROUP: "oifgroup", MetaKeyId.CGROUP: "cgroup",
    MetaKeyId.PRANDOM: "prandom", MetaKeyId.SECPATH: "secpath", MetaKeyId.IIFKIND: "iifkind",
    MetaKeyId.OIFKIND: "oifkind", MetaKeyId.BRI_IIFPVID: "bri_iifpvid",
    MetaKeyId.BRI_IIFVPROTO: "bri_iifvproto", MetaKeyId.TIME_NS: "time", MetaKeyId.TIME_DAY: "day",
    MetaKeyId.TIME_HOUR: "hour", MetaKeyId.SDIF: "sdif", MetaKeyId.SDIFNAME: "sdifname",
}

# libnftnl's names for ct keys (ctkey2str).
CT_DUMP = {
    CtKeyId.STATE: "state", CtKeyId.DIRECTION: "direction", CtKeyId.STATUS: "status",
    CtKeyId.MARK: "mark", CtKeyId.SECMARK: "secmark", CtKeyId.EXPIRATION: "expiration",
    CtKeyId.HELPER: "helper", CtKeyId.L3PROTOCOL: "l3protocol", CtKeyId.SRC: "src",
    CtKeyId.DST: "dst", CtKeyId.PROTOCOL: "protocol", CtKeyId.PROTO_SRC: "proto_src",
    CtKeyId.PROTO_DST: "proto_dst", CtKeyId.LABELS: "label", CtKeyId.PKTS: "packets",
    CtKeyId.BYTES: "bytes", CtKeyId.AVGPKT: "avgpkt", CtKeyId.ZONE: "zone",
    CtKeyId.EVENTMASK: "event", CtKeyId.SRC_IP: "src_ip", CtKeyId.DST_IP: "dst_ip",
    # libnftnl 1.2.4 has no name for NFT_CT_ID and prints "unknown"
    CtKeyId.SRC_IP6: "src_ip6", CtKeyId.DST_IP6: "dst_ip6", CtKeyId.ID: "unknown",
}

_OPS = {"implicit": "eq", "!": "eq", "==": "eq", "!=": "neq", "<": "lt", ">": "gt", "<=": "lte", ">=": "gte",
        "eq": "eq", "ne": "neq", "lt": "lt", "gt": "gt", "le": "lte", "ge": "gte"}

# Which payload base a dependency establishes, and the protocol it names.
_NET_BY_ETHERTYPE = {EthProto.IP: "ip", EthProto.IPV6: "ip6", EthProto.ARP: "arp", EthProto.VLAN_8021Q: "vlan"}
_NET_BY_NFPROTO = {NfProto.IPV4: "ip", NfProto.IPV6: "ip6"}
_L4_BY_NUMBER = {int(p.number): n for n, p in PROTOCOLS.items()
                 if p.base == Base.TRANSPORT_HEADER and p.number is not None}
_L4_NAMES = frozenset(_L4_BY_NUMBER.values())
_ICMPISH = frozenset({"icmp", "icmpv6", "igmp"})


@dataclass(frozen=True, slots=True)
class SetInfo:
    """What evaluation needs to know about a named set or map."""
    name: str
    key: tuple[tuple[Datatype, int, ByteOrder], ...]   # per concatenated part: type, bits, order
    data: tuple[Datatype, int, ByteOrder] | None = None
    interval: bool = False
    is_map: bool = False
    objmap: bool = False
    # a concatenated data type, per part (``type ipv4_addr : ipv4_addr . inet_service``)
    data_parts: tuple[tuple[Datatype, int, ByteOrder], ...] | None = None

    @property
    def key_len_bits(self) -> int:
        if len(self.key) == 1:
            return self.key[0][1]
        return sum(((b + 31) // 32) * 32 for _, b, _ in self.key)


@dataclass
class EvalContext:
    """Where a rule is evaluated: its table and the named sets there."""
    family: str
    table: str = "t"
    chain: str = "c"
    sets: dict[str, SetInfo] = field(default_factory=dict)
    chains: frozenset[str] | None = None           # None: do not check jump targets
    ifindex: Callable[[str], int | None] | None = None
    # the rule goes to the (reference) kernel: also refuse what its expression init
    # refuses (KERNEL_BRIDGE_META); False for nft's own userspace checks (the corpus)
    kernel: bool = False
    # seconds east of UTC for `meta time/hour/day` (nft uses the local zone); None: local
    tz_offset: int | None = None
    # stateful objects of the table by kind ("counter", "ct helper" ...); None: unchecked
    objects: dict[str, frozenset[str]] | None = None
    # every set nft's cache holds, (family, table, name) in cache order, for the "did
    # you mean" hint of an unknown set; None: the sets of this table
    set_hints: tuple[tuple[str, str, str], ...] | None = None


def _err(msg: str, loc: Location | None) -> EvalError:
    return EvalError(msg, loc)


def _bits_to_bytes(bits: int) -> int:
    return (bits + 7) // 8


def encode(value: int | bytes, nbytes: int, order: ByteOrder) -> bytes:
    """The register form of a value: strings padded, integers in the expression's order."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).ljust(nbytes, b"\0")[:nbytes]
    return int(value).to_bytes(nbytes, "little" if order is HOST else "big")


def _is_bitmask(dt: Datatype) -> bool:
    return dt.is_bitmask or dt.name == "bitmask" or any(b.name == "bitmask" for b in dt.chain())


def _is_flag_type(dt: Datatype) -> bool:
    """A type *derived from* bitmask (tcp_flag, ct_state, ...): nft 1.0.6 tests its
    ``dtype->basetype`` for TYPE_BITMASK (netlink_gen_relational -> flagcmp, and
    OP_NEG), so the plain ``bitmask`` type of ``comp flags`` is compared as an integer
    (``comp flags 0x1`` is ``cmp eq 0x1``; ``comp flags ! 0x1`` is refused)."""
    return dt.name != "bitmask" and _is_bitmask(dt)


def _default_ifindex(name: str) -> int | None:
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return None


def _no_symbol_type(text: str):
    raise _err("No symbol type information", None)


_NO_SYMBOL_TYPE = dataclasses.replace(DATATYPES["invalid"], parse_hook=_no_symbol_type)


def _cgroupv2_id(path: str) -> int:
    """nft cgroupv2_type_parse: the inode of ``/sys/fs/cgroup/PATH`` on this host (the
    kernel compares the socket's cgroup id with it); a path that is not there is
    ``cgroupv2 path fails: <strerror>`` -- a host property, as for nft."""
    try:
        return os.stat(f"/sys/fs/cgroup/{path}").st_ino
    except OSError as e:
        raise _err(f"cgroupv2 path fails: {os.strerror(e.errno or 2)}", None) from None


def _no_address_family(text: str):
    # nft 1.0.6 parses `rt ip nexthop ADDR` in an ip6 table with the ip6 table's address
    # family: getaddrinfo refuses the IPv4 text (EAI_ADDRFAMILY), checked
    raise _err("Could not resolve hostname: Address family for hostname not supported", None)


def _value_loc(r: A.Expr) -> Location | None:
    """Where nft fails to parse a relation's value: the address of a prefix, the low
    end of a range, the first element of a set."""
    if isinstance(r, A.Prefix):
        return _value_loc(r.expr)
    if isinstance(r, A.Range):
        return _value_loc(r.low)
    if isinstance(r, A.SetExpr) and r.elements:
        return _value_loc(_elem_key_ast(r.elements[0]))
    return r.loc


@dataclass
class _Lhs:
    """An evaluated left-hand side and how constants compared with it are formed."""
    expr: N.TExpr
    dtype: Datatype             # the type used to parse constants
    vbits: int                  # the natural width of a constant
    shift: int = 0              # constants are shifted left by this much (unaligned fields)
    proto: str | None = None    # header protocol (payload) -- for the protocol context
    field: str | None = None


class _RuleEval:
    def __init__(self, ctx: EvalContext):
        self.ctx = ctx
        self.fam = ctx.family
        # protocol context: base -> protocol name
        self.pctx: dict[str, str] = {}
        # base -> the user's expression that made an implicit dependency set it (nft
        # keeps proto_ctx.protocol[base].location for its `~~~` marks)
        self.pctx_loc: dict[str, Location | None] = {}
        if self.fam in ("ip", "ip6", "arp"):
            self.pctx["nh"] = {"ip": "ip", "ip6": "ip6", "arp": "arp"}[self.fam]
        if self.fam == "bridge":
            self.pctx["ll"] = "ether"
        # bit offset of the innermost vlan header known so far (nft keeps it as
        # proto_ctx.protocol[PROTO_BASE_LL_HDR].offset: payload_expr_pctx_update adds the
        # length of the header below each time a link-layer protocol is stacked on one
        # of the same base -- Ethernet, then one 802.1Q/802.1ad tag per `vlan type`)
        self.vlan_off = 112
        self.out: list[N.TStmt] = []
        # a refusal the kernel gives once the evaluated rule reaches it
        self.kernel_err: EvalError | None = None

    # ------------------------------------------------------------ dependencies
    def _dep_stmt(self, dep: Dep, loc: Location | None) -> tuple[N.Match, str, str]:
        if dep.kind == "meta":
            mk = META_KEYS[dep.name]
            dt = DATATYPES[mk.dtype_name]
            left: N.TExpr = N.Meta(loc, dt, mk.len_bits, mk.byteorder, META_DUMP[mk.key])
            if dep.name == "l4proto":
                base, proto = "th", _L4_BY_NUMBER.get(dep.value, str(dep.value))
            elif dep.name == "nfproto":
                base, proto = "nh", _NET_BY_NFPROTO[dep.value]
            elif dep.name == "protocol":
                base, proto = "nh", _NET_BY_ETHERTYPE[dep.value]
            else:  # iiftype
                base, proto = "ll", "ether"
        else:
            pname, fname = dep.name.split()
            lhs = self._payload(pname, fname, loc, dep=True)
            left = lhs.expr
            proto = _NET_BY_ETHERTYPE[dep.value]
            base = "ll2" if proto == "vlan" else "nh"
        right = N.Value(loc, left.dtype, left.len_bits, left.byteorder,
                        encode(dep.value, left.nbytes, left.byteorder))
        return N.Match(loc, left, "eq", right, implicit=True), base, proto

    def _need(self, proto: str, loc: Location | None) -> None:
        """Insert the implicit matches ``proto`` needs in this family (nft
        ``payload_gen_dependency``), skipping what the context already knows."""
        row = DEPENDENCIES[self.fam]
        deps = row.get(proto, ())
        if proto == "vlan" and self.pctx.get("ll2") != "vlan" and self._ether_known():
            # nft resolve_protocol_conflict: the link layer is known to be plain
            # Ethernet and the layer above it is already taken (not by a vlan header)
            raise _err("conflicting protocols specified: ether vs. vlan", loc)
        nh = self.pctx.get("nh")
        th_proto = proto in _L4_NAMES
        if th_proto and self.pctx.get("th") == proto:
            # the transport protocol is already known (`meta l4proto ipv6-icmp icmpv6
            # type 1`, even in an arp table): nft payload_gen_dependency has nothing to add
            return
        if th_proto and nh == "arp":
            # nft payload_gen_dependency: no upper protocol of arp is a transport
            # header ("arp vs. icmp", "arp vs. tcp"), whatever the family
            raise _err(f"conflicting protocols specified: arp vs. {proto}", loc)
        if proto == "ipv6-exthdr" and nh == "ip" or proto == "ipv4-option" and nh == "ip6":
            # nft exthdr_gen_dependency names the network protocol the context holds
            raise _err(f"cannot use exthdr with {nh}", loc)
        if deps is None and nh == proto and self.fam == "arp":
            # QinQ in an arp table: a user's `vlan type ip` made the network header
            # IPv4, so `ip protocol 6` needs nothing more (nft 1.0.6 accepts it, checked)
            return
        if deps is None:
            have = nh if nh is not None and self.fam != "arp" else self.fam
            if proto in ("ipv6-exthdr", "ipv4-option"):
                raise _err(f"cannot use exthdr with {self.fam}", loc)
            raise _err(f"conflicting protocols specified: {have} vs. {proto}", loc)
        for dep in deps:
            stmt, base, name = self._dep_stmt(dep, loc)
            if base == "nh" and self.pctx.get("ll2") == "vlan" and self.pctx.get("nh") is None:
                # nft payload_gen_dependency: the network protocol is named by the
                # protocol key of the link layer the context holds -- after a vlan
                # header that is `vlan type`, not `meta protocol`/`meta nfproto`/`ether type`
                stmt = self._vlan_type_dep(dep, loc)
            elif base == "nh" and dep.kind == "meta" and self.fam in ("inet", "netdev") \
                    and self.pctx.get("ll") == "ether" and proto not in ("ipv6-exthdr", "ipv4-option"):
                # nft payload_gen_dependency asks the link layer the context holds: once
                # `meta iiftype ether` made it Ethernet (an `ether` field's dependency or
                # the user's), the network protocol is `ether type`, not the family's
                # `meta nfproto`/`meta protocol` (it then merges with `ether saddr`)
                stmt = self._ether_type_dep(dep, loc)
            if proto in _ICMPISH and base == "nh" and nh in ("ip", "ip6"):
                # nft 1.0.6's special icmp/icmpv6 dependency is `meta l4proto` alone once
                # the network protocol is known (`meta nfproto ipv4 icmpv6 type 1` and
                # `mh ... icmp code 4` are accepted); the conflict shows at the transport
                # header ("icmp vs. icmpv6")
                continue
            known = self.pctx.get(base)
            if known == name:
                continue
            if known is not None and base != "th":
                raise _err(f"conflicting protocols specified: {known} vs. {name}", loc)
            if known is not None and base == "th":
                raise _err(f"conflicting protocols specified: {known} vs. {proto}", loc)
            if proto in ("ipv6-exthdr", "ipv4-option"):
                # nft 1.0.6 puts an extension header's (IPv4 option's) dependency at the
                # head of the rule, before the statements already evaluated (checked:
                # `meta pkttype != host srh flags 0` in inet is `meta nfproto ipv6`
                # first)
                self.out.insert(0, stmt)
            else:
                self.out.append(stmt)
            self.pctx[base] = name
            self.pctx_loc[base] = loc

    def _vlan_type_dep(self, dep: Dep, loc: Location | None) -> N.Match:
        value = dep.value
        if dep.kind == "meta" and dep.name == "nfproto":
            value = EthProto.IP if dep.value == NfProto.IPV4 else EthProto.IPV6
        left = self._payload("vlan", "type", loc, dep=True).expr
        right = N.Value(loc, left.dtype, left.len_bits, left.byteorder,
                        encode(value, left.nbytes, left.byteorder))
        return N.Match(loc, left, "eq", right, implicit=True)

    def _ether_type_dep(self, dep: Dep, loc: Location | None) -> N.Match:
        value = dep.value
        if dep.name == "nfproto":
            value = EthProto.IP if dep.value == NfProto.IPV4 else EthProto.IPV6
        left = self._payload("ether", "type", loc, dep=True).expr
        right = N.Value(loc, left.dtype, left.len_bits, left.byteorder,
                        encode(value, left.nbytes, left.byteorder))
        return N.Match(loc, left, "eq", right, implicit=True)

    def _ether_known(self) -> bool:
        """Whether a vlan header can no longer follow the Ethernet header (checked on
        nft 1.0.6): in ip/ip6 once an ``ether`` field was matched (the family's own
        network header is always above it); in inet/bridge/netdev once the network
        protocol is known from a network-header match, ``meta nfproto`` or (bridge,
        netdev) ``meta protocol``."""
        if self.fam in ("ip", "ip6", "arp"):
            return self.pctx.get("ll") == "ether"
        nh = self.pctx.get("nh")
        return nh is not None and nh != "vlan" and not self.pctx.get("_nh_meta_protocol")

    def _learn(self, m: N.Match) -> None:
        """A user's match on a protocol key teaches the protocol context (nft
        ``relational_expr_pctx_update``); the match is where nft's context says the
        protocol was learnt (``proto_ctx_update``'s location: reject's ``~~~``)."""
        before = (self.pctx.get("nh"), self.pctx.get("th"))
        self._learn_ctx(m)
        for base, old in zip(("nh", "th"), before):
            if self.pctx.get(base) != old:
                self.pctx_loc[base] = m.loc

    def _learn_ctx(self, m: N.Match) -> None:
        left = m.left
        if m.op == "eq" and isinstance(m.right, N.AnonSet) and not m.right.interval and m.right.elements \
                and _is_l4_key(left):
            # a set of transport protocols: nft's context keeps the last element's
            # (so `meta l4proto { tcp, udp } tcp dport 1` conflicts: udp vs. tcp)
            last = m.right.elements[-1].key
            if isinstance(last, N.Value):
                self.pctx["th"] = _L4_BY_NUMBER.get(last.data[0], str(last.data[0]))
            return
        if m.op == "eq" and isinstance(m.right, N.AnonSet) and not m.right.interval and m.right.elements \
                and isinstance(left, N.Payload) and left.proto in ("icmp", "icmpv6") and left.field == "type" \
                and all(isinstance(e.key, N.Value) for e in m.right.elements):
            # `icmp type { echo-reply, echo-request } icmp id 1`: types that all carry
            # the field satisfy its dependency (ip/icmp.t:55)
            self.pctx["icmp_type"] = tuple(e.key.data[0] for e in m.right.elements)  # type: ignore
            return
        if m.op == "eq" and isinstance(m.right, N.AnonSet) and not m.right.interval and m.right.elements \
                and isinstance(left, N.Payload) and left.proto == "ether" and left.field == "type" \
                and isinstance(m.right.elements[-1].key, N.Value):
            # a set of ethertypes: as for transport protocols, nft's context keeps the
            # last element's (`ether type { ip, ip6, arp } ip saddr 1.2.3.4`: arp vs. ip)
            v = int.from_bytes(m.right.elements[-1].key.data, "big")
            net = _NET_BY_ETHERTYPE.get(v)  # type: ignore[call-overload]
            if net is not None and net != "vlan":
                self.pctx["nh"] = net
                self.pctx.setdefault("ll2", "ether")
            return
        if m.op != "eq" or not isinstance(m.right, N.Value):
            return
        v = int.from_bytes(m.right.data, "little" if m.right.byteorder is HOST else "big")
        if isinstance(left, N.Meta):
            if left.key == "l4proto":
                # nft meta_expr_pctx_update: a number it has no description of is
                # proto_unknown ("conflicting protocols specified: unknown vs. icmpv6")
                self.pctx["th"] = _L4_BY_NUMBER.get(v, "unknown")
            elif left.key == "nfproto" and v in _NET_BY_NFPROTO:
                self.pctx["nh"] = _NET_BY_NFPROTO[v]
            elif left.key == "protocol" and v in _NET_BY_ETHERTYPE:
                if self.fam == "inet":
                    # inet keeps no network protocol for `meta protocol` (nft's inet
                    # context is `meta nfproto`): a vlan match may still follow, and
                    # `ip protocol` still needs its `meta nfproto ipv4` -- unless the
                    # network protocol was known already (`ip length 1500 meta protocol
                    # vlan vlan id 1` is `ether vs. vlan`, checked)
                    if self.pctx.get("nh") is None:
                        self.pctx["_nh_meta_protocol"] = True  # type: ignore[assignment]
                else:
                    self.pctx["nh"] = _NET_BY_ETHERTYPE[v]
            elif left.key == "iiftype" and v == 1:
                self.pctx["ll"] = "ether"
        elif isinstance(left, N.Ct):
            # nft ct_expr_pctx_update: `ct protocol tcp` names the transport header when
            # the network header is known (it then satisfies `tcp dport`'s dependency)
            if left.key == "protocol" and self.pctx.get("nh") in ("ip", "ip6") and v in _L4_BY_NUMBER:
                self.pctx["th"] = _L4_BY_NUMBER[v]
        elif isinstance(left, N.Payload):
            if left.proto in ("ip", "ip6") and left.field in ("protocol", "nexthdr"):
                # nft 1.0.6 payload_expr_pctx_update: a number with no protocol
                # description (47) leaves the context as it was ("udp vs. dccp")
                if v in _L4_BY_NUMBER:
                    self.pctx["th"] = _L4_BY_NUMBER[v]
            elif left.proto == "ether" and left.field == "type" and v == EthProto.VLAN_8021AD:
                # nft proto_eth: 802.1ad (QinQ's outer tag) is a vlan header as well
                self.pctx["ll2"] = "vlan"
            elif left.proto == "vlan" and left.field == "type" and v in (
                    EthProto.VLAN_8021Q, EthProto.VLAN_8021AD):
                # another tag follows this one (QinQ): nft payload_expr_pctx_update
                # stacks it 4 bytes further (proto_vlan's length)
                self.vlan_off += 32
            elif left.proto == "ether" and left.field == "type" and v in _NET_BY_ETHERTYPE:
                if _NET_BY_ETHERTYPE[v] == "vlan":
                    self.pctx["ll2"] = "vlan"
                else:
                    self.pctx["nh"] = _NET_BY_ETHERTYPE[v]
                    # the link layer is plain Ethernet: a vlan header cannot follow
                    self.pctx.setdefault("ll2", "ether")
            elif left.proto == "vlan" and left.field == "type" and v in _NET_BY_ETHERTYPE:
                self.pctx["nh"] = _NET_BY_ETHERTYPE[v]
            elif left.proto in ("icmp", "icmpv6") and left.field == "type":
                self.pctx["icmp_type"] = (v,)  # type: ignore[assignment]
                self.pctx["icmp_type_user"] = v  # type: ignore[assignment]

    # ------------------------------------------------------------ left-hand sides
    def _payload(self, pname: str, fname: str, loc: Location | None, dep: bool = False) -> _Lhs:
        pname = PROTOCOL_ALIASES.get(pname, pname)
        proto = PROTOCOLS.get(pname)
        if proto is None or fname not in proto.fields:
            raise _err(f"unknown payload field {pname} {fname}", loc)
        f = proto.fields[fname]
        if not dep:
            red = self.pctx.pop("_redundant", None)
            if red is not None:
                self.out.remove(red)  # type: ignore[arg-type]
            self._need(pname, loc)
            if pname in ("ip", "ip6", "arp"):
                self.pctx.pop("_nh_meta_protocol", None)    # a network header is matched now
            if f.icmp_dep:
                self._icmp_dep(pname, f, loc)
        hdr_off = self.vlan_off if pname == "vlan" else 0
        return self._field_lhs(loc, proto.base, hdr_off, f, pname, fname)

    def _icmp_dep(self, pname: str, f: Field, loc: Location | None) -> None:
        # nft 1.0.6 adds `icmp type` matches before fields that exist only in some types,
        # once, and not when the rule already matched such a type.
        known = self.pctx.get("icmp_type")
        if known is not None and all(k in f.icmp_dep for k in known):
            return
        user = self.pctx.get("icmp_type_user")
        if user is not None:
            # the rule matched another type itself (nft payload_add_dependency)
            raise _err(f"incompatible icmp match: rule has {user}, need {f.icmp_dep[0]}", loc)
        self.pctx["icmp_type"] = f.icmp_dep  # type: ignore[assignment]
        tf = PROTOCOLS[pname].fields["type"]
        lhs = self._field_lhs(loc, Base.TRANSPORT_HEADER, 0, tf, pname, "type")
        if len(f.icmp_dep) == 1:
            right: N.TExpr = N.Value(loc, lhs.dtype, 8, BIG, bytes([f.icmp_dep[0]]))
        else:
            elems = tuple(N.Elem(N.Value(loc, lhs.dtype, 8, BIG, bytes([t]))) for t in f.icmp_dep)
            right = N.AnonSet(loc, lhs.dtype, 8, BIG, elems, False, False, False)
        self.out.append(N.Match(loc, lhs.expr, "eq", right, implicit=True))

    def _field_lhs(self, loc, base: Base, hdr_off: int, f: Field, pname: str, fname: str) -> _Lhs:
        dt = DATATYPES.get(f.dtype_name, INTEGER)
        off = hdr_off + f.offset_bits
        if f.byte_aligned:
            e = N.Payload(loc, dt, f.len_bits, BIG, base, off, pname, fname)
            return _Lhs(e, dt, f.len_bits, 0, pname, fname)
        start = off // 8
        nbytes = (off + f.len_bits + 7) // 8 - start
        shift = nbytes * 8 - (off - start * 8) - f.len_bits
        load = N.Payload(loc, dt, nbytes * 8, BIG, base, start * 8, pname, fname)
        mask = (((1 << f.len_bits) - 1) << shift).to_bytes(nbytes, "big")
        e = N.Binop(loc, dt, nbytes * 8, BIG, "&", load, N.Value(loc, dt, nbytes * 8, BIG, mask))
        return _Lhs(e, dt, f.len_bits, shift, pname, fname)

    def _lhs(self, e: A.Expr) -> _Lhs:
        loc = e.loc
        if isinstance(e, A.Payload):
            return self._payload(e.proto, e.field, loc)
        if isinstance(e, A.Symbol) and e.name in ("time", "day", "hour"):
            # nft's meta_key_unqualified: `time < "..."` is `meta time < "..."`
            e = A.Meta(e.loc, e.name, qualified=False)
        if isinstance(e, A.Meta):
            name = e.key
            if name in META_KEY_ALIASES:
                name = META_KEY_ALIASES[name][0]
            mk = META_KEYS.get(name)
            if mk is None:
                raise _err(f"unknown meta key {e.key}", loc)
            dt = DATATYPES[mk.dtype_name]
            if mk.key == MetaKeyId.NFPROTO and self.fam != "inet":
                raise _err("meta nfproto is only useful in the inet family", loc)
            if mk.key in (MetaKeyId.BRI_IIFNAME, MetaKeyId.BRI_OIFNAME, MetaKeyId.BRI_IIFPVID,
                          MetaKeyId.BRI_IIFVPROTO) and (
                    self.fam != "bridge" or (self.ctx.kernel and not KERNEL_BRIDGE_META)):
                # the kernel's nft_meta_bridge refuses these keys elsewhere (EOPNOTSUPP);
                # without that module (the reference kernel) the generic
                # nft_meta_get_init refuses them in bridge tables too.  The kernel only
                # sees the rule once nft evaluated all of it: a later evaluation error
                # ("inet vs. arp") wins, so the refusal waits for the end of the rule.
                if self.kernel_err is None:
                    self.kernel_err = _err("Could not process rule: Operation not supported", loc)
            return _Lhs(N.Meta(loc, dt, mk.len_bits, mk.byteorder, META_DUMP[mk.key]), dt, mk.len_bits)
        if isinstance(e, A.Ct):
            return self._ct(e)
        if isinstance(e, A.Exthdr):
            return self._exthdr(e)
        if isinstance(e, A.TcpOption):
            return self._tcpopt(e)
        if isinstance(e, A.IpOption):
            h = IP_OPTIONS.get(e.option)
            if h is None:
                raise _err(f"unknown ip option {e.option}", loc)
            self._need("ipv4-option", loc)
            return self._ext(loc, h.op, h.kind, h.fields.get(e.field) if e.field else None)
        if isinstance(e, A.SctpChunk):
            h = SCTP_CHUNKS.get(e.chunk)
            if h is None:
                raise _err(f"unknown sctp chunk {e.chunk}", loc)
            self._need("sctp-chunk", loc)
            return self._ext(loc, h.op, h.kind, h.fields.get(e.field) if e.field else None)
        if isinstance(e, A.RawPayload):
            return self._raw_payload(e)
        if isinstance(e, A.Concat):
            parts = [self._unshift(self._key_lhs(p)) for p in e.parts]
            tot = sum(((p.expr.len_bits + 31) // 32) * 32 for p in parts)
            c = N.Concat(loc, INTEGER, tot, BIG, tuple(p.expr for p in parts))
            lh = _Lhs(c, INTEGER, tot)
            lh.parts = parts  # type: ignore[attr-defined]
            return lh
        if isinstance(e, A.Binop):
            return self._binop_lhs(e)
        if isinstance(e, A.Rt):
            return self._rt(e)
        if isinstance(e, A.Fib):
            return self._fib(e)
        if isinstance(e, A.Socket):
            sk = SOCKET_KEYS.get(e.key)
            if sk is None:
                raise _err(f"unknown socket key {e.key}", loc)
            dt = DATATYPES[sk.dtype_name]
            lvl = f" level {e.level}" if e.key == "cgroupv2" else ""
            g = N.Generic(loc, dt, sk.len_bits, sk.byteorder, f"socket load {e.key}{lvl} => reg {{reg}}")
            # transparent/wildcard are one-bit values in nft (0-1)
            return _Lhs(g, dt, 1 if e.key in ("transparent", "wildcard") else sk.len_bits)
        if isinstance(e, A.Numgen):
            off = f" offset {e.offset}" if e.offset else ""
            g = N.Generic(loc, INTEGER, 32, HOST, f"numgen reg {{reg}} = {e.mode} mod {e.mod}{off}")
            return _Lhs(g, INTEGER, 32)
        if isinstance(e, A.Hash):
            return self._hash(e)
        if isinstance(e, A.Osf):
            if e.ttl is not None and e.ttl not in ("loose", "skip"):
                raise _err("invalid ttl option", _word_loc(loc, e.ttl))
            ttl = {"loose": 1, "skip": 2}.get(e.ttl or "", 0)
            dt = DATATYPES["string"]
            g = N.Osf(loc, dt, 128, HOST, ttl, 1 if e.key == "version" else 0)
            return _Lhs(g, dt, 128)
        if isinstance(e, A.Ipsec):
            if self.fam not in ("ip", "ip6", "inet"):
                # nft expr_evaluate_xfrm
                raise _err("ipsec expression is only valid in ip/ip6/inet tables", loc)
            key = e.key if e.family is None else f"{e.family} {e.key}"
            xk = XFRM_KEYS.get(key)
            if xk is None:
                raise _err(f"unknown ipsec key {key}", loc)
            dt = DATATYPES[xk.dtype_name]
            if e.spnum is not None and e.spnum > 255:
                wl = _word_loc(loc, "spnum")
                raise _err("value too large", _span_to(wl, len(f"spnum {e.spnum}")))
            d = 0 if e.direction == "in" else 1
            kname = {"ip daddr": "daddr4", "ip6 daddr": "daddr6", "ip saddr": "saddr4",
                     "ip6 saddr": "saddr6"}.get(key, key)
            g = N.Generic(loc, dt, xk.len_bits, xk.byteorder,
                          f"xfrm load {e.direction} {e.spnum or 0} {kname} => reg {{reg}}")
            return _Lhs(g, dt, xk.len_bits)
        if isinstance(e, (A.Symbol, A.Number)):
            # nft symbol_parse(): a value on the left has no datatype to be parsed with
            raise _err("No symbol type information", loc)
        if isinstance(e, A.MapExpr) and isinstance(e.key, (A.Symbol, A.Number)):
            # `dscp map { cs0 : 1 }` on the left: nft evaluates the map's key first, a
            # bare symbol (checked: `meta priority ip dscp map { … } udplite …`)
            raise _err("No symbol type information", e.key.loc)
        raise _err("invalid expression on the left-hand side", loc)

    def _ct(self, e: A.Ct) -> _Lhs:
        loc = e.loc
        # a ct set's target is the statement's (stmt); nft_ct_get_init refuses the event
        # key before it takes the reference (EOPNOTSUPP)
        if e.key != "event" and e is not getattr(self, "_ct_target", None):
            self._bridge_ct(loc)
        name = e.key if e.family is None else f"{e.family} {e.key}"
        ck = CT_KEYS.get(name)
        if ck is None:
            raise _err(f"unknown ct key {name}", loc)
        dt = DATATYPES.get(ck.dtype_name, INTEGER)
        bits = ck.len_bits
        if ck.dtype_name == "invalid":
            # ct saddr/daddr/proto-src/proto-dst take their type from the network context
            nh = self.pctx.get("nh")
            if ck.key in (CtKeyId.SRC, CtKeyId.DST):
                if nh == "ip":
                    dt, bits = DATATYPES["ipv4_addr"], 32
                elif nh == "ip6":
                    dt, bits = DATATYPES["ipv6_addr"], 128
                else:
                    raise _err(f'cannot determine ip protocol version, use "ip {e.key}" or '
                               f'"ip6 {e.key}" instead', loc)
            else:
                # nft ct_expr_update_type: proto-src/dst are typed only once the
                # transport protocol is known; else the value cannot be parsed
                if self.pctx.get("th") not in _L4_BY_NUMBER.values():
                    raise _err("Can't parse symbolic invalid expressions", loc)
                dt = DATATYPES["inet_service"]
        if e.family in ("ip", "ip6"):
            nh = self.pctx.get("nh")
            if nh in ("ip", "ip6") and nh != e.family:
                # `~` under the match that taught the network protocol (checked)
                learnt = self.pctx_loc.get("nh")
                raise EvalError(Diagnostic(loc, f"conflicting protocols specified: {nh} vs. {e.family}",
                                           secondary=(learnt,) if learnt is not None else ()))
        d = None if e.direction is None else (0 if e.direction == "original" else 1)
        return _Lhs(N.Ct(loc, dt, bits, ck.byteorder, CT_DUMP[ck.key], d), dt, bits)

    @staticmethod
    def _unshift(lh: _Lhs) -> _Lhs:
        """A sub-byte field in a concatenation: nft 1.0.6 shifts the register right
        (`bitwise reg 1 = ( reg 1 >> 0x00000002 )` after the mask) so the set holds the
        field's own value (`ip dscp . tcp dport { cs1 . 22 }`: element 0x08, checked)."""
        if not lh.shift or getattr(lh, "parts", None):
            return lh
        x = lh.expr
        amount = N.Value(x.loc, INTEGER, 32, HOST, lh.shift.to_bytes(4, "little"))
        shifted = N.Binop(x.loc, x.dtype, x.len_bits, x.byteorder, ">>", x, amount)
        return dataclasses.replace(lh, expr=shifted, shift=0)

    def _key_lhs(self, e: A.Expr) -> _Lhs:
        """A set/map key or concatenation part: ``ct saddr`` must name its family there
        (nft: the key's type must be known before the set is built)."""
        if isinstance(e, A.Ct) and e.family is None and e.key in ("saddr", "daddr"):
            raise _err("specify either ip or ip6 for address matching", e.loc)
        if isinstance(e, (A.Symbol, A.Number)):
            # nft expr_evaluate_concat: a part without a datatype (symbol_parse fails)
            raise _err("Can't parse symbolic invalid expressions", e.loc)
        return self._lhs(e)

    def _ext(self, loc, op: int, kind: int, f: Field | None, present: bool = False) -> _Lhs:
        if f is None or present:
            dt = DATATYPES["boolean"]
            e = N.Exthdr(loc, dt, 8, HOST, int(op), int(kind), 0, True)
            return _Lhs(e, dt, 1)
        dt = DATATYPES.get(f.dtype_name, INTEGER)
        if f.byte_aligned:
            return _Lhs(N.Exthdr(loc, dt, f.len_bits, BIG, int(op), int(kind), f.offset_bits), dt, f.len_bits)
        start = f.offset_bits // 8
        nbytes = (f.offset_bits + f.len_bits + 7) // 8 - start
        shift = nbytes * 8 - (f.offset_bits - start * 8) - f.len_bits
        load = N.Exthdr(loc, dt, nbytes * 8, BIG, int(op), int(kind), start * 8)
        mask = (((1 << f.len_bits) - 1) << shift).to_bytes(nbytes, "big")
        e = N.Binop(loc, dt, nbytes * 8, BIG, "&", load, N.Value(loc, dt, nbytes * 8, BIG, mask))
        return _Lhs(e, dt, f.len_bits, shift)

    def _exthdr(self, e: A.Exthdr) -> _Lhs:
        h = IPV6_EXTHDRS.get(e.hdr)
        if h is None:
            raise _err(f"unknown exthdr {e.hdr}", e.loc)
        self._need("ipv6-exthdr", e.loc)
        f = None
        if e.field is not None:
            if e.index is not None:
                f = indexed_field(h, e.field, e.index)
            else:
                f = h.fields.get(e.field)
                if f is None:
                    raise _err(f"unknown {e.hdr} field {e.field}", e.loc)
        lhs = self._ext(e.loc, h.op, h.kind, f)
        if e.hdr == "rt2" and e.field == "addr":
            # nft 1.0.6's rt2 template has no entry for addr (a NULL datatype): a symbol
            # on the right fails in symbol_parse() with "No symbol type information"
            lhs = dataclasses.replace(lhs, dtype=_NO_SYMBOL_TYPE)
        return lhs

    def _tcpopt(self, e: A.TcpOption) -> _Lhs:
        loc = e.loc
        self._need("tcpopt", loc)
        if e.raw is not None:
            kind, off, ln = e.raw
            f = Field("raw", off, ln)
            return self._ext(loc, ExthdrOp.TCPOPT, kind, f)
        if isinstance(e.option, int):
            kind = e.option
            if kind > 255:
                raise _err("value too large", _word_loc(loc, str(kind)))
            f = TCP_OPTION_GENERIC_FIELDS.get(e.field) if e.field else None
            return self._ext(loc, ExthdrOp.TCPOPT, kind, f)
        h = TCP_OPTIONS.get(e.option)
        if h is None:
            raise _err(f"unknown tcp option {e.option}", loc)
        f = h.fields.get(e.field) if e.field else None
        if e.field and f is None:
            raise _err(f"unknown tcp option field {e.field}", loc)
        return self._ext(loc, h.op, h.kind, f)

    def _raw_payload(self, e: A.RawPayload) -> _Lhs:
        loc = e.loc
        off = self._int_const(e.offset)
        ln = self._int_const(e.length)
        base = {"ll": Base.LL_HEADER, "nh": Base.NETWORK_HEADER, "th": Base.TRANSPORT_HEADER,
                "ih": Base.INNER_HEADER}.get(e.base)
        if base is None:
            raise _err(f"unknown raw payload base {e.base}", loc)
        f = Field("raw", off, ln)
        if base == Base.LL_HEADER and self.fam not in ("bridge",) and False:
            pass
        return self._field_lhs(loc, base, 0, f, "@" + e.base, "raw")

    def _int_const(self, e: A.Expr) -> int:
        if isinstance(e, A.Number):
            return e.value
        raise _err("expected a number", e.loc)

    def _rt(self, e: A.Rt) -> _Lhs:
        loc = e.loc
        # nft's parser takes `rt ip|ip6 KEY` for every key (rt_expr: RT nf_key_proto
        # rt_key) but the family only selects nexthop4/nexthop6: `rt ip6 mtu` is
        # `rt mtu` in any table family, and lists as such (checked on nft 1.0.6)
        name = e.key if e.family is None or e.key != "nexthop" else f"{e.family} {e.key}"
        rk = RT_KEYS.get(name)
        if rk is None:
            raise _err(f"unknown rt key {name}", loc)
        dt, bits, kname = DATATYPES.get(rk.dtype_name, INTEGER), rk.len_bits, name
        # nft rt_expr: the nexthop's family is the one written, else the network
        # protocol known; no dependency is added, a contradiction cannot match
        nh = self.fam if self.fam in ("ip", "ip6") else self.pctx.get("nh")
        if name == "nexthop":
            if nh == "ip":
                dt, bits, kname = DATATYPES["ipv4_addr"], 32, "ip nexthop"
            elif nh == "ip6":
                dt, bits, kname = DATATYPES["ipv6_addr"], 128, "ip6 nexthop"
            else:
                raise _err('cannot determine ip protocol version, use "ip nexthop" or "ip6 nexthop" instead', loc)
        elif kname == "ip nexthop" and self.fam == "ip6":
            dt = dataclasses.replace(dt, parse_hook=_no_address_family)
        elif kname in ("ip nexthop", "ip6 nexthop") and nh in ("ip", "ip6") and kname.split()[0] != nh:
            raise _err(f"{kname} will not match", loc)
        dump = {"classid": "classid", "ip nexthop": "nexthop4", "ip6 nexthop": "nexthop6",
                "mtu": "tcpmss", "ipsec": "ipsec"}[kname]
        g = N.Generic(loc, dt, bits, rk.byteorder, f"rt load {dump} => reg {{reg}}")
        return _Lhs(g, dt, bits)

    def _fib(self, e: A.Fib) -> _Lhs:
        loc = e.loc
        r = FIB_RESULTS.get(e.result)
        if r is None and e.result != "check":
            raise _err(f"unknown fib result {e.result}", loc)
        flags = " . ".join(e.flags)
        # nft's parser checks the fib flags (parser_bison.y fib_expr)
        fl = set(e.flags)
        floc = _span_to(_word_loc(loc, e.flags[0]) if e.flags else loc, len(flags))
        # in nft 1.0.6's order: an address first, then the exclusive pairs
        if not fl & {"saddr", "daddr"}:
            raise _err("fib: need either saddr or daddr", floc)
        if {"saddr", "daddr"} <= fl:
            raise _err("fib: saddr and daddr are mutually exclusive", floc)
        if {"iif", "oif"} <= fl:
            raise _err("fib: iif and oif are mutually exclusive", floc)
        if e.result == "check":
            dt, bits, res, present = DATATYPES["boolean"], 8, "oif", " present"
        else:
            dt, bits, res, present = DATATYPES[r.dtype_name], r.len_bits, e.result, ""
        g = N.Generic(loc, dt, bits, HOST, f"fib {flags} {res}{present} => reg {{reg}}")
        return _Lhs(g, dt, 1 if present else bits)

    def _hash(self, e: A.Hash) -> _Lhs:
        loc = e.loc
        off = f" offset {e.offset}" if e.offset else ""
        if e.kind == "symhash":
            g = N.Generic(loc, INTEGER, 32, HOST, f"hash reg {{reg}} = symhash() % mod {e.mod}{off}")
            return _Lhs(g, INTEGER, 32)
        sub = self._lhs(e.expr).expr
        seed = f"0x{e.seed:x}" if e.seed is not None else "0x0"
        g = N.Generic(loc, INTEGER, 32, HOST,
                      f"hash reg {{reg}} = jhash(reg {{sreg}}, {sub.nbytes}, {seed}) % mod {e.mod}{off}", sub,
                      e.seed)
        return _Lhs(g, INTEGER, 32)

    def _binop_lhs(self, e: A.Binop) -> _Lhs:
        inner = self._lhs(e.left)
        if e.op in ("<<", ">>"):
            amount = self._int_const(e.right)
            x = N.Binop(e.loc, inner.expr.dtype, inner.expr.len_bits, inner.expr.byteorder, e.op, inner.expr,
                        N.Value(e.right.loc, INTEGER, 32, HOST, amount.to_bytes(4, "little")))
            return _Lhs(x, inner.dtype, inner.vbits, inner.shift)
        v = self._const(e.right, inner)
        x = N.Binop(e.loc, inner.expr.dtype, inner.expr.len_bits, inner.expr.byteorder, e.op, inner.expr, v)
        return _Lhs(x, inner.dtype, inner.vbits, inner.shift, inner.proto, inner.field)

    # ------------------------------------------------------------ right-hand sides
    def _negative(self, e: A.Number, dt: Datatype, lhs: _Lhs | None) -> int | bytes:
        """A negative JSON integer (the text grammar has none).

        nft 1.0.6's JSON parser makes any integer a symbol ("-1"), which the datatype
        parses: a service or an address fails as the text would (measured: "Service
        out of range", "Could not resolve hostname: Name or service not known"); an
        integer type reads it with GMP, passes the range check (it is below the
        maximum) and keeps the magnitude: mpz_export_data writes the absolute value
        in words of the expression's length, most significant word first in network
        order, least significant first in host order, and the first word is what the
        register gets (``meta mark -1`` lists as 0x00000001, ``ip ttl -300`` as 1,
        ``meta mark -4294967296`` as 0x00000000)."""
        if dt.name == "inet_service" or any(b.name == "inet_service" for b in dt.chain()):
            raise EvalError("Service out of range")
        if dt.name == "inet_proto":
            raise EvalError("Protocol out of range")
        if dt.name in ("ipv4_addr", "ipv6_addr"):
            raise EvalError("Could not resolve hostname: Name or service not known")
        if dt.is_string():
            return e.text.encode()
        bits = (lhs.vbits if lhs is not None else 0) or dt.size_bits or 64
        if lhs is not None and (bits % 8 or lhs.shift):
            # a bit field: nft shifts and masks the signed value (two's complement:
            # ``ip version -4`` lists as 12), the magnitude is never taken
            return e.value & ((1 << bits) - 1)
        word = 8 * _bits_to_bytes(bits)
        mag = -e.value
        if mag >> word:
            big = lhs is not None and lhs.expr.byteorder is ByteOrder.BIG
            if big:
                while mag >> word:
                    mag >>= word
            else:
                mag &= (1 << word) - 1
        return mag

    def _parse_value(self, e: A.Expr, dt: Datatype, lhs: _Lhs | None = None) -> int | bytes:
        loc = e.loc
        try:
            if isinstance(e, A.Number):
                if e.value < 0:
                    return self._negative(e, dt, lhs)
                if dt.is_string():
                    return e.text.encode()
                if dt.key == "time_date":
                    # a number is seconds since the epoch (nft date_type_parse)
                    return e.value * 1_000_000_000
                if dt.name == "time":
                    return _time_ms(e.text, dt)
                if dt.name in ("inet_service", "inet_proto"):
                    return dt.parse(e.text)
                if dt.name == "day" and e.value > 6:
                    raise EvalError(f"Value {e.value} exceeds valid range 0-6")
                if dt.name == "ct_label":
                    if e.value >= 128:
                        raise EvalError(f"{e.text}: bit {e.value} out of range (128 max)")
                    return 1 << e.value
                if dt.name in ("ipv4_addr", "ipv6_addr", "ether_addr") and False:
                    pass
                bits = lhs.vbits if lhs is not None else dt.size_bits
                if (bits or (lhs is not None and lhs.field == "raw")) and e.value >= 1 << bits:
                    raise EvalError(f"Value {e.value} exceeds valid range 0-{(1 << bits) - 1}")
                return e.value
            if isinstance(e, A.String):
                if e.value == "" and (dt.is_string() or dt.name == "iface_index"):
                    raise EvalError("Empty string is not allowed")
                if dt.name == "iface_index":
                    return self._ifindex(e.value, loc)
                if dt.is_string():
                    raw = e.value.encode("utf-8", "surrogateescape")
                    return raw
                return self._symbol(e.value, dt)
            if isinstance(e, A.Symbol):
                if dt.name == "iface_index":
                    try:
                        return int(e.name, 0)
                    except ValueError:
                        return self._ifindex(e.name, loc)
                v = self._symbol(e.name, dt)
                bits = lhs.vbits if lhs is not None else dt.size_bits
                if isinstance(v, int) and bits and v >= 1 << bits \
                        and (e.name.isdigit() or e.name[:2] in ("0x", "0X")):
                    # a number past 64 bits is a symbol (the scanner's strtoull overflowed):
                    # the Number branch's range check, as nft 1.0.6 words it
                    raise EvalError(f"Value {v} exceeds valid range 0-{(1 << bits) - 1}")
                return v
            if isinstance(e, A.ListExpr) and _is_bitmask(dt):
                out = 0
                for it in e.items:
                    out |= int(self._parse_value(it, dt, lhs))
                return out
            if isinstance(e, A.Binop) and e.op in ("|",) and _is_bitmask(dt):
                return int(self._parse_value(e.left, dt, lhs)) | int(self._parse_value(e.right, dt, lhs))
            if isinstance(e, A.Binop) and e.op in ("&", "|", "^") and not dt.is_string():
                # nft constant_binop_simplify: `meta mark 0x10 | 0x04` compares 0x14
                a = self._parse_value(e.left, dt, lhs)
                b = self._parse_value(e.right, dt, lhs)
                if isinstance(a, int) and isinstance(b, int):
                    return {"&": a & b, "|": a | b, "^": a ^ b}[e.op]
        except EvalError as exc:
            if exc.diagnostics and exc.diagnostics[0].location is None:
                raise _err(exc.diagnostics[0].message, loc) from None
            raise
        raise _err("expected a constant value", loc)

    def _symbol(self, text: str, dt: Datatype) -> int | bytes:
        """``dt.parse`` plus what nft resolves from system files and the clock."""
        name = dt.name if dt.key != "time_date" else "time_date"
        if name in _FILE_SYMBOLS:
            table = _file_symbols(name)
            if text in table:
                return table[text]
            if name == "classid":
                v = _classid(text)
                if v is not None:
                    return v
        if name == "inet_proto" and text in _PROTO_EXTRA:
            return _PROTO_EXTRA[text]
        if name == "cgroupsv2":
            return _cgroupv2_id(text)
        if name == "time_date":
            return _date_ns(text, self._tz(), dt)
        if name == "hour":
            return (int(dt.parse(text)) - self._tz()) % 86400
        if dt.parse_hook is _no_address_family:
            return _no_address_family(text)
        if name == "ipv4_addr":
            # fast path: a canonical dotted quad (what ipaddress.IPv4Address accepts:
            # four decimal octets 0-255 without leading zeros) is its own value, with no
            # second parse to rule out an IPv6 literal; anything else takes the full path
            if _IPV4_RE.fullmatch(text) is not None:
                a, b, c, d = text.split(".")
                return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)
        elif name == "ipv6_addr" and ":" in text:
            return dt.parse(text)       # an IPv4 literal has no colon: no family check needed
        if name in ("ipv4_addr", "ipv6_addr") and _other_family_literal(name, text):
            # getaddrinfo() with the other address family: EAI_ADDRFAMILY
            raise EvalError("Could not resolve hostname: Address family for hostname not supported")
        return dt.parse(text)

    def _tz(self) -> int:
        if self.ctx.tz_offset is not None:
            return self.ctx.tz_offset
        import time
        return -time.timezone if not time.localtime().tm_isdst else -time.altzone

    def _ifindex(self, name: str, loc) -> int:
        fn = self.ctx.ifindex or _default_ifindex
        idx = fn(name)
        if idx is None:
            raise _err(f"Interface does not exist", loc)
        return idx

    def _const(self, e: A.Expr, lhs: _Lhs) -> N.Value:
        """A constant compared with ``lhs``: parsed with its type, shifted, encoded."""
        x = lhs.expr
        if type(e) is A.Symbol and lhs.dtype.name == "ipv4_addr" and not lhs.shift \
                and _IPV4_RE.fullmatch(e.name) is not None and x.len_bits == 32 \
                and lhs.dtype.parse_hook is not _no_address_family:
            # fast path (big sets, ACLs): what _parse_value -> _symbol below returns for a
            # dotted quad, encoded the same way
            order = x.byteorder if x.byteorder is not ByteOrder.INVALID else HOST
            return N.Value(e.loc, lhs.dtype, 32, order,
                           bytes(map(int, e.name.split("."))) if order is not HOST
                           else bytes(map(int, reversed(e.name.split(".")))))
        if isinstance(e, A.AsteriskString):
            raw = e.value.encode("utf-8", "surrogateescape")
            return N.Value(e.loc, lhs.dtype, len(raw) * 8, x.byteorder, raw)
        if isinstance(e, A.String) and e.value.endswith("*") and not e.value.endswith("\\*") \
                and lhs.dtype.is_string():
            raw = e.value[:-1].encode("utf-8", "surrogateescape")
            return N.Value(e.loc, lhs.dtype, len(raw) * 8, x.byteorder, raw)
        if isinstance(e, A.String) and e.value.endswith("\\*") and lhs.dtype.is_string():
            e = A.String(e.loc, e.value[:-2] + "*")
        v = self._parse_value(e, lhs.dtype, lhs)
        if isinstance(v, int):
            v <<= lhs.shift
        elif len(v) > x.nbytes:
            raise _err(f"String exceeds maximum length of {x.nbytes}", e.loc)
        order = x.byteorder if x.byteorder is not ByteOrder.INVALID else HOST
        return N.Value(e.loc, lhs.dtype, x.len_bits, order, encode(v, x.nbytes, order))

    def _concat_const(self, e: A.Expr, lhs: _Lhs) -> N.TExpr:
        parts: list[_Lhs] = lhs.parts  # type: ignore[attr-defined]
        items = e.parts if isinstance(e, A.Concat) else (e,)
        if len(items) != len(parts):
            raise _err("datatype mismatch, expected concatenation of "
                       f"({', '.join(p.dtype.desc for p in parts)}), expression has type "
                       f"{'concatenation' if isinstance(e, A.Concat) else 'a single value'}", e.loc)
        vals = [self._elem_key(it, p) for it, p in zip(items, parts)]
        return N.Concat(e.loc, INTEGER, lhs.expr.len_bits, BIG, tuple(vals))

    def _elem_key(self, e: A.Expr, lhs: _Lhs) -> N.TExpr:
        """A set element key or relational RHS part: Value, Range (ranges and prefixes)."""
        if isinstance(e, A.Range):
            lo, hi = self._const(e.low, lhs), self._const(e.high, lhs)
            if _num(lo) > _num(hi):
                raise _err("Range has zero or negative size", e.loc)
            return N.Range(e.loc, lo.dtype, lo.len_bits, lo.byteorder, lo, hi)
        if isinstance(e, A.Prefix):
            base = self._const(e.expr, lhs)
            bits = lhs.expr.len_bits
            if e.length > bits:
                raise _err(f"Prefix length {e.length} is invalid for type of {bits} bits width", e.loc)
            n = _num(base)
            order = base.byteorder
            mask = ((1 << bits) - 1) ^ ((1 << (bits - e.length)) - 1)
            lo, hi = n & mask, (n & mask) | (((1 << bits) - 1) ^ mask)
            nb, bo, dt, loc = base.nbytes, "little" if order is HOST else "big", base.dtype, e.loc
            r = N.Range(loc, dt, bits, order, N.Value(loc, dt, bits, order, lo.to_bytes(nb, bo)),
                        N.Value(loc, dt, bits, order, hi.to_bytes(nb, bo)))
            return _PrefixRange(r, e.length)  # type: ignore[return-value]
        return self._const(e, lhs)

    # ------------------------------------------------------------ sets
    def _anon_set(self, e: A.SetExpr, lhs: _Lhs, is_map: bool = False,
                  data_lhs: _Lhs | None = None, verdict_map: bool = False,
                  objmap: bool = False) -> N.AnonSet:
        elems: list[N.Elem] = []
        concat = isinstance(lhs.expr, N.Concat)
        for it in _flatten_set(e.elements):
            data = None
            key_ast = it
            if isinstance(it, A.Elem):
                key_ast = it.key
            if isinstance(key_ast, A.Mapping):
                if not is_map:
                    raise _err("invalid set element: a map element in a set", key_ast.loc)
                data_ast = key_ast.value
                key_ast = key_ast.key
                if isinstance(key_ast, A.Elem):
                    _anon_elem_check(key_ast, True)
                    key_ast = key_ast.key
                if verdict_map:
                    data = self._verdict(data_ast)
                elif data_lhs is not None:
                    data = self._elem_key(data_ast, data_lhs) if not isinstance(data_lhs.expr, N.Concat) \
                        else self._concat_const(data_ast, data_lhs)
            elif isinstance(it, A.Elem) and concat and not is_map:
                _anon_elem_check(it, False)
            elif is_map:
                raise _err("invalid map element: a set element in a map", key_ast.loc)
            if isinstance(key_ast, A.Wildcard):
                # the catch-all element (NFT_SET_ELEM_CATCHALL) has no key
                elems.append(N.Elem(None, _norm(data) if data is not None else None, it.loc))
                continue
            key = self._concat_const(key_ast, lhs) if concat else self._elem_key(key_ast, lhs)
            if isinstance(key, N.Value) and key.len_bits < lhs.expr.len_bits and lhs.dtype.is_string():
                key = _wildcard_range(key, lhs.expr)
            elif concat and isinstance(key, N.Concat):
                # a wildcard string inside a concatenation is a range of its part too:
                # the set becomes a concatenated interval set (nft 1.0.6:
                # `iifname . tcp dport { "veth*" . 22 }` is flags 0x87, "veth\0.." -
                # "veth\xff.." . 22-22)
                key = _concat_wildcards(key, lhs)
            elems.append(N.Elem(_norm(key), _norm(data) if data is not None else None, it.loc))
        interval = any(el.key is not None and _has_range(el.key) for el in elems)
        if is_map and interval and not concat:
            _check_map_overlap(elems)
        x = lhs.expr
        ddt = None
        dbits = 0
        if verdict_map:
            ddt, dbits = VERDICT, 0
        elif data_lhs is not None:
            ddt, dbits = data_lhs.dtype, data_lhs.expr.len_bits
        return N.AnonSet(e.loc, lhs.dtype, x.len_bits, x.byteorder, tuple(elems), interval, is_map, concat,
                         ddt, dbits)

    def _verdict(self, v: A.Expr) -> N.Verdict:
        if not isinstance(v, A.Verdict):
            raise _err("datatype mismatch, expected netfilter verdict", v.loc)
        chain = None
        if v.target is not None:
            t = v.target
            chain = t.name if isinstance(t, A.Symbol) else getattr(t, "value", None)
            if chain is None:
                raise _err("invalid chain name", t.loc)
            if self.ctx.chains is not None and chain not in self.ctx.chains:
                raise _err(f"Could not process rule: No such file or directory", t.loc)
        return N.Verdict(v.loc, VERDICT, 0, HOST, v.kind, chain)

    def _setref(self, e: A.SetRef, lhs: _Lhs, want_map: bool | None,
                left_loc: Location | None = None) -> N.SetRef:
        info = self.ctx.sets.get(e.name)
        if info is None:
            # nft's set_not_found: ENOENT, with the closest set name in the cache
            raise _err("No such file or directory" + self._set_hint(e.name), e.loc)
        x = lhs.expr
        keylen = info.key_len_bits
        if keylen != x.len_bits and not isinstance(x, N.Binop):
            # nft names the expression's type as expected and the set's as found; a
            # match marks its left side with ~ (expr_binary_error in expr_evaluate_relational)
            raise EvalError(Diagnostic(e.loc, f"datatype mismatch, expected {lhs.dtype.desc}, expression "
                                       f"has type {info.key[0][0].desc}",
                                       secondary=(left_loc,) if left_loc is not None else ()))
        return N.SetRef(e.loc, lhs.dtype, x.len_bits, x.byteorder, e.name, info.is_map)

    def _set_hint(self, name: str) -> str:
        cands = self.ctx.set_hints
        if cands is None:
            cands = tuple((self.fam, self.ctx.table, n) for n in self.ctx.sets)
        best = misspell_closest(name, [c[2] for c in cands])
        if best is None:
            return ""
        fam, table, sname = cands[best]
        return f"; did you mean set \u2018{sname}\u2019 in table {fam} \u2018{table}\u2019?"

    # ------------------------------------------------------------ statements
    def match(self, s: A.Match) -> None:
        if isinstance(s.left, A.Fib) and isinstance(s.right, A.Symbol) and s.right.name in ("exists", "missing") \
                and s.left.result in ("oif", "oifname"):
            # `fib daddr oif exists`: nft's fib presence test (NFTA_FIB_F_PRESENT)
            s = A.Match(s.loc, A.Fib(s.left.loc, s.left.flags, "check"), s.op, s.right)
        try:
            lhs = self._lhs(s.left)
        except EvalError as exc:
            d = exc.diagnostics[0]
            if d.message == "Can't parse symbolic invalid expressions" and isinstance(s.left, A.Ct):
                # nft fails while parsing the value against the untyped key
                raise _err(d.message, _value_loc(s.right)) from None
            if d.message.startswith("cannot determine ip protocol version") and isinstance(s.left, A.Ct):
                # nft goes on to parse the value with the unknown type and says so too,
                # under the address alone (`1.2.3.0` of `1.2.3.0/24`); in an arp table
                # only that second message (checked on nft 1.0.6)
                from pkttables.errors import Diagnostic
                second = Diagnostic(_value_loc(s.right), "Can't parse symbolic invalid expressions")
                if self.fam == "arp":
                    raise EvalError([second]) from None
                raise EvalError([d, second]) from None
            raise
        op = _OPS.get(s.op)
        if op is None:
            raise _err(f"unknown operator {s.op}", s.loc)
        if isinstance(s.left, (A.Meta, A.Ct)) and s.left.key == "secmark" and not isinstance(s.right, A.SetRef):
            # nft: the secmark key is a kernel object id, never compared with a literal
            from pkttables.errors import Diagnostic
            raise EvalError(Diagnostic(s.right.loc, "Cannot be used with right hand side constant value",
                                       secondary=(s.left.loc,) if s.left.loc else ()))
        left = lhs.expr
        r = s.right
        if s.op == "!":
            # nft 1.0.6 expr_evaluate_relational (OP_NEG): the error marks the left side
            # and underlines the value
            from pkttables.errors import Diagnostic
            sec = (s.right.loc,) if s.right.loc else ()
            if isinstance(s.left, A.Binop):
                raise EvalError(Diagnostic(s.left.loc, "cannot combine negation with binary expression",
                                           secondary=sec))
            if not _is_flag_type(lhs.dtype):
                raise EvalError(Diagnostic(s.left.loc, "negation can only be used with singleton bitmask values",
                                           secondary=sec))
        # `x & m == v` with an xor/or folded as nft does (evaluate.c binop_transfer).
        left, fold_xor = _fold_lhs(left)
        if isinstance(r, A.SetExpr) and len(r.elements) == 1 and op in ("eq", "neq") \
                and not isinstance(lhs.expr, N.Concat) \
                and not isinstance(_elem_key_ast(r.elements[0]), (A.Mapping, A.Concat, A.SetExpr, A.Wildcard)):
            # nft 1.0.6 (expr_evaluate_relational) turns an anonymous set of one element
            # into that element with an exact ==/!= (no flag test): `tcp dport != { 22 }`
            # is `cmp neq`, `tcp flags { syn }` is `cmp eq 0x02`; the element's options
            # and statements go with the set (`{ 1.2.3.4 counter }` is `cmp eq`).
            r = _elem_key_ast(r.elements[0])
            s = A.Match(s.loc, s.left, "!" if s.op == "!" else "!=" if op == "neq" else "==", r)
        if isinstance(r, A.SetExpr):
            if op not in ("eq", "neq"):
                raise _err("invalid operator for set lookup", s.loc)
            right: N.TExpr = self._anon_set(r, lhs)
            right = _xor_set(right, fold_xor)
        elif isinstance(r, A.SetRef):
            right = self._setref(r, lhs, False, s.left.loc)
        elif isinstance(lhs.expr, N.Concat):
            right = _norm(self._concat_const(r, lhs))
        elif isinstance(r, A.Range):
            right = _norm(self._elem_key(r, lhs))
        elif isinstance(r, A.Prefix):
            pr = self._elem_key(r, lhs)
            assert isinstance(pr, _PrefixRange)
            plen, bits = pr.plen, left.len_bits
            order = pr.range.low.byteorder
            if plen % 8 == 0 and order is BIG and plen and isinstance(left, (N.Payload, N.Ct, N.Exthdr,
                                                                                 N.Meta, N.Generic)):
                # nft 1.0.6 compares only the prefix bytes (and loads only them from a
                # header: payload_expr_trim)
                if isinstance(left, N.Payload):
                    left = N.Payload(left.loc, left.dtype, plen, BIG, left.base, left.offset_bits,
                                     left.proto, left.field)
                low = pr.range.low
                right = N.Value(low.loc, low.dtype, plen, BIG, low.data[: plen // 8])
            else:
                mask = ((1 << bits) - 1) ^ ((1 << (bits - plen)) - 1)
                mb = encode(mask, left.nbytes, order)
                left = N.Binop(s.loc, left.dtype, left.len_bits, left.byteorder, "&", left,
                               N.Value(s.loc, left.dtype, left.len_bits, order, mb))
                right = pr.range.low
        elif isinstance(r, A.Binop) and r.op == "/" and _is_bitmask(lhs.dtype):
            value = self._const(r.left, lhs)
            mask = self._const(r.right, lhs)
            left = N.Binop(s.loc, left.dtype, left.len_bits, left.byteorder, "&", left, mask)
            right = value
        else:
            right = self._const(r, lhs)
            if fold_xor is not None:
                right = _xor_value(right, fold_xor)
            # OP_IMPLICIT on a bitmask: a flag test, `x & v != 0` (nft flagcmp).
            if s.op in ("implicit", "!") and _is_flag_type(lhs.dtype) and any(right.data) and \
                    isinstance(left, (N.Payload, N.Meta, N.Ct, N.Exthdr)):
                # `! v` on a bitmask (nft OP_NEG): none of the flags, `x & v == 0`
                left = N.Binop(s.loc, left.dtype, left.len_bits, left.byteorder, "&", left, right)
                right = N.Value(s.loc, right.dtype, right.len_bits, right.byteorder, bytes(len(right.data)))
                op = "neq" if s.op == "implicit" else "eq"
            elif isinstance(left, N.Exthdr) and left.present and isinstance(r, A.Symbol) \
                    and r.name in ("exists", "missing"):
                right = N.Value(r.loc, right.dtype, 8, HOST, bytes([1 if r.name == "exists" else 0]))
        m = N.Match(s.loc, left, op, right)
        self.out.append(m)
        if self._redundant(m):
            # dropped once a header field relies on it (nft payload_dependency_kill)
            self.pctx["_redundant"] = m  # type: ignore[assignment]
        self._learn(m)

    def _redundant(self, m: N.Match) -> bool:
        """``meta protocol ip`` in an ip table says what the table already says; nft
        1.0.6 drops it (the family fixed the network protocol)."""
        if self.fam not in ("ip", "ip6") or m.op != "eq" or not isinstance(m.right, N.Value):
            return False
        if isinstance(m.left, N.Meta) and m.left.key == "protocol":
            v = int.from_bytes(m.right.data, "big")
            return _NET_BY_ETHERTYPE.get(v) == self.fam
        return False

    def _bridge_ct(self, loc) -> None:
        """A ct user in a bridge table: nf_ct_netns_get(NFPROTO_BRIDGE) fails with
        EPROTO on a kernel without nf_conntrack_bridge (KERNEL_BRIDGE_CONNTRACK), at the
        first ct expression or statement of the rule, once nft evaluated all of it."""
        if self.fam == "bridge" and self.ctx.kernel and not KERNEL_BRIDGE_CONNTRACK and self.kernel_err is None:
            self.kernel_err = _err("Could not process rule: Protocol error", loc)
            self.kernel_err.bridge_ct = True

    def stmt(self, s: A.Stmt) -> None:
        if isinstance(s, A.Reject) and getattr(self.kernel_err, "bridge_ct", False):
            # nf_tables_newrule looks every expression type up before any init: the
            # reference kernel has no nft_reject_bridge (ENOENT, not modelled: accepted)
            self.kernel_err = None
        self._ct_target = s.target if isinstance(s, A.SetStmt) else None
        if isinstance(s, A.Connlimit) or isinstance(s, A.SetStmt) and isinstance(s.target, A.Ct) and (
                s.target.key not in ("helper", "timeout", "expectation")     # objref: no ct reference
                and not (isinstance(s.value, A.Numgen) and s.value.mod == 0)):  # nft_ng_inc_init: ERANGE first
            self._bridge_ct(s.loc)
        if isinstance(s, A.Match):
            self.match(s)
        elif isinstance(s, A.VerdictStmt):
            self.out.append(N.VerdictStmt(s.loc, self._verdict(s.verdict)))
        elif isinstance(s, A.VmapStmt):
            lhs = self._lhs(s.key)
            if isinstance(s.mapping, A.SetExpr):
                mp: N.TExpr = self._anon_set(s.mapping, lhs, is_map=True, verdict_map=True)
            elif isinstance(s.mapping, A.SetRef):
                mp = self._setref(s.mapping, lhs, True)
            else:
                raise _err("expected a map", s.mapping.loc)
            self.out.append(N.VmapStmt(s.loc, lhs.expr, mp))
        elif isinstance(s, A.Counter):
            self.out.append(N.Plain(s.loc, (f"counter pkts {s.packets or 0} bytes {s.bytes or 0}",)))
        elif isinstance(s, A.SetStmt):
            self._set_stmt(s)
        else:
            from ._stmts import other_stmt
            other_stmt(self, s)

    def _set_stmt(self, s: A.SetStmt) -> None:
        t = s.target
        # stateful objects assigned by name: ct helper/timeout/expectation, secmark
        # (nft: these keys are objref statements, not ct/meta set)
        kind = None
        if isinstance(t, A.Ct) and t.key in ("helper", "timeout", "expectation") and t.direction is None:
            kind = f"ct {t.key}"
        elif isinstance(t, A.Meta) and t.key == "secmark" and _names_object(s.value):
            kind = "secmark"
        if kind is not None:
            from ._stmts import objref
            self.out.append(objref(self, kind, s.value, s.loc))
            return
        lhs = self._lhs(s.target)
        value = self._value_expr(s.value, lhs)
        target = lhs.expr
        if isinstance(value, N.Map):
            _check_map_payload_set(s, lhs, value)
        if not isinstance(value, (N.Value, N.Map)):
            _check_stmt_arg(s, lhs, value)
        if not isinstance(value, (N.Value, N.Map)) and value.byteorder is HOST \
                and target.byteorder is BIG and value.nbytes > 1:
            # a host-endian value stored into a header: nft converts it first
            value = N.Byteorder(value.loc, value.dtype, value.len_bits, BIG, value)
        if isinstance(target, N.Binop) and isinstance(value, N.Value):
            # an unaligned field: the containing bytes are rewritten (see linearize)
            value = N.Value(value.loc, value.dtype, target.len_bits, BIG, value.data)
        self.out.append(N.SetStmt(s.loc, target, value))

    def _value_expr(self, e: A.Expr, lhs: _Lhs) -> N.TExpr:
        """A statement argument: a constant, another expression, or a map lookup."""
        if isinstance(e, A.MapExpr):
            key = self._key_lhs(e.key)
            if isinstance(e.mapping, A.SetExpr):
                mp: N.TExpr = self._anon_set(e.mapping, key, is_map=True, data_lhs=lhs)
            elif isinstance(e.mapping, A.SetRef):
                mp = self._setref(e.mapping, key, True)
            else:
                raise _err("expected a map", e.mapping.loc)
            x = lhs.expr
            return N.Map(e.loc, lhs.dtype, x.len_bits, x.byteorder, key.expr, mp)
        if isinstance(e, (A.Symbol, A.Number, A.String, A.ListExpr)):
            return self._const(e, lhs)
        if isinstance(e, A.Binop) and isinstance(e.left, (A.Symbol, A.Number)) \
                and isinstance(e.right, (A.Symbol, A.Number)) and not _is_bitmask(lhs.dtype):
            # constant folding (nft constant_binop_simplify)
            a, b = self._const(e.left, lhs), self._const(e.right, lhs)
            x, y = _num(a), _num(b)
            r = {"&": x & y, "|": x | y, "^": x ^ y, "<<": x << y, ">>": x >> y}[e.op]
            r &= (1 << a.len_bits) - 1
            return N.Value(e.loc, a.dtype, a.len_bits, a.byteorder, encode(r, a.nbytes, a.byteorder))
        if isinstance(e, A.Binop) and _is_bitmask(lhs.dtype) and e.op == "|" and \
                isinstance(e.left, (A.Symbol, A.Number, A.Binop)):
            return self._const(e, lhs)
        return self._lhs(e).expr


# headers whose checksum a payload write updates (nft: proto_desc.checksum_key)
_CSUM_PROTOS = frozenset(("ip", "tcp", "udp", "udplite", "icmp", "icmpv6", "igmp"))


def _check_map_payload_set(s: A.SetStmt, lhs: _Lhs, value: N.Map) -> None:
    """nft 1.0.6 stmt_evaluate_payload on a map value: a field that is not byte
    aligned, or whose bytes do not fill the 16-bit words of a header checksum, is
    written as ``(load & ~mask) ^ (value << shift)``, the shift counted as nft does
    (an odd length at an even offset takes the next byte: +8; at an odd offset the
    previous one).  A map cannot be an operand of that binop: nft refuses the rule.
    With a shift, a concatenated key fails the ``<<`` (the map marked, the field ~);
    a plain key is first range-checked against the zero-length shift constant
    ("Value N exceeds valid range 0-0"); without a shift the ``^`` fails."""
    t = lhs.expr
    p = t.left if isinstance(t, N.Binop) else t
    if not isinstance(p, N.Payload):
        return
    off, nbytes, shift = p.offset_bits // 8, p.nbytes, lhs.shift
    adjust = isinstance(t, N.Binop)
    if p.proto in _CSUM_PROTOS and nbytes % 2:
        adjust = True
        if off % 2 == 0:
            shift += 8
    if not adjust:
        return
    from pkttables.errors import Diagnostic
    if shift and isinstance(value.key, N.Concat):
        raise EvalError(Diagnostic(s.value.loc, "Binary operation (<<) is undefined for map expressions",
                                   secondary=(s.target.loc,)))
    if shift:
        raise _err(f"Value {shift} exceeds valid range 0-0", s.target.loc)
    raise _err("Binary operation (^) is undefined for map expressions", s.target.loc)


def _check_stmt_arg(s: A.SetStmt, want: _Lhs, have: N.TExpr) -> None:
    """nft 1.0.6 __stmt_evaluate_arg: an expression assigned by meta/ct/payload/exthdr set
    must have the target's type; a plain integer header field must also have its length
    (a binop or another integer expression passes).  nft marks the statement with ~ and
    the argument with ^ (stmt_binary_error)."""
    from pkttables.errors import Diagnostic
    wdt, hdt = want.dtype, have.dtype
    base = wdt.base() or wdt
    msg = None
    if isinstance(have, N.Payload) and hdt.name == "integer" and (
            base.name != "integer" or have.len_bits != want.expr.len_bits):
        msg = (f"datatype mismatch: expected {wdt.desc}, expression has type {hdt.desc} "
               f"with length {have.len_bits}")
    elif hdt.name != "integer" and hdt.name != wdt.name:
        msg = f"datatype mismatch: expected {wdt.desc}, expression has type {hdt.desc}"
    if msg is not None:
        loc = s.value.loc
        raise EvalError(Diagnostic(loc, msg, secondary=(s.loc,) if s.loc else ()))


#: The reference kernel (Linux 6.18 of the development and CI machines) is built without
#: CONFIG_NFT_BRIDGE_META: `meta ibrname/obrname/ibrpvid/ibrvproto` are refused in bridge
#: tables with EOPNOTSUPP (measured, tests/kernel/test_diff_handwritten.py).  Set True to
#: model a kernel that has nft_meta_bridge.
KERNEL_BRIDGE_META = False

#: The reference kernel is built without CONFIG_NF_CONNTRACK_BRIDGE (a host property:
#: Debian's kernels have the module and load it on demand): every ct expression, ct set
#: statement and ``ct count`` in a bridge table is refused with EPROTO (``Could not
#: process rule: Protocol error`` under the ct expression or statement; ``notrack`` is
#: accepted; measured, tests/kernel/test_diff_needsct_family.py).  Set True to model a
#: kernel with bridge conntrack.
KERNEL_BRIDGE_CONNTRACK = False


class _PrefixRange:
    """A prefix seen as the range it covers (interval sets) and as a mask (relations)."""
    __slots__ = ("range", "plen")

    def __init__(self, r: N.Range, plen: int):
        self.range = r
        self.plen = plen


# Names nft resolves from iproute2's files (rtnl_*_a2n) and its own tables.
_FILE_SYMBOLS = {"devgroup": "/etc/iproute2/group", "realm": "/etc/iproute2/rt_realms",
                 "classid": None}
_FILE_CACHE: dict[str, dict[str, int]] = {}
# protocol keywords nft's scanner accepts where getprotobyname() knows another name
_PROTO_EXTRA = {"comp": 108, "icmpv6": 58, "mh": 135, "ipv6-mh": 135}


def _file_symbols(name: str) -> dict[str, int]:
    if name not in _FILE_CACHE:
        out: dict[str, int] = {}
        if name == "classid":
            out = {"root": 0xFFFFFFFF, "none": 0}
        else:
            try:
                with open(_FILE_SYMBOLS[name]) as f:
                    for line in f:
                        parts = line.split("#", 1)[0].split()
                        if len(parts) >= 2:
                            try:
                                out.setdefault(parts[1], int(parts[0], 0))
                            except ValueError:
                                pass
            except OSError:
                pass
        _FILE_CACHE[name] = out
    return _FILE_CACHE[name]


def _strtoull(text: str, base: int) -> int:
    """C ``strtoull(text, NULL, base)`` without its error: the leading digits, 0 when
    there are none (base 0: ``0x`` hex, a leading ``0`` octal, else decimal)."""
    t = text.strip()
    if base == 0:
        if t[:2].lower() == "0x":
            base, t = 16, t[2:]
        elif t.startswith("0"):
            base = 8
        else:
            base = 10
    elif base == 16 and t[:2].lower() == "0x":
        t = t[2:]
    digits = "0123456789abcdef"[:base]
    n = 0
    for ch in t.lower():
        if ch not in digits:
            break
        n += 1
    return int(t[:n], base) if n else 0


def _classid(text: str) -> int | None:
    """nft 1.0.6 ``tchandle_type_parse``: ``MAJOR:MINOR`` in hex, anything else through
    ``strtoull(text, NULL, 0)`` with no check, so a word is 0 (`meta priority abc` is
    `meta priority none`, checked); only a value past 64 bits fails (ERANGE)."""
    if ":" in text:
        major, _, minor = text.partition(":")
        for part in (major, minor):
            if _strtoull(part, 16) >= 1 << 64:
                return None
        return ((_strtoull(major, 16) << 16) | _strtoull(minor, 16)) & 0xFFFFFFFF
    v = _strtoull(text, 0)
    return None if v >= 1 << 64 else v & 0xFFFFFFFF


def _time_ms(text: str, dt: Datatype) -> int:
    return int(dt.parse(text))


def _date_ns(text: str, tz: int, dt: Datatype) -> int:
    """``meta time "2019-06-21 17:00:00"``: local time to ns since the epoch."""
    import datetime
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            d = datetime.datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        try:
            return int(text) * 1_000_000_000
        except ValueError:
            raise EvalError("Cannot parse date") from None
    epoch = d.replace(tzinfo=datetime.timezone.utc).timestamp() - tz
    return int(epoch) * 1_000_000_000


def _string_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: edits, with adjacent transpositions."""
    la, lb = len(a), len(b)
    d = [[0] * (lb + 1) for _ in range(la + 1)]
    for i in range(la + 1):
        d[i][0] = i
    for j in range(lb + 1):
        d[0][j] = j
    for i in range(1, la + 1):
        for j in range(1, lb + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + cost)
    return d[la][lb]


def misspell_closest(name: str, candidates: list[str]) -> int | None:
    """Index of the candidate nft's misspell hint picks (``src/misspell.c``): within a
    threshold of about a third of the longer length, the first one at the smallest
    distance; None when none is close."""
    best, best_d = None, None
    for i, c in enumerate(candidates):
        lmax, lmin = max(len(name), len(c)), min(len(name), len(c))
        if lmax <= 1:
            continue
        threshold = max(-(-lmax // 3), 1) if lmax - lmin <= 1 else -(-(lmax + 2) // 3)
        dist = _string_distance(name, c)
        if dist <= threshold and (best_d is None or dist < best_d):
            best, best_d = i, dist
    return best


def _big(v: N.Value) -> int:
    return int.from_bytes(v.data[::-1] if v.byteorder is HOST else v.data, "big")


def _check_map_overlap(elems: list[N.Elem]) -> None:
    """nft refuses interval maps whose ranges overlap (a key would map to two values):
    sorted by start, the element that starts inside its predecessor is the error."""
    spans = []
    for el in elems:
        k = el.key
        d = el.data
        dk = (d.kind, d.chain) if isinstance(d, N.Verdict) else getattr(d, "data", None)
        if isinstance(k, N.Range):
            spans.append((_big(k.low), _big(k.high), k.loc, dk))
        elif isinstance(k, N.Value):
            spans.append((_big(k), _big(k), k.loc, dk))
    # nft setelem_overlap: sorted by start (stable), equal ranges pass; an element that
    # starts inside the one before it is the error (^), the one before is marked (~)
    spans.sort(key=lambda t: t[0])
    for prev, cur in zip(spans, spans[1:]):
        if cur[:2] == prev[:2]:
            # nft lets equal ranges through; the kernel refuses the second when its data
            # differs (EEXIST), which nft reports at the first one
            if cur[3] != prev[3]:
                raise _err("Could not process rule: File exists", prev[2])
            continue
        if cur[0] <= prev[1]:
            raise EvalError(Diagnostic(cur[2], "conflicting intervals specified",
                                       secondary=(prev[2],) if prev[2] is not None else ()))


def _word_loc(loc: Location | None, word: str) -> Location | None:
    """The location of ``word`` inside ``loc`` (nft points at one token of a node the
    parser built whole)."""
    if loc is None or not loc.first_col or loc.line_text is None:
        return loc
    i = loc.line_text.find(word, loc.first_col - 1, loc.last_col)
    if i < 0:
        return loc
    return Location(loc.file, loc.line, i + 1, i + len(word), loc.line_text, loc.included_from, loc.shown_text)


def _span_to(loc: Location | None, width: int) -> Location | None:
    if loc is None or not loc.first_col:
        return loc
    return Location(loc.file, loc.line, loc.first_col, loc.first_col + width - 1, loc.line_text,
                    loc.included_from, loc.shown_text)


def _is_l4_key(e: N.TExpr) -> bool:
    if isinstance(e, N.Meta):
        return e.key == "l4proto"
    return isinstance(e, N.Payload) and e.proto in ("ip", "ip6") and e.field in ("protocol", "nexthdr")


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4_RE = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}", re.ASCII)


def _other_family_literal(dtname: str, text: str) -> bool:
    import ipaddress
    try:
        a = ipaddress.ip_address(text)
    except ValueError:
        return False
    return (a.version == 6) if dtname == "ipv4_addr" else (a.version == 4)


def _names_object(e: A.Expr) -> bool:
    """``"name"`` or a map whose values are names: an object reference."""
    if isinstance(e, A.String):
        return True
    if isinstance(e, A.MapExpr) and isinstance(e.mapping, A.SetExpr):
        return any(isinstance(m, A.Mapping) and isinstance(m.value, A.String) for m in e.mapping.elements)
    return False


def _num(v: N.Value) -> int:
    return int.from_bytes(v.data, "little" if v.byteorder is HOST else "big")


def _wildcard_range(v: N.Value, x: N.TExpr) -> N.Range:
    """A wildcard string (``"veth*"``) in an anonymous set: nft turns it into a string
    prefix (EXPR_PREFIX), i.e. the range from the prefix padded with zeros to the prefix
    padded with 0xff, which makes the set an interval set (nft setelem_expr_to_range)."""
    pad = x.nbytes - len(v.data)
    lo = N.Value(v.loc, v.dtype, x.len_bits, v.byteorder, v.data + b"\0" * pad)
    hi = N.Value(v.loc, v.dtype, x.len_bits, v.byteorder, v.data + b"\xff" * pad)
    return N.Range(v.loc, v.dtype, x.len_bits, v.byteorder, lo, hi)


def _concat_wildcards(key: N.Concat, lhs) -> N.Concat:
    parts = []
    changed = False
    for p, pl in zip(key.parts, lhs.parts):
        if isinstance(p, N.Value) and p.len_bits < pl.expr.len_bits and pl.dtype.is_string():
            p = _wildcard_range(p, pl.expr)
            changed = True
        parts.append(p)
    if not changed:
        return key
    return N.Concat(key.loc, key.dtype, key.len_bits, key.byteorder, tuple(parts))


def _has_range(k) -> bool:
    if isinstance(k, (N.Range, _PrefixRange)):
        return True
    if isinstance(k, N.Concat):
        return any(_has_range(p) for p in k.parts)
    return False


def _norm(k):
    """Prefixes inside sets are the ranges they cover."""
    if isinstance(k, _PrefixRange):
        return k.range
    if isinstance(k, N.Concat):
        return N.Concat(k.loc, k.dtype, k.len_bits, k.byteorder, tuple(_norm(p) for p in k.parts))
    return k


def _flatten_set(elements):
    # iterative: a set may nest as deep as the parser allows (~5,000 levels, nft's
    # bison stack), far past Python's recursion limit
    stack = [iter(elements)]
    while stack:
        for el in stack[-1]:
            if isinstance(el, A.SetExpr):
                stack.append(iter(el.elements))
                break
            yield el
        else:
            stack.pop()


def _fold_lhs(left: N.TExpr) -> tuple[N.TExpr, bytes | None]:
    """nft folds ``x ^ c`` into the constant it is compared with; ``x | c`` becomes a
    mask-and-xor, which linearize emits as one bitwise."""
    if isinstance(left, N.Binop) and left.op == "^":
        return left.left, left.right.data
    return left, None


def _xor_value(v: N.Value, x: bytes) -> N.Value:
    return N.Value(v.loc, v.dtype, v.len_bits, v.byteorder, bytes(a ^ b for a, b in zip(v.data, x)))


def _xor_set(s: N.TExpr, x: bytes | None) -> N.TExpr:
    return s


def evaluate_rule(rule: A.Rule, ctx: EvalContext) -> N.TypedRule:
    """Evaluate one parsed rule in a table of ``ctx.family``."""
    ev = _RuleEval(ctx)
    terminal = None
    for s in rule.stmts:
        # nft rule_evaluate: nothing may follow a terminal statement (verdicts other
        # than continue, reject, queue, nat)
        if terminal is not None:
            loc = s.loc
            if isinstance(s, (A.Counter, A.Log)) and loc is not None:
                # nft locates a counter or log statement at its keyword
                loc = _span_to(loc, len("counter" if isinstance(s, A.Counter) else "log"))
            # nft stmt_binary_error(ctx, stmt, terminal, ...): the terminal one marked ~
            tl = terminal.loc
            if isinstance(terminal, A.Counter) and tl is not None:
                tl = _span_to(tl, len("counter"))
            elif isinstance(terminal, (A.Nat, A.Reject, A.Queue)) and tl is not None and tl.line_text:
                # nat/masquerade/redirect, reject and queue are located at their keyword
                # (their *_stmt_alloc's @$; checked: `snat to 1.2.3.4 counter` marks `snat`)
                kw = tl.line_text[tl.first_col - 1:].split(None, 1)
                if kw:
                    tl = _span_to(tl, len(kw[0]))
            raise EvalError(Diagnostic(loc, "Statement after terminal statement has no effect",
                                       secondary=(tl,) if tl is not None else ()))
        ev.stmt(s)
        if _is_terminal(s):
            terminal = s
    if ev.kernel_err is not None:
        raise ev.kernel_err
    return N.TypedRule(ctx.family, ctx.table, ctx.chain, tuple(merge_payloads(ev.out, ctx.family)), rule.comment)


def _is_terminal(s: A.Stmt) -> bool:
    if isinstance(s, A.VerdictStmt):
        return s.verdict.kind != "continue"
    return isinstance(s, (A.Reject, A.Queue, A.Nat))


# the protocol keys of nft 1.0.6's headers (proto_desc.protocol_key): payload_expr_alloc
# flags them EXPR_F_PROTOCOL, and a merge keeps such a match's place in the rule
_PROTOCOL_KEYS = frozenset((("ether", "type"), ("vlan", "type"), ("ip", "protocol"),
                            ("ip6", "nexthdr"), ("ah", "nexthdr"), ("comp", "nexthdr")))


def _collectable(s: N.Match) -> bool:
    """A relational on a byte-aligned payload field with a constant, ``==`` or ``!=``
    (nft 1.0.6 stmt_reduce; an unaligned field is a ``payload & mask`` binop there)."""
    left = s.left
    return (isinstance(left, N.Payload) and isinstance(s.right, N.Value) and s.op in ("eq", "neq")
            and left.offset_bits % 8 == 0 and left.len_bits % 8 == 0)


def _can_merge(a: N.Payload, b: N.Payload) -> bool:
    """nft 1.0.6 payload_can_merge: adjacent on one base, one 16-byte register at most;
    beyond 4 bytes only at the link layer or when one side is already wider than 4 bytes
    (a network/transport load of up to 4 bytes is the kernel's fast path)."""
    if a.base != b.base or a.offset_bits + a.len_bits != b.offset_bits:
        return False
    total = a.len_bits + b.len_bits
    if total > 128:
        return False
    return total <= 32 or a.base == Base.LL_HEADER or a.len_bits > 32 or b.len_bits > 32


def _join(a: N.Match, b: N.Match, loc_of: N.Match) -> N.Match:
    """One match on ``a``'s and ``b``'s fields (``a`` first in the packet), at the place
    (and with the location) of ``loc_of`` (nft payload_expr_join, constant_expr_join)."""
    pa = a.left
    left = N.Payload(pa.loc, INTEGER, pa.len_bits + b.left.len_bits, BIG, pa.base, pa.offset_bits,  # type: ignore
                     pa.proto, pa.field)  # type: ignore[union-attr]
    data = a.right.data + b.right.data  # type: ignore[union-attr]
    return N.Match(loc_of.loc, left, a.op, N.Value(a.right.loc, INTEGER, left.len_bits, BIG, data),
                   loc_of.implicit)


def _do_merge(out: list, sa: list[int], dead: set[int]) -> None:
    """nft payload_do_merge on the collected matches ``sa`` (indices into ``out``): sorted
    by base and offset (a stable sort), each adjacent pair with the same operator joins.
    The joined match stays where the lower field was, unless the higher one is a protocol
    key (``ether type``): then it takes that one's place, so a dependency is never tested
    after the header that needs it (``vlan id 2 ether saddr X`` -> one 8-byte load of
    ether saddr + type where `ether type 8021q` was)."""
    order = sorted(sa, key=lambda k: (int(out[k].left.base), out[k].left.offset_bits))
    proto = {k: (out[k].left.proto, out[k].left.field) in _PROTOCOL_KEYS for k in sa}
    last = order[0]
    for k in order[1:]:
        a, b = out[last], out[k]
        if a.op != b.op or not _can_merge(a.left, b.left):
            last = k
            continue
        if proto[k]:
            # the swap: the protocol key's statement keeps the joined match
            out[k] = _join(a, b, b)
            dead.add(last)
            proto[k] = True
            last = k
        else:
            out[last] = _join(a, b, a)
            proto[last] = False
            dead.add(k)


def merge_payloads(stmts: list[N.TStmt], family: str | None = None) -> list[N.TStmt]:
    """nft 1.0.6 ``stmt_reduce`` (rule_postprocess): payload matches are collected over
    the rule; a match of another kind (meta, ct, a set lookup) is passed over, any other
    statement ends the collection -- but only when two or more were collected (with one,
    nft carries it on: ``tcp sport 1 counter tcp dport 2`` loads both ports before the
    counter).  Each collection is merged by :func:`_do_merge`.  In an ip/ip6 table,
    ``meta protocol ip``/``ip6`` is dropped when any statement follows it (checked
    on nft 1.0.6: ``meta protocol ip counter`` lists ``counter``)."""
    out = list(stmts)
    dead: set[int] = set()
    sa: list[int] = []
    drop = None
    for k, s in enumerate(out):
        if drop is not None:
            dead.add(drop)
            drop = None
        if not isinstance(s, N.Match):
            if len(sa) >= 2:
                _do_merge(out, sa, dead)
                sa = []
            continue
        if _collectable(s):
            sa.append(k)
        elif family in ("ip", "ip6") and isinstance(s.left, N.Meta) and s.left.key == "protocol" \
                and s.op == "eq" and isinstance(s.right, N.Value) \
                and _NET_BY_ETHERTYPE.get(int.from_bytes(s.right.data, "big")) == family:  # type: ignore
            drop = k
    if len(sa) >= 2:
        _do_merge(out, sa, dead)
    return [s for k, s in enumerate(out) if k not in dead]


def _elem_key_ast(e: A.Expr) -> A.Expr:
    return e.key if isinstance(e, A.Elem) else e


def _anon_elem_check(e: A.Elem, is_map: bool) -> None:
    """Element options an anonymous map (or concatenated set) cannot hold: statements
    (nft setelem evaluation: the map declares none) and timeouts (the kernel refuses an
    element timeout in a set without NFT_SET_TIMEOUT: EINVAL under the element; nft
    gives a plain anonymous set's element timeout to the set instead)."""
    for o in e.opts:
        if is_map and isinstance(o, A.Stmt):
            raise _err("missing statement in map declaration", o.loc)
    if any(getattr(o, "name", None) == "timeout" for o in e.opts):
        raise _err("Could not process rule: Invalid argument", e.loc if is_map else e.key.loc)


def set_info(name: str, keyword: str, key: str, data: str | None, flags: str | None,
             family: str) -> SetInfo:
    """A :class:`SetInfo` from a declaration's text: ``type ipv4_addr . inet_service`` or
    ``typeof ip saddr . tcp dport`` (``key``), map data, flags."""
    def part(text: str) -> tuple[Datatype, int, ByteOrder]:
        text = text.strip()
        if keyword == "typeof":
            from pkttables.lang import parse
            rule = parse(f"add rule {family} t c {text} 0").commands[0].obj.rule
            lhs = _RuleEval(EvalContext(family))._lhs(rule.stmts[0].left)
            return lhs.dtype, lhs.expr.len_bits, lhs.expr.byteorder
        dt = DATATYPES.get(text)
        if dt is None:
            raise EvalError(f"unknown datatype {text}")
        order = dt.byteorder if dt.byteorder is not ByteOrder.INVALID else HOST
        return dt, dt.size_bits, order

    keys = tuple(part(p) for p in key.split(" . "))
    d = None
    dparts = None
    objmap = False
    if data is not None:
        if data.strip() in ("counter", "quota", "limit", "ct helper", "ct timeout", "ct expectation",
                            "synproxy", "secmark"):
            objmap = True
        elif data.strip() == "verdict":
            d = (VERDICT, 0, HOST)
        else:
            dparts = [part(p) for p in data.split(" . ")]
            d = dparts[0] if len(dparts) == 1 else (INTEGER, sum(((b + 31) // 32) * 32 for _, b, _ in dparts), BIG)
    interval = bool(flags and "interval" in flags)
    return SetInfo(name, keys, d, interval, data is not None, objmap,
                   tuple(dparts) if dparts and len(dparts) > 1 else None)
