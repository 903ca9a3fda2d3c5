"""Locations, diagnostics and the exception tree.

Every bad input -- ruleset text, JSON, a host file, a capture, a packet, a control
message -- ends as one :class:`PktError` carrying :class:`Diagnostic` values that say
where and what.  Nothing below the CLI prints a traceback for bad input.

Exception hierarchy::

    PktError                      bad input; .diagnostics: list[Diagnostic]
    ├── SyntaxError_              ruleset text that does not parse
    ├── EvalError                 parses, but nft would reject it while evaluating
    ├── HostFileError             a host description (contracts/host.toml.md) that is invalid
    ├── CaptureError              a pcap/pcapng file that is corrupt or truncated (.path, .offset)
    └── HarnessError              the kernel oracle could not build or drive its lab

Rendering follows nft's ``erec_print`` (src/erec.c, nft 1.0.6):
``FILE:LINE:COL-COL: Error: MESSAGE`` (no place for the command line), then the source
line of the primary location (a file's cut at 1023 bytes, the command line whole), then a
marker line: ``^`` under the primary span, ``~`` under every secondary location's
columns whatever line it is on, tabs of the source kept so the marks line up.  Every
detail is pinned against nft's recorded output in tests/unit/test_errors_render.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CMDLINE",
    "FILE_LINE_MAX",
    "Location",
    "Diagnostic",
    "PktError",
    "SyntaxError_",
    "EvalError",
    "HostFileError",
    "CaptureError",
    "HarnessError",
]


CMDLINE = "<cmdline>"


@dataclass(frozen=True, slots=True)
class Location:
    """A span of source text: 1-based line and columns, inclusive, as nft reports them.

    ``line_text`` is the full source line (without newline) so a diagnostic can be
    rendered without the source at hand.  ``last_col`` may be < ``first_col`` for a
    location that has no width (a point).
    """

    file: str
    line: int
    first_col: int = 0
    last_col: int = 0
    line_text: str | None = None
    #: the include chain of a location in an included file, innermost include first
    #: (filled by the tokenizer; rendered before the message as nft's erec_print does:
    #: ``In file included from ...:`` then ``                 from ...:``).  Not part
    #: of equality: the same place is the same place however it was reached.
    included_from: tuple["Location", ...] = field(default=(), compare=False)
    #: what nft prints as the source line when it is not ``line_text``: a command-line
    #: buffer of several lines shows its first line (erec_print, INDESC_BUFFER), while
    #: ``line_text`` stays the location's own line for the code that reads it.
    shown_text: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        if self.first_col:
            return f"{self.file}:{self.line}:{self.first_col}-{self.last_col}"
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One message about one place.  ``severity`` is ``Error`` or ``Warning`` as in nft.

    ``secondary`` are related places (nft's ``~~~`` underlines, e.g. the earlier match a
    conflicting protocol came from).  They are drawn as nft's ``erec_print`` draws them:
    by their columns only, on the marker line of the primary location's source line,
    whatever line (or file) they are on -- see :func:`_marker_line`."""

    location: Location | None
    message: str
    severity: str = "Error"
    secondary: tuple[Location, ...] = ()

    def render(self) -> str:
        loc = self.location
        if loc is None:
            return f"{self.severity}: {self.message}"
        # nft names no place for command-line input, only the line and its carets.
        prefix = "" if loc.file == CMDLINE else f"{loc}: "
        out = "".join(("In file included from " if i == 0 else "                 from ") + f"{inc}:\n"
                      for i, inc in enumerate(loc.included_from))
        out += f"{prefix}{self.severity}: {self.message}"
        text = loc.shown_text if loc.shown_text is not None else loc.line_text
        if text is not None:
            line = text if loc.file == CMDLINE else _file_line(text)
            out += "\n" + line
            if loc.first_col or loc.last_col:
                spans = [(loc.first_col, loc.last_col, "^")]
                spans += [(s.first_col, s.last_col, "~") for s in self.secondary]
                out += "\n" + _marker_line(line, spans)
        return out


#: erec_print (nftables src/erec.c) reads a file's source line into a 1024-byte buffer
#: (one byte for the NUL), so at most 1023 bytes of it are printed; a command line (or
#: any buffer input) is printed whole.  Observed with nft 1.0.6 on a 1373-byte line,
#: tests/unit/golden_errors_render.json: ``long_file_line_*`` and ``long_cmdline_*``.
FILE_LINE_MAX = 1023


def _file_line(line_text: str) -> str:
    """``line_text`` as nft prints a file's line: its first 1023 bytes.  A multi-byte
    character the cut splits is dropped whole (nft prints its first bytes)."""
    if len(line_text) <= FILE_LINE_MAX // 4:      # cannot be over the limit: no encode
        return line_text
    raw = line_text.encode(errors="surrogateescape")
    if len(raw) <= FILE_LINE_MAX:
        return line_text
    return raw[:FILE_LINE_MAX].decode(errors="ignore")


def _marker_line(line_text: str, spans: list[tuple[int, int, str]]) -> str:
    """The line under the source line, as nft's erec_print builds it.

    Columns count bytes.  The line is as long as the largest ``last`` column of all the
    locations -- so a ``~`` location from a longer line extends it past the printed
    source line.  Each byte of the printed source line before that end becomes a space,
    except a tab, which stays a tab (so marks line up under tabbed text whatever the
    terminal's tab width).  Then every location is drawn from ``first`` (0 meaning
    column 1) to ``last``, secondaries as ``~``, the primary last as ``^`` so it wins
    where they overlap.  Only columns are used: a location on another line, or spanning
    several lines (``last`` is then the column on its last line), is drawn at those
    columns on this line; one whose ``last`` is before its ``first`` draws nothing."""
    raw = line_text.encode(errors="surrogateescape")
    end = max(last for _, last, _ in spans)
    if end <= 0:
        return ""
    buf = ["\t" if i < len(raw) and raw[i] == 9 else " " for i in range(end)]
    for first, last, ch in reversed(spans):
        for i in range(max(first - 1, 0), last):
            buf[i] = ch
    return "".join(buf)


class PktError(Exception):
    """Bad input.  Carries one or more diagnostics; ``str()`` renders them all."""

    def __init__(self, diagnostics: Diagnostic | str | list[Diagnostic], location: Location | None = None):
        if isinstance(diagnostics, str):
            diagnostics = [Diagnostic(location, diagnostics)]
        elif isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


class SyntaxError_(PktError):
    """Ruleset text that does not parse (named with a trailing _ to keep the builtin)."""


class EvalError(PktError):
    """A ruleset that parses but that nft rejects while evaluating it."""


class HostFileError(PktError):
    """An invalid host description file."""


class CaptureError(PktError):
    """A corrupt or truncated capture file.  Raised after every good packet was yielded."""

    def __init__(self, path: str, offset: int, message: str):
        self.path = path
        self.offset = offset
        super().__init__(Diagnostic(None, f"{path}: at byte offset {offset}: {message}"))


class HarnessError(PktError):
    """The kernel oracle could not set up or drive its network namespaces."""
