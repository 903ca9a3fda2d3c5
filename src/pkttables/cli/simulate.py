"""``pkt simulate``: replay a capture through a host and a ruleset, and say what happened.

    pkt simulate --ruleset R.nft --host HOST.toml --traffic T.pcapng [--iif NAME]
                 [--out OUT.pcapng] [--json OUTCOMES.jsonl] [--trace] [--list]
                 [--conntrack] [--conntrack-expect] [--conntrack-save FILE]
                 [--conntrack-load FILE] [--seed N] [--backend NAME] [--progress] [--workers N]

Without ``--trace``/``--list``/``--conntrack``/``--conntrack-expect`` it prints a summary
for people (rich tables); with them, what ``nft monitor trace``, ``nft list ruleset``,
``conntrack -L`` and ``conntrack -L expect`` would print.  ``--json`` and ``--out`` are
files written as the replay goes (see docs/simulate.md, docs/outcomes-schema.md).
``--conntrack-save`` writes the final table as a snapshot; ``--conntrack-load`` starts
from one, so a capture cut in pieces gives what one run gives (docs/conntrack.md).  Bad
arguments and files are one error naming what and where, exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import IO, Any

from pkttables.errors import PktError

__all__ = ["build_parser", "simulate_main", "run"]

_CT_VERSION = "conntrack v1.4.7 (conntrack-tools)"


def seed_arg(text: str) -> int:
    """``--seed N``: an integer that fits the 64 bits the NAT and hash keys are made of
    (a larger one was an OverflowError deep in the replay)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: '{text}'") from None
    if not -(1 << 63) <= n < 1 << 63:
        raise argparse.ArgumentTypeError(f"must be a 64-bit integer (got {text})")
    return n


def build_parser(parser_cls=argparse.ArgumentParser) -> argparse.ArgumentParser:
    p = parser_cls(prog="pkt simulate", description="Replay a capture through a host and a ruleset: "
                   "verdicts, deciding rules, NAT, conntrack, emitted packets.")
    p.add_argument("--ruleset", required=True, metavar="R.nft", help="ruleset: nft text or nft JSON")
    p.add_argument("--host", metavar="HOST.toml", help="host description (contracts/host.toml.md); "
                   "default: one interface eth0")
    p.add_argument("--traffic", required=True, metavar="T.pcapng",
                   help="capture; pcapng interface names are ingress interfaces, 'local' = sent by the host")
    p.add_argument("--iif", metavar="NAME", help="ingress interface of packets whose capture names none (pcap)")
    p.add_argument("--out", metavar="OUT.pcapng", help="write every packet the host emits (pcapng)")
    p.add_argument("--json", metavar="OUTCOMES.jsonl", help="one JSON object per packet ('-' = stdout)")
    p.add_argument("--trace", action="store_true", help="print trace lines as `nft monitor trace`")
    p.add_argument("--list", action="store_true", help="print the ruleset with final counters as `nft list ruleset`")
    p.add_argument("--conntrack", action="store_true", help="print the final table as `conntrack -L`")
    p.add_argument("--conntrack-save", metavar="FILE", help="write the final conntrack table as a snapshot "
                   "for `pkt conntrack --table FILE` (docs/conntrack.md)")
    p.add_argument("--conntrack-load", metavar="FILE", help="start from the conntrack table of a snapshot "
                   "written by --conntrack-save: the run carries on where that one stopped (docs/conntrack.md)")
    p.add_argument("--conntrack-expect", action="store_true",
                   help="print the final expectation table as `conntrack -L expect`")
    p.add_argument("--seed", type=seed_arg, default=0, metavar="N", help="seed of the random fields (default 0)")
    p.add_argument("--backend", default="interp", metavar="NAME", help="rule backend (default: interp)")
    p.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is not a terminal")
    p.add_argument("--debug", metavar="LEVEL", default="",
                   help="codegen: print the Python the codegen backend generates for the ruleset "
                        "(docs/codegen.md), then simulate")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="replay in N processes, connections sharded by a symmetric flow hash; "
                        "output as with one (see docs/simulate.md for when it can differ)")
    return p


class _Progress:
    """A rich progress bar on stderr, shown only once the run has taken a second, and
    only when stderr is a terminal (or ``force``)."""

    def __init__(self, total_bytes: int, force: bool, stream: IO[str], clock=time.monotonic):
        self.total = max(total_bytes, 1)
        self.enabled = force or (hasattr(stream, "isatty") and stream.isatty())
        self.stream = stream
        self.clock = clock
        self.start = clock()
        self.bar = None
        self.task = None

    def __call__(self, packets: int, nbytes: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if self.clock() - self.start < 1.0:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.fields[packets]} packets"),
                                TimeElapsedColumn(), console=Console(file=self.stream, force_terminal=None),
                                transient=True)
            self.bar.start()
            self.task = self.bar.add_task("replay", total=self.total, packets=0)
        self.bar.update(self.task, completed=min(nbytes, self.total), packets=packets)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


class _Outputs:
    """The --out and --json files, opened before the run so a bad path fails first."""

    def __init__(self, args: argparse.Namespace, stdout: IO[str]):
        from pkttables.capture import PcapngWriter

        self.writer = None
        self.ifaces: dict[str, int] = {}
        self.json: IO[str] | None = None
        self._own_json = False
        try:
            if args.out:
                self.writer = PcapngWriter(args.out)
            if args.json == "-":
                self.json = stdout
            elif args.json:
                self.json = open(args.json, "w", encoding="utf-8")
                self._own_json = True
        except OSError as e:
            self.close()
            raise PktError(f"cannot write '{e.filename}': {e.strerror}") from None

    def frames(self, res) -> None:
        from pkttables.capture import LinkType

        if self.writer is None:
            return
        for e in res.emitted:
            i = self.ifaces.get(e.oif)
            if i is None:
                i = self.ifaces[e.oif] = self.writer.add_interface(e.oif, LinkType.ETHERNET)
            self.writer.write(i, e.data, e.time_ns, direction="out")

    def line(self, obj: dict[str, Any]) -> None:
        if self.json is not None:
            self.json.write(json.dumps(obj, separators=(", ", ": ")) + "\n")

    def raw(self, text: str) -> None:
        self.json.write(text + "\n")

    def frame(self, oif: str, data: bytes, time_ns: int) -> None:
        from pkttables.capture import LinkType

        i = self.ifaces.get(oif)
        if i is None:
            i = self.ifaces[oif] = self.writer.add_interface(oif, LinkType.ETHERNET)
        self.writer.write(i, data, time_ns, direction="out")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.json is not None and self._own_json:
            self.json.close()
        self.json = None


def _load(args: argparse.Namespace):
    from pkttables.datapath import load_ruleset
    from pkttables.stack.host import Host, load_host

    host = load_host(args.host) if args.host else Host.single_interface()
    if args.iif is not None and args.iif != "local" and args.iif not in host.interfaces:
        known = ", ".join(n for n in host.interfaces if n != "lo")
        raise PktError(f"--iif: no interface '{args.iif}' in the host (known: {known}, local)")
    ruleset = load_ruleset(args.ruleset, host)
    if not os.path.isfile(args.traffic):
        what = "is not a file" if os.path.exists(args.traffic) else "No such file or directory"
        raise PktError(f"--traffic: cannot read '{args.traffic}': {what}")
    return host, ruleset


def run(args: argparse.Namespace, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """Run ``pkt simulate`` with parsed arguments (raises PktError on bad input)."""
    from pkttables.datapath import BACKENDS, SCHEMA, RunnerUnavailable, Simulator
    from pkttables.datapath.summary import Summary

    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if args.backend not in BACKENDS:
        raise PktError(f"--backend: unknown backend '{args.backend}' (known: {', '.join(sorted(BACKENDS))})")
    levels = {lvl.strip() for lvl in (getattr(args, "debug", "") or "").split(",") if lvl.strip()}
    if levels - {"codegen"}:
        raise PktError(f"--debug: unknown level '{sorted(levels - {'codegen'})[0]}' (known: codegen)")
    host, ruleset = _load(args)
    if "codegen" in levels:
        from pkttables.backends.classified import min_run_from_env
        from pkttables.backends.codegen import CompiledRuleset
        from pkttables.vm.chain import LoadedRuleset
        # the code the run uses: same classified-run threshold as the codegen backend
        stdout.write(CompiledRuleset(LoadedRuleset(ruleset), min_run=min_run_from_env()).source())
    try:
        sim = Simulator(host, ruleset, seed=args.seed, backend=args.backend)
    except RunnerUnavailable as e:
        raise RunnerUnavailable(f"{args.ruleset}: {e.diagnostics[0].message}") from None
    if args.workers < 1 or args.workers > 256:
        raise PktError(f"--workers: must be between 1 and 256 (got {args.workers})")
    if args.workers > 1:
        from pkttables.datapath.workers import shared_state
        for what in shared_state(sim.runtime):
            sim.warnings.append(f"--workers: {what} keeps state shared by all connections; each worker "
                                "has its own, so outcomes can differ from --workers 1")
    for w in sim.warnings:
        stderr.write(f"pkt simulate: warning: {w}\n")
    loaded_packets, loaded_now = 0, 0.0
    if getattr(args, "conntrack_load", None):
        if args.workers > 1:
            raise PktError("--conntrack-load: needs --workers 1 (each worker has its own table)")
        loaded_packets, loaded_now = load_conntrack(sim, args.conntrack_load)
    outputs = _Outputs(args, stdout)
    if args.workers > 1:
        if getattr(args, "conntrack_save", None):
            outputs.close()
            raise PktError("--conntrack-save: needs --workers 1 (each worker has its own table)")
        if getattr(args, "conntrack_expect", False):
            outputs.close()
            raise PktError("--conntrack-expect: needs --workers 1 (each worker has its own table)")
        return _run_workers(args, sim, ruleset, outputs, stdout, stderr)
    summary = Summary()
    progress = _Progress(os.path.getsize(args.traffic), args.progress, stderr)
    try:
        outputs.line({"type": "header", "schema": SCHEMA, "format": "pkttables-outcomes",
                      "ruleset": args.ruleset, "host": args.host, "traffic": args.traffic,
                      "seed": args.seed, "backend": args.backend, "conntrack": sim.ct_table is not None,
                      "warnings": list(sim.warnings)})
        # a loaded run numbers its packets on from the saving run's: the same indexes
        # and random fields (drawn per (seed, index)) as one run over the whole capture
        for res in sim.replay(args.traffic, iif=args.iif, progress=progress, first_index=loaded_packets):
            outputs.frames(res)
            outputs.line(res.to_json())
            summary.add(res)
            if args.trace:
                for ev in res.events:
                    if ev.get("type") == "trace":
                        stdout.write(ev["line"] + "\n")
        outputs.line({"type": "end", "packets": summary.packets, "emitted": sim.emitted_count,
                      "verdicts": dict(summary.verdicts)})
    finally:
        progress.close()
        outputs.close()
    if args.list:
        _print_list(sim, ruleset, stdout, stderr)
    # the table's clock: the last packet's time, or the loaded snapshot's without packets
    ct_now = sim.last_ns / 1e9 if sim.last_ns is not None else loaded_now
    if args.conntrack:
        _print_conntrack(sim, stdout, stderr, ct_now)
    if getattr(args, "conntrack_save", None):
        from pkttables.conntrack import ConntrackTable
        from pkttables.conntrack.snapshot import write_snapshot
        table = sim.ct_table if sim.ct_table is not None else ConntrackTable(keep_events=False)
        write_snapshot(args.conntrack_save, table, ct_now, packets=loaded_packets + sim.packets)
    if getattr(args, "conntrack_expect", False):
        _print_expect(sim, stdout, stderr, ct_now)
    if not (args.trace or args.list or args.conntrack or args.json == "-"
            or getattr(args, "conntrack_expect", False)):
        render_summary(summary, sim, stdout)
    return 0


class _Merged:
    """What the printers read of a Simulator, after a --workers run."""

    def __init__(self, sim, wr):
        self.ct_table = sim.ct_table
        self.runtime = sim.runtime
        self.emitted_count = wr.emitted_count
        self.last_ns = wr.last_ns
        self._entries = wr.conntrack

    def conntrack_entries(self) -> list:
        from types import SimpleNamespace
        return [SimpleNamespace(state_name=None if st == "-" else st, line=ln) for ln, st in self._entries]


def _run_workers(args, sim, ruleset, outputs: _Outputs, stdout: IO[str], stderr: IO[str]) -> int:
    from pkttables.datapath import SCHEMA
    from pkttables.datapath.workers import WorkerOptions, WorkerReplay

    human = not (args.trace or args.list or args.conntrack or args.json == "-")
    opts = WorkerOptions(json=outputs.json is not None, frames=outputs.writer is not None, trace=args.trace,
                         counters=args.list, conntrack=args.conntrack or (human and sim.ct_table is not None))
    wr = WorkerReplay(sim, args.workers, opts)
    progress = _Progress(os.path.getsize(args.traffic), args.progress, stderr)
    try:
        outputs.line({"type": "header", "schema": SCHEMA, "format": "pkttables-outcomes",
                      "ruleset": args.ruleset, "host": args.host, "traffic": args.traffic,
                      "seed": args.seed, "backend": args.backend, "conntrack": sim.ct_table is not None,
                      "warnings": list(sim.warnings)})
        wr.run(sim.records(args.traffic, iif=args.iif),
               line=outputs.raw if outputs.json is not None else None,
               frame=outputs.frame if outputs.writer is not None else None,
               trace=(lambda t: stdout.write(t + "\n")) if args.trace else None,
               progress=progress, name=args.traffic)
        end = {"type": "end", "packets": wr.summary.packets, "emitted": wr.emitted_count,
               "verdicts": dict(wr.summary.verdicts)}
        if wr.warnings:
            end["warnings"] = wr.warnings
        outputs.line(end)
    finally:
        progress.close()
        outputs.close()
    for w in wr.warnings:
        stderr.write(f"pkt simulate: warning: {w}\n")
    merged = _Merged(sim, wr)
    if args.list:
        if sim.runtime is None or not wr.states:
            stdout.write(listing_with_counters(ruleset, wr.counters, sim.ifnames) if sim.runtime is not None else
                         __import__("pkttables.render.text", fromlist=["list_ruleset"]).list_ruleset(
                             ruleset, _list_options(sim)))
        else:
            # every worker's counters, quotas, named objects and set elements, merged
            from pkttables.datapath.listing import listing_after_run, merge_worker_states
            now = wr.last_ns / 1e9 if wr.last_ns else None
            runtimes = [rt for rt in (sim.runtime, sim.nat_runtime) if rt is not None]
            counters, quotas, objects, sets = merge_worker_states(ruleset, runtimes, wr.states, now)
            stdout.write(listing_after_run(ruleset, counters, quotas, objects, sim.ifnames, sets=sets, now=now))
    if args.conntrack:
        if sim.ct_table is None:
            stderr.write("pkt simulate: connection tracking was not active: the ruleset uses no ct "
                         "expression and no NAT (the kernel tracks only then)\n")
        for c in merged.conntrack_entries():
            stdout.write(c.line + "\n")
        stderr.write(f"{_CT_VERSION}: {len(wr.conntrack)} flow entries have been shown.\n")
    if human:
        render_summary(wr.summary, merged, stdout)
    return 0


def _list_options(sim, **kw):
    """nft names interface indexes as the machine it runs on does: here, the simulated
    host (``iif "lan0"``, not ``iif 2``)."""
    from pkttables.render.options import ListOptions

    ifnames = getattr(sim, "ifnames", None)
    return ListOptions(**kw) if ifnames is None else ListOptions(ifnames=ifnames, **kw)


def listing_with_counters(ruleset, counters: dict, ifnames=None) -> str:
    """``nft list ruleset`` with the rules' counters set from ``counters``
    (``(family, table, chain, handle[, index]) -> Count``), as the kernel reports them
    after the run (see :func:`pkttables.datapath.listing.listing_after_run`, which also
    takes quotas and named objects).  ``ifnames``: ``((ifindex, name), ...)`` of the
    simulated host."""
    from pkttables.datapath.listing import listing_after_run

    return listing_after_run(ruleset, counters, None, None, ifnames)


def _print_list(sim, ruleset, stdout: IO[str], stderr: IO[str]) -> None:
    """``nft list ruleset`` as the kernel prints it after the traffic: rule counters and
    quotas, named counters and quotas at their final values (datapath.listing)."""
    from pkttables.datapath.listing import listing_after_run, merged_states, named_set_instances
    from pkttables.render.text import list_ruleset

    if sim.runtime is None:
        # No base chain ran: every counter is as loaded.
        stdout.write(list_ruleset(ruleset, _list_options(sim)))
        return
    runtimes = [rt for rt in (sim.runtime, sim.nat_runtime) if rt is not None]
    if not any(hasattr(getattr(rt, "state", None), "counters") for rt in runtimes):
        stderr.write("pkt simulate: warning: the backend does not export its counters; "
                     "the listing shows them as loaded\n")
    counters, quotas, objects = merged_states(runtimes)
    now = sim.last_ns / 1e9 if sim.last_ns is not None else None
    stdout.write(listing_after_run(ruleset, counters, quotas, objects, sim.ifnames,
                                   sets=named_set_instances(runtimes), now=now))


def _print_conntrack(sim, stdout: IO[str], stderr: IO[str], now: float | None = None) -> None:
    from pkttables.conntrack import format_entry

    if sim.ct_table is None:
        stderr.write("pkt simulate: connection tracking was not active: the ruleset uses no ct "
                     "expression and no NAT (the kernel tracks only then)\n")
    if now is None:
        now = (sim.last_ns or 0) / 1e9
    entries = sim.ct_table.entries(now) if sim.ct_table is not None else sim.conntrack_entries()
    for c in entries:
        stdout.write(format_entry(c, now) + "\n")
    stderr.write(f"{_CT_VERSION}: {len(entries)} flow entries have been shown.\n")


def load_conntrack(sim, path: str) -> tuple[int, float]:
    """``--conntrack-load``: fill the simulator's (empty) conntrack table from a version
    2 snapshot, with the NAT pieces the conntrack package cannot build itself: the
    expectations' nf_nat_follow_master callback, ``struct nf_conn_nat`` and NAT's
    by-source index (find_appropriate_src: a new connection from a source that already
    has a mapping gets the same one).  Returns the packets the saving run had seen and
    the snapshot's clock."""
    from pkttables.conntrack.snapshot import SnapshotError, read_snapshot_full

    nat = getattr(sim, "nat_table", None)
    kw = {}
    if nat is not None:
        from pkttables.nat import NatInfo
        from pkttables.nat._ftp import follow_master

        def expectfn(exp):
            return lambda new, e: follow_master(nat, new, e)

        def nat_info(d):
            info = NatInfo()
            info.masq_ifname, info.masq_index = d["masq_ifname"], d["masq_index"]
            return info
        kw = {"expectfn": expectfn, "nat_info": nat_info}
    if sim.ct_table is None:
        # the ruleset does not track: only an empty table can be carried on
        snap = read_snapshot_full(path, resume=True)
        if len(snap.table):
            raise SnapshotError(f"{path}: the ruleset uses no ct expression and no NAT, so nothing "
                                f"is tracked: the {len(snap.table)} entries cannot be loaded")
        return snap.packets, snap.now
    if len(sim.ct_table):
        raise PktError("--conntrack-load: the table is not empty")
    snap = read_snapshot_full(path, sim.ct_table, resume=True, **kw)
    if nat is not None:
        # nf_nat_setup_info adds SNATed entries at the head of their by-source chain:
        # entries are in insertion order, so rebinding them in turn puts the newest first
        for c in snap.table.entries():
            nat.rebind(c)
    return snap.packets, snap.now


def _print_expect(sim, stdout: IO[str], stderr: IO[str], now: float) -> None:
    """``--conntrack-expect``: the expectations as ``conntrack -L expect -f ipv4`` and
    ``-f ipv6`` print them (conntrack lists one family at a time, IPv4 first here)."""
    from pkttables.conntrack.expect import format_expect

    exps = sim.ct_table.expectations(now) if sim.ct_table is not None else []
    exps = sorted(exps, key=lambda e: e.tuple.l3num)      # stable: oldest first per family
    for e in exps:
        stdout.write(format_expect(e, now) + "\n")
    stderr.write(f"{_CT_VERSION}: {len(exps)} expectations have been shown.\n")


def render_summary(summary, sim, stdout: IO[str]) -> None:
    """The summary for people: rich tables on ``stdout``."""
    from rich.console import Console
    from rich.table import Table

    width = None if (hasattr(stdout, "isatty") and stdout.isatty()) else 120
    con = Console(file=stdout, width=width, highlight=False)
    span = 0.0
    if summary.first_ns is not None and summary.last_ns is not None:
        span = (summary.last_ns - summary.first_ns) / 1e9
    con.print(f"{summary.packets} packets over {span:.3f} s, {sim.emitted_count} emitted, "
              f"conntrack {'on' if sim.ct_table is not None else 'off'}, "
              f"ruleset {'run by ' + type(sim.runtime).__name__ if sim.runtime is not None else 'without base chains'}")

    t = Table(title="Packets by verdict")
    t.add_column("verdict")
    t.add_column("packets", justify="right")
    t.add_column("%", justify="right")
    for v, n in summary.verdicts.most_common():
        t.add_row(v, str(n), f"{100 * n / max(summary.packets, 1):.1f}")
    con.print(t)

    if summary.rules or summary.policies:
        t = Table(title="Deciding rules and policies")
        for col in ("family", "table", "chain", "handle", "rule", "verdict"):
            t.add_column(col)
        t.add_column("packets", justify="right")
        for (f, tb, c, h, x, v), n in summary.rules.most_common():
            t.add_row(f or "?", tb or "?", c or "?", str(h), x or "", v, str(n))
        for (f, tb, c, v), n in summary.policies.most_common():
            t.add_row(f or "?", tb or "?", c or "?", "-", "(policy)", v, str(n))
        con.print(t)

    if summary.dropped_flows:
        t = Table(title="Top dropped flows")
        t.add_column("flow")
        t.add_column("packets", justify="right")
        for flow, n, err in summary.dropped_flows.top(10):
            t.add_row(str(flow), f"{n}" if not err else f"{n} (±{err})")
        con.print(t)
        t = Table(title="Why packets were dropped")
        t.add_column("reason")
        t.add_column("packets", justify="right")
        for why, n, err in summary.drop_reasons.top(10):
            t.add_row(str(why), f"{n}" if not err else f"{n} (±{err})")
        con.print(t)

    if summary.nat:
        t = Table(title="NAT translations")
        t.add_column("before")
        t.add_column("after")
        t.add_column("packets", justify="right")
        for (before, after), n, err in summary.nat.top(10):
            t.add_row(str(before), str(after), f"{n}" if not err else f"{n} (±{err})")
        con.print(t)

    if sim.ct_table is not None:
        from collections import Counter

        t = Table(title="Conntrack")
        t.add_column("packets in state")
        t.add_column("packets", justify="right")
        for s, n in summary.ct_states.most_common():
            t.add_row(s, str(n))
        con.print(t)
        final = Counter((c.state_name or "-") for c in sim.conntrack_entries())
        if final:
            t = Table(title=f"Conntrack table at the end ({sum(final.values())} entries)")
            t.add_column("entry state")
            t.add_column("entries", justify="right")
            for s, n in final.most_common():
                t.add_row(s, str(n))
            con.print(t)

    if summary.emitted:
        t = Table(title="Emitted")
        t.add_column("interface")
        t.add_column("frames", justify="right")
        for oif, n in sorted(summary.emitted.items()):
            t.add_row(oif, str(n))
        con.print(t)


def simulate_main(argv: list[str], parser_cls=argparse.ArgumentParser) -> int:
    args = build_parser(parser_cls).parse_args(argv)
    return run(args)
