"""`pkt bench` / `python -m pkttables.bench`: run named workloads, print a table, write JSON."""

from __future__ import annotations

import argparse
import sys
import tempfile

import time
import traceback

from pkttables.bench.report import Measurement, Report, loadavg
from pkttables.bench.workloads import BUDGET, WORKLOADS, Options


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
    report = Report(load_before=loadavg())
    with tempfile.TemporaryDirectory(prefix="pktbench") as tmp:
        opts = Options(quick=args.quick, workdir=tmp)
        for name in args.workloads or list(WORKLOADS):
            print(f"running {name} (budget {BUDGET[name]:.0f} s) ...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            err = ""
            try:
                WORKLOADS[name](report, opts)
            except Exception as e:  # noqa: BLE001 -- one broken workload must not lose the others' figures
                err = f"{type(e).__name__}: {e}"
                traceback.print_exc()
                report.add(Measurement(name, "pkttables", "error", float("nan"), "", 0, err[:200]))
            t = time.perf_counter() - t0
            report.timings[name] = (t, BUDGET[name], err)
            print(f"  {name}: {t:.1f} s (budget {BUDGET[name]:.0f} s)", file=sys.stderr, flush=True)
    report.load_after = loadavg()
    report.render()
    total = sum(t for t, _, _ in report.timings.values())
    print(f"total: {total:.1f} s for {len(report.timings)} workloads", file=sys.stderr)
    if args.json:
        report.write_json(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
