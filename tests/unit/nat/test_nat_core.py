"""NAT core without a kernel: port selection, ranges, address choice, bindings,
masquerade events, ICMP error rewriting, and a hypothesis round trip."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from hypothesis import given, settings, strategies as st

from pkttables.conntrack import ConntrackTable, CtInfo, Status, Tuple
from pkttables.conntrack._enums import TcpState
from pkttables.nat import (ManipType, NatFlag, NatInfo, NatRange, NatTable, find_best_ips,
                           icmp_reply_translation, jhash2, l3_manip, netmap_address)
from pkttables.packet import LinkType, Packet
from pkttables.packet.checksum import internet_checksum, pseudo_header_v4, tcp_checksum
from pkttables.stack.hooks import HookState, HookTable
from pkttables.testing import packets as P

A = ipaddress.ip_address
C, C2, S, W = A("192.168.1.10").packed, A("192.168.1.11").packed, A("198.51.100.7").packed, A("203.0.113.2").packed


def raw(l3: bytes) -> Packet:
    return Packet(l3, LinkType.RAW)


def track(ct: ConntrackTable, l3: bytes, hook="prerouting", now=0.0) -> Packet:
    p = raw(l3)
    assert ct.in_hook(p, hook, now) == 1
    return p


def table():
    ct = ConntrackTable()
    return ct, NatTable(ct, seed=7)


def confirmed_snat(ct, nat, src, sport, to_addr, to_port=None, dst=S, dport=80, proto="tcp"):
    seg = P.tcp(sport, dport) if proto == "tcp" else P.udp(sport, dport)
    p = track(ct, P.ipv4(A(src) if isinstance(src, str) else ipaddress.IPv4Address(src),
                         ipaddress.IPv4Address(dst), seg))
    rng = NatRange.to(to_addr, port=to_port)
    assert nat.setup_info(p.ct, rng, ManipType.SRC) == 1
    assert nat.nat_packet(p, p.ct, p.ctinfo, "postrouting") == 1
    assert ct.confirm(p, 0.0) == 1
    return p


# ------------------------------------------------------------------ address choice
def test_jhash2_choice_equals_the_kernels():
    # observed on Linux 6.18 (tests/kernel/test_nat_kernel.py): 192.168.1.10 -> 198.51.100.7
    # snat to 203.0.113.10-203.0.113.20 picks .16; 192.168.1.12 -> .8 and .10 -> .8 pick .13
    rng = NatRange.to(A("203.0.113.10").packed, A("203.0.113.20").packed)
    assert find_best_ips(C, S, rng) == A("203.0.113.16").packed
    assert find_best_ips(A("192.168.1.10").packed, A("198.51.100.8").packed, rng) == A("203.0.113.13").packed


def test_jhash2_is_bob_jenkins_lookup3():
    assert jhash2([], 0) == 0xDEADBEEF
    assert jhash2([1, 2, 3, 4], 0) != jhash2([1, 2, 3, 5], 0)


# jhash2 values of the word-wise implementation nat/_range.py had before it became jhash
# over the words' little-endian bytes: pins that the two agree for 0..7 words (every
# tail length and one, two full blocks)
_JHASH2_GOLDEN = [
    ([], 2675342405, 2116303668),
    ([1097127993], 3185950873, 2150207642),
    ([1539898300, 3415330359], 2965446622, 3265514668),
    ([4047793130, 3614262064, 3177840169], 2800454814, 577780311),
    ([3961355680, 2276503845, 124576495, 3609267711], 1999834075, 1421653246),
    ([3332716663, 4051686260, 1069673014, 2787324501, 222708024], 3869338171, 1090204005),
    ([673671309, 486215926, 1596840319, 2014636194, 3729944832, 1059022248], 1635342798, 699023876),
    ([2335435112, 437976711, 2465058629, 1070867289, 56325017, 3140410144, 930847394], 1752995436,
     4241113614),
]


@pytest.mark.parametrize("words,initval,expected", _JHASH2_GOLDEN)
def test_jhash2_golden_values(words, initval, expected):
    assert jhash2(words, initval) == expected


def test_persistent_ignores_the_destination():
    rng = NatRange.to(A("10.0.0.0").packed, A("10.0.0.255").packed, flags=NatFlag.PERSISTENT)
    picks = {find_best_ips(C, bytes([198, 51, 100, d]), rng) for d in range(40)}
    assert len(picks) == 1
    spread = {find_best_ips(C, bytes([198, 51, 100, d]), NatRange.to(rng.min_addr, rng.max_addr))
              for d in range(40)}
    assert len(spread) > 10


def test_ipv6_range_stays_inside():
    lo, hi = A("2001:db8::100").packed, A("2001:db8::1:200").packed
    for i in range(50):
        got = find_best_ips(A(f"fd00::{i:x}").packed, A("2001:db8:99::7").packed, NatRange.to(lo, hi))
        assert lo <= got <= hi


def test_netmap_keeps_the_host_part():
    rng = NatRange.to(A("10.9.8.0").packed, A("10.9.8.255").packed)
    assert netmap_address(A("192.168.1.77").packed, rng) == A("10.9.8.77").packed
    rng6 = NatRange.to(A("2001:db8:1::").packed, A("2001:db8:1::ffff:ffff").packed)
    assert netmap_address(A("fd00::1:2").packed, rng6) == A("2001:db8:1::1:2").packed


# ------------------------------------------------------------------ ports
def test_free_source_port_is_kept_and_clash_moves_it():
    ct, nat = table()
    p1 = confirmed_snat(ct, nat, "192.168.1.10", 40000, W)
    assert p1.ct.tuples[1].dport == 40000 and p1.ct.status & Status.SRC_NAT
    p2 = confirmed_snat(ct, nat, "192.168.1.11", 40000, W)
    port = p2.ct.tuples[1].dport
    assert port != 40000 and 1024 <= port <= 65535
    assert p2.verify_checksums() == {"ip": True, "tcp": True}


@pytest.mark.parametrize("sport,lo,hi", [(22, 1, 511), (700, 600, 1023)])
def test_low_ports_stay_low(sport, lo, hi):
    ct, nat = table()
    confirmed_snat(ct, nat, "192.168.1.10", sport, W)
    p = confirmed_snat(ct, nat, "192.168.1.11", sport, W)
    assert lo <= p.ct.tuples[1].dport <= hi and p.ct.tuples[1].dport != sport


def test_same_source_reuses_its_mapping_for_another_destination():
    ct, nat = table()
    confirmed_snat(ct, nat, "192.168.1.10", 40000, W)
    p2 = confirmed_snat(ct, nat, "192.168.1.11", 40000, W)
    p3 = confirmed_snat(ct, nat, "192.168.1.11", 40000, W, dst=A("198.51.100.9").packed)
    assert p3.ct.tuples[1].dport == p2.ct.tuples[1].dport   # endpoint-independent mapping


def test_port_range_exhausted_gives_a_clash_and_confirm_drops():
    ct, nat = table()
    confirmed_snat(ct, nat, "192.168.1.10", 5000, W, to_port=6000)
    # a one-port range is kept even when taken (min == max), and confirm refuses it
    p = track(ct, P.ipv4("192.168.2.1", "198.51.100.7", P.tcp(5000, 80)))
    nat.setup_info(p.ct, NatRange.to(W, port=6000), ManipType.SRC)
    assert ct.confirm(p, 0.0) == 0


def test_search_attempts_are_bounded_and_halved():
    ct, nat = table()
    calls = []
    real = ct.tuple_taken
    ct.tuple_taken = lambda t, ig=None, zone=0: calls.append(t) or True      # everything taken
    p = track(ct, P.ipv4("192.168.1.10", "198.51.100.7", P.udp(5000, 80)))
    nat.setup_info(p.ct, NatRange.to(W, port=1000, port_max=2999), ManipType.SRC)
    ct.tuple_taken = real
    # 128 attempts, then rounds of half as many while the last round had at least 16:
    # 128 + 64 + 32 + 16 + 8, never the 2000 ports of the range
    assert len(calls) == 128 + 64 + 32 + 16 + 8


def test_random_flag_moves_even_a_free_port_and_seed_decides():
    ports = set()
    for seed in range(5):
        ct = ConntrackTable()
        nat = NatTable(ct, seed=seed)
        p = track(ct, P.ipv4("192.168.1.10", "198.51.100.7", P.tcp(40000, 80)))
        nat.setup_info(p.ct, NatRange.to(W, flags=NatFlag.PROTO_RANDOM_FULLY), ManipType.SRC)
        ports.add(p.ct.tuples[1].dport)
    assert len(ports) > 1 and 40000 not in ports
    again = NatTable(ConntrackTable(), seed=3)
    p = track(again.conntrack, P.ipv4("192.168.1.10", "198.51.100.7", P.tcp(40000, 80)))
    again.setup_info(p.ct, NatRange.to(W, flags=NatFlag.PROTO_RANDOM), ManipType.SRC)
    ct3 = NatTable(ConntrackTable(), seed=3)
    q = track(ct3.conntrack, P.ipv4("192.168.1.10", "198.51.100.7", P.tcp(40000, 80)))
    ct3.setup_info(q.ct, NatRange.to(W, flags=NatFlag.PROTO_RANDOM), ManipType.SRC)
    assert p.ct.tuples[1] == q.ct.tuples[1]


def test_dnat_without_port_keeps_destination_port_and_icmp_id_search():
    ct, nat = table()
    p = track(ct, P.ipv4("198.51.100.7", "203.0.113.2", P.tcp(5555, 8080)))
    nat.setup_info(p.ct, NatRange.to(C), ManipType.DST)
    assert p.ct.tuples[1].src == C and p.ct.tuples[1].sport == 8080
    e1 = confirmed = track(ct, P.ipv4("192.168.1.10", "198.51.100.7", P.icmp_echo(77, 1)))
    nat.setup_info(e1.ct, NatRange.to(W), ManipType.SRC)
    ct.confirm(e1, 0)
    e2 = track(ct, P.ipv4("192.168.1.11", "198.51.100.7", P.icmp_echo(77, 1)))
    nat.setup_info(e2.ct, NatRange.to(W), ManipType.SRC)
    assert e2.ct.tuples[1].icmp_id != 77 and confirmed.ct.tuples[1].icmp_id == 77


def test_proto_offset_maps_port_to_port():
    ct, nat = table()
    p = track(ct, P.ipv4("198.51.100.7", "203.0.113.2", P.tcp(5555, 1005)))
    rng = NatRange(NatFlag.MAP_IPS | NatFlag.PROTO_SPECIFIED | NatFlag.PROTO_OFFSET, C, C, 2000, 2999, 1000)
    nat.setup_info(p.ct, rng, ManipType.DST)
    assert p.ct.tuples[1].sport == 2005


def test_time_wait_entry_is_evicted_in_the_last_attempts():
    ct, nat = table()
    old = confirmed_snat(ct, nat, "192.168.1.10", 40000, W, to_port=3000)
    old.ct.proto.state = TcpState.TIME_WAIT
    old.ct.proto.seen[0].td_end = 100
    p = track(ct, P.ipv4("192.168.1.11", "198.51.100.7", P.tcp(40000, 80, seq=5000)))
    assert p.ct.proto.state == TcpState.SYN_SENT
    # random: skip the "keep it if in range" shortcut and search the one-port range
    rng = NatRange(NatFlag.MAP_IPS | NatFlag.PROTO_SPECIFIED | NatFlag.PROTO_RANDOM, W, W, 3000, 3000)
    assert nat.setup_info(p.ct, rng, ManipType.SRC) == 1
    assert p.ct.tuples[1].dport == 3000 and nat.stats["evicted"] == 1
    assert old.ct.dying and ct.confirm(p, 0.0) == 1


def test_setup_twice_drops_and_confirmed_is_left_alone():
    ct, nat = table()
    p = confirmed_snat(ct, nat, "192.168.1.10", 1234, W)
    assert nat.setup_info(p.ct, NatRange.to(C2), ManipType.DST) == 1      # confirmed: no-op
    q = track(ct, P.ipv4("192.168.1.10", "198.51.100.7", P.udp(1, 2)))
    assert nat.setup_info(q.ct, NatRange.to(W), ManipType.SRC) == 1
    assert nat.setup_info(q.ct, NatRange.to(W), ManipType.SRC) == 0


# ------------------------------------------------------------------ hooks and events
class FakeIf:
    def __init__(self, name, addrs, ifindex):
        self.name, self.addresses, self.ifindex = name, [ipaddress.ip_interface(a) for a in addrs], ifindex

    def addrs(self, v):
        return [a for a in self.addresses if a.version == v]


class FakeRouting:
    def __init__(self, host):
        self.host = host

    def select_source_on(self, dev, dst, scope):
        a = self.host.interfaces[dev].addrs(4)
        return a[0].ip if a else None


class FakeHost:
    def __init__(self):
        self.interfaces = {"wan0": FakeIf("wan0", ["203.0.113.2/24"], 3),
                           "lan0": FakeIf("lan0", ["192.168.1.1/24", "fd00:1::1/64"], 2),
                           "wan1": FakeIf("wan1", ["198.18.0.2/24"], 4)}
        self.routing = FakeRouting(self)

    def route_output(self, daddr, oif=None):
        class D:
            gateway = None
        return D()


def masq_flow(host=None):
    host = host or FakeHost()
    ct = ConntrackTable()
    nat = NatTable(ct, host)
    p = track(ct, P.ipv4("192.168.1.10", "198.51.100.7", P.tcp(40000, 80)))
    p.oif = "wan0"
    assert nat.masquerade(p, NatRange(), "wan0") == 1
    assert nat.hook(p, "postrouting", oif="wan0") == 1
    assert ct.confirm(p, 0.0) == 1
    return host, ct, nat, p


def test_masquerade_entry_dies_with_its_address_and_survives_its_return():
    host, ct, nat, p = masq_flow()
    assert isinstance(p.ct.nat, NatInfo) and p.ct.nat.masq_ifname == "wan0"
    assert nat.on_address_change("lan0") == 0 and len(ct) == 1         # another interface
    assert nat.on_address_change("wan0") == 0 and len(ct) == 1         # same address back
    host.interfaces["wan0"].addresses = [ipaddress.ip_interface("203.0.113.9/24")]
    assert nat.on_address_change("wan0") == 1 and len(ct) == 0


def test_masquerade_device_down_and_oif_change():
    host, ct, nat, p = masq_flow()
    q = track(ct, P.ipv4("192.168.1.10", "198.51.100.7", P.tcp(40000, 80)))   # SYN again
    assert q.ct is p.ct
    assert nat.hook(q, "postrouting", oif="wan1") == 0 and len(ct) == 0   # nf_nat_oif_changed
    host, ct, nat, p = masq_flow()
    assert nat.on_device_down("wan0") == 1 and len(ct) == 0


def test_redirect_to_the_input_interface_and_to_loopback():
    ct = ConntrackTable()
    nat = NatTable(ct, FakeHost())
    p = track(ct, P.ipv4("192.168.1.10", "198.51.100.7", P.tcp(40000, 80)))
    assert nat.redirect(p, NatRange.to(port=8080), "prerouting", "lan0") == 1
    assert p.ct.tuples[1].src == A("192.168.1.1").packed and p.ct.tuples[1].sport == 8080
    q = track(ct, P.ipv4("192.168.1.1", "198.51.100.7", P.udp(1, 53)), hook="output")
    assert nat.redirect(q, NatRange(), "output", None) == 1
    assert q.ct.tuples[1].src == A("127.0.0.1").packed


def test_hook_null_binding_and_chains_not_run_for_established_or_icmp_errors():
    ct, nat = table()
    ran = []

    def chains(pkt, st):
        ran.append(st)
        return 1
    p = track(ct, P.ipv4("192.168.1.10", "198.51.100.7", P.udp(5000, 53)))
    assert nat.hook(p, "prerouting", run_chains=chains, state="pre") == 1
    assert ran == ["pre"] and p.ct.status & Status.DST_NAT_DONE and not p.ct.status & Status.DST_NAT
    nat.setup_info(p.ct, NatRange.to(W), ManipType.SRC)
    nat.hook(p, "postrouting", run_chains=chains, state="post")
    assert ran == ["pre"]               # SRC already bound: chains skipped
    ct.confirm(p, 0)
    err = track(ct, P.ipv4("198.51.100.7", "203.0.113.2",
                           P.icmp_error(3, 3, P.ipv4(W, S, P.udp(5000, 53)))))
    assert err.ctinfo == CtInfo.RELATED_REPLY
    assert nat.hook(err, "prerouting", run_chains=chains, state="err") == 1
    assert ran == ["pre"] and err.summary().startswith("IP 198.51.100.7 > 192.168.1.10")


def test_register_plugs_in_at_the_kernel_priorities():
    hooks = HookTable()
    ct, nat = table()
    nat.register(hooks, None, families=("ip",))
    got = {h: [(prio, name) for prio, name, _ in hooks.runners[("ip", h)].entries]
           for h in ("prerouting", "output", "input", "postrouting")}
    assert got == {"prerouting": [(-100, "nat")], "output": [(-100, "nat")],
                   "input": [(100, "nat")], "postrouting": [(100, "nat")]}
    p = track(ct, P.ipv4("192.168.1.10", "198.51.100.7", P.udp(1, 2)))
    v = hooks.run("ip", "postrouting", p, HookState("ip", "postrouting", None, "wan0", 0.0))
    assert v.verdict == 1 and p.ct.status & Status.SRC_NAT_DONE


# ------------------------------------------------------------------ ICMP errors
def test_icmp_error_inner_and_outer_rewritten_with_valid_checksums():
    ct, nat = table()
    p = confirmed_snat(ct, nat, "192.168.1.10", 40000, W, to_port=2000)
    sent = bytes(p.buf)                            # W:2000 -> S:80, a whole TCP SYN
    err = bytearray(P.ipv4(S, W, P.icmp_error(3, 1, sent)))
    e = raw(err)
    assert ct.in_hook(e, "prerouting", 0.0) == 1 and e.ctinfo == CtInfo.RELATED_REPLY
    assert icmp_reply_translation(e.buf, e.nh_off, e.l3_end, e.ct, e.ctinfo, ManipType.DST)
    buf = e.buf
    assert bytes(buf[16:20]) == C                                    # outer dst back to C
    assert internet_checksum(buf, 0, 20) == 0 and internet_checksum(buf, 20, len(buf)) == 0
    inner = bytes(buf[28:])
    assert inner[12:16] == C and struct.unpack("!H", inner[20:22])[0] == 40000
    assert internet_checksum(inner, 0, 20) == 0                      # inner IP header
    seg = inner[20:]
    assert tcp_checksum(seg, pseudo_header_v4(inner[12:16], inner[16:20], 6, len(seg))) == \
        struct.unpack("!H", seg[16:18])[0]                           # inner TCP, incrementally


def test_icmp_error_with_an_8_byte_quote_rewrites_ports_only():
    ct, nat = table()
    p = confirmed_snat(ct, nat, "192.168.1.10", 40000, W, to_port=2000)
    quote = bytes(p.buf[:28])
    e = raw(P.ipv4(S, W, P.icmp_error(11, 0, quote)))
    assert ct.in_hook(e, "prerouting", 0.0) == 1
    assert len(e.buf) == 20 + 8 + 28          # the quote ends before the TCP checksum
    assert icmp_reply_translation(e.buf, e.nh_off, e.l3_end, e.ct, e.ctinfo, ManipType.DST)
    assert struct.unpack("!H", e.buf[48:50])[0] == 40000 and bytes(e.buf[40:44]) == C
    assert internet_checksum(e.buf, 28, 48) == 0           # inner IP header still valid
    assert internet_checksum(e.buf, 20, len(e.buf)) == 0   # ICMP checksum recomputed


def test_icmp_redirect_about_a_nated_flow_is_dropped_and_bad_checksum_too():
    ct, nat = table()
    p = confirmed_snat(ct, nat, "192.168.1.10", 40000, W)
    e = raw(P.ipv4(S, W, P.icmp_error(5, 1, bytes(p.buf[:28]), rest=0x01020304)))
    ct.in_hook(e, "prerouting", 0.0)
    assert not icmp_reply_translation(e.buf, e.nh_off, e.l3_end, e.ct, e.ctinfo, ManipType.DST)
    f = raw(P.ipv4(S, W, P.icmp_error(3, 1, bytes(p.buf[:28]))))
    ct.in_hook(f, "prerouting", 0.0)
    f.buf[22] ^= 0xFF
    assert not icmp_reply_translation(f.buf, f.nh_off, f.l3_end, f.ct, RELATED_REPLY, ManipType.DST)


RELATED_REPLY = CtInfo.RELATED_REPLY


# ------------------------------------------------------------------ hypothesis
_v4 = st.integers(1, 0xDFFFFFFF).map(lambda i: i.to_bytes(4, "big"))
_v6 = st.integers(1, (1 << 127) - 1).map(lambda i: (i | (0x2001 << 112)).to_bytes(16, "big"))
_port = st.integers(1, 65535)


@st.composite
def flows(draw):
    v6 = draw(st.booleans())
    addr = _v6 if v6 else _v4
    proto = draw(st.sampled_from(["tcp", "udp", "icmp"]))
    c, s, snat, dnat = draw(addr), draw(addr), draw(addr), draw(addr)
    return v6, proto, c, s, snat, dnat, draw(_port), draw(_port), draw(st.one_of(st.none(), _port)), \
        draw(st.one_of(st.none(), _port)), draw(st.binary(max_size=40)), draw(st.booleans())


def build(v6, proto, src, dst, sport, dport, payload, reply=False):
    s = ipaddress.ip_address(src)
    d = ipaddress.ip_address(dst)
    if proto == "tcp":
        seg = P.tcp(sport, dport, P.TCP_SYN | P.TCP_ACK if reply else P.TCP_SYN, payload=payload)
    elif proto == "udp":
        seg = P.udp(sport, dport, payload)
    else:
        seg = P.icmp_echo(sport, 1, payload, reply=reply, v6=v6)
    return P.ipv6(s, d, seg) if v6 else P.ipv4(s, d, seg)


def through(ct, nat, l3, now):
    """prerouting (conntrack, dstnat), then postrouting (srcnat, confirm)."""
    p = raw(l3)
    assert ct.in_hook(p, "prerouting", now) == 1
    assert p.ct is not None
    assert nat.hook(p, "prerouting") == 1
    assert nat.hook(p, "postrouting") == 1
    assert ct.confirm(p, now) == 1
    return p


@settings(max_examples=120, deadline=None)
@given(flows())
def test_nat_then_reply_is_denated_and_checksums_hold(f):
    v6, proto, c, s, snat, dnat, sport, dport, snat_port, dnat_port, payload, use_dnat = f
    if c == s or len({c, s, snat, dnat}) < 4:
        return
    ct = ConntrackTable()
    nat = NatTable(ct, seed=1)
    first = raw(build(v6, proto, c, s, sport, dport, payload))
    assert ct.in_hook(first, "prerouting", 0.0) == 1
    if use_dnat:
        nat.setup_info(first.ct, NatRange.to(dnat, port=dnat_port), ManipType.DST)
    nat.setup_info(first.ct, NatRange.to(snat, port=snat_port), ManipType.SRC)
    assert nat.hook(first, "prerouting") == 1 and nat.hook(first, "postrouting") == 1
    assert ct.confirm(first, 0.0) == 1
    out = first
    checks = out.verify_checksums()
    assert all(checks.values()), checks
    o, r = out.ct.tuples
    # what left is the inverse of the reply tuple the tracker now expects
    n = 16 if v6 else 4
    nh = out.nh_off
    assert bytes(out.buf[nh + (8 if v6 else 12):nh + (8 if v6 else 12) + n]) == r.dst == snat
    if use_dnat:
        assert r.src == dnat
    # the peer answers what it saw; the client gets exactly the reverse of what it sent
    th = out.th_off
    osport, odport = struct.unpack("!HH", out.buf[th:th + 4])
    if proto == "icmp":
        echo_id = struct.unpack("!H", out.buf[th + 4:th + 6])[0]
        back = build(v6, proto, r.src, r.dst, echo_id, 0, payload, reply=True)
    else:
        back = build(v6, proto, r.src, r.dst, odport, osport, payload, reply=True)
    p = through(ct, nat, back, 0.1)
    assert p.ctinfo == CtInfo.ESTABLISHED_REPLY
    assert all(p.verify_checksums().values())
    want = raw(build(v6, proto, s, c, dport, sport, payload, reply=True)) if proto != "icmp" else \
        raw(build(v6, proto, s, c, sport, 0, payload, reply=True))
    assert bytes(p.buf) == bytes(want.buf)


@settings(max_examples=150, deadline=None)
@given(st.booleans(), st.sampled_from([6, 17, 1]), _v4, _v4, _v4, _port, _port, _port,
       st.binary(max_size=30), st.sampled_from([0, 1]))
def test_manip_and_back_is_identity(v6, proto, a, b, new, sp, dp, np, payload, manip):
    if v6:
        a, b, new = (b"\x20\x01" + x * 3 + b"\0\0" for x in (a, b, new))
        proto = 58 if proto == 1 else proto
    seg = {6: P.tcp(sp, dp, payload=payload), 17: P.udp(sp, dp, payload),
           1: P.icmp_echo(sp, 1, payload), 58: P.icmp_echo(sp, 1, payload, v6=True)}[proto]
    l3 = P.ipv6(ipaddress.ip_address(a), ipaddress.ip_address(b), seg) if v6 else \
        P.ipv4(ipaddress.ip_address(a), ipaddress.ip_address(b), seg)
    buf = bytearray(l3)
    l3num = 10 if v6 else 2
    orig = Tuple(l3num, a, b, proto, sp, dp)
    if manip == ManipType.SRC:
        target = Tuple(l3num, new, b, proto, np, dp)
    else:
        target = Tuple(l3num, a, new, proto, sp if proto in (1, 58) else sp,
                       dp if proto in (1, 58) else np)
        if proto in (1, 58):
            target = Tuple(l3num, a, new, proto, np, dp)
    assert l3_manip(buf, 0, len(buf), target, manip)
    assert all(raw(bytes(buf)).verify_checksums().values())
    assert l3_manip(buf, 0, len(buf), orig, manip)
    assert bytes(buf) == l3


def test_exported_members():
    import pkttables.nat as nat_pkg
    assert sorted(nat_pkg.__all__) == sorted([
        "NatTable", "NatInfo", "NatRange", "NatFlag", "ManipType", "RANDOM_ALL", "NAT_PRIORITY",
        "NF_NAT_MAX_ATTEMPTS", "chain_runner", "register", "l3_manip", "icmp_reply_translation",
        "find_best_ips", "jhash2", "netmap_address", "hook_manip"])
    assert all(hasattr(nat_pkg, n) for n in nat_pkg.__all__)
