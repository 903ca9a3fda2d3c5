"""``immediate``: load a constant into a register, or set the verdict (nft_immediate.c).

``dreg 0`` is the verdict register: ``[ immediate reg 0 accept ]``,
``[ immediate reg 0 jump -> chain ]``.  Data is copied with nft_data_copy, which zeroes
the rest of the last word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pkttables.vm._base import DumpError, Instr, match, register
from pkttables.vm.regs import VerdictData, fmt_data, parse_words

__all__ = ["Immediate"]


@register
@dataclass(frozen=True, slots=True)
class Immediate(Instr):
    """``[ immediate reg 1 0x0100a8c0 ]`` / ``[ immediate reg 0 drop ]``"""

    name = "immediate"

    dreg: int
    data: bytes | VerdictData

    def __post_init__(self) -> None:
        if (self.dreg == 0) != isinstance(self.data, VerdictData):
            raise DumpError("immediate: register 0 takes a verdict, the others data")

    def body(self) -> str:
        d = self.data.dump() if isinstance(self.data, VerdictData) else fmt_data(self.data)
        return f"reg {self.dreg} {d}"

    _RE = re.compile(r"reg (\d+) (.+)")

    @classmethod
    def parse_body(cls, body: str) -> "Immediate":
        m = match(cls._RE, body, "immediate")
        dreg = int(m[1])
        if dreg == 0:
            return cls(0, VerdictData.parse(m[2]))
        return cls(dreg, parse_words(m[2].split()))

    def eval(self, regs, pkt, ctx) -> None:
        d = self.data
        if isinstance(d, VerdictData):
            regs.verdict = d.code
            regs.chain = d.chain
        else:
            regs.store(self.dreg, d)
