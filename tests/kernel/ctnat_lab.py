"""Conntrack/NAT scenarios on the kernel and on pkttables, with the conntrack table compared.

``pkttables.testing.differential`` compares frames and counters of stateless rulesets;
this helper adds what stateful scenarios need, without touching that module:

* one lab for many scenarios (namespaces ``pktctnat<pid>x<n>``): before each scenario
  ``nft flush ruleset`` and ``conntrack -F`` (expectations die with their masters), so
  nothing of the previous scenario survives;
* pkttables runs the whole path: ``datapath.replay.Simulator`` (engine, conntrack at
  -200/confirm, NAT at -100/100 with the nat chains on the vm) with
  ``pkttables.conntrack.nft.install`` for ``ct set``/``ct count``;
* compared: every frame emitted per injection and interface, byte for byte (after
  ``mask_random`` and the IPv4 ID of non-DF packets, as in test_nat_kernel); every rule
  counter by position; the conntrack table from ``conntrack -L -o extended`` (tuples,
  state, ASSURED/UNREPLIED, mark, zone, helper) with timeouts within a second.

Time: injections carry delays; the kernel really waits, pkttables' clock is the sum of
the delays; both tables are read at the kernel's elapsed time.
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from pkttables.conntrack import format_entry, parse_conntrack_line
from pkttables.conntrack.nft import install
from pkttables.datapath.replay import PacketResult, Simulator
from pkttables.packet import Packet
from pkttables.stack.engine import mask_random
from pkttables.testing.differential import _load, quiet_host
from pkttables.testing.kernel import Injection, KernelLab

PREFIX = "pktctnat"
_n = 0


@dataclass
class CtScenario:
    name: str
    ruleset: str
    traffic: list[Injection]
    #: compare conntrack timeouts (off where the kernel's value depends on jiffies rounding)
    timeouts: bool = True
    #: extra checks on (kernel_table_lines, our_table_lines, frames) -- must raise on failure
    check: Callable[["CtResult"], None] | None = None


@dataclass
class CtResult:
    scenario: CtScenario
    kernel_frames: dict = field(default_factory=dict)
    our_frames: dict = field(default_factory=dict)
    kernel_table: dict = field(default_factory=dict)
    our_table: dict = field(default_factory=dict)
    kernel_counters: dict = field(default_factory=dict)
    our_counters: dict = field(default_factory=dict)
    kernel_text: str = ""
    our_text: str = ""
    problems: list[str] = field(default_factory=list)
    sim: Any = None

    @property
    def agree(self) -> bool:
        return not self.problems

    def report(self) -> str:
        def show(d):
            return "\n".join(f"  {k}: {[Packet(f).summary() for f in v]}" for k, v in sorted(d.items()))
        return (f"scenario {self.scenario.name}: " + "; ".join(self.problems) +
                "\nkernel frames:\n" + show(self.kernel_frames) + "\nour frames:\n" + show(self.our_frames) +
                "\nkernel table:\n" + self.kernel_text + "our table:\n" + self.our_text +
                f"\nkernel counters {self.kernel_counters}\nour counters {self.our_counters}")


def _masked(frame: bytes, loc) -> bytes:
    f = bytearray(mask_random(frame, loc))
    if len(f) >= 34 and f[12:14] == b"\x08\x00" and not f[20] & 0x40:
        f[18:20] = f[24:26] = b"\0\0"
    return bytes(f)


def table_key(line: str):
    """(key, timeout) of one ``conntrack -L -o extended`` line (ours or the kernel's)."""
    d = parse_conntrack_line(line)
    proto = "ipv6-icmp" if d["proto"] == "icmpv6" else d["proto"]
    status = tuple(sorted(s for s in d["status"] if s in ("ASSURED", "UNREPLIED")))
    helper = next((w for w in line.split() if w.startswith("helper=")), None)
    return (proto, d["state"], tuple(sorted(d["original"].items())), tuple(sorted(d["reply"].items())),
            status, d["mark"], d["zone"], helper), d["timeout"]


def _strip_l3(line: str) -> str:
    # -o extended starts with "ipv4     2 "; our format_entry does not
    w = line.split(None, 2)
    return w[2] if len(w) == 3 and w[0] in ("ipv4", "ipv6") else line


class CtNatLab:
    """One kernel lab (namespaces ``pktctnat<pid>x<n>``) for many :class:`CtScenario`."""

    def __init__(self, host, *, timeout: float = 900.0, settle: float = 0.05):
        global _n
        self.host = quiet_host(host)
        self.lab = KernelLab(self.host, timeout=timeout, settle=settle)
        _n += 1
        self.lab.base = f"{PREFIX}{os.getpid()}x{_n}"
        self.lab.hostns = self.lab.base + "h"
        self._injected = 0
        self._local = {a.ip.packed for i in self.host.interfaces.values() for a in i.addresses}

    def __enter__(self) -> "CtNatLab":
        self.lab.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.lab.__exit__(*exc)

    # ---------------------------------------------------------------- kernel
    def kernel(self, sc: CtScenario, res: CtResult) -> float:
        lab = self.lab
        lab.exec(["nft", "flush", "ruleset"])
        lab.exec(["conntrack", "-F"], check=False)
        lab.load(sc.ruleset)
        first = self._injected
        t0 = time.monotonic()
        emitted = lab.inject(sc.traffic)
        self._injected += len(sc.traffic)
        obs = lab.observe(conntrack=False)
        text = ""
        for fam in ("ipv4", "ipv6"):
            text += lab.exec(["conntrack", "-L", "-f", fam, "-o", "extended"], check=False).stdout
        elapsed = time.monotonic() - t0
        for e in emitted:
            k = e.after_injection - first
            res.kernel_frames.setdefault((k, e.ifname), []).append(_masked(e.frame, self._local))
        lines = [_strip_l3(x) for x in text.splitlines() if x.strip()]
        res.kernel_text = "\n".join(lines) + "\n"
        res.kernel_table = dict(table_key(x) for x in lines)
        pos: dict[tuple, int] = {}
        handles: dict[tuple, int] = {}
        for item in obs.ruleset_json.get("nftables", []):
            r = item.get("rule")
            if r:
                ck = (r["family"], r["table"], r["chain"])
                handles[ck + (int(r["handle"]),)] = pos.get(ck, 0)
                pos[ck] = pos.get(ck, 0) + 1
        for key, c in obs.counters.items():
            res.kernel_counters[key[:3] + (handles.get(key, -1),)] = c.packets
        return elapsed

    # ---------------------------------------------------------------- pkttables
    def ours(self, sc: CtScenario, res: CtResult, elapsed: float) -> None:
        rs = _load(sc.ruleset, self.host)
        sim = Simulator(copy.deepcopy(self.host), rs, seed=0)
        res.sim = sim
        for rt in (sim.runtime, sim.nat_runtime):
            if rt is not None and sim.ct_table is not None:
                install(rt, sim.ct_table)
        now = 0.0
        for i, inj in enumerate(sc.traffic):
            now += inj.delay
            for r in sim.process(inj.frame, int(now * 1e9) + i * 1000, inj.ifname):
                if isinstance(r, PacketResult):
                    for e in r.emitted:
                        if e.kind != "arp":
                            res.our_frames.setdefault((i, e.oif), []).append(_masked(e.data, self._local))
        ents = sim.ct_table.entries(elapsed) if sim.ct_table is not None else []
        lines = [format_entry(c, elapsed) for c in ents]
        res.our_text = "\n".join(lines) + "\n"
        res.our_table = dict(table_key(x) for x in lines)
        # counters by rule position, filter and nat runtimes together
        sums: dict[tuple, int] = {}
        for rt in (sim.runtime, sim.nat_runtime):
            if rt is None:
                continue
            for key, c in rt.state.counters.items():
                sums[key[:4]] = sums.get(key[:4], 0) + c.packets
            if rt is sim.nat_runtime and sim.nat_runtime is sim.runtime:
                break
        for (fam, tname), t in rs.tables.items():
            for cname, ch in t.chains.items():
                for p, r in enumerate(ch.rules):
                    got = sums.get((fam, tname, cname, r.handle))
                    if got is not None or (fam, tname, cname, p) in res.kernel_counters:
                        res.our_counters[(fam, tname, cname, p)] = got or 0

    def run(self, sc: CtScenario) -> CtResult:
        res = CtResult(sc)
        elapsed = self.kernel(sc, res)
        try:
            self.ours(sc, res, elapsed)
        except Exception as e:      # noqa: BLE001 -- a crash is a disagreement
            import traceback
            res.problems.append("pkttables crashed: " + "".join(traceback.format_exception(e)))
            return res
        if res.kernel_frames != res.our_frames:
            keys = sorted(set(res.kernel_frames) | set(res.our_frames))
            bad = [k for k in keys if res.kernel_frames.get(k) != res.our_frames.get(k)]
            res.problems.append(f"frames differ at {bad}")
        if res.kernel_counters != res.our_counters:
            res.problems.append("counters differ")
        if set(res.kernel_table) != set(res.our_table):
            res.problems.append("conntrack tables differ")
        elif sc.timeouts:
            for k, kt in res.kernel_table.items():
                if abs(res.our_table[k] - kt) > 1:
                    res.problems.append(f"timeout {res.our_table[k]} vs kernel {kt} for {k}")
        if not res.problems and sc.check is not None:
            try:
                sc.check(res)
            except AssertionError as e:
                res.problems.append(f"check failed: {e}")
        return res
