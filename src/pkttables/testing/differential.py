"""Run the same scenario on the Linux kernel and on pkttables, and compare.

Theory of operation
-------------------
A :class:`Scenario` is a host (:class:`pkttables.stack.host.Host`), a ruleset in nft
syntax and a list of injections (frames arriving on an interface, or packets a local
process sends: ``Injection("local", ip_packet)``).  :func:`run_both` runs it

* on the kernel: the host is built in network namespaces by
  :class:`pkttables.testing.kernel.KernelLab`, the ruleset is loaded with the real
  ``nft -f``, the frames are sent and every frame the host sends is captured; the rule
  counters and named objects are read back with ``nft -j list ruleset``;
* on pkttables: the same text goes through :func:`pkttables.commands.run_text` into a
  model, the model is loaded (:class:`pkttables.vm.chain.LoadedRuleset`) and run at the
  hooks of an :class:`pkttables.stack.engine.Engine` by a
  :class:`pkttables.vm.stateful_impl.ChainRuntime`; each injection is one
  ``Engine.process`` call at the injection's time (the sum of the delays so far).

and returns a :class:`Comparison`:

* frames, per injection and per interface, in order, after
  :func:`pkttables.stack.engine.mask_random` (the IPv4 ID + header checksum of non-DF
  packets the host originates and the IPv6 flow label of packets it originates: the
  only fields the kernel draws at random).  A frame seen on one side only is a
  :class:`FrameDiff` of kind ``only-kernel``/``only-pkttables``; two frames at the
  same place that differ are kind ``bytes``, with the differing fields named
  (``ip.ttl``, ``tcp.checksum`` ...) and both frames' :meth:`Packet.summary` lines;
* the send error of each local injection (0 or an errno such as EPERM);
* rule counters by ``(family, table, chain, rule position)``: nft numbers handles
  chains first, then objects, sets and rules, while the commands layer numbers the
  items of a table block in file order -- so handles are compared separately
  (:attr:`Comparison.handle_mismatches`, informational) and counters by position;
* named counters and quotas by ``(kind, family, table, name)``.

Many scenarios on one host share one lab (``DiffLab``: about 0.5 s to build once, then
``nft flush ruleset`` + ``nft -f`` per scenario), and each gets a fresh engine.  Kernel
state that outlives a ruleset -- ICMP rate-limit buckets, neighbour entries learned
from traffic -- is not flushed; :func:`quiet_host` turns the ICMP rate limits off so
that scenarios cannot influence each other through them, and scenarios should send
only to neighbours the host file lists.

Example::

    from pkttables.testing.differential import Scenario, run_both
    from pkttables.testing.kernel import Injection
    cmp = run_both(Scenario(host, "table ip t { chain c { type filter hook forward "
                                  "priority 0; tcp dport 22 counter drop } }",
                            [Injection("lan0", frame)], name="ssh"))
    assert cmp.agree, cmp.report()
"""

from __future__ import annotations

import copy
import os
import struct
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from pkttables.errors import HarnessError, PktError
from pkttables.stack.engine import Engine, mask_random
from pkttables.stack.host import Host
from pkttables.testing.kernel import Injection, KernelLab, Observation

__all__ = ["Scenario", "FrameDiff", "CounterDiff", "Comparison", "DiffLab", "run_both",
           "run_pkttables", "quiet_host", "name_fields", "PREFIX"]

#: namespace names of the differential labs: ``pktdiff<pid>x<n>h`` / ``...p<i>``
PREFIX = "pktdiff"


@dataclass(frozen=True, slots=True)
class Scenario:
    """One host, one ruleset (nft text), one list of injections.

    ``traffic`` items are :class:`pkttables.testing.kernel.Injection` or
    ``(ifname, frame)`` / ``(ifname, frame, delay)`` tuples."""

    host: Host
    ruleset: str
    traffic: tuple
    name: str = ""

    def __init__(self, host: Host, ruleset: str, traffic: Iterable, name: str = ""):
        object.__setattr__(self, "host", host)
        object.__setattr__(self, "ruleset", ruleset)
        object.__setattr__(self, "traffic", tuple(_injection(t) for t in traffic))
        object.__setattr__(self, "name", name)

    @property
    def duration(self) -> float:
        return sum(i.delay for i in self.traffic)


def _injection(t) -> Injection:
    if isinstance(t, Injection):
        return t
    return Injection(*t)


@dataclass(frozen=True, slots=True)
class FrameDiff:
    """A difference in what the host sent out of ``ifname`` after injection ``injection``.

    ``kind``: ``only-kernel`` / ``only-pkttables`` (``kernel``/``ours`` is None on the
    other side) or ``bytes``; ``position`` is the frame's index among that injection's
    frames on that interface; ``fields`` names the fields that differ."""

    injection: int
    ifname: str
    kind: str
    position: int
    kernel: bytes | None
    ours: bytes | None
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        head = f"injection {self.injection} on {self.ifname} frame {self.position}: "
        if self.kind == "only-kernel":
            return head + f"only the kernel sent: {_summary(self.kernel)}\n    {self.kernel.hex()}"
        if self.kind == "only-pkttables":
            return head + f"only pkttables sent: {_summary(self.ours)}\n    {self.ours.hex()}"
        return (head + "bytes differ in " + ", ".join(self.fields) +
                f"\n    kernel:    {_summary(self.kernel)}\n    pkttables: {_summary(self.ours)}"
                f"\n    kernel:    {self.kernel.hex()}\n    pkttables: {self.ours.hex()}")


@dataclass(frozen=True, slots=True)
class CounterDiff:
    """A rule counter (``key`` = (family, table, chain, rule position)) or a named object
    (``key`` = (kind, family, table, name)) with different (packets, bytes)."""

    key: tuple
    kernel: tuple[int, int] | None
    ours: tuple[int, int] | None

    def describe(self) -> str:
        if len(self.key) == 4 and isinstance(self.key[3], int):
            fam, table, chain, pos = self.key
            where = f"rule {pos} of {fam} {table} {chain}"
        else:
            where = " ".join(str(k) for k in self.key)
        return f"{where}: kernel {_pb(self.kernel)}, pkttables {_pb(self.ours)}"


def _pb(v) -> str:
    return "none" if v is None else f"packets {v[0]} bytes {v[1]}"


@dataclass(slots=True)
class Comparison:
    """What :func:`run_both` found.  ``agree`` is True when frames, send errors, rule
    counters and named objects are all equal; ``report()`` is the readable diff."""

    scenario: Scenario
    frames: list[FrameDiff] = field(default_factory=list)
    send_errors: list[tuple[int, int | None, int | None]] = field(default_factory=list)
    counters: list[CounterDiff] = field(default_factory=list)
    objects: list[CounterDiff] = field(default_factory=list)
    #: (family, table, chain, position, kernel handle, pkttables handle) where they differ
    handle_mismatches: list[tuple] = field(default_factory=list)
    #: what pkttables could not do (the ruleset failed to load, ...): a disagreement too
    errors: list[str] = field(default_factory=list)
    #: both sides refused the ruleset (nft's error text): agreement, but nothing ran
    refused: str | None = None
    kernel: Observation | None = None
    outcomes: list[Any] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return not (self.frames or self.send_errors or self.counters or self.objects or self.errors)

    def __bool__(self) -> bool:
        return self.agree

    def report(self) -> str:
        name = self.scenario.name or "scenario"
        if self.agree:
            if self.refused:
                return f"{name}: both refuse the ruleset: {self.refused}"
            return f"{name}: kernel and pkttables agree"
        out = [f"{name}: kernel and pkttables disagree"]
        out += [f"  error: {e}" for e in self.errors]
        for d in self.frames:
            out.append("  " + d.describe())
        for i, k, o in self.send_errors:
            out.append(f"  injection {i}: send error kernel {k}, pkttables {o}")
        for d in self.counters + self.objects:
            out.append("  " + d.describe())
        involved = {d.injection for d in self.frames} | {i for i, _, _ in self.send_errors}
        for i, o in enumerate(self.outcomes):
            if i not in involved and (self.frames or self.send_errors):
                continue
            out.append(f"  pkttables injection {i}: {o.verdict.value}"
                       + (f" ({o.drop_reason})" if o.drop_reason else "") + " hooks "
                       + " ".join(f"{f}/{h}" for f, h in o.hooks))
        return "\n".join(out)


# ------------------------------------------------------------------ field names
_ETH = ((0, 6, "ether.daddr"), (6, 6, "ether.saddr"), (12, 2, "ether.type"))
_IP4 = ((0, 1, "ip.version/hdrlength"), (1, 1, "ip.dscp/ecn"), (2, 2, "ip.length"), (4, 2, "ip.id"),
        (6, 2, "ip.frag-off"), (8, 1, "ip.ttl"), (9, 1, "ip.protocol"), (10, 2, "ip.checksum"),
        (12, 4, "ip.saddr"), (16, 4, "ip.daddr"))
_IP6 = ((0, 4, "ip6.version/dscp/ecn/flowlabel"), (4, 2, "ip6.length"), (6, 1, "ip6.nexthdr"),
        (7, 1, "ip6.hoplimit"), (8, 16, "ip6.saddr"), (24, 16, "ip6.daddr"))
_L4 = {
    6: ((0, 2, "tcp.sport"), (2, 2, "tcp.dport"), (4, 4, "tcp.sequence"), (8, 4, "tcp.ackseq"),
        (12, 1, "tcp.doff"), (13, 1, "tcp.flags"), (14, 2, "tcp.window"), (16, 2, "tcp.checksum"),
        (18, 2, "tcp.urgptr")),
    17: ((0, 2, "udp.sport"), (2, 2, "udp.dport"), (4, 2, "udp.length"), (6, 2, "udp.checksum")),
    1: ((0, 1, "icmp.type"), (1, 1, "icmp.code"), (2, 2, "icmp.checksum"), (4, 4, "icmp.rest")),
    58: ((0, 1, "icmpv6.type"), (1, 1, "icmpv6.code"), (2, 2, "icmpv6.checksum"), (4, 4, "icmpv6.rest")),
    132: ((0, 2, "sctp.sport"), (2, 2, "sctp.dport"), (4, 4, "sctp.vtag"), (8, 4, "sctp.checksum")),
}


def _packet(frame: bytes):
    from pkttables.packet import LinkType, Packet
    return Packet(bytearray(frame), LinkType.ETHERNET)


def _summary(frame: bytes | None) -> str:
    if frame is None:
        return "-"
    try:
        return _packet(frame).summary()
    except Exception:          # a summary must never hide the diff itself
        return f"{len(frame)} bytes"


def name_fields(a: bytes, b: bytes) -> tuple[str, ...]:
    """The names of the header fields where Ethernet frames ``a`` and ``b`` differ
    (``ip.ttl``, ``tcp.checksum``, ``payload[12]``, ``length``), from the offsets the
    :class:`pkttables.packet.Packet` parser finds in ``a``."""
    names: list[str] = []
    diff = [i for i in range(min(len(a), len(b))) if a[i] != b[i]]
    if len(a) != len(b):
        names.append(f"length ({len(a)} vs {len(b)})")
    if not diff:
        return tuple(names)
    try:
        p = _packet(a)
        nh, th = p.nh_off, p.th_off if p.has_transport else -1
        proto = p.l4proto
        ver = a[nh] >> 4 if 0 <= nh < len(a) else 0
    except Exception:
        nh, th, proto, ver = -1, -1, -1, 0
    layers: list[tuple[int, tuple]] = [(0, _ETH)]
    if nh >= 0:
        layers.append((nh, _IP4 if ver == 4 else _IP6 if ver == 6 else ()))
    if th >= 0 and proto in _L4:
        layers.append((th, _L4[proto]))
    for i in diff:
        name = None
        for base, table in reversed(layers):
            if i >= base:
                for off, size, fname in table:
                    if base + off <= i < base + off + size:
                        name = fname
                        break
                if name is None and base == th and th >= 0:
                    name = f"l4[{i - th}]"
                elif name is None and base == nh and nh >= 0:
                    name = f"l3[{i - nh}]"
                break
        name = name or f"byte[{i}]"
        if name not in names:
            names.append(name)
    return tuple(names)


def _untag(frame: bytes) -> bytes:
    """The frame without its 802.1Q/802.1ad tags.  The peer veth's receive path moves a
    tag into skb->vlan_tci (skb_vlan_untag) and the lab's AF_PACKET capture reads the
    data without it, so tags are not comparable: both sides are compared untagged."""
    f = bytes(frame)
    while len(f) >= 18 and f[12:14] in (b"\x81\x00", b"\x88\xa8"):
        f = f[:12] + f[16:]
    return f


# ------------------------------------------------------------------ hosts and labs
def quiet_host(host: Host) -> Host:
    """A copy of ``host`` with the ICMP rate limits that outlive a ruleset switched off
    (``net.ipv4.icmp_ratelimit`` and ``net.ipv6.icmp.ratelimit`` = 0), so scenarios
    sharing a lab cannot influence each other through the per-destination buckets."""
    h = copy.deepcopy(host)
    h.sysctls = dict(h.sysctls)
    h.sysctls.setdefault("net.ipv4.icmp_ratelimit", 0)
    h.sysctls.setdefault("net.ipv6.icmp.ratelimit", 0)
    return h


class _Lab(KernelLab):
    """A KernelLab whose namespaces are named ``pktdiff<pid>x<n>``."""

    _n = 0

    def __init__(self, host: Host, **kw):
        super().__init__(host, **kw)
        _Lab._n += 1
        self.base = f"{PREFIX}{os.getpid()}x{_Lab._n}"
        self.hostns = self.base + "h"


class DiffLab:
    """One kernel lab for many scenarios on the same host::

        with DiffLab(host) as lab:
            for sc in scenarios:
                assert lab.run(sc).agree

    ``settle`` is the wait after each scenario's traffic (the lab also waits until 50 ms
    pass without a frame); ``timeout`` bounds the lab's whole life."""

    def __init__(self, host: Host, *, timeout: float = 600.0, settle: float = 0.05):
        self.host = host
        self.lab = _Lab(host, timeout=timeout, settle=settle)
        self._injected = 0
        self._loaded = False

    def __enter__(self) -> "DiffLab":
        self.lab.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.lab.__exit__(*exc)

    def kernel(self, scenario: Scenario) -> tuple[Observation, list[list[Any]]]:
        """Run the scenario on the kernel: the observation and, per injection, the
        frames emitted after it."""
        lab = self.lab
        if self._loaded:
            lab.exec(["nft", "flush", "ruleset"])
        self._loaded = True
        if scenario.ruleset.strip():
            lab.load(scenario.ruleset)
        first = self._injected
        emitted = lab.inject(scenario.traffic)
        self._injected += len(scenario.traffic)
        obs = lab.observe(conntrack=False)
        per: list[list[Any]] = [[] for _ in scenario.traffic]
        for e in emitted:
            k = e.after_injection - first
            if 0 <= k < len(per):
                per[k].append(e)
        errors = obs.send_errors[first:first + len(scenario.traffic)]
        obs = Observation(tuple(e for es in per for e in es), tuple(errors), obs.ruleset_json,
                          obs.counters, obs.objects, (), "", obs.nft_stderr, ())
        return obs, per

    def run(self, scenario: Scenario) -> Comparison:
        if scenario.host is not self.host and scenario.host != self.host:
            raise HarnessError("DiffLab.run: the scenario's host is not the lab's host")
        try:
            obs, per = self.kernel(scenario)
        except HarnessError as e:
            if "nft rejected" in str(e):
                cmp = Comparison(scenario)
                try:
                    _load(scenario.ruleset, scenario.host)
                except PktError:
                    cmp.refused = str(e)     # both refuse it: agreement
                    return cmp
                cmp.errors.append(f"the kernel refused the ruleset, pkttables loaded it: {e}")
                return cmp
            raise
        return compare(scenario, obs, per)


def run_both(scenario: Scenario, lab: DiffLab | None = None) -> Comparison:
    """Run ``scenario`` on the kernel (in ``lab``, or in a lab of its own) and on
    pkttables; see :class:`Comparison`."""
    if lab is not None:
        return lab.run(scenario)
    with DiffLab(scenario.host, timeout=60.0, settle=0.3) as own:
        return own.run(scenario)


# ------------------------------------------------------------------ pkttables' side
def _load(text: str, host: Host | None = None):
    from pkttables.commands import Options, run_text
    from pkttables.model import Ruleset
    from pkttables.vm.chain import check_loops
    # interface names resolve against the simulated host, as nft resolves them on the
    # machine it runs on (the lab's host namespace has the host's ifindexes)
    # ... and as a file: the kernel side is `nft -f FILE`, whose error shows the line
    # of the rule (a multi-line command buffer would show its first line)
    rs = run_text(text, Ruleset(), Options(ifindex=host), filename="ruleset.nft").ruleset
    diags = check_loops(rs)
    if diags:
        raise PktError(diags)
    return rs


def run_pkttables(scenario: Scenario, *, seed: int = 0):
    """Run the scenario on pkttables alone: ``(ruleset model, ChainRuntime, outcomes)``.
    Raises :class:`pkttables.errors.PktError` when the ruleset does not load."""
    from pkttables.stack.hooks import HookTable
    from pkttables.vm.chain import LoadedRuleset
    from pkttables.vm.stateful_impl import ChainRuntime
    rs = _load(scenario.ruleset, scenario.host)
    host = copy.deepcopy(scenario.host)
    from pkttables.datapath.replay import Simulator, needs_conntrack
    if needs_conntrack(rs):
        # conntrack and NAT hooks as the kernel registers them once a ruleset uses
        # them (nf_ct_netns_get); the nat chains run in a runtime of their own
        sim = Simulator(host, rs, seed=seed)
        runtime, engine = sim.runtime, sim.engine
    else:
        sim = None
        runtime = ChainRuntime(LoadedRuleset(rs), host=host, seed=seed)
        table = HookTable()
        runtime.install(table)
        engine = Engine(host, table, seed=seed)
    outcomes = []
    now = 0.0
    for inj in scenario.traffic:
        now += inj.delay
        outcomes.append(engine.process(inj.frame, now, iif=inj.ifname))
    nat_rt = getattr(sim, "nat_runtime", None)
    if nat_rt is not None and nat_rt is not runtime:
        # one set of rule counters, as the kernel keeps them per rule
        for key, c in nat_rt.state.counters.items():
            runtime.state.counters.setdefault(key, c)
    return rs, runtime, outcomes


def _positions_kernel(ruleset_json: dict) -> dict[tuple, tuple[int, int]]:
    """(family, table, chain, handle) -> (position, handle) from nft -j's rule order."""
    out: dict[tuple, tuple[int, int]] = {}
    seen: dict[tuple, int] = {}
    for item in ruleset_json.get("nftables", []):
        r = item.get("rule")
        if not r:
            continue
        ck = (r["family"], r["table"], r["chain"])
        pos = seen.get(ck, 0)
        seen[ck] = pos + 1
        out[ck + (int(r["handle"]),)] = (pos, int(r["handle"]))
    return out


def compare(scenario: Scenario, obs: Observation, per_injection: Sequence[Sequence[Any]]) -> Comparison:
    """Compare a kernel observation (frames per injection) with pkttables' run."""
    cmp = Comparison(scenario, kernel=obs)
    try:
        rs, runtime, outcomes = run_pkttables(scenario)
    except PktError as e:
        cmp.errors.append("pkttables refused a ruleset the kernel loaded:\n" + e.render())
        return cmp
    except Exception as e:     # noqa: BLE001 -- a crash is a disagreement to report, not to raise
        import traceback
        cmp.errors.append("pkttables crashed: " + "".join(traceback.format_exception(e)))
        return cmp
    cmp.outcomes = outcomes
    host = scenario.host
    local = {a.ip.packed for i in host.interfaces.values() for a in i.addresses}
    for b in host.bridges.values():
        local |= {a.ip.packed for a in b.addresses}
    for i, (out, theirs_e) in enumerate(zip(outcomes, per_injection)):
        names = sorted({e.ifname for e in out.emitted} | {e.ifname for e in theirs_e})
        for ifname in names:
            mine = [mask_random(_untag(e.data), local) for e in out.emitted if e.ifname == ifname]
            theirs = [mask_random(_untag(e.frame), local) for e in theirs_e if e.ifname == ifname]
            for k in range(max(len(mine), len(theirs))):
                a = theirs[k] if k < len(theirs) else None
                b = mine[k] if k < len(mine) else None
                if a == b:
                    continue
                if b is None:
                    cmp.frames.append(FrameDiff(i, ifname, "only-kernel", k, a, None))
                elif a is None:
                    cmp.frames.append(FrameDiff(i, ifname, "only-pkttables", k, None, b))
                else:
                    cmp.frames.append(FrameDiff(i, ifname, "bytes", k, a, b, name_fields(a, b)))
        k_err = obs.send_errors[i] if i < len(obs.send_errors) else None
        if scenario.traffic[i].ifname == "local" and k_err != out.send_error:
            cmp.send_errors.append((i, k_err, out.send_error))

    # rule counters by position; handles compared on the side
    kpos = _positions_kernel(obs.ruleset_json)
    theirs_c: dict[tuple, tuple[int, int]] = {}
    for key, c in obs.counters.items():
        pos, _h = kpos.get(key, (-1, key[3]))
        theirs_c[key[:3] + (pos,)] = (c.packets, c.bytes)
    ours_sum: dict[tuple, list[int]] = {}
    for key, c in runtime.state.counters.items():
        s = ours_sum.setdefault(key[:4], [0, 0])
        s[0] += c.packets
        s[1] += c.bytes
    ours_c: dict[tuple, tuple[int, int]] = {}
    opos: dict[tuple, list[int]] = {}
    for (fam, tname), t in rs.tables.items():
        for cname, ch in t.chains.items():
            opos[(fam, tname, cname)] = [r.handle for r in ch.rules]
            for pos, r in enumerate(ch.rules):
                key = (fam, tname, cname, pos)
                got = ours_sum.get((fam, tname, cname, r.handle))
                if got is not None or key in theirs_c:
                    ours_c[key] = tuple(got) if got else (0, 0)
    for key in sorted(set(theirs_c) | set(ours_c), key=repr):
        k, o = theirs_c.get(key), ours_c.get(key)
        if k != o and not (k is None and o == (0, 0)):
            cmp.counters.append(CounterDiff(key, k, o))
    kh: dict[tuple, list[int]] = {}
    for key, (pos, h) in sorted(kpos.items(), key=lambda kv: kv[1][0]):
        kh.setdefault(key[:3], []).append(h)
    for ck, hs in kh.items():
        for pos, h in enumerate(hs):
            mine = opos.get(ck, [])
            oh = mine[pos] if pos < len(mine) else None
            if oh != h:
                cmp.handle_mismatches.append(ck + (pos, h, oh))

    # named counters and quotas
    ours_o: dict[tuple, tuple[int, int]] = {}
    from pkttables.vm.stateful_impl import Count, _NamedQuota
    for (fam, table, kind, name), st in runtime.state.objects.items():
        if isinstance(st, Count):
            ours_o[(kind, fam, table, name)] = (st.packets, st.bytes)
        elif isinstance(st, _NamedQuota):
            # nft_quota_do_dump() reports at most the quota as used.
            ours_o[(kind, fam, table, name)] = (0, min(st.q.consumed, st.q.quota))
    for key, c in obs.objects.items():
        o = ours_o.get(key)
        if o is None:
            o = _initial_object(rs, key)
        if (c.packets, c.bytes) != o:
            cmp.objects.append(CounterDiff(key, (c.packets, c.bytes), o))
    return cmp


def _initial_object(rs, key) -> tuple[int, int] | None:
    """A named object no packet touched: its declared values."""
    from pkttables.vm.stateful_impl import Count, _NamedQuota, _object_state
    kind, fam, table, name = key
    t = rs.tables.get((fam, table))
    if t is None:
        return None
    obj = next((o for o in t.objects.values() if o.kind == kind and o.name == name), None)
    if obj is None:
        return None
    st = _object_state(obj)
    if isinstance(st, Count):
        return (st.packets, st.bytes)
    if isinstance(st, _NamedQuota):
        return (0, st.q.consumed)
    return None


# ------------------------------------------------------------------ files for `pkt simulate`
def _toml_str(s: str) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def host_toml(host: Host) -> str:
    """``host`` as a host file (contracts/host.toml.md) that :func:`load_host` reads back
    to the same interfaces, addresses, routes, neighbours, bridges and sysctls -- so a
    scenario can go through ``pkt simulate --host``.  ``lo`` is left out (every host
    file gets it), bridges are written after the interfaces, as the loader numbers
    ifindexes in file order; routes derived from addresses are left out."""
    mac = lambda b: ":".join(f"{x:02x}" for x in b)            # noqa: E731
    out = ["[sysctl]"]
    out += [f"{_toml_str(k)} = {int(v)}" for k, v in host.sysctls.items()]
    for ifc in host.interfaces.values():
        if ifc.kind in ("loopback", "bridge"):
            continue
        out += ["", "[[interface]]", f"name = {_toml_str(ifc.name)}", f"mac = {_toml_str(mac(ifc.mac))}",
                "addresses = [" + ", ".join(_toml_str(a) for a in ifc.addresses) + "]",
                f"mtu = {ifc.mtu}", f"group = {ifc.group}"]
    for br in host.bridges.values():
        out += ["", "[[bridge]]", f"name = {_toml_str(br.name)}", f"mac = {_toml_str(mac(br.mac))}",
                "ports = [" + ", ".join(_toml_str(p) for p in br.ports) + "]",
                "addresses = [" + ", ".join(_toml_str(a) for a in br.addresses) + "]"]
    for r in host.routes:
        if r.proto == "kernel" or r.table != "main" or r.kind != "unicast":
            continue
        out += ["", "[[route]]", f"to = {_toml_str(r.to)}"]
        if r.via is not None:
            out.append(f"via = {_toml_str(r.via)}")
        if r.dev:
            out.append(f"dev = {_toml_str(r.dev)}")
        if r.metric:
            out.append(f"metric = {r.metric}")
    for n in host.neighbors:
        out += ["", "[[neighbor]]", f"address = {_toml_str(n.address)}", f"mac = {_toml_str(mac(n.mac))}",
                f"dev = {_toml_str(n.dev)}"]
    return "\n".join(out) + "\n"


#: the capture time of a scenario's first injection in :func:`write_traffic` (ns)
TRAFFIC_EPOCH_NS = 1_700_000_000 * 10**9


def write_traffic(path, traffic: Iterable, *, start_ns: int = TRAFFIC_EPOCH_NS) -> None:
    """Write a scenario's injections as a pcapng for ``pkt simulate --traffic``: one
    interface block per interface name (``local`` as raw IP, LINKTYPE_RAW: sent by a
    process on the host), timestamps ``start_ns`` plus the sum of the delays so far --
    the clock :func:`run_pkttables` uses, shifted."""
    from pkttables.capture import LinkType, PcapngWriter
    now = start_ns
    with PcapngWriter(str(path)) as w:
        ids: dict[str, int] = {}
        for t in traffic:
            inj = _injection(t)
            now += round(inj.delay * 1e9)
            if inj.ifname not in ids:
                ids[inj.ifname] = w.add_interface(
                    inj.ifname, LinkType.RAW if inj.ifname == "local" else LinkType.ETHERNET)
            w.write(ids[inj.ifname], inj.frame, now)
