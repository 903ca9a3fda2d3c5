"""Stateless evaluation of instructions on real packets, and the rule interpreter."""

from __future__ import annotations

import struct

import pytest

from pkttables.packet import LinkType, Packet
from pkttables.proto import Base, ExthdrFlag, ExthdrOp, FibFlag, FibResult, MetaKeyId
from pkttables.stack.host import Host
from pkttables.testing.packets import ether, ipv4, ipv6, tcp, udp
from pkttables.vm import (
    Cmp, CmpOp, CsumFlag, CsumType, EvalContext, ExthdrLoad, ExthdrReset, ExthdrWrite, Fib, Hash,
    HookNotImplemented, Immediate, Lookup, MetaLoad, MetaSet, Numgen, PayloadLoad, PayloadWrite,
    Program, Regs, Verdict, VerdictData, jhash, parse_dump, run,
)
from pkttables.proto import HashType, NgType

MAC1, MAC2 = "02:00:00:00:00:02", "02:00:00:00:00:01"


def tcp4(dport=22, **kw):
    return Packet(ether(MAC2, MAC1, ipv4("10.0.0.1", "192.0.2.1", tcp(40000, dport, **kw))))


def ev(ins, pkt, ctx=None, regs=None):
    regs = regs or Regs()
    regs.verdict = Verdict.CONTINUE
    ins.eval(regs, pkt, ctx or EvalContext())
    return regs


def rule(text):
    (p,) = parse_dump(text)
    return p


# ---------------------------------------------------------------- payload

def test_tcp_dport_rule_matches_as_dumped_by_nft():
    p = rule("inet test-inet input\n"
             "  [ meta load l4proto => reg 1 ]\n"
             "  [ cmp eq reg 1 0x00000006 ]\n"
             "  [ payload load 2b @ transport header + 2 => reg 1 ]\n"
             "  [ cmp eq reg 1 0x00001600 ]\n"
             "  [ immediate reg 0 accept ]")
    ctx = EvalContext(family=1)
    assert run(p, tcp4(22), ctx) == (Verdict.ACCEPT, None)
    assert run(p, tcp4(80), ctx) == (Verdict.CONTINUE, None)
    u = Packet(ether(MAC2, MAC1, ipv4("10.0.0.1", "192.0.2.1", udp(1, 22))))
    assert run(p, u, ctx) == (Verdict.CONTINUE, None)


def test_payload_bases():
    pkt = tcp4()
    assert ev(PayloadLoad(Base.LL_HEADER, 12, 2, 1), pkt).load(1, 2) == b"\x08\x00"
    assert ev(PayloadLoad(Base.NETWORK_HEADER, 12, 4, 1), pkt).load(1, 4) == bytes([10, 0, 0, 1])
    # past the end of the packet: BREAK
    assert ev(PayloadLoad(Base.TRANSPORT_HEADER, 200, 4, 1), pkt).verdict == Verdict.BREAK
    # raw L3 packet: no link header, BREAK
    raw = Packet(ipv4("10.0.0.1", "10.0.0.2", udp(1, 2)), LinkType.RAW)
    assert ev(PayloadLoad(Base.LL_HEADER, 0, 2, 1), raw).verdict == Verdict.BREAK
    assert ev(PayloadLoad(Base.NETWORK_HEADER, 9, 1, 1), raw).load(1, 1) == b"\x11"


def test_payload_inner_is_transport_payload():
    u = Packet(ether(MAC2, MAC1, ipv4("10.0.0.1", "10.0.0.2", udp(1, 2, b"hello"))))
    assert ev(PayloadLoad(Base.INNER_HEADER, 0, 5, 1), u).load(1, 5) == b"hello"
    t = tcp4(payload=b"GET /")  # SYN with 20 bytes of options: inner is after them
    assert ev(PayloadLoad(Base.INNER_HEADER, 0, 3, 1), t).load(1, 3) == b"GET"


def test_vlan_link_load_sees_the_tag():
    f = ether(MAC2, MAC1, ipv4("10.0.0.1", "10.0.0.2", udp(1, 2)), vlan=100)
    pkt = Packet(f)
    r = ev(PayloadLoad(Base.LL_HEADER, 12, 4, 1), pkt)  # TPID + TCI, as copy_vlan rebuilds
    assert r.load(1, 4) == b"\x81\x00\x00\x64"
    assert ev(PayloadLoad(Base.NETWORK_HEADER, 9, 1, 1), pkt).load(1, 1) == b"\x11"


def _fragment(offset_words: int) -> Packet:
    seg = udp(1000, 53, b"x" * 16)
    raw = bytearray(ipv4("10.0.0.1", "10.0.0.2", seg, df=False))
    struct.pack_into("!H", raw, 6, 0x2000 | offset_words if offset_words == 0 else offset_words)
    return Packet(ether(MAC2, MAC1, bytes(raw)))


def test_transport_loads_on_non_first_fragment():
    frag = _fragment(3)
    assert frag.fragoff and frag.l4proto == 17
    # unaligned / 3-byte loads take nft_payload_eval, which refuses fragments
    assert ev(PayloadLoad(Base.TRANSPORT_HEADER, 1, 3, 1), frag).verdict == Verdict.BREAK
    # an aligned 2-byte load takes the fast path, which does not look at fragoff
    assert ev(PayloadLoad(Base.TRANSPORT_HEADER, 2, 2, 1), frag).verdict == Verdict.CONTINUE
    first = _fragment(0)
    assert ev(PayloadLoad(Base.TRANSPORT_HEADER, 1, 3, 1), first).verdict == Verdict.CONTINUE


def test_payload_write_updates_checksums():
    pkt = tcp4(22)
    regs = Regs()
    regs.store(1, b"\x00\x50")
    # tcp dport set 80: csum_type inet at th+16
    ev(PayloadWrite(1, Base.TRANSPORT_HEADER, 2, 2, CsumType.INET, 16), pkt, regs=regs)
    assert pkt.buf[pkt.th_off + 2:pkt.th_off + 4] == b"\x00\x50"
    assert pkt.verify_checksums() == {"ip": True, "tcp": True}
    # ip saddr set: IP header checksum at nh+10 and the pseudo-header flag for TCP
    regs.store(1, bytes([10, 9, 9, 9]))
    w = PayloadWrite(1, Base.NETWORK_HEADER, 12, 4, CsumType.INET, 10, CsumFlag.L4PSEUDOHDR)
    ev(w, pkt, regs=regs)
    assert pkt.buf[pkt.nh_off + 12:pkt.nh_off + 16] == bytes([10, 9, 9, 9])
    assert pkt.verify_checksums() == {"ip": True, "tcp": True}
    # without the flag the TCP checksum goes stale, as in the kernel
    regs.store(1, bytes([10, 8, 8, 8]))
    ev(PayloadWrite(1, Base.NETWORK_HEADER, 12, 4, CsumType.INET, 10), pkt, regs=regs)
    assert pkt.verify_checksums() == {"ip": True, "tcp": False}


# ---------------------------------------------------------------- meta

def test_meta_iiftype_reads_skb_dev():
    """NFT_META_IFTYPE (key 9 since 5.16) reads skb->dev: the input device up to the
    routing decision, none at OUTPUT, the output device at POSTROUTING and egress."""
    host = Host.single_interface()
    pkt = tcp4()

    def iiftype(hook, iif, oif, family=1):
        pkt.iif, pkt.oif = iif, oif
        ctx = EvalContext(family=family, hook=hook, host=host)
        r = ev(MetaLoad(MetaKeyId.IIFTYPE, 1), pkt, ctx)
        return None if r.verdict == Verdict.BREAK else r.load(1, 2)

    assert iiftype("prerouting", "eth0", None) == b"\x01\0"
    assert iiftype("forward", "eth0", "eth0") == b"\x01\0"
    assert iiftype("output", None, "eth0") is None          # a local skb has no dev yet
    assert iiftype("postrouting", None, "eth0") == b"\x01\0"  # ip_output set skb->dev
    assert iiftype("postrouting", None, "lo") == (772).to_bytes(2, "little")
    assert iiftype("postrouting", "eth0", None) is None
    assert iiftype("egress", None, "eth0", family=5) == b"\x01\0"


def test_meta_len_at_egress_counts_the_mac_header():
    pkt = tcp4()
    ctx = EvalContext(family=5, hook="egress")
    assert ev(MetaLoad(MetaKeyId.LEN, 1), pkt, ctx).load(1, 4) == len(pkt.buf).to_bytes(4, "little")
    ctx = EvalContext(family=5, hook="ingress")
    assert ev(MetaLoad(MetaKeyId.LEN, 1), pkt, ctx).load(1, 4) == (len(pkt.buf) - 14).to_bytes(4, "little")


def test_meta_keys():
    host = Host.single_interface()
    pkt = tcp4()
    pkt.iif = "eth0"
    pkt.mark = 0x2A
    ctx = EvalContext(family=1, host=host, now=86400 * 3 + 3600 * 5 + 7, seed=1)

    def load(key, n):
        r = ev(MetaLoad(key, 1), pkt, ctx)
        assert r.verdict == Verdict.CONTINUE, key
        return r.load(1, n)

    assert load(MetaKeyId.L4PROTO, 4) == b"\x06\0\0\0"
    assert load(MetaKeyId.NFPROTO, 1) == b"\x02"
    assert load(MetaKeyId.PROTOCOL, 4) == b"\x08\x00\0\0"
    assert load(MetaKeyId.MARK, 4) == (0x2A).to_bytes(4, "little")
    assert load(MetaKeyId.LEN, 4) == (len(pkt.buf) - 14).to_bytes(4, "little")
    assert load(MetaKeyId.IIF, 4) == (2).to_bytes(4, "little")
    assert load(MetaKeyId.IIFNAME, 16) == b"eth0" + bytes(12)
    assert load(MetaKeyId.IIFTYPE, 4) == b"\x01\0\0\0"
    assert load(MetaKeyId.OIF, 4) == bytes(4)  # no output device: 0, no break
    assert load(MetaKeyId.CPU, 4) == bytes(4)
    # 1970-01-04 was a Sunday (0); hour is seconds into the UTC day
    assert load(MetaKeyId.TIME_DAY, 1) == b"\x00"
    assert load(MetaKeyId.TIME_HOUR, 4) == (5 * 3600 + 7).to_bytes(4, "little")
    assert load(MetaKeyId.TIME_NS, 8) == (ctx.now * 10**9).__int__().to_bytes(8, "little")
    ctx.tz_minuteswest = -120  # UTC+2: the day follows the zone, the hour does not
    assert load(MetaKeyId.TIME_DAY, 1) == b"\x00"
    ctx.now = 86400 * 3 + 23 * 3600
    assert load(MetaKeyId.TIME_DAY, 1) == b"\x01"
    # no device / no socket / no L4 info: BREAK
    assert ev(MetaLoad(MetaKeyId.OIFTYPE, 1), pkt, ctx).verdict == Verdict.BREAK
    assert ev(MetaLoad(MetaKeyId.SKUID, 1), pkt, ctx).verdict == Verdict.BREAK
    arp = Packet(ether("ff:ff:ff:ff:ff:ff", MAC1, b"\0" * 28, ethertype=0x0806))
    assert ev(MetaLoad(MetaKeyId.L4PROTO, 1), arp, ctx).verdict == Verdict.BREAK


def test_meta_random_is_seeded_and_nfproto_in_netdev():
    pkt = tcp4()
    a = ev(MetaLoad(MetaKeyId.PRANDOM, 1), pkt, EvalContext(seed=7)).load(1, 4)
    b = ev(MetaLoad(MetaKeyId.PRANDOM, 1), pkt, EvalContext(seed=7)).load(1, 4)
    assert a == b
    assert ev(MetaLoad(MetaKeyId.NFPROTO, 1), pkt, EvalContext(family=5)).load(1, 1) == b"\x05"


def test_meta_set():
    pkt = tcp4()
    regs = Regs()
    regs.store_u32(1, 0x1234)
    ev(MetaSet(MetaKeyId.MARK, 1), pkt, regs=regs)
    assert pkt.mark == 0x1234
    regs.store_u8(1, 1)
    ev(MetaSet(MetaKeyId.NFTRACE, 1), pkt, regs=regs)
    assert pkt.nftrace == 1
    with pytest.raises(HookNotImplemented):
        ev(MetaSet(MetaKeyId.SECMARK, 1), pkt, regs=regs)


# ---------------------------------------------------------------- lookup

class DictSet:
    def __init__(self, elems, klen, dlen=0, catchall=None):
        self.elems, self.klen, self.dlen, self._catchall = elems, klen, dlen, catchall

    def lookup(self, key):
        return (key in self.elems, self.elems.get(key))

    def catchall(self):
        return (self._catchall is not None, self._catchall)


def test_lookup_set_inverted_and_vmap():
    ports = DictSet({b"\x00\x16": None, b"\x00\x50": None}, 2)
    vmap = DictSet({b"\x00\x16": VerdictData(Verdict.ACCEPT)}, 2, catchall=VerdictData(Verdict.DROP))
    ctx = EvalContext(sets={"ports": ports, "vm": vmap})
    load = PayloadLoad(Base.TRANSPORT_HEADER, 2, 2, 1)
    assert run((load, Lookup(1, "ports"), Immediate(0, VerdictData(Verdict.ACCEPT))), tcp4(22), ctx)[0] \
        == Verdict.ACCEPT
    assert run((load, Lookup(1, "ports")), tcp4(23), ctx)[0] == Verdict.CONTINUE
    inv = Lookup(1, "ports", flags=1)
    assert ev(inv, tcp4(23), ctx, regs=ev(load, tcp4(23))).verdict == Verdict.CONTINUE
    assert ev(inv, tcp4(22), ctx, regs=ev(load, tcp4(22))).verdict == Verdict.BREAK
    assert run((load, Lookup(1, "vm", dreg=0)), tcp4(22), ctx)[0] == Verdict.ACCEPT
    # miss: the catch-all element answers
    assert run((load, Lookup(1, "vm", dreg=0)), tcp4(99), ctx)[0] == Verdict.DROP


def test_lookup_map_data_goes_to_dreg():
    m = DictSet({b"\x00\x16": bytes([10, 0, 0, 9])}, 2, 4)
    regs = ev(PayloadLoad(Base.TRANSPORT_HEADER, 2, 2, 1), tcp4(22))
    ev(Lookup(1, "m", dreg=9), tcp4(22), EvalContext(sets={"m": m}), regs=regs)
    assert regs.load(9, 4) == bytes([10, 0, 0, 9])


# ---------------------------------------------------------------- exthdr

def test_tcp_options():
    pkt = tcp4()  # Linux SYN: MSS 1460, SACK-perm, TS, NOP, WS 7
    assert ev(ExthdrLoad(ExthdrOp.TCPOPT, 2, 2, 2, 1), pkt).load(1, 2) == (1460).to_bytes(2, "big")
    r = ev(ExthdrLoad(ExthdrOp.TCPOPT, 3, 0, 1, 1, ExthdrFlag.PRESENT), pkt)
    assert r.load_u32(1) == 1
    assert ev(ExthdrLoad(ExthdrOp.TCPOPT, 19, 0, 1, 1, ExthdrFlag.PRESENT), pkt).load_u32(1) == 0
    assert ev(ExthdrLoad(ExthdrOp.TCPOPT, 19, 0, 1, 1), pkt).verdict == Verdict.BREAK
    # offset + len past the option: BREAK
    assert ev(ExthdrLoad(ExthdrOp.TCPOPT, 2, 3, 2, 1), pkt).verdict == Verdict.BREAK


def test_tcp_option_write_lowers_mss_only_and_reset():
    pkt = tcp4()
    regs = Regs()
    regs.store(1, (1360).to_bytes(2, "big"))
    ev(ExthdrWrite(ExthdrOp.TCPOPT, 2, 2, 2, 1), pkt, regs=regs)
    assert ev(ExthdrLoad(ExthdrOp.TCPOPT, 2, 2, 2, 1), pkt).load(1, 2) == (1360).to_bytes(2, "big")
    assert pkt.verify_checksums()["tcp"]
    regs.store(1, (9000).to_bytes(2, "big"))
    ev(ExthdrWrite(ExthdrOp.TCPOPT, 2, 2, 2, 1), pkt, regs=regs)  # increase: ignored
    assert ev(ExthdrLoad(ExthdrOp.TCPOPT, 2, 2, 2, 1), pkt).load(1, 2) == (1360).to_bytes(2, "big")
    ev(ExthdrReset(ExthdrOp.TCPOPT, 8), pkt)  # timestamps -> NOPs
    assert ev(ExthdrLoad(ExthdrOp.TCPOPT, 8, 0, 1, 1, ExthdrFlag.PRESENT), pkt).load_u32(1) == 0
    assert pkt.verify_checksums()["tcp"]


def test_ipv6_exthdr():
    rh = bytes([17, 0, 0, 0]) + bytes(4)  # routing header type 0, segments left 0, next UDP
    pkt = Packet(ether(MAC2, MAC1, ipv6("2001:db8::1", "2001:db8::2", udp(1, 2), exthdrs=rh,
                                        first_nexthdr=43)))
    assert ev(ExthdrLoad(ExthdrOp.IPV6, 43, 0, 1, 1), pkt).load(1, 1) == b"\x11"
    assert ev(ExthdrLoad(ExthdrOp.IPV6, 43, 0, 1, 1, ExthdrFlag.PRESENT), pkt).load(1, 1) == b"\x01"
    assert ev(ExthdrLoad(ExthdrOp.IPV6, 44, 0, 1, 1, ExthdrFlag.PRESENT), pkt).load(1, 1) == b"\x00"
    assert ev(ExthdrLoad(ExthdrOp.IPV6, 44, 0, 1, 1), pkt).verdict == Verdict.BREAK


def test_ipv4_options():
    ra = bytes([148, 4, 0, 0])
    pkt = Packet(ether(MAC2, MAC1, ipv4("10.0.0.1", "10.0.0.2", udp(1, 2), options=ra)))
    assert ev(ExthdrLoad(ExthdrOp.IPV4, 148, 2, 2, 1), pkt).load(1, 2) == b"\0\0"
    assert ev(ExthdrLoad(ExthdrOp.IPV4, 7, 0, 1, 1, ExthdrFlag.PRESENT), pkt).load(1, 1) == b"\x00"
    assert ev(ExthdrLoad(ExthdrOp.IPV4, 148, 0, 1, 1, ExthdrFlag.PRESENT), pkt).load(1, 1) == b"\x01"


# ---------------------------------------------------------------- hash, numgen, fib

def test_jhash_known_vectors():
    # lookup3.c's driver5 vectors for hashlittle, which the kernel's jhash is
    assert jhash(b"", 0) == 0xDEADBEEF
    assert jhash(b"", 0xDEADBEEF) == 0xBD5B7DDE
    assert jhash(b"Four score and seven years ago", 0) == 0x17770551
    assert jhash(b"Four score and seven years ago", 1) == 0xCD628161


def test_hash_instruction():
    regs = Regs()
    regs.store(2, bytes([10, 0, 0, 1, 10, 0, 0, 2]))
    h = Hash(HashType.JENKINS, 1, 2, sreg=2, len=8, seed=0xDEADBEEF, offset=100)
    ev(h, tcp4(), regs=regs)
    want = ((jhash(bytes([10, 0, 0, 1, 10, 0, 0, 2]), 0xDEADBEEF) * 2) >> 32) + 100
    assert regs.load_u32(1) == want
    # symhash: both directions of a flow agree
    a = Packet(ether(MAC2, MAC1, ipv4("10.0.0.1", "10.0.0.2", tcp(1000, 22))))
    b = Packet(ether(MAC1, MAC2, ipv4("10.0.0.2", "10.0.0.1", tcp(22, 1000))))
    s = Hash(HashType.SYM, 1, 65536)
    ctx = EvalContext(seed=3)
    assert ev(s, a, ctx).load_u32(1) == ev(s, b, ctx).load_u32(1)


def test_numgen_inc_and_random():
    ctx = EvalContext()
    ng = Numgen(NgType.INCREMENTAL, 1, 3, offset=10)
    assert [ev(ng, tcp4(), ctx).load_u32(1) for _ in range(5)] == [10, 11, 12, 10, 11]
    other = Numgen(NgType.INCREMENTAL, 1, 3, offset=10)  # an equal rule keeps its own counter
    assert ev(other, tcp4(), ctx).load_u32(1) == 10
    rnd = Numgen(NgType.RANDOM, 1, 4)
    vals = {ev(rnd, tcp4(), ctx).load_u32(1) for _ in range(50)}
    assert vals <= {0, 1, 2, 3} and len(vals) > 1


def test_fib():
    host = Host.single_interface()
    pkt = tcp4()  # 10.0.0.1 -> 192.0.2.1
    pkt.iif = "eth0"
    ctx = EvalContext(family=2, host=host, hook="prerouting")
    t = ev(Fib(FibFlag.DADDR | FibFlag.IIF, FibResult.ADDRTYPE, 1), pkt, ctx)
    assert t.load_u32(1) == 2  # RTN_LOCAL
    o = ev(Fib(FibFlag.DADDR, FibResult.OIF, 1), pkt, ctx)
    assert o.load_u32(1) == 0  # local address: no output interface
    arp = Packet(ether("ff:ff:ff:ff:ff:ff", MAC1, b"\0" * 28, ethertype=0x0806))
    assert ev(Fib(FibFlag.DADDR, FibResult.OIF, 1), arp, ctx).verdict == Verdict.DROP


# ---------------------------------------------------------------- interpreter

def test_interp_stops_at_break_and_returns_jump_chain():
    p = Program((Cmp(CmpOp.EQ, 1, b"\x01"), Immediate(0, VerdictData(Verdict.ACCEPT))))
    regs = Regs()
    assert run(p, tcp4(), EvalContext(), regs) == (Verdict.CONTINUE, None)
    j = Program((Immediate(0, VerdictData(Verdict.JUMP, "other")), Immediate(0, VerdictData(Verdict.DROP))))
    assert run(j, tcp4(), EvalContext()) == (Verdict.JUMP, "other")


# ---------------------------------------------------------------- symhash
from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(a=st.integers(1, 2**32 - 2), b=st.integers(1, 2**32 - 2), sp=st.integers(1, 65535),
       dp=st.integers(1, 65535), tcp_=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_symhash_is_the_same_in_both_directions(a, b, sp, dp, tcp_, seed):
    """The one property of __skb_get_hash_symmetric that is boot-independent (its values
    need the kernel's per-boot hashrnd): both directions of a flow hash alike."""
    from ipaddress import IPv4Address
    from pkttables.vm.hash import symhash
    s, d = str(IPv4Address(a)), str(IPv4Address(b))
    seg = (lambda x, y: tcp(x, y)) if tcp_ else (lambda x, y: udp(x, y, b"p"))
    fwd = Packet(ether(MAC2, MAC1, ipv4(s, d, seg(sp, dp))))
    rev = Packet(ether(MAC1, MAC2, ipv4(d, s, seg(dp, sp))))
    assert symhash(fwd, seed) == symhash(rev, seed)
