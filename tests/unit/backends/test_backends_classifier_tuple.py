"""Tuple space search (backends/tuplespace.py) against brute force, and the two
classifier methods against each other and against the compiled ACL."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkttables.backends import Classifier, extract_frames, split_runs
from pkttables.backends.tuplespace import TupleSpace, bit_length
from pkttables.bench.classbench import _load_rules, acl_run, generate_rules, generate_trace, ruleset_text
from pkttables.packet import Packet
from pkttables.vm import EvalContext

BITS = [9, 17, 33]


@st.composite
def interval(draw, bits):
    kind = draw(st.sampled_from(["any", "prefix", "range", "point"]))
    top = (1 << bits) - 1
    if kind == "any":
        return 0, top
    if kind == "prefix":
        p = draw(st.integers(0, bits))
        a = draw(st.integers(0, top)) >> (bits - p) << (bits - p) if p else 0
        return a, a | ((1 << (bits - p)) - 1)
    if kind == "point":
        v = draw(st.integers(0, top))
        return v, v
    a, b = draw(st.integers(0, top)), draw(st.integers(0, top))
    return min(a, b), max(a, b)


@st.composite
def boxes(draw):
    n = draw(st.integers(0, 60))
    # few distinct values, so boxes overlap and buckets collide
    rows = [[draw(interval(b)) for b in BITS] for _ in range(n)]
    lo = np.array([[a for a, _ in r] for r in rows], dtype=np.uint64).reshape(n, len(BITS))
    hi = np.array([[b for _, b in r] for r in rows], dtype=np.uint64).reshape(n, len(BITS))
    return lo, hi


def brute(lo, hi, p):
    for i in range(len(lo)):
        if all(int(lo[i, d]) <= p[d] <= int(hi[i, d]) for d in range(len(p))):
            return i
    return -1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boxes(), st.integers(1, 5), st.sampled_from([2, 4, 8]), st.sampled_from([0.25, 0.75, 1.0]),
       st.data())
def test_tuplespace_equals_brute_force(bx, limit, grid, alpha, data):
    lo, hi = bx
    ts = TupleSpace(lo, hi, BITS, limit=limit, grid=grid, alpha=alpha, max_tuples=data.draw(st.integers(1, 8)))
    pts = []
    for _ in range(30):
        if len(lo) and data.draw(st.booleans()):   # a corner or the inside of some box
            i = data.draw(st.integers(0, len(lo) - 1))
            p = [data.draw(st.integers(int(lo[i, d]), int(hi[i, d]))) for d in range(len(BITS))]
        else:
            p = [data.draw(st.integers(0, (1 << b) - 1)) for b in BITS]
        pts.append(p)
    batch = ts.lookup_batch(np.array(pts, dtype=np.uint64))
    for p, b in zip(pts, batch.tolist()):
        want = brute(lo, hi, p)
        assert ts.lookup(p) == want
        assert b == want
    st_ = ts.stats()
    assert st_.entries == len(lo) - ts.dropped        # every live box placed exactly once
    placed = sorted(int(x) for t in ts.tuples for x in t.boxes)
    assert len(placed) == len(set(placed))


@given(st.lists(st.integers(0, (1 << 64) - 1), max_size=20))
def test_bit_length(xs):
    assert bit_length(np.array(xs, dtype=np.uint64)).tolist() == [x.bit_length() for x in xs]


def test_limit_bounds_buckets_and_merging_keeps_tuples_few():
    rules = generate_rules(3000, 4)
    clf = Classifier(acl_run(rules), method="tuple", limit=4)
    s = clf.stats()
    assert s.method == "tuple" and s.leaf_entries == 3000
    assert s.max_leaf <= 4                 # no bucket over the collision limit
    assert s.nodes < 40                    # tuples, versus hundreds of (src, dst, ...) length tuples
    assert s.nbytes / 3000 < 1024


@pytest.mark.parametrize("method", ["tuple", "tree"])
def test_methods_agree_on_acl_and_with_compiled_rules(method):
    """acl_run (no nft) and the compiled programs give the same answers on the trace,
    and both methods give the same answers."""
    rules = generate_rules(400, 11)
    frames = generate_trace(rules, 1500, 3)
    ctx = EvalContext(family=2)
    direct = Classifier(acl_run(rules), method=method)
    compiled = Classifier(split_runs(_load_rules(ruleset_text(rules)))[0][0], method="tuple")
    p1, s1 = extract_frames(direct, frames, ctx)
    p2, s2 = extract_frames(compiled, frames, ctx)
    assert not s1.any() and not s2.any()
    got = direct.classify_batch(p1)
    assert got.tolist() == compiled.classify_batch(p2).tolist()
    assert (got >= 0).mean() > 0.9
    for f, g in list(zip(frames, got.tolist()))[:300]:
        c = direct.classify(Packet(f), ctx)
        assert (-1 if c is None else c) == g
        m = direct.match_linear(Packet(f), ctx)
        assert (-1 if m is None else m) == g


def test_unknown_method():
    with pytest.raises(ValueError):
        Classifier(acl_run(generate_rules(3, 1)), method="hash")
