"""The host a ruleset runs on: interfaces, addresses, routes, neighbours, sysctls.

Plain data, built from the TOML host description of ``contracts/host.toml.md`` by
:func:`load_host` / :meth:`Host.from_toml`.  The same object drives the simulation and
the kernel oracle (``pkttables.testing.kernel``), which builds a namespace copy of it.
Addresses keep the kernel's form: ``ipaddress`` objects (their packed bytes are what
the register machine sees).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

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


@dataclass(slots=True)
class Route:
    to: IPNetwork
    dev: str | None = None
    via: IPAddress | None = None
    kind: str = "unicast"           # unicast, local, broadcast, blackhole, unreachable, prohibit
    prefsrc: IPAddress | None = None
    metric: int = 0
    table: str = "main"             # "local" for the kernel's local table entries
    line: int = 0


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
    """A whole host.  ``interfaces`` is keyed by name, in file order, ``lo`` first."""

    interfaces: dict[str, Interface] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)         # static routes from the file
    neighbors: list[Neighbor] = field(default_factory=list)
    bridges: dict[str, Bridge] = field(default_factory=dict)
    sysctls: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SYSCTLS))
    source: str = "<host>"
