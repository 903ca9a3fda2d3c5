"""Traffic shared by the differential tests (tests/kernel/test_diff_*.py): one fixed
set of frames over every protocol the hand-written scenarios match on, for the
two-interface router host of lab_hosts.py and for the bridge host.

Every address is a neighbour the host file lists (192.168.1.10 / fd00:1::10 on lan0,
the gateway on wan0) or routed through the gateway, so no scenario leaves an ARP/NS
probe or a neighbour entry behind in the shared lab."""

from __future__ import annotations

import struct

from lab_hosts import CLIENT_MAC, GW_MAC, LAN_MAC, WAN_MAC, mac
from pkttables.packet.checksum import sctp_checksum
from pkttables.testing.kernel import Injection
from pkttables.testing.packets import (ETH_P_ARP, TCP_ACK, TCP_PSH, TCP_SYN, Segment, arp_request, ether,
                                       icmp_echo, ipv4, ipv6, tcp, udp)

C4, C6 = "192.168.1.10", "fd00:1::10"           # the client on lan0
R4, R6 = "8.8.8.8", "2001:db8:9::1"              # somewhere behind the gateway
W4, W6 = "198.51.100.7", "2001:db8:7::7"         # a remote peer coming in on wan0
L4, L6 = "192.168.1.1", "fd00:1::1"              # the host on lan0


def sctp(sport: int, dport: int, vtag: int = 0x01020304, chunk: bytes = b"\x01\x00\x00\x14" + b"\0" * 16) -> Segment:
    """An SCTP packet (an INIT-shaped chunk), CRC32c filled in (not pseudo-header based)."""
    hdr = bytearray(struct.pack("!HHII", sport, dport, vtag, 0) + chunk)
    hdr[8:12] = sctp_checksum(bytes(hdr))
    return Segment(132, bytes(hdr), None)


def lan(l3: bytes, **kw) -> bytes:
    return ether(LAN_MAC, CLIENT_MAC, l3, **kw)


def wan(l3: bytes, **kw) -> bytes:
    return ether(WAN_MAC, GW_MAC, l3, **kw)


def _frag(src, dst, payload: bytes, offset8: int, more: bool, ident: int = 0x4242) -> bytes:
    """An IPv4 fragment carrying ``payload`` (raw bytes) at ``offset8`` * 8."""
    from pkttables.packet.checksum import internet_checksum
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
                               (0x2000 if more else 0) | offset8, 64, 17, 0,
                               bytes(map(int, src.split("."))), bytes(map(int, dst.split(".")))))
    struct.pack_into("!H", ip, 10, internet_checksum(bytes(ip)))
    return bytes(ip) + payload


HBH_PADN = bytes([17, 0, 1, 4, 0, 0, 0, 0])      # hop-by-hop, PadN, next header UDP
DST_OPT = bytes([6, 0, 1, 4, 0, 0, 0, 0])        # destination options, next header TCP
# TCP options: MSS 1400, SACK-permitted, timestamps, NOP, window scale 5
TCP_OPTS = bytes.fromhex("02040578" "0402" "080a0000002a00000007" "01" "030305")

#: (label, Injection): labels make failure reports readable
ROUTER_TRAFFIC: list[tuple[str, Injection]] = [
    ("tcp4-syn-fwd", Injection("lan0", lan(ipv4(C4, R4, tcp(40000, 22, options=TCP_OPTS))))),
    ("tcp4-psh-fwd", Injection("lan0", lan(ipv4(C4, R4, tcp(40001, 80, flags=TCP_ACK | TCP_PSH, seq=7, ack=9,
                                                             payload=b"GET / HTTP/1.0\r\n\r\n"), tos=0x10, ttl=30)))),
    ("udp4-fwd", Injection("lan0", lan(ipv4(C4, R4, udp(5353, 53, b"\x12\x34query"), ident=99)))),
    ("icmp4-echo-fwd", Injection("lan0", lan(ipv4(C4, R4, icmp_echo(0x77, 3, b"ping" * 4), df=False)))),
    ("sctp4-fwd", Injection("lan0", lan(ipv4(C4, R4, sctp(2905, 2906))))),
    ("udp4-frag0-fwd", Injection("lan0", lan(_frag(C4, R4, struct.pack("!HHHH", 7000, 7001, 40, 0) + b"f" * 24,
                                                   0, True)))),
    ("udp4-frag1-fwd", Injection("lan0", lan(_frag(C4, R4, b"\x1b\x59\x1b\x5a" + b"g" * 4, 4, False)))),
    ("ipopt4-fwd", Injection("lan0", lan(ipv4(C4, R4, udp(1, 2, b"o"), options=b"\x94\x04\0\0", tos=0xb8)))),
    ("tcp6-fwd", Injection("lan0", lan(ipv6(C6, R6, tcp(40002, 443, flags=TCP_SYN, options=TCP_OPTS), flow=0x12345)))),
    ("udp6-fwd", Injection("lan0", lan(ipv6(C6, R6, udp(5000, 53, b"six"), hlim=9)))),
    ("icmp6-echo-fwd", Injection("lan0", lan(ipv6(C6, R6, icmp_echo(5, 6, b"v6", v6=True))))),
    ("hbh6-udp-fwd", Injection("lan0", lan(ipv6(C6, R6, udp(6000, 6001, b"x"), exthdrs=HBH_PADN, first_nexthdr=0)))),
    ("dst6-tcp-fwd", Injection("lan0", lan(ipv6(C6, R6, tcp(6002, 25), exthdrs=DST_OPT, first_nexthdr=60)))),
    ("sctp6-fwd", Injection("lan0", lan(ipv6(C6, R6, sctp(3000, 3001))))),
    ("vlan0-udp4-fwd", Injection("lan0", lan(ipv4(C4, R4, udp(7, 8, b"vlan")), vlan=0x2000))),
    ("arp-req-host", Injection("lan0", arp_request(CLIENT_MAC, C4, L4))),
    ("tcp4-local", Injection("lan0", lan(ipv4(C4, L4, tcp(40100, 22))))),
    ("udp4-local", Injection("lan0", lan(ipv4(C4, L4, udp(40101, 5000, b"closed"))))),
    ("icmp4-echo-local", Injection("lan0", lan(ipv4(C4, L4, icmp_echo(1, 1, b"hello"), tos=0x20)))),
    ("tcp6-local", Injection("lan0", lan(ipv6(C6, L6, tcp(40102, 22))))),
    ("udp6-local", Injection("lan0", lan(ipv6(C6, L6, udp(40103, 5001, b"closed6"))))),
    ("icmp6-echo-local", Injection("lan0", lan(ipv6(C6, L6, icmp_echo(2, 2, b"hi6", v6=True))))),
    ("udp4-from-wan", Injection("wan0", wan(ipv4(W4, C4, udp(53, 5353, b"answer"))))),
    ("tcp6-from-wan", Injection("wan0", wan(ipv6(W6, C6, tcp(443, 40002, flags=TCP_ACK, seq=1, ack=2))))),
    ("udp4-bcast", Injection("lan0", ether("ff:ff:ff:ff:ff:ff", CLIENT_MAC, ipv4(C4, "192.168.1.255", udp(67, 68, b"b"))))),
    ("local-udp4", Injection("local", ipv4(L4, R4, udp(1234, 53, b"from us")))),
    ("local-tcp4", Injection("local", ipv4("203.0.113.2", R4, tcp(1235, 443)))),
    ("local-udp6", Injection("local", ipv6("2001:db8:1::2", R6, udp(1236, 53, b"from us 6")))),
]

LABELS = [label for label, _ in ROUTER_TRAFFIC]


def router_traffic(*labels: str) -> list[Injection]:
    """The named frames of ROUTER_TRAFFIC (all of them without names)."""
    if not labels:
        return [inj for _, inj in ROUTER_TRAFFIC]
    d = dict(ROUTER_TRAFFIC)
    return [d[x] for x in labels]


BR_A, BR_B = "02:00:00:00:0a:01", "02:00:00:00:0b:01"    # stations behind lan1 / lan2


def bridge_traffic() -> list[Injection]:
    """Frames between two stations on br0's ports (they learn each other first)."""
    a4, b4 = "10.0.0.10", "10.0.0.20"
    return [
        Injection("lan1", ether(BR_B, BR_A, ipv4(a4, b4, udp(1000, 53, b"first")))),
        Injection("lan2", ether(BR_A, BR_B, ipv4(b4, a4, udp(53, 1000, b"back")))),
        Injection("lan1", ether(BR_B, BR_A, ipv4(a4, b4, tcp(1001, 80)))),
        Injection("lan1", ether(BR_B, BR_A, ipv4(a4, b4, tcp(1002, 22)))),
        Injection("lan1", ether(BR_B, BR_A, ipv4(a4, b4, icmp_echo(9, 9, b"br")))),
        Injection("lan2", ether(BR_A, BR_B, ipv6("fd00:b::20", "fd00:b::10", udp(5, 6, b"v6")))),
        Injection("lan1", ether(BR_B, BR_A, ipv4(a4, b4, udp(1003, 99, b"vlan")), vlan=0x0000)),
        Injection("lan1", ether("ff:ff:ff:ff:ff:ff", BR_A,
                                struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac(BR_A),
                                            bytes([10, 0, 0, 10]), bytes(6), bytes([10, 0, 0, 20])),
                                ETH_P_ARP)),
        Injection("lan1", ether(BR_B, BR_A, ipv4(a4, b4, udp(1004, 7, b"x" * 10)))),
    ]
