"""Hosts shared by the kernel-oracle tests (plain dataclasses, no host file needed)."""

from __future__ import annotations

import ipaddress

from pkttables.stack.host import Bridge, Host, Interface, Neighbor, Route

LAN_MAC = "02:00:00:00:00:01"
WAN_MAC = "02:00:00:00:01:01"
CLIENT_MAC = "02:00:00:00:00:10"      # neighbour on lan0: 192.168.1.10, fd00:1::10
GW_MAC = "02:00:00:00:01:fe"          # neighbour on wan0: 203.0.113.1, 2001:db8:1::1


def mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def two_interface_host() -> Host:
    """The host of contracts/host.toml.md: a router between lan0 and wan0."""
    ip = ipaddress.ip_interface
    h = Host(source="<two-interface test host>")
    h.interfaces["lo"] = Interface("lo", bytes(6), [ip("127.0.0.1/8"), ip("::1/128")],
                                   mtu=65536, kind="loopback", ifindex=1)
    h.interfaces["lan0"] = Interface("lan0", mac(LAN_MAC), [ip("192.168.1.1/24"), ip("fd00:1::1/64")],
                                     ifindex=2)
    h.interfaces["wan0"] = Interface("wan0", mac(WAN_MAC), [ip("203.0.113.2/24"), ip("2001:db8:1::2/64")],
                                     ifindex=3)
    h.routes += [Route(ipaddress.ip_network("0.0.0.0/0"), "wan0", ipaddress.ip_address("203.0.113.1")),
                 Route(ipaddress.ip_network("::/0"), "wan0", ipaddress.ip_address("2001:db8:1::1"))]
    h.neighbors += [
        Neighbor(ipaddress.ip_address("203.0.113.1"), mac(GW_MAC), "wan0"),
        Neighbor(ipaddress.ip_address("2001:db8:1::1"), mac(GW_MAC), "wan0"),
        Neighbor(ipaddress.ip_address("192.168.1.10"), mac(CLIENT_MAC), "lan0"),
        Neighbor(ipaddress.ip_address("fd00:1::10"), mac(CLIENT_MAC), "lan0"),
    ]
    return h


def bridge_host() -> Host:
    """br0 over lan1 and lan2, with an address on the bridge."""
    ip = ipaddress.ip_interface
    h = Host(source="<bridge test host>")
    h.interfaces["lan1"] = Interface("lan1", mac("02:00:00:00:02:01"), bridge="br0")
    h.interfaces["lan2"] = Interface("lan2", mac("02:00:00:00:02:02"), bridge="br0")
    h.bridges["br0"] = Bridge("br0", mac("02:00:00:00:03:01"), ["lan1", "lan2"], [ip("10.0.0.1/24")])
    # As load_host() does: the bridge is also an interface of the host.
    h.interfaces["br0"] = Interface("br0", mac("02:00:00:00:03:01"), [ip("10.0.0.1/24")], kind="bridge")
    return h
