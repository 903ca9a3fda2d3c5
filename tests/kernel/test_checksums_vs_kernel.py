"""Our checksum arithmetic against the kernel's: the kernel forwards and answers packets,
and pkttables must (a) compute exactly the bytes the kernel puts on the wire when it does
the same rewrite (incremental TTL update, RFC 1624) and (b) find every checksum the kernel
generates valid."""

from __future__ import annotations

import pytest

from lab_hosts import CLIENT_MAC, GW_MAC, LAN_MAC, WAN_MAC
from pkttables.packet import LinkType, Packet
from pkttables.testing.kernel import Injection, run_kernel
from pkttables.testing.packets import TCP_SYN, ether, icmp_echo, ipv4, ipv6, tcp, udp

pytestmark = pytest.mark.kernel


def _mac(m: str) -> bytes:
    return bytes.fromhex(m.replace(":", ""))


CASES = [
    ipv4("192.168.1.10", "198.51.100.7", udp(40000, 53, b"query")),
    ipv4("192.168.1.10", "198.51.100.7", tcp(40001, 443, TCP_SYN), ttl=2, tos=0x10),
    ipv4("192.168.1.10", "198.51.100.7", icmp_echo(5, 1, b"x" * 33), ttl=255, ident=0xFFFF),
    ipv4("192.168.1.10", "198.51.100.7", udp(1, 2, b""), ttl=128, ident=0, df=False),
    ipv6("fd00:1::10", "2001:db8:99::7", udp(40000, 53, b"q"), hlim=64),
    ipv6("fd00:1::10", "2001:db8:99::7", tcp(40002, 22, TCP_SYN), hlim=2),
]


def test_forwarded_bytes_equal_our_incremental_rewrite(host):
    frames = [ether(LAN_MAC, CLIENT_MAC, l3) for l3 in CASES]
    obs = run_kernel(host, "", [Injection("lan0", f) for f in frames])
    out = obs.on("wan0")
    assert len(out) == len(frames)
    for sent, got in zip(frames, out):
        p = Packet(sent, LinkType.ETHERNET)
        ttl = p.buf[p.nh_off + 8] if p.nfproto == 2 else p.buf[p.nh_off + 7]
        assert p.set_ttl(ttl - 1)
        assert p.set_l2(_mac(GW_MAC), _mac(WAN_MAC))
        assert bytes(p.buf) == got, Packet(got, LinkType.ETHERNET).summary()


def test_every_checksum_the_kernel_generates_is_valid_to_us(host):
    # RST, port unreachable (v4 and v6), echo replies (v4 and v6), protocol unreachable.
    traffic = [
        ipv4("192.168.1.10", "192.168.1.1", tcp(40000, 9, TCP_SYN)),
        ipv4("192.168.1.10", "192.168.1.1", udp(40000, 9, b"hello")),
        ipv6("fd00:1::10", "fd00:1::1", udp(40000, 9, b"hello")),
        ipv4("192.168.1.10", "192.168.1.1", icmp_echo(1, 1, b"ping")),
        ipv6("fd00:1::10", "fd00:1::1", icmp_echo(1, 1, b"ping", v6=True)),
        ipv6("fd00:1::10", "fd00:1::1", tcp(40000, 9, TCP_SYN)),
    ]
    obs = run_kernel(host, "", [Injection("lan0", ether(LAN_MAC, CLIENT_MAC, l3)) for l3 in traffic])
    replies = obs.on("lan0")
    assert len(replies) == len(traffic)
    for frame in replies:
        p = Packet(frame, LinkType.ETHERNET)
        checks = p.verify_checksums()
        assert checks and all(checks.values()), (p.summary(), checks)
