"""Runs of address matches composed from their statements' units (commands/_fastline.py,
``LineShapes._split``), and rules answered by their units without a slow run of their
own (``LineShapes.from_units``).

Every answer is compared with the slow path (parse, evaluate, linearize) on the same
rule: typed statements with their locations, instructions, ``--debug=netlink`` text.
No timing here: speed is ``pkt bench ruleset-load`` (docs/perf.md, "Address runs split").
"""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from pkttables.commands import _fastline as FL
from pkttables.commands import _pipeline as P
from pkttables.evaluate import _eval as EV

from test_perf_compose import SETTINGS, _check, _ip, _learn, _rule, _slow, addr, ops, rule_line  # noqa: F401

@pytest.fixture
def lines(monkeypatch):
    c = FL.LineShapes()
    monkeypatch.setattr(FL, "LINES", c)
    monkeypatch.delenv("PKT_NO_FASTLINE", raising=False)
    monkeypatch.delenv("PKT_NO_COMPOSE", raising=False)
    c.compose_known = True
    return c


def _splits(c: FL.LineShapes) -> list:
    return [k for k, v in c.stmts.items() if type(v) is FL._Pair and not v.failed]


def test_address_pair_is_split_and_exact(lines):
    _learn(lines, "counter drop", "ip")
    _learn(lines, "ip saddr 10.1.0.0/16 ip daddr 10.2.3.4 accept", "ip")
    # the pair was not merged: its key is split, its statements' units made
    assert [k[2] for k in _splits(lines)] == [FL.scan_key("ip saddr 10.1.0.0/16 ip daddr 10.2.3.4 accept")[1:3]]
    singles = {k[2] for k, v in lines.stmts.items() if type(v) is FL._Unit}
    assert FL.scan_key("ip saddr 10.1.0.0/16 accept")[1:2] in singles
    assert FL.scan_key("ip daddr 10.2.3.4 accept")[1:2] in singles
    # the rule itself and later shapes with the pair or its halves: composed, exact
    for line in ("ip saddr 10.9.0.0/16 ip daddr 10.2.3.5 drop",
                 "ip daddr 1.2.3.4 accept",
                 "ip saddr 192.168.0.0/16 counter accept",
                 "ip saddr 172.16.0.0/16 ip daddr 8.8.8.8 counter drop"):
        assert _check(lines, line, "ip"), line


def test_merging_run_is_one_unit(lines, monkeypatch):
    """Were saddr + daddr/24 joined (nft before stmt_reduce's 4-byte rule: one 7-byte
    compare), the pair's answer is not its halves': one unit, exact."""
    monkeypatch.setattr(FL, "DEFER_WALK", True)     # the check deferred, whatever PKT_EAGER_WALK says
    monkeypatch.setattr(EV, "_can_merge", lambda a, b: a.base == b.base and a.offset_bits + a.len_bits == b.offset_bits
                        and a.len_bits + b.len_bits <= 128)
    line = "ip saddr 10.0.0.1 ip daddr 10.1.2.0/24 accept"
    _learn(lines, "counter drop", "ip")
    want = _slow(line, "ip")
    assert [i.len for i in want[1].instrs if type(i).__name__ == "PayloadLoad"] == [7]
    _learn(lines, line, "ip")
    # the pair's check (made when its rule's answer is read) failed: that rule got the
    # slow path's answer, the key is left to one unit, made by the next rule
    assert not _splits(lines)
    assert any(v is FL._NOSPLIT for v in lines.stmts.values())
    _learn(lines, line, "ip")
    assert not any(v is FL._NOSPLIT for v in lines.stmts.values())
    assert _check(lines, "ip saddr 10.0.0.9 ip daddr 10.1.9.0/24 accept", "ip") is False  # a hit
    assert _check(lines, "ip saddr 10.0.0.9 ip daddr 10.1.9.0/24 counter drop", "ip")     # composed
    # a pair that is not merged even so is split
    _learn(lines, "ip saddr 10.0.0.0/8 ip daddr 10.1.2.3 accept", "ip")
    assert len(_splits(lines)) == 1


def test_first_rule_answered_by_its_units(lines):
    """A new ip shape whose units are all made from it: no slow run of the whole rule
    (the units' runs only), and its answer is the slow path's."""
    calls = []
    real = EV.evaluate_rule

    def counting(rule, ctx):
        calls.append(len(rule.stmts))
        return real(rule, ctx)

    line = "ip saddr 10.1.2.3 ip daddr 10.4.0.0/16 meta l4proto tcp th sport 1024-65535 th dport 22 counter accept"
    r = _rule(line)
    st = P.stages()
    import unittest.mock as M
    with M.patch.object(EV, "evaluate_rule", counting):
        stg = (counting,) + tuple(st[1:])
        with M.patch.object(P, "_stages", lambda: stg):
            comp = P.compile_rule(r, "ip", "t", "c")
    assert lines.made == 1 and lines.misses == 1
    assert len(r.key) - 1 not in calls                # never the whole rule
    want = _slow(line, "ip")
    assert comp.stmts == want[0] and comp.program == want[1]


addr_c = st.builds(lambda a, form, n, b: _ip(a) if form == "a" else (f"{_ip(a)}/{n}" if form == "pf" else f"{_ip(a)}-{_ip(b)}"),
                   addr, st.sampled_from(["a", "pf", "r"]), st.integers(0, 32), addr)
pair = st.builds(lambda f1, o1, c1, f2, o2, c2: f"ip {f1} {o1}{c1} ip {f2} {o2}{c2}",
                 st.sampled_from(["saddr", "daddr"]), ops, addr_c, st.sampled_from(["saddr", "daddr"]), ops, addr_c)
tail = st.sampled_from(["", " accept", " counter drop", " meta l4proto tcp th dport 22 accept",
                        " meta l4proto udp th sport 1-2 th dport 53 continue"])


@SETTINGS
@given(train=st.lists(st.tuples(pair, tail).map("".join), min_size=1, max_size=8),
       targets=st.lists(st.tuples(pair, tail).map("".join), min_size=1, max_size=8))
def test_split_pairs_are_the_slow_paths(lines, train, targets):
    """Random address pairs (any classes, operators, order, repeated fields) after
    random training: every answer -- split, one unit, composed or not -- is the slow
    path's (``_check`` compares), and every rule the slow path refuses is refused."""
    for line in train:
        _learn(lines, line, "ip")
    for line in targets:
        _check(lines, line, "ip")


@SETTINGS
@given(train=st.lists(st.tuples(pair, tail).map("".join), min_size=1, max_size=6),
       targets=st.lists(st.one_of(st.tuples(pair, tail).map("".join), rule_line), min_size=1, max_size=10))
def test_compose_made_is_compose(lines, train, targets):
    """``_compose_made`` (the lookup's loop) gives the general ``_compose``'s template
    (same units, same ranges) or None alike."""
    for line in train + ["counter accept", "meta l4proto tcp th dport 1 drop"]:
        _learn(lines, line, "ip")
    for line in targets:
        r = _rule(line)
        if r is not None:
            assert lines._compose_made(r.key, "ip") == lines._compose(r, "ip", None), line


def test_pair_of_one_key_checked_against_each_statement(lines):
    """A run of two statements of one key (one single unit): the deferred check reads
    the first statement's answer from the unit's own run and the second's from its
    constructors -- a check that took the first's for both found every such run
    merged (hypothesis found it under PKT_NO_COMPOSE)."""
    line = "ip saddr != 0.0.0.160-7.83.156.125 ip saddr != 0.18.81.10-1.209.8.211 counter"
    _learn(lines, "counter drop", "ip")
    comp = P.compile_rule(_rule(line), "ip", "t", "c", lazy=True)
    want = _slow(line, "ip")
    assert tuple(comp.program.instrs) == tuple(want[1].instrs)       # runs the check
    assert tuple(comp.make()) == tuple(want[0])
    assert len(_splits(lines)) == 1 and not any(v is FL._NOSPLIT for v in lines.stmts.values())
