"""Compare the JSON front end's AST with the text parser's, ignoring locations.

``strip(node)`` turns an AST into nested tuples without ``loc``.  ``normalize(node)``
also folds the shape differences that are legitimate between a JSON document and the
text it encodes (each rule is named so reports can count them):

* ``op``: text without an operator is ``implicit``; JSON always names one (``==``).
* ``string``: JSON has one string type; the text has quoted (String) and bare (Symbol).
* ``meta``: JSON ``meta`` keys are always qualified (``mark`` vs ``meta mark``).
* ``time``: JSON times are integers of seconds; text has ``10s``, ``1h``...
* ``logflags``: (no longer needed: the text parser splits ``tcp sequence,options`` too).
* ``spnum``: JSON listing prints ``spnum 0`` where the text omits it.
* ``list1``: a one-element list in JSON is the element in text.
* ``counter0``: JSON ``{"packets": 0, "bytes": 0}`` is the text's bare ``counter``.
* ``flags|``: text ``new | related`` is a Binop chain, JSON a list of flags.
* ``order``: elements of an anonymous set, and queue/log flags, compare unordered.
* ``flagmask``: text ``tcp flags syn / fin,syn`` is JSON ``tcp flags & [fin, syn] == syn``.
* ``burst5``: nft's default packet burst is 5; its text listing omits it, JSON prints it.
* ``prio``: JSON chain priorities are numbers; the text names them (``filter``, ``srcnat``;
  the ip/ip6/inet/arp/netdev values of nft's standard priority table).
* ``natflags``: JSON nat ``type_flags`` carry what nft's evaluation adds (``concat`` for
  an ``addr . port`` map, ``interval`` beside ``prefix``); the text of a listing omits them.
* ``zero``: JSON listing prints defaults (``numgen ... offset 0``) the text omits.
"""

from __future__ import annotations

import dataclasses
import re

from pkttables.lang import ast as A

_TIME = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?\Z")


def strip(x):
    if isinstance(x, A.Node):
        return (type(x).__name__,) + tuple(
            (f.name, strip(getattr(x, f.name))) for f in dataclasses.fields(x) if f.name not in ("loc", "ref_loc")
        )
    if isinstance(x, (tuple, list)):
        return tuple(strip(i) for i in x)
    return x


def _secs(s: str):
    m = _TIME.match(s)
    if not m or not any(m.groups()):
        return None
    d, h, mi, se, ms = (int(g) if g else 0 for g in m.groups())
    if ms:
        return None
    return ((d * 24 + h) * 60 + mi) * 60 + se


_PRIOS = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}


def _prio(e):
    if isinstance(e, A.Symbol) and e.name in _PRIOS:
        return _PRIOS[e.name]
    if isinstance(e, A.Binop) and isinstance(e.left, A.Symbol) and e.left.name in _PRIOS and isinstance(e.right, A.Number):
        return _PRIOS[e.left.name] + (e.right.value if e.op == "+" else -e.right.value)
    return None


def normalize(x, used: set | None = None):
    """Strip locations and fold the legitimate JSON/text differences listed above."""
    used = used if used is not None else set()

    def flags_or(x):
        """``a | b | c`` of constants -> [a, b, c], or None."""
        if isinstance(x, A.Binop) and x.op == "|":
            left, right = flags_or(x.left), flags_or(x.right)
            if left is not None and right is not None:
                return left + right
            return None
        if isinstance(x, (A.Symbol, A.String, A.Number)):
            return [x]
        return None

    def n(x):
        if isinstance(x, A.Binop) and x.op == "|":
            fl = flags_or(x)
            if fl is not None and len(fl) > 1:
                used.add("flags|")
                return ("ListExpr", tuple(sorted((n(i) for i in fl), key=repr)))
        if isinstance(x, A.ListExpr) and len(x.items) > 1:
            return ("ListExpr", tuple(sorted((n(i) for i in x.items), key=repr)))
        if isinstance(x, A.SetExpr):
            if len(x.elements) > 1:
                used.add("order")
            return ("SetExpr", tuple(sorted((n(i) for i in x.elements), key=repr)))
        if isinstance(x, A.Counter):
            p, b = x.packets, x.bytes
            if p == 0 and b == 0:
                used.add("counter0")
                p = b = None
            return ("Counter", p, b)
        if isinstance(x, A.Limit) and x.unit == "packets" and x.burst is None:
            used.add("burst5")
            return ("Limit", x.rate, x.unit, x.per, x.over, 5, "packets")
        if isinstance(x, A.ChainType) and x.priority is not None:
            pr = _prio(x.priority)
            if pr is not None:
                used.add("prio")
                return ("ChainType", x.type, x.hook, ("Number", pr), n(x.device))
        if isinstance(x, A.Nat) and (x.concat or (x.interval and x.prefix)):
            # nft's evaluation adds type flags its JSON listing prints: concat when the
            # map gives address . port, interval next to prefix.
            used.add("natflags")
            x = A.Nat(x.loc, x.kind, x.family, x.addr, x.port, x.flags, x.prefix, x.interval and not x.prefix, False)
        if isinstance(x, A.Queue):
            return ("Queue", n(x.num), tuple(sorted(x.flags)))
        if isinstance(x, A.Numgen):
            off = x.offset
            if off == 0:
                used.add("zero")
                off = None
            return ("Numgen", x.mode, x.mod, off)
        if isinstance(x, A.Match) and isinstance(x.right, A.Binop) and x.right.op == "/":
            used.add("flagmask")
            x = A.Match(x.loc, A.Binop(x.loc, "&", x.left, x.right.right), x.op, x.right.left)
        if isinstance(x, A.Match):
            op = x.op
            if op == "implicit":
                op = "=="
                used.add("op")
            return ("Match", n(x.left), op, n(x.right))
        if isinstance(x, A.String):
            used.add("string")
            return ("Symbol", x.value)
        if isinstance(x, A.Symbol):
            if x.name in ("exists", "missing", "true", "false"):
                return ("Symbol", {"true": "exists", "false": "missing"}.get(x.name, x.name))
            return ("Symbol", x.name)
        if isinstance(x, A.Number):
            return ("Number", x.value)
        if isinstance(x, A.Meta):
            if not x.qualified:
                used.add("meta")
            return ("Meta", x.key)
        if isinstance(x, A.Ipsec):
            sp = x.spnum
            if sp == 0:
                used.add("spnum")
                sp = None
            return ("Ipsec", x.direction, x.key, sp, x.family)
        if isinstance(x, A.Log):
            opts = []
            fl: list[str] = []
            for k, v in x.opts:
                if k == "flags":
                    for f in v:
                        if "," in f and " " in f:
                            used.add("logflags")
                            head, rest = f.split(" ", 1)
                            fl.extend(f"{head} {p}" for p in rest.split(","))
                        else:
                            fl.append(f)
                    continue
                opts.append((k, n(v)))
            if fl:
                opts.append(("flags", tuple(sorted(set(fl)))))
            return ("Log", tuple(sorted(opts, key=str)))
        if isinstance(x, A.ListExpr) and len(x.items) == 1:
            used.add("list1")
            return n(x.items[0])
        if isinstance(x, A.Node):
            return (type(x).__name__,) + tuple(
                n(getattr(x, f.name)) for f in dataclasses.fields(x) if f.name not in ("loc", "ref_loc")
            )
        if isinstance(x, (tuple, list)):
            return tuple(n(i) for i in x)
        return x

    return n(x)


def normalize_times(x, used: set | None = None):
    """``normalize`` plus time strings -> seconds (for timeouts in elements and sets)."""
    used = used if used is not None else set()
    base = normalize(x, used)

    def t(v):
        if isinstance(v, tuple) and len(v) == 2 and v[0] == "Symbol" and isinstance(v[1], str):
            s = _secs(v[1])
            if s is not None and not v[1].isdigit():
                used.add("time")
                return ("Number", s)
        if isinstance(v, tuple):
            return tuple(t(i) for i in v)
        return v

    return t(base)
