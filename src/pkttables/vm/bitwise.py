"""``bitwise`` and ``byteorder``: arithmetic on registers (nft_bitwise.c, nft_byteorder.c).

bitwise has three forms.  The boolean one computes ``dreg = (sreg & mask) ^ xor``
over ``len`` bytes (nft turns ``|`` into mask/xor).  The shifts work on 32-bit
*host* words, carrying bits between words, as nft_bitwise_eval_lshift/rshift do::

    lshift: for i from last word down to 0:  dst[i] = src[i] << n | carry;  carry = src[i] >> (32 - n)
    rshift: for i from 0 up:                 dst[i] = carry | src[i] >> n;  carry = src[i] << (32 - n)

On a little-endian host a word holding packet bytes ``12 34 56 78`` is 0x78563412, so
a shift moves bits across bytes in host order; nft 1.0.6 emits shifts only where that
is what it wants.  The dump of a shift does not print ``len``; a parsed shift gets 4.

byteorder converts ``len`` bytes as elements of ``size`` (2, 4 or 8) bytes between
host and network order.  On a little-endian host both directions reverse each element.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from pkttables.vm._base import DumpError, Instr, match, register
from pkttables.vm.regs import fmt_data, parse_words, words

__all__ = ["Bitwise", "BitwiseOp", "Byteorder", "ByteorderOp"]

_M32 = 0xFFFFFFFF


class BitwiseOp(IntEnum):
    """``enum nft_bitwise_ops``."""

    BOOL = 0
    LSHIFT = 1
    RSHIFT = 2


class ByteorderOp(IntEnum):
    """``enum nft_byteorder_ops``."""

    NTOH = 0
    HTON = 1


@register
@dataclass(frozen=True, slots=True)
class Bitwise(Instr):
    """``[ bitwise reg 1 = ( reg 1 & 0x000000fc ) ^ 0x00000000 ]`` /
    ``[ bitwise reg 1 = ( reg 1 >> 0x00000008 ) ]``"""

    name = "bitwise"

    sreg: int
    dreg: int
    len: int
    op: BitwiseOp = BitwiseOp.BOOL
    mask: bytes = b""
    xor: bytes = b""
    shift: int = 0

    def body(self) -> str:
        if self.op == BitwiseOp.BOOL:
            return (f"reg {self.dreg} = ( reg {self.sreg} & {fmt_data(self.mask)} ) ^ "
                    f"{fmt_data(self.xor)}")
        sym = "<<" if self.op == BitwiseOp.LSHIFT else ">>"
        return f"reg {self.dreg} = ( reg {self.sreg} {sym} 0x{self.shift:08x} )"

    _RE_BOOL = re.compile(r"reg (\d+) = \( reg (\d+) & ((?:0x[0-9a-f]{8} )+)\) \^ ((?:0x[0-9a-f]{8} ?)+)")
    _RE_SHIFT = re.compile(r"reg (\d+) = \( reg (\d+) (<<|>>) 0x([0-9a-f]{8}) \)")

    @classmethod
    def parse_body(cls, body: str) -> "Bitwise":
        m = cls._RE_BOOL.fullmatch(body)
        if m:
            mask = parse_words(m[3].split())
            xor = parse_words(m[4].split())
            if len(mask) != len(xor):
                raise DumpError(f"bitwise mask and xor differ in length: {body!r}")
            return cls(int(m[2]), int(m[1]), len(mask), BitwiseOp.BOOL, mask, xor)
        m = match(cls._RE_SHIFT, body, "bitwise")
        op = BitwiseOp.LSHIFT if m[3] == "<<" else BitwiseOp.RSHIFT
        return cls(int(m[2]), int(m[1]), 4, op, shift=int(m[4], 16))

    def eval(self, regs, pkt, ctx) -> None:
        n = self.len
        if self.op == BitwiseOp.BOOL:
            # word-wise over DIV_ROUND_UP(len, 4) words; mask and xor are zero past len
            nb = -(-n // 4) * 4
            src = regs.load(self.sreg, nb)
            mask = self.mask.ljust(nb, b"\0")
            xor = self.xor.ljust(nb, b"\0")
            v = (int.from_bytes(src, "big") & int.from_bytes(mask, "big")) ^ int.from_bytes(xor, "big")
            regs.store_raw(self.dreg, v.to_bytes(nb, "big"))
            return
        nw = (n + 3) // 4
        src = words(regs.load(self.sreg, nw * 4))
        sh = self.shift
        # x86 masks shift counts to 5 bits: ``x >> 32`` is ``x``; only a shift of 0,
        # which nft never emits, reaches that
        back = (32 - sh) & 31
        dst = [0] * nw
        carry = 0
        if self.op == BitwiseOp.LSHIFT:
            for i in range(nw - 1, -1, -1):
                dst[i] = ((src[i] << sh) & _M32) | carry
                carry = src[i] >> back
        else:
            for i in range(nw):
                dst[i] = carry | (src[i] >> sh)
                carry = (src[i] << back) & _M32
        regs.store_raw(self.dreg, b"".join(w.to_bytes(4, "little") for w in dst))


@register
@dataclass(frozen=True, slots=True)
class Byteorder(Instr):
    """``[ byteorder reg 1 = hton(reg 1, 2, 2) ]`` (size, then len)."""

    name = "byteorder"

    sreg: int
    dreg: int
    op: ByteorderOp
    len: int
    size: int

    def body(self) -> str:
        op = {ByteorderOp.NTOH: "ntoh", ByteorderOp.HTON: "hton"}.get(self.op, "unknown")
        return f"reg {self.dreg} = {op}(reg {self.sreg}, {self.size}, {self.len})"

    _RE = re.compile(r"reg (\d+) = (ntoh|hton)\(reg (\d+), (\d+), (\d+)\)")

    @classmethod
    def parse_body(cls, body: str) -> "Byteorder":
        m = match(cls._RE, body, "byteorder")
        op = ByteorderOp.NTOH if m[2] == "ntoh" else ByteorderOp.HTON
        return cls(int(m[3]), int(m[1]), op, int(m[5]), int(m[4]))

    def eval(self, regs, pkt, ctx) -> None:
        size = self.size
        if size not in (2, 4, 8):
            raise DumpError(f"byteorder size {size} (the kernel accepts 2, 4 or 8)")
        count = self.len // size
        src = regs.load(self.sreg, count * size)
        # every element is reversed on a little-endian host, for ntoh and hton alike
        out = b"".join(src[i * size:(i + 1) * size][::-1] for i in range(count))
        regs.store_raw(self.dreg, out)
