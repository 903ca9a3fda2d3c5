"""JSON output of the shared corpus (nft 1.0.6 tests/py): expected bytecode -> delinearize
-> ``rule_json``, compared with the JSON nft printed (the ``.t.json.output`` entry when
there is one, else the ``.t.json`` entry, as upstream's nft-test.py does).

The comparison is upstream's too: JSON values compared as decoded objects (key order is
not part of it), anonymous sets compared as sorted lists (they come back in kernel
order).  Options are upstream's: stateless (``-s``) and numeric protocols."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from nftpy import SUITE_DIR  # noqa: E402
from test_listing_shared import OPTS, _raw_entries, cases  # noqa: E402

from pkttables.render import parse_netlink_debug  # noqa: E402
from pkttables.render.json_output import rule_json  # noqa: E402

FAILURES = Path(__file__).parent / "json_failures.txt"

# Raised as the converter grows; the test fails if the rate falls below it.
PASS_FLOOR = 0.991      # measured 4564/4605 (99.1 %)


def _norm(v):
    """Sets compared as sorted lists (canonical JSON text of each element)."""
    if isinstance(v, dict):
        out = {k: _norm(x) for k, x in v.items()}
        if set(out) == {"set"} and isinstance(out["set"], list):
            out["set"] = sorted(out["set"], key=lambda x: json.dumps(x, sort_keys=True))
        return out
    if isinstance(v, list):
        return [_norm(x) for x in v]
    return v


def json_matches(got, want) -> bool:
    return got == want or _norm(got) == _norm(want)


def expected(c):
    return c.json_output if c.json_output is not None else c.json


def json_cases():
    for c in cases():
        if expected(c) is not None:
            yield c


def render_case(c) -> list:
    body = _raw_entries(str(SUITE_DIR / c.payload_source))[c.rule]
    sets, ins = parse_netlink_debug(body)
    return rule_json(ins, c.family, sets, OPTS)


def run_all():
    results = []
    for c in json_cases():
        try:
            got = render_case(c)
            ok = json_matches(got, expected(c))
        except Exception as e:  # noqa: BLE001 - a failure to record, not to raise
            got, ok = f"!! {type(e).__name__}: {e}", False
        results.append((c, got, ok))
    return results


def test_json_shared_pass_rate():
    results = run_all()
    passed = sum(ok for _, _, ok in results)
    rate = passed / len(results)
    with open(FAILURES, "w") as f:
        f.write(f"# {passed}/{len(results)} pass ({rate:.1%})\n")
        for c, got, ok in results:
            if not ok:
                g = got if isinstance(got, str) else json.dumps(got, sort_keys=True)
                f.write(f"{c.file}:{c.lineno} [{c.family}] {c.rule}\n"
                        f"  want: {json.dumps(expected(c), sort_keys=True)}\n  got:  {g}\n")
    print(f"json: {passed}/{len(results)} = {rate:.1%}")
    assert rate >= PASS_FLOOR


@pytest.mark.parametrize("rule,family", [
    ("tcp dport 22", "inet"),                       # dependency removed, port as a number
    ("ct state established accept", "ip"),          # bitmask: op "in"
    ("log flags all", "ip"),                        # one-element flag array prints the element
    ("queue flags bypass to 65535", "ip"),
    ("tcp option 255 missing", "ip"),               # raw tcp option form
    ("fib daddr oif exists", "ip"),                 # exists as true
    ("fib saddr . iif oif ne 0", "ip"),             # iface_index printed as text
    ("ct expiration 1m-1h", "ip"),                  # time as seconds (the text listing fails)
    ("ct expiration {33-55, 66-88}", "ip"),
    ("queue", "ip"),                                # the kernel's queue number 0 is printed
])
def test_exact(rule, family):
    for c in json_cases():
        if c.rule == rule and c.family == family:
            assert json_matches(render_case(c), expected(c))
            return
    pytest.fail("case not in corpus")
