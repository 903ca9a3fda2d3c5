"""Commands: parsed nftables commands executed against the ruleset model.

In: text (a command line or a file, as ``nft`` takes them), or a parsed
:class:`pkttables.lang.ast.Script`.  Out: :class:`Result` -- the new
:class:`pkttables.model.Ruleset` generation and what nft would print.  A failing batch
raises :class:`pkttables.errors.PktError` (``CommandError`` for what the kernel or nft's
cache refuse, with nft's ``Error: Could not process rule: ...`` form) and changes nothing.

Also here: :class:`StateStore`, the offline store behind ``pkt --state FILE``.

    >>> from pkttables.commands import run_text
    >>> from pkttables.model import Ruleset
    >>> r = run_text("add table inet t; add chain inet t c", Ruleset())
    >>> r.ruleset.chain("inet", "t", "c").handle
    1
"""

from __future__ import annotations

import gc

from pkttables.errors import Diagnostic, PktError
from pkttables.lang import ast as A
from pkttables.model import Ruleset

from ._exec import CommandError, NotAvailable, Options, Result, execute
from ._pipeline import Compiled, available as compile_available, compile_rule
from .store import StateError, StateStore, end_session

__all__ = ["CommandError", "Compiled", "FileError", "NotAvailable", "Options", "Result", "StateError",
           "ScannerFatal", "StateStore", "compile_available", "compile_rule", "end_session", "execute",
           "parse_input", "parse_text", "read_input", "run_file", "run_text"]


class FileError(PktError):
    """``nft -f`` on a file it cannot open; nft 1.0.6 names no real place for it."""

    def __init__(self, path: str, reason: str):
        self.path = path
        super().__init__(Diagnostic(None, f'Could not open file "{path}": {reason}'))

    def render(self) -> str:
        # nft 1.0.6 ends this one with two empty lines (three newlines in all).
        return f"internal:0:0-0: {self.diagnostics[0].render()}\n\n"


class ScannerFatal(Exception):
    """nft 1.0.6 opens a directory given to ``-f`` (fopen succeeds), then flex's read
    fails: YY_FATAL_ERROR prints "input in flex scanner failed" and exits with 2 (the
    ``pkt`` CLI does the same; the ``Nftables`` API answers it instead)."""


def read_input(path: str) -> tuple[str, str]:
    """What ``nft -f PATH`` / ``nft_run_cmd_from_filename`` reads: ``(text, name)``.

    ``-`` is standard input, named ``/dev/stdin`` in messages (nft 1.0.6, measured).
    Bytes that are not UTF-8 are kept as surrogate escapes and a ``\r`` reaches the
    lexer (nft reads it as junk).  A directory raises :class:`ScannerFatal`, any other
    failure :class:`FileError`."""
    if path == "-":
        import sys
        buf = getattr(sys.stdin, "buffer", None)
        try:
            if buf is not None:
                return buf.read().decode("utf-8", "surrogateescape"), "/dev/stdin"
            return sys.stdin.read(), "/dev/stdin"
        except (OSError, ValueError) as e:
            raise FileError("/dev/stdin", getattr(e, "strerror", None) or str(e)) from None
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
            return fh.read(), path
    except IsADirectoryError:
        raise ScannerFatal() from None
    except OSError as e:
        raise FileError(path, e.strerror or str(e)) from None


def parse_input(text: str, filename: str, opts: Options) -> A.Script:
    """libnftables' input: JSON when ``-j`` is set and the text starts with ``{`` (the
    decoded document kept in ``opts.json_input`` for ``-e``, which echoes it back with
    handles), else -- also for text jansson refuses -- nft syntax (:func:`parse_text`)."""
    if "json" in opts.flags and text.lstrip().startswith("{"):
        import json
        from pkttables.lang.json_input import InvalidJSON, parse_json
        try:
            script = parse_json(text, filename)
        except InvalidJSON:
            pass
        else:
            try:
                opts.json_input = json.loads(text)
            except ValueError:
                opts.json_input = None
            return script
    return parse_text(text, filename, opts)


def parse_text(text: str, filename: str = "<cmdline>", opts: Options | None = None) -> A.Script:
    """Parse with the context's include paths and ``-D name=value`` variables.

    Text that does not parse still gives a script: the commands the parser kept, with
    its error in ``Script.error``; :func:`execute` evaluates them and raises that error
    with their evaluation errors appended, as nft 1.0.6 does."""
    from pkttables.lang import parse
    opts = opts or Options()

    def parse_fn(t):
        # nft_ctx_add_var: the variables are defines of the outermost scope.
        return parse(t, filename, opts.include_paths, defines=opts.vars or None, keep_going=True)

    from . import _fastline
    if _fastline.enabled():
        # rule lines of the fast grammar skip the tokenizer and parser (commands/_fastline.py)
        script = _fastline.parse(text, filename, parse_fn, collapse=not opts.vars)
        if script is not None:
            return script
    return parse_fn(text)


def run_text(text: str, base: Ruleset, opts: Options | None = None, filename: str = "<cmdline>") -> Result:
    """Parse and execute ``text`` as one batch on ``base``.

    A command line (``filename`` ``<cmdline>``) ends with a newline as libnftables'
    ``nft_run_cmd_from_buffer`` ends it, so a command cut short says ``unexpected
    newline`` as nft does, not ``end of file``."""
    if filename == "<cmdline>" and not text.endswith("\n"):
        text += "\n"
    # One pause of the cyclic GC over the parse and the batch (each pauses it too), ended
    # once the script and the executor are gone: the young collection that follows a
    # pause then scans only what survives the batch -- nothing much for a dry run, the
    # new ruleset otherwise -- not the script, the executor and the parse's objects,
    # still alive when the inner pauses end (~1.5 ms of a 1k-rule dry run, ~0.3-0.5 s
    # of a 100k one, measured).
    gc_was = gc.isenabled()
    gc.disable()
    try:
        return execute(parse_text(text, filename, opts), base, opts)
    finally:
        if gc_was:
            gc.enable()


def run_file(path: str, base: Ruleset, opts: Options | None = None) -> Result:
    """``nft -f PATH``: the whole file is one batch."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            text = fh.read()
    except OSError as e:
        # nft 1.0.6 prints exactly this for a file it cannot open.
        raise FileError(path, e.strerror or str(e)) from None
    return run_text(text, base, opts, filename=path)
