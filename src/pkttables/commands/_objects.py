"""Stateful object declarations -> the typed ``StatefulObject.spec`` of the model.

The parser gives an object's body as properties whose values are the words that
followed (``rate over 1024 bytes/second burst 512 bytes`` arrives as ``rate`` with
``over 1024 bytes second`` and ``burst`` with ``512 bytes``).  This module flattens them
back into one word list and reads it the way nft's grammar does (``counter_config``,
``quota_config``, ``limit_config``, ``ct_helper_config``, ... in parser_bison.y),
producing the spec keys documented on :class:`pkttables.model.StatefulObject`:
ints in the kernel's units (bytes, milliseconds), names as nft lists them.
"""

from __future__ import annotations

from pkttables.errors import Diagnostic, EvalError
from pkttables.lang import ast as A

__all__ = ["object_spec"]

# nft's data units (src/datatype.c data_unit_parse): powers of 1024
_BYTE_UNITS = {"bytes": 1, "kbytes": 1024, "mbytes": 1024 ** 2}
_TIME_UNITS = ("second", "minute", "hour", "day", "week")


def _word(v):
    if isinstance(v, A.Number):
        return v.value
    if isinstance(v, A.String):
        return v.value
    if isinstance(v, A.Symbol):
        return v.name
    if isinstance(v, str):
        return v
    for a in ("name", "value"):
        x = getattr(v, a, None)
        if isinstance(x, (str, int)):
            return x
    return v


def _flatten(items) -> list:
    out: list = []
    for p in items or ():
        if isinstance(p, A.Prop):
            if p.name == "group":
                out.extend(_flatten(p.value))
                continue
            out.append(p.name)
            vals = p.value if isinstance(p.value, tuple) else (p.value,)
            for v in vals:
                if v is True or v is None:
                    continue
                if isinstance(v, str) and "/" in v:
                    out.extend(v.split("/"))
                else:
                    out.append(v if isinstance(v, (A.SetExpr,)) else _word(v))
        else:
            out.append(_word(p))
    return out


def _bytes(words: list, i: int, loc) -> tuple[int, int]:
    """``N unit`` at ``words[i]`` -> (bytes, next index).

    Units were checked by the parser (nft's quota_config calls rate_parse and reports
    "Wrong rate format" there); an object it recovered from has an empty config, which
    nft keeps (the object was allocated before its block), so nothing is raised here."""
    n = words[i] if i < len(words) else None
    u = words[i + 1] if i + 1 < len(words) else "bytes"
    if not isinstance(n, int):
        return 0, i
    return n * _BYTE_UNITS.get(u, 1), i + 2


def object_spec(kind: str, body, family: str, loc=None) -> tuple[dict, str | None]:
    """(spec, comment) for an object of ``kind`` declared with ``body``."""
    comment = None
    words: list = []
    for w in _flatten(body):
        words.append(w)
    if "comment" in words:
        i = words.index("comment")
        comment = str(words[i + 1]) if i + 1 < len(words) else None
        del words[i:i + 2]
    fn = _KINDS.get(kind)
    if fn is None:
        return {}, comment
    return fn(words, family, loc), comment


def _counter(w, fam, loc):
    sp = {"packets": 0, "bytes": 0}
    for k in ("packets", "bytes"):
        if k in w and w.index(k) + 1 < len(w) and isinstance(w[w.index(k) + 1], int):
            sp[k] = w[w.index(k) + 1]
    return sp


def _quota(w, fam, loc):
    sp: dict = {"bytes": 0, "used": 0, "over": False}
    i = 0
    if w and w[0] in ("over", "until"):
        sp["over"] = w[0] == "over"
        i = 1
    if w and w[0] == "value":       # the inline form `quota q 25 mbytes`
        i = 1
    sp["bytes"], i = _bytes(w, i, loc)
    if i < len(w) and w[i] == "used":
        sp["used"], i = _bytes(w, i + 1, loc)
    return sp


def _limit(w, fam, loc):
    sp: dict = {"rate": 0, "unit": "second", "burst": 5, "type": "packets", "over": False}
    i = w.index("rate") + 1 if "rate" in w else 0
    if i < len(w) and w[i] in ("over", "until"):
        sp["over"] = w[i] == "over"
        i += 1
    if i >= len(w):
        return sp   # a config the parser refused ("Wrong rate format") and recovered from
    if not isinstance(w[i], int):
        raise EvalError(Diagnostic(loc, "Wrong rate format"))
    rate = w[i]
    i += 1
    if i < len(w) and w[i] in _BYTE_UNITS:
        sp["type"] = "bytes"
        rate *= _BYTE_UNITS[w[i]]
        sp["burst"] = 0
        i += 1
    if i < len(w) and w[i] in _TIME_UNITS:
        sp["unit"] = w[i]
        i += 1
    sp["rate"] = rate
    if "burst" in w:
        j = w.index("burst") + 1
        b = w[j] if j < len(w) else 0
        u = w[j + 1] if j + 1 < len(w) else "packets"
        sp["burst"] = b * _BYTE_UNITS.get(u, 1) if isinstance(b, int) else 0
    return sp


def _after(w, key, default=None):
    if key in w and w.index(key) + 1 < len(w):
        return w[w.index(key) + 1]
    return default


def _ct_helper(w, fam, loc):
    return {"type": str(_after(w, "type", "")), "protocol": str(_after(w, "protocol", "tcp")),
            "l3proto": str(_after(w, "l3proto", fam))}


def _ct_timeout(w, fam, loc):
    pol: dict = {}
    se = _after(w, "policy")
    for m in getattr(se, "elements", ()) or ():
        if isinstance(m, A.Mapping):
            pol[str(_word(m.key))] = _word(m.value)
    return {"protocol": str(_after(w, "protocol", "tcp")), "l3proto": str(_after(w, "l3proto", fam)),
            "policy": pol}


def _ct_expectation(w, fam, loc):
    from pkttables.types import DATATYPES
    t = _after(w, "timeout", 0)
    if not isinstance(t, int):
        t = int(DATATYPES["time"].parse(str(t)))
    else:
        t *= 1000
    return {"protocol": str(_after(w, "protocol", "tcp")), "dport": _after(w, "dport", 0), "timeout": t,
            "size": _after(w, "size", 0), "l3proto": str(_after(w, "l3proto", fam))}


def _synproxy(w, fam, loc):
    return {"mss": _after(w, "mss", 0), "wscale": _after(w, "wscale", 0),
            "flags": tuple(f for f in ("timestamp", "sack-perm") if f in w)}


def _secmark(w, fam, loc):
    ctx = next((x for x in w if isinstance(x, str) and x != "context"), "")
    return {"context": ctx}


_KINDS = {"counter": _counter, "quota": _quota, "limit": _limit, "ct helper": _ct_helper,
          "ct timeout": _ct_timeout, "ct expectation": _ct_expectation, "synproxy": _synproxy,
          "secmark": _secmark}
