"""``payload``: load packet bytes into a register, or write a register into the packet.

Reproduces net/netfilter/nft_payload.c.  A load reads ``len`` bytes at ``offset`` from
one of four bases and zeroes the rest of the last register word; it BREAKs (the rule
stops, no match) when the base is absent or the bytes are not all in the packet:

* link: the MAC header; absent for raw L3 packets.  VLAN tags sit in the frame here,
  so reading the frame gives what nft_payload_copy_vlan rebuilds from ``vlan_tci``.
* network: the network header.
* transport: needs NFT_PKTINFO_L4PROTO and, except on nft_payload_fast_eval's path
  (1, 2 or 4 bytes at an offset aligned to the length), a first fragment;
  :meth:`Packet.transport_load_allowed` encodes that rule.
* inner: the transport payload, after the UDP header or the TCP header with its
  options (__nft_payload_inner_offset); only UDP and TCP have one.

A write (nft_payload_set_eval) finds its base the same way, then updates the checksum
at ``csum_off`` (csum_type inet: RFC 1624 incremental), the transport checksum when
the bytes are in the pseudo-header (csum_flags NFT_PAYLOAD_L4CSUM_PSEUDOHDR), and for
SCTP (csum_type sctp) recomputes the CRC32c.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from pkttables.packet import checksum as _ck
from pkttables.proto import Base
from pkttables.vm._base import DumpError, Instr, match, register
from pkttables.vm.regs import Verdict

__all__ = ["PayloadLoad", "PayloadWrite", "CsumType", "CsumFlag", "base_offset"]

_BREAK = Verdict.BREAK

_BASE_NAMES = {0: "link", 1: "network", 2: "transport", 3: "inner"}
_BASE_BY_NAME = {v: Base(k) for k, v in _BASE_NAMES.items()}


class CsumType(IntEnum):
    """``enum nft_payload_csum_types``."""

    NONE = 0
    INET = 1
    SCTP = 2


class CsumFlag(IntFlag):
    """``enum nft_payload_csum_flags``."""

    L4PSEUDOHDR = 1


def _inner_offset(pkt) -> int:
    """__nft_payload_inner_offset: start of the UDP/TCP payload, -1 if none."""
    if not pkt.has_transport:
        return -1
    th = pkt.th_off
    if pkt.l4proto == 17:
        return th + 8
    if pkt.l4proto == 6:
        if th + 20 > len(pkt.buf):
            return -1
        return th + (pkt.buf[th + 12] >> 4) * 4
    return -1


def base_offset(pkt, base: int, offset: int = 0, length: int = 0) -> int:
    """Absolute offset of ``base`` in ``pkt.buf``, or -1 where the kernel breaks."""
    if base == 1:
        return pkt.nh_off
    if base == 2:
        return pkt.th_off if pkt.transport_load_allowed(offset, length) else -1
    if base == 0:
        return pkt.mac_off
    if base == 3:
        return _inner_offset(pkt)
    return -1


def _base_name(base: int) -> str:
    return _BASE_NAMES.get(int(base), "unknown")


def _limit(pkt, ctx) -> int:
    if ctx is not None and ctx.l3_trim and pkt.nh_off >= 0:
        return pkt.nh_off + pkt.l3_len
    return len(pkt.buf)


@register
@dataclass(frozen=True, slots=True)
class PayloadLoad(Instr):
    """``[ payload load 2b @ transport header + 2 => reg 1 ]``"""

    name = "payload"
    verb = "load"

    base: Base
    offset: int
    len: int
    dreg: int

    def body(self) -> str:
        return f"load {self.len}b @ {_base_name(self.base)} header + {self.offset} => reg {self.dreg}"

    _RE = re.compile(r"load (\d+)b @ (\w+) header \+ (\d+) => reg (\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "PayloadLoad":
        m = match(cls._RE, body, "payload load")
        if m[2] not in _BASE_BY_NAME:
            raise DumpError(f"unknown payload base {m[2]!r}")
        return cls(_BASE_BY_NAME[m[2]], int(m[3]), int(m[1]), int(m[4]))

    def eval(self, regs, pkt, ctx) -> None:
        start = base_offset(pkt, self.base, self.offset, self.len)
        if start < 0:
            regs.verdict = _BREAK
            return
        start += self.offset
        end = start + self.len
        if end > _limit(pkt, ctx):
            regs.verdict = _BREAK
            return
        regs.store(self.dreg, pkt.buf[start:end])


@register
@dataclass(frozen=True, slots=True)
class PayloadWrite(Instr):
    """``[ payload write reg 1 => 2b @ network header + 2 csum_type 1 csum_off 10 csum_flags 0x0 ]``"""

    name = "payload"
    verb = "write"

    sreg: int
    base: Base
    offset: int
    len: int
    csum_type: CsumType = CsumType.NONE
    csum_offset: int = 0
    csum_flags: CsumFlag = CsumFlag(0)

    def body(self) -> str:
        return (f"write reg {self.sreg} => {self.len}b @ {_base_name(self.base)} header + {self.offset}"
                f" csum_type {int(self.csum_type)} csum_off {self.csum_offset}"
                f" csum_flags 0x{int(self.csum_flags):x}")

    _RE = re.compile(r"write reg (\d+) => (\d+)b @ (\w+) header \+ (\d+) csum_type (\d+)"
                     r" csum_off (\d+) csum_flags 0x([0-9a-f]+)")

    @classmethod
    def parse_body(cls, body: str) -> "PayloadWrite":
        m = match(cls._RE, body, "payload write")
        if m[3] not in _BASE_BY_NAME:
            raise DumpError(f"unknown payload base {m[3]!r}")
        return cls(int(m[1]), _BASE_BY_NAME[m[3]], int(m[4]), int(m[2]), CsumType(int(m[5])),
                   int(m[6]), CsumFlag(int(m[7], 16)))

    def eval(self, regs, pkt, ctx) -> None:
        # nft_payload_set_eval: transport writes need L4 info and a first fragment
        if self.base == 2:
            start = pkt.th_off if pkt.has_transport else -1
        else:
            start = base_offset(pkt, self.base)
        if start < 0:
            regs.verdict = _BREAK
            return
        data = regs.load(self.sreg, self.len)
        csum = start + self.csum_offset if self.csum_type == CsumType.INET else None
        ok = pkt.mangle(start + self.offset, data, csum_offset=csum,
                        l4_pseudo=bool(self.csum_flags & CsumFlag.L4PSEUDOHDR))
        if not ok:
            regs.verdict = _BREAK
            return
        if self.csum_type == CsumType.SCTP and pkt.l4proto == 132 and pkt.has_transport:
            # nft_payload_csum_sctp: recompute the CRC32c over the whole SCTP packet
            th = pkt.th_off
            end = pkt.nh_off + pkt.l3_len
            if th + 12 <= end:
                pkt.buf[th + 8:th + 12] = _ck.sctp_checksum(memoryview(pkt.buf)[th:end])
