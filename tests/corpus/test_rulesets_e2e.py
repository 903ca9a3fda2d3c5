"""Whole rulesets end to end: ``pkt -f R; pkt list ruleset`` against nft 1.0.6's answers.

For every ``generated/rulesets/NNN-name.nft`` (recorded by ``generate.py`` with the real
nft in a fresh namespace, see docs/corpus.md) this loads the file as ``nft -I . -f`` does
(from the rulesets directory, one batch on an empty ruleset), then:

* accepted or rejected as nft did; for a rejected file, the same stderr byte for byte;
* for an accepted file, ``list ruleset`` in every recorded variant (default, ``-a``,
  ``-s``, ``-t``, ``-n``, ``-nn``, ``-s -nn``) byte-identical to nft's, after nft's own
  session ended (tables with ``flags owner`` are gone).  Element ``expires`` depends on
  the clock: both sides go through ``generate.untime()``.

Each (file, check) is one case; the pass count must stay above ``FLOOR`` (raise it as
fixes land) and every failing case is written to ``rulesets_e2e_failures.txt`` with a
diff, so a regression or a fix shows up in review.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
RULESETS = HERE / "generated" / "rulesets"
FAILURES = HERE / "rulesets_e2e_failures.txt"
sys.path.insert(0, str(HERE))

FLOOR = 1.0         # measured 706/706 (100%), 129/129 identical; see the failures file header
FLOOR_RULESETS = 129  # every ruleset identical (052-redefine-undefine since bison-deeper recovery)

# variant key in expected.json -> python-nftables output flags (nft 1.0.6: -n is every
# numeric flag at once, so -n and -nn are the same)
_NUM = {"numeric_proto", "numeric_prio", "numeric_symbol", "numeric_time"}
VARIANTS = {
    "listing": set(), "listing_a": {"handle"}, "listing_s": {"stateless"}, "listing_t": {"terse"},
    "listing_n": set(_NUM), "listing_nn": set(_NUM), "listing_snn": {"stateless"} | _NUM,
}


# Features the kernel that recorded the corpus was built without (docs/corpus.md, "Facts
# about this machine"): nft's "Could not process rule" there is that kernel's config, not
# the language.  pkttables implements them, so such rulesets are counted apart.
_KERNEL_LACKS = ("secmark", "flowtable", "ibrname", "obrname", "ibrpvid", "ibrvproto", "queue")


def _kernel_config(exp: dict) -> bool:
    return exp.get("rejected_by") == "kernel" and any(w in exp["stderr"] for w in _KERNEL_LACKS)


def _untime(text: str) -> str:
    from generate import untime
    return untime(text)


def _run_one(nft_file: Path) -> list[tuple[str, str, bool, str]]:
    """[(file, check, passed, detail)] for one ruleset."""
    from pkttables.commands import Options, end_session, run_file, run_text
    from pkttables.errors import PktError
    from pkttables.model import Ruleset

    exp = json.loads(nft_file.with_name(nft_file.name[:-4] + ".expected.json").read_text())
    name = nft_file.name
    out = []
    try:
        res = run_file(name, Ruleset(), Options(include_paths=["."]))
        ok, err = True, ""
    except PktError as e:
        ok, err = False, e.render() + "\n"       # the CLI ends nft's errors with a newline
    except Exception as e:  # a traceback is a failure of its own
        ok, err = False, f"CRASH {type(e).__name__}: {e}"
    if ok and not exp["ok"] and _kernel_config(exp):
        return [(name, "kernel-config", True, "")]
    if ok != exp["ok"]:
        detail = err if not ok else "accepted; nft said:\n" + exp["stderr"]
        return [(name, "verdict", False, detail)]
    out.append((name, "verdict", True, ""))
    if not ok:
        same = err == exp["stderr"]
        detail = "" if same else "".join(difflib.unified_diff(
            exp["stderr"].splitlines(True), err.splitlines(True), "nft", "pkt", n=1))
        out.append((name, "stderr", same, detail))
        return out
    rs = end_session(res.ruleset)
    for key, flags in VARIANTS.items():
        want = exp.get(key, exp["listing"])
        try:
            got = run_text("list ruleset", rs, Options(flags=set(flags))).output
        except Exception as e:  # noqa: BLE001 - reported, never raised
            got = f"CRASH {type(e).__name__}: {e}\n"
        if exp.get("time_dependent"):
            want, got = _untime(want), _untime(got)
        same = got == want
        detail = "" if same else "".join(difflib.unified_diff(
            want.splitlines(True), got.splitlines(True), "nft", "pkt", n=0))
        out.append((name, key, same, detail))
    return out


@pytest.fixture(scope="module")
def results():
    files = sorted(RULESETS.glob("*.nft"))
    if not files:
        pytest.skip("no generated rulesets (run tests/corpus/generate.py)")
    old = os.getcwd()
    os.chdir(RULESETS)              # nft -I . -f NNN.nft, run from the rulesets directory
    try:
        res = [r for f in files for r in _run_one(f)]
    finally:
        os.chdir(old)
    return res


def test_rulesets_end_to_end(results):
    passed = sum(1 for r in results if r[2])
    total = len(results)
    files = {r[0] for r in results}
    bad_files = {r[0] for r in results if not r[2]}
    lines = [f"# test_rulesets_e2e: {passed}/{total} checks pass ({passed / total:.1%}); "
             f"{len(files) - len(bad_files)}/{len(files)} rulesets fully identical\n"]
    for name, check, ok, detail in results:
        if not ok:
            lines.append(f"\n== {name} [{check}]\n{detail}\n")
    FAILURES.write_text("".join(lines))
    assert total >= 300, "the corpus should have 100+ rulesets with several checks each"
    assert passed / total >= FLOOR, f"{passed}/{total} below the floor {FLOOR}; see {FAILURES.name}"
    assert len(files) - len(bad_files) >= FLOOR_RULESETS, f"{sorted(bad_files)}; see {FAILURES.name}"


def test_verdicts_match_nft(results):
    """Every ruleset is accepted or rejected as nft does."""
    wrong = [(r[0], r[3][:200]) for r in results if r[1] == "verdict" and not r[2]]
    assert not wrong, wrong


def test_kernel_config_rejections_are_few(results):
    """Only the features the recording kernel lacked are accepted here but not by nft."""
    assert sum(1 for r in results if r[1] == "kernel-config") <= 8


@pytest.mark.parametrize("name", ["001-hooks-ip.nft", "029-set-type-00.nft", "041-set-flags.nft",
                                  "042-set-auto-merge.nft", "044-set-typeof.nft", "059-realistic-host.nft",
                                  "093-table-owner-flag-bad.nft"])
def test_pinned_rulesets_identical(results, name):
    """Rulesets that pass every check stay that way (sets, intervals, auto-merge,
    typeof, anonymous sets and their handles, owner tables)."""
    mine = [r for r in results if r[0] == name]
    assert mine and all(r[2] for r in mine), [(r[1], r[3]) for r in mine if not r[2]]


HOME_ROUTER = HERE.parents[1] / "examples" / "home-router" / "ruleset.nft"
HOME_ROUTER_GOLDEN = HERE / "golden" / "home-router.expected.json"   # golden/capture_home_router.py


@pytest.mark.parametrize("key", ["listing", "listing_a", "listing_s", "listing_t", "listing_n", "listing_snn"])
def test_home_router_example_lists_as_nft(key):
    """The bundled example loads and lists exactly as nft 1.0.6 lists it."""
    from pkttables.commands import Options, run_file, run_text
    from pkttables.model import Ruleset
    exp = json.loads(HOME_ROUTER_GOLDEN.read_text())
    assert exp["ok"], exp["stderr"]
    rs = run_file(str(HOME_ROUTER), Ruleset()).ruleset
    got = run_text("list ruleset", rs, Options(flags=set(VARIANTS[key]))).output
    assert got == exp[key]
