"""PriorityHooks tie order: by default the entry registered last runs first at equal
priority (nf_hook_entries_grow inserts before equal priorities); ``after_ties=True``
puts an entry after the equal-priority entries already there."""

from hypothesis import given, strategies as st

from pkttables.stack.hooks import HookState, HookTable, PriorityHooks, Verdict


def _order(ph: PriorityHooks) -> list[str]:
    return [name for _p, name, _cb in ph.entries]


def _cb(pkt, state):
    return Verdict.ACCEPT


def test_default_tie_puts_later_registration_first():
    ph = PriorityHooks()
    ph.register(-200, _cb, "chain")
    ph.register(-200, _cb, "conntrack")
    ph.register(-300, _cb, "raw")
    assert _order(ph) == ["raw", "conntrack", "chain"]


def test_after_ties_goes_after_equal_priorities_and_before_higher():
    ph = PriorityHooks()
    ph.register(-200, _cb, "conntrack")
    ph.register(-100, _cb, "dnat")
    ph.register(-200, _cb, "chain", after_ties=True)
    assert _order(ph) == ["conntrack", "chain", "dnat"]
    # two after_ties entries of one priority keep their registration order
    ph.register(-200, _cb, "chain2", after_ties=True)
    assert _order(ph) == ["conntrack", "chain", "chain2", "dnat"]
    # a plain registration at the tie still goes before all of them
    ph.register(-200, _cb, "late")
    assert _order(ph) == ["late", "conntrack", "chain", "chain2", "dnat"]
    ph.unregister("chain")
    ph.register(-200, _cb, "chain3", after_ties=True)
    assert _order(ph) == ["late", "conntrack", "chain2", "chain3", "dnat"]


def test_hooktable_passes_after_ties_and_runs_in_that_order():
    seen = []
    table = HookTable()
    table.register("ip", "prerouting", -200, lambda p, s: seen.append("ct") or 1, name="conntrack")
    table.register("ip", "prerouting", -200, lambda p, s: seen.append("chain") or 1, name="chain",
                   after_ties=True)
    st_ = HookState("ip", "prerouting", "eth0", None, 0.0)
    assert table.run("ip", "prerouting", object(), st_).verdict == Verdict.ACCEPT
    assert seen == ["ct", "chain"]


@given(st.lists(st.tuples(st.integers(-3, 3), st.booleans()), max_size=30))
def test_entries_stay_sorted_and_ties_follow_the_rule(regs):
    ph = PriorityHooks()
    for n, (prio, after) in enumerate(regs):
        ph.register(prio, _cb, f"e{n}", after_ties=after)
    prios = [p for p, _n, _cb in ph.entries]
    assert prios == sorted(prios)
    # expected order within one priority: plain entries newest first, then after_ties
    # entries oldest first
    for prio in set(p for p, _ in regs):
        plain = [f"e{n}" for n, (p, a) in enumerate(regs) if p == prio and not a]
        late = [f"e{n}" for n, (p, a) in enumerate(regs) if p == prio and a]
        got = [name for p, name, _cb in ph.entries if p == prio]
        assert got == plain[::-1] + late
