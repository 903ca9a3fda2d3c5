"""The `pkt` command.

`pkt` mirrors `nft` (`pkt -f FILE`, `pkt list ruleset`, ...: cli/nft.py).  Tool verbs
that nft does not have are dispatched first:

    pkt decode CAPTURE [--host HOST] [--iif NAME] [--json]   dissect a capture, route each packet
    pkt route [--host HOST] DST [--from SRC] [--iif NAME]     the host's routing decision
    pkt bench [WORKLOAD ...] [--quick] [--json OUT]           benchmarks with same-run ratios
    pkt simulate --ruleset R --traffic T [--host H] [...]     replay a capture through host + ruleset
    pkt test SPEC                                             policy tests (cli/policy.py)
    pkt monitor trace --ruleset R --traffic T [--host H]      trace lines of a simulation (cli/monitor.py)
    pkt help [TOPIC] / pkt describe EXPR                      help topics, nft describe (cli/help.py)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from pkttables import __version__
from pkttables.errors import PktError

VERBS: dict[str, Callable[[list[str]], int]] = {}


def verb(name: str):
    def register(fn: Callable[[list[str]], int]) -> Callable[[list[str]], int]:
        VERBS[name] = fn
        return fn
    return register


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 1 (like nft), not 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(1, f"{self.prog}: error: {message}\n")


@verb("decode")
def _decode(argv: list[str]) -> int:
    from pkttables.cli.decode import decode_main

    p = _Parser(prog="pkt decode", description="Dissect a capture and show each packet's "
                "headers, offsets and the host's routing decision for it.")
    p.add_argument("capture", help="pcap or pcapng file")
    p.add_argument("--host", help="host description (TOML, contracts/host.toml.md); default: one interface eth0")
    p.add_argument("--iif", help="ingress interface for a pcap file (pcapng names its interfaces)")
    p.add_argument("--json", action="store_true", help="one JSON object per packet instead of text")
    p.add_argument("--count", "-c", type=int, default=None, help="stop after this many packets")
    return decode_main(p.parse_args(argv))


@verb("route")
def _route(argv: list[str]) -> int:
    from pkttables.cli.decode import route_main

    p = _Parser(prog="pkt route", description="Show the host's routing decision for a destination, like `ip route get`.")
    p.add_argument("dst", help="destination address")
    p.add_argument("--host", help="host description (TOML); default: one interface eth0")
    p.add_argument("--from", dest="src", help="source address (with --iif: an incoming packet)")
    p.add_argument("--iif", help="incoming interface (route an arriving packet instead of a local one)")
    p.add_argument("--oif", help="output interface for a locally generated packet")
    return route_main(p.parse_args(argv))


@verb("simulate")
def _simulate(argv: list[str]) -> int:
    from pkttables.cli.simulate import simulate_main

    return simulate_main(argv, _Parser)


@verb("bench")
def _bench(argv: list[str]) -> int:
    from pkttables.bench.__main__ import main as bench_main

    return bench_main(argv)


@verb("conntrack")
def _conntrack(argv: list[str]) -> int:
    from pkttables.conntrack import cli_main

    return cli_main(argv)


@verb("test")
def _test(argv: list[str]) -> int:
    from pkttables.cli.policy import policy_main

    return policy_main(argv, _Parser)


@verb("monitor")
def _monitor(argv: list[str]) -> int:
    from pkttables.cli.monitor import monitor_main

    return monitor_main(argv, _Parser)


@verb("help")
def _help(argv: list[str]) -> int:
    from pkttables.cli.help import help_main

    if not argv:
        sys.stdout.write(_usage() + "\n")
    return help_main(argv)


@verb("describe")
def _describe(argv: list[str]) -> int:
    from pkttables.cli.help import describe_main

    return describe_main(argv)


def _usage() -> str:
    return (
        f"pkttables {__version__}\n"
        "usage: pkt VERB [options]\n\n"
        "verbs:\n"
        "  decode CAPTURE [--host HOST] [--iif NAME] [--json]   dissect a capture and route each packet\n"
        "  route DST [--host HOST] [--from SRC] [--iif NAME]     the host's routing decision\n"
        "  bench [WORKLOAD ...] [--quick] [--json OUT]           benchmarks (ratios measured in the same run)\n"
        "  simulate --ruleset R --traffic T [--host H] [--json J] [--out O]   replay a capture (docs/simulate.md)\n"
        "  conntrack -L|-E|-C|-D|-F --pcap CAP|--table FILE [filters]   the connection table, as conntrack(8)\n"
        "  test SPEC [-k NAME] [-q] [--trace]                    policy tests from a TOML spec (docs/policy-tests.md)\n"
        "  monitor trace --ruleset R --traffic T [--host H]      trace lines of a simulation, as nft monitor trace\n"
        "  describe EXPR                                         an expression's datatype (nft describe) or a keyword's help\n"
        "  help [TOPIC]                                          verbs, statements, expressions (pkt help tcp)\n"
        "\nanything else is an nft command line (see docs/cli.md):\n"
        "  pkt [--state FILE] [-f FILE] [-c] [-a] [-j] [--debug=netlink] [COMMAND ...]\n"
    )


def _raw_streams() -> None:
    """Bytes of the input that are not UTF-8 (read with ``surrogateescape``) go back out
    as the same bytes, as nft prints them -- not as ``\udcff`` and never as a
    UnicodeEncodeError from a locale whose streams are strict."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "encoding", "").lower().replace("-", "") == "utf8":
            try:
                reconfigure(errors="surrogateescape")
            except (ValueError, OSError):   # a stream that cannot change (closed, detached)
                pass


def main(argv: Sequence[str] | None = None) -> int:
    _raw_streams()
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(_usage())
        return 0
    if args[0] in ("-v", "--version", "-V"):
        print(f"pkttables v{__version__}")
        return 0
    handler = VERBS.get(args[0])
    try:
        if handler is None:
            # Everything that is not a tool verb is nft's command line (cli/nft.py).
            from pkttables.cli.nft import main as nft_main

            return nft_main(args)
        return handler(args[1:])
    except PktError as exc:
        sys.stderr.write(exc.render() + "\n")
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 -- the last line of defence, see internal_error
        if os.environ.get("PKT_DEBUG"):
            raise
        sys.stderr.write(internal_error(exc) + "\n")
        return 1


def internal_error(exc: BaseException) -> str:
    """The one line a user sees for a bug (an exception that is not bad input): bad
    input never gives a traceback (docs/robustness.md), and neither does a bug.  Nothing
    was saved: a store is written only after its command succeeded.  ``PKT_DEBUG=1``
    lets the exception through, with its traceback."""
    what = str(exc).splitlines()[0][:200] if str(exc) else ""
    return (f"Error: internal error: {type(exc).__name__}{': ' + what if what else ''} "
            "(a bug in pkttables: please report it with the input; PKT_DEBUG=1 shows the traceback)")


if __name__ == "__main__":
    sys.exit(main())
