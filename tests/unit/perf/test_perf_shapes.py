"""The rule-shape cache (commands/fastload.py) gives exactly the slow path's answer.

Every rule is compiled twice: through ``compile_rule`` with the cache (a fresh one that
builds a template at a shape's 2nd rule, so most rules below are hits) and with
``PKT_NO_SHAPES=1`` (evaluate + linearize).  The typed statements, the program and the
``--debug=netlink`` text must be equal, locations included.  No timing here: speed is
``pkt bench ruleset-load``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pkttables.commands import _pipeline as P
from pkttables.commands import fastload as F
from pkttables.errors import PktError
from pkttables.lang import parse


@pytest.fixture
def cache(monkeypatch):
    c = F.ShapeCache(build_at=2)
    monkeypatch.setattr(F, "SHAPES", c)
    monkeypatch.delenv("PKT_NO_SHAPES", raising=False)
    return c


def _slow(rule, fam="ip", table="t", chain="c"):
    old = os.environ.get("PKT_NO_SHAPES")
    os.environ["PKT_NO_SHAPES"] = "1"
    try:
        return P.compile_rule(rule, fam, table, chain)
    finally:
        if old is None:
            del os.environ["PKT_NO_SHAPES"]
        else:
            os.environ["PKT_NO_SHAPES"] = old


def _rules(text: str, fam: str = "ip"):
    s = parse(f"table {fam} t {{\n chain c {{\n{text}\n }}\n}}\n", "rules.nft")
    return [x for x in s.commands[0].obj.body[0].body if type(x).__name__ == "Rule"]


def _same(rule, fam="ip"):
    """Fast and slow answers for ``rule``: (fast error, slow error) or equal outputs."""
    try:
        want = _slow(rule, fam)
    except PktError as e:
        want = e
    try:
        got = P.compile_rule(rule, fam, "t", "c")
    except PktError as e:
        got = e
    if isinstance(want, PktError) or isinstance(got, PktError):
        assert isinstance(got, PktError) and isinstance(want, PktError), (got, want)
        assert str(got) == str(want)
        return
    assert got.stmts == want.stmts
    assert got.program == want.program
    assert got.bytecode == want.bytecode


# ---------------------------------------------------------------- ACL-like rules
def _ip(n: int) -> str:
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


addr = st.integers(0, (1 << 32) - 1)
port = st.integers(0, 65535)
ops = st.sampled_from(["", "== ", "!= "])


@st.composite
def addr_expr(draw):
    kind = draw(st.sampled_from(["a", "pf", "r"]))
    a = draw(addr)
    if kind == "a":
        return _ip(a)
    if kind == "pf":
        return f"{_ip(a)}/{draw(st.integers(0, 32))}"
    b = draw(addr)
    return f"{_ip(a)}-{_ip(b)}"          # lo >= hi too: the slow path's error


@st.composite
def port_expr(draw):
    a = draw(port)
    if draw(st.booleans()):
        return str(a)
    return f"{a}-{draw(port)}"


@st.composite
def shape(draw):
    """A rule template: a list of (text before the constant, constant strategy)."""
    parts = []
    for kw in ("saddr", "daddr"):
        if draw(st.booleans()):
            parts.append((f"ip {kw} {draw(ops)}", addr_expr()))
    proto = draw(st.sampled_from([None, "tcp", "udp"]))
    if proto:
        parts.append((f"meta l4proto {proto}", None))
    th = draw(st.sampled_from(["th", "tcp", "udp"])) if proto else "th"
    for kw in ("sport", "dport"):
        if proto and draw(st.booleans()):
            parts.append((f"{th} {kw} {draw(ops)}", port_expr()))
    if draw(st.booleans()):
        parts.append(("counter", None))
    parts.append((draw(st.sampled_from(["accept", "drop", "continue", "return"])), None))
    return parts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sh=shape(), data=st.data())
def test_acl_rules_same_as_slow_path(cache, sh, data):
    lines = []
    for _ in range(5):               # one shape, five sets of constants
        words = []
        for text, strat in sh:
            words.append(text + (data.draw(strat) if strat is not None else ""))
        lines.append(" ".join(words))
    try:
        rules = _rules("\n".join(lines))
    except PktError:
        return                        # the parser refuses it: nothing to compile
    for r in rules:
        _same(r)


def test_hits_are_exercised(cache):
    rules = _rules("\n".join(f"ip saddr 10.0.{i}.1 ip daddr 192.168.{i}.0/24 meta l4proto tcp "
                             f"th dport {1000 + i} accept" for i in range(6)))
    for r in rules:
        _same(r)
    assert cache.built == 1 and cache.hits >= 4


def test_prefix_lengths_share_only_their_class(cache):
    # /20 and /13 take nft's mask path, /16 the trimmed load: every length in one run
    rules = _rules("\n".join(f"ip daddr 172.16.{n}.9/{n} drop" for n in range(33)) + "\n" +
                   "\n".join(f"ip daddr 172.16.{n}.9/{n} drop" for n in range(32, -1, -1)))
    for r in rules:
        _same(r)
    assert cache.hits > 0


def test_locations_are_the_rules_own(cache):
    rules = _rules("ip saddr 1.2.3.4 th dport 22 accept\n"
                   "ip saddr 10.20.30.40 th dport 2222 accept\n"
                   "ip saddr 100.200.3.4 th dport 1 accept")
    outs = [P.compile_rule(r, "ip", "t", "c") for r in rules]
    assert cache.hits == 1
    assert outs[2].stmts[0].loc.line == rules[2].loc.line
    assert outs[2].stmts[0].right.loc != outs[1].stmts[0].right.loc


def test_not_a_slot_stays_in_the_key(cache):
    # a symbolic port, an octal number, an out-of-range port: compared as they are
    rules = _rules("tcp dport ssh accept\ntcp dport ssh accept\ntcp dport ssh accept\n"
                   "tcp dport 010 accept\ntcp dport 010 accept\ntcp dport 010 accept\n"
                   "tcp dport 22 accept\ntcp dport 23 accept\ntcp dport 24 accept")
    for r in rules:
        _same(r)
    bad = _rules("tcp dport 70000 accept")[0]
    assert F.scan(bad)[0] != F.scan(rules[-1])[0]
    _same(bad)


def test_unhandled_statements_take_the_slow_path(cache):
    rules = _rules("ip saddr { 1.2.3.4, 5.6.7.8 } accept\nmeta iifname \"eth0\" accept\n"
                   "ip saddr 1.2.3.4 jump c")
    for r in rules:
        assert F.scan(r) is None
        _same(r)


def test_disabled_by_environment(cache, monkeypatch):
    monkeypatch.setenv("PKT_NO_SHAPES", "1")
    for r in _rules("ip saddr 1.2.3.4 accept\n" * 4):
        P.compile_rule(r, "ip", "t", "c")
    assert cache.hits == 0 and not cache.map


# ---------------------------------------------------------------- corpus rules
def _corpus_cases():
    sys.path.insert(0, str(Path(__file__).parents[2] / "corpus"))
    try:
        import nftpy
    except Exception:           # noqa: BLE001 - no corpus, no cases
        return []
    if not nftpy.SUITE_DIR.exists():
        return []
    out = []
    for tf in nftpy.iter_files():
        for case in tf.cases():
            if case.expect_ok and case.family in ("ip", "inet", "bridge", "netdev", "ip6"):
                out.append(case)
    return out


def test_corpus_rules_same_as_slow_path(cache):
    """Every ``ok`` rule of the shared suite that the cache handles, compiled three
    times (count, template, hit): all three equal the slow path."""
    cases = _corpus_cases()
    if not cases:
        pytest.skip("shared corpus not present")
    n = 0
    for case in cases:
        try:
            rule = parse(case.add_command).commands[0].obj.rule
        except PktError:
            continue
        if F.scan(rule) is None:
            continue
        try:
            want = _slow(rule, case.family, case.table, case.chain)
        except PktError:
            continue
        for _ in range(3):
            got = P.compile_rule(rule, case.family, case.table, case.chain)
            assert (got.stmts, got.program) == (want.stmts, want.program), case.add_command
        n += 1
    assert n > 20
