"""Line-level fast path: ACL rule lines compiled without the tokenizer, the parser,
evaluation or linearization.

Theory of operation
-------------------
A generated ACL is thousands of lines such as ``ip saddr 10.1.0.0/16 th dport 22 accept``
inside one ``table { chain { ... } }`` block.  For such a line everything the slow path
computes (typed statements, instructions) is fixed by its *shape* -- the words with the
constants replaced by their class -- except the constants' bytes and the locations.  So:

1. **Text pass** (:func:`split_script`).  Each line of the file is matched by
   :func:`scan_line`, a word-level scanner for a small grammar (``ip saddr|daddr``
   with an address, prefix or range; ``th|tcp|udp sport|dport`` with a port or range;
   ``meta l4proto`` with a protocol; ``counter``; ``accept|drop|continue|return``; the
   ``==``/``!=`` operators).  It gives what :func:`.fastload.scan` gives for the parsed
   line -- the shape key, the constants' bytes (*atoms*) and the column spans of the
   parsed nodes' locations -- without building the AST.  A line that matches is a
   *candidate* only where a rule may stand: directly inside a ``chain`` block of a
   ``table`` block (a brace tracker follows the other lines: strings, comments, every
   ``{``/``}``).  Candidate lines are blanked (their newline kept, so every other
   location is unchanged) and the rest is parsed by the real parser; each candidate then
   goes back into its chain's body, in line order, as a :class:`FastRule`.  Any doubt --
   an ``include``, a backslash continuation, a parse error, chains that do not line up
   with the tracker's -- and the original text is parsed as a whole instead.

2. **Lazy AST** (:class:`FastRule`).  A subclass of :class:`pkttables.lang.ast.Rule`
   whose ``stmts`` are parsed from the line (by the real parser, locations moved to the
   line's number) on first read: errors, ``--debug``, the slow path.

3. **Templates per statement, composed per rule** (:class:`LineShapes`).  The first
   rule of a shape runs the slow path (so its errors and output are the slow path's).
   Then each statement gets a template keyed by ``(family, context, statement shape)``,
   the context being the shapes of the statements before it that may change its meaning
   (everything but address matches and counters): the slow path is run on
   ``context + statement`` with the statement's constants, and on two *probes* with
   other constants of the same class, and on ``context`` alone; what the statement adds
   (typed statements, instructions) is turned into a constructor by
   :class:`.fastload._Gen` (see its module for the walk).  The rule's template is the
   list of its statements' templates; it is kept only if composing it for the rule
   itself gives exactly the slow path's statements and program (payload merging or a
   dependency that crosses statements would differ: the shape then always takes the slow
   path).  A hit builds the program from the atoms and the typed statements from the
   atoms and the line's locations.

4. **Composition without a check** (``ip`` tables, port matches in one run:
   :func:`_composable`): a new rule shape whose units all have constructors is
   composed from them without the slow path, and a new shape whose units are missing
   has them made from its first rule, which they then answer (:meth:`LineShapes.from_units`:
   no slow run of the whole rule); why that is the slow path's answer (protocol
   context, payload merging, registers, rule-level errors) is argued in
   docs/fastline.md, "Composing without a check".  A run of address matches whose
   slow answer is its statements' units concatenated is *split*
   (:meth:`LineShapes._split`): composed from single-statement units from then on.
   ``PKT_NO_COMPOSE=1`` turns composition off.

The 10k-rule bench ACL has ~960 rule shapes but ~80 unit templates, so templates
cost one slow run per rule shape instead of ~1 ms each (docs/perf.md).

``PKT_NO_FASTLINE=1`` disables the text pass.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import linecache
import os
import random
import re
import types

from pkttables.errors import Location
from pkttables.lang import ast as A

from . import fastload as _fl

__all__ = ["FastRule", "LineShapes", "LINES", "enabled", "scan_line", "split_script"]

_OCT = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IP4 = re.compile(rf"{_OCT}\.{_OCT}\.{_OCT}\.{_OCT}")
_NUM = re.compile(r"0|[1-9][0-9]{0,4}")
_PLEN = re.compile(r"[0-9]|[12][0-9]|3[0-2]")
_WORD = re.compile(r"[^ \t]+")
# only printable ASCII, spaces and tabs: columns are then characters (lexer counts bytes)
_PLAIN = re.compile(r"[ \t]*[a-z][\x20-\x7e\t]*")
_ADDR = {"saddr", "daddr"}
_PORT = {"sport", "dport"}
_L4 = {"th", "tcp", "udp"}
_OPS = {"==", "!="}
_VERDICTS = {"accept", "drop", "continue", "return"}
# `meta l4proto NAME`: names the parser reads as a plain symbol (checked by the tests
# against the parser, tests/unit/perf/test_perf_fastline.py)
_PROTO_NAMES = frozenset({"tcp", "udp", "icmp", "igmp", "gre", "esp", "ah", "sctp", "dccp", "udplite"})


def _ip4(text: str) -> bytes:
    return bytes(map(int, text.split(".")))


def scan_line(text: str):
    """``(key, spans, atoms)`` of a rule line, as :func:`.fastload.scan` gives for the
    parsed rule (``spans``: the locations' ``(first_col, last_col)``, in the same order),
    or None when the line is not in the fast grammar."""
    if _PLAIN.fullmatch(text) is None:
        return None
    ms = list(_WORD.finditer(text))
    n = len(ms)
    ws = [m.group() for m in ms]
    key: list = [None]
    spans: list = [(ms[0].start() + 1, ms[-1].end())]
    atoms: list = []
    i = 0
    while i < n:
        w = ws[i]
        start = ms[i].start() + 1
        if w in _VERDICTS:
            key.append(("v", w))
            sp = (start, ms[i].end())
            spans.append(sp)
            spans.append(sp)
            i += 1
            continue
        if w == "counter":
            key.append(("c", None, None))
            spans.append((start, ms[i].end()))
            i += 1
            continue
        if i + 2 >= n:
            return None
        f = ws[i + 1]
        j = i + 2
        op = "implicit"
        if ws[j] in _OPS:
            op = ws[j]
            j += 1
            if j >= n:
                return None
        c = ws[j]
        cm = ms[j]
        c0 = cm.start() + 1
        sp_stmt = (start, cm.end())
        sp_left = (start, ms[i + 1].end())
        if w == "ip" and f in _ADDR:
            if _IP4.fullmatch(c) is not None:
                sk = "a"
                cs = [(c0, cm.end())]
                atoms.append(_ip4(c))
            elif "/" in c:
                a, _, pl = c.partition("/")
                if _IP4.fullmatch(a) is None or _PLEN.fullmatch(pl) is None:
                    return None
                plen = int(pl)
                mask = ((1 << 32) - 1) ^ ((1 << (32 - plen)) - 1)
                v = int.from_bytes(_ip4(a), "big") & mask
                atoms.append(v.to_bytes(4, "big"))
                atoms.append(mask.to_bytes(4, "big"))
                sk = ("pf", plen if plen % 8 == 0 else "m")
                cs = [(c0, cm.end()), (c0, c0 + len(a) - 1)]
            elif "-" in c:
                a, _, b = c.partition("-")
                if _IP4.fullmatch(a) is None or _IP4.fullmatch(b) is None:
                    return None
                x, y = _ip4(a), _ip4(b)
                if not x < y:
                    return None
                atoms.append(x)
                atoms.append(y)
                sk = "r4"
                cs = [(c0, cm.end()), (c0, c0 + len(a) - 1), (c0 + len(a) + 1, cm.end())]
            else:
                return None
            key.append((("p", "ip", f), op, sk))
        elif w in _L4 and f in _PORT:
            if _NUM.fullmatch(c) is not None:
                v = int(c)
                if v > 65535:
                    return None
                atoms.append(v.to_bytes(2, "big"))
                sk = "n"
                cs = [(c0, cm.end())]
            elif "-" in c:
                a, _, b = c.partition("-")
                if _NUM.fullmatch(a) is None or _NUM.fullmatch(b) is None:
                    return None
                x, y = int(a), int(b)
                if not x < y <= 65535:
                    return None
                atoms.append(x.to_bytes(2, "big"))
                atoms.append(y.to_bytes(2, "big"))
                sk = "r16"
                cs = [(c0, cm.end()), (c0, c0 + len(a) - 1), (c0 + len(a) + 1, cm.end())]
            else:
                return None
            key.append((("p", w, f), op, sk))
        elif w == "meta" and f == "l4proto":
            if c in _PROTO_NAMES:
                key.append((("m", "l4proto", True), op, ("S", c)))
            elif _NUM.fullmatch(c) is not None and int(c) < 256:
                key.append((("m", "l4proto", True), op, ("N", int(c), c)))
            else:
                return None
            cs = [(c0, cm.end())]
        else:
            return None
        spans.append(sp_stmt)
        spans.append(sp_left)
        spans.extend(cs)
        i = j + 1
    if len(key) == 1:
        return None
    return tuple(key), spans, atoms


_VKEYS = {v: ("v", v) for v in _VERDICTS}
_CKEY = ("c", None, None)


_CLASS_CACHE: dict = {}          # port word -> its slot class (None: not a slot); ports repeat


_OCTETS = frozenset(str(i) for i in range(256))         # canonical: no leading zero
_PF_CLASS = {str(p): ("pf", p if p % 8 == 0 else "m") for p in range(33)}


def _addr_class(c: str):
    """The slot class of an address word, or None (what :func:`scan_line` checks).
    Not cached: 84% of the 10k-rule ACL's address words are seen once (measured).
    Octets by set membership, not the ``_IP4`` regex: half the time (1.1 vs 0.6 us)."""
    q = c.split(".")
    if len(q) == 4:
        a, b, x, d = q
        if a in _OCTETS and b in _OCTETS and x in _OCTETS:
            if d in _OCTETS:
                return "a"
            d, slash, pl = d.partition("/")
            if slash:
                return _PF_CLASS.get(pl) if d in _OCTETS else None
    return _addr_class1(c) if "-" in c else None


def _addr_class1(c: str):
    if _IP4.fullmatch(c) is not None:
        return "a"
    if "/" in c:
        a, _, pl = c.partition("/")
        if _IP4.fullmatch(a) is None or _PLEN.fullmatch(pl) is None:
            return None
        plen = int(pl)
        return ("pf", plen if plen % 8 == 0 else "m")
    if "-" in c:
        a, _, b = c.partition("-")
        if _IP4.fullmatch(a) is None or _IP4.fullmatch(b) is None or not _ip4(a) < _ip4(b):
            return None
        return "r4"
    return None


def _port_class(c: str):
    k = ("n", c)
    try:
        return _CLASS_CACHE[k]
    except KeyError:
        pass
    if len(_CLASS_CACHE) > 100000:
        _CLASS_CACHE.clear()
    v = _CLASS_CACHE[k] = _port_class1(c)
    return v


def _port_class1(c: str):
    if _NUM.fullmatch(c) is not None:
        return "n" if int(c) <= 65535 else None
    if "-" in c:
        a, _, b = c.partition("-")
        if _NUM.fullmatch(a) is None or _NUM.fullmatch(b) is None or not int(a) < int(b) <= 65535:
            return None
        return "r16"
    return None


def scan_key(text: str):
    """The shape key :func:`scan_line` gives for ``text`` (None alike), without the
    locations and bytes: what the text pass needs for every line."""
    if _PLAIN.fullmatch(text) is None:
        return None
    ws = text.split()
    n = len(ws)
    key: list = [None]
    i = 0
    while i < n:
        w = ws[i]
        k = _VKEYS.get(w)
        if k is not None:
            key.append(k)
            i += 1
            continue
        if w == "counter":
            key.append(_CKEY)
            i += 1
            continue
        j = i + 2
        if j >= n:
            return None
        f = ws[i + 1]
        c = ws[j]
        op = "implicit"
        if c in _OPS:
            op = c
            j += 1
            if j >= n:
                return None
            c = ws[j]
        if w == "ip" and f in _ADDR:
            sk = _addr_class(c)
            if sk is None:
                return None
            key.append((("p", "ip", f), op, sk))
        elif w in _L4 and f in _PORT:
            sk = _port_class(c)
            if sk is None:
                return None
            key.append((("p", w, f), op, sk))
        elif w == "meta" and f == "l4proto":
            if c in _PROTO_NAMES:
                key.append((("m", "l4proto", True), op, ("S", c)))
            elif _NUM.fullmatch(c) is not None and int(c) < 256:
                key.append((("m", "l4proto", True), op, ("N", int(c), c)))
            else:
                return None
        else:
            return None
        i = j + 1
    if len(key) == 1:
        return None
    return tuple(key)


# ---------------------------------------------------------------- lazy AST
_RULE_STMTS = A.Rule.stmts          # the slot of the parent class


class FastRule(A.Rule):
    """A parsed rule whose statements are parsed from its line on first read.

    ``loc`` and ``comment`` are there at once; ``key`` is the shape key
    (:func:`scan_key`); :meth:`detail` gives the locations' column spans and the
    constants' bytes (:func:`scan_line`) when first asked.  Compares equal to the
    :class:`~pkttables.lang.ast.Rule` the parser would have built."""

    __slots__ = ("key", "lineno", "_detail", "_locs")

    @property
    def stmts(self):
        try:
            return _RULE_STMTS.__get__(self)
        except AttributeError:
            v = _build_stmts(self)
            _RULE_STMTS.__set__(self, v)
            return v

    @stmts.setter
    def stmts(self, v):
        _RULE_STMTS.__set__(self, v)

    def __eq__(self, other):
        if isinstance(other, A.Rule):
            return (self.loc, self.stmts, self.comment) == (other.loc, other.stmts, other.comment)
        return NotImplemented

    def __hash__(self):
        return hash((self.loc, self.stmts, self.comment))

    def __repr__(self):
        return f"Rule(loc={self.loc!r}, stmts={self.stmts!r}, comment={self.comment!r})"

    def detail(self) -> tuple:
        """``(spans, atoms)`` of the line (:func:`scan_line`)."""
        try:
            return _DETAIL.__get__(self)
        except AttributeError:
            sc = scan_line(self.loc.line_text)
            d = (sc[1], sc[2])
            _DETAIL.__set__(self, d)
            return d

    def atoms(self) -> list:
        return self.detail()[1]

    def locs(self) -> list:
        """The rule's locations in :func:`.fastload.scan` order (made once)."""
        try:
            return _LOCS.__get__(self)
        except AttributeError:
            pass
        loc = self.loc
        f, ln, lt = loc.file, loc.line, loc.line_text
        sp = self.detail()[0]
        mk = _new_loc
        v = [loc] + [mk(f, ln, a, b, lt) for a, b in sp[1:]]
        _LOCS.__set__(self, v)
        return v


def _location_maker():
    """``make(file, line, first_col, last_col, line_text)`` equal to
    :class:`~pkttables.errors.Location` with those values (every other field its
    default), built with the slots' setters: a frozen dataclass's ``__init__`` goes
    through ``object.__setattr__`` per field (1.5 vs 0.8 us; one a rule line).  Made
    from ``dataclasses.fields``, so it follows the class; the class itself when it has
    a ``__post_init__``, other leading fields, or a default made by a factory."""
    fs = dataclasses.fields(Location)
    if hasattr(Location, "__post_init__") or [f.name for f in fs[:5]] != \
            ["file", "line", "first_col", "last_col", "line_text"] or \
            any(f.default is dataclasses.MISSING for f in fs[5:]) or \
            not all(isinstance(Location.__dict__.get(f.name), types.MemberDescriptorType) for f in fs):
        return Location
    sets = [Location.__dict__[f.name].__set__ for f in fs]
    s_file, s_line, s_first, s_last, s_text = sets[:5]
    rest = tuple((st, f.default) for st, f in zip(sets[5:], fs[5:]))
    new = object.__new__

    def make(file, line, first_col, last_col, line_text):
        o = new(Location)
        s_file(o, file)
        s_line(o, line)
        s_first(o, first_col)
        s_last(o, last_col)
        s_text(o, line_text)
        for st, v in rest:
            st(o, v)
        return o
    return make


_new_loc = _location_maker()


def _make_rule(filename: str, lineno: int, text: str, key) -> FastRule:
    r = object.__new__(FastRule)
    body = text.lstrip(" \t")
    first = len(text) - len(body) + 1
    _LOC.__set__(r, _new_loc(filename, lineno, first, first + len(body.rstrip(" \t")) - 1, text))
    _COMMENT.__set__(r, None)
    _KEY.__set__(r, key)
    _LINENO.__set__(r, lineno)
    return r


_LOC = A.Rule.loc
_COMMENT = A.Rule.comment
_KEY = FastRule.key
_LINENO = FastRule.lineno
_DETAIL = FastRule._detail
_LOCS = FastRule._locs


def _build_stmts(rule: FastRule) -> tuple:
    """The statements the parser builds for the rule's line, built from the scan: the
    grammar is small enough to write each node as the parser's grammar action does
    (pinned against the parser by tests/unit/perf/test_perf_fastline.py).  Anything
    unexpected: the parser itself (:func:`_parse_line`)."""
    try:
        return _direct(rule)
    except Exception:       # noqa: BLE001 -- the parser decides
        return _parse_line(rule.loc, rule.lineno)


def _direct(rule: FastRule) -> tuple:
    locs = rule.locs()
    text = rule.loc.line_text
    out = []
    i = 1
    for k in rule.key[1:]:
        sl = locs[i]
        if k[0] == "v":
            out.append(A.VerdictStmt(sl, A.Verdict(locs[i + 1], k[1], None)))
            i += 2
            continue
        if k[0] == "c":
            out.append(A.Counter(sl, None, None))
            i += 1
            continue
        (kind, a, b), op, sk = k
        left = A.Payload(locs[i + 1], a, b) if kind == "p" else A.Meta(locs[i + 1], a, b)
        cl = locs[i + 2]
        word = text[cl.first_col - 1:cl.last_col]
        if kind == "m":
            right = A.Symbol(cl, word) if sk[0] == "S" else A.Number(cl, int(word), word)
            i += 3
        elif sk == "a":
            right = A.Symbol(cl, word)
            i += 3
        elif sk == "n":
            right = A.Number(cl, int(word), word)
            i += 3
        elif sk in ("r4", "r16"):
            lo, _, hi = word.partition("-")
            mk = A.Symbol if sk == "r4" else (lambda loc, w: A.Number(loc, int(w), w))
            right = A.Range(cl, mk(locs[i + 3], lo), mk(locs[i + 4], hi))
            i += 5
        else:
            addr, _, plen = word.partition("/")
            right = A.Prefix(cl, A.Symbol(locs[i + 3], addr), int(plen))
            i += 4
        out.append(A.Match(sl, left, op, right))
    if i != len(locs):
        raise ValueError("spans left over")
    return tuple(out)


def _parse_line(loc: Location, lineno: int) -> tuple:
    """The statements the parser builds for the rule line ``loc.line_text``: its
    tokens numbered from the line's number, read by the parser's ``rule``."""
    from pkttables.lang.lexer import tokenize
    from pkttables.lang.parser import _Parser
    p = _Parser(tokenize(loc.line_text + "\n", loc.file, first_line=lineno), ())
    rule = p.rule()
    if not p.diags and rule.loc == loc:
        return rule.stmts
    from pkttables.lang import parse       # as a whole block, the locations moved after
    s = parse(f"table ip x {{ chain y {{\n{loc.line_text}\n}}\n}}\n", loc.file)
    rule = next(x for x in s.commands[0].obj.body[0].body if isinstance(x, A.Rule))
    return _moved(rule.stmts, lineno)


def _moved(node, lineno: int):
    """``node`` with every location on line 2 moved to ``lineno``."""
    t = type(node)
    if t is Location:
        return dataclasses.replace(node, line=lineno)
    if t is tuple:
        return tuple(_moved(x, lineno) for x in node)
    if t is list:
        return [_moved(x, lineno) for x in node]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return dataclasses.replace(node, **{f.name: _moved(getattr(node, f.name), lineno)
                                            for f in dataclasses.fields(node) if f.init})
    return node


# ---------------------------------------------------------------- text pass
_TABLE_OPEN = re.compile(r"\s*table\s+(?:[a-z0-9]+\s+)?[^\s{}]+\s*")
_CHAIN_OPEN = re.compile(r"\s*chain\s+[^\s{}]+\s*")


_SPECIAL = re.compile(r'["#{};]')


def _track(line: str, stack: list, opens: list, lineno: int) -> bool:
    """Follow the braces of a line that is not a candidate; False when it holds
    something the tracker does not follow (a continuation).  Only the characters that
    matter are visited (a 1M-element set is one 22 MB line)."""
    seg_start = 0
    pos = 0
    find = _SPECIAL.search
    while True:
        m = find(line, pos)
        if m is None:
            break
        i = m.start()
        ch = line[i]
        if ch == '"':
            k = line.find('"', i + 1)
            if k < 0:
                return False
            pos = k + 1
            continue
        if ch == "#":
            break
        if ch == "{":
            seg = line[seg_start:i]
            if stack == ["table"] and _CHAIN_OPEN.fullmatch(seg):
                stack.append("chain")
                opens.append((lineno, seg.split()[1]))
            elif not stack and _TABLE_OPEN.fullmatch(seg):
                stack.append("table")
            else:
                stack.append("other")
            seg_start = i + 1
        elif ch == "}":
            if not stack:
                return False
            stack.pop()
            seg_start = i + 1
        else:                   # ";"
            seg_start = i + 1
        pos = i + 1
    if line.rstrip().endswith("\\"):
        return False
    return True


def split_script(text: str, filename: str, collapse: bool = True):
    """``(text to parse, chain opens, candidates, line map)`` or None when the text has
    no candidate or holds something the pass does not follow.  ``candidates``: per chain
    open (index into ``chain opens``), the :class:`FastRule` of its candidate lines.

    A run of candidate lines becomes one empty line (the parser's cost per empty line
    is a NEWLINE token): ``line map[i]`` is the original number of line ``i + 1`` of the
    text to parse (None: the text keeps every line)."""
    if "include" in text or "chain" not in text:
        return None             # no chain block, no rule line (a set file: nothing to do)
    lines = text.split("\n")
    stack: list = []
    opens: list = []
    cands: dict = {}
    out: list = []
    linemap: list = []
    in_run = False
    scan = scan_key
    make = _make_rule
    gc_was = gc.isenabled()
    gc.disable()            # ~20 objects a line, all kept: the cyclic GC only costs here
    try:
        for idx, line in enumerate(lines):
            if len(stack) == 2 and stack[1] == "chain" and line:
                fast = scan(line)
                if fast is not None:
                    if not in_run or not collapse:
                        out.append("")
                        linemap.append(idx + 1)
                        in_run = True
                    cands.setdefault(len(opens) - 1, []).append(make(filename, idx + 1, line, fast))
                    continue
            in_run = False
            out.append(line)
            linemap.append(idx + 1)
            if not _track(line, stack, opens, idx + 1):
                return None
    finally:
        if gc_was:
            gc.enable()
    if not cands:
        return None
    return "\n".join(out), opens, cands, (linemap if collapse else None)


def _remap(node, linemap: list, filename: str):
    """``node`` with the locations of ``filename`` moved back to their original lines."""
    t = type(node)
    if t is Location:
        if node.file != filename:
            return node
        orig = linemap[node.line - 1]
        return node if orig == node.line else dataclasses.replace(node, line=orig)
    if t is tuple:
        return tuple(_remap(x, linemap, filename) for x in node)
    if t is list:
        return [_remap(x, linemap, filename) for x in node]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return dataclasses.replace(node, **{f.name: _remap(getattr(node, f.name), linemap, filename)
                                            for f in dataclasses.fields(node) if f.init})
    return node


def merge(script: A.Script, opens: list, cands: dict) -> A.Script | None:
    """``script`` (parsed from the blanked text) with each chain's fast rules put back
    in line order; None when its chain blocks are not the tracker's."""
    k = 0
    cmds = []
    for cmd in script.commands:
        obj = cmd.obj
        if type(obj) is A.TableObj and obj.body:
            body = []
            for item in obj.body:
                if type(item) is A.ChainObj and item.body is not None:
                    if k >= len(opens):
                        return None
                    line, name = opens[k]
                    if item.loc.line != line or item.name != name:
                        return None
                    fr = cands.get(k)
                    k += 1
                    if fr:
                        items = list(item.body)
                        merged = []
                        j = 0
                        for it in items:
                            ln = it.loc.line if it.loc is not None else 0
                            while j < len(fr) and fr[j].lineno < ln:
                                merged.append(fr[j])
                                j += 1
                            merged.append(it)
                        merged.extend(fr[j:])
                        item = dataclasses.replace(item, body=tuple(merged))
                body.append(item)
            cmd = dataclasses.replace(cmd, obj=dataclasses.replace(obj, body=tuple(body)))
        cmds.append(cmd)
    if k != len(opens):
        return None
    return dataclasses.replace(script, commands=tuple(cmds))


def parse(text: str, filename: str, parse_fn, collapse: bool = True) -> A.Script | None:
    """The script of ``text`` with its candidate lines as :class:`FastRule`, or None
    (then parse ``text`` as usual).  ``parse_fn(text)`` is the caller's parser;
    ``collapse``: runs of candidate lines may become one line (not when other text of
    the same file name is parsed with it: ``-D`` definitions on a command line)."""
    sp = split_script(text, filename, collapse)
    if sp is None:
        return None
    blanked, opens, cands, linemap = sp
    script = parse_fn(blanked)
    if script.error is not None:
        return None         # the parser's recovery may skip lines: the whole text decides
    if linemap is not None:
        script = _remap(script, linemap, filename)
    return merge(script, opens, cands)


def enabled() -> bool:
    return not os.environ.get("PKT_NO_FASTLINE")


# ---------------------------------------------------------------- templates
_UNFIT = object()
_NOSPLIT = object()     # a run of address matches whose split check failed: one unit
_LOCREF = re.compile(r"\bL\[|\bR\b")


def _ctx_key(k) -> bool:
    """Whether a statement key can change how a later statement evaluates."""
    if k[0] in ("c", "v"):
        return False
    left = k[0]
    return not (left[0] == "p" and left[1] == "ip" and left[2] in _ADDR)


def _group(k):
    """The payload base of a statement (``nh``: ``ip`` addresses, ``th``: ``th``/``tcp``/
    ``udp`` ports), or None (``meta l4proto``, counter, verdict).  ``merge_payloads`` only
    joins matches of one base, so a unit is a run of adjacent statements of one base
    (the argument is in docs/fastline.md, "Composing without a check")."""
    left = k[0]
    if type(left) is not tuple or left[0] != "p":
        return None
    return "nh" if left[1] == "ip" else "th"


def _composable(key) -> bool:
    """Whether a rule shape may be composed from its units without a check: no
    statement after a terminal verdict (:func:`_terminal_last`), and at most one run of
    transport-port matches.  nft 1.0.6's payload merging (``evaluate.merge_payloads``,
    stmt_reduce) collects the payload matches over ``meta`` matches, and carries a single
    one across a counter or ``continue``: two port runs of one rule may then be joined
    (``th sport 1 counter th dport 2`` is one 4-byte compare), which no unit's probe
    sees.  Address matches never merge (saddr and daddr are 4 bytes each: a join would
    exceed payload_can_merge's 4 bytes) and nothing else in the grammar is collected,
    so a rule with one port run merges exactly as that run's probes did."""
    runs = 0
    prev = None
    n = len(key)
    for i in range(1, n):
        k = key[i]
        if k[0] == "v":
            if k[1] != "continue" and i != n - 1:
                return False
            prev = None
            continue
        g = _group(k)
        if g == "th" and prev != "th":
            runs += 1
            if runs > 1:
                return False
        prev = g
    return True


def _terminal_last(key) -> bool:
    """Whether no statement follows a terminal verdict (``evaluate_rule`` refuses that
    with "Statement after terminal statement has no effect": a rule-level error the
    units do not see)."""
    n = len(key)
    for i in range(1, n - 1):
        k = key[i]
        if k[0] == "v" and k[1] != "continue":
            return False
    return True


_STMT_INFO: dict = {}            # statement key -> (group, locs, atoms, ctx, free): a few hundred keys


def _stmt_info(k) -> tuple:
    v = _STMT_INFO.get(k)
    if v is None:
        if len(_STMT_INFO) > 100000:
            _STMT_INFO.clear()
        v = _STMT_INFO[k] = (_group(k), _stmt_loc_count(k), _stmt_atom_count(k), _ctx_key(k),
                             k[0] in ("c", "v"))
    return v


def _units(key) -> list:
    """The units of a rule shape: ``(keys, statement indices, loc range, atom range)``."""
    units: list = []
    lo, ao = 1, 0
    prev = None
    info = _stmt_info
    for i, k in enumerate(key[1:]):
        g, nl, na, _c, _f = info(k)
        if g is not None and g == prev:
            u = units[-1]
            u[0].append(k)
            u[1].append(i)
            u[3] += nl
            u[5] += na
        else:
            units.append([[k], [i], lo, lo + nl, ao, ao + na])
        prev = g
        lo += nl
        ao += na
    return units


def _stmt_loc_count(k) -> int:
    if k[0] == "v":
        return 2
    if k[0] == "c":
        return 1
    sk = k[2]
    if sk in ("r4", "r16"):
        return 5
    if type(sk) is tuple and sk[0] == "pf":
        return 4
    return 3


def _stmt_atom_count(k) -> int:
    if k[0] in ("v", "c") or k[0][0] == "m":
        return 0
    sk = k[2]
    if sk in ("r4", "r16") or type(sk) is tuple:
        return 2
    return 1


class _StmtGen(_fl._Gen):
    """:class:`.fastload._Gen` with the statement's own locations as ``L[k]`` and the
    rule's location as ``R``."""

    def __init__(self, own: list, rule_loc: Location, atoms):
        super().__init__([], atoms)
        self.own = {}
        for i, loc in enumerate(own):
            if loc not in self.own:
                name = self.own[loc] = f"L[{i}]"
                self.fns[name] = (lambda i: lambda L, A, R=None: L[i])(i)
        self.rule_loc = rule_loc
        self.fns["R"] = lambda L, A, R=None: R

    def expr(self, real, p1, p2) -> str:
        if type(real) is Location:
            if p1 != real or p2 != real:
                raise _fl._Unfit("a location that is not the statement's")
            name = self.own.get(real)
            if name is None:
                if real == self.rule_loc:
                    return "R"
                raise _fl._Unfit("a location outside the statement")
            return name
        return super().expr(real, p1, p2)


def _function(body: str, ns: dict):
    """``build(L, A, R)`` returning ``body``; units of the same structure share the code."""
    src = f"def build(L, A, R):\n    return {body}\n"
    code = _fl._CODE.get(src)
    if code is None:
        # a file name per source, in linecache: tracebacks and pdb show the unit's code
        name = f"<pkttables unit {len(_fl._CODE)}>"
        mod = compile(src, name, "exec")
        code = _fl._CODE[src] = next(c for c in mod.co_consts if isinstance(c, types.CodeType))
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
    return types.FunctionType(code, ns, "build")


# A unit's constructors start as closures over the walked values (_Gen.fns: no source
# to compile, ~50 us a constructor); the PROMOTE_AT-th call of one compiles its source
# (a plain expression: about twice as fast a call).  A dry run reads no hit's
# statements or instructions (LazyRule, LazyProgram): only loads that use them compile.
PROMOTE_AT = 16


class _Unit:
    """The two constructors ``build(L, A, R)`` of a unit: ``ts`` its typed statements,
    ``ins`` its instructions."""

    __slots__ = ("ts", "ins", "n_ts", "n_ins", "src_ts", "src_ins", "ns", "walk", "real")

    def __init__(self, src_ts: str, src_ins: str, g):
        self.walk = None
        self.src_ts, self.src_ins, self.ns = src_ts, src_ins, g.ns
        if CLOSURES:
            self.ts, self.ins = g.fns[src_ts], g.fns[src_ins]
            self.n_ts = self.n_ins = 0
        else:
            self.ts, self.ins = _function(src_ts, g.ns), _function(src_ins, g.ns)
            self.n_ts = self.n_ins = -1

    @classmethod
    def deferred(cls, walk, real):
        """A unit whose constructors are written by ``walk()`` (``(src_ts, src_ins, gen)``,
        or :class:`.fastload._Unfit`) when first read; ``real``: the slow path's
        ``(typed statements, instructions)`` for the statements it was made from (what
        the constructors give for them, which ``walk`` checks).  A dry run reads no
        constructor of a hit: the walk is then never paid (docs/perf.md, session 10)."""
        u = object.__new__(cls)
        u.walk = walk
        u.real = real
        return u

    def __getattr__(self, name):
        # only for a slot not set yet: the constructors of a deferred unit
        walk = _UNIT_WALK.__get__(self)
        if walk is None or walk is _FAILED or name in ("walk", "real"):
            if walk is _FAILED:
                raise _fl._Unfit("the unit's walk failed")
            raise AttributeError(name)
        self.walk = _FAILED
        try:
            src_ts, src_ins, g = walk()     # _Unfit: the unit stays failed (forget_failed)
        except _fl._Unfit:
            raise
        except Exception as e:  # noqa: BLE001 -- made eagerly, any error meant no unit
            raise _fl._Unfit(f"the unit's walk failed: {e}") from None
        self.__init__(src_ts, src_ins, g)
        return getattr(self, name)

    @property
    def failed(self) -> bool:
        return _UNIT_WALK.__get__(self) is _FAILED

    def make_ts(self, L, A, R):
        n = self.n_ts
        if n >= 0:
            if n + 1 >= PROMOTE_AT:
                self.ts, self.n_ts = _function(self.src_ts, self.ns), -1
            else:
                self.n_ts = n + 1
        return self.ts(L, A, R)

    def make_ins(self, A):
        n = self.n_ins
        if n >= 0:
            if n + 1 >= PROMOTE_AT:
                self.ins, self.n_ins = _function(self.src_ins, self.ns), -1
            else:
                self.n_ins = n + 1
        return self.ins(None, A, None)


_UNIT_WALK = _Unit.walk
_FAILED = object()


class _Pair:
    """A run of address matches composed from its statements' single units
    (:meth:`LineShapes._split`); ``check()`` -- the slow path's answer for the run is
    theirs concatenated, i.e. the run is not merged -- is made when the constructors are
    first read, as a deferred unit's walk (:class:`.fastload._Unfit` when it fails)."""

    __slots__ = ("singles", "check")

    def __init__(self, singles: tuple, check):
        self.singles = singles          # (unit, its locations, its constants) per statement
        self.check = check

    @property
    def failed(self) -> bool:
        return self.check is _FAILED or any(u.failed for u, _nl, _na in self.singles)

    def _checked(self) -> None:
        check = self.check
        if check is _FAILED:
            raise _fl._Unfit("the run was merged")
        self.check = _FAILED
        try:
            check()
        except _fl._Unfit:
            raise
        except Exception as e:  # noqa: BLE001 -- a run the slow path refuses: not split
            raise _fl._Unfit(f"the run refused: {e}") from None
        self.check = None

    def make_ts(self, L, A, R):
        if self.check is not None:
            self._checked()
        out: list = []
        lo = ao = 0
        for u, nl, na in self.singles:
            out += u.make_ts(L[lo:lo + nl], A[ao:ao + na], R)
            lo += nl
            ao += na
        return out

    def make_ins(self, A):
        if self.check is not None:
            self._checked()
        out: list = []
        ao = 0
        for u, _nl, na in self.singles:
            out += u.make_ins(A[ao:ao + na])
            ao += na
        return out


class _Pending:
    """A shape's first rule and the slow path's answer for it, until a second rule of the
    shape comes."""

    __slots__ = ("rule", "family", "table", "chain", "slow", "real")

    def __init__(self, rule, family, table, chain, slow, real):
        self.rule, self.family, self.table, self.chain = rule, family, table, chain
        self.slow, self.real = slow, real


# A rule shape's template is made at its 1st rule: its units then serve the shapes
# composed without the slow path (LineShapes.lookup); at the 2nd rule (as before
# shapes were composed) the bench's 1k ACL took 246 slow-path rules instead of 56
# (docs/perf.md).
BUILD_AT = 1
UNIT_TRIES = 3
CLOSURES = not os.environ.get("PKT_UNIT_SOURCE")
# a unit's constructors are walked when first read, not when it is made (_Unit.deferred)
DEFER_WALK = not os.environ.get("PKT_EAGER_WALK")


class LineShapes:
    """Rule shape -> composed template (or unfit, or how many rules of it were seen);
    statement shape in context -> its constructor (or unfit)."""

    def __init__(self, limit: int = 50000, build_at: int = BUILD_AT):
        self.build_at = build_at
        self.rules: dict = {}
        self.stmts: dict = {}
        self.limit = limit
        self.stages = None
        self.hits = 0
        self.misses = 0
        self.composed = 0           # shapes composed from made units, no slow path
        self.made = 0               # shapes whose missing units were made from their first rule
        self.compose_known = not os.environ.get("PKT_NO_COMPOSE")

    def clear(self) -> None:
        self.rules.clear()
        self.stmts.clear()

    def forget_failed(self) -> None:
        """Mark unfit the units whose deferred walk failed and drop the templates that
        hold them (their rules then take the slow path)."""
        for k, u in list(self.stmts.items()):
            if type(u) is _Unit and u.failed:
                self.stmts[k] = _UNFIT
            elif type(u) is _Pair and u.failed:
                self.stmts[k] = _NOSPLIT        # made as one unit by the next rule
        for k, t in list(self.rules.items()):
            if type(t) is tuple and any(type(p[0]) in (_Unit, _Pair) and p[0].failed for p in t):
                del self.rules[k]               # composed again by the next rule of the shape

    def _check_stages(self, stages) -> None:
        if stages is not self.stages and stages != self.stages:
            self.clear()
            self.stages = stages

    def lookup(self, rule: FastRule, family: str, stages):
        """The rule template of ``rule``'s shape, or None.  The shape's first rule (kept
        by :meth:`build` with its slow-path answer) is turned into the template here, at
        the shape's second rule: shapes of one rule never pay for a template."""
        self._check_stages(stages)
        key = (family, rule.key)
        ent = self.rules.get(key)
        if ent is None and family == "ip" and self.compose_known and _composable(rule.key):
            # a new shape whose units are all made: composed without the slow path
            # (sound in ip tables: docs/fastline.md, "Composing without a check")
            ent = self._compose_made(rule.key, family)
            if ent is not None:
                if len(self.rules) >= self.limit:
                    self.rules.clear()
                self.rules[key] = ent
                self.composed += 1
                return ent
            return None
        if ent is None or ent is _UNFIT:
            return None
        if type(ent) is _Pending:
            ent = self.rules[key] = self._make(ent)
            if ent is _UNFIT:
                return None
        return ent

    def from_units(self, rule: FastRule, family: str, slow, stages):
        """The template of a new shape in an ``ip`` table, its missing units made from
        ``rule`` (``slow`` runs on each unit in its context and on the probes), without
        a slow run of the whole rule nor the per-shape check: the composition is the slow
        path's answer there (docs/fastline.md, "Composing without a check"), and each
        unit was made from a slow run of this rule's own statements and constants that
        did not fail.  None: the usual way (slow path, :meth:`build`), which also gives
        the rule's error -- any exception here (a unit's slow run refusing the rule's
        constants) leaves the answer to it.  A shape whose unit cannot be made is marked
        unfit (:meth:`_make` would fail on the same unit: the probes are seeded by the
        constants)."""
        self._check_stages(stages)
        key = (family, rule.key)
        if family != "ip" or not self.compose_known or key in self.rules or not _composable(rule.key):
            return None
        try:
            tpl = self._compose(rule, family, slow)
        except Exception:       # noqa: BLE001 -- the slow path gives the answer or the error
            return None
        if len(self.rules) >= self.limit:
            self.rules.clear()
        self.rules[key] = _UNFIT if tpl is None else tpl
        if tpl is not None:
            self.made += 1
        return tpl

    def build(self, rule: FastRule, family: str, table: str, chain: str, slow, real, stages) -> None:
        """After the slow path gave ``real`` for ``rule``: keep them for the template
        (made by :meth:`lookup` at the shape's next rule, or here with ``build_at=1``)."""
        self._check_stages(stages)
        key = (family, rule.key)
        if key in self.rules:
            return
        if len(self.rules) >= self.limit:
            self.rules.clear()
        p = _Pending(rule, family, table, chain, slow, real)
        self.rules[key] = p if self.build_at > 1 else self._make(p)

    def _make(self, p: "_Pending"):
        """The template of a kept rule's shape, if its units compose to exactly the slow
        path's answer; else _UNFIT."""
        try:
            tpl = self._compose(p.rule, p.family, p.slow)
            ok = tpl is not None and \
                instantiate(tpl, p.rule, p.family, p.table, p.chain, p.rule.locs(), late=False) == p.real
        except Exception:       # noqa: BLE001 -- a template that cannot be made is no template
            ok = False
            self.forget_failed()    # a deferred walk or split check that failed here
        return tpl if ok else _UNFIT

    def _compose(self, rule: FastRule, family: str, slow):
        """The rule template of ``rule``'s shape: the constructors of its units, made
        with ``slow`` where missing.  ``slow`` None: only from units already made (None
        when one is missing); the rule's statements are then not read."""
        key = rule.key
        stmts = atoms = locs = None
        if slow is not None:
            # only a unit made here reads the line's constants and locations; composing
            # from made units needs neither (the ranges come from the key): a dry run
            # of a composed shape never scans the line a second time (scan_line)
            atoms = rule.atoms()
            locs = rule.locs()
            stmts = rule.stmts
            if len(stmts) != len(key) - 1:
                return None
        parts = []
        ctx_keys: list = []
        ctx_idx: list = []
        get = self.stmts.get
        for ks, idx, lo, hi, ao, a1 in _units(key):
            # a counter or verdict reads no protocol context and takes no register
            # (_RuleEval.stmt, Linearizer.stmt): one unit whatever comes before it
            free = len(ks) == 1 and ks[0][0] in ("c", "v")
            ctx_t = () if free else tuple(ctx_keys)
            skey = (family, ctx_t, tuple(ks))
            fn = get(skey)
            if type(fn) is _Pair:
                parts.append((fn, lo, hi, ao, a1))
                continue            # address matches: no context to add
            nosplit = fn is _NOSPLIT
            if nosplit:
                fn = None
            if fn is None or type(fn) is int:
                if slow is None:
                    return None
                ctx_stmts = () if free else tuple(stmts[i] for i in ctx_idx)
                unit = tuple(stmts[i] for i in idx)
                if not nosplit and len(ks) > 1 and family == "ip" and _group(ks[0]) == "nh":
                    pair = self._split(rule, family, ctx_t, ks, idx, lo, ao, ctx_stmts, unit, stmts, locs,
                                       atoms, slow)
                    if pair is not None:
                        self.stmts[skey] = pair
                        parts.append((pair, lo, hi, ao, a1))
                        continue
                # a unit that failed may fit with other constants (a probe's byte equal
                # to a constant one): tried with up to UNIT_TRIES rules
                tries = fn or 0
                fn = self._stmt_template(rule.loc, ctx_stmts, unit, locs[lo:hi], atoms[ao:a1], slow)
                self.stmts[skey] = fn if fn is not None else (
                    tries + 1 if tries + 1 < UNIT_TRIES else _UNFIT)
            if fn is None or fn is _UNFIT or type(fn) is int:
                return None
            parts.append((fn, lo, hi, ao, a1))
            for k, i in zip(ks, idx):
                if _ctx_key(k):
                    ctx_keys.append(k)
                    ctx_idx.append(i)
        if parts and slow is not None and (parts[-1][2] != len(locs) or parts[-1][4] != len(atoms)):
            return None
        return tuple(parts)

    def _compose_made(self, key, family: str):
        """:meth:`_compose` without ``slow``: the rule template of ``key`` from units
        already made, or None.  Written for the ~470 new shapes of a 1k-rule ACL (the
        general loop took ~9 us a shape): the units are cut from the key as it is read."""
        get = self.stmts.get
        info = _STMT_INFO.get
        parts = []
        ctx: tuple = ()
        lo, ao = 1, 0
        n = len(key)
        i = 1
        while i < n:
            k = key[i]
            g, nl, na, cx, free = info(k) or _stmt_info(k)
            j = i + 1
            if g is not None:
                while j < n and (info(key[j]) or _stmt_info(key[j]))[0] == g:
                    j += 1
            ks = key[i:j]
            fn = get((family, () if free else ctx, ks))
            if type(fn) is _Unit or type(fn) is _Pair:
                if j == i + 1:
                    hi, a1 = lo + nl, ao + na
                else:
                    hi, a1 = lo, ao
                    for kk in ks:
                        v = info(kk)
                        hi += v[1]
                        a1 += v[2]
                parts.append((fn, lo, hi, ao, a1))
                lo, ao = hi, a1
                if j == i + 1:
                    if cx:
                        ctx += (k,)
                else:
                    for kk in ks:
                        if info(kk)[3]:
                            ctx += (kk,)
            else:
                return None
            i = j
        return tuple(parts)

    def _singles(self, family: str, ctx_t: tuple, ks, lo: int, ao: int, make=None) -> list | None:
        """The parts of a run of address matches composed statement by statement, from
        the single-statement units (made with ``make(i, k, l0, l1, a0, a1)`` where
        missing, when given); None when one is missing or unfit."""
        parts = []
        get = self.stmts.get
        for i, k in enumerate(ks):
            nl, na = _stmt_info(k)[1:3]
            sk = (family, ctx_t, (k,))
            fn = get(sk)
            if (fn is None or type(fn) is int) and make is not None:
                tries = fn or 0
                fn = make(i, lo, lo + nl, ao, ao + na)
                self.stmts[sk] = fn if fn is not None else (tries + 1 if tries + 1 < UNIT_TRIES else _UNFIT)
            if type(fn) is not _Unit:
                return None
            parts.append((fn, lo, lo + nl, ao, ao + na))
            lo += nl
            ao += na
        return parts

    def _split(self, rule, family, ctx_t, ks, idx, lo, ao, ctx_stmts, unit, stmts, locs, atoms, slow):
        """A run of two or more address matches as its single statements' units, when
        the slow path's answer for the run (after its context and a counter, as a unit's
        probes) is exactly theirs concatenated: the run was not merged.  Then no rule of
        its key is (merge_payloads decides on operators, bases, offsets and lengths,
        which every unit's walk proved fixed for its key; an address match changes no
        protocol context in an ip table): ``self.stmts[key]`` is then a :class:`_Pair` of
        the single units.  The check itself waits for the first read of the pair's
        constructors (``_Pair.check``; at once with ``PKT_EAGER_WALK=1``): a run that
        turns out merged gives its rules the slow path's answer then, and its key is
        made as one unit by the next rule (``_NOSPLIT``).  None: not split (made as one
        unit)."""
        R = rule.loc
        made: list = []

        def make(i, l0, l1, a0, a1):
            u = self._stmt_template(R, ctx_stmts, (stmts[idx[i]],), locs[l0:l1], atoms[a0:a1], slow)
            if u is not None:
                made.append((i, u))
            return u

        sub = self._singles(family, ctx_t, ks, lo, ao, make)
        if sub is None:
            return None
        ctx = ctx_stmts + (A.Counter(R),) if ctx_stmts else ()

        def check():
            """The slow path's answer for the run is its singles' answers concatenated."""
            bts = bins = ()
            if ctx:
                bts, bprog = slow(A.Rule(R, ctx, None))
                bts, bins = tuple(bts), tuple(bprog.instrs)
            ts, prog = slow(A.Rule(R, ctx + unit, None))
            ts, ins = tuple(ts), tuple(prog.instrs)
            if ts[:len(bts)] != bts or ins[:len(bins)] != bins:
                raise _fl._Unfit("the run changes its context's answer")
            ts, ins = ts[len(bts):], ins[len(bins):]
            want_ts: list = []
            want_ins: list = []
            for k, (u, l0, l1, a0, a1) in enumerate(sub):
                if u.walk is not None and any(u is m and i == k for i, m in made):
                    # made here from this statement, not walked: its own answer (not
                    # another statement's of the same key: that one reads the walk)
                    want_ts += u.real[0]
                    want_ins += u.real[1]
                else:
                    want_ts += u.ts(locs[l0:l1], atoms[a0:a1], R)
                    want_ins += u.ins(None, atoms[a0:a1], None)
            if tuple(want_ts) != ts or tuple(want_ins) != ins:
                raise _fl._Unfit("the run was merged")

        singles = tuple((u, l1 - l0, a1 - a0) for u, l0, l1, a0, a1 in sub)
        if not DEFER_WALK:
            try:
                check()
            except _fl._Unfit:
                return None
            return _Pair(singles, None)
        return _Pair(singles, check)

    def _stmt_template(self, rule_loc, ctx: tuple, unit: tuple, own_locs: list, own_atoms: list, slow):
        """The constructor ``build(L, A, R) -> (typed statements, instructions)`` of what
        the statements ``unit`` add after ``ctx``, from the slow path on them and on two
        probes (the same statements with other constants of the same classes).  Only
        the statements' own run is made here; the probes and the walk wait for the first
        read of the constructors (:meth:`_Unit.deferred`; ``PKT_EAGER_WALK=1``: here)."""

        def out(stmts):
            ts, prog = slow(A.Rule(rule_loc, stmts, None))
            return tuple(ts), tuple(prog.instrs)

        if ctx:
            # a counter between the context and the unit: a typed statement no payload
            # match merges with (evaluate.merge_payloads), as the separator or base
            # change before the unit in the rule itself; it changes no protocol context
            ctx = ctx + (A.Counter(rule_loc),)
        base_ts, base_ins = out(ctx) if ctx else ((), ())

        def after_ctx(stmts):
            ts, ins = out(ctx + stmts)
            if ts[:len(base_ts)] != base_ts or ins[:len(base_ins)] != base_ins:
                raise _fl._Unfit("the unit changes its context's answer")
            return ts[len(base_ts):], ins[len(base_ins):]

        try:
            own = after_ctx(unit)
        except _fl._Unfit:
            return None

        def walk():
            """The probes, their slow runs and the walk of the three answers: what only
            the constructors need (a dry run's hits never read them)."""
            rng = random.Random(repr(own_atoms))
            probes = []
            avoid: set = set(b for x in own_atoms for b in x)
            plens: set = set()
            for _ in range(2 if own_atoms else 0):
                p = _fl._probe(A.Rule(rule_loc, unit, None), rng, avoid, plens)
                sc = _fl.scan(p)
                if sc is None or sc[1][1:] != own_locs:
                    raise _fl._Unfit("a probe of another layout")
                avoid |= {b for x in sc[2] for b in x}
                probes.append((p.stmts, sc[2]))
            try:
                if own_atoms:
                    got = [own, after_ctx(probes[0][0]), after_ctx(probes[1][0])]
                else:
                    # no constant slot (meta l4proto, counter, verdict): a probe would be
                    # the unit itself, and the slow path gives equal answers for equal
                    # rules; one second run stands for both probes (distinct objects: _Gen
                    # then walks the values)
                    probes = [(unit, []), (unit, [])]
                    again = after_ctx(unit)
                    got = [own, again, again]
            except _fl._Unfit:
                raise
            except Exception as e:  # noqa: BLE001 -- a probe the slow path refuses: no unit
                raise _fl._Unfit(f"a probe refused: {e}") from None
            g = _StmtGen(own_locs, rule_loc, (own_atoms, probes[0][1], probes[1][1]))
            body_ts = g.expr(got[0][0], got[1][0], got[2][0])
            body_ins = g.expr(got[0][1], got[1][1], got[2][1])
            if _LOCREF.search(body_ins):
                raise _fl._Unfit("instructions hold no locations: built without them")
            u = _Unit(body_ts, body_ins, g)
            if u.ts(own_locs, own_atoms, rule_loc) != own[0] or u.ins(None, own_atoms, None) != own[1]:
                raise _fl._Unfit("the constructors do not give the statements' own answer")
            return body_ts, body_ins, g

        if not DEFER_WALK:
            try:
                return _Unit(*walk())
            except _fl._Unfit:
                return None
        return _Unit.deferred(walk, own)


def instantiate(tpl, rule: FastRule, family: str, table: str, chain: str, locs: list, *, late: bool = True):
    """``(typed statements, program)`` of ``rule`` from its shape's template; a unit
    whose deferred walk fails gives the slow path's answer (``late``; else the
    :class:`.fastload._Unfit`)."""
    from pkttables.compile.linearize import Program
    try:
        return stmts_of(tpl, rule, locs), Program(family, table, chain, (), instrs_of(tpl, rule), rule.comment)
    except _fl._Unfit:
        if not late:
            raise
        ts, ins = late_answer(rule, family, table, chain)
        return ts, Program(family, table, chain, (), ins, rule.comment)


def late_answer(rule: FastRule, family: str, table: str, chain: str) -> tuple:
    """``(typed statements, instructions)`` of ``rule`` by the slow path, for a rule
    whose template holds a unit whose deferred walk failed (read after the load): the
    failed units and the templates holding them are forgotten first, so later rules
    of those shapes take the slow path at once.  The fast grammar names no set, chain
    or interface: the rule's context is its family, table and chain."""
    LINES.forget_failed()
    from ._pipeline import slow_answer
    ts, prog = slow_answer(rule, family, table, chain)
    return ts, tuple(prog.instrs)


_partial = functools.partial


def stmts_late(tpl, rule: FastRule, family: str, table: str, chain: str) -> tuple:
    """:func:`stmts_of` for a lazy record (``LazyRule``), :func:`late_answer` when a
    unit's deferred walk fails."""
    try:
        return stmts_of(tpl, rule, rule.locs())
    except _fl._Unfit:
        return late_answer(rule, family, table, chain)[0]


def _instrs_late(tpl, rule: FastRule, family: str, table: str, chain: str) -> tuple:
    try:
        return instrs_of(tpl, rule)
    except _fl._Unfit:
        return late_answer(rule, family, table, chain)[1]


def stmts_of(tpl, rule: FastRule, locs: list) -> tuple:
    atoms = rule.atoms()
    R = locs[0]
    ts: list = []
    for u, l0, l1, a0, a1 in tpl:
        ts += u.make_ts(locs[l0:l1], atoms[a0:a1], R)
    return tuple(ts)


def instrs_of(tpl, rule: FastRule) -> tuple:
    atoms = rule.atoms()
    ins: list = []
    for u, _l0, _l1, a0, a1 in tpl:
        ins += u.make_ins(atoms[a0:a1])
    return tuple(ins)


def program_of(tpl, rule: FastRule, family: str, table: str, chain: str):
    """The rule's program, its instructions built on first read (:class:`LazyProgram`)."""
    P = _LazyProgram if _LazyProgram is not None else _load_program()
    # a partial, not a lambda: two objects a rule instead of a function and five cells
    # (every object of a load is paid again by the young collection after it)
    return P(family, table, chain, (), (), rule.comment, make=_partial(_instrs_late, tpl, rule, family, table, chain))


def _load_program():
    """:class:`pkttables.compile.Program` with ``instrs`` built on first read.

    ``pkt -c -f`` never reads a rule's instructions (the fast grammar has no jumps to
    check); a load that runs packets or lists builds them then.  Compares equal to,
    and copies and pickles as, the plain ``Program``."""
    global _LazyProgram
    from pkttables.compile.linearize import Program

    instrs_slot = Program.instrs
    set_family, set_table, set_chain = Program.family.__set__, Program.table.__set__, Program.chain.__set__
    set_sets, set_comment, set_instrs = Program.sets.__set__, Program.comment.__set__, instrs_slot.__set__

    class LazyProgram(Program):
        __slots__ = ("make",)

        def __init__(self, family, table, chain, sets, instrs=(), comment=None, *, make=None):
            set_make(self, make)
            set_family(self, family)
            set_table(self, table)
            set_chain(self, chain)
            set_sets(self, sets)
            set_comment(self, comment)
            set_instrs(self, instrs)

        @property
        def instrs(self):
            make = self.make
            if make is not None:
                set_make(self, None)
                set_instrs(self, make())
            return instrs_slot.__get__(self)

        def _plain(self):
            return Program(self.family, self.table, self.chain, self.sets, self.instrs, self.comment)

        def __eq__(self, other):
            if isinstance(other, Program):
                return (self.family, self.table, self.chain, self.sets, self.instrs, self.comment) == \
                    (other.family, other.table, other.chain, other.sets, other.instrs, other.comment)
            return NotImplemented

        def __hash__(self):
            return hash(self._plain())

        def __repr__(self):
            return repr(self._plain())

        def __reduce__(self):
            return (Program, (self.family, self.table, self.chain, self.sets, self.instrs, self.comment))

        def __copy__(self):
            return self._plain()

    set_make = LazyProgram.make.__set__
    _LazyProgram = LazyProgram
    return LazyProgram


LINES = LineShapes()
_LazyProgram = None
