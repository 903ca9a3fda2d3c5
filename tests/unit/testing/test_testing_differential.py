"""differential.py without a kernel: field naming, tag stripping, and compare() on an
Observation built from pkttables' own run (it must agree with itself, and a changed
byte, a missing frame or a changed counter must show up named)."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "kernel"))
from lab_hosts import CLIENT_MAC, LAN_MAC, two_interface_host  # noqa: E402

from pkttables.commands import run_text  # noqa: E402
from pkttables.model import Ruleset  # noqa: E402
from pkttables.testing import strategies as S  # noqa: E402
from pkttables.testing._readback import Count  # noqa: E402
from pkttables.testing.differential import (Scenario, _untag, compare, name_fields,  # noqa: E402
                                            run_pkttables)
from pkttables.testing.kernel import Emitted, Observation  # noqa: E402
from pkttables.testing.packets import ether, ipv4, udp  # noqa: E402

RULESET = """table inet t {
  chain f { type filter hook forward priority 0; udp dport 53 counter; counter; }
}
"""


def _frame(ttl=64):
    return ether(LAN_MAC, CLIENT_MAC, ipv4("192.168.1.10", "8.8.8.8", udp(1000, 53, b"q"), ttl=ttl))


def _observation(scenario, tweak=None):
    """What the kernel would report if it behaved exactly as pkttables does."""
    rs, runtime, outcomes = run_pkttables(scenario)
    emitted = []
    for i, o in enumerate(outcomes):
        for e in o.emitted:
            data = tweak(e.data) if tweak else e.data
            emitted.append(Emitted(e.ifname, data, i, 0.0))
    rules = []
    for (fam, tname), t in rs.tables.items():
        for cname, ch in t.chains.items():
            for r in ch.rules:
                c = runtime.state.rule_counters().get((fam, tname, cname, r.handle))
                expr = [{"counter": {"packets": c.packets if c else 0, "bytes": c.bytes if c else 0}}]
                rules.append({"rule": {"family": fam, "table": tname, "chain": cname, "handle": r.handle,
                                       "expr": expr}})
    rsj = {"nftables": rules}
    from pkttables.testing._readback import rule_counters
    obs = Observation(tuple(emitted), tuple(o.send_error for o in outcomes), rsj, rule_counters(rsj), {}, (), "", "")
    per = [[e for e in emitted if e.after_injection == i] for i in range(len(outcomes))]
    return obs, per


def test_name_fields_names_ttl_and_checksum():
    a, b = _frame(64), _frame(63)
    assert name_fields(a, b) == ("ip.ttl", "ip.checksum")
    assert name_fields(a, a) == ()


def test_untag_removes_8021q():
    tagged = ether(LAN_MAC, CLIENT_MAC, ipv4("192.168.1.10", "8.8.8.8", udp(1, 2)), vlan=5)
    assert _untag(tagged) == _frame_plain()


def _frame_plain():
    return ether(LAN_MAC, CLIENT_MAC, ipv4("192.168.1.10", "8.8.8.8", udp(1, 2)))


def test_compare_agrees_with_itself_and_names_differences():
    sc = Scenario(two_interface_host(), RULESET, [("lan0", _frame())], name="self")
    obs, per = _observation(sc)
    assert compare(sc, obs, per).agree

    def bump(data):
        d = bytearray(data)
        d[22] ^= 1          # the forwarded frame's TTL
        return bytes(d)
    obs2, per2 = _observation(sc, bump)
    cmp = compare(sc, obs2, per2)
    assert not cmp.agree
    assert cmp.frames[0].kind == "bytes" and cmp.frames[0].fields[0] == "ip.ttl"
    assert "ip.ttl" in cmp.report()

    missing = Observation((), obs.send_errors, obs.ruleset_json, obs.counters, {}, (), "", "")
    cmp = compare(sc, missing, [[]])
    assert [d.kind for d in cmp.frames] == ["only-pkttables"]

    wrong = dict(obs.counters)
    key = next(iter(wrong))
    wrong[key] = Count(wrong[key].packets + 1, wrong[key].bytes)
    cmp = compare(sc, Observation(obs.emitted, obs.send_errors, obs.ruleset_json, wrong, {}, (), "", ""), per)
    assert cmp.counters and cmp.counters[0].key[:3] == ("inet", "t", "f") and cmp.counters[0].key[3] == 0


def test_refused_ruleset_is_an_error_not_a_crash():
    sc = Scenario(two_interface_host(), "table inet t { chain c { nonsense; }; }", [], name="bad")
    obs = Observation((), (), {"nftables": []}, {}, {}, (), "", "")
    cmp = compare(sc, obs, [])
    assert not cmp.agree and "refused" in cmp.errors[0]


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(S.rulesets())
def test_generated_rulesets_load_in_pkttables(text):
    rs = run_text(text, Ruleset()).ruleset
    assert rs.tables
