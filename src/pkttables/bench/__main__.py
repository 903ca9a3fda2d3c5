"""`pkt bench` / `python -m pkttables.bench`: run named workloads, print a table, write JSON."""

from __future__ import annotations

import argparse
import sys
import tempfile

from pkttables.bench.report import Report
from pkttables.bench.workloads import WORKLOADS, Options


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="pkt bench", description=__doc__)
    p.add_argument("workloads", nargs="*", help=f"which to run (default: all): {', '.join(WORKLOADS)}")
    p.add_argument("--quick", action="store_true", help="10x smaller inputs: a smoke run, not a measurement")
    p.add_argument("--json", metavar="OUT", help="write the report as JSON to OUT")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = p.parse_args(argv)
    if args.list:
        for name, fn in WORKLOADS.items():
            print(f"{name:16} {(fn.__doc__ or '').split(chr(10))[0]}")
        return 0
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        print(f"pkt bench: unknown workload(s): {', '.join(unknown)} (have: {', '.join(WORKLOADS)})", file=sys.stderr)
        return 1
    report = Report()
    with tempfile.TemporaryDirectory(prefix="pktbench") as tmp:
        opts = Options(quick=args.quick, workdir=tmp)
        for name in args.workloads or list(WORKLOADS):
            print(f"running {name} ...", file=sys.stderr, flush=True)
            WORKLOADS[name](report, opts)
    report.render()
    if args.json:
        report.write_json(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
