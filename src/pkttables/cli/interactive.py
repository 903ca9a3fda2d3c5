"""``pkt -i``: nft's interactive mode, with history and completion.

    pkt> add table inet t
    pkt> add chain inet t c { type filter hook input priority 0; }
    pkt> list ruleset
    pkt> quit

Each line is one nft command line, run by ``session.cmd(line)`` -- any object with the
python-nftables interface (``pkttables.control.api.Nftables``: ``cmd(text) -> (rc,
output, error)``), so the commands change the session's ruleset (its ``--state`` file,
if it has one).  As in nft's cli (readline mode): ``quit``/``exit`` or end of input end
the session, a line ending in ``\\`` goes on on the next line, and so does a line with
more ``{`` than ``}`` (the prompt becomes ``...``).  ``help [TOPIC]`` prints pkt's help
topics (cli/help.py).

History lives in ``$PKT_HISTFILE`` (default ``~/.pkt_history``, at most 1000 lines;
nft keeps ``~/.nft_history``).  Completion (Tab) offers the words the parser knows
after the word before the cursor, from the same tables as ``pkt help``
(:func:`pkttables.cli.help.keywords`): verbs first, object kinds after a verb, fields
after a protocol, keys after ``meta``/``ct``, statements and expressions elsewhere.
Built on the standard ``cmd`` and ``readline`` modules (readline is optional: without
it, lines are read plainly).
"""

from __future__ import annotations

import cmd
import os
import sys
from typing import IO, Any

__all__ = ["PktShell", "run_interactive", "complete_words", "PROMPT", "HISTORY_LENGTH"]

PROMPT = "pkt> "
CONT_PROMPT = "... "
HISTORY_LENGTH = 1000


def complete_words(line: str, text: str) -> list[str]:
    """The completions of ``text`` (the word being typed) given the ``line`` before it."""
    from pkttables.cli.help import keywords

    follow = keywords()
    words = line[: len(line) - len(text)].split()
    if not words:
        cands = follow[""]
    else:
        prev = words[-1]
        cands = follow.get(prev)
        if cands is None or (not cands and prev not in follow):
            cands = follow["*"]
        elif not cands:
            cands = follow["*"]
    return sorted({c for c in cands if c.startswith(text)})


class PktShell(cmd.Cmd):
    """The loop: ``cmd.Cmd`` with every line that is not quit/exit/help sent to the session."""

    prompt = PROMPT
    identchars = cmd.Cmd.identchars + "-"

    def __init__(self, session: Any, stdin: IO[str] | None = None, stdout: IO[str] | None = None,
                 stderr: IO[str] | None = None):
        super().__init__(stdin=stdin, stdout=stdout)
        if stdin is not None:
            self.use_rawinput = False
        self.session = session
        self.stderr = stderr or sys.stderr
        self.pending = ""
        self.rc = 0

    # -------------------------------------------------------------- reading lines
    def emptyline(self) -> bool:   # cmd.Cmd repeats the last command on an empty line; nft does not
        return False

    def precmd(self, line: str) -> str:
        if line == "EOF":
            return line
        text = self.pending + line
        if text.endswith("\\"):
            self.pending = text[:-1] + " "
            self.prompt = CONT_PROMPT
            return ""
        if text.count("{") > text.count("}"):
            self.pending = text + "\n"
            self.prompt = CONT_PROMPT
            return ""
        self.pending = ""
        self.prompt = PROMPT
        return text

    # -------------------------------------------------------------- commands
    def do_quit(self, arg: str) -> bool:
        return True

    do_exit = do_quit

    def do_EOF(self, arg: str) -> bool:
        self.stdout.write("\n")
        return True

    def do_help(self, arg: str) -> None:
        from pkttables.cli.help import help_main

        help_main(arg.split(), stdout=self.stdout, stderr=self.stderr)

    def default(self, line: str) -> None:
        rc, out, err = self.session.cmd(line)
        if out:
            self.stdout.write(out if out.endswith("\n") else out + "\n")
        if err:
            self.stderr.write(err if err.endswith("\n") else err + "\n")
        self.rc = 0 if rc == 0 else 1

    # -------------------------------------------------------------- completion
    def completenames(self, text: str, *ignored: Any) -> list[str]:
        return complete_words("", text)

    def completedefault(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        return complete_words(line[:begidx] + text, text)

    def complete_help(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        from pkttables.cli.help import topics

        return sorted(n for n in topics() if n.startswith(text))


def _history_file() -> str:
    return os.environ.get("PKT_HISTFILE") or os.path.join(os.path.expanduser("~"), ".pkt_history")


def run_interactive(session: Any, stdin: IO[str] | None = None, stdout: IO[str] | None = None,
                    stderr: IO[str] | None = None) -> int:
    """Run the interactive loop over ``session`` (``cmd(text) -> (rc, out, err)``) until
    quit or end of input.  Returns the exit status of the last command (0 or 1).
    ``stdin``/``stdout`` given: no readline, no history (tests, pipes)."""
    shell = PktShell(session, stdin, stdout, stderr)
    rl = None
    hist = None
    if stdin is None:
        try:
            import readline as rl
        except ImportError:   # no readline on this Python: plain lines, no history
            rl = None
        if rl is not None:
            hist = _history_file()
            try:
                rl.read_history_file(hist)
            except OSError:
                pass
            rl.set_history_length(HISTORY_LENGTH)
            # words are separated by blanks only: "ip6", "proto-dst", "@set" complete whole
            rl.set_completer_delims(" \t\n;{}")
    try:
        shell.cmdloop()
    except KeyboardInterrupt:
        shell.stdout.write("\n")
    finally:
        if rl is not None and hist is not None:
            try:
                rl.write_history_file(hist)
            except OSError:
                pass
    return shell.rc
