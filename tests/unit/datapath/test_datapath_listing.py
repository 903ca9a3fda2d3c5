"""datapath.listing: the ruleset listed after a replay (no kernel needed; the kernel
comparison is tests/kernel/test_simulate_list.py)."""

from __future__ import annotations

from pkttables.commands import Options, run_text
from pkttables.datapath.listing import final_ruleset, listing_after_run, merged_states
from pkttables.model import Ruleset
from pkttables.render.text import list_ruleset
from pkttables.vm.stateful_impl import Count, QuotaState, StatefulState, _NamedQuota

RS = """table ip t {
  counter c { packets 1 bytes 10 }
  quota q { over 100 bytes }
  limit l { rate 2/second }
  chain x { type filter hook input priority 0; policy accept;
    counter counter quota 150 bytes
    counter name "c"
  }
}
"""


def _rs():
    return run_text(RS, Ruleset(), Options()).ruleset


def _handle(rs) -> int:
    return rs.tables[("ip", "t")].chains["x"].rules[0].handle


class _RT:
    def __init__(self, st):
        self.state = st


def test_objects_and_rule_statements_at_final_values():
    rs = _rs()
    h = _handle(rs)
    st = StatefulState()
    st.counters[("ip", "t", "x", h, 1)] = Count(2, 20)
    st.counters[("ip", "t", "x", h, 0)] = Count(3, 30)
    st.quotas[("ip", "t", "x", h, 2)] = QuotaState(150, 400)
    st.objects[("ip", "t", "counter", "c")] = Count(5, 50)
    st.objects[("ip", "t", "quota", "q")] = _NamedQuota(QuotaState(100, 40), True)
    counters, quotas, objects = merged_states([_RT(st), _RT(st)])
    text = listing_after_run(rs, counters, quotas, objects)
    assert "counter packets 3 bytes 30 counter packets 2 bytes 20 quota 150 bytes used 150 bytes" in text
    assert "\t\tpackets 5 bytes 50\n" in text
    assert "\t\tover 100 bytes used 40 bytes\n" in text
    assert "rate 2/second" in text and "# handle" not in text
    # the model is not changed
    assert "packets 1 bytes 10" in list_ruleset(rs)


def test_object_touched_by_two_runtimes_adds_the_deltas():
    rs = _rs()
    a, b = StatefulState(), StatefulState()
    a.objects[("ip", "t", "counter", "c")] = Count(3, 30)       # loaded 1/10: +2/+20
    b.objects[("ip", "t", "counter", "c")] = Count(4, 40)       # +3/+30
    _c, _q, objects = merged_states([_RT(a), _RT(b)])
    out = final_ruleset(rs, objects)
    assert out.tables[("ip", "t")].objects[("counter", "c")].spec["packets"] == 6
    assert out.tables[("ip", "t")].objects[("counter", "c")].spec["bytes"] == 60
    assert rs.tables[("ip", "t")].objects[("counter", "c")].spec["packets"] == 1


def test_untouched_rules_keep_loaded_values():
    rs = _rs()
    text = listing_after_run(rs, {}, {}, {})
    assert text == list_ruleset(rs)
