"""Programs (rules) and the set dumps around them: nft's ``--debug=netlink`` text.

When nft adds a rule it prints, for each anonymous set the rule needs, the set
(``__set%d test-inet 3``: name, table, hex NFT_SET_* flags, then ``timeout``/
``gc_interval``/``policy``/``size`` when set), the set again as the carrier of its
elements (flags 0, then one line of ``\\telement ...`` entries), and then the rule:
a header line (family, table, chain) and one ``  [ expr ... ]`` line per instruction.

An element prints as libnftnl 1.2.4's nftnl_set_elem_snprintf_default does::

    element 0a000000 00005000  - 14000000 00005a00  : accept 0 [end]
            key words (each + " ")  " - " key_end   " : " data   flags " [end]"

Data is words (a map), a verdict (``accept ``, ``jump -> chain ``) or nothing (a
set); the trailing number is NFT_SET_ELEM_* flags (1 interval end, 2 catch-all).
Userdata, when present, follows as ``  userdata = { ... }`` with non-printable bytes
as ``\\xNN``.

:func:`parse_dump` reads such text into :class:`SetDump` and :class:`Program` values and
:func:`dump` prints them back, character for character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pkttables.vm._base import DumpError, Instr, parse_instr
from pkttables.vm.regs import VerdictData, fmt_data, parse_words

__all__ = ["Program", "SetElem", "SetDump", "SetFlag", "parse_dump", "dump", "ELEM_INTERVAL_END",
           "ELEM_CATCHALL"]

ELEM_INTERVAL_END = 1   # NFT_SET_ELEM_INTERVAL_END
ELEM_CATCHALL = 2       # NFT_SET_ELEM_CATCHALL


class SetFlag:
    """NFT_SET_* flags (nf_tables.h ``enum nft_set_flags``)."""

    ANONYMOUS = 0x1
    CONSTANT = 0x2
    INTERVAL = 0x4
    MAP = 0x8
    TIMEOUT = 0x10
    EVAL = 0x20
    OBJECT = 0x40
    CONCAT = 0x80
    EXPR = 0x100


def _words_nopfx(data: bytes) -> str:
    """``%.8x `` per word (DATA_F_NOPFX), each followed by a space."""
    return "".join(w + " " for w in fmt_data(data, prefix="").split()) if data else ""


def _userdata_text(b: bytes) -> str:
    # isprint(): 0x20..0x7e as themselves, the rest as \xNN
    return "".join(chr(c) if 0x20 <= c < 0x7F else f"\\x{c:02x}" for c in b)


def _userdata_bytes(s: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(s):
        if s.startswith("\\x", i) and re.fullmatch(r"[0-9a-f]{2}", s[i + 2:i + 4]):
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        else:
            out += s[i].encode("latin-1")
            i += 1
    return bytes(out)


@dataclass(frozen=True, slots=True)
class SetElem:
    """One set element as the kernel holds it: key (and key_end for ranges of
    concatenations), data (bytes for a map, a verdict for a verdict map), flags."""

    key: bytes = b""
    key_end: bytes | None = None
    data: bytes | VerdictData = b""
    flags: int = 0
    userdata: bytes | None = None

    def dump(self) -> str:
        out = "element " + _words_nopfx(self.key)
        if self.key_end is not None:
            out += " - " + _words_nopfx(self.key_end)
        out += " : "
        if isinstance(self.data, VerdictData):
            out += self.data.dump() + " "
        else:
            out += _words_nopfx(self.data)
        out += f"{self.flags} [end]"
        if self.userdata is not None:
            out += "  userdata = { " + _userdata_text(self.userdata) + " }"
        return out

    _RE = re.compile(
        r"element ((?:[0-9a-f]{8} )*)(?: - ((?:[0-9a-f]{8} )*))? : "
        r"((?:[0-9a-f]{8} )*|[a-z]+ (?:(?:-> )?[^\s\d]\S* )?)(\d+) \[end\](?:  userdata = \{ (.*) \})?", re.S)

    @classmethod
    def parse(cls, text: str) -> "SetElem":
        m = cls._RE.fullmatch(text)
        if m is None:
            raise DumpError(f"cannot read set element {text!r}")
        key = parse_words(m[1].split())
        key_end = None if m[2] is None else parse_words(m[2].split())
        d = m[3]
        if d and not re.fullmatch(r"(?:[0-9a-f]{8} )+", d):
            data: bytes | VerdictData = VerdictData.parse(d)
        else:
            data = parse_words(d.split())
        ud = None if m[5] is None else _userdata_bytes(m[5])
        return cls(key, key_end, data, int(m[4]), ud)


_ELEM_SPLIT = re.compile(r"[ \t]+(?=element )")


@dataclass(frozen=True, slots=True)
class SetDump:
    """A set as nft's debug output prints it (nftnl_set_snprintf_default)."""

    name: str
    table: str
    flags: int = 0
    timeout: int | None = None       # ms
    gc_interval: int | None = None   # ms
    policy: int | None = None
    size: int | None = None
    elements: tuple[SetElem, ...] = ()

    def header(self) -> str:
        out = f"{self.name} {self.table} {self.flags:x}"
        if self.timeout is not None:
            out += f" timeout {self.timeout}ms"
        if self.gc_interval is not None:
            out += f" gc_interval {self.gc_interval}ms"
        if self.policy is not None:
            out += f" policy {self.policy}"
        if self.size is not None:
            out += f" size {self.size}"
        return out

    def dump(self) -> str:
        if not self.elements:
            return self.header()
        return self.header() + "\n" + "".join("\t" + e.dump() for e in self.elements)

    _RE = re.compile(r"(\S+) (\S+) ([0-9a-f]+)(?: timeout (\d+)ms)?(?: gc_interval (\d+)ms)?"
                     r"(?: policy (\d+))?(?: size (\d+))?")

    @classmethod
    def parse_header(cls, line: str) -> "SetDump":
        m = cls._RE.fullmatch(line)
        if m is None:
            raise DumpError(f"cannot read set line {line!r}")
        opt = [None if g is None else int(g) for g in (m[4], m[5], m[6], m[7])]
        return cls(m[1], m[2], int(m[3], 16), *opt)

    @staticmethod
    def parse_elements(line: str) -> tuple[SetElem, ...]:
        """nft separates elements with tabs; text whose tabs an editor expanded to
        spaces is read too (and dumped back with tabs)."""
        if "\t" in line and line.startswith("\t") and "  element" not in line:
            parts = line[1:].split("\t")
        else:
            parts = _ELEM_SPLIT.split(line.strip(" \t"))
        return tuple(SetElem.parse(e.rstrip(" \t") if e.endswith(("] ", "]\t")) else e)
                     for e in parts)


@dataclass(frozen=True, slots=True)
class Program:
    """One rule: its header line (``ip test-ip4 input``, kept as printed) and its
    instructions in order."""

    instrs: tuple[Instr, ...]
    header: str | None = None

    @classmethod
    def for_chain(cls, family: str, table: str, chain: str, instrs) -> "Program":
        return cls(tuple(instrs), f"{family} {table} {chain}")

    def dump(self) -> str:
        lines = [] if self.header is None else [self.header]
        lines += ["  " + i.dump() for i in self.instrs]
        return "\n".join(lines)

    def __iter__(self):
        return iter(self.instrs)

    def __len__(self) -> int:
        return len(self.instrs)


def _is_expr(line: str) -> bool:
    return line.startswith("  [")


def parse_dump(text: str, filename: str = "<dump>") -> list[Program | SetDump]:
    """Read debug-netlink text into set dumps and programs, in order.

    A non-expression line directly followed by an expression line is a rule header;
    other lines are set headers, and a tab-indented line holds the elements of the set
    above it.  Errors are :class:`DumpError` with the line's location.
    """
    from pkttables.errors import Location

    lines = text.split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    out: list[Program | SetDump] = []
    prog: list[Instr] | None = None
    header: str | None = None

    def flush() -> None:
        nonlocal prog, header
        if prog is not None:
            out.append(Program(tuple(prog), header))
        prog, header = None, None

    for n, line in enumerate(lines, 1):
        try:
            if _is_expr(line):
                if prog is None:
                    prog = []
                prog.append(parse_instr(line))
            elif line.startswith("\t") or (line[:1].isspace() and "element" in line):
                flush()
                if not out or not isinstance(out[-1], SetDump) or out[-1].elements:
                    raise DumpError("element line without a set line above it")
                prev = out.pop()
                out.append(SetDump(prev.name, prev.table, prev.flags, prev.timeout, prev.gc_interval,
                                   prev.policy, prev.size, SetDump.parse_elements(line)))
            else:
                flush()
                if n < len(lines) and _is_expr(lines[n]):
                    prog, header = [], line
                else:
                    out.append(SetDump.parse_header(line))
        except DumpError as e:
            loc = Location(filename, n, 1, len(line), line)
            raise DumpError(f"{e.diagnostics[0].message}", loc) from None
    flush()
    return out


def dump(items) -> str:
    """The text of set dumps and programs, one per line group (inverse of parse_dump)."""
    return "\n".join(i.dump() for i in items)
