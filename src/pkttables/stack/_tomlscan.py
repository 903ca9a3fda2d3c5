"""Where each table and key of a TOML text is: the positions ``tomllib`` does not give.

Theory of operation
-------------------
``tomllib`` turns text into dicts and forgets lines.  To point an error at the line of the
offending key, :func:`scan` walks the text once more with a small state machine that
knows just enough TOML to stay in sync: comments, the four string forms (basic,
literal, and their multi-line versions), and brackets/braces nesting inside values.  At
the top level (not inside a value) a line is either a table header (``[name]`` or
``[[name]]``) or ``key = value``; everything else is skipped.

The result is a list of :class:`TableLoc`, one per header occurrence in file order (the
k-th ``[[interface]]`` header is ``data["interface"][k]``), plus one root table for keys
above the first header.  Each table maps its keys (dotted keys as tuples) to a
:class:`KeyLoc` with the key's and the value's columns.  The scanner never raises: on
text tomllib accepted it is exact, on anything else it is a best effort, since tomllib
reports syntax errors itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["KeyLoc", "TableLoc", "Scan", "scan"]


@dataclass(frozen=True, slots=True)
class KeyLoc:
    line: int            # 1-based
    key_col: int         # 1-based, first column of the key
    key_end: int         # last column of the key (inclusive)
    value_col: int       # first column of the value
    value_end: int       # last column of the value on its first line


@dataclass(slots=True)
class TableLoc:
    name: tuple[str, ...]          # () for the root table
    array: bool                    # [[name]] rather than [name]
    line: int
    col: int = 1
    end_col: int = 1
    keys: dict[tuple[str, ...], KeyLoc] = field(default_factory=dict)


@dataclass(slots=True)
class Scan:
    lines: list[str]
    tables: list[TableLoc]

    def occurrences(self, name: str) -> list[TableLoc]:
        """The headers ``[[name]]``/``[name]`` in file order (not their sub-tables)."""
        return [t for t in self.tables if t.name == (name,)]

    def line_text(self, line: int) -> str | None:
        return self.lines[line - 1] if 1 <= line <= len(self.lines) else None


_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _parse_key(s: str, i: int) -> tuple[tuple[str, ...], int]:
    """A (possibly dotted, possibly quoted) key starting at s[i]; returns parts and end index."""
    parts: list[str] = []
    n = len(s)
    while i < n:
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] in "\"'":
            q = s[i]
            j = i + 1
            buf = []
            while j < n and s[j] != q:
                if q == '"' and s[j] == "\\" and j + 1 < n:
                    esc = s[j + 1]
                    buf.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(esc, esc))
                    j += 2
                    continue
                buf.append(s[j])
                j += 1
            parts.append("".join(buf))
            i = j + 1
        else:
            j = i
            while j < n and s[j] in _BARE:
                j += 1
            if j == i:
                break
            parts.append(s[i:j])
            i = j
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] == ".":
            i += 1
            continue
        break
    return tuple(parts), i


def scan(text: str) -> Scan:
    lines = text.split("\n")
    root = TableLoc((), False, 0)
    tables: list[TableLoc] = [root]
    cur = root
    depth = 0            # [] / {} nesting inside a value
    string: str | None = None   # open multi-line string delimiter, if any
    for lineno, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        i = 0
        n = len(line)
        if string is None and depth == 0:
            stripped = line.lstrip(" \t")
            i = n - len(stripped)
            if stripped.startswith("["):
                array = stripped.startswith("[[")
                start = i + (2 if array else 1)
                name, j = _parse_key(line, start)
                close = line.find("]]" if array else "]", j)
                end = close + (2 if array else 1) if close >= 0 else n
                cur = TableLoc(name, array, lineno, i + 1, end)
                tables.append(cur)
                i = end
            elif stripped and stripped[0] not in "#":
                key, j = _parse_key(line, i)
                if key and j < n and line[j] == "=":
                    key_end = j
                    while key_end > i and line[key_end - 1] in " \t":
                        key_end -= 1
                    v = j + 1
                    while v < n and line[v] in " \t":
                        v += 1
                    vend = _value_end(line, v)
                    cur.keys.setdefault(key, KeyLoc(lineno, i + 1, key_end, v + 1, vend))
                    i = v
                else:
                    i = n
        # Track strings, comments and nesting for the rest of the line.
        while i < n:
            c = line[i]
            if string is not None:
                if line.startswith(string, i):
                    i += 3
                    string = None
                    continue
                if string == '"""' and c == "\\":
                    i += 2
                    continue
                i += 1
                continue
            if c == "#":
                break
            if line.startswith('"""', i) or line.startswith("'''", i):
                string = line[i:i + 3]
                i += 3
                continue
            if c in "\"'":
                j = i + 1
                while j < n and line[j] != c:
                    j += 2 if (c == '"' and line[j] == "\\") else 1
                i = j + 1
                continue
            if c in "[{":
                depth += 1
            elif c in "]}":
                depth = max(0, depth - 1)
            i += 1
    return Scan(lines, tables)


def _value_end(line: str, v: int) -> int:
    """Last column (1-based, inclusive) of the value starting at index v, on this line."""
    n = len(line)
    i = v
    while i < n:
        c = line[i]
        if c == "#":
            break
        if c in "\"'" and not line.startswith(c * 3, i):
            j = i + 1
            while j < n and line[j] != c:
                j += 2 if (c == '"' and line[j] == "\\") else 1
            i = j + 1
            continue
        i += 1
    end = min(i, n)
    while end > v and line[end - 1] in " \t":
        end -= 1
    return max(end, v + 1)
