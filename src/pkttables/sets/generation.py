"""Sets of a committed ruleset generation, built from the model and kept across commits.

In: a :class:`pkttables.model.Ruleset` (the model's ``Set``/``Element`` contract, see
docs/listing.md: key parts in register form, ``key_len`` in bits, interval elements
with an inclusive ``key_end``, map data as bytes / a verdict text / an object name,
per-element statements as instruction dump lines, anonymous ``__set%d`` sets).
Out: ``{(family, table, set_name): SetInstance}`` -- what the VM's chain loader takes
as ``LoadedRuleset(ruleset, sets=instances_from_model(ruleset))``.

Across commits the kernel keeps a set object (and so every element's counters,
timeouts, and the elements the packet path added) as long as the set is not deleted;
a transaction only adds and removes the elements it names.  ``instances_from_model(
ruleset, now, previous=old)`` does the same: a set whose handle is unchanged keeps its
:class:`SetInstance`; the elements the model added since the last generation are
added, those it removed are deleted, the rest -- and everything the packet path did
-- are left alone.  A set with a new handle (deleted and created again, or an
anonymous ``__set%d`` name reused by another rule) starts afresh, as in the kernel.

Limit: a transaction that flushes a set and adds the same elements back leaves the
model identical, so their counters and timeouts are kept here where the kernel would
reset them.
"""

from __future__ import annotations

from typing import Any, Iterable

from pkttables.errors import PktError
from pkttables.sets._common import ElemFlags, Errno, SetError, SetFlags, SetSpec
from pkttables.sets.instance import SetInstance

__all__ = ["instances_from_model", "spec_from_model", "ElementInit", "OBJECT_KINDS"]

#: Data types of object maps (``type ipv4_addr : counter``): the element data is a name.
OBJECT_KINDS = frozenset({"counter", "quota", "limit", "ct helper", "ct timeout",
                          "ct expectation", "synproxy", "secmark"})

_FLAG_NAMES = {
    "anonymous": SetFlags.ANONYMOUS, "constant": SetFlags.CONSTANT,
    "interval": SetFlags.INTERVAL, "map": SetFlags.MAP, "timeout": SetFlags.TIMEOUT,
    "dynamic": SetFlags.EVAL, "eval": SetFlags.EVAL, "object": SetFlags.OBJECT,
    "concat": SetFlags.CONCAT,
}

SetKey = tuple[str, str, str]


def _pad4(b: bytes) -> bytes:
    return b + bytes(-len(b) % 4)


def _data_kind(mset) -> str:
    dt = mset.data_type
    if isinstance(dt, str):
        dt = (dt,)
    dt = tuple(dt or ())
    if not mset.is_map and "map" not in mset.flags and "object" not in mset.flags:
        return "none"
    if dt == ("verdict",):
        return "verdict"
    if "object" in mset.flags or (len(dt) == 1 and dt[0] in OBJECT_KINDS):
        return "object"
    return "data"


def _key_fields(mset) -> tuple[int, ...]:
    """Byte length of each key part: from ``key_len`` (bits), else from an element."""
    if mset.key_len:
        fields = tuple((b + 7) // 8 for b in mset.key_len)
        names = mset.key_type if isinstance(mset.key_type, tuple) else ()
        if len(fields) == 1 and len(names) > 1 and not mset.typeof:
            # one key_len for a concatenation (meters, anonymous sets): the parts'
            # lengths from their datatypes, when they add up
            from pkttables.types import DATATYPES
            sizes = [DATATYPES[n].size_bits if n in DATATYPES else 0 for n in names]
            parts = tuple((b + 7) // 8 for b in sizes)
            if all(parts) and sum(p + (-p % 4) for p in parts) == fields[0]:
                return parts
        if len(fields) == 1 and "concat" in mset.flags and fields[0] > 4 and not fields[0] % 4:
            # An anonymous concatenation whose parts the model does not list (the
            # compiler's AnonSetDecl has one key_len, not NFTA_SET_DESC_CONCAT): each
            # part is padded to 32 bits, so 32-bit words are exact for parts up to 4
            # bytes, and for wider parts (ip6 addresses) exact on prefixes and single
            # values -- what nft produces for them.  Without the split a range in one
            # part would compare across the next part's bytes.
            return (4,) * (fields[0] // 4)
        return fields
    for e in mset.elements:
        if e.flags & ElemFlags.CATCHALL:
            continue
        k = e.key
        return tuple(len(p) for p in k) if isinstance(k, tuple) else (len(k),)
    return (4,)


def spec_from_model(mset) -> SetSpec:
    """The :class:`SetSpec` the kernel was given for a model ``Set``."""
    fields = _key_fields(mset)
    concat = len(fields) > 1
    klen = sum(f + (-f % 4) for f in fields) if concat else fields[0]
    flags = SetFlags(0)
    for name in mset.flags:
        flags |= _FLAG_NAMES.get(name, 0)
    kind = _data_kind(mset)
    if kind == "object":
        flags |= SetFlags.OBJECT
    elif kind != "none":
        flags |= SetFlags.MAP
    if concat:
        flags |= SetFlags.CONCAT
    if mset.timeout:
        flags |= SetFlags.TIMEOUT
    exprs = tuple(_parse_stmts(mset.stmts, f"set {mset.name}"))
    if exprs:
        flags |= SetFlags.EXPR
    dlen = 0
    if kind == "data":
        dlen = (mset.data_len + 7) // 8 if mset.data_len else 0
        for e in mset.elements:
            if e.data is not None:
                dlen = max(dlen, len(_data_bytes(e.data)))
        dlen = dlen + (-dlen % 4)
    elif kind == "verdict":
        dlen = 16                      # NFT_DATA_VERDICT: sizeof(struct nft_verdict)
    return SetSpec(klen, fields if concat else (), dlen=dlen, flags=flags,
                   timeout=mset.timeout, gc_interval=mset.gc_interval, size=mset.size,
                   policy=mset.policy or "performance", exprs=exprs, name=mset.name)


def _parse_stmts(stmts: Iterable, where: str) -> list:
    """Per-element statements (instruction dump lines) -> vm instructions (templates)."""
    from pkttables.vm._base import parse_instr    # vm sits above sets in the pipeline
    out = []
    for line in stmts or ():
        if not isinstance(line, str):
            out.append(line)           # already an instruction
            continue
        text = line.strip()
        if not text.startswith("["):
            text = f"[ {text} ]"
        try:
            out.append(parse_instr(text))
        except PktError as err:
            raise SetError(Errno.EOPNOTSUPP, f"{where}: statement {line!r}: {err}") from None
    return out


def _key_bytes(key: Any, fields: tuple[int, ...], concat: bool) -> bytes:
    if isinstance(key, tuple):
        return b"".join(_pad4(bytes(p)) for p in key)
    key = bytes(key)
    if concat and len(key) == sum(fields):      # unpadded concatenation given as one blob
        out, off = [], 0
        for f in fields:
            out.append(_pad4(key[off:off + f]))
            off += f
        return b"".join(out)
    return key


def _data_bytes(data: Any) -> bytes:
    if isinstance(data, tuple):
        if data and data[0] == "range":        # a data range (nat maps): low . high
            return b"".join(_pad4(bytes(p)) for p in data[1:])
        return b"".join(_pad4(bytes(p)) for p in data)
    return bytes(data)


def _verdict(text: str):
    from pkttables.vm.regs import VerdictData
    parts = str(text).split()
    if len(parts) == 2 and parts[0] in ("jump", "goto"):
        return VerdictData.parse(f"{parts[0]} -> {parts[1]}")
    return VerdictData.parse(str(text))


class ElementInit:
    """One element for :meth:`SetInstance.load_elements`: the model's element in the
    instance's form (register-form key bytes, data converted, expressions parsed)."""

    __slots__ = ("key", "key_end", "data", "timeout", "expires", "exprs", "comment",
                 "catchall", "ident", "sig")

    def __init__(self, key, key_end, data, timeout, expires, exprs, comment, catchall, ident, sig):
        self.key, self.key_end, self.data = key, key_end, data
        self.timeout, self.expires, self.exprs = timeout, expires, exprs
        self.comment, self.catchall, self.ident, self.sig = comment, catchall, ident, sig


def _element_init(mset, spec: SetSpec, kind: str, e) -> ElementInit:
    catchall = bool(e.flags & ElemFlags.CATCHALL)
    concat = spec.is_concat
    key = key_end = None
    if not catchall:
        key = _key_bytes(e.key, spec.fields, concat)
        if e.key_end is not None:
            key_end = _key_bytes(e.key_end, spec.fields, concat)
            if key_end == key:
                key_end = None
    data = e.data
    if data is not None:
        if kind == "verdict":
            data = _verdict(data)
        elif kind == "object":
            data = str(data)
        elif kind == "data":
            data = _data_bytes(data).ljust(spec.dlen, b"\0")
    exprs = _parse_stmts(e.stmts, f"set {mset.name} element")
    ident = (catchall, key, key_end)
    sig = (repr(e.data), e.timeout, e.comment, tuple(e.stmts or ()))
    timeout = e.timeout if e.timeout else None
    return ElementInit(key, key_end, data, timeout, e.expires, exprs, e.comment, catchall,
                       ident, sig)


def _fresh(mset, spec: SetSpec, now) -> SetInstance:
    inst = SetInstance(spec, now=now)
    kind = _data_kind(mset)
    inst.obj_kind = (mset.data_type[0] if isinstance(mset.data_type, tuple) else mset.data_type) \
        if kind == "object" else None
    inits = [_element_init(mset, spec, kind, e) for e in mset.elements]
    inst.load_elements(inits, now=now)
    inst.model_handle = mset.handle
    inst.model_elements = {i.ident: i.sig for i in inits}
    return inst


def _sync(inst: SetInstance, mset, spec: SetSpec, now) -> None:
    """Apply the model's element changes since the last generation to a kept set."""
    kind = _data_kind(mset)
    inits = {}
    for e in mset.elements:
        i = _element_init(mset, spec, kind, e)
        inits[i.ident] = i
    old = inst.model_elements
    gone = [ident for ident, sig in old.items()
            if ident not in inits or inits[ident].sig != sig]
    for catchall, key, key_end in gone:
        try:
            inst.delete(key, key_end, now=now, catchall=catchall)
        except SetError:
            pass                       # already gone: expired, or deleted by the packet path
    new = [i for ident, i in inits.items() if ident not in old or old[ident] != i.sig]
    if new:
        inst.load_elements(new, now=now)
    inst.model_elements = {ident: i.sig for ident, i in inits.items()}


def instances_from_model(ruleset, now: float | int = 0.0,
                         previous: dict[SetKey, SetInstance] | None = None
                         ) -> dict[SetKey, SetInstance]:
    """Every set and map of ``ruleset`` (anonymous ones included) as a
    :class:`SetInstance`, keyed ``(family, table, name)``.

    ``previous``: the instances of the generation before; sets with the same handle
    are carried over with their state, updated by the model's element changes (see the
    module docstring).  ``now`` (seconds) starts the timeouts of new elements.
    """
    previous = previous or {}
    out: dict[SetKey, SetInstance] = {}
    for (family, tname), table in ruleset.tables.items():
        for name, mset in table.sets.items():
            k = (family, tname, name)
            spec = spec_from_model(mset)
            old = previous.get(k)
            if (old is not None and getattr(old, "model_handle", None) == mset.handle
                    and old.spec == spec):
                _sync(old, mset, spec, now)
                out[k] = old
            else:
                out[k] = _fresh(mset, spec, now)
    return out

