"""The bench report: ratios oriented so > 1 means pkttables is better, JSON schema v1.
(Speed itself is measured by `pkt bench`, never asserted in tests.)"""

import json

import pytest

from pkttables.bench.report import Measurement, Report
from pkttables.bench.traffic import frame_mix
from pkttables.packet import LinkType, Packet


def test_ratio_orientation_for_costs_and_rates():
    r = Report()
    ours = r.add(Measurement("w", "pkttables", "parse", 100.0, "ns/pkt"))
    theirs = r.add(Measurement("w", "scapy", "parse", 1000.0, "ns/pkt"))
    assert r.ratio(ours, theirs, aim=10).ratio == pytest.approx(10) and r.ratios[-1].met
    fast = r.add(Measurement("w", "pkttables", "read", 2e6, "pkt/s"))
    slow = r.add(Measurement("w", "dpkt", "read", 5e5, "pkt/s"))
    assert r.ratio(fast, slow).ratio == pytest.approx(4) and r.ratios[-1].met is None
    with pytest.raises(ValueError):
        r.ratio(ours, fast)


def test_json_report_round_trips(tmp_path):
    r = Report()
    a = r.add(Measurement("w", "pkttables", "parse", 1.0, "ns/pkt", 10))
    b = r.add(Measurement("w", "dpkt", "parse", 5.0, "ns/pkt", 10))
    r.ratio(a, b, aim=2)
    r.write_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["version"] == 1
    assert data["ratios"][0] | {} == {"workload": "w", "metric": "parse", "subject": "pkttables",
                                      "baseline": "dpkt", "ratio": 5.0, "aim": 2, "met": True}


def test_benchmark_traffic_is_valid_and_parses_cleanly():
    frames = frame_mix(500, seed=3)
    assert len(set(frames)) > 450
    for f in frames:
        p = Packet(f, LinkType.ETHERNET)
        assert not p.flags, p.summary()
        if p.nh_off >= 0 and p.nfproto in (2, 10):
            assert all(p.verify_checksums().values()), p.summary()
