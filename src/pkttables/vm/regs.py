"""The register file of the nf_tables machine, and verdicts.

Theory of operation
-------------------
The kernel's ``struct nft_regs`` is one array of 20 u32 words.  Words 0-3 hold the
verdict (``reg 0`` in dumps, NFT_REG_VERDICT); words 4-19 are the data registers.  They
have two names: sixteen 32-bit registers NFT_REG32_00..15 (``reg 8`` .. ``reg 23``) and,
overlaying them, four 128-bit registers NFT_REG_1..4 (``reg 1`` .. ``reg 4``).  So
``reg 1`` is ``reg 8..11``, ``reg 2`` is ``reg 12..15``; a concatenation of two 4-byte
fields loads into ``reg 1`` and ``reg 9`` (nft_parse_register: ``reg * 16 / 4`` words for
1..4, ``reg - 8 + 4`` words for 8..23).

Values sit in registers exactly as the kernel stores them: packet bytes in wire order,
host-endian numbers (``meta mark``) as native u32.  This module fixes the host to
little-endian (x86, arm64), which is what every dump of this project is compared with:
libnftnl 1.2.4 prints data as ``0x%08x`` of each 4-byte word read as a host u32, so the
two bytes ``00 16`` of ``tcp dport 22`` print as ``0x00001600``, and ``meta mark 1``
(bytes ``01 00 00 00``) as ``0x00000001``.

Stores that are shorter than a word zero the rest of the last word, as the kernel's
``nft_reg_store8/16``, ``nft_data_copy`` and payload loads (``dest[len / 4] = 0``) do;
that is why a 2-byte compare against ``0x00001600`` and a 4-byte one give the same
answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from pkttables.errors import PktError

__all__ = [
    "Verdict", "VerdictData", "Regs", "NFT_REG_SIZE", "NFT_REG32_SIZE", "NFT_REG32_COUNT",
    "REGS_BYTES", "reg_offset", "words", "fmt_data", "parse_words", "VERDICT_NAMES",
]

NFT_REG_SIZE = 16       # a 128-bit register
NFT_REG32_SIZE = 4
NFT_REG32_COUNT = 16
REGS_BYTES = 20 * 4     # struct nft_regs: verdict (16 bytes) + 64 bytes of data


class Verdict(IntEnum):
    """Verdict codes: NF_* (linux/netfilter.h) and NFT_* (nf_tables.h ``enum nft_verdicts``)."""

    DROP = 0
    ACCEPT = 1
    STOLEN = 2
    QUEUE = 3
    REPEAT = 4
    CONTINUE = -1
    BREAK = -2
    JUMP = -3
    GOTO = -4
    RETURN = -5


#: libnftnl's nftnl_verdict2str: the word a dump prints for a verdict.
VERDICT_NAMES = {
    Verdict.ACCEPT: "accept", Verdict.DROP: "drop", Verdict.STOLEN: "stolen",
    Verdict.QUEUE: "queue", Verdict.REPEAT: "repeat", Verdict.RETURN: "return",
    Verdict.JUMP: "jump", Verdict.GOTO: "goto", Verdict.CONTINUE: "continue",
    Verdict.BREAK: "break",
}
_VERDICT_BY_NAME = {v: k for k, v in VERDICT_NAMES.items()}


@dataclass(frozen=True, slots=True)
class VerdictData:
    """A verdict as data (``struct nft_verdict``): a code and, for jump/goto, a chain.

    ``code`` keeps a plain int when the kernel's value has no name (dumps print
    ``unknown``); NF_QUEUE verdicts carry the queue number in the upper 16 bits.
    """

    code: int
    chain: str | None = None

    def dump(self) -> str:
        """``accept`` / ``jump -> NAME`` (nftnl_data_reg_verdict_snprintf)."""
        try:
            name = VERDICT_NAMES[Verdict(self.code)]
        except ValueError:
            name = "unknown"
        if self.chain is not None:
            return f"{name} -> {self.chain}"
        return name

    @classmethod
    def parse(cls, text: str) -> "VerdictData":
        parts = text.split()
        if not parts or parts[0] not in _VERDICT_BY_NAME:
            raise PktError(f"not a verdict: {text!r}")
        code = _VERDICT_BY_NAME[parts[0]]
        if len(parts) == 1:
            return cls(code)
        if len(parts) == 3 and parts[1] == "->":
            return cls(code, parts[2])
        if len(parts) == 2 and code in (Verdict.JUMP, Verdict.GOTO):
            # pkttables.compile prints "jump NAME" (libnftnl: "jump -> NAME"): read both
            return cls(code, parts[1])
        raise PktError(f"not a verdict: {text!r}")


def reg_offset(reg: int, length: int = 0) -> int:
    """Byte offset of register ``reg`` in the register file (nft_parse_register), checked
    like nft_validate_register_load/store: ``length`` bytes must fit."""
    if 1 <= reg <= 4:
        off = reg * NFT_REG_SIZE
    elif 8 <= reg <= 23:
        off = NFT_REG_SIZE + (reg - 8) * NFT_REG32_SIZE
    elif reg == 0:
        off = 0
    else:
        raise PktError(f"invalid register {reg}: registers are 0 (verdict), 1-4 and 8-23")
    if off + length > REGS_BYTES:
        raise PktError(f"{length} bytes at register {reg} run past the register file")
    return off


_OFF = {r: reg_offset(r) for r in (0, 1, 2, 3, 4, *range(8, 24))}


def words(data: bytes) -> list[int]:
    """The host (little-endian) u32 words of ``data``, zero-padded to a word."""
    data = bytes(data)
    if len(data) % 4:
        data += b"\0" * (4 - len(data) % 4)
    return [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]


def fmt_data(data: bytes, prefix: str = "0x") -> str:
    """libnftnl 1.2.4's value print: ``%s%.8x `` per host word; here joined by one
    space and without the trailing one (callers place separators)."""
    return " ".join(f"{prefix}{w:08x}" for w in words(data))


def parse_words(tokens: list[str]) -> bytes:
    """Inverse of :func:`fmt_data`: ``['0x00001600']`` -> ``b'\\x00\\x16\\x00\\x00'``."""
    out = bytearray()
    for t in tokens:
        h = t[2:] if t.startswith("0x") else t
        if len(h) != 8:
            raise PktError(f"not a 32-bit data word: {t!r}")
        try:
            out += int(h, 16).to_bytes(4, "little")
        except ValueError:
            raise PktError(f"not a 32-bit data word: {t!r}") from None
    return bytes(out)


class Regs:
    """The register file: ``data`` (80 bytes; bytes 0-15 are the verdict area, unused
    for data) and the verdict register (``verdict``, ``chain``)."""

    __slots__ = ("data", "verdict", "chain")

    def __init__(self) -> None:
        self.data = bytearray(REGS_BYTES)
        self.verdict: int = Verdict.CONTINUE
        self.chain: str | None = None

    def load(self, reg: int, n: int) -> bytes:
        """``n`` bytes starting at register ``reg``."""
        off = _OFF.get(reg)
        if off is None or off + n > REGS_BYTES:
            reg_offset(reg, n)  # raises with the reason
        return bytes(self.data[off:off + n])

    def store(self, reg: int, value: bytes) -> None:
        """Store ``value`` at ``reg`` and zero the rest of its last word."""
        n = len(value)
        off = _OFF.get(reg)
        pad = -n % 4
        if off is None or off + n + pad > REGS_BYTES:
            reg_offset(reg, n + pad)
        self.data[off:off + n] = value
        if pad:
            self.data[off + n:off + n + pad] = bytes(pad)

    def store_raw(self, reg: int, value: bytes) -> None:
        """Store exactly ``value``, leaving the rest of the word as it was."""
        off = _OFF.get(reg)
        if off is None or off + len(value) > REGS_BYTES:
            reg_offset(reg, len(value))
        self.data[off:off + len(value)] = value

    # host-endian helpers, as nft_reg_store8/16/64 and ``*dest = u32``
    def store_u8(self, reg: int, v: int) -> None:
        self.store(reg, bytes((v & 0xFF,)))

    def store_u16(self, reg: int, v: int) -> None:
        self.store(reg, (v & 0xFFFF).to_bytes(2, "little"))

    def store_u32(self, reg: int, v: int) -> None:
        self.store(reg, (v & 0xFFFFFFFF).to_bytes(4, "little"))

    def store_u64(self, reg: int, v: int) -> None:
        self.store(reg, (v & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little"))

    def load_u8(self, reg: int) -> int:
        return self.load(reg, 1)[0]

    def load_u16(self, reg: int) -> int:
        return int.from_bytes(self.load(reg, 2), "little")

    def load_u32(self, reg: int) -> int:
        return int.from_bytes(self.load(reg, 4), "little")

    def load_u64(self, reg: int) -> int:
        return int.from_bytes(self.load(reg, 8), "little")

    def set_verdict(self, code: int, chain: str | None = None) -> None:
        self.verdict = code
        self.chain = chain

    def reset(self) -> None:
        """Before a rule runs the kernel only resets the verdict (data is not cleared)."""
        self.verdict = Verdict.CONTINUE
        self.chain = None

    def __repr__(self) -> str:
        return f"<Regs verdict={self.verdict} data={self.data[16:].hex()}>"
