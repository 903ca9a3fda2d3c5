"""Evaluation of the statements beyond matches, verdicts, counters and ``set``: log,
limit, quota, reject, nat/masquerade/redirect, queue, notrack, dup, fwd, tproxy,
objref, connlimit, synproxy (nft ``stmt_evaluate_*``).

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


def _limit(s: A.Limit) -> N.Plain:
    if s.unit != "packets" and s.unit not in _UNITS:
        raise _err("Wrong rate format", s.loc)
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
    if "group" in opts and ("level" in opts or any(k == "flags" for k, _ in s.opts)):
        # nft points at the `log` keyword
        from pkttables.errors import Location
        loc = s.loc
        kw = Location(loc.file, loc.line, loc.first_col, loc.first_col + 2, loc.line_text) if loc else None
        what = "level and group" if "level" in opts else "flags and group"
        raise _err(f"{what} are mutually exclusive", kw)
    if opts.get("level") == "audit" and len(s.opts) > 1:
        from pkttables.errors import Location
        loc = s.loc
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
        if "snaplen" in opts or "queue-threshold" in opts:
            parts.append(f"snaplen {opts.get('snaplen', 0)} qthreshold {opts.get('queue-threshold', 0)}")
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


def _reject(ev, s: A.Reject) -> N.Plain:
    fam = ev.fam
    nh = ev.pctx.get("nh")
    if s.family == "tcp":
        ev._need("tcp", s.loc)
        return N.Plain(s.loc, ("reject type 1 code 0",))
    if s.family == "icmpx":
        code = _code(ev, s.code, "icmpx_code") if s.code is not None else 1
        return N.Plain(s.loc, (f"reject type 2 code {code}",))
    if s.family in ("icmp", "icmpv6"):
        want = "ip" if s.family == "icmp" else "ip6"
        if fam in ("ip", "ip6") and nh != want:
            raise _err(f"conflicting protocols specified: {nh} vs. {want}", s.loc)
        ev._need(want, s.loc)
        code = _code(ev, s.code, "icmp_code" if s.family == "icmp" else "icmpv6_code")
        return N.Plain(s.loc, (f"reject type 0 code {code}",))
    # bare reject: ICMP port unreachable for the family the context knows, else ICMPX.
    if nh == "ip":
        return N.Plain(s.loc, ("reject type 0 code 3",))
    if nh == "ip6":
        return N.Plain(s.loc, ("reject type 0 code 4",))
    return N.Plain(s.loc, ("reject type 2 code 1",))


def _nat(ev, s: A.Nat) -> N.Plain:
    from ._eval import _Lhs, INTEGER
    fam = s.family or (ev.fam if ev.fam in ("ip", "ip6") else ev.pctx.get("nh"))
    kind = {"masquerade": "masq", "redirect": "redir"}.get(s.kind, s.kind)
    flags = 0
    for f in s.flags:
        flags |= _NAT_FLAGS.get(f, 0)
    regs: list[N.TExpr] = []
    args: list[str] = []
    if s.addr is not None:
        if fam not in ("ip", "ip6"):
            raise _err("specify `dnat ip` or 'dnat ip6' in inet table to disambiguate"
                       if s.kind == "dnat" else "specify `snat ip` or 'snat ip6' in inet table to disambiguate",
                       s.loc)
        if s.family is not None and ev.fam == "inet":
            ev._need(s.family, s.loc)
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
            flags |= 0x40 if s.prefix else 0
        else:
            regs.append(ev._value_expr(s.addr, lhs))
            args.append("addr_min reg {r0}")
    if s.port is not None:
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


def _queue(ev, s: A.Queue) -> N.Plain:
    flags = 0
    for f in s.flags:
        flags |= _QUEUE_FLAGS.get(f, 0)
    fl = "".join(f" {n}" for n, b in _QUEUE_FLAGS.items() if flags & b)
    num = s.num
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
    else:
        raise _err(f"statement not supported yet: {type(s).__name__}", s.loc)
