"""Capture nft 1.0.6's answers for set constructs into golden_setconstructs.json.

Run as root with nft:  python tests/unit/evaluate/capture_setconstructs.py
Every case is one ``add rule`` checked with ``nft --debug=netlink -c`` in a namespace
``pktlf<pid>`` (always deleted) holding tables ``t`` of every family with a chain
``c``; rc, stdout (the set declarations and the bytecode) and stderr are recorded.
"""

from __future__ import annotations

from pathlib import Path

from pkttables.testing.nftgolden import capture, tables_setup

HERE = Path(__file__).parent
SETUP = tables_setup("add set ip t s { type ipv4_addr; flags dynamic,timeout; }")

RULES = [
    # interval set size: two per interval after the automerge, +1 leading zero segment,
    # +1 catch-all; an interval reaching the key's top carries INTERVAL_OPEN udata
    "ip t c tcp dport {1, 2-3}",
    "ip t c tcp dport {1-5, 3-4, 9}",
    "ip t c tcp dport {1, 1-3}",
    "ip t c tcp dport {22, 1024-65535, ssh}",
    "ip t c tcp dport {1-2, 65535, 4}",
    "ip t c tcp dport {65535, 1-3}",
    "ip t c tcp dport {0, 4-127, 255}",
    "ip t c ip saddr {10.0.0.0/8, 255.255.255.0/24}",
    "ip t c tcp dport vmap {250-65535 : drop, 1 : accept}",
    "ip t c tcp dport vmap {1-2 : accept, 3 : drop, * : drop}",
    "ip t c tcp dport vmap {0-2 : accept, 65535 : drop, * : drop}",
    "ip t c ip hdrlength vmap { 0-4 : drop, 5 : accept, 6 : continue }",
    "ip t c meta mark set tcp dport map { 0-5 : 1, 6-9 : 2 }",
    "ip t c tcp dport {5, 5, 5}",
    # wildcard strings make an interval set of prefix ranges
    'ip t c iifname { "lo", "veth*" }',
    'ip t c meta oifname { "veth0", "ppp*" }',
    'ip t c iifname { "lo", "eth*", "dum0" }',
    'ip t c iifname != { "lo", "veth*" }',
    'ip t c iifname vmap { "lo" : accept, "veth*" : drop }',
    'ip t c meta mark set iifname map { "lo" : 1, "veth*" : 2 }',
    # overlapping intervals of a map: the later-starting element (^) and the one before (~);
    # equal ranges pass nft, and the kernel refuses them when the data differ
    "ip t c ip saddr vmap { 10.0.1.0-10.0.1.255 : accept, 10.0.1.1-10.0.2.255 : drop }",
    "ip t c ip saddr vmap { 3.3.3.3-3.3.3.4 : accept, 1.1.1.1-1.1.1.255 : accept, 1.1.1.0-1.1.2.1 : drop}",
    "ip t c ct mark set ip saddr map { 10.0.0.0/8 : 1, 0.0.0.0/0 : 2 }",
    "ip t c tcp dport vmap { 1-3 : accept, 1-3 : drop }",
    "ip t c tcp dport vmap { 1-3 : accept, 1-3 : accept }",
    "ip t c tcp dport vmap { 1 : accept, 1 : drop, 5-6 : accept }",
    # the set grammar: one element at least, commas
    "ip t c tcp dport { }",
    "ip t c tcp dport {1,,2}",
    "ip t c tcp dport {1, ) }",
    "ip t c tcp dport {1, != 2}",
    "ip t c tcp dport {1, -1}",
    "ip t c tcp dport { , 1}",
    "ip t c tcp dport vmap { 1 : accept, }",
    # the older set statement: set add|update KEY [timeout T] @set
    "ip t c set add ip saddr @s",
    "ip t c set update ip saddr timeout 10s @s",
    "ip6 t c set add ip saddr @s",
    "ip t c add @nosuch { ip saddr }",
    "ip t c set add ip saddr @nosuch",
    "ip t c update @nosuch { ip saddr timeout 1s }",
    # (not sets) a statement after a terminal one: the terminal statement is marked ~
    "ip t c tcp dport { 22 } accept meta mark set 1",
    "ip t c accept log prefix \"x\" drop",
    "ip t c drop counter",
]


if __name__ == "__main__":
    capture(RULES, SETUP, HERE / "golden_setconstructs.json", "pktlf", command="add rule ",
            sort_keys=False, ensure_ascii=False)
