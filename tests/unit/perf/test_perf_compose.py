"""Rule shapes composed from made units without the slow path (commands/_fastline.py,
``LineShapes.lookup``; the argument is in docs/fastline.md, "Composing without a check").

Every composed answer is compared with the slow path (parse, evaluate, linearize) on
the same rule: typed statements with their locations, instructions, and the
``--debug=netlink`` text; a rule the slow path refuses must never be composed.  No
timing here: speed is ``pkt bench ruleset-load``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pkttables.commands import Options, run_text
from pkttables.commands import _fastline as FL
from pkttables.commands import _pipeline as P
from pkttables.compile import dump
from pkttables.errors import PktError
from pkttables.lang import parse
from pkttables.model import Ruleset

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def lines(monkeypatch):
    c = FL.LineShapes()
    monkeypatch.setattr(FL, "LINES", c)
    monkeypatch.delenv("PKT_NO_FASTLINE", raising=False)
    monkeypatch.delenv("PKT_NO_COMPOSE", raising=False)
    c.compose_known = True
    return c


def _ip(n: int) -> str:
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


addr = st.integers(0, (1 << 32) - 1)
port = st.integers(0, 65535)
ops = st.sampled_from(["", "== ", "!= "])


@st.composite
def stmt(draw):
    kind = draw(st.sampled_from(["ip", "ip", "port", "port", "meta", "counter", "verdict"]))
    if kind == "ip":
        a = draw(addr)
        form = draw(st.sampled_from(["a", "pf", "r"]))
        c = _ip(a) if form == "a" else (f"{_ip(a)}/{draw(st.integers(0, 32))}" if form == "pf"
                                        else f"{_ip(a)}-{_ip(draw(addr))}")
        return f"ip {draw(st.sampled_from(['saddr', 'daddr']))} {draw(ops)}{c}"
    if kind == "port":
        p = draw(port)
        c = str(p) if draw(st.booleans()) else f"{p}-{draw(port)}"
        return f"{draw(st.sampled_from(['th', 'tcp', 'udp']))} {draw(st.sampled_from(['sport', 'dport']))} " \
               f"{draw(ops)}{c}"
    if kind == "meta":
        return f"meta l4proto {draw(ops)}{draw(st.sampled_from(['tcp', 'udp', 'icmp', '6', '17', '1', '200']))}"
    if kind == "counter":
        return "counter"
    return draw(st.sampled_from(["accept", "drop", "continue", "return"]))


rule_line = st.lists(stmt(), min_size=1, max_size=7).map(" ".join)


def _rule(line: str, lineno: int = 3) -> FL.FastRule | None:
    key = FL.scan_key(line)
    return None if key is None else FL._make_rule("acl.nft", lineno, line, key)


def _slow(line: str, family: str):
    """(typed statements, program) of the parsed line by the slow path, or the error."""
    old = os.environ.get("PKT_NO_SHAPES")
    os.environ["PKT_NO_SHAPES"] = "1"
    try:
        s = parse(f"table {family} t {{\n\tchain c {{\n{line}\n\t}}\n}}\n", "acl.nft")
        if s.error is not None:
            return ("error", str(s.error))
        rule = [x for x in s.commands[0].obj.body[0].body if type(x).__name__ == "Rule"][0]
        try:
            comp = P.compile_rule(rule, family, "t", "c")
        except PktError as e:
            return ("error", str(e))
        return comp.stmts, comp.program
    finally:
        if old is None:
            os.environ.pop("PKT_NO_SHAPES", None)
        else:
            os.environ["PKT_NO_SHAPES"] = old


def _learn(c: FL.LineShapes, line: str, family: str) -> None:
    """The slow path and the unit templates for ``line``, as a miss of the executor does."""
    r = _rule(line)
    if r is None:
        return
    try:
        P.compile_rule(r, family, "t", "c")
    except PktError:
        pass


def _check(c: FL.LineShapes, line: str, family: str) -> bool:
    """The fast answer for ``line`` (when there is one) is the slow path's; True when
    the shape was composed without the slow path."""
    r = _rule(line)
    if r is None:
        return False
    before = c.composed
    known = (family, r.key) in c.rules
    comp = P.fast_rule(r, family, "t", "c")
    composed = c.composed > before
    if composed:
        assert not known and family == "ip"
    want = _slow(line, family)
    if comp is None:
        return False
    assert want[0] != "error", (line, want)
    # as a LazyRule reads them (a deferred check that fails there gives the slow answer)
    stmts = tuple(FL.stmts_late(FL.LINES.lookup(r, family, P.stages()), r, family, "t", "c"))
    assert stmts == want[0], line
    assert comp.program == want[1], line
    assert tuple(comp.program.instrs) == tuple(want[1].instrs)
    assert dump(comp.program) == dump(want[1])
    return composed


@SETTINGS
@given(train=st.lists(rule_line, min_size=1, max_size=12), targets=st.lists(rule_line, min_size=1, max_size=12))
def test_composed_shapes_are_the_slow_paths(lines, train, targets):
    """Random rules of the grammar in an ip table (any order of statements: mixed
    ``th``/``tcp``/``udp``, merging ports, conflicting protocols, terminal verdicts in
    the middle): after learning from ``train``, every answer for ``targets`` -- composed
    or not -- is the slow path's, and no rule the slow path refuses is composed."""
    for line in train:
        _learn(lines, line, "ip")
    for line in targets:
        _check(lines, line, "ip")
        _learn(lines, line, "ip")


@st.composite
def stmt_shape(draw):
    """A statement with its constant left to draw: ``(text before it, strategy)``."""
    kind = draw(st.sampled_from(["ip", "ip", "port", "port", "meta", "counter", "verdict"]))
    if kind == "ip":
        form = draw(st.sampled_from(["a", "pf", "r"]))
        pre = f"ip {draw(st.sampled_from(['saddr', 'daddr']))} {draw(ops)}"
        if form == "a":
            return pre, addr.map(_ip)
        if form == "pf":
            n = draw(st.integers(0, 32))
            return pre, addr.map(lambda a: f"{_ip(a)}/{n}")
        return pre, st.tuples(addr, addr).map(lambda t: f"{_ip(min(t))}-{_ip(max(t) + (t[0] == t[1]))}"
                                              if max(t) < (1 << 32) - 1 else "0.0.0.0-1.2.3.4")
    if kind == "port":
        pre = f"{draw(st.sampled_from(['th', 'tcp', 'udp']))} {draw(st.sampled_from(['sport', 'dport']))} {draw(ops)}"
        if draw(st.booleans()):
            return pre, port.map(str)
        return pre, st.integers(0, 65534).flatmap(lambda lo: st.integers(lo + 1, 65535).map(lambda hi: f"{lo}-{hi}"))
    if kind == "meta":
        return f"meta l4proto {draw(ops)}{draw(st.sampled_from(['tcp', 'udp', 'icmp', '6', '17', '200']))}", None
    if kind == "counter":
        return "counter", None
    return draw(st.sampled_from(["accept", "drop", "continue", "return"])), None


@SETTINGS
@given(pool=st.lists(stmt_shape(), min_size=2, max_size=6), data=st.data())
def test_composition_from_a_small_vocabulary(lines, pool, data):
    """Rules drawn from a few statement shapes with fresh constants: units recur, most
    later rule shapes are new and composed from them (about a tenth of the checks, measured)."""
    seqs = st.lists(st.sampled_from(range(len(pool))), min_size=1, max_size=6)
    for _ in range(16):
        idx = data.draw(seqs)
        line = " ".join(pre + (data.draw(strat) if strat is not None else "") for pre, strat in
                        (pool[i] for i in idx))
        _check(lines, line, "ip")
        _learn(lines, line, "ip")


TRAIN = [
    "ip saddr 10.0.0.1 ip daddr 10.1.0.0/16 meta l4proto tcp th sport 1024-65535 th dport 22 accept",
    "ip daddr 10.2.0.0/24 meta l4proto udp th dport 53 counter drop",
    "ip saddr 10.3.3.0/24 accept",
    "meta l4proto tcp th sport 80 accept",
    "meta l4proto tcp tcp dport 443 accept",
]


def test_new_shape_is_composed_and_exact(lines):
    for line in TRAIN:
        _learn(lines, line, "ip")
    made = len(lines.rules)
    # new shapes: every unit was made by the rules above
    for line in ("ip saddr 192.168.1.0/24 meta l4proto tcp th sport 1024-65535 th dport 80 accept",
                 "ip daddr 10.9.1.0/24 accept",
                 "ip saddr 1.2.3.0/24 meta l4proto udp th dport 5353 counter drop"):
        assert _check(lines, line, "ip"), line
    assert lines.composed == 3
    assert len(lines.rules) == made + 3


def test_merging_ports_across_keywords(lines):
    """``th sport`` then ``tcp dport`` after ``meta l4proto tcp``: one 4-byte load in the
    slow path (merge_payloads) -- one unit, so never two composed halves."""
    for line in TRAIN:
        _learn(lines, line, "ip")
    line = "meta l4proto tcp th sport 80 tcp dport 443 accept"
    _check(lines, line, "ip")
    want = _slow(line, "ip")
    assert len([i for i in want[1].instrs if type(i).__name__ == "PayloadLoad"]) == 1
    _learn(lines, line, "ip")
    assert _check(lines, "meta l4proto tcp th sport 81 tcp dport 444 accept", "ip") is False  # a hit, not new
    assert _check(lines, "ip saddr 10.3.4.0/24 meta l4proto tcp th sport 7 tcp dport 9 accept", "ip")


def test_refused_rules_are_never_composed(lines):
    for line in TRAIN + ["counter", "accept", "meta l4proto udp udp dport 9 accept"]:
        _learn(lines, line, "ip")
    for line in ("accept counter", "drop ip saddr 1.2.3.4", "ip saddr 1.1.1.1 accept counter",
                 "meta l4proto tcp udp dport 9 accept", "tcp dport 1 udp dport 2 accept"):
        before = lines.composed
        _check(lines, line, "ip")
        assert lines.composed == before, line
        assert _slow(line, "ip")[0] == "error", line


@pytest.mark.parametrize("family", ["inet", "bridge", "netdev", "ip6"])
def test_other_families_are_not_composed(lines, family):
    """In inet/bridge/netdev an address match inserts a dependency and teaches the
    network protocol (what the ip-family argument relies on does not hold): those
    shapes keep the per-shape check."""
    for line in TRAIN:
        _learn(lines, line, family)
    for line in ("ip saddr 192.168.1.1 ip daddr 10.9.0.0/16 meta l4proto tcp th sport 1024-65535 th dport 80 drop",
                 "meta l4proto udp ip saddr 1.2.3.4 th dport 53 counter drop",
                 "ip saddr 10.3.3.0/24 accept"):
        _check(lines, line, family)
    assert lines.composed == 0


def _run(text: str, fast: bool):
    keys = ("PKT_NO_FASTLINE", "PKT_NO_SHAPES")
    old = {k: os.environ.get(k) for k in keys}
    for k in keys:
        if fast:
            os.environ.pop(k, None)
        else:
            os.environ[k] = "1"
    try:
        try:
            res = run_text(text, Ruleset(), Options(debug={"netlink"}), filename="acl.nft")
        except PktError as e:
            return ("error", str(e)), None
        from pkttables.render.options import ListOptions
        from pkttables.render.text import list_ruleset
        rules = [(c.name, r.handle, r.stmts, r.loc, r.userdata.get("program"))
                 for t in res.ruleset.tables.values() for c in t.chains.values() for r in c.rules]
        return ("ok", res.output, list_ruleset(res.ruleset, ListOptions(handle=True))), rules
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@SETTINGS
@given(rules=st.lists(rule_line, min_size=1, max_size=30),
       family=st.sampled_from(["ip", "ip", "inet", "bridge", "netdev", "ip6"]))
def test_files_same_as_slow_path(lines, rules, family):
    """Whole files (units learnt from earlier lines of the same file): output with
    ``--debug=netlink``, rules with handles and locations, listing, errors."""
    text = f"table {family} acl {{\n\tchain rules {{\n" + "".join(f"\t\t{r}\n" for r in rules) + "\t}\n}\n"
    assert _run(text, True) == _run(text, False)


def test_port_runs_merged_across_statements_are_not_composed(lines):
    """nft 1.0.6 carries a single collected payload match across a counter or
    ``continue`` (evaluate.merge_payloads): ``th sport 7 continue th dport 8`` is one
    4-byte compare although the two ports are in different units, each made (and right)
    after a counter.  Such a shape (two port runs) is never composed without a check."""
    _learn(lines, "meta l4proto tcp th sport 1 th dport 2 counter th sport 3 counter th dport 4 accept", "ip")
    _learn(lines, "meta l4proto tcp th sport 1 th dport 2 continue accept", "ip")
    line = "meta l4proto tcp th sport 5 th dport 6 counter th sport 7 continue th dport 8 accept"
    want = _slow(line, "ip")
    assert len([i for i in want[1].instrs if type(i).__name__ == "PayloadLoad"]) == 2
    assert _check(lines, line, "ip") is False
    assert lines.composed == 0
    # one port run: composed, and exact
    assert _check(lines, "meta l4proto tcp th sport 5 th dport 6 counter accept", "ip")


def test_composable_shapes():
    k = FL.scan_key
    assert FL._composable(k("ip saddr 1.2.3.4 meta l4proto tcp th sport 1 th dport 2 counter accept"))
    assert FL._composable(k("meta l4proto tcp th sport 1 tcp dport 2 continue ip saddr 1.2.3.4 drop"))
    assert not FL._composable(k("meta l4proto tcp th sport 1 counter th dport 2 accept"))
    assert not FL._composable(k("meta l4proto tcp th sport 1 meta l4proto tcp th dport 2"))
    assert not FL._composable(k("meta l4proto tcp th sport 1 ip saddr 1.2.3.4 th dport 2"))
    assert not FL._composable(k("ip saddr 1.2.3.4 accept counter"))
