"""Where, inside a command, nft puts its carets.

The AST gives one location per object (``table inet t`` as a whole); nft points at one
token of it: the table name when the table is missing, the chain name when the chain
is missing, ``position 7`` when that rule is missing (nft ``struct handle`` keeps a
location for each of ``table``, ``chain``, ``set``, ``obj``, ``handle``, ``position``,
``index``).  Here the object's line is tokenized again and the fields are found by their
order in the grammar, which is fixed: ``KEYWORD [family] table name|handle N``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pkttables.errors import Location
from pkttables.lang import ast as A
from pkttables.lang.lexer import tokenize

_FAMILIES = frozenset(("ip", "ip6", "inet", "arp", "bridge", "netdev"))
_KEYWORDS = frozenset(("table", "chain", "rule", "set", "map", "meter", "element", "flowtable",
                       "counter", "quota", "limit", "secmark", "synproxy"))


@dataclass(frozen=True, slots=True)
class Fields:
    """Locations of the parts of an object reference (None where absent)."""

    whole: Location
    family: Location | None = None
    table: Location | None = None
    name: Location | None = None        # chain / set / object / flowtable name (table: its name)
    handle: Location | None = None      # the number after ``handle``
    position: Location | None = None    # ``position N`` / ``index N`` / ``handle N`` (rules)

    def pick(self, *names: str) -> Location:
        for n in names:
            loc = getattr(self, n)
            if loc is not None:
                return loc
        return self.whole


def _span(a: Location, b: Location) -> Location:
    return Location(a.file, a.line, a.first_col, b.last_col, a.line_text)


def locate(obj: A.Obj, nested: bool = False, end: Location | None = None) -> Fields:
    """The field locations of ``obj``; on any doubt the whole object's location.

    The object's span ends after a trailing ``handle N`` (the parser closes a node after
    its last token), so its own tokens are enough; ``end`` is accepted and unused."""
    loc = obj.loc
    toks = tokens(loc)
    if not toks:
        return Fields(loc)
    i = 0
    if i < len(toks) and toks[i][0] in _KEYWORDS:
        i += 1
    elif i < len(toks) and toks[i][0] == "ct" and i + 1 < len(toks):
        i += 2
    fam = None
    if not nested and i < len(toks) and toks[i][0] in _FAMILIES and _has_family(obj):
        fam = toks[i][1]
        i += 1

    def take() -> Location | None:
        nonlocal i
        if i < len(toks):
            i += 1
            return toks[i - 1][1]
        return None

    def handle_kw() -> tuple[Location | None, Location | None]:
        nonlocal i
        if i + 1 < len(toks) and toks[i][0] in ("handle", "position", "index"):
            kw, num = toks[i][1], toks[i + 1][1]
            i += 2
            return num, _span(kw, num)
        return None, None

    if isinstance(obj, A.TableObj):
        h, _ = handle_kw()
        return Fields(loc, fam, None, None if h else take(), h)
    if nested:
        return Fields(loc, None, None, take())
    table = take()
    if isinstance(obj, A.RuleObj):
        chain = take()
        num, pos = handle_kw()
        return Fields(loc, fam, table, chain, num, pos)
    h, _ = handle_kw()
    return Fields(loc, fam, table, None if h else take(), h)



def _has_family(obj: A.Obj) -> bool:
    return getattr(obj, "family", None) is not None


def tokens(loc: Location | None) -> list[tuple[str, Location]]:
    """The tokens of ``loc``'s span, each with its location on the real line."""
    if loc is None or loc.line_text is None or not loc.first_col:
        return []
    try:
        toks = tokenize(loc.line_text, loc.file)
    except Exception:
        return []
    last = max(loc.last_col, loc.first_col)
    return [(t.text, Location(loc.file, loc.line, t.loc.first_col, t.loc.last_col, loc.line_text))
            for t in toks if t.loc is not None and t.text
            and t.loc.first_col >= loc.first_col and t.loc.last_col <= last]


def after(loc: Location | None, keyword: str) -> Location | None:
    """The token that follows ``keyword`` inside ``loc`` (``hook nosuch`` -> ``nosuch``)."""
    toks = tokens(loc)
    for i, (text, _) in enumerate(toks[:-1]):
        if text == keyword:
            return toks[i + 1][1]
    return None


def word(loc: Location | None, text: str) -> Location | None:
    """The token ``text`` inside ``loc``."""
    for t, tl in tokens(loc):
        if t == text:
            return tl
    return None


def from_keyword(loc: Location | None, keyword: str, end: Location | None = None) -> Location | None:
    """From ``keyword`` to the end of ``end`` (or of ``loc``): ``priority foo``."""
    kw = word(loc, keyword)
    if kw is None or loc is None:
        return None
    stop = end if end is not None and end.line == kw.line else loc
    return Location(kw.file, kw.line, kw.first_col, stop.last_col, kw.line_text)


def widen(loc: Location | None) -> Location | None:
    """nft's location of a whole command runs one column past its last token."""
    if loc is None or not loc.first_col:
        return loc
    return Location(loc.file, loc.line, loc.first_col, loc.last_col + 1, loc.line_text)


def to_eol(loc: Location | None) -> Location | None:
    """``loc`` stretched to the end of its line (a node whose span stops at its keyword)."""
    if loc is None or loc.line_text is None or not loc.first_col:
        return loc
    return Location(loc.file, loc.line, loc.first_col, len(loc.line_text), loc.line_text)
