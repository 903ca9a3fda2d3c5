"""``pkt test SPEC``: run a policy-test spec (pkttables.testing.policy, docs/policy-tests.md).

    pkt test SPEC [-k NAME ...] [-q] [--trace]

Prints one line per case (``ok``/``FAIL``), the details of each failure (the packet,
what it got, each expectation that failed with its place in the spec, and the packet's
``nft monitor trace`` lines), and ``N passed, M failed``.  Exit status 0 when every
case passed, 1 otherwise (a bad spec too: one error naming the line).
"""

from __future__ import annotations

import argparse
import sys
from typing import IO

__all__ = ["build_parser", "policy_main", "run"]


def build_parser(parser_cls=argparse.ArgumentParser) -> argparse.ArgumentParser:
    p = parser_cls(prog="pkt test", description="Run policy tests: packets with the outcome you expect "
                   "(verdict, deciding rule, NAT, conntrack state, output interface), from a TOML spec.")
    p.add_argument("spec", help="the policy-test spec (TOML, docs/policy-tests.md)")
    p.add_argument("-k", dest="names", action="append", metavar="NAME",
                   help="run only the cases with this name (a glob; repeat for more)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    p.add_argument("--trace", action="store_true",
                   help="print the trace lines of every packet of every case, passed or not")
    return p


def run(args: argparse.Namespace, stdout: IO[str] | None = None) -> int:
    from pkttables.testing.policy import load_spec, run_case

    stdout = stdout or sys.stdout
    spec = load_spec(args.spec)
    cases = spec.cases
    if args.names:
        import fnmatch
        cases = tuple(c for c in cases if any(n == c.name or fnmatch.fnmatchcase(c.name, n) for n in args.names))
        if not cases:
            stdout.write(f"no case matches {', '.join(args.names)}\n0 passed, 0 failed\n")
            return 1
    passed = failed = 0
    for case in cases:
        res = run_case(spec, case, trace=args.trace)
        if res.ok:
            passed += 1
        else:
            failed += 1
        if not res.ok or not args.quiet:
            stdout.write(res.render() + "\n")
        if args.trace and res.ok:
            for i, lines in enumerate(res.traces):
                stdout.write(f"  packet {i}: {case.packets[i].text}\n")
                stdout.writelines(f"    {ln}\n" for ln in lines)
        stdout.flush()
    stdout.write(f"{passed} passed, {failed} failed\n")
    return 0 if failed == 0 else 1


def policy_main(argv: list[str], parser_cls=argparse.ArgumentParser) -> int:
    return run(build_parser(parser_cls).parse_args(argv))
