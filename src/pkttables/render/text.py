"""``nft list`` text from the model, byte for byte as nft 1.0.6 prints it.

Theory of operation
-------------------
nft prints a table (``src/rule.c`` ``table_print``) as: the header ``table FAMILY NAME {``
(``# handle N`` with ``-a``), ``flags`` (followed by a blank line) and ``comment`` lines,
then stateful objects, named sets and maps, flowtables and chains, each block separated
from the previous one by a blank line, each line indented with tabs.  A chain prints its
hook line ``type T hook H [device "D"] priority P; policy X;``, its comment, then one
line per rule: the delinearized statements (:mod:`.delinearize`), ``comment "..."`` and
with ``-a`` `` # handle N``.

Set elements follow nft's ``set_expr_print``/``calculate_delim``: ``elements = { a, b,``
with a line break (``,\\n\\t\\t\\t     ``) after every 5 integers/ports/marks, every 2
IPv4 addresses/ct states, after every element of other types (IPv6, concatenations),
never in anonymous sets.

The ``list`` commands other than ``list ruleset`` print the same blocks without the blank
lines between them (``list sets``, ``list counters``, ...) and ``table X {`` wrappers for
every table, as nft's ``do_list_*`` do.  All functions take :class:`ListOptions`.

Stateful object ``spec`` keys read here (the model keeps them as given):
counter ``packets bytes``; quota ``bytes used over``; limit ``rate unit burst type over``;
ct helper ``type protocol l3proto``; ct timeout ``protocol l3proto policy``;
ct expectation ``protocol dport timeout size l3proto``; synproxy ``mss wscale flags``;
secmark ``context``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Mapping

from pkttables.model import Chain, Element, Flowtable, Rule, Ruleset, Set, StatefulObject, Table
from pkttables.proto import ByteOrder, priority_name
from pkttables.types import DATATYPES, Datatype, resolve_expr

from ._dump import (AnonSet, SetElem, SET_ANONYMOUS, SET_EVAL, SET_INTERVAL, SET_MAP, SET_OBJECT,
                    SET_TIMEOUT)
from .delinearize import (DelinearizeError, Named, _bitmask_text, _data_unit, _ms_text, delinearize,
                          fmt_value)
from .options import ListOptions

__all__ = [
    "list_ruleset", "list_table", "list_tables", "list_chain", "list_chains", "list_sets", "list_set",
    "list_maps", "list_objects", "list_object", "list_flowtable", "list_flowtables", "rule_line", "set_block",
]

_NEWLINE = ",\n\t\t\t     "
# nft's calculate_delim: types broken every 5 elements, and every 2
_EVERY5 = {"nf_proto", "integer", "arp_op", "inet_proto", "inet_service", "tcp_flag", "dccp_pkttype",
           "mark", "iface_index", "classid", "uid", "gid", "ct_dir"}
_EVERY2 = {"ipv4_addr", "ct_state", "ct_status", "pkt_type"}

_TCP_TIMEOUTS = {"syn_sent": 120, "syn_recv": 60, "established": 432000, "fin_wait": 120,
                 "close_wait": 60, "last_ack": 30, "time_wait": 120, "close": 10, "syn_sent2": 120,
                 "retrans": 300, "unack": 300}
_OBJ_ORDER = ("counter", "quota", "limit", "ct helper", "ct timeout", "ct expectation", "synproxy", "secmark")


def _o(opts: ListOptions | None) -> ListOptions:
    return opts or ListOptions()


def _handle(h: int, o: ListOptions) -> str:
    return f" # handle {h}" if o.handle else ""


def _quote(s: str) -> str:
    return '"' + s.replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------- types & values


def _dtype_names(t: Any, typeof: bool = False) -> list[str]:
    """A set's key/data type as datatype names (one per concatenated component)."""
    if t is None:
        return []
    if typeof and isinstance(t, str):
        out = []
        for part in t.split(" . "):
            try:
                out.append(resolve_expr(part.strip())[1])
            except Exception:
                out.append("integer")
        return out
    if isinstance(t, Datatype):
        return [t.key]
    if isinstance(t, str):
        return [p.strip() for p in t.split(".") if p.strip()]
    if isinstance(t, (tuple, list)):
        out: list[str] = []
        for x in t:
            out.extend(_dtype_names(x))
        return out
    name = getattr(t, "dtype_name", None) or getattr(t, "name", None)
    return [str(name)] if name else [str(t)]


def _key_names(s: Set) -> list[str]:
    """The datatype names of the key parts (legacy: typeof expression text)."""
    if s.typeof and not s.key_typeof and isinstance(s.key_type, str):
        return _dtype_names(s.key_type, True)
    return _dtype_names(s.key_type)


def _type_names_text(t: Any) -> list[str]:
    return [DATATYPES[n].name if n in DATATYPES else n for n in _dtype_names(t)]


def _msort_value(names: list[str], key: Any) -> int:
    """nft's expr_msort_value (src/mergesort.c): a value's number in its byte order; a
    concatenation's parts in their byte orders, joined, read host-endian."""
    if isinstance(key, tuple):
        return int.from_bytes(b"".join(bytes(k) for k in key), "little")
    if not isinstance(key, (bytes, bytearray)):
        return 0
    dt = _dt(names[0]) if names else None
    host = dt is not None and (dt.is_string() or dt.byteorder is ByteOrder.HOST)
    return int.from_bytes(key, "little" if host else "big")


def sorted_elements(s: Set) -> list[Element]:
    """The elements in nft's listing order: ``list_expr_sort`` of every set's elements
    (interval sets by their low end), the catch-all element last."""
    names = _key_names(s)
    plain = [e for e in s.elements if not (getattr(e, "flags", 0) & 2)]
    rest = [e for e in s.elements if getattr(e, "flags", 0) & 2]
    return sorted(plain, key=lambda e: _msort_value(names, e.key)) + rest


def _type_text(t: Any, typeof: bool) -> str:
    if typeof:
        if isinstance(t, (tuple, list)):
            return "typeof " + " . ".join(str(x) for x in t)
        return f"typeof {t}"
    return " . ".join(DATATYPES[n].name if n in DATATYPES else n for n in _dtype_names(t))


def _dt(name: str) -> Datatype:
    return DATATYPES.get(name, DATATYPES["integer"])


def _value_text(dtname: str, v: Any, o: ListOptions) -> str:
    dt = _dt(dtname)
    if isinstance(v, (bytes, bytearray)) and not dt.is_string():
        v = dt.from_reg(bytes(v))
    e = Named(dt, dt.byteorder, dt.size_bits or 32, "")
    try:
        return fmt_value(e, v, o)
    except Exception:   # a value of the wrong shape: never fail a listing over it
        return str(v)


def _key_text(names: list[str], key: Any, o: ListOptions) -> str:
    if isinstance(key, tuple) and len(names) > 1:
        return " . ".join(_value_text(n, k, o) for n, k in zip(names, key))
    return _value_text(names[0] if names else "integer", key, o)


def _as_int(dtname: str, v: Any) -> int | None:
    if isinstance(v, int):
        return v
    if isinstance(v, (bytes, bytearray)):
        r = _dt(dtname).from_reg(bytes(v))
        return r if isinstance(r, int) else None
    return None


def _range_text(names: list[str], lo: Any, hi: Any, o: ListOptions) -> str:
    if len(names) == 1:
        n = names[0]
        a, b = _as_int(n, lo), _as_int(n, hi)
        if a is not None and b is not None:
            if a == b:
                return _value_text(n, a, o)
            size = b - a + 1
            bits = _dt(n).size_bits
            if n in ("ipv4_addr", "ipv6_addr") and size & (size - 1) == 0 and a % size == 0:
                return f"{_value_text(n, a, o)}/{bits - (size.bit_length() - 1)}"
    if isinstance(lo, tuple) and isinstance(hi, tuple):
        return " . ".join(_range_text([n], a, b, o) for n, a, b in zip(names, lo, hi))
    return f"{_key_text(names, lo, o)}-{_key_text(names, hi, o)}"


def _time_text(ms: int, o: ListOptions) -> str:
    if o.numeric_time or o.numeric:
        return f"{ms // 1000}s"     # nft -T / -n: whole seconds
    return _ms_text(ms)


def _stmt_text(st: Any, o: ListOptions) -> str:
    """A per-element / set-wide statement: a dump line, or an object with text()."""
    if isinstance(st, str) and st.strip().startswith("["):
        try:
            return " ".join(x.text for x in delinearize([st], "ip", (), o))
        except Exception:
            return st
    t = getattr(st, "text", None)
    if callable(t):
        return t(o)
    return str(st)


def _data_text(s: Set, data: Any, o: ListOptions) -> str:
    if isinstance(data, str):
        if "object" in s.flags:
            return _quote(data)
        return data
    names = _dtype_names(s.data_type)
    if not names or names == ["verdict"]:
        return str(data)
    if isinstance(data, tuple) and len(data) == 2 and len(names) == 1 and not isinstance(data[0], tuple) \
            and s.flags and "interval" in s.flags and False:
        return str(data)
    return _key_text(names, data, o)


def element_text(s: Set, el: Element, o: ListOptions) -> str:
    names = _key_names(s)
    if el.key_end is not None:
        t = _range_text(names, el.key, el.key_end, o)
    else:
        t = _key_text(names, el.key, o)
    for st in el.stmts:
        t += " " + _stmt_text(st, o)
    if el.timeout is not None:
        t += " timeout " + _time_text(el.timeout, o)
    if el.expires is not None and not o.stateless:
        t += " expires " + _time_text(el.expires, o)
    if el.comment is not None:
        t += " comment " + _quote(el.comment)
    if s.is_map and el.data is not None:
        t += " : " + _data_text(s, el.data, o)
    return t


def elements_block(s: Set, o: ListOptions, anonymous: bool = False) -> str:
    """``{ a, b,\\n\\t\\t\\t     c }`` as nft's set_expr_print breaks it."""
    names = _key_names(s)
    key = names[0] if len(names) == 1 else None
    out = "{ "
    count = 0
    for i, el in enumerate(sorted_elements(s)):
        if i:
            out += _delim(key, count, anonymous)
            if out.endswith(_NEWLINE):
                count = 0
        out += element_text(s, el, o)
        count += 1
    return out + " }"


def _delim(key: str | None, count: int, anonymous: bool) -> str:
    if anonymous:
        return ", "
    if key in _EVERY5:
        return ", " if count < 5 else _NEWLINE
    if key in _EVERY2:
        return ", " if count < 2 else _NEWLINE
    return _NEWLINE


# ---------------------------------------------------------------------------- sets


_SET_FLAG_ORDER = ("constant", "dynamic", "interval", "timeout")


def set_block(s: Set, o: ListOptions | None = None, indent: str = "\t") -> str:
    o = _o(o)
    kind = "map" if s.is_map else "set"
    i2 = indent + "\t"
    lines = [f"{indent}{kind} {s.name} {{{_handle(s.handle, o)}"]
    if s.typeof and s.key_typeof:
        ktype = "typeof " + " . ".join(s.key_typeof)
        if s.is_map:
            dtype = s.data_typeof or " . ".join(_type_names_text(s.data_type))
            ktype += f" : {dtype}"
        lines.append(f"{i2}{ktype}")
    else:
        ktype = _type_text(s.key_type, s.typeof)
        if s.is_map:
            dtype = _type_text(s.data_type, s.typeof and not _is_plain(s.data_type))
            if s.typeof and dtype.startswith("typeof "):
                dtype = dtype[len("typeof "):]
            lines.append(f"{i2}type {ktype} : {dtype}" if not s.typeof else f"{i2}{ktype} : {dtype}")
        else:
            lines.append(f"{i2}{ktype}" if s.typeof else f"{i2}type {ktype}")
    if s.policy and s.policy != "performance":
        lines.append(f"{i2}policy {s.policy}")
    if s.size:
        lines.append(f"{i2}size {s.size}")
    flags = [f for f in _SET_FLAG_ORDER if f in s.flags]
    if flags == ["timeout"] and s.timeout is not None:
        flags = []          # nft 1.0.6: implied by the default timeout when alone
    if flags:
        lines.append(f"{i2}flags {','.join(flags)}")
    # nft 1.0.6 set_print_declaration's order (measured): flags, statements,
    # auto-merge, timeout, gc-interval, comment; the elements come last
    if s.stmts:
        # nft prints the set's statement templates stateless (set_print_declaration)
        so = replace(o, stateless=True)
        lines.append(i2 + " ".join(_stmt_text(st, so) for st in s.stmts))
    if s.auto_merge:
        lines.append(f"{i2}auto-merge")
    if s.timeout is not None:
        lines.append(f"{i2}timeout {_time_text(s.timeout, o)}")
    if s.gc_interval is not None:
        lines.append(f"{i2}gc-interval {_time_text(s.gc_interval, o)}")
    if s.comment is not None:
        lines.append(f"{i2}comment {_quote(s.comment)}")
    if s.elements and not o.terse:
        lines.append(f"{i2}elements = {elements_block(s, o)}")
    lines.append(f"{indent}}}")
    return "\n".join(lines) + "\n"


def _is_plain(t: Any) -> bool:
    return isinstance(t, (str, Datatype))


def _is_anonymous(s: Set) -> bool:
    return "anonymous" in s.flags or s.name.startswith("__")


# ---------------------------------------------------------------------------- objects


def _rate_text(spec: dict) -> str:
    over = "over " if spec.get("over") else ""
    rate = int(spec.get("rate", 0))
    unit = spec.get("unit", "second")
    burst = int(spec.get("burst", 0) or 0)
    if spec.get("type", "packets") == "bytes":
        v, u = _data_unit(rate)
        s = f"rate {over}{v} {u}/{unit}"
        if burst:
            bv, bu = _data_unit(burst)
            s += f" burst {bv} {bu}"
        return s
    s = f"rate {over}{rate}/{unit}"
    if burst and burst != 5:
        s += f" burst {burst} packets"
    return s


def _object_lines(obj: StatefulObject, o: ListOptions) -> list[str]:
    sp = obj.spec
    k = obj.kind
    if k == "counter":
        return [] if o.stateless else [f"packets {sp.get('packets', 0)} bytes {sp.get('bytes', 0)}"]
    if k == "quota":
        v, u = _data_unit(int(sp.get("bytes", 0)))
        s = ("over " if sp.get("over") else "") + f"{v} {u}"
        used = int(sp.get("used", 0) or 0)
        if used and not o.stateless:
            uv, uu = _data_unit(used)
            s += f" used {uv} {uu}"
        return [s]
    if k == "limit":
        return [_rate_text(sp)]
    if k == "ct helper":
        return [f"type {_quote(str(sp.get('type', '')))} protocol {sp.get('protocol', 'tcp')}",
                f"l3proto {sp.get('l3proto', 'inet')}"]
    if k == "ct timeout":
        pol = sp.get("policy") or {}
        lines = [f"protocol {sp.get('protocol', 'tcp')}", f"l3proto {sp.get('l3proto', 'ip')}"]
        # nft prints only the states whose timeout differs from the default (the kernel's
        # tcp_timeouts, nf_conntrack_proto_tcp.c): `close: 10` is not listed
        dflt = _TCP_TIMEOUTS if sp.get("protocol", "tcp") == "tcp" else {}
        shown = [(a, b) for a, b in pol.items() if dflt.get(a) != b]
        if shown:
            lines.append("policy = { " + ", ".join(f"{a} : {b}" for a, b in shown) + " }")
        return lines
    if k == "ct expectation":
        return [f"protocol {sp.get('protocol', 'tcp')}", f"dport {sp.get('dport', 0)}",
                f"timeout {_time_text(int(sp.get('timeout', 0)), o)}", f"size {sp.get('size', 0)}",
                f"l3proto {sp.get('l3proto', 'ip')}"]
    if k == "synproxy":
        lines = [f"mss {sp.get('mss', 0)}", f"wscale {sp.get('wscale', 0)}"]
        fl = [f for f in ("timestamp", "sack-perm") if f in (sp.get("flags") or ())]
        if fl:
            lines.append(" ".join(fl))
        return lines
    if k == "secmark":
        return [_quote(str(sp.get("context", "")))]
    return [f"{a} {b}" for a, b in sp.items()]


def object_block(obj: StatefulObject, o: ListOptions | None = None, indent: str = "\t") -> str:
    o = _o(o)
    i2 = indent + "\t"
    lines = [f"{indent}{obj.kind} {obj.name} {{{_handle(obj.handle, o)}"]
    if obj.comment is not None:
        lines.append(f"{i2}comment {_quote(obj.comment)}")
    lines += [i2 + x for x in _object_lines(obj, o)]
    lines.append(f"{indent}}}")
    return "\n".join(lines) + "\n"


def _objects_sorted(t: Table) -> list[StatefulObject]:
    return sorted(t.objects.values(), key=lambda x: x.handle)


# ---------------------------------------------------------------------------- flowtables


def flowtable_block(ft: Flowtable, family: str, o: ListOptions | None = None, indent: str = "\t") -> str:
    o = _o(o)
    i2 = indent + "\t"
    prio = str(ft.priority) if (o.numeric_priority or o.numeric) else priority_name(ft.priority, family, ft.hook)
    lines = [f"{indent}flowtable {ft.name} {{{_handle(ft.handle, o)}",
             f"{i2}hook {ft.hook} priority {prio}"]
    if ft.devices:
        lines.append(f"{i2}devices = {{ " + ", ".join(ft.devices) + " }")
    if "offload" in ft.flags:
        lines.append(f"{i2}flags offload")
    if "counter" in ft.flags:
        lines.append(f"{i2}counter")
    lines.append(f"{indent}}}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- rules and chains


def _anon_sets(t: Table | None) -> dict[str, AnonSet]:
    """The table's anonymous sets in the form the delinearizer reads (kernel elements:
    interval sets as start elements and one-past-the-end elements flagged 1)."""
    out: dict[str, AnonSet] = {}
    if t is None:
        return out
    for s in t.sets.values():
        if not _is_anonymous(s):
            continue
        a = _set_info(s)
        obj = "object" in s.flags
        concat_interval = "interval" in s.flags and "concat" in s.flags
        for el in s.elements:
            key = el.key if isinstance(el.key, (bytes, bytearray)) else b""
            data = el.data
            if obj and isinstance(data, str):
                data = _quote(data)         # an object map's data: the object's name
            if concat_interval:
                # pipapo holds each element as key .. key_end (no end elements)
                end = el.key_end if isinstance(el.key_end, (bytes, bytearray)) else key
                a.elements.append(SetElem(bytes(key), data, 0, bytes(end)))
                continue
            if el.flags & 0x2 or el.key == b"":
                # the catch-all element `*` (NFT_SET_ELEM_CATCHALL; commands/ stores an
                # interval set's catch-all with an empty key and no flag)
                a.elements.append(SetElem(b"", data, 0x2))
                continue
            a.elements.append(SetElem(bytes(key), data, 0))
            last = el.key_end if el.key_end is not None else el.key
            if "interval" in s.flags and isinstance(last, (bytes, bytearray)) and last:
                end = int.from_bytes(last, "big") + 1
                if end < 1 << (8 * len(last)):     # an interval reaching the top has no end element
                    a.elements.append(SetElem(end.to_bytes(len(last), "big"), None, 1))
        out[s.name] = a
    return out


_SET_FLAG_BITS = (("anonymous", SET_ANONYMOUS), ("interval", SET_INTERVAL), ("timeout", SET_TIMEOUT),
                  ("dynamic", SET_EVAL), ("object", SET_OBJECT))


def _set_info(s: Set) -> AnonSet:
    """A set's flags, size and data type in the delinearizer's form (no elements)."""
    flags = SET_ANONYMOUS if _is_anonymous(s) else 0
    for name, bit in _SET_FLAG_BITS:
        if name in s.flags:
            flags |= bit
    if s.is_map:
        flags |= SET_MAP
    dt = _dtype_names(s.data_type)
    return AnonSet(s.name, flags, s.size, dtype=" . ".join(dt) if dt else None)


class _NamedSets(Mapping):
    """The table's sets as :class:`AnonSet` infos, built when the delinearizer asks for
    one (a rule names few sets; a table may hold many)."""

    def __init__(self, table: Table | None):
        self._sets = table.sets if table is not None else {}

    def __getitem__(self, name: str) -> AnonSet:
        return _set_info(self._sets[name])

    def __iter__(self):
        return iter(self._sets)

    def __len__(self) -> int:
        return len(self._sets)


def rule_line(rule: Rule, family: str, o: ListOptions | None = None, table: Table | None = None) -> str:
    """The rule's text (no indentation, no newline), ``comment`` and ``# handle`` included."""
    o = _o(o)
    text = _rule_body(rule, family, o, table)
    if rule.comment is not None:
        text += (" " if text else "") + f"comment {_quote(rule.comment)}"
    return text + _handle(rule.handle, o)


def _program_sets(prog: Any, table: Table | None, names: tuple[str, ...]) -> list[AnonSet]:
    """The rule's anonymous sets in the delinearizer's form: the table's ``__set%d`` sets
    the rule is bound to (``Rule.userdata["sets"]``), else the program's declarations."""
    out: list[AnonSet] = []
    if names and table is not None and all(n in table.sets for n in names):
        sets = _anon_sets(table)
        return [sets[n] for n in names if n in sets]
    for d in getattr(prog, "sets", ()):
        a = AnonSet(d.name, d.flags, getattr(d, "size", None))
        for el in d.elements:
            data = el.verdict if getattr(el, "verdict", None) is not None else el.data
            if getattr(el, "obj", None) is not None:
                data = _quote(el.obj)
            a.elements.append(SetElem(bytes(el.key), data, el.flags))
        out.append(a)
    return out


def _named_data(table: Table | None) -> dict[str, int]:
    """Data bytes of the table's named maps (NAT lookups fill several registers)."""
    if table is None:
        return {}
    return {n: (s.data_len + 7) // 8 for n, s in table.sets.items()
            if s.is_map and isinstance(s.data_len, int) and s.data_len > 32}


def _objmap_kind(text: str, table: Table | None) -> str:
    """``{obj} name KEY map @m``: the object kind is the named map's data type (the
    objref instruction does not carry it)."""
    if not text.startswith("{obj}") or table is None:
        return text
    name = text.rsplit("@", 1)[-1].split()[0] if "@" in text else None
    s = table.sets.get(name) if name else None
    kind = " ".join(_dtype_names(s.data_type)) if s is not None else ""
    return text.replace("{obj}", kind, 1) if kind else text


def _rule_body(rule: Rule, family: str, o: ListOptions, table: Table | None) -> str:
    return _rule_listing(rule, family, o, table)[0]


def _rule_listing(rule: Rule, family: str, o: ListOptions, table: Table | None) -> tuple[str, list]:
    """The rule's listing text and the delinearized statements it was made of (empty
    when the rule's statements are kept as text or it cannot be listed)."""
    prog = rule.userdata.get("program") if isinstance(rule.userdata, dict) else None
    if prog is not None and getattr(prog, "instrs", None) is not None:
        try:
            anon = _program_sets(prog, table, tuple(rule.userdata.get("sets", ())))
            stmts = delinearize(prog.instrs, family, anon, o, _named_data(table), _NamedSets(table))
            return " ".join(_objmap_kind(s.text, table) for s in stmts), stmts
        except DelinearizeError as e:
            return f"# {e}", []
        except Exception as e:  # never a traceback from a listing
            return f"# unrenderable rule: {type(e).__name__}", []
    stmts = rule.stmts
    if isinstance(stmts, str):
        stmts = tuple(x for x in stmts.splitlines() if x.strip())
    if not stmts:
        return "", []
    if all(isinstance(x, str) and not x.strip().startswith("[") for x in stmts):
        return " ".join(stmts), []          # statements kept as text
    sets = _anon_sets(table)
    try:
        names = [x for x in _referenced_sets(stmts)]
        anon = [sets[n] for n in names if n in sets]
        out = delinearize(stmts, family, anon, o, _named_data(table), _NamedSets(table))
        return " ".join(s.text for s in out), out
    except DelinearizeError as e:
        return f"# {e}", []
    except Exception as e:  # never a traceback from a listing
        return f"# unrenderable rule: {type(e).__name__}", []


def _referenced_sets(stmts: Iterable) -> list[str]:
    out = []
    for x in stmts:
        line = x if isinstance(x, str) else (x.dump() if hasattr(x, "dump") else "")
        toks = line.replace("[", " ").replace("]", " ").split()
        if toks and toks[0] in ("lookup", "objref", "dynset") and "set" in toks:
            out.append(toks[toks.index("set") + 1])
    return out


def _hook_line(c: Chain, family: str, o: ListOptions) -> str:
    h = c.hook
    dev = ""
    if h.devices:
        if len(h.devices) == 1:
            dev = f" device {_quote(h.devices[0])}"
        else:
            # nft evaluates the device list as a set of strings: listed sorted
            dev = " devices = { " + ", ".join(sorted(h.devices)) + " }"
    prio = str(h.priority) if (o.numeric_priority or o.numeric) else priority_name(h.priority, family, h.hook)
    return f"type {h.type} hook {h.hook}{dev} priority {prio}; policy {h.policy or 'accept'};"


def chain_block(c: Chain, family: str, o: ListOptions | None = None, table: Table | None = None,
                rules: bool = True, indent: str = "\t") -> str:
    o = _o(o)
    i2 = indent + "\t"
    lines = [f"{indent}chain {c.name} {{{_handle(c.handle, o)}"]
    if c.comment is not None:
        lines.append(f"{i2}comment {_quote(c.comment)}")
    if c.hook is not None:
        lines.append(i2 + _hook_line(c, family, o))
    if rules:
        for r in c.rules:
            lines.append(i2 + rule_line(r, family, o, table))
    lines.append(f"{indent}}}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- tables


def _table_header(t: Table, o: ListOptions) -> str:
    return f"table {t.family} {t.name} {{{_handle(t.handle, o)}\n"


def table_block(t: Table, o: ListOptions | None = None) -> str:
    o = _o(o)
    out = _table_header(t, o)
    delim = ""
    if t.flags:
        out += "\tflags " + ",".join(f for f in ("dormant", "owner") if f in t.flags) + "\n"
        delim = "\n"
    if t.comment is not None:
        out += f"\tcomment {_quote(t.comment)}\n"
    for obj in _objects_sorted(t):
        out += delim + object_block(obj, o)
        delim = "\n"
    for s in t.sets.values():
        if _is_anonymous(s):
            continue
        out += delim + set_block(s, o)
        delim = "\n"
    for ft in t.flowtables.values():
        out += delim + flowtable_block(ft, t.family, o)
        delim = "\n"
    for c in t.chains.values():
        out += delim + chain_block(c, t.family, o, t)
        delim = "\n"
    return out + "}\n"


def _tables(rs: Ruleset, family: str | None) -> list[Table]:
    return [t for t in rs.tables.values() if family is None or t.family == family]


def list_ruleset(rs: Ruleset, opts: ListOptions | None = None, family: str | None = None) -> str:
    """``nft list ruleset [FAMILY]``."""
    o = _o(opts)
    return "".join(table_block(t, o) for t in _tables(rs, family))


def list_table(rs: Ruleset, family: str, name: str, opts: ListOptions | None = None) -> str:
    """``nft list table FAMILY NAME`` (raises ModelError when absent, as nft does)."""
    return table_block(rs.table(family, name), _o(opts))


def list_tables(rs: Ruleset, opts: ListOptions | None = None, family: str | None = None) -> str:
    """``nft list tables``: one ``table FAMILY NAME`` line per table."""
    # nft 1.0.6 prints no handles here, even with -a (do_list_tables)
    return "".join(f"table {t.family} {t.name}\n" for t in _tables(rs, family))


def list_chain(rs: Ruleset, family: str, table: str, name: str, opts: ListOptions | None = None) -> str:
    """``nft list chain FAMILY TABLE NAME``: the chain with its rules, inside its table."""
    o = _o(opts)
    t = rs.table(family, table)
    c = rs.chain(family, table, name)
    # the table line carries no handle here, even with -a (nft 1.0.6 do_list_chain)
    return f"table {t.family} {t.name} {{\n" + chain_block(c, family, o, t) + "}\n"


def list_chains(rs: Ruleset, opts: ListOptions | None = None, family: str | None = None) -> str:
    """``nft list chains``: every chain without rules, no blank lines."""
    o = _o(opts)
    out = ""
    for t in _tables(rs, family):
        out += _table_header(t, o)
        for c in t.chains.values():
            out += chain_block(c, t.family, o, t, rules=False)
        out += "}\n"
    return out


def list_set(rs: Ruleset, family: str, table: str, name: str, opts: ListOptions | None = None) -> str:
    """``nft list set|map FAMILY TABLE NAME``."""
    o = _o(opts)
    t = rs.table(family, table)
    return _table_header(t, o) + set_block(rs.set(family, table, name), o) + "}\n"


def _list_sets_of(rs: Ruleset, o: ListOptions, family: str | None, maps: bool | None) -> str:
    out = ""
    for t in _tables(rs, family):
        out += _table_header(t, o)
        for s in t.sets.values():
            if _is_anonymous(s) or (maps is not None and s.is_map != maps):
                continue
            out += set_block(s, o)
        out += "}\n"
    return out


def list_sets(rs: Ruleset, opts: ListOptions | None = None, family: str | None = None) -> str:
    """``nft list sets``: the named sets (not maps) of every table, with their elements."""
    return _list_sets_of(rs, _o(opts), family, False)


def list_maps(rs: Ruleset, opts: ListOptions | None = None, family: str | None = None) -> str:
    """``nft list maps``."""
    return _list_sets_of(rs, _o(opts), family, True)


def list_objects(rs: Ruleset, kind: str, opts: ListOptions | None = None, family: str | None = None,
                 table: str | None = None, reset: bool = False) -> str:
    """``nft list counters|quotas|limits|ct helpers|ct timeouts|ct expectations|synproxys|
    secmarks [table FAMILY NAME]``; ``kind`` is the singular object kind (``counter``)."""
    o = _o(opts)
    out = ""
    for t in _tables(rs, family):
        if table is not None and t.name != table:
            continue
        if not t.objects:
            continue        # nft skips tables without any object (of any kind)
        objs = [x for x in _objects_sorted(t) if x.kind == kind]
        if reset and not objs:
            continue        # `reset quotas`: the kernel's reset dump names only those tables
        out += _table_header(t, o) + "".join(object_block(x, o) for x in objs) + "}\n"
    return out


def list_object(rs: Ruleset, kind: str, family: str, table: str, name: str,
                opts: ListOptions | None = None) -> str:
    """``nft list counter FAMILY TABLE NAME`` (and the other kinds)."""
    o = _o(opts)
    t = rs.table(family, table)
    obj = t.objects.get((kind, name))
    if obj is None:
        from pkttables.model import ModelError
        import errno
        raise ModelError(errno.ENOENT, f"{kind} {family} {table} {name}")
    return _table_header(t, o) + object_block(obj, o) + "}\n"


def list_flowtable(rs: Ruleset, family: str, table: str, name: str, opts: ListOptions | None = None) -> str:
    """``nft list flowtable FAMILY TABLE NAME``."""
    o = _o(opts)
    t = rs.table(family, table)
    ft = t.flowtables.get(name)
    if ft is None:
        from pkttables.model import ModelError
        import errno
        raise ModelError(errno.ENOENT, f"flowtable {family} {table} {name}")
    return _table_header(t, o) + flowtable_block(ft, family, o) + "}\n"


def list_flowtables(rs: Ruleset, opts: ListOptions | None = None, family: str | None = None) -> str:
    """``nft list flowtables``."""
    o = _o(opts)
    out = ""
    for t in _tables(rs, family):
        out += _table_header(t, o)
        for ft in t.flowtables.values():
            out += flowtable_block(ft, t.family, o)
        out += "}\n"
    return out
