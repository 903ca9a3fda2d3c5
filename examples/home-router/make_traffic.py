#!/usr/bin/env python3
"""Generate traffic.pcapng for the home-router example: a few seconds of a home network.

The router (host.toml) has the LAN behind lan0 (192.168.1.0/24, fd00:1::/64; the PC,
which is also the web server the port forward points at, is 192.168.1.10 / fd00:1::10)
and the internet behind wan0 (203.0.113.2, the ISP's gateway 203.0.113.1).  The capture
is what the router's interfaces would see, so it makes sense for ruleset.nft:

* IPv4 from the LAN leaves masqueraded to 203.0.113.2 (source ports are kept), so the
  answers from the internet arrive addressed to 203.0.113.2 and the client's port;
* the port forward (tcp 80/443 -> 192.168.1.10) is answered by the PC from the LAN;
* IPv6 is not translated (the ruleset has only an ``ip nat`` table).

In order: a DNS lookup; an HTTP exchange with its teardown; HTTPS over IPv6 with its
teardown; a passive-mode FTP session (control connection and a data connection); pings
(PC to the router, PC to the internet and the echo reply, the internet to the router,
IPv6 to the internet); an NTP query answered by an ICMP port unreachable that quotes the
masqueraded packet; a port scan from the internet (the forwarded web port answers, the
scanner resets); an SSH brute force against the router (rate-limited: 3/minute, burst
5); packets from blocklisted hosts; and the router's own DNS query with its answer.

Each packet's pcapng interface is the interface it arrives on (``lan0``, ``wan0``) or
``local`` for packets the router sends itself.  Deterministic: running it again gives
the same file.

    python examples/home-router/make_traffic.py [OUT.pcapng]
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from pkttables.capture import LinkType, PcapngWriter
from pkttables.testing.packets import (TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, ether, icmp_echo,
                                       icmp_error, ipv4, ipv6, tcp, udp)

ROUTER_LAN, ROUTER_WAN = "02:00:00:00:00:01", "02:00:00:00:01:01"
PC, ISP = "02:00:00:00:00:10", "02:00:00:00:01:fe"
PC4, PC6 = "192.168.1.10", "fd00:1::10"
WAN4 = "203.0.113.2"
RESOLVER = "9.9.9.9"
WEB4, WEB6 = "93.184.216.34", "2001:db8:80::443"
FTP = "198.18.5.21"
NTP = "198.18.0.123"
SCANNER = "198.18.66.6"
BRUTE = "198.18.77.7"
BLOCKED_NET_HOST, BLOCKED_HOST = "198.51.100.23", "192.0.2.66"   # in @blocklist


def from_lan(ip: bytes) -> tuple[str, bytes]:
    return "lan0", ether(ROUTER_LAN, PC, ip)


def from_wan(ip: bytes) -> tuple[str, bytes]:
    return "wan0", ether(ROUTER_WAN, ISP, ip)


def dns_query(ident: int, name: str, qtype: int = 1) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)


def dns_answer(ident: int, name: str, addr: bytes) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    qtype = 1 if len(addr) == 4 else 28
    rr = b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 300, len(addr)) + addr
    return struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + q + struct.pack("!HH", qtype, 1) + rr


class Tcp:
    """One TCP connection as the router sees it: ``c`` sends from the client's side,
    ``s`` from the server's side, with sequence numbers kept.  ``client``/``server``
    build the IP packets of each side (addresses as they appear on that side's link)."""

    def __init__(self, client, server, sport: int, dport: int, isn_c: int, isn_s: int):
        self.client, self.server = client, server
        self.sport, self.dport = sport, dport
        self.seq_c, self.seq_s = isn_c, isn_s

    def c(self, flags: int, payload: bytes = b""):
        ack = self.seq_s if flags & TCP_ACK else 0
        pkt = self.client(tcp(self.sport, self.dport, flags, seq=self.seq_c, ack=ack, payload=payload))
        self.seq_c += len(payload) + bool(flags & (TCP_SYN | TCP_FIN))
        return pkt

    def s(self, flags: int, payload: bytes = b""):
        ack = self.seq_c if flags & TCP_ACK else 0
        pkt = self.server(tcp(self.dport, self.sport, flags, seq=self.seq_s, ack=ack, payload=payload))
        self.seq_s += len(payload) + bool(flags & (TCP_SYN | TCP_FIN))
        return pkt

    def handshake(self):
        yield self.c(TCP_SYN)
        yield self.s(TCP_SYN | TCP_ACK)
        yield self.c(TCP_ACK)

    def teardown(self, client_first: bool = True):
        a, b = (self.c, self.s) if client_first else (self.s, self.c)
        yield a(TCP_FIN | TCP_ACK)
        yield b(TCP_FIN | TCP_ACK)
        yield a(TCP_ACK)


def masqueraded(remote: str):
    """A LAN client's connection to ``remote``: client packets on lan0 from the PC,
    server packets on wan0 to the router's WAN address."""
    return (lambda seg: from_lan(ipv4(PC4, remote, seg)),
            lambda seg: from_wan(ipv4(remote, WAN4, seg)))


def packets():
    """(interface, frame-or-ip-packet) in the order they happen."""
    # DNS: the PC asks the resolver; the answer comes back to the masqueraded address.
    yield from_lan(ipv4(PC4, RESOLVER, udp(40001, 53, dns_query(0x1234, "example.com"))))
    yield from_wan(ipv4(RESOLVER, WAN4, udp(53, 40001, dns_answer(0x1234, "example.com", bytes([93, 184, 216, 34])))))

    # HTTP: handshake, request, response, teardown.
    http = Tcp(*masqueraded(WEB4), 40002, 80, 1000, 5000)
    yield from http.handshake()
    yield http.c(TCP_ACK | TCP_PSH, b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
    yield http.s(TCP_ACK | TCP_PSH, b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, world!")
    yield http.c(TCP_ACK)
    yield from http.teardown()

    # HTTPS over IPv6 (no NAT for IPv6): handshake, TLS hellos, teardown.
    https = Tcp(lambda seg: from_lan(ipv6(PC6, WEB6, seg)), lambda seg: from_wan(ipv6(WEB6, PC6, seg)),
                40003, 443, 2000, 9000)
    yield from https.handshake()
    yield https.c(TCP_ACK | TCP_PSH, bytes.fromhex("160301002d010000290303") + bytes(32) + b"\x00\x00\x02\x13\x01\x01\x00")
    yield https.s(TCP_ACK | TCP_PSH, bytes.fromhex("160303002a0200002603037f") + bytes(31) + b"\x00\x13\x01\x00")
    yield https.c(TCP_ACK)
    yield from https.teardown(client_first=False)

    # FTP, passive mode: the control connection, PASV, then a data connection the
    # client opens to the port the server named (no helper needed: it goes LAN -> WAN).
    ctl = Tcp(*masqueraded(FTP), 40010, 21, 30000, 70000)
    yield from ctl.handshake()
    yield ctl.s(TCP_ACK | TCP_PSH, b"220 FTP server ready\r\n")
    yield ctl.c(TCP_ACK | TCP_PSH, b"USER anonymous\r\n")
    yield ctl.s(TCP_ACK | TCP_PSH, b"331 Please specify the password.\r\n")
    yield ctl.c(TCP_ACK | TCP_PSH, b"PASS guest@\r\n")
    yield ctl.s(TCP_ACK | TCP_PSH, b"230 Login successful.\r\n")
    yield ctl.c(TCP_ACK | TCP_PSH, b"PASV\r\n")
    yield ctl.s(TCP_ACK | TCP_PSH, b"227 Entering Passive Mode (198,18,5,21,195,80).\r\n")   # port 50000
    data = Tcp(*masqueraded(FTP), 40011, 50000, 41000, 81000)
    yield from data.handshake()
    yield ctl.c(TCP_ACK | TCP_PSH, b"RETR README\r\n")
    yield ctl.s(TCP_ACK | TCP_PSH, b"150 Opening BINARY mode data connection.\r\n")
    yield data.s(TCP_ACK | TCP_PSH, b"Welcome to the example FTP server.\n")
    yield data.c(TCP_ACK)
    yield from data.teardown(client_first=False)
    yield ctl.s(TCP_ACK | TCP_PSH, b"226 Transfer complete.\r\n")
    yield ctl.c(TCP_ACK | TCP_PSH, b"QUIT\r\n")
    yield ctl.s(TCP_ACK | TCP_PSH, b"221 Goodbye.\r\n")
    yield from ctl.teardown(client_first=False)

    # Pings: PC -> router; PC -> the resolver and its reply (masqueraded, echo id kept);
    # the internet -> the router's WAN address; IPv6 PC -> the internet and back.
    yield from_lan(ipv4(PC4, "192.168.1.1", icmp_echo(7, 1, b"ping")))
    yield from_lan(ipv4(PC4, RESOLVER, icmp_echo(8, 1, b"ping")))
    yield from_wan(ipv4(RESOLVER, WAN4, icmp_echo(8, 1, b"ping", reply=True)))
    yield from_wan(ipv4("198.18.0.7", WAN4, icmp_echo(9, 1, b"ping")))
    yield from_lan(ipv6(PC6, "2001:db8:80::1", icmp_echo(10, 1, b"ping6", v6=True)))
    yield from_wan(ipv6("2001:db8:80::1", PC6, icmp_echo(10, 1, b"ping6", reply=True, v6=True)))

    # NTP to a host with no NTP server: the ICMP port unreachable quotes the packet as
    # it left the router (masqueraded); the router translates it back to the PC.
    ntp_query = udp(40004, 123, b"\x23" + bytes(47))
    yield from_lan(ipv4(PC4, NTP, ntp_query))
    quoted = ipv4(WAN4, NTP, ntp_query, ttl=63)[:28]
    yield from_wan(ipv4(NTP, WAN4, icmp_error(3, 3, quoted)))

    # A SYN scan from the internet.  80 and 443 are forwarded to the PC, which answers;
    # the scanner resets.  SSH reaches the router (no sshd: a reset); the rest is dropped.
    for port in (21, 22, 23, 25, 80, 443, 3389, 8080):
        yield from_wan(ipv4(SCANNER, WAN4, tcp(61000, port, TCP_SYN, seq=4242)))
        if port in (80, 443):
            yield from_lan(ipv4(PC4, SCANNER, tcp(port, 61000, TCP_SYN | TCP_ACK, seq=7000, ack=4243)))
            yield from_wan(ipv4(SCANNER, WAN4, tcp(61000, port, TCP_RST, seq=4243)))

    # An SSH brute force: new connections beyond the limit's burst (5) are dropped.
    for i in range(7):
        yield from_wan(ipv4(BRUTE, WAN4, tcp(52000 + i, 22, TCP_SYN, seq=100 * i)))

    # Blocklisted senders: a host of 198.51.100.0/24 (also at the forwarded port) and 192.0.2.66.
    yield from_wan(ipv4(BLOCKED_NET_HOST, WAN4, tcp(61001, 22, TCP_SYN)))
    yield from_wan(ipv4(BLOCKED_NET_HOST, WAN4, tcp(61002, 443, TCP_SYN)))
    yield from_wan(ipv4(BLOCKED_HOST, WAN4, tcp(62000, 22, TCP_SYN)))

    # The router's own DNS query, and the answer.
    yield "local", ipv4(WAN4, RESOLVER, udp(5353, 53, dns_query(0x4321, "ntp.example.org")))
    yield from_wan(ipv4(RESOLVER, WAN4, udp(53, 5353, dns_answer(0x4321, "ntp.example.org", bytes([198, 18, 0, 123])))))


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
