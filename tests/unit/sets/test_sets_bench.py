"""The set bench's kernel side: the nft file it loads holds the same elements as the
pkttables set it measures (checked through pkttables' own nft parser, no root)."""

from __future__ import annotations

import random

import pytest

from pkttables.commands import run_text
from pkttables.model import Ruleset
from pkttables.sets import bench
from pkttables.sets.generation import instances_from_model


@pytest.mark.parametrize("kind", bench.KINDS)
def test_kernel_ruleset_loads_the_same_elements(kind, monkeypatch):
    monkeypatch.setattr(bench, "CHUNK", 7)          # several add element commands
    elems = bench._elements(kind, 20, random.Random(3))
    rs = run_text(bench.kernel_ruleset(kind, elems), Ruleset()).ruleset
    inst = instances_from_model(rs)[("ip", "bench", "s")]
    assert inst.kind == kind
    got = sorted((v.key, v.key_end) for v in inst.elements())
    want = sorted((lo, None if hi == lo else hi) for lo, hi, _ in elems)
    assert got == want


def test_run_without_kernel_has_no_kernel_rows():
    rows = bench.run(sizes=(10, 50), kinds=("hash",), kernel=False, rounds=1, lookups=200)
    assert [r["elements"] for r in rows] == [10, 50]
    assert all("kernel_load_s" not in r for r in rows)
    assert "kernel s" not in bench.format_table(rows)


@pytest.mark.parametrize("kind", ["hash", "rbtree"])
def test_packet_ratio_runs_the_rule_with_the_sets_answers(kind):
    # packet_ratio asserts itself that every packet's verdict is the set's answer
    r = bench.packet_ratio(kind, small=10, big=300, packets=60, rounds=1)
    assert (r["small"], r["big"]) == (10, 300)
    assert r["small_ns"] > 0 and r["big_ns"] > 0 and r["ratio"] == r["big_ns"] / r["small_ns"]


def test_probe_keys_are_fresh_objects():
    elems = bench._elements("hash", 50, random.Random(1))
    stored = {id(k) for k, _, _ in elems}
    keys = bench._probe_keys("hash", elems, random.Random(2), 40)
    assert not stored & {id(k) for k in keys}
    assert sum(k in {e[0] for e in elems} for k in keys) >= 20     # half present
