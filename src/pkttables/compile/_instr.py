"""Instructions as the linearizer emits them, each able to print itself in libnftnl
1.2.4's ``--debug=netlink`` form (the form of the nft 1.0.6 test suite).

These are the compiler's output records.  ``pkttables.vm`` defines the executable
instruction classes; until the two are joined, the compiler keeps its own small
records here so that the bytecode can be produced and checked on its own.  Every
record has ``dump()``; data is printed as libnftnl 1.2.4 prints ``nftnl_data_reg``:
each 4-byte word of the register bytes as a host-endian (little-endian) u32.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Instr", "data_words", "elem_words", "reg_name", "PayloadLoad", "PayloadWrite", "MetaLoad",
    "MetaSet", "Cmp", "Range", "Bitwise", "Shift", "Lookup", "Immediate", "ImmediateVerdict",
    "CtLoad", "CtSet", "ExthdrLoad", "ExthdrWrite", "Byteorder", "Counter", "Raw",
]

_dc = dataclass(frozen=True, slots=True)

_BASES = ("link", "network", "transport", "inner")


def data_words(data: bytes) -> str:
    """``0x0000e800 0x...``: libnftnl 1.2.4 prints each 32-bit word as a native u32."""
    pad = data + b"\0" * (-len(data) % 4)
    return " ".join(f"0x{int.from_bytes(pad[i:i + 4], 'little'):08x}" for i in range(0, len(pad), 4))


def elem_words(data: bytes) -> str:
    """Set element keys: the same words, ``%08x`` without ``0x``."""
    pad = data + b"\0" * (-len(data) % 4)
    return " ".join(f"{int.from_bytes(pad[i:i + 4], 'little'):08x}" for i in range(0, len(pad), 4))


def reg_name(reg: int) -> int:
    """nft's ``netlink_put_register``: internal 32-bit slot numbers (1-based) are printed
    as 128-bit registers 1..4 when aligned, else as 32-bit registers 8..23."""
    if reg == 0:
        return 0
    r = reg - 1
    if r % 4 == 0:
        return 1 + r // 4
    return r + 8


@_dc
class Instr:
    def dump(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


@_dc
class Raw(Instr):
    """An instruction printed verbatim (statements without a dedicated record)."""
    text: str

    def dump(self) -> str:
        return f"[ {self.text} ]"


@_dc
class PayloadLoad(Instr):
    base: int
    offset: int
    length: int
    dreg: int

    def dump(self) -> str:
        return (f"[ payload load {self.length}b @ {_BASES[self.base]} header + {self.offset} "
                f"=> reg {reg_name(self.dreg)} ]")


@_dc
class PayloadWrite(Instr):
    sreg: int
    base: int
    offset: int
    length: int
    csum_type: int
    csum_off: int
    csum_flags: int

    def dump(self) -> str:
        return (f"[ payload write reg {reg_name(self.sreg)} => {self.length}b @ {_BASES[self.base]} header + "
                f"{self.offset} csum_type {self.csum_type} csum_off {self.csum_off} "
                f"csum_flags 0x{self.csum_flags:x} ]")


@_dc
class MetaLoad(Instr):
    key: str
    dreg: int

    def dump(self) -> str:
        return f"[ meta load {self.key} => reg {reg_name(self.dreg)} ]"


@_dc
class MetaSet(Instr):
    key: str
    sreg: int

    def dump(self) -> str:
        return f"[ meta set {self.key} with reg {reg_name(self.sreg)} ]"


@_dc
class Cmp(Instr):
    op: str
    sreg: int
    data: bytes

    def dump(self) -> str:
        return f"[ cmp {self.op} reg {reg_name(self.sreg)} {data_words(self.data)} ]"


@_dc
class Range(Instr):
    op: str
    sreg: int
    low: bytes
    high: bytes

    def dump(self) -> str:
        return f"[ range {self.op} reg {reg_name(self.sreg)} {data_words(self.low)} {data_words(self.high)} ]"


@_dc
class Bitwise(Instr):
    sreg: int
    dreg: int
    mask: bytes
    xor: bytes

    def dump(self) -> str:
        return (f"[ bitwise reg {reg_name(self.dreg)} = ( reg {reg_name(self.sreg)} & {data_words(self.mask)} ) "
                f"^ {data_words(self.xor)} ]")


@_dc
class Shift(Instr):
    sreg: int
    dreg: int
    op: str  # "<<" or ">>"
    amount: int

    def dump(self) -> str:
        return (f"[ bitwise reg {reg_name(self.dreg)} = ( reg {reg_name(self.sreg)} {self.op} "
                f"{data_words(self.amount.to_bytes(4, 'little'))} ) ]")


@_dc
class Lookup(Instr):
    sreg: int
    set: str
    dreg: int | None = None
    invert: bool = False

    def dump(self) -> str:
        s = f"[ lookup reg {reg_name(self.sreg)} set {self.set}"
        if self.dreg is not None:
            s += f" dreg {reg_name(self.dreg)}"
        if self.invert:
            s += " 0x1"
        return s + " ]"


@_dc
class Immediate(Instr):
    dreg: int
    data: bytes

    def dump(self) -> str:
        return f"[ immediate reg {reg_name(self.dreg)} {data_words(self.data)} ]"


@_dc
class ImmediateVerdict(Instr):
    verdict: str
    chain: str | None = None

    def dump(self) -> str:
        if self.chain is not None:
            return f"[ immediate reg 0 {self.verdict} -> {self.chain} ]"
        return f"[ immediate reg 0 {self.verdict} ]"


@_dc
class CtLoad(Instr):
    key: str
    dreg: int
    direction: int | None = None

    def dump(self) -> str:
        d = "" if self.direction is None else f" , dir {('original', 'reply')[self.direction]}"
        return f"[ ct load {self.key} => reg {reg_name(self.dreg)}{d} ]"


@_dc
class CtSet(Instr):
    key: str
    sreg: int
    direction: int | None = None

    def dump(self) -> str:
        d = "" if self.direction is None else f" , dir {('original', 'reply')[self.direction]}"
        return f"[ ct set {self.key} with reg {reg_name(self.sreg)}{d} ]"


_EXTHDR_OPS = ("ipv6", "tcpopt", "ipv4", "sctp")


@_dc
class ExthdrLoad(Instr):
    op: int
    type: int
    offset: int
    length: int
    dreg: int
    present: bool = False

    def dump(self) -> str:
        # libnftnl 1.2.4 knows no name for the sctp op and prints none.
        op = _EXTHDR_OPS[self.op]
        op = f"{op} " if op != "sctp" else ""
        flag = " present" if self.present else ""
        return (f"[ exthdr load {op}{self.length}b @ {self.type} + {self.offset}{flag} "
                f"=> reg {reg_name(self.dreg)} ]")


@_dc
class ExthdrWrite(Instr):
    op: int
    type: int
    offset: int
    length: int
    sreg: int

    def dump(self) -> str:
        return (f"[ exthdr write {_EXTHDR_OPS[self.op]} reg {reg_name(self.sreg)} => {self.length}b @ "
                f"{self.type} + {self.offset} ]")


@_dc
class Byteorder(Instr):
    sreg: int
    dreg: int
    op: str  # hton / ntoh
    length: int
    size: int

    def dump(self) -> str:
        return (f"[ byteorder reg {reg_name(self.dreg)} = {self.op}(reg {reg_name(self.sreg)}, "
                f"{self.size}, {self.length}) ]")


@_dc
class Counter(Instr):
    packets: int = 0
    bytes: int = 0

    def dump(self) -> str:
        return f"[ counter pkts {self.packets} bytes {self.bytes} ]"
