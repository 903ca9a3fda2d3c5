"""Issue 8 part 6: the kernel scenarios through ``pkt simulate --backend NAME``.

The test_simulate_*.py modules compare ``pkt simulate`` (the reference interpreter)
with the kernel on 586 differential scenarios (docs/simulate-scenarios.md).  This module
runs the same scenarios, with the same comparisons, through another backend:
test_simulate_backends.py calls
:func:`check_group` once per scenario group.

* The kernel side comes from simulate_cli's session cache (the test_ctnat_* and
  test_diff_* modules ran it earlier: pytest runs tests/kernel in file order), or from
  a lab of this module on a cache miss, as the test_simulate_* modules do.
* The CLI run is simulate_cli.run_cli with ``--backend NAME`` appended to its argv
  (:func:`backend`); nothing else changes, so a disagreement is the backend's.
* The classifier backend runs with ``PKTTABLES_CLASSIFIER_MIN_RUN=1``: every
  classifiable rule is classified (the default threshold of 8 would leave nearly every
  scenario's chains to the interpreter).  :data:`CLASSIFIED` counts the CLI runs whose
  ruleset had at least one classified run.

The groups: ``handwritten`` (test_diff_handwritten R and B), ``generated``
(test_diff_generated's hypothesis scenarios), ``ctnat`` (ctnat_scenarios and
test_ctnat_timeouts), ``diff`` (test_diff_sets, test_diff_nat_output,
test_diff_symhash).  test_simulate_list's one scenario needs a lab of its own and is
not repeated here.
"""

from __future__ import annotations

import contextlib
import os
import time

import simulate_cli
from simulate_cli import (BY_MODULE, LazyLab, ct_observation, ct_times, ctnat_disagreements, diff_disagreements,
                          diff_observation, diff_times, listing_counters, report, run_cli)
from pkttables.errors import HarnessError
from pkttables.testing.differential import DiffLab, Scenario, quiet_host

#: backend name -> environment for its CLI runs
ENV = {"interp": {}, "codegen": {}, "classifier": {"PKTTABLES_CLASSIFIER_MIN_RUN": "1"}}
#: backend -> CLI runs, seconds, runs whose ruleset had a classified run (classifier)
TIMES: dict[str, dict[str, float]] = {}
CLASSIFIED: dict[str, int] = {"runs": 0, "with_runs": 0, "classified_rules": 0, "rules": 0}


#: pkttables.cli.main.main, as simulate_cli imported it (backend() blocks may nest)
_REAL_MAIN = simulate_cli.main


@contextlib.contextmanager
def backend(name: str):
    """simulate_cli.run_cli runs ``pkt simulate ... --backend NAME`` inside the block."""
    from pkttables.backends import classified

    real_main = _REAL_MAIN
    saved_main = simulate_cli.main
    real_factory = classified.classifier_backend

    def main(argv):
        return real_main([*argv, "--backend", name])

    def factory(*a, **kw):
        rt = real_factory(*a, **kw)
        s = rt.stats()
        CLASSIFIED["runs"] += 1
        CLASSIFIED["with_runs"] += bool(s.runs)
        CLASSIFIED["classified_rules"] += s.classified_rules
        CLASSIFIED["rules"] += s.rules
        return rt

    saved = {k: os.environ.get(k) for k in ENV[name]}
    simulate_cli.main = main
    classified.classifier_backend = factory
    os.environ.update(ENV[name])
    try:
        yield
    finally:
        simulate_cli.main = saved_main
        classified.classifier_backend = real_factory
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _timed_run(name: str, *a, **kw):
    t0 = time.perf_counter()
    run = run_cli(*a, **kw)
    t = TIMES.setdefault(name, {"cli_runs": 0, "cli_seconds": 0.0})
    t["cli_runs"] += 1
    t["cli_seconds"] += time.perf_counter() - t0
    return run


def _fresh(tmp_path):
    d = tmp_path / f"r{sum(1 for _ in tmp_path.iterdir())}"
    d.mkdir()
    return d


# ------------------------------------------------------------------ the groups
def _handwritten(name, tmp_path):
    from diff_traffic import bridge_traffic, router_traffic
    from lab_hosts import bridge_host, two_interface_host
    from test_diff_handwritten import B, R
    import test_simulate_scenarios as SS

    for hosts, scenarios, traffic in ((two_interface_host, R, router_traffic), (bridge_host, B, bridge_traffic)):
        host = quiet_host(hosts())
        lazy = LazyLab(lambda host=host: DiffLab(host))
        try:
            for sname, ruleset in scenarios.items():
                if sname in SS.XFAIL:
                    continue
                sc = Scenario(host, ruleset, traffic(), name=sname)
                obs, per = diff_observation(lazy, sc)
                def check(sc=sc, obs=obs, per=per):
                    d = _fresh(tmp_path)
                    run = _timed_run(name, d, sc.host, sc.ruleset, sc.traffic, diff_times(sc.traffic))
                    return diff_disagreements(sc, obs, per, run)
                yield sname, check
        finally:
            lazy.close()


_GENERATED: list = []


def _generated_scenarios():
    """test_diff_generated's scenarios and kernel observations: from the session (that
    module or test_simulate_generated ran), or reproduced here once, as
    test_simulate_generated reproduces them."""
    if _GENERATED:
        return _GENERATED
    got = list(BY_MODULE.get("test_diff_generated", ())) or list(BY_MODULE.get("test_simulate_generated", ()))
    if not got:
        import test_diff_generated as G
        from lab_hosts import two_interface_host
        from simulate_cli import _current_module

        mine = BY_MODULE.setdefault(_current_module(), [])
        start = len(mine)
        with DiffLab(quiet_host(two_interface_host()), timeout=1800.0) as lab:
            try:
                G.test_generated(lab)
            except Exception:            # noqa: BLE001 -- a kernel/interp disagreement there: compared below
                pass
        got = mine[start:]
    _GENERATED.extend(got)
    return _GENERATED


def _generated(name, tmp_path):
    import test_simulate_generated as SG

    scenarios = _generated_scenarios()
    assert scenarios, "no generated scenario ran"
    for n, (sc, obs, per) in enumerate(scenarios, 1):
        if n in SG.XFAIL:
            continue
        def check(sc=sc, obs=obs, per=per):
            run = _timed_run(name, _fresh(tmp_path), sc.host, sc.ruleset, sc.traffic, diff_times(sc.traffic))
            return diff_disagreements(sc, obs, per, run)
        yield f"generated {n}: {sc.name}\n{sc.ruleset}", check


def _ctnat(name, tmp_path):
    import test_simulate_ctnat as SC
    from ctnat_lab import CtNatLab
    from test_nat_kernel import nat_host

    groups = (("plain", nat_host, SC.SCENARIOS), ("timeouts", SC._timeout_host, SC.TIMEOUT_SCENARIOS))
    for which, make, scenarios in groups:
        host = quiet_host(make())
        lazy = LazyLab(lambda make=make: CtNatLab(make()))
        try:
            for sc in scenarios:
                if sc.name in SC.XFAIL:
                    continue
                kern = ct_observation(lazy, host, sc)
                times = ct_times(sc.traffic)

                def check(sc=sc, kern=kern, host=host, times=times):
                    run = _timed_run(name, _fresh(tmp_path), host, sc.ruleset, sc.traffic, times)
                    return ctnat_disagreements(sc, kern, host, run, times)
                yield sc.name, check
        finally:
            lazy.close()


def _diff(name, tmp_path):
    import test_diff_nat_output as NO
    import test_diff_sets as DS
    import test_diff_symhash as SY
    import test_simulate_diff as SD
    from lab_hosts import two_interface_host

    host = quiet_host(two_interface_host())
    lazy = LazyLab(lambda: DiffLab(host))
    try:
        for sname, (ruleset, traffic, _listed) in DS.S.items():
            if sname in SD.XFAIL:
                continue
            sc = Scenario(host, ruleset, traffic, name=sname)
            try:
                obs, per = diff_observation(lazy, sc)
            except HarnessError as e:
                def refused(ruleset=ruleset, e=e):
                    run = _timed_run(name, _fresh(tmp_path), host, ruleset, [], [])
                    return [] if run.rc != 0 else [f"the kernel refused the ruleset ({e}); pkt simulate ran it"]
                yield sname, refused
                continue

            def check(sc=sc, obs=obs, per=per):
                run = _timed_run(name, _fresh(tmp_path), host, sc.ruleset, sc.traffic, diff_times(sc.traffic))
                return diff_disagreements(sc, obs, per, run)
            yield sname, check
    finally:
        lazy.close()
    for sname, (ruleset, traffic) in NO.SCENARIOS.items():
        sc = Scenario(host, ruleset, traffic, name=sname)
        own = LazyLab(lambda: DiffLab(host, settle=0.1))
        try:
            obs, per = diff_observation(own, sc)
        finally:
            own.close()

        def check(sc=sc, obs=obs, per=per):
            run = _timed_run(name, _fresh(tmp_path), host, sc.ruleset, sc.traffic, diff_times(sc.traffic))
            return diff_disagreements(sc, obs, per, run)
        yield sname, check
    sc = Scenario(host, SY._ruleset(), SY._flows(), name="symhash-symmetric")
    own = LazyLab(lambda: DiffLab(host))
    try:
        obs, per = diff_observation(own, sc)
    finally:
        own.close()

    def symhash(sc=sc, obs=obs, per=per):
        run = _timed_run(name, _fresh(tmp_path), host, sc.ruleset, sc.traffic, diff_times(sc.traffic))
        problems = diff_disagreements(sc, obs, per, run, counters=False)
        buckets = SY._buckets({key[3]: v[0][0] for key, v in listing_counters(run.listing).items()})
        if not all(a == b for a, b in buckets):
            problems.append(f"symhash buckets not symmetric: {buckets}")
        return problems
    yield sc.name, symhash


GROUPS = {"handwritten": _handwritten, "generated": _generated, "ctnat": _ctnat, "diff": _diff}


def check_group(name: str, group: str, tmp_path, *, at_least: int) -> int:
    """Run scenario group ``group`` through ``pkt simulate --backend NAME``; assert that
    every scenario agrees with the kernel.  Returns how many ran.

    A scenario that disagrees is run again with ``--backend interp``: when the
    interpreter disagrees with the kernel in exactly the same words, the fault is not
    the backend's (test_simulate_* reports it against the interpreter) and the group
    ends as an xfail naming it; any other disagreement fails the test."""
    import pytest

    failures, shared, n = [], [], 0
    with backend(name):
        checks = list(GROUPS[group](name, tmp_path))   # kernel observations first (cache or lab)
        for label, check in checks:
            n += 1
            problems = check()
            if not problems:
                continue
            with backend("interp"):
                theirs = check()
            (shared if theirs == problems else failures).append(report(label, problems))
    assert not failures, (f"--backend {name}: {len(failures)} of {n} {group} scenarios disagree with the "
                          f"kernel:\n" + "\n".join(failures[:5]))
    assert n >= at_least, f"only {n} {group} scenarios ran"
    if shared:
        pytest.xfail(f"--backend {name} gives the interpreter's output, and the interpreter disagrees with the "
                     f"kernel on {len(shared)} of {n} scenarios:\n" + "\n".join(shared[:3]))
    return n
