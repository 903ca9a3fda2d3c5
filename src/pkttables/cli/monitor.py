"""``pkt monitor trace``: the trace lines of a simulation, as ``nft monitor trace`` prints them.

    pkt monitor trace --ruleset R --traffic T [--host H] [--iif NAME] [--seed N]
    pkt monitor [trace] ...

``nft monitor trace`` prints the ``trace id ...`` lines of packets whose ``nftrace`` bit
a rule set (``meta nftrace set 1``); so does this, over a replay of a capture through
the host and the ruleset (the same run as ``pkt simulate``, pkttables.datapath).  Other
``nft monitor`` event kinds (new tables, rules, elements) have no source in an offline
simulation: ``pkt monitor`` without ``trace`` is refused with a message saying so.
"""

from __future__ import annotations

import argparse
import sys
from typing import IO

from pkttables.errors import PktError

__all__ = ["build_parser", "monitor_main", "run"]

_KINDS = ("trace",)
# nft monitor's event kinds, for the refusal message (nft 1.0.6: monitor [new|destroy] [what])
_OTHER = ("new", "destroy", "tables", "chains", "sets", "rules", "elements", "ruleset")


def build_parser(parser_cls=argparse.ArgumentParser) -> argparse.ArgumentParser:
    from pkttables.cli.simulate import seed_arg

    p = parser_cls(prog="pkt monitor trace", description="Print the trace lines (nft monitor trace) of "
                   "the packets of a capture that a rule marks with meta nftrace set 1.")
    p.add_argument("kind", nargs="?", default="trace", help="what to monitor: trace (the only kind offline)")
    p.add_argument("--ruleset", required=True, metavar="R.nft", help="ruleset: nft text or nft JSON")
    p.add_argument("--traffic", required=True, metavar="T.pcapng", help="capture (pcap/pcapng)")
    p.add_argument("--host", metavar="HOST.toml", help="host description; default: one interface eth0")
    p.add_argument("--iif", metavar="NAME", help="ingress interface of packets whose capture names none")
    p.add_argument("--seed", type=seed_arg, default=0, metavar="N", help="seed of the random fields (trace ids)")
    return p


def run(args: argparse.Namespace, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    from pkttables.cli.simulate import _load
    from pkttables.datapath import PacketResult, RunnerUnavailable, Simulator

    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if args.kind not in _KINDS:
        what = "an nft monitor event kind" if args.kind in _OTHER else "not a kind nft monitor knows"
        raise PktError(f"monitor {args.kind}: {what}; offline, only 'trace' has events "
                       "(ruleset changes happen in pktd, which is not there yet)")
    args.out = args.json = None
    host, ruleset = _load(args)
    try:
        sim = Simulator(host, ruleset, seed=args.seed)
    except RunnerUnavailable as e:
        raise RunnerUnavailable(f"{args.ruleset}: {e.diagnostics[0].message}") from None
    for w in sim.warnings:
        stderr.write(f"pkt monitor: warning: {w}\n")
    marked = 0
    for res in sim.replay(args.traffic, iif=args.iif):
        if not isinstance(res, PacketResult):
            continue
        lines = [ev["line"] for ev in res.events if ev.get("type") == "trace"]
        marked += bool(lines)
        for line in lines:
            stdout.write(line + "\n")
    if not marked:
        stderr.write("pkt monitor: no packet had nftrace set (add a rule with 'meta nftrace set 1', "
                     "as for nft monitor trace)\n")
    return 0


def monitor_main(argv: list[str], parser_cls=argparse.ArgumentParser) -> int:
    return run(build_parser(parser_cls).parse_args(argv))
