"""libnftables JSON input (schema version 1) -> the same AST the text parser builds.

Theory of operation
-------------------
``nft -j -f FILE`` accepts the document described in libnftables-json(5)::

    {"nftables": [ {"metainfo": {...}}, {"add": {"rule": {...}}}, {"table": {...}}, ... ]}

Each array item is a command object ``{VERB: {OBJECT: {...}}}`` or a bare object
(``{"table": {...}}``, the form ``nft -j list ruleset`` prints), which means ``add``.
nft's JSON front end (``src/parser_json.c``) builds the same ``struct cmd`` the bison
parser builds, so evaluation is shared; we do the same with :mod:`.ast`: this module is
a second front end whose output goes through the same evaluator.

The reader is a table-driven recursive descent over the decoded JSON value:

* ``_EXPRS`` maps an expression key (``"payload"``, ``"ct"``, ``"&"``...) to a handler
  and to the contexts it may appear in.  nft keeps these contexts as flag bits
  (RHS, STMT, PRIMARY, SET_RHS, MANGLE, SES = set-element-statement, MAP = map key)
  and refuses an expression in a context it was not written for ("Expression type
  verdict not allowed in context (PRIMARY)"); we keep the same rule.
* ``_STMTS`` maps a statement key (``"match"``, ``"counter"``...) to a handler.
* ``_OBJECTS`` maps an object key (``"table"``, ``"ct helper"``...) to a handler,
  called with the verb, so ``delete`` may name a handle instead of a name.

Immediates: a JSON string is read as the text scanner would read the same word
(``"0x38"`` -> ``Number(56)``, ``"ssh"`` -> ``Symbol``, ``"eth*"`` ->
``AsteriskString``); ``"@s"`` is a set reference and ``"*"`` the wildcard (nft:
``json_parse_immediate``); an integer is a ``Number``; ``true``/``false`` are the
boolean symbols ``exists``/``missing`` (``tcp option maxseg exists``).

Where JSON and text legitimately differ in shape, this module builds what the JSON
says, and documents the difference (docs/json.md): an explicit ``"op": "=="`` is
``Match(op="==")`` while text without an operator is ``op="implicit"`` (JSON
``"in"`` is the implicit flag match); times are integers of seconds
(``Number(10)``, text ``Symbol("10s")``); ``meta`` keys are always ``qualified``.

Locations: JSON has no useful line/column for a value once decoded, so every node
gets a synthetic :class:`~pkttables.errors.Location` whose ``line`` is 0 and whose
``line_text`` is the JSON path of the value (``$.nftables[3].add.rule.expr[0].match``);
a diagnostic rendered from such a location prints the path under the message.
Errors are one :class:`~pkttables.errors.SyntaxError_` whose message starts with the
JSON path of the bad value and says what was expected.  When the input was JSON text,
the error's location is the line and columns of that value (found by re-scanning the
text, :func:`_value_spans`, only on error), so it renders with carets under it; for an
already-decoded object it is line 0.  Malformed JSON reports the decoder's line and
column with a caret under the offending character.

Example::

    >>> s = parse_json('{"nftables": [{"add": {"table": {"family": "inet", "name": "t"}}}]}')
    >>> s.commands[0].obj.name
    't'
"""

from __future__ import annotations

import json
import re
import sys

from pkttables.errors import Diagnostic, Location, SyntaxError_

from . import ast as A
from .lexer import ASTRING, EOF, NUM, QSTRING, WORD, tokenize

__all__ = ["parse_json", "InvalidJSON", "JSON_MAX_DEPTH", "JSON_SCHEMA_VERSION"]

# nft 1.0.6: include/nftables.h JSON_SCHEMA_VERSION.
JSON_SCHEMA_VERSION = 1

_FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")
_VERBS = ("add", "replace", "create", "insert", "delete", "destroy", "list", "reset", "flush", "rename")
# nft accepts any of its expr_op_symbols as a match op (expression.c), and "in".
_RELOPS = ("==", "!=", "<", ">", "<=", ">=", "!", "&", "|", "^", "<<", ">>")

# Expression contexts (nft parser_json.c CTX_F_*): where an expression is being read.
RHS, STMT, PRIMARY, DTYPE, SET_RHS, MANGLE, SES, MAP = (1 << i for i in range(8))
_CTX_NAMES = ((RHS, "RHS"), (STMT, "STMT"), (PRIMARY, "PRIMARY"), (DTYPE, "DTYPE"),
              (SET_RHS, "SET_RHS"), (MANGLE, "MANGLE"), (SES, "SES"), (MAP, "MAP"))


class _JErr(Exception):
    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message


def _tname(v) -> str:
    """JSON type names as jansson prints them."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "real"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_SIMPLE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
_DEC = re.compile(r"[1-9][0-9]*\Z|0\Z")


class _Reader:
    def __init__(self, filename: str):
        self.filename = filename

    # ---------------------------------------------------------------- helpers
    def loc(self, path: str) -> Location:
        return Location(self.filename, 0, 0, 0, path)

    def fail(self, path: str, message: str):
        raise _JErr(path, message)

    def obj(self, v, path: str, what: str = "an object") -> dict:
        if not isinstance(v, dict):
            self.fail(path, f"expected {what}, got {_tname(v)}")
        return v

    def single(self, v, path: str, what: str) -> tuple[str, object]:
        """``{KEY: VALUE}`` with exactly one property (nft: json_unpack_stmt)."""
        d = self.obj(v, path, what)
        if len(d) != 1:
            self.fail(path, f"expected {what} with exactly one property, got {len(d)} properties")
        return next(iter(d.items()))

    def get(self, d: dict, key: str, path: str, kind, required: bool = False, default=None):
        """Property ``key`` of ``d`` checked against ``kind`` ('s', 'i', 'b', 'o', 'a')."""
        if key not in d:
            if required:
                self.fail(path, f'missing required property "{key}"')
            return default
        v = d[key]
        p = _sub(path, key)
        if kind == "s" and not isinstance(v, str):
            self.fail(p, f"expected string, got {_tname(v)}")
        if kind == "i" and not _is_int(v):
            self.fail(p, f"expected integer, got {_tname(v)}")
        if kind == "u" and not (_is_int(v) and v >= 0):
            self.fail(p, f"expected non-negative integer, got {_tname(v) if not _is_int(v) else v}")
        if kind == "b" and not isinstance(v, bool):
            self.fail(p, f"expected true or false, got {_tname(v)}")
        if kind == "a" and not isinstance(v, list):
            self.fail(p, f"expected array, got {_tname(v)}")
        return v

    def family(self, d: dict, path: str, required: bool = True) -> str | None:
        f = self.get(d, "family", path, "s", required)
        if f is not None and f not in _FAMILIES:
            self.fail(_sub(path, "family"), f"unknown family '{f}', expected one of {', '.join(_FAMILIES)}")
        return f

    def ipfamily(self, d: dict, path: str) -> str | None:
        """``family`` of ct/rt/ipsec/fwd/nat/tproxy: ``ip`` or ``ip6`` (nft: json_parse_family)."""
        f = self.get(d, "family", path, "s")
        if f is not None and f not in ("ip", "ip6"):
            self.fail(_sub(path, "family"), f"invalid family '{f}', expected ip or ip6")
        return f

    def strlist(self, v, path: str, what: str) -> tuple[str, ...]:
        """A string or an array of strings (nat/log/queue/fib flags)."""
        if isinstance(v, str):
            return (v,)
        if not isinstance(v, list):
            self.fail(path, f"expected {what} as a string or an array of strings, got {_tname(v)}")
        for i, x in enumerate(v):
            if not isinstance(x, str):
                self.fail(f"{path}[{i}]", f"expected string, got {_tname(x)}")
        return tuple(v)

    def choice(self, v: str, options, path: str, what: str) -> str:
        if v not in options:
            self.fail(path, f"unknown {what} '{v}', expected one of {', '.join(options)}")
        return v

    def number(self, v: int, path: str) -> A.Number:
        return A.Number(self.loc(path), v, str(v))

    # ---------------------------------------------------------------- immediates
    def immediate(self, v, path: str) -> A.Expr:
        loc = self.loc(path)
        if isinstance(v, bool):
            # nft: a boolean constant; the text spells it exists/missing.
            return A.Symbol(loc, "exists" if v else "missing")
        if _is_int(v):
            return A.Number(loc, v, str(v))
        if isinstance(v, str):
            if v.startswith("@"):
                return A.SetRef(loc, v[1:])
            if v == "*":
                return A.Wildcard(loc)
            return self.word(v, loc)
        self.fail(path, f"unexpected JSON type {_tname(v)} for an immediate value")

    def word(self, s: str, loc: Location) -> A.Expr:
        """Read a string as the text scanner reads one word (flex longest match)."""
        if _DEC.match(s):
            return A.Number(loc, int(s), s)
        if _SIMPLE_WORD.match(s):
            return A.Symbol(loc, s)
        # A quoted string in the text: spaces, quotes, wildcards and escapes.
        if not s or any(c in s for c in " \t\n\"#;{}*\\"):
            return A.String(loc, s)
        toks = tokenize(s, self.filename)
        if len(toks) == 2 and toks[1].kind is EOF:
            t = toks[0]
            if t.kind is NUM:
                return A.Number(loc, t.value, t.text)
            if t.kind is WORD:
                return A.Symbol(loc, t.value)
            if t.kind is ASTRING:
                return A.AsteriskString(loc, t.value)
            if t.kind is QSTRING:
                return A.String(loc, t.value)
        # Several tokens ("10.0.0.0/8", "fe80::1%eth0"): nft makes a symbol and lets
        # the datatype parse it.
        return A.Symbol(loc, s)

    # ---------------------------------------------------------------- expressions
    def expr(self, v, path: str, ctx: int = 0) -> A.Expr:
        if isinstance(v, list):
            if not ctx & (RHS | STMT):
                self.fail(path, "list expression only allowed on RHS or in statement expression")
            if ctx & PRIMARY:
                self.fail(path, "list expression not allowed as primary expression")
            items = tuple(self.expr(x, f"{path}[{i}]", ctx) for i, x in enumerate(v))
            return A.ListExpr(self.loc(path), items)
        if isinstance(v, bool):
            if not ctx & (RHS | PRIMARY):
                self.fail(path, "boolean values not allowed in this context")
            return self.immediate(v, path)
        if isinstance(v, (str, int)):
            return self.immediate(v, path)
        if not isinstance(v, dict):
            self.fail(path, f"expected an expression (string, integer, boolean, array or object), got {_tname(v)}")
        key, val = self.single(v, path, "an expression object")
        ent = _EXPRS.get(key)
        if ent is None:
            self.fail(path, f"unknown expression type '{key}'")
        fn, allowed = ent
        if allowed & ctx != ctx:
            names = ", ".join(n for bit, n in _CTX_NAMES if ctx & bit)
            self.fail(path, f"expression type {key} not allowed in context ({names})")
        return fn(self, key, val, _sub(path, key), ctx)

    def e_payload(self, key, v, path, ctx):
        d = self.obj(v, path)
        if "base" in d:
            base = self.get(d, "base", path, "s", True)
            self.choice(base, ("ll", "nh", "th", "ih"), _sub(path, "base"), "payload base")
            off = self.get(d, "offset", path, "u", True)
            ln = self.get(d, "len", path, "u", True)
            return A.RawPayload(self.loc(path), base, self.number(off, _sub(path, "offset")), self.number(ln, _sub(path, "len")))
        proto = self.get(d, "protocol", path, "s", True)
        field = self.get(d, "field", path, "s", True)
        return A.Payload(self.loc(path), proto, field)

    def e_exthdr(self, key, v, path, ctx):
        d = self.obj(v, path)
        name = self.get(d, "name", path, "s", True)
        field = self.get(d, "field", path, "s")
        off = self.get(d, "offset", path, "u")
        if field is not None:
            m = re.fullmatch(r"([A-Za-z][A-Za-z0-9-]*)\[([0-9]+)\]", field)
            if m:  # nft lists "srh sid[1]" as field "sid[1]"
                field, off = m.group(1), int(m.group(2))
        return A.Exthdr(self.loc(path), name, field, off if field is not None else None)

    def e_tcp_option(self, key, v, path, ctx):
        d = self.obj(v, path)
        if "base" in d:
            kind = self.get(d, "base", path, "u", True)
            off = self.get(d, "offset", path, "u", True)
            ln = self.get(d, "len", path, "u", True)
            return A.TcpOption(self.loc(path), None, None, (kind, off, ln))
        name = self.get(d, "name", path, "s", True)
        field = self.get(d, "field", path, "s")
        opt: str | int = int(name) if name.isdigit() else name
        return A.TcpOption(self.loc(path), opt, field)

    def e_ip_option(self, key, v, path, ctx):
        d = self.obj(v, path)
        return A.IpOption(self.loc(path), self.get(d, "name", path, "s", True), self.get(d, "field", path, "s"))

    def e_sctp_chunk(self, key, v, path, ctx):
        d = self.obj(v, path)
        return A.SctpChunk(self.loc(path), self.get(d, "name", path, "s", True), self.get(d, "field", path, "s"))

    def e_meta(self, key, v, path, ctx):
        d = self.obj(v, path)
        return A.Meta(self.loc(path), self.get(d, "key", path, "s", True))

    def e_ct(self, key, v, path, ctx):
        d = self.obj(v, path)
        k = self.get(d, "key", path, "s", True)
        fam = self.ipfamily(d, path)
        if k.startswith(("ip ", "ip6 ")):
            # nft lists "ct original ip saddr" as key "ip saddr" (ct.c ct_print).
            fam, k = k.split(" ", 1)
        dr = self.get(d, "dir", path, "s")
        if dr is not None:
            self.choice(dr, ("original", "reply"), _sub(path, "dir"), "ct direction")
        return A.Ct(self.loc(path), k, dr, fam)

    def e_rt(self, key, v, path, ctx):
        d = self.obj(v, path)
        return A.Rt(self.loc(path), self.get(d, "key", path, "s", True), self.ipfamily(d, path))

    def e_fib(self, key, v, path, ctx):
        d = self.obj(v, path)
        res = self.get(d, "result", path, "s", True)
        self.choice(res, ("oif", "oifname", "type"), _sub(path, "result"), "fib result")
        flags = ()
        if "flags" in d:
            flags = self.strlist(d["flags"], _sub(path, "flags"), "fib flags")
            for i, f in enumerate(flags):
                self.choice(f, ("saddr", "daddr", "mark", "iif", "oif"), f"{path}.flags[{i}]", "fib flag")
        # nft checks these in its grammar (fib_expr) and in parser_json.c alike.
        if "saddr" not in flags and "daddr" not in flags:
            self.fail(_sub(path, "flags"), "fib: need either saddr or daddr")
        if "saddr" in flags and "daddr" in flags:
            self.fail(_sub(path, "flags"), "fib: saddr and daddr are mutually exclusive")
        if "iif" in flags and "oif" in flags:
            self.fail(_sub(path, "flags"), "fib: iif and oif are mutually exclusive")
        return A.Fib(self.loc(path), flags, res)

    def e_socket(self, key, v, path, ctx):
        d = self.obj(v, path)
        return A.Socket(self.loc(path), self.get(d, "key", path, "s", True), self.get(d, "level", path, "u"))

    def e_osf(self, key, v, path, ctx):
        d = self.obj(v, path)
        k = self.get(d, "key", path, "s", True)
        self.choice(k, ("name", "version"), _sub(path, "key"), "osf key")
        ttl = self.get(d, "ttl", path, "s")
        if ttl is not None:
            self.choice(ttl, ("loose", "skip"), _sub(path, "ttl"), "osf ttl option")
        return A.Osf(self.loc(path), k, ttl)

    def e_numgen(self, key, v, path, ctx):
        d = self.obj(v, path)
        mode = self.get(d, "mode", path, "s", True)
        self.choice(mode, ("inc", "random"), _sub(path, "mode"), "numgen mode")
        return A.Numgen(self.loc(path), mode, self.get(d, "mod", path, "u", True), self.get(d, "offset", path, "u"))

    def e_hash(self, key, v, path, ctx):
        d = self.obj(v, path)
        mod = self.get(d, "mod", path, "u", True)
        off = self.get(d, "offset", path, "u")
        if key == "symhash":
            return A.Hash(self.loc(path), "symhash", None, mod, None, off)
        if "expr" not in d:
            self.fail(path, 'missing required property "expr"')
        e = self.expr(d["expr"], _sub(path, "expr"))
        return A.Hash(self.loc(path), "jhash", e, mod, self.get(d, "seed", path, "u"), off)

    def e_ipsec(self, key, v, path, ctx):
        d = self.obj(v, path)
        k = self.get(d, "key", path, "s", True)
        fam = self.ipfamily(d, path)
        dr = self.get(d, "dir", path, "s", True)
        self.choice(dr, ("in", "out"), _sub(path, "dir"), "ipsec direction")
        spnum = self.get(d, "spnum", path, "u")
        if spnum is not None and spnum > 255:
            self.fail(_sub(path, "spnum"), f"invalid spnum {spnum}, expected 0-255")
        return A.Ipsec(self.loc(path), dr, k, spnum, fam)

    def e_binop(self, key, v, path, ctx):
        lo, hi = self.pair(v, path, f"binop {key}")
        left = self.expr(lo, path + "[0]", PRIMARY)
        # The right operand may be a list of flags: {"&": [tcp flags, ["fin", "syn"]]}.
        right = self.expr(hi, path + "[1]", RHS)
        return A.Binop(self.loc(path), key, left, right)

    def pair(self, v, path, what):
        if not isinstance(v, list) or len(v) != 2:
            self.fail(path, f"expected {what} as an array of exactly two expressions, got "
                      + (f"an array of {len(v)}" if isinstance(v, list) else _tname(v)))
        return v[0], v[1]

    def e_concat(self, key, v, path, ctx):
        if not isinstance(v, list):
            self.fail(path, f"expected concat as an array of expressions, got {_tname(v)}")
        if not v:
            self.fail(path, "expected at least one expression in concat")
        parts = tuple(self.expr(x, f"{path}[{i}]", PRIMARY) for i, x in enumerate(v))
        if len(parts) == 1:  # nft: a one-element concat is its element
            return parts[0]
        return A.Concat(self.loc(path), parts)

    def e_prefix(self, key, v, path, ctx):
        d = self.obj(v, path)
        if "addr" not in d:
            self.fail(path, 'missing required property "addr"')
        a = self.expr(d["addr"], _sub(path, "addr"), PRIMARY)
        return A.Prefix(self.loc(path), a, self.get(d, "len", path, "u", True))

    def e_range(self, key, v, path, ctx):
        lo, hi = self.pair(v, path, "range")
        return A.Range(self.loc(path), self.expr(lo, path + "[0]", PRIMARY), self.expr(hi, path + "[1]", PRIMARY))

    def e_verdict(self, key, v, path, ctx):
        return self.verdict(key, v, path)

    def verdict(self, key, v, path) -> A.Verdict:
        if key in ("jump", "goto"):
            d = self.obj(v, path, 'an object with "target"')
            t = self.get(d, "target", path, "s", True)
            return A.Verdict(self.loc(path), key, A.Symbol(self.loc(_sub(path, "target")), t))
        if v is not None and not isinstance(v, dict):
            self.fail(path, f"expected null, got {_tname(v)}")
        return A.Verdict(self.loc(path), key)

    def e_set(self, key, v, path, ctx):
        return self.set_literal(v, path)

    def set_literal(self, v, path) -> A.Expr:
        """``{"set": X}`` / an ``elem`` property: an anonymous set, map, or ``@ref``."""
        if not isinstance(v, list):
            if isinstance(v, dict):
                e = self.expr(v, path, RHS)
            else:
                e = self.immediate(v, path)
            if isinstance(e, A.SetRef):
                return e
            return A.SetExpr(self.loc(path), (e,))
        elems = []
        for i, x in enumerate(v):
            p = f"{path}[{i}]"
            if isinstance(x, list) and len(x) == 2:
                k = self.expr(x[0], p + "[0]", RHS)
                val = self.expr(x[1], p + "[1]", SET_RHS)
                elems.append(A.Mapping(self.loc(p), k, val))
            else:
                elems.append(self.expr(x, p, RHS))
        return A.SetExpr(self.loc(path), tuple(elems))

    def e_map(self, key, v, path, ctx):
        d = self.obj(v, path)
        for k in ("key", "data"):
            if k not in d:
                self.fail(path, f'missing required property "{k}"')
        k = self.expr(d["key"], _sub(path, "key"), MAP)
        data = self.expr(d["data"], _sub(path, "data"), RHS)
        return A.MapExpr(self.loc(path), k, data)

    def e_elem(self, key, v, path, ctx):
        d = self.obj(v, path)
        if "val" not in d:
            self.fail(path, 'missing required property "val"')
        k = self.expr(d["val"], _sub(path, "val"), ctx)
        opts: list[A.Node] = []
        for name in ("timeout", "expires"):
            t = self.get(d, name, path, "u")
            if t is not None:
                opts.append(A.ElemOpt(self.loc(_sub(path, name)), name, self.number(t, _sub(path, name))))
        c = self.get(d, "comment", path, "s")
        if c is not None:
            opts.append(A.ElemOpt(self.loc(_sub(path, "comment")), "comment", c))
        # Later schemas: statements attached to the element ("counter": {...}).
        for name in ("counter", "quota", "limit"):
            if name in d:
                opts.append(self.stmt({name: d[name]}, path))
        if not opts:
            return k
        return A.Elem(self.loc(path), k, tuple(opts))

    # ---------------------------------------------------------------- statements
    def stmt(self, v, path: str) -> A.Stmt:
        key, val = self.single(v, path, "a statement object")
        fn = _STMTS.get(key)
        if fn is None:
            self.fail(path, f"unknown statement object '{key}'")
        return fn(self, key, val, _sub(path, key))

    def s_verdict(self, key, v, path):
        vd = self.verdict(key, v, path)
        return A.VerdictStmt(self.loc(path), vd)

    def s_match(self, key, v, path):
        d = self.obj(v, path)
        for k in ("left", "right", "op"):
            if k not in d:
                self.fail(path, f'missing required property "{k}"')
        op = self.get(d, "op", path, "s", True)
        if op == "in":
            op = "implicit"  # nft: "in" is OP_IMPLICIT (flag match)
        elif op not in _RELOPS:
            self.fail(_sub(path, "op"), f"unknown relational op '{op}', expected one of {', '.join(_RELOPS)}, in")
        left = self.expr(d["left"], _sub(path, "left"))
        right = self.expr(d["right"], _sub(path, "right"), RHS)
        if (isinstance(left, A.TcpOption) and left.raw is not None and left.raw[1:] == (0, 8)
                and isinstance(right, A.Symbol) and right.name in ("exists", "missing")):
            # nft lists "tcp option 6 exists" as a raw 8-bit load of the kind byte.
            left = A.TcpOption(left.loc, left.raw[0], None)
        return A.Match(self.loc(path), left, op, right)

    def s_counter(self, key, v, path):
        if v is None:
            return A.Counter(self.loc(path))
        if isinstance(v, dict) and ("packets" in v or "bytes" in v or not v):
            return A.Counter(self.loc(path), self.get(v, "packets", path, "u"), self.get(v, "bytes", path, "u"))
        return A.ObjRef(self.loc(path), "counter", self.expr(v, path, STMT))

    def s_mangle(self, key, v, path):
        d = self.obj(v, path)
        for k in ("key", "value"):
            if k not in d:
                self.fail(path, f'missing required property "{k}"')
        k = self.expr(d["key"], _sub(path, "key"), MANGLE)
        if not isinstance(k, (A.Payload, A.RawPayload, A.Exthdr, A.TcpOption, A.IpOption, A.Meta, A.Ct)):
            self.fail(_sub(path, "key"), "invalid mangle statement key expression type, expected payload, exthdr, tcp option, meta or ct")
        val = self.expr(d["value"], _sub(path, "value"), STMT)
        return A.SetStmt(self.loc(path), k, val)

    def s_quota(self, key, v, path):
        if isinstance(v, dict) and "val" in v:
            amount = self.get(v, "val", path, "u", True)
            unit = self.get(v, "val_unit", path, "s", default="bytes")
            used = self.get(v, "used", path, "u")
            uunit = self.get(v, "used_unit", path, "s", default="bytes" if used is not None else None)
            inv = self.get(v, "inv", path, "b", default=False)
            return A.Quota(self.loc(path), amount, unit, inv, used, uunit)
        return A.ObjRef(self.loc(path), "quota", self.expr(v, path, STMT))

    def s_limit(self, key, v, path):
        if isinstance(v, dict) and "rate" in v:
            rate = self.get(v, "rate", path, "u", True)
            per = self.get(v, "per", path, "s", True)
            unit = self.get(v, "rate_unit", path, "s", default="packets")
            burst = self.get(v, "burst", path, "u")
            bunit = self.get(v, "burst_unit", path, "s")
            if not burst:
                # nft lists burst 0 as no burst (the text omits it).
                burst = bunit = None
            elif unit == "packets":
                bunit = "packets"  # nft ignores burst_unit for a packet rate
            elif bunit is None:
                bunit = "bytes"  # nft: burst_unit defaults to bytes for a byte rate
            inv = self.get(v, "inv", path, "b", default=False)
            return A.Limit(self.loc(path), rate, unit, per, inv, burst, bunit)
        return A.ObjRef(self.loc(path), "limit", self.expr(v, path, STMT))

    def s_fwd(self, key, v, path):
        d = self.obj(v, path)
        if "dev" not in d:
            self.fail(path, 'missing required property "dev"')
        dev = self.expr(d["dev"], _sub(path, "dev"), STMT)
        fam = self.ipfamily(d, path)
        addr = None
        if fam is not None and "addr" in d:
            addr = self.expr(d["addr"], _sub(path, "addr"), STMT)
        elif "addr" in d:
            self.fail(path, 'property "addr" needs "family" (ip or ip6)')
        return A.Fwd(self.loc(path), fam, addr, dev)

    def s_notrack(self, key, v, path):
        return A.Notrack(self.loc(path))

    def s_dup(self, key, v, path):
        d = self.obj(v, path)
        addr = dev = None
        if "addr" in d:
            addr = self.expr(d["addr"], _sub(path, "addr"), STMT)
        if "dev" in d:
            dev = self.expr(d["dev"], _sub(path, "dev"), STMT)
        if addr is None and dev is None:
            self.fail(path, 'missing required property "addr"')
        return A.Dup(self.loc(path), addr, dev)

    def s_nat(self, key, v, path):
        d = {} if v is None else self.obj(v, path)
        fam = self.ipfamily(d, path)
        addr = port = None
        if "addr" in d:
            addr = self.expr(d["addr"], _sub(path, "addr"), STMT)
        if "port" in d:
            port = self.expr(d["port"], _sub(path, "port"), STMT)
        flags: tuple[str, ...] = ()
        if "flags" in d:
            flags = self.strlist(d["flags"], _sub(path, "flags"), "nat flags")
            for i, f in enumerate(flags):
                self.choice(f, ("random", "fully-random", "persistent", "netmap"), f"{path}.flags[{i}]", "nat flag")
        prefix = interval = concat = False
        if "type_flags" in d:
            tf = self.strlist(d["type_flags"], _sub(path, "type_flags"), "nat type flags")
            for i, f in enumerate(tf):
                self.choice(f, ("interval", "prefix", "concat"), f"{path}.type_flags[{i}]", "nat type flag")
            prefix = "prefix" in tf
            interval = "interval" in tf
            concat = "concat" in tf
        if prefix and "netmap" in flags:
            # "snat ip prefix to ..." sets NF_NAT_RANGE_NETMAP; nft's listing shows it as a flag.
            flags = tuple(f for f in flags if f != "netmap")
        if key in ("masquerade", "redirect") and (addr is not None or fam is not None):
            self.fail(path, f"{key} takes no address")
        return A.Nat(self.loc(path), key, fam, addr, port, flags, prefix, interval, concat)

    def s_tproxy(self, key, v, path):
        d = self.obj(v, path)
        fam = self.ipfamily(d, path)
        addr = port = None
        if "addr" in d:
            addr = self.expr(d["addr"], _sub(path, "addr"), STMT)
        if "port" in d:
            port = self.expr(d["port"], _sub(path, "port"), STMT)
        return A.Tproxy(self.loc(path), fam, addr, port)

    def s_reject(self, key, v, path):
        d = {} if v is None else self.obj(v, path)
        t = self.get(d, "type", path, "s")
        fam = code = None
        if t is not None:
            self.choice(t, ("tcp reset", "icmpx", "icmp", "icmpv6"), _sub(path, "type"), "reject type")
            if t == "tcp reset":
                fam, code = "tcp", A.Symbol(self.loc(_sub(path, "type")), "reset")
            else:
                fam = t
        if "expr" in d:
            if t == "tcp reset":
                pass  # nft ignores a code for tcp reset
            else:
                code = self.immediate(d["expr"], _sub(path, "expr"))
                if fam is None:
                    fam = "icmpx"
        return A.Reject(self.loc(path), fam, code)

    def s_set(self, key, v, path):
        """``{"set": {"op", "elem", "set"}}`` (dynset) and ``{"map": {..., "data"}}``."""
        d = self.obj(v, path)
        op = self.get(d, "op", path, "s", True)
        self.choice(op, ("add", "update", "delete"), _sub(path, "op"), f"{key} statement op")
        if "elem" not in d:
            self.fail(path, 'missing required property "elem"')
        name = self.get(d, key, path, "s", True)
        if not name.startswith("@"):
            self.fail(_sub(path, key), f"illegal {key} reference '{name}', expected '@NAME'")
        ep = _sub(path, "elem")
        stmts: list[A.Node] = []
        ev = d["elem"]
        if isinstance(ev, dict) and len(ev) == 1 and "elem" in ev:
            # The text form puts timeout/expires inside the braces (DynsetStmt.stmts).
            ed = self.obj(ev["elem"], ep + ".elem")
            if "val" not in ed:
                self.fail(ep + ".elem", 'missing required property "val"')
            k = self.expr(ed["val"], ep + ".elem.val", SES)
            for name2 in ("timeout", "expires"):
                t = self.get(ed, name2, ep + ".elem", "u")
                if t is not None:
                    stmts.append(A.Prop(self.loc(f"{ep}.elem.{name2}"), name2, self.number(t, f"{ep}.elem.{name2}")))
        else:
            k = self.expr(ev, ep, SES)
        if key == "map":
            if "data" not in d:
                self.fail(path, 'missing required property "data"')
            k = A.Mapping(self.loc(ep), k, self.expr(d["data"], _sub(path, "data"), STMT))
        if "stmt" in d:
            sl = self.get(d, "stmt", path, "a")
            stmts.extend(self.stmt(x, f"{path}.stmt[{i}]") for i, x in enumerate(sl))
        return A.DynsetStmt(self.loc(path), op, name[1:], k, tuple(stmts))

    def s_log(self, key, v, path):
        d = {} if v is None else self.obj(v, path)
        opts: list[tuple[str, object]] = []
        # The order of nft's listing: prefix, level, group, snaplen, queue-threshold, flags.
        p = self.get(d, "prefix", path, "s")
        if p is not None:
            opts.append(("prefix", p))
        lv = self.get(d, "level", path, "s")
        if lv is not None:
            self.choice(lv, ("emerg", "alert", "crit", "err", "warn", "notice", "info", "debug", "audit"),
                        _sub(path, "level"), "log level")
            opts.append(("level", lv))
        for name in ("group", "snaplen", "queue-threshold"):
            n = self.get(d, name, path, "u")
            if n is not None:
                opts.append((name, n))
        if "flags" in d:
            fl = self.strlist(d["flags"], _sub(path, "flags"), "log flags")
            for i, f in enumerate(fl):
                self.choice(f, ("tcp sequence", "tcp options", "ip options", "skuid", "ether", "all"),
                            f"{path}.flags[{i}]", "log flag")
            opts.append(("flags", fl))
        return A.Log(self.loc(path), tuple(opts))

    def s_ct_obj(self, key, v, path):
        """``{"ct helper": X}``, ``{"ct timeout": X}``, ``{"ct expectation": X}``: the
        text ``ct helper set X`` (a SetStmt on ``Ct(helper)``)."""
        ctkey = key.split(" ", 1)[1]
        val = self.expr(v, path, STMT)
        return A.SetStmt(self.loc(path), A.Ct(self.loc(path), ctkey), val)

    def s_objref(self, key, v, path):
        return A.ObjRef(self.loc(path), key, self.expr(v, path, STMT))

    def s_meter(self, key, v, path):
        d = self.obj(v, path)
        name = self.get(d, "name", path, "s", True)
        if "key" not in d or "stmt" not in d:
            self.fail(path, 'missing required property "key"' if "key" not in d else 'missing required property "stmt"')
        size = self.get(d, "size", path, "u")
        k = self.expr(d["key"], _sub(path, "key"), SES)
        st = self.stmt(d["stmt"], _sub(path, "stmt"))
        return A.Meter(self.loc(path), name, size, k, st)

    def s_queue(self, key, v, path):
        d = {} if v is None else self.obj(v, path)
        num = None
        if "num" in d:
            num = self.expr(d["num"], _sub(path, "num"), STMT)
        flags: tuple[str, ...] = ()
        if "flags" in d:
            flags = self.strlist(d["flags"], _sub(path, "flags"), "queue flags")
            for i, f in enumerate(flags):
                self.choice(f, ("bypass", "fanout"), f"{path}.flags[{i}]", "queue flag")
        return A.Queue(self.loc(path), num, flags)

    def s_vmap(self, key, v, path):
        d = self.obj(v, path)
        for k in ("key", "data"):
            if k not in d:
                self.fail(path, f'missing required property "{k}"')
        k = self.expr(d["key"], _sub(path, "key"), MAP)
        data = self.expr(d["data"], _sub(path, "data"), RHS)
        return A.VmapStmt(self.loc(path), k, data)

    def s_connlimit(self, key, v, path):
        d = self.obj(v, path)
        return A.Connlimit(self.loc(path), self.get(d, "val", path, "u", True), self.get(d, "inv", path, "b", default=False))

    def s_synproxy(self, key, v, path):
        if v is None:
            return A.Synproxy(self.loc(path))
        if isinstance(v, dict) and not (len(v) == 1 and next(iter(v)) in _EXPRS):
            flags: tuple[str, ...] = ()
            if "flags" in v:
                flags = self.strlist(v["flags"], _sub(path, "flags"), "synproxy flags")
                for i, f in enumerate(flags):
                    self.choice(f, ("timestamp", "sack-perm"), f"{path}.flags[{i}]", "synproxy flag")
            return A.Synproxy(self.loc(path), self.get(v, "mss", path, "u"), self.get(v, "wscale", path, "u"), flags)
        return A.ObjRef(self.loc(path), "synproxy", self.expr(v, path, STMT))

    def s_reset(self, key, v, path):
        k, val = self.single(v, path, 'an object {"tcp option": {...}}')
        if k != "tcp option":
            self.fail(path, f"unknown reset target '{k}', expected tcp option")
        o = self.e_tcp_option(k, val, _sub(path, k), 0)
        if o.raw is not None:
            # Only the kind matters to "reset tcp option N" (nft lists it raw).
            o = A.TcpOption(o.loc, o.raw[0], None)
        return A.Reset(self.loc(path), o)

    def s_last(self, key, v, path):
        if v is None:
            return A.Last(self.loc(path))
        d = self.obj(v, path)
        return A.Last(self.loc(path), self.get(d, "used", path, "u"))

    def s_flow(self, key, v, path):
        d = self.obj(v, path)
        op = self.get(d, "op", path, "s", True)
        self.choice(op, ("add",), _sub(path, "op"), "flow op")
        ft = self.get(d, "flowtable", path, "s", True)
        if not ft.startswith("@"):
            self.fail(_sub(path, "flowtable"), f"illegal flowtable reference '{ft}', expected '@NAME'")
        return A.FlowOffload(self.loc(path), ft[1:])

    def s_xt(self, key, v, path):
        d = self.obj(v, path)
        t = self.get(d, "type", path, "s", True)
        self.choice(t, ("match", "target", "watcher"), _sub(path, "type"), "xt type")
        return A.Xt(self.loc(path), t, self.get(d, "name", path, "s", True))

    # ---------------------------------------------------------------- commands and objects
    def document(self, doc) -> A.Script:
        root = self.obj(doc, "$", 'an object {"nftables": [...]}')
        if "nftables" not in root:
            self.fail("$", 'missing required property "nftables"')
        arr = root["nftables"]
        if not isinstance(arr, list):
            self.fail("$.nftables", f"expected array, got {_tname(arr)}")
        cmds = []
        for i, item in enumerate(arr):
            p = f"$.nftables[{i}]"
            d = self.obj(item, p, "a command object")
            if "metainfo" in d:
                self.metainfo(d["metainfo"], p + ".metainfo")
                continue
            cmds.append(self.command(d, p))
        return A.Script(self.loc("$"), tuple(cmds))

    def metainfo(self, v, path):
        d = self.obj(v, path)
        ver = self.get(d, "json_schema_version", path, "i")
        if ver is not None and ver > JSON_SCHEMA_VERSION:
            self.fail(_sub(path, "json_schema_version"),
                      f"schema version {ver} not supported, maximum supported version is {JSON_SCHEMA_VERSION}")

    def command(self, d: dict, path: str) -> A.Command:
        verb = None
        for v in _VERBS:
            if v in d:
                verb = v
                break
        if verb is None:
            # A bare object (nft -j list ruleset output) means add.
            return self.verb_object("add", d, path, bare=True)
        return self.verb_object(verb, d[verb], _sub(path, verb))

    def verb_object(self, verb: str, v, path: str, bare: bool = False) -> A.Command:
        d = self.obj(v, path, f"an object (the value of the {verb} command)")
        table = _VERB_OBJECTS[verb]
        for k in d:
            if k in table:
                p = _sub(path, k)
                return table[k](self, verb, k, d[k], p, bare)
        if not d:
            self.fail(path, f"empty object passed to {verb} command")
        k = next(iter(d))
        expect = ", ".join(table)
        self.fail(_sub(path, k), f"unknown object '{k}' passed to {verb} command, expected one of {expect}")

    def cmd(self, verb, obj, path, newname=None) -> A.Command:
        return A.Command(self.loc(path), verb, obj, newname)

    def name_or_handle(self, verb, d, path, what, name_key="name"):
        if verb in ("delete", "destroy") or verb == "list" and what == "table" and "name" not in d:
            name = self.get(d, name_key, path, "s")
            handle = self.get(d, "handle", path, "u")
            if name is None and handle is None:
                self.fail(path, f"either name or handle required to {verb} a {what}")
            return (None if handle is not None and name is None else name), (handle if name is None else None)
        return self.get(d, name_key, path, "s", True), None

    def o_table(self, verb, k, v, path, bare):
        d = self.obj(v, path)
        fam = self.family(d, path)
        name, handle = self.name_or_handle(verb, d, path, "table")
        body: list[A.Node] = []
        if verb in ("add", "create"):
            if "flags" in d:
                body.append(A.Prop(self.loc(_sub(path, "flags")), "flags", self.strlist(d["flags"], _sub(path, "flags"), "table flags")))
            c = self.get(d, "comment", path, "s")
            if c is not None:
                body.append(A.Prop(self.loc(_sub(path, "comment")), "comment", c))
        return self.cmd(verb, A.TableObj(self.loc(path), fam, name, handle, tuple(body) or None), path)

    def prio(self, v, path) -> A.Expr:
        if _is_int(v):
            return self.number(v, path)
        if isinstance(v, str):
            m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:([+-])\s*([0-9]+))?\s*", v)
            if m:
                base = A.Symbol(self.loc(path), m.group(1))
                if m.group(2):
                    n = int(m.group(3))
                    return A.Binop(self.loc(path), m.group(2), base, self.number(n, path))
                return base
            if re.fullmatch(r"-?[0-9]+", v.strip()):
                n = int(v)
                return A.Number(self.loc(path), n, v.strip())
        self.fail(path, f"expected a priority (integer or name such as \"filter + 10\"), got {_tname(v) if not isinstance(v, str) else repr(v)}")

    def devices(self, v, path) -> A.Expr:
        if isinstance(v, str):
            return A.Symbol(self.loc(path), v) if _SIMPLE_WORD.match(v) else A.String(self.loc(path), v)
        if isinstance(v, list):
            items = []
            for i, x in enumerate(v):
                if not isinstance(x, str):
                    self.fail(f"{path}[{i}]", f"expected string, got {_tname(x)}")
                items.append(self.devices(x, f"{path}[{i}]"))
            return A.SetExpr(self.loc(path), tuple(items))
        self.fail(path, f"expected a device name or an array of device names, got {_tname(v)}")

    def o_chain(self, verb, k, v, path, bare):
        d = self.obj(v, path)
        fam = self.family(d, path)
        tab = self.get(d, "table", path, "s", True)
        if verb == "rename":
            name = self.get(d, "name", path, "s", True)
            newname = self.get(d, "newname", path, "s", True)
            return self.cmd(verb, A.ChainObj(self.loc(path), fam, tab, name), path, newname)
        name, handle = self.name_or_handle(verb, d, path, "chain")
        body: list[A.Node] = []
        if verb in ("add", "create"):
            keys = [x for x in ("type", "hook", "prio") if x in d]
            if keys and len(keys) != 3:
                missing = next(x for x in ("type", "hook", "prio") if x not in d)
                self.fail(path, f'a base chain needs "type", "hook" and "prio": missing required property "{missing}"')
            if keys:
                ctype = self.get(d, "type", path, "s", True)
                hook = self.get(d, "hook", path, "s", True)
                prio = self.prio(d["prio"], _sub(path, "prio"))
                dev = None
                if "dev" in d:
                    dev = self.devices(d["dev"], _sub(path, "dev"))
                body.append(A.ChainType(self.loc(path), ctype, hook, prio, dev))
                pol = self.get(d, "policy", path, "s")
                if pol is not None:
                    self.choice(pol, ("accept", "drop"), _sub(path, "policy"), "policy")
                    body.append(A.Prop(self.loc(_sub(path, "policy")), "policy", pol))
            c = self.get(d, "comment", path, "s")
            if c is not None:
                body.append(A.Prop(self.loc(_sub(path, "comment")), "comment", c))
        return self.cmd(verb, A.ChainObj(self.loc(path), fam, tab, name, handle, tuple(body) or None), path)

    def o_rule(self, verb, k, v, path, bare):
        d = self.obj(v, path)
        fam = self.family(d, path)
        tab = self.get(d, "table", path, "s", True)
        chain = self.get(d, "chain", path, "s", True)
        handle = self.get(d, "handle", path, "u")
        index = self.get(d, "index", path, "u")
        position = None
        if verb in ("delete", "destroy", "reset", "list"):
            if verb != "list" and handle is None:
                self.fail(path, 'missing required property "handle"')
            return self.cmd(verb, A.RuleObj(self.loc(path), fam, tab, chain, None, handle), path)
        if verb == "create":
            self.fail(path, "create command not available for rules")
        if verb == "replace" and handle is None:
            self.fail(path, "handle is required when replacing a rule")
        if verb == "insert" and handle is not None:
            # nft: for insert the handle names the rule to insert before (a position).
            position, handle = handle, None
        elif verb == "add":
            # nft drops the handle of an added rule (list output carries handles).
            handle = None
        exprs = self.get(d, "expr", path, "a", True)
        ep = _sub(path, "expr")
        stmts = []
        for i, x in enumerate(exprs):
            p = f"{ep}[{i}]"
            if not isinstance(x, dict):
                self.fail(p, f"unexpected expr array element of type {_tname(x)}, expected object")
            stmts.append(self.stmt(x, p))
        comment = self.get(d, "comment", path, "s")
        rule = A.Rule(self.loc(ep), tuple(stmts), comment)
        return self.cmd(verb, A.RuleObj(self.loc(path), fam, tab, chain, rule, handle, position, index), path)

    def settype(self, v, path) -> tuple:
        if isinstance(v, str):
            return (v,)
        if isinstance(v, list) and v:
            for i, x in enumerate(v):
                if not isinstance(x, str):
                    self.fail(f"{path}[{i}]", f"expected a datatype name, got {_tname(x)}")
            return tuple(v)
        if isinstance(v, dict) and len(v) == 1 and "typeof" in v:
            return (self.expr(v["typeof"], path + ".typeof"),)
        self.fail(path, f"expected a datatype name or an array of names, got {_tname(v)}")

    def o_set(self, verb, k, v, path, bare):
        d = self.obj(v, path)
        fam = self.family(d, path)
        tab = self.get(d, "table", path, "s", True)
        name, handle = self.name_or_handle(verb, d, path, k)
        if verb not in ("add", "create"):
            return self.cmd(verb, A.SetObj(self.loc(path), k, fam, tab, name, handle), path)
        if "type" not in d:
            self.fail(path, 'missing required property "type"')
        tp = _sub(path, "type")
        key = self.settype(d["type"], tp)
        typeof = isinstance(d["type"], dict)
        data = None
        if "map" in d:
            data = self.settype(d["map"], _sub(path, "map"))
        elif k == "map":
            self.fail(path, 'missing required property "map"')
        body: list[A.Node] = [A.SetType(self.loc(tp), typeof, key, data)]
        pol = self.get(d, "policy", path, "s")
        if "flags" in d:
            fl = self.strlist(d["flags"], _sub(path, "flags"), "set flags")
            for i, f in enumerate(fl):
                self.choice(f, ("constant", "interval", "timeout", "dynamic"), f"{path}.flags[{i}]", "set flag")
            body.append(A.Prop(self.loc(_sub(path, "flags")), "flags", fl))
        for name2 in ("timeout", "gc-interval"):
            t = self.get(d, name2, path, "u")
            if t is not None:
                body.append(A.Prop(self.loc(_sub(path, name2)), name2, self.number(t, _sub(path, name2))))
        size = self.get(d, "size", path, "u")
        if size is not None:
            body.append(A.Prop(self.loc(_sub(path, "size")), "size", size))
        if pol is not None:
            self.choice(pol, ("performance", "memory"), _sub(path, "policy"), "set policy")
            body.append(A.Prop(self.loc(_sub(path, "policy")), "policy", pol))
        if self.get(d, "auto-merge", path, "b"):
            body.append(A.Prop(self.loc(_sub(path, "auto-merge")), "auto-merge", True))
        if "stmt" in d:
            sl = self.get(d, "stmt", path, "a")
            for i, x in enumerate(sl):
                body.append(A.Prop(self.loc(f"{path}.stmt[{i}]"), "stmt", self.stmt(x, f"{path}.stmt[{i}]")))
        c = self.get(d, "comment", path, "s")
        if c is not None:
            body.append(A.Prop(self.loc(_sub(path, "comment")), "comment", c))
        if "elem" in d:
            body.append(A.Prop(self.loc(_sub(path, "elem")), "elements", self.set_literal(d["elem"], _sub(path, "elem"))))
        return self.cmd(verb, A.SetObj(self.loc(path), k, fam, tab, name, None, tuple(body)), path)

    def o_element(self, verb, k, v, path, bare):
        d = self.obj(v, path)
        fam = self.family(d, path)
        tab = self.get(d, "table", path, "s", True)
        name = self.get(d, "name", path, "s", True)
        elems = None
        if "elem" in d:
            e = self.set_literal(d["elem"], _sub(path, "elem"))
            if not isinstance(e, A.SetExpr):
                self.fail(_sub(path, "elem"), "expected set elements, got a set reference")
            elems = e
        elif verb not in ("flush", "list"):
            self.fail(path, 'missing required property "elem"')
        return self.cmd(verb, A.ElementObj(self.loc(path), fam, tab, name, elems), path)

    def o_flowtable(self, verb, k, v, path, bare):
        d = self.obj(v, path)
        fam = self.family(d, path)
        tab = self.get(d, "table", path, "s", True)
        name, handle = self.name_or_handle(verb, d, path, "flowtable")
        if verb not in ("add", "create"):
            return self.cmd(verb, A.FlowtableObj(self.loc(path), fam, tab, name, handle), path)
        hook = self.get(d, "hook", path, "s", True)
        if "prio" not in d:
            self.fail(path, 'missing required property "prio"')
        body: list[A.Node] = [A.ChainType(self.loc(path), "flowtable", hook, self.prio(d["prio"], _sub(path, "prio")))]
        if "dev" in d:
            devs = self.devices(d["dev"], _sub(path, "dev"))
            if not isinstance(devs, A.SetExpr):
                devs = A.SetExpr(devs.loc, (devs,))
            body.append(A.Prop(self.loc(_sub(path, "dev")), "devices", devs))
        fl = self.get(d, "flags", path, "o")
        if fl is not None:
            body.append(A.Prop(self.loc(_sub(path, "flags")), "flags", self.strlist(fl, _sub(path, "flags"), "flowtable flags")))
        return self.cmd(verb, A.FlowtableObj(self.loc(path), fam, tab, name, None, tuple(body)), path)

    def o_stateful(self, verb, k, v, path, bare):
        """counter, quota, limit, ct helper/timeout/expectation, secmark, synproxy objects.

        The body holds ``Prop(name, (values...))`` as the text parser builds them for
        ``add counter ip t c packets 1 bytes 2`` and ``add ct timeout ... { protocol tcp; ... }``."""
        d = self.obj(v, path)
        fam = self.family(d, path)
        tab = self.get(d, "table", path, "s", True)
        if verb in ("delete", "destroy", "list", "reset") and k != "ct helper" or verb == "reset":
            name, handle = self.name_or_handle("delete" if verb != "list" or "name" not in d else "list", d, path, k)
            return self.cmd(verb, A.StatefulObj(self.loc(path), k, fam, tab, name, handle), path)
        name = self.get(d, "name", path, "s", True)
        if verb not in ("add", "create"):
            return self.cmd(verb, A.StatefulObj(self.loc(path), k, fam, tab, name), path)
        body = tuple(_OBJ_BODY[k](self, d, path))
        c = self.get(d, "comment", path, "s")
        if c is not None:
            # the text form: ``comment "x"`` -> Prop("comment", (String,)), as parser.obj_props
            body += (A.Prop(self.loc(_sub(path, "comment")), "comment", (A.String(self.loc(_sub(path, "comment")), c),)),)
        return self.cmd(verb, A.StatefulObj(self.loc(path), k, fam, tab, name, None, body), path)

    def prop(self, path, name, *vals) -> A.Prop:
        return A.Prop(self.loc(_sub(path, name)), name, tuple(vals))

    def sym(self, path, key, s) -> A.Expr:
        return self.word(s, self.loc(_sub(path, key)))

    def b_counter(self, d, path):
        for name in ("packets", "bytes"):
            n = self.get(d, name, path, "u")
            if n is not None:
                yield self.prop(path, name, self.number(n, _sub(path, name)))

    def b_quota(self, d, path):
        n = self.get(d, "bytes", path, "u", True)
        inv = self.get(d, "inv", path, "b", default=False)
        yield self.prop(path, "over" if inv else "value", self.number(n, _sub(path, "bytes")), A.Symbol(self.loc(_sub(path, "bytes")), "bytes"))
        used = self.get(d, "used", path, "u")
        if used:
            yield self.prop(path, "used", self.number(used, _sub(path, "used")), A.Symbol(self.loc(_sub(path, "used")), "bytes"))

    def b_limit(self, d, path):
        rate = self.get(d, "rate", path, "u", True)
        per = self.get(d, "per", path, "s", True)
        unit = self.get(d, "rate_unit", path, "s", default="packets")
        inv = self.get(d, "inv", path, "b", default=False)
        vals: list = [self.number(rate, _sub(path, "rate"))]
        if unit != "packets":
            vals.append(A.Symbol(self.loc(_sub(path, "rate_unit")), unit))
        vals.append(A.Symbol(self.loc(_sub(path, "per")), per))
        yield self.prop(path, "rate", *vals) if not inv else A.Prop(self.loc(_sub(path, "rate")), "rate", (A.Symbol(self.loc(path), "over"), *vals))
        burst = self.get(d, "burst", path, "u")
        if burst:
            bunit = self.get(d, "burst_unit", path, "s", default="bytes" if unit != "packets" else "packets")
            yield self.prop(path, "burst", self.number(burst, _sub(path, "burst")), A.Symbol(self.loc(_sub(path, "burst_unit")), bunit))

    def b_ct_helper(self, d, path):
        t = self.get(d, "type", path, "s", True)
        yield self.prop(path, "type", A.String(self.loc(_sub(path, "type")), t))
        p = self.get(d, "protocol", path, "s")
        if p is not None:
            self.choice(p, ("tcp", "udp"), _sub(path, "protocol"), "ct helper protocol")
            yield self.prop(path, "protocol", A.Symbol(self.loc(_sub(path, "protocol")), p))
        l3 = self.get(d, "l3proto", path, "s")
        if l3 is not None:
            yield self.prop(path, "l3proto", A.Symbol(self.loc(_sub(path, "l3proto")), l3))

    def b_ct_timeout(self, d, path):
        p = self.get(d, "protocol", path, "s")
        if p is not None:
            yield self.prop(path, "protocol", A.Symbol(self.loc(_sub(path, "protocol")), p))
        l3 = self.get(d, "l3proto", path, "s")
        if l3 is not None:
            yield self.prop(path, "l3proto", A.Symbol(self.loc(_sub(path, "l3proto")), l3))
        if "policy" in d:
            pp = _sub(path, "policy")
            pol = self.obj(d["policy"], pp, "an object {STATE: SECONDS, ...}")
            maps = []
            for st, sec in pol.items():
                if not _is_int(sec) or sec < 0:
                    self.fail(_sub(pp, st), f"expected non-negative integer, got {_tname(sec)}")
                maps.append(A.Mapping(self.loc(_sub(pp, st)), A.Symbol(self.loc(_sub(pp, st)), st), self.number(sec, _sub(pp, st))))
            yield self.prop(path, "policy", A.SetExpr(self.loc(pp), tuple(maps)))

    def b_ct_expectation(self, d, path):
        for name, kind in (("protocol", "s"), ("dport", "u"), ("timeout", "u"), ("size", "u"), ("l3proto", "s")):
            x = self.get(d, name, path, kind)
            if x is None:
                continue
            val = self.number(x, _sub(path, name)) if kind == "u" else A.Symbol(self.loc(_sub(path, name)), x)
            if name == "timeout":
                # libnftables-json(5): the expectation timeout is in milliseconds.
                val = A.Symbol(self.loc(_sub(path, name)), f"{x}ms")
            yield self.prop(path, name, val)

    def b_secmark(self, d, path):
        c = self.get(d, "context", path, "s")
        if c is not None:
            yield A.Prop(self.loc(_sub(path, "context")), "value", c)

    def b_synproxy(self, d, path):
        for name in ("mss", "wscale"):
            n = self.get(d, name, path, "u")
            if n is not None:
                yield self.prop(path, name, self.number(n, _sub(path, name)))
        if "flags" in d:
            fl = self.strlist(d["flags"], _sub(path, "flags"), "synproxy flags")
            for f in fl:
                yield self.prop(path, f)

    def o_ruleset(self, verb, k, v, path, bare):
        fam = None
        if isinstance(v, dict):
            fam = self.family(v, path, required=False)
        elif v is not None:
            self.fail(path, f"expected null or an object, got {_tname(v)}")
        return self.cmd(verb, A.RulesetObj(self.loc(path), fam), path)

    def o_plural(self, verb, k, v, path, bare):
        fam = tab = None
        if isinstance(v, dict):
            fam = self.family(v, path, required=False)
            tab = self.get(v, "table", path, "s")
        elif v is not None:
            self.fail(path, f"expected null or an object, got {_tname(v)}")
        if k == "ct helpers" and tab is None:
            self.fail(path, "listing ct helpers requires a table reference")
        return self.cmd(verb, A.ListObj(self.loc(path), k, fam, tab), path)


def _sub(path: str, key: str) -> str:
    """JSON path of property ``key``: ``.key``, or ``["ct helper"]`` when it is not a plain name."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]"


_R = _Reader
_ALL = RHS | STMT | PRIMARY | SET_RHS | SES | MAP
# Expression key -> (handler, contexts where it may appear); nft parser_json.c json_parse_expr.
_EXPRS = {
    "concat": (_R.e_concat, RHS | STMT | DTYPE | SET_RHS | SES | MAP),
    "set": (_R.e_set, RHS | STMT),
    "map": (_R.e_map, STMT | PRIMARY | SET_RHS),
    # nft 1.0.6 takes ranges and prefixes inside concatenations and map data too
    # (its own listing prints them there: "10.141.10.0/24 . 8888-8999").
    "prefix": (_R.e_prefix, RHS | STMT | PRIMARY | SET_RHS),
    "range": (_R.e_range, RHS | STMT | PRIMARY | SET_RHS),
    "payload": (_R.e_payload, STMT | PRIMARY | SET_RHS | MANGLE | SES | MAP),
    "exthdr": (_R.e_exthdr, PRIMARY | SET_RHS | SES | MAP),
    "tcp option": (_R.e_tcp_option, PRIMARY | SET_RHS | MANGLE | SES),
    "ip option": (_R.e_ip_option, PRIMARY | SET_RHS | MANGLE | SES),
    "sctp chunk": (_R.e_sctp_chunk, PRIMARY | SET_RHS | SES),
    "meta": (_R.e_meta, STMT | PRIMARY | SET_RHS | MANGLE | SES | MAP),
    "osf": (_R.e_osf, STMT | PRIMARY | MAP),
    "ipsec": (_R.e_ipsec, PRIMARY | MAP),
    "socket": (_R.e_socket, PRIMARY),
    "rt": (_R.e_rt, STMT | PRIMARY | SET_RHS | SES | MAP),
    "ct": (_R.e_ct, STMT | PRIMARY | SET_RHS | MANGLE | SES | MAP),
    "numgen": (_R.e_numgen, STMT | PRIMARY | SET_RHS | SES | MAP),
    "jhash": (_R.e_hash, STMT | PRIMARY | SET_RHS | SES | MAP),
    "symhash": (_R.e_hash, STMT | PRIMARY | SET_RHS | SES | MAP),
    "fib": (_R.e_fib, PRIMARY | SET_RHS | SES | MAP),
    "|": (_R.e_binop, _ALL),
    "^": (_R.e_binop, _ALL),
    "&": (_R.e_binop, _ALL),
    ">>": (_R.e_binop, _ALL),
    "<<": (_R.e_binop, _ALL),
    "accept": (_R.e_verdict, RHS | SET_RHS),
    "drop": (_R.e_verdict, RHS | SET_RHS),
    "continue": (_R.e_verdict, RHS | SET_RHS),
    "jump": (_R.e_verdict, RHS | SET_RHS),
    "goto": (_R.e_verdict, RHS | SET_RHS),
    "return": (_R.e_verdict, RHS | SET_RHS),
    "elem": (_R.e_elem, RHS | STMT | PRIMARY | SES),
}

# Statement key -> handler; nft parser_json.c json_parse_stmt.
_STMTS = {
    "accept": _R.s_verdict, "drop": _R.s_verdict, "continue": _R.s_verdict,
    "jump": _R.s_verdict, "goto": _R.s_verdict, "return": _R.s_verdict,
    "match": _R.s_match,
    "counter": _R.s_counter,
    "mangle": _R.s_mangle,
    "quota": _R.s_quota,
    "limit": _R.s_limit,
    "fwd": _R.s_fwd,
    "notrack": _R.s_notrack,
    "dup": _R.s_dup,
    "snat": _R.s_nat, "dnat": _R.s_nat, "masquerade": _R.s_nat, "redirect": _R.s_nat,
    "reject": _R.s_reject,
    "set": _R.s_set,
    "map": _R.s_set,
    "log": _R.s_log,
    "ct helper": _R.s_ct_obj, "ct timeout": _R.s_ct_obj, "ct expectation": _R.s_ct_obj,
    "secmark": _R.s_objref,
    "meter": _R.s_meter,
    "queue": _R.s_queue,
    "vmap": _R.s_vmap,
    "ct count": _R.s_connlimit,
    "tproxy": _R.s_tproxy,
    "synproxy": _R.s_synproxy,
    "reset": _R.s_reset,
    "flow": _R.s_flow,
    "xt": _R.s_xt,
}

_OBJ_BODY = {
    "counter": _R.b_counter, "quota": _R.b_quota, "limit": _R.b_limit,
    "ct helper": _R.b_ct_helper, "ct timeout": _R.b_ct_timeout,
    "ct expectation": _R.b_ct_expectation, "secmark": _R.b_secmark, "synproxy": _R.b_synproxy,
}
_ADD_OBJECTS = {
    "table": _R.o_table, "chain": _R.o_chain, "rule": _R.o_rule, "set": _R.o_set, "map": _R.o_set,
    "element": _R.o_element, "flowtable": _R.o_flowtable,
    **{k: _R.o_stateful for k in _OBJ_BODY},
}
_PLURALS = ("tables", "chains", "sets", "maps", "counters", "quotas", "ct helpers", "limits",
            "meters", "flowtables", "secmarks", "synproxys")
# Verb -> the objects it takes (nft parser_json.c json_parse_cmd_*).
_VERB_OBJECTS = {
    "add": _ADD_OBJECTS,
    "create": _ADD_OBJECTS,
    "insert": {"rule": _R.o_rule},
    "replace": {"rule": _R.o_rule},
    "delete": _ADD_OBJECTS,
    "destroy": _ADD_OBJECTS,
    "list": {**_ADD_OBJECTS, "meter": _R.o_set, "ruleset": _R.o_ruleset, **{k: _R.o_plural for k in _PLURALS}},
    "reset": {"counter": _R.o_stateful, "quota": _R.o_stateful, "rule": _R.o_rule,
              "counters": _R.o_plural, "quotas": _R.o_plural},
    "flush": {"table": _R.o_table, "chain": _R.o_chain, "set": _R.o_set, "map": _R.o_set,
              "meter": _R.o_set, "ruleset": _R.o_ruleset},
    "rename": {"chain": _R.o_chain},
}


_WS = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null")


def _value_spans(text: str) -> dict[str, tuple[int, int]]:
    """JSON path -> (start, end) offsets of every value in ``text`` (already known valid).

    Only used to place an error: Python's json module keeps no positions, so the
    document is scanned a second time, by this small reader, when something is wrong."""
    spans: dict[str, tuple[int, int]] = {}
    scanstring = json.decoder.scanstring

    def value(pos: int, path: str) -> int:
        pos = _WS.match(text, pos).end()
        start = pos
        c = text[pos]
        if c == "{":
            pos = _WS.match(text, pos + 1).end()
            if text[pos] == "}":
                pos += 1
            else:
                while True:
                    key, pos = scanstring(text, _WS.match(text, pos).end() + 1)
                    pos = _WS.match(text, pos).end() + 1  # the ':'
                    pos = _WS.match(text, value(pos, _sub(path, key))).end()
                    pos += 1
                    if text[pos - 1] == "}":
                        break
        elif c == "[":
            pos = _WS.match(text, pos + 1).end()
            if text[pos] == "]":
                pos += 1
            else:
                i = 0
                while True:
                    pos = _WS.match(text, value(pos, f"{path}[{i}]")).end() + 1
                    i += 1
                    if text[pos - 1] == "]":
                        break
        elif c == '"':
            pos = scanstring(text, pos + 1)[1]
        else:
            pos = _SCALAR.match(text, pos).end()
        spans[path] = (start, pos)
        return pos

    value(0, "$")
    return spans


def _error_location(text: str | None, filename: str, path: str) -> Location:
    """The line and columns of the value at ``path`` in ``text`` (line 0 without text)."""
    if text is None:
        return Location(filename, 0)
    try:
        spans = _value_spans(text)
    except (IndexError, ValueError, RecursionError, AttributeError):  # pragma: no cover - text was valid JSON
        return Location(filename, 0)
    p = path
    while p not in spans and p != "$":
        # A missing property: point at the object that lacks it.
        p = re.sub(r'(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[^\[\]]*\]|\["(?:[^"\\]|\\.)*"\])$', "", p) or "$"
    start, end = spans.get(p, (0, 0))
    line = text.count("\n", 0, start) + 1
    bol = text.rfind("\n", 0, start) + 1
    eol = text.find("\n", start)
    eol = len(text) if eol < 0 else eol
    first = start - bol + 1
    last = min(end, eol) - bol
    return Location(filename, line, first, max(first, last), text[bol:eol])


def _reject_constant(name: str):
    raise ValueError(f"invalid JSON value {name}")


class InvalidJSON(SyntaxError_):
    """Text jansson would not load (not JSON, not UTF-8, NaN, nested deeper than
    JSON_MAX_DEPTH).  libnftables 1.0.6 then reads the same text as nft syntax
    (nft_run_cmd_from_filename/_buffer: the JSON parser's -EINVAL falls through to
    bison), so a front end catches this and parses the text instead: nft prints only
    bison's errors ("syntax error, unexpected '{'"), measured in a netns."""


#: jansson's JSON_PARSER_MAX_DEPTH: an array or object nested deeper fails to load
JSON_MAX_DEPTH = 2048
_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET_RE = re.compile(r"[\[\]{}]")


def _json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (strings skipped)."""
    depth = top = 0
    for m in _BRACKET_RE.finditer(_STRING_RE.sub("", text)):
        if m.group() in "[{":
            depth += 1
            top = max(top, depth)
        else:
            depth -= 1
    return top


def _loads(text: str):
    # jansson (nft's JSON library) refuses NaN and Infinity; so do we.
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        pass
    # deeper than Python's stack allows by default: jansson takes up to JSON_MAX_DEPTH
    if _json_depth(text) > JSON_MAX_DEPTH:
        raise RecursionError
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 4 * JSON_MAX_DEPTH + 1000))
    try:
        return json.loads(text, parse_constant=_reject_constant)
    finally:
        sys.setrecursionlimit(old)


def parse_json(text_or_obj, filename: str = "<json>") -> A.Script:
    """Read a libnftables JSON document (text, bytes, or already decoded) into a Script.

    Raises :class:`InvalidJSON` (a :class:`~pkttables.errors.SyntaxError_`) for text
    that is not JSON as jansson reads it, and :class:`~pkttables.errors.SyntaxError_`
    with one diagnostic naming the JSON path of a bad value."""
    doc = text_or_obj
    text = None
    if isinstance(text_or_obj, (bytes, bytearray)):
        try:
            text_or_obj = bytes(text_or_obj).decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidJSON(Diagnostic(Location(filename, 0), f"JSON input is not UTF-8: byte offset {e.start}")) from None
    if isinstance(text_or_obj, str):
        text = text_or_obj
        if not text.isascii():
            try:
                text.encode("utf-8")        # read with surrogateescape: jansson wants UTF-8
            except UnicodeEncodeError as e:
                raise InvalidJSON(Diagnostic(Location(filename, 0), f"JSON input is not UTF-8: offset {e.start}")) from None
        try:
            doc = _loads(text_or_obj)
        except json.JSONDecodeError as e:
            lines = text_or_obj.split("\n")
            line_text = lines[e.lineno - 1] if 0 < e.lineno <= len(lines) else None
            loc = Location(filename, e.lineno, e.colno, e.colno, line_text)
            raise InvalidJSON(Diagnostic(loc, f"invalid JSON: {e.msg}")) from None
        except ValueError as e:
            raise InvalidJSON(Diagnostic(Location(filename, 0), f"invalid JSON: {e}")) from None
        except RecursionError:
            raise InvalidJSON(Diagnostic(Location(filename, 0), "invalid JSON: nested too deeply")) from None
    r = _Reader(filename)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 8 * JSON_MAX_DEPTH + 1000))
    try:
        script = r.document(doc)
        _check_names(script)
        return script
    except _JErr as e:
        loc = _error_location(text, filename, e.path)
        raise SyntaxError_(Diagnostic(loc, f"{e.path}: {e.message}")) from None
    except RecursionError:
        raise SyntaxError_(Diagnostic(Location(filename, 0), "JSON document nested too deeply")) from None
    finally:
        sys.setrecursionlimit(old)


def _check_names(script: A.Script) -> None:
    """nft 1.0.6 checks the names of every command's handle before evaluating any
    (cache.c ``nft_handle_validate``), for JSON input too: the first name past
    NFT_NAME_MAXLEN fails the whole document (lang/parser.py ``command_names``)."""
    from .parser import NAME_TOO_LONG, NFT_NAME_MAXLEN, command_names
    for cmd in script.commands:
        for name in command_names(cmd.obj):
            if isinstance(name, str) and len(name) > NFT_NAME_MAXLEN:
                raise SyntaxError_(Diagnostic(cmd.obj.loc, NAME_TOO_LONG))
