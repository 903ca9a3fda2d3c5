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

Rendering follows nft: ``FILE:LINE:COL-COL: Error: MESSAGE``, then the source line, then
carets under the offending span.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CMDLINE",
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

    def __str__(self) -> str:
        if self.first_col:
            return f"{self.file}:{self.line}:{self.first_col}-{self.last_col}"
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One message about one place.  ``severity`` is ``Error`` or ``Warning`` as in nft.

    ``secondary`` are related places (nft's ``~~~`` underlines, e.g. the earlier match a
    conflicting protocol came from); those on the primary location's line are marked."""

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
        out = f"{prefix}{self.severity}: {self.message}"
        if loc.line_text is not None:
            out += "\n" + loc.line_text
            if loc.first_col:
                spans = [(s.first_col, s.last_col, "~") for s in self.secondary
                         if s.first_col and s.file == loc.file and s.line == loc.line]
                spans.append((loc.first_col, loc.last_col, "^"))
                out += "\n" + _marker_line(loc.line_text, spans)
        return out


def _marker_line(line_text: str, spans: list[tuple[int, int, str]]) -> str:
    """The line under the source line, as nft's erec_print builds it: columns count bytes,
    each byte of the source before a mark becomes a space (a tab stays a tab, so the marks
    line up under tabbed text), then ``~`` under related places and ``^`` under the primary."""
    raw = line_text.encode()
    end = max(max(last, first) for first, last, _ in spans)
    buf = ["\t" if i < len(raw) and raw[i] == 9 else " " for i in range(end)]
    for first, last, ch in spans:
        for i in range(first - 1, max(first, last)):
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
