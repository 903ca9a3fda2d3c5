"""Capture nft 1.0.6's answers for golden_langerr3.json (set/map/element/dynset forms,
accept/reject leftovers, error texts).

Run as root with nft:  python tests/unit/evaluate/capture_langerr3.py
Every case is one command checked with ``nft --debug=netlink -c`` in a namespace
``pktlg<pid>`` (always deleted) holding SETUP; rc, stdout (set declarations and
bytecode) and stderr are recorded.
"""

from __future__ import annotations

from pathlib import Path

from pkttables.testing.nftgolden import capture, tables_setup

HERE = Path(__file__).parent
SETUP = tables_setup(
    "add set ip t s { type ipv4_addr; flags dynamic,timeout; }",
    "add map ip t m { type ipv4_addr : mark; flags dynamic,timeout; }",
    "add map ip t mc { type ipv4_addr : ipv4_addr . inet_service; flags dynamic,timeout; }",
    "add set ip t cs { type ipv4_addr . inet_service; flags dynamic,timeout; }",
    "add map ip t vm { type ipv4_addr : verdict; }",
    "add set ip t p { type ipv4_addr; }",
    "add set ip t d { type ipv4_addr; flags dynamic; }",
)

CASES = [
    # dynset: key [timeout|expires|comment] [stateful...] [: data]
    "add rule ip t c add @m { ip saddr timeout 10s : 0x5 }",
    "add rule ip t c update @m { ip saddr timeout 10s : 0x5 }",
    "add rule ip t c add @m { ip saddr timeout 10s counter : 0x5 }",
    "add rule ip t c add @m { ip saddr timeout 10s expires 1s : 0x5 }",
    "add rule ip t c add @m { ip saddr timeout 3s counter : meta mark }",
    "add rule ip t c add @m { ip saddr counter timeout 10s : 0x5 }",
    "add rule ip t c add @m { ip saddr : 0x5 counter }",
    "add rule ip t c add @m { ip saddr : 0x5 timeout 10s }",
    "add rule ip t c add @m { ip saddr : 0x5 expires 1s }",
    "add rule ip t c add @m { ip saddr : 0x5 comment \"x\" }",
    "add rule ip t c add @m { ip saddr comment \"x\" : 0x5 }",
    "add rule ip t c add @m { ip saddr : ip daddr }",
    "add rule ip t c add @m { ip saddr }",
    "add rule ip t c delete @m { ip saddr }",
    "add rule ip t c add @s { ip saddr counter timeout 10s }",
    "add rule ip t c add @s { ip saddr timeout 10s counter limit rate 1/second }",
    "add rule ip t c add @s { ip saddr comment \"x\" }",
    "add rule ip t c add @s { ip saddr last }",
    "add rule ip t c add @s { ip saddr log }",
    "add rule ip t c add @s { ip saddr accept }",
    "add rule ip t c add @s { ip saddr counter name cnt }",
    "add rule ip t c add @s { tcp dport }",
    "add rule ip t c add @s { meta mark }",
    "add rule ip t c add @s { ip saddr . ip daddr timeout 1s }",
    "add rule ip t c add @cs { ip saddr }",
    "add rule ip t c add @s { 1.2.3.4 }",
    "add rule ip t c add @cs { 1.2.3.4 . 80 }",
    # concatenated map data
    "add rule ip t c update @mc { ip saddr : 1.2.3.4 . 80 }",
    "add rule ip t c update @mc { ip saddr timeout 5s : 1.2.3.4 . 80 }",
    "add rule ip t c update @mc { ip saddr : 1.2.3.4 . http }",
    "add rule ip t c update @mc { ip saddr : ip daddr . 80 }",
    "add rule ip t c update @mc { ip saddr : ip daddr . tcp dport }",
    "add rule ip t c update @mc { ip saddr : 1.2.3.4 }",
    # the older set statement
    "add rule ip t c set add ip saddr counter @s",
    "add rule ip t c set add ip saddr : 1 @m",
    # meters
    "add rule ip t c meter foo { ip saddr comment \"x\" counter }",
    "add rule ip t c meter foo { ip saddr timeout 1s counter }",
    # anonymous set elements: statements first, then options
    "add rule ip t c ip saddr { 1.2.3.4 counter timeout 1s }",
    "add rule ip t c ip saddr { 1.2.3.4 timeout 1s counter }",
    "add rule ip t c ip saddr { 1.2.3.4 comment \"a\" counter }",
    "add rule ip t c ip saddr { 1.2.3.4 ct count 2 }",
    "add rule ip t c ip saddr { 1.2.3.4 timeout 1s }",
    "add rule ip t c ip saddr { 1.2.3.4 comment \"x\" }",
    "add rule ip t c tcp dport { 1-5 counter }",
    "add rule ip t c tcp dport { 1-5 counter, 7 }",
    "add rule ip t c ip saddr { 1.2.3.4 ct count over 2 }",
    "add rule ip t c ip saddr { 1.2.3.4 quota 1 mbytes }",
    "add rule ip t c ip saddr { 1.2.3.4 last }",
    "add rule ip t c ip saddr vmap { 1.2.3.4 counter : accept }",
    "add rule ip t c ip saddr vmap { 1.2.3.4 timeout 1s : accept }",
    "add rule ip t c meta mark set ip saddr map { 1.2.3.4 : 1 timeout 1s }",
    "add rule ip t c ip saddr . tcp dport { 1.2.3.4 . 22 timeout 1s }",
    # catch-all in sets
    "add rule ip t c ip saddr { * }",
    "add rule ip t c ip saddr { 1.2.3.4, * }",
    "add rule ip t c ip saddr . tcp dport { * }",
    "add rule ip t c ip saddr . tcp dport { * . 22 }",
    # wildcard strings inside a concatenation: a concatenated interval set
    "add rule ip t c iifname . tcp dport { \"veth*\" . 22 }",
    "add rule ip t c iifname . tcp dport { \"lo\" . 22, \"veth*\" . 23 } accept",
    # accept/reject leftovers (issue 3 section 3)
    "add rule ip t c meta mark 0x10 | 0x04",
    "add rule ip t c ct mark 0x10 & 0x04",
    "add rule ip t c tcp dport 1 | 2",
    "add rule ip t c meta mark != 0x10 | 0x04 | 0x1",
    "add rule ip t c queue num 3-2",
    "add rule ip t c queue to 3-2",
    "add rule ip t c queue flags bypass",
    "add rule ip t c queue flags bypass counter",
    "add rule ip t c queue to 1-2 bypass",
    "add rule ip t c queue to 1-2 bypass counter",
    "add rule ip t c queue to 1 bypass",
    "add rule ip t c queue to 1 fanout",
    "add rule ip t c queue to 1 flags bypass",
    "add rule ip t c queue num 1 flags bypass",
    "add rule ip t c queue to symhash mod 2 flags bypass",
    "add rule ip t c queue to numgen inc mod 2 bypass",
    "add rule ip t c meta mark set symhash mod 2 seed 1",
    "add rule ip t c meta mark set symhash mod 2 offset 1",
    "add rule ip t c meta mark set jhash ip saddr mod 2 seed 1 offset 2",
    "add rule ip t c comment \"x\"",
    "add rule ip t c comment \"x\" counter",
    "add rule ip t c counter comment \"x\"",
    "add rule ip6 t c exthdr rt0 exists",
    "add rule ip6 t c exthdr rt2 exists counter",
    "add rule ip6 t c exthdr srh exists",
    "add rule ip6 t c exthdr rt exists",
    "add rule ip t c ah nexthdr set esp",
    "add rule ip t c ip protocol set comp",
    "add rule ip t c meta mark set esp",
    "add rule ip t c tcp option window kind 3",
    "add rule ip t c tcp option window kind 3 accept",
    "add rule ip t c tcp option window kind != 3",
    "add rule ip t c tcp option maxseg kind { 3 }",
    "add rule ip t c tcp option window length 3",
    # named set elements
    "add element ip t m { 1.2.3.4 : 0x1 timeout 1s }",
    "add element ip t m { 1.2.3.4 timeout 1s : 0x1 }",
    "add element ip t m { 1.2.3.4 : 0x1 comment \"x\" }",
    "add element ip t p { 1.2.3.4 counter }",
    "add element ip t d { 1.2.3.4 counter }",
    "add element ip t s { 1.2.3.4 timeout 1s counter }",
]


if __name__ == "__main__":
    capture(CASES, SETUP, HERE / "golden_langerr3.json", "pktlg")
