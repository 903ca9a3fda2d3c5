"""vlan / QinQ bytecode as nft 1.0.6 compiles it (expected text from nft --debug=netlink,
recorded in tests/corpus/generated/rules/suite.jsonl).

After a vlan header the network protocol's dependency is that header's ``vlan type``
(nft payload_gen_dependency asks the link-layer protocol of the context), and every
``vlan type 8021q``/``8021ad`` stacks the next tag 4 bytes further
(payload_expr_pctx_update adds proto_vlan's length to the link-layer offset).
"""

from __future__ import annotations

import pytest

from pkttables.commands import Options, run_text
from pkttables.model import Ruleset

_HOOK = {"bridge": "input", "netdev": "ingress", "inet": "input", "ip": "input",
         "ip6": "input"}


def _bytecode(family: str, rule: str) -> list[str]:
    hook = _HOOK[family]
    dev = ' device "lo"' if family == "netdev" else ""
    ctx = run_text(f"add table {family} t\n"
                   f"add chain {family} t c {{ type filter hook {hook}{dev} priority 0; }}",
                   Ruleset()).ruleset
    out = run_text(f"add rule {family} t c {rule}", ctx, Options(debug={"netlink"})).output
    return [ln.strip() for ln in out.splitlines()[1:] if ln.strip()]


L = "payload load 2b @ link header + {} => reg 1"
ID_MASK = "bitwise reg 1 = ( reg 1 & 0x0000ff0f ) ^ 0x00000000"
IIFTYPE = ["meta load iiftype => reg 1", "cmp eq reg 1 0x00000001"]


def _b(*lines: str) -> list[str]:
    return [f"[ {x} ]" for x in lines]


QINQ = _b(L.format(12), "cmp eq reg 1 0x0000a888",
          L.format(14), ID_MASK, "cmp eq reg 1 0x00000100",
          L.format(16), "cmp eq reg 1 0x00000081",
          L.format(18), ID_MASK, "cmp eq reg 1 0x00000200",
          L.format(20), "cmp eq reg 1 0x00000008",
          "counter pkts 0 bytes 0")

CASES = [
    # second tag's fields 4 bytes after the first (suite-vlan-00076/00077/00163)
    ("bridge", "ether type 8021ad vlan id 1 vlan type 8021q vlan id 2 vlan type ip counter", QINQ),
    ("netdev", "ether type 8021ad vlan id 1 vlan type 8021q vlan id 2 vlan type ip counter",
     _b(*IIFTYPE) + QINQ),
    ("ip6", "ether type 8021ad vlan id 1 vlan type 8021q vlan id 2 vlan type ip counter",
     _b(*IIFTYPE) + QINQ),
    # ip after a vlan header: `vlan type ip`, not `meta protocol ip` (suite-vlan-00052)
    ("bridge", "vlan id 1 ip saddr 10.0.0.1",
     _b(L.format(12), "cmp eq reg 1 0x00000081", L.format(14), ID_MASK, "cmp eq reg 1 0x00000100",
        L.format(16), "cmp eq reg 1 0x00000008",
        "payload load 4b @ network header + 12 => reg 1", "cmp eq reg 1 0x0100000a")),
    # not `meta nfproto ipv4` in inet either (suite-vlan-00147)
    ("inet", "vlan id 1 ip saddr 10.0.0.0/23",
     _b(*IIFTYPE, L.format(12), "cmp eq reg 1 0x00000081", L.format(14), ID_MASK,
        "cmp eq reg 1 0x00000100", L.format(16), "cmp eq reg 1 0x00000008",
        "payload load 4b @ network header + 12 => reg 1",
        "bitwise reg 1 = ( reg 1 & 0x00feffff ) ^ 0x00000000", "cmp eq reg 1 0x0000000a")),
    # `ether type vlan` alone puts a vlan header in the context (suite-vlan-00070)
    ("bridge", "ether type vlan ip protocol 1 accept",
     _b(L.format(12), "cmp eq reg 1 0x00000081", L.format(16), "cmp eq reg 1 0x00000008",
        "payload load 1b @ network header + 9 => reg 1", "cmp eq reg 1 0x00000001",
        "immediate reg 0 accept")),
    # icmp's network dependency after a vlan header (combo-00085)
    ("netdev", "vlan pcp != { 0 } icmp code frag-needed",
     _b(*IIFTYPE, L.format(12), "cmp eq reg 1 0x00000081",
        "payload load 1b @ link header + 14 => reg 1",
        "bitwise reg 1 = ( reg 1 & 0x000000e0 ) ^ 0x00000000", "cmp neq reg 1 0x00000000",
        L.format(16), "cmp eq reg 1 0x00000008",
        "meta load l4proto => reg 1", "cmp eq reg 1 0x00000001",
        "payload load 1b @ transport header + 1 => reg 1", "cmp eq reg 1 0x00000004")),
    # a third tag: 8 bytes after the first
    ("bridge", "ether type 8021ad vlan type 8021ad vlan type 8021q vlan id 3",
     _b(L.format(12), "cmp eq reg 1 0x0000a888", L.format(16), "cmp eq reg 1 0x0000a888",
        L.format(20), "cmp eq reg 1 0x00000081", L.format(22), ID_MASK,
        "cmp eq reg 1 0x00000300")),
]


@pytest.mark.parametrize("family,rule,want", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_qinq_bytecode_as_nft(family, rule, want):
    assert _bytecode(family, rule) == want


def test_plain_bridge_ip_keeps_meta_protocol():
    # without a vlan header nft's bridge dependency stays `meta protocol ip`
    assert _bytecode("bridge", "ip saddr 10.0.0.1")[:2] == _b(
        "meta load protocol => reg 1", "cmp eq reg 1 0x00000008")
