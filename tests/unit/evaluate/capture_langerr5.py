"""Capture nft 1.0.6's answers for golden_langerr5.json (round 8 of the language work:
scoped keyword names, mandatory limit burst units, ct object keys, nat flags).

Run as root with nft:  python tests/unit/evaluate/capture_langerr5.py
Every case is one command checked with ``nft --debug=netlink -c`` in a namespace
``pktli<pid>`` (always deleted) holding SETUP; rc, stdout (bytecode) and stderr are
recorded.  Add a case here, re-run, and test_evaluate_langerr5.py pins it.
"""

from __future__ import annotations

from pathlib import Path

from pkttables.testing.nftgolden import NAT_SETUP, capture, tables_setup

HERE = Path(__file__).parent
SETUP = tables_setup(*NAT_SETUP)

CASES = [
    # meta: `broute` is not a meta key of nft 1.0.6 (meta_key error naming the known keys)
    "add rule ip t c meta broute 1",
    "add rule bridge t c meta broute set 1",
    "add rule inet t c meta broute != 1 accept",
    "add rule ip t c meta broute set 1 counter",
    "add rule ip t c meta broute set ip saddr . 1.2.3.4 counter",
    # ct timeout|expectation: object references only (`ct timeout set`), `set` expected at
    # a statement's start, bare `unexpected KEY` inside an expression; words of the ct
    # scanner scope are named by their text
    "add rule ip t c ct timeout \"to1\"",
    "add rule ip t c ct expectation \"e1\"",
    "add rule ip t c ct timeout 5",
    "add rule ip t c ct timeout",
    "add rule ip t c ct timeout == 3",
    "add rule ip t c ct timeout counter",
    "add rule ip t c meta mark set ct timeout",
    "add rule ip t c meta mark set ct expectation set 1",
    "add rule ip t c ct original state 1",
    "add rule ip t c ct original helper 1",
    "add rule ip t c ct reply expiration 1",
    "add rule ip t c ct original status 1",
    "add rule ip t c ct original expectation 1",
    "add rule ip t c ct original foo 1",
    # limit: nft 1.0.6 needs the burst's unit (`packets` for a packet rate, `bytes` or a
    # byte unit for a byte rate); `bytes`/`packets` are keywords of the limit scope
    "add rule ip t c limit rate 5/second burst 5",
    "add rule ip t c limit rate 5/second burst 5 accept",
    "add rule ip t c limit rate over 5/second burst 5",
    "add rule ip t c limit rate 5/second burst 6 packets",
    "add rule ip t c limit rate 1023/second burst 10 bytes",
    "add rule ip t c limit rate 1023/second burst 10 kbytes",
    "add rule ip t c limit rate 1023/second burst 10 foo",
    "add rule ip t c limit rate 512 kbytes/second burst 5 packets",
    "add rule ip t c limit rate 512 kbytes/second burst 5 bytes",
    "add rule ip t c limit rate 512 kbytes/second burst 5 mbytes",
    "add rule ip t c limit rate 512 kbytes/second burst 5 foo",
    "add rule ip t c limit rate 512 kbytes/second burst 5",
    "add rule ip t c limit rate 512 kbytes/second burst 5 counter",
    "add rule ip t c limit rate 512 kbytes/second burst packets",
    "add rule ip t c limit rate 5/second burst bytes",
    "add limit ip t l { rate 5/second burst 5 ; }",
    # queue num: bison's list names '$'
    "add rule ip t c queue num oif",
    "add rule ip t c queue num symhash mod 2",
    "add rule ip t c queue num",
    # tcp option: the option scope's words (fields, options, tcp fields) by their text
    "add rule ip t c tcp option eol left",
    "add rule ip t c tcp option sack window 1",
    "add rule ip t c tcp option maxseg tsval",
    "add rule ip t c tcp option sack left 1 tcp option window left 2",
    # nat flags end the statement: `to` after them
    "add rule ip t n redirect random to 123",
    "add rule ip t n redirect persistent,fully-random to 431",
    "add rule ip t n masquerade random to :123",
    "add rule ip t n redirect to 5 random to 6",
    "add rule ip t n snat to 1.2.3.4 random to 5",
    "table ip x { chain c { type nat hook prerouting priority 0; redirect random to 1; }; }",
    # limit/log/prefix/fib/dup texts as nft 1.0.6: an unknown time unit is bison's
    # "unexpected string" (a byte rate's "Wrong rate format"), log_level_parse() fails
    # with "invalid log level", prefix lengths say "bits width", fib checks an address
    # first, netdev dup refuses a device over the statement
    "add rule ip t c limit rate 400/millisecond",
    "add rule ip t c limit rate 4/sec",
    "add rule ip t c limit rate 4 bytes/foo",
    "add rule ip t c limit rate 4 kbytes / foo",
    "add rule ip t c limit rate 4/week",
    "add limit ip t l3 { rate 4/sec; }",
    "add rule ip t c log level foo",
    "add rule ip t c log level \"foo\"",
    "add rule ip t c log level 9",
    "add rule ip t c log level",
    "add rule ip t c log level warn",
    "add rule ip t c log level audit",
    "add rule ip t c ip saddr 1.2.3.4/33",
    "add rule ip t c ether saddr 00:11:22:33:44:55/49",
    "add rule ip t c meta mark 0x1/33",
    "add rule ip t c fib iif . oif type local",
    "add rule ip t c fib iif . oif . saddr type local",
    "add rule netdev t c dup to 10.2.3.4 device \"lo\"",
    "add rule netdev t c dup to ip saddr map { 192.168.0.1 : 192.168.1.1 } device \"lo\"",
    # bison's expecting lists: dup needs `to`, reject with, fib results, extension
    # headers without a field, rt ip|ip6 keys, ip options; unknown sctp chunks are bare
    "add rule ip t c dup ip to 10.2.3.4 device \"lo\"",
    "add rule ip t c dup foo",
    "add rule ip t c dup",
    "add rule ip t c reject with foo",
    "add rule ip t c reject with",
    "add rule ip t c reject with 1",
    "add rule ip t c fib daddr check present",
    "add rule ip t c fib daddr . iif foo",
    "add rule ip t c fib daddr",
    "add rule ip6 t c rt0 reserved 0",
    "add rule ip6 t c rt2 reserved 0",
    "add rule ip6 t c rt0",
    "add rule ip6 t c srh foo 1",
    "add rule ip6 t c srh",
    "add rule ip6 t c hbh foo 1",
    "add rule ip6 t c dst foo 1",
    "add rule ip6 t c frag foo 1",
    "add rule ip6 t c mh foo 1",
    "add rule ip6 t c rt foo 1",
    "add rule ip6 t c rt tcpmss 1400",
    "add rule ip6 t c rt ip6 foo",
    "add rule ip6 t c rt ip",
    "add rule ip t c sctp chunk i-data mid 1",
    "add rule ip t c sctp chunk foo",
    "add rule ip t c sctp chunk",
    "add rule ip t c sctp chunk 1",
    "add rule ip t c ip option foo",
    "add rule ip t c ip option",
    # OP_NEG: only on bitmask types, the value underlined; a hex number is seconds
    "add rule ip t c ip saddr ! 1.2.3.4",
    "add rule ip t c meta mark ! 0x1",
    "add rule ip t c tcp dport ! 22",
    "add rule ip t c tcp dport ! { 22, 23 }",
    "add rule ip t c ct state ! new,established",
    "add rule ip t c tcp flags ! { syn }",
    "add rule ip t c tcp flags & (fin | syn) ! syn",
    "add rule ip t c ct status ! dnat",
    "add rule ip t c ct expiration != 0xea",
    "add rule ip t c ct expiration 0x10",
]


if __name__ == "__main__":
    capture(CASES, SETUP, HERE / "golden_langerr5.json", "pktli")
