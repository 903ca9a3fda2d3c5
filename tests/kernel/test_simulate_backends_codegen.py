"""Issue 8 part 6: the kernel scenarios through ``pkt simulate --backend codegen``.

The scenarios, the kernel observations (simulate_cli's session cache) and the
comparisons are the test_simulate_*.py modules' (see simulate_backends.py); only
``--backend codegen`` is added to the command line.  Every scenario must agree with the
kernel as it does through the interpreter."""

from __future__ import annotations

import pytest

from simulate_backends import check_group

pytestmark = pytest.mark.kernel

BACKEND = "codegen"


def test_handwritten_scenarios(tmp_path):
    check_group(BACKEND, "handwritten", tmp_path, at_least=60)


def test_generated_scenarios(tmp_path):
    check_group(BACKEND, "generated", tmp_path, at_least=200)


def test_ctnat_scenarios(tmp_path):
    check_group(BACKEND, "ctnat", tmp_path, at_least=250)


def test_sets_natoutput_symhash_scenarios(tmp_path):
    check_group(BACKEND, "diff", tmp_path, at_least=20)


def test_report_the_cli_time():
    from simulate_backends import TIMES
    t = TIMES.get(BACKEND)
    if not t:
        pytest.skip("the scenario tests of this module did not run")
    print(f"codegen: CLI time {t}")
    assert t["cli_runs"] >= 500
