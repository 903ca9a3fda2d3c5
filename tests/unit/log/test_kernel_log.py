"""The nf_log line against lines the kernel wrote (golden_log.json, see capture_golden.py)."""

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from pkttables.log import format_log, format_syslog
from pkttables.packet import Packet
from pkttables.packet.packet import LinkType

GOLDEN = json.loads(Path(__file__).with_name("golden_log.json").read_text())
# the prefixes of the golden ruleset: prefix -> (hook, flags, mark, level)
CASES = {"P0": ("prerouting", 0, 0x2A, 4), "P1": ("prerouting", 0x01 | 0x02 | 0x04, 0x2A, 4),
         "P2": ("prerouting", 0x20, 0x2A, 4), "I0": ("input", 0, 0, 6)}
_SRC = re.compile(r"SRC=(10\.9\.0\.1|fd00:0000:0000:0000:0000:0000:0000:0001) ")
_NOISE = re.compile(r"PROTO=ICMPv6 TYPE=(13[3-7]|143) ")


def _ours(name):
    """The kernel's lines for the frame we sent (not the namespace's own ND/MLD)."""
    return [ln for ln in GOLDEN["lines"][name] if _SRC.search(ln) and not _NOISE.search(ln)]


@pytest.mark.parametrize("name", sorted(GOLDEN["frames"]))
def test_lines_match_kernel(name):
    lines = _ours(name)
    assert lines, "the capture holds lines for every frame"
    frame = bytes.fromhex(GOLDEN["frames"][name])
    for ln in lines:
        level, prefix = int(ln[1]), ln[3:5]
        hook, flags, mark, lvl = CASES[prefix]
        pkt = Packet(frame, LinkType.ETHERNET, iif="pb0")
        pkt.mark = mark
        text = format_log(pkt, family="ip", hook=hook, prefix=prefix + " ", flags=flags)
        assert format_syslog(text, lvl) == ln
        assert level == lvl


def test_in_out_by_hook():
    frame = bytes.fromhex(GOLDEN["frames"]["udp"])
    pkt = Packet(frame, LinkType.ETHERNET, iif="lan0", oif="wan0")
    assert format_log(pkt, family="ip", hook="forward").startswith("IN=lan0 OUT=wan0 MAC=")
    out = format_log(pkt, family="ip", hook="postrouting")
    assert out.startswith("IN= OUT=wan0 SRC=")      # no MAC= without an input device


def test_truncated_tcp_is_incomplete():
    frame = bytes.fromhex(GOLDEN["frames"]["tcp-syn"])
    cut = frame[:14 + 20 + 10]
    pkt = Packet(cut, LinkType.ETHERNET, iif="pb0")
    line = format_log(pkt, family="ip", hook="input")
    assert line.endswith("PROTO=TCP INCOMPLETE [10 bytes] ")


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=120))
def test_garbage_never_raises(data):
    for link in (LinkType.ETHERNET, LinkType.RAW):
        pkt = Packet(data, link, iif="x")
        for flags in (0, 0x3F):
            assert isinstance(format_log(pkt, family="ip", hook="input", flags=flags), str)


@pytest.mark.parametrize("proto, name, body, spi", [
    (51, "AH", bytes.fromhex("06040000 00000abc") + bytes(12), "0xabc"),     # SPI after next/len/reserved
    (50, "ESP", bytes.fromhex("00000def 00000001") + bytes(8), "0xdef"),     # SPI first
])
def test_ipsec_spi_and_incomplete(proto, name, body, spi):
    from pkttables.testing.packets import Segment, ether, ipv4
    frame = ether("02:00:00:00:00:01", "02:00:00:00:00:02",
                  ipv4("10.9.0.1", "10.9.0.2", Segment(proto, body, None)))
    line = format_log(Packet(frame, LinkType.ETHERNET, iif="pb0"), family="ip", hook="input")
    assert line.endswith(f"PROTO={name} SPI={spi} ")
    short = ether("02:00:00:00:00:01", "02:00:00:00:00:02",
                  ipv4("10.9.0.1", "10.9.0.2", Segment(proto, body[:5], None)))
    line = format_log(Packet(short, LinkType.ETHERNET, iif="pb0"), family="ip", hook="input")
    assert line.endswith(f"PROTO={name} INCOMPLETE [5 bytes] ")
