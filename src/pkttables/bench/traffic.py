"""Synthetic traffic for benchmarks: a realistic protocol mix, written as a capture.

Frames come from `pkttables.testing.packets` (no scapy: the library must not need it),
varying addresses and ports so that no two consecutive packets are alike.
"""

from __future__ import annotations

import random
import struct

from pkttables.testing.packets import (arp_request, ether, icmp_echo, ipv4, ipv6, tcp, udp)

MAC_HOST, MAC_PEER = "02:00:00:00:00:01", "02:00:00:00:00:10"
# hop-by-hop (PadN) then destination options (PadN) -> transport; first header is 0 (HBH)
_HBH_DST = bytes([60, 0, 1, 4, 0, 0, 0, 0])


def frame_mix(n: int, seed: int = 1) -> list[bytes]:
    """`n` distinct-looking frames: ~60% IPv4 TCP, 20% IPv4 UDP, 5% ICMP, 10% IPv6 (some with
    extension headers), 3% VLAN-tagged, 2% ARP -- roughly a LAN edge's mix."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        r = rnd.random()
        a = struct.pack("!I", 0xC0A80100 | rnd.randrange(1, 255))
        b = struct.pack("!I", rnd.getrandbits(32))
        sport, dport = rnd.randrange(1024, 65536), rnd.choice((80, 443, 53, 22, 8080, 123))
        payload = bytes(rnd.choice((0, 0, 0, 32, 100, 512)))
        if r < 0.60:
            l3 = ipv4(a, b, tcp(sport, dport, payload=payload))
        elif r < 0.80:
            l3 = ipv4(a, b, udp(sport, dport, payload))
        elif r < 0.85:
            l3 = ipv4(a, b, icmp_echo(i & 0xFFFF, 1, payload))
        elif r < 0.95:
            s6 = bytes.fromhex("fd000001000000000000000000000010")
            d6 = bytes.fromhex("20010db8") + rnd.getrandbits(96).to_bytes(12, "big")
            seg = rnd.choice((tcp(sport, dport, payload=payload), udp(sport, dport, payload),
                              icmp_echo(i & 0xFFFF, 1, payload, v6=True)))
            if r > 0.93:
                ext = _HBH_DST + bytes([seg.proto, 0, 1, 4, 0, 0, 0, 0])
                l3 = ipv6(s6, d6, seg, exthdrs=ext, first_nexthdr=0)
            else:
                l3 = ipv6(s6, d6, seg)
        elif r < 0.98:
            out.append(ether(MAC_HOST, MAC_PEER, ipv4(a, b, tcp(sport, dport)), vlan=rnd.randrange(1, 4095)))
            continue
        else:
            out.append(arp_request(MAC_PEER, a, b))
            continue
        out.append(ether(MAC_HOST, MAC_PEER, l3))
    return out


def write_capture(path: str, n: int, *, distinct: int = 4096, seed: int = 1,
                  start_ns: int = 1_700_000_000 * 10**9) -> int:
    """Write an `n`-packet capture (pcap or pcapng by suffix) cycling over `distinct` frames.
    Streaming: memory does not grow with `n`."""
    from pkttables.capture import LinkType, PcapngWriter, PcapWriter

    frames = frame_mix(distinct, seed)
    if str(path).endswith(".pcapng"):
        with PcapngWriter(path) as w:
            iface = w.add_interface("eth0", LinkType.ETHERNET)
            for i in range(n):
                w.write(iface, frames[i % distinct], start_ns + i * 1000)
    else:
        with PcapWriter(path, LinkType.ETHERNET) as w:
            for i in range(n):
                w.write(frames[i % distinct], start_ns + i * 1000)
    return n
