"""``nft -j list ...``: libnftables JSON (schema 1) from the model, as nft 1.0.6 prints it.

Theory of operation
-------------------
nft prints JSON from the same delinearized statement trees it prints as text
(``src/json.c``: one ``*_json`` callback per expression and statement kind).  Our
delinearizer (:mod:`.delinearize`) produces the *listing text* of each statement, and
that text is nft syntax.  So a rule goes

    instructions --delinearize--> listing text --lang.parse--> AST --here--> JSON

The AST keeps the shape nft's JSON needs (a relational statement with its left and
right expressions, sets, maps, concatenations, ranges, prefixes, binary operators).
What the AST does not keep is the *datatype* of a constant, which decides how nft
prints it (``datatype_json``): integers as JSON numbers (``integer_type_json``),
symbolic constants as strings (``symbolic_constant_json``), addresses and other
printed types as strings, times as whole seconds (``time_type_json``), ``exists`` /
``missing`` as booleans (``boolean_type_json``).  The datatype of a constant is the
datatype of the expression it is compared with or assigned to, which we look up from
the left-hand side's text with :func:`pkttables.types.resolve_expr` -- the same tables
the evaluator uses.

Worked example (inet)::

    [ meta load l4proto => reg 1 ] [ cmp eq reg 1 0x00000006 ]
    [ payload load 2b @ transport header + 2 => reg 1 ] [ cmp eq reg 1 0x00001600 ]
    -> "tcp dport 22"
    -> Match(Payload(tcp, dport), implicit, Number(22))
    -> {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                  "right": 22}}

Key order follows nft's (``json_pack`` formats and ``json_object_set`` calls in order;
jansson keeps insertion order) and :func:`dumps` prints what jansson's ``json_dumpf``
with flags 0 prints: one line, ``", "`` and ``": "`` separators, UTF-8 as is.

Whole listings (``list ruleset``, ``list table`` ...) follow ``do_command_list_json``:
a ``metainfo`` object first, then per table: the table, its chains, its stateful
objects, its named sets and maps, its flowtables, then every rule of every chain.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from pkttables.lang import ast as A
from pkttables.model import Chain, Element, Flowtable, Rule, Ruleset, Set, StatefulObject, Table
from pkttables.types import DATATYPES, resolve_expr

from .delinearize import DelinearizeError, _data_unit, delinearize
from .options import ListOptions

__all__ = [
    "NFT_VERSION", "RELEASE_NAME", "JSON_SCHEMA_VERSION", "JsonOutputError",
    "metainfo", "dumps", "rule_json", "stmts_json", "text_json",
    "table_json", "chain_json", "rule_obj_json", "set_json", "object_json", "flowtable_json",
    "list_ruleset_json", "list_table_json", "list_tables_json", "list_chain_json", "list_chains_json",
    "list_set_json", "list_sets_json", "list_maps_json", "list_objects_json", "list_flowtables_json",
]

# what nft 1.0.6 prints in its metainfo object (checked against the real nft)
NFT_VERSION = "1.0.6"
RELEASE_NAME = "Lester Gooch #5"
JSON_SCHEMA_VERSION = 1


class JsonOutputError(Exception):
    """A statement text that could not be read back (should not happen for nft's listings)."""


def _o(opts: ListOptions | None) -> ListOptions:
    return opts or ListOptions()


# ---------------------------------------------------------------------------- serialization


_ESC = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESC = re.compile(r'["\\\x00-\x1f]')


def _str(s: str) -> str:
    # jansson's dump_string: the short escapes, other control characters as \uXXXX
    # (upper-case hex), everything else (UTF-8 included) as is
    return '"' + _NEEDS_ESC.sub(lambda m: _ESC.get(m.group(), "\\u%04X" % ord(m.group())), s) + '"'


def _real(v: float) -> str:
    """A JSON real as jansson prints it (jsonp_dtostr): ``%.17g``, ``.0`` added when
    that looks like an integer, no ``+`` nor leading zeros in the exponent.  Reals only
    reach the output when ``-e`` echoes an input document that had one."""
    s = "%.17g" % v
    if "." not in s and "e" not in s:
        s += ".0"
    mant, e, exp = s.partition("e")
    if e:
        s = mant + "e" + ("-" if exp.startswith("-") else "") + (exp.lstrip("+-").lstrip("0") or "0")
    return s


def _utf8(s: str) -> bool:
    """Whether jansson takes ``s``: nft 1.0.6 leaves out an optional string that is
    not UTF-8 (a comment: json_object_set_new of json_string's NULL sets nothing).
    The text keeps such bytes as surrogate escapes (read with surrogateescape)."""
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_utf8(v: Any) -> bool:
    if isinstance(v, str):
        return _utf8(v)
    if isinstance(v, dict):
        return all(_json_utf8(x) for x in v.values())
    if isinstance(v, list):
        return all(_json_utf8(x) for x in v)
    return True


def dumps(v: Any) -> str:
    """``json_dumpf(root, fp, 0)``: compact, one line, jansson's separators."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _real(v)
    if isinstance(v, str):
        return _str(v)
    if isinstance(v, dict):
        return "{" + ", ".join(_str(k) + ": " + dumps(x) for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(dumps(x) for x in v) + "]"
    raise TypeError(f"not JSON: {type(v).__name__}")


def metainfo() -> dict:
    return {"metainfo": {"version": NFT_VERSION, "release_name": RELEASE_NAME,
                         "json_schema_version": JSON_SCHEMA_VERSION}}


def _document(items: list) -> dict:
    return {"nftables": [metainfo()] + items}


# ---------------------------------------------------------------------------- datatypes


def _dtype_of(e: Any) -> str | None:
    """The datatype key of an expression AST node (None when unknown)."""
    txt = _expr_words(e)
    if txt is None:
        return None
    try:
        r = resolve_expr(txt)
    except Exception:
        return None
    if r is None or r[1] == "invalid":
        return None
    return r[1]


def _expr_words(e: Any) -> str | None:
    if isinstance(e, A.Payload):
        return f"{e.proto} {e.field}"
    if isinstance(e, A.Meta):
        return f"meta {e.key}"
    if isinstance(e, A.Ct):
        if e.direction:
            return f"ct {e.direction} {e.family + ' ' if e.family else ''}{e.key}"
        return f"ct {e.key}"
    if isinstance(e, A.Rt):
        return f"rt {e.family + ' ' if e.family else ''}{e.key}"
    if isinstance(e, A.Socket):
        return f"socket {e.key}"
    if isinstance(e, A.Osf):
        return f"osf {e.key}"
    if isinstance(e, A.Fib):
        return f"fib {' . '.join(e.flags)} {e.result}"
    if isinstance(e, A.Exthdr):
        return f"{e.hdr} {e.field}" if e.field else None
    return None


def _ct_dir_dtype(e: A.Ct) -> str | None:
    # ct original saddr: the address family is in the listing only through the value
    if e.key in ("saddr", "daddr") or e.key.endswith((" saddr", " daddr")):
        if e.family == "ip6" or (e.key.startswith("ip6")):
            return "ipv6_addr"
        return "ipv4_addr"
    if e.key in ("proto-src", "proto-dst"):
        return "inet_service"
    return None


_TIME_UNITS = {"d": 86400_000, "h": 3600_000, "m": 60_000, "s": 1000, "ms": 1}
_TIME_RE = re.compile(r"(\d+)(ms|d|h|m|s)")


def _time_ms(text: str) -> int | None:
    pos, total = 0, 0
    for m in _TIME_RE.finditer(text):
        if m.start() != pos:
            return None
        total += int(m.group(1)) * _TIME_UNITS[m.group(2)]
        pos = m.end()
    return total if pos == len(text) and pos else None


def _is_time(dt: str | None) -> bool:
    return dt in ("time",)


def _bitmask(dt: str | None) -> bool:
    d = DATATYPES.get(dt) if dt else None
    return bool(d is not None and d.is_bitmask)


def _flags(names: list) -> Any:
    """nft 1.0.6's json_add_array_new: a one-element flag array prints as its element."""
    return names[0] if len(names) == 1 else names


# datatypes nft prints through their print function (no json callback, no symbol table):
# datatype_json then gives the printed text as a string, even for a number
_PRINTED = {"iface_index", "realm"}

# range_expr_json prints only these numerically; other symbolic types keep their names at
# either end (`arp operation 1-2` is ["request", "reply"] while its text lists `1-2`)
_RANGE_NUMERIC = {"inet_proto", "inet_service"}


def _int_json(v: int) -> int | str:
    # integer_type_json: values that do not fit an unsigned long print as hex strings
    return v if 0 <= v < 1 << 64 else f"0x{v:x}"


def _const(e: Any, dt: str | None, o: ListOptions) -> Any:
    """A constant (Symbol / Number / String) as nft's datatype_json prints it."""
    if isinstance(e, A.String):
        return e.value
    if isinstance(e, A.AsteriskString):
        return e.value + "*" if not e.value.endswith("*") else e.value
    if isinstance(e, A.Number):
        if dt is not None and _is_time(dt):
            return e.value
        d = DATATYPES.get(dt) if dt else None
        if d is not None and d.is_string() or dt in _PRINTED:
            return e.text
        return _int_json(e.value)
    if isinstance(e, A.Symbol):
        n = e.name
        if n in ("exists", "missing"):
            return n == "exists"
        if _is_time(dt):
            ms = _time_ms(n)
            if ms is not None:
                return ms // 1000
        if re.fullmatch(r"0x[0-9a-fA-F]+", n):
            return _int_json(int(n, 16))
        return n
    return _expr(e, dt, o)


# ---------------------------------------------------------------------------- expressions


def _range_end(e: Any, dt: Any, o: ListOptions) -> Any:
    """One end of a range: the listing printed it as a number (nft's range_expr_print
    forces numeric output), its JSON names it when the type has a symbol for it."""
    d = DATATYPES.get(dt) if isinstance(dt, str) else None
    if isinstance(e, A.Number) and d is not None and dt not in _RANGE_NUMERIC and not d.is_bitmask \
            and o.numeric == 0:
        for name, v in d.symbols:
            if v == e.value:
                return name
    return _expr(e, dt, o)


def _flatten_binop(e: A.Binop, op: str, dt, o) -> list:
    out = []
    for side in (e.left, e.right):
        if isinstance(side, A.Binop) and side.op == op:
            out.extend(_flatten_binop(side, op, dt, o))
        else:
            out.append(_expr(side, dt, o))
    return out


def _expr(e: Any, dt: Any = None, o: ListOptions | None = None) -> Any:
    """An expression as JSON; ``dt`` is the datatype its constants take (a key, or a list
    of keys for the parts of a concatenation)."""
    o = _o(o)
    if isinstance(e, (A.Symbol, A.Number, A.String, A.AsteriskString)):
        if isinstance(dt, list):
            dt = dt[0] if dt else None
        return _const(e, dt, o)
    if isinstance(e, A.Wildcard):
        return "*"
    if isinstance(e, A.SetRef):
        return "@" + e.name
    if isinstance(e, A.Payload):
        return {"payload": {"protocol": e.proto, "field": e.field}}
    if isinstance(e, A.RawPayload):
        return {"payload": {"base": e.base, "offset": _num(e.offset), "len": _num(e.length)}}
    if isinstance(e, A.Meta):
        return {"meta": {"key": e.key}}
    if isinstance(e, A.Ct):
        # ct_expr_json prints the key's token: "ip saddr" for NFT_CT_SRC_IP
        key = e.key
        if e.family and not key.startswith(e.family):
            key = f"{e.family} {key}"
        d = {"key": key}
        if e.direction:
            d["dir"] = e.direction
        return {"ct": d}
    if isinstance(e, A.Exthdr):
        d = {"name": e.hdr}
        if e.field is not None:
            # exthdr_expr_json prints the template's name, array index included (sid[1])
            d["field"] = e.field if e.index is None else f"{e.field}[{e.index}]"
        return {"exthdr": d}
    if isinstance(e, A.TcpOption):
        if e.raw is not None:
            return {"tcp option": {"base": e.raw[0], "offset": e.raw[1], "len": e.raw[2]}}
        if isinstance(e.option, int) or str(e.option).isdigit():
            # an option nft has no name for: exthdr_expr_json's raw form
            return {"tcp option": {"base": int(e.option), "offset": 0, "len": 8}}
        d = {"name": str(e.option)}
        if e.field is not None:
            d["field"] = e.field
        return {"tcp option": d}
    if isinstance(e, A.IpOption):
        d = {"name": e.option}
        if e.field is not None:
            d["field"] = e.field
        return {"ip option": d}
    if isinstance(e, A.SctpChunk):
        d = {"name": e.chunk}
        if e.field is not None:
            d["field"] = e.field
        return {"sctp chunk": d}
    if isinstance(e, A.Rt):
        d = {"key": e.key}
        if e.family:
            d["family"] = e.family
        return {"rt": d}
    if isinstance(e, A.Fib):
        d = {"result": e.result}
        if e.flags:
            d["flags"] = list(e.flags)
        return {"fib": d}
    if isinstance(e, A.Socket):
        d = {"key": e.key}
        if e.level is not None:
            d["level"] = e.level
        return {"socket": d}
    if isinstance(e, A.Osf):
        d = {"key": e.key}
        if e.ttl:
            d["ttl"] = e.ttl
        return {"osf": d}
    if isinstance(e, A.Numgen):
        return {"numgen": {"mode": e.mode, "mod": e.mod, "offset": e.offset or 0}}
    if isinstance(e, A.Hash):
        d = {"mod": e.mod}
        if e.seed is not None:
            d["seed"] = e.seed
        if e.offset:
            d["offset"] = e.offset
        if e.kind == "jhash" and e.expr is not None:
            d["expr"] = _expr(e.expr, None, o)
        return {e.kind: d}
    if isinstance(e, A.Ipsec):
        d = {"key": e.key}
        if e.family:
            d["family"] = e.family
        d["dir"] = e.direction
        d["spnum"] = e.spnum or 0
        return {"ipsec": d}
    if isinstance(e, A.Prefix):
        return {"prefix": {"addr": _expr(e.expr, dt, o), "len": e.length}}
    if isinstance(e, A.Range):
        # range_expr_json prints both ends numerically for protocols and services
        return {"range": [_range_end(e.low, dt, o), _range_end(e.high, dt, o)]}
    if isinstance(e, A.Binop):
        if e.op in ("<<", ">>"):
            return {e.op: [_expr(e.left, dt, o), _expr(e.right, None, o)]}
        # nft 1.0.6 binop_expr_json: one [left, right] pair per operator, nested as
        # parsed (`fin|psh|ack` is {"|": [{"|": ["fin", "psh"]}, "ack"]}, measured)
        return {e.op: [_expr(e.left, dt, o), _expr(e.right, dt, o)]}
    if isinstance(e, A.Concat):
        dts = dt if isinstance(dt, list) else [None] * len(e.parts)
        parts = []
        for i, p in enumerate(e.parts):
            pd = dts[i] if i < len(dts) else None
            parts.append(_expr(p, pd if pd is not None else _dtype_of(p), o))
        return {"concat": parts}
    if isinstance(e, A.ListExpr):
        return [_expr(x, dt, o) for x in e.items]
    if isinstance(e, A.SetExpr):
        return {"set": [_elem(x, dt, None, o) for x in e.elements]}
    if isinstance(e, A.MapExpr):
        kdt = _lhs_dtype(e.key)
        return {"map": {"key": _expr(e.key, None, o), "data": _mapping(e.mapping, kdt, dt, o)}}
    if isinstance(e, A.Verdict):
        return _verdict(e, o)
    if isinstance(e, A.Elem):
        return _elem(e, dt, None, o)
    if isinstance(e, A.Mapping):
        return [_expr(e.key, dt, o), _expr(e.value, None, o)]
    raise JsonOutputError(f"no JSON form for {type(e).__name__}")


def _num(e: Any) -> Any:
    if isinstance(e, A.Number):
        return e.value
    if isinstance(e, int):
        return e
    if isinstance(e, A.Symbol) and e.name.isdigit():
        return int(e.name)
    return _expr(e)


def _verdict(v: A.Verdict, o: ListOptions) -> dict:
    if v.target is not None:
        t = v.target
        name = t.value if isinstance(t, A.String) else t.name if isinstance(t, A.Symbol) else _expr(t, None, o)
        return {v.kind: {"target": name}}
    return {v.kind: None}


def _mapping(m: Any, kdt: Any, ddt: Any, o: ListOptions) -> Any:
    """The right side of ``map`` / ``vmap``: an anonymous set of key : value pairs."""
    if isinstance(m, A.SetExpr):
        return {"set": [_elem(x, kdt, ddt, o) for x in m.elements]}
    return _expr(m, kdt, o)


def _elem(x: Any, kdt: Any, ddt: Any, o: ListOptions) -> Any:
    if isinstance(x, A.Mapping):
        return [_elem(x.key, kdt, None, o), _expr(x.value, ddt, o)]
    if isinstance(x, A.Elem):
        val = _expr(x.key, kdt, o)
        d: dict = {"val": val}
        for opt in x.opts:
            name = getattr(opt, "name", None)
            v = getattr(opt, "value", None)
            if name in ("timeout", "expires"):
                ms = _time_ms(v.name) if isinstance(v, A.Symbol) else (v.value * 1000 if isinstance(v, A.Number) else v)
                d[name] = (ms or 0) // 1000 if isinstance(ms, int) else ms
            elif name == "comment":
                d["comment"] = v.value if isinstance(v, A.String) else v
            elif isinstance(opt, A.Stmt):
                st = _stmt(opt, o)
                for k, val2 in st.items():
                    d.setdefault(k, val2)
        return {"elem": d}
    return _expr(x, kdt, o)


def _lhs_dtype(e: Any) -> Any:
    if isinstance(e, A.Concat):
        return [_lhs_dtype(p) for p in e.parts]
    if isinstance(e, A.Binop):
        return _lhs_dtype(e.left)
    if isinstance(e, A.Ct) and e.direction:
        return _ct_dir_dtype(e) or _dtype_of(e)
    return _dtype_of(e)


# ---------------------------------------------------------------------------- statements


_OBJREF_KEYS = {"helper": "ct helper", "timeout": "ct timeout", "expectation": "ct expectation"}


def _match(st: A.Match, o: ListOptions) -> dict:
    dt = _lhs_dtype(st.left)
    op = st.op
    right = st.right
    if op == "implicit":
        # relational_expr_json: OP_IMPLICIT has no symbol and prints "in" -- nft keeps it
        # for flag tests on bitmask types; every other match lists as ==
        if _bitmask(dt if isinstance(dt, str) else None) and not isinstance(right, (A.SetExpr, A.SetRef, A.Range)):
            op = "in"
        else:
            op = "=="
    elif op == "eq":
        op = "=="
    if isinstance(right, A.Binop) and right.op == "/" and _bitmask(dt if isinstance(dt, str) else None):
        # tcp flags syn / fin,syn is (tcp flags & (fin|syn)) == syn
        left = {"&": [_expr(st.left, dt, o), _expr(right.right, dt, o)]}
        return {"match": {"op": "==" if op in ("==", "in") else op, "left": left,
                          "right": _expr(right.left, dt, o)}}
    return {"match": {"op": op, "left": _expr(st.left, dt, o), "right": _expr(right, dt, o)}}


def _rate_unit(u: str) -> str:
    return u


def _limit(st: A.Limit, o: ListOptions) -> dict:
    if st.unit == "packets":
        d = {"rate": st.rate, "burst": st.burst if st.burst is not None else 5, "per": st.per}
        if st.over:
            d["inv"] = True
        return {"limit": d}
    burst = st.burst or 0
    d = {"rate": st.rate, "burst": burst, "per": st.per}
    if st.over:
        d["inv"] = True
    d["rate_unit"] = st.unit
    d["burst_unit"] = st.burst_unit or "bytes"
    return {"limit": d}


def _quota(st: A.Quota, o: ListOptions) -> dict:
    d: dict = {"val": st.amount, "val_unit": st.unit}
    if st.over:
        d["inv"] = True
    if st.used and not o.stateless:
        d["used"] = st.used
        d["used_unit"] = st.used_unit or "bytes"
    return {"quota": d}


_LOG_FLAGS = ("tcp sequence", "tcp options", "ip options", "skuid", "ether")


def _log(st: A.Log, o: ListOptions) -> dict:
    d: dict = {}
    opts = dict(st.opts)
    if "prefix" in opts:
        p = opts["prefix"]
        d["prefix"] = p.value if isinstance(p, A.String) else p
    for k in ("group", "snaplen", "queue-threshold"):
        if k in opts:
            d[k] = _num(opts[k])
    if "level" in opts and opts["level"] != "warn":
        lv = opts["level"]
        d["level"] = lv.name if isinstance(lv, A.Symbol) else lv
    flags: list = []
    for k, v in st.opts:
        if k == "flags":
            vals = v if isinstance(v, (tuple, list)) else (v,)
            for f in vals:
                f = f.name if isinstance(f, A.Symbol) else str(f)
                if f == "all":
                    flags.append("all")
                elif f.startswith("tcp "):
                    for part in f[4:].split(","):
                        flags.append("tcp " + part.strip())
                else:
                    flags.append(f)
    if flags:
        d["flags"] = "all" if "all" in flags else _flags([f for f in _LOG_FLAGS if f in flags])
    return {"log": d or None}


def _reject(st: A.Reject, family: str, o: ListOptions) -> dict:
    fam = st.family
    code = st.code
    if fam == "tcp":
        return {"reject": {"type": "tcp reset"}}
    if fam is None:
        # a bare `reject` is the family's default (nft evaluate: stmt_reject_default)
        fam = {"ip": "icmp", "ip6": "icmpv6"}.get(family, "icmpx")
        code = A.Symbol(None, "port-unreachable")
    d = {"type": fam}
    if code is not None:
        d["expr"] = _const(code, None, o) if not isinstance(code, A.Number) else code.value
    return {"reject": d}


def _nat(st: A.Nat, o: ListOptions) -> dict:
    d: dict = {}
    if st.family:
        d["family"] = st.family
    if st.addr is not None:
        d["addr"] = _expr(st.addr, "ipv6_addr" if st.family == "ip6" else "ipv4_addr", o)
    if st.port is not None:
        d["port"] = _expr(st.port, "inet_service", o)
    # `prefix to`: nft's evaluation sets NF_NAT_RANGE_NETMAP with the prefix type flag,
    # and nat_stmt_json prints both (checked: `"flags": "netmap", "type_flags": "prefix"`)
    flags = [f for f in ("random", "fully-random", "persistent", "netmap")
             if f in st.flags or f == "netmap" and st.prefix]
    if flags:
        d["flags"] = _flags(flags)
    if st.prefix:
        d["type_flags"] = "prefix"
    return {st.kind: d or None}


def _stmt(st: Any, o: ListOptions, family: str = "ip") -> dict:
    if isinstance(st, A.Match):
        return _match(st, o)
    if isinstance(st, A.VerdictStmt):
        return _verdict(st.verdict, o)
    if isinstance(st, A.Counter):
        if o.stateless or st.packets is None:
            return {"counter": None}
        return {"counter": {"packets": st.packets, "bytes": st.bytes or 0}}
    if isinstance(st, A.Limit):
        return _limit(st, o)
    if isinstance(st, A.Quota):
        return _quota(st, o)
    if isinstance(st, A.Log):
        return _log(st, o)
    if isinstance(st, A.Reject):
        return _reject(st, family, o)
    if isinstance(st, A.Nat):
        return _nat(st, o)
    if isinstance(st, A.Notrack):
        return {"notrack": None}
    if isinstance(st, A.SetStmt):
        t = st.target
        if isinstance(t, A.Ct) and t.key in _OBJREF_KEYS and not t.direction:
            return {_OBJREF_KEYS[t.key]: _expr(st.value, "string", o)}
        dt = _lhs_dtype(t)
        return {"mangle": {"key": _expr(t, dt, o), "value": _expr(st.value, dt, o)}}
    if isinstance(st, A.VmapStmt):
        kdt = _lhs_dtype(st.key)
        return {"vmap": {"key": _expr(st.key, kdt, o), "data": _mapping(st.mapping, kdt, None, o)}}
    if isinstance(st, A.ObjRef):
        kind = st.kind
        n = st.name
        if isinstance(n, A.MapExpr):
            kdt = _lhs_dtype(n.key)
            return {kind: {"map": {"key": _expr(n.key, kdt, o), "data": _mapping(n.mapping, kdt, "string", o)}}}
        return {kind: _expr(n, "string", o)}
    if isinstance(st, A.Queue):
        # the kernel's queue always has a number (0 unless given): queue_stmt_json prints it
        d: dict = {"num": _expr(st.num, "integer", o) if st.num is not None else 0}
        if st.flags:
            d["flags"] = _flags([f for f in ("bypass", "fanout") if f in st.flags])
        return {"queue": d or None}
    if isinstance(st, A.Dup):
        if st.addr is None and st.dev is None:
            return {"dup": None}
        d = {}
        if st.addr is not None:
            d["addr"] = _expr(st.addr, None, o)
        if st.dev is not None:
            d["dev"] = _expr(st.dev, "string", o)
        return {"dup": d}
    if isinstance(st, A.Fwd):
        d = {"dev": _expr(st.dev, "string", o)}
        if st.addr is not None:
            d["family"] = st.family
            d["addr"] = _expr(st.addr, None, o)
        return {"fwd": d}
    if isinstance(st, A.Tproxy):
        d = {}
        if st.family and family == "inet":
            d["family"] = st.family
        if st.addr is not None:
            d["addr"] = _expr(st.addr, None, o)
        if st.port is not None:
            d["port"] = _expr(st.port, "inet_service", o)
        return {"tproxy": d}
    if isinstance(st, A.Synproxy):
        d = {}
        if st.mss is not None:
            d["mss"] = st.mss
        if st.wscale is not None:
            d["wscale"] = st.wscale
        fl = [f for f in ("timestamp", "sack-perm") if f in st.flags]
        if fl:
            d["flags"] = fl
        return {"synproxy": d or None}
    if isinstance(st, A.Connlimit):
        d = {"val": st.count}
        if st.over:
            d["inv"] = True
        return {"ct count": d}
    if isinstance(st, A.DynsetStmt):
        return _dynset(st, o, family)
    if isinstance(st, A.FlowOffload):
        return {"flow": {"op": "add", "flowtable": "@" + st.flowtable}}
    if isinstance(st, A.Reset):
        r = _expr(st.option, None, o)
        raw = r.get("tcp option") if isinstance(r, dict) else None
        if isinstance(raw, dict) and "base" in raw:
            raw["len"] = 0          # the strip statement loads nothing
        return {"reset": r}
    if isinstance(st, A.Last):
        if o.stateless or st.used is None:
            return {"last": None}
        return {"last": {"used": st.used}}
    if isinstance(st, A.Meter):
        inner = _stmt(st.stmt, ListOptions(stateless=True), family)
        d = {"key": _expr(st.key, _lhs_dtype(st.key), o), "stmt": inner, "size": st.size or 0}
        d["name"] = st.name
        return {"meter": d}
    if isinstance(st, A.Xt):
        return {"xt": {"type": st.kind, "name": st.name}}
    raise JsonOutputError(f"no JSON form for {type(st).__name__}")


def _dynset(st: A.DynsetStmt, o: ListOptions, family: str) -> dict | str:
    key = st.key
    data = None
    if isinstance(key, A.Mapping):
        key, data = key.key, key.value
    kdt = _lhs_dtype(key.key if isinstance(key, A.Elem) else key)
    elem = _elem(key, kdt, None, o)
    inner = [_stmt(x, ListOptions(stateless=True), family) for x in st.stmts
             if not isinstance(x, A.Prop)]
    for p in st.stmts:
        if isinstance(p, A.Prop) and p.name in ("timeout", "expires"):
            v = p.value
            ms = _time_ms(v.name) if isinstance(v, A.Symbol) else (v.value * 1000 if isinstance(v, A.Number) else 0)
            if not (isinstance(elem, dict) and "elem" in elem):
                elem = {"elem": {"val": elem}}
            elem["elem"][p.name] = (ms or 0) // 1000
    if data is not None:
        # nft 1.0.6's map statement has no json callback: stmt_print_json prints the
        # statement's listing text as a JSON string (``"add @m { ip saddr : 0x00000001 }"``)
        loc = st.loc
        text = loc.line_text[loc.first_col - 1:loc.last_col] if loc is not None and loc.line_text else ""
        if text:
            return text     # type: ignore[return-value]
        d = {"op": st.op, "elem": elem, "data": _expr(data, _lhs_dtype(data), o), "map": "@" + st.set}
        if inner:
            d["stmt"] = inner
        return {"map": d}
    d = {"op": st.op, "elem": elem, "set": "@" + st.set}
    if inner:
        d["stmt"] = inner
    return {"set": d}


# ---------------------------------------------------------------------------- rules


def text_json(text: str, family: str, opts: ListOptions | None = None) -> list:
    """Statement objects for a rule given as listing text (``"tcp dport 22 accept"``)."""
    o = _o(opts)
    if not text.strip():
        return []
    from pkttables.lang import parse
    try:
        script = parse(f"add rule {family} t c {text}\n")
        rule = script.commands[0].obj.rule
    except Exception as e:  # the error type of pkttables.errors: reported as ours
        raise JsonOutputError(f"cannot read back {text!r}: {e}") from None
    try:
        return [_stmt(s, o, family) for s in rule.stmts]
    except JsonOutputError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as e:
        raise JsonOutputError(f"cannot convert {text!r}: {type(e).__name__}: {e}") from None


def stmts_json(texts: Iterable[str], family: str, opts: ListOptions | None = None) -> list:
    return text_json(" ".join(texts), family, opts)


def rule_json(instrs: Iterable, family: str, anon_sets: Iterable = (), opts: ListOptions | None = None) -> list:
    """The ``expr`` array of a rule: its instructions (dump lines, :class:`Ins` or objects
    with ``dump()``) delinearized, as nft's ``rule_print_json`` prints each statement."""
    o = _o(opts)
    stmts = delinearize(instrs, family, anon_sets, o)
    return text_json(" ".join(s.json_text or s.text for s in stmts), family, o)


# ---------------------------------------------------------------------------- model objects


def table_json(t: Table) -> dict:
    d: dict = {"family": t.family, "name": t.name, "handle": t.handle}
    flags = [f for f in ("dormant", "owner") if f in t.flags]
    if flags:
        # nft 1.0.6 frees the one-element array's string before printing it (it prints
        # garbage such as "cnt"); we print the flag it meant.  nft 1.0.6 prints no
        # table comment.
        d["flags"] = _flags(flags)
    return {"table": d}


def chain_json(c: Chain, t: Table) -> dict:
    d: dict = {"family": t.family, "table": t.name, "name": c.name, "handle": c.handle}
    h = c.hook
    if h is not None:
        # nft 1.0.6 prints neither the chain's comment nor its devices
        d["type"] = h.type
        d["hook"] = h.hook
        d["prio"] = int(h.priority)
        d["policy"] = h.policy or "accept"
    return {"chain": d}


def _rule_text(rule: Rule, t: Table, o: ListOptions) -> str:
    from . import text as _text
    return _text._rule_body(rule, t.family, o, t)


def rule_obj_json(rule: Rule, c: Chain, t: Table, opts: ListOptions | None = None) -> dict:
    o = _o(opts)
    d: dict = {"family": t.family, "table": t.name, "chain": c.name, "handle": rule.handle}
    if rule.comment is not None and _utf8(rule.comment):
        d["comment"] = rule.comment
    from . import text as _text
    body, stmts = _text._rule_listing(rule, t.family, o, t)
    if any(getattr(s, "json_text", None) for s in stmts):
        # a listing that is not nft syntax (`ct expiration ` for 0s) is read back from
        # the statements' own text
        body = " ".join(_text._objmap_kind(s.json_text or s.text, t) for s in stmts)
    if body.startswith("#"):
        expr: list = []
    else:
        try:
            expr = text_json(body, t.family, o)
        except JsonOutputError:
            expr = []
        if expr and len(expr) == len(stmts):
            # statements whose JSON their text does not tell (synproxy's given values)
            expr = [s.json if s.json is not None else x for s, x in zip(stmts, expr)]
    if expr:
        d["expr"] = expr
    return {"rule": d}


def _type_names(tp: Any) -> list[str]:
    from . import text as _text
    return _text._dtype_names(tp)


def _set_type_json(s: Set, data: bool = False) -> Any:
    tp = s.data_type if data else s.key_type
    if s.typeof and not data:
        # nft 1.0.6 prints a typeof set's datatypes, not its expressions
        names = [_typeof_dtype(p) or "integer" for p in _typeof_parts(tp)]
        names = [DATATYPES[n].name if n in DATATYPES else n for n in names]
        return names[0] if len(names) == 1 else names
    names = [DATATYPES[n].name if n in DATATYPES else n for n in _type_names(tp)]
    if len(names) == 1:
        return names[0]
    if data:
        # set_print_json prints the data's (concatenated) datatype by its name, one
        # string (``"ipv4_addr . inet_service"``); only the key is an array (measured)
        return " . ".join(names)
    return names


def _elem_key_dtypes(s: Set) -> Any:
    names = _type_names(s.key_type) if not s.typeof else [
        x for x in (_typeof_dtype(p) for p in _typeof_parts(s.key_type))]
    return names[0] if len(names) == 1 else names


def _typeof_parts(tp: Any) -> list[str]:
    if isinstance(tp, str):
        return [p.strip() for p in tp.split(" . ")]
    if isinstance(tp, (tuple, list)):
        return [str(x) for x in tp]
    return [str(tp)]


def _typeof_dtype(words: str) -> str | None:
    if words in DATATYPES:          # the model may keep the datatype a typeof resolved to
        return words
    try:
        r = resolve_expr(words)
        return r[1] if r else None
    except Exception:
        return None


def _value_json(v: Any, dt: Any, o: ListOptions) -> Any:
    """A set element's key or data: an AST node (as the command front end stores it),
    a verdict text, or kernel bytes / ints (formatted through the listing's printers)."""
    if isinstance(v, A.Node):
        return _expr(v, dt, o)
    if isinstance(v, str):
        from pkttables.lang import parse
        try:
            r = parse(f"add rule ip t c meta mark 1 {v}\n").commands[0].obj.rule.stmts[1]
            return _stmt(r, o)
        except Exception:
            return v
    from . import text as _text
    names = dt if isinstance(dt, list) else [dt or "integer"]
    txt = _text._key_text(names, v, o)
    return _parse_value(txt, dt, o)


def _parse_value(txt: str, dt: Any, o: ListOptions) -> Any:
    from pkttables.lang import parse
    try:
        st = parse(f"add rule ip t c meta mark {txt}\n").commands[0].obj.rule.stmts[0]
        return _expr(st.right, dt, o)
    except Exception:
        return txt


def _element_json(s: Set, el: Element, o: ListOptions) -> Any:
    kdt = _elem_key_dtypes(s)
    if el.key_end is not None and not isinstance(el.key, A.Node):
        from . import text as _text
        names = kdt if isinstance(kdt, list) else [kdt or "integer"]
        key = _parse_value(_text._range_text(names, el.key, el.key_end, o), kdt, o)
    else:
        key = _value_json(el.key, kdt, o)
    if el.timeout is not None or (el.expires is not None and not o.stateless) or el.comment is not None \
            or el.stmts:
        d: dict = {"val": key}
        if el.timeout is not None:
            d["timeout"] = el.timeout // 1000
        if el.expires is not None and not o.stateless:
            d["expires"] = el.expires // 1000
        if el.comment is not None and _utf8(el.comment):
            d["comment"] = el.comment
        for st in el.stmts[:1]:
            for k, v in _elem_stmt_json(st, o).items():
                d.setdefault(k, v)
        key = {"elem": d}
    if s.is_map and el.data is not None:
        ddt = None if s.data_type in ("verdict", ("verdict",)) else _type_names(s.data_type)
        if isinstance(ddt, list) and len(ddt) == 1:
            ddt = ddt[0]
        if ddt is None and isinstance(el.data, str):
            data = _verdict_text_json(el.data)
        else:
            data = _value_json(el.data, ddt, o)
        return [key, data]
    return key


def _verdict_text_json(v: str) -> dict:
    w = v.split()
    if len(w) == 2:
        return {w[0]: {"target": w[1]}}
    return {v: None}


def _elem_stmt_json(st: Any, o: ListOptions) -> dict:
    if isinstance(st, A.Stmt):
        return _stmt(st, o)
    from . import text as _text
    t = _text._stmt_text(st, o)
    r = text_json(t, "ip", o)
    return r[0] if r else {}


def set_json(s: Set, t: Table, opts: ListOptions | None = None) -> dict:
    o = _o(opts)
    d: dict = {"family": t.family, "name": s.name, "table": t.name, "type": _set_type_json(s),
               "handle": s.handle}
    if s.comment is not None and _utf8(s.comment):
        d["comment"] = s.comment
    if s.is_map:
        d["map"] = _set_type_json(s, data=True)
    if "constant" not in s.flags:
        if s.policy and s.policy != "performance":
            d["policy"] = s.policy
        if s.size:
            d["size"] = s.size
    # nft 1.0.6 set_print_json knows only these three flags (no "dynamic", measured)
    flags = [f for f in ("constant", "interval", "timeout") if f in s.flags]
    if flags:
        d["flags"] = flags
    if s.timeout:
        d["timeout"] = s.timeout // 1000
    if s.gc_interval:
        d["gc-interval"] = s.gc_interval // 1000
    if s.auto_merge:
        d["auto-merge"] = True
    if s.elements and not o.terse:
        # nft sorts the elements it lists (list_expr_sort), in JSON as in text
        from .text import sorted_elements
        # an element with a string that is not UTF-8 is left out: jansson's json_string
        # refuses it, and nft's json_array_append_new of the NULL appends nothing
        d["elem"] = [j for j in (_element_json(s, el, o) for el in sorted_elements(s)) if _json_utf8(j)]
    if s.stmts:
        so = ListOptions(stateless=True)
        d["stmt"] = [_elem_stmt_json(x, so) for x in s.stmts]
    kind = "map" if s.is_map else "set"
    return {kind: d}


_UNIT = {"bytes": 1, "kbytes": 1024, "mbytes": 1024 * 1024}


def _plain(v: Any) -> Any:
    if isinstance(v, A.Number):
        return v.value
    if isinstance(v, A.String):
        return v.value
    if isinstance(v, A.Symbol):
        return v.name
    return v


def _spec(obj: StatefulObject) -> dict:
    """The object's spec with plain values, in the keys documented by :mod:`.text`.  The
    command front end stores the body's properties as given (tuples of AST words:
    ``rate: (over, 10, mbytes, second)``); hand-built models use plain values."""
    out: dict = {}
    for k, v in (obj.spec or {}).items():
        words = [_plain(x) for x in v] if isinstance(v, tuple) else [_plain(v)]
        if obj.kind == "quota" and k in ("over", "until", "value", "bytes", "used") and len(words) >= 1:
            if k in ("over",) and len(words) == 1 and isinstance(words[0], bool):
                out["over"] = words[0]
                continue
            n = words[0] if isinstance(words[0], int) else int(str(words[0]))
            mult = _UNIT.get(words[1], 1) if len(words) > 1 and isinstance(words[1], str) else 1
            if k == "used":
                out["used"] = n * mult
            else:
                out["bytes"] = n * mult
                if k == "over":
                    out["over"] = True
        elif obj.kind == "limit" and k == "rate" and len(words) > 1:
            if words[0] == "over":
                out["over"] = True
                words = words[1:]
            n = int(words[0])
            if len(words) == 3 and words[1] in _UNIT:
                out["type"] = "bytes"
                n *= _UNIT[words[1]]
                out["unit"] = words[2]
            elif len(words) >= 2:
                out["unit"] = words[-1]
            out["rate"] = n
        elif obj.kind == "limit" and k == "burst" and len(words) > 1:
            out["burst"] = int(words[0]) * _UNIT.get(words[1], 1)
        else:
            out[k] = words[0] if len(words) == 1 else words
    return out


def object_json(obj: StatefulObject, t: Table, opts: ListOptions | None = None) -> dict:
    o = _o(opts)
    sp = _spec(obj)
    d: dict = {"family": t.family, "name": obj.name, "table": t.name, "handle": obj.handle}
    if obj.comment is not None and _utf8(obj.comment):
        d["comment"] = obj.comment
    k = obj.kind
    if k == "counter":
        d["packets"] = int(sp.get("packets", 0) or 0)
        d["bytes"] = int(sp.get("bytes", 0) or 0)
    elif k == "quota":
        d["bytes"] = int(sp.get("bytes", 0) or 0)
        d["used"] = int(sp.get("used", 0) or 0)
        d["inv"] = bool(sp.get("over"))
    elif k == "secmark":
        d["context"] = str(sp.get("context", ""))
    elif k == "ct helper":
        d["type"] = str(sp.get("type", ""))
        d["protocol"] = sp.get("protocol", "tcp")
        d["l3proto"] = sp.get("l3proto", "inet")
    elif k == "ct timeout":
        d["protocol"] = sp.get("protocol", "tcp")
        d["l3proto"] = sp.get("l3proto", "ip")
        d["policy"] = dict(sp.get("policy") or {}) or None
    elif k == "ct expectation":
        d["protocol"] = sp.get("protocol", "tcp")
        d["dport"] = int(sp.get("dport", 0))
        d["timeout"] = int(sp.get("timeout", 0))
        d["size"] = int(sp.get("size", 0))
        d["l3proto"] = sp.get("l3proto", "ip")
    elif k == "limit":
        rate = int(sp.get("rate", 0))
        burst = int(sp.get("burst", 0) or 0)
        bytes_ = sp.get("type", "packets") == "bytes"
        ru = bu = None
        if bytes_:
            rate, ru = _data_unit(rate)
            burst, bu = _data_unit(burst)
        d["rate"] = rate
        d["per"] = sp.get("unit", "second")
        if sp.get("over"):
            d["inv"] = True
        if ru:
            d["rate_unit"] = ru
        if burst:
            d["burst"] = burst
            if bu:
                d["burst_unit"] = bu
    elif k == "synproxy":
        d["mss"] = int(sp.get("mss", 0))
        d["wscale"] = int(sp.get("wscale", 0))
        fl = [f for f in ("timestamp", "sack-perm") if f in (sp.get("flags") or ())]
        if fl:
            d["flags"] = fl
    return {k: d}


def flowtable_json(ft: Flowtable, t: Table) -> dict:
    d: dict = {"family": t.family, "name": ft.name, "table": t.name, "handle": ft.handle,
               "hook": ft.hook, "prio": int(ft.priority)}
    if ft.devices:
        d["dev"] = ft.devices[0] if len(ft.devices) == 1 else list(ft.devices)
    return {"flowtable": d}


def _is_anonymous(s: Set) -> bool:
    return "anonymous" in s.flags or s.name.startswith("__")


def _objects(t: Table) -> list[StatefulObject]:
    return sorted(t.objects.values(), key=lambda x: x.handle)


def _table_items(t: Table, o: ListOptions) -> list:
    # nft 1.0.6's table_print_json_full: the table, its stateful objects, named sets and
    # maps, flowtables, chains, and last the rules of every chain (later versions moved
    # the chains before the objects)
    out = [table_json(t)]
    out += [object_json(x, t, o) for x in _objects(t)]
    out += [set_json(s, t, o) for s in t.sets.values() if not _is_anonymous(s)]
    out += [flowtable_json(ft, t) for ft in t.flowtables.values()]
    out += [chain_json(c, t) for c in t.chains.values()]
    for c in t.chains.values():
        out += [rule_obj_json(r, c, t, o) for r in c.rules]
    return out


def _tables(rs: Ruleset, family: str | None) -> list[Table]:
    return [t for t in rs.tables.values() if family is None or t.family == family]


# ---------------------------------------------------------------------------- list commands


def list_ruleset_json(rs: Ruleset, opts: ListOptions | None = None, family: str | None = None) -> dict:
    """``nft -j list ruleset [FAMILY]``."""
    o = _o(opts)
    items: list = []
    for t in _tables(rs, family):
        items += _table_items(t, o)
    return _document(items)


def list_table_json(rs: Ruleset, family: str, name: str, opts: ListOptions | None = None) -> dict:
    """``nft -j list table FAMILY NAME`` (ModelError when absent)."""
    return _document(_table_items(rs.table(family, name), _o(opts)))


def list_tables_json(rs: Ruleset, opts: ListOptions | None = None, family: str | None = None) -> dict:
    return _document([table_json(t) for t in _tables(rs, family)])


def list_chain_json(rs: Ruleset, family: str, table: str, name: str, opts: ListOptions | None = None) -> dict:
    o = _o(opts)
    t = rs.table(family, table)
    c = rs.chain(family, table, name)
    return _document([chain_json(c, t)] + [rule_obj_json(r, c, t, o) for r in c.rules])


def list_chains_json(rs: Ruleset, opts: ListOptions | None = None, family: str | None = None) -> dict:
    return _document([chain_json(c, t) for t in _tables(rs, family) for c in t.chains.values()])


def list_set_json(rs: Ruleset, family: str, table: str, name: str, opts: ListOptions | None = None) -> dict:
    """``nft -j list set|map|meter FAMILY TABLE NAME``."""
    t = rs.table(family, table)
    return _document([set_json(rs.set(family, table, name), t, _o(opts))])


def _sets_of(rs: Ruleset, o: ListOptions, family: str | None, maps: bool | None) -> dict:
    items = []
    for t in _tables(rs, family):
        for s in t.sets.values():
            if _is_anonymous(s) or (maps is not None and s.is_map != maps):
                continue
            items.append(set_json(s, t, o))
    return _document(items)


def list_sets_json(rs: Ruleset, opts: ListOptions | None = None, family: str | None = None) -> dict:
    return _sets_of(rs, _o(opts), family, False)


def list_maps_json(rs: Ruleset, opts: ListOptions | None = None, family: str | None = None) -> dict:
    return _sets_of(rs, _o(opts), family, True)


def list_objects_json(rs: Ruleset, kind: str, opts: ListOptions | None = None, family: str | None = None,
                      table: str | None = None, name: str | None = None) -> dict:
    """``nft -j list counters|quotas|... [table F T]`` and ``list counter F T NAME``."""
    o = _o(opts)
    items = []
    for t in _tables(rs, family):
        if table is not None and t.name != table:
            continue
        items += [object_json(x, t, o) for x in _objects(t)
                  if x.kind == kind and (name is None or x.name == name)]
    return _document(items)


def list_flowtables_json(rs: Ruleset, opts: ListOptions | None = None, family: str | None = None) -> dict:
    return _document([flowtable_json(ft, t) for t in _tables(rs, family) for ft in t.flowtables.values()])
