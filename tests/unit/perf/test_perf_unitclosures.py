"""Unit constructors as closures (``_fastline._Unit``, ``fastload._Gen.fns``).

A unit's constructors are closures over the values the template walk found; the
``PROMOTE_AT``-th call of one swaps in the compiled source.  Either way the typed
statements and instructions must be what the slow path gives; a rule's statements and
instructions are read here more often than ``PROMOTE_AT`` so both forms are used.
No timing here: speed is ``pkt bench ruleset-load``.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pkttables.commands import _fastline as FL

from test_perf_coldload import _file, _load, _rules, lines  # noqa: F401 -- the fixture
from test_perf_compose import rule_line  # noqa: E402 -- the same grammar strategy


def _acl(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    q = lambda: ".".join(str(rng.randrange(1, 255)) for _ in range(4))  # noqa: E731
    out = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            out.append(f"ip saddr {q()} ip daddr {q()}/{rng.randrange(8, 31)} tcp dport {rng.randrange(1, 65535)} accept")
        elif kind == 1:
            out.append(f"ip saddr {q()}/{rng.randrange(8, 31)} udp sport {rng.randrange(1, 1000)}-{rng.randrange(1000, 65535)} counter drop")
        elif kind == 2:
            out.append(f"ip daddr {q()} meta l4proto tcp th dport {rng.randrange(1, 65535)} drop")
        else:
            out.append(f"ip saddr {q()} counter accept")
    return out


@pytest.mark.parametrize("promote_at", [1, 4, 10 ** 9])
def test_promoted_and_closure_units_match_slow_path(lines, monkeypatch, promote_at):
    monkeypatch.setattr(FL, "PROMOTE_AT", promote_at)
    monkeypatch.setattr(FL, "CLOSURES", True)       # the closure mode, whatever PKT_UNIT_SOURCE says
    text = _file(_acl(120, promote_at))
    fast, slow = _rules(_load(text, True)), _rules(_load(text, False))
    assert fast == slow
    units = [u for u in lines.stmts.values() if type(u) is FL._Unit]
    assert units, "the file's rules made no unit"
    if promote_at == 1:
        # every used constructor compiled; source and closure gave the same values above
        assert any(u.n_ts == -1 for u in units) and any(u.n_ins == -1 for u in units)
    elif promote_at == 10 ** 9:
        assert all(u.n_ts >= 0 and u.n_ins >= 0 for u in units)


def test_source_mode_matches_slow_path(lines, monkeypatch):
    monkeypatch.setattr(FL, "CLOSURES", False)
    text = _file(_acl(40, 3))
    assert _rules(_load(text, True)) == _rules(_load(text, False))
    assert all(u.n_ts == -1 for u in lines.stmts.values() if type(u) is FL._Unit)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(rule_line, min_size=1, max_size=30), st.sampled_from([1, 3, 10 ** 9]))
def test_random_files_any_promotion(lines, monkeypatch, rules, promote_at):
    monkeypatch.setattr(FL, "PROMOTE_AT", promote_at)
    monkeypatch.setattr(FL, "CLOSURES", True)       # the closure mode, whatever PKT_UNIT_SOURCE says
    lines.clear()
    text = _file(rules * 3)
    assert _rules(_load(text, True)) == _rules(_load(text, False))
