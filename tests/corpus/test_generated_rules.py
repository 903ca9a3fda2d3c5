"""Our generated rule corpus (``generated/rules/*.jsonl``) run through pkttables.

Every record is what nft 1.0.6 answered for one ``add rule FAMILY t CHAIN RULE`` in a
table holding the context of ``generated/contexts.json`` (docs/corpus.md, section 2).
The context of each family is loaded once with :func:`pkttables.commands.run_text`;
every record is then added alone to that (immutable) generation with
``--debug=netlink``, and its chain is listed.  Checks per record:

* ``verdict``: accepted or rejected as nft did.  Records nft rejected "by the kernel"
  (``Could not process rule``: features the recording kernel lacks, or the kernel's own
  checks such as ``snat`` in an output chain) are counted apart as ``kernel``: a pass
  when we reject them with nft's text or accept a feature the kernel merely lacked.
  nft's own aborts and crashes (``abort``/``crash``) are not language answers: counted
  apart, never failures.
* ``stderr``: for rejections by nft's parser or evaluator, the same text byte for byte.
* ``bytecode``: ``--debug=netlink`` output equal to nft's.
* ``listing``, ``listing_snn``, ``listing_a`` (handle stripped), ``listing_n``/``_nn``/
  ``_s``/``_t`` where recorded: the rule line equal to nft's.
* ``json``: the rule object of ``-j list`` equal to nft's without its ``handle``
  (compared as sorted-key JSON text: the recording sorted the keys, so key order is
  not checked here; ``tests/unit/render`` pins it).

Rates per topic and per check are written with every failure to
``generated_rules_failures.txt``; ``FLOORS`` are raised as gaps are fixed.
``python tests/corpus/test_generated_rules.py [TOPIC ...]`` prints the table.
"""

from __future__ import annotations

import collections
import contextlib
import glob
import json
import os
import re
import sys
import time
from functools import lru_cache
from pathlib import Path

import pytest

HERE = Path(__file__).parent
GEN = HERE / "generated"
FAILURES = HERE / "generated_rules_failures.txt"

# measured rates; a check falling below its floor fails the test (raise as fixes land)
FLOORS = {"verdict": 0.9998, "stderr": 0.9999, "bytecode": 0.9999, "listing": 0.9999,
          "listing-variants": 0.9999, "json": 0.9999}

_VARIANTS = {
    "listing": "", "listing_snn": "-s -nn", "listing_a": "-a", "listing_n": "-n",
    "listing_nn": "-nn", "listing_s": "-s", "listing_t": "-t",
}
_HANDLE = re.compile(r" # handle \d+$")


def records(topics: tuple[str, ...] = ()) -> list[dict]:
    out = []
    for f in sorted(glob.glob(str(GEN / "rules" / "*.jsonl"))):
        if topics and Path(f).stem not in topics:
            continue
        with open(f, encoding="utf-8") as fh:
            out.extend(json.loads(line) for line in fh)
    return out


@lru_cache(maxsize=None)
def context(family: str):
    """The family's table ``t`` with its chains, sets, maps and objects (one batch)."""
    from pkttables.commands import run_text
    from pkttables.model import Ruleset
    ctx = json.loads((GEN / "contexts.json").read_text())[family]
    return run_text("\n".join(ctx["table_decl"]), Ruleset()).ruleset


@lru_cache(maxsize=None)
def _opts(flags: str):
    from pkttables.render import ListOptions
    return ListOptions.from_flags(flags)


def check_record(r: dict) -> list[tuple[str, bool, str]]:
    """[(check, passed, detail)] for one record; checks as in the module docstring."""
    from pkttables.commands import Options, run_text
    from pkttables.errors import PktError
    from pkttables.render import text as T
    from pkttables.render.json_output import rule_obj_json

    try:
        res = run_text(r["command"], context(r["family"]), Options(debug={"netlink"}))
        ok, out, err = True, res.output, ""
    except PktError as e:
        ok, out, err = False, getattr(e, "output", ""), e.render() + "\n"
    except Exception as e:  # noqa: BLE001 - a traceback is a failure of its own
        return [("verdict", False, f"CRASH {type(e).__name__}: {e}")]
    by = r["rejected_by"]
    if by in ("abort", "crash"):
        return [("nft-" + by, True, "")]
    if by == "kernel":
        if ok:
            return [("kernel", True, "accepted (this kernel's missing feature or check)")]
        return [("kernel", err == r["stderr"], _diff(r["stderr"], err))]
    if ok != r["ok"]:
        return [("verdict", False, err if not ok else "accepted; nft said:\n" + r["stderr"])]
    checks = [("verdict", True, "")]
    if not ok:
        checks.append(("stderr", err == r["stderr"], _diff(r["stderr"], err)))
        return checks
    checks.append(("bytecode", out == r["bytecode"], _diff(r["bytecode"], out)))
    if "listing_error" in r:
        return checks
    rs = res.ruleset
    table = rs.table(r["family"], "t")
    chain = rs.chain(r["family"], "t", r["chain"])
    rule = list(chain.rules)[-1]
    for key, flags in _VARIANTS.items():
        if key not in r:
            continue
        want = r[key]
        try:
            got = T.rule_line(rule, r["family"], _opts(flags), table)
        except Exception as e:  # noqa: BLE001
            got = f"CRASH {type(e).__name__}: {e}"
        if key == "listing_a":
            want, got = _HANDLE.sub("", want), _HANDLE.sub("", got)
        checks.append(("listing" if key == "listing" else "listing-variants", got == want,
                       f"{key}\n  nft: {want}\n  pkt: {got}"))
    want = dict(r["json"])
    want.pop("handle", None)
    try:
        got = rule_obj_json(rule, chain, table, _opts(""))["rule"]
        got.pop("handle", None)
        got_s = json.dumps(got, sort_keys=True)
    except Exception as e:  # noqa: BLE001
        got_s = f"CRASH {type(e).__name__}: {e}"
    want_s = json.dumps(want, sort_keys=True)
    checks.append(("json", got_s == want_s, f"\n  nft: {want_s}\n  pkt: {got_s}"))
    return checks


def _diff(want: str, got: str) -> str:
    if want == got:
        return ""
    return "\n  nft: " + want.rstrip("\n").replace("\n", "\n       ") + \
           "\n  pkt: " + got.rstrip("\n").replace("\n", "\n       ")


@contextlib.contextmanager
def recording_timezone():
    """The corpus was recorded on a machine at UTC+2 (``meta hour "17:00"`` is
    0xd2f0 = 15:00 UTC in its bytecode, ``meta time`` lists 2 hours ahead): evaluate and
    list in that zone (POSIX ``UTC-2``), then restore the process's own."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC-2"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


def run(recs: list[dict]) -> tuple[dict, list]:
    """(rates {check: {topic: [pass, total]}}, failures [(record, check, detail)])."""
    with recording_timezone():
        return _run(recs)


def _run(recs: list[dict]) -> tuple[dict, list]:
    rates: dict = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0]))
    fails = []
    for r in recs:
        for check, passed, detail in check_record(r):
            for topic in (r["topic"], "ALL"):
                cell = rates[check][topic]
                cell[0] += passed
                cell[1] += 1
            if not passed:
                fails.append((r, check, detail))
    return rates, fails


def report(rates: dict, fails: list) -> str:
    checks = [c for c in ("verdict", "stderr", "bytecode", "listing", "listing-variants", "json",
                          "kernel", "nft-abort", "nft-crash") if c in rates]
    topics = sorted({t for c in rates.values() for t in c if t != "ALL"}) + ["ALL"]
    lines = ["# test_generated_rules: rates per topic (pass/total)\n",
             "# " + "topic".ljust(14) + "".join(c.rjust(18) for c in checks) + "\n"]
    for t in topics:
        row = "# " + t.ljust(14)
        for c in checks:
            p, n = rates[c].get(t, [0, 0])
            row += (f"{p}/{n} {p / n:.1%}" if n else "-").rjust(18)
        lines.append(row + "\n")
    for r, check, detail in sorted(fails, key=lambda f: (f[1], f[0]["id"])):
        lines.append(f"\n== {r['id']} [{check}] {r['command']}\n{detail}\n")
    return "".join(lines)


@pytest.fixture(scope="module")
def results():
    recs = records()
    if not recs:
        pytest.skip("no generated corpus (run tests/corpus/generate.py)")
    rates, fails = run(recs)
    FAILURES.write_text(report(rates, fails))
    return rates, fails


@pytest.mark.parametrize("check", sorted(FLOORS))
def test_rate_above_floor(results, check):
    rates, _ = results
    p, n = rates[check]["ALL"]
    assert n > 0
    assert p / n >= FLOORS[check], f"{check}: {p}/{n} below {FLOORS[check]}; see {FAILURES.name}"


def test_kernel_rejections_counted_apart(results):
    """Rules nft rejected through the kernel are neither passes nor failures of the
    language: there are some, and none crashes us."""
    rates, fails = results
    assert rates["kernel"]["ALL"][1] >= 500
    assert not [f for f in fails if f[2].startswith("CRASH")], "tracebacks: see the failures file"


def test_no_traceback_on_any_record(results):
    _, fails = results
    crashes = [(f[0]["id"], f[2][:120]) for f in fails if f[2].startswith("CRASH")]
    assert not crashes


if __name__ == "__main__":
    rates, fails = run(records(tuple(sys.argv[1:])))
    text = report(rates, fails)
    print(text.split("\n== ")[0])
    if not sys.argv[1:]:
        FAILURES.write_text(text)
