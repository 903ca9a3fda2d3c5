"""pkttables.vm -- nftables' register machine: instructions, registers, dumps, semantics.

In: programs -- tuples of instructions with the kernel's attributes -- built by
``compile/`` or read back from nft's ``--debug=netlink`` text (:func:`parse_dump`).
Out: the same text, character for character as nft 1.0.6 prints it (:func:`dump`,
``Instr.dump()``), and the reference semantics: :func:`run` executes one rule's
instructions on a :class:`~pkttables.packet.Packet` with a :class:`Regs` file and an
:class:`EvalContext`, and returns the verdict.

One module per instruction family, one class per instruction (the kernel's
``nft_*.c``): payload, cmp (cmp, range), bitwise (bitwise, byteorder), immediate, meta,
lookup (lookup, dynset, objref), exthdr, hash (hash, numgen), route (fib, rt, socket,
xfrm, osf), ct, nat (nat, masq, redir, tproxy), stateful (counter, limit, quota,
connlimit, last, log, reject, queue, dup, fwd, synproxy, notrack, flow_offload).
:data:`REGISTRY` maps each kernel name to its classes.
"""

from pkttables.vm._base import REGISTRY, DumpError, Instr, instr_classes, parse_instr
from pkttables.vm.bitwise import Bitwise, BitwiseOp, Byteorder, ByteorderOp
from pkttables.vm.cmp import Cmp, CmpOp, Range, RangeOp
from pkttables.vm.context import EvalContext, HookNotImplemented, SetLookup, SocketInfo
from pkttables.vm.ct import CtLoad, CtSet
from pkttables.vm.exthdr import ExthdrLoad, ExthdrReset, ExthdrWrite
from pkttables.vm.hash import Hash, Numgen, jhash
from pkttables.vm.immediate import Immediate
from pkttables.vm.interp import run, run_instrs
from pkttables.vm.lookup import Dynset, DynsetOp, Lookup, Objref
from pkttables.vm.meta import MetaLoad, MetaSet
from pkttables.vm.nat import Masq, Nat, NatFlag, NatType, Redir, Tproxy
from pkttables.vm.payload import CsumFlag, CsumType, PayloadLoad, PayloadWrite
from pkttables.vm.program import Program, SetDump, SetElem, dump, parse_dump
from pkttables.vm.regs import Regs, Verdict, VerdictData
from pkttables.vm.route import Fib, Osf, Rt, Socket, Xfrm
from pkttables.vm.stateful import (
    Connlimit, Counter, FlowOffload, Fwd, Dup, Last, Limit, LimitType, Log, LogFlag, Notrack, Queue,
    QueueFlag, Quota, Reject, RejectType, Synproxy,
)

__all__ = [
    # machine
    "Regs", "Verdict", "VerdictData", "EvalContext", "HookNotImplemented", "SetLookup", "SocketInfo",
    "run", "run_instrs",
    # programs and dumps
    "Program", "SetDump", "SetElem", "parse_dump", "dump", "parse_instr", "DumpError", "Instr",
    "REGISTRY", "instr_classes",
    # instructions
    "PayloadLoad", "PayloadWrite", "CsumType", "CsumFlag", "Cmp", "CmpOp", "Range", "RangeOp",
    "Bitwise", "BitwiseOp", "Byteorder", "ByteorderOp", "Immediate", "MetaLoad", "MetaSet",
    "Lookup", "Dynset", "DynsetOp", "Objref", "ExthdrLoad", "ExthdrWrite", "ExthdrReset",
    "Hash", "Numgen", "jhash", "Fib", "Rt", "Socket", "Xfrm", "Osf", "CtLoad", "CtSet",
    "Nat", "NatType", "NatFlag", "Masq", "Redir", "Tproxy", "Counter", "Limit", "LimitType",
    "Quota", "Connlimit", "Last", "Log", "LogFlag", "Reject", "RejectType", "Queue", "QueueFlag",
    "Dup", "Fwd", "Synproxy", "Notrack", "FlowOffload",
]
