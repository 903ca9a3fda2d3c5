"""Exact bytecode for shapes fixed while raising the shared-suite pass rate (expected
text from nft 1.0.6's suite)."""

from __future__ import annotations

import pytest

from pkttables.compile import compile_rule
from pkttables.compile.linearize import data_words, reg_name


def _instrs(rule: str, family: str = "ip") -> list[str]:
    return [l.strip() for l in compile_rule(rule, family).splitlines() if l.strip().startswith("[")]


def test_register_names():
    # slot 1 -> reg 1, slot 2 -> reg 9, slot 5 -> reg 2 (nft netlink_put_register)
    assert [reg_name(r) for r in (0, 1, 2, 3, 4, 5, 6, 9)] == [0, 1, 9, 10, 11, 2, 13, 3]


def test_data_words_host_u32():
    assert data_words(b"\x00\xe8") == "0x0000e800"
    assert data_words(b"dummy") == "0x6d6d7564 0x00000079"


CASES = {
    "meta length 33-45": ["[ meta load len => reg 1 ]", "[ byteorder reg 1 = hton(reg 1, 4, 4) ]",
                          "[ cmp gte reg 1 0x21000000 ]", "[ cmp lte reg 1 0x2d000000 ]"],
    "meta mark or 0x03 == 0x01": ["[ meta load mark => reg 1 ]",
                                  "[ bitwise reg 1 = ( reg 1 & 0xfffffffc ) ^ 0x00000003 ]",
                                  "[ cmp eq reg 1 0x00000001 ]"],
    "meta mark xor 0x03 == 0x01": ["[ meta load mark => reg 1 ]", "[ cmp eq reg 1 0x00000002 ]"],
    "ip dscp cs1": ["[ payload load 1b @ network header + 1 => reg 1 ]",
                    "[ bitwise reg 1 = ( reg 1 & 0x000000fc ) ^ 0x00000000 ]", "[ cmp eq reg 1 0x00000020 ]"],
    "ip saddr 192.168.2.0/24": ["[ payload load 3b @ network header + 12 => reg 1 ]",
                                "[ cmp eq reg 1 0x0002a8c0 ]"],
    "icmp code 1 icmp type 2": ["[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000001 ]",
                                "[ payload load 2b @ transport header + 0 => reg 1 ]",
                                "[ cmp eq reg 1 0x00000102 ]"],
    "ip saddr 192.168.3.1 ip daddr 192.168.3.100": [
        "[ payload load 4b @ network header + 12 => reg 1 ]", "[ cmp eq reg 1 0x0103a8c0 ]",
        "[ payload load 4b @ network header + 16 => reg 1 ]", "[ cmp eq reg 1 0x6403a8c0 ]"],
    "tcp flags cwr": ["[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
                      "[ payload load 1b @ transport header + 13 => reg 1 ]",
                      "[ bitwise reg 1 = ( reg 1 & 0x00000080 ) ^ 0x00000000 ]", "[ cmp neq reg 1 0x00000000 ]"],
    "tcp dport != 33-45": ["[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
                           "[ payload load 2b @ transport header + 2 => reg 1 ]",
                           "[ range neq reg 1 0x00002100 0x00002d00 ]"],
    'iif "lo" ip ttl set 23': ["[ meta load iif => reg 1 ]", "[ cmp eq reg 1 0x00000001 ]",
                               "[ payload load 2b @ network header + 8 => reg 1 ]",
                               "[ bitwise reg 1 = ( reg 1 & 0x0000ff00 ) ^ 0x00000017 ]",
                               "[ payload write reg 1 => 2b @ network header + 8 csum_type 1 csum_off 10 "
                               "csum_flags 0x0 ]"],
    "ct mark set mark map { 1 : 10, 2 : 20 }": ["[ meta load mark => reg 1 ]",
                                                "[ lookup reg 1 set __map%d dreg 1 ]",
                                                "[ ct set mark with reg 1 ]"],
    "limit rate 1025 kbytes/second burst 1023 kbytes": [
        "[ limit rate 1049600/second burst 1047552 type bytes flags 0x0 ]"],
    "log group 2 prefix \"nft-test: \"": ["[ log prefix nft-test:  group 2 snaplen 0 qthreshold 0 ]"],
    "reject": ["[ reject type 0 code 3 ]"],
}


@pytest.mark.parametrize("rule", list(CASES))
def test_exact(rule):
    assert _instrs(rule) == CASES[rule]


def test_interval_set_elements_and_byteorder():
    text = compile_rule("meta length { 33-55, 56-88, 100-120}", "ip", table="test-ip4")
    assert "__set%d test-ip4 7" in text
    elems = text.splitlines()[2].strip().split("\t")
    assert elems == ["element 00000000  : 1 [end]", "element 21000000  : 0 [end]",
                     "element 59000000  : 1 [end]", "element 64000000  : 0 [end]",
                     "element 79000000  : 1 [end]"]
    assert "[ byteorder reg 1 = hton(reg 1, 4, 4) ]" in text


def test_concat_registers():
    text = compile_rule("ct direction . ct mark { original . 0x12345678, reply . 0x87654321}", "ip")
    assert "[ ct load direction => reg 1 ]" in text and "[ ct load mark => reg 9 ]" in text
    assert "element 00000001 87654321  : 0 [end]" in text
