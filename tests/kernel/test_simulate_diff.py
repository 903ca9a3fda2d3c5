"""Issue 7: the other differential scenarios through the real ``pkt simulate`` command
line.  These are the sets scenarios (test_diff_sets.py, with named counters, quotas and
limits in object maps), output NAT rerouting (test_diff_nat_output.py) and symhash
(test_diff_symhash.py).

Each scenario's kernel observation comes from simulate_cli's cache: the test_diff_*
module ran it earlier in the session.  If that module did not run, the scenario runs on
a lab of this module.  The scenario then goes through ``pkt simulate --json --out
--list --conntrack``, and its output is compared with the kernel's, as
differential.compare does.  The comparison covers the frames per packet and interface,
the send errors, every rule counter, and the named counters and quotas as ``--list``
prints them after the traffic.

symhash is drawn from a per-boot secret (docs/differential.md), so its buckets cannot be
compared with the kernel's.  For that scenario the frames are compared, and on the
CLI's own counters the property test_diff_symhash checks on each side: both directions
of a flow fall in the same bucket."""

from __future__ import annotations

import pytest

import test_diff_nat_output as NO
import test_diff_sets as DS
import test_diff_symhash as SY
from lab_hosts import two_interface_host
from simulate_cli import (LazyLab, diff_disagreements, diff_observation, diff_times, listing_counters,
                          listing_objects, report, run_cli)
from pkttables.errors import HarnessError
from pkttables.testing.differential import DiffLab, Scenario, quiet_host

pytestmark = pytest.mark.kernel

#: sets scenario -> reason the CLI disagrees with the kernel
XFAIL: dict[str, str] = dict(DS.XFAIL)


@pytest.fixture(scope="module")
def host():
    return quiet_host(two_interface_host())


@pytest.fixture(scope="module")
def lazy(host):
    lab = LazyLab(lambda: DiffLab(host))
    yield lab
    lab.close()


def _refused_alike(host, ruleset, tmp_path, err) -> list[str]:
    run = run_cli(tmp_path, host, ruleset, [], [])
    return [] if run.rc != 0 else [f"the kernel refused the ruleset ({err}); pkt simulate ran it"]


@pytest.mark.parametrize("name", [pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=XFAIL[k]))
                                  if k in XFAIL else k for k in DS.S])
def test_sets_scenario_through_the_cli(lazy, host, name, tmp_path):
    ruleset, traffic, _listed = DS.S[name]
    sc = Scenario(host, ruleset, traffic, name=name)
    try:
        obs, per = diff_observation(lazy, sc)
    except HarnessError as e:
        problems = _refused_alike(host, ruleset, tmp_path, e)
    else:
        run = run_cli(tmp_path, host, sc.ruleset, sc.traffic, diff_times(sc.traffic), console=name == "objref-maps")
        problems = diff_disagreements(sc, obs, per, run)
        assert obs.counters
    assert not problems, report(name, problems)


def test_sets_named_objects_are_compared(lazy, host, tmp_path):
    """The object-map scenario's quotas and counters moved: --list must show final values."""
    ruleset, traffic, _ = DS.S["objref-maps"]
    sc = Scenario(host, ruleset, traffic, name="objref-maps")
    obs, _per = diff_observation(lazy, sc)
    run = run_cli(tmp_path, host, sc.ruleset, sc.traffic, diff_times(sc.traffic))
    ours = listing_objects(run.listing)
    assert ours == {k: (c.packets, c.bytes) for k, c in obs.objects.items()}
    assert ours[("counter", "ip", "t", "c1")][0] > 0 and ours[("quota", "ip", "t", "q1")][1] == 60


@pytest.mark.parametrize("name", list(NO.SCENARIOS))
def test_output_nat_scenario_through_the_cli(host, name, tmp_path):
    ruleset, traffic = NO.SCENARIOS[name]
    sc = Scenario(host, ruleset, traffic, name=name)
    # as test_diff_nat_output: one lab per scenario (conntrack entries outlive a flush)
    own = LazyLab(lambda: DiffLab(host, settle=0.1))
    try:
        obs, per = diff_observation(own, sc)
    finally:
        own.close()
    run = run_cli(tmp_path, host, sc.ruleset, sc.traffic, diff_times(sc.traffic))
    problems = diff_disagreements(sc, obs, per, run)
    assert not problems, report(name, problems)
    assert run.frames


def test_symhash_through_the_cli(host, tmp_path):
    sc = Scenario(host, SY._ruleset(), SY._flows(), name="symhash-symmetric")
    own = LazyLab(lambda: DiffLab(host))
    try:
        obs, per = diff_observation(own, sc)
    finally:
        own.close()
    run = run_cli(tmp_path, host, sc.ruleset, sc.traffic, diff_times(sc.traffic))
    problems = diff_disagreements(sc, obs, per, run, counters=False)
    assert not problems, report(sc.name, problems)
    counts = {k[3]: v[0][0] for k, v in listing_counters(run.listing).items()}
    buckets = SY._buckets(counts)
    assert all(a == b for a, b in buckets), buckets
    assert sum(a for a, _ in buckets) == len(sc.traffic) // 2
    assert sum(1 for a, _ in buckets if a) > 1, buckets
