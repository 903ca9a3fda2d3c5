"""Typed AST: what evaluation produces.

Every expression carries the datatype nft gives it, its length in bits and the byte
order of its register form, so the linearizer never has to guess.  Constants hold their
value already in register form (``data``: the exact bytes nft puts in a register), so a
constant is compiled by copying bytes.  Nodes are frozen and slotted; evaluation builds
new ones and never mutates.
"""

from __future__ import annotations

from dataclasses import dataclass

from pkttables.errors import Location
from pkttables.proto import Base, ByteOrder
from pkttables.types import Datatype

_dc = dataclass(frozen=True, slots=True)


@_dc
class TExpr:
    loc: Location | None
    dtype: Datatype
    len_bits: int
    byteorder: ByteOrder

    @property
    def nbytes(self) -> int:
        return (self.len_bits + 7) // 8


@_dc
class Value(TExpr):
    """A constant; ``data`` is its register form (``len(data) == nbytes``)."""
    data: bytes


@_dc
class Verdict(TExpr):
    kind: str                 # accept drop continue return jump goto queue
    chain: str | None = None


@_dc
class Payload(TExpr):
    base: Base
    offset_bits: int          # from the start of the base
    proto: str
    field: str


@_dc
class Meta(TExpr):
    key: str                  # libnftnl key name (len, l4proto, bri_iifname ...)


@_dc
class Ct(TExpr):
    key: str                  # libnftnl key name (state, src_ip ...)
    direction: int | None = None


@_dc
class Exthdr(TExpr):
    op: int                   # ExthdrOp
    type: int                 # nexthdr / option kind / chunk type
    offset_bits: int
    present: bool = False


@_dc
class Generic(TExpr):
    """An expression whose load has no operands beyond a text (rt, fib, socket, osf,
    numgen, hash, xfrm): ``load`` is the dump text with ``{reg}`` for the register."""
    load: str
    sub: TExpr | None = None  # hash: the expression hashed
    # jhash: the seed the user wrote (None: not given, the kernel draws one; nft sends
    # NFTA_HASH_SEED only when given, and lists `seed 0x0` when it was)
    seed: int | None = None


@_dc
class Osf(TExpr):
    """``osf [ttl loose|skip] name|version``: the genre string (libnftnl prints neither
    ttl nor flags)."""
    ttl: int = 0              # NF_OSF_TTL_*: 0 true, 1 loose, 2 skip
    flags: int = 0            # NFT_OSF_F_VERSION


@_dc
class Binop(TExpr):
    op: str                   # & | ^ << >>
    left: TExpr
    right: Value


@_dc
class Byteorder(TExpr):
    """A host-to-network conversion nft inserts before ranges of host-endian keys."""
    expr: TExpr


@_dc
class Range(TExpr):
    low: Value
    high: Value


@_dc
class Concat(TExpr):
    parts: tuple[TExpr, ...]


@_dc
class Elem:
    """An element of an anonymous set/map: key (Value, Range or Concat of them), data.
    ``key`` is None for the catch-all element ``*`` (NFT_SET_ELEM_CATCHALL)."""
    key: TExpr | None
    data: TExpr | None = None
    loc: Location | None = None


@_dc
class AnonSet(TExpr):
    elements: tuple[Elem, ...]
    interval: bool
    is_map: bool
    concat: bool
    data_dtype: Datatype | None = None
    data_len_bits: int = 0
    objmap: bool = False
    data_interval: bool = False   # data are ranges (stored low ends, then high ends)


@_dc
class SetRef(TExpr):
    name: str
    is_map: bool = False


@_dc
class Map(TExpr):
    key: TExpr
    mapping: TExpr           # AnonSet or SetRef


# --------------------------------------------------------------------- statements
@_dc
class TStmt:
    loc: Location | None


@_dc
class Match(TStmt):
    """``left OP right``; op is eq neq lt gt lte gte; right is a Value, Range, AnonSet
    or SetRef (``neq`` with a set is an inverted lookup)."""
    left: TExpr
    op: str
    right: TExpr
    implicit: bool = False    # an implicit dependency inserted by evaluation


@_dc
class VerdictStmt(TStmt):
    verdict: Verdict


@_dc
class VmapStmt(TStmt):
    key: TExpr
    mapping: TExpr


@_dc
class SetStmt(TStmt):
    """``meta mark set ...``, ``ct mark set ...``, ``tcp dport set ...``."""
    target: TExpr
    value: TExpr


@_dc
class Plain(TStmt):
    """A statement that compiles to fixed instruction text (counter, log, limit ...),
    optionally after loading ``regs`` expressions (nat, dup, fwd, queue, tproxy)."""
    texts: tuple[str, ...]
    regs: tuple[TExpr, ...] = ()


@_dc
class Dynset(TStmt):
    """``add/update/delete @set { key [timeout T] [: data] [stmts] }`` and meters (nft
    ``stmt_evaluate_set``/``stmt_evaluate_meter``): the key (and data) are loaded, the
    per-element statements are printed as ``expr [ ... ]``.  ``declare`` is the set a
    meter creates: (flags, key length in bits, size)."""
    op: str                   # add update delete
    set: str
    key: TExpr
    data: TExpr | None = None
    timeout_ms: int | None = None
    exprs: tuple[str, ...] = ()
    declare: tuple[int, int, int | None] | None = None


@_dc
class Objref(TStmt):
    """A reference to a stateful object (nft ``objref_stmt``): by name (``type``,
    ``name``) or through a map from ``key`` (an AnonSet with ``objmap`` or a SetRef)."""
    type: int                 # NFT_OBJECT_*
    name: str | None = None
    key: TExpr | None = None
    mapping: TExpr | None = None


@_dc
class TypedRule:
    family: str
    table: str
    chain: str
    stmts: tuple[TStmt, ...]
    comment: str | None = None
