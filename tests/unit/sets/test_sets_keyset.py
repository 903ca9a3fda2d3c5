"""The inline key set (C extension ``pkttables.sets._keyset``) against Python's ``set``.

Hypothesis drives random add/discard/contains/update/clear sequences over several key
lengths (with many deletes, so tombstones, same-size rebuilds and growth all happen)
and checks every answer and the length against a ``set``.  The HashBackend must also
answer the same with and without the extension."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

keyset = pytest.importorskip("pkttables.sets._keyset", reason="C extension not built (no compiler)")
KeySet = keyset.KeySet

KLENS = (1, 2, 4, 6, 8, 9, 16, 40)


@st.composite
def programs(draw):
    klen = draw(st.sampled_from(KLENS))
    # a small key space so that adds, re-adds and deletes of the same keys collide often
    space = draw(st.lists(st.binary(min_size=klen, max_size=klen), min_size=1, max_size=40, unique=True))
    key = st.sampled_from(space)
    op = st.one_of(
        st.tuples(st.just("add"), key),
        st.tuples(st.just("discard"), key),
        st.tuples(st.just("in"), key),
        st.tuples(st.just("in"), st.binary(max_size=klen + 2)),     # any bytes, other lengths too
        st.tuples(st.just("update"), st.lists(key, max_size=30)),
        st.tuples(st.just("clear"), st.none()),
    )
    return klen, draw(st.integers(0, 2**64 - 1)), draw(st.lists(op, max_size=300))


@settings(max_examples=300, deadline=None)
@given(programs())
def test_keyset_answers_as_a_set(prog):
    klen, seed, ops = prog
    ks, ref = KeySet(klen, seed), set()
    for name, arg in ops:
        if name == "add":
            assert ks.add(arg) == (arg not in ref)
            ref.add(arg)
        elif name == "discard":
            assert ks.discard(arg) == (arg in ref)
            ref.discard(arg)
        elif name == "in":
            assert (arg in ks) == (arg in ref)
        elif name == "update":
            ks.update(arg)
            ref.update(arg)
        else:
            ks.clear()
            ref.clear()
        assert len(ks) == len(ref)
    assert all(k in ks for k in ref)


def test_churn_keeps_a_million_operations_exact():
    # add/delete waves: the table is rebuilt for tombstones many times over
    import random
    rng = random.Random(7)
    ks, ref = KeySet(4, 99), set()
    for wave in range(20):
        for _ in range(5000):
            k = rng.getrandbits(16).to_bytes(4, "big")
            if rng.random() < 0.5:
                assert ks.add(k) == (k not in ref)
                ref.add(k)
            else:
                assert ks.discard(k) == (k in ref)
                ref.discard(k)
        assert len(ks) == len(ref)
    probe = [i.to_bytes(4, "big") for i in range(1 << 16)]
    assert [p in ks for p in probe] == [p in ref for p in probe]


def test_bad_keys():
    ks = KeySet(4)
    with pytest.raises(ValueError):
        ks.add(b"abc")
    with pytest.raises(ValueError):
        ks.add("abcd")
    with pytest.raises(ValueError):
        ks.update([b"abcd", b"x"])
    assert b"abcd" in ks            # the keys before the bad one went in
    assert "abcd" not in ks and None not in ks and b"abcde" not in ks
    with pytest.raises(ValueError):
        KeySet(0)
    assert b"abcd" not in KeySet.__new__(KeySet)    # never initialised: empty, no crash


def test_hash_backend_uses_it_and_answers_as_without(monkeypatch):
    from pkttables.sets import SetInstance, SetSpec
    from pkttables.sets import _hash
    elems = [(i.to_bytes(4, "big"), None, None) for i in range(0, 5000, 3)]
    probes = [i.to_bytes(4, "big") for i in range(5000)]

    def answers():
        s = SetInstance(SetSpec(4, name="h"))
        s.load(elems)
        s.add((7).to_bytes(4, "big"))
        s.delete((9).to_bytes(4, "big"))
        return s, [s.lookup(p)[0] for p in probes]

    s, fast = answers()
    assert isinstance(s._b._fast, KeySet)
    monkeypatch.setattr(_hash, "KeySet", None)
    s2, slow = answers()
    assert isinstance(s2._b._fast, set)
    assert fast == slow
    assert fast[7] and not fast[9] and fast[3] and not fast[4]


@settings(max_examples=50, deadline=None)
@given(programs())
def test_copies_and_pickles_hold_the_same_keys(prog):
    # deepcopy of a ruleset's live sets and the workers' pickles go through __reduce__
    import copy
    import pickle
    klen, seed, ops = prog
    ks = KeySet(klen, seed)
    for name, arg in ops:
        if name == "add":
            ks.add(arg)
        elif name == "discard":
            ks.discard(arg)
    for other in (copy.deepcopy(ks), pickle.loads(pickle.dumps(ks)), copy.copy(ks)):
        assert len(other) == len(ks)
        for name, arg in ops:
            if name in ("add", "discard"):
                assert (arg in other) == (arg in ks)
        other.add(b"\xff" * klen)
        assert len(other) == len(ks) + (b"\xff" * klen not in ks)
