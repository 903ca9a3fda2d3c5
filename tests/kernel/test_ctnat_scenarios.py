"""Issue 6: conntrack and NAT against the kernel, scenario by scenario (ctnat_scenarios.py
generates them from parameter grids; ctnat_lab.py runs each on Linux and on pkttables in
one shared lab and compares frames, rule counters and the conntrack table)."""

from __future__ import annotations

import pytest

from ctnat_lab import CtNatLab
from ctnat_scenarios import all_scenarios
from test_nat_kernel import nat_host

pytestmark = pytest.mark.kernel

SCENARIOS = all_scenarios()


@pytest.fixture(scope="module")
def lab():
    with CtNatLab(nat_host()) as lab:
        yield lab


def test_at_least_200_distinct_scenarios():
    assert len(SCENARIOS) >= 200
    assert len({(s.ruleset, tuple(i.frame for i in s.traffic)) for s in SCENARIOS}) == len(SCENARIOS)


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(lab, sc):
    res = lab.run(sc)
    assert res.agree, res.report()
