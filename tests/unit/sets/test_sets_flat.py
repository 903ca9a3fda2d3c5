"""The rbtree backend's fenced form: one array of interleaved bounds and a fence.

The fenced form keeps ``[s0, e0+1, s1, e1+1, ...]`` (the last ``e+1`` left out when
that interval ends at the top key) and answers a lookup by the parity of the count of
bounds ``<= key``.  These tests check that representation directly (the array is what
the docstring says), and every command path of the backend -- ``lookup``, ``elem``,
``get``, ``clashes``, ``add``, ``remove`` -- against a list of intervals, for keys spread
over the key space and for keys bunched in a narrow range (the offset fence, whose
buckets cover only the bounds' range and is rebuilt when a bound lands outside it).
"""

from __future__ import annotations

import contextlib

from hypothesis import given, settings, strategies as st

import pkttables.sets._rbtree as rb
from pkttables.sets import SetFlags, SetSpec
from pkttables.sets._common import PLAIN, Elem


@contextlib.contextmanager
def small_fence(fence_min: int = 4, bucket: int = 1):
    old = rb.FENCE_MIN, rb.BUCKET
    rb.FENCE_MIN, rb.BUCKET = fence_min, bucket
    try:
        yield
    finally:
        rb.FENCE_MIN, rb.BUCKET = old


def kb(v: int, klen: int) -> bytes:
    return v.to_bytes(klen, "big")


def elem(lo: int, hi: int, klen: int) -> Elem:
    return Elem(kb(lo, klen), kb(hi, klen) if hi != lo else None)


def expected_bounds(ivs, top):
    out = []
    for lo, hi in sorted(ivs):
        out.append(lo)
        if hi < top:
            out.append(hi + 1)
    return out


def check_all(b: rb.IntervalBackend, ivs: dict, klen: int, probes):
    """Every query of the backend against the intervals ``ivs`` ({(lo, hi): Elem})."""
    top = 2 ** (8 * klen) - 1
    if b.stats()["form"] != "bytes":
        assert list(b._bounds) == expected_bounds(ivs, top)
        fence = list(b._fence)
        assert fence == sorted(fence) and fence[-1] == len(b._bounds)
    pts = set(probes)
    for lo, hi in ivs:
        pts.update((lo, hi, max(lo - 1, 0), min(hi + 1, top)))
    for v in pts:
        want = [e for (lo, hi), e in ivs.items() if lo <= v <= hi]
        got = b.lookup(kb(v, klen), 0)
        if want:
            assert got is PLAIN or got is want[0], hex(v)
            assert b.elem(kb(v, klen), 0) is want[0]
        else:
            assert got is None and b.elem(kb(v, klen), 0) is None, hex(v)
    for (lo, hi), e in ivs.items():
        assert b.get(kb(lo, klen)) is e
        assert b.get(kb(lo, klen), kb(hi, klen)) is e
        if hi > lo:
            assert b.get(kb(lo + 1, klen)) is None
    for a in list(pts)[:20]:
        for w in (0, 3, 1000):
            z = min(a + w, top)
            want = sorted((lo for (lo, hi) in ivs if lo <= z and a <= hi))
            got = [int.from_bytes(e.key, "big") for e in b.clashes(kb(a, klen), kb(z, klen), 0)]
            assert got == want, (hex(a), hex(z))
    assert len(b) == len(ivs)


@st.composite
def scripts(draw):
    klen = draw(st.sampled_from([2, 4, 8, 16]))
    top = 2 ** (8 * klen) - 1
    span = min(top, draw(st.sampled_from([top, 1 << 20, 5000, 200])))
    base = draw(st.integers(0, top - span))
    # sometimes pin the window to the top key, so the last interval may end there
    if draw(st.booleans()):
        base = top - span
    val = st.integers(base, base + span)
    far = st.integers(0, top)          # adds far outside the window: a new fence range
    ops = draw(st.lists(st.tuples(st.sampled_from(["add", "add", "far", "del"]), val, far,
                                  st.integers(0, 30)), min_size=1, max_size=40))
    probes = draw(st.lists(st.one_of(val, far), max_size=20))
    bulk = draw(st.integers(0, len(ops)))
    return klen, ops, probes, bulk


@settings(max_examples=120, deadline=None)
@given(scripts())
def test_fenced_backend_matches_a_list_of_intervals(script):
    klen, ops, probes, bulk = script
    top = 2 ** (8 * klen) - 1
    with small_fence():
        b = rb.IntervalBackend(SetSpec(klen, flags=SetFlags.INTERVAL))
        ivs: dict = {}
        pending = []
        for n, (op, v, f, w) in enumerate(ops):
            lo = f if op == "far" else v
            hi = min(lo + w, top)
            if op == "del":
                if ivs:
                    key = sorted(ivs)[v % len(ivs)]
                    e = ivs.pop(key)
                    if e in pending:
                        pending.remove(e)
                    else:
                        b.remove(e)
            elif not any(a <= hi and lo <= z for a, z in ivs):
                e = elem(lo, hi, klen)
                ivs[(lo, hi)] = e
                if n < bulk:
                    pending.append(e)     # the first ones go in bulk
                else:
                    if pending:
                        b.bulk_load(pending)
                        pending = []
                    b.add(e)
            if not pending:
                check_all(b, ivs, klen, probes)
        if pending:
            b.bulk_load(pending)
        check_all(b, ivs, klen, probes)


def test_open_top_interval_leaves_its_end_out():
    """An interval ending at the top key has no ``end + 1``: the bounds are odd in
    number, and keys up to the top are inside."""
    with small_fence():
        b = rb.IntervalBackend(SetSpec(4, flags=SetFlags.INTERVAL))
        ivs = {(i * 100, i * 100 + 9): elem(i * 100, i * 100 + 9, 4) for i in range(6)}
        ivs[(0xFFFFFF00, 0xFFFFFFFF)] = elem(0xFFFFFF00, 0xFFFFFFFF, 4)
        b.bulk_load(list(ivs.values()))
        assert len(b._bounds) == 13 and b._bounds[-1] == 0xFFFFFF00
        check_all(b, ivs, 4, [0xFFFFFFFF, 0xFFFFFEFF, 0x7FFFFFFF])
        b.remove(ivs.pop((0xFFFFFF00, 0xFFFFFFFF)))
        assert len(b._bounds) == 12
        assert b.lookup(kb(0xFFFFFFFF, 4), 0) is None
        check_all(b, ivs, 4, [0xFFFFFFFF])


def test_adjacent_intervals_share_a_bound_value():
    """``[a, b]`` then ``[b + 1, c]``: ``b + 1`` appears twice in the bounds and the
    key ``b + 1`` lands in the second interval."""
    with small_fence():
        b = rb.IntervalBackend(SetSpec(2, flags=SetFlags.INTERVAL))
        ivs = {}
        for lo in range(1000, 1100, 10):
            ivs[(lo, lo + 9)] = e = elem(lo, lo + 9, 2)
            b.add(e)
        assert list(b._bounds).count(1010) == 2
        assert b.lookup(kb(1010, 2), 0) is PLAIN
        assert b.elem(kb(1010, 2), 0) is ivs[(1010, 1019)]
        check_all(b, ivs, 2, [999, 1100])


def test_bunched_ipv6_keys_get_an_offset_fence():
    """Keys inside one /64 would all fall in one bucket of a fence on the top bits of
    the key: the buckets cover the bounds' own range instead."""
    base = 0x20010db8000000000000000000000000
    with small_fence(fence_min=64, bucket=2):
        b = rb.IntervalBackend(SetSpec(16, flags=SetFlags.INTERVAL))
        ivs = {(base + i * 16, base + i * 16 + 7): elem(base + i * 16, base + i * 16 + 7, 16)
               for i in range(500)}
        b.bulk_load(list(ivs.values()))
        st_ = b.stats()
        assert st_["form"] == "ints" and st_["offset"] and st_["base"] > 0
        assert st_["fence"] > 100          # not one bucket for everything
        check_all(b, ivs, 16, [0, base - 1, base + 16 * 500, 2 ** 128 - 1])
        # an add far outside the range: the fence is rebuilt over the new range
        far = elem(1, 5, 16)
        b.add(far)
        ivs[(1, 5)] = far
        check_all(b, ivs, 16, [0, 3, 6, base])


def test_spread_ipv4_keys_need_no_range_check():
    with small_fence(fence_min=64, bucket=2):
        b = rb.IntervalBackend(SetSpec(4, flags=SetFlags.INTERVAL))
        step = (1 << 32) // 300
        ivs = {(i * step, i * step + 50): elem(i * step, i * step + 50, 4) for i in range(300)}
        b.bulk_load(list(ivs.values()))
        assert not b.stats()["offset"] and b.stats()["shift"] == 32 - (300 // 2).bit_length()
        check_all(b, ivs, 4, [0xFFFFFFFF, 1, step - 1])


def test_eight_byte_keys_bunched_at_the_top_key():
    """A bunched 'Q' fence whose base is near 2**64 (bucket numbers computed without
    overflow) and whose last interval is open to the top key."""
    top = 2 ** 64 - 1
    with small_fence():
        b = rb.IntervalBackend(SetSpec(8, flags=SetFlags.INTERVAL))
        ivs = {(top - 1000 + 10 * i, top - 996 + 10 * i): None for i in range(50)}
        ivs[(top - 3, top)] = None
        ivs = {k: elem(k[0], k[1], 8) for k in ivs}
        b.bulk_load(list(ivs.values()))
        assert b.stats()["offset"] and b.stats()["form"] == "Q"
        assert len(b._bounds) == 2 * 51 - 1
        check_all(b, ivs, 8, list(range(top - 1100, top + 1, 7)) + [0, top])
