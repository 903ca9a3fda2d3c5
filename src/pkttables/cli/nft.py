"""The nft-style front end of ``pkt``: nft 1.0.6's options, one command line or ``-f FILE``.

    pkt [--state FILE] [options] [COMMAND ...]
    pkt --state rules.state -f ruleset.nft          load a ruleset into the store
    pkt --state rules.state list ruleset            (PKT_STATE=FILE works too)
    pkt --state rules.state add rule inet t c tcp dport 22 accept
    pkt -c -f ruleset.nft                           check only
    pkt --debug=netlink add rule ip t c tcp dport 22   (on an empty ruleset: fails after the dump, as nft)

Without ``--state`` every invocation starts from an empty ruleset, like nft in a fresh
network namespace.  The words of a command line are joined with spaces and parsed as
one line (``pkt 'add table ip t; add chain ip t c'`` works), as nft does.

Option parsing follows nft's ``getopt_long``: options come before the command (the first
word that is not an option ends them, so ``pkt add rule ip t c meta mark set -1``
keeps its ``-1``); usage errors print ``pkt: ...`` and exit 1.  ``-o``/``--optimize`` is
accepted and does nothing yet; ``-i``/``--interactive`` is refused.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from pkttables.commands import Options, Result, ScannerFatal, StateStore, execute, parse_input, read_input
from pkttables.commands.store import handle_marks
from pkttables.errors import PktError
from pkttables.model import Ruleset

__all__ = ["main", "parse_args", "USAGE"]

PROG = "pkt"

# nft's long options and their short forms; value: (short, takes_argument)
_LONG = {
    "help": ("h", False), "version": ("v", False), "version-long": ("V", False),
    "check": ("c", False), "file": ("f", True), "interactive": ("i", False),
    "optimize": ("o", False), "includepath": ("I", True), "define": ("D", True),
    "numeric": ("n", False), "stateless": ("s", False), "reversedns": ("N", False),
    "service": ("S", False), "handle": ("a", False), "echo": ("e", False),
    "json": ("j", False), "guid": ("u", False), "numeric-priority": ("y", False),
    "numeric-protocol": ("p", False), "numeric-time": ("T", False), "terse": ("t", False),
    "debug": ("d", True), "state": ("\0state", True),
}
_SHORT = {s: (long, arg) for long, (s, arg) in _LONG.items() if len(s) == 1}

# output flag (python-nftables name) each short option sets
_FLAG_OF = {"s": "stateless", "N": "reversedns", "S": "service", "a": "handle", "e": "echo",
            "j": "json", "u": "guid", "y": "numeric_prio", "p": "numeric_proto",
            "T": "numeric_time", "t": "terse"}
DEBUG_LEVELS = ("scanner", "parser", "eval", "netlink", "mnl", "proto-ctx", "segtree")

USAGE = """Usage: pkt [ options ] [ cmds... ]

Options (general):
  -h, --help                      Show this help
  -v, --version                   Show version information
  -V                              Show extended version information
  --state FILE                    Keep the ruleset in FILE (default: $PKT_STATE, else an empty ruleset)

Options (ruleset input handling):
  -f, --file <filename>           Read input from <filename>
  -D, --define <name=value>       Define variable, e.g. --define foo=1.2.3.4
  -I, --includepath <directory>   Add <directory> to the paths searched for include files.
  -c, --check                     Check commands validity without actually applying the changes.
  -o, --optimize                  Accepted; ruleset optimization is not implemented (no-op).

Options (ruleset list command):
  -a, --handle                    Output rule handle.
  -s, --stateless                 Omit stateful information of ruleset.
  -t, --terse                     Omit contents of sets.
  -S, --service                   Translate ports to service names as described in /etc/services.
  -N, --reversedns                Translate IP addresses to names.
  -u, --guid                      Print UID/GID as defined in /etc/passwd and /etc/group.
  -n, --numeric                   Print fully numerical output.
  -y, --numeric-priority          Print chain priority numerically.
  -p, --numeric-protocol          Print layer 4 protocols numerically.
  -T, --numeric-time              Print time values numerically.

Options (command output format):
  -e, --echo                      Echo what has been added, inserted or replaced.
  -j, --json                      Format output in JSON
  -d, --debug <level [,level...]> Specify debugging level (scanner, parser, eval, netlink, mnl, proto-ctx, segtree, all)
"""


class UsageError(Exception):
    pass


class Args:
    def __init__(self) -> None:
        self.opts = Options()
        self.file: str | None = None
        self.state: str | None = os.environ.get("PKT_STATE") or None
        self.check = False
        self.words: list[str] = []
        self.action: str | None = None     # help / version / version-long
        self.numeric = 0


def parse_args(argv: Sequence[str]) -> Args:
    """getopt_long with nft's option table; the first non-option ends the options."""
    a = Args()
    argv = list(argv)
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if arg.startswith("--"):
            name, eq, val = arg[2:].partition("=")
            if name not in _LONG:
                raise UsageError(f"unrecognized option '{arg}'")
            short, takes = _LONG[name]
            if takes and not eq:
                i += 1
                if i >= len(argv):
                    raise UsageError(f"option '--{name}' requires an argument")
                val = argv[i]
            elif not takes and eq:
                raise UsageError(f"option '--{name}' doesn't allow an argument")
            _apply(a, short, val if takes else None)
            i += 1
            continue
        if arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                ch = arg[j]
                if ch not in _SHORT:
                    raise UsageError(f"invalid option -- '{ch}'")
                if _SHORT[ch][1]:
                    val = arg[j + 1:]
                    if not val:
                        i += 1
                        if i >= len(argv):
                            raise UsageError(f"option requires an argument -- '{ch}'")
                        val = argv[i]
                    _apply(a, ch, val)
                    break
                _apply(a, ch, None)
                j += 1
            i += 1
            continue
        break
    a.words = argv[i:]
    return a


def _apply(a: Args, short: str, val: str | None) -> None:
    if short == "h":
        a.action = "help"
    elif short == "v":
        a.action = "version"
    elif short == "V":
        a.action = "version-long"
    elif short == "c":
        a.check = True
        a.opts.dry_run = True
    elif short == "f":
        a.file = val
    elif short == "i":
        a.action = "interactive"
    elif short == "o":
        pass  # nft -o merges rules; accepted so scripts run, does nothing (documented)
    elif short == "I":
        a.opts.include_paths.append(val)
    elif short == "D":
        name, eq, value = val.partition("=")
        if not eq or not name:
            raise UsageError(f"invalid define: {val}")
        a.opts.vars[name] = value
    elif short == "n":
        # nft 1.0.6: -n is every numeric output at once.
        a.opts.flags.update(("numeric_proto", "numeric_prio", "numeric_symbol", "numeric_time"))
    elif short == "d":
        for lvl in val.split(","):
            lvl = lvl.strip()
            if lvl == "all":
                a.opts.debug.update(DEBUG_LEVELS)
            elif lvl in DEBUG_LEVELS:
                a.opts.debug.add(lvl)
            else:
                raise UsageError(f"invalid debug parameter `{lvl}'")
    elif short == "\0state":
        a.state = val
    else:
        a.opts.flags.add(_FLAG_OF[short])


def _run(a: Args, base: Ruleset) -> Result:
    if a.file is not None:
        text, filename = read_input(a.file)
    else:
        # nft (and libnftables' nft_run_cmd_from_buffer) end a command line with "\n":
        # `nft list` says "unexpected newline", not "end of file".
        text = " ".join(a.words) + "\n"
        filename = "<cmdline>"
    return execute(parse_input(text, filename, a.opts), base, a.opts)


def main(argv: Sequence[str] | None = None) -> int:
    """Run nft-style arguments; returns the exit status (0 ok, 1 error, as nft)."""
    from pkttables import __version__
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        a = parse_args(argv)
    except UsageError as e:
        sys.stderr.write(f"{PROG}: {e}\n")
        return 1
    if a.action == "help":
        sys.stdout.write(USAGE)
        return 0
    if a.action in ("version", "version-long"):
        sys.stdout.write(f"pkttables v{__version__} (nft 1.0.6 compatible)\n")
        return 0
    if a.action == "interactive":
        return _interactive(a)
    if a.file is None and not a.words:
        sys.stderr.write(f"{PROG}: no command specified\n")
        return 1
    store = StateStore(a.state) if a.state else None
    try:
        if store is None:
            res = _run(a, Ruleset())
        else:
            with store.locked():
                base = store.load()
                marks = handle_marks(base)
                try:
                    res = _run(a, base)
                except PktError:
                    # a failed batch changes nothing but the handles it consumed
                    if not a.check and handle_marks(base) != marks:
                        store.save(base)
                    raise
                if res.changed and not a.check:
                    store.save(res.ruleset)
    except PktError as exc:
        out = getattr(exc, "output", "")
        if out:
            sys.stdout.write(out)
        sys.stderr.write(exc.render() + "\n")
        return 1
    except BrokenPipeError:
        return 0
    except ScannerFatal:
        sys.stderr.write("input in flex scanner failed\n")
        return 2
    sys.stdout.write(res.output)
    return 0


def _interactive(a) -> int:
    """``pkt -i``: nft's interactive CLI over a python-nftables session (the state file
    when given), with the command line's output flags."""
    from pkttables.cli.interactive import run_interactive
    from pkttables.control.api import Nftables

    session = Nftables(state=a.state)
    for name in a.opts.flags:
        setter = getattr(session, f"set_{name}_output", None)
        if setter is not None:
            setter(True)
    return run_interactive(session)
