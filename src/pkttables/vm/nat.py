"""``nat``, ``masq``, ``redir``, ``tproxy``: address and port rewriting (nft_nat.c,
nft_masq.c, nft_redir.c, nft_tproxy.c).

The registers name the range (``addr_min``...``proto_max``); the rewriting itself --
port allocation, the conntrack NAT binding -- is the NAT issue's, reached through
``ctx.nat`` / ``ctx.masq`` / ``ctx.redir`` / ``ctx.tproxy``, which set the verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from pkttables.vm._base import DumpError, Instr, match, opt_int, register

__all__ = ["Nat", "NatType", "NatFlag", "Masq", "Redir", "Tproxy", "FAMILY_NAMES"]


class NatType(IntEnum):
    """``enum nft_nat_types``."""

    SNAT = 0
    DNAT = 1


class NatFlag(IntFlag):
    """NF_NAT_RANGE_* (linux/netfilter/nf_nat.h)."""

    MAP_IPS = 1
    PROTO_SPECIFIED = 2
    PROTO_RANDOM = 4
    PERSISTENT = 8
    PROTO_RANDOM_FULLY = 16
    PROTO_OFFSET = 32
    NETMAP = 64


#: libnftnl nftnl_family2str
FAMILY_NAMES = {0: "unspec", 1: "inet", 2: "ip", 3: "arp", 5: "netdev", 7: "bridge", 10: "ip6"}
_FAMILY_BY_NAME = {v: k for k, v in FAMILY_NAMES.items()}


def _regs_text(pairs) -> str:
    return "".join(f" {n} reg {r}" for n, r in pairs if r is not None)


def _flags_text(flags) -> str:
    return "" if flags is None else f" flags 0x{int(flags):x}"


_RANGE_RE = r"(?: addr_min reg (\d+))?(?: addr_max reg (\d+))?(?: proto_min reg (\d+))?(?: proto_max reg (\d+))?(?: flags 0x([0-9a-f]+))?"


@register
@dataclass(frozen=True, slots=True)
class Nat(Instr):
    """``[ nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2 ]``"""

    name = "nat"
    stateful = True

    type: NatType
    family: int
    sreg_addr_min: int | None = None
    sreg_addr_max: int | None = None
    sreg_proto_min: int | None = None
    sreg_proto_max: int | None = None
    flags: NatFlag | None = None

    def body(self) -> str:
        t = {NatType.SNAT: "snat", NatType.DNAT: "dnat"}.get(self.type, "unknown")
        return (f"{t} {FAMILY_NAMES.get(self.family, 'unknown')}"
                + _regs_text((("addr_min", self.sreg_addr_min), ("addr_max", self.sreg_addr_max),
                              ("proto_min", self.sreg_proto_min), ("proto_max", self.sreg_proto_max)))
                + _flags_text(self.flags))

    _RE = re.compile(r"(snat|dnat) (\w+)" + _RANGE_RE)

    @classmethod
    def parse_body(cls, body: str) -> "Nat":
        m = match(cls._RE, body, "nat")
        if m[2] not in _FAMILY_BY_NAME:
            raise DumpError(f"unknown nat family {m[2]!r}")
        return cls(NatType.SNAT if m[1] == "snat" else NatType.DNAT, _FAMILY_BY_NAME[m[2]],
                   opt_int(m[3]), opt_int(m[4]), opt_int(m[5]), opt_int(m[6]),
                   None if m[7] is None else NatFlag(int(m[7], 16)))

    def eval(self, regs, pkt, ctx) -> None:
        ctx.nat(self, regs, pkt)


@dataclass(frozen=True, slots=True)
class _PortRange(Instr):
    """What masq and redir share (nft_masq.c and nft_redir.c read the same attributes):
    an optional port range in registers and the NF_NAT_RANGE_* flags."""

    sreg_proto_min: int | None = None
    sreg_proto_max: int | None = None
    flags: NatFlag | None = None

    def body(self) -> str:
        return (_regs_text((("proto_min", self.sreg_proto_min), ("proto_max", self.sreg_proto_max)))
                + _flags_text(self.flags)).lstrip(" ")

    _RE = re.compile(r"(?:proto_min reg (\d+))? ?(?:proto_max reg (\d+))? ?(?:flags 0x([0-9a-f]+))?")

    @classmethod
    def parse_body(cls, body: str):
        m = match(cls._RE, body, cls.name)
        return cls(opt_int(m[1]), opt_int(m[2]), None if m[3] is None else NatFlag(int(m[3], 16)))


@register
@dataclass(frozen=True, slots=True)
class Masq(_PortRange):
    """``[ masq ]``, ``[ masq proto_min reg 1 flags 0x2 ]``"""

    name = "masq"
    stateful = True

    def eval(self, regs, pkt, ctx) -> None:
        ctx.masq(self, regs, pkt)


@register
@dataclass(frozen=True, slots=True)
class Redir(_PortRange):
    """``[ redir proto_min reg 1 flags 0x2 ]``"""

    name = "redir"
    stateful = True

    def eval(self, regs, pkt, ctx) -> None:
        ctx.redir(self, regs, pkt)


@register
@dataclass(frozen=True, slots=True)
class Tproxy(Instr):
    """``[ tproxy ip addr reg 1 port reg 2 ]``; family 0 (inet, any) prints no family."""

    name = "tproxy"
    stateful = True

    family: int = 0
    sreg_addr: int | None = None
    sreg_port: int | None = None

    def body(self) -> str:
        parts = []
        if self.family:
            parts.append(FAMILY_NAMES.get(self.family, "unknown"))
        if self.sreg_addr is not None:
            parts.append(f"addr reg {self.sreg_addr}")
        if self.sreg_port is not None:
            parts.append(f"port reg {self.sreg_port}")
        return " ".join(parts)

    _RE = re.compile(r"(?:(ip6?) ?)?(?:addr reg (\d+) ?)?(?:port reg (\d+))?")

    @classmethod
    def parse_body(cls, body: str) -> "Tproxy":
        m = match(cls._RE, body, "tproxy")
        return cls(_FAMILY_BY_NAME[m[1]] if m[1] else 0, opt_int(m[2]), opt_int(m[3]))

    def eval(self, regs, pkt, ctx) -> None:
        ctx.tproxy(self, regs, pkt)
