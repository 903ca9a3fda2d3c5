"""Bench results: one Measurement per figure, rendered as a table and as JSON."""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import asdict, dataclass, field


@dataclass(slots=True)
class Measurement:
    workload: str
    subject: str            # "pkttables", or the baseline's name ("scapy", "dpkt", "nft", ...)
    metric: str             # e.g. "parse", "read pcap"
    value: float
    unit: str               # "ns/pkt", "pkt/s", "s", "bytes/elem"
    n: int = 0              # how many items the figure was measured over
    note: str = ""


@dataclass(slots=True)
class Ratio:
    workload: str
    metric: str
    subject: str
    baseline: str
    ratio: float            # > 1 means pkttables is better (faster / smaller)
    aim: float | None = None

    @property
    def met(self) -> bool | None:
        return None if self.aim is None else self.ratio >= self.aim


@dataclass(slots=True)
class Report:
    measurements: list[Measurement] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    #: workload -> (seconds it took, its budget in seconds, error or "")
    timings: dict[str, tuple[float, float, str]] = field(default_factory=dict)
    load_before: tuple[float, float, float] | None = None
    load_after: tuple[float, float, float] | None = None

    def add(self, m: Measurement) -> Measurement:
        self.measurements.append(m)
        return m

    def ratio(self, ours: Measurement, base: Measurement, *, aim: float | None = None) -> Ratio:
        """Ratio of a baseline to ours, oriented so that > 1 means pkttables wins."""
        if ours.unit != base.unit:
            raise ValueError(f"cannot compare {ours.unit} with {base.unit}")
        lower_is_better = ours.unit.startswith(("ns", "s", "bytes", "us", "ms"))
        r = (base.value / ours.value) if lower_is_better else (ours.value / base.value)
        rr = Ratio(ours.workload, ours.metric, ours.subject, base.subject, r, aim)
        self.ratios.append(rr)
        return rr

    def to_json(self) -> dict:
        return {
            "version": 1,
            "machine": machine(),
            "started": self.started,
            "load_average": {"before": self.load_before, "after": self.load_after},
            "timings": {k: {"seconds": t, "budget": b, "error": e} for k, (t, b, e) in self.timings.items()},
            "total_seconds": sum(t for t, _, _ in self.timings.values()),
            "measurements": [asdict(m) for m in self.measurements],
            "ratios": [asdict(r) | {"met": r.met} for r in self.ratios],
        }

    def write_json(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump(self.to_json(), f, indent=2)
            f.write("\n")

    def render(self, console=None) -> None:
        from rich.console import Console
        from rich.table import Table

        console = console or Console(width=max(120, Console().width))
        t = Table(title="pkt bench: measurements")
        for col in ("workload", "subject", "metric", "value", "unit", "n", "note"):
            t.add_column(col, justify="right" if col in ("value", "n") else "left")
        for m in self.measurements:
            t.add_row(m.workload, m.subject, m.metric, _fmt(m.value), m.unit, f"{m.n:,}" if m.n else "", m.note)
        console.print(t)
        if self.ratios:
            r = Table(title="same-run ratios (>1: pkttables better)")
            for col in ("workload", "metric", "vs", "ratio", "aim", "met"):
                r.add_column(col)
            for x in self.ratios:
                met = "" if x.met is None else ("yes" if x.met else "NO")
                r.add_row(x.workload, _ratio_metric(x.metric, x.subject), x.baseline, f"{x.ratio:.1f}x",
                          "" if x.aim is None else f">= {x.aim:g}x", met)
            console.print(r)
        if self.timings:
            w = Table(title="time per workload")
            for col in ("workload", "seconds", "budget", "within"):
                w.add_column(col, justify="left" if col == "workload" else "right")
            for k, (t, b, e) in self.timings.items():
                w.add_row(k, f"{t:.1f}", f"{b:.0f}", ("yes" if t <= b else "NO") + (f" (error: {e})" if e else ""))
            total, budget = sum(t for t, _, _ in self.timings.values()), sum(b for _, b, _ in self.timings.values())
            w.add_row("total", f"{total:.1f}", f"{budget:.0f}", "yes" if total <= budget else "NO")
            console.print(w)
            if self.load_before is not None:
                console.print(f"load average before {self.load_before}, after {self.load_after}; "
                              f"{machine()['nproc']} cores")


def loadavg() -> tuple[float, float, float] | None:
    try:
        return tuple(float(x) for x in open("/proc/loadavg").read().split()[:3])  # type: ignore[return-value]
    except (OSError, ValueError):
        return None


def machine() -> dict:
    """What the figures were measured on: Python, platform, cores, CPU model."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    model = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import os

    return {"python": sys.version.split()[0], "platform": platform.platform(), "processor": model,
            "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()}


def _fmt(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.4g}"


def _ratio_metric(metric: str, subject: str) -> str:
    """A ratio's metric, naming what was measured when it is not plain ``pkttables``
    (two backends measured against one baseline would otherwise read alike)."""
    return metric if subject == "pkttables" else f"{metric} ({subject})"


def markdown(data: dict) -> str:
    """The tables of a JSON report (``Report.to_json()`` or a ``--json`` file) as Markdown,
    for docs/performance.md: measurements, ratios with met / NOT met, time per workload."""
    def cell(x) -> str:
        return str(x).replace("|", "\\|")

    out = ["| workload | subject | metric | value | unit | n | note |", "|---|---|---|--:|---|--:|---|"]
    for m in data["measurements"]:
        v = m["value"]
        out.append(f"| {m['workload']} | {m['subject']} | {cell(m['metric'])} | "
                   f"{'—' if v != v else _fmt(v)} | {m['unit']} | {m['n']:,} | {cell(m['note'])} |")
    out += ["", "| workload | metric | vs | ratio | aim | met |", "|---|---|---|--:|--:|---|"]
    for r in data["ratios"]:
        met = "" if r["met"] is None else ("met" if r["met"] else "**NOT met**")
        aim = "" if r["aim"] is None else f"≥ {r['aim']:g}×"
        metric = _ratio_metric(r["metric"], r.get("subject", "pkttables"))
        out.append(f"| {r['workload']} | {cell(metric)} | {cell(r['baseline'])} | {r['ratio']:.2f}× | {aim} | {met} |")
    if data.get("timings"):
        out += ["", "| workload | seconds | budget |", "|---|--:|--:|"]
        for k, t in data["timings"].items():
            out.append(f"| {k} | {t['seconds']:.1f} | {t['budget']:.0f} |" + (f" error: {cell(t['error'])}" if t["error"] else ""))
        out.append(f"| **total** | {data['total_seconds']:.1f} | {sum(t['budget'] for t in data['timings'].values()):.0f} |")
    return "\n".join(out) + "\n"
