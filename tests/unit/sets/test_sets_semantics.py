"""Timeouts, gc, dynset, commands, element expressions: the kernel's semantics.

Facts marked "kernel:" were observed with nft 1.0.6 on Linux 6.18 in a network
namespace (see tests/kernel/test_sets_kernel.py, which re-checks them)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from pkttables.errors import EvalError
from pkttables.sets import (ConnCount, DynsetOp, SetError, SetFlags, SetInstance, SetSpec,
                            intervals_from_netlink, intervals_to_netlink, merge_intervals)
from pkttables.vm.stateful import Counter, Limit, Quota

IP = lambda s: bytes(int(x) for x in s.split("."))  # noqa: E731
T = SetFlags.TIMEOUT


def tset(**kw):
    return SetInstance(SetSpec(4, flags=kw.pop("flags", T), **kw), now=0.0)


# ----------------------------------------------------------------------- timeouts

def test_element_expires_exactly_at_its_timeout():
    s = tset(timeout=1000)
    s.add(IP("1.1.1.1"), now=0.0)
    s.advance(0.999)
    assert s.lookup(IP("1.1.1.1")) == (True, None)
    s.advance(1.0)   # expired when now >= expiration (nft_set_elem_expired)
    assert s.lookup(IP("1.1.1.1")) == (False, None)


def test_expired_is_invisible_before_gc_but_still_counts_against_size():
    s = tset(timeout=1000, size=2, gc_interval=5000)
    s.add(IP("1.1.1.1"), now=0.0)
    s.add(IP("1.1.1.2"), now=0.0)
    s.advance(2.0)                                # expired, gc not due until 5 s
    assert s.elements() == []
    assert s.nelems == 2
    with pytest.raises(SetError) as ei:           # kernel: ENFILE until gc runs
        s.add(IP("1.1.1.3"))
    assert ei.value.errno == 23
    assert not s.dynset(DynsetOp.ADD, IP("1.1.1.3"), now=2.0)
    assert s.advance(5.0) == 2                    # gc every gc_interval
    assert s.nelems == 0
    s.add(IP("1.1.1.3"))
    assert s.lookup(IP("1.1.1.3"))[0]


def test_expired_element_get_delete_enoent_add_ok():
    # kernel: after expiry, get and delete are ENOENT, add succeeds
    s = tset(timeout=100_000)
    s.add(IP("1.1.1.3"), timeout=1000, now=0.0)
    s.advance(1.1)
    for op in (s.get, s.delete):
        with pytest.raises(SetError) as ei:
            op(IP("1.1.1.3"))
        assert ei.value.errno == 2
    s.add(IP("1.1.1.3"))
    assert s.get(IP("1.1.1.3")).expires == 100_000


def test_add_existing_updates_timeout_only_when_given():
    # kernel 6.18: `add element { 1.1.1.1 timeout 200s }` on an existing element updates
    # timeout and expiration; `add element { 1.1.1.2 }` leaves its expiration running.
    s = tset(timeout=100_000)
    s.add(IP("1.1.1.1"), timeout=100_000, now=0.0)
    s.add(IP("1.1.1.2"), now=0.0)
    s.advance(1.2)
    s.add(IP("1.1.1.1"), timeout=200_000)
    s.add(IP("1.1.1.2"))
    v1, v2 = s.get(IP("1.1.1.1")), s.get(IP("1.1.1.2"))
    assert (v1.timeout, v1.expires) == (200_000, 200_000)
    assert (v2.timeout, v2.expires) == (None, 98_800)     # set's timeout is not printed


def test_hash_gc_runs_on_the_clock():
    s = tset(timeout=500, gc_interval=1000)
    s.add(IP("10.0.0.1"), now=0.0)
    assert s.advance(0.9) == 0 and s.nelems == 1
    assert s.advance(1.0) == 1 and s.nelems == 0


def test_interval_sets_collect_at_commit():
    s = SetInstance(SetSpec(4, flags=SetFlags.INTERVAL | T), now=0.0)
    s.add(IP("10.0.0.0"), IP("10.0.0.255"), timeout=1000)
    s.advance(3.0)
    assert s.nelems == 1 and s.lookup(IP("10.0.0.7")) == (False, None)
    s.add(IP("10.0.0.0"), IP("10.0.0.255"), timeout=1000)   # no overlap with the expired one
    assert s.nelems == 1 and s.lookup(IP("10.0.0.7")) == (True, None)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 3000), st.integers(0, 2000)), max_size=25))
def test_timeouts_against_a_reference_clock(ops):
    """Random adds with timeouts at random times: visible iff now < added_at + timeout."""
    s = tset(timeout=1000)
    now = 0
    expiry = {}
    for k, to, dt in ops:
        now += dt
        key = bytes([10, 0, 0, k])
        s.advance(now / 1000)
        live = key in expiry and now < expiry[key]
        s.add(key, timeout=to, now=now / 1000)
        expiry[key] = now + to              # add of a live one with a timeout updates it too
        assert live or s.lookup(key)[0]
        for kk in range(4):
            b = bytes([10, 0, 0, kk])
            assert s.lookup(b)[0] == (b in expiry and now < expiry[b])


# ----------------------------------------------------------------------- dynset

def test_dynset_add_does_not_refresh_update_does():
    s = tset(timeout=10_000)
    k = IP("192.0.2.1")
    assert s.dynset(DynsetOp.ADD, k, now=0.0)
    assert s.dynset(DynsetOp.ADD, k, now=5.0)
    assert s.get(k).expires == 5000
    assert s.dynset(DynsetOp.UPDATE, k, now=6.0)
    assert s.get(k).expires == 10_000
    assert s.dynset(DynsetOp.UPDATE, k, now=7.0, timeout=60_000)   # the dynset's own timeout
    assert s.get(k).expires == 60_000


def test_dynset_delete_never_breaks():
    # Linux 6.18 (tests/kernel/test_diff_sets.py "dynset"): the rule goes on either way
    s = tset(timeout=10_000)
    assert s.dynset(DynsetOp.DELETE, IP("1.2.3.4"), now=0.0)
    s.dynset(DynsetOp.ADD, IP("1.2.3.4"))
    assert s.dynset(DynsetOp.DELETE, IP("1.2.3.4"))
    assert s.lookup(IP("1.2.3.4")) == (False, None)


def test_dynset_full_set_breaks_but_existing_elements_still_match():
    s = SetInstance(SetSpec(4, flags=SetFlags.EVAL, size=2))
    assert s.dynset(DynsetOp.ADD, IP("1.0.0.1"), now=0)
    assert s.dynset(DynsetOp.ADD, IP("1.0.0.2"), now=0)
    assert not s.dynset(DynsetOp.ADD, IP("1.0.0.3"), now=0)        # nft_dynset_new: NULL -> BREAK
    assert s.dynset(DynsetOp.UPDATE, IP("1.0.0.1"), now=0)          # present: fine
    assert s.nelems == 2


def test_dynset_template_counter_and_limit():
    s = SetInstance(SetSpec(4, flags=SetFlags.EVAL | T, timeout=60_000))
    tmpl = (Counter(), Limit(rate=2, unit=1, burst=0))   # burst 0 -> 5 packets (kernel default)
    key = IP("198.51.100.7")
    results = [s.dynset(DynsetOp.UPDATE, key, now=0.0, template=tmpl, pkt_len=100) for _ in range(7)]
    assert results == [True] * 5 + [False] * 2
    assert s.get(key).counter == (7, 700)
    # half a second later one token (1/2 s) has come back
    assert s.dynset(DynsetOp.UPDATE, key, now=0.5, template=tmpl, pkt_len=100)
    assert not s.dynset(DynsetOp.UPDATE, key, now=0.5, template=tmpl, pkt_len=100)


def test_element_quota_breaks_once_used_up():
    s = SetInstance(SetSpec(4, flags=SetFlags.EVAL))
    tmpl = (Quota(bytes=250),)
    key = IP("203.0.113.9")
    got = [s.dynset(DynsetOp.ADD, key, now=0, template=tmpl, pkt_len=100) for _ in range(3)]
    assert got == [True, True, False]        # 100, 200 < 250; 300 >= 250 -> over


def test_lookup_runs_element_counters_and_reset_zeroes_them():
    s = SetInstance(SetSpec(4, exprs=(Counter(),)))
    s.add(IP("10.1.1.1"))
    for _ in range(3):
        assert s.match(IP("10.1.1.1"), pkt_len=60) == (True, None, False)
    assert s.match(IP("10.9.9.9"), pkt_len=60) == (False, None, False)
    assert s.get(IP("10.1.1.1")).counter == (3, 180)
    before = s.reset(IP("10.1.1.1"))
    assert before[0].counter == (3, 180)
    assert s.get(IP("10.1.1.1")).counter == (0, 0)


def test_dynset_on_interval_set_is_refused():
    s = SetInstance(SetSpec(4, flags=SetFlags.INTERVAL))
    with pytest.raises(SetError):
        s.dynset(DynsetOp.ADD, IP("1.1.1.1"), now=0)


# ----------------------------------------------------------------------- commands

def test_add_create_delete_errnos():
    # kernel: add existing ok; create existing EEXIST; delete missing ENOENT
    s = SetInstance(SetSpec(4))
    s.add(IP("1.1.1.1"))
    s.add(IP("1.1.1.1"))
    with pytest.raises(SetError) as ei:
        s.add(IP("1.1.1.1"), create=True)
    assert ei.value.errno == 17 and "File exists" in str(ei.value)
    with pytest.raises(SetError) as ei:
        s.delete(IP("9.9.9.9"))
    assert ei.value.errno == 2 and "No such file or directory" in str(ei.value)


def test_map_clash_other_data_is_eexist():
    m = SetInstance(SetSpec(4, dlen=4, flags=SetFlags.MAP))
    m.add(IP("1.1.1.1"), data=b"\x05\0\0\0")
    m.add(IP("1.1.1.1"), data=b"\x05\0\0\0")
    with pytest.raises(SetError) as ei:
        m.add(IP("1.1.1.1"), data=b"\x06\0\0\0")
    assert ei.value.errno == 17
    assert m.lookup(IP("1.1.1.1")) == (True, b"\x05\0\0\0")


def test_size_full_is_enfile():
    s = SetInstance(SetSpec(4, size=2))
    s.add(IP("1.1.1.1")); s.add(IP("1.1.1.2"))
    with pytest.raises(SetError) as ei:
        s.add(IP("1.1.1.3"))
    assert ei.value.errno == 23 and "Too many open files in system" in str(ei.value)


def test_get_element_of_interval_set_returns_the_covering_interval():
    # kernel: set { 10.0.0.0/24, 10.1.0.1-10.1.0.9, 192.168.1.1 }
    s = SetInstance(SetSpec(4, flags=SetFlags.INTERVAL))
    s.add(IP("10.0.0.0"), IP("10.0.0.255"))
    s.add(IP("10.1.0.1"), IP("10.1.0.9"))
    s.add(IP("192.168.1.1"))
    v = s.get(IP("10.0.0.5"))
    assert (v.key, v.key_end) == (IP("10.0.0.0"), IP("10.0.0.255"))
    v = s.get(IP("10.1.0.2"), IP("10.1.0.3"))
    assert (v.key, v.key_end) == (IP("10.1.0.1"), IP("10.1.0.9"))
    for k, ke in [(IP("10.0.0.0"), IP("10.0.255.255")), (IP("10.2.0.0"), None)]:
        with pytest.raises(SetError) as ei:
            s.get(k, ke)
        assert ei.value.errno == 2


def test_concat_partial_overlap_eexist_enclosing_box_accepted():
    # kernel: c = { 10.0.0.0/8 . 10-20 }; add 10.1.0.0/16 . 15-30 -> EEXIST;
    # add 0.0.0.0/0 . 0-65535 -> accepted; create of the same box -> EEXIST
    k = lambda ip, p: IP(ip) + p.to_bytes(2, "big") + b"\0\0"  # noqa: E731
    s = SetInstance(SetSpec(8, (4, 2), flags=SetFlags.INTERVAL | SetFlags.CONCAT))
    s.add(k("10.0.0.0", 10), k("10.255.255.255", 20))
    with pytest.raises(SetError):
        s.add(k("10.1.0.0", 15), k("10.1.255.255", 30))
    s.add(k("10.0.0.0", 10), k("10.255.255.255", 20))
    with pytest.raises(SetError):
        s.add(k("10.0.0.0", 10), k("10.255.255.255", 20), create=True)
    s.add(k("0.0.0.0", 0), k("255.255.255.255", 65535))
    assert len(s.elements()) == 2


def test_catchall_element():
    m = SetInstance(SetSpec(4, dlen=4, flags=SetFlags.MAP))
    m.add(IP("1.1.1.1"), data=b"\x01\0\0\0")
    m.add(None, data=b"\x09\0\0\0", catchall=True)
    assert m.lookup(IP("2.2.2.2")) == (False, None)       # lookup() leaves it to the VM
    assert m.catchall() == (True, b"\x09\0\0\0")
    assert m.match(IP("2.2.2.2"))[:2] == (True, b"\x09\0\0\0")
    assert m.elements()[-1].catchall
    m.delete(None, catchall=True)
    assert m.catchall() == (False, None)


def test_flush_and_nelems():
    s = SetInstance(SetSpec(4))
    s.load([(IP(f"10.0.0.{i}"), None, None) for i in range(10)])
    assert s.nelems == 10 and len(s) == 10
    s.flush()
    assert s.nelems == 0 and s.elements() == []


def test_set_instance_is_a_vm_set_lookup():
    from pkttables.vm.context import SetLookup
    assert isinstance(SetInstance(SetSpec(4)), SetLookup)


# ----------------------------------------------------------------------- segtree

def test_merge_intervals_like_nft_automerge():
    # kernel+nft: { 1-2, 3-4, 6-8, 7-10, 20, 21, 30-40, 35 } lists as 1-4, 6-10, 20-21, 30-40
    r = merge_intervals([(1, 2), (3, 4), (6, 8), (7, 10), (20, 20), (21, 21), (30, 40), (35, 35)])
    assert r.intervals == ((1, 4), (6, 10), (20, 21), (30, 40))
    # then `add element { 5 }` -> 1-10
    r = merge_intervals([(5, 5)], r.intervals)
    assert r.intervals == ((1, 10), (20, 21), (30, 40))
    assert r.removed == ((1, 4), (6, 10)) and r.added == ((1, 10),)


def test_merge_intervals_without_automerge_errors():
    with pytest.raises(EvalError, match="conflicting intervals specified"):
        merge_intervals([(1, 5), (3, 8)], auto_merge=False)
    with pytest.raises(EvalError, match="interval overlaps with an existing one"):
        merge_intervals([(7, 7)], [(0, 255)], auto_merge=False)
    assert merge_intervals([(1, 5), (6, 8)], auto_merge=False).intervals == ((1, 5), (6, 8))


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)).map(lambda t: (min(t), max(t))), max_size=20))
def test_merge_intervals_covers_the_same_points(ivs):
    r = merge_intervals(ivs)
    pts = {p for lo, hi in ivs for p in range(lo, hi + 1)}
    assert {p for lo, hi in r.intervals for p in range(lo, hi + 1)} == pts
    for (a, b), (c, d) in zip(r.intervals, r.intervals[1:]):
        assert b + 1 < c            # neither overlapping nor touching


@given(st.lists(st.tuples(st.integers(0, 65535), st.integers(0, 65535)).map(lambda t: (min(t), max(t))), max_size=10))
def test_netlink_interval_form_round_trips(ivs):
    merged = merge_intervals(ivs).intervals
    els = [(lo.to_bytes(2, "big"), hi.to_bytes(2, "big"), None) for lo, hi in merged]
    wire = intervals_to_netlink(els, 2)
    assert all(f == 1 for k, f, d in wire if k not in {e[0] for e in els})
    assert intervals_from_netlink(wire, 2) == els


# ----------------------------------------------------------------------- ct count

def test_conncount_counts_live_connections_once():
    alive = {"a", "b", "c"}
    cc = ConnCount()
    assert cc.count("10.0.0.1", "a", alive.__contains__) == 1
    assert cc.count("10.0.0.1", "a", alive.__contains__) == 1
    assert cc.count("10.0.0.1", "b", alive.__contains__) == 2
    alive.discard("a")
    assert cc.count("10.0.0.1", "c", alive.__contains__) == 2    # a reaped on the way
    alive.clear()
    assert cc.gc(alive.__contains__) == 1 and len(cc) == 0


def test_element_connlimit_from_dynset_template():
    from pkttables.vm.stateful import Connlimit
    s = SetInstance(SetSpec(4, flags=SetFlags.EVAL))
    tmpl = (Connlimit(count=2, flags=1),)      # ct count over 2: BREAK while <= 2
    alive = lambda c: True                      # noqa: E731
    key = IP("10.0.0.1")
    got = [s.dynset(DynsetOp.ADD, key, now=0, template=tmpl, conn=(i, alive)) for i in range(4)]
    assert got == [False, False, True, True]


def test_hash_gc_is_a_timer_tick():
    # nft_rhash_gc runs every gc_interval: at 1.5 s the tick at 1.0 s has collected an
    # element that expired at 0.5 s, and not one that expired at 1.2 s (still in nelems)
    s = SetInstance(SetSpec(4, flags=SetFlags.EVAL | SetFlags.TIMEOUT, size=2, timeout=500))
    assert s.dynset(DynsetOp.ADD, IP("1.0.0.1"), now=0.0)
    assert s.dynset(DynsetOp.ADD, IP("1.0.0.2"), now=0.7, timeout=500)
    assert s.dynset(DynsetOp.ADD, IP("1.0.0.3"), now=1.5)       # .1 gone at the 1.0 s tick
    assert s.nelems == 2
    assert not s.dynset(DynsetOp.ADD, IP("1.0.0.4"), now=1.6)   # .2 expired, not collected
    assert s.dynset(DynsetOp.ADD, IP("1.0.0.4"), now=2.0)       # the 2.0 s tick took .2
