"""Read nft's ``--debug=netlink`` text (libnftnl 1.2.4 style) into plain records.

The delinearizer works on :class:`Ins` records: the expression's name and its
tokens.  Anything that has a ``dump()`` method printing that same text (the compiler's
records, the vm's instruction classes) is read through its dump, so the listing does
not depend on the attribute names of either.

Anonymous sets are printed by nft before the rule::

    __set%d test-ip4 3 size 3                  <- name, table, flags (hex), size
    __set%d test-ip4 0
    <TAB>element 00001600  : 0 [end]<TAB>element ...

:func:`parse_netlink_debug` returns those blocks as :class:`AnonSet` in order, each
element with its key bytes (the printed words are host-endian u32s, libnftnl's
``nftnl_data_reg`` snprintf), its data (a verdict or bytes) and its element flags
(``1`` = ``NFT_SET_ELEM_INTERVAL_END``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Ins", "AnonSet", "SetElem", "parse_line", "parse_netlink_debug", "words_to_bytes",
           "SET_ANONYMOUS", "SET_CONSTANT", "SET_INTERVAL", "SET_MAP", "SET_TIMEOUT", "SET_EVAL",
           "SET_OBJECT", "SET_CONCAT"]

# enum nft_set_flags (include/uapi/linux/netfilter/nf_tables.h)
SET_ANONYMOUS, SET_CONSTANT, SET_INTERVAL, SET_MAP = 0x1, 0x2, 0x4, 0x8
SET_TIMEOUT, SET_EVAL, SET_OBJECT, SET_CONCAT = 0x10, 0x20, 0x40, 0x80

_VERDICTS = ("accept", "drop", "continue", "return", "jump", "goto", "queue", "stolen", "break")


@dataclass(frozen=True, slots=True)
class Ins:
    """One ``[ name tok tok ... ]`` line."""

    name: str
    toks: tuple[str, ...]
    text: str
    # the compiler's/vm's instruction this line was dumped from, when there is one: it
    # holds what the kernel keeps but libnftnl's dump does not print (cmp length)
    obj: object = field(default=None, compare=False, repr=False)

    def after(self, word: str, default: str | None = None) -> str | None:
        """The token following ``word``; for ``proto_min reg 1`` the register number."""
        try:
            i = self.toks.index(word)
            v = self.toks[i + 1]
            if v == "reg":
                v = self.toks[i + 2]
            return v
        except (ValueError, IndexError):
            return default


@dataclass(frozen=True, slots=True)
class SetElem:
    key: bytes
    data: bytes | str | None = None     # bytes, or a verdict text ("accept", "jump foo")
    flags: int = 0
    key_end: bytes | None = None        # interval concatenations: inclusive upper bound


@dataclass(slots=True)
class AnonSet:
    name: str
    flags: int = 0
    size: int | None = None
    elements: list[SetElem] = field(default_factory=list)
    # the data's datatype name (``mark``, ``ipv4_addr``), or an object map's object kind
    # (``counter``, ``ct helper``): the model knows it, libnftnl's debug dump does not
    dtype: str | None = None

    @property
    def interval(self) -> bool:
        return bool(self.flags & SET_INTERVAL)


def words_to_bytes(tokens) -> bytes:
    """``0x0000e800`` / ``0000e800`` words -> register bytes (each word host-endian)."""
    out = bytearray()
    for t in tokens:
        t = t[2:] if t.startswith("0x") else t
        out += int(t, 16).to_bytes(4, "little")
    return bytes(out)


def _is_word(t: str) -> bool:
    return bool(re.fullmatch(r"(0x)?[0-9a-f]{8}", t))


def parse_line(text: str) -> Ins:
    s = text.strip()
    if s.startswith("[") and s.endswith("]"):
        s = s[1:-1].strip()
    toks = tuple(s.split())
    return Ins(toks[0] if toks else "", toks[1:], text)


def _parse_element(item: str) -> SetElem:
    # "element 00001600  : accept 0 [end]" / "element 0100007f  : 0200007f 0 [end]"
    body = item.split(None, 1)[1] if " " in item else ""
    body = body.replace("[end]", "").strip()
    keypart, _, rest = body.partition(":")
    # an interval concatenation (pipapo) prints its key and its key end: `k1 k2 - e1 e2`
    keypart, dash, endpart = keypart.partition(" - ")
    key = words_to_bytes(keypart.split())
    key_end = words_to_bytes(endpart.split()) if dash else None
    rt = rest.split()
    flags = int(rt[-1], 0) if rt else 0
    dt = rt[:-1]
    data: bytes | str | None = None
    if dt:
        if all(_is_word(t) for t in dt):
            data = words_to_bytes(dt)
        else:
            data = " ".join(t for t in dt if t != "->")
    return SetElem(key, data, flags, key_end)


_ELEM_RE = re.compile(r"element\b.*?\[end\]")


def parse_netlink_debug(text: str | list[str]) -> tuple[list[AnonSet], list[Ins]]:
    """Anonymous set blocks and instruction records of one rule's debug output."""
    lines = text.splitlines() if isinstance(text, str) else list(text)
    sets: list[AnonSet] = []
    ins: list[Ins] = []
    cur: AnonSet | None = None
    for raw in lines:
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("["):
            ins.append(parse_line(s))
        elif s.startswith("element"):
            if cur is not None:
                cur.elements.extend(_parse_element(m.group(0)) for m in _ELEM_RE.finditer(s))
        elif s.startswith(("__set", "__map", "__objmap")):
            t = s.split()
            flags = int(t[2], 16) if len(t) > 2 else 0
            if flags == 0 and cur is not None and cur.name == t[0] and not cur.elements:
                continue        # the second header line of the block
            size = int(t[4]) if len(t) > 4 and t[3] == "size" else None
            cur = AnonSet(t[0], flags, size)
            sets.append(cur)
    return sets, ins
