"""The register file: layout, zero padding, word rendering; hypothesis round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from pkttables.errors import PktError
from pkttables.vm.regs import Regs, Verdict, VerdictData, fmt_data, parse_words, reg_offset

DATA_REGS = [1, 2, 3, 4, *range(8, 24)]


def test_layout_matches_nft_parse_register():
    # reg 1 is reg 8..11, reg 2 is reg 12..15 (NFT_REG_1 overlays NFT_REG32_00..03)
    assert reg_offset(1) == reg_offset(8) == 16
    assert reg_offset(2) == reg_offset(12) == 32
    assert reg_offset(9) == 20
    assert reg_offset(4) == 64 and reg_offset(23) == 76
    for bad in (5, 7, 24, -1):
        with pytest.raises(PktError):
            reg_offset(bad)
    with pytest.raises(PktError):
        reg_offset(23, 8)  # runs past the 20-word file


def test_views_overlay():
    r = Regs()
    r.store(1, bytes(range(16)))
    assert r.load(8, 4) == bytes(range(4))
    assert r.load(11, 4) == bytes(range(12, 16))
    r.store_u32(9, 0x11223344)
    assert r.load(1, 8) == bytes([0, 1, 2, 3, 0x44, 0x33, 0x22, 0x11])


def test_short_store_zeroes_rest_of_word():
    r = Regs()
    r.store(1, b"\xff" * 16)
    r.store(1, b"\x00\x16")  # tcp dport 22, as a payload load stores it
    assert r.load(1, 4) == b"\x00\x16\x00\x00"
    assert r.load(9, 4) == b"\xff" * 4  # the next word is untouched
    r.store_u8(9, 6)
    assert r.load(9, 4) == b"\x06\x00\x00\x00"


def test_dump_rendering_is_host_endian_words():
    assert fmt_data(b"\x00\x16") == "0x00001600"  # port 22
    assert fmt_data((1).to_bytes(4, "little")) == "0x00000001"  # meta mark 1
    assert fmt_data(bytes([192, 168, 0, 1])) == "0x0100a8c0"
    assert fmt_data(b"lo") == "0x00006f6c"


def test_verdicts():
    assert [int(v) for v in (Verdict.DROP, Verdict.ACCEPT, Verdict.STOLEN, Verdict.QUEUE,
                             Verdict.REPEAT, Verdict.CONTINUE, Verdict.BREAK, Verdict.JUMP,
                             Verdict.GOTO, Verdict.RETURN)] == [0, 1, 2, 3, 4, -1, -2, -3, -4, -5]
    assert VerdictData(Verdict.JUMP, "c1").dump() == "jump -> c1"
    assert VerdictData.parse("goto -> x") == VerdictData(Verdict.GOTO, "x")
    assert VerdictData(99).dump() == "unknown"
    with pytest.raises(PktError):
        VerdictData.parse("maybe")


@given(st.sampled_from(DATA_REGS), st.binary(min_size=1, max_size=16))
def test_store_load_round_trip(reg, value):
    r = Regs()
    if reg_offset(reg) + len(value) + (-len(value) % 4) > 80:
        with pytest.raises(PktError):
            r.store(reg, value)
        return
    r.store(reg, value)
    assert r.load(reg, len(value)) == value
    assert r.load(reg, len(value) + (-len(value) % 4)) == value + bytes(-len(value) % 4)


@given(st.binary(min_size=1, max_size=64).filter(lambda b: len(b) % 4 == 0))
def test_words_round_trip(data):
    assert parse_words(fmt_data(data).split()) == data


@given(st.sampled_from(DATA_REGS), st.integers(0, 2**32 - 1))
def test_u32_host_order(reg, v):
    r = Regs()
    r.store_u32(reg, v)
    assert r.load_u32(reg) == v
    assert fmt_data(r.load(reg, 4)) == f"0x{v:08x}"
