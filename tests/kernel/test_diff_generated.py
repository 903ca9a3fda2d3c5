"""Generated differential scenarios: random stateless rulesets
(:func:`pkttables.testing.strategies.rulesets`) and random traffic for the router host
(:func:`pkttables.testing.strategies.router_traffic`), run on the kernel and on
pkttables in one shared lab, compared with :func:`run_both`.

The number of examples is ``PKTDIFF_EXAMPLES`` (default 260; about 0.15 s each on the
development VM).  Hypothesis is derandomized, so a run is reproducible, and does not
shrink (each step costs a kernel round trip): a failure prints the whole scenario."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from lab_hosts import two_interface_host
from pkttables.testing import strategies as S
from pkttables.testing.differential import DiffLab, Scenario, quiet_host

pytestmark = pytest.mark.kernel

EXAMPLES = int(os.environ.get("PKTDIFF_EXAMPLES", "260"))
STATS = {"run": 0, "refused": 0}


@pytest.fixture(scope="module")
def lab():
    with DiffLab(quiet_host(two_interface_host()), timeout=1800.0) as lab:
        yield lab
    # the generated rulesets must mostly load: a grammar nft refuses tests nothing
    assert STATS["refused"] <= STATS["run"] // 10, STATS


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=(Phase.explicit, Phase.generate),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(ruleset=S.rulesets(), traffic=S.router_traffic())
def test_generated(lab, ruleset, traffic):
    STATS["run"] += 1
    cmp = lab.run(Scenario(lab.host, ruleset, traffic, name=f"generated #{STATS['run']}"))
    if cmp.refused:
        STATS["refused"] += 1
    assert cmp.agree, "\n" + ruleset + "\n" + cmp.report()
