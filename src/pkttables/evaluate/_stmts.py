"""Evaluation of the statements beyond matches, verdicts, counters and ``set``: log,
limit, quota, reject, nat/masquerade/redirect, queue, notrack, dup, fwd, tproxy,
objref, connlimit, synproxy, dynset/meter, flow offload, exthdr reset
(nft ``stmt_evaluate_*``).

Each becomes a :class:`~pkttables.evaluate._nodes.Plain` statement: the instruction
text nft 1.0.6 emits, with ``{r0}``, ``{r1}``... standing for the registers its
operands are loaded into (nat addresses and ports, dup/fwd devices, queue numbers),
which the linearizer allocates as nft's ``netlink_gen_*_stmt`` do.
"""

from __future__ import annotations

from pkttables.errors import EvalError
from pkttables.lang import ast as A
from pkttables.proto import ByteOrder
from pkttables.types import DATATYPES

from . import _nodes as N

HOST, BIG = ByteOrder.HOST, ByteOrder.BIG

_UNITS = {"bytes": 1, "kbytes": 1024, "mbytes": 1024 * 1024}
_LOG_LEVELS = {"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warn": 4, "notice": 5, "info": 6,
               "debug": 7, "audit": 8}
# NF_LOG_* flags as libnftnl prints them, in its order.
_LOG_FLAGS = (("tcp sequence", 0x1, "tcpseq"), ("tcp options", 0x2, "tcpopt"),
              ("ip options", 0x4, "ipopt"), ("skuid", 0x8, "uid"), ("ether", 0x20, "macdecode"))
_NAT_FLAGS = {"random": 0x4, "persistent": 0x8, "fully-random": 0x10}
_QUEUE_FLAGS = {"bypass": 0x1, "fanout": 0x2}


def _err(msg, loc):
    return EvalError(msg, loc)


# NFT_OBJECT_* (include/uapi/linux/netfilter/nf_tables.h)
OBJ_TYPES = {"counter": 1, "quota": 2, "ct helper": 3, "limit": 4, "connlimit": 5, "tunnel": 6,
             "ct timeout": 7, "secmark": 8, "ct expectation": 9, "synproxy": 10}
# NFT_SET_* flags of the set a meter declares (nft stmt_evaluate_meter)
_SET_ANONYMOUS, _SET_TIMEOUT, _SET_EVAL = 0x1, 0x10, 0x20
_NFPROTO = {"ip": 2, "ip6": 10}


def _rate_loc(s: A.Limit):
    """nft places rate errors on ``RATE UNIT``."""
    loc = s.loc
    if loc is None or loc.line_text is None or not loc.first_col:
        return loc
    text = loc.line_text
    i = text.find(str(s.rate), loc.first_col - 1, loc.last_col)
    j = text.find(s.unit, i, loc.last_col) if i >= 0 else -1
    if i < 0 or j < 0:
        return loc
    end = j + len(s.unit)
    if text.startswith("/" + s.per, end):
        end += 1 + len(s.per)   # `10 parsecs/second` is one STRING token in nft's scanner
    from pkttables.errors import Location
    return Location(loc.file, loc.line, i + 1, end, text, loc.included_from, loc.shown_text)


def _limit(s: A.Limit) -> N.Plain:
    if s.unit != "packets" and s.unit not in _UNITS:
        raise _err("Wrong rate format", _rate_loc(s))
    if s.unit == "packets":
        rate, burst, typ = s.rate, 5 if s.burst is None else s.burst, "packets"
    else:
        rate = s.rate * _UNITS.get(s.unit, 1)
        burst = 0 if s.burst is None else s.burst * _UNITS.get(s.burst_unit or "bytes", 1)
        typ = "bytes"
    return N.Plain(s.loc, (f"limit rate {rate}/{s.per} burst {burst} type {typ} flags 0x{int(s.over):x}",))


def _quota(s: A.Quota) -> N.Plain:
    amount = s.amount * _UNITS.get(s.unit, 1)
    used = (s.used or 0) * _UNITS.get(s.used_unit or "bytes", 1)
    return N.Plain(s.loc, (f"quota bytes {amount} consumed {used} flags {int(s.over)}",))


def _log(s: A.Log) -> N.Plain:
    parts: list[str] = []
    opts = dict((k, v) for k, v in s.opts if k != "flags")
    # snaplen and queue-threshold are group (nflog) options: nft flags them as group
    grouped = any(k in opts for k in ("group", "snaplen", "queue-threshold"))
    if grouped and ("level" in opts or any(k == "flags" for k, _ in s.opts)):
        # nft points at the `log` keyword
        from pkttables.errors import Location
        loc = s.loc
        # (nft shows this location's own line even in a multi-line buffer: measured)
        kw = Location(loc.file, loc.line, loc.first_col, loc.first_col + 2, loc.line_text) if loc else None
        what = "level and group" if "level" in opts else "flags and group"
        raise _err(f"{what} are mutually exclusive", kw)
    if opts.get("level") == "audit" and len(s.opts) > 1:
        from pkttables.errors import Location
        loc = s.loc
        # (nft shows this location's own line even in a multi-line buffer: measured)
        kw = Location(loc.file, loc.line, loc.first_col, loc.first_col + 2, loc.line_text) if loc else None
        raise _err("log level audit doesn't support any further options", kw)
    flags = 0
    for k, v in s.opts:
        if k == "flags":
            for f in v:
                if f == "all":
                    flags |= 0x2f
                elif f in ("tcp sequence,options", "tcp options,sequence"):
                    flags |= 0x3
                else:
                    for name, bit, _ in _LOG_FLAGS:
                        if f == name:
                            flags |= bit
    if "prefix" in opts:
        parts.append(f"prefix {opts['prefix']}")
    if "group" in opts:
        parts.append(f"group {opts['group']} snaplen {opts.get('snaplen', 0)} "
                     f"qthreshold {opts.get('queue-threshold', 0)}")
    else:
        # nft netlink_gen_log_stmt sends snaplen and qthreshold only with a group:
        # `log snaplen 10` alone is a plain `[ log ]`
        if "level" in opts:
            lv = opts["level"]
            parts.append(f"level {_LOG_LEVELS.get(lv, lv)}")
    if flags:
        parts.append(" ".join(p for _, bit, p in _LOG_FLAGS if flags & bit))
    return N.Plain(s.loc, ("log" + "".join(" " + p for p in parts),))


def _code(ev, e: A.Expr, dtname: str) -> int:
    dt = DATATYPES[dtname]
    v = ev._parse_value(e, dt)
    return int(v)


def _keyword_loc(loc, word: str):
    """The location of a statement's leading keyword (nft locates some errors there)."""
    if loc is None or not loc.first_col:
        return loc
    from pkttables.errors import Location
    return Location(loc.file, loc.line, loc.first_col, loc.first_col + len(word) - 1, loc.line_text,
                    loc.included_from, loc.shown_text)


def _binary(msg: str, primary, secondary):
    """nft ``stmt_binary_error``: ``^`` under the first place, ``~`` under the second."""
    from pkttables.errors import Diagnostic, EvalError
    return EvalError(Diagnostic(primary, msg, secondary=(secondary,) if secondary is not None else ()))


def _reject(ev, s: A.Reject) -> N.Plain:
    """nft stmt_evaluate_reject, in its order: the default type/family from the table
    and the network protocol known (stmt_evaluate_reject_default) or the reset check
    (stmt_evaluate_reset), then the family checks (stmt_evaluate_reject_family), then
    the dependency put at the head of the rule (stmt_reject_gen_dependency).  The
    statement's own location is its keyword; ``~`` marks are where the protocol context
    was learnt (a user's match, or the expression whose dependency set it)."""
    fam = ev.fam
    kw = _keyword_loc(s.loc, "reject")
    # inet's context has no network protocol for `meta protocol` (see _learn)
    nh = None if fam == "inet" and ev.pctx.get("_nh_meta_protocol") else ev.pctx.get("nh")
    nh_loc, th = ev.pctx_loc.get("nh"), ev.pctx.get("th")
    code_loc = s.code.loc if s.code is not None else kw
    kind, rfam, code = s.family, None, None
    if kind is None:
        # stmt_evaluate_reject_default
        if fam in ("ip", "ip6"):
            kind, rfam, code = "icmp", fam, 3 if fam == "ip" else 4
        elif fam in ("inet", "bridge", "netdev"):
            if nh is None:
                kind, code = "icmpx", 1
            else:
                kind = "icmp"
                if nh in ("ip", "ip6"):
                    rfam, code = nh, 3 if nh == "ip" else 4
    elif kind == "tcp":
        # stmt_evaluate_reset: the transport protocol known must be TCP above the
        # network protocol known (proto_find_num; inet_service when none is)
        if th is not None and not (th == "tcp" and (nh is None or nh in ("ip", "ip6"))):
            raise _binary("you cannot use tcp reset with this protocol", kw, ev.pctx_loc.get("th"))
    elif kind == "icmpx":
        code = _code(ev, s.code, "icmpx_code") if s.code is not None else 1
    else:
        rfam = "ip" if kind == "icmp" else "ip6"
        code = _code(ev, s.code, "icmp_code" if kind == "icmp" else "icmpv6_code")
        kind = "icmp"
    # stmt_evaluate_reject_family
    if fam == "arp":
        # no reject at all in arp tables, whatever its type (nft 1.0.6: icmp, icmpv6,
        # icmpx, none; `tcp reset` fails the reset check above first)
        raise _err("cannot use reject with arp", kw)
    if fam in ("ip", "ip6"):
        if kind == "icmpx":
            raise _binary("abstracted ICMP unreachable not supported", code_loc, kw)
        if kind == "icmp" and rfam != fam:
            raise _binary("conflicting protocols specified: ip vs ip6", code_loc, kw)
    elif nh is not None and fam == "inet":
        # stmt_evaluate_reject_inet_family: only ICMP needs the right network protocol
        if kind == "icmp":
            if nh not in ("ip", "ip6"):
                # nft's text ends in a newline: an empty line before the rule
                raise _err("cannot infer ICMP reject variant to use: explicit value required.\n", kw)
            if rfam != nh:
                raise _binary("conflicting protocols specified: ip vs ip6", code_loc, nh_loc)
    elif nh is not None:
        # stmt_evaluate_reject_bridge_family (bridge, netdev)
        if nh not in ("ip", "ip6"):
            raise _binary("cannot reject this network family", kw, nh_loc)
        if kind == "icmp" and rfam != nh:
            raise _binary("conflicting protocols specified: ip vs ip6", code_loc, nh_loc)
    if kind == "icmpx":
        return N.Plain(s.loc, (f"reject type 2 code {code}",))
    # stmt_reject_gen_dependency: the dependency goes to the head of the rule, so a
    # counter before the reject counts only what is rejected
    n = len(ev.out)
    if kind == "tcp":
        if th is None:
            if nh is not None and nh not in ("ip", "ip6"):
                # payload_gen_dependency for tcp above the network protocol known
                raise _err(f"conflicting protocols specified: {nh} vs. tcp", kw)
            ev._need("tcp", s.loc)
        ev.out[:] = ev.out[n:] + ev.out[:n]
        return N.Plain(s.loc, ("reject type 1 code 0",))
    if fam not in ("ip", "ip6") and nh is None:
        ev._need(rfam, s.loc)
        ev.out[:] = ev.out[n:] + ev.out[:n]
    return N.Plain(s.loc, (f"reject type 0 code {code}",))


def _nat(ev, s: A.Nat) -> N.Plain:
    from ._eval import _Lhs, INTEGER
    # without an explicit family: the table's, else the network protocol matched, else
    # the table's own "inet" (nft prints "nat dnat inet")
    if ev.fam not in ("ip", "ip6", "inet"):
        # nft nat_evaluate_family, located at the statement's keyword
        raise _err("NAT is only supported for IPv4/IPv6", _keyword_loc(s.loc, s.kind))
    fam = s.family or (ev.fam if ev.fam in ("ip", "ip6") else ev.pctx.get("nh")) or ev.fam
    kind = {"masquerade": "masq", "redirect": "redir"}.get(s.kind, s.kind)
    flags = 0
    for f in s.flags:
        flags |= _NAT_FLAGS.get(f, 0)
    regs: list[N.TExpr] = []
    args: list[str] = []
    if isinstance(s.addr, A.MapExpr) and isinstance(s.addr.mapping, A.SetExpr) and s.port is None \
            and fam in ("ip", "ip6"):
        special = _nat_map(ev, s, fam, kind, flags)
        if special is not None:
            return special
    if isinstance(s.addr, A.MapExpr) and isinstance(s.addr.mapping, A.SetRef) and s.port is None \
            and fam in ("ip", "ip6"):
        special = _nat_named_map(ev, s, fam, kind, flags)
        if special is not None:
            return special
    if s.addr is not None:
        if fam not in ("ip", "ip6"):
            raise _err("ip or ip6 must be specified with address for inet tables.", _keyword_loc(s.loc, s.kind))
        _nat_family_check(ev, s, fam)
        dt = DATATYPES["ipv4_addr" if fam == "ip" else "ipv6_addr"]
        bits = 32 if fam == "ip" else 128
        lhs = _Lhs(N.Value(s.loc, dt, bits, BIG, b""), dt, bits)
        if isinstance(s.addr, A.Range):
            lo, hi = ev._const(s.addr.low, lhs), ev._const(s.addr.high, lhs)
            regs += [lo, hi]
            args.append("addr_min reg {r0} addr_max reg {r1}")
        elif isinstance(s.addr, A.Prefix):
            pr = ev._elem_key(s.addr, lhs)
            regs += [pr.range.low, pr.range.high]
            args.append("addr_min reg {r0} addr_max reg {r1}")
            flags |= 0x40 if s.prefix and not s.flags else 0
        else:
            regs.append(ev._value_expr(s.addr, lhs))
            args.append("addr_min reg {r0}")
    if s.port is not None:
        _need_transport(ev, s.port.loc, s)
        dt = DATATYPES["inet_service"]
        lhs = _Lhs(N.Value(s.loc, dt, 16, BIG, b""), dt, 16)
        i = len(regs)
        if isinstance(s.port, A.Range):
            regs += [ev._const(s.port.low, lhs), ev._const(s.port.high, lhs)]
            args.append(f"proto_min reg {{r{i}}} proto_max reg {{r{i + 1}}}")
        else:
            regs.append(ev._value_expr(s.port, lhs))
            args.append(f"proto_min reg {{r{i}}}")
        flags |= 0x2
    head = f"nat {kind} {fam}" if kind in ("snat", "dnat") else kind
    text = head + "".join(" " + a for a in args) + (f" flags 0x{flags:x}" if flags else "")
    return N.Plain(s.loc, (text,), tuple(regs))


def _need_transport(ev, loc, s: A.Nat | None = None) -> None:
    # nft nat_evaluate_transport: a port needs a transport protocol match before it; the
    # error also marks the statement's keyword (stmt_binary_error)
    if ev.pctx.get("th") is None:
        if s is None:
            raise _err("transport protocol mapping is only valid after transport protocol match", loc)
        from pkttables.errors import Diagnostic
        raise EvalError(Diagnostic(loc, "transport protocol mapping is only valid after transport protocol match",
                                   secondary=(_keyword_loc(s.loc, s.kind),)))


def _span(a, b):
    """From the start of location ``a`` to the end of ``b`` (same line)."""
    if a is None or b is None or a.line != b.line:
        return a
    from pkttables.errors import Location
    return Location(a.file, a.line, a.first_col, b.last_col, a.line_text, a.included_from, a.shown_text)


def _nat_family_check(ev, s: A.Nat, fam: str) -> None:
    # nft 1.0.6 adds no `meta nfproto` dependency for `snat ip to` in inet tables; it
    # only refuses an address family that contradicts the network protocol matched.
    # nft nat_evaluate_addr: stmt_binary_error under the keyword, `~` where the network
    # protocol was learnt (nothing when the table's family set it)
    nh = ev.pctx.get("nh")
    if nh in ("ip", "ip6") and nh != fam:
        raise _binary(f"conflicting protocols specified: {nh} vs. {fam}. You must specify ip or ip6 "
                      "family in nat statement", _keyword_loc(s.loc, s.kind), ev.pctx_loc.get("nh"))


def _nat_map(ev, s: A.Nat, fam: str, kind: str, flags: int) -> N.Plain | None:
    """``snat to KEY map { k : ADDR-RANGE }`` and ``dnat to KEY map { k : ADDR . PORT }``:
    the map's data is a range and/or an address-port concatenation (nft
    ``stmt_evaluate_nat_map``); the lookup leaves them in consecutive 32-bit registers."""
    from ._eval import _Lhs, INTEGER
    m = s.addr
    values = [it.value for it in m.mapping.elements if isinstance(it, A.Mapping)]
    if not values:
        return None
    concat = isinstance(values[0], A.Concat)
    ranged = any(isinstance(v, (A.Range, A.Prefix)) or
                 (isinstance(v, A.Concat) and any(isinstance(p, (A.Range, A.Prefix)) for p in v.parts))
                 for v in values)
    if not concat and not ranged:
        return None
    _nat_family_check(ev, s, fam)
    alhs = _addr_lhs(fam, s.loc)
    aw = 1 if fam == "ip" else 4                       # 32-bit words of an address
    if concat:
        plhs = _typed_lhs("inet_service", 16, BIG, s.loc)
        tot = (aw + 1) * 32
        dl = _Lhs(N.Concat(s.loc, INTEGER, tot, BIG, (alhs.expr, plhs.expr)), INTEGER, tot)
        dl.parts = [alhs, plhs]  # type: ignore[attr-defined]
    else:
        dl = alhs
    key = ev._lhs(m.key)
    if concat:
        _need_transport(ev, _span(m.loc, m.mapping.loc), s)
    mp = ev._anon_set(m.mapping, key, is_map=True, data_lhs=dl)
    import dataclasses
    mp = dataclasses.replace(mp, data_interval=ranged)
    x = dl.expr
    expr = N.Map(m.loc, dl.dtype, x.len_bits, x.byteorder, key.expr, mp)
    if concat and ranged:
        args = f"addr_min reg {{r0}} addr_max reg {{r0_{aw + 1}}} proto_min reg {{r0_{aw}}} " \
               f"proto_max reg {{r0_{2 * aw + 1}}}"
    elif concat:
        args = f"addr_min reg {{r0}} proto_min reg {{r0_{aw}}}"
    else:
        args = f"addr_min reg {{r0}} addr_max reg {{r0_{aw}}}"
    if s.prefix and not s.flags:
        # NF_NAT_RANGE_NETMAP, unless flags were written: nft 1.0.6's grammar assigns the
        # flag list over it (checked: `... map { ... } persistent` is `flags 0x8`, listed
        # without `prefix`)
        flags |= 0x40
    text = f"nat {kind} {fam} {args}" + (f" flags 0x{flags:x}" if flags else "")
    return N.Plain(s.loc, (text,), (expr,))


def _nat_named_map(ev, s: A.Nat, fam: str, kind: str, flags: int) -> N.Plain | None:
    """``dnat ip to KEY map @m`` where ``@m``'s data is ``ADDR . inet_service``: the
    lookup leaves address and port in consecutive registers (nft
    ``stmt_evaluate_nat_map``: ``proto_min`` is the register after the address)."""
    from ._eval import INTEGER
    m = s.addr
    info = ev.ctx.sets.get(m.mapping.name)
    aw = 1 if fam == "ip" else 4
    if info is None or info.data is None or info.data[0] is not INTEGER or info.data[1] != (aw + 1) * 32:
        return None
    _nat_family_check(ev, s, fam)
    key = ev._key_lhs(m.key)
    _need_transport(ev, _span(m.loc, m.mapping.loc), s)
    ref = ev._setref(m.mapping, key, True)
    expr = N.Map(m.loc, INTEGER, (aw + 1) * 32, BIG, key.expr, ref)
    if s.prefix and not s.flags:
        flags |= 0x40
    args = f"addr_min reg {{r0}} proto_min reg {{r0_{aw}}}"
    text = f"nat {kind} {fam} {args}" + (f" flags 0x{flags:x}" if flags else "")
    return N.Plain(s.loc, (text,), (expr,))


def _queue_check(s: A.Queue, num, flags: int) -> None:
    # nft stmt_evaluate_queue: queue numbers are 16 bits; an expression's largest value
    # (offset + mod - 1) must fit; fanout spreads over a range.
    if isinstance(num, A.Number) and num.value > 0xFFFF:
        loc = num.loc
        if loc is not None and loc.line_text:
            # nft places the error on `num N`
            from pkttables.errors import Location
            start = loc.line_text.rfind("num", 0, loc.first_col - 1)
            if start >= 0:
                loc = Location(loc.file, loc.line, start + 1, loc.last_col, loc.line_text, loc.included_from,
                               loc.shown_text)
        raise _err(f"Value {num.value} exceeds valid range 0-65535", loc)
    if isinstance(num, A.Range) and isinstance(num.low, A.Number) and isinstance(num.high, A.Number) \
            and num.low.value >= num.high.value and not (num.low.value == num.high.value and
                                                         not flags & _QUEUE_FLAGS["fanout"]):
        # nft expr_evaluate_range: high must be above low (`queue num 3-2`; the parser's
        # location of a compat range spans `num 3-2`)
        raise _err("Range has zero or negative size", num.loc)
    if isinstance(num, (A.Hash, A.Numgen)):
        if (num.offset or 0) + num.mod - 1 > 0xFFFF:
            raise _err("queue expression max value exceeds 65535", num.loc)
    if flags & _QUEUE_FLAGS["fanout"] and num is not None and not isinstance(num, A.Range):
        raise _err("fanout requires a range to be specified", num.loc)


def _queue(ev, s: A.Queue) -> N.Plain:
    flags = 0
    for f in s.flags:
        flags |= _QUEUE_FLAGS.get(f, 0)
    fl = "".join(f" {n}" for n, b in _QUEUE_FLAGS.items() if flags & b)
    num = s.num
    _queue_check(s, num, flags)
    if num is None:
        return N.Plain(s.loc, (f"queue num 0{fl}",))
    if isinstance(num, A.Number):
        return N.Plain(s.loc, (f"queue num {num.value}{fl}",))
    if isinstance(num, A.Range) and isinstance(num.low, A.Number) and isinstance(num.high, A.Number):
        return N.Plain(s.loc, (f"queue num {num.low.value}-{num.high.value}{fl}",))
    from ._eval import _Lhs
    dt = DATATYPES["integer"]
    lhs = _Lhs(N.Value(s.loc, dt, 16, HOST, b""), dt, 16)
    e = ev._value_expr(num, lhs)
    return N.Plain(s.loc, (f"queue sreg_qnum {{r0}}{fl}",), (e,))


def _typed_lhs(dtname: str, bits: int, order: ByteOrder, loc):
    """A stand-in left-hand side that types a statement argument (an address, a port,
    a device) as nft's ``stmt_evaluate_arg`` does with its ``dtype``/``len``."""
    from ._eval import _Lhs
    dt = DATATYPES[dtname]
    return _Lhs(N.Value(loc, dt, bits, order, b""), dt, bits)


def _addr_lhs(fam: str, loc):
    return _typed_lhs("ipv4_addr", 32, BIG, loc) if fam == "ip" else _typed_lhs("ipv6_addr", 128, BIG, loc)


def _tail_loc(loc, text: str):
    """The location of the last ``len(text)`` columns of ``loc`` (a number the parser
    folded into a larger node)."""
    if loc is None or not loc.first_col:
        return loc
    from pkttables.errors import Location
    return Location(loc.file, loc.line, max(loc.first_col, loc.last_col - len(text) + 1), loc.last_col,
                    loc.line_text, loc.included_from, loc.shown_text)


def _tproxy(ev, s: A.Tproxy) -> N.Plain:
    # nft stmt_evaluate_tproxy: a transport match first; the address family from the
    # statement, else the table's; inet needs it spelled out when an address is given.
    if ev.fam not in ("ip", "ip6", "inet"):
        raise _err("tproxy is only supported for IPv4/IPv6/INET", s.loc)
    from ._eval import _L4_BY_NUMBER
    # a transport protocol nft has a description of (`ip protocol 0`/`47` is none)
    if ev.pctx.get("th") not in (*_L4_BY_NUMBER.values(), "unknown"):
        raise _err("Transparent proxy support requires transport protocol match", s.loc)
    fam = s.family
    if fam is None and ev.fam in ("ip", "ip6"):
        fam = ev.fam
    # nft stmt_evaluate_l3proto, with or without an address: the statement's family
    # (nft's family2str says "unknown" for inet's unspecified one) against the network
    # protocol known; `~` where it was learnt
    nh = None if ev.fam == "inet" and ev.pctx.get("_nh_meta_protocol") else ev.pctx.get("nh")
    if nh in ("ip", "ip6") and nh != fam:
        raise _binary(f"conflicting protocols specified: {nh} vs. {fam or 'unknown'}. You must specify "
                      "ip or ip6 family in tproxy statement", s.loc, ev.pctx_loc.get("nh"))
    if s.addr is not None and fam is None:
        raise _err("ip or ip6 must be specified with address for inet tables.", s.loc)
    regs: list[N.TExpr] = []
    args: list[str] = []
    if s.addr is not None:
        regs.append(ev._value_expr(s.addr, _addr_lhs(fam, s.loc)))
        args.append("addr reg {r0}")
    if s.port is not None:
        regs.append(ev._value_expr(s.port, _typed_lhs("inet_service", 16, BIG, s.loc)))
        args.append(f"port reg {{r{len(regs) - 1}}}")
    head = "tproxy" + (f" {fam}" if fam else "")
    return N.Plain(s.loc, (head + "".join(" " + a for a in args),), tuple(regs))


# NF_SYNPROXY_OPT_* (include/uapi/linux/netfilter/nf_synproxy.h)
_SYNPROXY_OPT = {"sack-perm": 0x4, "timestamp": 0x8}


def _synproxy(s: A.Synproxy) -> N.Plain:
    # libnftnl prints mss and wscale only; NFTA_SYNPROXY_FLAGS (which of mss/wscale were
    # given, timestamp, sack-perm: nft's parser sets them) rides after " flags ", which
    # compile reads into the instruction and its dump does not show.
    flags = (0x1 if s.mss is not None else 0) | (0x2 if s.wscale is not None else 0)
    for f in s.flags:
        flags |= _SYNPROXY_OPT.get(f, 0)
    text = f"synproxy mss {s.mss or 0} wscale {s.wscale or 0}"
    return N.Plain(s.loc, (text + (f" flags {flags:#x}" if flags else ""),))


def _device(ev, e: A.Expr, loc) -> N.TExpr:
    return ev._value_expr(e, _typed_lhs("iface_index", 32, HOST, loc))


def _dup(ev, s: A.Dup) -> N.Plain:
    # nft stmt_evaluate_dup: ip/ip6 duplicate to an address (and optionally out of a
    # device); netdev duplicates out of a device.
    if ev.fam == "netdev":
        if s.addr is None:
            raise _err("missing destination interface", s.loc)
        if s.dev is not None:
            # nft 1.0.6 stmt_evaluate_dup: stmt_error over the whole statement
            raise _err("cannot specify device", s.loc)
        return N.Plain(s.loc, ("dup sreg_dev {r0}",), (_device(ev, s.addr, s.loc),))
    if ev.fam not in ("ip", "ip6"):
        raise _err("unsupported family", s.loc)
    if s.addr is None:
        raise _err("missing destination address", s.loc)
    regs = [ev._value_expr(s.addr, _addr_lhs(ev.fam, s.loc))]
    text = "dup sreg_addr {r0}"
    if s.dev is not None:
        regs.append(_device(ev, s.dev, s.loc))
        text += " sreg_dev {r1}"
    return N.Plain(s.loc, (text,), tuple(regs))


def _fwd(ev, s: A.Fwd) -> N.Plain:
    # nft stmt_evaluate_fwd: netdev only; the device is loaded first (netlink_gen_fwd_stmt).
    if ev.fam != "netdev":
        raise _err("unsupported family", s.loc)
    regs = [_device(ev, s.dev, s.loc)]
    text = "fwd sreg_dev {r0}"
    if s.addr is not None:
        fam = s.family or "ip"
        regs.append(ev._value_expr(s.addr, _addr_lhs(fam, s.loc)))
        text += f" sreg_addr {{r1}} nfproto {_NFPROTO[fam]}"
    return N.Plain(s.loc, (text,), tuple(regs))


def _reset(ev, s: A.Reset) -> N.Plain:
    from pkttables.proto import TCP_OPTIONS
    opt = s.option
    kind = getattr(opt, "option", None)
    if isinstance(kind, int):
        if kind > 255:
            raise _err("value too large", _tail_loc(opt.loc, str(kind)))
    else:
        h = TCP_OPTIONS.get(kind)
        if h is None:
            raise _err(f"unknown tcp option {kind}", opt.loc)
        kind = h.kind
    return N.Plain(s.loc, (f"exthdr reset tcpopt {kind}",))


def _stateful_text(s: A.Stmt, where: str) -> str:
    """A statement inside a set element (dynset ``expr [ ... ]``)."""
    if isinstance(s, A.Counter):
        return f"counter pkts {s.packets or 0} bytes {s.bytes or 0}"
    if isinstance(s, A.Limit):
        return _limit(s).texts[0]
    if isinstance(s, A.Quota):
        return _quota(s).texts[0]
    if isinstance(s, A.Connlimit):
        return f"connlimit count {s.count} flags {int(s.over)}"
    # nft: "statement must be stateful" (set), "meter statement must be stateful"
    raise _err(f"{where + ' ' if where else ''}statement must be stateful", s.loc)


def _timeout_ms(v, loc) -> int:
    text = getattr(v, "name", None) or getattr(v, "text", None) or str(v)
    try:
        return int(DATATYPES["time"].parse(text))
    except Exception:  # noqa: BLE001 - any parse failure is nft's message
        raise _err("Wrong time format", getattr(v, "loc", None) or loc) from None


def _dynset_parts(ev, key_ast: A.Expr, extra: tuple = ()):
    """Split ``key [timeout T] [: data]`` and its options."""
    data_ast = None
    if isinstance(key_ast, A.Mapping):
        data_ast = key_ast.value
        key_ast = key_ast.key
    opts = list(extra)
    if isinstance(key_ast, A.Elem):
        opts = list(key_ast.opts) + opts
        if any(getattr(o, "name", None) == "comment" for o in key_ast.opts):
            # nft stmt_evaluate_set: a dynset key cannot carry a comment
            raise _err("Key expression comments are not supported", key_ast.key.loc)
        key_ast = key_ast.key
    timeout = None
    stmts: list[A.Stmt] = []
    for o in opts:
        name = getattr(o, "name", None)
        if isinstance(o, (A.Prop, A.ElemOpt)) and name == "timeout":
            timeout = _timeout_ms(o.value, o.loc)
        elif isinstance(o, (A.Prop, A.ElemOpt)) and name in ("expires", "comment"):
            continue
        elif isinstance(o, A.Stmt):
            stmts.append(o)
    return key_ast, data_ast, timeout, stmts


def _dynset(ev, s: A.DynsetStmt) -> N.Dynset:
    from ._eval import _Lhs
    info = ev.ctx.sets.get(s.set)
    if info is None:
        raise _err("No such file or directory", getattr(s, "ref_loc", None) or s.loc)
    key_ast, data_ast, timeout, stmts = _dynset_parts(ev, s.key, tuple(s.stmts))
    if isinstance(data_ast, A.Elem):
        # nft stmt_evaluate_map: the data of a map statement takes no element options
        # (an `expires` is accepted and ignored)
        for o in data_ast.opts:
            if o.name in ("timeout", "comment"):
                raise _err(f"Data expression {o.name}s are not supported", data_ast.key.loc)
        data_ast = data_ast.key
    if _is_constant(key_ast):
        # a constant key (`add @s { 1.2.3.4 }`) is typed by the set (nft: the set's key
        # is the context of the element expression), loaded as an immediate
        lhs = _set_key_lhs(ev, info, key_ast.loc)
        x = ev._concat_const(key_ast, lhs) if len(info.key) > 1 else ev._const(key_ast, lhs)
    else:
        lhs = ev._lhs(key_ast)
        x = lhs.expr
    _dynset_type_check(s, key_ast, lhs, info.key)
    if info.key_len_bits != x.len_bits:
        raise _err(f"datatype mismatch, expected {info.key[0][0].desc}, expression has type "
                   f"{lhs.dtype.desc}", key_ast.loc)
    data = None
    if data_ast is None and info.is_map and info.data is not None:
        # the kernel's nft_dynset_init: a map statement needs data (EINVAL)
        raise _err("Could not process rule: Invalid argument", s.loc)
    if data_ast is not None:
        if not info.is_map or info.data is None:
            raise _err("map data on a set", data_ast.loc)
        dt, bits, order = info.data
        parts = getattr(info, "data_parts", None)
        if parts and len(parts) > 1:
            dl = _parts_lhs(parts, data_ast.loc)
            if isinstance(data_ast, A.Concat) and len(data_ast.parts) > len(dl.parts):
                raise _err("Can't parse symbolic invalid expressions",
                           data_ast.parts[len(dl.parts)].loc)
            if isinstance(data_ast, A.Concat) and all(_is_constant(p) for p in data_ast.parts):
                data = ev._concat_const(data_ast, dl)
            elif isinstance(data_ast, A.Concat):
                data = _mixed_concat(ev, data_ast, dl)
            else:
                raise _err("invalid data type, expected concatenation of "
                           f"({', '.join(p.dtype.desc for p in dl.parts)})", data_ast.loc)
        else:
            dl = _Lhs(N.Value(data_ast.loc, dt, bits, order, b""), dt, bits)
            if not _is_constant(data_ast) and not isinstance(data_ast, (A.MapExpr, A.Binop)):
                _dynset_type_check(s, data_ast, ev._lhs(data_ast), (info.data,))
            data = ev._value_expr(data_ast, dl)
    exprs = tuple(_stateful_text(st, "") for st in stmts)
    return N.Dynset(s.loc, s.op, s.set, x, data, timeout or None, exprs)


def _type_desc(parts) -> str:
    if len(parts) == 1:
        return parts[0][0].desc
    return f"concatenation of ({', '.join(p[0].desc for p in parts)})"


def _dynset_type_check(s: A.DynsetStmt, e: A.Expr, lhs, want) -> None:
    """nft stmt_evaluate_arg: the key (data) of a set (map) statement has the set's
    key (data) type, else ``datatype mismatch: expected T, expression has type U``
    (the expression ^, the statement ~).  A plain integer matches any type."""
    have = [(p.dtype, 0, None) for p in getattr(lhs, "parts", None) or [lhs]]
    names = [p[0].name for p in have]
    if len(have) == len(want) and all(a == b[0].name or "integer" in (a, b[0].name)
                                      for a, b in zip(names, want)):
        return
    from pkttables.errors import Diagnostic
    raise EvalError(Diagnostic(e.loc, f"datatype mismatch: expected {_type_desc(want)}, "
                                      f"expression has type {_type_desc(have)}",
                               secondary=(s.loc,)))


def _is_constant(e: A.Expr) -> bool:
    return isinstance(e, (A.Symbol, A.Number, A.String)) or \
        (isinstance(e, A.Concat) and all(_is_constant(p) for p in e.parts))


def _parts_lhs(parts, loc):
    """A concatenation's ``_Lhs`` from (datatype, bits, byteorder) per part."""
    from ._eval import _Lhs, INTEGER
    lhs_parts = [_Lhs(N.Value(loc, dt, bits, order, b""), dt, bits) for dt, bits, order in parts]
    tot = sum(((b + 31) // 32) * 32 for _, b, _ in parts)
    c = N.Concat(loc, INTEGER, tot, BIG, tuple(p.expr for p in lhs_parts))
    dl = _Lhs(c, INTEGER, tot)
    dl.parts = lhs_parts  # type: ignore[attr-defined]
    return dl


def _set_key_lhs(ev, info, loc):
    from ._eval import _Lhs
    if len(info.key) > 1:
        return _parts_lhs(info.key, loc)
    dt, bits, order = info.key[0]
    return _Lhs(N.Value(loc, dt, bits, order, b""), dt, bits)


def _mixed_concat(ev, e: A.Concat, dl):
    """``ip daddr . 80`` as map data: each constant part typed by the map's data part
    (nft evaluates a concatenation's parts with the data type's subtypes)."""
    from ._eval import INTEGER
    if len(e.parts) != len(dl.parts):
        extra = e.parts[len(dl.parts)] if len(e.parts) > len(dl.parts) else e
        raise _err("Can't parse symbolic invalid expressions", extra.loc)
    vals = [ev._const(p, pl) if _is_constant(p) else ev._lhs(p).expr
            for p, pl in zip(e.parts, dl.parts)]
    return N.Concat(e.loc, INTEGER, dl.expr.len_bits, BIG, tuple(vals))


def _meter(ev, s: A.Meter) -> N.Dynset:
    # nft stmt_evaluate_meter: the meter is a set of its own, flagged EVAL (and TIMEOUT
    # when elements time out); elements are added, or updated when they time out.
    if isinstance(s.key, A.Elem) and any(getattr(o, "name", None) == "comment" for o in s.key.opts):
        raise _err("Meter key expression can not contain comments", s.key.loc)
    key_ast, _, timeout, _ = _dynset_parts(ev, s.key)
    lhs = ev._lhs(key_ast)
    flags = _SET_ANONYMOUS | _SET_EVAL | (_SET_TIMEOUT if timeout else 0)
    op = "update" if timeout else "add"
    exprs = (_stateful_text(s.stmt, "meter"),)
    return N.Dynset(s.loc, op, s.name, lhs.expr, None, timeout or None, exprs,
                    (flags, lhs.expr.len_bits, s.size))


def _obj_name(ev, kind: str, e: A.Expr) -> str:
    name = e.value if isinstance(e, A.String) else getattr(e, "name", None)
    if name is None:
        raise _err("expected an object name", e.loc)
    objs = ev.ctx.objects
    if objs is not None and name not in objs.get(kind, ()):
        # the kernel answers ENOENT for the object reference
        raise _err("Could not process rule: No such file or directory", e.loc)
    return name


def objref(ev, kind: str, e: A.Expr, loc) -> N.Objref:
    """``counter name X``, ``ct helper set X``, ``quota name KEY map { ... }``."""
    import dataclasses
    typ = OBJ_TYPES[kind]
    if isinstance(e, A.MapExpr):
        key = ev._lhs(e.key)
        if isinstance(e.mapping, A.SetExpr):
            mp = ev._anon_set(e.mapping, key, is_map=True, objmap=True)
            for it in e.mapping.elements:
                if isinstance(it, A.Mapping):
                    _obj_name(ev, kind, it.value)
            mp = dataclasses.replace(mp, is_map=False, objmap=True)
        elif isinstance(e.mapping, A.SetRef):
            mp = ev._setref(e.mapping, key, True)
        else:
            raise _err("expected a map", e.mapping.loc)
        return N.Objref(loc, typ, None, key.expr, mp)
    return N.Objref(loc, typ, _obj_name(ev, kind, e))


def other_stmt(ev, s: A.Stmt) -> None:
    if isinstance(s, A.Limit):
        ev.out.append(_limit(s))
    elif isinstance(s, A.Quota):
        ev.out.append(_quota(s))
    elif isinstance(s, A.Log):
        ev.out.append(_log(s))
    elif isinstance(s, A.Reject):
        ev.out.append(_reject(ev, s))
    elif isinstance(s, A.Nat):
        ev.out.append(_nat(ev, s))
    elif isinstance(s, A.Queue):
        ev.out.append(_queue(ev, s))
    elif isinstance(s, A.Notrack):
        ev.out.append(N.Plain(s.loc, ("notrack",)))
    elif isinstance(s, A.Connlimit):
        ev.out.append(N.Plain(s.loc, (f"connlimit count {s.count} flags {int(s.over)}",)))
    elif isinstance(s, A.Tproxy):
        ev.out.append(_tproxy(ev, s))
    elif isinstance(s, A.Synproxy):
        ev.out.append(_synproxy(s))
    elif isinstance(s, A.Dup):
        ev.out.append(_dup(ev, s))
    elif isinstance(s, A.Fwd):
        ev.out.append(_fwd(ev, s))
    elif isinstance(s, A.Reset):
        ev.out.append(_reset(ev, s))
    elif isinstance(s, A.DynsetStmt):
        ev.out.append(_dynset(ev, s))
    elif isinstance(s, A.Meter):
        ev.out.append(_meter(ev, s))
    elif isinstance(s, A.ObjRef):
        ev.out.append(objref(ev, s.kind, s.name, s.loc))
    elif isinstance(s, A.FlowOffload):
        ev.out.append(N.Plain(s.loc, (f"flow_offload flowtable {s.flowtable}",)))
    elif isinstance(s, A.Last):
        # nft 1.0.6 has no `last` statement: its scanner reads the word as a string
        from pkttables.errors import Location, SyntaxError_
        loc = s.loc
        at = Location(loc.file, loc.line, loc.last_col + 1, loc.last_col + 1, loc.line_text, loc.included_from,
                      loc.shown_text) if loc else None
        raise SyntaxError_("syntax error, unexpected newline", at)
    else:
        raise _err(f"statement not supported yet: {type(s).__name__}", s.loc)
