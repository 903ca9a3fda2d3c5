"""nft 1.0.6 datatypes: text <-> value <-> register bytes.

Theory of operation
-------------------
A :class:`Datatype` is nft's ``struct datatype``: name, description (as ``nft
describe`` prints it), size in bits, byte order, base type, and an optional symbol
table.  Values are kept in one documented form:

- integer-based types (addresses included) hold a Python ``int`` -- the number, not
  bytes: ``ipv4_addr`` 10.0.0.1 is ``0x0a000001``, ``inet_service`` ssh is ``22``,
  ``ether_type`` ip is ``0x0800``;
- string-based types (``string``, ``ifname``) hold ``bytes`` without padding.

:meth:`Datatype.to_reg` turns a value into the bytes nft puts in a register for a
given length, using the byte order (``meta mark`` 1 is ``01 00 00 00`` -- host order,
little-endian as on the machines nft 1.0.6 runs here -- and ``tcp dport`` 22 is
``00 16``).

Parsing follows nft's ``symbol_expr`` resolution: the type's own parser
(``parse_hook``), else its symbol table, else the base type's (``tcp_flag`` -> bitmask
-> integer).  Errors raise :class:`pkttables.errors.EvalError` with nft's message
(``Could not parse packet mark``, ``Could not resolve service: ...``); the caller adds
the location.  Formatting follows ``datatype_print``: ``numeric`` is 0 (default), 1
(``-n``: symbols off except where nft keeps them) or 2 (``-nn``); services are
printed as numbers by default in 1.0.6 (``nft list`` without ``-S``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Callable

from ..errors import EvalError, Location
from ..proto import ByteOrder
from ._symbols import SYMBOLS

__all__ = ["Datatype", "DATATYPES", "DATATYPES_BY_ID", "lookup", "TypeId"]

HOST, BIG, INVALID = ByteOrder.HOST, ByteOrder.BIG, ByteOrder.INVALID


class TypeId:
    """nft's ``enum datatypes`` (datatype.h), the ids stored in set udata."""

    INVALID, VERDICT, NFPROTO, BITMASK, INTEGER, STRING, LLADDR, IPADDR, IP6ADDR, ETHERADDR, \
        ETHERTYPE, ARPOP, INET_PROTOCOL, INET_SERVICE, ICMP_TYPE, TCP_FLAG, DCCP_PKTTYPE, MH_TYPE, \
        TIME, MARK, IFINDEX, ARPHRD, REALM, CLASSID, UID, GID, CT_STATE, CT_DIR, CT_STATUS, \
        ICMP6_TYPE, CT_LABEL, PKTTYPE, ICMP_CODE, ICMPV6_CODE, ICMPX_CODE, DEVGROUP, DSCP, ECN, \
        FIB_ADDR, BOOLEAN, CT_EVENTBIT, IFNAME, IGMP_TYPE, TIME_DATE, TIME_HOUR, TIME_DAY, \
        CGROUPV2 = range(47)


def _c_int(text: str) -> int:
    """strtoull(text, 0) as nft uses it: 0x hex, leading 0 octal, else decimal."""
    t = text.strip()
    if not t or t[0] in "+-":
        raise ValueError(text)
    if t[:2].lower() == "0x":
        return int(t[2:], 16)
    if len(t) > 1 and t[0] == "0":
        return int(t[1:], 8)
    return int(t, 10)


def _err(msg: str, loc: Location | None = None) -> EvalError:
    return EvalError(msg, loc)


@dataclass(frozen=True, slots=True, eq=False)
class Datatype:
    """One nft datatype.  See the module docstring for the value form."""

    type_id: int
    name: str
    desc: str
    size_bits: int
    byteorder: ByteOrder
    basetype: str | None = None
    symbols: tuple[tuple[str, int], ...] = ()
    sym_hex: bool = False  # describe prints the table in hexadecimal
    parse_hook: Callable[[str], int | bytes] | None = None
    format_hook: Callable[[int | bytes, int], str] | None = None
    # bitmask types list several names: "syn,ack" / "syn | ack"
    is_bitmask: bool = False
    key: str = ""  # registry key when it differs from name (time_date)

    # -- structure ---------------------------------------------------------------
    def base(self) -> Datatype | None:
        return DATATYPES[self.basetype] if self.basetype else None

    def chain(self) -> list[Datatype]:
        """This type's base types, nearest first (``tcp_flag``: bitmask, integer)."""
        out, b = [], self.base()
        while b is not None:
            out.append(b)
            b = b.base()
        return out

    def is_string(self) -> bool:
        return self.name in ("string",) or any(b.name == "string" for b in self.chain())

    # -- text -> value -------------------------------------------------------------
    def parse(self, text: str) -> int | bytes:
        """Parse a symbol/number as nft's evaluator does; raise EvalError with nft's text."""
        if self.parse_hook is not None:
            return self.parse_hook(text)
        for n, v in self.symbols:
            if n == text:
                return v
        for b in self.chain():
            if b.parse_hook is not None and b.name != "integer":
                return b.parse_hook(text)
            for n, v in b.symbols:
                if n == text:
                    return v
        if self.is_string():
            return text.encode("utf-8", "surrogateescape")
        try:
            value = _c_int(text)
        except ValueError:
            raise _err(f"Could not parse {self.desc}") from None
        return self.check_range(value)

    def check_range(self, value: int) -> int:
        if self.size_bits and value >= 1 << self.size_bits:
            raise _err(f"Value {value} exceeds valid range 0-{(1 << self.size_bits) - 1}")
        return value

    # -- value -> text -------------------------------------------------------------
    def format(self, value: int | bytes, *, numeric: int = 0) -> str:
        """The text nft lists for ``value`` (numeric: 0, 1 = ``-n``, 2 = ``-nn``)."""
        if self.format_hook is not None:
            return self.format_hook(value, numeric)
        if isinstance(value, (bytes, bytearray)):
            return '"' + bytes(value).rstrip(b"\0").decode(errors="replace") + '"'
        if self.is_bitmask:
            return _format_bitmask(self, value, numeric)
        if self.symbols and numeric == 0:
            for n, v in self.symbols:
                if v == value:
                    return n
        if self.symbols and self.sym_hex:
            return f"0x{value:0{max(1, (self.size_bits + 3) // 4) if self.size_bits % 8 == 0 else 2}x}"
        return str(value)

    # -- value -> register bytes -----------------------------------------------------
    def to_reg(self, value: int | bytes, len_bits: int | None = None) -> bytes:
        """The bytes nft stores for ``value`` in a ``len_bits`` register slot."""
        nbytes = ((len_bits if len_bits is not None else self.size_bits) + 7) // 8
        if isinstance(value, (bytes, bytearray)):
            return bytes(value).ljust(nbytes, b"\0")[:nbytes]
        return int(value).to_bytes(nbytes, "little" if self.byteorder is HOST else "big")

    def from_reg(self, data: bytes) -> int | bytes:
        if self.is_string():
            return bytes(data).rstrip(b"\0")
        return int.from_bytes(data, "little" if self.byteorder is HOST else "big")


def _format_bitmask(dt: Datatype, value: int, numeric: int) -> str:
    # nft's symbolic_constant_print for bitmasks: known bits by name, in table order,
    # joined with ","; leftover bits as one hex number.
    if value == 0:
        for n, v in dt.symbols:
            if v == 0 and numeric == 0:
                return n
        return "0x0"
    names, rest = [], value
    for n, v in dt.symbols:
        if v and value & v == v and rest & v:
            names.append(n if numeric == 0 else f"{v:#x}")
            rest &= ~v
    if rest:
        names.append(f"{rest:#x}")
    return ",".join(names)


def _bitmask_parse(dt_name: str):
    def parse(text: str) -> int:
        dt = DATATYPES[dt_name]
        value = 0
        for part in text.split(","):
            part = part.strip()
            for n, v in dt.symbols:
                if n == part:
                    value |= v
                    break
            else:
                try:
                    value |= dt.check_range(_c_int(part))
                except ValueError:
                    raise _err(f"Could not parse {dt.desc}") from None
        return value
    return parse


# -- type-specific hooks ------------------------------------------------------------

def _ipv4_parse(text: str) -> int:
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        # nft falls back to getaddrinfo(); offline that fails like this:
        raise _err("Could not resolve hostname: Temporary failure in name resolution") from None


def _ipv6_parse(text: str) -> int:
    try:
        return int(ipaddress.IPv6Address(text))
    except ValueError:
        raise _err("Could not resolve hostname: Temporary failure in name resolution") from None


def _lladdr_parse(text: str, nbytes: int = 6) -> int:
    parts = text.split(":")
    try:
        if len(parts) != nbytes or not all(1 <= len(p) <= 2 for p in parts):
            raise ValueError
        return int.from_bytes(bytes(int(p, 16) for p in parts), "big")
    except ValueError:
        raise _err(f"Could not parse link layer address") from None


def _lladdr_format(value, numeric: int) -> str:
    return ":".join(f"{b:02x}" for b in int(value).to_bytes(6, "big"))


def _service_parse(text: str) -> int:
    try:
        v = _c_int(text)
    except ValueError:
        v = _SERVICES.get(text)
        if v is None:
            raise _err(f"Could not resolve service: Servname not supported for ai_socktype") from None
        return v
    if v > 0xFFFF:
        raise _err("Service out of range")
    return v


def _proto_parse(text: str) -> int:
    try:
        v = _c_int(text)
    except ValueError:
        for n, val in SYMBOLS["inet_proto"]:
            if n == text:
                return val
        raise _err("Could not resolve protocol name") from None
    if v > 0xFF:
        raise _err("Protocol out of range")
    return v


def _mark_format(value, numeric: int) -> str:
    return f"0x{int(value):08x}"


_TIME_UNITS = (("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000), ("ms", 1))
_TIME_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$")


def _time_parse(text: str) -> int:
    """``1h2m3s`` -> milliseconds (nft ``time_parse``); a bare number is seconds."""
    if text.isdigit():
        return int(text) * 1000
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
        # the scanner's NUM token (strtoull base 0) reaches time_type as a number of
        # seconds: `ct expiration != 0xea` is 234 s (nft 1.0.6, checked)
        return int(text, 16) * 1000
    m = _TIME_RE.match(text)
    if not m or not text:
        raise _err("wrong time format")
    return sum(int(g) * mult for g, (_, mult) in zip(m.groups(), _TIME_UNITS) if g)


def _time_format(value, numeric: int) -> str:
    """nft ``time_print``: ``1h2m3s``; with ``-n`` (numeric time) seconds: ``3723s``."""
    ms = int(value)
    if numeric:
        return f"{ms // 1000}s"
    out = ""
    for unit, mult in _TIME_UNITS:
        q, ms = divmod(ms, mult)
        if q:
            out += f"{q}{unit}"
    return out or "0s"


def _day_parse(text: str) -> int:
    t = text.lower()
    for n, v in SYMBOLS["day"]:
        if n.lower() == t:
            return v
    if text.isdigit() and int(text) <= 6:
        return int(text)
    raise _err("Could not parse Day of week of packet reception")


def _day_format(value, numeric: int) -> str:
    if numeric:
        return str(int(value))
    for n, v in SYMBOLS["day"]:
        if v == value:
            return f'"{n}"'
    return str(int(value))


def _hour_parse(text: str) -> int:
    """``HH:MM[:SS]`` -> seconds since midnight (nft hour_type; timezone applied by eval)."""
    m = re.fullmatch(r"(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?", text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59 or int(m.group(3) or 0) > 59:
        raise _err("wrong time format")
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)


def _hour_format(value, numeric: int) -> str:
    s = int(value) % 86400
    h, m, sec = s // 3600, s // 60 % 60, s % 60
    return f'"{h:02d}:{m:02d}:{sec:02d}"' if sec else f'"{h:02d}:{m:02d}"'


def _uid_parse(text: str, gid: bool = False) -> int:
    try:
        n = _c_int(text)
    except ValueError:
        pass
    else:
        # nft 1.0.6 uid_type_parse/gid_type_parse: strtoull past UINT32_MAX
        if n > 0xFFFFFFFF:
            raise _err("Value too large")
        return n
    import grp
    import pwd
    try:
        return grp.getgrnam(text).gr_gid if gid else pwd.getpwnam(text).pw_uid
    except KeyError:
        raise _err("Group does not exist" if gid else "User does not exist") from None


def _ifname_parse(text: str) -> bytes:
    raw = text.encode("utf-8", "surrogateescape")
    if len(raw) > 16:
        raise _err("String exceeds maximum length of 16")
    return raw


def _services() -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open("/etc/services") as f:
            for line in f:
                parts = line.split("#", 1)[0].split()
                if len(parts) >= 2 and "/" in parts[1]:
                    port = int(parts[1].split("/")[0])
                    for n in [parts[0], *parts[2:]]:
                        out.setdefault(n, port)
    except OSError:
        pass
    return out


_SERVICES = _services()


def _T(type_id, name, desc, size, bo, base=None, *, hex_syms=False, parse=None, fmt=None,
       bitmask=False, key="") -> Datatype:
    return Datatype(type_id, name, desc, size, bo, base, tuple(SYMBOLS.get(key or name, ())), hex_syms,
                    parse, fmt, bitmask, key or name)


T = TypeId
_ALL = [
    _T(T.INVALID, "invalid", "invalid", 0, INVALID),
    _T(T.VERDICT, "verdict", "netfilter verdict", 0, HOST),
    _T(T.NFPROTO, "nf_proto", "netfilter protocol", 8, HOST, "integer"),
    _T(T.BITMASK, "bitmask", "bitmask", 0, HOST, "integer"),
    _T(T.INTEGER, "integer", "integer", 0, INVALID),
    _T(T.STRING, "string", "string", 0, HOST),
    _T(T.LLADDR, "lladdr", "link layer address", 0, BIG, "integer", parse=_lladdr_parse, fmt=_lladdr_format),
    _T(T.IPADDR, "ipv4_addr", "IPv4 address", 32, BIG, "integer", parse=_ipv4_parse,
       fmt=lambda v, n: str(ipaddress.IPv4Address(int(v)))),
    _T(T.IP6ADDR, "ipv6_addr", "IPv6 address", 128, BIG, "integer", parse=_ipv6_parse,
       fmt=lambda v, n: str(ipaddress.IPv6Address(int(v)))),
    _T(T.ETHERADDR, "ether_addr", "Ethernet address", 48, BIG, "lladdr", parse=_lladdr_parse, fmt=_lladdr_format),
    _T(T.ETHERTYPE, "ether_type", "Ethernet protocol", 16, BIG, "integer", hex_syms=True),
    _T(T.ARPOP, "arp_op", "ARP operation", 16, BIG, "integer", hex_syms=True),
    _T(T.INET_PROTOCOL, "inet_proto", "Internet protocol", 8, BIG, "integer", parse=_proto_parse),
    _T(T.INET_SERVICE, "inet_service", "internet network service", 16, BIG, "integer", parse=_service_parse),
    _T(T.ICMP_TYPE, "icmp_type", "ICMP type", 8, BIG, "integer"),
    _T(T.TCP_FLAG, "tcp_flag", "TCP flag", 8, BIG, "bitmask", hex_syms=True, bitmask=True),
    _T(T.DCCP_PKTTYPE, "dccp_pkttype", "DCCP packet type", 4, INVALID, "integer", hex_syms=True),
    _T(T.MH_TYPE, "mh_type", "Mobility Header Type", 8, BIG, "integer"),
    _T(T.TIME, "time", "relative time", 64, HOST, "integer", parse=_time_parse, fmt=_time_format),
    _T(T.MARK, "mark", "packet mark", 32, HOST, "integer", fmt=_mark_format),
    _T(T.IFINDEX, "iface_index", "network interface index", 32, HOST, "integer"),
    _T(T.ARPHRD, "iface_type", "network interface type", 16, HOST, "integer", hex_syms=True),
    _T(T.REALM, "realm", "routing realm", 32, HOST, "integer"),
    _T(T.CLASSID, "classid", "TC classid", 32, HOST, "integer"),
    _T(T.UID, "uid", "user ID", 32, HOST, "integer", parse=_uid_parse),
    _T(T.GID, "gid", "group ID", 32, HOST, "integer", parse=lambda t: _uid_parse(t, True)),
    _T(T.CT_STATE, "ct_state", "conntrack state", 32, HOST, "bitmask", hex_syms=True, bitmask=True),
    _T(T.CT_DIR, "ct_dir", "conntrack direction", 8, HOST, "integer"),
    _T(T.CT_STATUS, "ct_status", "conntrack status", 32, HOST, "bitmask", hex_syms=True, bitmask=True),
    _T(T.ICMP6_TYPE, "icmpv6_type", "ICMPv6 type", 8, BIG, "integer"),
    _T(T.CT_LABEL, "ct_label", "conntrack label", 128, HOST, "bitmask", bitmask=True),
    _T(T.PKTTYPE, "pkt_type", "packet type", 8, HOST, "integer"),
    _T(T.ICMP_CODE, "icmp_code", "icmp code", 8, BIG, "integer"),
    _T(T.ICMPV6_CODE, "icmpv6_code", "icmpv6 code", 8, BIG, "integer"),
    _T(T.ICMPX_CODE, "icmpx_code", "icmpx code", 8, BIG, "integer"),
    _T(T.DEVGROUP, "devgroup", "devgroup name", 32, HOST, "integer"),
    _T(T.DSCP, "dscp", "Differentiated Services Code Point", 6, BIG, "integer", hex_syms=True),
    _T(T.ECN, "ecn", "Explicit Congestion Notification", 2, BIG, "integer", hex_syms=True),
    _T(T.FIB_ADDR, "fib_addrtype", "fib address type", 32, HOST, "integer"),
    _T(T.BOOLEAN, "boolean", "boolean type", 1, HOST, "integer"),
    _T(T.CT_EVENTBIT, "ct_event", "conntrack event bits", 32, HOST, "bitmask", hex_syms=True, bitmask=True),
    _T(T.IFNAME, "ifname", "network interface name", 16 * 8, HOST, "string", parse=_ifname_parse),
    _T(T.IGMP_TYPE, "igmp_type", "IGMP type", 8, BIG, "integer"),
    _T(T.TIME_DATE, "time", "Relative time of packet reception", 64, HOST, "integer", key="time_date"),
    _T(T.TIME_HOUR, "hour", "Hour of day of packet reception", 32, HOST, "integer",
       parse=_hour_parse, fmt=_hour_format),
    _T(T.TIME_DAY, "day", "Day of week of packet reception", 8, HOST, "integer",
       parse=_day_parse, fmt=_day_format),
    _T(T.CGROUPV2, "cgroupsv2", "cgroupsv2 path", 64, HOST, "integer"),
]

#: Datatypes by registry key: nft's name, except ``time_date`` (meta time's type, also
#: called "time" by nft; ``DATATYPES["time"]`` is the relative time of ``ct expiration``).
DATATYPES: dict[str, Datatype] = {d.key: d for d in _ALL}
DATATYPES_BY_ID: dict[int, Datatype] = {d.type_id: d for d in _ALL}

for _name in ("tcp_flag", "ct_state", "ct_status", "ct_event"):
    object.__setattr__(DATATYPES[_name], "parse_hook", _bitmask_parse(_name))


def lookup(name: str) -> Datatype:
    """The datatype nft finds for ``type NAME`` (set declarations)."""
    try:
        return DATATYPES[name]
    except KeyError:
        raise _err(f"unknown datatype {name}") from None
