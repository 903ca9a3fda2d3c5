"""`pkt bench` plumbing: every workload has a budget and they add up to at most 540 s (the
10-minute run with slack, issue 8), the
report carries timings, the machine and the aims (met / NOT met), a failing workload is
recorded instead of stopping the run, and the flowtable workload's traffic is a real
conversation.  Figures themselves are never asserted (speed belongs to the bench)."""

import json

import pytest

from pkttables.bench import __main__ as bench_main
from pkttables.bench import workloads as W
from pkttables.bench.report import Measurement, Ratio, Report, machine
from pkttables.packet import LinkType, Packet


def test_every_workload_has_a_budget_and_they_sum_to_at_most_540_seconds():
    # issue 8: 540 s leaves a minute of slack in the 10-minute run
    assert set(W.BUDGET) == set(W.WORKLOADS)
    assert all(b > 0 for b in W.BUDGET.values())
    assert sum(W.BUDGET.values()) <= 540
    for name in ("conntrack", "flowtable", "commit", "simulate", "ruleset-load", "acl", "sets"):
        assert name in W.WORKLOADS, name


def test_aim_ratio_says_met_and_not_met():
    assert W._aim_ratio("w", "m", 2e6, 1e6, "1 M").met is True
    assert W._aim_ratio("w", "m", 5e5, 1e6, "1 M").met is False
    # a cost aim is given as (target, value): 1052 bytes against <= 400 is not met
    assert W._aim_ratio("conntrack", "bytes", 400.0, 1052.0, "<= 400 B").met is False
    assert Ratio("w", "m", "pkttables", "x", 0.5).met is None


def test_report_json_has_timings_machine_and_load(tmp_path):
    r = Report(load_before=(1.0, 2.0, 3.0))
    r.add(Measurement("w", "pkttables", "m", 1.0, "s"))
    r.timings["w"] = (12.5, 30.0, "")
    r.timings["v"] = (1.0, 10.0, "ValueError: x")
    r.load_after = (2.0, 2.0, 2.0)
    r.write_json(tmp_path / "r.json")
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["timings"]["w"] == {"seconds": 12.5, "budget": 30.0, "error": ""}
    assert d["timings"]["v"]["error"] == "ValueError: x"
    assert d["total_seconds"] == pytest.approx(13.5)
    assert d["load_average"] == {"before": [1.0, 2.0, 3.0], "after": [2.0, 2.0, 2.0]}
    assert d["machine"]["nproc"] >= 1 and d["machine"]["python"].startswith("3.")
    assert machine()["processor"]


def test_failing_workload_is_recorded_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    def boom(report, opt):
        raise RuntimeError("broken on purpose")

    def fine(report, opt):
        report.add(Measurement("fine", "pkttables", "m", 3.0, "s"))

    monkeypatch.setitem(W.WORKLOADS, "boom", boom)
    monkeypatch.setitem(W.WORKLOADS, "fine", fine)
    monkeypatch.setitem(W.BUDGET, "boom", 1.0)
    monkeypatch.setitem(W.BUDGET, "fine", 1.0)
    out = tmp_path / "o.json"
    assert bench_main.main(["boom", "fine", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert "RuntimeError: broken on purpose" in d["timings"]["boom"]["error"]
    assert d["timings"]["fine"]["error"] == ""
    assert [m["workload"] for m in d["measurements"]] == ["boom", "fine"]
    err = capsys.readouterr().err
    assert "total:" in err and "budget" in err


def test_unknown_workload_is_an_error(capsys):
    assert bench_main.main(["no-such-workload"]) == 1
    assert "unknown workload" in capsys.readouterr().err


def test_flowtable_conversation_is_valid_tcp_both_ways():
    pk = W._tcp_conversation(6)
    assert len(pk) == 3 + 6 + 1
    assert {dev for dev, _ in pk} == {"lan0", "wan0"}
    for _, frame in pk:
        p = Packet(frame, LinkType.ETHERNET)
        assert not p.flags and p.l4proto == 6
        assert all(p.verify_checksums().values())
    # the chains ruleset is the flowtable ruleset without the flowtable and flow add
    assert "flowtable" not in W._CLASSIC and "flow add" not in W._CLASSIC
    assert "flow add @f" in W._FLOW


def test_flowtable_workload_records_both_paths_and_the_aim(tmp_path):
    r = Report()
    W.flowtable_workload(r, W.Options(quick=True, workdir=str(tmp_path)))
    metrics = {m.metric: m for m in r.measurements}
    assert set(metrics) == {"established via chains", "established via flowtable"}
    # every established packet took the fast path once offloaded
    ft = metrics["established via flowtable"]
    assert ft.note == f"fast path {ft.n}/{ft.n}"
    (ratio,) = r.ratios
    assert ratio.aim == 3.0 and ratio.met is not None


def test_markdown_tables_say_met_and_not_met():
    from pkttables.bench.report import markdown

    r = Report()
    a = r.add(Measurement("w", "pkttables", "parse", 1.0, "ns/pkt", 10))
    b = r.add(Measurement("w", "dpkt", "parse", 5.0, "ns/pkt", 10, "a|b"))
    r.add(Measurement("w", "nft", "load", float("nan"), "s", 0, "skipped"))
    r.ratio(a, b, aim=2)
    r.ratio(a, b, aim=10)
    r.timings["w"] = (3.0, 5.0, "")
    md = markdown(r.to_json())
    assert "| w | parse | dpkt | 5.00× | ≥ 2× | met |" in md
    assert "| w | parse | dpkt | 5.00× | ≥ 10× | **NOT met** |" in md
    assert "a\\|b" in md and "| — |" in md and "| **total** | 3.0 | 5 |" in md


def test_simulate_workload_reports_rate_and_memory_of_its_own_process(tmp_path):
    r = Report()
    W.simulate_workload(r, W.Options(quick=True, workdir=str(tmp_path)))
    m = {x.metric: x for x in r.measurements}
    assert m["replay"].n == 10_000 and m["replay"].value > 0, m["replay"].note
    rss = [x for x in r.measurements if x.metric.startswith("RSS after")]
    assert [x.n for x in rss] == [1_000, 5_000, 10_000]
    # the child's own high-water mark: at least its RSS, far below the parent's capture
    assert m["peak RSS"].value >= max(x.value for x in rss)
    (ratio,) = r.ratios
    assert ratio.aim == 1.0 and ratio.metric == "RSS end vs after 10 %"
