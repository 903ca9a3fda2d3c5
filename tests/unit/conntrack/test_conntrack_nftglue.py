"""conntrack.nft: ct set / ct count / set_conn on a ConntrackTable, and the bench's
measurement helpers (tiny sizes)."""

from __future__ import annotations

import types

from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.conntrack import ConntrackTable, CtInfo
from pkttables.conntrack.nft import CtGlue, ct_set
from pkttables.packet import LinkType, Packet
from pkttables.proto import CtKeyId
from pkttables.testing import packets as P


def _pkt(sport=1000, proto="udp"):
    seg = P.udp(sport, 53, b"q") if proto == "udp" else P.tcp(sport, 80, P.TCP_SYN)
    return Packet(P.ether("02:00:00:00:00:01", "02:00:00:00:00:10", P.ipv4("192.168.1.10", "198.51.100.7", seg)),
                  LinkType.ETHERNET, iif="lan0")


def _instr(key, **kw):
    return types.SimpleNamespace(key=key, **kw)


@given(st.integers(0, 0xFFFFFFFF))
@settings(max_examples=30, deadline=None)
def test_ct_mark_set_writes_the_entry_and_caches_the_event_once(mark):
    ct = ConntrackTable(keep_events=False)
    p = _pkt()
    ct.in_hook(p, "prerouting", 0.0)
    ct_set(_instr(CtKeyId.MARK), p, mark.to_bytes(4, "little"), ct)
    assert p.ct.mark == mark
    assert bool(p.ct._events & 0x80) == (mark != 0)     # IPCT_MARK only on a change


def test_ct_zone_set_only_before_conntrack():
    ct = ConntrackTable()
    p = _pkt()
    ct_set(_instr(CtKeyId.ZONE), p, (7).to_bytes(2, "little"))
    assert p.ct.zone == 7
    ct.in_hook(p, "prerouting", 0.0)
    assert p.ct.zone == 7 and p.ctinfo == CtInfo.NEW
    ct_set(_instr(CtKeyId.ZONE), p, (9).to_bytes(2, "little"))   # an entry is attached: no-op
    assert p.ct.zone == 7


def test_untracked_and_invalid_packets_are_not_marked():
    p = _pkt()
    p.ct, p.ctinfo = None, CtInfo.UNTRACKED
    ct_set(_instr(CtKeyId.MARK), p, b"\1\0\0\0")
    assert p.ct is None


def test_connlimit_counts_live_entries_and_stops_at_the_duplicate():
    ct = ConntrackTable(keep_events=False)
    glue = CtGlue(ct)
    ctx = types.SimpleNamespace()
    rule = types.SimpleNamespace(count=1, flags=1)          # ct count over 1
    verdicts = []
    for sport in (1000, 1001, 1000):
        p = _pkt(sport, "tcp")
        ct.in_hook(p, "prerouting", 0.0)
        brk = glue.connlimit(ctx, rule, p)
        verdicts.append(not brk)
        if brk:          # rule did not match: accepted, confirmed
            ct.confirm(p, 0.0)
    # 1st: 1 (no match), 2nd: 2 > 1 (match: dropped, never confirmed), retransmission of
    # the 1st: the walk stops at its live entry, the dead 2nd stays behind it -> 2
    assert verdicts == [False, True, True]
    assert glue.set_conn(p)[1]((0, p.ct.tuples[0])) is True


def test_bench_measure_ours_small():
    from pkttables.conntrack.bench import measure_ours
    out = measure_ours(200, 200, 300)
    assert out["entries"] == 300 and out["new_per_s"] > 0 and out["est_per_s"] > 0
    assert 100 < out["bytes_per_conn"] < 10000
