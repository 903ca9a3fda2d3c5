"""The ruleset-load fast paths give what the general paths give (docs/perf.md).

Each fast path is checked against the path it shortcuts, or against an independent
oracle (``ipaddress``): parser set elements against ``rhs()``, dotted-quad parsing
against ``ipaddress.IPv4Address``, bulk ipv4 set keys against the keys of the same
elements written one per command (general path), rule references against the regular
expressions over the instruction dumps they replace.
"""

from __future__ import annotations

import errno
import gc
import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.commands import CommandError, Options, compile_rule, run_text
from pkttables.commands import _exec as X
from pkttables.compile import dump
from pkttables.errors import EvalError, PktError
from pkttables.evaluate._eval import EvalContext, _RuleEval
from pkttables.lang import ast as A
from pkttables.lang import parse
from pkttables.lang.lexer import tokenize
from pkttables.lang.parser import _Parser
from pkttables.model import Ruleset
from pkttables.types import DATATYPES

# -- dotted quads -----------------------------------------------------------------------

_octet = st.one_of(st.integers(0, 255).map(str), st.integers(0, 999).map(str),
                   st.integers(0, 99).map(lambda n: f"0{n}"), st.sampled_from(["", "a", "-1", "1e1", "٣"]))
_quadish = st.lists(_octet, min_size=2, max_size=5).map(".".join)


def _ref_ipv4(text: str) -> int | None:
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        return None


@settings(max_examples=400, deadline=None)
@given(_quadish)
def test_ipv4_symbol_fast_path_matches_ipaddress(text):
    ev = _RuleEval(EvalContext("ip"))
    ref = _ref_ipv4(text)
    try:
        got = ev._symbol(text, DATATYPES["ipv4_addr"])
    except PktError:
        got = None
    assert got == ref


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_ipv4_symbol_every_canonical_quad(n):
    text = str(ipaddress.IPv4Address(n))
    assert _RuleEval(EvalContext("ip"))._symbol(text, DATATYPES["ipv4_addr"]) == n


def test_ipv6_literal_in_ipv4_context_still_refused():
    with pytest.raises(EvalError, match="Address family for hostname not supported"):
        _RuleEval(EvalContext("ip"))._symbol("::1", DATATYPES["ipv4_addr"])
    with pytest.raises(EvalError, match="Address family for hostname not supported"):
        _RuleEval(EvalContext("ip6"))._symbol("1.2.3.4", DATATYPES["ipv6_addr"])
    assert _RuleEval(EvalContext("ip6"))._symbol("fe80::1", DATATYPES["ipv6_addr"]) == \
        int(ipaddress.IPv6Address("fe80::1"))


# -- parser set elements ------------------------------------------------------------------

_word = st.sampled_from(["10.0.0.1", "ssh", "192.168.0.0", "accept", "drop", "jump", "x", "0x10", "22",
                         "1.2.3.4", "eth0", "8021q", "established"])
_elem = st.one_of(
    _word,
    st.tuples(_word, _word).map(lambda t: f"{t[0]} - {t[1]}"),
    st.tuples(_word, _word).map(lambda t: f"{t[0]}-{t[1]}"),
    st.tuples(_word, st.integers(0, 40)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.tuples(_word, _word).map(lambda t: f"{t[0]} . {t[1]}"),
    st.tuples(_word, _word).map(lambda t: f"{t[0]} : {t[1]}"),
    st.tuples(_word, st.sampled_from(["timeout 1s", "comment \"c\"", "counter"])).map(" ".join),
)
_end = st.sampled_from([",", " }", "\n,", " ,"])


def _parse_one(text: str, how: str):
    p = _Parser(tokenize(text, "f"), ())
    p.i = 1                                     # after the "{"
    try:
        node = p.set_elem() if how == "fast" else p.elem_opts(p.rhs())
    except Exception as e:  # noqa: BLE001 - both paths must fail alike
        return ("error", type(e).__name__)
    return node, p.i


@settings(max_examples=400, deadline=None)
@given(_elem, _end)
def test_set_elem_fast_path_equals_rhs(elem, end):
    text = "{ " + elem + end + " }"
    if ":" in elem:
        return      # a mapping: set_elem goes on after the key (no fast path), rhs() stops
    fast, slow = _parse_one(text, "fast"), _parse_one(text, "slow")
    assert fast == slow


def test_set_elem_locations_kept():
    s = parse("add element ip t s { 10.0.0.0/8, 1.1.1.1-2.2.2.2, 7 }", "f")
    a, b, c = s.commands[0].obj.elements.elements
    assert isinstance(a, A.Prefix) and (a.loc.first_col, a.loc.last_col) == (22, 31)
    assert isinstance(b, A.Range) and (b.loc.first_col, b.loc.last_col) == (34, 48)
    assert isinstance(c, A.Number) and c.value == 7 and c.loc.first_col == 51


# -- bulk ipv4 set keys ---------------------------------------------------------------------

def _ip(n: int) -> str:
    return str(ipaddress.IPv4Address(n))


_ip_elem = st.one_of(
    st.integers(0, 2**32 - 1).map(lambda n: ("v", n)),
    st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32)).map(lambda t: ("p",) + t),
    st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)).map(lambda t: ("r", min(t), max(t))),
)


def _elem_text(e) -> str:
    if e[0] == "v":
        return _ip(e[1])
    if e[0] == "p":
        return f"{_ip(e[1])}/{e[2]}"
    return f"{_ip(e[1])}-{_ip(e[2])}"


def _elements(text: str) -> list[tuple]:
    r = run_text(text, Ruleset())
    s = r.ruleset.tables[("ip", "t")].sets["s"]
    return [(e.key, e.key_end) for e in s.elements]


@settings(max_examples=60, deadline=None)
@given(st.lists(_ip_elem, min_size=1, max_size=12))
def test_bulk_ipv4_keys_equal_general_path(elems):
    head = "add table ip t\nadd set ip t s { type ipv4_addr; flags interval; auto-merge; }\n"
    bulk = head + "add element ip t s { " + ", ".join(_elem_text(e) for e in elems) + " }\n"
    # the general path: each element inside a one-part concatenation-free set of its
    # own command is still bulk; force the general path with an element comment
    general = head + "".join(f'add element ip t s {{ {_elem_text(e)} comment "x" }}\n' for e in elems)
    got = _elements(bulk)
    ref = _elements(general)
    assert got == ref
    for lo, hi in got:
        assert lo <= hi


def test_bulk_ipv4_keys_values():
    got = _elements("add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\n"
                    "add element ip t s { 10.1.2.3/8, 192.168.0.9, 172.16.0.1-172.16.0.9 }\n")
    assert got == [(bytes([10, 0, 0, 0]), bytes([10, 255, 255, 255])),
                   (bytes([172, 16, 0, 1]), bytes([172, 16, 0, 9])),
                   (bytes([192, 168, 0, 9]), bytes([192, 168, 0, 9]))]
    plain = _elements("add table ip t\nadd set ip t s { type ipv4_addr; }\n"
                      "add element ip t s { 10.0.0.1, 10.0.0.2 }\n")
    assert plain == [(bytes([10, 0, 0, 1]), None), (bytes([10, 0, 0, 2]), None)]


def test_bulk_errors_as_general_path():
    with pytest.raises(EvalError, match="You must add 'flags interval'"):
        run_text("add table ip t\nadd set ip t s { type ipv4_addr; }\nadd element ip t s { 10.0.0.0/8 }\n",
                 Ruleset())
    with pytest.raises(EvalError, match="Range has zero or negative size"):
        run_text("add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\n"
                 "add element ip t s { 10.0.0.9-10.0.0.1 }\n", Ruleset())
    with pytest.raises(PktError, match="Could not resolve hostname"):
        run_text("add table ip t\nadd set ip t s { type ipv4_addr; }\nadd element ip t s { 10.0.0.256 }\n",
                 Ruleset())


# -- references read from instructions --------------------------------------------------------

_RULES = [
    "jump c2", "goto c2", "ip saddr @s accept", "ip saddr != @s drop", "counter name \"k\"",
    "meta l4proto vmap { tcp : jump c2, udp : goto c2 }", "ip saddr . tcp dport { 1.2.3.4 . 22 } accept",
    "update @d { ip saddr }", "flow add @ft", "tcp dport 22 counter accept",
    "counter name ip saddr map { 1.2.3.4 : \"k\" }",
]
_SETUP = ("add table ip t\nadd chain ip t c\nadd chain ip t c2\n"
          "add set ip t s { type ipv4_addr; }\nadd set ip t d { type ipv4_addr; flags dynamic; }\n"
          "add counter ip t k\nadd flowtable ip t ft { hook ingress priority 0; devices = { lo }; }\n")


@pytest.mark.parametrize("rule", _RULES)
def test_prog_refs_equal_dump_regexes(rule):
    r = run_text(_SETUP + f"add rule ip t c {rule}\n", Ruleset())
    mr = r.ruleset.tables[("ip", "t")].chains["c"].rules[0]
    prog = mr.userdata["program"]
    ref = [set(), set(), set(), set()]
    for line in (i.dump() for i in prog.instrs):
        for rx, out in zip((X._RE_JUMP, X._RE_SET, X._RE_OBJ, X._RE_FT), ref):
            m = rx.search(line)
            if m:
                out.add(m.group(1))
    got = [set(), set(), set(), set()]
    X._instr_refs(prog.instrs, *got)
    assert got == ref
    assert any(got) or rule.startswith("tcp dport")


def test_jump_loop_still_refused():
    with pytest.raises(CommandError) as e:
        run_text("add table ip t\nadd chain ip t a { type filter hook input priority 0; }\n"
                 "add chain ip t b\nadd chain ip t c\nadd rule ip t a tcp dport 22 accept\n"
                 "add rule ip t a jump b\nadd rule ip t b jump c\nadd rule ip t c jump b\n", Ruleset())
    assert e.value.errno == errno.EMLINK
    assert gc.isenabled()


def test_jump_to_base_chain_refused_at_target():
    with pytest.raises(CommandError) as e:
        run_text("add table ip t\nadd chain ip t b { type filter hook input priority 0; }\n"
                 "add chain ip t c\nadd rule ip t c jump b\n", Ruleset(), filename="f")
    assert e.value.errno == errno.EOPNOTSUPP
    assert e.value.diagnostics[0].location.first_col == 22


def test_bytecode_printed_on_demand():
    rule = parse("add rule ip t c tcp dport { 22, 80 } accept").commands[0].obj.rule
    comp = compile_rule(rule, "ip", "t", "c")
    assert comp.text is None and comp.program is not None
    assert comp.bytecode == dump(comp.program)
    assert "[ lookup reg 1 set __set%d ]" in comp.bytecode
    out = run_text("add table ip t\nadd chain ip t c\nadd rule ip t c tcp dport 22 accept\n", Ruleset(),
                   Options(debug={"netlink"})).output
    assert "[ cmp eq reg 1 0x00001600 ]" in out


def test_gc_back_on_after_a_batch():
    run_text("add table ip t", Ruleset())
    assert gc.isenabled()


# -- commit-time hook check restricted to what the batch changed ---------------------------

_HOOK_BASE = ("add table ip t\n"
              "add chain ip t i { type filter hook input priority 0; }\n"
              "add chain ip t o { type filter hook output priority 0; }\n"
              "add chain ip t p { type filter hook postrouting priority 0; }\n"
              "add chain ip t a\nadd chain ip t b\n"
              "add rule ip t i counter\nadd rule ip t a counter\n")
_HOOK_RULES = ["counter", 'fib daddr oif "lo" counter', "meta secpath exists counter",
               "jump a", "jump b", "goto b", "tcp dport 22 accept"]
_HOOK_CMDS = [f"add rule ip t {c} {r}" for c in "iopab" for r in _HOOK_RULES] + \
             ["flush chain ip t a", "flush chain ip t b"]


def _full_view(self, by_handle):
    """The general path: every table the batch touched (what validate walked before)."""
    tables = {(f, tn) for f, tn, _ in self.rule_cmd}
    return Ruleset({k: t for k, t in self.tx.tables.items() if k in tables}, 0, self.tx.table_handles)


def _outcome(text, base):
    try:
        res = run_text(text, base)
    except PktError as e:
        return ("err", getattr(e, "errno", None), str(e)), base
    from pkttables.commands import Options as O
    return ("ok", run_text("list ruleset", res.ruleset, O()).output), res.ruleset


@settings(max_examples=120, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_HOOK_CMDS), min_size=1, max_size=3), min_size=1, max_size=4))
def test_hook_check_on_batch_matches_full_table_check(batches):
    """Each batch gives the same answer (success and listing, or errno and diagnostics)
    whether the commit-time hook check walks what the batch changed or the whole table."""
    start = run_text(_HOOK_BASE, Ruleset()).ruleset
    fast_rs = full_rs = start
    for b in batches:
        text = "\n".join(b) + "\n"
        fast, fast_rs = _outcome(text, fast_rs)
        orig = X._Executor._hooks_view
        X._Executor._hooks_view = _full_view
        try:
            full, full_rs = _outcome(text, full_rs)
        finally:
            X._Executor._hooks_view = orig
        assert fast == full, text


def test_hook_check_skips_table_walk_for_plain_rule(monkeypatch):
    """A rule with no restricted expression and no jump cannot make anything invalid: the
    big chain is not walked; a restricted rule in a base chain is checked alone."""
    base = run_text(_HOOK_BASE + "".join(f"add rule ip t i tcp dport {p} accept\n" for p in range(200)),
                    Ruleset()).ruleset
    seen = []
    import pkttables.vm.chain as VC
    real = VC.check_hooks

    def spy(view):
        seen.append(sum(len(c.rules) for t in view.tables.values() for c in t.chains.values()))
        return real(view)

    monkeypatch.setattr(VC, "check_hooks", spy)
    assert run_text("add rule ip t i tcp dport 9 accept", base).changed
    assert seen == []
    assert run_text('add rule ip t i fib daddr oif "lo" counter', base).changed
    assert seen == [1]
    with pytest.raises(CommandError) as e:
        run_text('add rule ip t o fib daddr oif "lo" counter', base)
    assert e.value.errno == errno.EOPNOTSUPP and seen == [1, 1]
    # a restricted rule in a regular chain: walked from it under the hooks of the base
    # chains reaching it (vm.chain.hook_starts), not the whole table
    run_text("add rule ip t a meta secpath exists counter", base)
    assert seen == [1, 1]
    with pytest.raises(CommandError) as e:
        run_text("add rule ip t a meta secpath exists counter\nadd rule ip t p jump a", base)
    assert e.value.errno == errno.EOPNOTSUPP
