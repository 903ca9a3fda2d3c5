"""Live sets back into the model, so ``nft list set`` shows what the packet path did.

In: a model set (:class:`pkttables.model.Set`, the declaration and the elements the
ruleset named) and its :class:`SetInstance` after traffic.  Out: a copy of the model set
whose ``elements`` are the instance's live elements at ``now``, in the model's form
(docs/listing.md): keys back in unpadded register form (a tuple of parts for a
concatenation), map data trimmed to the data length (verdicts as text, object maps as
names), ``expires`` in ms left, the element's stateful expressions as instruction dump
lines with their *current* values (``[ counter pkts 3 bytes 252 ]``) -- what the kernel
dumps through ``nft_set_elem_expr_dump``.  :mod:`pkttables.render` then prints it as
nft prints the kernel's set (``set_block``, ``set_json``).

Elements the packet path added (``add @s { ip saddr }``, meters) have no model element;
their key and data are converted from the instance's form.  Elements the model declared
keep their comment and their data exactly as the model holds it.
"""

from __future__ import annotations

import copy
from typing import Any

from pkttables.sets.instance import ElementView, SetInstance

__all__ = ["live_set", "live_ruleset", "stmt_lines"]


_UNITS = {1: "second", 60: "minute", 3600: "hour", 86400: "day", 604800: "week"}


def stmt_lines(exprs: tuple) -> tuple[str, ...]:
    """An element's expressions (``ElementView.exprs``: ``(name, values)``) as dump lines
    with their current values (what nft_set_elem_expr_dump sends: a counter's packets
    and bytes, a quota's consumed bytes, a limit's rate and burst -- not its tokens)."""
    out = []
    for name, v in exprs:
        if name == "counter":
            out.append(f"[ counter pkts {v['packets']} bytes {v['bytes']} ]")
        elif name == "quota":
            # nft_quota_do_dump reports at most the quota as consumed
            used = min(v["used"], v["quota"])
            out.append(f"[ quota bytes {v['quota']} consumed {used} flags {int(v['inv'])} ]")
        elif name == "connlimit":
            out.append(f"[ connlimit count {v['limit']} flags {int(v['inv']):x} ]")
        elif name == "limit":
            kind = "bytes" if v.get("bytes") else "packets"
            unit = _UNITS.get(v.get("unit", 1), "second")
            out.append(f"[ limit rate {v['rate']}/{unit} burst {v['burst']} type {kind} "
                       f"flags 0x{int(v.get('inv', False)):x} ]")
        # ``last`` is listed by nft as "last used ..." from a timestamp: not modelled
    return tuple(out)


def _unpad(key: bytes, lens: tuple[int, ...]) -> tuple[bytes, ...]:
    parts, off = [], 0
    for n in lens:
        parts.append(key[off:off + n])
        off += n + (-n % 4)
    return tuple(parts)


def _key_form(mset, inst: SetInstance, key: bytes | None):
    if key is None:
        return None
    if inst.spec.is_concat and inst.spec.field_len:
        return _unpad(key, inst.spec.field_len)
    if mset.key_len:
        return key[:(sum(mset.key_len) + 7) // 8]
    return key


def _data_form(mset, inst: SetInstance, data: Any):
    if data is None:
        return None
    dt = mset.data_type
    if dt == "verdict" or dt == ("verdict",):
        if hasattr(data, "dump"):
            d = data.dump()
            return d.replace(" -> ", " ")
        return str(data)
    if isinstance(data, str):      # object maps: the object's name
        return data
    names = (dt,) if isinstance(dt, str) else tuple(dt or ())
    if len(names) > 1:
        from pkttables.types import DATATYPES
        lens = []
        for n in names:
            t = DATATYPES.get(n)
            lens.append((t.size_bits + 7) // 8 if t is not None and t.size_bits else 4)
        return _unpad(bytes(data), tuple(lens))
    if mset.data_len:
        return bytes(data)[:(mset.data_len + 7) // 8]
    return bytes(data)


def live_set(mset, inst: SetInstance, now: float | int | None = None):
    """A copy of model set ``mset`` holding ``inst``'s live elements at ``now``."""
    from pkttables.model.objects import Element
    from pkttables.sets.generation import _key_bytes
    by_ident: dict = {}
    for e in mset.elements:
        catch = bool(e.flags & 2)
        k = None if catch else _key_bytes(e.key, inst.spec.fields, inst.spec.is_concat)
        ke = None
        if not catch and e.key_end is not None:
            ke = _key_bytes(e.key_end, inst.spec.fields, inst.spec.is_concat)
            if ke == k:
                ke = None
        by_ident[(catch, k, ke)] = e
    # Anonymous concatenated sets keep the compiler's register form (one padded bytes key);
    # named ones keep a tuple of parts: list live elements in the form the model used.
    raw = inst.spec.is_concat and any(isinstance(e.key, (bytes, bytearray))
                                      for e in mset.elements if not e.flags & 2)
    out = []
    for v in inst.elements(now):
        m = by_ident.get((v.catchall, v.key, v.key_end))
        key = v.key if raw else _key_form(mset, inst, v.key)
        key_end = v.key_end if raw else _key_form(mset, inst, v.key_end)
        data = m.data if m is not None and m.data is not None else _data_form(mset, inst, v.data)
        timeout = v.timeout
        if timeout is None and m is not None and m.timeout and m.timeout != mset.timeout:
            timeout = m.timeout
        expires = v.expires
        out.append(Element(key if key is not None else b"", data=data, timeout=timeout,
                           expires=expires, comment=v.comment if v.comment is not None else
                           (m.comment if m is not None else None),
                           stmts=stmt_lines(v.exprs), key_end=key_end,
                           flags=2 if v.catchall else 0))
    s = copy.copy(mset)
    s.elements = out
    return s


def live_ruleset(ruleset, instances: dict, now: float | int | None = None):
    """A copy of ``ruleset`` in which every set with an instance in ``instances``
    (``{(family, table, name): SetInstance}``) lists its live elements."""
    rs = copy.deepcopy(ruleset)
    for (fam, tname), t in rs.tables.items():
        for name, mset in list(t.sets.items()):
            inst = instances.get((fam, tname, name))
            if isinstance(inst, SetInstance):
                t.sets[name] = live_set(mset, inst, now)
    return rs
