"""Directional zones in the lookups NAT and expectations make, and `ct timeout` objects
that go away while entries use them (nf_ct_untimeout)."""

from __future__ import annotations

from pkttables.conntrack import ConntrackTable, CtInfo, Tuple, make_template
from pkttables.packet import LinkType, Packet
from pkttables.testing import packets as P

C, S = "192.168.1.10", "198.51.100.7"


def _send(ct, frame, now, tmpl=None):
    pkt = Packet(frame, LinkType.RAW)
    if tmpl is not None:
        pkt.ct = tmpl
    ct.in_hook(pkt, "prerouting", now)
    ct.confirm(pkt, now)
    return pkt


def test_lookup_with_an_entrys_zone_struct_uses_both_directions():
    ct = ConntrackTable()
    # `ct original zone set 5`: original hashed in zone 5, reply in zone 0
    a = _send(ct, P.ipv4(C, S, P.udp(5000, 53)), 1.0, make_template(5, 1)).ct
    reply = a.tuples[1]
    # a zone id means both directions: the reply tuple (zone 0 side) is not in zone 5
    assert ct.lookup(reply, 5) is None
    # the entry's zone struct: original id 5 misses, reply id 0 finds it, direction reply
    hit = ct.lookup(reply, a)
    assert hit is not None and hit[0] is a and hit[1] == 1
    # its original tuple is found under its original id, direction original
    assert ct.lookup(a.tuples[0], a) == (a, 0)
    # an entry of plain zone 5 does not find a's reply (zone id 0 in the reply direction)
    b = _send(ct, P.ipv4(C, S, P.udp(5001, 53)), 1.0, make_template(5)).ct
    assert ct.lookup(reply, b) is None


def test_expectation_matches_the_plain_zone_id():
    # master in zone 5 (both directions); the data connection gets `ct reply zone set 5`:
    # nf_ct_exp_zone_equal_any compares ids only, so it is expected (RELATED)
    ct = ConntrackTable()
    m = _send(ct, P.ipv4(C, S, P.tcp(40000, 21, P.TCP_SYN)), 1.0, make_template(5)).ct
    assert m is not None and m.confirmed
    ct.expect(Tuple(2, bytes([198, 51, 100, 7]), bytes([192, 168, 1, 10]), 6, 20, 50000), m, 1.0)
    pkt = _send(ct, P.ipv4(S, C, P.tcp(20, 50000, P.TCP_SYN)), 2.0, make_template(5, 2))
    assert pkt.ctinfo == CtInfo.RELATED and pkt.ct.master is m
    # in another zone id it is not
    ct.expect(Tuple(2, bytes([198, 51, 100, 7]), bytes([192, 168, 1, 10]), 6, 20, 50001), m, 2.0)
    pkt = _send(ct, P.ipv4(S, C, P.tcp(20, 50001, P.TCP_SYN)), 3.0, make_template(6, 2))
    assert pkt.ctinfo == CtInfo.NEW


def test_untimeout_returns_entries_to_the_sysctls():
    ct = ConntrackTable()
    pol = {"unreplied": 100}
    p1 = Packet(P.ipv4(C, S, P.udp(5000, 53)), LinkType.RAW)
    ct.in_hook(p1, "prerouting", 0.0)
    assert ct.assign_timeout(p1, 17, pol, obj=("inet", "t", "short-udp"))
    ct.confirm(p1, 0.0)
    p2 = Packet(P.ipv4(C, S, P.udp(5001, 53)), LinkType.RAW)
    ct.in_hook(p2, "prerouting", 0.0)
    assert ct.assign_timeout(p2, 17, {"unreplied": 50}, obj=("inet", "t", "other"))
    ct.confirm(p2, 0.0)
    a, b = p1.ct, p2.ct
    assert int(a.remaining(0.0)) == 100
    # another object going away leaves a alone
    assert ct.untimeout(("inet", "t", "nope")) == 0
    assert ct.untimeout(("inet", "t", "short-udp")) == 1
    # the time already set runs on ...
    assert int(a.remaining(1.0)) == 99
    # ... and the next packet refreshes with the sysctl (udp_timeout 30)
    _send(ct, P.ipv4(C, S, P.udp(5000, 53)), 1.0)
    assert int(a.remaining(1.0)) == 30
    _send(ct, P.ipv4(C, S, P.udp(5001, 53)), 1.0)
    assert int(b.remaining(1.0)) == 50
    assert ct.untimeout() == 1          # None: every entry (netns exit)
