"""The host a ruleset runs on: interfaces, addresses, routes, neighbours, sysctls.

Plain data, built from the TOML host description of ``contracts/host.toml.md`` by
:func:`load_host` / :meth:`Host.from_toml`.  The same object drives the simulation and
the kernel oracle (``pkttables.testing.kernel``), which builds a namespace copy of it.
Addresses keep the kernel's form: ``ipaddress`` objects (their packed bytes are what
the register machine sees).

Loading
-------
``tomllib`` parses the text; :mod:`._tomlscan` scans it again for the line and columns of
every table and key, so each validation error is a :class:`~pkttables.errors.HostFileError`
whose :class:`~pkttables.errors.Location` names the offending key (or the array element,
or the table header when a required key is missing).  Checks follow what the kernel and
``ip`` accept (``dev_valid_name()``, ``is_valid_ether_addr()``, ``fib_create_info()``'s
messages) plus the contract's own reservations (``lo`` and ``local`` are not names a file
may give).  After validation the host gets ``lo`` (ifindex 1, 127.0.0.1/8 and ::1/128),
then the interfaces and bridges in file order with ifindex 2, 3, ...  Every non-loopback
device also gets the kernel's EUI-64 link-local address ``fe80::/64`` from its MAC
(``addrconf_addr_gen()`` with the default ``addr_gen_mode`` 0), as a namespace copy has.

Routing lives in :mod:`.routing`; the ``Host`` methods below are thin entry points to it.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pkttables.errors import HostFileError, Location
from pkttables.stack._tomlscan import KeyLoc, Scan, TableLoc, scan

if TYPE_CHECKING:
    from pkttables.stack.routing import RouteDecision, Routing

__all__ = [
    "DEFAULT_SYSCTLS", "Interface", "Route", "Neighbor", "Bridge", "Host", "load_host",
    "IPAddress", "IPInterface", "IPNetwork",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Defaults that apply when the host file leaves a sysctl out (contracts/host.toml.md).
DEFAULT_SYSCTLS: dict[str, int] = {
    "net.ipv4.ip_forward": 1,
    "net.ipv6.conf.all.forwarding": 1,
    "net.netfilter.nf_conntrack_tcp_loose": 1,
    "net.netfilter.nf_conntrack_tcp_be_liberal": 0,
}

# Per-device sysctls the routing code reads (net.ipv4.conf.{all,default,DEV}.NAME and
# net.ipv6.conf.{all,default,DEV}.NAME); other names under net.ipv4.conf are refused so
# that a typo does not silently do nothing.
_CONF4 = {"forwarding", "rp_filter", "accept_local", "route_localnet", "bc_forwarding",
          "accept_redirects", "send_redirects", "log_martians", "arp_ignore", "arp_announce",
          "proxy_arp", "mc_forwarding"}
_CONF6 = {"forwarding", "accept_ra", "accept_redirects", "disable_ipv6", "use_oif_addrs_only",
          "accept_dad", "hop_limit", "mtu"}
_GLOBAL_SYSCTLS = {"net.ipv4.ip_forward", "net.ipv4.ip_nonlocal_bind", "net.ipv6.ip_nonlocal_bind",
                   "net.ipv4.ip_default_ttl", "net.ipv4.icmp_echo_ignore_all",
                   "net.ipv4.icmp_echo_ignore_broadcasts", "net.ipv4.icmp_ratelimit",
                   "net.ipv6.icmp.ratelimit", "net.ipv4.ip_local_port_range"}
_SYSCTL_PREFIXES = ("net.netfilter.nf_conntrack_", "net.bridge.bridge-nf-", "net.nf_conntrack_")

LOOPBACK = "lo"
RESERVED_NAMES = {"lo": "it is the loopback device every host has",
                  "local": "the contract gives it to packets sent by local processes"}

# Default MAC of `Host.single_interface()` and the prefix of generated ones.
_MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")


@dataclass(slots=True)
class Interface:
    name: str                       # <= 15 bytes (IFNAMSIZ - 1)
    mac: bytes                      # 6 bytes
    addresses: list[IPInterface] = field(default_factory=list)
    mtu: int = 1500
    group: int = 0
    ifindex: int = 0                # assigned in file order, lo is 1
    kind: str = "ether"             # "ether", "loopback" or "bridge"
    bridge: str | None = None       # name of the bridge this interface is a port of
    line: int = 0                   # line of its table in the host file, for errors

    def addrs(self, family: int | None = None) -> list[IPInterface]:
        """Its addresses, optionally only IPv4 (4) or IPv6 (6)."""
        if family is None:
            return list(self.addresses)
        return [a for a in self.addresses if a.version == family]


@dataclass(slots=True)
class Route:
    to: IPNetwork
    dev: str | None = None
    via: IPAddress | None = None
    kind: str = "unicast"           # unicast, local, broadcast, multicast, anycast, blackhole, unreachable, prohibit
    prefsrc: IPAddress | None = None
    metric: int = 0
    table: str = "main"             # "local" for the kernel's local table entries
    line: int = 0
    proto: str = "static"           # "kernel" for routes derived from addresses, as `ip route` says
    scope: str = "universe"         # universe, link or host (RT_SCOPE_*), as `ip route` says

    def __str__(self) -> str:       # `ip route` style, for messages and traces
        out = ("" if self.kind == "unicast" else self.kind + " ") + str(self.to)
        if self.via is not None:
            out += f" via {self.via}"
        if self.dev is not None:
            out += f" dev {self.dev}"
        if self.table != "main":
            out += f" table {self.table}"
        if self.prefsrc is not None:
            out += f" src {self.prefsrc}"
        if self.metric:
            out += f" metric {self.metric}"
        return out


@dataclass(slots=True)
class Neighbor:
    address: IPAddress
    mac: bytes
    dev: str
    line: int = 0


@dataclass(slots=True)
class Bridge:
    name: str
    mac: bytes
    ports: list[str] = field(default_factory=list)
    addresses: list[IPInterface] = field(default_factory=list)
    line: int = 0


@dataclass(slots=True)
class Host:
    """A whole host.  ``interfaces`` is keyed by name, in file order, ``lo`` first.

    Bridges appear twice: in ``bridges`` (their ports) and in ``interfaces`` (kind
    ``"bridge"``, its addresses), since the bridge device is an interface of the host.
    """

    interfaces: dict[str, Interface] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)         # static routes from the file
    neighbors: list[Neighbor] = field(default_factory=list)
    bridges: dict[str, Bridge] = field(default_factory=dict)
    sysctls: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SYSCTLS))
    source: str = "<host>"
    _routing: Any = field(default=None, repr=False, compare=False)

    # -- construction ----------------------------------------------------------------

    @classmethod
    def from_toml(cls, text: str, filename: str = "<host>") -> Host:
        """Parse and validate a host description; raises HostFileError with a location."""
        return _Loader(text, filename).load()

    @classmethod
    def single_interface(cls) -> Host:
        """The host used when no ``--host`` is given: ``lo`` plus one interface ``eth0``
        (02:00:00:00:00:01, 192.0.2.1/24, 2001:db8::1/64), default sysctls, no static
        routes: only the connected ones."""
        return cls.from_toml(
            '[[interface]]\nname = "eth0"\nmac = "02:00:00:00:00:01"\n'
            'addresses = ["192.0.2.1/24", "2001:db8::1/64"]\n',
            "<single-interface>",
        )

    # -- lookups ---------------------------------------------------------------------

    @property
    def routing(self) -> Routing:
        """The FIB built from this host (built on first use; call :meth:`rebuild` after
        changing the host's lists by hand)."""
        if self._routing is None:
            from pkttables.stack.routing import Routing
            self._routing = Routing(self)
        return self._routing

    def rebuild(self) -> None:
        self._routing = None

    def interface(self, name: str) -> Interface | None:
        return self.interfaces.get(name)

    def interface_by_index(self, ifindex: int) -> Interface | None:
        return self.routing.by_index.get(ifindex)

    def addresses(self, ifname: str | None = None, family: int | None = None) -> list[IPInterface]:
        """Addresses of one interface (or of all, in ifindex order); family 4 or 6."""
        if ifname is None:
            return [a for i in self.interfaces.values() for a in i.addrs(family)]
        ifc = self.interfaces.get(ifname)
        return ifc.addrs(family) if ifc is not None else []

    def sysctl(self, name: str) -> int:
        """The value of a sysctl, with the kernel's defaults for the ones the file leaves out.

        Per-device names (``net.ipv4.conf.DEV.X``) fall back as the kernel's effective value
        does: ``forwarding`` follows ``ip_forward``/``all``, rp_filter is max(all, dev)."""
        return self.routing.sysctl(name)

    def route_input(self, daddr: Any, saddr: Any, iif: str) -> RouteDecision:
        return self.routing.route_input(daddr, saddr, iif)

    def route_output(self, daddr: Any, oif: str | None = None, saddr: Any = None) -> RouteDecision:
        return self.routing.route_output(daddr, oif, saddr)

    def select_source(self, daddr: Any, oif: str | None = None) -> IPAddress | None:
        return self.routing.select_source(daddr, oif)

    def is_local(self, addr: Any) -> bool:
        return self.routing.is_local(addr)

    def addr_type(self, addr: Any, dev: str | None = None) -> str:
        return self.routing.addr_type(addr, dev)

    def neighbor(self, addr: Any, dev: str | None = None) -> bytes | None:
        return self.routing.neighbor(addr, dev)

    def fib_lookup(self, *args: Any, **kwargs: Any) -> Any:
        return self.routing.fib_lookup(*args, **kwargs)


def load_host(path: str | Path) -> Host:
    """Read and validate a host file.  An unreadable file is a HostFileError too."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as e:
        raise HostFileError(f"cannot read host file {str(p)!r}: {e.strerror or e}",
                            Location(str(p), 0)) from None
    except UnicodeDecodeError as e:
        line = p.read_bytes()[: e.start].count(b"\n") + 1
        raise HostFileError(f"host file is not UTF-8: {e.reason}", Location(str(p), line)) from None
    return Host.from_toml(text, str(p))


# ------------------------------------------------------------------------------------
# validation helpers


def mac_bytes(text: str) -> bytes:
    return bytes(int(x, 16) for x in text.split(":"))


def eui64_link_local(mac: bytes) -> ipaddress.IPv6Interface:
    """fe80::/64 + modified EUI-64 of a MAC (RFC 4291 appendix A, kernel addrconf_ifid_eui48)."""
    iid = bytes([mac[0] ^ 0x02]) + mac[1:3] + b"\xff\xfe" + mac[3:6]
    return ipaddress.IPv6Interface((b"\xfe\x80" + bytes(6) + iid, 64))


_TABLES = {"interface": True, "route": True, "neighbor": True, "bridge": True, "sysctl": False}
_KEYS = {
    "interface": {"name", "mac", "addresses", "mtu", "group"},
    "bridge": {"name", "mac", "ports", "addresses", "mtu", "group"},
    "route": {"to", "via", "dev", "type", "metric", "src"},
    "neighbor": {"address", "mac", "dev"},
}
_ROUTE_TYPES = {"unicast", "blackhole", "unreachable", "prohibit"}


class _Loader:
    """Turns validated TOML into a Host.  One instance per load; errors are raised at once."""

    def __init__(self, text: str, filename: str):
        self.text = text
        self.file = filename
        self.scan: Scan | None = None

    # -- locations -------------------------------------------------------------------

    def _loc(self, line: int, first: int = 0, last: int = 0) -> Location:
        text = self.scan.line_text(line) if self.scan else None
        return Location(self.file, line, first, last, text)

    def _fail(self, msg: str, where: TableLoc | KeyLoc | Location | None, part: str = "value") -> None:
        if isinstance(where, KeyLoc):
            loc = (self._loc(where.line, where.key_col, where.key_end) if part == "key"
                   else self._loc(where.line, where.value_col, where.value_end))
        elif isinstance(where, TableLoc):
            loc = self._loc(where.line, where.col, where.end_col) if where.line else Location(self.file, 1)
        elif isinstance(where, Location):
            loc = where
        else:
            loc = Location(self.file, 1)
        raise HostFileError(msg, loc)

    def _elem_loc(self, kl: KeyLoc | TableLoc, raw: str) -> Location | KeyLoc | TableLoc:
        """The columns of one string element of an array value, else the key's value."""
        if not isinstance(kl, KeyLoc) or self.scan is None:
            return kl
        for line in range(kl.line, min(kl.line + 200, len(self.scan.lines) + 1)):
            text = self.scan.lines[line - 1]
            start = kl.value_col - 1 if line == kl.line else 0
            for q in ('"', "'"):
                col = text.find(q + raw + q, start)
                if col >= 0:
                    return self._loc(line, col + 1, col + len(raw) + 2)
        return kl

    # -- the load --------------------------------------------------------------------

    def load(self) -> Host:
        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as e:
            self._toml_error(e)
        self.scan = scan(self.text)
        self.occ: dict[str, list[TableLoc]] = {}
        root = self.scan.tables[0]
        for key, value in data.items():
            kl = root.keys.get((key,))
            if key not in _TABLES:
                where = kl or next((t for t in self.scan.tables if t.name[:1] == (key,)), None)
                self._fail(f"unknown table {key!r}: expected one of "
                           + ", ".join(f"[[{k}]]" if a else f"[{k}]" for k, a in _TABLES.items()),
                           where, "key")
            if _TABLES[key]:
                if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                    self._fail(f"{key!r} must be an array of tables ([[{key}]])", kl or root, "key")
            elif not isinstance(value, dict):
                self._fail(f"{key!r} must be a table ([{key}])", kl or root, "key")
            occ = self.scan.occurrences(key)
            if _TABLES[key] and len(occ) != len(value):
                # inline form (key = [{...}]): every element points at the key's line.
                fallback = TableLoc((key,), True, kl.line if kl else 1, kl.key_col if kl else 1,
                                    kl.key_end if kl else 1)
                occ = [fallback] * len(value)
            self.occ[key] = occ
        host = Host(source=self.file)
        lo = Interface(LOOPBACK, bytes(6),
                       [ipaddress.IPv4Interface("127.0.0.1/8"), ipaddress.IPv6Interface("::1/128")],
                       mtu=65536, ifindex=1, kind="loopback")
        host.interfaces[LOOPBACK] = lo
        # Interfaces and bridges get ifindexes in the order their tables appear in the file.
        devs: list[tuple[int, str, dict, TableLoc]] = []
        for kind in ("interface", "bridge"):
            for i, (tbl, tl) in enumerate(zip(data.get(kind, []), self.occ.get(kind, []))):
                devs.append((tl.line, kind, tbl, tl))
        devs.sort(key=lambda d: d[0])
        bridges: list[tuple[Bridge, dict, TableLoc]] = []
        seen_addr: dict[IPAddress, int] = {}
        for n, (_, kind, tbl, tl) in enumerate(devs):
            ifc = self._device(kind, tbl, tl, host, ifindex=n + 2, seen_addr=seen_addr)
            host.interfaces[ifc.name] = ifc
            if kind == "bridge":
                br = Bridge(ifc.name, ifc.mac, [], ifc.addresses, ifc.line)
                host.bridges[br.name] = br
                bridges.append((br, tbl, tl))
        for br, tbl, tl in bridges:
            self._ports(br, tbl, tl, host)
        for ifc in host.interfaces.values():
            if ifc.kind != "loopback":
                ifc.addresses.append(eui64_link_local(ifc.mac))
        for tbl, tl in zip(data.get("route", []), self.occ.get("route", [])):
            host.routes.append(self._route(tbl, tl, host))
        self._route_duplicates(host)
        for tbl, tl in zip(data.get("neighbor", []), self.occ.get("neighbor", [])):
            host.neighbors.append(self._neighbor(tbl, tl, host))
        if "sysctl" in data:
            occ = self.occ["sysctl"]
            self._sysctls(data["sysctl"], occ[0] if occ else root, host)
        return host

    def _toml_error(self, e: tomllib.TOMLDecodeError) -> None:
        # tomllib says "... (at line L, column C)" or "(at end of document)".
        msg = str(e)
        m = re.search(r"\(at line (\d+), column (\d+)\)$", msg)
        lines = self.text.split("\n")
        if m:
            line, col = int(m.group(1)), int(m.group(2))
            msg = msg[: m.start()].rstrip()
        else:
            line = len(lines)
            col = len(lines[-1]) + 1 if lines else 1
            msg = re.sub(r"\s*\(at end of document\)$", "", msg) + " (at end of document)"
        text = lines[line - 1] if 1 <= line <= len(lines) else None
        raise HostFileError(f"TOML syntax error: {msg}", Location(self.file, line, col, col, text)) from None

    # -- tables ----------------------------------------------------------------------

    def _keys(self, kind: str, tbl: dict, tl: TableLoc) -> None:
        for key, value in tbl.items():
            if key not in _KEYS[kind]:
                kl = self._key(tl, key)
                self._fail(f"unknown key {key!r} in [[{kind}]]: expected one of "
                           + ", ".join(sorted(_KEYS[kind])), kl, "key")

    def _key(self, tl: TableLoc, key: str) -> KeyLoc | TableLoc:
        kl = tl.keys.get((key,))
        if kl is not None:
            return kl
        for k, v in tl.keys.items():       # dotted key a.b = ...
            if k[:1] == (key,):
                return v
        # a sub-table header [interface.key] after this occurrence
        if self.scan is not None:
            idx = next((i for i, t in enumerate(self.scan.tables) if t is tl), None)
            if idx is not None:
                for t in self.scan.tables[idx + 1:]:
                    if len(t.name) == 1:
                        break
                    if t.name[1:2] == (key,):
                        return t
        return tl

    def _str(self, tbl: dict, key: str, tl: TableLoc, kind: str, required: bool = True) -> str | None:
        if key not in tbl:
            if required:
                self._fail(f"[[{kind}]] needs {key!r}", tl)
            return None
        v = tbl[key]
        if not isinstance(v, str):
            self._fail(f"{key!r} must be a string, not {_tname(v)}", self._key(tl, key))
        return v

    def _int(self, tbl: dict, key: str, tl: TableLoc, lo: int, hi: int, default: int, what: str = "") -> int:
        if key not in tbl:
            return default
        v = tbl[key]
        if not isinstance(v, int) or isinstance(v, bool):
            self._fail(f"{key!r} must be an integer, not {_tname(v)}", self._key(tl, key))
        if not lo <= v <= hi:
            self._fail(f"{key} {v} out of range {lo}..{hi}{what}", self._key(tl, key))
        return v

    def _mac(self, tbl: dict, tl: TableLoc, kind: str, default: bytes) -> bytes:
        text = self._str(tbl, "mac", tl, kind, required=False)
        if text is None:
            return default
        kl = self._key(tl, "mac")
        if not _MAC_RE.match(text):
            self._fail(f"invalid MAC address {text!r}: expected six hex bytes like 02:00:00:00:00:01", kl)
        mac = mac_bytes(text)
        # is_valid_ether_addr(): neither multicast (I/G bit) nor all zeroes.
        if mac[0] & 1:
            self._fail(f"MAC address {text} is a multicast address (first byte odd)", kl)
        if mac == bytes(6):
            self._fail(f"MAC address {text} is all zeroes", kl)
        return mac

    def _name(self, tbl: dict, tl: TableLoc, kind: str, host: Host) -> str:
        name = self._str(tbl, "name", tl, kind)
        assert name is not None
        self._check_name(name, self._key(tl, "name"), host)
        return name

    def _check_name(self, name: str, kl: Any, host: Host) -> None:
        # dev_valid_name(): 1..IFNAMSIZ-1 bytes, not "." or "..", no '/', ':' or whitespace.
        size = len(name.encode())
        if size == 0:
            self._fail("interface name is empty", kl)
        if size > 15:
            self._fail(f"interface name {name!r} is {size} bytes long: Linux allows at most 15", kl)
        if name in (".", ".."):
            self._fail(f"interface name {name!r} is not valid", kl)
        bad = next((c for c in name if c in "/:" or c.isspace()), None)
        if bad is not None:
            self._fail(f"interface name {name!r} contains {bad!r}: Linux rejects '/', ':' and whitespace", kl)
        if name in RESERVED_NAMES:
            self._fail(f"interface name {name!r} is reserved: {RESERVED_NAMES[name]}", kl)
        if name in host.interfaces:
            other = host.interfaces[name]
            self._fail(f"duplicate interface name {name!r} (first defined on line {other.line})", kl)

    def _addresses(self, tbl: dict, tl: TableLoc, kind: str, seen: dict) -> list[IPInterface]:
        if "addresses" not in tbl:
            return []
        v = tbl["addresses"]
        kl = self._key(tl, "addresses")
        if not isinstance(v, list):
            self._fail(f"'addresses' must be an array of strings, not {_tname(v)}", kl)
        out: list[IPInterface] = []
        for a in v:
            if not isinstance(a, str):
                self._fail(f"'addresses' elements must be strings like \"192.0.2.1/24\", not {_tname(a)}", kl)
            where = self._elem_loc(kl, a)
            if "/" not in a:
                self._fail(f"address {a!r} needs a prefix length, like {a}/24", where)
            try:
                ifa = ipaddress.ip_interface(a)
            except ValueError as e:
                self._fail(f"invalid address {a!r}: {e}", where)
            ip = ifa.ip
            if ip.is_multicast or ip.is_unspecified or (ip.version == 4 and ip == _LBCAST):
                self._fail(f"address {a!r} cannot be assigned to an interface "
                           f"({'multicast' if ip.is_multicast else 'unspecified or broadcast'})", where)
            if ip in seen:
                self._fail(f"duplicate address {ip} (already assigned on line {seen[ip]})", where)
            seen[ip] = where.line if isinstance(where, Location) else tl.line
            out.append(ifa)
        return out

    def _device(self, kind: str, tbl: dict, tl: TableLoc, host: Host, ifindex: int, seen_addr: dict) -> Interface:
        self._keys(kind, tbl, tl)
        name = self._name(tbl, tl, kind, host)
        # Without a mac the device gets 02:00:00:00:HH:LL from its ifindex: deterministic,
        # locally administered, unicast.
        mac = self._mac(tbl, tl, kind, bytes([2, 0, 0, 0, ifindex >> 8 & 0xFF, ifindex & 0xFF]))
        addrs = self._addresses(tbl, tl, kind, seen_addr)
        has6 = any(a.version == 6 for a in addrs)
        mtu = self._int(tbl, "mtu", tl, 68, 65535, 1500)
        if has6 and mtu < 1280:
            # The kernel disables IPv6 on a device whose MTU is below IPV6_MIN_MTU.
            self._fail(f"mtu {mtu} is below 1280, the IPv6 minimum, on a device with IPv6 addresses",
                       self._key(tl, "mtu"))
        group = self._int(tbl, "group", tl, 0, 2**32 - 1, 0)
        return Interface(name, mac, addrs, mtu, group, ifindex,
                         "bridge" if kind == "bridge" else "ether", None, tl.line)

    def _ports(self, br: Bridge, tbl: dict, tl: TableLoc, host: Host) -> None:
        if "ports" not in tbl:
            return
        v = tbl["ports"]
        kl = self._key(tl, "ports")
        if not isinstance(v, list) or not all(isinstance(p, str) for p in v):
            self._fail("'ports' must be an array of interface names", kl)
        for p in v:
            where = self._elem_loc(kl, p)
            ifc = host.interfaces.get(p)
            if ifc is None:
                # The contract's own example names ports it never declares: such a port is
                # created as a plain interface without addresses, after the declared ones.
                self._check_name(p, where, host)
                ifindex = max(i.ifindex for i in host.interfaces.values()) + 1
                ifc = Interface(p, bytes([2, 0, 0, 0, ifindex >> 8 & 0xFF, ifindex & 0xFF]), [],
                                ifindex=ifindex, line=where.line)
                host.interfaces[p] = ifc
            if ifc.kind == "loopback":
                self._fail(f"bridge {br.name}: lo cannot be a bridge port", where)
            if ifc.kind == "bridge":
                self._fail(f"bridge {br.name}: port {p!r} is a bridge; bridges do not nest here", where)
            if ifc.bridge is not None:
                if ifc.bridge == br.name:
                    self._fail(f"bridge {br.name}: port {p!r} is listed twice", where)
                self._fail(f"bridge {br.name}: {p!r} is already a port of bridge {ifc.bridge}", where)
            if ifc.addresses:
                occ = [t for t in self.occ.get("interface", []) if t.line == ifc.line]
                at: Any = self._key(occ[0], "addresses") if occ else where
                self._fail(f"interface {p} is a port of bridge {br.name} and cannot carry addresses: "
                           f"put them on {br.name}", at)
            ifc.bridge = br.name
            br.ports.append(p)

    def _addr(self, text: Any, key: str, tl: TableLoc) -> IPAddress:
        kl = self._key(tl, key)
        if not isinstance(text, str):
            self._fail(f"{key!r} must be a string, not {_tname(text)}", kl)
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            self._fail(f"invalid address {text!r}" + (" (no prefix length here)" if "/" in text else ""), kl)
        raise AssertionError  # unreachable

    def _route(self, tbl: dict, tl: TableLoc, host: Host) -> Route:
        self._keys("route", tbl, tl)
        to_text = self._str(tbl, "to", tl, "route")
        kl_to = self._key(tl, "to")
        try:
            net = ipaddress.ip_network(to_text, strict=False)
        except ValueError as e:
            self._fail(f"invalid destination {to_text!r}: {e}", kl_to)
        if net.version == 4 and net.network_address != ipaddress.ip_interface(to_text).ip:
            # fib_frontend.c rtm_to_fib_config(): host bits set is an error for IPv4
            # (ip6 masks them silently, ip6_route_info_create() -> ipv6_addr_prefix()).
            self._fail(f"Invalid prefix for given prefix length: {to_text} (did you mean {net}?)", kl_to)
        rtype = self._str(tbl, "type", tl, "route", required=False) or "unicast"
        if rtype not in _ROUTE_TYPES:
            self._fail(f"unknown route type {rtype!r}: expected one of {', '.join(sorted(_ROUTE_TYPES))}",
                       self._key(tl, "type"))
        dev = self._str(tbl, "dev", tl, "route", required=False)
        via = self._addr(tbl["via"], "via", tl) if "via" in tbl else None
        if rtype != "unicast":
            if dev is not None or via is not None:
                # fib_create_info(): reject types have no nexthop.
                self._fail("Gateway, device and multipath can not be specified for this route type",
                           self._key(tl, "dev" if dev is not None else "via"))
        elif dev is None and via is None:
            self._fail("a unicast route needs 'via' or 'dev'", tl)
        if dev is not None:
            ifc = host.interfaces.get(dev)
            if ifc is None:
                self._fail(f"route dev {dev!r}: no such interface", self._key(tl, "dev"))
            if ifc.bridge is not None:
                self._fail(f"route dev {dev!r} is a port of bridge {ifc.bridge}: route via {ifc.bridge}",
                           self._key(tl, "dev"))
        if via is not None:
            kl = self._key(tl, "via")
            if via.version != net.version:
                self._fail(f"gateway {via} is IPv{via.version} but the destination {net} is IPv{net.version}", kl)
            if via.is_multicast or via.is_unspecified:
                self._fail(f"gateway {via} is not a unicast address", kl)
            if any(a.ip == via for a in host.addresses()):
                self._fail(f"Nexthop has invalid gateway: {via} is a local address", kl)
            # fib_check_nh(): the gateway must be on a connected route of dev (or of some
            # interface when dev is left out); IPv6 link-local gateways need a dev.
            cands = [host.interfaces[dev]] if dev is not None else list(host.interfaces.values())
            reach = [i for i in cands
                     if i.kind != "loopback" and i.bridge is None
                     and any(a.version == via.version and via in a.network and a.network.prefixlen < a.max_prefixlen
                             for a in i.addresses)]
            if via.version == 6 and via.is_link_local and dev is None:
                self._fail(f"link-local gateway {via} needs a 'dev'", kl)
            if not reach:
                self._fail(f"Nexthop has invalid gateway: {via} is not on a connected network"
                           + (f" of {dev}" if dev else " of any interface"), kl)
            if dev is None:
                dev = reach[0].name
        default_metric = 1024 if net.version == 6 else 0   # ip6: IP6_RT_PRIO_USER
        metric = self._int(tbl, "metric", tl, 0, 2**32 - 1, default_metric)
        src = None
        if "src" in tbl:
            src = self._addr(tbl["src"], "src", tl)
            if src.version != net.version or not any(a.ip == src for a in host.addresses()):
                self._fail(f"Invalid prefsrc address: {src} is not a local IPv{net.version} address",
                           self._key(tl, "src"))
        scope = "universe" if via is not None or rtype != "unicast" else "link"
        return Route(net, dev, via, rtype, src, metric, "main", tl.line, "static", scope)

    def _route_duplicates(self, host: Host) -> None:
        # fib_table_insert() with NLM_F_EXCL: one route per (prefix, tos, metric); the
        # connected routes of the addresses count too.
        seen: dict[tuple, int] = {}
        for ifc in host.interfaces.values():
            for a in ifc.addresses:
                if ifc.kind != "loopback" and a.network.prefixlen < a.max_prefixlen:
                    seen.setdefault((a.network, 256 if a.version == 6 else 0), 0)
        occ = self.occ.get("route", [])
        for r, tl in zip(host.routes, occ):
            k = (r.to, r.metric)
            if k in seen:
                first = seen[k]
                self._fail(f"File exists: a route to {r.to} with metric {r.metric} already exists ("
                           + (f"line {first})" if first else "the connected route of an address)"),
                           self._key(tl, "to"))
            seen[k] = r.line

    def _neighbor(self, tbl: dict, tl: TableLoc, host: Host) -> Neighbor:
        self._keys("neighbor", tbl, tl)
        if "address" not in tbl:
            self._fail("[[neighbor]] needs 'address'", tl)
        addr = self._addr(tbl["address"], "address", tl)
        if addr.is_multicast or addr.is_unspecified or addr == _LBCAST:
            self._fail(f"neighbour address {addr} is not a unicast address", self._key(tl, "address"))
        if "mac" not in tbl:
            self._fail("[[neighbor]] needs 'mac'", tl)
        mac = self._mac(tbl, tl, "neighbor", b"")
        dev = self._str(tbl, "dev", tl, "neighbor")
        kl = self._key(tl, "dev")
        ifc = host.interfaces.get(dev)
        if ifc is None:
            self._fail(f"neighbour dev {dev!r}: no such interface", kl)
        if ifc.kind == "loopback":
            self._fail("lo has no neighbours (NOARP)", kl)
        if ifc.bridge is not None:
            self._fail(f"neighbour dev {dev!r} is a port of bridge {ifc.bridge}: use {ifc.bridge}", kl)
        if not ifc.addrs(addr.version):
            self._fail(f"neighbour {addr} is IPv{addr.version} but {dev} has no IPv{addr.version} address", kl)
        if any(a.ip == addr for a in host.addresses()):
            self._fail(f"neighbour {addr} is a local address of this host", self._key(tl, "address"))
        for n in host.neighbors:
            if n.address == addr and n.dev == dev:
                self._fail(f"File exists: neighbour {addr} dev {dev} already defined on line {n.line}",
                           self._key(tl, "address"))
        return Neighbor(addr, mac, dev, tl.line)

    def _sysctls(self, table: dict, tl: TableLoc, host: Host) -> None:
        for name, value in table.items():
            kl = self._key(tl, name)
            if isinstance(value, dict):
                self._fail(f"sysctl names must be quoted: write \"{name}.…\" = VALUE, "
                           "a bare dotted key makes nested tables", kl, "key")
            if not isinstance(value, int) or isinstance(value, bool):
                self._fail(f"sysctl {name} must be an integer, not {_tname(value)}", kl)
            if not -2**31 <= value < 2**32:
                self._fail(f"sysctl {name} value {value} out of range", kl)
            problem = _sysctl_problem(name, host)
            if problem:
                self._fail(problem, kl, "key")
            host.sysctls[name] = value


_LBCAST = ipaddress.IPv4Address("255.255.255.255")


def _sysctl_problem(name: str, host: Host) -> str | None:
    if name in DEFAULT_SYSCTLS or name in _GLOBAL_SYSCTLS or name.startswith(_SYSCTL_PREFIXES):
        return None
    for fam, known in (("ipv4", _CONF4), ("ipv6", _CONF6)):
        prefix = f"net.{fam}.conf."
        if name.startswith(prefix):
            dev, _, leaf = name[len(prefix):].rpartition(".")
            if dev not in ("all", "default") and dev not in host.interfaces:
                return f"sysctl {name}: no interface {dev!r} on this host"
            if leaf not in known:
                return f"sysctl {name}: unknown setting {leaf!r} (known: {', '.join(sorted(known))})"
            return None
    return (f"unknown sysctl {name!r}: expected net.ipv4.ip_forward, net.ipv{{4,6}}.conf.DEV.SETTING, "
            "net.netfilter.nf_conntrack_* or net.bridge.bridge-nf-*")


def _tname(v: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
            list: "an array", dict: "a table"}.get(type(v), type(v).__name__)
