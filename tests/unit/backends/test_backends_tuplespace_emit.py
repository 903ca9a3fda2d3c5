"""The unrolled per-packet lookup (``TupleSpace.emit_lookup``) against brute force:
its bucket forms (one entry stored flat, several padded with a sentinel), the
residual-dimension entries and the prefilter (bitmask lists per dimension), forced on,
off and chosen by the cost model."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkttables.backends import Classifier
from pkttables.backends.tuplespace import TupleSpace
from pkttables.bench.classbench import acl_run, generate_rules, generate_trace
from pkttables.packet import Packet
from pkttables.vm import EvalContext

from test_backends_classifier_tuple import BITS, boxes, brute


def compiled(ts: TupleSpace):
    names = [f"v{d}" for d in range(len(ts.bits))]
    body, env = ts.emit_lookup(names)
    src = f"def f({', '.join(names)}):\n" + "\n".join(body) + "\n    return -1 if best == _NONE else best\n"
    exec(compile(src, "<test emit>", "exec"), env)
    return env["f"], src


def points(lo, hi, data, n=30):
    out = []
    for _ in range(n):
        if len(lo) and data.draw(st.booleans()):
            i = data.draw(st.integers(0, len(lo) - 1))
            out.append([data.draw(st.sampled_from([int(lo[i, d]), int(hi[i, d])]) if data.draw(st.booleans())
                                  else st.integers(int(lo[i, d]), int(hi[i, d]))) for d in range(len(BITS))])
        else:
            out.append([data.draw(st.integers(0, (1 << b) - 1)) for b in BITS])
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boxes(), st.integers(1, 5), st.sampled_from([2, 4, 8]), st.sampled_from([0.25, 0.75, 1.0]),
       st.sampled_from(["auto", True, False]), st.data())
def test_emitted_lookup_equals_brute_force(bx, limit, grid, alpha, prefilter, data):
    lo, hi = bx
    ts = TupleSpace(lo, hi, BITS, limit=limit, grid=grid, alpha=alpha,
                    max_tuples=data.draw(st.integers(1, 8)), prefilter=prefilter)
    if prefilter is False or len(ts.tuples) < 2:
        assert ts.filter == ()
    elif prefilter is True:
        assert ts.filter
    f, src = compiled(ts)
    for p in points(lo, hi, data):
        want = brute(lo, hi, p)
        assert f(*p) == want, src
        assert ts.lookup(p) == want


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boxes(), st.integers(1, 3), st.data())
def test_prefilter_bit_clear_proves_no_box(bx, limit, data):
    """A tuple whose bit is clear for a point holds no box containing it (skipping it
    is exact); and a bucket of several entries ends with the sentinel when odd."""
    lo, hi = bx
    ts = TupleSpace(lo, hi, BITS, limit=limit, prefilter=True)
    for p in points(lo, hi, data, 20):
        m = -1
        for d, sh, lst in ts.filter:
            m &= lst[p[d] >> sh]
        for j, t in enumerate(ts.tuples):
            if not (m >> j) & 1:
                assert not any(all(int(lo[i, d]) <= p[d] <= int(hi[i, d]) for d in range(len(BITS)))
                               for i in t.boxes.tolist())
    for t in ts.tuples:
        width = 1 + 2 * len(t.rdims)
        for b in t.buckets.values():
            if len(b) % 2:
                assert len(b) == width                      # one entry, stored flat
            else:
                assert all(len(e) == width for e in b)
                assert [e[0] for e in b] == sorted(e[0] for e in b)


def test_acl_prefilter_chosen_and_exact():
    """On a 3,000-rule ACL the cost model keeps the prefilter (two address dimensions)
    and the generated classify with it agrees with the one without, packet by packet."""
    from pkttables.backends import tuplespace as T

    rules = generate_rules(3_000, 5)
    on = Classifier(acl_run(rules))
    assert on._tss.filter and {d for d, _, _ in on._tss.filter} <= {0, 1}
    orig = T.TupleSpace.__init__

    def off_init(self, *a, **k):
        orig(self, *a, **{**k, "prefilter": False})

    T.TupleSpace.__init__ = off_init
    try:
        off = Classifier(acl_run(rules))
    finally:
        T.TupleSpace.__init__ = orig
    assert off._tss.filter == ()
    ctx = EvalContext(family=2)
    hits = 0
    for fr in generate_trace(rules, 2_000, 6):
        pkt = Packet(fr)
        got = on.classify(pkt, ctx)
        assert got == off.classify(pkt, ctx)
        hits += got is not None
    assert hits > 1_500


def test_bad_prefilter_value():
    import pytest

    with pytest.raises(ValueError):
        TupleSpace(np.zeros((0, 1), dtype=np.uint64), np.zeros((0, 1), dtype=np.uint64), [9], prefilter="yes")
