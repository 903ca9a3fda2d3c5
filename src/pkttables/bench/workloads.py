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
