"""``lookup``, ``dynset`` and ``objref``: instructions that name a set (nft_lookup.c,
nft_dynset.c, nft_objref.c).

``lookup`` reads ``set.klen`` bytes at ``sreg`` and asks the set (a
:class:`~pkttables.vm.context.SetLookup` from ``ctx.set(name)``).  As
nft_lookup_eval does, the answer is XORed with the inverted flag; when the result is
"not found" the set's catch-all element is tried, and only then does the rule BREAK.
A set that has ``match`` (:class:`pkttables.sets.SetInstance`) does all of that
itself, at ``ctx.now`` and with the packet's ``skb->len`` for its element counters.
For a map the element's data is copied to ``dreg`` (``dreg 0``: a verdict map sets the
verdict).  ``dynset`` (add/update/delete from the packet path) and ``objref`` (run a
named counter/quota/limit/ct helper...) change state and go through context hooks;
the default ``EvalContext.dynset`` hands a dynset to the set's own ``dynset``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from pkttables.vm._base import DumpError, Instr, match, opt_int, parse_instr, register
from pkttables.vm.regs import Verdict, VerdictData

__all__ = ["Lookup", "Dynset", "DynsetOp", "Objref", "LOOKUP_F_INV"]

_BREAK = Verdict.BREAK
LOOKUP_F_INV = 1  # NFT_LOOKUP_F_INV


@register
@dataclass(frozen=True, slots=True)
class Lookup(Instr):
    """``[ lookup reg 1 set __set%d ]``, ``... 0x1`` (inverted), ``... dreg 0`` (vmap)."""

    name = "lookup"

    sreg: int
    set: str
    dreg: int | None = None
    flags: int | None = None   # None: attribute absent (nft sends it only to invert)

    @property
    def inverted(self) -> bool:
        return bool((self.flags or 0) & LOOKUP_F_INV)

    def body(self) -> str:
        out = f"reg {self.sreg} set {self.set}"
        if self.dreg is not None:
            out += f" dreg {self.dreg}"
        if self.flags is not None:
            out += f" 0x{self.flags:x}"
        return out

    _RE = re.compile(r"reg (\d+) set (\S+)(?: dreg (\d+))?(?: 0x([0-9a-f]+))?")

    @classmethod
    def parse_body(cls, body: str) -> "Lookup":
        m = match(cls._RE, body, "lookup")
        return cls(int(m[1]), m[2], opt_int(m[3]),
                   None if m[4] is None else int(m[4], 16))

    def eval(self, regs, pkt, ctx) -> None:
        s = ctx.set(self.set)
        key = regs.load(self.sreg, s.klen)
        match = getattr(s, "match", None)
        if match is not None:
            # the set runs nft_lookup_eval itself: timeouts at ctx.now, element
            # counters/quotas/limits with skb->len, the catch-all, the inversion
            found, data, brk = match(key, ctx.now, ctx.skb_len(pkt), ctx.set_conn(pkt),
                                     self.inverted)
            if not found or brk:
                regs.verdict = _BREAK
                return
        else:
            found, data = s.lookup(key)
            if self.inverted:
                found, data = not found, None
            if not found:
                catchall = getattr(s, "catchall", None)
                found, data = catchall() if catchall is not None else (False, None)
                if not found:
                    regs.verdict = _BREAK
                    return
        if self.dreg is not None and data is not None:
            if isinstance(data, VerdictData):
                regs.verdict = data.code
                regs.chain = data.chain
            else:
                regs.store(self.dreg, data)


class DynsetOp(IntEnum):
    """``enum nft_dynset_ops``."""

    ADD = 0
    UPDATE = 1
    DELETE = 2


_DYNSET_NAMES = {DynsetOp.ADD: "add", DynsetOp.UPDATE: "update", DynsetOp.DELETE: "delete"}
_DYNSET_BY_NAME = {v: k for k, v in _DYNSET_NAMES.items()}


@register
@dataclass(frozen=True, slots=True)
class Dynset(Instr):
    """``[ dynset update reg_key 1 set xyz timeout 30000ms expr [ counter pkts 0 bytes 0 ] ]``"""

    name = "dynset"
    stateful = True

    op: DynsetOp
    sreg_key: int
    set: str
    sreg_data: int | None = None
    timeout: int | None = None      # milliseconds
    exprs: tuple[Instr, ...] = ()

    def body(self) -> str:
        out = f"{_DYNSET_NAMES.get(self.op, 'unknown')} reg_key {self.sreg_key} set {self.set}"
        if self.sreg_data is not None:
            out += f" sreg_data {self.sreg_data}"
        if self.timeout is not None:
            out += f" timeout {self.timeout}ms"
        for e in self.exprs:
            out += " expr " + e.dump()
        return out

    _RE = re.compile(r"(\w+) reg_key (\d+) set (\S+)(?: sreg_data (\d+))?(?: timeout (\d+)ms)?")

    @classmethod
    def parse_body(cls, body: str) -> "Dynset":
        head, *nested = body.split(" expr ")
        m = match(cls._RE, head, "dynset")
        if m[1] not in _DYNSET_BY_NAME:
            raise DumpError(f"unknown dynset op {m[1]!r}")
        exprs = tuple(parse_instr(n) for n in nested)
        return cls(_DYNSET_BY_NAME[m[1]], int(m[2]), m[3], opt_int(m[4]),
                   opt_int(m[5]), exprs)

    def eval(self, regs, pkt, ctx) -> None:
        if not ctx.dynset(self, regs, pkt):
            regs.verdict = _BREAK


@register
@dataclass(frozen=True, slots=True)
class Objref(Instr):
    """``[ objref type 1 name cnt2 ]`` or, through a map, ``[ objref sreg 1 set __objmap%d ]``.
    ``type`` is NFT_OBJECT_* (1 counter, 2 quota, 3 ct helper, 4 limit, ...)."""

    name = "objref"
    stateful = True

    type: int | None = None
    obj: str | None = None
    sreg: int | None = None
    set: str | None = None

    def body(self) -> str:
        if self.set is not None:
            return f"sreg {self.sreg} set {self.set}"
        return f"type {self.type} name {self.obj}"

    _RE = re.compile(r"(?:type (\d+) name (\S+)|sreg (\d+) set (\S+))")

    @classmethod
    def parse_body(cls, body: str) -> "Objref":
        m = match(cls._RE, body, "objref")
        if m[1] is not None:
            return cls(type=int(m[1]), obj=m[2])
        return cls(sreg=int(m[3]), set=m[4])

    def eval(self, regs, pkt, ctx) -> None:
        ctx.objref(self, regs, pkt)
