"""nft 1.0.6's answers to round 7's accept/reject leftovers and bison's token names
(``nft --debug=netlink -c``), captured by capture_langerr4.py into golden_langerr4.json.

Accepted cases compare the set declarations and bytecode; refused ones the error text
byte for byte (kernel refusals included: nft prints its bytecode first, we stop at the
error)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkttables.testing.nftgolden import CommandGolden

G = CommandGolden(Path(__file__).parent / "golden_langerr4.json")


@pytest.mark.parametrize("cmd", G.params())
def test_as_nft(cmd):
    got, want = G.compare(cmd)
    assert got == want
