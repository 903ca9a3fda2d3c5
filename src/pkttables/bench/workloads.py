"""The named workloads of `pkt bench`.  Each takes the Report and the options, measures
pkttables and its baselines in the same process, and records the ratios with the aim the
issue set (so the report says whether the aim is met)."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pkttables.bench.report import Measurement, Report


@dataclass(slots=True)
class Options:
    quick: bool
    workdir: str
    _captures: dict = field(default_factory=dict)

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def capture(self, kind: str) -> tuple[str, int, float]:
        """The generated capture of this run (1M packets; 100k with --quick), written once
        and shared by the workloads: (path, packets, seconds it took to write)."""
        if kind not in self._captures:
            from pkttables.bench.traffic import write_capture

            n = self.n(1_000_000, 100_000)
            path = os.path.join(self.workdir, f"bench-{n}.{kind}")
            t, _ = _timed(write_capture, path, n)
            self._captures[kind] = (path, n, t)
        return self._captures[kind]


WORKLOADS: dict[str, Callable[[Report, Options], None]] = {}


def workload(name: str):
    def register(fn):
        WORKLOADS[name] = fn
        return fn
    return register


def _timed(fn, *args) -> tuple[float, object]:
    gc.collect()
    t0 = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t0, result


def _best(fn, *args, repeat: int = 3) -> float:
    return min(_timed(fn, *args)[0] for _ in range(repeat))


def _baselines():
    from pkttables.bench.baselines import dpkt_baseline, scapy_baseline

    return [b for b in (scapy_baseline, dpkt_baseline)]


@workload("packet-parse")
def packet_parse(report: Report, opt: Options) -> None:
    """Cost of turning a frame into a Packet (all header offsets, l4proto, flags), over every
    frame of the generated 1M-packet capture; scapy's and dpkt's dissection of the same frames."""
    from pkttables.capture import read_capture
    from pkttables.packet import LinkType, Packet

    path, _, _ = opt.capture("pcapng")
    frames = [rec.data for rec in read_capture(path)]
    eth = LinkType.ETHERNET

    def ours(fs):
        for f in fs:
            Packet(f, eth)
        return len(fs)

    t = _best(ours, frames)
    mine = report.add(Measurement("packet-parse", "pkttables", "parse", t / len(frames) * 1e9, "ns/pkt", len(frames)))
    for b in _baselines():
        why = b.available()
        if why:
            report.add(Measurement("packet-parse", b.NAME, "parse", float("nan"), "ns/pkt", 0, f"skipped: {why}"))
            continue
        # scapy is ~100x slower: a sample keeps the run short; the ratio is per packet.
        sample = frames[: opt.n(20_000, 2_000)] if b.NAME == "scapy" else frames[: opt.n(200_000, 20_000)]
        tb = _best(b.parse, sample, repeat=1 if b.NAME == "scapy" else 3)
        theirs = report.add(Measurement("packet-parse", b.NAME, "parse", tb / len(sample) * 1e9, "ns/pkt", len(sample)))
        report.ratio(mine, theirs, aim=10.0 if b.NAME == "scapy" else None)


@workload("capture-read")
def capture_read(report: Report, opt: Options) -> None:
    """Streaming read rate of a generated 1M-packet capture, pcap and pcapng; dpkt's and
    scapy's raw readers on the same file."""
    from pkttables.capture import read_capture

    for kind in ("pcap", "pcapng"):
        path, n, tw = opt.capture(kind)
        report.add(Measurement("capture-read", "pkttables", f"write {kind}", n / tw, "pkt/s", n))

        def ours(p):
            c = 0
            for _ in read_capture(p):
                c += 1
            return c

        t, count = _timed(ours, path)
        assert count == n, (count, n)
        mine = report.add(Measurement("capture-read", "pkttables", f"read {kind}", n / t, "pkt/s", n,
                                      f"{os.path.getsize(path) / 2**20:.0f} MiB"))
        report.ratios.append(_aim_ratio("capture-read", f"read {kind}", mine.value, 1e6, "1 M pkt/s"))
        for b in _baselines():
            if b.available():
                continue
            tb, cb = _timed(b.read, path)
            theirs = report.add(Measurement("capture-read", b.NAME, f"read {kind}", cb / tb, "pkt/s", cb))
            report.ratio(mine, theirs)


def _aim_ratio(workload: str, metric: str, value: float, target: float, label: str):
    from pkttables.bench.report import Ratio

    return Ratio(workload, metric, "pkttables", f"target {label}", value / target, 1.0)


@workload("ruleset-load")
def ruleset_load(report: Report, opt: Options) -> None:
    """Parse + evaluate + compile (``pkt -c -f``, in process) of generated rulesets of 1k, 10k
    and 100k ClassBench-style rules and of one ``ipv4_addr`` set of 1M elements, plain and
    ``flags interval`` (1k, 10k rules and 100k elements with --quick), beside the real
    ``nft -c -f`` on the same files in the same run (in a network namespace; skipped with
    the reason where root or nft is missing).  The stages' modules are imported before the
    clock starts (a loaded pktd or Python API pays that once); the import is its own figure."""
    import random
    import subprocess
    import sys

    from pkttables.bench.classbench import generate_acl
    from pkttables.commands import Options as CmdOptions, run_file
    from pkttables.model import Ruleset
    from pkttables.testing.kernel_env import kernel_unavailable_reason

    def set_text(n: int, interval: bool) -> str:
        """One ``ip`` table with a set of ``n`` random addresses, or of ``n`` disjoint
        ranges and prefixes (alternating) for the interval set."""
        rng = random.Random(7)
        q = lambda a: f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"  # noqa: E731
        if interval:
            step = (1 << 32) // (n + 1)
            items = [f"{q((i * step) & 0xFFFFFF00)}/24" if i % 2 else
                     f"{q((i * step) & 0xFFFFFF00)}-{q(((i * step) & 0xFFFFFF00) + rng.randrange(1, 200))}"
                     for i in range(n)]
        else:
            items = [q(a) for a in rng.sample(range(1 << 24, 1 << 32), n)]
        flags = "\t\tflags interval\n" if interval else ""
        return (f"table ip bigset {{\n\tset s {{\n\t\ttype ipv4_addr\n{flags}"
                f"\t\telements = {{ {', '.join(items)} }}\n\t}}\n}}\n")

    cases = [(f"check {n} rules", n, lambda n=n: generate_acl(n, seed=1))
             for n in ((1_000, 10_000) if opt.quick else (1_000, 10_000, 100_000))]
    ne = opt.n(1_000_000, 100_000)
    cases += [(f"check {ne} set elements", ne, lambda: set_text(ne, False)),
              (f"check {ne} interval elements", ne, lambda: set_text(ne, True))]

    fresh = [m for m in ("pkttables.lang.parser", "pkttables.evaluate", "pkttables.compile") if m not in sys.modules]
    t, _ = _timed(lambda: [__import__(m) for m in fresh])
    report.add(Measurement("ruleset-load", "pkttables", "import the stages", t, "s", len(fresh),
                           "once per process; not in the figures below"))
    why = kernel_unavailable_reason()
    ns = None
    if why is None:
        ns = f"{os.environ.get('PKT_BENCH_NETNS', 'pktbench')}{os.getpid()}"
        subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True, timeout=10)
    try:
        for metric, n, text in cases:
            path = os.path.join(opt.workdir, f"load-{metric.replace(' ', '-')}.nft")
            with open(path, "w") as f:
                f.write(text())
            t, _ = _timed(run_file, path, Ruleset(), CmdOptions(dry_run=True))
            mine = report.add(Measurement("ruleset-load", "pkttables", metric, t, "s", n))
            if ns is None:
                report.add(Measurement("ruleset-load", "nft", metric, float("nan"), "s", 0,
                                       f"skipped: needs {why}"))
                continue
            tn, r = _timed(lambda: subprocess.run(["ip", "netns", "exec", ns, "nft", "-c", "-f", path],
                                                  capture_output=True, timeout=900))
            theirs = report.add(Measurement("ruleset-load", "nft", metric, tn, "s", n,
                                            "" if r.returncode == 0 else f"nft exit {r.returncode}"))
            report.ratio(mine, theirs, aim=1.0)
    finally:
        if ns is not None:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


@workload("sets")
def sets_workload(report: Report, opt: Options) -> None:
    """Set lookups, build time and memory per element for each set kind at 100, 100k and 1M
    elements (100, 10k with --quick); the aim is lookup cost at the largest size <= 2x the
    cost at 100 elements."""
    from pkttables.bench.report import Ratio
    from pkttables.sets import bench as sb

    sizes = (100, 10_000) if opt.quick else (100, 100_000, 1_000_000)
    rows = sb.run(sizes=sizes)
    for r in rows:
        n, kind = r["elements"], r["kind"]
        report.add(Measurement("sets", "pkttables", f"{kind} lookup", r["lookup_ns"], "ns/lookup", n))
        report.add(Measurement("sets", "pkttables", f"{kind} build", r["build_s"], "s", n,
                               f"{r['bytes_per_elem']:.0f} B/elem peak"))
        if r["add_ns"] is not None:
            report.add(Measurement("sets", "pkttables", f"{kind} add+delete one", (r["add_ns"] + r["delete_ns"]) / 1e3,
                                   "us", n))
    for kind in {r["kind"] for r in rows}:
        kr = [r for r in rows if r["kind"] == kind]
        small, big = kr[0], kr[-1]
        if big is not small:
            # > 1 when the largest set costs less than twice the smallest (the aim).
            report.ratios.append(Ratio("sets", f"{kind} lookup at {big['elements']:,} vs {small['elements']}",
                                       "pkttables", "2x cost at the smallest size",
                                       2 * small["lookup_ns"] / big["lookup_ns"], 1.0))


@workload("acl")
def acl_workload(report: Report, opt: Options) -> None:
    """The classifier backend on ClassBench-style ACLs (see docs/classifier.md)."""
    from pkttables.bench.classbench import run_acl_bench

    run_acl_bench(report, opt)


@workload("gateway")
def gateway_workload(report: Report, opt: Options) -> None:
    """A stateful home-router ruleset on realistic traffic: the reference interpreter vs the
    generated-code backend, same run (aim: codegen >= 5x; see docs/codegen.md)."""
    from pkttables.backends._codegen_bench import run_codegen_bench

    run_codegen_bench(report, opt)


@workload("interp")
def interp_workload(report: Report, opt: Options) -> None:
    """Reference-interpreter cost per packet per rule for typical rules (docs/vm.md)."""
    from pkttables.vm.bench import run_interp_bench

    run_interp_bench(report, opt)


@workload("simulate-workers")
def workers_workload(report: Report, opt: Options) -> None:
    """`pkt simulate --workers 2` vs one worker on the home-router ruleset (aim 1.7x)."""
    from pkttables.datapath.workers import run_workers_bench

    run_workers_bench(report, opt)
