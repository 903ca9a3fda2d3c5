"""Compact tuple keys, ``ct timeout`` objects and directional zones (issue 6).

The kernel comparisons are in tests/kernel/test_ctnat_cttimeout.py; these check the
pieces on their own: the key encoding against the Tuple functions it replaces (hypothesis),
``assign_timeout`` (nft_ct_timeout_obj_eval) and the trackers reading the entry's
timeouts, and zones that apply to one direction (nf_ct_zone_id)."""

from __future__ import annotations

import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.conntrack import ConntrackTable, CtInfo, format_entry, parse_conntrack_line
from pkttables.conntrack._conn import Conn
from pkttables.conntrack._enums import TcpState
from pkttables.conntrack._table import make_template
from pkttables.conntrack._tuple import (Tuple, get_tuple, invert, invert_key, key_tuple, l3_bounds,
                                        packet_key, tuple_key, addresses)
from pkttables.conntrack.nft import ct_set
from pkttables.packet import LinkType, Packet
from pkttables.proto import CtKeyId
from pkttables.testing import packets as P
from pkttables.testing.hosts import ROUTER_TOML

C4, S4 = "192.168.1.10", "198.51.100.7"


def _frame(seg, src=C4, dst=S4, v6=False):
    ip = P.ipv6(src, dst, seg) if v6 else P.ipv4(src, dst, seg)
    return Packet(P.ether("02:00:00:00:00:01", "02:00:00:00:00:10", ip), LinkType.ETHERNET, iif="lan0")


def _run(tab, pkt, now, *, timeout=None, tmpl=None):
    """prerouting tracking, optionally `ct timeout set` after it, then confirm."""
    if tmpl is not None:
        pkt.ct, pkt.ctinfo = tmpl, CtInfo.NEW
    tab.in_hook(pkt, "prerouting", now)
    if timeout is not None:
        tab.assign_timeout(pkt, *timeout)
    tab.confirm(pkt, now)
    return pkt


# ---------------------------------------------------------------- keys

addr4 = st.binary(min_size=4, max_size=4)
addr6 = st.binary(min_size=16, max_size=16)
tuples = st.one_of(
    st.builds(lambda a, b, p, s, d: Tuple(2, a, b, p, s, d), addr4, addr4,
              st.sampled_from([1, 6, 17, 47, 132, 136, 33]), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)),
    st.builds(lambda a, b, p, s, d: Tuple(10, a, b, p, s, d), addr6, addr6,
              st.sampled_from([58, 6, 17]), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)))


@given(tuples)
@settings(max_examples=200, deadline=None)
def test_key_roundtrip_and_invert_agree_with_tuples(t):
    k = tuple_key(t)
    assert key_tuple(k) == t
    inv = invert(t)
    assert invert_key(k) == (None if inv is None else tuple_key(inv))


@given(st.sampled_from(["udp", "tcp", "icmp", "gre", "sctp"]), st.integers(0, 0xFFFF),
       st.integers(0, 0xFFFF), st.booleans(), st.integers(0, 255))
@settings(max_examples=150, deadline=None)
def test_packet_key_is_the_key_of_get_tuple(proto, a, b, v6, icmp_type):
    if proto == "udp":
        seg = P.udp(a, b, b"x")
    elif proto == "tcp":
        seg = P.tcp(a, b, P.TCP_SYN)
    elif proto == "icmp":
        seg = P.icmp_echo(a, b, v6=v6) if icmp_type & 1 else P.icmp_echo(a, b, reply=True, v6=v6)
    elif proto == "gre":
        seg = P.Segment(47, b"\0\0\x08\0", None)
    else:
        seg = P.Segment(132, a.to_bytes(2, "big") + b.to_bytes(2, "big") + bytes(8), None)
    pkt = _frame(seg, "fd00::1" if v6 else C4, "2001:db8::7" if v6 else S4, v6)
    l3num, protonum, dataoff, end = l3_bounds(pkt.buf, pkt.nh_off, len(pkt.buf))
    src, dst = addresses(pkt.buf, pkt.nh_off, l3num)
    t = get_tuple(pkt.buf, l3num, src, dst, protonum, dataoff, end)
    k = packet_key(pkt.buf, pkt.nh_off, l3num, protonum, dataoff, end)
    assert k == tuple_key(t)
    # a short transport header fails the same way
    assert packet_key(pkt.buf, pkt.nh_off, l3num, protonum, dataoff, dataoff + 3) == (
        None if get_tuple(pkt.buf, l3num, src, dst, protonum, dataoff, dataoff + 3) is None
        else tuple_key(get_tuple(pkt.buf, l3num, src, dst, protonum, dataoff, dataoff + 3)))


def test_conn_keeps_keys_and_decodes_tuples():
    t = Tuple(2, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), 17, 1000, 53)
    c = Conn(t, invert(t))
    assert type(c._ko) is bytes and c.tuples == (t, invert(t))
    assert c.l3num == 2 and c.protonum == 17 and c.original == t and c.reply == invert(t)
    c.tuples = (t, Tuple(2, t.dst, bytes([1, 2, 3, 4]), 17, 53, 4000))
    assert c.reply.dst == bytes([1, 2, 3, 4]) and c._kr == tuple_key(c.reply)


# ---------------------------------------------------------------- ct timeout

def test_udp_timeout_object_replaces_the_unreplied_and_stream_timeouts():
    tab = ConntrackTable(keep_events=False)
    pol = (17, {"unreplied": 2, "replied": 4})
    p = _run(tab, _frame(P.udp(5000, 53, b"a")), 0.0, timeout=pol)
    assert p.ct.ext_get("timeout")["udp_timeout"] == 2
    assert format_entry(p.ct, 0.0).split()[2] == "2"
    _run(tab, _frame(P.udp(5000, 53, b"b")), 1.5)            # refreshed from the object
    assert p.ct.expires == 3.5
    _run(tab, _frame(P.udp(53, 5000, b"r"), S4, C4), 1.6)   # reply, not yet a stream
    assert p.ct.expires == 3.6
    _run(tab, _frame(P.udp(5000, 53, b"c")), 2.5)            # stream: "replied"
    assert p.ct.expires == 6.5 and p.ct.assured
    assert tab.expire(6.4) == 0 and tab.expire(6.5) == 1


def test_tcp_timeout_object_values0_is_syn_sent_and_states_follow():
    tab = ConntrackTable(keep_events=False)
    pol = (6, {"syn_sent": 7, "established": 50, "close": 1})
    p = _run(tab, _frame(P.tcp(4000, 80, P.TCP_SYN, seq=1)), 0.0, timeout=pol)
    assert p.ct.expires == 7.0
    _run(tab, _frame(P.tcp(80, 4000, P.TCP_SYN | P.TCP_ACK, seq=9, ack=2), S4, C4), 1.0)
    assert p.ct.expires == 1.0 + 60      # syn_recv: not in the policy, the sysctl's value
    _run(tab, _frame(P.tcp(4000, 80, P.TCP_ACK, seq=2, ack=10)), 2.0)
    assert p.ct.proto.state == TcpState.ESTABLISHED and p.ct.expires == 52.0
    _run(tab, _frame(P.tcp(4000, 80, P.TCP_RST | P.TCP_ACK, seq=2, ack=10)), 3.0)
    assert p.ct.expires == 4.0


def test_timeout_object_only_for_new_entries_of_its_protocol():
    tab = ConntrackTable(keep_events=False)
    p = _run(tab, _frame(P.udp(5001, 53, b"a")), 0.0)
    assert p.ct.expires == 30.0
    q = _run(tab, _frame(P.udp(5001, 53, b"b")), 1.0, timeout=(17, {"unreplied": 2}))
    assert q.ct is p.ct and p.ct.ext_get("timeout") is None and p.ct.expires == 31.0   # confirmed
    r = _run(tab, _frame(P.udp(5002, 53, b"c")), 1.0, timeout=(6, {"syn_sent": 2}))
    assert r.ct.ext_get("timeout") is None and r.ct.expires == 31.0                       # not tcp
    t = _frame(P.udp(5003, 53, b"d"))
    t.ct, t.ctinfo = make_template(4), CtInfo.NEW
    assert not tab.assign_timeout(t, 17, {"unreplied": 2})                               # template


_ROUTER = ROUTER_TOML


@pytest.mark.parametrize("backend", ["interp", "codegen"])
def test_ct_timeout_set_and_original_zone_through_the_vm(backend):
    """objref type 7 in a forward chain: the entry of udp dport 53 gets 3 s, the other 30
    s; `ct original zone set` in a raw chain puts only the original direction in zone 4."""
    from pkttables.conntrack.nft import install
    from pkttables.datapath.replay import Simulator
    from pkttables.stack.host import Host
    from pkttables.testing.differential import _load
    rs = _load("table inet t {\n ct timeout u { protocol udp; l3proto ip; policy = { unreplied: 3 }; }\n"
               " chain raw { type filter hook prerouting priority raw; udp sport 5001 ct original zone set 4; }\n"
               " chain fw { type filter hook forward priority 0; udp dport 53 ct timeout set \"u\"; }\n}\n")
    sim = Simulator(Host.from_toml(_ROUTER, "<router>"), rs, conntrack=True, backend=backend)
    install(sim.runtime, sim.ct_table)
    for sport, dport in ((5000, 53), (5000, 54), (5001, 54)):
        frame = P.ether("02:00:00:00:00:01", "02:00:00:00:00:10", P.ipv4(C4, S4, P.udp(sport, dport, b"a")))
        list(sim.process(frame, 0, "lan0"))
    got = sorted((e.original.sport, e.original.dport, int(e.remaining(0.0)), e.zone_id(0), e.zone_id(1))
                 for e in sim.ct_table.entries(0.0))
    assert got == [(5000, 53, 3, 0, 0), (5000, 54, 30, 0, 0), (5001, 54, 30, 4, 0)]


# ---------------------------------------------------------------- directional zones

def test_original_zone_reply_found_in_zone_0():
    tab = ConntrackTable(keep_events=False)
    p = _run(tab, _frame(P.udp(6000, 53, b"q")), 0.0, tmpl=make_template(5, 1))
    ct = p.ct
    assert ct.zone == 5 and ct.zone_id(0) == 5 and ct.zone_id(1) == 0
    r = _run(tab, _frame(P.udp(53, 6000, b"a"), S4, C4), 0.1)
    assert r.ct is ct and r.ctinfo == CtInfo.ESTABLISHED_REPLY
    q = _run(tab, _frame(P.udp(6000, 53, b"q")), 0.2)           # no template: zone 0 misses
    assert q.ct is not ct and len(tab) == 1                       # (and clashes at confirm)
    line = format_entry(ct, 0.2)
    assert "dport=53 zone-orig=5 src=" in line and "zone=" not in line.replace("zone-orig", "")
    d = parse_conntrack_line(line)
    assert d["original"]["zone"] == 5 and d["zone"] == 0


def test_reply_zone_needs_the_reply_zone_on_the_reply():
    tab = ConntrackTable(keep_events=False)
    p = _run(tab, _frame(P.udp(6001, 53, b"q")), 0.0, tmpl=make_template(6, 2))
    r = _run(tab, _frame(P.udp(53, 6001, b"a"), S4, C4), 0.1)
    assert r.ct is not p.ct and r.ctinfo == CtInfo.NEW            # zone 0: another entry
    p2 = _run(tab, _frame(P.udp(6002, 53, b"q")), 0.0, tmpl=make_template(6, 2))
    r2 = _run(tab, _frame(P.udp(53, 6002, b"a"), S4, C4), 0.1, tmpl=make_template(6, 2))
    assert r2.ct is p2.ct and r2.ctinfo == CtInfo.ESTABLISHED_REPLY
    assert "sport=53 dport=6002 zone-reply=6 mark=0" in format_entry(p2.ct, 0.1)


def test_both_direction_zone_misses_an_original_only_entry():
    tab = ConntrackTable(keep_events=False)
    p = _run(tab, _frame(P.udp(6003, 53, b"q")), 0.0, tmpl=make_template(7, 1))
    r = _run(tab, _frame(P.udp(53, 6003, b"a"), S4, C4), 0.1, tmpl=make_template(7, 3))
    assert r.ct is not p.ct and r.ctinfo == CtInfo.NEW
    assert "zone=7" in format_entry(r.ct, 0.1)


@pytest.mark.parametrize("d, zdir", [(None, 3), (0, 1), (1, 2)])
def test_ct_zone_set_direction_gives_the_template_directions(d, zdir):
    p = _frame(P.udp(1, 2, b""))
    ct_set(types.SimpleNamespace(key=CtKeyId.ZONE, dir=d), p, (9).to_bytes(2, "little"))
    assert p.ct.zone == 9 and p.ct.zone_dir == zdir


def test_ct_zone_load_by_direction():
    from pkttables.datapath._ctglue import ct_get
    tab = ConntrackTable(keep_events=False)
    p = _run(tab, _frame(P.udp(6004, 53, b"q")), 0.0, tmpl=make_template(9, 1))
    ctx = types.SimpleNamespace(now=0.0)
    load = lambda d: ct_get(ctx, types.SimpleNamespace(key=CtKeyId.ZONE, dir=d), p)   # noqa: E731
    assert load(None) == b"\x09\x00" and load(0) == b"\x09\x00" and load(1) == b"\x00\x00"
