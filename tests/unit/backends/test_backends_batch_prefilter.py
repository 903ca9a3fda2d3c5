"""The batch lookup's prefilter (``TupleSpace.bfilter``, issue 8 ACL3): per dimension a
numpy array of tuple bitmasks indexed by the value's top bits, ANDed per row, so only
rows whose bit is set probe a tuple.  Checked against brute force and the per-packet
lookup, the bitmask dtype per tuple count, and the proof property (a clear bit: no box
of that tuple contains the point)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkttables.backends.tuplespace import TupleSpace
from pkttables.bench.classbench import acl_run, generate_rules
from pkttables.backends import Classifier

from test_backends_classifier_tuple import BITS, boxes, brute
from test_backends_tuplespace_emit import points


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boxes(), st.integers(1, 5), st.integers(1, 8), st.sampled_from(["auto", True, False]), st.data())
def test_batch_with_filter_equals_brute_force(bx, limit, max_tuples, mode, data):
    lo, hi = bx
    ts = TupleSpace(lo, hi, BITS, limit=limit, max_tuples=max_tuples, prefilter=mode)
    pts = points(lo, hi, data, n=40)
    arr = np.array(pts, dtype=np.uint64).reshape(len(pts), len(BITS))
    got = ts.lookup_batch(arr).tolist()
    assert got == [brute(lo, hi, p) for p in pts]
    assert got == [ts.lookup(p) for p in pts]
    # the batch filter does not depend on the per-packet mode
    if 2 <= len(ts.tuples) <= 62:
        assert len(ts.bfilter) == len(BITS)
    else:
        assert ts.bfilter == ()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boxes(), st.integers(1, 3), st.data())
def test_clear_bit_proves_no_box(bx, limit, data):
    lo, hi = bx
    ts = TupleSpace(lo, hi, BITS, limit=limit, max_tuples=8)
    if not ts.bfilter:
        return
    for p in points(lo, hi, data, n=20):
        m = ~0
        for d, sh, masks in ts.bfilter:
            m &= int(masks[p[d] >> int(sh)])
        for j, t in enumerate(ts.tuples):
            inside = any(all(int(lo[i, d]) <= p[d] <= int(hi[i, d]) for d in range(len(BITS)))
                         for i in t.boxes.tolist())
            if inside:
                assert m >> j & 1


def test_mask_dtype_and_acl_batch_equals_per_packet():
    clf = Classifier(acl_run(generate_rules(3000, seed=5)))
    ts = clf._tss
    T = len(ts.tuples)
    want = np.uint8 if T <= 8 else np.uint16 if T <= 16 else np.uint32
    assert ts.bfilter and all(masks.dtype == want for _, _, masks in ts.bfilter)
    rng = np.random.default_rng(3)
    # points inside random boxes (half) and uniform points (half)
    idx = rng.integers(0, len(ts.lo), 2000)
    span = (ts.hi[idx] - ts.lo[idx]).astype(np.float64)
    inside = ts.lo[idx] + (rng.random(span.shape) * span).astype(np.uint64)
    uni = np.stack([rng.integers(0, 1 << b, 2000, dtype=np.uint64) for b in ts.bits], axis=1)
    pts = np.concatenate((inside, uni))
    got = ts.lookup_batch(pts)
    assert (got >= 0).sum() >= 2000
    assert got.tolist() == [ts.lookup(p) for p in pts.tolist()]
    ts.bfilter = ()                      # the unfiltered walk gives the same answers
    assert ts.lookup_batch(pts).tolist() == got.tolist()
