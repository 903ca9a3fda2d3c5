"""Every simulate backend against the reference interpreter (issue 8 part 6).

Random rulesets (pkttables.testing.strategies: one to three ip/ip6/inet tables, base
chains at every hook, regular chains reached by jump/goto, counters on every rule) and
random router traffic go through :class:`pkttables.datapath.Simulator` once per
backend.  For every packet the ``--json`` object (verdict, reason, deciding rule,
chains, hooks, NAT, conntrack view, events), the emitted frames' bytes, and at the end
every rule counter must be the interpreter's.

The classifier backend runs twice: with ``min_run=1`` (every classifiable rule is
classified: most rules of these rulesets) and with the default threshold (most chains
then stay with the interpreter).  Its hand-written cases cover what random rulesets
rarely draw: jumps back into the middle of a run (suffix classifiers), tracing,
generations, the register check and the environment override.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkttables.backends.classified import (MIN_RUN_ENV, ClassifierRuntime, classifier_backend, min_run_from_env,
                                           self_contained)
from pkttables.backends.codegen import codegen_backend
from pkttables.commands import run_text
from pkttables.datapath import Simulator
from pkttables.datapath.replay import BACKENDS
from pkttables.errors import PktError
from pkttables.model import Ruleset
from pkttables.stack.host import Host
from pkttables.testing import strategies as S
from pkttables.testing.backend_equiv import assert_backends_agree, simulate
from pkttables.testing.hosts import DUAL_ROUTER_TOML
from pkttables.testing.packets import TCP_SYN, ether, ipv4, tcp, udp
from pkttables.vm.chain import LoadedRuleset

ROUTER = DUAL_ROUTER_TOML


def router() -> Host:
    return Host.from_toml(ROUTER, "<router>")


def _classifier(min_run):
    def make(ruleset, host, *, seed):
        return classifier_backend(ruleset, host, seed=seed, min_run=min_run)
    return make


#: name -> factory(ruleset, host, *, seed); interp first: the reference
FACTORIES = {"interp": BACKENDS["interp"], "codegen": codegen_backend,
             "classifier-1": _classifier(1), "classifier": _classifier(None)}


def run(text: str, traffic, factory, **kw):
    """``traffic`` (Injections) through ``text`` with one backend: (json records,
    frames, counters, runtime); ``second``/``load_at`` load a new generation."""
    return simulate(router, text, traffic, factory, **kw)


def _opts(host):
    from pkttables.commands import Options
    return Options(ifindex=host)


def assert_same(text: str, traffic, **kw) -> dict:
    return assert_backends_agree(router, FACTORIES, text, traffic, **kw)


def _loads(text: str) -> bool:
    try:
        run_text(text, Ruleset(), _opts(router()))
    except PktError:
        return False
    return True


# ------------------------------------------------------------------ random rulesets and traffic
@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(S.rulesets(), S.router_traffic(max_size=6))
def test_random_rulesets_agree_on_every_backend(text, traffic):
    if not _loads(text):
        return
    assert_same(text, traffic)


def test_the_random_rulesets_are_mostly_classified():
    """The hypothesis test above is only worth something if min_run=1 classifies most
    rules of the drawn rulesets: count them on a fixed sample."""
    from hypothesis import find
    seen = {"rules": 0, "classified": 0}

    @settings(max_examples=30, deadline=None, derandomize=True, database=None)
    @given(S.rulesets())
    def count(text):
        if not _loads(text):
            return
        host = router()
        rt = ClassifierRuntime(LoadedRuleset(run_text(text, Ruleset(), _opts(host)).ruleset), host=host,
                               min_run=1)
        s = rt.stats()
        seen["rules"] += s.rules
        seen["classified"] += s.classified_rules

    count()
    assert seen["rules"] > 100
    # measured: 124 of 458 (the strategy draws many interface names, byteorder'd
    # lengths, statements and rules without a verdict); acl_rulesets below is the
    # classifier's own strategy
    assert seen["classified"] > seen["rules"] // 5, seen


_A4 = st.sampled_from(("192.168.1.10", "192.168.1.0/24", "8.8.8.8", "8.0.0.0/7", "198.51.100.0/25",
                       "203.0.113.2", "0.0.0.0/1"))
_P = st.sampled_from(S.PORTS)
_L3 = st.one_of(
    st.builds("ip saddr {}".format, _A4), st.builds("ip daddr {}".format, _A4),
    st.builds("ip daddr != {}".format, _A4),
    st.sampled_from(("ip ttl < 64", "ip ttl 64", "meta mark 0", "meta mark != 1", "meta protocol ip",
                     "ip saddr { 192.168.1.10, 8.8.8.8 }", "ip length > 60", "meta pkttype host")))
#: transport matches by protocol: one protocol per rule, as nft requires
_L4 = {
    "tcp": st.one_of(st.builds("tcp dport {}".format, _P), st.builds("tcp sport != {}".format, _P),
                     st.builds(lambda ps: "tcp dport { " + ", ".join(map(str, sorted(set(ps)))) + " }",
                               st.lists(_P, min_size=1, max_size=3)),
                     st.sampled_from(("tcp flags syn", "tcp flags & (syn|ack) == ack", "meta l4proto tcp"))),
    "udp": st.one_of(st.builds("udp sport {}".format, _P), st.builds("udp dport {}".format, _P),
                     st.just("meta l4proto udp")),
    "icmp": st.sampled_from(("icmp type echo-request", "ip protocol icmp", "icmp type != echo-reply")),
    None: st.builds(lambda a, b: f"th dport {min(a, b)}-{max(a, b)}", _P, _P),
}
#: rules the classifier leaves to the interpreter: they end runs
_OPAQUE = st.sampled_from(("counter", "meta mark set 1", "iifname lan0 counter accept", "tcp dport 80 counter",
                           "ip dscp set cs1", "meta mark 1 counter drop"))


@st.composite
def _acl_rule(draw, targets):
    if draw(st.integers(0, 9)) == 0:
        return draw(_OPAQUE)
    l4 = draw(st.sampled_from(("tcp", "udp", "icmp", None)))
    parts = draw(st.lists(_L3, max_size=2)) + draw(st.lists(_L4[l4], max_size=2))
    if draw(st.booleans()):
        parts.append("counter")
    v = draw(st.sampled_from(("accept", "drop", "drop", "return")
                             + tuple(f"jump {t}" for t in targets) + tuple(f"goto {t}" for t in targets)))
    return " ".join(parts + [v])


@st.composite
def acl_rulesets(draw) -> str:
    """An ip table whose chains are mostly classifiable rules (ACL-like: prefixes,
    ports, sets, ranges, flags, ttl, mark), an opaque rule now and then, jumps and
    gotos to later regular chains."""
    regs = ["r0", "r1"]
    lines = ["table ip t {"]
    for i, r in enumerate(regs):
        lines.append(f" chain {r} {{")
        lines += [f"  {x}" for x in draw(st.lists(_acl_rule(tuple(regs[i + 1:])), min_size=1, max_size=8))]
        lines.append(" }")
    for hook in draw(st.lists(st.sampled_from(("input", "forward", "output")), min_size=1, max_size=2,
                              unique=True)):
        policy = draw(st.sampled_from(("accept", "drop")))
        lines.append(f" chain b_{hook} {{\n  type filter hook {hook} priority 0; policy {policy};")
        lines += [f"  {x}" for x in draw(st.lists(_acl_rule(tuple(regs)), min_size=1, max_size=14))]
        lines.append(" }")
    lines.append("}")
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(acl_rulesets(), S.router_traffic(min_size=2, max_size=8))
def test_random_acls_agree_on_every_backend(text, traffic):
    assert _loads(text), text
    assert_same(text, traffic)


def test_the_random_acls_are_mostly_classified():
    seen = {"rules": 0, "classified": 0, "suffix": 0}

    @settings(max_examples=40, deadline=None, derandomize=True, database=None)
    @given(acl_rulesets())
    def count(text):
        host = router()
        rt = ClassifierRuntime(LoadedRuleset(run_text(text, Ruleset(), _opts(host)).ruleset), host=host,
                               min_run=1)
        s = rt.stats()
        seen["rules"] += s.rules
        seen["classified"] += s.classified_rules

    count()
    assert seen["classified"] > seen["rules"] * 3 // 4, seen


# ------------------------------------------------------------------ hand-written cases
def _acl(n: int, verdicts=("accept", "drop")) -> list[str]:
    out = []
    for i in range(n):
        v = verdicts[i % len(verdicts)]
        out.append(f"ip saddr 192.168.1.{10 + i % 3} tcp dport {1000 + i} counter {v}")
    return out


def _frames(ports, src="192.168.1.10", dst="8.8.8.8"):
    from pkttables.testing.kernel import Injection
    out = []
    for p in ports:
        seg = tcp(40000, p, flags=TCP_SYN) if p % 2 == 0 else udp(40000, p, b"x")
        out.append(Injection("lan0", ether(S.LAN_MAC, S.CLIENT_MAC, ipv4(src, dst, seg))))
    return out


def test_a_long_run_is_classified_and_decides_as_the_interpreter():
    rules = _acl(40)
    text = ("table ip t {\n chain filt {\n  type filter hook forward priority 0; policy drop;\n"
            + "".join(f"  {r}\n" for r in rules) + " }\n}\n")
    traffic = _frames([1000, 1001, 1002, 1020, 1039, 1038, 999, 5000])
    rts = assert_same(text, traffic)
    s = rts["classifier"].stats()
    assert (s.runs, s.classified_rules, s.enabled) == (1, 40, True)
    lines = run(text, traffic, FACTORIES["classifier"])[0]
    # 1000 accepted by handle of rule 0, 1039 by rule 39 (tcp 1039 is udp: no match), 999 by policy
    assert lines[0]["rule"]["text"] == "ip saddr 192.168.1.10 tcp dport 1000 counter accept"
    assert lines[0]["verdict"] == "accept"
    assert lines[6]["policy"] is not None and lines[6]["verdict"] == "drop"


def test_jumps_return_into_the_middle_of_a_run():
    """A jump from rule p of a run comes back to p + 1: the suffix is classified by a
    classifier of its own (or, past MAX_SUFFIXES, rule by rule)."""
    base = []
    for i in range(12):
        base.append(f"tcp dport {2000 + i} counter jump sub")
        base.append(f"tcp dport {2000 + i} counter accept" if i % 3 else f"tcp dport {3000 + i} counter drop")
    text = ("table ip t {\n chain sub {\n  tcp dport 2004 counter drop\n  tcp dport 2005 counter return\n"
            "  ip daddr 9.9.9.9 counter accept\n }\n"
            " chain filt {\n  type filter hook forward priority 0; policy drop;\n"
            + "".join(f"  {r}\n" for r in base) + "  counter accept\n }\n}\n")
    traffic = _frames([2000, 2002, 2003, 2004, 2005, 2006, 2011, 2010, 3000, 1])
    traffic += _frames([2001, 2004], dst="9.9.9.9")
    rts = assert_same(text, traffic)
    rt = rts["classifier-1"]
    slot = next(s for s in rt.plans[("ip", "t", "filt")].slots if s is not None)
    assert slot.suffixes, "a jump returned into the run: a suffix classifier was asked for"


def test_suffixes_past_the_cap_run_rule_by_rule(monkeypatch):
    from pkttables.backends import classified
    monkeypatch.setattr(classified, "MAX_SUFFIXES", 1)
    test_jumps_return_into_the_middle_of_a_run()


def test_tracing_falls_back_to_the_interpreter_and_prints_the_same_lines():
    text = ("table ip t {\n chain pre {\n  type filter hook prerouting priority -300; policy accept;\n"
            "  tcp dport 1000 meta nftrace set 1\n }\n"
            " chain filt {\n  type filter hook forward priority 0; policy drop;\n"
            + "".join(f"  {r}\n" for r in _acl(12)) + " }\n}\n")
    traffic = _frames([1000, 1002, 1003, 7])
    assert_same(text, traffic)
    lines = run(text, traffic, FACTORIES["classifier"])[0]
    traces = [e["line"] for e in lines[0]["events"] if e.get("type") == "trace"]
    assert any("ip t filt rule ip saddr 192.168.1.10 tcp dport 1000" in t and "(verdict accept)" in t
               for t in traces), traces
    assert not any(e.get("type") == "trace" for e in lines[1]["events"])


def test_generations_rebuild_the_classifiers():
    first = ("table ip t {\n chain filt {\n  type filter hook forward priority 0; policy drop;\n"
             + "".join(f"  {r}\n" for r in _acl(10)) + " }\n}\n")
    second = ("table ip t {\n chain filt {\n  type filter hook forward priority 0; policy accept;\n"
              + "".join(f"  {r}\n" for r in _acl(10, ("drop",))) + " }\n}\n")
    traffic = _frames([1000, 1001, 1005, 77, 1000, 1001, 1005, 77])
    rts = assert_same(first, traffic, second=second, load_at=4)
    lines = run(first, traffic, FACTORIES["classifier"], second=second, load_at=4)[0]
    assert [x["verdict"] for x in lines] == ["accept", "drop", "drop", "drop", "drop", "accept", "accept", "accept"]
    assert rts["classifier"].stats().runs == 1


def test_a_rule_reading_registers_it_did_not_write_disables_classification():
    import dataclasses
    host = router()
    text = ("table ip t {\n chain filt {\n  type filter hook forward priority 0; policy drop;\n"
            + "".join(f"  {r}\n" for r in _acl(10)) + "  tcp dport 1 accept\n }\n}\n")
    loaded = LoadedRuleset(run_text(text, Ruleset(), _opts(host)).ruleset)
    assert self_contained(loaded)
    last = loaded.chains[("ip", "t", "filt")].rules[-1]
    # drop the rule's loads: its cmp now reads what the rule before it left in reg 1
    last.instrs = tuple(i for i in last.instrs if type(i).__name__ not in ("PayloadLoad", "MetaLoad"))
    assert not self_contained(loaded)
    rt = ClassifierRuntime(loaded, host=host, min_run=1)
    assert not rt.enabled
    del dataclasses


def test_min_run_from_the_environment(monkeypatch):
    monkeypatch.delenv(MIN_RUN_ENV, raising=False)
    assert min_run_from_env() == 8
    monkeypatch.setenv(MIN_RUN_ENV, "3")
    assert min_run_from_env() == 3
    for bad in ("0", "x", "-2"):
        monkeypatch.setenv(MIN_RUN_ENV, bad)
        with pytest.raises(PktError, match=MIN_RUN_ENV):
            min_run_from_env()


def test_the_classifier_backend_is_registered():
    assert "classifier" in BACKENDS
    rs = run_text("table ip t { chain c { type filter hook input priority 0; policy drop;\n"
                  " tcp dport 22 accept\n }\n}\n", Ruleset()).ruleset
    sim = Simulator(router(), rs, backend="classifier")
    assert isinstance(sim.runtime, ClassifierRuntime)
    with pytest.raises(PktError, match="unknown backend"):
        Simulator(router(), rs, backend="nope")


def test_the_bench_simulate_rows_agree_and_classify():
    """pkt bench acl's simulate rows on a small ACL: the three backends ran, answered the
    same (simulate_acl checks it), and the chain was one classified run."""
    from pkttables.bench.classbench import generate_rules, generate_trace, simulate_acl
    rules = generate_rules(200, seed=4)
    got = simulate_acl(rules, generate_trace(rules, 300, seed=5), interp_seconds=30.0, n_classifier=300)
    assert got["runs"] == 1
    assert got["interp_n"] == got["classifier_n"] == got["codegen_n"] > 100
    assert 0.0 < got["accepted"] < 1.0
