"""Every backend against a linear scan: random sets, random keys (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from pkttables.sets import SetError, SetFlags, SetInstance, SetSpec, choose_backend
from pkttables.sets._pipapo import range_to_prefixes


def ref_lookup(elems, key, fields=None):
    """Linear scan: first inserted element whose every field range holds the key."""
    for lo, hi, data in elems:
        if fields is None:
            if lo <= key <= hi:
                return True, data
        else:
            if all(l <= k <= h for l, k, h in zip(split(lo, fields), split(key, fields), split(hi, fields))):
                return True, data
    return False, None


def split(key: bytes, fields):
    out, off = [], 0
    for f in fields:
        out.append(key[off:off + f])
        off += f + (-f % 4)
    return out


# ----------------------------------------------------------------------- prefixes

@given(st.integers(1, 16).flatmap(lambda b: st.tuples(st.just(b), st.integers(0, 2**b - 1),
                                                       st.integers(0, 2**b - 1))))
def test_range_to_prefixes_covers_exactly(args):
    bits, a, b = args
    lo, hi = min(a, b), max(a, b)
    covered = []
    for v, plen in range_to_prefixes(lo, hi, bits):
        size = 1 << (bits - plen)
        assert v % size == 0
        covered.append((v, v + size - 1))
    assert covered[0][0] == lo and covered[-1][1] == hi
    for (a1, b1), (a2, b2) in zip(covered, covered[1:]):
        assert b1 + 1 == a2


# ----------------------------------------------------------------------- exact sets

@pytest.mark.parametrize("klen,backend", [(1, "bitmap"), (2, "bitmap"), (2, "hash"), (4, "hash"), (16, "hash")])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_exact_backend_equals_reference(klen, backend, data):
    keys = data.draw(st.lists(st.binary(min_size=klen, max_size=klen), max_size=40, unique=True))
    s = SetInstance(SetSpec(klen), backend=backend)
    for k in keys:
        s.add(k)
    dels = data.draw(st.lists(st.sampled_from(keys), unique=True)) if keys else []
    for k in dels:
        s.delete(k)
    live = [k for k in keys if k not in dels]
    probes = data.draw(st.lists(st.binary(min_size=klen, max_size=klen), max_size=20)) + live + dels
    for p in probes:
        assert s.lookup(p) == ((p in live), None)
    assert sorted(v.key for v in s.elements()) == sorted(live)
    assert s.nelems == len(live)


# ----------------------------------------------------------------------- one-field intervals

@st.composite
def disjoint_intervals(draw, klen):
    top = 2 ** (8 * klen) - 1
    pts = sorted(draw(st.lists(st.integers(0, top), max_size=30, unique=True)))
    out = []
    i = 0
    while i + 1 < len(pts):
        if draw(st.booleans()):
            out.append((pts[i], pts[i + 1]))
            i += 2
        else:
            out.append((pts[i], pts[i]))
            i += 1
    return [(a.to_bytes(klen, "big"), b.to_bytes(klen, "big"), None) for a, b in out]


@pytest.mark.parametrize("klen", [1, 2, 4])
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_interval_backend_equals_reference(klen, data):
    ivs = data.draw(disjoint_intervals(klen))
    data.draw(st.randoms()).shuffle(ivs)
    s = SetInstance(SetSpec(klen, flags=SetFlags.INTERVAL))
    assert s.kind == "rbtree"
    for lo, hi, d in ivs:
        s.add(lo, hi)
    probes = data.draw(st.lists(st.binary(min_size=klen, max_size=klen), max_size=30))
    probes += [lo for lo, _, _ in ivs] + [hi for _, hi, _ in ivs]
    for p in probes:
        assert s.lookup(p) == ref_lookup(ivs, p)
    # delete half, check again
    gone = ivs[::2]
    for lo, hi, _ in gone:
        s.delete(lo, hi)
    rest = ivs[1::2]
    for p in probes:
        assert s.lookup(p) == ref_lookup(rest, p)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255)), max_size=12))
def test_interval_overlap_is_eexist_like_the_kernel(pairs):
    s = SetInstance(SetSpec(1, flags=SetFlags.INTERVAL))
    accepted = []
    for a, b in pairs:
        lo, hi = min(a, b), max(a, b)
        overlap = any(lo <= h and l <= hi for l, h in accepted)
        exact = (lo, hi) in accepted
        try:
            s.add(bytes([lo]), bytes([hi]))
            assert not overlap or exact
            if not exact:
                accepted.append((lo, hi))
        except SetError as e:
            assert e.errno == 17 and overlap and not exact
    for k in range(256):
        assert s.lookup(bytes([k]))[0] == any(l <= k <= h for l, h in accepted)


# ----------------------------------------------------------------------- concatenations with ranges

FIELDS = [(4, 2), (2, 1), (1, 1, 2), (16, 2)]


def keyof(vals, fields):
    return b"".join(v.to_bytes(f, "big") + bytes(-f % 4) for v, f in zip(vals, fields))


@st.composite
def boxes(draw, fields):
    n = draw(st.integers(0, 12))
    out = []
    for _ in range(n):
        lo, hi = [], []
        for f in fields:
            top = 2 ** (8 * f) - 1
            kind = draw(st.sampled_from(["point", "range", "prefix", "any"]))
            if kind == "point":
                v = draw(st.integers(0, top)); a, b = v, v
            elif kind == "range":
                x, y = draw(st.integers(0, top)), draw(st.integers(0, top)); a, b = min(x, y), max(x, y)
            elif kind == "prefix":
                plen = draw(st.integers(0, 8 * f)); v = draw(st.integers(0, top))
                size = 1 << (8 * f - plen); a = v - v % size; b = a + size - 1
            else:
                a, b = 0, top
            lo.append(a); hi.append(b)
        out.append((keyof(lo, fields), keyof(hi, fields), None))
    return out


@pytest.mark.parametrize("fields", FIELDS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_pipapo_equals_reference(fields, data):
    klen = sum(f + (-f % 4) for f in fields)
    spec = SetSpec(klen, fields, flags=SetFlags.INTERVAL | SetFlags.CONCAT)
    s = SetInstance(spec)
    assert s.kind == "pipapo"
    accepted = []
    for lo, hi, d in data.draw(boxes(fields)):
        try:
            s.add(lo, None if lo == hi else hi)
            if (lo, hi, d) not in accepted:      # the same box again is "already there"
                accepted.append((lo, hi, d))
        except SetError as e:
            assert e.errno == 17
            # the kernel refuses only when the new start or end point is inside one
            assert ref_lookup(accepted, lo, fields)[0] or ref_lookup(accepted, hi, fields)[0]
    def probe():
        pts = []
        for lo, hi, _ in accepted:
            pts += [lo, hi]
        for _ in range(15):
            pts.append(keyof([data.draw(st.integers(0, 2 ** (8 * f) - 1)) for f in fields], fields))
        return pts
    pts = probe()
    for p in pts:
        assert s.lookup(p) == ref_lookup(accepted, p, fields)
    # deletions keep the order of the rest
    if accepted:
        victims = data.draw(st.lists(st.sampled_from(range(len(accepted))), unique=True))
        for i in victims:
            lo, hi, _ = accepted[i]
            s.delete(lo, None if lo == hi else hi)
        accepted = [a for i, a in enumerate(accepted) if i not in victims]
        for p in pts:
            assert s.lookup(p) == ref_lookup(accepted, p, fields)


def test_pipapo_first_inserted_wins_on_overlap_and_bulk_equals_incremental():
    fields = (4, 2)
    spec = SetSpec(8, fields, dlen=4, flags=SetFlags.INTERVAL | SetFlags.CONCAT | SetFlags.MAP)
    a = SetInstance(spec)
    b = SetInstance(spec)
    els = [(keyof([0x0A000000, 10], fields), keyof([0x0AFFFFFF, 20], fields), b"\x01\0\0\0"),
           (keyof([0, 0], fields), keyof([0xFFFFFFFF, 0xFFFF], fields), b"\x02\0\0\0")]
    for lo, hi, d in els:
        a.add(lo, hi, d)
    b.load(els)
    for s in (a, b):
        assert s.lookup(keyof([0x0A010203, 15], fields)) == (True, b"\x01\0\0\0")
        assert s.lookup(keyof([0x0B010203, 15], fields)) == (True, b"\x02\0\0\0")


def test_pipapo_deletes_leave_no_stale_layers():
    fields = (2,)
    spec = SetSpec(8, (4, 2), flags=SetFlags.INTERVAL | SetFlags.CONCAT)
    s = SetInstance(spec)
    els = [(keyof([i, 0], (4, 2)), keyof([i, 100], (4, 2))) for i in range(300)]
    for lo, hi in els:
        s.add(lo, hi)
    for lo, hi in els[:250]:
        s.delete(lo, hi)
    assert len(s._b) == 50 and s._b.stats()["elements"] == 50
    for i in range(300):
        assert s.lookup(keyof([i, 50], (4, 2)))[0] == (i >= 250)


def test_choose_backend_like_the_kernel():
    assert choose_backend(SetSpec(2)) == "bitmap"
    assert choose_backend(SetSpec(4)) == "hash"
    assert choose_backend(SetSpec(2, flags=SetFlags.TIMEOUT)) == "hash"
    assert choose_backend(SetSpec(2, flags=SetFlags.MAP, dlen=4)) == "hash"
    assert choose_backend(SetSpec(4, flags=SetFlags.INTERVAL)) == "rbtree"
    assert choose_backend(SetSpec(8, (4, 2), flags=SetFlags.INTERVAL | SetFlags.CONCAT)) == "pipapo"
    assert choose_backend(SetSpec(8, (4, 2), flags=SetFlags.CONCAT)) == "hash"


def test_bad_key_length_is_an_error_not_a_traceback():
    s = SetInstance(SetSpec(4))
    with pytest.raises(SetError):
        s.add(b"\x01")
    with pytest.raises(SetError):
        SetInstance(SetSpec(8, (4, 4, 4)))


def test_bench_runs_small_and_reports_every_figure():
    from pkttables.sets.bench import run
    rows = run(sizes=(50, 200), lookups=200, kernel=False)
    assert {r["kind"] for r in rows} == {"hash", "bitmap", "rbtree", "pipapo"}
    for r in rows:
        assert r["build_s"] >= 0 and r["lookup_ns"] > 0 and r["bytes_per_elem"] >= 0
        assert r["add_ns"] is not None and r["delete_ns"] is not None
