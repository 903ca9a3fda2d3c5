"""A map as the value of a payload statement nft must rewrite with a mask (nft 1.0.6
stmt_evaluate_payload): nft refuses it; aligned fields take it.  Expected texts are
nft 1.0.6's stderr for each command line (`nft -c`, captured in a namespace)."""

from __future__ import annotations

import pytest

from pkttables.commands import Options, run_text
from pkttables.errors import PktError
from pkttables.model import Ruleset

CASES = [
    ('add rule ip t c ip ttl set ip saddr . udp dport map { 192.168.1.10 . 53 : 9, 192.168.1.12 . 1000 : 7 } counter',
     'Error: Binary operation (<<) is undefined for map expressions\nadd rule ip t c ip ttl set ip saddr . udp dport map { 192.168.1.10 . 53 : 9, 192.168.1.12 . 1000 : 7 } counter\n                ~~~~~~     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n'),
    ('add rule ip t c ip ttl set ip saddr map { 192.168.1.10 : 9 }',
     'Error: Value 8 exceeds valid range 0-0\nadd rule ip t c ip ttl set ip saddr map { 192.168.1.10 : 9 }\n                ^^^^^^\n'),
    ('add rule ip t c ip dscp set ip saddr map { 192.168.1.10 : 9 }',
     'Error: Value 2 exceeds valid range 0-0\nadd rule ip t c ip dscp set ip saddr map { 192.168.1.10 : 9 }\n                ^^^^^^^\n'),
    ('add rule ip t c ip protocol set ip saddr map { 192.168.1.10 : 9 }',
     'Error: Binary operation (^) is undefined for map expressions\nadd rule ip t c ip protocol set ip saddr map { 192.168.1.10 : 9 }\n                ^^^^^^^^^^^\n'),
    ('add rule ip t c ip ttl set udp dport map { 53 : 9 }',
     'Error: Value 8 exceeds valid range 0-0\nadd rule ip t c ip ttl set udp dport map { 53 : 9 }\n                ^^^^^^\n'),
    ('add rule ip t c tcp flags set ip saddr map { 192.168.1.10 : 2 }',
     'Error: Binary operation (^) is undefined for map expressions\nadd rule ip t c tcp flags set ip saddr map { 192.168.1.10 : 2 }\n                ^^^^^^^^^\n'),
    ('add rule ip t c tcp dport set ip saddr map { 192.168.1.10 : 2 }',
     ''),
    ('add rule ip t c tcp dport set ip saddr . tcp sport map { 192.168.1.10 . 1 : 2 }',
     ''),
    ('add rule ip t c ip dscp set ip saddr . tcp sport map { 192.168.1.10 . 1 : 2 }',
     'Error: Binary operation (<<) is undefined for map expressions\nadd rule ip t c ip dscp set ip saddr . tcp sport map { 192.168.1.10 . 1 : 2 }\n                ~~~~~~~     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n'),
    ('add rule ip t c ip protocol set ip saddr . tcp sport map { 192.168.1.10 . 1 : 2 }',
     'Error: Binary operation (^) is undefined for map expressions\nadd rule ip t c ip protocol set ip saddr . tcp sport map { 192.168.1.10 . 1 : 2 }\n                ^^^^^^^^^^^\n'),
    ('add rule ip t c ip ttl set ip saddr map @nosuch',
     'Error: No such file or directory\nadd rule ip t c ip ttl set ip saddr map @nosuch\n                                        ^^^^^^^\n'),
]


@pytest.fixture(scope="module")
def base():
    return run_text("add table ip t; add chain ip t c", Ruleset()).ruleset


@pytest.mark.parametrize("line,expected", CASES)
def test_map_payload_set_as_nft(base, line, expected):
    try:
        run_text(line + "\n", base, Options(dry_run=True))
    except PktError as e:
        got = e.render() + "\n"
    else:
        got = ""
    assert got == expected
