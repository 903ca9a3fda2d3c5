"""Bulk scanning of long element lists (``elements = { a, b, c, ... }``).

Theory of operation
-------------------
A set of a million addresses is a million ``value ,`` pairs: tokenized one by one
(two ``Token`` objects each), parsed one by one (an AST node with a ``Location`` each)
and evaluated one by one, that is most of ``pkt -c -f``'s time on such a file, while
the list holds nothing but constants.  Here the tokenizer, when it has just produced
the ``{`` of ``elements = {`` or of ``add|create element [family] TABLE SET {``, asks
:func:`scan` whether everything up to the next ``}`` is a plain list: items separated
by commas (blanks and newlines around them, a trailing comma allowed), each item one of

* ``V``, ``V - V``, ``V / N`` where ``V`` is a dotted quad (``\\d{1,3}`` x4) or a decimal
  number without a leading zero, and ``N`` a decimal number (blanks but no newline
  inside an item, as the parser's ``set_elem`` fast path requires),

and at least :data:`MIN_ITEMS` of them.  If so the whole run becomes one ``BULK`` token
whose value is a :class:`BulkElements`: the text span, plus the tokenizer's state at
the ``{`` (line, start of that line), so the exact tokens can be made again later.
The parser's ``set_expr`` turns ``{ BULK }`` into a ``SetExpr`` whose ``elements`` is
that object.

:class:`BulkElements` is a read-only sequence.  Any consumer that indexes or iterates
it gets the *normal* AST: the span's line is tokenized again from its start (same
columns, same line texts) and parsed by the normal ``set_expr``, so nodes, locations
and therefore every error text are those of the slow path.  Consumers that know the
set's key type (``commands.fastelements``) read :meth:`BulkElements.items` instead --
the item texts, blanks removed -- and convert them to keys in one pass, and fall back
to the sequence (the slow path) on anything they do not recognise.

Anything not in the grammar above (``#`` comments, ``\\``-continuations, CRLF, IPv6,
symbols, concatenations, element options, ``$variables``, nested ``{``) fails the scan
and the list is tokenized as usual.  When the parse reports a syntax error the parser
parses the text again without bulk tokens (``parse``), so error recovery sees the
normal token stream.

Example: ``elements = { 10.0.0.1, 10.0.0.0/8, 1.2.3.4-1.2.3.9 }`` (with MIN_ITEMS <= 3)
gives tokens ``elements`` ``=`` ``{`` BULK ``}``, and ``BULK.value.items()`` is
``["10.0.0.1", "10.0.0.0/8", "1.2.3.4-1.2.3.9"]``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["BULK", "MIN_ITEMS", "BulkElements", "scan"]

BULK = "bulk elements"

#: Fewer items than this are tokenized normally: the scan and the later re-tokenization
#: on a slow path are not worth it for small lists, and small lists (the corpus, error
#: tests) keep the exact normal token stream.  Tests lower it to exercise the path.
MIN_ITEMS = 64

_V = r"(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[1-9][0-9]{0,9}|0)"
_N = r"(?:[1-9][0-9]{0,9}|0)"
_ITEM = rf"{_V}(?:[ \t]*+(?:-[ \t]*+{_V}|/[ \t]*+{_N}))?+"
# Possessive/atomic everywhere: a span that does not match fails in linear time.
_SPAN = re.compile(rf"[ \t\n]*+(?:{_ITEM}[ \t\n]*+,[ \t\n]*+)*+(?:{_ITEM}[ \t\n]*+)?+", re.ASCII)
_BLANKS = str.maketrans("", "", " \t\n")


def scan(text: str, pos: int) -> int | None:
    """The index of the ``}`` closing a plain list that starts at ``pos`` (just after a
    ``{``), or None when the span is not a plain list of at least MIN_ITEMS items."""
    end = text.find("}", pos)
    if end < 0 or text.count(",", pos, end) + 1 < MIN_ITEMS:
        return None
    if _SPAN.fullmatch(text, pos, end) is None:
        return None
    return end


class BulkElements(Sequence):
    """The elements of a plain list, kept as text; a sequence of the normal AST nodes
    (built on first use).  ``line``, ``line_start`` and ``filename`` are the tokenizer's
    state at the ``{`` (its line number, the index where that line starts, its column)."""

    __slots__ = ("text", "start", "end", "filename", "line", "line_start", "col", "_nodes")

    def __init__(self, text: str, start: int, end: int, filename: str, line: int, line_start: int,
                 col: int):
        self.text = text
        self.start = start
        self.end = end
        self.filename = filename
        self.line = line
        self.line_start = line_start
        self.col = col                      # the `{` token's column
        self._nodes: tuple | None = None

    def items(self) -> list[str]:
        """Each item's text without blanks: ``"10.0.0.0/8"``, ``"1.2.3.4-1.2.3.9"``, ``"22"``."""
        out = self.text[self.start:self.end].translate(_BLANKS).split(",")
        if out and not out[-1]:
            out.pop()                       # the trailing comma
        return out

    def compact(self) -> str:
        """The span without blanks and without a trailing comma: ``"10.0.0.1,10.0.0.0/8"``."""
        return self.text[self.start:self.end].translate(_BLANKS).rstrip(",")

    def nodes(self) -> tuple:
        """The AST the normal path builds for these elements (cached)."""
        if self._nodes is None:
            from .lexer import tokenize
            from .parser import _Parser
            stop = self.text.find("\n", self.end)
            if stop < 0:
                stop = len(self.text)
            toks = tokenize(self.text[self.line_start:stop], self.filename, self.line)
            # the same tokens as the first time, from the start of the `{`'s line
            i = next(k for k, t in enumerate(toks) if t.kind == "{" and t.line == self.line and t.col == self.col)
            p = _Parser(toks[i:], ())
            self._nodes = p.set_expr().elements
        return self._nodes

    def __len__(self) -> int:
        return len(self.nodes())

    def __getitem__(self, i):
        return self.nodes()[i]

    def __iter__(self):
        return iter(self.nodes())

    def __eq__(self, other):
        if isinstance(other, BulkElements):
            other = other.nodes()
        return self.nodes() == other

    def __hash__(self):
        return hash(self.nodes())

    def __repr__(self) -> str:
        return f"BulkElements({self.text[self.start:self.start + 40]!r}..., {self.end - self.start} chars)"

