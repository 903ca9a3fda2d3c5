"""nft 1.0.6's answers to round 8's scoped keyword names, limit burst units, ct object keys and nat flags
(``nft --debug=netlink -c``), captured by capture_langerr5.py into golden_langerr5.json.

Accepted cases compare the set declarations and bytecode; refused ones the error text
byte for byte (kernel refusals included: nft prints its bytecode first, we stop at the
error)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkttables.testing.nftgolden import CommandGolden

G = CommandGolden(Path(__file__).parent / "golden_langerr5.json")


@pytest.mark.parametrize("cmd", G.params())
def test_as_nft(cmd):
    got, want = G.compare(cmd)
    assert got == want
