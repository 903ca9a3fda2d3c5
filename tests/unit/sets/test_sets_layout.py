"""The cache-friendly lookup layouts against a naive model (a list of intervals).

Each test builds a set in bulk, then changes it (adds, deletes, time passing, an
element that is not plain) and after every step compares ``lookup`` on random keys and
on every boundary with a linear scan of the model.  The rbtree's fence is exercised at
small sizes by lowering ``FENCE_MIN``/``BUCKET`` (so hypothesis stays fast), and on the
real thresholds in one larger deterministic test.
"""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given, settings, strategies as st

import pkttables.sets._rbtree as rb
from pkttables.sets import SetError, SetFlags, SetInstance, SetSpec
from pkttables.sets._common import PLAIN
from pkttables.vm.stateful import Counter


@contextlib.contextmanager
def fence_at(fence_min: int, bucket: int):
    old = rb.FENCE_MIN, rb.BUCKET
    rb.FENCE_MIN, rb.BUCKET = fence_min, bucket
    try:
        yield
    finally:
        rb.FENCE_MIN, rb.BUCKET = old


class Model:
    """Intervals as a plain list: (lo, hi, data, expiration_s or None)."""

    def __init__(self):
        self.items: list[list] = []

    def live(self, now):
        return [it for it in self.items if it[3] is None or now < it[3]]

    def lookup(self, v, now):
        for lo, hi, data, _ in self.live(now):
            if lo <= v <= hi:
                return True, data
        return False, None

    def overlaps(self, lo, hi, now):
        return [it for it in self.live(now) if it[0] <= hi and lo <= it[1]]


def kb(v: int, klen: int) -> bytes:
    return v.to_bytes(klen, "big")


def check(s: SetInstance, m: Model, klen: int, probes, now):
    pts = set(probes)
    for lo, hi, _, _ in m.items:
        pts.update((lo, hi, max(lo - 1, 0), min(hi + 1, 2 ** (8 * klen) - 1)))
    for v in pts:
        assert s.lookup(kb(v, klen), now) == m.lookup(v, now), (hex(v), now)


KLENS = st.sampled_from([2, 4, 6, 16])


@st.composite
def interval_script(draw):
    klen = draw(KLENS)
    top = 2 ** (8 * klen) - 1
    # clustered or spread starts: both fill fence buckets unevenly
    span = draw(st.sampled_from([top, 4096, 300]))
    base = draw(st.integers(0, top - span))
    val = st.integers(base, base + span)
    n0 = draw(st.integers(0, 60))
    raw = draw(st.lists(st.tuples(val, st.integers(0, 40)), min_size=n0, max_size=n0))
    ops = draw(st.lists(st.one_of(
        st.tuples(st.just("add"), val, st.integers(0, 40), st.sampled_from([None, 1000, 3000])),
        st.tuples(st.just("del"), st.integers(0, 10 ** 6)),
        st.tuples(st.just("time"), st.sampled_from([0.5, 1.0, 2.5])),
    ), max_size=25))
    probes = draw(st.lists(val, max_size=30))
    timeouts = draw(st.booleans())
    fence = draw(st.sampled_from([(4, 1), (8, 2), (16, 4), (10 ** 9, 16)]))
    return klen, raw, ops, probes, timeouts, fence


@settings(max_examples=150, deadline=None)
@given(interval_script())
def test_rbtree_layout_matches_a_list_of_intervals(script):
    klen, raw, ops, probes, timeouts, fence = script
    top = 2 ** (8 * klen) - 1
    flags = SetFlags.INTERVAL | (SetFlags.TIMEOUT if timeouts else 0)
    with fence_at(*fence):
        s = SetInstance(SetSpec(klen, flags=flags, name="r"), now=0.0)
        m = Model()
        # disjoint intervals for the bulk build (load checks overlaps itself)
        elems = []
        for lo, w in sorted(raw):
            hi = min(lo + w, top)
            if not m.overlaps(lo, hi, 0.0):
                m.items.append([lo, hi, None, None])
                elems.append((kb(lo, klen), kb(hi, klen), None))
        s.load(elems, now=0.0)
        assert s._b.stats()["form"] == ("bytes" if len(elems) < rb.FENCE_MIN
                                        else {2: "I", 4: "I", 6: "Q", 16: "ints"}[klen])
        now = 0.0
        check(s, m, klen, probes, now)
        for op in ops:
            if op[0] == "add":
                _, lo, w, to = op
                hi = min(lo + w, top)
                if to is not None and not timeouts:
                    to = None
                clash = m.overlaps(lo, hi, now)
                try:
                    s.add(kb(lo, klen), kb(hi, klen), timeout=to, now=now)
                    assert not clash or (len(clash) == 1 and clash[0][:2] == [lo, hi])
                    if clash and to is not None:
                        # Linux 6.10+: add of an existing element with a timeout
                        # updates its expiration (SetInstance._clash)
                        clash[0][3] = now + to / 1000
                    if not clash:
                        # expired ones overlapping it are collected on insert
                        m.items = [it for it in m.items if not (it[0] <= hi and lo <= it[1])]
                        m.items.append([lo, hi, None, None if to is None else now + to / 1000])
                except SetError as e:
                    assert e.errno == 17 and clash and clash[0][:2] != [lo, hi]
            elif op[0] == "del":
                live = m.live(now)
                if live:
                    it = live[op[1] % len(live)]
                    s.delete(kb(it[0], klen), kb(it[1], klen) if it[1] != it[0] else None, now=now)
                    m.items.remove(it)
            else:
                now += op[1]
                s.advance(now)
            check(s, m, klen, probes, now)
        got = sorted((int.from_bytes(v.key, "big"), int.from_bytes(v.key_end or v.key, "big"))
                     for v in s.elements(now))
        assert got == sorted((lo, hi) for lo, hi, _, _ in m.live(now))


def test_rbtree_crosses_the_real_thresholds_both_ways():
    """Adds one by one past FENCE_MIN (small -> fenced form), deletes back under
    FENCE_MIN // 2 (fenced -> small), checking lookups on the way."""
    rng = random.Random(5)
    s = SetInstance(SetSpec(4, flags=SetFlags.INTERVAL, name="r"))
    starts = sorted(rng.sample(range(0, 1 << 32, 1024), rb.FENCE_MIN + 300))
    ivs = [(a, a + rng.randrange(1000)) for a in starts]
    order = list(range(len(ivs)))
    rng.shuffle(order)
    probes = [rng.getrandbits(32) for _ in range(300)] + [a for a, _ in ivs[:300]]

    def want(v, present):
        return any(ivs[i][0] <= v <= ivs[i][1] for i in present)

    present: set[int] = set()
    for n, i in enumerate(order):
        s.add(kb(ivs[i][0], 4), kb(ivs[i][1], 4))
        present.add(i)
        if n % 400 == 0 or n == len(order) - 1:
            for v in probes[::7]:
                assert s.lookup(kb(v, 4))[0] == want(v, present)
    assert s._b.stats()["form"] == "I" and s._b.stats()["fence"] > 0
    for v in probes:
        assert s.lookup(kb(v, 4))[0] == want(v, present)
    for n, i in enumerate(order[: len(order) - rb.FENCE_MIN // 2 + 10]):
        lo, hi = ivs[i]
        s.delete(kb(lo, 4), kb(hi, 4))
        present.discard(i)
        if n % 400 == 0:
            for v in probes[::7]:
                assert s.lookup(kb(v, 4))[0] == want(v, present)
    assert s._b.stats()["form"] == "bytes"
    for v in probes:
        assert s.lookup(kb(v, 4))[0] == want(v, present)


# ----------------------------------------------------------------------- exact sets

@st.composite
def exact_script(draw):
    kind = draw(st.sampled_from(["hash", "bitmap"]))
    klen = 2 if kind == "bitmap" else draw(st.sampled_from([4, 16]))
    val = st.integers(0, 2 ** (8 * klen) - 1) if kind == "hash" else st.integers(0, 400)
    keys = draw(st.lists(val, unique=True, max_size=60))
    ops = draw(st.lists(st.one_of(
        st.tuples(st.just("add"), val),
        st.tuples(st.just("del"), st.integers(0, 10 ** 6)),
        st.tuples(st.just("counter"), val),          # an element that is not plain
    ), max_size=20))
    probes = draw(st.lists(val, max_size=30))
    return kind, klen, keys, ops, probes


@settings(max_examples=150, deadline=None)
@given(exact_script())
def test_hash_and_bitmap_presence_paths_match_a_model(script):
    kind, klen, keys, ops, probes = script
    s = SetInstance(SetSpec(klen, name="h"), backend=kind)
    s.load([(kb(k, klen), None, None) for k in keys])
    model = {k: None for k in keys}          # key -> counter or None
    assert (s._b._fast is not None) == True  # noqa: E712  plain after a plain build

    def check_all():
        for v in set(probes) | set(model):
            found, data, brk = s.match(kb(v, klen), 0.0, pkt_len=100)
            assert (found, data, brk) == (v in model, None, False)
            if model.get(v) is not None:
                model[v] += 1

    check_all()
    for op in ops:
        if op[0] == "add" or op[0] == "counter":
            exprs = (Counter(),) if op[0] == "counter" else ()
            if op[1] in model:
                s.add(kb(op[1], klen), exprs=exprs)      # existing: no change
            else:
                s.add(kb(op[1], klen), exprs=exprs)
                model[op[1]] = 0 if exprs else None
        elif model:
            k = sorted(model)[op[1] % len(model)]
            s.delete(kb(k, klen))
            del model[k]
        check_all()
    # element counters ran on the element itself, not on the stand-in
    for k, c in model.items():
        if c is not None:
            assert s.get(kb(k, klen)).counter == (c, 100 * c)
    assert PLAIN.exprs == [] and PLAIN.data is None and PLAIN.expiration is None


def test_plain_path_is_only_taken_by_plain_sets():
    s = SetInstance(SetSpec(4, name="h"))
    s.load([(b"\1\2\3\4", None, None)])
    assert s._b._fast is not None
    s.add(b"\5\6\7\10", exprs=(Counter(),))              # its own counter: dict path
    assert s._b._fast is None
    assert s.match(b"\5\6\7\10", 0.0, 10)[0] and s.get(b"\5\6\7\10").counter == (1, 10)
    for spec in (SetSpec(4, flags=SetFlags.TIMEOUT, timeout=1000, name="t"),
                 SetSpec(4, dlen=4, flags=SetFlags.MAP, name="m"),
                 SetSpec(4, exprs=(Counter(),), name="c")):
        assert SetInstance(spec)._b._fast is None


def test_timeout_set_without_default_timeout_never_uses_the_stand_in():
    # an element without expiration in a timeout set can get one later (add with
    # timeout updates it since Linux 6.10): the presence path must not be used
    s = SetInstance(SetSpec(4, flags=SetFlags.TIMEOUT | SetFlags.INTERVAL, name="t"))
    s.add(b"\0\0\0\1", b"\0\0\0\5", now=0.0)
    s.add(b"\0\0\0\1", b"\0\0\0\5", timeout=1000, now=0.0)
    assert s.lookup(b"\0\0\0\3", 0.5) == (True, None)
    assert s.lookup(b"\0\0\0\3", 1.0) == (False, None)


@pytest.mark.parametrize("klen", [4, 16])
def test_rbtree_map_data_and_elem_are_the_real_elements(klen):
    spec = SetSpec(klen, dlen=4, flags=SetFlags.INTERVAL | SetFlags.MAP, name="m")
    with fence_at(4, 1):
        s = SetInstance(spec)
        s.load([(kb(10 * i, klen), kb(10 * i + 5, klen), kb(i, 4)) for i in range(20)])
        assert s._b.stats()["fence"] > 0 and not s._b.stats()["plain"]
        assert s.lookup(kb(73, klen)) == (True, kb(7, 4))
        assert s.lookup(kb(77, klen)) == (False, None)
        assert s.get(kb(71, klen)).key == kb(70, klen)
