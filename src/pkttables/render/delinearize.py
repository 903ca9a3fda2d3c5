"""Kernel expressions -> statements, as ``nft list`` prints them.

Theory of operation
-------------------
The kernel stores a rule as a list of register-machine expressions; ``nft list`` does
not remember what the user typed.  It *delinearizes* (nftables
``src/netlink_delinearize.c``): it walks the expressions keeping, per register, the
expression whose value the register holds, and turns each consuming expression back
into a statement:

- loads (``payload``, ``meta``, ``ct``, ``exthdr``, ``rt``, ``socket``, ``fib``, ...)
  and ``immediate`` data only fill registers;
- ``bitwise`` / ``byteorder`` wrap the register's expression (``& mask``, ``>> n``,
  byte order changes are dropped: they only exist to compare host-order values);
- ``cmp`` / ``range`` / ``lookup`` consume a register and produce a *relational*
  statement (``tcp dport 22``, ``meta length 33-45``, ``ip saddr @set``);
- the other expressions are statements of their own (``counter``, ``nat``, ...), taking
  their operands from registers.

Then comes postprocessing (``rule_postprocess``/``expr_postprocess``), which is where
the listing gets its shape:

1. a payload load is only known as ``(base, offset, length)``; the protocol comes from
   the *context*: a preceding ``meta l4proto 6`` / ``ip protocol 6`` says the transport
   header is TCP, so ``2b @ transport header + 2`` is ``tcp dport`` (nft ``proto_ctx``).
2. the statement that set the context is a *dependency*; it is removed when a later
   payload match needed it (``payload_dependency_kill``), so ``meta l4proto 6 tcp
   dport 22`` lists as ``tcp dport 22``.
3. ``bitwise & mask`` then ``cmp``: a mask that selects exactly one sub-byte field
   gives that field (``ip dscp``), a prefix mask gives ``ip saddr 10.0.0.0/8``,
   ``!= 0`` on a bitmask is a flag test (``tcp flags syn``), ``== 0`` its negation
   (``tcp flags ! syn``), ``== v`` with a wider mask ``tcp flags syn / fin,syn``.
4. ``cmp gte`` + ``cmp lte`` on the same expression is a range ``33-45``.
5. an anonymous set's elements are printed inline ``{ 22, 23 }``; interval sets are
   decomposed back into values, ranges and prefixes (nft ``interval_map_decompose``).

Worked example (inet table)::

    [ meta load l4proto => reg 1 ]            reg1 = meta l4proto
    [ cmp eq reg 1 0x00000006 ]               meta l4proto 6   (sets transport = tcp)
    [ payload load 2b @ transport header + 2 => reg 1 ]   reg1 = tcp dport
    [ cmp eq reg 1 0x00001600 ]               tcp dport 22     (kills `meta l4proto 6`)

lists as ``tcp dport 22``.
"""

from __future__ import annotations

import dataclasses
import re

from dataclasses import replace, dataclass, field
from typing import Any, Iterable, Mapping

from pkttables.proto import (CT_KEYS, META_KEYS, PROTOCOLS, IPV6_EXTHDRS, TCP_OPTIONS, IP_OPTIONS,
                             SCTP_CHUNKS, Base, ByteOrder, CtKeyId, MetaKeyId)
from pkttables.types import DATATYPES, Datatype

from ._dump import (AnonSet, Ins, SetElem, SET_ANONYMOUS, SET_INTERVAL, SET_MAP, SET_OBJECT, parse_line,
                    words_to_bytes)
from .options import ListOptions

__all__ = ["delinearize", "rule_text", "Stmt"]

_INT = DATATYPES["integer"]
_BIG, _HOST = ByteOrder.BIG, ByteOrder.HOST

# libnftnl's meta key names (meta_key2str) -> nft's
_META_NL = {k.name.lower(): k for k in MetaKeyId}
_META_NL.update({"time": MetaKeyId.TIME_NS, "day": MetaKeyId.TIME_DAY, "hour": MetaKeyId.TIME_HOUR})
_META_BY_ID = {m.key: m for m in META_KEYS.values()}

# libnftnl's ct key names (ctkey2str_array) -> nft's
_CT_NL = {
    "state": "state", "direction": "direction", "status": "status", "mark": "mark",
    "secmark": "secmark", "expiration": "expiration", "helper": "helper",
    "l3protocol": "l3proto", "src": "saddr", "dst": "daddr", "protocol": "protocol",
    "proto_src": "proto-src", "proto_dst": "proto-dst", "label": "label", "pkts": "packets",
    "bytes": "bytes", "avgpkt": "avgpkt", "zone": "zone", "eventmask": "event",
    "src_ip": "ip saddr", "dst_ip": "ip daddr", "src_ip6": "ip6 saddr", "dst_ip6": "ip6 daddr",
    "ct_id": "id", "event": "event",
}
_CT_NL.update({k: k for k in CT_KEYS})
_CT_NL["unknown"] = "id"     # libnftnl 1.2.4 has no name for NFT_CT_ID

_BASE_NAMES = {"link": Base.LL_HEADER, "network": Base.NETWORK_HEADER,
               "transport": Base.TRANSPORT_HEADER, "inner": Base.INNER_HEADER}
_RAW_BASE = {Base.LL_HEADER: "ll", Base.NETWORK_HEADER: "nh", Base.TRANSPORT_HEADER: "th",
             Base.INNER_HEADER: "ih"}


class DelinearizeError(Exception):
    """An instruction list nft's delinearizer would not make sense of either."""


# ---------------------------------------------------------------------------- expressions


@dataclass(slots=True)
class Expr:
    dtype: Datatype
    bo: ByteOrder
    bits: int

    @property
    def nbytes(self) -> int:
        return (self.bits + 7) // 8

    def text(self, o: ListOptions) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass(slots=True)
class Payload(Expr):
    base: Base = Base.NETWORK_HEADER
    offset: int = 0         # bits
    proto: str | None = None
    field_name: str | None = None
    prefix: int | None = None       # a load of only the first `prefix` bits

    def text(self, o: ListOptions) -> str:
        if self.proto is not None and self.field_name is not None:
            return f"{self.proto} {self.field_name}"
        return f"@{_RAW_BASE.get(self.base, 'nh')},{self.offset},{self.bits}"

    @property
    def raw(self) -> bool:
        return self.field_name is None


@dataclass(slots=True)
class Meta(Expr):
    name: str = ""
    unqualified: bool = False

    def text(self, o: ListOptions) -> str:
        return self.name if self.unqualified else f"meta {self.name}"


@dataclass(slots=True)
class Ct(Expr):
    name: str = ""
    direction: str | None = None
    # `ct saddr`/`ct daddr` without a family (NFT_CT_SRC/DST): the type comes from the
    # network context, after nft parsed the cmp (see _cmp_prefix)
    l3_from_ctx: bool = False

    def text(self, o: ListOptions) -> str:
        return f"ct {self.direction} {self.name}" if self.direction else f"ct {self.name}"


@dataclass(slots=True)
class Named(Expr):
    """Any expression printed as fixed words (``rt mtu``, ``socket mark``, ``fib ...``)."""
    words: str = ""

    def text(self, o: ListOptions) -> str:
        return self.words


@dataclass(slots=True)
class Exthdr(Expr):
    words: str = ""
    present: bool = False

    def text(self, o: ListOptions) -> str:
        return self.words


@dataclass(slots=True)
class Binop(Expr):
    op: str = "&"
    left: Expr | None = None
    right: Any = None       # int value in left's encoding

    def text(self, o: ListOptions) -> str:
        r = self.right
        rs = fmt_value(self.left, r, o) if self.op in ("&", "|", "^") else str(r)
        return f"{self.left.text(o)} {self.op} {rs}"


@dataclass(slots=True)
class Concat(Expr):
    items: tuple = ()

    def text(self, o: ListOptions) -> str:
        return " . ".join(i.text(o) for i in self.items)


@dataclass(slots=True)
class Imm(Expr):
    data: bytes = b""

    def text(self, o: ListOptions) -> str:
        return "0x" + self.data.hex()


def _plain(dtype: str | Datatype, bo: ByteOrder, bits: int) -> tuple:
    dt = DATATYPES[dtype] if isinstance(dtype, str) else dtype
    return dt, bo, bits


# ---------------------------------------------------------------------------- values


def value_of(e: Expr, data: bytes) -> int | bytes:
    data = data[:e.nbytes] if e.nbytes else data
    if e.dtype.is_string():
        return data
    return int.from_bytes(data, "little" if e.bo is _HOST else "big")


def range_opts(o: ListOptions) -> ListOptions:
    """nft range_expr_print: both ends print numerically (symbols, protocols, no
    service names or guids)."""
    if o.numeric >= 1 and o.numeric_proto and not o.service and not o.guid:
        return o
    return dataclasses.replace(o, numeric=max(o.numeric, 1), numeric_proto=True, service=False, guid=False)


def fmt_value(e: Expr, v: int | bytes, o: ListOptions) -> str:
    dt = e.dtype
    if isinstance(e, Concat):
        raise DelinearizeError("concatenation value")
    if isinstance(v, (bytes, bytearray)):
        s = bytes(v).rstrip(b"\0").decode(errors="surrogateescape")
        return '"' + s + '"'
    if isinstance(e, Payload) and e.raw:
        return f"0x{v:x}"
    if dt.name in _NUMERIC_FMT and isinstance(v, int) and \
            (o.numeric >= 1 or all(sv != v for _, sv in dt.symbols)):
        # nft prints a number of a symbolic type (-n, or no symbol for it) through its
        # basetype: integer_type_print with the first basefmt up the chain
        return _NUMERIC_FMT[dt.name] % v
    if dt.name == "bitmask" and isinstance(v, int):
        return f"0x{v:x}"       # nft bitmask_type: BASE_HEX
    if dt.name == "inet_proto" and (o.numeric_proto or o.numeric >= 1):
        return str(v)
    special = _SPECIAL.get(dt.key)
    if special is not None:
        r = special(v, o)
        if r is not None:
            return r
    if dt.name == "inet_service" and o.service:
        return dt.format(v, numeric=0)
    if dt.is_bitmask and isinstance(v, int) and o.numeric == 0 and dt.symbols:
        return _bitmask_text(dt, v, ",")
    if dt.is_bitmask and isinstance(v, int) and v and o.numeric >= 1 and dt.symbols:
        # numeric: the named bits as numbers, in ascending bit order as nft walks them
        # (`ct state new,related` is `0x4,0x8` under -n, checked), leftover bits last
        named = [sv for _, sv in sorted(dt.symbols, key=lambda x: x[1]) if sv and v & sv == sv]
        rest = v
        parts = []
        for sv in named:
            if rest & sv:
                parts.append(f"0x{sv:x}")
                rest &= ~sv
        if rest:
            parts.append(f"0x{rest:x}")
        return ",".join(parts)
    try:
        return dt.format(v, numeric=o.numeric)
    except Exception:       # a value the type cannot name: nft prints the number
        return str(v)


def _bitmask_text(dt: Datatype, v: int, sep: str) -> str:
    # nft's symbolic_constant_print for bitmasks walks the bits in ascending order
    if v == 0:
        for n, sv in dt.symbols:
            if sv == 0:
                return n
        return "0x0"
    names, rest = [], v
    for n, sv in sorted(dt.symbols, key=lambda x: x[1]):
        if sv and v & sv == sv and rest & sv:
            names.append(n)
            rest &= ~sv
    if rest:
        names.append(f"0x{rest:x}")
    return sep.join(names)


def _classid(v: int, o: ListOptions) -> str:
    # nft's classid_type_print (TC_H_ROOT, TC_H_UNSPEC, else major:minor in hex)
    if v == 0xFFFFFFFF:
        return "root"
    if v == 0:
        return "none"
    return f"{v >> 16:x}:{v & 0xFFFF:x}"


def _iproute2_table(path: str, default: dict[int, str]) -> dict[int, str]:
    table = dict(default)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.split("#", 1)[0].split()
                if len(parts) >= 2:
                    try:
                        table[int(parts[0], 0)] = parts[1]
                    except ValueError:
                        pass
    except OSError:
        pass
    return table


# nft reads these iproute2 files (rt_symbol_table_init) and prints names quoted
_DEVGROUPS = _iproute2_table("/etc/iproute2/group", {0: "default"})
_REALMS = _iproute2_table("/etc/iproute2/rt_realms", {0: "cosmos"})


def _rt_sym(table: dict[int, str]):
    def f(v: int, o: ListOptions) -> str | None:
        if o.numeric == 0 and v in table:
            return f'"{table[v]}"'
        return None
    return f


def _ifindex(v: int, o: ListOptions) -> str | None:
    for idx, name in o.ifnames:
        if idx == v:
            return f'"{name}"'
    return None


def _tz(o: ListOptions) -> int:
    if o.tz_offset is not None:
        return o.tz_offset
    import time
    return -time.timezone if not time.localtime().tm_isdst else -time.altzone


def _time_date(v: int, o: ListOptions) -> str | None:
    import datetime
    secs = v // 1_000_000_000 + _tz(o)
    try:
        d = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=secs)
    except OverflowError:
        return None
    return f'"{d:%Y-%m-%d %H:%M:%S}"'


def _hour(v: int, o: ListOptions) -> str:
    secs = (v + _tz(o)) % 86400
    h, m, sec = secs // 3600, secs // 60 % 60, secs % 60
    return f'"{h:02d}:{m:02d}"' if sec == 0 else f'"{h:02d}:{m:02d}:{sec:02d}"'


def _ipv6_text(v: int, o: ListOptions) -> str | None:
    """glibc inet_ntop (nft prints addresses with it): an address whose zero run is
    exactly the first 96 bits (``::18.52.18.52``; ``::1234`` stays hex) or that is
    IPv4-mapped (``::ffff:192.168.1.1``) ends in dotted IPv4."""
    if not isinstance(v, int):
        return None
    w = [(v >> (112 - 16 * k)) & 0xFFFF for k in range(8)]
    if w[:5] == [0] * 5 and (w[5] == 0xFFFF or w[5] == 0 and w[6]):
        v4 = ".".join(str((v >> s) & 0xFF) for s in (24, 16, 8, 0))
        return ("::ffff:" if w[5] else "::") + v4
    return None


def _ct_label(v: int, o: ListOptions) -> str | None:
    # nft ct_label_type_print: the lowest set bit's number (no connlabel.conf here)
    return str((v & -v).bit_length() - 1) if isinstance(v, int) and v > 0 else None


# symbolic types whose numbers print through their basetype (nft datatype basefmt):
# decimal unless a basefmt says hex
_NUMERIC_FMT = {"dccp_pkttype": "%d", "arp_op": "%d", "iface_type": "%d", "ecn": "0x%x"}

_SPECIAL = {"ct_label": _ct_label, "ipv6_addr": _ipv6_text, "classid": _classid, "devgroup": _rt_sym(_DEVGROUPS), "realm": _rt_sym(_REALMS),
            "iface_index": _ifindex, "time_date": _time_date, "hour": _hour}


def fmt_concat_value(e: Expr, data: bytes, o: ListOptions) -> str:
    if not isinstance(e, Concat):
        return fmt_value(e, value_of(e, data), o)
    parts, pos = [], 0
    for it in e.items:
        n = it.nbytes
        parts.append(fmt_value(it, value_of(it, data[pos:pos + n]), o))
        pos += (n + 3) // 4 * 4
    return " . ".join(parts)


def _is_bitmask(dt: Datatype) -> bool:
    # nft's plain bitmask_type (`comp flags`) is a bitmask too (implicit `& v != 0` match)
    return dt.is_bitmask or dt.name == "bitmask"


def _prefix_len(mask: int, bits: int) -> int | None:
    """Length of a contiguous high-bit mask over ``bits`` bits, else None."""
    inv = ~mask & ((1 << bits) - 1)
    if inv & (inv + 1):
        return None
    return bits - inv.bit_length()


# ---------------------------------------------------------------------------- statements


@dataclass(slots=True)
class Stmt:
    """One listed statement.  ``dep`` marks a protocol-context match that a later payload
    match may remove; ``expr`` is the matched expression (for range merging)."""

    text: str
    kind: str = "stmt"
    dep_base: Base | None = None
    expr: Any = None
    op: str | None = None
    value: Any = None
    killed: bool = False
    # nft's JSON of the statement when its text alone does not tell it (synproxy: which
    # of mss/wscale were given); None: read the JSON from the text
    json: Any = None
    # the text JSON is read back from when the listing is not nft syntax (`ct
    # expiration ` for 0s); None: ``text``
    json_text: str | None = None


_OPS = {"eq": "", "neq": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


@dataclass(slots=True)
class _RegVal:
    expr: Expr
    seq: int


class _Delin:
    def __init__(self, family: str, sets: dict[str, AnonSet], opts: ListOptions):
        self.family = family
        self.sets = sets
        self.o = opts
        self.regs: dict[int, _RegVal] = {}
        self.seq = 0
        self.stmts: list[Stmt] = []
        # proto context per base: (proto name, index of the dependency stmt or None)
        self.ctx: dict[Base, tuple[str | None, int | None]] = {}
        self._init_ctx()
        self.anon_queue: list[AnonSet] = []
        self.vlan_ctx: int | None = None
        # bit offset of the innermost vlan tag known so far: each `vlan type 8021q` /
        # `8021ad` stacks the next tag 4 bytes further (nft payload_expr_pctx_update
        # adds proto_vlan's length to the link-layer offset), so QinQ's second tag
        # reads `vlan id` at link header + 18
        self.vlan_off = 112
        self.icmp_ctx: tuple[int, int | None] | None = None
        self.named_data: dict[str, int] = {}

    def _init_ctx(self) -> None:
        f = self.family
        if f == "ip":
            self.ctx[Base.NETWORK_HEADER] = ("ip", None)
        elif f == "ip6":
            self.ctx[Base.NETWORK_HEADER] = ("ip6", None)
        elif f == "bridge":
            self.ctx[Base.LL_HEADER] = ("ether", None)
        elif f == "arp":
            self.ctx[Base.NETWORK_HEADER] = ("arp", None)
        # elsewhere the link layer is only known after `meta iiftype ether` (the dependency
        # nft adds to `ether saddr`): without it nft lists a link load raw (`@ll,0,8 0x1`)

    # -- registers --------------------------------------------------------------------
    @staticmethod
    def slot(reg: str | int) -> int:
        r = int(reg)
        if r == 0:
            return -1
        if r <= 4:
            return (r - 1) * 4
        return r - 8

    def put(self, reg, e: Expr) -> None:
        self.seq += 1
        self.regs[self.slot(reg)] = _RegVal(e, self.seq)

    def get(self, reg, nbytes: int | None = None) -> Expr:
        s = self.slot(reg)
        rv = self.regs.get(s)
        if rv is None:
            raise DelinearizeError(f"register {reg} read before written")
        e = rv.expr
        if isinstance(e, _Mapped):
            return e        # a lookup's data fills as many registers as the map's data is long
        total = (e.nbytes + 3) // 4 * 4
        if nbytes is None or nbytes <= total:
            if nbytes is None:
                # named set / dynset: follow a chain of loads into the next slots
                items = [e]
                cur, seq = s + (e.nbytes + 3) // 4, rv.seq
                while cur in self.regs and self.regs[cur].seq > seq:
                    nxt = self.regs[cur]
                    items.append(nxt.expr)
                    seq = nxt.seq
                    cur += (nxt.expr.nbytes + 3) // 4
                if len(items) > 1 and self._chain_ok(items):
                    return Concat(_INT, _BIG, sum((i.nbytes + 3) // 4 * 32 for i in items),
                                  tuple(_unswap(i) for i in items))
            return e
        items = [e]
        cur = s + (e.nbytes + 3) // 4
        while total < nbytes:
            nxt = self.regs.get(cur)
            if nxt is None:
                raise DelinearizeError("concatenation register missing")
            items.append(nxt.expr)
            total += (nxt.expr.nbytes + 3) // 4 * 4
            cur += (nxt.expr.nbytes + 3) // 4
        if len(items) == 1:
            return e
        return Concat(_INT, _BIG, total * 8, tuple(_unswap(i) for i in items))

    def _chain_ok(self, items) -> bool:
        return True

    # -- context ----------------------------------------------------------------------
    def set_ctx_from(self, e: Expr, value: int, stmt_index: int) -> None:
        """Protocol context from ``meta l4proto 6``, ``ip protocol 6``, ``ether type ip``..."""
        if isinstance(e, Meta):
            if e.name == "l4proto":
                name = _l4_name(value)
                self.ctx[Base.TRANSPORT_HEADER] = (name, stmt_index)
                # nft meta_may_dependency_kill: in inet/bridge/netdev `meta l4proto icmp`
                # implies IPv4 (icmpv6: IPv6), so it releases `meta nfproto ipv4`,
                # `meta protocol ip` or `ether type ip`; any other l4proto keeps it
                net, _ = self.ctx.get(Base.NETWORK_HEADER, (None, None))
                if self.family in ("inet", "bridge", "netdev") and \
                        (value, net) in ((1, "ip"), (58, "ip6")):
                    self.kill_dep(Base.NETWORK_HEADER)
                elif self.family in ("ip", "ip6") and net == self.family and self._dep_is_ether_type():
                    # in ip/ip6 nft's meta_may_dependency_kill lets any l4proto release
                    # the link-layer `ether|vlan type <family>` (checked: `ether type ip
                    # tcp dport 22` lists `tcp dport 22`; `ether type ip6` in ip stays)
                    self.kill_dep(Base.NETWORK_HEADER)
            elif e.name == "nfproto":
                name = {2: "ip", 10: "ip6"}.get(value)
                self.ctx[Base.NETWORK_HEADER] = (name, stmt_index)
            elif e.name == "protocol":
                name = {0x0800: "ip", 0x86DD: "ip6", 0x0806: "arp", 0x8100: "vlan",
                        0x88A8: "vlan"}.get(value)
                if name == "vlan":
                    return
                if self.family in ("ip", "ip6"):
                    # the family fixes the network header; `meta protocol arp` is only
                    # a dependency that the next network field releases
                    name = self.proto_at(Base.NETWORK_HEADER)
                self.ctx[Base.NETWORK_HEADER] = (name, stmt_index)
            elif e.name == "iiftype" and value == 1:
                self.ctx[Base.LL_HEADER] = ("ether", stmt_index)
        elif isinstance(e, Ct) and e.name == "protocol":
            # nft ct_meta_common_postprocess: `ct [dir] protocol X` (a protocol key, one
            # value) releases the network dependency before it, with no family check
            # for ct (checked in inet: `ether type arp ct protocol udp`, `meta nfproto
            # ipv4 ct protocol tcp` list `ct protocol ...`); in ip/ip6 only a dependency
            # on the table's own protocol (`ether type ip6 ct protocol tcp` in ip stays)
            net, _ = self.ctx.get(Base.NETWORK_HEADER, (None, None))
            if self.family not in ("ip", "ip6") or net == self.family:
                self.kill_dep(Base.NETWORK_HEADER)
        elif isinstance(e, Payload) and not e.raw:
            p = e.proto
            if p in ("ip", "ip6") and e.field_name in ("protocol", "nexthdr"):
                self.ctx[Base.TRANSPORT_HEADER] = (_l4_name(value), stmt_index)
                if self.family in ("inet", "bridge", "netdev"):
                    # nft payload_may_dependency_kill: in these families `ip protocol
                    # tcp` says more than `tcp dport` alone (which would read as meta
                    # l4proto, any network protocol), so a transport field keeps it
                    self.ctx[Base.TRANSPORT_HEADER] = (_l4_name(value), None)
            elif p in ("ether", "vlan") and e.field_name == "type":
                name = {0x0800: "ip", 0x86DD: "ip6", 0x0806: "arp", 0x8100: "vlan",
                        0x88A8: "vlan"}.get(value)
                if name == "vlan":
                    if p == "vlan":
                        self.vlan_off += 32
                    # the implicit dependency of a vlan field is `ether type 8021q`; a
                    # tag written by the user (`ether type 8021ad`, `vlan type 8021q`)
                    # stays in the listing in bridge/netdev/inet (checked on nft 1.0.6),
                    # while ip/ip6/arp tables release every one of them
                    implicit = p == "ether" and value == 0x8100
                    self.vlan_ctx = stmt_index if implicit or self.family in ("ip", "ip6", "arp") \
                        else None
                    return
                self.ctx[Base.NETWORK_HEADER] = (name, stmt_index)
            elif p in ("icmp", "icmpv6") and e.field_name == "type":
                self.icmp_ctx = (value, stmt_index)

    def proto_at(self, base: Base) -> str | None:
        return self.ctx.get(base, (None, None))[0]

    def _dep_is_meta(self, base: Base) -> bool:
        _, idx = self.ctx.get(base, (None, None))
        return idx is not None and idx < len(self.stmts) and isinstance(self.stmts[idx].expr, Meta)

    def _dep_is_ether_type(self) -> bool:
        _, idx = self.ctx.get(Base.NETWORK_HEADER, (None, None))
        if idx is None or idx >= len(self.stmts):
            return False
        e = self.stmts[idx].expr
        # `ether type ip`, or after a tag `vlan type ip6` (checked: `ether type 8021q vlan
        # type ip6 tcp dport 22` in ip6 lists `tcp dport 22`)
        return isinstance(e, Payload) and e.proto in ("ether", "vlan") and e.field_name == "type"

    def kill_dep(self, base: Base) -> None:
        name, idx = self.ctx.get(base, (None, None))
        if idx is not None and idx < len(self.stmts):
            self.stmts[idx].killed = True
            self.ctx[base] = (name, None)

    # -- payload --------------------------------------------------------------------
    def payload(self, base: Base, off_bytes: int, nbytes: int, mask: int | None = None) -> tuple[Expr, int]:
        """A payload expression for the load, resolving the field from context.
        Returns (expr, shift) where shift is how far values must be shifted right."""
        proto = self.proto_at(base)
        off_bits = off_bytes * 8
        bits = nbytes * 8
        cands = []
        if proto is not None and proto in PROTOCOLS:
            cands.append(proto)
        if base == Base.TRANSPORT_HEADER and proto is None:
            cands.append("th")
        if base == Base.LL_HEADER and off_bytes >= 14 and proto == "ether":
            cands.insert(0, "vlan")
        for pname in cands:
            p = PROTOCOLS[pname]
            hoff = self.vlan_off if pname == "vlan" else 0
            if pname == "vlan" and off_bits < self.vlan_off:
                continue
            fields = list(p.fields.values())
            if self.icmp_ctx is not None and pname in ("icmp", "icmpv6"):
                # the icmp type in context picks among fields sharing an offset (mtu/sequence)
                fields.sort(key=lambda f: 0 if self.icmp_ctx[0] in f.icmp_dep else 1)
            for f in fields:
                fo = f.offset_bits + hoff
                if mask is None:
                    if f.icmp_dep and (self.icmp_ctx is None or self.icmp_ctx[0] not in f.icmp_dep) and \
                            any(g.offset_bits == f.offset_bits and g.len_bits < f.len_bits for g in fields):
                        # nft payload_expr_complete skips a template whose icmp type is not
                        # the one in context: `icmp type { echo-reply, echo-request }` then
                        # a 4-byte load at offset 4 is id + sequence (split below), not gateway
                        continue
                    if fo == off_bits and f.len_bits == bits:
                        return Payload(DATATYPES[f.dtype_name], _BIG, f.len_bits, base, fo, pname, f.name), 0
                else:
                    if fo < off_bits or fo + f.len_bits > off_bits + bits:
                        continue
                    shift = off_bits + bits - (fo + f.len_bits)
                    fmask = ((1 << f.len_bits) - 1) << shift
                    if fmask == mask:
                        return Payload(DATATYPES[f.dtype_name], _BIG, f.len_bits, base, fo, pname, f.name), shift
            if mask is None:
                for f in fields:
                    fo = f.offset_bits + hoff
                    if fo == off_bits and f.len_bits > bits and f.byte_aligned and \
                            f.dtype_name in ("ipv4_addr", "ipv6_addr", "ether_addr"):
                        # nft loads only the bytes a /N prefix needs (payload_expr_complete)
                        return Payload(DATATYPES[f.dtype_name], _BIG, f.len_bits, base, fo, pname, f.name,
                                       prefix=bits), 0
            if mask is not None:
                for f in p.fields.values():
                    fo = f.offset_bits + hoff
                    if fo == off_bits and f.len_bits == bits:
                        return Payload(DATATYPES[f.dtype_name], _BIG, f.len_bits, base, fo, pname, f.name), 0
        return Payload(_INT, _BIG, bits, base, off_bits, None, None), 0

    # -- main loop --------------------------------------------------------------------
    def run(self, ins: list[Ins]) -> list[Stmt]:
        i = 0
        while i < len(ins):
            it = ins[i]
            h = getattr(self, "i_" + it.name, None)
            if h is None:
                raise DelinearizeError(f"unsupported expression {it.name}")
            consumed = h(it, ins, i)
            i += consumed or 1
        return self.postprocess()

    def emit(self, st: Stmt) -> int:
        e = st.expr
        if isinstance(e, Ct) and e.l3_from_ctx:
            # nft's JSON of a family-less `ct saddr` keeps the key without the family
            # the listing prints (`{"ct": {"key": "saddr", "dir": "original"}}`, checked)
            lhs = e.text(self.o)
            bare = lhs.replace(e.name, e.name.split(" ", 1)[-1], 1)
            base = st.json_text or st.text
            if base.startswith(lhs):
                st.json_text = bare + base[len(lhs):]
        self.stmts.append(st)
        if st.kind != "match":
            self._reset_deps()
        return len(self.stmts) - 1

    def _reset_deps(self) -> None:
        """nft rule_maybe_reset_payload_deps: any statement that is not a match forgets
        the dependencies seen so far, so a later match no longer removes them
        (`ip protocol tcp meta mark set 1 tcp dport 22` keeps `ip protocol tcp`).  The
        protocols stay known: only which statement may be killed is forgotten."""
        for b, (name, _) in list(self.ctx.items()):
            self.ctx[b] = (name, None)
        self.vlan_ctx = None
        if self.icmp_ctx is not None:
            self.icmp_ctx = (self.icmp_ctx[0], None)

    # loads ----------------------------------------------------------------------------
    def i_payload(self, it: Ins, ins, i):
        t = it.toks
        if t[0] == "load":
            n = int(t[1].rstrip("b"))
            base = _BASE_NAMES[t[3]]
            off = int(t[6])
            dreg = t[-1]
            # keep the raw load: the field is resolved at use (a mask may follow)
            e = Payload(_INT, _BIG, n * 8, base, off * 8, None, None)
            self.put(dreg, _PendingPayload(e.dtype, e.bo, e.bits, base, off, n))
            return 1
        if t[0] == "write":
            sreg = t[2]
            n = int(t[4].rstrip("b"))
            base = _BASE_NAMES[t[6]]
            off = int(t[9])
            src = self.get(sreg)
            sub = self._subfield_write(src, base, off, n)
            if isinstance(sub, str):
                self.emit(Stmt(sub))
                return 1
            if sub is not None:
                lhs, value = sub
                self._payload_dep_kill(lhs)
                self.emit(Stmt(f"{lhs.text(self.o)} set {fmt_value(lhs, value, self.o)}"))
                return 1
            lhs, shift = self.payload(base, off, n)
            self._payload_dep_kill(lhs)
            if isinstance(src, Imm):
                val = fmt_value(lhs, value_of(lhs, src.data), self.o)
            elif isinstance(src, _PendingPayload):
                val = self.resolve(src)[0].text(self.o)     # another field: `tcp dport set tcp sport`
            elif isinstance(src, _Mapped):
                val = self.rhs_text(lhs, src)       # map data typed as the written field
            elif isinstance(src, _PendingMask) and isinstance(src.inner, _PendingPayload) \
                    and (src.inner.pbase, src.inner.off, src.inner.n) == (base, off, n) \
                    and len(src.mask) >= n and len(src.xor) >= n:
                # `th sport set th sport & 4607 | 4352`: nft prints (x & m) ^ v as
                # x & (m|v) | v when no field matches the cleared bits
                m = int.from_bytes(src.mask[:n], "big")
                v = int.from_bytes(src.xor[:n], "big")
                val = f"{lhs.text(self.o)} & {fmt_value(lhs, m | v, self.o)} | {fmt_value(lhs, v, self.o)}"
            else:
                val = src.text(self.o)
            self.emit(Stmt(f"{lhs.text(self.o)} set {val}"))
            return 1
        raise DelinearizeError(it.text)

    def _subfield_write(self, src: Expr, base: Base, off: int, n: int) -> tuple[Expr, int] | str | None:
        """``ip dscp set cs1`` is linearized as load, ``(reg & ~field) ^ value``, write of
        the same bytes (nft ``payload_stmt_linearize`` for unaligned fields); the
        cleared bits name the field (nft ``stmt_payload_binop_postprocess``)."""
        if not (isinstance(src, _PendingMask) and isinstance(src.inner, _PendingPayload)):
            return None
        inner = src.inner
        if (inner.pbase, inner.off, inner.n) != (base, off, n) or len(src.mask) < n or len(src.xor) < n:
            return None
        full = (1 << (8 * n)) - 1
        fmask = ~int.from_bytes(src.mask[:n], "big") & full
        if not fmask:
            return None
        if base == Base.TRANSPORT_HEADER and off == 0 and n == 2 and fmask == 0xFF00 \
                and self.proto_at(base) in ("icmp", "icmpv6", "igmp"):
            # `icmp type set ...`: nft 1.0.6 finds no field for this write and lists the
            # 16-bit th word, the mask and value merged ((x & m) ^ v as x & (m|v) | v)
            # (its dependencies go as for a match on the type; igmp keeps the
            # network one, as nft 1.0.6 lists it)
            if self.proto_at(base) != "igmp":
                self.kill_dep(Base.NETWORK_HEADER)
            self.kill_dep(Base.TRANSPORT_HEADER)
            m = int.from_bytes(src.mask[:2], "big")
            v = int.from_bytes(src.xor[:2], "big")
            return f"th sport set th sport & {m | v} | {v}"
        lhs, shift = self.payload(base, off, n, mask=fmask)
        if not isinstance(lhs, Payload) or lhs.field_name is None or ((1 << lhs.bits) - 1) << shift != fmask:
            return None
        value = (int.from_bytes(src.xor[:n], "big") & fmask) >> shift
        return lhs, value

    def i_meta(self, it: Ins, ins, i):
        t = it.toks
        if t[0] == "load":
            key = _META_NL.get(t[1])
            m = _META_BY_ID.get(key)
            if m is None:
                raise DelinearizeError(it.text)
            self.put(t[-1], Meta(DATATYPES[m.dtype_name], m.byteorder, m.len_bits, m.name, m.print_unqualified))
            return 1
        if t[0] == "set":
            key = _META_NL.get(t[1])
            m = _META_BY_ID.get(key)
            src = self.get(t[-1])
            lhs = Meta(DATATYPES[m.dtype_name], m.byteorder, m.len_bits, m.name, m.print_unqualified)
            self.emit(Stmt(f"meta {m.name} set {self.rhs_text(lhs, src)}"))
            return 1
        raise DelinearizeError(it.text)

    def _ct_expr(self, nlkey: str, direction: str | None) -> Ct:
        name = _CT_NL.get(nlkey)
        if name is None:
            raise DelinearizeError(f"ct key {nlkey}")
        k = CT_KEYS[name]
        dt, bits = k.dtype_name, k.len_bits
        famless = False
        if dt == "invalid":
            l3 = self.proto_at(Base.NETWORK_HEADER) or ("ip6" if self.family == "ip6" else "ip")
            if name in ("saddr", "daddr"):
                dt, bits = ("ipv6_addr", 128) if l3 == "ip6" else ("ipv4_addr", 32)
                name = f"{l3} {name}"
                famless = True
                self.kill_dep(Base.NETWORK_HEADER)
            else:
                dt = "inet_service"
        return Ct(DATATYPES[dt], k.byteorder, bits, name, direction, famless)

    # keys whose direction the kernel dumps (nft_ct_get_dump); for the others the
    # direction given at load time is not in the listing (`ct original protocol` ->
    # `ct protocol`); nft_ct_set_dump dumps it for the zone only
    _CT_DIR_LOAD = frozenset(("saddr", "daddr", "ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr",
                              "proto-src", "proto-dst", "bytes", "packets", "avgpkt", "zone"))

    def i_ct(self, it: Ins, ins, i):
        t = it.toks
        direction = None
        if "dir" in t:
            direction = t[t.index("dir") + 1]
            name = _CT_NL.get(t[1], "")
            if name not in self._CT_DIR_LOAD or (t[0] == "set" and name != "zone"):
                direction = None
        if t[0] == "load":
            self.put(t[4], self._ct_expr(t[1], direction))
            return 1
        if t[0] == "set":
            lhs = self._ct_expr(t[1], direction)
            src = self.get(t[4])
            self.emit(Stmt(f"{lhs.text(self.o)} set {self.rhs_text(lhs, src)}"))
            return 1
        raise DelinearizeError(it.text)

    def i_immediate(self, it: Ins, ins, i):
        t = it.toks
        if t[1] == "0":
            v = " ".join(x for x in t[2:] if x != "->")
            self.emit(Stmt(v, kind="verdict"))
            return 1
        data = words_to_bytes(t[2:])
        self.put(t[1], Imm(_INT, _BIG, len(data) * 8, data))
        return 1

    def i_bitwise(self, it: Ins, ins, i):
        # [ bitwise reg 1 = ( reg 1 & 0x000000ff ) ^ 0x00000000 ]  /  ( reg 1 >> 0x00000006 )
        t = it.toks
        dreg, sreg = t[1], t[5]
        src = self.get(sreg)
        op = t[6]
        close = t.index(")")
        if op == "&":
            mask = words_to_bytes(t[7:close])
            xor = words_to_bytes(t[close + 2:])
            self.put(dreg, _PendingMask(src.dtype, src.bo, src.bits, src, mask, xor))
        else:
            amount = int.from_bytes(words_to_bytes(t[7:close])[:4], "little")
            if op == ">>" and isinstance(src, _PendingMask):
                # a sub-byte field shifted down in a concatenation (nft 1.0.6 keeps the
                # set's values unshifted): nft lists the field and the shift, `ip dscp >>
                # 2 . tcp dport { cs1 . 22 }`, its elements in the field's type (checked)
                load_n = getattr(self, "load_n", None)
                try:
                    r, _, sh = self.resolve(src)
                except DelinearizeError:
                    r, sh = None, -1
                if load_n is not None:
                    self.load_n = load_n
                if isinstance(r, Payload) and not r.raw and sh == amount:
                    src = r
            self.put(dreg, Binop(src.dtype, src.bo, src.bits, op, src, amount))
        return 1

    def i_byteorder(self, it: Ins, ins, i):
        # [ byteorder reg 1 = hton(reg 1, 4, 4) ]: only exists to compare host-order data
        t = it.toks
        dreg = t[1]
        sreg = t[3].split("(")[1] if "(" in t[3] else t[4].rstrip(",")
        src = self.get(t[4].rstrip(","))
        self.put(dreg, _Swapped(src.dtype, src.bo, src.bits, src))
        return 1

    def i_exthdr(self, it: Ins, ins, i):
        t = list(it.toks)
        if t[0] == "load":
            j = 1
            op = "sctp"
            if not t[j].endswith("b"):
                op = t[j]
                j += 1
            n = int(t[j].rstrip("b"))
            typ = int(t[j + 2])
            off = int(t[j + 4])
            present = "present" in t
            self.put(t[-1], self._exthdr(op, typ, off, n, present))
            return 1
        if t[0] == "write":
            op = t[1]
            sreg = t[3]
            n = int(t[5].rstrip("b"))
            typ, off = int(t[7]), int(t[9])
            lhs = self._exthdr(op, typ, off, n, False)
            src = self.get(sreg)
            self.emit(Stmt(f"{lhs.text(self.o)} set {self.rhs_text(lhs, src)}"))
            return 1
        if t[0] == "reset":
            typ = int(t[2])
            name = _tcpopt_name(typ)
            self.emit(Stmt(f"reset tcp option {name}"))
            return 1
        raise DelinearizeError(it.text)

    def _exthdr(self, op: str, typ: int, off: int, n: int, present: bool) -> Exthdr:
        space = {"ipv6": IPV6_EXTHDRS, "tcpopt": TCP_OPTIONS, "ipv4": IP_OPTIONS, "sctp": SCTP_CHUNKS}[op]
        prefix = {"ipv6": "exthdr", "tcpopt": "tcp option", "ipv4": "ip option", "sctp": "sctp chunk"}[op]
        hdrs = [h for h in space.values() if h.kind == typ]
        if present:
            if hdrs:
                return Exthdr(DATATYPES["boolean"], _HOST, 8, f"{prefix} {hdrs[0].name}", True)
            return Exthdr(DATATYPES["boolean"], _HOST, 8, f"{prefix} {typ}", True)
        if op == "ipv6" and typ == 43 and n == 16 and off >= 8 and (off - 8) % 16 == 0:
            # a routing header's address array: nft lists the segment routing header's
            # `sid[N]` (rt0/rt2 `addr` share the offsets; rt0 is deprecated)
            return Exthdr(DATATYPES["ipv6_addr"], _BIG, 128, f"srh sid[{(off - 8) // 16 + 1}]")
        for h in hdrs:
            for f in h.fields.values():
                if f.offset_bits == off * 8 and f.len_bits == n * 8:
                    words = f"{h.name} {f.name}" if op == "ipv6" else f"{prefix} {h.name} {f.name}"
                    return Exthdr(DATATYPES[f.dtype_name], f.byteorder, f.len_bits, words)
        # a sub-byte field (`frag frag-off`, `frag more-fragments`) is loaded as the bytes
        # that hold it and masked: the mask names the field (nft exthdr_find_template)
        subs = []
        for h in hdrs:
            for f in h.fields.values():
                rel = f.offset_bits - off * 8
                if 0 <= rel and rel + f.len_bits <= n * 8 and (rel % 8 or f.len_bits % 8):
                    words = f"{h.name} {f.name}" if op == "ipv6" else f"{prefix} {h.name} {f.name}"
                    shift = n * 8 - rel - f.len_bits
                    subs.append((((1 << f.len_bits) - 1) << shift, shift,
                                 Exthdr(DATATYPES[f.dtype_name], f.byteorder, f.len_bits, words)))
        if subs:
            return _PendingExthdr(_INT, _BIG, n * 8, f"{prefix} {typ} {off} {n}", False, tuple(subs))
        if op == "tcpopt":
            return Exthdr(_INT, _BIG, n * 8, f"tcp option @{typ},{off * 8},{n * 8}")
        raise DelinearizeError(f"exthdr {op} {typ} {off} {n}")

    def i_rt(self, it: Ins, ins, i):
        key = it.toks[1]
        m = {"classid": ("rt classid", "realm", _HOST, 32), "nexthop4": ("rt ip nexthop", "ipv4_addr", _BIG, 32),
             "nexthop6": ("rt ip6 nexthop", "ipv6_addr", _BIG, 128), "tcpmss": ("rt mtu", "integer", _HOST, 16),
             "ipsec": ("rt ipsec", "boolean", _HOST, 8)}.get(key)
        if m is None:
            raise DelinearizeError(it.text)
        # nft 1.0.6 rt_expr_print always names the family of a nexthop, also in ip/ip6
        words, dt, bo, bits = m
        self.put(it.toks[-1], Named(DATATYPES[dt], bo, bits, words))
        return 1

    def i_socket(self, it: Ins, ins, i):
        key = it.toks[1]
        dt = {"mark": ("mark", 32), "transparent": ("integer", 8), "wildcard": ("integer", 8),
              "cgroupv2": ("cgroupsv2", 64)}[key]
        words = f"socket {key}"
        if "level" in it.toks:
            words += f" level {it.after('level')}"
        self.put(it.toks[-1], Named(DATATYPES[dt[0]], _HOST, dt[1], words))
        return 1

    def i_osf(self, it: Ins, ins, i):
        t = it.toks
        words = "osf"
        # libnftnl does not dump ttl and flags; the kernel keeps them (the vm's Osf too)
        ttl = it.after("ttl") or str(getattr(it.obj, "ttl", 0) or "")
        if ttl:
            words += " ttl " + {"1": "loose", "2": "skip"}.get(ttl, "")
        version = "flags" in t and it.after("flags") == "0x1" or getattr(it.obj, "flags", 0) == 1
        words += " version" if version else " name"
        self.put(t[1] if t[0] == "dreg" else t[-1], Named(DATATYPES["string"], _HOST, 128, words))
        return 1

    def i_fib(self, it: Ins, ins, i):
        # [ fib daddr . iif type => reg 1 ]  [ fib daddr oif present => reg 1 ]
        t = list(it.toks[:-3])
        res = t[-1]
        present = False
        if res == "present":
            present = True
            t = t[:-1]
            res = t[-1]
        flags = " . ".join(x for x in t[:-1] if x != ".")
        dt = {"oif": ("iface_index", 32), "oifname": ("ifname", 128), "type": ("fib_addrtype", 32)}[res]
        if present:
            e = Named(DATATYPES["boolean"], _HOST, 8, f"fib {flags} {res}")
            e.words += ""
            self.put(it.toks[-1], _FibPresent(e.dtype, e.bo, e.bits, e.words))
        else:
            self.put(it.toks[-1], Named(DATATYPES[dt[0]], _HOST, dt[1], f"fib {flags} {res}"))
        return 1

    def i_numgen(self, it: Ins, ins, i):
        # [ numgen reg 1 = inc mod 2 offset 100 ]
        t = it.toks
        words = f"numgen {t[3]} mod {t[5]}"
        if "offset" in t:
            words += f" offset {it.after('offset')}"
        self.put(t[1], Named(_INT, _HOST, 32, words))
        return 1

    def i_hash(self, it: Ins, ins, i):
        # [ hash reg 1 = jhash(reg 2, 4, 0xdeadbeef) % mod 2 offset 100 ]
        t = it.toks
        kind = t[3].split("(")[0]
        if kind == "symhash":
            words = "symhash"
        else:
            sreg = t[4].rstrip(",")
            n = int(t[5].rstrip(","))
            seed = int(t[6].rstrip(")"), 16)
            key, _, _ = self.resolve(self.get(sreg, n))
            self._payload_dep_kill(key)
            words = f"jhash {key.text(self.o)}"
        words += f" mod {t[t.index('mod') + 1]}"
        if kind != "symhash":
            # nft lists the seed when the kernel dumps NFTA_HASH_SEED, i.e. when it was
            # given (0 included); only the instruction knows that, the dump text prints
            # 0x0 for a drawn seed too
            given = getattr(it.obj, "seed", None) if it.obj is not None else (seed or None)
            if given is not None:
                words += f" seed 0x{given:x}"
        if "offset" in t:
            words += f" offset {it.after('offset')}"
        self.put(t[1], Named(_INT, _HOST, 32, words))
        return 1

    def i_xfrm(self, it: Ins, ins, i):
        # [ xfrm load in 0 reqid => reg 1 ]
        t = it.toks
        d, spnum, key = t[1], int(t[2]), t[3]
        m = {"reqid": ("reqid", "integer", _HOST, 32), "spi": ("spi", "integer", _BIG, 32),
             "saddr4": ("ip saddr", "ipv4_addr", _BIG, 32), "daddr4": ("ip daddr", "ipv4_addr", _BIG, 32),
             "saddr6": ("ip6 saddr", "ipv6_addr", _BIG, 128), "daddr6": ("ip6 daddr", "ipv6_addr", _BIG, 128)}[key]
        words = f"ipsec {d}" + (f" spnum {spnum}" if spnum else "") + f" {m[0]}"
        self.put(t[-1], Named(DATATYPES[m[1]], m[2], m[3], words))
        return 1

    # matches --------------------------------------------------------------------------
    def resolve(self, e: Expr) -> tuple[Expr, int | None, int]:
        """Materialize pending loads: returns (expr, mask or None, shift)."""
        if isinstance(e, _Swapped):
            e = e.inner
        if isinstance(e, _Resolved):
            self.load_n = e.inner.nbytes
            return e.inner, None, 0
        self.load_n = e.nbytes
        if isinstance(e, Concat):
            items = []
            for it in e.items:
                r, _, _ = self.resolve(it)
                self._payload_dep_kill(r)
                items.append(r)
            self.load_n = e.nbytes
            return Concat(e.dtype, e.bo, e.bits, tuple(items)), None, 0
        if isinstance(e, _PendingPayload):
            self.load_n = e.n
            p, _ = self.payload(e.pbase, e.off, e.n)
            return p, None, 0
        if isinstance(e, _PendingMask):
            inner = e.inner
            if isinstance(inner, _Swapped):
                inner = inner.inner
            self.load_n = inner.nbytes if not isinstance(inner, _PendingPayload) else inner.n
            mask = int.from_bytes(e.mask[:inner.nbytes], "little" if inner.bo is _HOST else "big")
            if isinstance(inner, _PendingExthdr):
                for fmask, fshift, fe in inner.subs:
                    if fmask == mask:
                        return fe, None, fshift
                raise DelinearizeError(f"exthdr {inner.words} mask {mask:#x}")
            if isinstance(inner, _PendingPayload):
                p, shift = self.payload(inner.pbase, inner.off, inner.n, mask)
                if not p.raw:
                    full = p.bits == inner.n * 8
                    if not full:
                        return p, None, shift
                    return p, mask, 0
                # a raw sub-byte field: @ll,0,1 lists as @ll,0,8 & 0x80
                return p, mask, 0
            return inner, mask, 0
        return e, None, 0

    def i_cmp(self, it: Ins, ins, i):
        t = it.toks
        op, sreg = t[0], t[2]
        data = words_to_bytes(t[3:])
        raw = self.get(sreg, len(data) if len(data) > 16 else None)
        # ranges: cmp gte + cmp lte on the same register
        if op == "gte" and i + 1 < len(ins) and ins[i + 1].name == "cmp" and ins[i + 1].toks[0] == "lte" \
                and ins[i + 1].toks[2] == sreg:
            hi = words_to_bytes(ins[i + 1].toks[3:])
            self.relation_range(raw, "eq", data, hi)
            return 2
        exact = getattr(it.obj, "data", None)
        if isinstance(exact, (bytes, bytearray)) and 0 < len(exact) < len(data) and op in ("eq", "neq") \
                and self._cmp_prefix(raw, op, bytes(exact)):
            return 1
        self.relation(raw, op, data)
        return 1

    def _cmp_prefix(self, raw: Expr, op: str, exact: bytes) -> bool:
        """A cmp shorter than its address operand is a prefix (the kernel keeps the
        cmp length; nft netlink_parse_cmp turns it into ``addr/len``): ``ct original ip
        daddr 10.0.0.0/8``, ``ipsec in ip saddr 192.168.1.0/24``.  Payloads have their
        own shortened loads (see :meth:`payload`)."""
        if not isinstance(raw, (Ct, Named)) or raw.dtype.name not in ("ipv4_addr", "ipv6_addr") \
                or len(exact) >= raw.nbytes:
            return False
        o = "!= " if op == "neq" else ""
        if isinstance(raw, Ct) and raw.l3_from_ctx:
            # `ct original saddr 1.2.3.0/24`: the family-less key has no length yet when
            # nft parses the cmp (no prefix is made), so the short value is printed as
            # a number of the address type: `ct original ip saddr 0.1.2.3` (checked)
            v = int.from_bytes(exact, "big")
            self.emit(Stmt(f"{raw.text(self.o)} {o}{fmt_value(raw, v, self.o)}", kind="match", expr=raw))
            return True
        v = int.from_bytes(exact.ljust(raw.nbytes, b"\0"), "big")
        self.emit(Stmt(f"{raw.text(self.o)} {o}{fmt_value(raw, v, self.o)}/{len(exact) * 8}",
                       kind="match", expr=raw))
        return True

    def i_range(self, it: Ins, ins, i):
        t = it.toks
        op, sreg = t[0], t[2]
        words = t[3:]
        half = len(words) // 2
        lo, hi = words_to_bytes(words[:half]), words_to_bytes(words[half:])
        self.relation_range(self.get(sreg), op, lo, hi)
        return 1

    def relation_range(self, raw: Expr, op: str, lo: bytes, hi: bytes) -> None:
        e, mask, shift = self.resolve(raw)
        swapped = isinstance(raw, _Swapped) or isinstance(getattr(raw, "inner", None), _Swapped)
        lo_v, hi_v = self.val(e, lo, shift, swapped), self.val(e, hi, shift, swapped)
        shift = 0
        self._payload_dep_kill(e)
        o = "" if op == "eq" else "!= "
        ro = range_opts(self.o)
        txt = f"{e.text(self.o)} {o}{fmt_value(e, lo_v >> shift, ro)}-{fmt_value(e, hi_v >> shift, ro)}"
        self.emit(Stmt(txt, kind="match", expr=e))

    def relation(self, raw: Expr, op: str, data: bytes) -> None:
        if isinstance(raw, _FibPresent):
            v = data[0] if data else 0
            self.emit(Stmt(f"{raw.words} {_exists_text((v != 0) != (op == 'neq'), self.o)}", kind="match"))
            return
        e, mask, shift = self.resolve(raw)
        if isinstance(e, Exthdr) and e.present:
            self._payload_dep_kill(e)
            v = data[0] if data else 0
            # nft 1.0.6 keeps the operator of a presence test (`exthdr hbh != missing`;
            # checked: `!= exists` and `!= missing` list as written)
            o = "!= " if op == "neq" else ""
            self.emit(Stmt(f"{e.words} {o}{_exists_text(v != 0, self.o)}", kind="match"))
            return
        if isinstance(e, Concat):
            self.emit(Stmt(f"{e.text(self.o)} {_OPS[op] + ' ' if _OPS[op] else ''}"
                           f"{fmt_concat_value(e, data, self.o)}", kind="match"))
            return
        swapped = isinstance(raw, _Swapped) or isinstance(getattr(raw, "inner", None), _Swapped)
        if isinstance(e, Payload) and e.prefix:
            self._payload_dep_kill(e)
            full = int.from_bytes(data[:e.prefix // 8].ljust(e.nbytes, b"\0"), "big")
            o = "!= " if op == "neq" else ""
            self.emit(Stmt(f"{e.text(self.o)} {o}{fmt_value(e, full, self.o)}/{e.prefix}", kind="match", expr=e))
            return
        if isinstance(e, Payload) and e.raw and mask is None and op in ("eq", "neq") \
                and self._split_payload(e, data, op):
            return
        if isinstance(e, Payload) and e.raw and mask is not None and op == "eq" \
                and not shift and e.offset % 8 == 0:
            # a raw load of a bit count that is no whole number of bytes, as nft makes
            # it (`@nh,0,12 0x600`: a 2-byte load masked `& 0xfff0`), over whole fields
            plen = _prefix_len(mask, e.bits)
            if plen and int.from_bytes(data[:e.nbytes], "big") & ~mask == 0 \
                    and self._split_payload(e, data, op, bits=plen, partial_ok=False):
                return
        v = self.val(e, data, shift, swapped)
        shift = 0
        self._payload_dep_kill(e)
        lhs = e.text(self.o)
        idx = len(self.stmts)
        if isinstance(raw, _PendingMask) and any(raw.xor) and isinstance(v, int):
            # ( reg & m ) ^ x: nft linearizes `| x` as m = ~x, x, and `^ x` as m = all ones
            full = (1 << e.bits) - 1
            x = value_of(e, raw.xor)
            m = mask if mask is not None else full
            bop = "|" if m == (~x & full) else "^" if m == full else None
            if bop is not None:
                o = {"eq": "==", "neq": "!="}.get(op, _OPS[op])
                self.emit(Stmt(f"{lhs} {bop} {fmt_value(e, x, self.o)} {o} {fmt_value(e, v, self.o)}",
                               kind="match", expr=e))
                return
        if mask is not None and isinstance(v, int):
            full = (1 << e.bits) - 1
            if mask == full:
                mask = None
        if mask is not None and isinstance(v, int):
            plen = _prefix_len(mask, e.bits)
            bitmask = _is_bitmask(e.dtype)
            if op in ("eq", "neq") and v == 0 and (bitmask or not (plen and plen > 0)) and \
                    (bitmask or isinstance(e, (Ct, Meta)) and False):
                neg = op == "eq"
                txt = f"{lhs} {'! ' if neg else ''}{fmt_value(e, mask, self.o)}"
            elif bitmask and op in ("eq", "neq") and not (v == mask and mask & (mask - 1) == 0):
                o = "!= " if op == "neq" else ""
                txt = f"{lhs} {o}{fmt_value(e, v, self.o)} / {fmt_value(e, mask, self.o)}"
            elif plen is not None and (plen > 0 or e.dtype.name in ("ipv4_addr", "ipv6_addr")) \
                    and op in ("eq", "neq") and (v & ~mask) == 0 \
                    and not bitmask and not e.dtype.is_string() and not (isinstance(e, Payload) and e.raw):
                o = "!= " if op == "neq" else ""
                txt = f"{lhs} {o}{fmt_value(e, v, self.o)}/{plen}"
            else:
                o = {"eq": "==", "neq": "!="}.get(op, _OPS[op])
                txt = f"{lhs} & {fmt_value(e, mask, self.o)} {o} {fmt_value(e, v, self.o)}"
            self.emit(Stmt(txt, kind="match", expr=e))
            return
        if isinstance(v, int):
            v >>= shift
        if isinstance(v, (bytes, bytearray)) and len(data) < e.nbytes and op in ("eq", "neq"):
            s = bytes(data).rstrip(b"\0").decode(errors="surrogateescape")
            vs = '"' + s + '*"'
        else:
            vs = fmt_value(e, v, self.o)
            if isinstance(v, (bytes, bytearray)) and vs.endswith('*"'):
                vs = vs[:-2] + '\\*"'     # a literal star at full length (nft escapes it)
        o = _OPS[op]
        if op == "eq" and e.dtype.is_bitmask:
            o = "=="
            if e.dtype.name == "tcp_flag" and isinstance(v, int) and v & (v - 1):
                vs = f"0x{v:x}"     # nft 1.0.6: `tcp flags == syn|ack` lists `== 0x12`
        txt = f"{lhs} {o + ' ' if o else ''}{vs}"
        jtxt = None
        if e.dtype.name == "time" and v == 0 and not self.o.numeric:
            # nft time_print prints each non-zero unit, so nothing for 0 (checked: `ct
            # expiration 0s` lists `ct expiration `, its JSON is still `0`)
            jtxt, txt = txt, f"{lhs} {o + ' ' if o else ''}"
        st = Stmt(txt, kind="match", expr=e, op=op, value=v, json_text=jtxt)
        self.emit(st)
        if op == "eq" and isinstance(v, int):
            self.set_ctx_from(e, v, idx)

    def _split_payload(self, e: Payload, data: bytes, op: str = "eq", bits: int | None = None,
                       partial_ok: bool = True) -> bool:
        """nft 1.0.6 merges adjacent payload matches into one load (``tcp sport 1024 tcp
        dport 22`` is one 4-byte cmp; ``!=`` pairs too, nft payload_do_merge compares
        only the operators): split it back into the fields it covers, each with the
        load's operator (nft payload_match_expand).  Raw loads too, over the first
        ``bits`` bits of the load when a mask keeps only those."""
        proto = self.proto_at(e.base)
        if proto is None or proto not in PROTOCOLS:
            return False
        fields = [f for f in PROTOCOLS[proto].fields.values()]
        nbits = e.bits if bits is None else bits
        pos, end, parts = e.offset, e.offset + nbits, []
        partial = None
        while pos < end:
            # sub-byte fields too: `@nh,8,8 0x10` in ip is `ip dscp 0x04 ip ecn not-ect`,
            # `@nh,0,8 0x45` `ip version 4 ip hdrlength 5` (nft 1.0.6, checked); a load
            # that starts inside a field keeps it raw (`@nh,8,8` in ip6)
            f = next((f for f in fields if f.offset_bits == pos and pos + f.len_bits <= end), None)
            if f is None:
                # the last field covered only in its first bits is a prefix of it:
                # `@nh,0,8 0x63` in ip6 is `ip6 version 6 ip6 dscp af12/4`; not for a
                # masked load (`@nh,0,12 0x450` in ip stays raw) (checked)
                f = next((f for f in fields if f.offset_bits == pos and f.len_bits > end - pos), None)
                if f is None or not parts or not partial_ok or op != "eq":
                    return False
                partial = f
                break
            parts.append(f)
            pos += f.len_bits
        if len(parts) + (partial is not None) < 2:
            return False
        nb = (e.bits + 7) // 8
        whole = int.from_bytes(data[:nb], "big") >> (nb * 8 - nbits)
        for f in parts:
            pe = Payload(DATATYPES[f.dtype_name], _BIG, f.len_bits, e.base, f.offset_bits, proto, f.name)
            v = (whole >> (end - f.offset_bits - f.len_bits)) & ((1 << f.len_bits) - 1)
            if f.byte_aligned:
                self.relation(_Resolved(pe.dtype, pe.bo, pe.bits, pe), op, v.to_bytes(f.len_bits // 8, "big"))
                continue
            self._payload_dep_kill(pe)
            o = "!= " if op == "neq" else ""
            self.emit(Stmt(f"{pe.text(self.o)} {o}{fmt_value(pe, v, self.o)}", kind="match", expr=pe))
        if partial is not None:
            f, rem = partial, end - partial.offset_bits
            pe = Payload(DATATYPES[f.dtype_name], _BIG, f.len_bits, e.base, f.offset_bits, proto, f.name)
            v = (whole & ((1 << rem) - 1)) << (f.len_bits - rem)
            vt = fmt_value(pe, v, self.o)
            # JSON: a prefix of the value (`{"prefix": {"addr": "af12", "len": 4}}`)
            jv: Any = int(vt, 16) if vt.startswith("0x") else int(vt) if vt.isdigit() else vt
            js = {"match": {"op": "==", "left": {"payload": {"protocol": proto, "field": f.name}},
                            "right": {"prefix": {"addr": jv, "len": rem}}}}
            self.emit(Stmt(f"{pe.text(self.o)} {vt}/{rem}", kind="match", expr=pe, json=js))
        return True

    def val(self, e: Expr, data: bytes, shift: int, swapped: bool) -> int | bytes:
        """The value a register comparison means for ``e`` (sub-byte fields shifted)."""
        if swapped:
            return int.from_bytes(data[:e.nbytes], "big")
        if isinstance(e, (Payload, Exthdr)) and (shift or self.load_n != e.nbytes):
            return int.from_bytes(data[:self.load_n], "big") >> shift
        return value_of(e, data)

    def _payload_dep_kill(self, e: Expr, lookup: bool = False) -> None:
        if isinstance(e, Exthdr):
            # nft exthdr_dependency_kill: an IPv6 extension header or IPv4 option
            # releases the network protocol match (`meta nfproto ipv6`, `ether type ip`)
            if e.words.startswith("tcp option"):
                self.kill_dep(Base.TRANSPORT_HEADER)
            elif not e.words.startswith("sctp"):
                self.kill_dep(Base.NETWORK_HEADER)
            return
        if isinstance(e, Payload) and not e.raw:
            if e.proto == "th":
                return
            # `ether type 8021q vlan type ip` keeps the ether type in bridge/netdev/inet
            # (the vlan header's protocol key is a dependency itself); any other vlan
            # field releases it, and in ip/ip6/arp `vlan type` too (checked: `ether type
            # 8021q vlan type ip ip saddr 1.2.3.4` lists `ip saddr 1.2.3.4` there)
            if e.proto == "vlan" and self.vlan_ctx is not None and \
                    (e.field_name != "type" or lookup or self.family in ("ip", "ip6", "arp")):
                self.stmts[self.vlan_ctx].killed = True
                self.vlan_ctx = None
            if e.proto in ("icmp", "icmpv6") and self.icmp_ctx is not None and self.icmp_ctx[1] is not None:
                f = PROTOCOLS[e.proto].fields[e.field_name]
                # nft 1.0.6 payload_may_dependency_kill_icmp: the echo fields' dependency is
                # the set `icmp type { echo-reply, echo-request }`, so a single echo type
                # the user wrote (`icmp type echo-reply icmp id 1`) is kept; a field of one
                # type (mtu, gateway) releases its `icmp type` match
                if len(f.icmp_dep) == 1 and self.icmp_ctx[0] in f.icmp_dep:
                    self.stmts[self.icmp_ctx[1]].killed = True
                    self.icmp_ctx = (self.icmp_ctx[0], None)
            if e.proto in ("icmp", "icmpv6") and self.family in ("inet", "bridge", "netdev") and \
                    self.proto_at(Base.NETWORK_HEADER) == ("ip" if e.proto == "icmp" else "ip6"):
                # the network match came after `meta l4proto icmp` (see set_ctx_from)
                self.kill_dep(Base.NETWORK_HEADER)
            if e.base == Base.TRANSPORT_HEADER:
                self.kill_dep(Base.TRANSPORT_HEADER)
            elif e.base == Base.NETWORK_HEADER:
                self.kill_dep(Base.NETWORK_HEADER)
            elif e.base == Base.LL_HEADER:
                self.kill_dep(Base.LL_HEADER)

    # lookups and sets ----------------------------------------------------------------
    def next_anon(self, name: str) -> AnonSet | None:
        if name.startswith("__"):
            # the rule's ``__set%d`` sets in order; a meter's own (named) set is skipped
            for k, a in enumerate(self.anon_queue):
                if a.name.startswith("__") or a.name == name:
                    return self.anon_queue.pop(k)
            return None
        return None

    def set_info(self, name: str) -> AnonSet | None:
        """What the table knows of the set ``name`` (flags, size, data type), if anything."""
        for a in self.anon_queue:
            if a.name == name:
                return a
        return self.sets.get(name)

    def i_lookup(self, it: Ins, ins, i):
        t = it.toks
        sreg, name = t[1], t[3]
        inv = len(t) > 4 and t[-1] == "0x1"
        dreg = it.after("dreg")
        aset = self.next_anon(name)
        nbytes = len(aset.elements[0].key) if aset and aset.elements else None
        raw = self.get(sreg, nbytes)
        e, mask, shift = self.resolve(raw)
        swapped = isinstance(raw, _Swapped)
        if dreg is None or dreg == "0":
            self._payload_dep_kill(e, lookup=True)
        elif isinstance(e, Payload) and e.base == Base.TRANSPORT_HEADER and \
                not self._dep_is_meta(Base.TRANSPORT_HEADER):
            # a data map's key belongs to the statement that uses its value: nft 1.0.6
            # lists `ip protocol tcp redirect to :tcp dport map { … }` with its payload
            # dependency, while the `meta l4proto tcp` of `dnat to tcp dport map` goes
            pass
        else:
            self._payload_dep_kill(e, lookup=True)
        if aset is None:
            rhs = f"@{name}"
        else:
            rhs = self.set_text(e, aset, swapped, shift)
        lhs = e.text(self.o)
        op = "!= " if inv else ""
        if mask is not None:
            # nft prints a masked lookup as a binop: `tcp flags & (syn | ack) == { ... }`
            mt = fmt_value(e, mask, self.o)
            if e.dtype.is_bitmask and e.dtype.symbols and mask & (mask - 1):
                if self.o.numeric == 0:
                    mt = "(" + _bitmask_text(e.dtype, mask, " | ") + ")"
                else:   # -n: each bit in hex, still an OR of bits (measured)
                    mt = "(" + " | ".join(f"0x{1 << b:x}" for b in range(mask.bit_length())
                                          if mask >> b & 1) + ")"
            lhs = f"{lhs} & {mt}"
            op = "!= " if inv else "== "
        if dreg is None:
            self.emit(Stmt(f"{lhs} {op}{rhs}", kind="match", expr=e))
        elif dreg == "0":
            self.emit(Stmt(f"{lhs} vmap {rhs}", kind="verdict"))
        else:
            m = _Mapped(_INT, _BIG, 32, f"{lhs} map {rhs}", lhs, e, aset, swapped)
            self.put(dreg, m)
            # data wider than a word (NAT `addr . port`, address ranges) fills the next
            # 32-bit registers too (nft_lookup copies set->dlen bytes to dreg)
            dlen = None
            if aset is not None and aset.elements:
                dlen = max((len(el.data) for el in aset.elements if isinstance(el.data, (bytes, bytearray))),
                           default=None)
            elif aset is None:
                dlen = self.named_data.get(name)
            base = self.slot(dreg)
            for k in range(1, ((dlen or 0) + 3) // 4):
                self.regs[base + k] = _RegVal(_MapCont(_INT, _BIG, 32, m, k), self.seq)
        return 1

    def set_text(self, e: Expr, s: AnonSet, swapped: bool = False, shift: int = 0) -> str:
        items = elements_text(e, s, self.o, swapped, shift=shift, load_n=self.load_n)
        return "{ " + ", ".join(items) + " }"

    def rhs_text(self, lhs: Expr, src: Expr) -> str:
        if isinstance(src, Imm):
            return fmt_value(lhs, value_of(lhs, src.data), self.o)
        if isinstance(src, _Mapped):
            if src.aset is None:
                return src.words
            items = elements_text(src.key, src.aset, self.o, src.swapped, lhs)
            return f"{src.lhs} map {{ " + ", ".join(items) + " }"
        if isinstance(src, _PendingMask) and not isinstance(src.inner, _PendingPayload):
            inner = src.inner.inner if isinstance(src.inner, _Swapped) else src.inner
            full = (1 << inner.bits) - 1
            m = value_of(inner, src.mask)
            x = value_of(inner, src.xor)
            inner_t = self.rhs_text(lhs, inner)
            if x and m == (~x & full):
                return f"{inner_t} | {fmt_value(inner, x, self.o)}"
            if x and m == full:
                return f"{inner_t} ^ {fmt_value(inner, x, self.o)}"
            if not x:
                return f"{inner_t} & {fmt_value(inner, m, self.o)}"
            if not m & x:
                # `and A or B`: nft linearizes it as m = A & ~B, x = B and lists the mask
                # as m | x (netlink_parse_bitwise: the OR's bits are kept by the mask)
                return f"{inner_t} & {fmt_value(inner, m | x, self.o)} | {fmt_value(inner, x, self.o)}"
        if isinstance(src, Binop) and src.op in ("<<", ">>"):
            inner_t = self.rhs_text(lhs, src.left)
            if isinstance(src.left, _PendingMask):
                inner_t = f"({inner_t})"
            return f"{inner_t} {src.op} {src.right}"
        e, mask, shift = self.resolve(src)
        return e.text(self.o)

    # statements ------------------------------------------------------------------------
    def i_counter(self, it: Ins, ins, i):
        if self.o.stateless:
            self.emit(Stmt("counter"))
        else:
            self.emit(Stmt(f"counter packets {it.after('pkts')} bytes {it.after('bytes')}"))

    def i_notrack(self, it, ins, i):
        self.emit(Stmt("notrack"))

    def i_limit(self, it: Ins, ins, i):
        # [ limit rate 400/minute burst 5 type packets flags 0x0 ]
        rate, unit = it.after("rate").split("/")
        burst = int(it.after("burst"))
        typ = it.after("type")
        over = int(it.after("flags", "0"), 0) & 1
        s = "limit rate " + ("over " if over else "")
        if typ == "bytes":
            v, u = _data_unit(int(rate))
            s += f"{v} {u}/{unit}"
            if burst:
                bv, bu = _data_unit(burst)
                s += f" burst {bv} {bu}"
        else:
            s += f"{rate}/{unit}"
            if burst != 5:
                s += f" burst {burst} packets"
        self.emit(Stmt(s))

    def i_quota(self, it: Ins, ins, i):
        n = int(it.after("bytes"))
        used = int(it.after("consumed", "0"))
        flags = int(it.after("flags", "0"), 0)
        v, u = _data_unit(n)
        s = "quota " + ("over " if flags & 1 else "") + f"{v} {u}"
        if used and not self.o.stateless:
            uv, uu = _data_unit(used)
            s += f" used {uv} {uu}"
        self.emit(Stmt(s))

    def i_log(self, it: Ins, ins, i):
        t = it.toks
        parts = ["log"]
        text = it.text
        if "prefix" in t:
            pre = text.split("prefix ", 1)[1]
            # prefix runs until the next known keyword
            for kw in (" level ", " group ", " snaplen ", " qthreshold ", " tcpseq", " tcpopt", " ipopt",
                       " uid", " macdecode", " ]"):
                pre = pre.split(kw, 1)[0]
            parts.append(f'prefix "{pre}"')
        if "group" in t:
            parts.append(f"group {it.after('group')}")
            if "snaplen" in t and it.after("snaplen") != "0":
                parts.append(f"snaplen {it.after('snaplen')}")
            if "qthreshold" in t and it.after("qthreshold") != "0":
                parts.append(f"queue-threshold {it.after('qthreshold')}")
        else:
            if "snaplen" in t:
                parts.append(f"snaplen {it.after('snaplen')}")
            if "level" in t:
                lvl = int(it.after("level"))
                name = ("emerg", "alert", "crit", "err", "warn", "notice", "info", "debug", "audit")[lvl] \
                    if lvl <= 8 else str(lvl)
                if name != "warn":
                    parts.append(f"level {name}")
        flags = [f for f in ("tcpseq", "tcpopt", "ipopt", "uid", "macdecode") if f in t]
        if len(flags) == 5:
            parts.append("flags all")
        else:
            names = {"tcpseq": "tcp sequence", "tcpopt": "tcp options", "ipopt": "ip options",
                     "uid": "skuid", "macdecode": "ether"}
            tcp = [f for f in flags if f.startswith("tcp")]
            if tcp:
                parts.append("flags tcp " + ",".join({"tcpseq": "sequence", "tcpopt": "options"}[f] for f in tcp))
            for f in flags:
                if not f.startswith("tcp"):
                    parts.append("flags " + names[f])
        self.emit(Stmt(" ".join(parts)))

    def i_reject(self, it: Ins, ins, i):
        typ = int(it.after("type"))
        code = int(it.after("code"))
        fam = self.family
        if typ == 1:
            s = "reject with tcp reset"
            # nft stmt_reject_postprocess: ip/ip6 release the transport dependency;
            # inet/bridge/netdev only the network one (`ip protocol tcp` stays)
            self.kill_dep(Base.TRANSPORT_HEADER if fam in ("ip", "ip6") else Base.NETWORK_HEADER)
        elif typ == 2:
            name = {0: "no-route", 1: "port-unreachable", 2: "host-unreachable", 3: "admin-prohibited"}.get(code, str(code))
            if self.o.numeric:
                name = str(code)
            s = "reject" if code == 1 and fam in ("inet", "bridge", "netdev") else f"reject with icmpx {name}"
        else:
            l3 = self.proto_at(Base.NETWORK_HEADER)
            if fam == "ip6" or (fam in ("inet", "bridge", "netdev") and l3 == "ip6"):
                name = DATATYPES["icmpv6_code"].format(code, numeric=self.o.numeric)
                s = "reject" if code == 4 and fam == "ip6" else f"reject with icmpv6 {name}"
            else:
                name = DATATYPES["icmp_code"].format(code, numeric=self.o.numeric)
                s = "reject" if code == 3 and fam == "ip" else f"reject with icmp {name}"
            # nft stmt_reject_postprocess: the icmp/icmpv6 reject's network dependency
            # goes; in ip/ip6 only a `meta protocol` naming the table's own family
            # (`meta protocol ip reject` in ip lists `reject`, `ether type ip` and
            # `meta protocol ip6` stay)
            if fam in ("inet", "bridge", "netdev"):
                self.kill_dep(Base.NETWORK_HEADER)
            else:
                _, idx = self.ctx.get(Base.NETWORK_HEADER, (None, None))
                dep = self.stmts[idx] if idx is not None and idx < len(self.stmts) else None
                own = 0x0800 if fam == "ip" else 0x86DD
                if dep is not None and isinstance(dep.expr, Meta) and dep.expr.name == "protocol" \
                        and dep.value == own:
                    self.kill_dep(Base.NETWORK_HEADER)
        self.emit(Stmt(s, kind="verdict"))

    def i_queue(self, it: Ins, ins, i):
        t = it.toks
        parts = ["queue"]
        flags = [f for f in ("bypass", "fanout") if f in t]
        if flags:
            parts.append("flags " + ",".join(flags))
        if t[0] == "num":
            parts.append(f"to {t[1]}")
        elif t[0] == "sreg_qnum":
            src = self.get(t[1])
            parts.append(f"to {self.rhs_text(Named(_INT, _HOST, 32, ''), src)}")
        s = " ".join(parts)
        if s == "queue to 0":
            s = "queue"
        self.emit(Stmt(s, kind="verdict"))

    def _nat_args(self, it: Ins, fam: str | None) -> str:
        t = it.toks
        amin, amax = it.after("addr_min"), it.after("addr_max")
        pmin, pmax = it.after("proto_min"), it.after("proto_max")
        l3 = fam if fam in ("ip", "ip6") else ("ip6" if self.family == "ip6" else "ip")
        adt = DATATYPES["ipv6_addr" if l3 == "ip6" else "ipv4_addr"]
        aexpr = Named(adt, _BIG, 128 if l3 == "ip6" else 32, "")
        pexpr = Named(DATATYPES["inet_service"], _BIG, 16, "")
        s = ""
        an = aexpr.nbytes
        if amin is not None:
            lo_src = self.get(amin, an)
            hi_src = self.get(amax, an) if amax is not None and amax != amin else None
            if isinstance(lo_src, Imm) and isinstance(hi_src, Imm) and len(lo_src.data) >= an \
                    and len(hi_src.data) >= an and "/" in _range_text(
                        aexpr, int.from_bytes(lo_src.data[:an], "big"), int.from_bytes(hi_src.data[:an], "big"), self.o):
                # nft lists an address range that is a whole prefix as the prefix
                s += _range_text(aexpr, int.from_bytes(lo_src.data[:an], "big"),
                                 int.from_bytes(hi_src.data[:an], "big"), self.o)
            else:
                a = self.rhs_text(aexpr, lo_src)
                if l3 == "ip6" and pmin is not None:
                    a = f"[{a}]"
                s += a
                if hi_src is not None:
                    b = self.rhs_text(aexpr, hi_src)
                    s += "-" + (f"[{b}]" if l3 == "ip6" and pmin is not None else b)
        if pmin is not None:
            s += ":" + self.rhs_text(pexpr, self.get(pmin))
            if pmax is not None and pmax != pmin:
                s += "-" + self.rhs_text(pexpr, self.get(pmax))
        return s

    @staticmethod
    def _nat_flags(it: Ins) -> str:
        f = int(it.after("flags", "0"), 0)
        names = []
        # NF_NAT_RANGE_*: 0x4 random, 0x8 persistent, 0x10 fully-random
        for bit, name in ((0x4, "random"), (0x10, "fully-random"), (0x8, "persistent")):
            if f & bit:
                names.append(name)
        return " " + ",".join(names) if names else ""

    def _nat_map(self, it: Ins, fam: str | None) -> tuple[str, bool] | None:
        """``ip daddr . tcp dport map @m`` when the NAT registers are all filled by one
        map lookup (address and port, or address range, from the map's data): the
        text and whether nft prints the family (it does for such maps)."""
        amin = it.after("addr_min")
        if amin is None:
            return None
        rv = self.regs.get(self.slot(amin))
        if rv is None or not isinstance(rv.expr, _Mapped):
            return None
        m = rv.expr
        base = self.slot(amin)
        offs = {}
        for k in ("addr_max", "proto_min", "proto_max"):
            r = it.after(k)
            if r is None:
                continue
            x = self.regs.get(self.slot(r))
            if x is None or not isinstance(x.expr, _MapCont) or x.expr.of is not m:
                return None
            offs[k] = self.slot(r) - base
        if not offs:
            return None         # a plain address map: no family printed (but in inet)
        l3 = fam if fam in ("ip", "ip6") else ("ip6" if self.family == "ip6" else "ip")
        adt = DATATYPES["ipv6_addr" if l3 == "ip6" else "ipv4_addr"]
        aexpr = Named(adt, _BIG, 128 if l3 == "ip6" else 32, "")
        pexpr = Named(DATATYPES["inet_service"], _BIG, 16, "")
        nd = _NatData(_INT, _BIG, 32, aexpr, pexpr, 0, offs.get("addr_max"), offs.get("proto_min"),
                      offs.get("proto_max"))
        if m.aset is None:
            return m.words, True
        items = elements_text(m.key, m.aset, self.o, m.swapped, nd)
        return f"{m.lhs} map {{ " + ", ".join(items) + " }", True

    def i_nat(self, it: Ins, ins, i):
        t = it.toks
        kind, fam = t[0], t[1]
        mapped = self._nat_map(it, fam)
        if mapped is not None:
            flags = int(it.after("flags", "0"), 0)
            pre = f"{kind} {fam}" + (" prefix" if flags & 0x40 else "")
            self._kill_for_nat(it)
            self.emit(Stmt(f"{pre} to {mapped[0]}{self._nat_flags(it)}", kind="verdict"))
            return
        args = self._nat_args(it, fam)
        pre = kind
        if self.family == "inet" and fam in ("ip", "ip6") and it.after("addr_min") is not None:
            pre += f" {fam}"
        if int(it.after("flags", "0"), 0) & 0x40:       # NF_NAT_RANGE_NETMAP
            pre += " prefix"
        self._kill_for_nat(it)
        self.emit(Stmt(f"{pre} to {args}{self._nat_flags(it)}" if args else f"{pre}{self._nat_flags(it)}",
                       kind="verdict"))

    def _kill_for_nat(self, it: Ins) -> None:
        # nft keeps the l4proto match a NAT port needs (`meta l4proto tcp redirect to
        # :8080`): the user had to write it, so it is listed
        return

    def i_masq(self, it: Ins, ins, i):
        args = self._nat_args(it, None)
        self._kill_for_nat(it)
        self.emit(Stmt("masquerade" + (f" to {args}" if args else "") + self._nat_flags(it), kind="verdict"))

    def i_redir(self, it: Ins, ins, i):
        args = self._nat_args(it, None)
        self._kill_for_nat(it)
        self.emit(Stmt("redirect" + (f" to {args}" if args else "") + self._nat_flags(it), kind="verdict"))

    def i_dup(self, it: Ins, ins, i):
        s = "dup"
        a, d = it.after("sreg_addr"), it.after("sreg_dev")
        l3 = "ip6" if self.family == "ip6" else "ip"
        if a is not None:
            adt = DATATYPES["ipv6_addr" if l3 == "ip6" else "ipv4_addr"]
            n = 16 if l3 == "ip6" else 4
            s += " to " + self.rhs_text(Named(adt, _BIG, n * 8, ""), self.get(a, n))
        if d is not None:
            s += (" device " if a is not None else " to ") + self.rhs_text(
                Named(DATATYPES["iface_index"], _HOST, 32, ""), self.get(d))
        self.emit(Stmt(s))

    def i_fwd(self, it: Ins, ins, i):
        d = it.after("sreg_dev")
        dev = self.rhs_text(Named(DATATYPES["iface_index"], _HOST, 32, ""), self.get(d))
        a = it.after("sreg_addr")
        if a is None:
            self.emit(Stmt("fwd to " + dev, kind="verdict"))
            return
        # the neighbour form (nft fwd_stmt_print): `fwd ip|ip6 to ADDR device DEV`
        v6 = it.after("nfproto") == "10"
        adt = DATATYPES["ipv6_addr" if v6 else "ipv4_addr"]
        n = 16 if v6 else 4
        addr = self.rhs_text(Named(adt, _BIG, n * 8, ""), self.get(a, n))
        self.emit(Stmt(f"fwd {'ip6' if v6 else 'ip'} to {addr} device {dev}", kind="verdict"))

    def i_tproxy(self, it: Ins, ins, i):
        t = it.toks
        fam = t[0] if t[0] in ("ip", "ip6") else None
        a, p = it.after("addr"), it.after("port")
        adt = DATATYPES["ipv6_addr" if fam == "ip6" or self.family == "ip6" else "ipv4_addr"]
        s = "tproxy"
        if fam and self.family == "inet":
            s += f" {fam}"
        s += " to "
        if a is not None:
            n = 16 if adt.name == "ipv6_addr" else 4
            av = self.rhs_text(Named(adt, _BIG, n * 8, ""), self.get(a, n))
            s += f"[{av}]" if adt.name == "ipv6_addr" else av     # nft tproxy_stmt_print
        if p is not None:
            s += ":" + self.rhs_text(Named(DATATYPES["inet_service"], _BIG, 16, ""), self.get(p))
        self.emit(Stmt(s))

    def i_synproxy(self, it: Ins, ins, i):
        t = it.toks
        flags = getattr(it.obj, "flags", None)
        if flags:
            # nft synproxy_stmt_print: mss and wscale together when either flag is set,
            # then the option flags; synproxy_stmt_json: each value only with its flag
            mss, wscale = int(it.after("mss", "0")), int(it.after("wscale", "0"))
            s, d = "synproxy", {}
            if flags & (_SYNPROXY_MSS | _SYNPROXY_WSCALE):
                s += f" mss {mss} wscale {wscale}"
            if flags & _SYNPROXY_MSS:
                d["mss"] = mss
            if flags & _SYNPROXY_WSCALE:
                d["wscale"] = wscale
            fl = [name for name, bit in _SYNPROXY_FLAGS if flags & bit]
            if fl:
                s += " " + " ".join(fl)
                d["flags"] = fl
            self.emit(Stmt(s, json={"synproxy": d or None}))
            return 1
        s = "synproxy"
        if "mss" in t and it.after("mss") != "0":
            s += f" mss {it.after('mss')}"
        if "wscale" in t and it.after("wscale") != "0":
            s += f" wscale {it.after('wscale')}"
        fl = [f for f in ("timestamp", "sack-perm") if f in t]
        if fl:
            s += " " + " ".join(fl)
        self.emit(Stmt(s))

    def i_connlimit(self, it: Ins, ins, i):
        n = it.after("count")
        f = int(it.after("flags", "0"))
        self.emit(Stmt(f"ct count {'over ' if f & 1 else ''}{n}"))

    def i_objref(self, it: Ins, ins, i):
        t = it.toks
        # NFT_OBJECT_* values (include/uapi/linux/netfilter/nf_tables.h) -> nft's
        # objref_stmt_print: "counter name X", "ct helper set X", "meta secmark set X"
        types = {1: "counter name", 2: "quota name", 3: "ct helper set", 4: "limit name",
                 7: "ct timeout set", 8: "meta secmark set", 9: "ct expectation set",
                 10: "synproxy name"}
        if t[0] == "type":
            kind = types.get(int(t[1]), f"{t[1]} name")
            self.emit(Stmt(f"{kind} {_quote_name(t[3])}"))
        else:
            sreg, name = t[1], t[3]
            aset = self.next_anon(name)
            nbytes = len(aset.elements[0].key) if aset and aset.elements else None
            e, _, _ = self.resolve(self.get(sreg, nbytes))
            self._payload_dep_kill(e)
            rhs = f"@{name}" if aset is None else self.set_text(e, aset)
            # the objref of a map carries no object type: nft reads it from the map
            # (set->objtype); ours is the model's data type of the (anonymous) map
            info = aset if aset is not None else self.sets.get(name)
            kind = _OBJ_STMT.get(info.dtype) if info is not None and info.dtype else None
            if kind is None:
                self.emit(Stmt(f"{{obj}} name {e.text(self.o)} map {rhs}", kind="objmap"))
            else:
                self.emit(Stmt(f"{kind} {e.text(self.o)} map {rhs}"))

    def i_dynset(self, it: Ins, ins, i):
        # [ dynset add reg_key 1 set s sreg_data 2 ]
        # [ dynset update reg_key 1 set s timeout 10ms expr [ counter ... ] expr [ quota ... ] ]
        # nft netlink_parse_dynset: a dynset on an anonymous set with statements is a
        # meter (`meter m size N { key stmt }`), one with data a map statement
        # (`add @m { key : data }`), any other a set statement (`add @s { key stmt }`)
        t = it.toks
        op, name = t[0], it.after("set")
        e, _, _ = self.resolve(self.get(it.after("reg_key")))
        self._payload_dep_kill(e)
        info = self.set_info(name)
        body = e.text(self.o)
        if "timeout" in t:
            ms = int(it.after("timeout").rstrip("ms"))
            # nft time_print: whole seconds under -T / -n (NFT_CTX_OUTPUT_NUMERIC_TIME)
            body += " timeout " + (f"{ms // 1000}s" if self.o.numeric_time or self.o.numeric else _ms_text(ms))
        if "sreg_data" in t:
            body += " : " + self._dynset_data(self.get(it.after("sreg_data")), info)
        stmts = []
        for inner in _DYNSET_EXPR.findall(it.text):
            # nft prints a dynset's statement templates stateless (no packet counts)
            sub = _Delin(self.family, {}, replace(self.o, stateless=True))
            sub.run([parse_line(inner)])
            stmts.extend(x.text for x in sub.stmts)
        if stmts:
            body += " " + " ".join(stmts)
        if stmts and info is not None and info.flags & SET_ANONYMOUS:
            self.emit(Stmt(f"meter {name} size {info.size or 0} {{ {body} }}"))
        else:
            self.emit(Stmt(f"{op} @{name} {{ {body} }}"))

    def _dynset_data(self, src: Expr, info: AnonSet | None) -> str:
        """The data of ``add @m { key : data }``: an expression, or a constant printed
        with the map's data type (nft types the immediate from ``set->data``)."""
        dt = DATATYPES.get(info.dtype) if info is not None and info.dtype else None
        if isinstance(src, Imm) and dt is not None:
            bits = dt.size_bits or src.bits
            lhs = Named(dt, dt.byteorder, bits, words="")
            try:
                return fmt_value(lhs, value_of(lhs, src.data), self.o)
            except DelinearizeError:
                pass
        if isinstance(src, Imm):
            return "0x" + src.data[::-1].hex() if len(src.data) == 4 else src.text(self.o)
        e, _, _ = self.resolve(src)
        return e.text(self.o)

    # postprocess ----------------------------------------------------------------------
    def postprocess(self) -> list[Stmt]:
        out = [s for s in self.stmts if not s.killed]
        for s in out:
            if s.kind == "objmap":
                pass
        return out


@dataclass(slots=True)
class _PendingExthdr(Exthdr):
    """Bytes of an extension header holding sub-byte fields; the mask that follows picks one."""
    subs: tuple = ()        # (mask, shift, Exthdr) per candidate field

    def text(self, o: ListOptions) -> str:
        raise DelinearizeError(f"exthdr {self.words} without a field mask")


@dataclass(slots=True)
class _PendingPayload(Expr):
    pbase: Base = Base.NETWORK_HEADER
    off: int = 0
    n: int = 0

    def text(self, o):
        return f"@{_RAW_BASE[self.pbase]},{self.off * 8},{self.n * 8}"


@dataclass(slots=True)
class _PendingMask(Expr):
    inner: Expr | None = None
    mask: bytes = b""
    xor: bytes = b""

    def text(self, o):
        return self.inner.text(o)


@dataclass(slots=True)
class _Resolved(Expr):
    inner: Expr | None = None

    def text(self, o):
        return self.inner.text(o)


@dataclass(slots=True)
class _Swapped(Expr):
    inner: Expr | None = None

    def text(self, o):
        return self.inner.text(o)


def _unswap(x: Expr) -> Expr:
    """A part of a concatenation converted by ``byteorder hton`` (host-endian parts of a
    concatenated interval key): its element bytes are big endian."""
    if isinstance(x, _Swapped) and x.inner is not None and not isinstance(x.inner, (Concat, _Swapped)):
        try:
            return dataclasses.replace(x.inner, bo=_BIG)
        except (TypeError, ValueError):
            return x
    return x


@dataclass(slots=True)
class _Mapped(Expr):
    words: str = ""
    lhs: str = ""
    key: Any = None
    aset: Any = None
    swapped: bool = False

    def text(self, o):
        return self.words


@dataclass(slots=True)
class _MapCont(Expr):
    """Word ``index`` of a map lookup's data (the registers after ``dreg``)."""
    of: Any = None
    index: int = 0

    def text(self, o):
        raise DelinearizeError("register holds part of a map's data")


@dataclass(slots=True)
class _NatData(Expr):
    """How a NAT map's data is laid out (word offsets of address and port, min and max;
    nft ``stmt_evaluate_nat_map``): formats one element's data as nft lists it."""
    aexpr: Any = None
    pexpr: Any = None
    amin: int = 0
    amax: int | None = None
    pmin: int | None = None
    pmax: int | None = None

    def text(self, o):  # pragma: no cover - only its fmt is used
        return ""

    def fmt(self, data: bytes, o: ListOptions) -> str:
        an = self.aexpr.nbytes

        def addr(off):
            return int.from_bytes(data[off * 4: off * 4 + an], "big")

        def port(off):
            return int.from_bytes(data[off * 4: off * 4 + 2], "big")

        out = [_range_text(self.aexpr, addr(self.amin), addr(self.amax) if self.amax is not None else None, o)]
        if self.pmin is not None:
            out.append(_range_text(self.pexpr, port(self.pmin), port(self.pmax) if self.pmax is not None else None, o))
        return " . ".join(out)


def _range_text(e: Expr, lo: int, hi: int | None, o: ListOptions) -> str:
    """``lo``, ``lo/len`` (an address range that is a prefix) or ``lo-hi``."""
    if hi is None or hi == lo:
        return fmt_value(e, lo, o)
    size = hi - lo + 1
    if e.dtype.name in ("ipv4_addr", "ipv6_addr") and size > 0 and size & (size - 1) == 0 and lo % size == 0:
        return f"{fmt_value(e, lo, o)}/{e.bits - (size.bit_length() - 1)}"
    ro = range_opts(o)
    return f"{fmt_value(e, lo, ro)}-{fmt_value(e, hi, ro)}"


@dataclass(slots=True)
class _FibPresent(Expr):
    words: str = ""

    def text(self, o):
        return self.words


# NF_SYNPROXY_OPT_* (include/uapi/linux/netfilter/nf_synproxy.h)
_SYNPROXY_MSS, _SYNPROXY_WSCALE = 0x1, 0x2
_SYNPROXY_FLAGS = (("timestamp", 0x8), ("sack-perm", 0x4))

# NFT_OBJECT_* kinds (the model's object map data type) -> nft's objref_stmt_print words
_OBJ_STMT = {"counter": "counter name", "quota": "quota name", "ct helper": "ct helper set",
             "limit": "limit name", "ct timeout": "ct timeout set", "secmark": "meta secmark set",
             "ct expectation": "ct expectation set", "synproxy": "synproxy name"}

# a dynset's statement templates: `expr [ counter pkts 0 bytes 0 ] expr [ quota ... ]`
_DYNSET_EXPR = re.compile(r"\bexpr (\[ [^\[\]]* \])")


def _quote_name(n: str) -> str:
    return f'"{n}"' 


def _tcpopt_name(kind: int) -> str:
    for h in TCP_OPTIONS.values():
        if h.kind == kind:
            return h.name
    return str(kind)


def _l4_name(v: int) -> str | None:
    for name in ("tcp", "udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "igmp", "esp", "ah", "comp"):
        p = PROTOCOLS[name]
        if p.number == v:
            return name
    return {6: "tcp", 17: "udp", 136: "udplite", 132: "sctp", 33: "dccp", 1: "icmp", 58: "icmpv6",
            2: "igmp", 50: "esp", 51: "ah", 108: "comp"}.get(v)


def _data_unit(n: int) -> tuple[int, str]:
    """nft's ``get_rate``: the largest of bytes/kbytes/mbytes that divides exactly."""
    unit = "bytes"
    for u in ("kbytes", "mbytes"):
        if n % 1024 == 0 and n >= 1024:
            n //= 1024
            unit = u
        else:
            break
    return n, unit


def _ms_text(ms: int) -> str:
    """nft's ``time_print``: ``1d2h3m4s5ms``."""
    if ms == 0:
        return "0s"
    out = ""
    for unit, n in (("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000), ("ms", 1)):
        if ms >= n:
            out += f"{ms // n}{unit}"
            ms %= n
    return out


# ---------------------------------------------------------------------------- set elements


def _key_value(e: Expr, key: bytes, swapped: bool) -> int | bytes:
    if swapped:
        return int.from_bytes(key[:e.nbytes], "big")
    return value_of(e, key)


def _msort_value(e: Expr, key: bytes, swapped: bool) -> int:
    """nft's expr_msort_value (src/mergesort.c): a value's number; a concatenation's
    parts, each in its own byte order and length, joined and read host-endian."""
    try:
        if isinstance(e, Concat):
            out, off = b"", 0
            for p in e.items:
                n = p.nbytes
                out += key[off:off + n]
                off += (n + 3) // 4 * 4
            return int.from_bytes(out, "little")
        v = _key_value(e, key, swapped)
        return int.from_bytes(v, "little") if isinstance(v, (bytes, bytearray)) else int(v)
    except Exception:   # an odd shape: keep the kernel's order for it
        return 0


def _elem_key_text(e: Expr, key: bytes, o: ListOptions, swapped: bool) -> str:
    if isinstance(e, Concat):
        return fmt_concat_value(e, key, o)
    return fmt_value(e, _key_value(e, key, swapped), o)


def _data_text(data, o: ListOptions, dexpr: Expr | None = None) -> str:
    if isinstance(data, str):
        return data
    if isinstance(dexpr, _NatData) and isinstance(data, (bytes, bytearray)):
        return dexpr.fmt(bytes(data), o)
    if isinstance(data, (bytes, bytearray)):
        if dexpr is not None:
            try:
                return fmt_concat_value(dexpr, data, o)
            except DelinearizeError:
                pass
        return str(int.from_bytes(data, "little"))
    return ""


def elements_text(e: Expr, s: AnonSet, o: ListOptions, swapped: bool = False,
                  dexpr: Expr | None = None, shift: int = 0, load_n: int | None = None) -> list[str]:
    """The items nft prints between the braces of an anonymous set (or map)."""
    items: list[str] = []
    catchall = [el for el in s.elements if el.flags & _ELEM_CATCHALL]
    if catchall:
        # NFT_SET_ELEM_CATCHALL: the `*` element, which nft lists last
        s = AnonSet(s.name, s.flags, s.size, [el for el in s.elements if not el.flags & _ELEM_CATCHALL])
        tail = []
        for el in catchall[:1]:
            t = "*"
            if el.data is not None and s.flags & (SET_MAP | SET_OBJECT):
                t += " : " + _data_text(el.data, o, dexpr)
            tail.append(t)
        return (elements_text(e, s, o, swapped, dexpr, shift, load_n) if s.elements else []) + tail
    if not s.interval and e.dtype.is_string() and not isinstance(e, Concat) and \
            any(len(el.key) < e.nbytes for el in s.elements):
        return _wildcard_set_items(e, s, o, dexpr)
    if not s.interval:
        # the kernel keeps one element per key (`{ 1, 0x0001 }` holds one)
        seen: set = set()
        els = [el for el in s.elements if not (el.key in seen or seen.add(el.key))]
        if e.dtype.is_bitmask and e.dtype.symbols and not isinstance(e, Concat) \
                and not shift and (not load_n or load_n == e.nbytes):
            return _bitmask_set_items(e, s, els, o, swapped, dexpr)
        if len(els[0].key if els else b"") <= 4 and not isinstance(e, Concat) and (load_n or e.nbytes) <= 2:
            # keys of up to 16 bits live in the kernel's bitmap backend (nft_set_bitmap),
            # which the listing walks in ascending key order
            # (by value: a host-endian key such as `meta iiftype` sorts by its number)
            if not shift and (not load_n or load_n == e.nbytes):
                els.sort(key=lambda el: _msort_value(e, el.key, swapped))
            else:
                els.sort(key=lambda el: int.from_bytes(el.key[:load_n or e.nbytes], "big"))
        elif not shift and (not load_n or load_n == e.nbytes or isinstance(e, Concat)):
            # nft sorts every listed set (netlink_list_setelems -> list_expr_sort)
            els.sort(key=lambda el: _msort_value(e, el.key, swapped))
        for el in els:
            if shift or (load_n and isinstance(e, Payload) and load_n != e.nbytes):
                k = fmt_value(e, int.from_bytes(el.key[:load_n], "big") >> shift, o)
            else:
                k = _elem_key_text(e, el.key, o, swapped)
            if el.data is not None and s.flags & (SET_MAP | SET_OBJECT):
                k += " : " + _data_text(el.data, o, dexpr)
            items.append(k)
        return items
    # Interval sets: the kernel holds start elements and end elements (flag 1) whose key
    # is one past the last value; nft's interval_map_decompose rebuilds ranges/prefixes.
    bits = e.bits if not isinstance(e, Concat) else 0
    els = sorted(s.elements, key=lambda x: _key_value(e, x.key, True) if not isinstance(e, Concat) else x.key)
    if isinstance(e, Concat):
        return _concat_interval_items(e, s, o, dexpr)
    pending = None
    out_ranges: list[tuple[int, int | None, Any]] = []
    for el in els:
        v = int.from_bytes(el.key[:e.nbytes], "big")
        if el.flags & 1:
            if pending is not None:
                out_ranges.append((pending[0], v - 1, pending[1]))
                pending = None
        else:
            if pending is not None:
                out_ranges.append((pending[0], v - 1, pending[1]))
            pending = (v, el.data)
    if pending is not None:
        out_ranges.append((pending[0], (1 << bits) - 1, pending[1]))
    for lo, hi, data in out_ranges:
        if lo == hi:
            t = fmt_value(e, _to_expr_value(e, lo), o)
        else:
            size = hi - lo + 1
            plen = None
            if size & (size - 1) == 0 and lo % size == 0 and e.dtype.name in ("ipv4_addr", "ipv6_addr"):
                plen = bits - (size.bit_length() - 1)
            if plen is not None:
                t = f"{fmt_value(e, lo, o)}/{plen}"
            else:
                ro = range_opts(o)
                t = f"{fmt_value(e, _to_expr_value(e, lo), ro)}-{fmt_value(e, _to_expr_value(e, hi), ro)}"
        if data is not None and s.flags & (SET_MAP | SET_OBJECT):
            t += " : " + _data_text(data, o, dexpr)
        items.append(t)
    return items


_ELEM_CATCHALL = 0x2     # enum nft_set_elem_flags


def _wildcard_set_items(e: Expr, s: AnonSet, o: ListOptions, dexpr: Expr | None) -> list[str]:
    """A string set holding a wildcard (``iifname { "lo", "veth*" }``): the wildcard
    element's key is only its prefix (shorter than the field); nft then keeps the set as
    intervals, which list in byte order (alphabetical)."""
    out = []
    seen: set = set()
    els = [el for el in s.elements if not (el.key in seen or seen.add(el.key))]
    for el in sorted(els, key=lambda el: el.key.ljust(e.nbytes, b"\0")):
        name = el.key.rstrip(b"\0").decode(errors="surrogateescape")
        t = f'"{name}*"' if len(el.key) < e.nbytes else f'"{name}"'
        if el.data is not None and s.flags & (SET_MAP | SET_OBJECT):
            t += " : " + _data_text(el.data, o, dexpr)
        out.append(t)
    return out


def _exists_text(exists: bool, o: ListOptions) -> str:
    # boolean_type's symbols; numerically (-n) nft prints 1 / 0
    if o.numeric:
        return "1" if exists else "0"
    return "exists" if exists else "missing"


def _bitmask_set_items(e: Expr, s: AnonSet, els: list, o: ListOptions, swapped: bool,
                       dexpr: Expr | None) -> list[str]:
    """Elements of a bitmask type (``tcp flags { syn | ack, syn }``).  nft turns a value
    with several bits into ``flagA | flagB`` (netlink_delinearize.c
    ``bitmask_expr_to_binops``: the lowest bit leftmost), and ``list_expr_sort`` sorts
    an OR by its left operand: all values sharing their lowest bit tie, and keep the
    order the kernel walked them in, the reverse of insertion (measured with nft 1.0.6:
    ``{ fin|syn, fin|rst, fin }`` lists ``{ fin, fin | rst, fin | syn }``)."""
    def lowbit(el) -> int:
        v = _key_value(e, el.key, swapped)
        return v & -v if isinstance(v, int) else 0
    out = []
    for el in sorted(reversed(els), key=lowbit):
        v = _key_value(e, el.key, swapped)
        if not isinstance(v, int):
            t = fmt_value(e, v, o)
        elif o.numeric and v & (v - 1):
            t = " | ".join(f"0x{1 << b:x}" for b in range(v.bit_length()) if v >> b & 1)
        elif o.numeric:
            t = fmt_value(e, v, o)
        else:
            t = _bitmask_text(e.dtype, v, " | ")
        if el.data is not None and s.flags & (SET_MAP | SET_OBJECT):
            t += " : " + _data_text(el.data, o, dexpr)
        out.append(t)
    return out


def _concat_interval_items(e: Concat, s: AnonSet, o: ListOptions, dexpr: Expr | None) -> list[str]:
    """Elements of an interval concatenation (the kernel's pipapo set: a key and a key
    end per element).  Each part prints as nft's ``concat_range_aggregate`` rebuilds
    it: one value, a prefix (addresses whose range is one aligned block) or ``lo-hi``."""
    if any(el.key_end is None for el in s.elements):
        raise DelinearizeError("interval concatenation")
    items = []
    for el in s.elements:       # nft lists pipapo elements in insertion order
        parts, pos = [], 0
        for it in e.items:
            n = it.nbytes
            lo_v, hi_v = value_of(it, el.key[pos:pos + n]), value_of(it, el.key_end[pos:pos + n])
            pos += (n + 3) // 4 * 4
            if lo_v == hi_v:
                parts.append(fmt_value(it, lo_v, o))
                continue
            if isinstance(lo_v, (bytes, bytearray)):
                # a wildcard string (`"veth*"`): prefix + zeros .. prefix + 0xff
                raw_lo, raw_hi = bytes(el.key[pos - (n + 3) // 4 * 4:][:n]), \
                    bytes(el.key_end[pos - (n + 3) // 4 * 4:][:n])
                k = len(raw_lo.rstrip(b"\0"))
                pre = raw_lo[:k]
                if raw_lo != pre.ljust(n, b"\0") or raw_hi != pre.ljust(n, b"\xff"):
                    raise DelinearizeError("string range in an interval concatenation")
                t = fmt_value(it, pre, o)
                parts.append(t[:-1] + '*"' if t.endswith('"') else t + "*")
                continue
            size = hi_v - lo_v + 1
            if it.dtype.name in ("ipv4_addr", "ipv6_addr") and size & (size - 1) == 0 and lo_v % size == 0:
                parts.append(f"{fmt_value(it, lo_v, o)}/{it.bits - (size.bit_length() - 1)}")
            else:
                ro = range_opts(o)
                parts.append(f"{fmt_value(it, lo_v, ro)}-{fmt_value(it, hi_v, ro)}")
        t = " . ".join(parts)
        if el.data is not None and s.flags & (SET_MAP | SET_OBJECT):
            t += " : " + _data_text(el.data, o, dexpr)
        items.append(t)
    return items


def _to_expr_value(e: Expr, big_v: int) -> int:
    return big_v


# ---------------------------------------------------------------------------- entry points


def _as_ins(x) -> Ins:
    if isinstance(x, Ins):
        return x
    if isinstance(x, str):
        return parse_line(x)
    dump = getattr(x, "dump", None)
    if dump is None:
        raise DelinearizeError(f"not an instruction: {x!r}")
    return dataclasses.replace(parse_line(dump()), obj=x)


def delinearize(instrs: Iterable, family: str, anon_sets: Iterable[AnonSet] = (),
                opts: ListOptions | None = None, named_data: dict[str, int] | None = None,
                named_sets: Mapping[str, AnonSet] | None = None) -> list[Stmt]:
    """Statements nft lists for the instruction list ``instrs`` (dump lines, :class:`Ins`,
    or objects with ``dump()``).  ``anon_sets`` are the rule's anonymous sets in the order
    their lookups appear; ``named_data`` the data length in bytes of the table's named
    maps (a lookup fills that many bytes of registers); ``named_sets`` what the table
    knows of its named sets (flags, size, data type, no elements): object map kinds,
    map data types of ``add @m { k : v }``, meters."""
    d = _Delin(family, named_sets if named_sets is not None else {}, opts or ListOptions())
    d.anon_queue = list(anon_sets)
    d.named_data = dict(named_data or {})
    try:
        return d.run([_as_ins(x) for x in instrs])
    except DelinearizeError:
        raise
    except (ValueError, IndexError, KeyError, TypeError, AttributeError) as e:
        # a malformed instruction line: one error type for callers, never a traceback
        raise DelinearizeError(f"cannot delinearize: {type(e).__name__}: {e}") from None


def rule_text(instrs: Iterable, family: str, anon_sets: Iterable[AnonSet] = (),
              opts: ListOptions | None = None, comment: str | None = None) -> str:
    """One rule as ``nft list`` prints it (without indentation and handle)."""
    o = opts or ListOptions()
    stmts = delinearize(instrs, family, anon_sets, o)
    text = " ".join(s.text for s in stmts)
    if comment is not None:
        text += f' comment "{comment}"'
    return text
