"""``nft describe EXPR``: resolve an expression (or a datatype name) and print it as
nft 1.0.6 does.  Golden outputs: tests/unit/types/describe_golden.json."""

from __future__ import annotations

import re

from .. import proto as P
from ..errors import EvalError
from ._datatypes import DATATYPES, Datatype

__all__ = ["describe", "resolve_expr"]

# Datatypes nft's lookup-by-name does not know (``describe ct_label`` is a symbol).
_NOT_BY_NAME = {"lladdr", "ct_label", "ct_event", "time_date"}
# Words the scanner turns into keywords, so they cannot name a datatype.
_KEYWORDS = {"ecn", "tcp", "udp", "ip", "ip6", "meta", "ct", "rt", "fib", "vlan", "arp", "ether"}


def resolve_expr(text: str) -> tuple[str, str, int] | None:
    """``(expression kind, datatype key, length in bits)`` for an expression, else None."""
    w = text.split()
    if not w:
        return None
    head, rest = w[0], w[1:]
    key = " ".join(rest)
    if head == "meta" and rest:
        name = P.META_KEY_ALIASES.get(key, (key,))[0]
        if name in P.META_KEYS:
            m = P.META_KEYS[name]
            return "meta", m.dtype_name, m.len_bits
        raise EvalError(f"syntax error, unexpected {key}")
    if len(w) == 1:
        name, unq = P.META_KEY_ALIASES.get(head, (head, False))
        m = P.META_KEYS.get(name)
        if m is not None and (m.unqualified if name == head else unq):
            return "meta", m.dtype_name, m.len_bits
        return None
    if head == "ct":
        has_dir = rest[0] in ("original", "reply")
        ck = " ".join(rest[1:] if has_dir else rest)
        k = P.CT_KEYS.get(ck)
        if k is None or (has_dir and k.dir is P.CtDirRule.NONE) or (not has_dir and k.dir is P.CtDirRule.REQUIRED):
            raise EvalError(f"syntax error, unexpected {ck.split()[0] if ck else 'newline'}")
        return "ct", k.dtype_name, k.len_bits
    if head == "rt" and key in P.RT_KEYS:
        k = P.RT_KEYS[key]
        return "rt", k.dtype_name, k.len_bits
    if head == "fib" and rest[-1] in P.FIB_RESULTS:
        r = P.FIB_RESULTS[rest[-1]]
        return "fib", r.dtype_name, r.len_bits
    if head == "socket" and rest[0] in P.SOCKET_KEYS:
        k = P.SOCKET_KEYS[rest[0]]
        return "socket", k.dtype_name, k.len_bits
    if head == "ipsec" and len(rest) >= 2:
        k = P.XFRM_KEYS.get(" ".join(rest[1:]))
        if k is not None:
            return "xfrm", k.dtype_name, k.len_bits
    if head == "osf":
        dt, bits = P.OSF_KEYS[rest[-1]]
        return "osf", dt, bits
    if head in ("numgen", "jhash", "symhash"):
        return ("numgen" if head == "numgen" else "hash"), "integer", 32
    for words, table in (("tcp option", P.TCP_OPTIONS), ("ip option", P.IP_OPTIONS), ("sctp chunk", P.SCTP_CHUNKS)):
        if " ".join(w[:2]) == words:
            hdr = table.get(w[2]) if len(w) > 2 else None
            if hdr is None:
                if words == "tcp option" and len(w) > 2 and w[2].isdigit():
                    f = P.TCP_OPTION_GENERIC_FIELDS[w[3]] if len(w) > 3 else P.TCP_OPTION_GENERIC_FIELDS["kind"]
                    return "exthdr", f.dtype_name, f.len_bits
                raise EvalError("syntax error")
            f = hdr.fields[w[3]] if len(w) > 3 else next(iter(hdr.fields.values()))
            return "exthdr", f.dtype_name, f.len_bits
    if head in P.IPV6_EXTHDRS:
        hdr = P.IPV6_EXTHDRS[head]
        if head in ("rt0", "rt2") and not key.startswith("addr") or key == "addr" and head == "rt2":
            # nft 1.0.6: "rt0 reserved" is a syntax error; "rt2 addr" crashes nft describe
            raise EvalError("syntax error, unexpected string, expecting addr")
        fname = re.sub(r"\[\d+\]$", "", key)
        if fname in hdr.fields:
            f = hdr.fields[fname]
            return "exthdr", f.dtype_name, f.len_bits
    proto = P.PROTOCOLS.get(P.PROTOCOL_ALIASES.get(head, head))
    if proto is not None and key in proto.fields:
        f = proto.fields[key]
        return "payload", f.dtype_name, f.len_bits
    raise EvalError(f"syntax error, unexpected {rest[0]}")


def _symbol_lines(dt: Datatype, expr: bool) -> str:
    if not dt.symbols:
        return ""
    if dt.name == "inet_proto":
        # printed from the protocols database, without a heading
        return "".join(f"\t{n:<30}\t{v}\n" for n, v in dt.symbols)
    out = "\npre-defined symbolic constants (in {}):\n".format("hexadecimal" if dt.sym_hex else "decimal")
    width = 2 * ((dt.size_bits + 7) // 8)
    for n, v in dt.symbols:
        if not expr and dt.byteorder is P.ByteOrder.BIG and dt.size_bits == 16:
            # without an expression nft prints the stored network-order constant as a
            # host number: "describe ether_type" shows ip as 0x0008
            v = int.from_bytes(v.to_bytes(2, "big"), "little")
        out += f"\t{n:<30}\t0x{v:0{width}x}\n" if dt.sym_hex else f"\t{n:<30}\t{v:>20}\n"
    return out


def _type_line(dt: Datatype, bits: int, expr: bool) -> str:
    if dt.name == "invalid" and expr:
        return "datatype invalid (invalid)"
    chain = dt.chain()
    base = f" (basetype {', '.join(b.desc for b in chain)})" if chain else ""
    size = f"{bits // 8} characters" if expr and dt.is_string() else f"{bits} bits"
    return f"datatype {dt.name} ({dt.desc}){base}, {size}\n" + _symbol_lines(dt, expr)


def describe(text: str) -> str:
    """Exactly what ``nft describe TEXT`` prints on stdout (raises EvalError on errors)."""
    r = resolve_expr(text)
    if r is not None:
        kind, key, bits = r
        return f"{kind} expression, " + _type_line(DATATYPES[key], bits, True)
    name = text.strip()
    if name in _KEYWORDS:
        raise EvalError(f"syntax error, unexpected {name}")
    dt = DATATYPES.get(name)
    if dt is None or name in _NOT_BY_NAME:
        return "symbol expression, datatype invalid (invalid)"
    return _type_line(dt, dt.size_bits, False)
