"""Unit templates without constants (commands/_fastline.py, ``LineShapes._compose`` and
``_stmt_template``): counters and verdicts are one unit whatever precedes them, and a
unit without a constant slot is made from two slow-path runs instead of three.

Every answer is compared with the slow path (the helpers of test_perf_compose); no
timing here (speed is ``pkt bench ruleset-load``)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from pkttables.commands import _fastline as FL
from pkttables.commands import _pipeline as P

from test_perf_compose import SETTINGS, _check, _learn, _rule, _slow, lines  # noqa: F401 -- the fixture


def test_verdict_and_counter_units_have_no_context(lines):
    """The verdict and counter of a rule after ``meta l4proto`` and ports are keyed
    without that context: a later rule with another context reuses them and is
    composed, exactly as the slow path answers."""
    _learn(lines, "meta l4proto tcp th dport 22 counter accept", "ip")
    free = [k for k in lines.stmts if k[2][0][0] in ("c", "v")]
    assert free and all(k[1] == () for k in free), free
    # counter and accept after a context never seen with them: composed, no new unit
    _learn(lines, "meta l4proto udp th dport 1-9 drop", "ip")
    before = len(lines.stmts)
    assert _check(lines, "meta l4proto udp th dport 2-3 counter accept", "ip") is True
    assert len(lines.stmts) == before


def test_constantless_unit_made_with_two_runs(lines, monkeypatch):
    """A unit without constants (``meta l4proto``, counter, verdict) costs two slow runs
    (and no probes); a unit with constants three (the rule's and two probes)."""
    calls = []
    orig = FL.LineShapes._stmt_template

    def spy(self, rule_loc, ctx, unit, own_locs, own_atoms, slow):
        def counting(rule):
            calls.append(len(own_atoms))
            return slow(rule)
        return orig(self, rule_loc, ctx, unit, own_locs, own_atoms, counting)

    monkeypatch.setattr(FL.LineShapes, "_stmt_template", spy)
    _learn(lines, "meta l4proto tcp accept", "ip")
    assert calls == [0, 0, 0, 0]        # meta l4proto: 2 runs; accept: 2 runs (no context)
    calls.clear()
    _learn(lines, "ip saddr 10.0.0.1 drop", "ip")
    # ip saddr: rule + 2 probes; drop: 2 runs (the probes and second runs are made when
    # the constructors are first read: after both units' own runs)
    assert sorted(calls) == [0, 0, 1, 1, 1]
    assert _check(lines, "ip saddr 10.9.8.7 meta l4proto tcp drop", "ip") is True


def test_unit_walk_deferred_until_read(lines, monkeypatch):
    """A unit is made from one slow run of its statements (after its context): the
    probes' runs and the walk wait for the first read of its constructors, which a dry
    run's hits never do; read, they give the slow path's answer."""
    monkeypatch.setattr(FL, "DEFER_WALK", True)     # whatever PKT_EAGER_WALK says
    calls = []
    orig = FL.LineShapes._stmt_template

    def spy(self, rule_loc, ctx, unit, own_locs, own_atoms, slow):
        def counting(rule):
            calls.append(len(own_atoms))
            return slow(rule)
        return orig(self, rule_loc, ctx, unit, own_locs, own_atoms, counting)

    monkeypatch.setattr(FL.LineShapes, "_stmt_template", spy)
    line = "ip saddr 10.0.0.1 drop"
    comp = P.compile_rule(_rule(line), "ip", "t", "c", lazy=True)     # as the executor does
    assert calls == [1, 0]              # one run a unit, no probe yet
    units = [u for u in lines.stmts.values() if type(u) is FL._Unit]
    assert len(units) == 2 and all(u.walk is not None and not u.failed for u in units)
    assert type(lines.rules[("ip", FL.scan_key(line))]) is tuple
    # read: walked, and the slow path's answer
    assert (tuple(comp.make()), tuple(comp.program.instrs)) == \
        (tuple(_slow(line, "ip")[0]), tuple(_slow(line, "ip")[1].instrs))
    assert sorted(calls) == [0, 0, 1, 1, 1]
    assert all(u.walk is None for u in units)


def test_failed_deferred_walk_gives_slow_answer(lines, monkeypatch):
    """A unit whose deferred walk fails: the rules holding it get the slow path's
    statements and program, the unit and its templates are forgotten, and the next rule
    of the shape takes the slow path."""
    from pkttables.commands import Options, run_text
    from pkttables.model import Ruleset

    monkeypatch.setattr(FL, "DEFER_WALK", True)

    def broken(self, real, p1, p2):
        raise FL._fl._Unfit("test")

    text = "table ip t {\n\tchain c {\n\t\tip saddr 10.0.0.1 drop\n\t\tip saddr 10.0.0.2 drop\n\t}\n}\n"
    monkeypatch.setattr(FL._StmtGen, "expr", broken)
    # committed: the commit reads the programs, the walks fail there
    res = run_text(text, Ruleset(), Options(), filename="a.nft")
    rules = res.ruleset.tables[("ip", "t")].chains["c"].rules
    got = [(r.stmts, tuple(r.userdata["program"].instrs)) for r in rules]
    assert any(u is FL._UNFIT for u in lines.stmts.values())
    assert all(t is FL._UNFIT for t in lines.rules.values())
    monkeypatch.undo()
    for k in ("PKT_NO_FASTLINE", "PKT_NO_SHAPES", "PKT_NO_COMPOSE"):
        monkeypatch.setenv(k, "1")
    ref = run_text(text, Ruleset(), Options(), filename="a.nft").ruleset.tables[("ip", "t")].chains["c"].rules
    assert got == [(r.stmts, tuple(r.userdata["program"].instrs)) for r in ref]


@SETTINGS
@given(ctx=st.lists(st.sampled_from(["meta l4proto tcp", "meta l4proto udp", "meta l4proto 200",
                                     "th dport 5", "tcp sport 1-9", "udp dport 77", "counter",
                                     "ip saddr 1.2.3.4", "continue"]), max_size=4),
       tail=st.lists(st.sampled_from(["counter", "continue", "accept", "drop", "return"]),
                     min_size=1, max_size=3),
       train=st.lists(st.sampled_from(["meta l4proto tcp", "meta l4proto udp", "th dport 5 counter",
                                       "udp dport 77 accept", "drop", "counter return",
                                       "meta l4proto 200 counter continue"]), max_size=4))
def test_context_free_units_match_the_slow_path(lines, ctx, tail, train):
    """Counters and verdicts after any context (protocols, ports, conflicting
    protocols, counters, continue), learnt after other contexts: every answer, composed
    or not, is the slow path's, and rules the slow path refuses are never composed."""
    for line in train:
        _learn(lines, line, "ip")
    for line in (" ".join(ctx + tail), " ".join(ctx[::-1] + tail)):
        _check(lines, line, "ip")
        _learn(lines, line, "ip")
        _check(lines, line, "ip")
