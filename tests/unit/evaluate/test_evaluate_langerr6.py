"""nft 1.0.6's answers to round 9's protocol conflicts (arp/vlan/QinQ/icmp), raw payload bases, socket and flow expecting lists, prefix masks and nat families
(``nft --debug=netlink -c``), captured by capture_langerr6.py into golden_langerr6.json.

Accepted cases compare the set declarations and bytecode; refused ones the error text
byte for byte (kernel refusals included: nft prints its bytecode first, we stop at the
error)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkttables.testing.nftgolden import CommandGolden

# Cases where we still differ from nft 1.0.6 (docs/known-differences.md section 3):
# mostly the protocol-conflict resolution of arp/vlan/QinQ/icmp and `meta nfproto`.
# strict xfail: a fix that makes one agree fails here until it leaves this list.
KNOWN = {
}

G = CommandGolden(Path(__file__).parent / "golden_langerr6.json", known=KNOWN)


@pytest.mark.parametrize("cmd", G.params())
def test_as_nft(cmd):
    got, want = G.compare(cmd)
    assert got == want
