"""Rule -> Python source: the register machine unfolded into straight-line code.

Theory of operation
-------------------
A rule is a list of instructions that talk through registers.  Executed by the
interpreter, every instruction is a method call that stores bytes into a bytearray
(:class:`~pkttables.vm.regs.Regs`) which the next one slices back out.  Here the rule
is executed *symbolically* at compile time instead: the emitter keeps a map of which
register bytes hold which Python value (:class:`Seg`: a local variable or a constant,
with its kind), and each instruction becomes a line or two that reads those values
directly::

    [ payload load 2b @ transport header + 2 => reg 1 ]     v1 = buf[th + 2:th + 4]
    [ cmp eq reg 1 0x00001600 ]                              if v1 != b'\\x00\\x16': break
    [ ct load state => reg 1 ]                               v2 = ctx.ct_get(I3, pkt) ...
    [ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ]  v3 = int.from_bytes(v2, 'little') & 6
    [ cmp neq reg 1 0x00000000 ]                             if v3 == 0: break
    [ immediate reg 0 accept ]                               return R4

Each rule is one ``while True:`` block: NFT_BREAK (no match) is ``break`` to the next
rule.  A value is one of three *kinds*: ``b`` (bytes: ``vlen`` value bytes, then zero
padding to the word, exactly as ``Regs.store`` leaves them), ``le`` / ``be`` (an int
whose little/big-endian encoding over ``total`` bytes is the register content).  The
kind lets ``meta l4proto``, ``meta mark`` or a masked ``ct state`` compare as ints,
while packet fields compare as byte strings (``memcmp`` order is bytes order).

Anything the emitter has no pattern for runs through the instruction's own ``eval``
on the real register file: the symbolic values are *flushed* into ``regs`` first (the
bytes the interpreter would hold), and after an instruction that writes registers the
emitter forgets its map and reads ``regs.data`` again.  Instructions with no register
operands (counter, limit, quota, log, ...) call their context hook directly.

Register state across rules: the kernel does not clear data registers between rules,
so a rule *could* read what an earlier rule left behind.  nft never emits such a rule,
but when one is found (a read of bytes not written earlier in the same rule) the
emitter raises :class:`NotSelfContained` and the whole ruleset is compiled in *exact*
mode, where every instruction runs through ``eval`` on the shared register file --
slower, and still the interpreter's answer.
"""

from __future__ import annotations

from ast import literal_eval
from dataclasses import dataclass
from typing import Any

from pkttables.vm.bitwise import Bitwise, BitwiseOp
from pkttables.vm.chain import DumpSet
from pkttables.vm.cmp import Cmp, CmpOp, Range, RangeOp
from pkttables.vm.ct import CtLoad
from pkttables.vm.immediate import Immediate
from pkttables.vm.lookup import Lookup
from pkttables.vm.meta import MetaLoad, MetaSet
from pkttables.vm.payload import PayloadLoad
from pkttables.vm.program import SetFlag
from pkttables.vm.regs import NFT_REG_SIZE, NFT_REG32_SIZE, Verdict, VerdictData
from pkttables.vm.stateful import (LIMIT_F_INV, QUOTA_F_INV, Connlimit, Counter, Last, Limit, Log,
                                   Quota)
from pkttables.proto import CtKeyId, MetaKeyId

__all__ = ["NotSelfContained", "RuleEmitter", "reg_off", "instr_reads", "instr_writes"]

_CONT = int(Verdict.CONTINUE)
_BREAK = int(Verdict.BREAK)
_TERMINAL = (int(Verdict.ACCEPT), int(Verdict.DROP), int(Verdict.QUEUE), int(Verdict.STOLEN))
_M = MetaKeyId


class NotSelfContained(Exception):
    """A rule reads register bytes it did not write: compile the ruleset in exact mode."""


def reg_off(reg: int) -> int:
    """Byte offset of a register in ``Regs.data`` (nft_parse_register)."""
    if 1 <= reg <= 4:
        return reg * NFT_REG_SIZE
    if 8 <= reg <= 23:
        return NFT_REG_SIZE + (reg - 8) * NFT_REG32_SIZE
    raise ValueError(f"register {reg}")


def _padded(n: int) -> int:
    return -(-n // 4) * 4


def instr_reads(ins) -> list[int]:
    """Registers an instruction reads: its ``sreg*`` attributes (the kernel's naming)."""
    out = []
    for name in getattr(type(ins), "__dataclass_fields__", {}):
        if name.startswith("sreg"):
            v = getattr(ins, name)
            if isinstance(v, int) and v:
                out.append(v)
    return out


def instr_writes(ins) -> int | None:
    d = getattr(ins, "dreg", None)
    return d if isinstance(d, int) and d else None


# ct keys whose register value has a fixed length (nft_ct_get_eval): key -> (len, kind)
_CT_LEN = {
    CtKeyId.STATE: 4, CtKeyId.STATUS: 4, CtKeyId.MARK: 4, CtKeyId.EXPIRATION: 4,
    CtKeyId.DIRECTION: 1, CtKeyId.L3PROTOCOL: 1, CtKeyId.PROTOCOL: 1, CtKeyId.ZONE: 2,
    CtKeyId.PROTO_SRC: 2, CtKeyId.PROTO_DST: 2, CtKeyId.SRC_IP: 4, CtKeyId.DST_IP: 4,
    CtKeyId.SRC_IP6: 16, CtKeyId.DST_IP6: 16,
}
# host-endian ct values: compare as little-endian ints
_CT_LE = {CtKeyId.STATE, CtKeyId.STATUS, CtKeyId.MARK, CtKeyId.EXPIRATION}

# instructions that neither touch data registers nor change packet layout or offsets
_PURE_HOOKS = (Counter, Limit, Quota, Log, Last, Connlimit)


@dataclass(slots=True)
class Seg:
    """Register bytes ``[off, off + total)`` hold ``expr``: for kind ``b`` a bytes-like of
    ``vlen`` bytes then zeros; for ``le``/``be`` an int encoding all ``total`` bytes."""

    off: int
    total: int
    vlen: int
    kind: str
    expr: str
    const: bytes | None = None     # the full register bytes, when known at compile time

    @property
    def end(self) -> int:
        return self.off + self.total


class RuleEmitter:
    """Emits the body of one rule (see the module docstring).

    ``consts`` is the chain's constant pool (name -> object), shared by its rules;
    ``chain_family`` the table family (``meta nfproto`` is compiled for it)."""

    def __init__(self, pool: "ConstPool", rule, rule_name: str, chain, chain_name: str, *,
                 chain_family: str, exact: bool, jump_ref, indent: str = "        "):
        self.pool = pool
        self.chain = chain
        self.rule = rule
        self.R = rule_name
        self.C = chain_name
        self.fam = chain_family
        self.exact = exact
        self.jump_ref = jump_ref          # callable(name) -> global name of the target function
        self.ind = indent
        self.lines: list[str] = []
        self.env: list[Seg] = []
        self.written: set[int] = set()   # register bytes written by this rule so far
        self.regs_valid = False           # after a flush + generic writer: read regs.data
        self.cur_set = False               # ctx.current_rule set in this rule
        self.pktl: dict[str, str] = {}    # packet locals loaded in this rule -> local name
        self.pgen = 0
        self.n = 0

    # ------------------------------------------------------------------ helpers
    def w(self, line: str) -> None:
        self.lines.append(self.ind + line)

    def local(self) -> str:
        self.n += 1
        return f"v{self.n}"

    def need_current(self) -> None:
        if not self.cur_set:
            self.w(f"ctx.current_rule = {self.R}")
            if self.rule.sets:
                self.w(f"ctx.rule_sets = {self.pool.add(self.rule.sets, 'S')}")
            self.cur_set = True

    def pkt_local(self, what: str) -> str:
        """A local holding a packet field, loaded once per rule (fresh names after an
        instruction that may change the packet, so older values keep their meaning)."""
        name = self.pktl.get(what)
        if name is None:
            name = self.pktl[what] = f"{what}{self.pgen}" if self.pgen else what
            if what == "lim":
                # pkttables.vm.payload._limit: the IP length when the hook trimmed the
                # skb (ctx.l3_trim), else the whole buffer
                nh, buf = self.pkt_local("nh"), self.pkt_local("buf")
                self.w(f"{name} = ({nh} + pkt.l3_len) if (ctx.l3_trim and {nh} >= 0) else len({buf})")
            else:
                attr = {"buf": "buf", "nh": "nh_off", "l4": "l4proto"}[what]
                self.w(f"{name} = pkt.{attr}")
        return name

    def forget_packet(self) -> None:
        self.pktl.clear()
        self.pgen += 1

    # ------------------------------------------------------------------ register map
    def store(self, reg: int, seg_len: int, kind: str, expr: str, *, raw: bool = False,
              const: bytes | None = None) -> None:
        """A store of ``seg_len`` value bytes at ``reg`` (``Regs.store``: zero to the word;
        ``raw``: ``store_raw``, exactly ``seg_len`` bytes, which must be whole words)."""
        off = reg_off(reg)
        total = seg_len if raw else _padded(seg_len)
        if raw and seg_len % 4:
            raise NotSelfContained("partial-word raw store")
        end = off + total
        keep = []
        for s in self.env:
            if s.end <= off or s.off >= end:
                keep.append(s)
            elif s.off >= off and s.end <= end:
                continue
            else:
                # a partial overlap (``reg 1`` after ``reg 9``...): the rest of the old
                # value is forgotten; a later read of it recompiles in exact mode
                self.written.difference_update(range(s.off, s.end))
        seg = Seg(off, total, seg_len, kind, expr, const)
        keep.append(seg)
        self.env = keep
        self.written.update(range(off, end))
        if self.exact:
            self.flush_seg(seg)

    def flush_seg(self, s: Seg) -> None:
        self.w(f"regs.data[{s.off}:{s.end}] = {self.seg_bytes(s)}")

    def flush_all(self) -> None:
        for s in self.env:
            self.flush_seg(s)

    def seg_bytes(self, s: Seg) -> str:
        """Python expression for the ``total`` register bytes of ``s``."""
        if s.const is not None:
            return repr(s.const)
        if s.kind == "le":
            return f"{s.expr}.to_bytes({s.total}, 'little')"
        if s.kind == "be":
            return f"{s.expr}.to_bytes({s.total}, 'big')"
        if s.vlen == s.total:
            return s.expr
        return f"({s.expr} + {bytes(s.total - s.vlen)!r})"

    def seg_at(self, off: int) -> Seg | None:
        for s in self.env:
            if s.off <= off < s.end:
                return s
        return None

    def check_written(self, off: int, n: int) -> None:
        if not self.exact and not all(b in self.written for b in range(off, off + n)):
            raise NotSelfContained(f"rule reads register bytes {off}..{off + n} it did not write")

    def read_bytes(self, off: int, n: int) -> str:
        """Expression equal to ``regs.load`` of ``n`` bytes at byte ``off``."""
        self.check_written(off, n)
        if self.exact:
            return f"regs.data[{off}:{off + n}]"
        parts: list[str] = []
        const = bytearray()
        allconst = True
        pos, end = off, off + n
        while pos < end:
            s = self.seg_at(pos)
            if s is None:
                if not self.regs_valid:
                    raise NotSelfContained("read of a register the rule did not write")
                nxt = min([t.off for t in self.env if t.off > pos] + [end])
                parts.append(f"regs.data[{pos}:{nxt}]")
                allconst = False
                pos = nxt
                continue
            a, b = pos - s.off, min(end, s.end) - s.off
            if s.const is not None:
                parts.append(repr(s.const[a:b]))
                const += s.const[a:b]
            else:
                allconst = False
                if s.kind == "b" and a == 0 and b == s.vlen:
                    parts.append(s.expr)
                elif s.kind == "b" and b <= s.vlen:
                    parts.append(f"{s.expr}[{a}:{b}]")
                elif s.kind == "b" and a >= s.vlen:
                    parts.append(repr(bytes(b - a)))
                else:
                    full = self.seg_bytes(s)
                    parts.append(full if (a, b) == (0, s.total) else f"{full}[{a}:{b}]")
            pos = s.off + b
        if allconst:
            return repr(bytes(const))
        if len(parts) == 1:
            return parts[0]
        return "(" + " + ".join(f"bytes({p})" if p.startswith("regs.") else p for p in parts) + ")"

    def read_int(self, off: int, n: int) -> tuple[str, str] | None:
        """``(expr, order)`` when the ``n`` bytes at ``off`` are (a prefix of) one int
        value: the expression's ``order``-endian ``n``-byte encoding is the register."""
        if self.exact:
            return None
        s = self.seg_at(off)
        if s is None or s.off != off or n > s.total or s.const is not None:
            return None
        self.check_written(off, n)
        if s.kind == "le":
            if n == s.total or n >= s.vlen:    # the bytes past vlen are zero anyway
                return s.expr, "little"
            return f"({s.expr} & {(1 << (8 * n)) - 1:#x})", "little"
        if s.kind == "be":
            if n == s.total:
                return s.expr, "big"
            return f"({s.expr} >> {8 * (s.total - n)})", "big"
        return None

    # ------------------------------------------------------------------ instructions
    def emit(self, ins, idx: int, rest) -> bool:
        """Emit one instruction; False when the rule has ended (a verdict returned)."""
        I = self.pool.add(ins, "I")
        if self.exact:
            return self.generic(ins, I, writes=True, reads=True)
        t = type(ins)
        if t is PayloadLoad and ins.base in (0, 1, 2):
            self.payload_load(ins)
        elif t is Cmp:
            self.cmp(ins)
        elif t is Range:
            self.range(ins)
        elif t is Bitwise and ins.op == BitwiseOp.BOOL:
            self.bitwise(ins)
        elif t is Immediate:
            if isinstance(ins.data, VerdictData):
                return self.verdict_const(ins.data)
            self.store(ins.dreg, len(ins.data), "b", repr(bytes(ins.data)), const=_pad(ins.data))
        elif t is MetaLoad:
            self.meta_load(ins, I)
        elif t is MetaSet and ins.key in (_M.MARK, _M.PRIORITY):
            attr = "mark" if ins.key == _M.MARK else "priority"
            ri = self.read_int(reg_off(ins.sreg), 4)
            rb = self.read_bytes(reg_off(ins.sreg), 4)
            if rb.startswith(("b'", 'b"')):
                self.w(f"pkt.{attr} = {int.from_bytes(literal_eval(rb), 'little')}")
            elif ri is not None and ri[1] == "little":
                self.w(f"pkt.{attr} = {ri[0]}")
            else:
                self.w(f"pkt.{attr} = int.from_bytes({self.read_bytes(reg_off(ins.sreg), 4)}, 'little')")
        elif t is CtLoad and ins.key in _CT_LEN:
            self.ct_load(ins, I)
        elif t is Lookup and isinstance(self.rule.sets.get(ins.set), DumpSet) and \
                not hasattr(self.rule.sets[ins.set], "match"):
            # an immutable anonymous set; sets with ``match`` (timeouts, element
            # state) run through Lookup.eval
            return self.lookup(ins, self.rule.sets[ins.set])
        elif t is Counter:
            self.need_current()
            self.w(f"ctx.counter({I}, pkt)")
        elif t is Limit:
            self.need_current()
            neg = "not " if ins.flags & LIMIT_F_INV else ""
            self.w(f"if {neg}ctx.limit({I}, pkt): break")
        elif t is Quota:
            self.need_current()
            neg = "not " if ins.flags & QUOTA_F_INV else ""
            self.w(f"if {neg}ctx.quota({I}, pkt): break")
        elif t is Log:
            self.need_current()
            self.w(f"ctx.log({I}, pkt)")
        elif t is Last:
            self.need_current()
            self.w(f"ctx.last({I}, pkt)")
        elif t is Connlimit:
            self.need_current()
            self.w(f"if ctx.connlimit({I}, pkt): break")
        else:
            return self.generic(ins, I, writes=instr_writes(ins) is not None or t is PayloadLoad,
                                reads=bool(instr_reads(ins)))
        return True

    def generic(self, ins, I: str, *, writes: bool, reads: bool) -> bool:
        """Run ``ins.eval`` on the real register file (see the module docstring)."""
        self.need_current()
        if not self.exact:
            for r in instr_reads(ins):
                self.check_written(reg_off(r), 1)
            if reads or writes:
                self.flush_all()
        self.w("regs.verdict = -1")
        self.w(f"{I}.eval(regs, pkt, ctx)")
        self.w("c = regs.verdict")
        self.w("if c != -1:")
        self.w("    if c == -2: break")
        self.w(f"    r = _dyn(c, regs.chain, {self.R}, {self.C}, pkt, ctx, regs, depth)")
        self.w("    if r is not _NEXT: return r")
        self.w("    break")
        if not isinstance(ins, _PURE_HOOKS):
            self.forget_packet()
        if writes and not self.exact:
            d = instr_writes(ins)
            self.env = []
            self.regs_valid = True
            if d is not None:
                n = getattr(ins, "len", None)
                n = _padded(n) if isinstance(n, int) and n > 0 else 4
                self.written.update(range(reg_off(d), reg_off(d) + n))
        return True

    def payload_load(self, ins) -> None:
        # nft_payload_eval; the base rules are pkttables.vm.payload.base_offset and
        # Packet.transport_load_allowed, unfolded for this offset and length
        buf = self.pkt_local("buf")
        n, off = ins.len, ins.offset
        if ins.base == 1:
            nh = self.pkt_local("nh")
            self.w(f"if {nh} < 0: break")
            start = f"{nh} + {off}" if off else nh
        elif ins.base == 0:
            self.w("o = pkt.mac_off")
            self.w("if o < 0: break")
            start = f"o + {off}" if off else "o"
        else:
            l4 = self.pkt_local("l4")
            if n in (1, 2, 4) and off % n == 0:
                self.w(f"if {l4} < 0: break")
            else:
                self.w(f"if {l4} < 0 or pkt.fragoff: break")
            self.w(f"o = pkt.th_off + {off}" if off else "o = pkt.th_off")
            start = "o"
        self.w(f"if {start} + {n} > {self.pkt_local('lim')}: break")
        v = self.local()
        if n == 1:
            self.w(f"{v} = {buf}[{start}]")
            self.store(ins.dreg, 1, "le", v)
        else:
            self.w(f"{v} = {buf}[{start}:{start} + {n}]")
            self.store(ins.dreg, n, "b", v)

    def cond_break(self, op: int, left: str, right: str) -> None:
        neg = {CmpOp.EQ: "!=", CmpOp.NEQ: "==", CmpOp.LT: ">=", CmpOp.LTE: ">",
               CmpOp.GT: "<=", CmpOp.GTE: "<"}[CmpOp(op)]
        self.w(f"if {left} {neg} {right}: break")

    def cmp(self, ins: Cmp) -> None:
        off, data, n = reg_off(ins.sreg), bytes(ins.data), len(ins.data)
        ri = self.read_int(off, n)
        if ri is not None and (ins.op in (CmpOp.EQ, CmpOp.NEQ) or ri[1] == "big"):
            self.cond_break(ins.op, ri[0], hex(int.from_bytes(data, ri[1])))
            return
        s = self.seg_at(off)
        if (s is not None and s.off == off and s.kind == "b" and s.const is None and not self.exact
                and ins.op in (CmpOp.EQ, CmpOp.NEQ) and s.vlen <= n <= s.total):
            self.check_written(off, n)
            if any(data[s.vlen:]):      # the value's zero padding can never equal this
                if ins.op == CmpOp.EQ:
                    self.w("break")
                return
            self.cond_break(ins.op, s.expr, repr(data[:s.vlen]))
            return
        self.cond_break(ins.op, self.read_bytes(off, n), repr(data))

    def range(self, ins: Range) -> None:
        off, n = reg_off(ins.sreg), len(ins.data_from)
        ri = self.read_int(off, n)
        if ri is not None and ri[1] == "big":
            lo, hi, v = hex(int.from_bytes(ins.data_from, "big")), hex(int.from_bytes(ins.data_to, "big")), ri[0]
        else:
            lo, hi, v = repr(bytes(ins.data_from)), repr(bytes(ins.data_to)), self.read_bytes(off, n)
        # nft_range_eval: EQ mismatches outside, NEQ inside
        if ins.op == RangeOp.EQ:
            self.w(f"if not ({lo} <= {v} <= {hi}): break")
        else:
            self.w(f"if {lo} <= {v} <= {hi}: break")

    def bitwise(self, ins: Bitwise) -> None:
        nb = _padded(ins.len)
        off = reg_off(ins.sreg)
        mask = bytes(ins.mask).ljust(nb, b"\0")[:nb]
        xor = bytes(ins.xor).ljust(nb, b"\0")[:nb]
        ri = self.read_int(off, nb)
        if ri is not None:
            src, order = ri
        else:
            src, order = f"int.from_bytes({self.read_bytes(off, nb)}, 'big')", "big"
        m, x = int.from_bytes(mask, order), int.from_bytes(xor, order)
        v = self.local()
        expr = f"{src} & {m:#x}" if m != (1 << (8 * nb)) - 1 else src
        if x:
            expr = f"({expr}) ^ {x:#x}"
        self.w(f"{v} = {expr}")
        self.store(ins.dreg, nb, "le" if order == "little" else "be", v, raw=True)

    def meta_load(self, ins: MetaLoad, I: str) -> None:
        k = ins.key
        v = self.local()
        if k == _M.L4PROTO:
            l4 = self.pkt_local("l4")
            self.w(f"if {l4} < 0: break")
            self.store(ins.dreg, 1, "le", l4)
            return
        if k == _M.NFPROTO and self.fam in ("ip", "ip6", "inet"):
            # nft_pf: inet chains run on the IPv4/IPv6 hooks: the packet's family
            self.w(f"{v} = pkt.nfproto")
            self.store(ins.dreg, 1, "le", v)
            return
        if k in (_M.MARK, _M.PRIORITY):
            self.w(f"{v} = pkt.{'mark' if k == _M.MARK else 'priority'} & 0xFFFFFFFF")
            self.store(ins.dreg, 4, "le", v)
            return
        if k in (_M.IIFNAME, _M.OIFNAME):
            self.w(f"{v} = _ifname(ctx, pkt.{'iif' if k == _M.IIFNAME else 'oif'})")
            self.store(ins.dreg, 16, "b", v)
            return
        if k in (_M.IIF, _M.OIF):
            self.w(f"{v} = _ifindex(ctx, pkt.{'iif' if k == _M.IIF else 'oif'})")
            self.store(ins.dreg, 4, "le", v)
            return
        if k == _M.PROTOCOL:
            # the EtherType, big-endian, in the first 2 bytes of the word
            self.w(f"{v} = (max(pkt.ethertype, 0) & 0xFFFF) << 16")
            self.store(ins.dreg, 2, "be", v)
            return
        # every other key: the instruction's own eval (pkttables.vm.meta)
        self.n -= 1
        self.generic(ins, I, writes=True, reads=False)

    def ct_load(self, ins: CtLoad, I: str) -> None:
        self.need_current()
        v = self.local()
        self.w(f"{v} = ctx.ct_get({I}, pkt)")
        self.w(f"if {v} is None: break")
        n = _CT_LEN[ins.key]
        if ins.key in _CT_LE:
            iv = self.local()
            self.w(f"{iv} = int.from_bytes({v}, 'little')")
            self.store(ins.dreg, n, "le", iv)
        else:
            self.store(ins.dreg, n, "b", v)

    # ------------------------------------------------------------------ verdicts
    def verdict_const(self, vd: VerdictData) -> bool:
        code = int(vd.code)
        if code in (_CONT,):
            return True            # matched, no verdict: the rule goes on
        if code == _BREAK:
            self.w("break")
            return False
        base = code & 0xFF if code >= 0 else code
        if base in _TERMINAL:
            res = self.pool.add((code, self.rule, self.chain), "T", chain_slot=True)
            self.w(f"return {res}")
            return False
        if code in (int(Verdict.JUMP), int(Verdict.GOTO)):
            fn = self.jump_ref(vd.chain)
            if fn is None:   # no such chain: the kernel holds a reference, so this is a DROP
                self.w(f"return (0, {self.R}, {self.C})")
                return False
            if code == int(Verdict.GOTO):
                self.w(f"return {fn}(pkt, ctx, regs, depth)")
                return False
            self.w(f"if depth >= {_STACK}: return (0, {self.R}, {self.C})")
            self.w(f"r = {fn}(pkt, ctx, regs, depth + 1)")
            self.w("if r is not None: return r")
            self.w("break")
            return False
        # RETURN, and codes do_chain does not know (it pops the stack for them)
        self.w("return None")
        return False

    def lookup(self, ins: Lookup, s: DumpSet) -> bool:
        off, klen = reg_off(ins.sreg), s.klen
        inv = ins.inverted
        has_catch, catch_data = s.catchall()
        interval = bool(s.flags & SetFlag.INTERVAL)
        concat_ranges = any(k.startswith(b"end:") for k in s._exact) if interval else False
        is_vmap = ins.dreg == 0
        datas = [d for d in s._exact.values()] if not interval else [d for _, _, d in s._starts]
        if is_vmap and any(d is not None and not isinstance(d, VerdictData) for d in datas + [catch_data]):
            return self.generic(ins, self.pool.add(ins, "I"), writes=True, reads=True)
        if ins.dreg not in (None, 0):
            lens = {len(d) for d in datas if isinstance(d, bytes)}
            if any(not isinstance(d, bytes) or not d for d in datas) or len(lens) > 1 or \
                    (has_catch and (not isinstance(catch_data, bytes) or len(catch_data) not in lens | {0})):
                return self.generic(ins, self.pool.add(ins, "I"), writes=True, reads=True)
        ri = self.read_int(off, klen)
        if ri is not None and not interval:
            key, order = ri
            conv = lambda k: int.from_bytes(k, order)    # noqa: E731
        else:
            key = self.read_bytes(off, klen)
            if key.startswith(("v", "regs", "(")):
                key = f"bytes({key})"
            conv = bytes
        kv = self.local()
        self.w(f"{kv} = {key}")
        found, data = self.local(), self.local()
        if not interval:
            table = {conv(k): d for k, d in s._exact.items()}
            if ins.dreg is None and not is_vmap:
                T = self.pool.add(frozenset(table), "F")
                self.w(f"{found} = {kv} in {T}")
            else:
                T = self.pool.add(table, "D")
                self.w(f"{data} = {T}.get({kv}, _MISS)")
                self.w(f"{found} = {data} is not _MISS")
        elif not concat_ranges:
            keys = [k for k, _, _ in s._starts]
            oks = [not e for _, e, _ in s._starts]
            K, OK, DT = (self.pool.add(keys, "K"), self.pool.add(oks, "OK"),
                         self.pool.add([d for _, _, d in s._starts], "DT"))
            i = self.local()
            # the last start <= key decides (DumpSet.lookup's walk, as a bisection)
            self.w(f"{i} = _bisect({K}, {kv}) - 1")
            self.w(f"{found} = {i} >= 0 and {OK}[{i}]")
            self.w(f"{data} = {DT}[{i}] if {found} else None")
        else:
            S = self.pool.add(s, "SET")
            self.w(f"{found}, {data} = {S}.lookup({kv})")
        # nft_lookup_eval: found ^ inverted; then the catch-all element; else BREAK
        if inv:
            self.w(f"{found} = not {found}")
            self.w(f"{data} = None")
        if has_catch:
            self.w(f"if not {found}: {data} = {self.pool.add(catch_data, 'CD')}")
        else:
            self.w(f"if not {found}: break")
        if ins.dreg is None:
            return True
        if is_vmap:
            return self.vmap_dispatch(data)
        n = len(next(d for d in datas if isinstance(d, bytes)))
        if inv:
            return True   # inverted maps store nothing (data is None)
        self.store(ins.dreg, n, "b", data)
        return True

    def vmap_dispatch(self, data: str) -> bool:
        # a VerdictData from the map: the same rules as do_chain, at run time
        self.w(f"if {data} is not None and {data}.code != -1:")
        self.w(f"    c = {data}.code")
        self.w("    if c == -2: break")
        self.w(f"    r = _dyn(c, {data}.chain, {self.R}, {self.C}, pkt, ctx, regs, depth)")
        self.w("    if r is not _NEXT: return r")
        self.w("    break")
        return True


_STACK = 16   # NFT_JUMP_STACK_SIZE

def _pad(data: bytes) -> bytes:
    return bytes(data) + bytes(-len(data) % 4)


class ConstPool:
    """Names for the objects generated code refers to (instructions, rules, tables)."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {}
        self._ids: dict[tuple, str] = {}
        self.chain_slots: list[str] = []     # result tuples that need the chain filled in
        self.n = 0

    def add(self, obj: Any, prefix: str, *, chain_slot: bool = False) -> str:
        key = (prefix, id(obj)) if not isinstance(obj, (int, bytes, tuple)) or chain_slot else (prefix, obj)
        name = self._ids.get(key)
        if name is None:
            self.n += 1
            name = f"{prefix}{self.n}"
            self._ids[key] = name
            self.ns[name] = obj
            if chain_slot:
                self.chain_slots.append(name)
        return name
