"""vlan / QinQ listings as nft 1.0.6 prints them (expected text from `nft list ruleset`,
recorded in tests/corpus/generated/rules/suite.jsonl and checked in a namespace).

The second tag of an 802.1ad frame is read 4 bytes after the first; a tag the user
wrote (`ether type 8021ad`, `vlan type 8021q`) stays in bridge/netdev tables, while
ip/ip6 tables release them as dependencies of the vlan field after them.
"""

from __future__ import annotations

import pytest

from pkttables.commands import run_text
from pkttables.model import Ruleset
from pkttables.render import ListOptions
from pkttables.render import text as T

_HOOK = {"bridge": "input", "netdev": "ingress", "inet": "input", "ip": "input", "ip6": "input"}


def _listing(family: str, rule: str) -> str:
    hook = _HOOK[family]
    dev = ' device "lo"' if family == "netdev" else ""
    rs = run_text(f"add table {family} t\n"
                  f"add chain {family} t c {{ type filter hook {hook}{dev} priority 0; }}\n"
                  f"add rule {family} t c {rule}", Ruleset()).ruleset
    chain = rs.chain(family, "t", "c")
    return T.rule_line(list(chain.rules)[-1], family, ListOptions.from_flags(""),
                       rs.table(family, "t"))


QINQ = "ether type 8021ad vlan id 1 vlan type 8021q vlan id 2 vlan type ip counter"

CASES = [
    ("bridge", QINQ, QINQ + " packets 0 bytes 0"),
    ("netdev", QINQ, QINQ + " packets 0 bytes 0"),
    ("ip6", QINQ, "vlan id 1 vlan id 2 vlan type ip counter packets 0 bytes 0"),
    ("ip6", "ether type 8021ad vlan id 0 vlan type 8021q vlan id 2 vlan type ip counter",
     "vlan id 0 vlan id 2 vlan type ip counter packets 0 bytes 0"),
    ("bridge", "ether type 8021ad vlan id 1 ip protocol 6 accept",
     "ether type 8021ad vlan id 1 ip protocol tcp accept"),
    # the network field releases `vlan type ip` (suite-vlan-00079)
    ("bridge", QINQ.replace(" counter", " ip protocol 6"),
     "ether type 8021ad vlan id 1 vlan type 8021q vlan id 2 ip protocol tcp"),
    ("bridge", "vlan id 1 ip saddr 10.0.0.1", "vlan id 1 ip saddr 10.0.0.1"),
    ("bridge", "ether type 8021ad vlan type 8021ad vlan type 8021q vlan id 3",
     "ether type 8021ad vlan type 8021ad vlan type 8021q vlan id 3"),
]


@pytest.mark.parametrize("family,rule,want", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_qinq_listing_as_nft(family, rule, want):
    assert _listing(family, rule) == want
