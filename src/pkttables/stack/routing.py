"""Routing decisions for a :class:`~pkttables.stack.host.Host`, as the Linux kernel makes them.

Theory of operation
-------------------
The kernel consults, per family, the ``local`` table and then the ``main`` table (the
default policy rules 0 and 32766).  :class:`Routing` builds both from the host:

* IPv4 (``fib_add_ifaddr()``): each address is ``local ADDR/32`` in *local*; a primary
  address adds its connected route ``NET dev D scope link src ADDR`` to *main* (on ``lo``
  it is ``local 127.0.0.0/8`` in *local* instead) and, below /31, ``broadcast
  NET|~MASK``.  A second address inside an existing subnet of the same device is
  *secondary*: it adds only its local route, whose ``src`` is the primary.
* IPv6 (``addrconf.c``): each address is ``local ADDR`` in *local*, its prefix ``NET dev
  D metric 256`` goes to *main*, every device has ``multicast ff00::/8`` in *local* and,
  when forwarding is on, the subnet-router anycast address of each prefix is ``anycast``.
  ``::1`` is local on ``lo``.
* Static routes of the file go to *main*, IPv4 metric 0 by default, IPv6 1024.

A table is a dict per prefix length mapping ``addr >> (bits - plen)`` to the routes of
that prefix sorted by metric, plus the prefix lengths present, longest first.  A lookup
is therefore one dict probe per distinct prefix length (rarely more than 5 or 6):

    lookup(192.168.1.7): plens [32, 24, 0] -> by[32].get(0xc0a80107) miss,
                         by[24].get(0xc0a801) -> [192.168.1.0/24 dev lan0] -> hit

Decisions (``RouteDecision.kind``) follow ``ip_route_input_slow()`` /
``ip6_route_input()`` for received packets and ``ip_route_output_key_hash_rcu()`` /
``ip6_route_output()`` for local ones; the martian checks and ICMP errors are listed in
docs/host.md.  Source selection is ``inet_select_addr()`` for IPv4 and
``ipv6_dev_get_saddr()`` (RFC 6724 section 5 with the kernel's policy table) for IPv6.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from pkttables.stack.host import DEFAULT_SYSCTLS, LOOPBACK, Route

if TYPE_CHECKING:
    from pkttables.stack.host import Host, Interface, IPAddress

__all__ = ["RTN", "RouteKind", "RouteDecision", "RouteTable", "Routing"]

IPv4Address = ipaddress.IPv4Address
IPv6Address = ipaddress.IPv6Address


class RTN(enum.IntEnum):
    """Route types, values of the kernel's ``RTN_*`` (include/uapi/linux/rtnetlink.h)."""
    UNSPEC = 0
    UNICAST = 1
    LOCAL = 2
    BROADCAST = 3
    ANYCAST = 4
    MULTICAST = 5
    BLACKHOLE = 6
    UNREACHABLE = 7
    PROHIBIT = 8
    THROW = 9


class RouteKind(enum.Enum):
    """What the host does with a packet after the routing decision."""
    LOCAL = "local"              # deliver to this host (input hook); route_output: to self via lo
    FORWARD = "forward"          # route_input: out through ``oif`` (forward hook)
    OUTPUT = "output"            # route_output: a unicast packet leaving through ``oif``
    BROADCAST = "broadcast"      # input: delivered locally; output: sent on ``oif``
    MULTICAST = "multicast"      # input: delivered locally (group membership is not modelled)
    UNREACHABLE = "unreachable"  # no route, an unreachable route, or forwarding disabled
    BLACKHOLE = "blackhole"      # a blackhole route: dropped silently
    PROHIBIT = "prohibit"        # a prohibit route: dropped with ICMP administratively prohibited
    MARTIAN = "martian"          # dropped before routing: impossible addresses (see reason)


@dataclass(frozen=True, slots=True)
class RouteDecision:
    kind: RouteKind
    oif: str | None = None               # output device (FORWARD, OUTPUT, BROADCAST out)
    gateway: Any = None                  # next hop: the route's via, else the destination
    route: Route | None = None           # the matching route, when one matched
    saddr: Any = None                    # route_output: the selected source address
    icmp: tuple[int, int] | None = None  # (type, code) of the ICMP error the kernel sends, if any
    reason: str = ""                     # why, for drops and traces

    @property
    def delivers(self) -> bool:
        """True when the packet goes on (to the input hook, or out of an interface)."""
        return self.kind in (RouteKind.LOCAL, RouteKind.FORWARD, RouteKind.OUTPUT,
                             RouteKind.BROADCAST, RouteKind.MULTICAST)

    @property
    def rtn(self) -> RTN:
        """The kernel's route type of the decision (RTN_*)."""
        return _KIND_RTN.get(self.kind, RTN.UNICAST) if self.route is None or self.route.kind == "unicast" \
            else RTN[self.route.kind.upper()]


_KIND_RTN = {RouteKind.LOCAL: RTN.LOCAL, RouteKind.BROADCAST: RTN.BROADCAST,
             RouteKind.MULTICAST: RTN.MULTICAST, RouteKind.UNREACHABLE: RTN.UNREACHABLE,
             RouteKind.BLACKHOLE: RTN.BLACKHOLE, RouteKind.PROHIBIT: RTN.PROHIBIT,
             RouteKind.MARTIAN: RTN.UNSPEC}

# Reject route types: fib_props[] errors and the ICMP each family sends for them on input
# (ip_error(): HOST_UNREACH / PKT_FILTERED; ip6_pkt_discard()/ip6_pkt_prohibit()).
_REJECT_KIND = {"blackhole": RouteKind.BLACKHOLE, "unreachable": RouteKind.UNREACHABLE,
                "prohibit": RouteKind.PROHIBIT}
_REJECT_ICMP = {4: {"blackhole": None, "unreachable": (3, 1), "prohibit": (3, 13)},
                6: {"blackhole": None, "unreachable": (1, 0), "prohibit": (1, 1)}}
_NO_ROUTE_ICMP = {4: (3, 0), 6: (1, 0)}     # ENETUNREACH -> net unreachable; ICMPV6_NOROUTE

# RT_SCOPE_* values: a smaller number is a wider scope.
SCOPE_UNIVERSE, SCOPE_LINK, SCOPE_HOST = 0, 253, 254
_SCOPE_OF = {"universe": SCOPE_UNIVERSE, "link": SCOPE_LINK, "host": SCOPE_HOST}


class RouteTable:
    """One routing table of one family: longest prefix first, then lowest metric."""

    __slots__ = ("bits", "by_plen", "plens")

    def __init__(self, bits: int):
        self.bits = bits
        self.by_plen: dict[int, dict[int, list[Route]]] = {}
        self.plens: list[int] = []

    def add(self, route: Route) -> None:
        plen = route.to.prefixlen
        bucket = self.by_plen.get(plen)
        if bucket is None:
            bucket = self.by_plen[plen] = {}
            self.plens = sorted(self.by_plen, reverse=True)
        key = int(route.to.network_address) >> (self.bits - plen)
        lst = bucket.setdefault(key, [])
        lst.append(route)
        lst.sort(key=lambda r: r.metric)       # stable: equal metrics keep insertion order

    def lookup(self, addr: int, oif: str | None = None) -> Route | None:
        """The best route for ``addr``; with ``oif``, only routes through that device (and
        reject routes, which have none: fib_table_lookup() returns their error first)."""
        bits = self.bits
        by = self.by_plen
        for plen in self.plens:
            lst = by[plen].get(addr >> (bits - plen))
            if lst:
                if oif is None:
                    return lst[0]
                for r in lst:
                    if r.dev is None or r.dev == oif:
                        return r
        return None

    def routes(self) -> list[Route]:
        return [r for p in self.plens for lst in self.by_plen[p].values() for r in lst]


def _ip(a: Any) -> IPAddress:
    if isinstance(a, (IPv4Address, IPv6Address)):
        return a
    if isinstance(a, (bytes, bytearray, memoryview)):
        return ipaddress.ip_address(bytes(a))
    return ipaddress.ip_address(a)


_LBCAST = 0xFFFFFFFF
# Kernel defaults of the per-device settings we read (ipv4_devconf / ipv6_devconf).
_CONF_DEFAULTS = {"accept_redirects": 1, "send_redirects": 1, "accept_ra": 1, "accept_dad": 1,
                  "hop_limit": 64, "mtu": 1280}


def _v4_multicast(a: int) -> bool:
    return a >> 28 == 0xE


def _v4_zeronet(a: int) -> bool:
    # Since Linux 5.3 only 0.0.0.0 itself is special; the rest of 0/8 is ordinary unicast
    # (checked: `ip route get 8.8.8.8 from 0.1.2.3 iif X` is forwarded on 6.x).
    return a == 0


def _v4_loopback(a: int) -> bool:
    return a >> 24 == 127


# The kernel's default IPv6 address label table (net/ipv6/addrlabel.c; `ip addrlabel` in a
# fresh namespace), longest prefix first.
_LABELS = [(ipaddress.IPv6Network(p), lbl) for p, lbl in (
    ("::1/128", 0), ("::/96", 3), ("::ffff:0:0/96", 4), ("2001::/32", 6), ("2001:10::/28", 7),
    ("3ffe::/16", 12), ("2002::/16", 2), ("fec0::/10", 11), ("fc00::/7", 5), ("::/0", 1))]
_LABELS.sort(key=lambda e: -e[0].prefixlen)


def _label(a: IPv6Address) -> int:
    for net, lbl in _LABELS:
        if a in net:
            return lbl
    return 1


def _v6_scope(a: IPv6Address) -> int:
    """__ipv6_addr_src_scope(): multicast scope nibble, else 1 loopback, 2 link, 5 site, 14 global."""
    if a.is_multicast:
        return a.packed[1] & 0xF
    if a.is_loopback:
        return 1
    if a.is_link_local:
        return 2
    if a.is_site_local:
        return 5
    return 14


class Routing:
    """The FIB of one host, its address indexes and the decisions built on them."""

    def __init__(self, host: Host):
        self.host = host
        ifs = sorted(host.interfaces.values(), key=lambda i: i.ifindex)
        self.by_index: dict[int, Interface] = {i.ifindex: i for i in ifs}
        self.ifaces: list[Interface] = ifs
        self.local = {4: RouteTable(32), 6: RouteTable(128)}
        self.main = {4: RouteTable(32), 6: RouteTable(128)}
        self.local_addrs: dict[IPAddress, str] = {}
        # IPv4 primaries per device in kernel order, with the subnet each one heads.
        self.primary4: dict[str, list[ipaddress.IPv4Interface]] = {}
        self.neighbors: dict[tuple[IPAddress, str], bytes] = {}
        self._build()

    # -- building the tables ---------------------------------------------------------

    def _build(self) -> None:
        fwd6 = bool(self.sysctl("net.ipv6.conf.all.forwarding"))
        for ifc in self.ifaces:
            prim: list[ipaddress.IPv4Interface] = []
            self.primary4[ifc.name] = prim
            seen6: set[ipaddress.IPv6Network] = set()
            for a in ifc.addresses:
                self.local_addrs.setdefault(a.ip, ifc.name)
                if a.version == 4:
                    self._add_v4(ifc, a, prim)
                else:
                    self._add_v6(ifc, a, seen6, fwd6)
            if ifc.kind != "loopback":
                self.local[6].add(Route(ipaddress.IPv6Network("ff00::/8"), ifc.name, kind="multicast",
                                        metric=256, table="local", proto="kernel", scope="universe"))
        for r in self.host.routes:
            self.main[r.to.version].add(r)
        for n in self.host.neighbors:
            self.neighbors.setdefault((n.address, n.dev), n.mac)

    def _add_v4(self, ifc: Interface, a: ipaddress.IPv4Interface, prim: list) -> None:
        # __inet_insert_ifa(): secondary when a primary of the same mask already covers it.
        head = next((p for p in prim if p.network.prefixlen == a.network.prefixlen and a.ip in p.network), None)
        src = head.ip if head is not None else a.ip
        self.local[4].add(Route(ipaddress.IPv4Network(a.ip), ifc.name, kind="local", prefsrc=src,
                                table="local", proto="kernel", scope="host"))
        if head is not None:
            return
        prim.append(a)
        net = a.network
        if net.network_address != IPv4Address(0) and (net.network_address != a.ip or net.prefixlen < 32):
            if ifc.kind == "loopback":
                self.local[4].add(Route(net, ifc.name, kind="local", prefsrc=a.ip, table="local",
                                        proto="kernel", scope="host"))
            else:
                self.main[4].add(Route(net, ifc.name, prefsrc=a.ip, proto="kernel", scope="link"))
            if net.prefixlen < 31:
                self.local[4].add(Route(ipaddress.IPv4Network(net.broadcast_address), ifc.name,
                                        kind="broadcast", prefsrc=a.ip, table="local", proto="kernel",
                                        scope="link"))

    def _add_v6(self, ifc: Interface, a: ipaddress.IPv6Interface, seen: set, fwd: bool) -> None:
        self.local[6].add(Route(ipaddress.IPv6Network(a.ip), ifc.name, kind="local", table="local",
                                proto="kernel", scope="host"))
        net = a.network
        if net.prefixlen < 128 and net not in seen:
            seen.add(net)
            self.main[6].add(Route(net, ifc.name, metric=256, proto="kernel", scope="link"))
            # addrconf_join_anycast(): routers answer the subnet-router anycast address.
            if fwd and net.prefixlen < 127:
                self.local[6].add(Route(ipaddress.IPv6Network(net.network_address), ifc.name,
                                        kind="anycast", table="local", proto="kernel", scope="universe"))
        elif ifc.kind == "loopback" and net.prefixlen == 128:
            self.main[6].add(Route(net, ifc.name, metric=256, proto="kernel", scope="universe"))

    # -- small helpers ---------------------------------------------------------------

    def sysctl(self, name: str) -> int:
        """A sysctl's effective value: the file's, else what the kernel would have."""
        s = self.host.sysctls
        if name in s:
            return s[name]
        if name == "net.ipv4.conf.all.forwarding":
            return s.get("net.ipv4.ip_forward", 1)
        if name == "net.ipv4.ip_forward":
            return s.get("net.ipv4.conf.all.forwarding", 1)
        for fam in ("ipv4", "ipv6"):
            prefix = f"net.{fam}.conf."
            if name.startswith(prefix):
                dev, _, leaf = name[len(prefix):].rpartition(".")
                if leaf == "forwarding":
                    # Writing ip_forward or conf.all.forwarding sets every device's value.
                    return self.sysctl(f"{prefix}all.forwarding")
                if dev not in ("all", "default") and f"{prefix}default.{leaf}" in s:
                    return s[f"{prefix}default.{leaf}"]     # new devices copy `default`
                return _CONF_DEFAULTS.get(leaf, 0)
        return DEFAULT_SYSCTLS.get(name, 0)

    def _conf4(self, dev: str, leaf: str, combine: str = "or") -> int:
        """IN_DEV_CONF value: 'or' (IN_DEV_ORCONF), 'max' (IN_DEV_MAXCONF) or the dev's own."""
        d = self.sysctl(f"net.ipv4.conf.{dev}.{leaf}")
        a = self.sysctl(f"net.ipv4.conf.all.{leaf}")
        if combine == "max":
            return max(a, d)
        if combine == "and":
            return a and d
        return a or d

    def _iface(self, name: str) -> Interface:
        ifc = self.host.interfaces.get(name)
        if ifc is None:
            raise KeyError(f"no interface {name!r} on this host")
        return ifc

    def is_local(self, addr: Any) -> bool:
        a = _ip(addr)
        r = self.local[a.version].lookup(int(a))
        return r is not None and r.kind == "local"

    def neighbor(self, addr: Any, dev: str | None = None) -> bytes | None:
        a = _ip(addr)
        if dev is not None:
            return self.neighbors.get((a, dev))
        for (na, _), mac in self.neighbors.items():
            if na == a:
                return mac
        return None

    # -- input -----------------------------------------------------------------------

    def route_input(self, daddr: Any, saddr: Any, iif: str) -> RouteDecision:
        d, s = _ip(daddr), _ip(saddr)
        dev = self._iface(iif)
        if d.version != s.version:
            raise ValueError(f"route_input: {s} and {d} are of different families")
        if d.version == 4:
            return self._input4(int(d), int(s), d, dev)
        return self._input6(d, s, dev)

    def _input4(self, d: int, s: int, daddr: IPv4Address, dev: Interface) -> RouteDecision:
        name = dev.name
        lo = dev.kind == "loopback"
        # ip_route_input_slow(), in its order.
        if not lo:
            if _v4_multicast(s) or s == _LBCAST:
                return _martian("martian source: multicast or broadcast source address")
        if d == _LBCAST or (s == 0 and d == 0):
            return RouteDecision(RouteKind.BROADCAST, reason="limited broadcast")
        if _v4_multicast(d):
            # ip_route_input_mc(): a loopback source is martian unless route_localnet.
            if not lo and _v4_loopback(s) and not self._conf4(name, "route_localnet"):
                return _martian("martian source: loopback address")
            return RouteDecision(RouteKind.MULTICAST)
        if not lo:
            if _v4_zeronet(s):
                return _martian("martian source: 0.0.0.0")
            if _v4_zeronet(d):
                return _martian("martian destination: 0.0.0.0")
            if not self._conf4(name, "route_localnet"):
                if _v4_loopback(d):
                    return _martian("martian destination: loopback address")
                if _v4_loopback(s):
                    return _martian("martian source: loopback address")
        forwarding = bool(self.sysctl(f"net.ipv4.conf.{name}.forwarding"))   # IN_DEV_FORWARD
        r = self.local[4].lookup(d) or self.main[4].lookup(d)
        if r is None or r.kind in _REJECT_KIND:
            if not forwarding:
                # ip_error(): without forwarding the packet is dropped, no ICMP.
                return RouteDecision(RouteKind.UNREACHABLE, route=r,
                                     reason="no route and forwarding disabled" if r is None
                                     else f"{r.kind} route and forwarding disabled")
            if r is None:
                return RouteDecision(RouteKind.UNREACHABLE, icmp=_NO_ROUTE_ICMP[4], reason="no route")
            return RouteDecision(_REJECT_KIND[r.kind], route=r, icmp=_REJECT_ICMP[4][r.kind],
                                 reason=f"{r.kind} route")
        if r.kind == "broadcast":
            if s and not lo:
                bad = self._validate_source4(s, name)
                if bad:
                    return _martian(bad)
            return RouteDecision(RouteKind.BROADCAST, route=r, reason="subnet broadcast")
        if r.kind == "local":
            if not lo:
                bad = self._validate_source4(s, name)
                if bad:
                    return _martian(bad)
            return RouteDecision(RouteKind.LOCAL, route=r)
        if not forwarding:
            return RouteDecision(RouteKind.UNREACHABLE, route=r, reason="forwarding disabled")
        if not lo:
            bad = self._validate_source4(s, name)
            if bad:
                return _martian(bad)
        return RouteDecision(RouteKind.FORWARD, r.dev, r.via if r.via is not None else daddr, r)

    def _validate_source4(self, s: int, dev: str) -> str | None:
        """fib_validate_source(): the reason the source is martian, or None."""
        rpf = self._conf4(dev, "rp_filter", "max")
        accept_local = self._conf4(dev, "accept_local")
        if not rpf:
            if not accept_local and IPv4Address(s) in self.local_addrs:
                return "martian source: one of this host's own addresses"
            return None
        r = self.local[4].lookup(s) or self.main[4].lookup(s)
        if r is None:
            return "martian source: no route back (rp_filter)"
        if r.kind != "unicast" and not (r.kind == "local" and accept_local):
            return "martian source: " + ("one of this host's own addresses" if r.kind == "local"
                                         else f"route back is {r.kind} (rp_filter)")
        if rpf == 1 and r.dev != dev:
            return f"martian source: reverse path is via {r.dev}, not {dev} (rp_filter strict)"
        return None

    def _input6(self, d: IPv6Address, s: IPv6Address, dev: Interface) -> RouteDecision:
        lo = dev.kind == "loopback"
        # ipv6_rcv() sanity checks (ip6_input.c).
        if s.is_multicast:
            return _martian("martian source: multicast source address")
        if not lo and (s.is_loopback or d.is_loopback):
            return _martian("loopback address on a non-loopback device")
        if d.is_multicast:
            scope = d.packed[1] & 0xF
            if scope == 0:
                return _martian("multicast destination with reserved scope 0")
            if scope == 1 and not lo:
                return _martian("interface-local multicast from the wire")
            return RouteDecision(RouteKind.MULTICAST)
        di = int(d)
        # Link-local destinations are looked up strictly on the arrival device (RT6_LOOKUP_F_IFACE).
        strict = dev.name if d.is_link_local else None
        r = self.local[6].lookup(di, strict) or self.main[6].lookup(di, strict)
        if r is None:
            # ip6_pkt_discard(): ICMPv6 no route, whether or not forwarding is on.
            return RouteDecision(RouteKind.UNREACHABLE, icmp=_NO_ROUTE_ICMP[6], reason="no route")
        if r.kind in _REJECT_KIND:
            return RouteDecision(_REJECT_KIND[r.kind], route=r, icmp=_REJECT_ICMP[6][r.kind],
                                 reason=f"{r.kind} route")
        if r.kind in ("local", "anycast"):
            return RouteDecision(RouteKind.LOCAL, route=r)
        # ip6_forward(): dropped without ICMP when forwarding is off.
        if not self.sysctl("net.ipv6.conf.all.forwarding"):
            return RouteDecision(RouteKind.UNREACHABLE, route=r, reason="forwarding disabled")
        if s.is_link_local or s.is_unspecified:
            return RouteDecision(RouteKind.UNREACHABLE, route=r, icmp=(1, 2),
                                 reason="source address is link-local: beyond scope")
        return RouteDecision(RouteKind.FORWARD, r.dev, r.via if r.via is not None else d, r)

    # -- output ----------------------------------------------------------------------

    def route_output(self, daddr: Any, oif: str | None = None, saddr: Any = None) -> RouteDecision:
        d = _ip(daddr)
        s = _ip(saddr) if saddr is not None else None
        if oif is not None:
            self._iface(oif)
        if s is not None and s.version != d.version:
            raise ValueError(f"route_output: {s} and {d} are of different families")
        if d.version == 4:
            return self._output4(d, oif, s)
        return self._output6(d, oif, s)

    def _output4(self, d: IPv4Address, oif: str | None, s: IPv4Address | None) -> RouteDecision:
        di = int(d)
        # ip_route_output_key_hash_rcu()
        if s is not None:
            si = int(s)
            if _v4_multicast(si) or si == _LBCAST or _v4_zeronet(si):
                return _martian("invalid source address", errno="EINVAL")
            if not self.is_local(s):
                # __ip_route_output_key(): a source that is not ours is ENETUNREACH.
                return RouteDecision(RouteKind.UNREACHABLE,
                                     reason=f"source {s} is not a local address (ENETUNREACH)")
        if oif is not None:
            local_mc = di >> 8 == 0xE00000
            if local_mc or di == _LBCAST:
                src = s or self._select4(oif, None, SCOPE_LINK)
                kind = RouteKind.BROADCAST if di == _LBCAST else RouteKind.MULTICAST
                return RouteDecision(kind, oif, d, None, src)
        if di == 0:
            src = s or IPv4Address("127.0.0.1")
            return RouteDecision(RouteKind.LOCAL, LOOPBACK, src, None, src)
        r = self.local[4].lookup(di, oif) or self.main[4].lookup(di, oif)
        if r is None:
            if oif is not None:
                # "Apparently, routing tables are wrong. Assume, that the destination is on link."
                src = s or self._select4(oif, None, SCOPE_LINK)
                kind = RouteKind.MULTICAST if _v4_multicast(di) else RouteKind.OUTPUT
                return RouteDecision(kind, oif, d, None, src)
            return RouteDecision(RouteKind.UNREACHABLE, reason="Network is unreachable (ENETUNREACH)")
        if r.kind in _REJECT_KIND:
            return RouteDecision(_REJECT_KIND[r.kind], route=r, reason=f"{r.kind} route")
        if r.kind == "local":
            src = s or r.prefsrc or d
            return RouteDecision(RouteKind.LOCAL, LOOPBACK, d, r, src)
        src = s or r.prefsrc or self._select4(r.dev, r.via, _SCOPE_OF.get(r.scope, 0))
        gw = r.via if r.via is not None else d
        if r.kind == "broadcast" or di == _LBCAST:
            return RouteDecision(RouteKind.BROADCAST, r.dev, d, r, src)
        if _v4_multicast(di):
            return RouteDecision(RouteKind.MULTICAST, r.dev, d, r, src)
        return RouteDecision(RouteKind.OUTPUT, r.dev, gw, r, src)

    def select_source_on(self, dev: str | None, dst: Any, scope: int = 0) -> IPv4Address | None:
        """The kernel's ``inet_select_addr(dev, dst, scope)``: an IPv4 source on ``dev``
        (scope 0 universe, 253 link), for packets the host builds itself (ARP, ICMP)."""
        return self._select4(dev, dst, scope)

    def _select4(self, dev: str | None, dst: Any, scope: int) -> IPv4Address | None:
        """inet_select_addr(dev, dst, scope)."""
        addr = None
        for a in self.primary4.get(dev or "", ()):
            if _addr_scope4(a) > scope:
                continue
            if dst is None or dst in a.network:
                return a.ip
            if addr is None:
                addr = a.ip
        if addr is not None:
            return addr
        # Any device, lo first: a primary address of universe scope (not link scope).
        for ifc in self.ifaces:
            for a in self.primary4[ifc.name]:
                sc = _addr_scope4(a)
                if sc != SCOPE_LINK and sc <= scope:
                    return a.ip
        return None

    def _output6(self, d: IPv6Address, oif: str | None, s: IPv6Address | None) -> RouteDecision:
        # ip6_route_output() does not check the source (binding does); neither do we.
        di = int(d)
        if oif is not None and (d.is_multicast or d.is_link_local):
            src = s or self._select6(d, oif)
            return RouteDecision(RouteKind.MULTICAST if d.is_multicast else RouteKind.OUTPUT,
                                 oif, d, None, src)
        strict = oif
        r = self.local[6].lookup(di, strict) or self.main[6].lookup(di, strict)
        if r is None:
            return RouteDecision(RouteKind.UNREACHABLE, reason="Network is unreachable (ENETUNREACH)")
        if r.kind in _REJECT_KIND:
            return RouteDecision(_REJECT_KIND[r.kind], route=r, reason=f"{r.kind} route")
        if r.kind in ("local", "anycast"):
            src = s or self._select6(d, r.dev)
            return RouteDecision(RouteKind.LOCAL, LOOPBACK, d, r, src)
        src = s or r.prefsrc or self._select6(d, r.dev)
        if r.kind == "multicast" or d.is_multicast:
            return RouteDecision(RouteKind.MULTICAST, r.dev, d, r, src)
        return RouteDecision(RouteKind.OUTPUT, r.dev, r.via if r.via is not None else d, r, src)

    def _select6(self, d: IPv6Address, dst_dev: str | None) -> IPv6Address | None:
        """ipv6_dev_get_saddr(): RFC 6724 rules 1, 2, 5, 6, 8 (no deprecated, home,
        temporary or tentative addresses exist here, so rules 3, 4, 7 never decide)."""
        dscope = _v6_scope(d)
        dlabel = _label(d)
        dst_ifindex = self.host.interfaces[dst_dev].ifindex if dst_dev else 0
        if dst_dev and (d.is_multicast or dscope <= 2):
            cands = [self.host.interfaces[dst_dev]]
        else:
            cands = self.ifaces
        best = None
        best_score = None
        di = int(d)
        for ifc in cands:
            # The kernel keeps a device's addresses newest first within one scope, so of two
            # otherwise equal candidates the one added last wins.
            for a in reversed(ifc.addrs(6)):
                ip = a.ip
                sc = _v6_scope(ip)
                score = (
                    ip == d,                                                     # rule 1
                    -sc if sc >= dscope else sc - 128,                           # rule 2
                    not dst_ifindex or ifc.ifindex == dst_ifindex,               # rule 5
                    _label(ip) == dlabel,                                        # rule 6
                    min(128 - (int(ip) ^ di).bit_length(), a.network.prefixlen),  # rule 8
                )
                if best_score is None or score > best_score:
                    best, best_score = ip, score
        return best

    def select_source(self, daddr: Any, oif: str | None = None) -> IPAddress | None:
        return self.route_output(daddr, oif).saddr

    # -- nft fib / addrtype ----------------------------------------------------------

    def addr_type(self, addr: Any, dev: str | None = None) -> str:
        """The RTN_* type name nft's ``fib ... type`` gives for addr (on dev, if given)."""
        a = _ip(addr)
        if a.version == 4:
            # __inet_dev_addr_type(): only the local table decides.
            ai = int(a)
            if ai >> 24 == 0 or ai == _LBCAST:      # ipv4_is_zeronet() here is all of 0/8
                return "broadcast"
            if _v4_multicast(ai):
                return "multicast"
            r = self.local[4].lookup(ai)
            if r is not None and (dev is None or r.dev == dev):
                return r.kind
            return "unicast"
        # __nft_fib6_eval_type()
        ai = int(a)
        local = a in self.local_addrs and (dev is None or self.local_addrs[a] == dev)
        strict = dev if (dev is not None and (a.is_link_local or a.is_multicast)) else None
        r = self.local[6].lookup(ai, strict) or self.main[6].lookup(ai, strict)
        if r is None:
            return "unreachable" if not local else "local"
        if r.kind in _REJECT_KIND:
            return r.kind
        if local:
            return "local"
        if r.kind == "anycast":
            return "anycast"
        if dev is None and r.kind == "local":
            return "local"
        if a.is_multicast:
            return "multicast"
        return "unicast"

    def fib_lookup(self, saddr: Any, daddr: Any, *, flags: Iterable[str] = ("daddr",),
                   result: str = "oif", iif: str | None = None, oif: str | None = None,
                   hook: str = "prerouting") -> int | str:
        """nft's ``fib`` expression (nft_fib4_eval / nft_fib6_eval and their ``type``).

        ``flags`` is a subset of {"saddr", "daddr", "mark", "iif", "oif"}; ``result`` is
        "oif" (an ifindex, 0 for none), "oifname" (a name, "" for none) or "type" (an RTN
        name).  ``iif``/``oif`` are the packet's devices at the hook.
        """
        fl = set(flags)
        s, d = _ip(saddr), _ip(daddr)
        want_dev = iif if "iif" in fl else oif if "oif" in fl else None
        key = d if "daddr" in fl else s
        if result == "type":
            return self.addr_type(key, want_dev)

        def out(ifc_name: str | None) -> int | str:
            if result == "oifname":
                return ifc_name or ""
            return self.host.interfaces[ifc_name].ifindex if ifc_name else 0

        iif_dev = self.host.interfaces.get(iif) if iif else None
        if hook == "prerouting" and iif_dev is not None and iif_dev.kind == "loopback":
            return out(iif)
        if s.version == 4:
            if _v4_zeronet(int(s)) and (int(d) == _LBCAST or int(d) >> 8 == 0xE00000):
                return out(iif)
            ki = int(key)
            r = self.local[4].lookup(ki) or self.main[4].lookup(ki)
            if r is None or r.kind in _REJECT_KIND or r.kind == "local":
                return out(None)
            found = r.dev
        else:
            ki = int(key)
            strict = None
            if key.is_link_local or (key.is_multicast and (key.packed[1] & 0xF) == 2):
                strict = want_dev or iif
            r = self.local[6].lookup(ki, strict) or self.main[6].lookup(ki, strict)
            if r is None or r.kind in _REJECT_KIND or r.kind in ("local", "anycast"):
                return out(None)
            found = r.dev
        if want_dev is not None:
            return out(want_dev if found == want_dev else None)
        return out(found)

    # -- introspection ---------------------------------------------------------------

    def table(self, family: int, name: str = "main") -> list[Route]:
        """The routes of one table, longest prefix first (for `ip route` style listings)."""
        return (self.main if name == "main" else self.local)[family].routes()


def _addr_scope4(a: ipaddress.IPv4Interface) -> int:
    # The kernel gives 127/8 addresses host scope (inet_rtm_newaddr / ifa_scope on lo).
    return SCOPE_HOST if _v4_loopback(int(a.ip)) else SCOPE_UNIVERSE


def _martian(reason: str, errno: str = "") -> RouteDecision:
    return RouteDecision(RouteKind.MARTIAN, reason=reason + (f" ({errno})" if errno else ""))
