"""pkttables.packet.Packet's l4proto / th_off / has_transport against the kernel's
nft_pktinfo, for IPv4 options and fragments, IPv6 extension-header chains, AH and ESP.

The kernel cannot print its offsets, so they are asked for with counters: in a netdev
ingress chain (before defrag and conntrack, so raw fragments are seen; the netdev family
still runs nft_set_pktinfo_ipv{4,6}_validate) each packet meets

* one ``meta l4proto N counter`` per candidate N: the one that counts is the kernel's
  l4proto (none counts when the kernel has no L4 information);
* ``@th,16,16 V counter`` and ``@th,16,16 != V counter``, V being the two bytes our
  Packet finds at th_off + 2: together they count iff the kernel could load them, the
  first iff its th offset agrees with ours;
* the same with ``@th,8,24`` (3 bytes at an odd offset).

The two loads differ on purpose.  A 1/2/4-byte aligned load is evaluated by
``nft_payload_fast_eval`` (net/netfilter/nf_tables_core.c), which checks only that the
kernel has an l4proto and that the bytes are inside the skb -- it reads non-first
fragments at thoff, as measured here.  Any other load goes through ``nft_payload_eval``,
which also refuses fragments with a non-zero offset: that is ``Packet.has_transport``.
* a final ``drop``, so nothing reaches the IP stack.
"""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, TCP, UDP, IPOption_RR, IPOption_Router_Alert
from scapy.layers.inet6 import (IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                                IPv6ExtHdrRouting)
from scapy.layers.ipsec import AH, ESP
from scapy.layers.l2 import Ether

from lab_hosts import CLIENT_MAC, LAN_MAC
from pkttables.testing.kernel import Injection, KernelLab

Packet = pytest.importorskip("pkttables.packet").Packet

pytestmark = pytest.mark.kernel

PORT = 0xBEEF
V4 = dict(src="192.168.1.10", dst="198.51.100.7")
V6 = dict(src="fd00:1::10", dst="2001:db8:99::7")
CANDIDATES = (0, 1, 4, 6, 17, 41, 43, 44, 50, 51, 58, 59, 60, 132, 253)

CASES = {
    "v4-udp": IP(**V4) / UDP(sport=1, dport=PORT),
    "v4-options-tcp": IP(**V4, options=[IPOption_RR(routers=["1.2.3.4"]), IPOption_Router_Alert()])
                      / TCP(sport=1, dport=PORT),
    "v4-first-fragment": IP(**V4, flags="MF", frag=0, proto=17) / bytes(UDP(sport=1, dport=PORT, len=100)) / (b"a" * 16),
    "v4-nonfirst-fragment": IP(**V4, frag=3, proto=17) / (b"\x00\x01\xbe\xef" + b"b" * 20),
    "v4-esp": IP(**V4) / ESP(spi=0x1234BEEF, seq=1) / (b"c" * 16),
    "v4-ah": IP(**V4) / AH(spi=0xBEEF, nh=17) / UDP(sport=1, dport=PORT),
    "v6-udp": IPv6(**V6) / UDP(sport=1, dport=PORT),
    "v6-hbh-udp": IPv6(**V6) / IPv6ExtHdrHopByHop() / UDP(sport=1, dport=PORT),
    "v6-hbh-rt-dst-tcp": IPv6(**V6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(addresses=["2001:db8::1"], segleft=0)
                         / IPv6ExtHdrDestOpt() / TCP(sport=1, dport=PORT),
    "v6-dst-udp": IPv6(**V6) / IPv6ExtHdrDestOpt() / UDP(sport=1, dport=PORT),
    "v6-first-fragment": IPv6(**V6) / IPv6ExtHdrFragment(offset=0, m=1, id=7, nh=17)
                         / bytes(UDP(sport=1, dport=PORT, len=100)) / (b"d" * 16),
    "v6-nonfirst-fragment": IPv6(**V6) / IPv6ExtHdrFragment(offset=3, m=0, id=7, nh=17) / (b"\x00\x01\xbe\xef" + b"e" * 20),
    "v6-hbh-fragment-dst": IPv6(**V6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment(offset=0, m=1, id=8)
                           / IPv6ExtHdrDestOpt() / UDP(sport=1, dport=PORT),
    "v6-ah-tcp": IPv6(**V6) / AH(spi=0xBEEF, nh=6) / TCP(sport=1, dport=PORT),
    "v6-esp": IPv6(**V6) / ESP(spi=0x1234BEEF, seq=1) / (b"f" * 16),
    "v6-no-next-header": IPv6(**V6, nh=59) / (b"\x00\x01\xbe\xef" * 2),
    "v6-truncated-hbh": IPv6(**V6, nh=0, plen=4) / b"\x11\x05\x00\x00",
}


def ruleset(v: int, v3: int) -> str:
    rules = [f'\t\tmeta l4proto {n} counter comment "l4 {n}"' for n in CANDIDATES]
    rules += [f'\t\t@th,16,16 {v:#06x} counter comment "th eq"',
              f'\t\t@th,16,16 != {v:#06x} counter comment "th ne"',
              f'\t\t@th,8,24 {v3:#08x} counter comment "slow eq"',
              f'\t\t@th,8,24 != {v3:#08x} counter comment "slow ne"',
              "\t\tdrop"]
    return ("flush ruleset\ntable netdev t {\n\tchain c {\n"
            '\t\ttype filter hook ingress device "lan0" priority 0;\n'
            + "\n".join(rules) + "\n\t}\n}\n")


def by_comment(ruleset_json) -> dict[str, int]:
    out = {}
    for item in ruleset_json["nftables"]:
        rule = item.get("rule")
        if rule and "comment" in rule:
            (count,) = [e["counter"]["packets"] for e in rule["expr"] if "counter" in e]
            out[rule["comment"]] = count
    return out


def test_packet_offsets_agree_with_the_kernel(host):
    disagreements = []
    with KernelLab(host, settle=0.05) as lab:
        for name, l3 in CASES.items():
            frame = bytes(Ether(src=CLIENT_MAC, dst=LAN_MAC) / l3)
            p = Packet(frame)
            loadable = p.l4proto >= 0 and 0 <= p.th_off and p.th_off + 4 <= len(frame)
            v = int.from_bytes(p.buf[p.th_off + 2:p.th_off + 4], "big") if loadable else PORT
            v3 = int.from_bytes(p.buf[p.th_off + 1:p.th_off + 4], "big") if loadable else PORT
            lab.load(ruleset(v, v3))
            lab.inject([Injection("lan0", frame)])
            counts = by_comment(lab.observe(conntrack=False).ruleset_json)
            assert p.l4proto < 0 or p.l4proto in CANDIDATES, name
            got = ([n for n in CANDIDATES if counts[f"l4 {n}"]],
                   counts["th eq"] + counts["th ne"] == 1, counts["th eq"] == 1,
                   counts["slow eq"] + counts["slow ne"] == 1, counts["slow eq"] == 1)
            want = ([p.l4proto] if p.l4proto >= 0 else [], loadable, loadable,
                    loadable and p.has_transport, loadable and p.has_transport)
            if got != want:
                disagreements.append(
                    f"{name}: kernel (l4proto, fast load, same th_off, slow load, same th_off)"
                    f" = {got}, Packet = {want}")
            assert lab.observe(conntrack=False).emitted == ()
    assert not disagreements, "\n".join(disagreements)
