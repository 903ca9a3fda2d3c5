"""The codegen backend with classified runs (issue 8 follow-up, CGCLASS).

``--backend codegen`` hands every run of ``min_run`` or more stateless first-match
rules to the run's classifier, as ``--backend classifier`` does
(docs/codegen.md, "Classified runs").  These tests run random ACL-like rulesets that
mix such runs with stateful rules (limit, quota, meta mark set, ct state, log, named
sets, verdict maps, payload mangling), jumps, gotos, returns and ``meta nftrace set``
through :class:`pkttables.datapath.Simulator` with the interpreter and with codegen at
``min_run`` 1 and 3: every ``--json`` record, emitted frame and rule counter must be
the interpreter's.  Hand-written cases cover jumps back into the middle of a run
(suffix classifiers, and the rule-by-rule fallback past MAX_SUFFIXES), generations,
exact mode, the threshold and its environment variable.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkttables.backends import classified
from pkttables.backends.classified import MIN_RUN_ENV
from pkttables.backends.codegen import CodegenRuntime, CompiledRuleset, codegen_backend
from pkttables.commands import Options, run_text
from pkttables.datapath import Simulator
from pkttables.datapath.replay import BACKENDS
from pkttables.errors import PktError
from pkttables.model import Ruleset
from pkttables.stack.host import Host
from pkttables.testing import strategies as S
from pkttables.testing.backend_equiv import assert_backends_agree, simulate
from pkttables.testing.hosts import DUAL_ROUTER_TOML
from pkttables.testing.kernel import Injection
from pkttables.testing.packets import TCP_SYN, ether, ipv4, tcp, udp
from pkttables.vm.chain import LoadedRuleset

ROUTER = DUAL_ROUTER_TOML


def router() -> Host:
    return Host.from_toml(ROUTER, "<router>")


def _codegen(min_run):
    def make(ruleset, host, *, seed):
        return codegen_backend(ruleset, host, seed=seed, min_run=min_run)
    return make


#: name -> factory; interp first: the reference
FACTORIES = {"interp": BACKENDS["interp"], "codegen-1": _codegen(1), "codegen-3": _codegen(3)}


def run(text: str, traffic, factory, **kw):
    """``traffic`` (Injections) through ``text`` with one backend: (json records,
    frames, counters, runtime); ``second``/``load_at`` load a new generation."""
    return simulate(router, text, traffic, factory, **kw)


def assert_same(text: str, traffic, **kw) -> dict:
    return assert_backends_agree(router, FACTORIES, text, traffic, **kw)


# ------------------------------------------------------------------ random rulesets
_A4 = st.sampled_from(("192.168.1.10", "192.168.1.0/24", "8.8.8.8", "8.0.0.0/7", "198.51.100.0/25",
                       "203.0.113.2", "0.0.0.0/1"))
_P = st.sampled_from(S.PORTS)
_L3 = st.one_of(
    st.builds("ip saddr {}".format, _A4), st.builds("ip daddr {}".format, _A4),
    st.builds("ip daddr != {}".format, _A4),
    st.sampled_from(("ip ttl < 64", "meta mark 0", "meta mark != 7", "ip saddr { 192.168.1.10, 8.8.8.8 }",
                     "ip length > 60")))
_L4 = {
    "tcp": st.one_of(st.builds("tcp dport {}".format, _P), st.builds("tcp sport != {}".format, _P),
                     st.builds(lambda ps: "tcp dport { " + ", ".join(map(str, sorted(set(ps)))) + " }",
                               st.lists(_P, min_size=1, max_size=3)),
                     st.sampled_from(("tcp flags syn", "meta l4proto tcp"))),
    "udp": st.one_of(st.builds("udp dport {}".format, _P), st.just("meta l4proto udp")),
    None: st.builds(lambda a, b: f"th dport {min(a, b)}-{max(a, b)}", _P, _P),
}
#: rules that end runs: state, packet changes, named sets, maps, tracing
_STATEFUL = st.sampled_from((
    "limit rate 2/second burst 1 packets counter accept",
    "quota over 200 bytes counter drop",
    "meta mark set 7",
    "meta mark set 7 counter",
    "ct state new counter",
    "ct state established,related accept",
    'log prefix "cg " counter',
    "ip saddr @blk counter drop",
    "tcp dport vmap { 80 : accept, 443 : drop, 22 : return }",
    "ip dscp set cs1 counter",
    "udp dport 53 meta nftrace set 1",
    "counter",
))


@st.composite
def _rule(draw, targets):
    if draw(st.integers(0, 5)) == 0:
        return draw(_STATEFUL)
    l4 = draw(st.sampled_from(("tcp", "udp", None)))
    # one or two matches: rules that match often, so that runs hit and jumps return
    parts = draw(st.lists(_L3, max_size=1)) + draw(st.lists(_L4[l4], max_size=1))
    if draw(st.booleans()):
        parts.append("counter")
    v = draw(st.sampled_from(("accept", "drop", "return")
                             + tuple(f"jump {t}" for t in targets) * 3 + tuple(f"goto {t}" for t in targets)))
    return " ".join(parts + [v])


@st.composite
def _rules(draw, targets, max_size):
    """Rules; a jump is often followed by a rule with the same match, so that a jump
    that comes back into a run meets the rule right after it."""
    out = []
    for r in draw(st.lists(_rule(targets), min_size=1, max_size=max_size)):
        out.append(r)
        head, sep, _ = r.rpartition(" jump ")
        if sep and head.removesuffix(" counter") not in ("", "counter") and draw(st.integers(0, 3)):
            out.append(f"{head} {draw(st.sampled_from(('accept', 'drop', 'counter drop')))}")
    return out


@st.composite
def mixed_rulesets(draw) -> str:
    """An ip table: regular chains r0..r2 (jumps only to later ones), base chains at
    one to three hooks, a named set; rules mostly classifiable, a stateful one now
    and then."""
    regs = ["r0", "r1", "r2"]
    lines = ["table ip t {", " set blk {\n  type ipv4_addr\n  elements = { 8.8.8.8 }\n }"]
    for i, r in enumerate(regs):
        lines.append(f" chain {r} {{")
        lines += [f"  {x}" for x in draw(_rules(tuple(regs[i + 1:]), 8))]
        lines.append(" }")
    for hook in draw(st.lists(st.sampled_from(("prerouting", "input", "forward", "output")), min_size=1,
                              max_size=3, unique=True)):
        policy = draw(st.sampled_from(("accept", "drop")))
        lines.append(f" chain b_{hook} {{\n  type filter hook {hook} priority 0; policy {policy};")
        lines += [f"  {x}" for x in draw(_rules(tuple(regs), 14))]
        lines.append(" }")
    lines.append("}")
    return "\n".join(lines) + "\n"


@settings(max_examples=45, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mixed_rulesets(), S.router_traffic(min_size=2, max_size=8))
def test_random_mixed_rulesets_agree(text, traffic):
    run_text(text, Ruleset(), Options(ifindex=router()))    # the strategy draws only valid rulesets
    assert_same(text, traffic)


def test_the_random_rulesets_exercise_runs_jumps_and_suffixes():
    """The test above is worth something only if codegen-1 classifies most rules, hits
    rules of runs, and jumps come back into runs: count on a fixed sample."""
    seen = {"rules": 0, "classified": 0, "suffixes": 0, "hits": 0}
    real_hit = CompiledRuleset._hit

    def hit(self, *a):
        seen["hits"] += 1
        return real_hit(self, *a)

    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(mixed_rulesets(), S.router_traffic(min_size=4, max_size=8))
    def count(text, traffic):
        rt = run(text, traffic, FACTORIES["codegen-1"])[3]
        s = rt.stats()
        seen["rules"] += s.rules
        seen["classified"] += s.classified_rules
        seen["suffixes"] += sum(len(slot.suffixes) for p in rt.compiled.plans.values()
                                for slot in set(p.slots) - {None})

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(CompiledRuleset, "_hit", hit)
        count()
    assert seen["classified"] > seen["rules"] * 6 // 10, seen
    assert seen["hits"] > 50, seen
    assert seen["suffixes"] > 0, seen


# ------------------------------------------------------------------ hand-written cases
def _acl(n: int, verdicts=("accept", "drop")) -> list[str]:
    return [f"ip saddr 192.168.1.{10 + i % 3} tcp dport {1000 + i} counter {verdicts[i % len(verdicts)]}"
            for i in range(n)]


def _frames(ports, src="192.168.1.10", dst="8.8.8.8"):
    out = []
    for p in ports:
        seg = tcp(40000, p, flags=TCP_SYN) if p % 2 == 0 else udp(40000, p, b"x")
        out.append(Injection("lan0", ether(S.LAN_MAC, S.CLIENT_MAC, ipv4(src, dst, seg))))
    return out


def _filt(rules, extra="") -> str:
    return ("table ip t {\n" + extra + " chain filt {\n  type filter hook forward priority 0; policy drop;\n"
            + "".join(f"  {r}\n" for r in rules) + " }\n}\n")


def _compiled(text: str, **kw) -> CompiledRuleset:
    return CompiledRuleset(LoadedRuleset(run_text(text, Ruleset(), Options(ifindex=router())).ruleset), **kw)


def test_a_long_run_is_one_classifier_call_in_the_generated_source():
    text = _filt(["meta mark 3 counter"] + _acl(40) + ["meta mark set 1", "counter accept"])
    c = _compiled(text)
    src = c.chain("ip", "t", "filt").source
    assert "# rules 1..40: classified run of 40 rules" in src
    assert src.count("while True:") == 3           # the three rules around the run
    assert "dport 1020" not in src                 # the run's rules are not emitted
    s = c.stats()
    assert (s.chains, s.runs, s.classified_rules, s.rules, s.enabled) == (1, 1, 40, 43, True)
    traffic = _frames([1000, 1001, 1002, 1020, 1039, 1038, 999, 5000])
    rts = assert_same(text, traffic)
    assert rts["codegen-1"].stats().classified_rules == 41     # min_run 1: "counter accept" too
    lines = run(text, traffic, FACTORIES["codegen-3"])[0]
    assert lines[0]["rule"]["text"] == "ip saddr 192.168.1.10 tcp dport 1000 counter accept"


def test_the_default_threshold_is_the_classifier_backends():
    short = _compiled(_filt(_acl(7)))
    assert short.stats().runs == 0 and "classified run" not in short.source()
    assert _compiled(_filt(_acl(8))).stats().runs == 1
    assert _compiled(_filt(_acl(40)), min_run=None).stats().runs == 0
    assert _compiled(_filt(_acl(40)), min_run=0).stats().runs == 0


def test_the_backend_threshold_comes_from_the_environment(monkeypatch):
    rs = run_text(_filt(_acl(4)), Ruleset(), Options(ifindex=router())).ruleset
    monkeypatch.delenv(MIN_RUN_ENV, raising=False)
    assert codegen_backend(rs, router(), seed=0).stats().runs == 0
    monkeypatch.setenv(MIN_RUN_ENV, "2")
    assert codegen_backend(rs, router(), seed=0).stats().runs == 1
    assert codegen_backend(rs, router(), seed=0, min_run=5).stats().runs == 0
    monkeypatch.setenv(MIN_RUN_ENV, "zero")
    with pytest.raises(PktError, match=MIN_RUN_ENV):
        codegen_backend(rs, router(), seed=0)
    monkeypatch.delenv(MIN_RUN_ENV)
    sim = Simulator(router(), rs, backend="codegen")
    assert isinstance(sim.runtime, CodegenRuntime)


_SUB = (" chain sub {\n  tcp dport 2004 counter drop\n  tcp dport 2005 counter return\n"
        "  ip daddr 9.9.9.9 counter accept\n  counter\n }\n")


def _jumpy() -> str:
    base = []
    for i in range(12):
        base.append(f"tcp dport {2000 + i} counter jump sub")
        base.append(f"tcp dport {2000 + i} counter accept" if i % 3 else f"tcp dport {3000 + i} counter drop")
    return _filt(base + ["counter accept"], _SUB)


_JUMPY_TRAFFIC = (_frames([2000, 2002, 2003, 2004, 2005, 2006, 2011, 2010, 3000, 1])
                  + _frames([2001, 2004], dst="9.9.9.9"))


def test_jumps_return_into_the_middle_of_a_run():
    rts = assert_same(_jumpy(), _JUMPY_TRAFFIC)
    for name in ("codegen-1", "codegen-3"):
        plan = rts[name].compiled.plans[("ip", "t", "filt")]
        slot = next(s for s in plan.slots if s is not None)
        assert any(c for c in slot.suffixes.values()), f"{name}: a suffix classifier was built"


def test_suffixes_past_the_cap_run_rule_by_rule(monkeypatch):
    monkeypatch.setattr(classified, "MAX_SUFFIXES", 0)
    calls = []
    real = CompiledRuleset._linear
    monkeypatch.setattr(CompiledRuleset, "_linear", lambda self, *a: calls.append(a[1]) or real(self, *a))
    rts = assert_same(_jumpy(), _JUMPY_TRAFFIC)
    assert calls, "the rest of the run went rule by rule"
    slot = next(s for s in rts["codegen-1"].compiled.plans[("ip", "t", "filt")].slots if s is not None)
    assert set(slot.suffixes.values()) == {False}


def test_short_suffixes_run_rule_by_rule():
    # min_run 3: a jump from the second-to-last rule leaves a suffix of 2 rules
    rules = _acl(6) + ["tcp dport 2000 counter jump sub", "tcp dport 2000 counter accept", "counter drop"]
    text = _filt(rules, _SUB)
    rts = assert_same(text, _frames([2000, 1001, 1002, 2005]))
    slot = next(s for s in rts["codegen-3"].compiled.plans[("ip", "t", "filt")].slots if s is not None)
    assert slot.suffixes == {7: False}


def test_goto_and_return_inside_runs():
    rules = _acl(5) + ["tcp dport 2000 counter goto sub", "udp dport 2001 counter return"] + _acl(4)
    rules += ["tcp dport 2005 counter jump sub", "counter accept"]
    text = ("table ip t {\n" + _SUB + " chain mid {\n" + "".join(f"  {r}\n" for r in rules) + " }\n"
            " chain filt {\n  type filter hook forward priority 0; policy drop;\n"
            "  udp dport 2001 counter jump mid\n  tcp dport { 2000, 2004, 2005 } counter jump mid\n"
            "  counter accept\n }\n}\n")
    assert_same(text, _frames([2000, 2001, 2004, 2005, 1000, 1001, 1003]))


def test_tracing_falls_back_to_the_interpreter_and_prints_the_same_lines():
    text = ("table ip t {\n chain pre {\n  type filter hook prerouting priority -300; policy accept;\n"
            "  tcp dport 1000 meta nftrace set 1\n }\n"
            " chain filt {\n  type filter hook forward priority 0; policy drop;\n"
            + "".join(f"  {r}\n" for r in _acl(12)) + " }\n}\n")
    traffic = _frames([1000, 1002, 1003, 7])
    assert_same(text, traffic)
    lines = run(text, traffic, FACTORIES["codegen-3"])[0]
    traces = [e["line"] for e in lines[0]["events"] if e.get("type") == "trace"]
    assert any("ip t filt rule ip saddr 192.168.1.10 tcp dport 1000" in t and "(verdict accept)" in t
               for t in traces), traces
    assert not any(e.get("type") == "trace" for e in lines[1]["events"])


def test_generations_rebuild_the_classifiers():
    first = _filt(_acl(10))
    second = _filt(_acl(10, ("drop",))).replace("policy drop", "policy accept")
    traffic = _frames([1000, 1001, 1005, 77, 1000, 1001, 1005, 77])
    rts = assert_same(first, traffic, second=second, load_at=4)
    lines = run(first, traffic, FACTORIES["codegen-3"], second=second, load_at=4)[0]
    assert [x["verdict"] for x in lines] == ["accept", "drop", "drop", "drop", "drop", "accept", "accept", "accept"]
    plan = rts["codegen-3"].compiled.plans[("ip", "t", "filt")]
    assert all(s.verdict.code == 0 for s in plan.runs[0].rules)     # the second generation's drops


def test_exact_mode_has_no_classified_runs():
    text = _filt(_acl(10) + ["tcp dport 1 accept"])
    loaded = LoadedRuleset(run_text(text, Ruleset(), Options(ifindex=router())).ruleset)
    assert CompiledRuleset(loaded, min_run=1).stats().runs == 1
    c = CompiledRuleset(loaded, exact=True, min_run=1)
    assert c.exact and c.stats().runs == 0 and "classified run" not in c.source()
    # a rule reading what the rule before it left in reg 1: exact mode, nothing classified
    last = loaded.chains[("ip", "t", "filt")].rules[-1]
    last.instrs = tuple(i for i in last.instrs if type(i).__name__ not in ("PayloadLoad", "MetaLoad"))
    c = CompiledRuleset(loaded, min_run=1)
    assert c.exact and c.stats().runs == 0
