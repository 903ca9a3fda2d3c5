"""The abstract syntax tree: what the nftables text says, with where it says it.

Every node is a frozen, slotted dataclass with a ``loc`` (:class:`pkttables.errors.Location`)
as its first field.  Values stay symbolic: ``Symbol("ssh")``, ``Number(22)``,
``String("eth0")`` -- the evaluator gives them datatypes.  Variables (``$x``) are
expanded by the parser, so the tree holds the defined expression, relocated to the place
of use.

Shape::

    Script(commands)
      Command(verb, obj)                 add/create/insert/replace/delete/destroy/list/...
        TableObj / ChainObj / RuleObj / SetObj / ElementObj / FlowtableObj / StatefulObj
        / RulesetObj / ListObj / Describe / Monitor / Export
      Table block items: ChainObj, SetObj, FlowtableObj, StatefulObj, Prop
      Chain block items: Rule, ChainType, Prop
      Rule(stmts, comment)
        statements: Match, VerdictStmt, Counter, Limit, ...
          expressions: Payload, Meta, Ct, ..., Symbol, Number, SetExpr, Concat, ...
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pkttables.errors import Location

_dc = dataclass(frozen=True, slots=True)


@_dc
class Node:
    loc: Location


# ---------------------------------------------------------------- expressions
@_dc
class Expr(Node):
    pass


@_dc
class Symbol(Expr):
    """An unquoted word or address: ``ssh``, ``10.0.0.1``, ``established``, ``1h``."""
    name: str


@_dc
class Number(Expr):
    value: int
    text: str


@_dc
class String(Expr):
    """A double-quoted string, without its quotes."""
    value: str


@_dc
class AsteriskString(Expr):
    """``eth*`` (a wildcard interface name) or ``\\*``."""
    value: str


@_dc
class Wildcard(Expr):
    """``*`` (the catch-all element of a set or map)."""


@_dc
class SetRef(Expr):
    """``@name``."""
    name: str


@_dc
class RawPayload(Expr):
    """``@ll,0,8`` / ``@nh,..`` / ``@th,..``: base, bit offset, bit length."""
    base: str
    offset: Expr
    length: Expr


@_dc
class Payload(Expr):
    """``tcp dport``: a header field."""
    proto: str
    field: str


@_dc
class Exthdr(Expr):
    """IPv6 extension header ``frag more-fragments``, ``rt0 addr[1]``; field None with ``exthdr hbh exists``."""
    hdr: str
    field: str | None
    index: int | None = None


@_dc
class TcpOption(Expr):
    """``tcp option maxseg size``; ``tcp option @5,8,8`` has option=None and raw=(kind, off, len)."""
    option: str | int | None
    field: str | None
    raw: tuple[int, int, int] | None = None


@_dc
class IpOption(Expr):
    option: str
    field: str | None


@_dc
class SctpChunk(Expr):
    chunk: str
    field: str | None


@_dc
class Meta(Expr):
    key: str
    qualified: bool = True


@_dc
class Ct(Expr):
    """``ct [original|reply] [ip|ip6] key``."""
    key: str
    direction: str | None = None
    family: str | None = None


@_dc
class Rt(Expr):
    key: str
    family: str | None = None


@_dc
class Fib(Expr):
    flags: tuple[str, ...]
    result: str


@_dc
class Socket(Expr):
    key: str
    level: int | None = None


@_dc
class Osf(Expr):
    key: str
    ttl: str | None = None


@_dc
class Numgen(Expr):
    mode: str
    mod: int
    offset: int | None = None


@_dc
class Hash(Expr):
    """``jhash EXPR mod N [seed N] [offset N]`` / ``symhash mod N [offset N]``."""
    kind: str
    expr: Expr | None
    mod: int
    seed: int | None = None
    offset: int | None = None


@_dc
class Ipsec(Expr):
    direction: str
    key: str
    spnum: int | None = None
    family: str | None = None


@_dc
class Prefix(Expr):
    expr: Expr
    length: int


@_dc
class Range(Expr):
    low: Expr
    high: Expr


@_dc
class Binop(Expr):
    """``& | ^ << >>`` (the op is normalised: ``and`` -> ``&``)."""
    op: str
    left: Expr
    right: Expr


@_dc
class Concat(Expr):
    parts: tuple[Expr, ...]


@_dc
class ListExpr(Expr):
    """Comma-separated values outside braces: ``tcp flags syn,ack``."""
    items: tuple[Expr, ...]


@_dc
class ElemOpt(Node):
    """An element option: ``timeout 1s``, ``expires 2s``, ``comment "x"``, ``counter``..."""
    name: str
    value: object = None


@_dc
class Elem(Expr):
    """A set element with options: ``10.0.0.1 timeout 30s``."""
    key: Expr
    opts: tuple[Node, ...]


@_dc
class Mapping(Expr):
    """``key : value`` inside a map."""
    key: Expr
    value: Expr


@_dc
class SetExpr(Expr):
    """``{ a, b }`` (anonymous set or map literal)."""
    elements: tuple[Expr, ...]


@_dc
class MapExpr(Expr):
    """``KEY map { ... }`` / ``KEY map @m``."""
    key: Expr
    mapping: Expr


@_dc
class Verdict(Expr):
    """accept, drop, continue, return, jump CHAIN, goto CHAIN, queue (in maps)."""
    kind: str
    target: Expr | None = None


# ---------------------------------------------------------------- statements
@_dc
class Stmt(Node):
    pass


@_dc
class Match(Stmt):
    """A relational match; ``op`` is ``implicit`` or ``== != < > <= >= !``."""
    left: Expr
    op: str
    right: Expr


@_dc
class VerdictStmt(Stmt):
    verdict: Verdict


@_dc
class VmapStmt(Stmt):
    key: Expr
    mapping: Expr


@_dc
class SetStmt(Stmt):
    """``meta mark set 1``, ``ct mark set ...``, ``tcp dport set 80``: mangling."""
    target: Expr
    value: Expr


@_dc
class Counter(Stmt):
    packets: int | None = None
    bytes: int | None = None


@_dc
class ObjRef(Stmt):
    """``counter name x``, ``quota name x``, ``limit name x``, ``ct helper set "ftp"``..."""
    kind: str
    name: Expr


@_dc
class Limit(Stmt):
    rate: int
    unit: str  # "packets" or a byte unit (bytes/kbytes/mbytes)
    per: str
    over: bool = False
    burst: int | None = None
    burst_unit: str | None = None


@_dc
class Quota(Stmt):
    amount: int
    unit: str
    over: bool = False
    used: int | None = None
    used_unit: str | None = None


@_dc
class Log(Stmt):
    """Options as (name, value) pairs: prefix, level, group, snaplen, queue-threshold, flags."""
    opts: tuple[tuple[str, object], ...]


@_dc
class Reject(Stmt):
    """``reject [with icmp|icmpv6|icmpx|tcp reset [type] CODE]``."""
    family: str | None = None
    code: Expr | None = None


@_dc
class Nat(Stmt):
    """snat/dnat/masquerade/redirect; ``family`` is the ``ip to``/``ip6 to`` of inet tables.

    The type flags (nft ``STMT_NAT_F_*``): ``prefix`` for ``snat ip prefix to``,
    ``interval`` for ``snat ip interval to`` (the map gives address ranges), ``concat``
    for ``snat ip addr . port to`` (the map gives address . port)."""
    kind: str
    family: str | None = None
    addr: Expr | None = None
    port: Expr | None = None
    flags: tuple[str, ...] = ()
    prefix: bool = False
    interval: bool = False
    concat: bool = False


@_dc
class Tproxy(Stmt):
    family: str | None
    addr: Expr | None
    port: Expr | None


@_dc
class Queue(Stmt):
    num: Expr | None = None
    flags: tuple[str, ...] = ()


@_dc
class Dup(Stmt):
    addr: Expr | None
    dev: Expr | None


@_dc
class Fwd(Stmt):
    family: str | None
    addr: Expr | None
    dev: Expr


@_dc
class Reset(Stmt):
    """``reset tcp option NAME`` (strip a TCP option)."""
    option: Expr


@_dc
class Notrack(Stmt):
    pass


@_dc
class DynsetStmt(Stmt):
    """``add @s { KEY [timeout 1s] [counter] }``, ``update @s {...}``, ``delete @s {...}``."""
    op: str
    set: str
    key: Expr
    stmts: tuple[Stmt, ...] = ()
    ref_loc: Location | None = field(default=None, compare=False)  # the ``@s``: nft reports a missing set there


@_dc
class Meter(Stmt):
    name: str
    size: int | None
    key: Expr
    stmt: Stmt


@_dc
class Synproxy(Stmt):
    mss: int | None = None
    wscale: int | None = None
    flags: tuple[str, ...] = ()


@_dc
class FlowOffload(Stmt):
    flowtable: str


@_dc
class Connlimit(Stmt):
    """``ct count [over] N``."""
    count: int
    over: bool = False


@_dc
class Last(Stmt):
    used: int | None = None


@_dc
class Xt(Stmt):
    kind: str
    name: str


# ---------------------------------------------------------------- objects and commands
@_dc
class Prop(Node):
    """A block property: ``policy drop``, ``flags interval``, ``comment "x"``,
    ``elements = {..}``, ``devices = {..}``, ``size 10``, ``timeout 1s``, ``counter``..."""
    name: str
    value: object = None


@_dc
class ChainType(Node):
    """``type filter hook input [device X] priority 0``."""
    type: str
    hook: str | None
    priority: Expr | None
    device: Expr | None = None


@_dc
class SetType(Node):
    """``type ipv4_addr . inet_service [: verdict]`` or ``typeof EXPR [: EXPR]``."""
    typeof: bool
    key: tuple
    data: tuple | None = None
    data_interval: bool = False


@_dc
class Rule(Node):
    stmts: tuple[Stmt, ...]
    comment: str | None = None


@_dc
class Obj(Node):
    pass


@_dc
class TableObj(Obj):
    family: str | None
    name: str | None
    handle: int | None = None
    body: tuple[Node, ...] | None = None


@_dc
class ChainObj(Obj):
    family: str | None
    table: str | None
    name: str | None
    handle: int | None = None
    body: tuple[Node, ...] | None = None


@_dc
class RuleObj(Obj):
    """A rule spec: ``[family] table chain [handle N|position N|index N] STMTS``."""
    family: str | None
    table: str
    chain: str
    rule: Rule | None = None
    handle: int | None = None
    position: int | None = None
    index: int | None = None


@_dc
class SetObj(Obj):
    kind: str  # set, map, meter
    family: str | None
    table: str
    name: str | None
    handle: int | None = None
    body: tuple[Node, ...] | None = None


@_dc
class ElementObj(Obj):
    family: str | None
    table: str
    set: str
    elements: SetExpr | None = None


@_dc
class FlowtableObj(Obj):
    family: str | None
    table: str | None
    name: str | None
    handle: int | None = None
    body: tuple[Node, ...] | None = None


@_dc
class StatefulObj(Obj):
    """counter, quota, limit, ct helper, ct timeout, ct expectation, synproxy, secmark."""
    kind: str
    family: str | None
    table: str | None
    name: str | None
    handle: int | None = None
    body: tuple[Node, ...] | None = None


@_dc
class RulesetObj(Obj):
    family: str | None = None


@_dc
class ListObj(Obj):
    """Plural listings: ``list tables [family]``, ``list counters table ip t``, ``list hooks``..."""
    what: str
    family: str | None = None
    table: str | None = None


@_dc
class Describe(Obj):
    expr: Expr


@_dc
class Monitor(Obj):
    event: str | None
    what: str | None
    format: str | None


@_dc
class Export(Obj):
    format: str


@_dc
class Command(Node):
    verb: str
    obj: Obj
    newname: str | None = None


@_dc
class Script(Node):
    commands: tuple[Command, ...]
    #: the parser's errors when the text did not parse: ``commands`` are those it kept
    #: (nft evaluates them and appends their errors, see :func:`pkttables.lang.parse`)
    error: Exception | None = None


def node_classes() -> list[type]:
    """Every concrete node class (used by the completeness tests of later stages)."""
    mod = globals()
    return [c for name, c in mod.items() if isinstance(c, type) and issubclass(c, Node) and c.__module__ == __name__]
