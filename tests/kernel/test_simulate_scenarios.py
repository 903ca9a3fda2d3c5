"""Issue 7: every hand-written differential scenario through the real command line.

The scenarios of test_diff_handwritten.py run once on the kernel: R over the router
host and B over the bridge host, with one DiffLab per host, reused through
``DiffLab.kernel``.  Each scenario then goes through ``pkt simulate --ruleset R --host H
--traffic T --json J --out O --list --conntrack`` (simulate_cli.run_cli).  The
scenario's host is written as a host file (``differential.host_toml``) and its traffic
as a pcapng, at the clock differential.run_pkttables uses.

Compared, as ``differential.compare`` does:

* the ``--out`` frames per (input packet, output interface), in order, matched to their
  packet through the ``--json`` lines' ``emitted[].index``, after ``_untag`` and
  ``mask_random`` on both sides;
* the ``send_error`` of each local packet (``--json``) with the kernel's;
* every rule's anonymous counters in the ``--list`` output, by (family, table, chain,
  rule position), with the kernel's ``nft -j list ruleset`` counters;
* the named counters and quotas in the ``--list`` output (final values) with the kernel's.

The kernel side is test_diff_handwritten's own run, kept by simulate_cli's cache; the
labs here are built only when that module did not run.

Disagreements that are real bugs are listed in XFAIL (strict) with the reason."""

from __future__ import annotations

import pytest

from diff_traffic import bridge_traffic, router_traffic
from lab_hosts import bridge_host, two_interface_host
from simulate_cli import LazyLab, diff_disagreements, diff_observation, diff_times, listing_counters, report, run_cli
from pkttables.testing.differential import DiffLab, Scenario, quiet_host
from test_diff_handwritten import B, R

pytestmark = pytest.mark.kernel

# name -> reason: scenarios whose `pkt simulate` output disagrees with the kernel
XFAIL: dict[str, str] = {}


@pytest.fixture(scope="module")
def router_lab():
    host = quiet_host(two_interface_host())
    lab = LazyLab(lambda: DiffLab(host))
    lab.host = host
    yield lab
    lab.close()


@pytest.fixture(scope="module")
def bridge_lab():
    host = quiet_host(bridge_host())
    lab = LazyLab(lambda: DiffLab(host))
    lab.host = host
    yield lab
    lab.close()


def _params(d):
    return [pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=XFAIL[k])) if k in XFAIL else k
            for k in d]


def _run(lab, sc, tmp_path):
    # the kernel's observation from test_diff_handwritten's run (simulate_cli's cache),
    # or from this module's own lab when that module did not run
    obs, per = diff_observation(lab, sc)
    run = run_cli(tmp_path, sc.host, sc.ruleset, sc.traffic, diff_times(sc.traffic))
    problems = diff_disagreements(sc, obs, per, run)
    assert not problems, report(sc.name, problems)
    return obs


@pytest.mark.parametrize("name", _params(R))
def test_router_scenario_through_the_cli(router_lab, name, tmp_path):
    obs = _run(router_lab, Scenario(router_lab.host, R[name], router_traffic(), name=name), tmp_path)
    assert obs.counters or "counter" not in R[name]


@pytest.mark.parametrize("name", _params(B))
def test_bridge_scenario_through_the_cli(bridge_lab, name, tmp_path):
    _run(bridge_lab, Scenario(bridge_lab.host, B[name], bridge_traffic(), name=name), tmp_path)


def test_listing_counters_reads_positions():
    text = ("table inet t {\n\tchain c {\n\t\ttype filter hook input priority filter; policy accept;\n"
            "\t\ttcp dport 22 counter packets 3 bytes 180\n\t\tudp dport 53 accept\n"
            "\t\tcounter packets 1 bytes 60 counter packets 2 bytes 9\n\t}\n}\n")
    assert listing_counters(text) == {("inet", "t", "c", 0): [(3, 180)],
                                      ("inet", "t", "c", 2): [(1, 60), (2, 9)]}
