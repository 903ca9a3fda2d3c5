"""Base chains as hook entries of their own, interleaved with conntrack and NAT
(Simulator._install_runtime, ChainRuntime.install/HookEntry).  The kernel side of the
same shapes is tests/kernel/test_diff_hookprio.py."""

from __future__ import annotations

import pytest

from pkttables.commands import Options, run_text
from pkttables.datapath.replay import PacketResult, Simulator
from pkttables.model import Ruleset
from pkttables.stack.host import Host
from pkttables.testing import packets as P
from pkttables.testing.hosts import router_toml

BACKENDS = ("interp", "codegen", "classifier")
C, S = "192.168.1.10", "198.51.100.7"
CLIENT_MAC, LAN_MAC = "02:00:00:00:00:10", "02:00:00:00:00:01"

_ROUTER = router_toml(("192.168.1.10", "02:00:00:00:00:10"))


def _rs(text: str, base: Ruleset | None = None) -> Ruleset:
    rs = base.copy() if base is not None and hasattr(base, "copy") else (base or Ruleset())
    return run_text(text, rs, Options(), filename="<test>").ruleset


def _sim(text: str, backend: str, **kw) -> Simulator:
    from pkttables.conntrack.nft import install
    sim = Simulator(Host.from_toml(_ROUTER, "<router>"), _rs(text), seed=0, backend=backend, **kw)
    for rt in (sim.runtime, sim.nat_runtime):
        if rt is not None and sim.ct_table is not None:
            install(rt, sim.ct_table)
    return sim


def _send(sim, seg, t=0, sport_ip=C, dst=S):
    frame = P.ether(LAN_MAC, CLIENT_MAC, P.ipv4(sport_ip, dst, seg))
    return [r for r in sim.process(frame, t, "lan0") if isinstance(r, PacketResult)][0]


def _counters(sim) -> dict[tuple[str, int], int]:
    """(chain, rule position) -> packets, filter and nat runtimes together."""
    sums: dict = {}
    for rt in {id(x): x for x in (sim.runtime, sim.nat_runtime) if x is not None}.values():
        for key, c in rt.state.counters.items():
            sums[key[:4]] = sums.get(key[:4], 0) + c.packets
    return {(cname, p): sums.get((t.family, t.name, cname, r.handle), 0)
            for t in sim.ruleset.tables.values() for cname, ch in t.chains.items()
            for p, r in enumerate(ch.rules)}


def _names(sim, fam="ip", hook="prerouting"):
    return [(p, n) for p, n, _cb in sim.hooks.runners[(fam, hook)].entries]


RAW_FILTER = """
table ip t {
  chain raw { type filter hook prerouting priority raw; udp dport 53 counter notrack; }
  chain pre { type filter hook prerouting priority 0; ct state untracked counter; ct state new counter; }
  chain fw { type filter hook forward priority 0; ct state untracked counter accept; ct state new counter drop; }
}
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_raw_chain_runs_before_conntrack(backend):
    sim = _sim(RAW_FILTER, backend)
    names = [n for _p, n in _names(sim)]
    assert names.index("ip prerouting chains -300..-300") < names.index("conntrack") \
        < names.index("ip prerouting chains 0..0")
    assert not any("conntrack" in w and "after" in w for w in sim.warnings)
    r = _send(sim, P.udp(5000, 53))
    assert r.verdict != "drop"                 # untracked: forwarded
    r2 = _send(sim, P.udp(5000, 54), t=10**6)  # tracked: new, dropped in forward
    assert r2.verdict == "drop"
    c = _counters(sim)
    assert c[("raw", 0)] == 1
    assert c[("pre", 0)] == 1 and c[("pre", 1)] == 1
    assert c[("fw", 0)] == 1 and c[("fw", 1)] == 1
    assert len(sim.ct_table.entries(0.0)) == 0   # one untracked, one dropped before confirm


ORDER = """
table ip t {
  chain a { type filter hook prerouting priority -300; meta mark set 1 counter; }
  chain b { type filter hook prerouting priority -200; ct state new counter; meta mark 1 meta mark set 2 counter; }
  chain c { type filter hook prerouting priority -199; ct state new counter; meta mark 2 meta mark set 3 counter; }
  chain d { type filter hook prerouting priority -150; meta mark 3 meta mark set 4 counter; }
  chain e { type filter hook prerouting priority -100; meta mark 4 meta mark set 5 counter; }
  chain f { type filter hook prerouting priority 0; meta mark 5 counter; }
}
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_six_priorities_in_order_and_around_conntrack(backend):
    sim = _sim(ORDER, backend)
    prios = [p for p, n in _names(sim) if n != "conntrack"]
    assert prios == sorted(prios)
    # conntrack registered last at -200 runs first at the tie: the -200 chain sees a new entry
    names = [n for _p, n in _names(sim)]
    assert names == ["ip prerouting chains -300..-300", "conntrack", "ip prerouting chains -200..0"]
    _send(sim, P.udp(5000, 53))
    c = _counters(sim)
    assert c == {("a", 0): 1, ("b", 0): 1, ("b", 1): 1, ("c", 0): 1, ("c", 1): 1,
                 ("d", 0): 1, ("e", 0): 1, ("f", 0): 1}


def test_decisions_name_every_chain_in_order():
    sim = _sim(ORDER.replace("meta mark 5 counter;", "meta mark 5 counter drop;"), "interp")
    r = _send(sim, P.udp(5000, 53))
    assert r.verdict == "drop"
    assert [d.chain for d in r.chains] == ["a", "b", "c", "d", "e", "f"]
    assert r.rule.chain == "f" and r.rule.verdict == "drop"


@pytest.mark.parametrize("backend", BACKENDS)
def test_drop_in_an_early_entry_stops_the_walk(backend):
    text = """
table ip t {
  chain raw { type filter hook prerouting priority raw; udp dport 53 counter drop; }
  chain pre { type filter hook prerouting priority 0; ct state new counter; }
}
"""
    sim = _sim(text, backend)
    r = _send(sim, P.udp(5000, 53))
    assert r.verdict == "drop"
    assert _counters(sim) == {("raw", 0): 1, ("pre", 0): 0}
    assert sim.ct_table.entries(0.0) == []      # dropped before conntrack saw it


@pytest.mark.parametrize("backend", BACKENDS)
def test_equal_priorities_later_table_first(backend):
    text = """
table ip one {
  chain c { type filter hook prerouting priority 0; meta mark 0 meta mark set 1 counter; }
}
table ip two {
  chain c { type filter hook prerouting priority 0; meta mark 0 meta mark set 2 counter; }
}
"""
    sim = _sim(text, backend, conntrack=False)
    _send(sim, P.udp(5000, 53))
    sums: dict = {}
    for key, c in sim.runtime.state.counters.items():
        sums[key[:2]] = sums.get(key[:2], 0) + c.packets
    # table two's chain is registered later: it runs first, marks, and one's rule misses
    assert sums.get(("ip", "two")) == 1 and not sums.get(("ip", "one"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_reload_moves_entries(backend):
    sim = _sim(RAW_FILTER, backend)
    assert "ip prerouting chains -300..-300" in [n for _p, n in _names(sim)]
    # the raw chain moves after conntrack: notrack then has no effect (already tracked)
    sim.load(_rs(RAW_FILTER.replace("priority raw", "priority -100")))
    names = [n for _p, n in _names(sim)]
    assert names == ["conntrack", "ip prerouting chains -100..0"]
    r = _send(sim, P.udp(5000, 53))
    assert r.verdict == "drop"
    # and back, plus a new hook point (input)
    sim.load(_rs(RAW_FILTER + "table ip u { chain i { type filter hook input priority 0; counter; }\n}\n"))
    names = [n for _p, n in _names(sim)]
    assert names == ["ip prerouting chains -300..-300", "conntrack", "ip prerouting chains 0..0"]
    assert "ip input chains 0..0" in [n for _p, n in _names(sim, hook="input")]
    r = _send(sim, P.udp(5000, 53), t=10**9)
    assert r.verdict != "drop"


@pytest.mark.parametrize("backend", BACKENDS)
def test_trace_lines_per_chain_across_entries(backend):
    text = """
table ip t {
  chain raw { type filter hook prerouting priority raw; meta nftrace set 1; }
  chain pre { type filter hook prerouting priority 0; ct state new counter; }
}
"""
    sim = _sim(text, backend)
    r = _send(sim, P.udp(5000, 53))
    lines = [e["line"] for e in r.events if e.get("type") == "trace"]
    raw = [i for i, x in enumerate(lines) if " ip t raw " in x]
    pre = [i for i, x in enumerate(lines) if " ip t pre " in x]
    assert raw and pre and max(raw) < min(pre), lines
    # the filter chain's rule matched: conntrack ran between the two entries
    assert any("ct state new counter" in x for x in lines), lines
