"""``cmp`` and ``range``: compare a register with constant data (nft_cmp.c, nft_range.c).

The comparison is the kernel's ``memcmp`` over ``len`` bytes: byte by byte, first byte
most significant -- big-endian order, which is the right order for packet fields and
the wrong one for host-endian values (nft compares those with eq/neq only, or converts
them with ``byteorder`` first).  A mismatch sets NFT_BREAK.

``data`` keeps the bytes of the kernel's ``NFTA_CMP_DATA``.  A dump prints whole 32-bit
words, so a parsed instruction's data is padded to a word; registers are zero-padded
the same way, so the answer does not change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from pkttables.vm._base import DumpError, Instr, match, register
from pkttables.vm.regs import Verdict, fmt_data, parse_words

__all__ = ["Cmp", "CmpOp", "Range", "RangeOp"]

_BREAK = Verdict.BREAK


class CmpOp(IntEnum):
    """``enum nft_cmp_ops``."""

    EQ = 0
    NEQ = 1
    LT = 2
    LTE = 3
    GT = 4
    GTE = 5


class RangeOp(IntEnum):
    """``enum nft_range_ops``."""

    EQ = 0
    NEQ = 1


_CMP_NAMES = {CmpOp.EQ: "eq", CmpOp.NEQ: "neq", CmpOp.LT: "lt", CmpOp.LTE: "lte",
              CmpOp.GT: "gt", CmpOp.GTE: "gte"}
_CMP_BY_NAME = {v: k for k, v in _CMP_NAMES.items()}
_RANGE_NAMES = {RangeOp.EQ: "eq", RangeOp.NEQ: "neq"}
_RANGE_BY_NAME = {v: k for k, v in _RANGE_NAMES.items()}

# whether a match holds, by op, given d = sign of memcmp(reg, data)
_HOLDS = {
    CmpOp.EQ: lambda a, b: a == b,
    CmpOp.NEQ: lambda a, b: a != b,
    CmpOp.LT: lambda a, b: a < b,
    CmpOp.LTE: lambda a, b: a <= b,
    CmpOp.GT: lambda a, b: a > b,
    CmpOp.GTE: lambda a, b: a >= b,
}


@register
@dataclass(frozen=True, slots=True)
class Cmp(Instr):
    """``[ cmp eq reg 1 0x00001600 ]``"""

    name = "cmp"

    op: CmpOp
    sreg: int
    data: bytes

    @property
    def len(self) -> int:
        return len(self.data)

    def body(self) -> str:
        return f"{_CMP_NAMES.get(self.op, 'unknown')} reg {self.sreg} {fmt_data(self.data)}"

    _RE = re.compile(r"(\w+) reg (\d+) ((?:0x[0-9a-f]{8} ?)+)")

    @classmethod
    def parse_body(cls, body: str) -> "Cmp":
        m = match(cls._RE, body, "cmp")
        if m[1] not in _CMP_BY_NAME:
            raise DumpError(f"unknown cmp op {m[1]!r}")
        return cls(_CMP_BY_NAME[m[1]], int(m[2]), parse_words(m[3].split()))

    def eval(self, regs, pkt, ctx) -> None:
        # Python compares bytes lexicographically by unsigned byte: exactly memcmp
        if not _HOLDS[self.op](regs.load(self.sreg, len(self.data)), self.data):
            regs.verdict = _BREAK


@register
@dataclass(frozen=True, slots=True)
class Range(Instr):
    """``[ range neq reg 1 0x00002100 0x00002d00 ]``: from and to, inclusive."""

    name = "range"

    op: RangeOp
    sreg: int
    data_from: bytes
    data_to: bytes

    def __post_init__(self) -> None:
        if len(self.data_from) != len(self.data_to):
            raise DumpError("range: from and to must have the same length")

    def body(self) -> str:
        return (f"{_RANGE_NAMES.get(self.op, 'unknown')} reg {self.sreg} "
                f"{fmt_data(self.data_from)} {fmt_data(self.data_to)}")

    _RE = re.compile(r"(\w+) reg (\d+) ((?:0x[0-9a-f]{8} ?)+)")

    @classmethod
    def parse_body(cls, body: str) -> "Range":
        m = match(cls._RE, body, "range")
        if m[1] not in _RANGE_BY_NAME:
            raise DumpError(f"unknown range op {m[1]!r}")
        ws = m[3].split()
        if len(ws) % 2:
            raise DumpError(f"range needs two values of equal length: {body!r}")
        half = len(ws) // 2
        return cls(_RANGE_BY_NAME[m[1]], int(m[2]), parse_words(ws[:half]), parse_words(ws[half:]))

    def eval(self, regs, pkt, ctx) -> None:
        v = regs.load(self.sreg, len(self.data_from))
        inside = self.data_from <= v <= self.data_to
        # nft_range_eval: EQ mismatches outside, NEQ inside
        if inside != (self.op == RangeOp.EQ):
            regs.verdict = _BREAK
