"""``hash`` and ``numgen``: numbers from packet data or from a generator (nft_hash.c,
nft_numgen.c).

Both scale a 32-bit value into ``[0, modulus)`` with the kernel's ``reciprocal_scale``
(``(v * modulus) >> 32``, not ``v % modulus``) and add ``offset``; the result is a
host-endian u32.

jhash is Bob Jenkins' lookup3 ``hashlittle`` as include/linux/jhash.h has it: the
state starts at ``0xdeadbeef + length + initval``; 12-byte blocks are read as
little-endian words and mixed; the tail is added byte by byte, and a tail of 0 bytes
skips the final mix.  Without a seed attribute the kernel draws a random seed when
the rule is loaded; here it comes from ``ctx.rng`` once per instruction.  (nft dumps
an absent seed as ``0x0``, so a parsed ``0x0`` reads back as "no seed".)

symhash is ``__skb_get_hash_symmetric``: a hash of the flow keys that is the same in
both directions.  The kernel keys it with a secret drawn at boot, so its numbers
cannot be reproduced; :func:`symhash` keeps the property that matters (both
directions of a flow agree, the value is stable) using jhash over the sorted
endpoints with a seed from the context.

numgen ``inc`` counts 0, 1, ..., modulus-1, 0, ... per rule (the counter starts at
``modulus - 1`` so the first packet gets 0); ``random`` scales a random u32.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pkttables.proto import HashType, NgType
from pkttables.vm._base import DumpError, Instr, match, register

__all__ = ["Hash", "Numgen", "jhash", "reciprocal_scale", "symhash"]

_M = 0xFFFFFFFF


def _rol(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M


def jhash(key: bytes, initval: int) -> int:
    """The kernel's ``jhash(key, len(key), initval)`` (lookup3 hashlittle)."""
    length = len(key)
    a = b = c = (0xDEADBEEF + length + initval) & _M
    k = 0
    while length > 12:
        a = (a + int.from_bytes(key[k:k + 4], "little")) & _M
        b = (b + int.from_bytes(key[k + 4:k + 8], "little")) & _M
        c = (c + int.from_bytes(key[k + 8:k + 12], "little")) & _M
        # __jhash_mix
        a = (a - c) & _M; a ^= _rol(c, 4); c = (c + b) & _M
        b = (b - a) & _M; b ^= _rol(a, 6); a = (a + c) & _M
        c = (c - b) & _M; c ^= _rol(b, 8); b = (b + a) & _M
        a = (a - c) & _M; a ^= _rol(c, 16); c = (c + b) & _M
        b = (b - a) & _M; b ^= _rol(a, 19); a = (a + c) & _M
        c = (c - b) & _M; c ^= _rol(b, 4); b = (b + a) & _M
        length -= 12
        k += 12
    if length == 0:
        return c
    tail = key[k:k + length].ljust(12, b"\0")
    a = (a + int.from_bytes(tail[0:4], "little")) & _M
    b = (b + int.from_bytes(tail[4:8], "little")) & _M
    c = (c + int.from_bytes(tail[8:12], "little")) & _M
    # __jhash_final
    c ^= b; c = (c - _rol(b, 14)) & _M
    a ^= c; a = (a - _rol(c, 11)) & _M
    b ^= a; b = (b - _rol(a, 25)) & _M
    c ^= b; c = (c - _rol(b, 16)) & _M
    a ^= c; a = (a - _rol(c, 4)) & _M
    b ^= a; b = (b - _rol(a, 14)) & _M
    c ^= b; c = (c - _rol(b, 24)) & _M
    return c


def reciprocal_scale(val: int, ep_ro: int) -> int:
    """include/linux/math.h: map ``val`` in [0, 2**32) to [0, ep_ro)."""
    return ((val & _M) * ep_ro) >> 32


def symhash(pkt, seed: int) -> int:
    """A direction-independent flow hash: jhash over the sorted (address, port) ends
    and the protocol.  Not the kernel's number (that needs its boot secret)."""
    buf = pkt.buf
    nh = pkt.nh_off
    if pkt.nfproto == 2 and nh >= 0 and nh + 20 <= len(buf):
        s, d = bytes(buf[nh + 12:nh + 16]), bytes(buf[nh + 16:nh + 20])
    elif pkt.nfproto == 10 and nh >= 0 and nh + 40 <= len(buf):
        s, d = bytes(buf[nh + 8:nh + 24]), bytes(buf[nh + 24:nh + 40])
    else:
        return jhash(bytes(buf[:64]), seed)
    sp = dp = b""
    if pkt.has_transport and pkt.l4proto in (6, 17, 132, 33, 136) and pkt.th_off + 4 <= len(buf):
        sp, dp = bytes(buf[pkt.th_off:pkt.th_off + 2]), bytes(buf[pkt.th_off + 2:pkt.th_off + 4])
    ends = sorted([s + sp, d + dp])
    return jhash(ends[0] + ends[1] + bytes((max(pkt.l4proto, 0),)), seed)


_HASH_NAMES = {HashType.JENKINS: "jhash", HashType.SYM: "symhash"}


@register
@dataclass(frozen=True, slots=True)
class Hash(Instr):
    """``[ hash reg 1 = jhash(reg 2, 8, 0xdeadbeef) % mod 2 offset 100 ]`` /
    ``[ hash reg 1 = symhash() % mod 65536 ]``"""

    name = "hash"

    type: HashType
    dreg: int
    modulus: int
    sreg: int = 0
    len: int = 0
    seed: int | None = None     # None: no NFTA_HASH_SEED, the kernel draws one
    offset: int = 0

    def body(self) -> str:
        if self.type == HashType.SYM:
            out = f"reg {self.dreg} = symhash() % mod {self.modulus}"
        else:
            out = (f"reg {self.dreg} = jhash(reg {self.sreg}, {self.len}, 0x{self.seed or 0:x})"
                   f" % mod {self.modulus}")
        if self.offset:
            out += f" offset {self.offset}"
        return out

    _RE = re.compile(r"reg (\d+) = (?:jhash\(reg (\d+), (\d+), 0x([0-9a-f]+)\)|(symhash)\(\))"
                     r" % mod (\d+)(?: offset (\d+))?")

    @classmethod
    def parse_body(cls, body: str) -> "Hash":
        m = match(cls._RE, body, "hash")
        off = int(m[7]) if m[7] else 0
        if m[5]:
            return cls(HashType.SYM, int(m[1]), int(m[6]), offset=off)
        seed = int(m[4], 16) or None
        return cls(HashType.JENKINS, int(m[1]), int(m[6]), int(m[2]), int(m[3]), seed, off)

    def eval(self, regs, pkt, ctx) -> None:
        if self.modulus < 1:
            raise DumpError("hash: modulus must be at least 1")
        if self.type == HashType.SYM:
            seed = ctx.state(self, lambda: ctx.rng.getrandbits(32))[1]
            h = symhash(pkt, seed)
        else:
            seed = self.seed
            if seed is None:
                seed = ctx.state(self, lambda: ctx.rng.getrandbits(32))[1]
            h = jhash(regs.load(self.sreg, self.len), seed)
        regs.store_u32(self.dreg, reciprocal_scale(h, self.modulus) + self.offset)


_NG_NAMES = {NgType.INCREMENTAL: "inc", NgType.RANDOM: "random"}
_NG_BY_NAME = {v: k for k, v in _NG_NAMES.items()}


@register
@dataclass(frozen=True, slots=True)
class Numgen(Instr):
    """``[ numgen reg 1 = inc mod 2 offset 100 ]``"""

    name = "numgen"

    type: NgType
    dreg: int
    modulus: int
    offset: int = 0

    def body(self) -> str:
        out = f"reg {self.dreg} = {_NG_NAMES.get(self.type, 'unknown')} mod {self.modulus}"
        if self.offset:
            out += f" offset {self.offset}"
        return out

    _RE = re.compile(r"reg (\d+) = (inc|random) mod (\d+)(?: offset (\d+))?")

    @classmethod
    def parse_body(cls, body: str) -> "Numgen":
        m = match(cls._RE, body, "numgen")
        return cls(_NG_BY_NAME[m[2]], int(m[1]), int(m[3]), int(m[4]) if m[4] else 0)

    def eval(self, regs, pkt, ctx) -> None:
        if self.modulus < 1:
            raise DumpError("numgen: modulus must be at least 1")
        if self.type == NgType.INCREMENTAL:
            # nft_ng_inc_gen: counter starts at modulus - 1, so the first value is 0
            cell = ctx.state(self, self.modulus - 1)
            nval = cell[1] + 1 if cell[1] + 1 < self.modulus else 0
            cell[1] = nval
        else:
            nval = reciprocal_scale(ctx.rng.getrandbits(32), self.modulus)
        regs.store_u32(self.dreg, nval + self.offset)
