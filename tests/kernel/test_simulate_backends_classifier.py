"""Issue 8 part 6: the kernel scenarios through ``pkt simulate --backend classifier``.

The scenarios, the kernel observations (simulate_cli's session cache) and the
comparisons are the test_simulate_*.py modules' (see simulate_backends.py); only
``--backend classifier`` is added to the command line.  Every scenario must agree with the
kernel as it does through the interpreter."""

from __future__ import annotations

import pytest

from simulate_backends import CLASSIFIED, TIMES, check_group

pytestmark = pytest.mark.kernel

BACKEND = "classifier"


def test_handwritten_scenarios(tmp_path):
    check_group(BACKEND, "handwritten", tmp_path, at_least=60)


def test_generated_scenarios(tmp_path):
    check_group(BACKEND, "generated", tmp_path, at_least=200)


def test_ctnat_scenarios(tmp_path):
    check_group(BACKEND, "ctnat", tmp_path, at_least=250)


def test_sets_natoutput_symhash_scenarios(tmp_path):
    check_group(BACKEND, "diff", tmp_path, at_least=20)


def test_the_scenarios_exercised_the_classifier():
    """With PKTTABLES_CLASSIFIER_MIN_RUN=1 a good share of the scenarios' rulesets have
    classified runs (otherwise the comparison above says nothing about the classifier)."""
    if CLASSIFIED["runs"] < 100:
        pytest.skip("the scenario tests of this module did not run")
    print(f"classifier: {CLASSIFIED}, CLI time {TIMES.get(BACKEND)}")
    assert CLASSIFIED["with_runs"] >= CLASSIFIED["runs"] // 3, CLASSIFIED
