"""``ct``: read or write the packet's conntrack entry (nft_ct.c).

The conntrack table is not the register machine's: both directions go through the
context (``ctx.ct_get(instr, pkt) -> bytes | None``, None meaning BREAK, and
``ctx.ct_set(instr, pkt, value)``), implemented by the conntrack issue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pkttables.proto import CtDir, CtKeyId
from pkttables.vm._base import DumpError, Instr, match, register
from pkttables.vm.regs import Verdict

__all__ = ["CtLoad", "CtSet", "CT_KEY_NAMES"]

_C = CtKeyId
#: libnftnl 1.2.4 ctkey2str_array; it stops before NFT_CT_ID, which prints "unknown"
CT_KEY_NAMES: dict[int, str] = {
    _C.STATE: "state", _C.DIRECTION: "direction", _C.STATUS: "status", _C.MARK: "mark",
    _C.SECMARK: "secmark", _C.EXPIRATION: "expiration", _C.HELPER: "helper",
    _C.L3PROTOCOL: "l3protocol", _C.PROTOCOL: "protocol", _C.SRC: "src", _C.DST: "dst",
    _C.PROTO_SRC: "proto_src", _C.PROTO_DST: "proto_dst", _C.LABELS: "label",
    _C.PKTS: "packets", _C.BYTES: "bytes", _C.AVGPKT: "avgpkt", _C.ZONE: "zone",
    _C.EVENTMASK: "event", _C.SRC_IP: "src_ip", _C.DST_IP: "dst_ip", _C.SRC_IP6: "src_ip6",
    _C.DST_IP6: "dst_ip6",
}
_KEY_BY_NAME = {v: CtKeyId(k) for k, v in CT_KEY_NAMES.items()}
_KEY_BY_NAME["unknown"] = CtKeyId.ID  # the one key past libnftnl 1.2.4's table
_DIRS = {CtDir.ORIGINAL: "original", CtDir.REPLY: "reply"}
_DIR_BY_NAME = {v: k for k, v in _DIRS.items()}
#: bytes a ct set reads from its source register (nft_ct_set_init's len)
SET_LEN = {_C.MARK: 4, _C.SECMARK: 4, _C.LABELS: 16, _C.EVENTMASK: 4, _C.ZONE: 2, _C.HELPER: 16}


def _key(word: str) -> CtKeyId:
    if word not in _KEY_BY_NAME:
        raise DumpError(f"unknown ct key {word!r}")
    return _KEY_BY_NAME[word]


def _dir_suffix(d) -> str:
    return "" if d is None else f" , dir {_DIRS.get(d, 'unknown')}"


@register
@dataclass(frozen=True, slots=True)
class CtLoad(Instr):
    """``[ ct load state => reg 1 ]``, ``[ ct load src_ip => reg 1 , dir original ]``"""

    name = "ct"
    verb = "load"
    stateful = True

    key: CtKeyId
    dreg: int
    dir: CtDir | None = None

    def body(self) -> str:
        return f"load {CT_KEY_NAMES.get(self.key, 'unknown')} => reg {self.dreg}{_dir_suffix(self.dir)}"

    _RE = re.compile(r"load (\w+) => reg (\d+)(?: , dir (original|reply))?")

    @classmethod
    def parse_body(cls, body: str) -> "CtLoad":
        m = match(cls._RE, body, "ct load")
        return cls(_key(m[1]), int(m[2]), _DIR_BY_NAME[m[3]] if m[3] else None)

    def eval(self, regs, pkt, ctx) -> None:
        v = ctx.ct_get(self, pkt)
        if v is None:
            regs.verdict = Verdict.BREAK
        else:
            regs.store(self.dreg, v)


@register
@dataclass(frozen=True, slots=True)
class CtSet(Instr):
    """``[ ct set mark with reg 1 ]``"""

    name = "ct"
    verb = "set"
    stateful = True

    key: CtKeyId
    sreg: int
    dir: CtDir | None = None

    def body(self) -> str:
        return f"set {CT_KEY_NAMES.get(self.key, 'unknown')} with reg {self.sreg}{_dir_suffix(self.dir)}"

    _RE = re.compile(r"set (\w+) with reg (\d+)(?: , dir (original|reply))?")

    @classmethod
    def parse_body(cls, body: str) -> "CtSet":
        m = match(cls._RE, body, "ct set")
        return cls(_key(m[1]), int(m[2]), _DIR_BY_NAME[m[3]] if m[3] else None)

    def eval(self, regs, pkt, ctx) -> None:
        ctx.ct_set(self, pkt, regs.load(self.sreg, SET_LEN.get(self.key, 4)))
