"""Linearize: typed rule -> the kernel's expressions, as nft 1.0.6's
``src/netlink_linearize.c`` does it.

Theory of operation
-------------------
Registers are allocated like nft's ``get_register``/``release_register``: a counter
``reg_low`` in 32-bit slots starting at slot 1.  Any expression takes a whole 128-bit
register (4 slots) except a concatenation, which takes exactly the slots its parts
need (each part rounded up to 32 bits).  A slot number is printed as the 128-bit
register ``1 + slot // 4`` when aligned, else as the 32-bit register ``8 + slot``
(nft's ``netlink_put_register``) -- so a relation loads into ``reg 1``, the second part
of ``ip saddr . tcp dport`` into ``reg 9``, and a NAT port beside an address into
``reg 2``.

A relation is: load the left side into a fresh register, then compare.  Ranges become
``cmp gte`` + ``cmp lte`` (``range neq`` when negated: nft 1.0.6 has no ``range eq``
shortcut); host-endian keys are converted with ``byteorder hton`` first, because
ranges compare bytes big endian.  Sets become ``lookup`` on an anonymous set declared
with the rule: ``__set%d`` (flags 0x3, 0x7 with intervals, 0x80 with concatenations),
``__map%d`` for maps (0x8), its elements built as nft's ``segtree`` builds them for
intervals: each merged range [lo, hi] is a start element and an end element at hi + 1
flagged ``NFT_SET_ELEM_INTERVAL_END`` (1), plus an end element at 0 when the first range
does not start there.

Example: ``tcp dport { 22, 80 }`` in inet::

    __set%d t 3
    __set%d t 0
        element 00001600  : 0 [end]  element 00005000  : 0 [end]
      [ meta load l4proto => reg 1 ]
      [ cmp eq reg 1 0x00000006 ]
      [ payload load 2b @ transport header + 2 => reg 1 ]
      [ lookup reg 1 set __set%d ]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from pkttables import vm
from pkttables.evaluate import _nodes as N
from pkttables.evaluate._eval import CT_DUMP, META_DUMP
from pkttables.proto import Base, ByteOrder, CtDir, ExthdrFlag, ExthdrOp
from pkttables.vm.regs import VerdictData

__all__ = ["AnonSetDecl", "Program", "linearize", "dump", "reg_name", "data_words", "elem_words"]

HOST = ByteOrder.HOST

# libnftnl key names -> kernel key ids (the typed AST carries the names it prints)
_META_ID = {v: k for k, v in META_DUMP.items()}
_CT_ID = {v: k for k, v in CT_DUMP.items()}
_CMP = {"eq": vm.CmpOp.EQ, "neq": vm.CmpOp.NEQ, "lt": vm.CmpOp.LT, "lte": vm.CmpOp.LTE,
        "gt": vm.CmpOp.GT, "gte": vm.CmpOp.GTE}


def data_words(data: bytes) -> str:
    """``0x0000e800 0x...``: libnftnl 1.2.4 prints each 32-bit word as a native u32."""
    pad = data + b"\0" * (-len(data) % 4)
    return " ".join(f"0x{int.from_bytes(pad[i:i + 4], 'little'):08x}" for i in range(0, len(pad), 4))


def elem_words(data: bytes) -> str:
    """Set element keys: the same words, ``%08x`` without ``0x``."""
    pad = data + b"\0" * (-len(data) % 4)
    return " ".join(f"{int.from_bytes(pad[i:i + 4], 'little'):08x}" for i in range(0, len(pad), 4))


def reg_name(reg: int) -> int:
    """nft's ``netlink_put_register``: internal 32-bit slot numbers (1-based) are the
    128-bit registers 1..4 when aligned, else the 32-bit registers 8..23 -- the
    numbers the kernel (and :mod:`pkttables.vm`) use."""
    if reg == 0:
        return 0
    r = reg - 1
    if r % 4 == 0:
        return 1 + r // 4
    return r + 8


R = reg_name


def _text_instr(text: str) -> vm.Instr:
    """An instruction a statement describes by its dump text (nat, log, limit, ...):
    read back with the vm's own parser, so the program holds vm classes only."""
    if text.startswith("synproxy ") and " flags " in text:
        # NF_SYNPROXY_OPT_* flags: kept by the kernel and listed, not in libnftnl's dump
        head, _, flags = text.rpartition(" flags ")
        return dataclasses.replace(vm.parse_instr(f"[ {head} ]"), flags=int(flags, 0))
    return vm.parse_instr(f"[ {text} ]")

# set flags (NFT_SET_*)
ANONYMOUS, CONSTANT, INTERVAL, MAP, TIMEOUT, EVAL, OBJECT, CONCAT = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80


_MASK_OPS = frozenset("&|^")      # bitwise ops nft folds into one (mask, xor) instruction


@dataclass(frozen=True, slots=True)
class SetElem:
    key: bytes
    flags: int = 0                      # 1: interval end
    key_end: bytes | None = None        # concatenated ranges
    data: bytes | None = None
    verdict: str | None = None
    # object maps: the object's name (NFTA_SET_ELEM_OBJREF).  libnftnl's debug print does
    # not show it, so dump() leaves it out; the model's __objmap%d elements carry it.
    obj: str | None = None

    def dump(self, open_: bool = False) -> str:
        """libnftnl's element text; ``open_``: the element starts an interval reaching
        the key's top, which nft tells with the element udata NFTNL_UDATA_SET_ELEM_FLAGS
        (type 1, 4 bytes) = NFTNL_SET_ELEM_F_INTERVAL_OPEN (nft setelem_to_interval)."""
        # a catch-all element has no key: libnftnl prints "element  : ..." (two blanks)
        s = f"element {elem_words(self.key)}" if self.key else "element"
        if self.key_end is not None:
            s += f"  - {elem_words(self.key_end)}"
        s += "  : "
        if self.verdict is not None:
            s += f"{self.verdict} "
        elif self.data is not None:
            s += f"{elem_words(self.data)} "
        s += f"{self.flags} [end]"
        return s + "  userdata = { \\x01\\x04\\x01\\x00\\x00\\x00 }" if open_ else s


@dataclass(frozen=True, slots=True)
class AnonSetDecl:
    name: str                           # __set%d / __map%d / __objmap%d
    flags: int
    key_len: int
    elements: tuple[SetElem, ...]
    data_len: int = 0
    size: int | None = None             # a meter's declared size
    # an interval set of strings (wildcards such as "veth*" are prefix ranges): the model
    # keeps the wildcard's prefix as a short key, as it does for named sets
    string_key: bool = False


@dataclass(frozen=True, slots=True)
class Program:
    family: str
    table: str
    chain: str
    sets: tuple[AnonSetDecl, ...]
    instrs: tuple[vm.Instr, ...]
    comment: str | None = None          # the rule's comment (nft sends it as udata)


class _Lin:
    def __init__(self) -> None:
        self.reg_low = 1
        self.out: list[vm.Instr] = []
        self.sets: list[AnonSetDecl] = []

    # ---------------------------------------------------------------- registers
    def get_reg(self, e: N.TExpr | None = None) -> int:
        n = (e.len_bits + 31) // 32 if isinstance(e, N.Concat) else 4
        r = self.reg_low
        self.reg_low += n
        return r

    def release(self, e: N.TExpr | None = None) -> None:
        n = (e.len_bits + 31) // 32 if isinstance(e, N.Concat) else 4
        self.reg_low -= n

    # ---------------------------------------------------------------- expressions
    def gen(self, e: N.TExpr, dreg: int) -> None:
        o = self.out
        if isinstance(e, N.Payload):
            o.append(vm.PayloadLoad(Base(e.base), e.offset_bits // 8, e.nbytes, R(dreg)))
        elif isinstance(e, N.Meta):
            o.append(vm.MetaLoad(_META_ID[e.key], R(dreg)))
        elif isinstance(e, N.Ct):
            o.append(vm.CtLoad(_CT_ID[e.key], R(dreg), None if e.direction is None else CtDir(e.direction)))
        elif isinstance(e, N.Exthdr):
            o.append(vm.ExthdrLoad(ExthdrOp(e.op), e.type, e.offset_bits // 8, e.nbytes, R(dreg),
                                   ExthdrFlag.PRESENT if e.present else ExthdrFlag(0)))
        elif isinstance(e, N.Osf):
            o.append(vm.Osf(R(dreg), e.ttl, e.flags))
        elif isinstance(e, N.Generic):
            sreg = dreg
            if e.sub is not None:
                # nft netlink_gen_hash: the hashed expression gets a register of its own
                sreg = self.get_reg(e.sub)
                self.gen(e.sub, sreg)
                self.release(e.sub)
            ins = _text_instr(e.load.format(reg=R(dreg), sreg=R(sreg)))
            if e.seed is not None and isinstance(ins, vm.Hash):
                # a seed the user gave, 0 included (the dump text cannot tell 0 from
                # none: the kernel's NFTA_HASH_SEED is there or not)
                ins = dataclasses.replace(ins, seed=e.seed)
            o.append(ins)
        elif isinstance(e, N.Binop):
            n = len(e.right.data)
            inner = e.left
            if e.op in _MASK_OPS and isinstance(inner, N.Binop) and inner.op in _MASK_OPS \
                    and isinstance(inner.right, N.Value) and len(inner.right.data) == n:
                # `ip hdrlength & 0x3`, `th sport & 4607 | 4352`: a chain of and/or/xor
                # with constants is one bitwise in nft ((x & m) ^ x', the constants
                # folded: & c -> m&c, x'&c; | c -> m&~c, x'|c; ^ c -> x'^c)
                chain = []
                cur: N.TExpr = e
                while isinstance(cur, N.Binop) and cur.op in _MASK_OPS and isinstance(cur.right, N.Value) \
                        and len(cur.right.data) == n:
                    chain.append(cur)
                    cur = cur.left
                mask, xor = (1 << (8 * n)) - 1, 0
                full = mask
                for b in reversed(chain):
                    c = int.from_bytes(b.right.data, "big")
                    if b.op == "&":
                        mask, xor = mask & c, xor & c
                    elif b.op == "|":
                        mask, xor = mask & ~c & full, xor | c
                    else:
                        xor ^= c
                self.gen(cur, dreg)
                o.append(vm.Bitwise(R(dreg), R(dreg), n, vm.BitwiseOp.BOOL, mask.to_bytes(n, "big"),
                                    xor.to_bytes(n, "big")))
                return
            self.gen(e.left, dreg)
            if e.op in ("<<", ">>"):
                op = vm.BitwiseOp.LSHIFT if e.op == "<<" else vm.BitwiseOp.RSHIFT
                o.append(vm.Bitwise(R(dreg), R(dreg), e.left.nbytes, op,
                                    shift=int.from_bytes(e.right.data, "little")))
            elif e.op == "&":
                o.append(vm.Bitwise(R(dreg), R(dreg), n, vm.BitwiseOp.BOOL, e.right.data, bytes(n)))
            elif e.op == "|":
                mask = bytes(0xFF ^ b for b in e.right.data)
                o.append(vm.Bitwise(R(dreg), R(dreg), n, vm.BitwiseOp.BOOL, mask, e.right.data))
            elif e.op == "^":
                o.append(vm.Bitwise(R(dreg), R(dreg), n, vm.BitwiseOp.BOOL, b"\xff" * n, e.right.data))
        elif isinstance(e, N.Concat):
            r = dreg
            for p in e.parts:
                self.gen(p, r)
                r += (p.len_bits + 31) // 32
        elif isinstance(e, N.Value):
            o.append(vm.Immediate(R(dreg), e.data))
        elif isinstance(e, N.Map):
            # nft netlink_gen_map: the key is loaded into the destination register itself
            # unless that is the verdict register.
            kreg = self.get_reg(e.key) if dreg == 0 else dreg
            if self._hton_concat(e.key, e.mapping):
                self._gen_concat_hton(e.key, kreg)   # type: ignore[arg-type]
            else:
                self.gen(e.key, kreg)
                self._interval_hton(e.key, e.mapping, kreg)
            if dreg == 0:
                self.release(e.key)
            name = self.set_name(e.mapping)
            o.append(vm.Lookup(R(kreg), name, R(dreg)))
        elif isinstance(e, N.Byteorder):
            self.gen(e.expr, dreg)
            o.append(_hton(dreg, e.nbytes))
        else:
            raise TypeError(f"cannot linearize {type(e).__name__}")

    def _interval_hton(self, key: N.TExpr, mapping: N.TExpr, reg: int) -> None:
        # interval sets hold big-endian keys: host-endian ones are converted first
        if isinstance(mapping, N.AnonSet) and mapping.interval and not mapping.concat \
                and key.byteorder is HOST and key.nbytes > 1 and not mapping.dtype.is_string():
            self.out.append(_hton(reg, key.nbytes))

    @staticmethod
    def _hton_concat(key: N.TExpr, mapping: N.TExpr) -> bool:
        return isinstance(mapping, N.AnonSet) and mapping.interval and mapping.concat \
            and isinstance(key, N.Concat) and any(_host_part(p) for p in key.parts)

    def _gen_concat_hton(self, key: N.Concat, reg: int) -> None:
        """A concatenated interval key: each host-endian part is converted in its own
        register(s) right after its load (nft 1.0.6: `meta mark . tcp dport { 0xa-0x14 .
        80-90 }` is `meta load mark => reg 1`, `byteorder reg 1 = hton(reg 1, 4, 4)`,
        then the port; the elements hold the mark big endian, see build_set)."""
        r = reg
        for p in key.parts:
            self.gen(p, r)
            if _host_part(p):
                self.out.append(_hton(r, p.nbytes))
            r += (p.len_bits + 31) // 32

    def set_name(self, s: N.TExpr) -> str:
        if isinstance(s, N.SetRef):
            return s.name
        assert isinstance(s, N.AnonSet)
        decl = build_set(s)
        self.sets.append(decl)
        return decl.name

    # ---------------------------------------------------------------- statements
    def stmt(self, s: N.TStmt) -> None:
        if isinstance(s, N.Match):
            self.match(s)
        elif isinstance(s, N.VerdictStmt):
            v = s.verdict
            text = v.kind if v.chain is None else f"{v.kind} -> {v.chain}"
            self.out.append(vm.Immediate(0, VerdictData.parse(text)))
        elif isinstance(s, N.VmapStmt):
            sreg = self.get_reg(s.key)
            if self._hton_concat(s.key, s.mapping):
                self._gen_concat_hton(s.key, sreg)   # type: ignore[arg-type]
            else:
                self.gen(s.key, sreg)
                self._interval_hton(s.key, s.mapping, sreg)
            self.out.append(vm.Lookup(R(sreg), self.set_name(s.mapping), 0))
            self.release(s.key)
        elif isinstance(s, N.SetStmt):
            self.set_stmt(s)
        elif isinstance(s, N.Dynset):
            self.dynset(s)
        elif isinstance(s, N.Objref):
            if s.key is None:
                self.out.append(vm.Objref(type=s.type, obj=s.name))
            else:
                sreg = self.get_reg(s.key)
                self.gen(s.key, sreg)
                self.out.append(vm.Objref(sreg=R(sreg), set=self.set_name(s.mapping)))
                self.release(s.key)
        elif isinstance(s, N.Plain):
            regs = []
            for e in s.regs:
                r = self.get_reg(e)
                self.gen(e, r)
                regs.append(r)
            names = {f"r{i}": R(r) for i, r in enumerate(regs)}
            # {r0_k}: the 32-bit slot k words after r0 (parts of concatenated map data)
            names.update({f"r{i}_{k}": R(r + k) for i, r in enumerate(regs) for k in range(1, 12)})
            for t in s.texts:
                self.out.append(_text_instr(t.format(**names) if s.regs else t))  # user text may hold braces
            for e in reversed(s.regs):
                self.release(e)
        else:
            raise TypeError(f"cannot linearize {type(s).__name__}")

    def dynset(self, s: N.Dynset) -> None:
        """nft ``netlink_gen_set_stmt``/``netlink_gen_meter_stmt``: key register, then
        data register, both released after the instruction."""
        if s.declare is not None:
            flags, key_bits, size = s.declare
            self.sets.append(AnonSetDecl(s.set, flags, key_bits, (), 0, size))
        kreg = self.get_reg(s.key)
        self.gen(s.key, kreg)
        sreg_data = None
        if s.data is not None:
            dreg = self.get_reg(s.data)
            self.gen(s.data, dreg)
            sreg_data = R(dreg)
            self.release(s.data)
        exprs = tuple(_text_instr(e) for e in s.exprs)
        self.out.append(vm.Dynset(vm.DynsetOp[s.op.upper()], R(kreg), s.set, sreg_data,
                                  s.timeout_ms or None, exprs))
        self.release(s.key)

    def set_stmt(self, s: N.SetStmt) -> None:
        t = s.target
        if isinstance(t, (N.Payload, N.Binop)) and isinstance(_payload_of(t), N.Payload):
            return self.payload_write(s)
        if isinstance(t, N.Exthdr):
            sreg = self.get_reg(s.value)
            self.gen(s.value, sreg)
            self.out.append(vm.ExthdrWrite(ExthdrOp(t.op), t.type, t.offset_bits // 8, t.nbytes, R(sreg)))
            self.release(s.value)
            return
        sreg = self.get_reg(s.value)
        self.gen(s.value, sreg)
        if isinstance(t, N.Meta):
            self.out.append(vm.MetaSet(_META_ID[t.key], R(sreg)))
        elif isinstance(t, N.Ct):
            self.out.append(vm.CtSet(_CT_ID[t.key], R(sreg), None if t.direction is None else CtDir(t.direction)))
        else:
            raise TypeError(f"cannot set {type(t).__name__}")
        self.release(s.value)

    def payload_write(self, s: N.SetStmt) -> None:
        """nft ``netlink_gen_payload_stmt``: fields that do not cover whole 16-bit words
        of a header with a checksum (or are not byte aligned) are rewritten by loading
        the containing bytes, masking the field out and or-ing the value in."""
        t = s.target
        p = _payload_of(t)
        fmask = t.right.data if isinstance(t, N.Binop) else b"\xff" * p.nbytes
        off, ln = p.offset_bits // 8, p.nbytes
        csum_type, csum_off, csum_flags = _csum(p)
        if csum_type and (off % 2 or ln % 2):
            # widen to the 16-bit words the checksum update works on
            start = off - off % 2
            end = off + ln + (off + ln) % 2
            pad_l, pad_r = off - start, end - off - ln
            fmask = bytes(pad_l) + fmask + bytes(pad_r)
            data = bytes(pad_l) + getattr(s.value, "data", b"") + bytes(pad_r) if isinstance(s.value, N.Value) else None
            off, ln = start, end - start
        else:
            data = s.value.data if isinstance(s.value, N.Value) else None
        sreg = self.get_reg(s.value)
        if fmask != b"\xff" * ln and data is not None:
            self.out.append(vm.PayloadLoad(Base(p.base), off, ln, R(sreg)))
            keep = bytes(0xFF ^ b for b in fmask)
            xor = bytes(a & b for a, b in zip(data, fmask))
            self.out.append(vm.Bitwise(R(sreg), R(sreg), len(keep), vm.BitwiseOp.BOOL, keep, xor))
        else:
            self.gen(s.value, sreg)
        self.out.append(vm.PayloadWrite(R(sreg), Base(p.base), off, ln, vm.CsumType(csum_type), csum_off,
                                        vm.CsumFlag(csum_flags)))
        self.release(s.value)

    def match(self, m: N.Match) -> None:
        left, right = m.left, m.right
        sreg = self.get_reg(left)
        if self._hton_concat(left, right):
            self._gen_concat_hton(left, sreg)   # type: ignore[arg-type]
        else:
            self.gen(left, sreg)
        o = self.out
        if isinstance(right, N.Value):
            data = right.data
            if m.op in ("lt", "gt", "lte", "gte") and left.byteorder is HOST and len(data) > 1:
                o.append(_hton(sreg, left.nbytes))
                data = data[::-1]
            o.append(vm.Cmp(_CMP[m.op], R(sreg), data))
        elif isinstance(right, N.Range):
            lo, hi = right.low.data, right.high.data
            if left.byteorder is HOST and len(lo) > 1:
                o.append(_hton(sreg, left.nbytes))
                lo, hi = lo[::-1], hi[::-1]
            if m.op == "neq":
                o.append(vm.Range(vm.RangeOp.NEQ, R(sreg), lo, hi))
            else:
                o.append(vm.Cmp(vm.CmpOp.GTE, R(sreg), lo))
                o.append(vm.Cmp(vm.CmpOp.LTE, R(sreg), hi))
        elif isinstance(right, N.AnonSet):
            if right.interval and not right.concat and left.byteorder is HOST and left.nbytes > 1 \
                    and not right.dtype.is_string():
                o.append(_hton(sreg, left.nbytes))
            o.append(vm.Lookup(R(sreg), self.set_name(right), flags=1 if m.op == "neq" else None))
        elif isinstance(right, N.SetRef):
            o.append(vm.Lookup(R(sreg), right.name, flags=1 if m.op == "neq" else None))
        elif isinstance(right, N.Concat):
            data = b"".join(_pad4(p.data) for p in right.parts)  # type: ignore[attr-defined]
            o.append(vm.Cmp(_CMP[m.op], R(sreg), data))
        else:
            raise TypeError(f"cannot compare with {type(right).__name__}")
        self.release(left)


def _hton(slot: int, n: int) -> vm.Instr:
    return vm.Byteorder(R(slot), R(slot), vm.ByteorderOp.HTON, n, n)


def _payload_of(t: N.TExpr) -> N.TExpr:
    return t.left if isinstance(t, N.Binop) else t


# Checksums a payload write must fix (nft proto_desc checksum_key/type): the IPv4 header
# checksum at 10; TCP at 16, UDP at 6 (pseudo-header ones); SCTP's CRC32c at 8
# (NFT_PAYLOAD_CSUM_SCTP).  nft 1.0.6's udplite description has no checksum key, so a
# udplite write fixes none (checked: csum_type 0).  Address and protocol fields also
# feed the transport pseudo-header (NFT_PAYLOAD_L4CSUM_PSEUDOHDR).
_CSUM = {"ip": (1, 10), "tcp": (1, 16), "udp": (1, 6), "sctp": (2, 8), "icmp": (1, 2),
         "icmpv6": (1, 2), "igmp": (1, 2)}
_PSEUDO = {("ip", "saddr"), ("ip", "daddr"), ("ip", "protocol"), ("ip6", "saddr"), ("ip6", "daddr"),
           ("ip6", "nexthdr")}


def _csum(p: N.Payload) -> tuple[int, int, int]:
    ctype, coff = _CSUM.get(p.proto, (0, 0))
    flags = 1 if (p.proto, p.field) in _PSEUDO else 0
    return ctype, coff, flags


def _host_part(p: N.TExpr) -> bool:
    """A part of a concatenated interval key that nft converts to big endian."""
    return p.byteorder is HOST and p.nbytes > 1 and not p.dtype.is_string()


def _pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def _int(v: N.Value, big: bool) -> int:
    return int.from_bytes(v.data if not big else _as_big(v), "big")


def _as_big(v: N.Value) -> bytes:
    return v.data[::-1] if v.byteorder is HOST else v.data


def build_set(s: N.AnonSet) -> AnonSetDecl:
    """The anonymous set nft creates for ``s`` (flags, key length, elements)."""
    flags = ANONYMOUS | CONSTANT
    if s.interval:
        flags |= INTERVAL
    if s.is_map:
        flags |= MAP
    if s.concat and s.interval:
        flags |= CONCAT
    if s.objmap:
        flags |= OBJECT
    name = "__objmap%d" if s.objmap else "__map%d" if s.is_map else "__set%d"
    elems: list[SetElem] = []
    # the catch-all element: no key, flagged NFT_SET_ELEM_CATCHALL (2)
    catchall = [el for el in s.elements if el.key is None]
    s_elements = tuple(el for el in s.elements if el.key is not None)

    def data_of(el: N.Elem) -> tuple[bytes | None, str | None]:
        d = el.data
        if d is None:
            return None, None
        if isinstance(d, N.Verdict):
            return None, d.kind if d.chain is None else f"{d.kind} -> {d.chain}"
        if isinstance(d, str):          # an object map's object name: see obj_of
            return None, None
        # interval data (nat maps to ranges, nft's "typeof ... : interval ..."): all the
        # low ends, then all the high ends, each part in its own 32-bit words
        if isinstance(d, N.Range):
            return _pad4(d.low.data) + _pad4(d.high.data), None
        if isinstance(d, N.Concat):
            if any(isinstance(p, N.Range) for p in d.parts):
                los = b"".join(_pad4(_range_ends(p)[0]) for p in d.parts)
                his = b"".join(_pad4(_range_ends(p)[1]) for p in d.parts)
                return los + his, None
            return b"".join(_pad4(p.data) for p in d.parts), None  # type: ignore[attr-defined]
        return d.data, None  # type: ignore[attr-defined]

    def obj_of(el: N.Elem) -> str | None:
        # object maps: the commands pipeline puts the object's name (a str) in el.data
        return el.data if s.objmap and isinstance(el.data, str) else None

    if s.interval and s.concat:
        # host-endian parts are stored big endian, as their register after the key's
        # byteorder (Linearizer._gen_concat_hton); strings keep their bytes
        for el in s_elements:
            ends = [_range_ends(p, big=_host_part(p)) for p in el.key.parts]  # type: ignore[attr-defined]
            lo = b"".join(_pad4(e[0]) for e in ends)
            hi = b"".join(_pad4(e[1]) for e in ends)
            d, v = data_of(el)
            elems.append(SetElem(lo, 0, hi, d, v, obj_of(el)))
    elif s.interval:
        nbytes = s.nbytes
        segs = []
        # strings keep their bytes in order whatever their byteorder says (nft switches
        # a string's mpz value before the segtree: setelem_expr_to_range)
        big = not s.dtype.is_string()
        for el in s_elements:
            lo, hi = _range_ends(el.key, big=big)
            segs.append([int.from_bytes(lo, "big"), int.from_bytes(hi, "big"), data_of(el), obj_of(el)])
        segs.sort(key=lambda x: x[0])
        merged: list[list] = []
        for seg in segs:
            # object maps are maps too (their is_map is off): each range keeps its object
            if merged and not (s.is_map or s.objmap) and seg[0] <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], seg[1])
            else:
                merged.append(seg)
        top = (1 << (8 * nbytes)) - 1
        if merged and merged[0][0] != 0:
            elems.append(SetElem(bytes(nbytes), 1))
        for i, (lo, hi, (d, v), o) in enumerate(merged):
            elems.append(SetElem(lo.to_bytes(nbytes, "big"), 0, None, d, v, o))
            nxt = merged[i + 1][0] if i + 1 < len(merged) else None
            if hi < top and nxt != hi + 1:
                elems.append(SetElem((hi + 1).to_bytes(nbytes, "big"), 1))
    else:
        for el in s_elements:
            k = el.key
            key = b"".join(_pad4(p.data) for p in k.parts) if isinstance(k, N.Concat) else k.data  # type: ignore
            d, v = data_of(el)
            elems.append(SetElem(key, 0, None, d, v, obj_of(el)))
    for el in catchall:
        d, v = data_of(el)
        elems.append(SetElem(b"", 2, None, d, v, obj_of(el)))
    # nft 1.0.6 declares anonymous sets with their element count (NFTA_SET_DESC_SIZE,
    # printed by libnftnl as "size N").  For an interval set it is the count nft has
    # before the segtree conversion: two per interval left after the automerge (a start
    # and an end, even where an adjacent start or the key's top makes the end go away),
    # one for the leading zero segment, one for the catch-all (checked with nft 1.0.6:
    # tests/unit/evaluate/test_evaluate_setconstructs.py).
    size = len(elems)
    if s.interval and not s.concat:
        size = 2 * len(merged) + (1 if merged and merged[0][0] != 0 else 0) + len(catchall)
    string_key = bool(s.interval and not s.concat and s.dtype.is_string())
    return AnonSetDecl(name, flags, s.len_bits, tuple(elems), s.data_len_bits, size, string_key)


def _range_ends(k: N.TExpr, big: bool = False) -> tuple[bytes, bytes]:
    if isinstance(k, N.Range):
        lo, hi = k.low, k.high
        return (_as_big(lo), _as_big(hi)) if big else (lo.data, hi.data)
    assert isinstance(k, N.Value)
    d = _as_big(k) if big else k.data
    return d, d


def _open_index(st: AnonSetDecl) -> int:
    """The index of the element of a (non-concatenated) interval set that starts an
    interval reaching the key's top: the last keyed element when no end follows it."""
    if not st.flags & INTERVAL or st.flags & CONCAT:
        return -1
    keyed = [i for i, e in enumerate(st.elements) if e.key]
    if keyed and not st.elements[keyed[-1]].flags & 1:
        return keyed[-1]
    return -1


def linearize(rule: N.TypedRule) -> Program:
    """Compile a typed rule into instructions and the anonymous sets it declares."""
    lin = _Lin()
    for s in rule.stmts:
        lin.stmt(s)
    return Program(rule.family, rule.table, rule.chain, tuple(lin.sets), tuple(lin.out),
                   getattr(rule, "comment", None))


def dump(prog: Program) -> str:
    """The ``nft --debug=netlink`` text of a program: set declarations and elements
    first, then ``FAMILY TABLE CHAIN`` and one line per instruction."""
    lines: list[str] = []
    for st in prog.sets:
        size = f" size {st.size}" if st.size else ""
        lines.append(f"{st.name} {prog.table} {st.flags:x}{size}")
        lines.append(f"{st.name} {prog.table} 0")
        if st.elements:
            op = _open_index(st)
            lines.append("\t" + "\t".join(e.dump(i == op) for i, e in enumerate(st.elements)))
    lines.append(f"{prog.family} {prog.table} {prog.chain}")
    lines.extend("  " + i.dump() for i in prog.instrs)
    comment = getattr(prog, "comment", None)
    if comment is not None:
        # nft: NFTNL_UDATA_RULE_COMMENT (type 0, length with the NUL); libnftnl prints the
        # udata bytes (printable as is, others \xNN) on a last line with no newline of
        # its own -- nft ends the rule with one
        raw = comment.encode("utf-8", "surrogateescape") + b"\0"
        udata = bytes([0, len(raw)]) + raw
        text = "".join(chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}" for b in udata)
        return "\n".join(lines) + f"\n  userdata = {{ {text} }}"
    return "\n".join(lines) + "\n"
