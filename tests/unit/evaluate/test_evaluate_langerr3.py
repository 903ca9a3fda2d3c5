"""nft 1.0.6's answers to set/map/element/dynset forms and accept/reject leftovers
(``nft --debug=netlink -c``), captured by capture_langerr3.py into golden_langerr3.json.

Accepted cases compare the set declarations and bytecode; refused ones the error text
byte for byte (kernel refusals included: nft prints its bytecode first, we stop at the
error)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkttables.commands import run_text
from pkttables.testing.nftgolden import CommandGolden

G = CommandGolden(Path(__file__).parent / "golden_langerr3.json")


@pytest.mark.parametrize("cmd", G.params())
def test_as_nft(cmd):
    got, want = G.compare(cmd)
    assert got == want


def test_wildcard_in_concatenation_lists_as_written():
    rs = run_text('add rule ip t c iifname . tcp dport { "lo" . 22, "veth*" . 23 } accept',
                  G.base()).ruleset
    out = run_text("list chain ip t c", rs).output
    assert 'iifname . tcp dport { "lo" . 22, "veth*" . 23 } accept' in out


def test_dynset_concatenated_data_bytecode():
    got = G.answer("add rule ip t c update @mc { ip saddr : 1.2.3.4 . 80 }")
    assert got["rc"] == 0
    assert "[ immediate reg 2 0x04030201 ]" in got["stdout"]
    assert "[ dynset update reg_key 1 set mc sreg_data 2 ]" in got["stdout"]
