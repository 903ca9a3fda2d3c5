"""Issue 8 part 6: the kernel scenarios through ``pkt simulate --backend codegen`` and
``--backend classifier``.

The scenarios, the kernel observations (simulate_cli's session cache) and the
comparisons are the test_simulate_*.py modules' (see simulate_backends.py); only
``--backend NAME`` is added to the command line.  Every scenario must agree with the
kernel as it does through the interpreter."""

from __future__ import annotations

import pytest

from simulate_backends import CLASSIFIED, TIMES, check_group

pytestmark = pytest.mark.kernel

BACKENDS = ("codegen", "classifier")

#: scenario group -> how many scenarios it must have at least
GROUPS = {"handwritten": 60, "generated": 200, "ctnat": 250, "diff": 20}


@pytest.mark.parametrize("group", list(GROUPS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_scenarios_agree_with_the_kernel(backend, group, tmp_path):
    check_group(backend, group, tmp_path, at_least=GROUPS[group])


def test_report_the_codegen_cli_time():
    t = TIMES.get("codegen")
    if not t:
        pytest.skip("the codegen scenario tests of this module did not run")
    print(f"codegen: CLI time {t}")
    assert t["cli_runs"] >= 500


def test_the_scenarios_exercised_the_classifier():
    """With PKTTABLES_CLASSIFIER_MIN_RUN=1 a good share of the scenarios' rulesets have
    classified runs (otherwise the comparison above says nothing about the classifier)."""
    if CLASSIFIED["runs"] < 100:
        pytest.skip("the classifier scenario tests of this module did not run")
    print(f"classifier: {CLASSIFIED}, CLI time {TIMES.get('classifier')}")
    assert CLASSIFIED["with_runs"] >= CLASSIFIED["runs"] // 3, CLASSIFIED
