"""Set constructs against nft 1.0.6 (``nft --debug=netlink -c add rule ...``).

golden_setconstructs.json was captured by capture_setconstructs.py in a namespace:
anonymous interval sets declare nft's pre-segtree element count as their size, an
interval reaching the key's top carries the INTERVAL_OPEN element udata, wildcard
strings are prefix ranges of an interval set; errors keep nft's text and location."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pkttables.commands import Options, run_text
from pkttables.errors import PktError
from pkttables.model import Ruleset

GOLDEN = json.loads((Path(__file__).parent / "golden_setconstructs.json").read_text())
_BASE: list = []


def _base() -> Ruleset:
    if not _BASE:
        _BASE.append(run_text(GOLDEN["setup"], Ruleset()).ruleset)
    return _BASE[0]


def _pkt(rule: str) -> dict:
    try:
        res = run_text("add rule " + rule, _base(), Options(debug={"netlink"}))
    except PktError as e:
        return {"rc": 1, "stdout": "", "stderr": e.render() + "\n"}
    return {"rc": 0, "stdout": res.output, "stderr": ""}


@pytest.mark.parametrize("rule", sorted(GOLDEN["cases"]))
def test_set_construct_as_nft(rule):
    want, got = GOLDEN["cases"][rule], _pkt(rule)
    if want["rc"]:
        # nft prints the bytecode before the kernel refuses it; we stop at the error
        want = dict(want, stdout="")
    assert got == want


def test_wildcard_set_lists_and_matches_by_prefix():
    rs = run_text('add rule ip t c iifname { "lo", "veth*" } accept', _base()).ruleset
    out = run_text("list chain ip t c", rs).output
    assert 'iifname { "lo", "veth*" } accept' in out
    (s,) = [s for s in rs.table("ip", "t").sets.values() if s.name.startswith("__set")]
    assert sorted(e.key for e in s.elements) == [b"lo".ljust(16, b"\0"), b"veth"]
