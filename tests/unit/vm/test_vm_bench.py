"""vm/bench.py: the interp-rules workload records one figure per rule kind (no timing
assertions here: speed belongs to `pkt bench`)."""

from __future__ import annotations

from pkttables.bench.report import Report
from pkttables.stack.host import Host
from pkttables.vm import bench as B


class _Opt:
    quick = True

    def n(self, full, quick):
        return 30


def test_rulesets_load_and_every_rule_runs():
    host = Host.single_interface()
    frames = B.traffic(40)
    for kind, (_t, _r, copies, _n) in B.RULES.items():
        rt = B._runtime(B._ruleset(kind, copies), host)
        chain = rt.loaded.chain("inet", "b", "pre")
        assert len(chain.rules) == copies, kind
    # the counter chain really runs every copy for every packet
    rt = B._runtime(B._ruleset("counter", 20), host)
    B._run(rt, B._packets(frames, "counter", None, 1.0))
    assert sum(c.packets for c in rt.state.counters.values()) == 40 * 20


def test_traffic_is_a_mix():
    frames = B.traffic(400)
    from pkttables.packet import Packet
    protos = {Packet(f).l4proto for f in frames}
    assert {6, 17, 1} <= protos
    assert any(Packet(f).nfproto == 10 for f in frames)


def test_run_interp_bench_reports_every_kind():
    rep = Report()
    B.run_interp_bench(rep, _Opt())
    kinds = [m.metric for m in rep.measurements if m.unit == "ns/pkt/rule"]
    assert kinds == list(B.RULES)
    assert all(m.value >= 0 and m.n == 30 for m in rep.measurements)
    assert any(m.metric == "empty chain" for m in rep.measurements)
