"""nft 1.0.6's answers to ERR8's cases (``nft --debug=netlink -c``), captured by
capture_err8.py into golden_err8.json: payload merging as nft's rule_postprocess
(stmt_reduce) does it, the ``ether type`` network dependency once inet/netdev know the
link layer is Ethernet, and the other last differences of issue 3.

Accepted cases compare the set declarations and bytecode; refused ones the error text
byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkttables.testing.nftgolden import CommandGolden

# strict xfails: where we still differ (docs/known-differences.md)
KNOWN: dict[str, str] = {}

G = CommandGolden(Path(__file__).with_name("golden_err8.json"), known=KNOWN, command="add rule ")


@pytest.mark.parametrize("case", G.params())
def test_as_nft(case):
    got, want = G.compare(case)
    assert got == want


def test_golden_has_merges():
    # the golden is not empty and holds the cases this round is about
    out = G.answer("bridge t c vlan id 2 ether saddr 0:1:2:3:4:6")["stdout"]
    assert "payload load 8b @ link header + 6" in out
