"""The stateful hooks of the register machine, with the kernel's arithmetic, and the
runtime that runs a loaded ruleset at the netfilter hooks.

Theory of operation
-------------------
:class:`StatefulState` holds everything the kernel keeps per expression or per named
object: counters (``nft_counter``: packets and ``skb->len`` bytes), token buckets
(``nft_limit``), quotas (``nft_quota``), ``last`` timestamps, and named counter /
quota / limit objects of each table.  State is keyed by *where* the expression is --
``(family, table, chain, rule handle, expression index)`` -- so it survives reloading
an unchanged rule into a new :class:`~pkttables.vm.chain.LoadedRuleset`, as a
kernel rule keeps its counters across unrelated transactions.

:class:`ChainContext` is an :class:`~pkttables.vm.context.EvalContext` whose hooks
use that state; actions that leave the register machine (log, reject, queue, dup,
fwd) append events to ``ctx.events`` (the engine copies them to ``Outcome.events``).

Token bucket (net/netfilter/nft_limit.c, all in nanoseconds, integer division)::

    nsecs      = unit * 10**9
    packets:   cost = nsecs // rate              tokens_max = cost * burst
    bytes:     cost = nsecs * skb->len // rate   tokens_max = nsecs * (rate + burst) // rate
    eval:      tokens = min(tokens + now - last, tokens_max); last = now
               if tokens >= cost: tokens -= cost -> under the limit
               else                               -> over  (``limit`` BREAKs, ``over`` matches)

The bucket starts full; ``burst`` 0 for packets means 5 (NFT_LIMIT_PKT_BURST_DEFAULT).
Example: ``limit rate 2/second burst 3 packets``: cost 0.5 s, max 1.5 s: three packets
at t=0 pass, the fourth does not; one more passes every 0.5 s.

Quota (nft_quota.c, 6.15+): ``consumed += skb->len`` on every evaluation, over when
``consumed > quota``; ``quota over N`` (NFT_QUOTA_F_INV) matches when over,
``quota until N`` while not.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from typing import Any

from pkttables.vm.chain import (NF_VERDICT_MASK, QUEUE_BYPASS, LoadedChain, LoadedRuleset, Tracer,
                                do_chain)
from pkttables.vm.context import EvalContext
from pkttables.vm.lookup import Objref
from pkttables.vm.regs import Regs, Verdict
from pkttables.vm.stateful import LIMIT_F_INV, QUOTA_F_INV, LimitType, QueueFlag, RejectType

__all__ = [
    "Count", "TokenBucket", "QuotaState", "StatefulState", "ChainContext", "ChainRuntime",
    "HookEntry", "LogEvent", "RejectEvent", "QueueEvent", "DupEvent", "FwdEvent", "NFT_LIMIT_PKT_BURST_DEFAULT",
    "skb_len", "ObjType",
]

NFT_LIMIT_PKT_BURST_DEFAULT = 5
NSEC_PER_SEC = 1_000_000_000


class ObjType:
    """NFT_OBJECT_* (nf_tables.h)."""

    COUNTER = 1
    QUOTA = 2
    CT_HELPER = 3
    LIMIT = 4
    CT_TIMEOUT = 7


def skb_len(pkt, ctx) -> int:
    """``skb->len`` at a hook: from the network header (the MAC header was pulled) to the
    end, or to the IP length where ip_rcv trimmed the padding (``ctx.l3_trim``)."""
    if getattr(ctx, "hook_family", None) == "arp" and getattr(ctx, "hook", None) == "output":
        # arp_create() builds the frame with its hardware header (dev_hard_header)
        # before NF_ARP_OUT: skb->len counts it.
        return len(pkt.buf)
    if getattr(ctx, "hook", None) == "egress":
        # nf_hook_egress runs in __dev_queue_xmit, after dev_hard_header: the MAC
        # header is part of skb->len (measured: 14 bytes more per packet than ingress)
        return len(pkt.buf) - max(pkt.mac_off, 0)
    start = pkt.nh_off if pkt.nh_off >= 0 else max(pkt.mac_len, 0)
    if getattr(ctx, "l3_trim", False) and pkt.nh_off >= 0:
        return pkt.l3_len
    return len(pkt.buf) - start


def _ns(now: float) -> int:
    return int(now) * NSEC_PER_SEC if isinstance(now, int) else int(round(now * NSEC_PER_SEC))


@dataclass(slots=True)
class Count:
    packets: int = 0
    bytes: int = 0


@dataclass(slots=True)
class TokenBucket:
    """``struct nft_limit`` + ``nft_limit_priv`` (see the module docstring)."""

    rate: int
    unit: int
    burst: int
    bytes_mode: bool
    tokens: int = -1
    tokens_max: int = 0
    last: int | None = None

    def __post_init__(self):
        nsecs = self.unit * NSEC_PER_SEC
        if not self.bytes_mode and self.burst == 0:
            self.burst = NFT_LIMIT_PKT_BURST_DEFAULT
        if self.rate <= 0:
            self.tokens_max = 0
        elif self.bytes_mode:
            self.tokens_max = nsecs * (self.rate + self.burst) // self.rate
        else:
            self.tokens_max = (nsecs // self.rate) * self.burst
        self.tokens = self.tokens_max

    def cost(self, length: int) -> int:
        nsecs = self.unit * NSEC_PER_SEC
        if self.rate <= 0:
            return 1
        return nsecs * length // self.rate if self.bytes_mode else nsecs // self.rate

    def over(self, now_ns: int, length: int) -> bool:
        """nft_limit_eval without the inversion: True when over the limit."""
        if self.last is None:
            self.last = now_ns          # loaded "now": the bucket is full anyway
        tokens = self.tokens + max(0, now_ns - self.last)
        if tokens > self.tokens_max:
            tokens = self.tokens_max
        self.last = now_ns
        cost = self.cost(length)
        if tokens - cost >= 0:
            self.tokens = tokens - cost
            return False
        self.tokens = tokens
        return True


@dataclass(slots=True)
class QuotaState:
    quota: int
    consumed: int = 0
    depleted: bool = False

    def add(self, length: int) -> bool:
        """Add ``length``; True when over the quota (nft_overquota)."""
        self.consumed += length
        over = self.consumed > self.quota
        if self.consumed >= self.quota:
            self.depleted = True
        return over


# ------------------------------------------------------------------ events
@dataclass(frozen=True, slots=True)
class LogEvent:
    """A ``log`` statement fired: ``line`` is the kernel's nf_log text (without the
    syslog level marker); ``group`` is set for NFLOG (``log group N``) instead."""

    family: str
    hook: str
    prefix: str | None
    level: int | None
    flags: int
    group: int | None
    line: str | None


@dataclass(frozen=True, slots=True)
class RejectEvent:
    """``reject``: ``kind`` is ``tcp-reset`` (``packet`` holds the IP packet the kernel
    builds in nf_reject_ipv4/6.c) or ``icmp``/``icmpv6`` (the stack sends a
    destination unreachable of ``type``/``code`` quoting the packet, as icmp_send)."""

    kind: str
    family: str
    hook: str
    type: int
    code: int
    packet: bytes | None = None
    original: bytes = b""


@dataclass(frozen=True, slots=True)
class QueueEvent:
    num: int
    total: int
    bypass: bool
    fanout: bool
    listener: bool


@dataclass(frozen=True, slots=True)
class DupEvent:
    address: str | None
    device: int | None
    packet: bytes = b""


@dataclass(frozen=True, slots=True)
class FwdEvent:
    device: int
    address: str | None
    nfproto: int | None
    packet: bytes = b""


# ------------------------------------------------------------------ named objects
def _words(spec: dict) -> list[str]:
    """A model object's spec (AST values) as nft words: ``over 1000 bytes``."""
    out: list[str] = []
    for k, v in spec.items():
        out.append(str(k))
        for item in (v if isinstance(v, (tuple, list)) else (v,)):
            for attr in ("value", "name", "text"):
                if hasattr(item, attr) and getattr(item, attr) is not None:
                    out.append(str(getattr(item, attr)))
                    break
            else:
                if item is not None and item != ():
                    out.append(str(item))
    return out


_BYTE_UNITS = {"bytes": 1, "kbytes": 1024, "mbytes": 1024 ** 2, "gbytes": 1024 ** 3}
_TIME_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}


def _object_state(obj) -> Any:
    """Build the state of a named counter / quota / limit from the model."""
    spec = obj.spec
    if isinstance(spec, dict) and all(isinstance(v, (int, str, bool)) for v in spec.values()):
        # The commands layer's kernel-form spec: plain numbers (bytes, seconds' names)
        # and an ``over`` boolean.
        if obj.kind == "counter":
            return Count(int(spec.get("packets", 0)), int(spec.get("bytes", 0)))
        if obj.kind == "quota" and "bytes" in spec:
            return _NamedQuota(QuotaState(int(spec["bytes"]), int(spec.get("used", 0))),
                               bool(spec.get("over")))
        if obj.kind == "limit" and "rate" in spec:
            unit = spec.get("unit", "second")
            unit = _TIME_UNITS.get(unit, unit) if isinstance(unit, str) else int(unit)
            return _NamedLimit(TokenBucket(int(spec["rate"]), int(unit), int(spec.get("burst", 0)),
                                           spec.get("type") == "bytes"), bool(spec.get("over")))
    w = _words(spec)
    nums = [int(x) for x in w if x.isdigit()]
    if obj.kind == "counter":
        d = dict(zip(w[::2], w[1::2]))
        return Count(int(d.get("packets", 0) or 0), int(d.get("bytes", 0) or 0))
    if obj.kind == "quota":
        unit = next((_BYTE_UNITS[x] for x in w if x in _BYTE_UNITS), 1)
        used = 0
        if "used" in w:
            i = w.index("used")
            used = int(w[i + 1]) * next((_BYTE_UNITS[x] for x in w[i + 2:i + 3] if x in _BYTE_UNITS), 1)
        q = QuotaState(nums[0] * unit if nums else 0, used)
        return _NamedQuota(q, "over" in w)
    if obj.kind == "limit":
        rate = nums[0] if nums else 0
        unit = next((_TIME_UNITS[x] for x in w if x in _TIME_UNITS), 1)
        bmode = any(x in _BYTE_UNITS for x in w)
        mult = next((_BYTE_UNITS[x] for x in w if x in _BYTE_UNITS), 1)
        burst = 0
        if "burst" in w:
            i = w.index("burst")
            burst = int(w[i + 1])
            if bmode and i + 2 < len(w) and w[i + 2] in _BYTE_UNITS:
                burst *= _BYTE_UNITS[w[i + 2]]
        return _NamedLimit(TokenBucket(rate * mult, unit, burst, bmode), "over" in w)
    return None


@dataclass(slots=True)
class _NamedQuota:
    q: QuotaState
    inverted: bool


@dataclass(slots=True)
class _NamedLimit:
    bucket: TokenBucket
    inverted: bool


class StatefulState:
    """Every counter, bucket, quota and timestamp of a running ruleset."""

    def __init__(self) -> None:
        self.counters: dict[tuple, Count] = {}
        self.limits: dict[tuple, TokenBucket] = {}
        self.quotas: dict[tuple, QuotaState] = {}
        self.last: dict[tuple, float] = {}
        self.objects: dict[tuple, Any] = {}     # (family, table, kind, name) -> state
        self.cells: dict[tuple, list] = {}      # numgen counters and other per-instr cells

    def rule_counters(self) -> dict[tuple[str, str, str, int], Count]:
        """Counters per rule ``(family, table, chain, handle)`` (the first counter of
        each rule, as ``nft list`` and the kernel oracle report them)."""
        out: dict[tuple[str, str, str, int], Count] = {}
        for key in sorted(self.counters, key=lambda k: k[-1]):
            out.setdefault(key[:4], self.counters[key])
        return out

    def object(self, loaded: LoadedRuleset, family: str, table: str, kind: str, name: str):
        key = (family, table, kind, name)
        st = self.objects.get(key)
        if st is None:
            t = loaded.tables.get((family, table))
            obj = t.objects.get((kind, name)) if t is not None else None
            if obj is None and t is not None:
                obj = next((o for o in t.objects.values() if o.kind == kind and o.name == name), None)
            if obj is None:
                return None
            st = self.objects[key] = _object_state(obj)
        return st


_KIND_BY_TYPE = {ObjType.COUNTER: "counter", ObjType.QUOTA: "quota", ObjType.LIMIT: "limit"}


class ChainContext(EvalContext):
    """An EvalContext backed by a :class:`StatefulState` and a loaded ruleset."""

    def __init__(self, loaded: LoadedRuleset, state: StatefulState | None = None, *,
                 queue_listeners: Any = None, log_formatter: Any = None, default_ttl: int = 64,
                 **kw):
        super().__init__(**kw)
        self.loaded = loaded
        self.st = state if state is not None else StatefulState()
        self.current_rule = None
        #: the engine's HookState of the hook being run (None outside the engine)
        self.hook_state = None
        self.rule_sets: dict[str, Any] = {}
        self.events: list[Any] = []
        self.table_family = "ip"
        self.hook_family = "ip"
        #: queue numbers with a listener (None: every queue has one)
        self.queue_listeners = queue_listeners
        self.log_formatter = log_formatter
        self.default_ttl = default_ttl

    # -- where an expression is
    def _key(self, instr) -> tuple:
        r = self.current_rule
        if r is None:
            return ("?", "?", "?", 0, id(instr))
        return r.key + (r.index_of.get(id(instr), -1),)

    def state(self, instr, init):
        key = self._key(instr)
        cell = self.st.cells.get(key)
        if cell is None:
            cell = self.st.cells[key] = [instr, init() if callable(init) else init]
        return cell

    def set(self, name: str):
        r = self.current_rule
        if r is not None:
            s = r.sets.get(name)
            if s is not None:
                return s
            named = self.loaded.named_set(r.family, r.table, name)
            if named is not None:
                return named
        return super().set(name)

    # -- stateful hooks
    def counter(self, instr, pkt):
        c = self.st.counters.get(k := self._key(instr))
        if c is None:
            c = self.st.counters[k] = Count(instr.pkts, instr.bytes)
        c.packets += 1
        c.bytes += skb_len(pkt, self)

    def limit(self, instr, pkt):
        b = self.st.limits.get(k := self._key(instr))
        if b is None:
            b = self.st.limits[k] = TokenBucket(instr.rate, instr.unit, instr.burst,
                                                instr.type == LimitType.PKT_BYTES)
        return b.over(_ns(self.now), skb_len(pkt, self))

    def quota(self, instr, pkt):
        q = self.st.quotas.get(k := self._key(instr))
        if q is None:
            q = self.st.quotas[k] = QuotaState(instr.bytes, instr.consumed)
        return q.add(skb_len(pkt, self))

    def last(self, instr, pkt):
        self.st.last[self._key(instr)] = self.now

    def objref(self, instr: Objref, regs, pkt):
        r = self.current_rule
        fam, table = (r.family, r.table) if r is not None else ("ip", "")
        if instr.set is not None:
            s = self.set(instr.set)
            found, data = s.lookup(regs.load(instr.sreg, s.klen))
            if not found:
                found, data = s.catchall()
            if not found or not data:
                regs.verdict = Verdict.BREAK
                return
            name = data.rstrip(b"\0").decode() if isinstance(data, bytes) else str(data)
            kind = getattr(s, "obj_kind", None) or _KIND_BY_TYPE.get(instr.type, "counter")
        else:
            name, kind = instr.obj, _KIND_BY_TYPE.get(instr.type)
        if kind is None and int(instr.type) == ObjType.CT_HELPER:
            self._ct_helper(fam, table, name, pkt)
            return
        if kind is None and int(instr.type) == ObjType.CT_TIMEOUT:
            self._ct_timeout(fam, table, name, pkt)
            return
        if kind is None:
            return self._missing(f"objref type {instr.type}")
        obj = self.st.object(self.loaded, fam, table, kind, name)
        if obj is None:
            regs.verdict = Verdict.BREAK
            return
        length = skb_len(pkt, self)
        if isinstance(obj, Count):
            obj.packets += 1
            obj.bytes += length
        elif isinstance(obj, _NamedQuota):
            if obj.q.add(length) != obj.inverted:
                regs.verdict = Verdict.BREAK
        elif isinstance(obj, _NamedLimit):
            if obj.bucket.over(_ns(self.now), length) != obj.inverted:
                regs.verdict = Verdict.BREAK

    #: the conntrack table ``ct helper set`` attaches helpers through (the engine's, when
    #: it has one; else a private one: assign_helper only touches ``pkt.ct``)
    conntrack: Any = None

    def _ct_helper(self, fam: str, table: str, name: str, pkt) -> None:
        """``ct helper set "obj"``: nft_ct_helper_obj_eval -- attach the object's helper
        to a new, unconfirmed entry of its l4 protocol and family (docs/conntrack.md,
        "helpers").  Never changes the verdict."""
        t = self.loaded.tables.get((fam, table))
        obj = None
        if t is not None:
            obj = t.objects.get(("ct helper", name)) or next(
                (o for o in t.objects.values() if o.kind == "ct helper" and o.name == name), None)
        if obj is None or getattr(pkt, "ct", None) is None:
            return
        spec = obj.spec if isinstance(obj.spec, dict) else {}
        proto = spec.get("protocol", "tcp")
        protonum = {"tcp": 6, "udp": 17, "sctp": 132, "dccp": 33, "udplite": 136}.get(proto) \
            if isinstance(proto, str) and not proto.isdigit() else int(proto)
        # nft_ct_helper_obj_init: no l3proto -> the table's family; inet: both
        l3 = spec.get("l3proto") or fam
        l3nums = {"ip": (2,), "ip6": (10,), "inet": (2, 10)}.get(str(l3), (2, 10))
        if self.conntrack is None:
            from pkttables.conntrack import ConntrackTable   # conntrack sits below vm
            self.conntrack = ConntrackTable()
        self.conntrack.assign_helper(pkt, str(spec.get("type", name)), protonum, l3nums)

    def _ct_timeout(self, fam: str, table: str, name: str, pkt) -> None:
        """``ct timeout set "obj"``: nft_ct_timeout_obj_eval -- the object's timeouts for
        a new entry of its l4 protocol (pkttables.conntrack ``assign_timeout``)."""
        t = self.loaded.tables.get((fam, table))
        obj = t.objects.get(("ct timeout", name)) if t is not None else None
        if obj is None or getattr(pkt, "ct", None) is None:
            return
        spec = obj.spec if isinstance(obj.spec, dict) else {}
        proto = spec.get("protocol", "tcp")
        protonum = {"tcp": 6, "udp": 17, "sctp": 132, "dccp": 33, "udplite": 136, "gre": 47,
                    "icmp": 1, "icmpv6": 58}.get(proto) \
            if isinstance(proto, str) and not proto.isdigit() else int(proto)
        if self.conntrack is None:
            from pkttables.conntrack import ConntrackTable   # conntrack sits below vm
            self.conntrack = ConntrackTable()
        # obj: which object, so that deleting it in a later generation can take it from
        # the entries (nf_ct_untimeout; pkttables.conntrack.nft.untimeout_removed)
        self.conntrack.assign_timeout(pkt, protonum, dict(spec.get("policy") or {}), obj=(fam, table, name))

    def log(self, instr, pkt):
        line = None
        if instr.group is None:
            fmt = self.log_formatter
            if fmt is None:
                from pkttables.log import format_log   # log/ sits below vm in the pipeline
                fmt = format_log
            line = fmt(pkt, family=self.hook_family, hook=self.hook, prefix=instr.prefix or "",
                       flags=int(instr.flags or 0), host=self.host, table_family=self.table_family)
        self.events.append(LogEvent(self.table_family, self.hook, instr.prefix, instr.level,
                                    int(instr.flags or 0), instr.group, line))

    def reject(self, instr, regs, pkt):
        from pkttables.vm.reject import build_reject   # kept apart: packet building
        self.events.append(build_reject(instr, pkt, self))

    def queue(self, instr, regs, pkt, qnum):
        if qnum < 0:   # a range without fanout: the kernel hashes the flow (nfqueue_hash)
            qnum = instr.num + self.rng.randrange(instr.total)
        elif instr.flags & QueueFlag.CPU_FANOUT and instr.total > 1:
            qnum = instr.num   # cpu 0: queue + smp_processor_id() % total
        bypass = bool(instr.flags & QueueFlag.BYPASS)
        listeners = self.queue_listeners
        listener = listeners is None or qnum in listeners
        self.events.append(QueueEvent(qnum, instr.total, bypass,
                                      bool(instr.flags & QueueFlag.CPU_FANOUT), listener))
        regs.verdict = int(Verdict.QUEUE) | (qnum << 16) | (QUEUE_BYPASS if bypass else 0)

    def dup(self, instr, regs, pkt):
        addr = None
        if instr.sreg_addr is not None:
            v6 = self.hook_family == "ip6" or pkt.nfproto == 10
            raw = regs.load(instr.sreg_addr, 16 if v6 else 4)
            addr = str(ipaddress.ip_address(raw))
        dev = regs.load_u32(instr.sreg_dev) if instr.sreg_dev is not None else None
        self.events.append(DupEvent(addr, dev, bytes(pkt.buf)))

    def fwd(self, instr, regs, pkt):
        addr = None
        if instr.sreg_addr is not None:
            raw = regs.load(instr.sreg_addr, 16 if instr.nfproto == 10 else 4)
            addr = str(ipaddress.ip_address(raw))
        self.events.append(FwdEvent(regs.load_u32(instr.sreg_dev), addr, instr.nfproto, bytes(pkt.buf)))
        regs.verdict = Verdict.STOLEN

    def notrack(self, instr, pkt):
        # nft_notrack_eval: nf_ct_set(skb, NULL, IP_CT_UNTRACKED) unless already tracked
        if getattr(pkt, "ct", None) is None:
            pkt.ct = None
            pkt.ctinfo = 7   # IP_CT_UNTRACKED


# ------------------------------------------------------------------ the runtime
class ChainRuntime:
    """Runs a :class:`LoadedRuleset` at the hooks: ``run_hook`` walks the base chains
    of one (family, hook) in the kernel's order; ``install`` registers them in a
    :class:`pkttables.stack.hooks.HookTable` as the kernel does -- every base chain is
    its own hook entry at its own priority (nf_tables_register_hook ->
    nf_register_net_hook), interleaved with conntrack (-200), NAT (-100/100), confirm
    (INT_MAX) and the others.  Here one entry (a :class:`HookEntry`) runs the chains of
    one priority range: ``install`` gives one per distinct priority; an embedder that
    knows no other entry sits between two ranges may merge them (a walk over
    consecutive entries that all accept is the same walk as over one).

    ``tracer_factory(pkt, state) -> Tracer``: called when a packet has ``nftrace`` set
    (see :mod:`pkttables.trace`)."""

    def __init__(self, loaded: LoadedRuleset, *, host: Any = None, seed: int = 0,
                 state: StatefulState | None = None, queue_listeners: Any = (),
                 tracer_factory: Any = None, types=("filter", "route")):
        self.loaded = loaded
        self.state = state if state is not None else StatefulState()
        self.ctx = ChainContext(loaded, self.state, host=host, seed=seed,
                                queue_listeners=queue_listeners)
        self.tracer_factory = tracer_factory
        self.types = tuple(types)
        self.regs = Regs()

    def reload(self, loaded: LoadedRuleset) -> None:
        """A new generation: rules that still exist keep their state (same key)."""
        self.loaded = loaded
        self.ctx.loaded = loaded

    def run_chain(self, chain: LoadedChain, pkt, *, family: str, hook: str, now: float,
                  tracer: Tracer | None = None):
        ctx = self.ctx
        ctx.now = now
        ctx.hook = hook
        ctx.hook_family = family
        ctx.table_family = chain.family
        from pkttables.proto import NfProto
        ctx.family = int({"ip": NfProto.IPV4, "ip6": NfProto.IPV6, "inet": NfProto.INET,
                          "arp": NfProto.ARP, "bridge": NfProto.BRIDGE,
                          "netdev": NfProto.NETDEV}[chain.family])
        ctx.l3_trim = family in ("ip", "ip6") and hook != "ingress"
        return do_chain(self.loaded, chain, pkt, ctx, tracer=tracer, regs=self.regs)

    def run_hook(self, family: str, hook: str, pkt, *, now: float = 0.0, state: Any = None,
                 prio: tuple[int, int] | None = None):
        """nf_hook_slow over the base chains of every table at ``family``/``hook``
        (only those whose priority is within ``prio = (lo, hi)``, both included, when
        given: the chains of one hook entry).
        Returns a :class:`pkttables.stack.hooks.HookVerdict`."""
        from pkttables.stack.hooks import HookVerdict
        from pkttables.stack.hooks import Verdict as NF
        device = pkt.iif if hook == "ingress" else pkt.oif if hook == "egress" else None
        chains = self.loaded.base_chains(family, hook, types=self.types, device=device, prio=prio)
        events_before = len(self.ctx.events)
        result = HookVerdict(NF.ACCEPT)
        for chain in chains:
            if chain.family == "inet" and hook == "ingress" and pkt.nfproto not in (2, 10):
                # nft_do_chain_inet_ingress(): anything but IPv4/IPv6 is accepted
                # without running the chain.
                continue
            tracer = None
            if self.tracer_factory is not None:
                # the hook state's skb identity gives one trace id per skb across hooks
                self.ctx.hook_state = state
                tracer = self.tracer_factory(pkt, family, hook, chain, self.ctx)
            res = self.run_chain(chain, pkt, family=family, hook=hook, now=now, tracer=tracer)
            v = res.verdict & NF_VERDICT_MASK
            if v == Verdict.ACCEPT:
                continue
            if v == Verdict.QUEUE:
                qnum = (res.verdict >> 16) & 0xFFFF
                bypass = bool(res.verdict & QUEUE_BYPASS)
                listeners = self.ctx.queue_listeners
                if listeners is not None and qnum not in listeners:
                    if bypass:     # nf_queue() -> 1: go on with the next hook entry
                        continue
                    result = HookVerdict(NF.DROP, reason=f"queue {qnum}: no listener")
                    break
                result = HookVerdict(NF.QUEUE, queue_num=qnum, bypass=bypass)
                break
            if v == Verdict.STOLEN:
                result = HookVerdict(NF.STOLEN)
                break
            where = "policy" if res.policy else f"rule handle {res.rule.handle}" if res.rule else "rule"
            result = HookVerdict(NF.DROP, reason=f"{chain.family} {chain.table} {chain.name} {where}")
            break
        if state is not None and hasattr(state, "events"):
            state.events.extend(self.ctx.events[events_before:])
        return result

    def hook_runner(self, family: str, hook: str):
        """One runner for every base chain of ``family``/``hook`` (all priorities): for
        callers that run a hook point alone, with nothing else registered there."""
        rt = self

        class _Runner:
            def run(self, pkt, state):
                return rt.run_hook(family, hook, pkt, now=state.now, state=state)

            def __bool__(self):
                return bool(rt.loaded.base_chains(family, hook, types=rt.types))

        return _Runner()

    def hook_priorities(self, family: str, hook: str) -> list[int]:
        """The distinct priorities of the base chains at ``family``/``hook``, ascending
        (every device's chains, for netdev)."""
        return sorted({c.hook.priority for c in self.loaded.base_chains(family, hook, types=self.types)})

    def entry(self, family: str, hook: str, lo: int, hi: int | None = None) -> "HookEntry":
        """The hook callback running the chains with priority ``lo``..``hi``."""
        return HookEntry(self, family, hook, lo, lo if hi is None else hi)

    def install(self, table) -> None:
        """Register one hook entry per (family, hook, distinct base-chain priority) in
        ``table`` (a :class:`pkttables.stack.hooks.HookTable`), named
        ``"<family> <hook> chains <lo>..<hi>"``.  The chains read the runtime's current
        generation at each packet; a generation that changes the priorities needs
        its entries registered again (``pkttables.datapath.replay.Simulator.load``)."""
        from pkttables.stack.hooks import HOOKS
        for fam, hooks in HOOKS.items():
            for hook in hooks:
                for p in self.hook_priorities(fam, hook):
                    e = self.entry(fam, hook, p)
                    table.register(fam, hook, p, e, name=e.name)


class HookEntry:
    """One hook entry of a :class:`ChainRuntime`: the base chains of ``family``/``hook``
    whose priority is in ``lo``..``hi``.  Called as a hook callback
    ``(pkt, state) -> HookVerdict``: accept in one chain goes on to the next, anything
    else ends the walk there -- nf_hook_slow goes on the same way from entry to entry,
    so running one entry per chain or one per run of chains is the same."""

    __slots__ = ("runtime", "family", "hook", "lo", "hi", "name", "__name__")

    def __init__(self, runtime: ChainRuntime, family: str, hook: str, lo: int, hi: int):
        self.runtime, self.family, self.hook, self.lo, self.hi = runtime, family, hook, lo, hi
        self.name = self.__name__ = f"{family} {hook} chains {lo}..{hi}"

    def __call__(self, pkt, state):
        return self.runtime.run_hook(self.family, self.hook, pkt, now=state.now, state=state,
                                     prio=(self.lo, self.hi))

    def __repr__(self) -> str:
        return f"<HookEntry {self.name}>"
