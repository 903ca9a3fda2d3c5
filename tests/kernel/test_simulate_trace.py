"""Issue 7: ``pkt simulate --trace`` prints what ``nft monitor trace`` printed on the
kernel for the same traffic.

test_trace_kernel runs each of its scenarios in a KernelLab with ``nft monitor trace``
running; simulate_cli records the lab's steps and the monitor's lines
(``kernel_trace`` is wrapped when the tests are collected).  pytest runs this module
after test_trace_kernel (simulate_cli's collection hook), and each recorded scenario goes
through ``pkt simulate --trace`` with the injections at the sum of their delays.  The
trace lines on stdout are compared with the kernel's after test_trace_kernel.masked
(trace ids renumbered in order of appearance, as that module compares them), and the
frames, send errors and counters as test_simulate_kernellab compares them."""

from __future__ import annotations

import pytest

from simulate_cli import KL_SESSIONS, diff_times, report, run_cli, segments

pytest_plugins = ["simulate_cli"]
pytestmark = pytest.mark.kernel


def test_trace_scenarios_through_the_cli(tmp_path):
    from test_trace_kernel import masked

    sessions = [s for s in KL_SESSIONS.get("test_trace_kernel", []) if s.trace is not None]
    if not sessions:
        pytest.skip("test_trace_kernel did not run in this session: no kernel trace was recorded "
                    "(run tests/kernel/test_trace_kernel.py with this module)")
    bad, lines = [], 0
    for i, s in enumerate(sessions):
        (seg,) = [g for g in segments(s, unobserved=True) if g.traffic] or [None]
        assert seg is not None and not seg.why, s.test
        d = tmp_path / f"t{i}"
        d.mkdir()
        run = run_cli(d, s.host, seg.ruleset, seg.traffic, diff_times(seg.traffic), flags=("--trace",))
        ours = [ln for ln in run.stdout.splitlines() if ln.startswith("trace id ")]
        want, got = masked(s.trace), masked(ours)
        lines += len(want)
        problems = []
        if got != want:
            extra = [f"  {'-' if a != b else ' '} {a}\n  {'+' if a != b else ' '} {b}"
                     for a, b in zip(want + [""] * len(got), got + [""] * len(want)) if a != b][:6]
            problems.append(f"trace lines differ ({len(want)} kernel, {len(got)} simulate):\n" + "\n".join(extra))
        if run.rc != 0:
            problems.append(f"exit {run.rc}: {run.stderr}")
        if problems:
            bad.append(report(s.test, problems))
    print(f"test_trace_kernel: {len(sessions)} scenarios, {lines} trace lines compared, {len(bad)} disagree")
    assert lines > 0
    assert not bad, "\n".join(bad)
