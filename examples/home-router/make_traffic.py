#!/usr/bin/env python3
"""Generate traffic.pcapng for the home-router example.

Each packet's pcapng interface is the interface it arrives on (`lan0`, `wan0`), or `local`
for packets sent by the router itself.  Deterministic: running it again gives the same file.

    python examples/home-router/make_traffic.py [OUT.pcapng]
"""

from __future__ import annotations

import sys
from pathlib import Path

from pkttables.capture import LinkType, PcapngWriter
from pkttables.testing.packets import (TCP_ACK, TCP_PSH, TCP_SYN, ether, icmp_echo, icmp_error, ipv4,
                                       ipv6, tcp, udp)

ROUTER_LAN, ROUTER_WAN = "02:00:00:00:00:01", "02:00:00:00:01:01"
PC, ISP = "02:00:00:00:00:10", "02:00:00:00:01:fe"
PC4, PC6 = "192.168.1.10", "fd00:1::10"
WAN4 = "203.0.113.2"


def packets():
    """(interface, frame-or-ip-packet) in the order they happen."""
    # A DNS lookup from the PC, and its answer coming back to the masqueraded address.
    yield "lan0", ether(ROUTER_LAN, PC, ipv4(PC4, "9.9.9.9", udp(40001, 53, b"\x12\x34\x01\x00\x00\x01" + bytes(6) + b"\x07example\x03com\x00\x00\x01\x00\x01")))
    yield "wan0", ether(ROUTER_WAN, ISP, ipv4("9.9.9.9", WAN4, udp(53, 40001, b"\x12\x34\x81\x80\x00\x01\x00\x01" + bytes(4))))
    # An HTTP handshake from the PC to a web server.
    yield "lan0", ether(ROUTER_LAN, PC, ipv4(PC4, "93.184.216.34", tcp(40002, 80, TCP_SYN, seq=1000)))
    yield "wan0", ether(ROUTER_WAN, ISP, ipv4("93.184.216.34", WAN4, tcp(80, 40002, TCP_SYN | TCP_ACK, seq=5000, ack=1001)))
    yield "lan0", ether(ROUTER_LAN, PC, ipv4(PC4, "93.184.216.34", tcp(40002, 80, TCP_ACK, seq=1001, ack=5001)))
    yield "lan0", ether(ROUTER_LAN, PC, ipv4(PC4, "93.184.216.34", tcp(40002, 80, TCP_ACK | TCP_PSH, seq=1001, ack=5001, payload=b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")))
    # HTTPS over IPv6.
    yield "lan0", ether(ROUTER_LAN, PC, ipv6(PC6, "2001:db8:80::443", tcp(40003, 443, TCP_SYN)))
    # Pings: the PC pings the router, and an internet host pings it too.
    yield "lan0", ether(ROUTER_LAN, PC, ipv4(PC4, "192.168.1.1", icmp_echo(7, 1, b"ping")))
    yield "wan0", ether(ROUTER_WAN, ISP, ipv4("198.18.0.7", WAN4, icmp_echo(9, 1, b"ping")))
    yield "lan0", ether(ROUTER_LAN, PC, ipv6(PC6, "2001:db8:80::1", icmp_echo(8, 1, b"ping6", v6=True)))
    # An ICMP error for the NATed DNS flow (port unreachable from the resolver).
    quoted = ipv4(WAN4, "9.9.9.9", udp(40001, 53, b"\x12\x34"))[:28]
    yield "wan0", ether(ROUTER_WAN, ISP, ipv4("9.9.9.9", WAN4, icmp_error(3, 3, quoted)))
    # A port scan from the internet, and the forwarded web port.
    for port in (21, 22, 23, 25, 80, 443, 3389, 8080):
        yield "wan0", ether(ROUTER_WAN, ISP, ipv4("198.51.100.23", WAN4, tcp(61000, port, TCP_SYN)))
    # A packet from a blocklisted host, and one to an unreachable place from the router itself.
    yield "wan0", ether(ROUTER_WAN, ISP, ipv4("192.0.2.66", WAN4, tcp(62000, 22, TCP_SYN)))
    yield "local", ipv4(WAN4, "9.9.9.9", udp(5353, 53, b"\x00\x01"))


def main(out: str) -> int:
    interfaces: dict[str, int] = {}
    ts = 1_763_942_400 * 10**9  # a fixed start so the file is reproducible
    with PcapngWriter(out) as w:
        for i, (ifname, data) in enumerate(packets()):
            if ifname not in interfaces:
                link = LinkType.RAW if ifname == "local" else LinkType.ETHERNET
                interfaces[ifname] = w.add_interface(ifname, link)
            w.write(interfaces[ifname], data, ts + i * 10_000_000, direction="out" if ifname == "local" else "in")
    print(f"wrote {i + 1} packets to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).with_name("traffic.pcapng"))))
