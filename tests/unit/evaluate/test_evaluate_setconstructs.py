"""Set constructs against nft 1.0.6 (``nft --debug=netlink -c add rule ...``).

golden_setconstructs.json was captured by capture_setconstructs.py in a namespace:
anonymous interval sets declare nft's pre-segtree element count as their size, an
interval reaching the key's top carries the INTERVAL_OPEN element udata, wildcard
strings are prefix ranges of an interval set; errors keep nft's text and location."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkttables.commands import run_text
from pkttables.testing.nftgolden import CommandGolden

# the golden is keyed by the rule alone; nft was asked `add rule <rule>`
G = CommandGolden(Path(__file__).parent / "golden_setconstructs.json", command="add rule ")


@pytest.mark.parametrize("rule", G.params())
def test_set_construct_as_nft(rule):
    got, want = G.compare(rule)
    assert got == want


def test_wildcard_set_lists_and_matches_by_prefix():
    rs = run_text('add rule ip t c iifname { "lo", "veth*" } accept', G.base()).ruleset
    out = run_text("list chain ip t c", rs).output
    assert 'iifname { "lo", "veth*" } accept' in out
    (s,) = [s for s in rs.table("ip", "t").sets.values() if s.name.startswith("__set")]
    assert sorted(e.key for e in s.elements) == [b"lo".ljust(16, b"\0"), b"veth"]
