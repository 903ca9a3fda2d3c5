"""Issue 7: the conntrack/NAT scenarios (ctnat_scenarios.py: test_ctnat_scenarios.py, and
test_ctnat_timeouts.py) through the real ``pkt simulate`` command line.

Each scenario's kernel side comes from simulate_cli's cache.  CtNatLab.kernel recorded
it when test_ctnat_* ran earlier in the session; otherwise it runs on a lab of this
module.  The scenario then goes through ``pkt simulate --json --out --list
--conntrack``, with the injections at ctnat_lab's clock (the sum of the delays, plus
1 µs per packet).  The comparison is the one CtNatLab.run makes:

* the frames per injection and interface, masked as ctnat_lab._masked, without ARP;
* the packets of each rule's counters, by position, from ``--list``;
* the conntrack table from ``--conntrack``, by ctnat_lab.table_key;
* the timeouts, within a second, when the scenario compares them.  The CLI prints the
  table at its last packet and the kernel was read later, so the timeouts are shifted
  by the difference.

test_ctnat_masq_address.py changes the host's addresses in the middle of its traffic.
A capture cannot say that, so it is not here."""

from __future__ import annotations

import pytest

import test_ctnat_timeouts as TO
from ctnat_lab import CtNatLab
from ctnat_scenarios import all_scenarios
from simulate_cli import LazyLab, ct_observation, ct_times, ctnat_disagreements, report, run_cli
from test_nat_kernel import nat_host
from pkttables.testing.differential import quiet_host

pytestmark = pytest.mark.kernel

SCENARIOS = all_scenarios()
TIMEOUT_SCENARIOS = TO.SCENARIOS

#: scenario name -> reason the CLI disagrees with the kernel
XFAIL: dict[str, str] = {}


def _timeout_host():
    h = nat_host()
    h.sysctls.update(TO.SYSCTLS)
    return h


@pytest.fixture(scope="module")
def labs():
    plain, timeouts = quiet_host(nat_host()), quiet_host(_timeout_host())
    out = {"plain": (plain, LazyLab(lambda: CtNatLab(nat_host()))),
           "timeouts": (timeouts, LazyLab(lambda: CtNatLab(_timeout_host())))}
    yield out
    for _h, lazy in out.values():
        lazy.close()


def _check(labs, which, sc, tmp_path, console=False):
    host, lazy = labs[which]
    kern = ct_observation(lazy, host, sc)
    times = ct_times(sc.traffic)
    run = run_cli(tmp_path, host, sc.ruleset, sc.traffic, times, console=console)
    problems = ctnat_disagreements(sc, kern, host, run, times)
    assert not problems, report(sc.name, problems)
    return run


def _params(scs):
    return [pytest.param(s, id=s.name, marks=pytest.mark.xfail(strict=True, reason=XFAIL[s.name]))
            if s.name in XFAIL else pytest.param(s, id=s.name) for s in scs]


@pytest.mark.parametrize("sc", _params(SCENARIOS))
def test_ctnat_scenario_through_the_cli(labs, sc, tmp_path):
    _check(labs, "plain", sc, tmp_path)


@pytest.mark.parametrize("sc", _params(TIMEOUT_SCENARIOS))
def test_ctnat_timeout_scenario_through_the_cli(labs, sc, tmp_path):
    _check(labs, "timeouts", sc, tmp_path)


def test_a_ctnat_scenario_through_the_console_script(labs, tmp_path):
    sc = next(s for s in SCENARIOS if s.name.startswith("gw-v4-masq-client"))
    run = _check(labs, "plain", sc, tmp_path, console=True)
    assert run.conntrack and run.frames
