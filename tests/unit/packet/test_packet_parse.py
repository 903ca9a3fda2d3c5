"""Offsets and fields of well-formed packets, compared with what scapy dissects.

Each packet is crafted with scapy; the expected offsets come from the lengths scapy
reports for each layer, and l4proto/fragoff from the kernel rules (nf_tables_ipv4.h,
nf_tables_ipv6.h + ipv6_find_hdr)."""

from __future__ import annotations

import pytest
from scapy.all import (
    AH, ARP, ESP, GRE, ICMP, IP, SCTP, TCP, UDP, CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q,
    Ether, ICMPv6DestUnreach, ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, IPOption_RR, Raw, SCTPChunkInit, conf,
)
from scapy.all import raw as sraw

from pkttables.packet import LinkType, NFProto, Packet, PacketType, ParseFlag

conf.verb = 0
ETH = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def eth():
    return Ether(**ETH)


def hdr_len(pkt, layer) -> int:
    """Byte offset of ``layer`` inside ``pkt`` as scapy builds it."""
    whole = len(sraw(pkt))
    return whole - len(sraw(pkt[layer]))


def check(p: Packet, *, nh, l4, th, fragoff=0, nfproto=None, flags=ParseFlag.NONE):
    assert p.nh_off == nh
    assert p.l4proto == l4
    assert p.th_off == th
    assert p.fragoff == fragoff
    assert p.flags == flags
    if nfproto is not None:
        assert p.nfproto == nfproto
    assert p.has_l4proto == (l4 >= 0)
    assert p.has_transport == (l4 >= 0 and fragoff == 0)


L4_CASES = [
    ("tcp", TCP(sport=1234, dport=80, flags="S"), 6),
    ("udp", UDP(sport=5353, dport=53) / (b"q" * 3), 17),
    ("icmp", ICMP(type=8) / b"ping", 1),
    ("sctp", SCTP(sport=1, dport=2) / SCTPChunkInit(), 132),
    ("gre", GRE() / IP(src="1.1.1.1", dst="2.2.2.2"), 47),
    ("esp", ESP(spi=1, seq=1) / b"12345678", 50),
    ("ah", AH(spi=1, seq=1, icv=b"\0" * 12) / TCP(), 51),
]


@pytest.mark.parametrize("name,l4,proto", L4_CASES, ids=[c[0] for c in L4_CASES])
def test_ipv4_transports(name, l4, proto):
    s = eth() / IP(src="10.0.0.1", dst="10.0.0.2") / l4
    p = Packet(sraw(s))
    check(p, nh=14, l4=proto, th=14 + 20, nfproto=NFProto.IPV4)
    assert p.ethertype == 0x0800
    assert p.mac_off == 0 and p.mac_len == 14
    assert p.l3_len == Ether(sraw(s))[IP].len == len(sraw(s)) - 14
    assert p.vlans == ()
    assert not p.is_fragment


def test_ipv4_options_move_transport():
    s = eth() / IP(src="10.0.0.1", dst="10.0.0.2", options=[IPOption_RR(routers=["1.2.3.4"] * 3)]) / TCP()
    p = Packet(sraw(s))
    ihl = sraw(s[IP])[0] & 15
    assert ihl > 5
    check(p, nh=14, l4=6, th=14 + ihl * 4)
    assert p.th_off == hdr_len(s, TCP)


def test_ipv4_first_fragment_has_transport():
    s = eth() / IP(src="10.0.0.1", dst="10.0.0.2", flags="MF", frag=0) / UDP() / (b"x" * 40)
    p = Packet(sraw(s))
    check(p, nh=14, l4=17, th=34, fragoff=0)
    assert p.is_fragment


def test_ipv4_non_first_fragment_keeps_l4proto_but_no_transport():
    s = eth() / IP(src="10.0.0.1", dst="10.0.0.2", proto=6, frag=185) / Raw(b"y" * 40)
    p = Packet(sraw(s))
    check(p, nh=14, l4=6, th=34, fragoff=185 * 8)
    assert p.is_fragment
    assert p.has_l4proto and not p.has_transport
    assert list(p.tcp_options()) == []


def test_ipv4_trailing_ethernet_padding_is_not_payload():
    s = eth() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP() / b"a"
    data = sraw(s) + b"\0" * 10
    p = Packet(data)
    check(p, nh=14, l4=17, th=34)
    assert p.l3_len == 29
    assert p.l3_end == 14 + 29


@pytest.mark.parametrize("tags", [[Dot1Q(vlan=10)], [Dot1AD(vlan=100), Dot1Q(vlan=10)],
                                  [Dot1Q(vlan=1), Dot1Q(vlan=2), Dot1Q(vlan=3)]],
                         ids=["8021q", "qinq-88a8", "triple"])
def test_vlan_tags(tags):
    s = eth()
    for t in tags:
        s = s / t
    s = s / IP(src="10.0.0.1", dst="10.0.0.2") / TCP()
    p = Packet(sraw(s))
    n = len(tags)
    check(p, nh=14 + 4 * n, l4=6, th=14 + 4 * n + 20)
    assert p.ethertype == 0x0800
    assert p.mac_len == 14 + 4 * n
    assert len(p.vlans) == n
    raw = sraw(s)
    for i, (tpid, tci) in enumerate(p.vlans):
        assert tpid == int.from_bytes(raw[12 + 4 * i:14 + 4 * i], "big")
        assert tci & 0xFFF == tags[i].vlan
    assert p.th_off == hdr_len(s, TCP)


def test_arp():
    s = Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="10.0.0.1", pdst="10.0.0.2")
    p = Packet(sraw(s))
    assert p.nfproto == NFProto.ARP
    assert p.ethertype == 0x0806
    assert p.nh_off == 14
    assert p.l4proto == -1 and not p.has_l4proto
    assert p.pkt_type == PacketType.BROADCAST
    assert p.summary() == "ARP, Request who-has 10.0.0.2 tell 10.0.0.1"


def test_pkt_type_from_destination_mac():
    body = IP(src="10.0.0.1", dst="224.0.0.1") / UDP()
    assert Packet(sraw(Ether(dst="01:00:5e:00:00:01") / body)).pkt_type == PacketType.MULTICAST
    assert Packet(sraw(Ether(dst="02:00:00:00:00:02") / body)).pkt_type == PacketType.HOST


def test_8023_length_frame_gets_pseudo_protocol():
    # An 802.3 frame: type field is a length; eth_type_trans picks ETH_P_802_2
    data = bytes(6) + bytes(6) + (20).to_bytes(2, "big") + b"\xaa\xaa\x03" + bytes(17)
    p = Packet(data)
    assert p.ethertype == 0x0004
    assert p.nfproto == NFProto.UNSPEC and p.l4proto == -1


# ---------------------------------------------------------------- IPv6

V6 = dict(src="2001:db8::1", dst="2001:db8::2")


def test_ipv6_plain_tcp():
    s = eth() / IPv6(**V6) / TCP()
    p = Packet(sraw(s))
    check(p, nh=14, l4=6, th=54, nfproto=NFProto.IPV6)
    assert p.ip6_exthdrs == ()
    assert p.l3_len == 40 + 20


def test_ipv6_extension_chain():
    s = (eth() / IPv6(**V6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(addresses=["2001:db8::9"])
         / IPv6ExtHdrDestOpt() / UDP(sport=1, dport=2) / b"data")
    p = Packet(sraw(s))
    th = hdr_len(s, UDP)
    check(p, nh=14, l4=17, th=th)
    assert [t for t, _ in p.ip6_exthdrs] == [0, 43, 60]
    assert [o for _, o in p.ip6_exthdrs] == [hdr_len(s, IPv6ExtHdrHopByHop), hdr_len(s, IPv6ExtHdrRouting),
                                              hdr_len(s, IPv6ExtHdrDestOpt)]
    assert p.find_exthdr(43) == hdr_len(s, IPv6ExtHdrRouting)
    assert p.find_exthdr(44) == -1
    assert p.find_exthdr(17) == th  # a target that is the upper layer is found too


def test_ipv6_first_fragment_walks_through():
    s = eth() / IPv6(**V6) / IPv6ExtHdrFragment(offset=0, m=1, id=7) / TCP()
    p = Packet(sraw(s))
    check(p, nh=14, l4=6, th=14 + 40 + 8)
    assert p.is_fragment
    assert p.find_exthdr(44) == 54


def test_ipv6_non_first_fragment_stops_walk():
    s = eth() / IPv6(**V6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment(offset=100, nh=17, id=7) / Raw(b"z" * 16)
    p = Packet(sraw(s))
    # ipv6_find_hdr returns before updating the offset: the kernel's thoff stays 0
    check(p, nh=14, l4=17, th=14, fragoff=800)
    assert p.is_fragment and not p.has_transport
    assert [t for t, _ in p.ip6_exthdrs] == [0, 44]
    # with a target, a non-first fragment is -ENOENT, even for the fragment header
    assert p.find_exthdr(44) == -1 and p.find_exthdr(0) == 54


def test_ipv6_non_first_fragment_before_another_exthdr_has_no_l4():
    s = eth() / IPv6(**V6) / IPv6ExtHdrFragment(offset=100, nh=60, id=7) / Raw(b"z" * 16)
    p = Packet(sraw(s))
    check(p, nh=14, l4=-1, th=-1)


def test_ipv6_ah_stops_the_nft_walk():
    s = eth() / IPv6(**V6) / IPv6ExtHdrHopByHop() / AH(nh=60, payloadlen=4, spi=1, seq=1, icv=b"\0" * 12) / IPv6ExtHdrDestOpt(nh=6) / TCP()
    p = Packet(sraw(s))
    ah = hdr_len(s, AH)
    check(p, nh=14, l4=51, th=ah)
    # exthdr lookups walk past AH, with its (len + 2) * 4 length
    assert [t for t, _ in p.ip6_exthdrs] == [0, 51, 60]
    assert p.find_exthdr(60) == hdr_len(s, IPv6ExtHdrDestOpt)
    assert p.find_exthdr(6) == hdr_len(s, TCP)


def test_ipv6_esp_is_the_upper_layer():
    s = eth() / IPv6(**V6) / IPv6ExtHdrDestOpt() / ESP(spi=5, seq=1) / b"opaque-payload"
    p = Packet(sraw(s))
    check(p, nh=14, l4=50, th=hdr_len(s, ESP))


def test_ipv6_no_next_header():
    s = eth() / IPv6(**V6, nh=59) / b""
    p = Packet(sraw(s))
    check(p, nh=14, l4=59, th=54)


def test_ipv6_unknown_header_stops_walk():
    s = eth() / IPv6(**V6) / IPv6ExtHdrDestOpt(nh=135) / Raw(b"\x3b\x00" + bytes(6))
    p = Packet(sraw(s))
    check(p, nh=14, l4=135, th=54 + 8)


def test_ipv6_icmpv6_error_inner_header():
    inner = IPv6(src="2001:db8::2", dst="2001:db8::1") / UDP()
    s = eth() / IPv6(**V6) / ICMPv6DestUnreach() / inner
    p = Packet(sraw(s))
    check(p, nh=14, l4=58, th=54)
    assert p.inner_nh_off == 54 + 8
    assert Packet(sraw(eth() / IPv6(**V6) / ICMPv6EchoRequest())).inner_nh_off == -1


def test_icmp_error_inner_header():
    s = eth() / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=3, code=3) / IP(src="10.0.0.2", dst="10.0.0.1") / UDP()
    p = Packet(sraw(s))
    assert p.inner_nh_off == 34 + 8
    assert Packet(sraw(eth() / IP() / ICMP(type=8))).inner_nh_off == -1


def test_jumbogram_payload_length_zero():
    # RFC 2675: payload length 0 with a hop-by-hop Jumbo Payload option
    body = TCP() / (b"j" * 12)
    hbh = bytes([6, 0, 0xC2, 4]) + (8 + len(sraw(body))).to_bytes(4, "big")
    ip6 = sraw(IPv6(**V6, nh=0, plen=0))
    data = sraw(Ether(**ETH, type=0x86DD)) + ip6 + hbh + sraw(body)
    p = Packet(data)
    assert ParseFlag.JUMBO in p.flags
    assert p.l4proto == 6 and p.th_off == 14 + 48
    assert p.l3_len == 40 + 8 + len(sraw(body))


# ---------------------------------------------------------------- link types


def test_raw_link_ipv4_and_ipv6():
    p4 = Packet(sraw(IP(src="10.0.0.1", dst="10.0.0.2") / UDP()), link=LinkType.RAW)
    check(p4, nh=0, l4=17, th=20, nfproto=NFProto.IPV4)
    assert p4.mac_off == -1 and p4.mac_len == 0
    p6 = Packet(sraw(IPv6(**V6) / UDP()), link=LinkType.RAW)
    check(p6, nh=0, l4=17, th=40, nfproto=NFProto.IPV6)
    p = Packet(sraw(IPv6(**V6) / UDP()), link=LinkType.IPV6)
    check(p, nh=0, l4=17, th=40)


def test_raw_link_bad_version():
    p = Packet(b"\x50" + bytes(30), link=LinkType.RAW)
    assert p.flags == ParseFlag.BAD_VERSION and p.l4proto == -1
    p = Packet(sraw(IPv6(**V6) / UDP()), link=LinkType.IPV4)
    assert ParseFlag.BAD_VERSION in p.flags and p.nfproto == NFProto.IPV4 and p.l4proto == -1


def test_linux_sll():
    s = CookedLinux(pkttype=4, lladdrtype=1, lladdrlen=6, src=b"\x02\0\0\0\0\x01\0\0", proto=0x0800) / \
        IP(src="10.0.0.1", dst="10.0.0.2") / TCP()
    p = Packet(sraw(s), link=LinkType.LINUX_SLL)
    check(p, nh=16, l4=6, th=36, nfproto=NFProto.IPV4)
    assert p.pkt_type == PacketType.OUTGOING
    assert p.mac_off == -1


def test_linux_sll2():
    s = CookedLinuxV2(proto=0x86DD, ifindex=3, pkttype=1) / IPv6(**V6) / UDP()
    p = Packet(sraw(s), link=LinkType.LINUX_SLL2)
    check(p, nh=20, l4=17, th=60, nfproto=NFProto.IPV6)
    assert p.pkt_type == PacketType.BROADCAST


@pytest.mark.parametrize("link, hl", [(LinkType.LINUX_SLL, 16), (LinkType.LINUX_SLL2, 20)])
def test_vlan_tags_in_cooked_captures(link, hl):
    # the same tag walk as Ethernet's: two tags, the inner ethertype, nh after them
    hdr = (CookedLinux(pkttype=0, proto=0x88A8) if link == LinkType.LINUX_SLL
           else CookedLinuxV2(proto=0x88A8, ifindex=3, pkttype=0))
    raw = sraw(hdr)[:hl] + bytes.fromhex("0064 8100 000a 0800") + sraw(IP(src="10.0.0.1", dst="10.0.0.2") / TCP())
    p = Packet(raw, link=link)
    check(p, nh=hl + 8, l4=6, th=hl + 28, nfproto=NFProto.IPV4)
    assert p.vlans == ((0x88A8, 100), (0x8100, 10)) and p.ethertype == 0x0800
    cut = Packet(raw[:hl + 6], link=link)      # the second tag is cut
    assert cut.flags == ParseFlag.TRUNCATED and cut.nh_off == -1 and cut.vlans == ((0x88A8, 100),)


def test_unknown_link_type_never_raises():
    p = Packet(b"\x00" * 40, link=147)
    assert p.flags == ParseFlag.BAD_LINK and p.nh_off == -1 and p.l4proto == -1


# ---------------------------------------------------------------- TCP options


def test_tcp_options_walk():
    s = eth() / IP() / TCP(options=[("MSS", 1460), ("NOP", None), ("WScale", 7), ("SAckOK", b""),
                                   ("Timestamp", (1, 2)), ("EOL", None)])
    p = Packet(sraw(s))
    opts = list(p.tcp_options())
    th = p.th_off
    kinds = [k for k, _, _ in opts]
    assert kinds[:5] == [2, 1, 3, 4, 8]
    assert opts[0] == (2, th + 20, 4)
    assert opts[1] == (1, th + 24, 1)
    assert opts[2] == (3, th + 25, 3)
    # EOL does not end the nft walk; the padding after it is walked as 1-byte options
    assert all(length == 1 for k, _, length in opts[5:])


def test_tcp_options_tolerate_garbage():
    data = bytearray(sraw(eth() / IP() / TCP(options=[("NOP", None)] * 8)))
    th = 34
    data[th + 20:th + 28] = bytes([5, 0, 9, 200, 1, 1, 1, 1])  # zero length, absurd length
    p = Packet(bytes(data))
    opts = list(p.tcp_options())
    assert opts[0] == (5, th + 20, 1)
    assert opts[1] == (0, th + 21, 1)
    assert opts[2] == (9, th + 22, 200)  # reported; beyond the header, the caller refuses it
    assert len(opts) == 3


# ---------------------------------------------------------------- misc


def test_copy_is_independent_and_equal():
    p = Packet(sraw(eth() / Dot1Q(vlan=5) / IPv6(**V6) / IPv6ExtHdrHopByHop() / TCP()), iif="eth0")
    p.mark = 7
    q = p.copy()
    for name in Packet.__slots__:
        assert getattr(q, name) == getattr(p, name), name
    q.buf[0] ^= 0xFF
    assert p.buf[0] != q.buf[0]


def test_summary_lines():
    assert Packet(sraw(eth() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=80, flags="S"))).summary() \
        == "IP 10.0.0.1.1234 > 10.0.0.2.80: TCP [S]"
    assert Packet(sraw(eth() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1, dport=2, flags="SA"))).summary() \
        == "IP 10.0.0.1.1 > 10.0.0.2.2: TCP [S.]"
    assert Packet(sraw(eth() / IPv6(**V6) / UDP(sport=53, dport=5353) / b"abc")).summary() \
        == "IP6 2001:db8::1.53 > 2001:db8::2.5353: UDP, length 3"
    assert "frag" in Packet(sraw(eth() / IP(proto=6, frag=10) / (b"x" * 8))).summary()
    assert Packet(sraw(eth() / Dot1Q(vlan=7) / IP(src="1.1.1.1", dst="2.2.2.2") / ICMP())).summary() \
        == "vlan 7, IP 1.1.1.1 > 2.2.2.2: ICMP type 8 code 0"


def test_transport_load_allowed_mirrors_fast_and_slow_payload_paths():
    # checked against the 6.18 kernel: fast loads ignore fragoff, slow ones refuse it
    frag4 = Packet(sraw(eth() / IP(proto=17, frag=3) / (b"\x00\x01\xbe\xef" + bytes(20))))
    assert frag4.has_l4proto and not frag4.has_transport
    assert frag4.transport_load_allowed(2, 2) and frag4.transport_load_allowed(0, 4)
    assert not frag4.transport_load_allowed(1, 3) and not frag4.transport_load_allowed(1, 2)
    whole = Packet(sraw(eth() / IP() / UDP()))
    assert whole.transport_load_allowed(1, 3) and whole.transport_load_allowed(2, 2)
    bad_ihl = Packet(sraw(eth() / IP(ihl=2)))
    assert not bad_ihl.transport_load_allowed(0, 2)
