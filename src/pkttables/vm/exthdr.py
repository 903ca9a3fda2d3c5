"""``exthdr``: IPv6 extension headers, TCP options, IPv4 options, SCTP chunks
(nft_exthdr.c).

A load finds header ``type`` in its space (``op``) and copies ``len`` bytes at
``offset`` into it; with NFT_EXTHDR_F_PRESENT it stores 1 or 0 instead and never
breaks.  How each space is walked:

* ipv6: ``ipv6_find_hdr(skb, &off, type, NULL, NULL)`` (:meth:`Packet.find_exthdr`):
  it walks past AH and gives up at a non-first fragment.
* tcpopt: the kernel's option loop over the TCP header of a first fragment (EOL and
  NOP are one byte, a zero length counts as one); the option must fit in the header
  and ``offset + len`` in the option, else BREAK.  PRESENT stores a whole u32 1/0.
* ipv4: ``ipv4_find_option`` over options that pass ``__ip_options_compile``'s
  length checks; RR, SSRR, LSRR and RA can be found.
* sctp: the chunk walk after the 12-byte common header, 4-byte padded, stopping at a
  zero-length chunk.

Writes exist for TCP options only (``tcp option maxseg size set``): 2 or 4 bytes with
an incremental TCP checksum update; MSS is only ever lowered.  ``reset`` overwrites an
option with NOPs.

libnftnl 1.2.4 names the tcpopt, ipv6 and ipv4 spaces in dumps and prints nothing
for sctp, so a space-less line reads back as sctp.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pkttables.packet import checksum as _ck
from pkttables.proto import ExthdrFlag, ExthdrOp
from pkttables.vm._base import DumpError, Instr, match, register
from pkttables.vm.regs import Verdict

__all__ = ["ExthdrLoad", "ExthdrWrite", "ExthdrReset", "ipv4_find_option"]

_BREAK = Verdict.BREAK
_OP_NAMES = {ExthdrOp.TCPOPT: " tcpopt", ExthdrOp.IPV6: " ipv6", ExthdrOp.IPV4: " ipv4"}
_OP_BY_NAME = {"tcpopt": ExthdrOp.TCPOPT, "ipv6": ExthdrOp.IPV6, "ipv4": ExthdrOp.IPV4,
               None: ExthdrOp.SCTP}


def _op_name(op: int) -> str:
    return _OP_NAMES.get(int(op), "")


def _tcp_walk(pkt):
    """(tcp header offset, header length) for the option walk, or None
    (nft_tcp_header_pointer: TCP, first fragment, 20 <= doff*4, all present)."""
    if pkt.l4proto != 6 or not pkt.has_transport:
        return None
    th = pkt.th_off
    buf = pkt.buf
    if th + 20 > len(buf):
        return None
    hlen = (buf[th + 12] >> 4) * 4
    if hlen < 20 or th + hlen > len(buf):
        return None
    return th, hlen


def _tcp_find(pkt, kind: int):
    """(th, hlen, option start, option length) of the first option ``kind``, or a
    reason: None = no TCP header / not found."""
    w = _tcp_walk(pkt)
    if w is None:
        return None
    th, hlen = w
    buf = pkt.buf
    i = 20
    while i < hlen - 1:
        k = buf[th + i]
        optl = 1 if k <= 1 or buf[th + i + 1] == 0 else buf[th + i + 1]
        if k == kind:
            return th, hlen, i, optl
        i += optl
    return None


def ipv4_find_option(pkt, target: int) -> int:
    """Absolute offset of IPv4 option ``target`` (RR 7, LSRR 131, SSRR 137, RA 148),
    -1 when absent or when the options are malformed (ipv4_find_option)."""
    nh = pkt.nh_off
    buf = pkt.buf
    if pkt.ethertype != 0x0800 or nh < 0 or nh + 20 > len(buf):
        return -1
    optlen = (buf[nh] & 15) * 4 - 20
    if optlen <= 0 or nh + 20 + optlen > len(buf):
        return -1
    start = nh + 20
    found = {}
    i = 0
    # the length checks of __ip_options_compile; a bad option fails the whole lookup
    while i < optlen:
        t = buf[start + i]
        if t == 0:      # IPOPT_END
            break
        if t == 1:      # IPOPT_NOOP
            i += 1
            continue
        if i + 1 >= optlen:
            return -1
        ol = buf[start + i + 1]
        if ol < 2 or ol > optlen - i:
            return -1
        if t in (131, 137):                      # LSRR / SSRR
            if ol < 3 or buf[start + i + 2] < 4 or 131 in found or 137 in found:
                return -1
        elif t == 7:                             # RR
            if ol < 3 or buf[start + i + 2] < 4 or 7 in found:
                return -1
        elif t == 148:                           # RA
            if ol != 4 or 148 in found:
                return -1
        found.setdefault(t, start + i)
        i += ol
    return found.get(target, -1)


def _sctp_find(pkt, kind: int):
    """(chunk offset, chunk length) of the first chunk of type ``kind``, or None."""
    if pkt.l4proto != 132 or not pkt.has_transport:
        return None
    buf = pkt.buf
    off = pkt.th_off + 12
    end = len(buf)
    while off < end:
        if off + 4 > end:
            return None
        clen = (buf[off + 2] << 8) | buf[off + 3]
        if clen == 0:
            return None
        if buf[off] == kind:
            return off, clen
        off += (clen + 3) & ~3
    return None


@register
@dataclass(frozen=True, slots=True)
class ExthdrLoad(Instr):
    """``[ exthdr load ipv6 2b @ 43 + 0 => reg 1 ]``, ``[ exthdr load tcpopt 1b @ 2 + 0 present => reg 1 ]``"""

    name = "exthdr"
    verb = "load"

    op: ExthdrOp
    type: int
    offset: int
    len: int
    dreg: int
    flags: ExthdrFlag = ExthdrFlag(0)

    @property
    def present(self) -> bool:
        return bool(self.flags & ExthdrFlag.PRESENT)

    def body(self) -> str:
        pres = " present" if self.present else ""
        return (f"load{_op_name(self.op)} {self.len}b @ {self.type} + {self.offset}{pres}"
                f" => reg {self.dreg}")

    _RE = re.compile(r"load(?: (tcpopt|ipv6|ipv4))? (\d+)b @ (\d+) \+ (\d+)( present)? => reg (\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "ExthdrLoad":
        m = match(cls._RE, body, "exthdr load")
        return cls(_OP_BY_NAME[m[1]], int(m[3]), int(m[4]), int(m[2]), int(m[6]),
                   ExthdrFlag.PRESENT if m[5] else ExthdrFlag(0))

    def eval(self, regs, pkt, ctx) -> None:
        op = self.op
        present = self.present
        buf = pkt.buf
        if op == ExthdrOp.TCPOPT:
            f = _tcp_find(pkt, self.type)
            ok = f is not None and f[2] + f[3] <= f[1] and self.offset + self.len <= f[3]
            if present:
                # nft_exthdr_tcp_eval: ``*dest = 1`` / ``*dest = 0``, a whole u32
                regs.store_u32(self.dreg, 1 if ok else 0)
            elif not ok:
                regs.verdict = _BREAK
            else:
                start = f[0] + f[2] + self.offset
                regs.store(self.dreg, buf[start:start + self.len])
            return
        if op == ExthdrOp.SCTP:
            f = _sctp_find(pkt, self.type)
            if present:
                regs.store_u8(self.dreg, 1 if f is not None else 0)
                return
            if f is None or self.offset + self.len > f[1] or f[0] + f[1] > len(buf):
                regs.verdict = _BREAK
                return
            start = f[0] + self.offset
            regs.store(self.dreg, buf[start:start + self.len])
            return
        if op == ExthdrOp.IPV6:
            off = pkt.find_exthdr(self.type)
        elif op == ExthdrOp.IPV4:
            off = ipv4_find_option(pkt, self.type)
        else:
            raise DumpError(f"exthdr: unknown operation {int(op)}")
        if present:
            regs.store_u8(self.dreg, 1 if off >= 0 else 0)
            return
        if off < 0 or off + self.offset + self.len > len(buf):
            regs.verdict = _BREAK
            return
        start = off + self.offset
        regs.store(self.dreg, buf[start:start + self.len])


def _tcp_csum_replace(pkt, th: int, old: bytes, new: bytes) -> None:
    # inet_proto_csum_replace2/4 with pseudohdr false: plain RFC 1624, no 0 -> 0xffff
    buf = pkt.buf
    c = _ck.csum_replace((buf[th + 16] << 8) | buf[th + 17], old, new)
    buf[th + 16] = c >> 8
    buf[th + 17] = c & 0xFF


@register
@dataclass(frozen=True, slots=True)
class ExthdrWrite(Instr):
    """``[ exthdr write tcpopt reg 1 => 2b @ 2 + 2 ]``"""

    name = "exthdr"
    verb = "write"

    op: ExthdrOp
    type: int
    offset: int
    len: int
    sreg: int

    def body(self) -> str:
        return f"write{_op_name(self.op)} reg {self.sreg} => {self.len}b @ {self.type} + {self.offset}"

    _RE = re.compile(r"write(?: (tcpopt|ipv6|ipv4))? reg (\d+) => (\d+)b @ (\d+) \+ (\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "ExthdrWrite":
        m = match(cls._RE, body, "exthdr write")
        return cls(_OP_BY_NAME[m[1]], int(m[4]), int(m[5]), int(m[3]), int(m[2]))

    def eval(self, regs, pkt, ctx) -> None:
        if self.op != ExthdrOp.TCPOPT:
            raise DumpError("exthdr write: the kernel writes TCP options only")
        f = _tcp_find(pkt, self.type)
        if f is None:
            return  # option not there: nothing to do, the rule goes on
        th, hlen, i, optl = f
        if i + optl > hlen or self.offset + self.len > optl:
            regs.verdict = _BREAK
            return
        at = th + i + self.offset
        old = bytes(pkt.buf[at:at + self.len])
        if self.len == 2:
            # the register holds the value as nft_reg_load16 reads it: wire order
            new = regs.load(self.sreg, 2)
            # nft_exthdr_tcp_set_eval: "increase can cause connection to stall"
            if self.type == 2 and int.from_bytes(old, "big") <= int.from_bytes(new, "big"):
                return
        elif self.len == 4:
            new = regs.load(self.sreg, 4)
        else:
            return  # WARN_ON_ONCE in the kernel: nothing written
        if old == new:
            return
        # checksum over the whole 16-bit words that contain the bytes
        lo = th + ((at - th) & ~1)
        hi = th + ((at + self.len - th + 1) & ~1)
        before = bytes(pkt.buf[lo:hi])
        pkt.buf[at:at + self.len] = new
        _tcp_csum_replace(pkt, th, before, bytes(pkt.buf[lo:hi]))


@register
@dataclass(frozen=True, slots=True)
class ExthdrReset(Instr):
    """``[ exthdr reset tcpopt 30 ]``: overwrite the option with NOPs."""

    name = "exthdr"
    verb = "reset"

    op: ExthdrOp
    type: int

    def body(self) -> str:
        return f"reset{_op_name(self.op)} {self.type}"

    _RE = re.compile(r"reset(?: (tcpopt|ipv6|ipv4))? (\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "ExthdrReset":
        m = match(cls._RE, body, "exthdr reset")
        return cls(_OP_BY_NAME[m[1]], int(m[2]))

    def eval(self, regs, pkt, ctx) -> None:
        f = _tcp_find(pkt, self.type)
        if f is None:
            return  # "option not found, continue": several resets per rule work
        th, hlen, i, optl = f
        if i + optl > hlen:
            regs.verdict = Verdict.DROP
            return
        start = th + i
        # checksum over whole 16-bit words of the TCP header
        lo = th + (i & ~1)
        hi = th + ((i + optl + 1) & ~1)
        old = bytes(pkt.buf[lo:hi])
        pkt.buf[start:start + optl] = b"\x01" * optl
        _tcp_csum_replace(pkt, th, old, bytes(pkt.buf[lo:hi]))
