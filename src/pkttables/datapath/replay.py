"""Capture replay: a capture's packets through the engine, one outcome per packet.

Theory of operation
-------------------
``pkt simulate`` answers "what would this host, with this ruleset, do with this
traffic?".  The engine (:mod:`pkttables.stack.engine`) is sans-IO: it takes one packet
and a time and returns an :class:`~pkttables.stack.engine.Outcome`.  This module is the
IO around it:

1. **Hooks.**  A :class:`~pkttables.stack.hooks.HookTable` is built once.  Connection
   tracking registers first (-200 in prerouting/output, confirm last in
   input/postrouting), but only when the ruleset needs it -- ``ct`` expressions,
   ``masquerade``/``redirect``/``snat``/``dnat``, ct helper/timeout/expectation
   objects (see :func:`needs_conntrack`): the kernel registers its
   conntrack hooks in a namespace only then (``nf_ct_netns_get``), so an empty
   ruleset is not tracked.  Then the ruleset's base chains, through a *backend*: an
   object with ``install(hook_table)``.  ``interp`` (the reference interpreter) is
   :class:`pkttables.vm.chain.ChainRuntime`; while that class does not exist, a ruleset
   with base chains raises :class:`RunnerUnavailable` instead of being ignored
   (nothing is faked).  Every entry the backend installs is wrapped, so the replay
   sees which base chain decided what (:class:`Decision`).
2. **Time** is the capture's: each record's timestamp is the engine's ``now``.
   Before a packet at ``t``, the neighbour timers due up to ``t`` run, one due time
   after another, so ARP retries and "host unreachable" errors carry the time the
   kernel would send them (:class:`TimerResult`).  Timestamps that go backwards are
   clamped (the kernel's clock never does) and the packet says so in its events.
3. **Ingress.**  A pcapng interface name is the interface the packet arrives on;
   ``local`` means sent by the host (raw IP, or an Ethernet frame whose header is
   dropped).  A pcap (or a pcapng without names) needs ``iif``.  Raw-IP and Linux
   cooked (SLL/SLL2) records arriving on an Ethernet interface get an Ethernet header
   addressed to that interface, from :data:`SYNTH_SRC_MAC`.
4. **Results** are streamed: :meth:`Simulator.replay` yields one
   :class:`PacketResult` per record (and a :class:`TimerResult` when timers sent
   something) and keeps nothing, so a capture of any length runs in bounded memory.
   Each emitted frame gets a running index: its position in ``--out``.
   A packet's ``index`` is its place in the capture plus ``first_index``: a run that
   carries on from a snapshot (``--conntrack-load``) passes the packets the saving run
   had seen, so its packets number on, and the random fields drawn per (seed, index)
   are those one run over the whole capture draws.

Determinism: the engine's random fields (IPv4 IDs, flow labels, ICMP credit) come from
``seed``; the backend gets the same seed.  Same inputs and seed, same results.

NAT: ``PacketResult.nat`` compares the packet's flow as it arrived with the flow of the
frames it left as (its own, not the generated ones): a difference is a translation.
"""

from __future__ import annotations

import ipaddress
import os
import random
import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from pkttables.errors import Diagnostic, PktError
from pkttables.stack.engine import Disposition, Engine, Outcome
from pkttables.stack.hooks import HookState, HookTable, HookVerdict, PriorityHooks, Verdict

__all__ = ["SCHEMA", "BACKENDS", "SYNTH_SRC_MAC", "Flow", "Decision", "Emitted", "CtView",
           "PacketResult", "TimerResult", "Simulator", "RunnerUnavailable", "load_ruleset",
           "needs_conntrack", "conntrack_families", "flow_of", "event_json", "ifnames_of"]

#: version of the outcome records (docs/outcomes-schema.md)
SCHEMA = 1
LOCAL = "local"
#: source MAC of the Ethernet header put on raw-IP records arriving on an interface
SYNTH_SRC_MAC = bytes.fromhex("0200000000fe")
_ETH_P_IP, _ETH_P_IPV6, _ETH_P_ARP = 0x0800, 0x86DD, 0x0806
_LINK_ETHERNET, _LINK_RAW, _LINK_SLL, _LINK_IPV4, _LINK_IPV6, _LINK_SLL2 = 1, 101, 113, 228, 229, 276
_PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp", 136: "udplite", 47: "gre"}


class RunnerUnavailable(PktError):
    """The ruleset has base chains but the chosen backend cannot run them (yet)."""


# ------------------------------------------------------------------ values
@dataclass(frozen=True, slots=True)
class Flow:
    """A packet's addresses and ports, as conntrack would tuple it (ports are ICMP id
    for echo, None when the protocol has none)."""
    family: int                  # 4 or 6
    proto: int
    src: bytes
    dst: bytes
    sport: int | None = None
    dport: int | None = None

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"family": f"ip{'' if self.family == 4 else '6'}",
                             "proto": _PROTO_NAMES.get(self.proto, self.proto),
                             "src": str(ipaddress.ip_address(self.src)),
                             "dst": str(ipaddress.ip_address(self.dst))}
        if self.sport is not None:
            d["sport"] = self.sport
        if self.dport is not None:
            d["dport"] = self.dport
        return d

    def __str__(self) -> str:
        def ep(a: bytes, p: int | None) -> str:
            s = str(ipaddress.ip_address(a))
            if p is None:
                return s
            return f"[{s}]:{p}" if self.family == 6 else f"{s}:{p}"
        return f"{_PROTO_NAMES.get(self.proto, self.proto)} {ep(self.src, self.sport)} -> {ep(self.dst, self.dport)}"


@dataclass(frozen=True, slots=True)
class Decision:
    """What one base chain (one hook entry of the backend) returned for the packet.

    ``handle`` is None when the chain's policy decided (``policy`` True) or when the
    backend did not say which rule it was (``family``/``table``/``chain`` None too)."""
    hook: str                    # "ip input", "ip6 forward", ...
    verdict: str                 # accept, drop, queue, stolen, ...
    family: str | None = None
    table: str | None = None
    chain: str | None = None
    handle: int | None = None
    text: str | None = None
    policy: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"hook": self.hook, "verdict": self.verdict, "family": self.family, "table": self.table,
                "chain": self.chain, "handle": self.handle, "text": self.text, "policy": self.policy}

    @property
    def where(self) -> str:
        if self.chain is None:
            return self.hook
        what = "policy" if self.policy else f"handle {self.handle}"
        return f"{self.family} {self.table} {self.chain} {what}"


@dataclass(frozen=True, slots=True)
class Emitted:
    """A frame the host sent: out of ``oif``, ``index`` = its position in ``--out``;
    ``kind`` is ``packet`` (the input packet itself, forwarded or sent, or one of its
    fragments), ``arp``/``ns`` (neighbour resolution) or the kind of a packet the host
    generated (``icmp``, ``tcp-reset``, ``echo-reply``, ...)."""
    oif: str
    index: int
    kind: str
    data: bytes
    time_ns: int

    def to_json(self) -> dict[str, Any]:
        return {"oif": self.oif, "index": self.index, "kind": self.kind, "len": len(self.data)}


@dataclass(frozen=True, slots=True)
class CtView:
    """The packet's conntrack entry as the ruleset saw it (after nf_conntrack_in), and
    the entry as ``conntrack -L`` prints it after the packet."""
    state: str                   # new, established, related, invalid, untracked
    new: bool                    # this packet created the entry
    entry: str | None            # conntrack -L line, None when invalid/untracked

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "new": self.new, "entry": self.entry}


@dataclass(frozen=True, slots=True)
class PacketResult:
    """The outcome of one input packet (one line of ``--json``)."""
    index: int
    time_ns: int
    iif: str
    verdict: str                 # accept, drop, queue, stolen, local
    reason: str | None
    hooks: tuple[str, ...]
    flow: Flow | None
    rule: Decision | None        # the deciding rule or policy (see docs/outcomes-schema.md)
    chains: tuple[Decision, ...]
    nat: tuple[Flow, Flow] | None
    ct: CtView | None
    emitted: tuple[Emitted, ...]
    events: tuple[dict[str, Any], ...]
    send_error: int | None = None

    @property
    def time(self) -> float:
        return self.time_ns / 1e9

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": "packet", "index": self.index, "time": round(self.time, 6), "time_ns": self.time_ns,
            "iif": self.iif, "verdict": self.verdict, "reason": self.reason,
            "flow": self.flow.to_json() if self.flow else None,
            "rule": None, "policy": None,
            "chains": [c.to_json() for c in self.chains],
            "hooks": list(self.hooks),
            "nat": {"before": self.nat[0].to_json(), "after": self.nat[1].to_json()} if self.nat else None,
            "ct": self.ct.to_json() if self.ct else None,
            "emitted": [e.to_json() for e in self.emitted],
            "events": list(self.events),
        }
        r = self.rule
        if r is not None and r.policy:
            d["policy"] = {"family": r.family, "table": r.table, "chain": r.chain, "verdict": r.verdict,
                           "hook": r.hook}
        elif r is not None:
            d["rule"] = {"family": r.family, "table": r.table, "chain": r.chain, "handle": r.handle,
                         "text": r.text, "verdict": r.verdict, "hook": r.hook}
        if self.send_error is not None:
            d["send_error"] = self.send_error
        return d


@dataclass(frozen=True, slots=True)
class TimerResult:
    """What the host did on its own between packets: neighbour timers (ARP/NS retries,
    unreachable errors for packets that waited in vain), conntrack expiry events."""
    time_ns: int
    emitted: tuple[Emitted, ...]
    events: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {"type": "timer", "time": round(self.time_ns / 1e9, 6), "time_ns": self.time_ns,
                "emitted": [e.to_json() for e in self.emitted], "events": list(self.events)}


# ------------------------------------------------------------------ ruleset
def load_ruleset(path: str, host=None):
    """A ruleset file as a model Ruleset: nft text, or nft JSON (the file starts with
    ``{``).  Errors are nft's (:class:`pkttables.errors.PktError` with a location).
    ``host``: interface names (`meta iif lan0`) resolve against the simulated host, as
    nft resolves them against the machine it runs on."""
    from pkttables.commands import FileError, Options, execute, parse_text
    from pkttables.model import Ruleset

    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            text = fh.read()
    except OSError as e:
        raise FileError(path, e.strerror or str(e)) from None
    if text.lstrip().startswith("{"):
        from pkttables.lang.json_input import parse_json
        script = parse_json(text, path)
    else:
        script = parse_text(text, path)
    return execute(script, Ruleset(), Options(ifindex=host)).ruleset


def _rule_programs(ruleset) -> Iterator[Any]:
    for t in ruleset.tables.values():
        for c in t.chains.values():
            for r in c.rules:
                prog = getattr(r, "userdata", {}).get("program")
                if prog is not None:
                    yield from getattr(prog, "instrs", ())


_CT_WORDS = ("ct", "nat", "masq", "redir", "connlimit", "synproxy", "flow_offload", "flowoffload")


#: stateful object kinds whose kernel init takes a conntrack reference on the table's
#: family: nft_ct_helper_obj_init(), nft_ct_timeout_obj_init(), nft_ct_expect_obj_init()
#: and nft_synproxy_obj_init() all call nf_ct_netns_get() -- when the object is created,
#: whether or not a rule ever refers to it (kernel test: tests/kernel/test_diff_needsct.py)
_CT_OBJECT_KINDS = frozenset({"ct helper", "ct timeout", "ct expectation", "synproxy"})


#: table family -> the layer-3 families whose conntrack hooks its ct users start.
#: nf_ct_netns_get(): NFPROTO_INET takes IPv4 and IPv6 (nf_ct_netns_inet_get), and so does
#: NFPROTO_BRIDGE (after the bridge's own hooks, nf_conntrack_bridge); an ip6 table does
#: not track IPv4 packets, nor an ip table IPv6 ones (kernel: tests/kernel/
#: test_diff_needsct_family.py).  netdev/arp tables cannot hold ct users (the kernel
#: answers EPROTO), so they start nothing.
CT_FAMILIES = {"ip": ("ip",), "ip6": ("ip6",), "inet": ("ip", "ip6"), "bridge": ("ip", "ip6")}


def _table_counts(table, family: str | None) -> bool:
    if family is None:
        return True
    return family in CT_FAMILIES.get(table.family, ())


def conntrack_families(ruleset) -> tuple[str, ...]:
    """The layer-3 families (``"ip"``, ``"ip6"``) whose packets the kernel tracks with
    this ruleset: :func:`needs_conntrack` per family.  ``Simulator`` registers
    conntrack's hooks (and NAT's) only there, as nf_ct_netns_get() does."""
    return tuple(f for f in ("ip", "ip6") if needs_conntrack(ruleset, f))


def needs_conntrack(ruleset, family: str | None = None) -> bool:
    """Does the kernel track connections for this ruleset?  nf_ct_netns_get() is called
    by the ct, nat, masq, redir, connlimit (``ct count``), synproxy and
    flow_offload expressions, and by the init of ct helper / ct timeout / ct expectation /
    synproxy objects (declared objects count even when no rule uses them; ``ct timeout
    set "x"`` is an objref expression, it is the object that starts conntrack).
    ``notrack`` alone does not: it only marks packets untracked; nor does a type nat
    chain without nat statements (its rules then never run, Simulator warns).

    ``family`` (``"ip"``/``"ip6"``): only tables whose ct users start that family's
    tracking count (that family, ``inet``, ``bridge``: :data:`CT_FAMILIES`), as the kernel
    registers conntrack's hooks per layer-3 family; ``None``: any table counts."""
    if ruleset is None:
        return False
    for t in ruleset.tables.values():
        if not _table_counts(t, family):
            continue
        # A type nat chain alone does not: nft_chain_nat registers the NAT hooks, which
        # do nothing to packets conntrack did not see (nf_nat_inet_fn() accepts a packet
        # without a ct); only the nat/masq/redir expressions take the reference
        # (nft_nat_init() etc.).  Kernel 6.18: an empty or counter-only nat chain leaves
        # ``conntrack -L`` empty and the counter at 0.
        if any(getattr(o, "kind", None) in _CT_OBJECT_KINDS for o in getattr(t, "objects", {}).values()):
            return True
        if any(_rule_starts_ct(r) for c in t.chains.values() for r in c.rules):
            return True
    return False


def _rule_starts_ct(rule) -> bool:
    """Does this rule's kernel init call nf_ct_netns_get() (see :func:`needs_conntrack`)?"""
    prog = getattr(rule, "userdata", {}).get("program")
    for ins in getattr(prog, "instrs", ()) if prog is not None else ():
        if type(ins).__name__.lower().startswith(_CT_WORDS):
            return True
        text = getattr(ins, "text", None)
        if isinstance(text, str) and text.split(" ", 1)[0] in _CT_WORDS:
            return True
    return False


def chain_id(family: str, table: str, table_handle: int, name: str, handle: int) -> tuple:
    """A base chain's identity across generations (a chain deleted and created again
    is another chain: it registered its hook again)."""
    return (family, table, table_handle, name, handle)


@dataclass(frozen=True, slots=True)
class KernelOrder:
    """The order in which the kernel registered the hook entries of a ruleset loaded
    in one batch (``nft -f``): ranks, lower = registered earlier.

    nft expands a table block into: the table, each of its chains, its objects, sets
    and flowtables, then each chain's rules (nft_cmd_expand), table after table.  The
    kernel registers while it processes the batch, before the commit:

    * a filter/route base chain: its own entry when it is created
      (nf_tables_addchain -> nf_tables_register_hook);
    * a nat base chain hangs off nf_nat, which registers *all* its entries of the
      chain's layer-3 family (dstnat -100 at prerouting/output, srcnat 100 at
      input/postrouting; inet: IPv4 and IPv6) when the family's first nat chain is
      created, whatever that chain's hook and priority (nf_nat_register_fn, first
      user) -- a nat chain at ``priority 0`` still runs NAT at -100;
    * conntrack (-200 and confirm) when the first ct user of its family appears: a ct
      object, or a rule with a ct/nat/masq/... expression (nf_ct_netns_get, first
      user).

    At equal priority the later registered runs first (nf_hook_entries_grow), so a
    filter chain at -100 created after the first nat chain of its family runs before
    NAT, and one created before it after NAT; a chain at -200 created after the first
    ct user runs before conntrack.  Kernel-checked: tests/kernel/
    test_diff_hookprio_ties.py (one table, two tables, inet/ip, snat chain first, nat
    chain at priority 0, a ct rule in an earlier table).

    Not modelled: a batch that deletes the family's last nat chain and adds another
    keeps nf_nat's entries where they were (the new chain registers before the old one
    is released at commit); here the new chain's place is used."""

    chains: dict
    nat: dict
    conntrack: dict
    size: int

    @staticmethod
    def of(ruleset) -> "KernelOrder":
        chains: dict = {}
        nat: dict = {}
        ct: dict = {}
        n = 0
        if ruleset is None:
            return KernelOrder(chains, nat, ct, 0)
        for t in sorted(ruleset.tables.values(), key=lambda t: t.handle):
            fams = CT_FAMILIES.get(t.family, ())
            for c in sorted(t.chains.values(), key=lambda c: c.handle):
                if c.hook is None:
                    continue
                if c.hook.type == "nat":
                    for f in fams:
                        nat.setdefault(f, n)
                else:
                    chains[chain_id(t.family, t.name, t.handle, c.name, c.handle)] = n
                n += 1
            if any(getattr(o, "kind", None) in _CT_OBJECT_KINDS for o in getattr(t, "objects", {}).values()):
                for f in fams:
                    ct.setdefault(f, n)
                n += 1
            for c in sorted(t.chains.values(), key=lambda c: c.handle):
                if any(_rule_starts_ct(r) for r in c.rules):
                    for f in fams:
                        ct.setdefault(f, n)
                    n += 1
        return KernelOrder(chains, nat, ct, n)


def ifnames_of(host) -> tuple[tuple[int, str], ...]:
    """``((ifindex, name), ...)`` of a host, for render's ``ListOptions(ifnames=)``."""
    out = [(int(i.ifindex), name) for name, i in host.interfaces.items() if getattr(i, "ifindex", 0)]
    if not any(idx == 1 for idx, _ in out):
        out.append((1, "lo"))
    return tuple(sorted(out))


def _has_flowtables(ruleset) -> bool:
    return ruleset is not None and any(getattr(t, "flowtables", None) for t in ruleset.tables.values())


def _sets_nftrace(ruleset) -> bool:
    """Does a rule set ``meta nftrace``?  (Only then can a packet start being traced.)"""
    from pkttables.proto import MetaKeyId

    for ins in _rule_programs(ruleset) if ruleset is not None else ():
        if type(ins).__name__ == "MetaSet" and getattr(ins, "key", None) == MetaKeyId.NFTRACE:
            return True
        text = getattr(ins, "text", None)
        if isinstance(text, str) and "nftrace" in text:
            return True
    return False


def _has_base_chains(ruleset, types: tuple[str, ...] | None = None) -> bool:
    return ruleset is not None and any(c.hook is not None and (types is None or c.hook.type in types)
                                       for t in ruleset.tables.values() for c in t.chains.values())


def _interp_backend(ruleset, host, *, seed: int):
    """The reference interpreter: ``ChainRuntime`` (pkttables.vm.stateful_impl) over a
    ``LoadedRuleset`` (pkttables.vm.chain)."""
    try:
        from pkttables.vm import chain as vmchain
        runtime_cls = getattr(vmchain, "ChainRuntime", None)
        if runtime_cls is None:
            from pkttables.vm.stateful_impl import ChainRuntime as runtime_cls
    except ImportError as e:   # the chain runner is being written
        raise RunnerUnavailable(f"the ruleset has base chains, but the chain runner cannot be imported "
                                f"({e}); pkt simulate does not guess verdicts") from None
    try:
        loaded = vmchain.LoadedRuleset(ruleset)
    except PktError:
        raise
    except Exception as e:   # a rule the interpreter cannot load: say which, do not guess
        raise RunnerUnavailable(f"the interpreter cannot load this ruleset: {type(e).__name__}: {e}") from None
    runtime = runtime_cls(loaded, host=host, seed=seed)
    from pkttables.datapath._ctglue import install_ct_get
    install_ct_get(runtime)
    return runtime


def _codegen_backend(ruleset, host, *, seed: int):
    from pkttables.backends.codegen import codegen_backend

    return codegen_backend(ruleset, host, seed=seed)


def _classifier_backend(ruleset, host, *, seed: int):
    from pkttables.backends.classified import classifier_backend

    return classifier_backend(ruleset, host, seed=seed)


#: backend name -> factory(ruleset, host, *, seed) -> object with install(HookTable).
#: ``classifier``: the interpreter with stateless first-match runs of
#: ``PKTTABLES_CLASSIFIER_MIN_RUN`` (default 8) rules or more decided by classifiers
#: (pkttables.backends.classified, docs/classifier.md)
BACKENDS: dict[str, Callable[..., Any]] = {"interp": _interp_backend, "codegen": _codegen_backend,
                                           "classifier": _classifier_backend}


# ------------------------------------------------------------------ packets
def flow_of(frame: bytes, l3: bool = False) -> Flow | None:
    """The flow of an Ethernet frame (or an L3 packet with ``l3``); None for non-IP."""
    off = 0
    if not l3:
        if len(frame) < 14:
            return None
        et = frame[12] << 8 | frame[13]
        off = 14
        if et == 0x8100 and len(frame) >= 18:
            et, off = frame[16] << 8 | frame[17], 18
        if et not in (_ETH_P_IP, _ETH_P_IPV6):
            return None
    if len(frame) < off + 1:
        return None
    ver = frame[off] >> 4
    if ver == 4 and len(frame) >= off + 20:
        ihl = (frame[off] & 0xF) * 4
        proto = frame[off + 9]
        src, dst = bytes(frame[off + 12:off + 16]), bytes(frame[off + 16:off + 20])
        th = off + ihl
        frag = struct.unpack_from("!H", frame, off + 6)[0] & 0x1FFF
        if frag:
            return Flow(4, proto, src, dst)
    elif ver == 6 and len(frame) >= off + 40:
        proto = frame[off + 6]
        src, dst = bytes(frame[off + 8:off + 24]), bytes(frame[off + 24:off + 40])
        th = off + 40
    else:
        return None
    sport = dport = None
    if proto in (6, 17, 132, 136) and len(frame) >= th + 4:
        sport, dport = struct.unpack_from("!HH", frame, th)
    elif proto in (1, 58) and len(frame) >= th + 8 and frame[th] in (8, 0, 128, 129):
        sport = dport = struct.unpack_from("!H", frame, th + 4)[0]   # the echo id
    return Flow(4 if ver == 4 else 6, proto, src, dst, sport, dport)


def _jsonable(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray)):
        if len(v) in (4, 16):
            return str(ipaddress.ip_address(bytes(v)))
        return bytes(v).hex()
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return str(v)


def event_json(ev: Any) -> dict[str, Any]:
    """One Outcome event as JSON (docs/outcomes-schema.md, "events"): conntrack events
    ``{"type": "conntrack", "line"}``, trace lines ``{"type": "trace", "line"}``, log lines
    ``{"type": "log", "line", "prefix", "group", ...}``, the runtime's other events
    (reject, queue, dup, fwd) with their fields, the engine's tuples
    (``("neigh", "incomplete", dev, addr)``) as ``{"type", "args"}``."""
    import dataclasses

    to_json = getattr(ev, "to_json", None)
    if callable(to_json):
        d = to_json()
        if isinstance(d, dict):
            return d
    cls = type(ev).__name__
    if cls == "CtEvent":
        return {"type": "conntrack", "event": getattr(ev.type, "value", str(ev.type)), "line": ev.line}
    if cls == "TraceEvent":
        return {"type": "trace", "line": ev.text}
    if dataclasses.is_dataclass(ev) and not isinstance(ev, type):
        name = cls[:-5] if cls.endswith("Event") and len(cls) > 5 else cls
        d: dict[str, Any] = {"type": name.lower()}
        for f in dataclasses.fields(ev):
            key = "packet_len" if f.name in ("packet", "original") else f.name
            v = getattr(ev, f.name)
            if f.name in ("packet", "original"):
                v = len(v) if v is not None else None
                key = f"{f.name}_len"
            elif f.name == "type":
                key = "icmp_type" if name.lower() == "reject" else "kind"
            d[key] = _jsonable(v)
        return d
    line = getattr(ev, "line", None)
    if isinstance(line, str):
        kind = getattr(ev, "kind", None)
        return {"type": kind if isinstance(kind, str) else cls.lower(), "line": line}
    if isinstance(ev, tuple) and ev and isinstance(ev[0], str):
        return {"type": ev[0], "args": [_jsonable(x) for x in ev[1:]]}
    if isinstance(ev, str):
        return {"type": "trace" if ev.startswith("trace id ") else "note", "line": ev}
    return {"type": "note", "line": str(ev)}


def _is_chain_result(ev: Any) -> bool:
    return hasattr(ev, "policy") and hasattr(ev, "chain") and hasattr(ev, "verdict") and hasattr(ev, "rule")


_VERDICT_WORDS = {0: "drop", 1: "accept", 2: "stolen", 3: "queue", 4: "repeat", 5: "stop"}


class _Record:
    """What the hooks saw for the packet being processed."""
    __slots__ = ("decisions", "ct", "ct_pkt", "ct_events", "main_events")

    def __init__(self) -> None:
        # The engine gives each generated packet (reset, ICMP error) a run of its own
        # with its own events list: the first list a hook sees is the input packet's.
        self.main_events: list | None = None
        self.decisions: list[Decision] = []
        self.ct: Any = None
        self.ct_pkt: Any = None
        self.ct_events: list[Any] = []


# ------------------------------------------------------------------ the simulator
class PacketRandom(random.Random):
    """A generator re-seeded from ``(seed, packet index)`` before its first draw for
    each packet (:meth:`arm` is one attribute store: packets that draw nothing cost
    nothing).  Every draw of ``random.Random`` goes through ``random()`` or
    ``getrandbits()``, which re-seed when armed."""

    _armed: int | None = None

    def arm(self, seed: int, index: int) -> None:
        self._armed = (seed & 0xFFFFFFFF) << 40 ^ index

    def random(self) -> float:
        if self._armed is not None:
            super().seed(self._armed)
            self._armed = None
        return super().random()

    def getrandbits(self, k: int) -> int:
        if self._armed is not None:
            super().seed(self._armed)
            self._armed = None
        return super().getrandbits(k)


class Simulator:
    """Replays packets through an :class:`~pkttables.stack.engine.Engine` with a
    ruleset and (when the ruleset needs it) connection tracking.

    ``conntrack``: None (default) tracks when the ruleset needs it, as the kernel does;
    True/False force it.  ``runtime``: an object with ``install(hook_table)`` used
    instead of ``backend`` (tests, embedders).  Raises :class:`RunnerUnavailable` when
    the ruleset has base chains and the backend cannot run them."""

    def __init__(self, host, ruleset=None, *, seed: int = 0, conntrack: bool | None = None,
                 backend: str = "interp", runtime: Any = None):
        self.host = host
        self.ruleset = ruleset
        self.seed = seed
        self.hooks = HookTable()
        self._rec = _Record()
        self.ct_table = None
        self.warnings: list[str] = []
        self._chain_results: list[Any] = []
        self._tracer: Any = None
        self._sets_nftrace = _sets_nftrace(ruleset)
        self.packets = 0
        # the kernel's registration order of this batch's hook entries (KernelOrder):
        # ranks mapped onto the hook table's clock, so entries registered later (a new
        # generation's chains, flowtables) are newer than all of them
        self._order = KernelOrder.of(ruleset)
        self._order_base = self.hooks.reserve(self._order.size)
        self._chain_seq: dict[tuple, int] = {}
        # conntrack's hooks per layer-3 family, as nf_ct_netns_get() registers them: a
        # ruleset whose ct users all sit in ip6 tables does not track IPv4
        if conntrack is None:
            self.ct_families = conntrack_families(ruleset)
        else:
            self.ct_families = ("ip", "ip6") if conntrack else ()
        if self.ct_families:
            self._install_conntrack(self.ct_families)
        if runtime is None and _has_base_chains(ruleset):
            factory = BACKENDS.get(backend)
            if factory is None:
                raise PktError(f"unknown backend '{backend}' (known: {', '.join(sorted(BACKENDS))})")
            runtime = factory(ruleset, host, seed=seed)
        self.runtime = runtime
        self.nat_table = None
        self.nat_runtime = None
        #: our chains' hook entries: (family, hook) -> {(lo, hi): entry name}
        self._entries: dict[tuple[str, str], dict[tuple[int, int], str]] = {}
        if runtime is not None and _has_base_chains(ruleset, ("nat",)):
            if self.ct_table is None:
                self.warnings.append("type nat chains need connection tracking, which is off: not run")
            else:
                self._install_nat(ruleset, seed)
        if runtime is not None:
            self._install_runtime(runtime)
            if self.ct_table is not None:
                self._wire_conntrack()
        self.engine = Engine(host, self.hooks, seed=seed)
        self.flowtable = None
        if runtime is not None and _has_flowtables(ruleset):
            self._install_flowtables(ruleset, runtime)
        # Random fields (IPv4 IDs, flow labels, numgen random, queue spreading) are drawn
        # from generators re-seeded by (seed, packet index) at each packet: a packet's
        # random values do not depend on which other packets ran before it in this
        # process, so ``--workers N`` gives the same bytes as one worker.
        self._index = -1
        #: replay's first_index: error messages name a packet by its place in its own capture
        self._index_base = 0
        self._rngs: list[PacketRandom] = []
        for owner in (self.engine, getattr(runtime, "ctx", None), getattr(self.nat_runtime, "ctx", None)):
            if owner is not None and isinstance(getattr(owner, "rng", None), random.Random):
                owner.rng = PacketRandom(seed)
                self._rngs.append(owner.rng)
        self._local = {a.ip.packed for i in host.interfaces.values() for a in i.addresses}
        #: (ifindex, name) of the simulated host: listings and traces name interfaces as
        #: nft does on the machine it runs on (``iif "lan0"``, not ``iif 2``)
        self.ifnames = ifnames_of(host)
        self._texts: dict[tuple, str | None] = {}
        self.emitted_count = 0
        self.last_ns: int | None = None

    # -------------------------------------------------------------- hooks
    def _install_conntrack(self, families: tuple[str, ...] = ("ip", "ip6")) -> None:
        from pkttables.conntrack import ConntrackTable

        rec_events = self._ct_event
        # keep_events=False: the table must not keep every event of a long capture.
        ct = self.ct_table = ConntrackTable(self.host, on_event=rec_events, keep_events=False)

        def verdict(v: int) -> HookVerdict:
            return HookVerdict(Verdict.ACCEPT if v == 1 else Verdict.DROP,
                               reason="" if v == 1 else f"conntrack: {ct.last_reason}")

        def track(pkt, st: HookState):
            v = ct.in_hook(pkt, st.hook, st.now)
            rec = self._rec
            if rec.main_events is None:
                rec.main_events = st.events
            if rec.ct_pkt is None and st.events is rec.main_events:
                rec.ct_pkt = pkt
                rec.ct = (pkt.ct, pkt.ctinfo)
            return verdict(v)

        def confirm(pkt, st: HookState):
            return verdict(ct.confirm(pkt, st.now))

        self._ct_hooks = (track, confirm)
        self._register_conntrack(families)

    def _register_conntrack(self, families: tuple[str, ...]) -> None:
        from pkttables.conntrack._table import CONFIRM_PRIORITY, CONNTRACK_PRIORITY

        track, confirm = self._ct_hooks
        for fam in families:
            seq = self._seq(self._order.conntrack.get(fam))
            self.hooks.register(fam, "prerouting", CONNTRACK_PRIORITY, track, name="conntrack", seq=seq)
            self.hooks.register(fam, "output", CONNTRACK_PRIORITY, track, name="conntrack", seq=seq)
            self.hooks.register(fam, "input", CONFIRM_PRIORITY, confirm, name="conntrack-confirm", seq=seq)
            self.hooks.register(fam, "postrouting", CONFIRM_PRIORITY, confirm, name="conntrack-confirm", seq=seq)

    def _seq(self, rank: int | None) -> int:
        """The hook-table sequence number of a KernelOrder rank (None: registered now,
        after everything: a family conntrack was forced on for, a later generation)."""
        if rank is None:
            return self.hooks.next_seq()
        return self._order_base + rank

    def _wire_conntrack(self) -> None:
        """The chains' conntrack hooks on the replay's table (pkttables.conntrack.nft:
        ``ct ... set``, ``ct count``, per-element ``ct count``; ``ChainContext.conntrack``
        for ``ct helper set``), on the filter and the nat runtime."""
        from pkttables.conntrack.nft import install

        for rt in (self.runtime, self.nat_runtime):
            if rt is not None and getattr(rt, "ctx", None) is not None:
                install(rt, self.ct_table)

    # -------------------------------------------------------------- generations
    def load(self, ruleset, *, now: float | None = None) -> None:
        """Commit a new ruleset generation, as ``nft -f`` on a running host: the named
        sets of the last generation carry over (``sets.instances_from_model(previous=)``:
        a set whose handle is unchanged keeps the elements, counters and timeouts the
        packet path gave it), rule state is kept by rule handle, conntrack entries and
        flowtable entries stay.  ``now`` (seconds) starts new elements' timeouts; by
        default the last packet's time.

        Limits: a generation that needs conntrack or NAT chains where the first did
        not is refused (the hooks would have to appear mid-capture)."""
        from pkttables.sets import instances_from_model
        from pkttables.vm.chain import LoadedRuleset

        rt = self.runtime
        if rt is None or not hasattr(rt, "reload"):
            raise PktError("this backend cannot load a new ruleset generation")
        if self.ct_table is None and needs_conntrack(ruleset):
            raise PktError("the new generation needs connection tracking, which the first one did not "
                           "start: not supported")
        if self.ct_table is not None:
            # a family the new generation's ct users start is tracked from now on, as
            # nf_ct_netns_get() registers its hooks at commit; a family no longer needed
            # stays tracked (the kernel would unregister it: not modelled)
            more = tuple(f for f in conntrack_families(ruleset) if f not in self.ct_families)
            if more:
                # registered at this commit: newer than every entry there
                self._order = KernelOrder({}, {}, {}, 0)
                self._register_conntrack(more)
                self.ct_families += more
        if self.nat_runtime is None and _has_base_chains(ruleset, ("nat",)):
            raise PktError("the new generation adds type nat chains: not supported")
        if now is None:
            now = (self.last_ns or 0) / 1e9
        previous = getattr(getattr(rt, "loaded", None), "named_sets", None)
        sets = instances_from_model(ruleset, now, previous=previous)
        rt.reload(LoadedRuleset(ruleset, sets=sets))
        if self.nat_runtime is not None:
            self.nat_runtime.reload(LoadedRuleset(ruleset, sets=sets))
        if self.ct_table is not None:
            # ct timeout objects that went away leave their entries (nf_ct_untimeout)
            from pkttables.conntrack.nft import untimeout_removed
            untimeout_removed(self.ct_table, self.ruleset, ruleset)
        self.ruleset = ruleset
        self._texts.clear()
        self._sets_nftrace = _sets_nftrace(ruleset)
        self._install_runtime(rt, reload=True)
        if _has_flowtables(ruleset):
            if self.flowtable is None:
                self._install_flowtables(ruleset, rt)
            else:
                # the flowtables' entries stay; their devices follow the new generation
                from pkttables.backends.flowtable import FlowtableHook
                fresh = FlowtableHook(ruleset, self.ct_table, self.nat_table, self.host)
                self.flowtable.flowtables, self.flowtable.devices = fresh.flowtables, fresh.devices

    def _load_at(self, time_ns: int) -> None:
        """The ruleset is loaded just before the first packet, as ``nft -f`` and then the
        traffic: static set elements with a timeout expire that long after the first
        packet's time, not after time 0 (a capture's clock is the epoch's; every element
        would be long gone).  Only rulesets with such elements are rebuilt."""
        if self.ruleset is None or not any(
                e.timeout is not None or "timeout" in s.flags and s.elements
                for t in self.ruleset.tables.values() for s in t.sets.values() for e in s.elements):
            return
        from pkttables.sets import instances_from_model
        from pkttables.vm.chain import LoadedRuleset

        rt = self.runtime
        if rt is None or not hasattr(rt, "reload"):
            return
        sets = instances_from_model(self.ruleset, time_ns / 1e9)
        rt.reload(LoadedRuleset(self.ruleset, sets=sets))
        if self.nat_runtime is not None:
            self.nat_runtime.reload(LoadedRuleset(self.ruleset, sets=sets))
        self._install_runtime(rt, reload=True)

    def _install_flowtables(self, ruleset, runtime: Any) -> None:
        """The flowtables' fast path (pkttables.backends.flowtable): ``flow add`` in the
        chains offloads through it, and each flowtable's netdev ingress hook (at its
        priority, on its devices) transmits the offloaded flows' packets."""
        from pkttables.backends.flowtable import FlowtableHook

        engine = self.engine
        hook = self.flowtable = FlowtableHook(ruleset, self.ct_table, self.nat_table, self.host,
                                              neighbour=lambda addr, dev: engine.learned.get((addr, dev)))
        for rt in (runtime, self.nat_runtime):
            ctx = getattr(rt, "ctx", None)
            if ctx is not None:
                ctx.flow_offload = hook.flow_offload(ctx)
        for (fam, tname, name), ft in hook.flowtables.items():
            engine.add_flowtable(hook, int(ft.priority or 0), ft.devices, name=f"flowtable {fam} {tname} {name}")

    def _ct_event(self, ev) -> None:
        self._rec.ct_events.append(ev)

    def _install_nat(self, ruleset, seed: int) -> None:
        """nf_nat at -100 (prerouting, output) and 100 (input, postrouting), running the
        ``type nat`` chains through a second runtime (pkttables.nat.chain_runner)."""
        from pkttables.datapath._ctglue import install_ct_get
        from pkttables.nat import NatTable, chain_runner
        from pkttables.vm.chain import LoadedRuleset
        from pkttables.vm.stateful_impl import ChainRuntime

        # One set of named-set instances for the filter and nat runtimes (packet-path updates).
        shared = getattr(getattr(self.runtime, "loaded", None), "named_sets", None)
        rt = ChainRuntime(LoadedRuleset(ruleset, sets=shared), host=self.host, seed=seed, types=("nat",))
        install_ct_get(rt)
        self._wrap_run_chain(rt)
        self.nat_table = NatTable(self.ct_table, self.host, seed=seed)
        self.nat_runtime = rt
        scratch = HookTable()
        # nft_chain_nat_init registers nf_nat's hooks for the nat chain's family only
        # (inet: both); the other family's packets never meet NAT
        fams = {f for t in ruleset.tables.values() for c in t.chains.values()
                if c.hook is not None and c.hook.type == "nat" for f in CT_FAMILIES.get(t.family, ())}
        self.nat_table.register(scratch, chain_runner(rt, self.nat_table),
                                families=tuple(f for f in ("ip", "ip6") if f in fams))
        for (fam, hook), runner in scratch.runners.items():
            for prio, name, cb in runner.entries:
                # every nf_nat entry of a family registered with its first nat chain
                self.hooks.register(fam, hook, prio, self._watch(fam, hook, cb, rt), name=name,
                                    seq=self._seq(self._order.nat.get(fam)))

    def _wrap_run_chain(self, runtime: Any) -> None:
        run_chain = getattr(runtime, "run_chain", None)
        if callable(run_chain):
            # ChainRuntime walks the base chains through run_chain: recording its
            # ChainResults tells which rule (or policy) each base chain ended with.
            results = self._chain_results

            def recording_run_chain(chain, pkt, *, family, hook, now, tracer=None):
                res = run_chain(chain, pkt, family=family, hook=hook, now=now, tracer=tracer)
                results.append(res)
                return res

            runtime.run_chain = recording_run_chain

    def _install_runtime(self, runtime: Any, *, reload: bool = False) -> None:
        """Register the backend's hook entries in the engine's hook table, as the kernel
        registers base chains: each at its own priority among conntrack, NAT, confirm
        and the flowtables (nf_register_net_hook), so a ``priority raw`` chain runs
        before conntrack and a ``priority filter`` one after it.

        A runtime with ``hook_priorities``/``entry`` (ChainRuntime and the backends built
        on it) gets one entry per run of consecutive chain priorities with no other
        entry at or between them (fewer calls, the same walk: ``_chain_spans``); other
        runtimes' ``install`` output is registered as it comes.  ``reload``: a new
        generation -- entries whose priority range is unchanged stay where they are
        (their chains read the new generation), the others are unregistered and the
        new ones registered (``Simulator._entries`` remembers which are ours)."""
        if not reload:
            self._wrap_run_chain(runtime)
            if hasattr(runtime, "tracer_factory"):
                runtime.tracer_factory = self._tracer_factory
        if hasattr(runtime, "hook_priorities") and hasattr(runtime, "entry"):
            self._install_entries(runtime)
        elif not reload:
            scratch = HookTable()
            runtime.install(scratch)
            for (fam, hook), runner in scratch.runners.items():
                if isinstance(runner, PriorityHooks):
                    for prio, name, cb in runner.entries:
                        self.hooks.register(fam, hook, prio, self._watch(fam, hook, cb), name=name)
                elif runner:
                    # a runner for the whole point: at the priority it names (else 0)
                    self.hooks.register(fam, hook, int(getattr(runner, "priority", 0) or 0),
                                        self._watch(fam, hook, runner.run), name=f"{fam} {hook} chains")
        types = getattr(runtime, "types", ("filter", "route"))
        if self.ruleset is not None:
            for (tfam, tname), t in self.ruleset.tables.items():
                for cname, c in t.chains.items():
                    if c.hook is not None and c.hook.type not in types and not (
                            c.hook.type == "nat" and self.nat_table is not None):
                        self.warnings.append(f"{tfam} {tname} {cname}: type {c.hook.type} chains are not "
                                             f"run by this backend (not run)")

    def _chain_seqs(self, chains) -> list[int]:
        """Registration sequence numbers of base chains (LoadedChain): a chain of the
        first batch has its KernelOrder rank, a chain first seen in a later generation is
        registered then (newer than everything), a chain keeps its number while it
        lives."""
        out = []
        fresh = []
        for c in chains:
            cid = chain_id(c.family, c.table, c.table_handle, c.name, c.handle)
            seq = self._chain_seq.get(cid)
            if seq is None:
                rank = self._order.chains.get(cid)
                if rank is not None:
                    seq = self._chain_seq[cid] = self._seq(rank)
                else:
                    fresh.append(cid)
            out.append(seq)
        if fresh:
            # created by this generation, in creation order (table, then chain handle)
            for cid in sorted(fresh, key=lambda cid: (cid[2], cid[4])):
                self._chain_seq[cid] = self.hooks.next_seq()
            out = [self._chain_seq[chain_id(c.family, c.table, c.table_handle, c.name, c.handle)]
                   for c in chains]
        return out

    def _chain_spans(self, fam: str, hook: str, chains, seqs: list[int], mine: set[str]) -> list[tuple]:
        """Cut the base chains of ``fam``/``hook`` (in the kernel's walk order) into
        hook entries: maximal runs with no foreign entry (conntrack, NAT, confirm,
        flowtables: not one of ``mine``) between them in the walk, where every entry is
        at ``(priority, -seq)`` (PriorityHooks).  Returns ``(prio, seq, priority)`` per
        span: ``prio`` is the span's bounds for ``ChainRuntime.entry`` -- plain
        priorities when it holds whole priorities, tie_keys when a foreign entry splits
        one priority's chains.  Netdev spans hold one priority each."""
        from pkttables.vm.chain import tie_key

        runner = self.hooks.runners.get((fam, hook))
        foreign = []
        if isinstance(runner, PriorityHooks):
            foreign = [(p, -runner.seq_of(i)) for i, (p, name, _cb) in enumerate(runner.entries)
                       if name not in mine]
        spans: list[list[int]] = []     # indexes into chains
        prev = None
        for i, c in enumerate(chains):
            key = (c.hook.priority, -seqs[i])
            if spans and not (fam == "netdev" and c.hook.priority != chains[prev].hook.priority) and not any(
                    (chains[prev].hook.priority, -seqs[prev]) < f < key for f in foreign):
                spans[-1].append(i)
            else:
                spans.append([i])
            prev = i
        out = []
        prios = [c.hook.priority for c in chains]
        for span in spans:
            first, last = chains[span[0]], chains[span[-1]]
            lo, hi = first.hook.priority, last.hook.priority
            inside = [j for j in range(len(chains)) if lo <= prios[j] <= hi]
            whole = len(inside) == len(span)
            prio = (lo, hi) if whole else (tie_key(first), tie_key(last))
            out.append((prio, seqs[span[0]], lo))
        return out

    def _install_entries(self, runtime: Any) -> None:
        """One hook entry per span of base chains (``_chain_spans``), registered at its
        first chain's priority and registration number: where the kernel's walk meets
        those chains among conntrack, NAT and the others (KernelOrder)."""
        entries = self._entries
        mine = {n for per in entries.values() for n in per.values()}
        from pkttables.stack.hooks import HOOKS
        for fam, hooks in HOOKS.items():
            for hook in hooks:
                chains = runtime.loaded.base_chains(fam, hook, types=runtime.types)
                seqs = self._chain_seqs(chains)
                have = entries.setdefault((fam, hook), {})
                want = {(prio, seq): p for prio, seq, p in self._chain_spans(fam, hook, chains, seqs, mine)}
                for k in [k for k in have if k not in want]:
                    self.hooks.runners[(fam, hook)].unregister(have.pop(k))
                for (prio, seq), p in want.items():
                    if (prio, seq) in have:
                        continue
                    e = runtime.entry(fam, hook, *prio)
                    have[(prio, seq)] = e.name
                    self.hooks.register(fam, hook, p, self._watch(fam, hook, e), name=e.name, seq=seq)
                if not have:
                    del entries[(fam, hook)]

    def _tracer_factory(self, pkt, family, hook, chain, ctx):
        # A chain whose own rule sets nftrace traces from that rule on (nft_trace_packet
        # reads skb->nf_trace at every event), so it needs a tracer from its start.
        if not getattr(pkt, "nftrace", 0) and not self._sets_nftrace:
            return None
        if self._tracer is None:
            from pkttables.trace import TraceRecorder
            # One recorder per input packet (seeded by seed and index): nothing piles up.
            self._tracer = TraceRecorder(seed=hash((self.seed, self._index + 1)) & 0xFFFFFFFF,
                                         ifnames=self.ifnames)
        return self._tracer.factory(pkt, family, hook, chain, ctx)

    def _watch(self, fam: str, hook: str, cb: Callable, runtime: Any = None) -> Callable:
        where = f"{fam} {hook}"
        runtime = runtime if runtime is not None else self.runtime
        results = self._chain_results

        def watched(pkt, st: HookState):
            n = len(st.events)
            del results[:]
            if runtime is not None and hasattr(runtime, "last_result"):
                runtime.last_result = None
            v = cb(pkt, st)
            code = v.verdict if isinstance(v, HookVerdict) else int(v)
            found = list(results)
            del results[:]
            if not found:
                for ev in st.events[n:]:
                    if _is_chain_result(ev):
                        found.append(ev)
                last = getattr(runtime, "last_result", None) if runtime is not None else None
                if not found and last is not None:
                    found.append(last)
            if any(_is_chain_result(e) for e in st.events[n:]):
                # The decision is kept here; the event itself is not an output event.
                st.events[n:] = [e for e in st.events[n:] if not _is_chain_result(e)]
            rec = self._rec
            if rec.main_events is None:
                rec.main_events = st.events
            if st.events is rec.main_events:
                # Chains that a generated packet (reset, ICMP error) passes are its own.
                if found:
                    rec.decisions.extend(self._decision(where, int(r.verdict), r) for r in found)
                else:
                    rec.decisions.append(self._decision(where, int(code), None))
            return v

        return watched

    def _decision(self, where: str, code: int, res: Any) -> Decision:
        word = _VERDICT_WORDS.get(code & 0xFF, str(code))
        if res is None:
            return Decision(where, word)
        chain = getattr(res, "chain", None)
        rule = getattr(res, "rule", None)
        fam, table, cname = (getattr(chain, "family", None), getattr(chain, "table", None),
                             getattr(chain, "name", None))
        if rule is None or getattr(res, "policy", False):
            return Decision(where, word, fam, table, cname, None, None, True)
        handle = getattr(rule, "handle", None)
        return Decision(where, word, getattr(rule, "family", fam), getattr(rule, "table", table),
                        getattr(rule, "chain", cname), handle, self._rule_text(rule, fam, table, cname, handle))

    def _rule_text(self, lrule, fam, table, chain, handle) -> str | None:
        key = (fam, table, chain, handle)
        if key not in self._texts:
            text = None
            model = getattr(lrule, "rule", None)
            if model is not None:
                try:
                    from pkttables.render.options import ListOptions
                    from pkttables.render.text import rule_line
                    t = self.ruleset.tables.get((fam, table)) if self.ruleset is not None else None
                    # Stateless (-s): the text names the rule, counters belong to --list.
                    text = rule_line(model, fam, ListOptions(stateless=True, ifnames=self.ifnames), t).strip()
                except Exception:   # a rule render cannot print still has its handle
                    loc = getattr(model, "loc", None)
                    text = getattr(loc, "line_text", None)
                    text = text.strip() if text else None
            self._texts[key] = text
        return self._texts[key]

    # -------------------------------------------------------------- running
    def _emitted(self, out: Outcome, time_ns: int) -> tuple[Emitted, ...]:
        gen = {}
        for g in out.generated:
            gen.setdefault(bytes(g.data), g.kind)
        result = []
        for e in out.emitted:
            data = e.data
            et = data[12] << 8 | data[13] if len(data) >= 14 else 0
            if et == _ETH_P_ARP:
                kind = "arp"
            else:
                kind = gen.get(bytes(data[14:]), "packet")
            result.append(Emitted(e.ifname, self.emitted_count, kind, data, time_ns))
            self.emitted_count += 1
        return tuple(result)

    def _timers(self, until_ns: int) -> Iterator[TimerResult]:
        """Run the neighbour timers due up to ``until_ns``, one due time at a time, then
        conntrack expiry."""
        yield from self._neigh_timers(until_ns)
        ct = self._ct_timer(until_ns)
        if ct is not None:
            yield ct

    def _neigh_timers(self, until_ns: int) -> Iterator[TimerResult]:
        from pkttables.stack.engine import RETRANS

        until = until_ns / 1e9
        while self.engine.pending:
            due = min(p.first + p.probes * RETRANS for p in self.engine.pending.values())
            if due > until:
                break
            self._rec = _Record()
            due_ns = int(round(due * 1e9))
            for rng in self._rngs:     # a timer's random fields: by its due time
                rng.arm(self.seed, -1 - due_ns)
            out = self.engine.advance(due)
            ems = self._emitted(out, due_ns)
            evs = tuple(event_json(e) for e in (*out.events, *self._rec.ct_events))
            if ems or evs:
                yield TimerResult(due_ns, ems, evs)

    def _ct_timer(self, until_ns: int) -> TimerResult | None:
        """Conntrack expiry up to ``until_ns``: one TimerResult with the DESTROY events."""
        if self.ct_table is None:
            return None
        self._rec = _Record()
        self.ct_table.expire(until_ns / 1e9)
        if self._rec.ct_events:
            return TimerResult(until_ns, (), tuple(event_json(e) for e in self._rec.ct_events))
        return None

    def process(self, data: bytes, time_ns: int, iif: str, index: int | None = None,
                link: int = _LINK_ETHERNET) -> Iterator[PacketResult | TimerResult]:
        """Run one packet at ``time_ns`` (after the timers due before it)."""
        notes: list[dict[str, Any]] = []
        if self.last_ns is not None and time_ns < self.last_ns:
            notes.append({"type": "note", "line": f"timestamp {time_ns} is before the previous packet's; "
                                                  f"clamped to {self.last_ns}"})
            time_ns = self.last_ns
        if self.last_ns is None:
            self._load_at(time_ns)
        yield from self._timers(time_ns)
        self.last_ns = time_ns
        idx = self.packets if index is None else index
        self.packets += 1
        self._index = idx
        for rng in self._rngs:
            rng.arm(self.seed, idx)
        frame = self._to_engine(data, link, iif, idx - self._index_base)
        l3 = iif == LOCAL
        before = flow_of(frame, l3=l3)
        self._rec = rec = _Record()
        self._tracer = None
        try:
            out = self.engine.process(frame, time_ns / 1e9, iif=iif)
        except NotImplementedError as e:
            # The interpreter met a statement whose state is not implemented yet
            # (vm.context.HookNotImplemented): stop and say where, never guess.
            rule = getattr(getattr(self.runtime, "ctx", None), "current_rule", None)
            where = ""
            if rule is not None:
                where = f" in {rule.family} {rule.table} {rule.chain} handle {rule.handle}"
                text = self._rule_text(rule, rule.family, rule.table, rule.chain, rule.handle)
                where += f" ({text})" if text else ""
            raise RunnerUnavailable(f"packet {idx - self._index_base}: the interpreter cannot run a statement{where}: {e}") from None
        ems = self._emitted(out, time_ns)
        traces: list[Any] = []
        if self._tracer is not None:
            traces, self._tracer = self._tracer.events, None
        for rt in (self.runtime, self.nat_runtime):
            ctx_events = getattr(getattr(rt, "ctx", None), "events", None)
            if isinstance(ctx_events, list):
                # The runtime copies its events into the hook state; its own list would grow.
                ctx_events.clear()
        nat = None
        if before is not None:
            for e in ems:
                if e.kind == "packet":
                    after = flow_of(e.data)
                    if after is not None and after != before:
                        nat = (before, after)
                    break
        ct = None
        if rec.ct is not None:
            ct = self._ct_view(rec, time_ns)
        events = tuple(notes) + tuple(event_json(e) for e in (*out.events, *rec.ct_events, *traces))
        yield PacketResult(idx, time_ns, iif, out.verdict.value, out.drop_reason,
                           tuple(f"{f} {h}" for f, h in out.hooks), before,
                           _deciding(out.verdict, rec.decisions), tuple(d for d in rec.decisions
                                                                        if d.chain is not None),
                           nat, ct, ems, events, out.send_error)

    def _ct_view(self, rec: _Record, time_ns: int) -> CtView:
        from pkttables.conntrack import ct_state, format_entry

        conn, ctinfo = rec.ct
        pkt = rec.ct_pkt
        saved = (pkt.ct, pkt.ctinfo)
        pkt.ct, pkt.ctinfo = conn, ctinfo
        bits = ct_state(pkt)
        pkt.ct, pkt.ctinfo = saved
        state = {1: "invalid", 2: "established", 4: "related", 8: "new", 64: "untracked"}.get(bits, str(bits))
        entry = None
        new = False
        if conn is not None and state not in ("invalid", "untracked"):
            new = state == "new" and any(getattr(ev, "conn_id", None) == conn.id
                                         and getattr(ev.type, "value", None) == "NEW" for ev in rec.ct_events)
            if getattr(conn, "confirmed", True):
                entry = format_entry(conn, time_ns / 1e9)
        return CtView(state, new, entry)

    def _to_engine(self, data: bytes, link: int, iif: str, index: int) -> bytes:
        """The record as the engine takes it: an Ethernet frame, or L3 for ``local``."""
        if iif == LOCAL:
            if link == _LINK_ETHERNET:
                return bytes(data[14:])
            if link in (_LINK_RAW, _LINK_IPV4, _LINK_IPV6):
                return bytes(data)
            if link == _LINK_SLL:
                return bytes(data[16:])
            if link == _LINK_SLL2:
                return bytes(data[20:])
        else:
            if link == _LINK_ETHERNET:
                return bytes(data)
            l3 = None
            if link in (_LINK_RAW, _LINK_IPV4, _LINK_IPV6):
                l3 = bytes(data)
            elif link == _LINK_SLL:
                l3 = bytes(data[16:])
            elif link == _LINK_SLL2:
                l3 = bytes(data[20:])
            if l3 is not None:
                dev = self.host.interfaces.get(iif)
                mac = dev.mac if dev is not None else b"\xff" * 6
                et = _ETH_P_IPV6 if l3[:1] and l3[0] >> 4 == 6 else _ETH_P_IP
                return mac + SYNTH_SRC_MAC + struct.pack("!H", et) + l3
        raise PktError(f"packet {index}: link type {link} is not supported "
                       "(Ethernet, raw IP and Linux cooked captures are)")

    def records(self, source: Any, *, iif: str | None = None, count: int | None = None,
                ) -> Iterator[tuple[int, int, str, int, bytes]]:
        """The capture's records as ``(index, time_ns, iif, linktype, data)``, each
        checked (an interface the host has, not loopback; a name or ``iif``)."""
        from pkttables.capture import read_capture

        name = source if isinstance(source, (str, os.PathLike)) else "<records>"
        records = read_capture(source) if isinstance(source, (str, os.PathLike)) else source
        for rec in records:
            if count is not None and rec.index >= count:
                break
            dev = rec.ifname or iif
            if dev is None:
                raise PktError(f"{name}: packet {rec.index}: the capture names no interface: give --iif NAME")
            if dev != LOCAL and dev not in self.host.interfaces:
                known = ", ".join(n for n in self.host.interfaces if n != "lo")
                raise PktError(f"{name}: packet {rec.index}: interface '{dev}' is not in the host "
                               f"(known: {known}, local)")
            if dev != LOCAL and self.host.interfaces[dev].kind == "loopback":
                raise PktError(f"{name}: packet {rec.index}: packets cannot arrive on the loopback "
                               f"interface '{dev}'")
            yield rec.index, rec.ts_ns, dev, rec.linktype, rec.data

    def replay(self, source: Any, *, iif: str | None = None, count: int | None = None,
               drain: float = 0.0, progress: Callable[[int, int], None] | None = None,
               first_index: int = 0) -> Iterator[PacketResult | TimerResult]:
        """Replay a capture (path or an iterable of :class:`~pkttables.capture.CaptureRecord`).

        ``iif`` is the ingress interface of records without an interface name.
        ``drain``: after the last packet, run the timers for this many more seconds.
        ``progress(packets, bytes)`` is called every 1024 packets.
        ``first_index``: the index of the capture's first record (``PacketResult.index``
        and the (seed, index) the random fields are drawn from); a run carrying on from
        a snapshot passes the packets the run before it had seen.  ``count`` and error
        messages still count records of this capture from 0."""
        if isinstance(first_index, bool) or not isinstance(first_index, int) or first_index < 0:
            raise PktError(f"first_index: must be an integer >= 0 (got {first_index!r})")
        name = source if isinstance(source, (str, os.PathLike)) else "<records>"
        nbytes = 0
        for index, ts_ns, dev, link, data in self.records(source, iif=iif, count=count):
            self._index_base = first_index
            try:
                yield from self.process(data, ts_ns, dev, first_index + index, link)
            except PktError as e:
                if name != "<records>" and not str(e).startswith(str(name)):
                    raise PktError([Diagnostic(None, f"{name}: {d.message}") for d in e.diagnostics]) from None
                raise
            finally:
                self._index_base = 0
            nbytes += len(data) + 32
            if progress is not None and self.packets % 1024 == 0:
                progress(self.packets, nbytes)
        if progress is not None:
            progress(self.packets, nbytes)
        if drain > 0 and self.last_ns is not None:
            yield from self._timers(self.last_ns + int(drain * 1e9))

    def conntrack_entries(self) -> list:
        """The final conntrack table (empty when the ruleset does not track)."""
        if self.ct_table is None:
            return []
        now = (self.last_ns or 0) / 1e9
        return self.ct_table.entries(now)


def _deciding(verdict: Disposition, decisions: list[Decision]) -> Decision | None:
    """The rule (or policy) that decided: for a drop/queue/stolen packet the first base
    chain that did not accept; otherwise the last base chain the packet passed."""
    if not decisions:
        return None
    if verdict in (Disposition.DROP, Disposition.QUEUE, Disposition.STOLEN):
        for d in decisions:
            if d.verdict not in ("accept", "stop"):
                return d if d.chain is not None else None
        return None
    for d in reversed(decisions):
        if d.chain is not None:
            return d
    return None
