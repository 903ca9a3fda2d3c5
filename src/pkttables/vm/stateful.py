"""Instructions whose effect is state or an action outside the register machine:
counter, limit, quota, connlimit, last, log, reject, queue, dup, fwd, synproxy,
notrack, flow_offload (nft_counter.c, nft_limit.c, nft_quota.c, nft_connlimit.c,
nft_last.c, nft_log.c, nft_reject*.c, nft_queue.c, nft_dup_*.c, nft_fwd_netdev.c,
nft_synproxy.c, nft_ct.c (notrack), nft_flow_offload.c).

Each has the kernel's attributes, libnftnl's dump, and an ``eval`` that calls the
context hook named after it (see :mod:`pkttables.vm.context`).  What the verdict
becomes is decided here where the kernel decides it in the expression (limit/quota
over -> BREAK, queue -> NF_QUEUE with the number, reject -> NF_DROP after the hook
sent the packet).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from pkttables.vm._base import DumpError, Instr, match, opt_int, register
from pkttables.vm.regs import Verdict

__all__ = [
    "Counter", "Limit", "LimitType", "Quota", "Connlimit", "Last", "Log", "LogFlag", "Reject",
    "RejectType", "Queue", "QueueFlag", "Dup", "Fwd", "Synproxy", "Notrack", "FlowOffload",
]

_BREAK = Verdict.BREAK


@register
@dataclass(frozen=True, slots=True)
class Counter(Instr):
    """``[ counter pkts 0 bytes 0 ]`` (the values are the counter's initial ones)."""

    name = "counter"
    stateful = True

    pkts: int = 0
    bytes: int = 0

    def body(self) -> str:
        return f"pkts {self.pkts} bytes {self.bytes}"

    _RE = re.compile(r"pkts (\d+) bytes (\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "Counter":
        m = match(cls._RE, body, "counter")
        return cls(int(m[1]), int(m[2]))

    def eval(self, regs, pkt, ctx) -> None:
        ctx.counter(self, pkt)


class LimitType(IntEnum):
    """``enum nft_limit_type``."""

    PKTS = 0
    PKT_BYTES = 1


_UNITS = {1: "second", 60: "minute", 3600: "hour", 86400: "day", 604800: "week"}
_UNIT_BY_NAME = {v: k for k, v in _UNITS.items()}
_LIMIT_TYPES = {LimitType.PKTS: "packets", LimitType.PKT_BYTES: "bytes"}
_LIMIT_TYPE_BY_NAME = {v: k for k, v in _LIMIT_TYPES.items()}
LIMIT_F_INV = 1  # NFT_LIMIT_F_INV


@register
@dataclass(frozen=True, slots=True)
class Limit(Instr):
    """``[ limit rate 400/minute burst 5 type packets flags 0x0 ]``; ``unit`` in seconds."""

    name = "limit"
    stateful = True

    rate: int
    unit: int
    burst: int = 0
    type: LimitType = LimitType.PKTS
    flags: int = 0

    def body(self) -> str:
        return (f"rate {self.rate}/{_UNITS.get(self.unit, 'error')} burst {self.burst} "
                f"type {_LIMIT_TYPES.get(self.type, 'unknown')} flags 0x{self.flags:x}")

    _RE = re.compile(r"rate (\d+)/(\w+) burst (\d+) type (\w+) flags 0x([0-9a-f]+)")

    @classmethod
    def parse_body(cls, body: str) -> "Limit":
        m = match(cls._RE, body, "limit")
        if m[2] not in _UNIT_BY_NAME or m[4] not in _LIMIT_TYPE_BY_NAME:
            raise DumpError(f"cannot read limit {body!r}")
        return cls(int(m[1]), _UNIT_BY_NAME[m[2]], int(m[3]), _LIMIT_TYPE_BY_NAME[m[4]], int(m[5], 16))

    def eval(self, regs, pkt, ctx) -> None:
        # ctx.limit answers "over the limit?"; nft_limit_eval XORs with the inverted flag
        if bool(ctx.limit(self, pkt)) != bool(self.flags & LIMIT_F_INV):
            regs.verdict = _BREAK


QUOTA_F_INV, QUOTA_F_DEPLETED = 1, 2


@register
@dataclass(frozen=True, slots=True)
class Quota(Instr):
    """``[ quota bytes 1024 consumed 0 flags 0 ]``"""

    name = "quota"
    stateful = True

    bytes: int
    consumed: int = 0
    flags: int = 0

    def body(self) -> str:
        return f"bytes {self.bytes} consumed {self.consumed} flags {self.flags}"

    _RE = re.compile(r"bytes (\d+) consumed (\d+) flags (\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "Quota":
        m = match(cls._RE, body, "quota")
        return cls(int(m[1]), int(m[2]), int(m[3]))

    def eval(self, regs, pkt, ctx) -> None:
        # nft_quota_do_eval: over ^ inverted -> BREAK
        if bool(ctx.quota(self, pkt)) != bool(self.flags & QUOTA_F_INV):
            regs.verdict = _BREAK


@register
@dataclass(frozen=True, slots=True)
class Connlimit(Instr):
    """``[ connlimit count 3 flags 1 ]`` (flags 1 = NFT_CONNLIMIT_F_INV: ``ct count over``)"""

    name = "connlimit"
    stateful = True

    count: int
    flags: int = 0

    def body(self) -> str:
        return f"count {self.count} flags {self.flags:x}"

    _RE = re.compile(r"count (\d+) flags ([0-9a-f]+)")

    @classmethod
    def parse_body(cls, body: str) -> "Connlimit":
        m = match(cls._RE, body, "connlimit")
        return cls(int(m[1]), int(m[2], 16))

    def eval(self, regs, pkt, ctx) -> None:
        if ctx.connlimit(self, pkt):
            regs.verdict = _BREAK


@register
@dataclass(frozen=True, slots=True)
class Last(Instr):
    """``[ last never ]`` / ``[ last 1234 ]`` (milliseconds since last use)."""

    name = "last"
    stateful = True

    msecs: int | None = None   # None: never used (NFTA_LAST_SET 0)

    def body(self) -> str:
        return "never" if self.msecs is None else str(self.msecs)

    _RE = re.compile(r"never|(\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "Last":
        m = match(cls._RE, body, "last")
        return cls(opt_int(m[1]))

    def eval(self, regs, pkt, ctx) -> None:
        ctx.last(self, pkt)


class LogFlag(IntFlag):
    """NF_LOG_* (linux/netfilter/nf_log.h)."""

    TCPSEQ = 0x01
    TCPOPT = 0x02
    IPOPT = 0x04
    UID = 0x08
    NFLOG_COPY_LEN = 0x10
    MACDECODE = 0x20


_LOG_FLAG_WORDS = ((LogFlag.TCPSEQ, "tcpseq"), (LogFlag.TCPOPT, "tcpopt"), (LogFlag.IPOPT, "ipopt"),
                   (LogFlag.UID, "uid"), (LogFlag.MACDECODE, "macdecode"))
_LOG_FLAG_BY_WORD = {w: f for f, w in _LOG_FLAG_WORDS}
_LOG_GROUP_RE = re.compile(r"(?:(.*) )?group (\d+) snaplen (\d+) qthreshold (\d+)", re.S)
_LOG_TAIL_RE = re.compile(r"(?:level (\d+))? ?((?:(?:tcpseq|tcpopt|ipopt|uid|macdecode) ?)*)")


@register
@dataclass(frozen=True, slots=True)
class Log(Instr):
    """``[ log prefix nft-test:  group 2 snaplen 0 qthreshold 0 ]``, ``[ log level 7 ipopt uid ]``.

    libnftnl prints ``group`` (with snaplen and qthreshold) for NFLOG and otherwise the
    level and flags; a prefix is printed as is, so it may hold spaces.
    """

    name = "log"
    stateful = True

    prefix: str | None = None
    group: int | None = None
    snaplen: int = 0
    qthreshold: int = 0
    level: int | None = None
    flags: LogFlag | None = None

    def _pieces(self) -> str:
        out = ""
        if self.prefix is not None:
            out += f"prefix {self.prefix} "
        if self.group is not None:
            out += f"group {self.group} snaplen {self.snaplen} qthreshold {self.qthreshold} "
        else:
            if self.level is not None:
                out += f"level {self.level} "
            if self.flags is not None:
                out += "".join(f"{w} " for f, w in _LOG_FLAG_WORDS if self.flags & f)
        return out

    def body(self) -> str:
        p = self._pieces()
        return p[:-1] if p.endswith(" ") else p

    @classmethod
    def parse_body(cls, body: str) -> "Log":
        prefix = None
        rest = body
        if body.startswith("prefix "):
            rest = body[len("prefix "):]
            m = _LOG_GROUP_RE.fullmatch(rest)
            if m:
                return cls(m[1] if m[1] is not None else "", int(m[2]), int(m[3]), int(m[4]))
            # the shortest prefix followed by " " and a valid level/flags tail; a
            # prefix is free text, so "prefix a uid" is read as prefix "a", flag uid
            prefix, rest = rest, ""
            for cut in range(len(prefix)):
                tail = prefix[cut + 1:]
                if prefix[cut] == " " and tail and _LOG_TAIL_RE.fullmatch(tail):
                    prefix, rest = prefix[:cut], tail
                    break
        else:
            m = _LOG_GROUP_RE.fullmatch(body)
            if m and m[1] is None:
                return cls(None, int(m[2]), int(m[3]), int(m[4]))
        if not rest:
            return cls(prefix)
        m = match(_LOG_TAIL_RE, rest, "log")
        flags = None
        if m[2]:
            flags = LogFlag(0)
            for w in m[2].split():
                flags |= _LOG_FLAG_BY_WORD[w]
        return cls(prefix, None, 0, 0, int(m[1]) if m[1] is not None else None, flags)

    def eval(self, regs, pkt, ctx) -> None:
        ctx.log(self, pkt)


class RejectType(IntEnum):
    """``enum nft_reject_types``."""

    ICMP_UNREACH = 0
    TCP_RST = 1
    ICMPX_UNREACH = 2


@register
@dataclass(frozen=True, slots=True)
class Reject(Instr):
    """``[ reject type 0 code 3 ]``"""

    name = "reject"
    stateful = True

    type: RejectType
    code: int = 0

    def body(self) -> str:
        return f"type {int(self.type)} code {self.code}"

    _RE = re.compile(r"type (\d+) code (\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "Reject":
        m = match(cls._RE, body, "reject")
        return cls(RejectType(int(m[1])), int(m[2]))

    def eval(self, regs, pkt, ctx) -> None:
        # the hook builds and emits the reply; the packet itself is always dropped
        ctx.reject(self, regs, pkt)
        regs.verdict = Verdict.DROP


class QueueFlag(IntFlag):
    """NFT_QUEUE_FLAG_*."""

    BYPASS = 0x01
    CPU_FANOUT = 0x02


@register
@dataclass(frozen=True, slots=True)
class Queue(Instr):
    """``[ queue num 4-5 bypass fanout ]``, ``[ queue sreg_qnum 1 bypass ]``"""

    name = "queue"
    stateful = True

    num: int = 0
    total: int = 1
    flags: QueueFlag = QueueFlag(0)
    sreg_qnum: int | None = None

    def body(self) -> str:
        if self.sreg_qnum is not None:
            out = f"sreg_qnum {self.sreg_qnum}"
        else:
            out = f"num {self.num}"
            if self.total > 1:
                out += f"-{self.num + self.total - 1}"
        if self.flags & QueueFlag.BYPASS:
            out += " bypass"
        if self.flags & QueueFlag.CPU_FANOUT:
            out += " fanout"
        return out

    _RE = re.compile(r"(?:sreg_qnum (\d+)|num (\d+)(?:-(\d+))?)( bypass)?( fanout)?")

    @classmethod
    def parse_body(cls, body: str) -> "Queue":
        m = match(cls._RE, body, "queue")
        flags = QueueFlag(0)
        if m[4]:
            flags |= QueueFlag.BYPASS
        if m[5]:
            flags |= QueueFlag.CPU_FANOUT
        if m[1] is not None:
            return cls(flags=flags, sreg_qnum=int(m[1]))
        num = int(m[2])
        total = int(m[3]) - num + 1 if m[3] else 1
        return cls(num, total, flags)

    def eval(self, regs, pkt, ctx) -> None:
        if self.sreg_qnum is not None:
            qnum = regs.load_u32(self.sreg_qnum)
        elif self.total > 1:
            # nft_queue_eval without fanout spreads flows with a hash; the hook picks
            qnum = -1
        else:
            qnum = self.num
        ctx.queue(self, regs, pkt, qnum)


@register
@dataclass(frozen=True, slots=True)
class Dup(Instr):
    """``[ dup sreg_addr 1 sreg_dev 2 ]``"""

    name = "dup"
    stateful = True

    sreg_addr: int | None = None
    sreg_dev: int | None = None

    def body(self) -> str:
        parts = []
        if self.sreg_addr is not None:
            parts.append(f"sreg_addr {self.sreg_addr}")
        if self.sreg_dev is not None:
            parts.append(f"sreg_dev {self.sreg_dev}")
        return " ".join(parts)

    _RE = re.compile(r"(?:sreg_addr (\d+) ?)?(?:sreg_dev (\d+))?")

    @classmethod
    def parse_body(cls, body: str) -> "Dup":
        m = match(cls._RE, body, "dup")
        return cls(opt_int(m[1]), opt_int(m[2]))

    def eval(self, regs, pkt, ctx) -> None:
        ctx.dup(self, regs, pkt)


@register
@dataclass(frozen=True, slots=True)
class Fwd(Instr):
    """``[ fwd sreg_dev 1 sreg_addr 2 nfproto 2 ]``"""

    name = "fwd"
    stateful = True

    sreg_dev: int
    sreg_addr: int | None = None
    nfproto: int | None = None

    def body(self) -> str:
        out = f"sreg_dev {self.sreg_dev}"
        if self.sreg_addr is not None:
            out += f" sreg_addr {self.sreg_addr}"
        if self.nfproto is not None:
            out += f" nfproto {self.nfproto}"
        return out

    _RE = re.compile(r"sreg_dev (\d+)(?: sreg_addr (\d+))?(?: nfproto (\d+))?")

    @classmethod
    def parse_body(cls, body: str) -> "Fwd":
        m = match(cls._RE, body, "fwd")
        return cls(int(m[1]), opt_int(m[2]), opt_int(m[3]))

    def eval(self, regs, pkt, ctx) -> None:
        ctx.fwd(self, regs, pkt)


@register
@dataclass(frozen=True, slots=True)
class Synproxy(Instr):
    """``[ synproxy mss 1460 wscale 7 ]`` (``flags``, NF_SYNPROXY_OPT_*, is not dumped)."""

    name = "synproxy"
    stateful = True

    mss: int
    wscale: int
    flags: int = 0

    def body(self) -> str:
        return f"mss {self.mss} wscale {self.wscale}"

    _RE = re.compile(r"mss (\d+) wscale (\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "Synproxy":
        m = match(cls._RE, body, "synproxy")
        return cls(int(m[1]), int(m[2]))

    def eval(self, regs, pkt, ctx) -> None:
        ctx.synproxy(self, regs, pkt)


@register
@dataclass(frozen=True, slots=True)
class Notrack(Instr):
    """``[ notrack ]``"""

    name = "notrack"
    stateful = True

    def body(self) -> str:
        return ""

    @classmethod
    def parse_body(cls, body: str) -> "Notrack":
        if body:
            raise DumpError(f"notrack takes no attributes: {body!r}")
        return cls()

    def eval(self, regs, pkt, ctx) -> None:
        ctx.notrack(self, pkt)


@register
@dataclass(frozen=True, slots=True)
class FlowOffload(Instr):
    """``[ flow_offload flowtable ft ]``"""

    name = "flow_offload"
    stateful = True

    table: str

    def body(self) -> str:
        return f"flowtable {self.table}"

    _RE = re.compile(r"flowtable (\S+)")

    @classmethod
    def parse_body(cls, body: str) -> "FlowOffload":
        return cls(match(cls._RE, body, "flow_offload")[1])

    def eval(self, regs, pkt, ctx) -> None:
        # nft_flow_offload_eval: anything that keeps the flow out of the flowtable
        # (no conntrack entry, not established, no route, ...) ends the rule
        if not ctx.flow_offload(self, pkt):
            regs.verdict = _BREAK
