"""Stateful instructions find their state by position, not by object identity.

Equal constant-free instructions can reach the loader as one shared object (the dump
parser and the rule-shape cache reuse them).  ``counter counter`` then counted both
statements into one cell: the second ``pkt simulate --list`` in one process printed
``counter packets 18 ... counter packets 0`` instead of ``9 ... 9``."""

from pkttables.vm import Counter, Immediate
from pkttables.vm.chain import LoadedRuleset
from pkttables.vm.stateful_impl import ChainRuntime
from pkttables.stack.hooks import Verdict as NF

from test_chain import load, tcp4


def _shared_counter_runtime():
    rs = load("table ip t { chain c { type filter hook input priority 0; counter counter; }; }")
    rule = rs.tables[("ip", "t")].chains["c"].rules[0]
    shared = Counter()
    rule.userdata["program"] = (shared, shared)
    return ChainRuntime(LoadedRuleset(rs))


def test_shared_instruction_objects_get_their_own_state():
    rt = _shared_counter_runtime()
    for _ in range(3):
        assert rt.run_hook("ip", "input", tcp4(22)).verdict == NF.ACCEPT
    rule = rt.loaded.chain("ip", "t", "c").rules[0]
    assert rule.instrs[0] is not rule.instrs[1]
    assert sorted(rule.index_of.values()) == [0, 1]
    counters = {k[-1]: v.packets for k, v in rt.state.counters.items() if k[:3] == ("ip", "t", "c")}
    assert counters == {0: 3, 1: 3}
