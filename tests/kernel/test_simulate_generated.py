"""Issue 7: the generated differential scenarios (test_diff_generated.py) through the
real ``pkt simulate`` command line.

test_diff_generated runs hypothesis' random rulesets and traffic on the kernel.  Its
observations are kept by simulate_cli's cache, and each scenario then goes through
``pkt simulate --json --out --list --conntrack``.  The CLI's frames, send errors, rule
counters and named objects are compared with the kernel's.  If this module runs without
test_diff_generated, it calls that module's test function itself, with the same
derandomized seed and so the same scenarios, on a lab of its own."""

from __future__ import annotations

import pytest

from lab_hosts import two_interface_host
import test_diff_generated as G
from simulate_cli import BY_MODULE, diff_disagreements, diff_times, report, run_cli
from pkttables.testing.differential import DiffLab, quiet_host

pytestmark = pytest.mark.kernel

#: generated scenario index (1-based, as test_diff_generated names them) -> reason
XFAIL: dict[int, str] = {}


@pytest.fixture(scope="module")
def generated():
    got = list(BY_MODULE.get("test_diff_generated", ()))
    reproduced = None
    if not got:
        mine = BY_MODULE.setdefault("test_simulate_generated", [])
        start = len(mine)
        with DiffLab(quiet_host(two_interface_host()), timeout=1800.0) as lab:
            try:
                G.test_generated(lab)
            except Exception as e:           # noqa: BLE001 -- a kernel/pkttables disagreement there
                reproduced = f"test_diff_generated failed while reproducing: {e!s:.300}"
        got = mine[start:]
    return got, reproduced


def test_generated_scenarios_through_the_cli(generated, tmp_path):
    scenarios, note = generated
    # test_diff_generated lets at most a tenth be refused by nft (not recorded: nothing ran)
    assert len(scenarios) >= G.EXAMPLES * 9 // 10, (len(scenarios), note)
    failures = []
    for n, (sc, obs, per) in enumerate(scenarios, 1):
        d = tmp_path / f"g{n}"
        d.mkdir()
        run = run_cli(d, sc.host, sc.ruleset, sc.traffic, diff_times(sc.traffic))
        problems = diff_disagreements(sc, obs, per, run)
        if bool(problems) != (n in XFAIL):
            failures.append(report(f"{sc.name}\n{sc.ruleset}", problems or [f"fixed: {XFAIL[n]}"]))
    assert not failures, f"{len(failures)} of {len(scenarios)} generated scenarios:\n" + "\n".join(failures[:5])


def test_a_generated_scenario_through_the_console_script(generated, tmp_path):
    scenarios, _ = generated
    sc, obs, per = next(x for x in scenarios if any(per for per in x[2]) and "counter" in x[0].ruleset)
    run = run_cli(tmp_path, sc.host, sc.ruleset, sc.traffic, diff_times(sc.traffic), console=True)
    problems = diff_disagreements(sc, obs, per, run)
    assert not problems, report(sc.name, problems)
    assert run.frames and run.listing.startswith("table ")
