"""Hook entries tied in priority, in the kernel's registration order (TIES).

``PriorityHooks.register(seq=)`` orders entries by ``(priority, -seq)``;
``replay.KernelOrder`` gives the ranks the kernel's batch registers things in, and the
Simulator cuts the base chains into entries around conntrack and NAT with them.  The
kernel side: tests/kernel/test_diff_hookprio_ties.py."""

from __future__ import annotations

from hypothesis import given, strategies as st

from pkttables.commands import Options, run_text
from pkttables.datapath.replay import KernelOrder, Simulator, chain_id
from pkttables.model import Ruleset
from pkttables.stack.hooks import HookTable, PriorityHooks, Verdict
from pkttables.stack.host import Host
from pkttables.testing.hosts import router_toml

_ROUTER = router_toml(("192.168.1.10", "02:00:00:00:00:10"))


def _cb(pkt, state):
    return Verdict.ACCEPT


def _rs(text: str) -> Ruleset:
    return run_text(text, Ruleset(), Options(), filename="<test>").ruleset


def _names(sim, fam="ip", hook="prerouting"):
    return [n for _p, n, _cb in sim.hooks.runners[(fam, hook)].entries]


@given(st.lists(st.tuples(st.integers(-3, 3), st.one_of(st.none(), st.integers(0, 50))), max_size=12))
def test_seq_orders_by_priority_then_newest(regs):
    """Whatever order the registrations come in, the walk is (priority, newest first)."""
    ph = PriorityHooks()
    want = []
    for i, (prio, seq) in enumerate(regs):
        ph.register(prio, _cb, f"e{i}", seq=seq)
        want.append((prio, -ph.seq_of([n for _p, n, _c in ph.entries].index(f"e{i}")), f"e{i}"))
    assert [n for _p, n, _c in ph.entries] == [n for _p, _s, n in sorted(want, key=lambda w: w[:2])]


def test_explicit_seq_and_defaults_share_one_clock():
    t = HookTable()
    base = t.reserve(3)
    t.register("ip", "prerouting", -100, _cb, name="nat", seq=base + 1)
    t.register("ip", "prerouting", -100, _cb, name="late-chain", seq=base + 2)
    t.register("ip", "prerouting", -100, _cb, name="early-chain", seq=base + 0)
    t.register("ip", "prerouting", -100, _cb, name="now")          # newest of all
    assert [n for _p, n, _c in t.runners[("ip", "prerouting")].entries] == \
        ["now", "late-chain", "nat", "early-chain"]


def test_kernel_order_ranks():
    rs = _rs("""
table ip a {
  chain sn { type nat hook postrouting priority srcnat; oifname "wan0" masquerade; }
}
table ip b {
  chain f { type filter hook prerouting priority -100; ct state new counter; }
  chain dn { type nat hook prerouting priority dstnat; }
}
table inet c {
  chain g { type filter hook prerouting priority -200; }
}
""")
    o = KernelOrder.of(rs)
    ta, tb, tc = (rs.tables[k] for k in (("ip", "a"), ("ip", "b"), ("inet", "c")))
    f = chain_id("ip", "b", tb.handle, "f", tb.chains["f"].handle)
    g = chain_id("inet", "c", tc.handle, "g", tc.chains["g"].handle)
    # IPv4 NAT with table a's snat chain (every hook), before f; a's masquerade rule
    # starts IPv4 conntrack before b's chains; IPv6 NAT never, IPv6 conntrack never
    assert o.nat["ip"] < o.conntrack["ip"] < o.chains[f] < o.chains[g]
    assert "ip6" not in o.nat and "ip6" not in o.conntrack


def test_simulator_splits_a_priority_around_nat():
    """fa (created before the nat chain) after NAT, fb (after it) before NAT: one
    priority's chains in two entries."""
    text = """
table ip t {
  chain fa { type filter hook prerouting priority -100; counter; }
  chain dn { type nat hook prerouting priority dstnat; udp dport 8053 dnat to 192.168.1.10:53; }
  chain fb { type filter hook prerouting priority -100; counter; }
  chain z { type filter hook prerouting priority 0; counter; }
}
"""
    for backend in ("interp", "codegen", "classifier"):
        sim = Simulator(Host.from_toml(_ROUTER, "<router>"), _rs(text), seed=0, backend=backend)
        names = _names(sim)
        assert names.index("conntrack") < names.index("nat")
        fb = [n for n in names if "chains" in n][0]
        rest = [n for n in names if "chains" in n][1]
        assert names.index(fb) < names.index("nat") < names.index(rest), names
        # the split entries select by tie key; the one after NAT also holds priority 0
        e_fb = [cb for _p, n, cb in sim.hooks.runners[("ip", "prerouting")].entries if n == fb][0]
        assert e_fb is not None
        chains = sim.runtime.loaded.base_chains("ip", "prerouting", types=sim.runtime.types)
        assert [c.name for c in chains] == ["fb", "fa", "z"]
