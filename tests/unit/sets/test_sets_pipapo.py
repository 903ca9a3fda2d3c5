"""The layered pipapo backend against a linear scan, on every internal path.

The structure has four paths that ordinary sets rarely reach: several layers, spills
into the residual, the numpy residual check, and the fence of large layers.  The
thresholds are module constants, so each test shrinks them to force the path."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pkttables.sets import SetFlags, SetInstance, SetSpec
from pkttables.sets import _pipapo
from pkttables.sets._common import Elem

FIELDS = [(4, 2), (1, 1, 2), (16, 2), (6, 4)]


def keyof(vals, fields):
    return b"".join(v.to_bytes(f, "big") + bytes(-f % 4) for v, f in zip(vals, fields))


def spec_of(fields):
    klen = sum(f + (-f % 4) for f in fields)
    return SetSpec(klen, fields, flags=SetFlags.INTERVAL | SetFlags.CONCAT)


def inside(lo, hi, key, fields):
    off = 0
    for f in fields:
        w = f + (-f % 4)
        if not lo[off:off + w] <= key[off:off + w] <= hi[off:off + w]:
            return False
        off += w
    return True


def ref(elems, key, fields, now_ns=0):
    """Oldest live element whose box holds the key."""
    for e in elems:
        if (e.expiration is None or now_ns < e.expiration) and inside(e.key, e.end, key, fields):
            return e
    return None


@st.composite
def box_lists(draw, fields, max_size=40):
    out = []
    for _ in range(draw(st.integers(0, max_size))):
        lo, hi = [], []
        for f in fields:
            # small value spaces so that boxes overlap and pile up
            top = min(2 ** (8 * f) - 1, draw(st.sampled_from([3, 15, 255, 2 ** (8 * f) - 1])))
            a, b = draw(st.integers(0, top)), draw(st.integers(0, top))
            lo.append(min(a, b)); hi.append(max(a, b))
        out.append((keyof(lo, fields), keyof(hi, fields)))
    return out


@pytest.fixture(params=["plain", "tiny-layers", "numpy-residual", "fence"])
def limits(request, monkeypatch):
    # the same limits for every generated input: the fixture not being reset is wanted
    if request.param == "tiny-layers":
        monkeypatch.setattr(_pipapo, "MAX_LAYERS", 1)
    elif request.param == "numpy-residual":
        monkeypatch.setattr(_pipapo, "MAX_LAYERS", 1)
        monkeypatch.setattr(_pipapo, "RESIDUAL_PY_MAX", 0)
    elif request.param == "fence":
        monkeypatch.setattr(_pipapo, "FENCE_MIN", 1)
    return request.param


@pytest.mark.parametrize("fields", FIELDS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_backend_equals_linear_scan_incremental_bulk_and_after_deletes(limits, fields, data):
    spec = spec_of(fields)
    boxes = data.draw(box_lists(fields))
    expiring = data.draw(st.lists(st.booleans(), min_size=len(boxes), max_size=len(boxes)))
    elems = [Elem(lo, hi, seq=i, expiration=(5 if x else None))
             for i, ((lo, hi), x) in enumerate(zip(boxes, expiring))]
    inc = _pipapo.PipapoBackend(spec)
    for e in elems:
        inc.add(e)
    bulk = _pipapo.PipapoBackend(spec)
    half = len(elems) // 2
    bulk.bulk_load(elems[:half])
    bulk.bulk_load(elems[half:])          # a second bulk load merges with the first
    probes = [e.key for e in elems] + [e.end for e in elems]
    for _ in range(10):
        probes.append(keyof([data.draw(st.integers(0, min(2 ** (8 * f) - 1, 300))) for f in fields], fields))
    for b in (inc, bulk):
        assert list(b) == elems           # iteration keeps insertion order
        for p in probes:
            for now in (0, 10):
                want = ref(elems, p, fields, now)
                assert b.elem(p, now) is want      # the oldest live element itself
                # the packet path may answer the PLAIN stand-in for a plain element
                assert (b.lookup(p, now) is None) == (want is None)
            assert b._all_matches(p) == [e for e in elems if inside(e.key, e.end, p, fields)]
    victims = set(data.draw(st.lists(st.integers(0, max(len(elems) - 1, 0)), max_size=len(elems))))
    for b in (inc, bulk):
        for i in sorted(victims):
            if i < len(elems):
                b.remove(elems[i])
    rest = [e for i, e in enumerate(elems) if i not in victims]
    for b in (inc, bulk):
        assert list(b) == rest and len(b) == len(rest)
        for p in probes:
            want = ref(rest, p, fields, 0)
            assert b.elem(p, 0) is want and (b.lookup(p, 0) is None) == (want is None)


def test_spills_go_to_the_residual_and_answers_stay_exact(monkeypatch):
    monkeypatch.setattr(_pipapo, "MAX_LAYERS", 2)
    fields = (4, 2)
    s = SetInstance(spec_of(fields))
    # ten boxes holding the same point in both fields: depth 10 everywhere
    els = [(keyof([0, 0], fields), keyof([100 + i, 1000 + i], fields), None) for i in range(10)]
    s.load(els)
    st_ = s._b.stats()
    assert sum(st_["layers"]) <= 4 and st_["residual"] >= 6
    assert s.lookup(keyof([5, 5], fields)) == (True, None)
    assert s._b.elem(keyof([105, 5], fields), 0).key_end == keyof([105, 1005], fields)
    assert s.lookup(keyof([110, 5], fields)) == (False, None)


def test_one_host_many_ports_is_placed_by_port():
    fields = (4, 2)
    s = SetInstance(spec_of(fields))
    host = 0x0A000001
    s.load([(keyof([host, p], fields), None, None) for p in range(1, 3000)])
    # every element shares the address: layering by address would need 2999 layers
    assert s._b.stats() == {"layers": [0, 1], "residual": 0, "elements": 2999}
    assert s.lookup(keyof([host, 2000], fields)) == (True, None)
    assert s.lookup(keyof([host + 1, 2000], fields)) == (False, None)


def test_large_layer_gets_a_fence_and_agrees_with_plain_bisect():
    fields = (4, 2)
    s = SetInstance(spec_of(fields))
    n = 5000
    s.load([(keyof([i << 19, 10], fields), keyof([(i << 19) + 255, 20], fields), None) for i in range(n)])
    layer = s._b._layers[0][0]
    assert s.lookup(keyof([(77 << 19) + 3, 15], fields)) == (True, None)
    assert layer.fence is not None and not layer.dirty
    for v in [0, 1, 255, 256, (1 << 19) - 1, 1 << 19, (n - 1) << 19, ((n - 1) << 19) + 255,
              (n << 19), 2 ** 32 - 1, 123456789]:
        from bisect import bisect_right
        assert layer.find(v) == bisect_right(layer.starts, v) - 1
    # a change drops the fence; the next lookup rebuilds it
    s.add(keyof([n << 19, 1], fields), keyof([(n << 19) + 9, 2], fields))
    assert s.lookup(keyof([(n << 19) + 5, 2], fields)) == (True, None)
    assert layer.fence is not None


@pytest.mark.parametrize("fields", [(4, 2), (16, 2)])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fence_kept_by_single_changes_between_lookups(monkeypatch, fields, data):
    """Fences are patched in place by single inserts and removals (not rebuilt): every
    lookup between changes must still be the linear scan's answer."""
    monkeypatch.setattr(_pipapo, "FENCE_MIN", 1)
    b = _pipapo.PipapoBackend(spec_of(fields))
    first = data.draw(box_lists(fields, max_size=30))
    live = [Elem(lo, hi, seq=i) for i, (lo, hi) in enumerate(first)]
    b.bulk_load(live)
    probes = data.draw(st.lists(st.binary(min_size=sum(f + (-f % 4) for f in fields),
                                          max_size=sum(f + (-f % 4) for f in fields)), min_size=4, max_size=8))
    probes = [keyof([int.from_bytes(p[o:o + f], "big") for o, f in
                     zip([sum(g + (-g % 4) for g in fields[:i]) for i in range(len(fields))], fields)], fields)
              for p in probes] + [e.key for e in live[:4]]
    seq = len(live)
    for op in data.draw(st.lists(st.tuples(st.booleans(), box_lists(fields, max_size=1)), max_size=20)):
        add, new = op
        if add and new:
            seq += 1
            e = Elem(new[0][0], new[0][1], seq=seq)
            b.add(e)
            live.append(e)
            probes.append(e.key)
        elif live:
            e = live.pop(data.draw(st.integers(0, len(live) - 1)))
            b.remove(e)
        for k in probes:
            want = ref(live, k, fields)
            assert b.elem(k, 0) is want, k.hex()
            assert (b.lookup(k, 0) is None) == (want is None), k.hex()


def test_first_add_after_a_bulk_build_does_not_recount(monkeypatch):
    # the exact-range counts come from the build: an add must not walk every element
    b = _pipapo.PipapoBackend(spec_of((4, 2)))
    b.bulk_load([Elem(keyof([i << 8, 10], (4, 2)), keyof([(i << 8) | 255, 20], (4, 2)), seq=i)
                 for i in range(5000)])
    b.lookup(keyof([5, 10], (4, 2)), 0)
    monkeypatch.setattr(_pipapo.PipapoBackend, "_box", lambda *a: pytest.fail("recounted the set"))
    same = b._counters()
    assert same[0][(0, 255)] == 1 and same[1][(10, 20)] == 5000
