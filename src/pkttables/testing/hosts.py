"""Host files shared by tests and examples: one definition of the small IPv4 router the
conntrack, NAT and hook-order tests run on (the home-router example's addresses, IPv4
only, no neighbour on the LAN side unless asked for: packets to an unknown LAN client
then wait for ARP, as on the kernel).

    from pkttables.stack.host import Host
    from pkttables.testing.hosts import router_toml
    host = Host.from_toml(router_toml(), "<router>")
"""

from __future__ import annotations

__all__ = ["ROUTER_TOML", "router_toml"]

#: lan0 192.168.1.1/24, wan0 203.0.113.2/24, default route via the gateway 203.0.113.1
#: (whose MAC is known), IPv4 forwarding on.
ROUTER_TOML = """
[sysctl]
"net.ipv4.ip_forward" = 1
[[interface]]
name = "lan0"
mac = "02:00:00:00:00:01"
addresses = ["192.168.1.1/24"]
[[interface]]
name = "wan0"
mac = "02:00:00:00:01:01"
addresses = ["203.0.113.2/24"]
[[route]]
to = "0.0.0.0/0"
via = "203.0.113.1"
dev = "wan0"
[[neighbor]]
address = "203.0.113.1"
mac = "02:00:00:00:01:fe"
dev = "wan0"
"""


def router_toml(*lan_neighbors: tuple[str, str]) -> str:
    """:data:`ROUTER_TOML` with ``(address, mac)`` neighbours known on lan0."""
    return ROUTER_TOML + "".join(f'[[neighbor]]\naddress = "{a}"\nmac = "{m}"\ndev = "lan0"\n'
                                 for a, m in lan_neighbors)
