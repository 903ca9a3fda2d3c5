"""The cold load of a rule file without debug output (``pkt -c -f``): the executor's
fast path (``_Executor._add_fast_rule``), rule shapes composed from made units
(``LineShapes.lookup``) and the lazy records (``LazyRule``, ``LazyProgram``).

A load reads neither a fast rule's typed statements nor its instructions, so the
line's constants and locations (``scan_line``) are read only for the rules that take
the slow path; whatever is read afterwards (statements, programs, listing) must be
what the slow path gives.  No timing here: speed is ``pkt bench ruleset-load``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pkttables.commands import Options, run_text
from pkttables.commands import _fastline as FL
from pkttables.errors import PktError
from pkttables.model import Ruleset

from test_perf_compose import rule_line  # noqa: E402 -- the same grammar strategy

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

ENV = ("PKT_NO_FASTLINE", "PKT_NO_SHAPES", "PKT_NO_COMPOSE")


@pytest.fixture
def lines(monkeypatch):
    # the environment cleared before the shapes are made: LineShapes reads
    # PKT_NO_COMPOSE when made (a fixture made first kept the mode under test off)
    for k in ENV:
        monkeypatch.delenv(k, raising=False)
    c = FL.LineShapes()
    monkeypatch.setattr(FL, "LINES", c)
    return c


def _load(text: str, fast: bool, dry_run: bool = False):
    old = {k: os.environ.get(k) for k in ENV}
    for k in ENV:
        if fast:
            os.environ.pop(k, None)
        else:
            os.environ[k] = "1"
    try:
        try:
            res = run_text(text, Ruleset(), Options(dry_run=dry_run), filename="acl.nft")
        except PktError as e:
            return ("error", str(e))
        return res
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _rules(res):
    from pkttables.render.options import ListOptions
    from pkttables.render.text import list_ruleset
    if type(res) is tuple:
        return res
    rules = [(c.name, r.handle, r.stmts, r.comment, r.loc, r.userdata.get("program"),
              tuple(r.userdata["program"].instrs) if r.userdata.get("program") is not None else None)
             for t in res.ruleset.tables.values() for c in t.chains.values() for r in c.rules]
    return rules, list_ruleset(res.ruleset, ListOptions(handle=True)), res.output


def _file(rules, family="ip", header=True) -> str:
    hook = "\t\ttype filter hook forward priority filter; policy accept;\n" if header else ""
    return f"table {family} acl {{\n\tchain rules {{\n{hook}" + "".join(f"\t\t{r}\n" for r in rules) + \
        "\t}\n}\n"


ACL = [
    "ip saddr 10.0.0.0/8 ip daddr 16.32.0.0/12 meta l4proto tcp accept",
    "ip saddr 10.1.2.3 ip daddr 16.39.196.209 meta l4proto tcp th sport 1024-65535 th dport 53 drop",
    "ip daddr 16.39.196.209 meta l4proto tcp th sport 1024-65535 th dport 36233 accept",
    "ip saddr 10.138.0.0/16 ip daddr 142.115.202.0/24 accept",
    "ip saddr 10.138.0.0/16 ip daddr 142.115.202.0/24 meta l4proto tcp accept",
    "ip saddr 10.138.196.128/25 ip daddr 16.38.0.0/16 meta l4proto udp th dport 993 counter accept",
    "ip daddr 16.32.254.240 meta l4proto tcp th sport 0-1023 th dport 35365 drop",
    "ip daddr 16.32.254.0/24 meta l4proto tcp th sport 0-1023 th dport 35365 drop",
    "ip saddr 10.138.0.0/16 ip daddr 105.212.149.208/28 meta l4proto tcp th dport 21 accept",
]


def test_composed_rules_do_not_rescan_their_line(lines, monkeypatch):
    """Only the slow-path rules read the line's constants and locations in a load (a
    dry run is the same executor, its result not kept: committed here to read it); a composed or template rule reads them when its statements or program are read."""
    calls = []
    real = FL.scan_line

    def counting(text):
        calls.append(text)
        return real(text)

    monkeypatch.setattr(FL, "scan_line", counting)
    res = _load(_file(ACL), True, dry_run=True)
    assert type(res) is not tuple
    assert lines.composed >= 2                  # the 5th and 8th lines at least
    assert len(calls) == lines.misses < len(ACL)
    # the same file committed (the commit reads the programs): the slow path's answer
    assert _rules(_load(_file(ACL), True)) == _rules(_load(_file(ACL), False))


@SETTINGS
@given(rules=st.lists(rule_line, min_size=1, max_size=25), header=st.booleans(),
       family=st.sampled_from(["ip", "ip", "ip", "inet", "ip6"]))
def test_dry_run_files_same_as_slow_path(lines, rules, header, family):
    """Random files of the grammar loaded as ``pkt -f`` does (no debug, no echo: the
    executor's fast path, as ``pkt -c -f``): rules with handles, locations, statements, programs and
    instructions, the listing with handles, or the error, equal the slow path's."""
    text = _file(rules, family, header)
    assert _rules(_load(text, True)) == _rules(_load(text, False))


def test_two_chains_and_repeated_loads(lines):
    """Shapes made in one load serve the next (the module-level cache), in two chains."""
    text = "table ip acl {\n\tchain a {\n" + "".join(f"\t\t{r}\n" for r in ACL[:5]) + \
        "\t}\n\tchain b {\n" + "".join(f"\t\t{r}\n" for r in ACL[4:]) + "\t}\n}\n"
    first = _rules(_load(text, True))
    misses = lines.misses
    second = _rules(_load(text, True))
    assert lines.misses == misses               # every shape known the second time
    assert first == second == _rules(_load(text, False))


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("text", ["table ip t {\n\tchain c {\n\t\tip saddr 10.0.0.1 accept\n\t}\n}\n",
                                  "table ip t {\n\tchain c {\n\t\tip saddr 10.0.0.1 accept\n\t\tjump nowhere\n\t}\n}\n",
                                  "table ip t {\n\tchain c {\n\t\tip saddr 10.0.0.1 acept\n\t}\n}\n"])
def test_run_text_restores_the_gc_state(enabled, text):
    """run_text pauses the cyclic GC over the parse and the batch and gives back the
    state it found, whether the batch succeeds, fails evaluating or fails parsing."""
    import gc
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        try:
            run_text(text, Ruleset(), Options(dry_run=True), filename="gc.nft")
        except PktError:
            pass
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
