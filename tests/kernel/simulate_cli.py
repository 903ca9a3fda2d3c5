"""Issue 7: kernel scenarios through the real ``pkt simulate`` command line.

This module holds what the test_simulate_*.py modules share:

* **an observation cache.**  The other differential modules (test_diff_*.py,
  test_ctnat_*.py) already run every scenario on the kernel.  Importing this module wraps
  ``DiffLab.kernel`` and ``CtNatLab.kernel``, so each kernel observation they make is
  also kept for the session.  The key is the scenario's content: the host file, the
  ruleset, and the injections with their delays.  The wrapper returns the same value
  and changes nothing for the caller.  pytest imports every test module before it runs
  any test, and it runs tests/kernel in file order, so test_ctnat_* and test_diff_*
  run before test_simulate_*.  When a scenario is not in the cache (a
  test_simulate_*.py module run alone), :class:`LazyLab` runs it on a kernel lab of
  its own;
* :func:`run_cli` writes ``host.toml``, ``r.nft`` and ``t.pcapng`` and runs
  ``pkt simulate --json J --out O --list --conntrack`` through
  ``pkttables.cli.main.main`` (the console script's entry point: the same argument
  parsing and file writing), or through the ``pkt`` console script itself
  (``console=True``);
* the comparisons with a kernel observation: :func:`diff_disagreements` for a
  ``DiffLab`` observation and :func:`ctnat_disagreements` for a ``CtNatLab`` one.

Everything is compared from what the CLI wrote: the ``--out`` frames, the ``--json``
lines, and the ``--list``/``--conntrack`` text.  Nothing comes from the Simulator's
objects.

(PYTEST_DONT_REWRITE: the LATE_MODULES load this module as a plugin too, after the other
test_simulate_* modules imported it.)
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from pkttables.capture import read_capture
from pkttables.cli.main import main
from pkttables.errors import HarnessError
from pkttables.stack.engine import mask_random
from pkttables.testing.differential import (TRAFFIC_EPOCH_NS, DiffLab, Scenario, _positions_kernel, _untag,
                                            host_toml)

# ------------------------------------------------------------------ the observation cache
#: content key -> (Observation, frames per injection) of a DiffLab run
DIFF_OBS: dict[str, tuple[Any, list]] = {}
#: content key -> nft's error, for the rulesets the kernel refused
REFUSED: dict[str, str] = {}
#: content key -> CtKernel of a CtNatLab run
CT_OBS: dict[str, "CtKernel"] = {}
#: test module basename -> [(Scenario, Observation, frames per injection)] in run order
BY_MODULE: dict[str, list[tuple[Scenario, Any, list]]] = {}
#: how many lookups were served from the cache, and how many ran the kernel here
STATS = {"cached": 0, "kernel": 0, "cli_runs": 0, "cli_seconds": 0.0}


def scenario_key(host, ruleset: str, traffic) -> str:
    h = hashlib.sha256()
    for part in (host_toml(host), ruleset):
        h.update(part.encode() + b"\0")
    for inj in traffic:
        h.update(f"{inj.ifname}\0{inj.delay!r}\0".encode() + bytes(inj.frame) + b"\0")
    return h.hexdigest()


def _current_module() -> str:
    cur = os.environ.get("PYTEST_CURRENT_TEST", "")
    return os.path.basename(cur.split("::")[0]).removesuffix(".py")


@dataclass
class CtKernel:
    """What a CtNatLab kernel run observed (ctnat_lab.CtResult's kernel side)."""

    frames: dict
    table: dict
    text: str
    counters: dict
    elapsed: float


def _install() -> None:
    if getattr(DiffLab.kernel, "_pktsm_recording", False):
        return
    original = DiffLab.kernel

    def kernel(self, scenario):
        key = scenario_key(self.host, scenario.ruleset, scenario.traffic)
        try:
            obs, per = original(self, scenario)
        except HarnessError as e:
            if "nft rejected" in str(e):
                REFUSED[key] = str(e)
            raise
        DIFF_OBS[key] = (obs, per)
        BY_MODULE.setdefault(_current_module(), []).append((scenario, obs, per))
        return obs, per

    kernel._pktsm_recording = True
    DiffLab.kernel = kernel
    try:
        from ctnat_lab import CtNatLab
    except ImportError:         # outside tests/kernel: no ctnat lab to record
        return
    ct_original = CtNatLab.kernel

    def ct_kernel(self, sc, res):
        elapsed = ct_original(self, sc, res)
        CT_OBS[scenario_key(self.host, sc.ruleset, sc.traffic)] = CtKernel(
            dict(res.kernel_frames), dict(res.kernel_table), res.kernel_text, dict(res.kernel_counters), elapsed)
        return elapsed

    CtNatLab.kernel = ct_kernel


_install()


# ------------------------------------------------------------------ KernelLab sessions
#: the modules whose KernelLab sessions are recorded (test_simulate_kernellab.py and
#: test_simulate_trace.py compare them through the CLI).  DiffLab and CtNatLab runs are
#: not recorded here: they have their own cache above.
RECORD_MODULES = {
    "test_chain_kernel", "test_checksums_vs_kernel", "test_conntrack_ftp_kernel", "test_conntrack_kernel",
    "test_conntrack_sctp_kernel", "test_nat_kernel", "test_packet_offsets", "test_stack_engine",
    "test_stack_ipopts_kernel", "test_usertools_policy_kernel", "test_trace_kernel",
}
#: the test_simulate_* modules that read those recordings: pytest runs them last
#: (:func:`pytest_collection_modifyitems`), after every module they read
LATE_MODULES = {"test_simulate_kernellab", "test_simulate_trace"}
#: read-only commands a test may run in the lab between injections
_READ_ONLY = (("nft", "list"), ("nft", "-j", "list"), ("nft", "-a", "list"), ("conntrack", "-L"))


@dataclass
class Step:
    """One thing a test did to a KernelLab: ``load`` (arg: the ruleset text), ``inject``
    (arg: the injections; ``first``: the lab-wide index of the first), ``exec`` (arg: the
    command) or ``observe`` (arg: the Observation)."""

    kind: str
    arg: Any
    first: int = 0
    conntrack: bool = False     # observe: the test read the conntrack table


@dataclass
class KSession:
    """Everything one test did with one KernelLab, in order."""

    module: str
    test: str
    host: Any
    steps: list[Step] = field(default_factory=list)
    refused: str = ""
    trace: list[str] | None = None      # `nft monitor trace` lines (test_trace_kernel)


#: module basename -> its recorded KernelLab sessions, in run order
KL_SESSIONS: dict[str, list[KSession]] = {}


def _current_test() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]


def _install_kernellab() -> None:
    """Wrap KernelLab's load/inject/exec/observe so the sessions of RECORD_MODULES are
    kept.  The wrappers return what the originals return; the lab behaves the same."""
    from pkttables.testing.kernel import KernelLab

    if getattr(KernelLab.inject, "_pktsn_recording", False):
        return
    orig = {n: getattr(KernelLab, n) for n in ("__enter__", "load", "inject", "exec", "observe")}

    def session(lab) -> KSession | None:
        return getattr(lab, "_pktsn_session", None)

    def enter(self):
        got = orig["__enter__"](self)
        mod = _current_module()
        if mod in RECORD_MODULES:
            self._pktsn_session = KSession(mod, _current_test(), self.host)
            self._pktsn_observing = False
            KL_SESSIONS.setdefault(mod, []).append(self._pktsn_session)
        return got

    def load(self, ruleset, **kw):
        s = session(self)
        try:
            got = orig["load"](self, ruleset, **kw)
        except HarnessError as e:
            if s is not None:
                s.refused = str(e)
            raise
        if s is not None:
            s.steps.append(Step("load", ruleset))
        return got

    def inject(self, injections):
        s = session(self)
        injections = list(injections)
        first = len(self._send_times)
        got = orig["inject"](self, injections)
        if s is not None:
            s.steps.append(Step("inject", injections, first))
        return got

    def exec_(self, cmd, **kw):
        s = session(self)
        if s is not None and not self._pktsn_observing:
            s.steps.append(Step("exec", cmd.split() if isinstance(cmd, str) else list(cmd)))
        return orig["exec"](self, cmd, **kw)

    def observe(self, **kw):
        s = session(self)
        if s is not None:
            self._pktsn_observing = True
        try:
            obs = orig["observe"](self, **kw)
        finally:
            if s is not None:
                self._pktsn_observing = False
        if s is not None:
            s.steps.append(Step("observe", obs, conntrack=kw.get("conntrack", True)))
        return obs

    for name, fn in (("__enter__", enter), ("load", load), ("inject", inject), ("exec", exec_),
                     ("observe", observe)):
        fn._pktsn_recording = True
        setattr(KernelLab, name, fn)


_install_kernellab()


def _record_trace(mod) -> None:
    """Wrap test_trace_kernel.kernel_trace (looked up by ``check`` at call time) so its
    lines are kept on the session the lab recorded."""
    fn = getattr(mod, "kernel_trace", None)
    if fn is None or getattr(fn, "_pktsn_recording", False):
        return

    def kernel_trace(host, ruleset, injections):
        lines = fn(host, ruleset, injections)
        mine = KL_SESSIONS.get("test_trace_kernel", [])
        if mine and mine[-1].trace is None:
            mine[-1].trace = list(lines)
        return lines

    kernel_trace._pktsn_recording = True
    mod.kernel_trace = kernel_trace


def pytest_collection_modifyitems(items):
    """(A plugin hook: the LATE_MODULES name this module in ``pytest_plugins``.)  Their
    tests run after every other test, so the sessions they read are recorded by then,
    whatever the file order (test_simulate_* sorts before test_stack_* and
    test_trace_kernel)."""
    import sys
    mod = sys.modules.get("test_trace_kernel")
    if mod is not None:
        _record_trace(mod)
    late = [i for i in items if getattr(getattr(i, "module", None), "__name__", "") in LATE_MODULES]
    if late:
        ids = {id(i) for i in late}
        items[:] = [i for i in items if id(i) not in ids] + late


@dataclass
class Segment:
    """A part of a session that one ``pkt simulate`` run can express: the loads, then
    traffic, ended by an observation.  ``why`` says why it cannot be expressed."""

    session: KSession
    ruleset: str
    traffic: list
    first: int                  # lab-wide index of traffic[0]
    obs: Any = None
    why: str = ""
    loads: int = 0
    conntrack: bool = False


def segments(s: KSession, *, unobserved: bool = False) -> list[Segment]:
    """The session cut at its observations.  A load that starts with ``flush ruleset``
    after an observation starts a new segment (nothing else carries over, unless
    conntrack held entries); a load in the middle of the traffic, or a command that
    changes the lab, makes the segment inexpressible."""
    out: list[Segment] = []
    cur = Segment(s, "", [], 0)
    ct_used = False
    for st in s.steps:
        if st.kind == "load":
            if cur.traffic or cur.obs is not None:
                if cur.obs is not None and st.arg.lstrip().startswith("flush ruleset") and not ct_used:
                    first = cur.first + len(cur.traffic)
                    cur = Segment(s, "", [], first)
                else:
                    cur.why = cur.why or "the ruleset is changed in the middle of the traffic"
            cur.ruleset += st.arg if st.arg.endswith("\n") else st.arg + "\n"
            cur.loads += 1
        elif st.kind == "inject":
            if not cur.traffic:
                cur.first = st.first
            cur.traffic += st.arg
        elif st.kind == "exec":
            if not any(tuple(st.arg[:len(p)]) == p for p in _READ_ONLY):
                cur.why = cur.why or f"the test changes the lab between injections ({' '.join(st.arg[:4])})"
        elif st.kind == "observe":
            ct_used = ct_used or bool(st.arg.conntrack)
            if cur.obs is not None and len(st.arg.send_errors) == cur.first + len(cur.traffic) and \
                    out and out[-1] is cur:
                continue        # observed again with nothing new
            cur.obs, cur.conntrack = st.arg, st.conntrack
            if not out or out[-1] is not cur:
                out.append(cur)
    if unobserved and cur.traffic and (not out or out[-1] is not cur):
        out.append(cur)         # traffic nobody read back (a trace run): obs stays None
    return out


class LazyLab:
    """A kernel lab built on first use only (``factory()`` -> a lab context manager):
    when every scenario comes from the cache, no namespace is created."""

    def __init__(self, factory: Callable[[], Any]):
        self.factory = factory
        self.lab = None

    def get(self):
        if self.lab is None:
            self.lab = self.factory()
            self.lab.__enter__()
        return self.lab

    def close(self) -> None:
        if self.lab is not None:
            self.lab.__exit__(None, None, None)
            self.lab = None


def diff_observation(lazy: LazyLab, scenario: Scenario):
    """The kernel's (Observation, frames per injection) of ``scenario``: from the cache,
    or run on ``lazy``'s DiffLab (whose host must be the scenario's).  Raises
    HarnessError ("nft rejected ...") when the kernel refuses the ruleset."""
    key = scenario_key(scenario.host, scenario.ruleset, scenario.traffic)
    got = DIFF_OBS.get(key)
    if got is not None:
        STATS["cached"] += 1
        return got
    if key in REFUSED:
        STATS["cached"] += 1
        raise HarnessError(REFUSED[key])
    STATS["kernel"] += 1
    return lazy.get().kernel(scenario)


def ct_observation(lazy: LazyLab, host, sc) -> CtKernel:
    """The kernel side of a CtNatLab run of ``sc`` on ``host`` (the lab's quiet host):
    from the cache, or run on ``lazy``'s CtNatLab."""
    key = scenario_key(host, sc.ruleset, sc.traffic)
    got = CT_OBS.get(key)
    if got is not None:
        STATS["cached"] += 1
        return got
    from ctnat_lab import CtResult
    STATS["kernel"] += 1
    lazy.get().kernel(sc, CtResult(sc))        # the wrapper records it
    return CT_OBS[key]


# ------------------------------------------------------------------ running the CLI
@dataclass
class CliRun:
    rc: int
    lines: list[dict]
    frames: list
    stdout: str
    stderr: str
    listing: str = ""
    conntrack: list[str] = field(default_factory=list)


def write_traffic_ns(path, traffic, times_ns: list[int]) -> None:
    """The injections as a pcapng (``local`` as LINKTYPE_RAW), each at its own time."""
    from pkttables.capture import LinkType, PcapngWriter
    with PcapngWriter(str(path)) as w:
        ids: dict[str, int] = {}
        for inj, t in zip(traffic, times_ns):
            if inj.ifname not in ids:
                ids[inj.ifname] = w.add_interface(
                    inj.ifname, LinkType.RAW if inj.ifname == "local" else LinkType.ETHERNET)
            w.write(ids[inj.ifname], inj.frame, t)


def diff_times(traffic) -> list[int]:
    """The clock of differential.run_pkttables: the sum of the delays so far."""
    out, now = [], TRAFFIC_EPOCH_NS
    for inj in traffic:
        now += round(inj.delay * 1e9)
        out.append(now)
    return out


def ct_times(traffic) -> list[int]:
    """The clock of ctnat_lab.CtNatLab.ours: ``int(now * 1e9) + i * 1000`` (a µs apart)."""
    out, now = [], 0.0
    for i, inj in enumerate(traffic):
        now += inj.delay
        out.append(TRAFFIC_EPOCH_NS + int(now * 1e9) + i * 1000)
    return out


def split_output(stdout: str) -> tuple[str, list[str]]:
    """``--list --conntrack`` stdout -> (the listing, the conntrack lines).  The listing
    is whole tables (its last line is ``}``); the conntrack lines come after it."""
    lines = stdout.splitlines(keepends=True)
    last = max((i for i, x in enumerate(lines) if x.rstrip("\n") == "}"), default=-1)
    return "".join(lines[:last + 1]), [x.rstrip("\n") for x in lines[last + 1:] if x.strip()]


def run_cli(workdir, host, ruleset: str, traffic, times_ns: list[int], *, console: bool = False,
            flags: tuple[str, ...] = ("--list", "--conntrack")) -> CliRun:
    """``pkt simulate --ruleset R --host H --traffic T --json J --out O --list --conntrack``
    in ``workdir``; in-process through ``pkttables.cli.main.main`` or, with ``console``,
    through the ``pkt`` console script.  ``flags`` replaces ``--list --conntrack``."""
    rules, hostf, tr = workdir / "r.nft", workdir / "host.toml", workdir / "t.pcapng"
    js, out = workdir / "o.jsonl", workdir / "out.pcapng"
    for p in (js, out):
        if p.exists():
            p.unlink()
    rules.write_text(ruleset)
    hostf.write_text(host_toml(host))
    write_traffic_ns(tr, traffic, times_ns)
    argv = ["simulate", "--ruleset", str(rules), "--host", str(hostf), "--traffic", str(tr),
            "--json", str(js), "--out", str(out), *flags]
    t0 = time.perf_counter()
    if console:
        p = subprocess.run(["pkt", *argv], capture_output=True, text=True, timeout=120)
        rc, so, se = p.returncode, p.stdout, p.stderr
    else:
        o, e = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            rc = main(argv)
        so, se = o.getvalue(), e.getvalue()
    STATS["cli_runs"] += 1
    STATS["cli_seconds"] += time.perf_counter() - t0
    lines = [json.loads(x) for x in js.read_text().splitlines()] if js.exists() else []
    frames = list(read_capture(str(out))) if out.exists() else []
    listing, ct = split_output(so)
    return CliRun(rc, lines, frames, so, se, listing, ct)


# ------------------------------------------------------------------ reading the CLI's output
_COUNTER = re.compile(r"\bcounter packets (\d+) bytes (\d+)")
_UNITS = {"bytes": 1, "kbytes": 1024, "mbytes": 1024 ** 2, "gbytes": 1024 ** 3}


def listing_counters(text: str) -> dict[tuple, list[tuple[int, int]]]:
    """(family, table, chain, rule position) -> the rule's anonymous counters, from an
    ``nft list ruleset``-style text (tables and chains one tab deeper each, rules two)."""
    out: dict[tuple, list[tuple[int, int]]] = {}
    table = chain = None
    pos = 0
    for line in text.splitlines():
        if line.startswith("table "):
            table, chain = tuple(line.split()[1:3]), None
        elif line.startswith("\tchain ") and table:
            chain, pos = line.split()[1], 0
        elif line.startswith("\t}"):
            chain = None
        elif chain and line.startswith("\t\t") and not line.startswith("\t\t\t"):
            body = line.strip()
            if body.startswith(("type ", "policy ", "comment ", "devices ")):
                continue
            counts = [(int(p), int(b)) for p, b in _COUNTER.findall(body)]
            if counts:
                out[table + (chain, pos)] = counts
            pos += 1
    return out


def listing_objects(text: str) -> dict[tuple, tuple[int, int]]:
    """(kind, family, table, name) -> (packets, bytes) of the named counters and quotas in
    an ``nft list ruleset`` text; for a quota (0, bytes used), as _readback.named_objects."""
    out: dict[tuple, tuple[int, int]] = {}
    table = None
    obj = None
    for line in text.splitlines():
        if line.startswith("table "):
            table, obj = tuple(line.split()[1:3]), None
        elif table and re.match(r"\t(counter|quota) \S+ \{", line):
            kind, name = line.split()[:2]
            obj = (kind, table[0], table[1], name)
            out[obj] = (0, 0)
        elif obj and line.startswith("\t\t"):
            w = line.split()
            if obj[0] == "counter" and w[:1] == ["packets"]:
                out[obj] = (int(w[1]), int(w[3]))
            elif obj[0] == "quota" and w[:1] != ["comment"]:
                used = w.index("used") if "used" in w else -1
                out[obj] = (0, int(w[used + 1]) * _UNITS[w[used + 2]] if used >= 0 else 0)
        elif line.startswith("\t}"):
            obj = None
    return out


def kernel_counters(ruleset_json: dict) -> dict[tuple, list[tuple[int, int]]]:
    """(family, table, chain, rule position) -> the rule's anonymous counters in ``nft -j``
    output.  ``counter name <map>`` is ``{"counter": {"map": ...}}`` there, with no
    packets: an object reference, not a counter (the listing prints no values for it)."""
    kpos = _positions_kernel(ruleset_json)
    out: dict[tuple, list[tuple[int, int]]] = {}
    for item in ruleset_json.get("nftables", []):
        r = item.get("rule")
        if not r:
            continue
        counts = [(int(e["counter"]["packets"]), int(e["counter"]["bytes"])) for e in r.get("expr", [])
                  if isinstance(e, dict) and isinstance(e.get("counter"), dict) and "packets" in e["counter"]]
        if counts:
            out[(r["family"], r["table"], r["chain"], kpos[(r["family"], r["table"], r["chain"],
                                                            int(r["handle"]))][0])] = counts
    return out


def _local(host) -> set[bytes]:
    local = {a.ip.packed for i in host.interfaces.values() for a in i.addresses}
    for b in host.bridges.values():
        local |= {a.ip.packed for a in b.addresses}
    return local


def _owners(lines: list[dict]) -> tuple[dict[int, tuple], list[dict]]:
    """--out frame index -> (input packet index or the last one before a timer, oif,
    kind); and the packet lines."""
    owner: dict[int, tuple] = {}
    packets = []
    last = None
    for x in lines:
        if x["type"] == "packet":
            packets.append(x)
            last = x["index"]
        if x["type"] not in ("packet", "timer"):
            continue
        for e in x["emitted"]:
            owner[e["index"]] = (x["index"] if x["type"] == "packet" else last, e["oif"], e.get("kind"))
    return owner, packets


def _check_run(run: CliRun, n: int, problems: list[str]) -> tuple[dict, list[dict]]:
    if run.rc != 0:
        problems.append(f"pkt simulate exited {run.rc}: {run.stderr.strip()}")
        return {}, []
    if not run.lines or run.lines[0]["type"] != "header" or run.lines[-1]["type"] != "end":
        problems.append("--json has no header/end line")
    owner, packets = _owners(run.lines)
    if len(packets) != n:
        problems.append(f"{len(packets)} packet lines for {n} injections")
    if len(owner) != len(run.frames):
        problems.append(f"--json names {len(owner)} emitted frames, --out holds {len(run.frames)}")
    return owner, packets


def diff_disagreements(sc: Scenario, obs, per, run: CliRun, *, counters: bool = True,
                       objects: bool = True) -> list[str]:
    """Where the CLI's output differs from a DiffLab observation (as differential.compare
    compares: frames per packet and interface after _untag and mask_random, send errors,
    rule counters by position one by one, named counters and quotas)."""
    problems: list[str] = []
    owner, packets = _check_run(run, len(sc.traffic), problems)
    if run.rc != 0:
        return problems
    local = _local(sc.host)
    mine: dict[tuple, list[bytes]] = {}
    for k, rec in enumerate(run.frames):
        pkt, oif, _kind = owner.get(k, (None, rec.ifname, None))
        if rec.ifname != oif:
            problems.append(f"--out frame {k} on {rec.ifname}, --json says {oif}")
        mine.setdefault((pkt, oif), []).append(mask_random(_untag(rec.data), local))
    theirs: dict[tuple, list[bytes]] = {}
    for i, es in enumerate(per):
        for e in es:
            theirs.setdefault((i, e.ifname), []).append(mask_random(_untag(e.frame), local))
    for key in sorted(set(mine) | set(theirs), key=repr):
        a, b = theirs.get(key, []), mine.get(key, [])
        if a != b:
            problems.append(f"packet {key[0]} on {key[1]}: kernel {[f.hex() for f in a]}\n"
                            f"    simulate {[f.hex() for f in b]}")
    for i, (inj, p) in enumerate(zip(sc.traffic, packets)):
        if inj.ifname == "local":
            k_err = obs.send_errors[i] if i < len(obs.send_errors) else None
            if k_err != p.get("send_error"):
                problems.append(f"packet {i}: send error kernel {k_err}, simulate {p.get('send_error')}")
    if counters:
        kc, oc = kernel_counters(obs.ruleset_json), listing_counters(run.listing)
        for key in sorted(set(kc) | set(oc), key=repr):
            if kc.get(key) != oc.get(key):
                problems.append(f"counters of rule {key}: kernel {kc.get(key)}, simulate {oc.get(key)}")
    if objects:
        ko = {k: (c.packets, c.bytes) for k, c in obs.objects.items()}
        oo = listing_objects(run.listing)
        for key in sorted(set(ko) | set(oo), key=repr):
            if ko.get(key) != oo.get(key):
                problems.append(f"{' '.join(key)}: kernel {ko.get(key)}, simulate {oo.get(key)}")
    return problems


def ctnat_disagreements(sc, kern: CtKernel, host, run: CliRun, times_ns: list[int]) -> list[str]:
    """Where the CLI's output differs from a CtNatLab kernel observation (as
    CtNatLab.run compares: frames per injection and interface masked by ctnat_lab._masked,
    ARP left out; packets of each rule's counters by position; the conntrack table's
    keys, and its timeouts within a second when ``sc.timeouts``)."""
    from ctnat_lab import _masked, table_key
    problems: list[str] = []
    owner, _packets = _check_run(run, len(sc.traffic), problems)
    if run.rc != 0:
        return problems
    local = _local(host)
    mine: dict[tuple, list[bytes]] = {}
    for k, rec in enumerate(run.frames):
        pkt, oif, kind = owner.get(k, (None, rec.ifname, None))
        if kind == "arp":
            continue
        mine.setdefault((pkt, oif), []).append(_masked(rec.data, local))
    if mine != kern.frames:
        bad = [k for k in sorted(set(mine) | set(kern.frames), key=repr) if mine.get(k) != kern.frames.get(k)]
        problems.append(f"frames differ at {bad}")
    oc = {k: sum(p for p, _ in v) for k, v in listing_counters(run.listing).items()}
    if oc != kern.counters:
        problems.append(f"counters: kernel {kern.counters}, simulate {oc}")
    ours = {}
    for line in run.conntrack:
        k, t = table_key(line)
        ours[k] = t
    if set(ours) != set(kern.table):
        problems.append("conntrack tables differ:\n  kernel:\n" + kern.text + "  simulate:\n"
                        + "\n".join(run.conntrack))
    elif sc.timeouts:
        # the CLI prints the table at its last packet; the kernel was read `elapsed` after
        # the first injection: shift ours by the difference
        lag = kern.elapsed - (times_ns[-1] - TRAFFIC_EPOCH_NS) / 1e9 if times_ns else 0.0
        for k, kt in kern.table.items():
            if abs(ours[k] - lag - kt) > 1:
                problems.append(f"timeout {ours[k]} (at the last packet; lag {lag:.2f} s) vs kernel {kt} for {k}")
    return problems


def report(name: str, problems: list[str]) -> str:
    return f"{name}:\n  " + "\n  ".join(problems)


def _ct_keys(lines) -> dict:
    from ctnat_lab import _strip_l3, table_key
    out = {}
    for line in lines:
        if line.strip():
            k, t = table_key(_strip_l3(line))
            out[k] = t
    return out


def segment_disagreements(seg: Segment, run: CliRun, *, mask=None) -> list[str]:
    """Where the CLI's output differs from a recorded KernelLab segment: the frames per
    (packet, interface) after ``_untag`` and ``mask`` (default ``mask_random`` with the
    host's addresses), the send errors of local packets, every rule's anonymous counters
    by position, the named counters and quotas, and -- when the test read it -- the
    conntrack table (ctnat_lab.table_key: tuples, state, ASSURED/UNREPLIED, mark, zone,
    helper; timeouts are not compared, the kernel's clock ran on between inject calls)."""
    obs, n = seg.obs, len(seg.traffic)
    problems: list[str] = []
    owner, packets = _check_run(run, n, problems)
    if run.rc != 0:
        return problems
    local = _local(seg.session.host)
    masked = mask or (lambda f: mask_random(f, local))
    mine: dict[tuple, list[bytes]] = {}
    for k, rec in enumerate(run.frames):
        pkt, oif, _kind = owner.get(k, (None, rec.ifname, None))
        mine.setdefault((pkt, oif), []).append(masked(_untag(rec.data)))
    theirs: dict[tuple, list[bytes]] = {}
    for e in obs.emitted:
        i = e.after_injection - seg.first
        if 0 <= i < n:
            theirs.setdefault((i, e.ifname), []).append(masked(_untag(e.frame)))
    for key in sorted(set(mine) | set(theirs), key=repr):
        a, b = theirs.get(key, []), mine.get(key, [])
        if a != b:
            problems.append(f"packet {key[0]} on {key[1]}: kernel {[f.hex() for f in a]}\n"
                            f"    simulate {[f.hex() for f in b]}")
    for i, (inj, p) in enumerate(zip(seg.traffic, packets)):
        if inj.ifname == "local":
            j = seg.first + i
            k_err = obs.send_errors[j] if j < len(obs.send_errors) else None
            if k_err != p.get("send_error"):
                problems.append(f"packet {i}: send error kernel {k_err}, simulate {p.get('send_error')}")
    kc, oc = kernel_counters(obs.ruleset_json), listing_counters(run.listing)
    for key in sorted(set(kc) | set(oc), key=repr):
        if kc.get(key) != oc.get(key):
            problems.append(f"counters of rule {key}: kernel {kc.get(key)}, simulate {oc.get(key)}")
    ko = {k: (c.packets, c.bytes) for k, c in obs.objects.items()}
    oo = listing_objects(run.listing)
    for key in sorted(set(ko) | set(oo), key=repr):
        if ko.get(key) != oo.get(key):
            problems.append(f"{' '.join(key)}: kernel {ko.get(key)}, simulate {oo.get(key)}")
    if seg.conntrack:
        kt, ot = _ct_keys(obs.conntrack_text.splitlines()), _ct_keys(run.conntrack)
        if set(kt) != set(ot):
            problems.append("conntrack tables differ:\n  kernel:\n" + obs.conntrack_text + "  simulate:\n"
                            + "\n".join(run.conntrack))
    return problems
