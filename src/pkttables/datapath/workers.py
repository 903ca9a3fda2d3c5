"""``pkt simulate --workers N``: a capture replayed by N processes, merged in input order.

Theory of operation
-------------------
A replay is a sequence of independent-looking packets, but a connection is not: its
conntrack entry, NAT binding and TCP window live in one process, so every packet of a
connection must go to the same worker, in order.  This is receive-side scaling (RSS)
with a *symmetric* hash: the same key for both directions.

**Keys** (:func:`flow_key`).  TCP, UDP, UDP-Lite and SCTP hash the unordered pair of
(address, port) endpoints, ICMP/ICMPv6 echo the pair of addresses and the echo id, other
protocols the pair of addresses.  An ICMP error is hashed as the packet it quotes (the
inner header, which is the flow in the direction the error's receiver sent it), so it
lands on the worker that holds the connection it is RELATED to.  A non-first IPv4/IPv6
fragment (offset != 0) has no ports: it is hashed by its addresses only (it has no
conntrack entry here -- see conntrack/_table.py -- so it needs no state).  ARP and
neighbour discovery (ICMPv6 133-137) go to worker 0: they teach the neighbour table.

With NAT the addresses of a connection's two directions differ (masquerade: the reply
goes to the router's address; DNAT: it comes from the inside server), so when the
ruleset has ``type nat`` chains the key leaves the addresses out and hashes the
protocol and the unordered port pair (the echo id for ICMP).  That is invariant as
long as NAT keeps the ports, which masquerade and snat do unless two connections clash
on a port, and a DNAT without a port does always.  A translation that changes a port
is seen at run time and reported as a warning (the reply may reach another worker).

**Streaming.**  The parent reads the capture and cuts it into batches of ``BATCH``
records.  Every worker gets every batch: the records it owns in full, the others as
their timestamp only (a *tick*), so each worker runs its timers (neighbour retries,
conntrack expiry) at exactly the times one process would.  At most ``WINDOW`` batches are
in flight; before sending batch b the parent merges batch b - WINDOW, so the queues
(bounded, ``multiprocessing`` with the ``fork`` start method) never fill up while the
parent waits: memory does not grow with the capture.

**Merging.**  A worker serialises its own outcome lines (JSON) and frames; only the
position of each frame in ``--out`` (``emitted[].index``) depends on the other workers,
so the worker cuts each JSON line around its ``emitted`` list and the parent puts the
running indices in.  For each input index the parent writes the timers of every worker
(neighbour timers by due time; conntrack expiry events of all workers in one line, by
(expiry time, index of the packet that created the entry), as the single table's heap
orders them), then the packet.  Random fields come from generators re-seeded per packet
(``replay.PacketRandom``), so they do not depend on the sharding.

**When N workers differ from one**: state shared across connections.  ``limit``,
``quota``, ``ct count`` (connlimit), ``numgen inc``, ``last`` and sets filled by the
packet path (``add/update @set``, meters) are per worker: the ruleset is scanned and
each is named in a warning (header ``warnings``).  Rule counters, named counters and
the counters of set elements are sums and are merged exactly (``--list``,
datapath.listing.merge_worker_states); set elements are the union of the workers'.  Neighbours learned from ARP/NDISC are known to
worker 0 only (static neighbours of the host file are everywhere): a worker other than
0 that must resolve a neighbour warns.  The ICMP rate limits (global credit, per-peer
buckets) are per worker.  NAT port allocation differs only when connections clash.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import json
import multiprocessing
import os
import queue
import secrets
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from pkttables.datapath.replay import TimerResult
from pkttables.errors import PktError

__all__ = ["flow_key", "shared_state", "WorkerOptions", "WorkerReplay", "BATCH", "WINDOW",
           "run_workers_bench"]

#: records per batch: large enough that pickling and pipe costs are per batch, small
#: enough that a worker's result arrives soon (measured: 256..2048 give the same rate)
BATCH = 512
#: batches in flight per worker (bounds memory: WINDOW * BATCH records per queue)
WINDOW = 4

_ETH_P_IP, _ETH_P_IPV6, _ETH_P_ARP = 0x0800, 0x86DD, 0x0806
_PORTS = (6, 17, 132, 136)
_ICMP_ECHO = (0, 8, 13, 14, 15, 16, 17, 18)
_ICMP_ERR = (3, 4, 5, 11, 12)
_ICMP6_ECHO = (128, 129)
_ICMP6_ERR = (1, 2, 3, 4)
_ICMP6_ND = (133, 134, 135, 136, 137)
_V6_EXT = (0, 43, 60, 51)


# ------------------------------------------------------------------ keys
def _sym(proto: int, a: bytes, b: bytes) -> int:
    return zlib.crc32(bytes((proto,)) + (a + b if a <= b else b + a))


def _l3_key(buf: bytes, off: int, ports_only: bool, depth: int = 0) -> int | None:
    """The key of an IPv4/IPv6 packet at ``off``; None: worker 0 (neighbour discovery,
    unparseable)."""
    n = len(buf)
    if n < off + 1:
        return None
    ver = buf[off] >> 4
    if ver == 4:
        if n < off + 20:
            return None
        th = off + (buf[off] & 0xF) * 4
        proto = buf[off + 9]
        src, dst = buf[off + 12:off + 16], buf[off + 16:off + 20]
        if (buf[off + 6] << 8 | buf[off + 7]) & 0x1FFF:
            return _sym(proto, src, dst)              # non-first fragment: addresses only
        echo, err = _ICMP_ECHO, _ICMP_ERR
        icmp = 1
    elif ver == 6:
        if n < off + 40:
            return None
        src, dst = buf[off + 8:off + 24], buf[off + 24:off + 40]
        proto, th = buf[off + 6], off + 40
        # ipv6_skip_exthdr(): hop-by-hop, routing, destination options, AH, fragment
        while proto in _V6_EXT or proto == 44:
            if n < th + 8:
                return _sym(proto, src, dst)
            if proto == 44:
                if (buf[th + 2] << 8 | buf[th + 3]) & 0xFFF8:
                    return _sym(buf[th], src, dst)    # non-first fragment
                proto, th = buf[th], th + 8
                continue
            ln = (buf[th + 1] + 2) * 4 if proto == 51 else (buf[th + 1] + 1) * 8
            proto, th = buf[th], th + ln
        echo, err = _ICMP6_ECHO, _ICMP6_ERR
        icmp = 58
        if proto == 58 and n > th and buf[th] in _ICMP6_ND:
            return None
    else:
        return None
    if proto in _PORTS and n >= th + 4:
        if ports_only:
            return _sym(proto, buf[th:th + 2], buf[th + 2:th + 4])
        return _sym(proto, src + buf[th:th + 2], dst + buf[th + 2:th + 4])
    if proto == icmp and n >= th + 8:
        t = buf[th]
        if t in echo:
            ident = buf[th + 4:th + 6]
            return _sym(proto, ident, ident) if ports_only else _sym(proto, src + ident, dst + ident)
        if t in err and depth == 0:
            inner = _l3_key(buf, th + 8, ports_only, 1)   # the quoted packet's flow
            if inner is not None:
                return inner
    return _sym(proto, b"", b"") if ports_only else _sym(proto, src, dst)


def flow_key(frame: bytes, *, l3: bool = False, ports_only: bool = False) -> int | None:
    """A symmetric hash of the frame's connection (see the module docstring): equal for
    both directions and for ICMP errors about the connection.  ``l3``: the frame starts
    at the IP header (``local`` packets).  ``ports_only``: leave addresses out (NAT).
    None for frames that belong to worker 0 (ARP, neighbour discovery, non-IP)."""
    off = 0
    if not l3:
        if len(frame) < 14:
            return None
        et = frame[12] << 8 | frame[13]
        off = 14
        while et in (0x8100, 0x88A8) and len(frame) >= off + 4:
            et, off = frame[off + 2] << 8 | frame[off + 3], off + 4
        if et not in (_ETH_P_IP, _ETH_P_IPV6):
            return None
    return _l3_key(frame, off, ports_only)


# ------------------------------------------------------------------ shared state
_SHARED = {"limit": "limit", "quota": "quota", "connlimit": "ct count (connlimit)",
           "last": "last", "dynset": "a set filled by the packet path (add/update @set, meter)"}


def shared_state(runtime: Any) -> list[str]:
    """Statements whose state is shared by every connection and so is per worker with
    ``--workers``: one line per rule ("limit in inet filter input handle 9")."""
    loaded = getattr(runtime, "loaded", None)
    out: list[str] = []
    if loaded is None:
        return out
    for chain in loaded.chains.values():
        for r in chain.rules:
            seen = []
            for ins in r.instrs:
                name = getattr(ins, "name", "")
                what = _SHARED.get(name)
                if name == "numgen" and int(getattr(ins, "type", 1)) == 0:
                    what = "numgen inc"
                if name == "objref" and getattr(ins, "type", None) is not None and int(ins.type) in (2, 4):
                    what = "a named quota/limit"   # NFT_OBJECT_QUOTA 2, NFT_OBJECT_LIMIT 4
                if what and what not in seen:
                    seen.append(what)
            for what in seen:
                out.append(f"{what} in {r.family} {r.table} {r.chain} handle {r.handle}")
    return out


# ------------------------------------------------------------------ worker side
@dataclass(slots=True)
class WorkerOptions:
    """What the parent wants back: JSON lines, frames, trace lines, and the final
    counters / conntrack table."""
    json: bool = True
    frames: bool = True
    trace: bool = False
    counters: bool = False
    conntrack: bool = False


def _split_line(obj: dict, marker: str) -> tuple[str, str]:
    obj["emitted"] = marker
    line = json.dumps(obj, separators=(", ", ": "))
    pre, post = line.split(json.dumps(marker), 1)
    return pre, post


def _emitted_meta(ems) -> tuple:
    # '{"oif": "lan0", "index": ' N ', "kind": "packet", "len": 60}' -- as json.dumps
    return tuple(('{"oif": ' + json.dumps(e.oif) + ', "index": ',
                  ', "kind": ' + json.dumps(e.kind) + ', "len": ' + str(len(e.data)) + "}") for e in ems)


class _Worker:
    """Runs in the child: a forked copy of the parent's Simulator."""

    def __init__(self, sim, wid: int, opts: WorkerOptions, marker: str):
        self.sim = sim
        self.wid = wid
        self.opts = opts
        self.marker = marker
        self.created: dict[int, tuple[int, Any]] = {}    # conn id -> (index that created it, conn)
        self.ct_keys: list[tuple] = []
        self.n_learned = 0
        self.known_learned: set = set()
        self.warned_nat = 0
        if sim.ct_table is not None:
            inner = sim.ct_table.on_event

            def on_event(ev, _inner=inner):
                if getattr(ev.type, "value", None) == "DESTROY":
                    idx, conn = self.created.pop(ev.conn_id, (1 << 62, None))
                    self.ct_keys.append((getattr(conn, "expires", 0.0), idx, ev.conn_id))
                _inner(ev)

            sim.ct_table.on_event = on_event

    def _frames(self, ems) -> tuple:
        return tuple((e.oif, e.data, e.time_ns) for e in ems) if self.opts.frames else ()

    def _timer_entries(self, k: int, ts: int, out: list) -> None:
        sim = self.sim
        if sim.last_ns is not None and ts < sim.last_ns:
            ts = sim.last_ns
        for tr in sim._neigh_timers(ts):
            pre, post = _split_line(tr.to_json(), self.marker) if self.opts.json else ("", "")
            out.append(("n", k, tr.time_ns, pre, post, _emitted_meta(tr.emitted), self._frames(tr.emitted), tr))
        self.ct_keys = []
        ct = sim._ct_timer(ts)
        if ct is not None:
            out.append(("c", k, ct.time_ns, list(zip(self.ct_keys, ct.events))))
        sim.last_ns = ts if sim.last_ns is None or ts > sim.last_ns else sim.last_ns

    def batch(self, start: int, items: list) -> list:
        out: list = []
        sim = self.sim
        for k, item in enumerate(items, start):
            if type(item) is int:
                self._timer_entries(k, item, out)
                continue
            ts, dev, link, data = item
            # the timers before the packet, then the packet without its own timer run
            self._timer_entries(k, ts, out)
            try:
                results = list(sim.process(data, ts, dev, k, link))
            except PktError as e:
                out.append(("e", k, [d.message for d in e.diagnostics]))
                return out
            for res in results:
                if not hasattr(res, "verdict"):
                    continue   # no timers are due any more: they ran just above
                self._packet_entry(k, res, out)
        return out

    def _packet_entry(self, k: int, res, out: list) -> None:
        sim = self.sim
        rec = sim._rec
        if rec.ct is not None and rec.ct[0] is not None and getattr(rec.ct[0], "confirmed", False):
            self.created.setdefault(rec.ct[0].id, (k, rec.ct[0]))
        warn = None
        # neighbour resolution is host state: report who resolved (and, worker 0, who
        # learned from ARP/NDISC) which neighbour; the parent warns when two workers meet
        neigh = tuple(("incomplete", ev["args"][1], ev["args"][2]) for ev in res.events
                      if ev.get("type") == "neigh" and ev.get("args", [None])[0] == "incomplete")
        learned = sim.engine.learned
        if len(learned) != self.n_learned:
            known = self.known_learned
            neigh += tuple(("learned", dev, str(ipaddress.ip_address(addr)))
                           for addr, dev in learned if (addr, dev) not in known)
            known.update(learned)
            self.n_learned = len(learned)
        if res.nat is not None and (res.nat[0].sport, res.nat[0].dport) != (res.nat[1].sport, res.nat[1].dport):
            self.warned_nat += 1
            if self.warned_nat == 1:
                warn = (f"packet {k}: NAT changed a port ({res.nat[0]} -> {res.nat[1]}): the connection's "
                        "replies may be hashed to another worker, so results can differ from --workers 1")
        pre, post = _split_line(res.to_json(), self.marker) if self.opts.json else ("", "")
        traces = tuple(ev["line"] for ev in res.events if ev.get("type") == "trace") if self.opts.trace else ()
        out.append(("p", k, pre, post, _emitted_meta(res.emitted), self._frames(res.emitted), res, traces, warn,
                    neigh))
        # ("p", k, json before "emitted", json after it, emitted parts, frames, result, traces, warning)

    def final(self) -> dict:
        sim = self.sim
        d: dict[str, Any] = {}
        if self.opts.counters:
            counters: dict = {}
            for rt in (sim.runtime, sim.nat_runtime):
                state = getattr(rt, "state", None)
                if state is not None and hasattr(state, "rule_counters"):
                    for key, c in state.rule_counters().items():
                        counters[key] = (c.packets, c.bytes)
            d["counters"] = counters
            from pkttables.datapath.listing import worker_state
            d["state"] = worker_state([rt for rt in (sim.runtime, sim.nat_runtime) if rt is not None],
                                      (sim.last_ns or 0) / 1e9 if sim.last_ns is not None else None)
        if self.opts.conntrack and sim.ct_table is not None:
            from pkttables.conntrack import format_entry
            now = (sim.last_ns or 0) / 1e9
            ents = []
            for c in sim.conntrack_entries():
                idx = self.created.get(c.id, (1 << 62, None))[0]
                ents.append(((idx, c.id), format_entry(c, now), c.state_name or "-"))
            d["conntrack"] = ents
        d["last_ns"] = sim.last_ns
        return d


def _child(sim, wid: int, opts: WorkerOptions, marker: str, inq, outq) -> None:
    w = _Worker(sim, wid, opts, marker)
    from pkttables.datapath.summary import Summary
    summary = Summary()
    order = _FirstSeen()
    try:
        while True:
            msg = inq.get()
            if msg is None:
                break
            start, items = msg
            entries = w.batch(start, items)
            slim = []
            for e in entries:
                # the result objects feed this worker's summary; only text and frames travel
                if e[0] == "p":
                    order.add(summary, e[6], e[1])
                    e = e[:6] + (e[6].verdict,) + e[7:]
                elif e[0] == "n":
                    order.add(summary, e[7], e[1])
                    e = e[:7]
                slim.append(e)
            outq.put(slim)
            if slim and slim[-1][0] == "e":
                return     # the parent stops at the error and ends the workers
        fin = w.final()
        fin["summary"] = summary
        fin["first"] = order.prune(summary)
        outq.put(("final", fin))
    except BaseException as e:   # the parent must hear about it, not wait forever
        outq.put(("crash", f"worker {wid}: {type(e).__name__}: {e}"))


class _FirstSeen:
    """The input index at which each key of a worker's Summary first appeared, so the
    merged Summary lists keys (and breaks ties) in the order one process would."""

    NAMES = ("verdicts", "rules", "policies", "ct_states", "emitted", "emitted_kinds")
    SKETCHES = ("dropped_flows", "drop_reasons", "nat")

    def __init__(self) -> None:
        self.first: dict[tuple[str, Any], int] = {}

    def add(self, summary, res, k: int) -> None:
        dicts = [(n, getattr(summary, n)) for n in self.NAMES] + \
                [(n, getattr(summary, n).counts) for n in self.SKETCHES]
        before = [(len(d), next(reversed(d)) if d else None) for _, d in dicts]
        summary.add(res)
        first = self.first
        for (name, d), (n0, last0) in zip(dicts, before):
            if d and (len(d) != n0 or next(reversed(d)) != last0):
                # new keys are appended at the end of a dict
                for key in reversed(d):
                    if key == last0 and (name, key) in first:
                        break
                    first.setdefault((name, key), k)
        if len(first) > 16384:
            self.prune(summary)

    def prune(self, summary) -> dict:
        keep = {(n, k) for n in self.NAMES for k in getattr(summary, n)}
        keep |= {(n, k) for n in self.SKETCHES for k in getattr(summary, n).counts}
        self.first = {nk: i for nk, i in self.first.items() if nk in keep}
        return self.first


# ------------------------------------------------------------------ parent side
class _Count:
    __slots__ = ("packets", "bytes")

    def __init__(self, packets: int, nbytes: int):
        self.packets, self.bytes = packets, nbytes


def _merge_spacesaving(dst, src) -> None:
    """Merge two Space-Saving sketches (Agarwal et al., "Mergeable summaries", PODS 2012):
    counts add; a key missing from one sketch may have had up to that sketch's smallest
    count there, which goes into its error bound; the largest ``capacity`` are kept."""
    floor_d = min(dst.counts.values()) if len(dst.counts) >= dst.capacity else 0
    floor_s = min(src.counts.values()) if len(src.counts) >= src.capacity else 0
    counts, errors = {}, {}
    for key in list(dst.counts) + [k for k in src.counts if k not in dst.counts]:
        c = dst.counts.get(key, floor_d) + src.counts.get(key, floor_s)
        e = dst.errors.get(key, floor_d) + src.errors.get(key, floor_s)
        counts[key], errors[key] = c, e
    keep = sorted(counts, key=lambda k: -counts[k])[:dst.capacity]
    order = {k: i for i, k in enumerate(counts)}
    keep.sort(key=lambda k: order[k])
    dst.counts = {k: counts[k] for k in keep}
    dst.errors = {k: errors[k] for k in keep}
    dst.total += src.total
    dst._heap = [(c, i, k) for i, (k, c) in enumerate(dst.counts.items())]
    heapq.heapify(dst._heap)


def merge_summaries(summaries: list, firsts: list[dict] | None = None) -> Any:
    """One Summary from the workers' (exact counts add; top lists merge, see
    :func:`_merge_spacesaving`).  ``firsts``: each worker's first-seen input index per
    key, to order the keys as one process would."""
    from collections import Counter

    from pkttables.datapath.summary import Summary
    first: dict = {}
    for f in firsts or ():
        for nk, i in f.items():
            if nk not in first or i < first[nk]:
                first[nk] = i
    big = 1 << 62
    out = Summary()
    for s in summaries:
        out.packets += s.packets
        for name in _FirstSeen.NAMES:
            getattr(out, name).update(getattr(s, name))
        out.timer_frames += s.timer_frames
        if s.first_ns is not None:
            out.first_ns = s.first_ns if out.first_ns is None else min(out.first_ns, s.first_ns)
            out.last_ns = s.last_ns if out.last_ns is None else max(out.last_ns, s.last_ns)
        for name in _FirstSeen.SKETCHES:
            _merge_spacesaving(getattr(out, name), getattr(s, name))
    for name in _FirstSeen.NAMES:
        c = getattr(out, name)
        setattr(out, name, Counter({k: c[k] for k in sorted(c, key=lambda k: first.get((name, k), big))}))
    for name in _FirstSeen.SKETCHES:
        sk = getattr(out, name)
        keys = sorted(sk.counts, key=lambda k: first.get((name, k), big))
        sk.counts = {k: sk.counts[k] for k in keys}
        sk.errors = {k: sk.errors[k] for k in keys}
    return out


class WorkerReplay:
    """Replays ``records`` through ``n`` forked copies of ``sim`` (a freshly built
    :class:`~pkttables.datapath.replay.Simulator`, which this object then owns).

    ``run(records, ...)`` calls ``line(str)`` with each JSON line (no newline),
    ``frame(oif, data, time_ns)`` with each emitted frame, ``trace(str)`` with trace
    lines, in input order.  After it: ``summary``, ``emitted_count``, ``counters``,
    ``conntrack`` (lines), ``warnings`` (runtime)."""

    def __init__(self, sim, n: int, opts: WorkerOptions | None = None):
        if n < 1:
            raise PktError(f"--workers: must be at least 1 (got {n})")
        self.sim = sim
        self.n = n
        self.opts = opts or WorkerOptions()
        self.ports_only = sim.nat_table is not None
        self.summary = None
        self.emitted_count = 0
        self.counters: dict = {}
        #: each worker's datapath.listing.worker_state (with ``counters``): merged by --list
        self.states: list[dict] = []
        self.conntrack: list[tuple[str, str]] = []
        self.warnings: list[str] = []
        self.last_ns: int | None = None
        self._neigh: dict[tuple[str, str], set] = {}
        self._neigh_warned = False
        self.marker = "@@emitted-" + secrets.token_hex(8) + "@@"

    def owner(self, data: bytes, dev: str, link: int) -> int:
        if self.n == 1:
            return 0
        l3 = dev == "local" or link in (101, 228, 229)
        if dev == "local" and link == 1:
            data = data[14:]
        if link in (113, 276):        # Linux cooked: strip to L3
            data, l3 = data[16:] if link == 113 else data[20:], True
        k = flow_key(data, l3=l3, ports_only=self.ports_only)
        return 0 if k is None else k % self.n

    def run(self, records: Iterable[tuple[int, int, str, int, bytes]], *,
            line: Callable[[str], None] | None = None,
            frame: Callable[[str, bytes, int], None] | None = None,
            trace: Callable[[str], None] | None = None,
            progress: Callable[[int, int], None] | None = None,
            name: str | None = None) -> None:
        """``records``: (index, time_ns, iif, linktype, data) in input order, already
        validated (:meth:`Simulator.records`).  An error of the records (a corrupt
        capture) or of a worker (a rule the interpreter cannot run) is raised after
        every result before it was written, as with one process; ``name`` prefixes a
        worker's error as :meth:`Simulator.replay` does."""
        it = iter(records)
        first = next(it, None)
        if first is not None:
            # the ruleset is loaded at the first packet's time (Simulator._load_at), in
            # the parent, so every forked worker starts from the same set timeouts
            self.sim._load_at(first[1])
            it = itertools.chain([first], it)
        ctx = multiprocessing.get_context("fork")
        inqs = [ctx.Queue(maxsize=WINDOW + 1) for _ in range(self.n)]
        outqs = [ctx.Queue(maxsize=WINDOW + 2) for _ in range(self.n)]
        procs = [ctx.Process(target=_child, args=(self.sim, w, self.opts, self.marker, inqs[w], outqs[w]),
                             daemon=True, name=f"pkt-simulate-worker-{w}") for w in range(self.n)]
        for p in procs:
            p.start()
        self._out = (line, frame, trace)
        self._outqs, self._procs = outqs, procs
        inflight: list[tuple[int, int]] = []
        error: list[str] | None = None
        pending: BaseException | None = None
        count = nbytes = 0
        ok = False
        try:
            batches: list[list] = [[] for _ in range(self.n)]
            start = 0
            while True:
                try:
                    rec = next(it, None)
                except PktError as e:      # after the packets before it, as one process
                    pending, rec = e, None
                if rec is not None:
                    _idx, ts, dev, link, data = rec
                    w = self.owner(data, dev, link)
                    for j in range(self.n):
                        batches[j].append((ts, dev, link, data) if j == w else ts)
                    count += 1
                    nbytes += len(data) + 32
                if batches[0] and (rec is None or len(batches[0]) >= BATCH):
                    if len(inflight) >= WINDOW:
                        error = self._merge(outqs, *inflight.pop(0))
                        if error:
                            break
                    for j in range(self.n):
                        inqs[j].put((start, batches[j]))
                    inflight.append((start, len(batches[0])))
                    start += len(batches[0])
                    batches = [[] for _ in range(self.n)]
                    if progress is not None:
                        progress(count, nbytes)
                if rec is None:
                    break
            while error is None and inflight:
                error = self._merge(outqs, *inflight.pop(0))
            if error is not None:
                if name and not error[0].startswith(name):
                    error = [f"{name}: {m}" for m in error]
                raise PktError(error[0] if len(error) == 1 else error)
            if pending is not None:
                raise pending
            for q in inqs:
                q.put(None)
            finals = []
            for w in range(self.n):
                msg = self._get(w)
                if not (isinstance(msg, tuple) and msg[0] == "final"):
                    raise PktError(f"worker protocol: unexpected {type(msg).__name__}")
                finals.append(msg[1])
            ok = True
        finally:
            for p in procs:
                if not ok:
                    p.kill()              # an error: nobody needs their remaining work
                p.join(timeout=10)
                if p.is_alive():
                    p.kill()
                    p.join()
            for q in inqs + outqs:
                q.cancel_join_thread()
                q.close()
        self.summary = merge_summaries([f["summary"] for f in finals], [f["first"] for f in finals])
        self.states = [f["state"] for f in finals if "state" in f]
        for f in finals:
            for key, (pk, by) in f.get("counters", {}).items():
                c = self.counters.setdefault(key, _Count(0, 0))
                c.packets += pk
                c.bytes += by
        ents = sorted((e for f in finals for e in f.get("conntrack", ())), key=lambda e: e[0])
        self.conntrack = [(line_, state) for _, line_, state in ents]
        self.last_ns = max((f.get("last_ns") or 0 for f in finals), default=None)

    def _neighbour(self, k: int, w: int, kind: str, dev: str, addr: str) -> None:
        """Neighbour tables are per worker: warn once when two workers need the same
        neighbour, or one needs a neighbour worker 0 learned."""
        who = self._neigh.setdefault((dev, addr), set())
        mark = "learned" if kind == "learned" else w
        # worker 0 owns ARP/NDISC: its learning and its own resolutions never conflict
        workers = {x for x in who | {mark} if x != "learned"}
        clash = len(workers) > 1 or (workers - {0} and ("learned" in who or mark == "learned"))
        if not self._neigh_warned and clash:
            self._neigh_warned = True
            self.warnings.append(f"packet {k}: neighbour {addr} on {dev} is resolved by more than one "
                                 "worker (neighbour tables are per worker): ARP/NDISC traffic and packets "
                                 "waiting for it can differ from --workers 1")
        who.add(mark)

    def _get(self, w: int) -> Any:
        q, proc = self._outqs[w], self._procs[w]
        while True:
            try:
                msg = q.get(timeout=2)
                break
            except queue.Empty:
                if not proc.is_alive():
                    raise PktError(f"worker {w} died (exit code {proc.exitcode}): out of memory, "
                                   "or killed") from None
        if isinstance(msg, tuple) and msg and msg[0] == "crash":
            raise PktError(msg[1])
        if isinstance(msg, tuple) and msg and msg[0] == "crash":
            raise PktError(msg[1])
        return msg

    def _emit(self, pre: str, post: str, meta: tuple, frames: tuple) -> None:
        line, frame, _ = self._out
        base = self.emitted_count
        self.emitted_count += len(meta)
        if line is not None:
            if meta:
                em = "[" + ", ".join(a + str(base + i) + b for i, (a, b) in enumerate(meta)) + "]"
            else:
                em = "[]"
            line(pre + em + post)
        if frame is not None:
            for oif, data, tns in frames:
                frame(oif, data, tns)

    def _merge(self, outqs, start: int, size: int) -> list[str] | None:
        """Write the results of one batch in input order; a worker's error stops there."""
        lists = [self._get(w) for w in range(self.n)]
        pos = [0] * self.n
        line, _, trace = self._out
        for k in range(start, start + size):
            nts, cts, pkt, err, ct_ns, pkt_w = [], [], None, None, 0, 0
            for w, lst in enumerate(lists):
                i = pos[w]
                while i < len(lst) and lst[i][1] == k:
                    e = lst[i]
                    kind = e[0]
                    if kind == "n":
                        nts.append(e)
                    elif kind == "c":
                        cts.extend(e[3])
                        ct_ns = e[2]
                    elif kind == "p":
                        pkt, pkt_w = e, w
                    else:
                        err = e[2]
                    i += 1
                pos[w] = i
            nts.sort(key=lambda e: e[2])       # stable: worker order at equal due times
            for e in nts:
                self._emit(e[3], e[4], e[5], e[6])
            if cts and line is not None:
                # one table would have destroyed them in one expire() run, in heap order:
                # (expiry, id), and ids grow with the packet that created the entry
                cts.sort(key=lambda ke: ke[0])
                line(json.dumps(TimerResult(ct_ns, (), tuple(ev for _, ev in cts)).to_json(),
                                separators=(", ", ": ")))
            if err is not None:
                return err
            if pkt is not None:
                self._emit(pkt[2], pkt[3], pkt[4], pkt[5])
                if trace is not None:
                    for t in pkt[7]:
                        trace(t)
                if pkt[8]:
                    self.warnings.append(pkt[8])
                for kind, dev, addr in pkt[9]:
                    self._neighbour(k, pkt_w, kind, dev, addr)
        return None

# ------------------------------------------------------------------ bench
def run_workers_bench(report: Any, opt: Any) -> None:
    """``pkt bench`` workload "simulate-workers": the home-router example ruleset on the
    bench traffic (arriving on lan0), one worker vs two, pkt/s and the ratio (aim 1.7)."""
    import tempfile
    import time

    from pkttables.bench.report import Measurement, Ratio
    from pkttables.bench.traffic import write_capture
    from pkttables.capture import read_capture
    from pkttables.datapath.replay import Simulator, load_ruleset
    from pkttables.stack.host import load_host

    root = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "home-router")
    host = load_host(os.path.join(root, "host.toml"))
    # 40k packets per run (each run ~10 s here): the ratio is of rates; 60k cost ~10 s
    # more of pkt bench's 10-minute total
    n = opt.n(40_000, 12_000)
    with tempfile.TemporaryDirectory(dir=getattr(opt, "workdir", None)) as tmp:
        rules = os.path.join(tmp, "rules.nft")
        with open(os.path.join(root, "ruleset.nft"), encoding="utf-8") as fh:
            text = fh.read()
        with open(rules, "w", encoding="utf-8") as fh:
            fh.write(bench_ruleset(text))
        cap = os.path.join(tmp, "t.pcapng")
        write_capture(cap, n)
        ruleset = load_ruleset(rules)

        def once(workers: int) -> float:
            sim = Simulator(host, ruleset, seed=0)
            wr = WorkerReplay(sim, workers, WorkerOptions(json=True, frames=True))
            recs = ((r.index, r.ts_ns, "lan0", r.linktype, r.data) for r in read_capture(cap))
            sink = []
            t0 = time.perf_counter()
            wr.run(recs, line=lambda s: None, frame=lambda *a: sink.clear())
            return time.perf_counter() - t0

        t1 = once(1)
        t2 = once(2)
    m1 = report.add(Measurement("simulate-workers", "pkttables", "1 worker", n / t1, "pkt/s", n))
    m2 = report.add(Measurement("simulate-workers", "pkttables", "2 workers", n / t2, "pkt/s", n))
    report.ratios.append(Ratio("simulate-workers", "2 workers / 1", "pkttables", "1 worker", m2.value / m1.value, 1.7))


def bench_ruleset(text: str) -> str:
    """The example ruleset for the bench: without the blocklist set while the
    interpreter cannot bind named sets."""
    try:
        from pkttables.vm.chain import LoadedRuleset  # noqa: F401
    except ImportError:
        return text
    out, skip = [], 0
    for ln in text.splitlines():
        s = ln.strip()
        if s.startswith("set blocklist"):
            skip = 1
            continue
        if skip:
            if s == "}":
                skip = 0
            continue
        if "@blocklist" in s:
            continue
        out.append(ln)
    return "\n".join(out) + "\n"
