"""The line-level fast path (commands/_fastline.py) gives exactly the slow path's answer.

Every file is run twice: with the text pass and its templates (a fresh cache) and with
``PKT_NO_FASTLINE=1 PKT_NO_SHAPES=1`` (tokenizer, parser, evaluate, linearize).  The
rules (handles, typed statements with their locations, programs), the listing with
handles, the JSON listing, the ``--debug=netlink`` output and the errors must be
equal.  No timing here: speed is ``pkt bench ruleset-load``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pkttables.commands import Options, run_text
from pkttables.commands import _fastline as FL
from pkttables.commands import fastload as F
from pkttables.errors import Location, PktError
from pkttables.lang import parse
from pkttables.model import Ruleset
from pkttables.model.objects import LazyRule, Rule

SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def lines(monkeypatch):
    c = FL.LineShapes()
    monkeypatch.setattr(FL, "LINES", c)
    monkeypatch.delenv("PKT_NO_FASTLINE", raising=False)
    return c


def _run(text: str, fast: bool, debug: bool = False, flags=()):
    """(result or error text, rules, listing, json) of ``text`` run on an empty ruleset."""
    keys = ("PKT_NO_FASTLINE", "PKT_NO_SHAPES")
    old = {k: os.environ.get(k) for k in keys}
    for k in keys:
        if fast:
            os.environ.pop(k, None)
        else:
            os.environ[k] = "1"
    try:
        opts = Options(debug={"netlink"} if debug else set(), flags=set(flags))
        try:
            res = run_text(text, Ruleset(), opts, filename="acl.nft")
        except PktError as e:
            return ("error", str(e), getattr(e, "output", "")), None
        return ("ok", res.output), res.ruleset
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _rules(rs: Ruleset) -> list:
    out = []
    for t in rs.tables.values():
        for c in t.chains.values():
            for r in c.rules:
                out.append((c.name, r.handle, r.stmts, r.comment, r.loc, r.userdata.get("program"),
                            r.userdata.get("sets", ())))
    return out


def _same(text: str, debug: bool = True, flags=()) -> tuple:
    want, wrs = _run(text, fast=False, debug=debug, flags=flags)
    got, grs = _run(text, fast=True, debug=debug, flags=flags)
    assert got == want
    if wrs is None:
        return got, grs
    assert _rules(grs) == _rules(wrs)
    from pkttables.render.json_output import list_ruleset_json
    from pkttables.render.options import ListOptions
    from pkttables.render.text import list_ruleset
    o = ListOptions(handle=True)
    assert list_ruleset(grs, o) == list_ruleset(wrs, o)
    assert list_ruleset_json(grs) == list_ruleset_json(wrs)
    return got, grs


# ---------------------------------------------------------------- strategies
def _ip(n: int) -> str:
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


addr = st.integers(0, (1 << 32) - 1)
port = st.integers(0, 65535)
ops = st.sampled_from(["", "== ", "!= "])
space = st.sampled_from([" ", "  ", "\t", " \t "])


@st.composite
def addr_expr(draw):
    kind = draw(st.sampled_from(["a", "pf", "r"]))
    a = draw(addr)
    if kind == "a":
        return _ip(a)
    if kind == "pf":
        return f"{_ip(a)}/{draw(st.integers(0, 32))}"
    return f"{_ip(a)}-{_ip(draw(addr))}"          # lo >= hi too: the slow path's error


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
    for kw in draw(st.sampled_from([("saddr", "daddr"), ("daddr", "saddr"), ("saddr",), ("daddr",), ()])):
        parts.append((f"ip {kw} {draw(ops)}", addr_expr()))
    proto = draw(st.sampled_from([None, "tcp", "udp", "6", "17", "icmp"]))
    if proto:
        parts.append((f"meta l4proto {draw(ops)}{proto}", None))
    th = draw(st.sampled_from(["th", "tcp", "udp"]))
    for kw in draw(st.sampled_from([("sport", "dport"), ("dport", "sport"), ("dport",), ("sport",), ()])):
        parts.append((f"{th} {kw} {draw(ops)}", port_expr()))
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), ("counter", None))
    if draw(st.integers(0, 5)):
        parts.append((draw(st.sampled_from(["accept", "drop", "continue", "return"])), None))
    if not parts:
        parts.append(("accept", None))
    return parts


def _line(data, sh, sep=" ") -> str:
    return sep.join(text + (data.draw(strat) if strat is not None else "") for text, strat in sh)


# ---------------------------------------------------------------- the line scanner
def _parsed(line: str):
    s = parse(f"table ip t {{\n\tchain c {{\n{line}\n\t}}\n}}\n", "acl.nft")
    return [x for x in s.commands[0].obj.body[0].body if type(x).__name__ == "Rule"][0]


@SETTINGS
@given(sh=shape(), data=st.data(), lead=st.sampled_from(["", "\t\t", "  ", " \t"]),
       trail=st.sampled_from(["", " ", "\t"]))
def test_scan_line_is_the_parsers_scan(sh, data, lead, trail):
    """The key, locations and atoms the line scanner gives are those of
    ``fastload.scan`` on the parsed line; the lazy statements are the parser's."""
    line = lead + _line(data, sh, data.draw(space)) + trail
    got = FL.scan_line(line)
    assert FL.scan_key(line) == (got[0] if got is not None else None)
    try:
        rule = _parsed(line)
    except PktError:
        assert got is None or True      # a line the parser refuses never reaches a template
        return
    want = F.scan(rule)
    if got is None:
        return
    assert want is not None, line
    fr = FL._make_rule("acl.nft", 3, line, got[0])
    assert FL.scan_key(line) == got[0]
    assert got[0] == want[0]
    assert fr.locs() == want[1]
    assert got[2] == want[2]
    assert fr.loc == rule.loc
    assert fr.stmts == rule.stmts
    assert fr == rule and rule == fr
    assert FL._direct(fr) == FL._parse_line(fr.loc, 3) == rule.stmts


def test_scan_line_refuses_what_it_does_not_know():
    for line in ("ip saddr { 1.2.3.4 } accept", "ip saddr 1.2.3.4 jump c", "tcp dport ssh accept",
                 "ip saddr 01.2.3.4 accept", "tcp dport 010 accept", "tcp dport 70000 accept",
                 "ip saddr 1.2.3.4 accept # comment", "ip saddr 1.2.3.4 accept;", "meta mark 1 accept",
                 "ip saddr 1.2.3.4/33 accept", "ip daddr 1.2.3.9-1.2.3.4 drop", "tcp dport 9-3 drop",
                 "ip saddr 1.2.3.4 comment \"x\"", "ip saddr", "accept \\", "ip saddr 1.2.3.4 accept\r",
                 "iifname eth0 accept", "ip saddr $x accept", "", "   "):
        assert FL.scan_line(line) is None, line
        assert FL.scan_key(line) is None, line


# ---------------------------------------------------------------- whole files
def _file(chains: dict, fam: str = "ip") -> str:
    out = [f"table {fam} acl {{"]
    for name, rules in chains.items():
        out.append(f"\tchain {name} {{")
        out.append("\t\ttype filter hook forward priority filter; policy accept;" if name == "rules" else "")
        out += ["\t\t" + r for r in rules]
        out.append("\t}")
    out.append("}")
    return "\n".join(out) + "\n"


@SETTINGS
@given(shapes=st.lists(shape(), min_size=1, max_size=4), data=st.data(), debug=st.booleans())
def test_files_same_as_slow_path(lines, shapes, data, debug):
    """ACL files (shapes repeated with new constants, so most rules are template hits):
    outputs, rules, listings and errors as the slow path gives them (without
    ``--debug`` hits take the executor's own fast door, ``_add_fast_rule``)."""
    rules = []
    for _ in range(3):
        for sh in shapes:
            rules.append(_line(data, sh))
    half = len(rules) // 2
    _same(_file({"rules": rules[:half], "more": rules[half:]}), debug=debug)


def test_echo_and_handles_output(lines):
    rules = [f"ip saddr 10.0.0.{i} tcp dport {i} accept" for i in range(1, 5)]
    text = _file({"rules": rules}) + "add rule ip acl rules ip saddr 10.0.0.9 tcp dport 9 accept\n"
    for flags in (("echo",), ("echo", "handle"), ("echo", "json")):
        got, _ = _same(text, debug=False, flags=flags)
        assert got[0] == "ok"
    assert lines.hits >= 3


def test_hits_are_exercised(lines):
    rules = [f"ip saddr 10.0.{i}.1 ip daddr 192.168.{i}.0/24 meta l4proto tcp th dport {1000 + i} accept"
             for i in range(6)]
    _, rs = _same(_file({"rules": rules}), debug=False)
    assert lines.hits == 5 and lines.misses == 1      # the template is made at the 2nd rule
    r = rs.chain("ip", "acl", "rules").rules[3]
    assert isinstance(r, LazyRule)
    assert r.stmts[0].loc.line == 7


def test_merged_loads_are_one_unit(lines):
    # th sport A th dport B is one 4-byte compare: the pair is templated together (nft
    # 1.0.6 joins no ip saddr A + ip daddr B/24: 7 bytes exceed payload_can_merge's 4)
    rules = [f"ip saddr 10.0.0.{i} ip daddr 10.1.{i}.0/24 th sport {i} th dport {i + 1} drop"
             for i in range(1, 5)]
    got, _ = _same(_file({"rules": ["meta l4proto tcp " + r for r in rules]}))
    assert "payload load 4b @ transport header + 0 " in got[1] and "payload load 7b" not in got[1]
    assert lines.hits == 3


def test_errors_come_from_the_slow_path(lines):
    # the same shape twice: the second is a hit, the third line is an error in a new shape
    text = _file({"rules": ["ip saddr 1.2.3.4 tcp dport 22 accept", "ip saddr 1.2.3.5 tcp dport 23 accept",
                          "ip daddr 1.2.3.4 udp dport 22 tcp dport 23 accept",
                          "ip daddr 1.2.3.5 udp dport 22 tcp dport 23 accept"]})
    got, _ = _same(text)
    assert got[0] == "error" and "acl.nft:6:" in got[1]


def test_other_errors_and_parse_errors(lines):
    base = ["ip saddr 1.2.3.4 accept", "ip saddr 1.2.3.5 accept"]
    for extra in ("ip saddr 1.2.3.4 bogus", "ip saddr 1.2.3.400 accept", "jump nowhere",
                  "tcp dport 22 } accept"):
        got, _ = _same(_file({"rules": base + [extra] + base}))
        assert got[0] == "error"
    # a missing chain's table is reported by the executor under the rule
    got, _ = _same(_file({"rules": base}) + "delete table ip acl\ndelete table ip acl\n")
    assert got[0] == "error"


@pytest.mark.parametrize("text", [
    # rules of the fast grammar where no rule may stand
    "table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\telements = {\n1.2.3.4,\n5.6.7.8\n}\n\t}\n"
    "\tchain c {\n\t\tip saddr @s accept\n\t\tip saddr 1.2.3.4 accept\n\t}\n}\n",
    "table ip t {\n\tchain c {\n\t\tip saddr vmap {\n1.2.3.4 :\naccept }\n\t\tip saddr 1.2.3.4 accept\n\t}\n}\n",
    "table ip t {\n\tchain c {\n\t\tip saddr 1.2.3.4 \\\naccept\n\t\tip saddr 1.2.3.5 accept\n\t}\n}\n",
    "table ip t {\n\tchain c {\n\t\t# ip saddr 1.2.3.4 accept\n\t\tip saddr 1.2.3.5 accept\n\t}\n}\n",
    "table ip t {\n\tchain c {\n\t\tip saddr 1.2.3.5 accept\n\t}\n\tchain d { ip saddr 1.2.3.6 accept\n"
    "ip saddr 1.2.3.7 accept\n}\n}\n",
    "table ip t {\n\tchain c { comment \"a { b\"\n\t\tip saddr 1.2.3.5 accept\n\t}\n}\n",
    "add table ip t\nadd chain ip t c\nadd rule ip t c ip saddr 1.2.3.4 accept\n"
    "table ip t {\n\tchain c {\n\t\tip saddr 1.2.3.5 accept\n\t\tip saddr 1.2.3.6 accept\n\t}\n}\n",
    "table ip t {\n\tchain c {\n\t\tip saddr 1.2.3.5 accept\n\t}\n}\n"
    "table ip t {\n\tchain c {\n\t\tip saddr 1.2.3.6 accept\n\t\tcounter\n\t}\n}\n",
    "table inet t {\n\tchain c {\n\t\tip saddr 1.2.3.5 tcp dport 1 accept\n"
    "\t\tip saddr 1.2.3.6 tcp dport 2 accept\n\t}\n}\n",
    "table ip t {\n\tchain c {\n\t\tip saddr 1.2.3.5 accept\n\t\tip saddr 1.2.3.6 accept\n",
    "define x = 1.2.3.4\ntable ip t {\n\tchain c {\n\t\tip saddr $x accept\n\t\tip saddr 1.2.3.6 accept\n"
    "\t\tip saddr 1.2.3.7 accept\n\t}\n}\n",
])
def test_text_pass_edges(lines, text):
    _same(text)


def test_templates_shared_across_tables_chains_and_families(lines):
    rules = [f"ip saddr 10.0.0.{i} ip daddr 10.1.0.0/16 meta l4proto tcp th dport {i} counter accept"
             for i in range(1, 5)]
    text = "".join(
        f"table {fam} {name} {{\n\tchain {chain} {{\n" + "".join(f"\t\t{r}\n" for r in rules) + "\t}\n}\n"
        for fam, name, chain in (("ip", "a", "c1"), ("ip", "b", "c2"), ("inet", "a", "c1"), ("bridge", "x", "y"),
                                 ("netdev", "n", "c"), ("ip", "a", "c3")))
    for debug in (False, True):
        _same(text, debug=debug)
    assert lines.hits > 10


def test_lazy_statements_are_built_once_and_copy_as_plain_rules(lines):
    import copy
    import pickle
    rules = [f"ip saddr 10.0.0.{i} accept" for i in range(1, 4)]
    _, rs = _same(_file({"rules": rules}))
    r = rs.chain("ip", "acl", "rules").rules[2]
    assert isinstance(r, LazyRule)
    assert r.stmts is r.stmts
    assert type(copy.copy(r)) is Rule and copy.copy(r) == r
    lazy = LazyRule(7, (), "c", None, make=lambda: (1, 2))
    back = pickle.loads(pickle.dumps(lazy))
    assert type(back) is Rule and back == lazy and back.stmts == (1, 2)


def test_disabled_by_environment(lines, monkeypatch):
    monkeypatch.setenv("PKT_NO_FASTLINE", "1")
    run_text(_file({"rules": ["ip saddr 1.2.3.4 accept"] * 3}), Ruleset(), Options(), filename="a.nft")
    assert lines.hits == 0 and lines.misses == 0


def test_fast_rule_location_is_the_parsers():
    fr = FL._make_rule("f.nft", 9, "\t ip saddr 1.2.3.4  accept ", FL.scan_key("\t ip saddr 1.2.3.4  accept "))
    assert fr.loc == Location("f.nft", 9, 3, 26, "\t ip saddr 1.2.3.4  accept ")
    assert fr.stmts[0].loc.line == 9


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
            if case.expect_ok and FL.scan_line(case.rule) is not None:
                out.append(case)
    return out


def test_corpus_rules_same_as_slow_path(lines):
    """Every ``ok`` rule of the shared suite in the fast grammar, three times in its
    chain (miss, then template hits), against the slow path."""
    cases = _corpus_cases()
    if not cases:
        pytest.skip("shared corpus not present")
    n = 0
    for case in cases:
        text = (f"table {case.family} {case.table} {{\n\tchain {case.chain} {{\n" +
                f"\t\t{case.rule}\n" * 3 + "\t}\n}\n")
        _same(text, debug=True)
        n += 1
    assert n > 20


def test_set_files_and_long_lines(lines):
    # no chain: the pass gives up at once; a long anonymous set on one line is walked by
    # its special characters only and the rule lines around it still take the fast path
    assert FL.split_script("table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\telements = { 1.2.3.4 }\n"
                           "\t}\n}\n", "s.nft") is None
    elems = ", ".join(f"10.0.{i >> 8}.{i & 255}" for i in range(3000))
    text = _file({"rules": ["ip saddr 1.2.3.4 accept", f"ip saddr {{ {elems} }} counter accept",
                            "ip saddr 1.2.3.5 accept", "ip saddr 1.2.3.6 accept"]})
    _same(text, debug=False)
    assert lines.hits == 2          # the 2nd and 3rd one-address rules


@SETTINGS
@given(file=st.text(max_size=5), line=st.integers(0, 10 ** 6), a=st.integers(0, 999), b=st.integers(0, 999),
       text=st.one_of(st.none(), st.text(max_size=20)))
def test_location_maker_is_the_constructor(file, line, a, b, text):
    """``_fastline._new_loc`` (slot setters) makes what ``Location(...)`` makes: every
    field, equality, hash and repr."""
    import dataclasses as D

    from pkttables.errors import Location
    got, want = FL._new_loc(file, line, a, b, text), Location(file, line, a, b, text)
    assert type(got) is Location
    assert all(getattr(got, f.name) == getattr(want, f.name) for f in D.fields(Location))
    assert got == want and hash(got) == hash(want) and repr(got) == repr(want)


def test_location_maker_falls_back(monkeypatch):
    from pkttables.errors import Location

    class Checked(Location):
        __slots__ = ()

        def __post_init__(self):
            pass
    monkeypatch.setattr(FL, "Location", Checked)
    assert FL._location_maker() is Checked
