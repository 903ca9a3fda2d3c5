"""Netfilter hook points of the simulated host, and the interface chains plug into.

Theory of operation
-------------------
The kernel calls ``nf_hook_slow()`` at each hook point of a family (prerouting, input,
forward, output, postrouting for ip/ip6, the bridge hooks, arp input/output, netdev
ingress/egress).  It walks the hook entries registered there in priority order; each
returns a verdict: ``NF_ACCEPT`` goes on to the next entry, anything else ends the walk
(``NF_DROP``: freed, ``NF_STOLEN``: the entry kept the packet, ``NF_QUEUE``: handed to
userspace).  When every entry accepted, the packet continues on its path.

Here the engine (:mod:`pkttables.stack.engine`) calls :meth:`HookTable.run` at each
point it passes.  A :class:`HookTable` maps ``(family, hook)`` to a :class:`HookRunner`;
the default runner, :class:`PriorityHooks`, keeps ``(priority, name, callback)``
entries sorted by priority (at a tie the entry registered last runs first, as
``nf_hook_entries_grow`` inserts before equal priorities) and stops at the first
verdict that is not ACCEPT.
Conntrack (-200), NAT (dstnat -100, srcnat 100) and every nft base chain register
callbacks here; the engine itself knows nothing of rules.

A callback is ``callback(pkt, state) -> Verdict | HookVerdict``.  ``pkt`` is the
:class:`~pkttables.packet.Packet` (callbacks may mangle it: the engine reads the bytes
back after the hook); ``state`` is a :class:`HookState` with the family, hook, input
and output interface names, the time and an ``events`` list the callback may append to
(trace lines, log lines, conntrack events -- they end up in ``Outcome.events``).

inet chains: the kernel registers an inet chain in both ip and ip6; a runner that
wants inet semantics registers its callback under both ``("ip", hook)`` and
``("ip6", hook)``.

Example::

    table = HookTable()
    table.register("ip", "forward", 0, lambda pkt, st: Verdict.DROP, name="fw")
    engine = Engine(host, hooks=table)
"""

from __future__ import annotations

import bisect
import enum
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

__all__ = ["Verdict", "HookVerdict", "HookState", "HookRunner", "PriorityHooks", "HookTable",
           "FAMILIES", "HOOKS"]


class Verdict(enum.IntEnum):
    """Netfilter verdicts, values of the kernel's NF_* (include/uapi/linux/netfilter.h)."""
    DROP = 0
    ACCEPT = 1
    STOLEN = 2
    QUEUE = 3
    REPEAT = 4
    STOP = 5


@dataclass(frozen=True, slots=True)
class HookVerdict:
    """A verdict with what the kernel carries next to it: the queue number of NF_QUEUE
    (and whether to accept when nobody listens: ``bypass``) and a drop reason."""
    verdict: Verdict
    queue_num: int = 0
    bypass: bool = False
    reason: str = ""
    #: with NF_STOLEN: frames the hook sends instead, ``((oif, frame), ...)``, through
    #: netdev egress (a flowtable's fast path: nf_flow_offload_ip_hook -> dev_queue_xmit)
    xmit: tuple = ()


# Hook names per family, in nft's words and in the order a packet meets them.
HOOKS: dict[str, tuple[str, ...]] = {
    "netdev": ("ingress", "egress"),
    "ip": ("prerouting", "input", "forward", "output", "postrouting"),
    "ip6": ("prerouting", "input", "forward", "output", "postrouting"),
    "bridge": ("prerouting", "input", "forward", "output", "postrouting"),
    "arp": ("input", "output"),
}
FAMILIES = tuple(HOOKS)


@dataclass(slots=True)
class HookState:
    """What a hook callback sees besides the packet (the kernel's ``nf_hook_state``)."""
    family: str
    hook: str
    iif: str | None
    oif: str | None
    now: float
    events: list[Any] = field(default_factory=list)
    engine: Any = None          # the Engine, for callbacks that need the host
    #: one object per skb for the whole walk (a forwarded packet keeps it from netdev
    #: ingress to egress; a generated packet gets its own): what the kernel's trace id
    #: hashes (nft_trace_init: the skb address)
    skb: Any = None


Callback = Callable[[Any, HookState], "Verdict | HookVerdict | int"]


class HookRunner(Protocol):
    """One hook point of one family: runs its entries and returns the final verdict."""

    def run(self, pkt: Any, state: HookState) -> HookVerdict: ...

    def __bool__(self) -> bool: ...


def _as_verdict(v: Any) -> HookVerdict:
    if isinstance(v, HookVerdict):
        return v
    return HookVerdict(Verdict(int(v)))


_ACCEPT = HookVerdict(Verdict.ACCEPT)


class PriorityHooks:
    """Callbacks of one (family, hook), in priority order (nf_hook_slow).

    Each entry has a registration sequence number ``seq``; entries are kept sorted by
    ``(priority, -seq)``: at a tie the entry registered last runs first, as
    nf_hook_entries_grow() (net/netfilter/core.c) copies the old entries until it
    meets one whose priority is >= the new one's and inserts the new one there."""

    __slots__ = ("entries", "_keys", "_tick")

    def __init__(self) -> None:
        self.entries: list[tuple[int, str, Callback]] = []
        self._keys: list[tuple[int, float]] = []
        self._tick = 0

    def register(self, priority: int, callback: Callback, name: str = "", *,
                 after_ties: bool = False, seq: float | None = None) -> None:
        """Add ``callback`` at ``priority``.

        By default the entry is the newest: it goes before every entry of equal
        priority (the kernel's rule, see the class docstring).

        ``seq``: the entry's place in the registration sequence, for a caller that
        registers in another order than the kernel did and knows the kernel's order:
        :class:`pkttables.datapath.replay.Simulator` installs conntrack, NAT and the
        base chains in that order, while the kernel registered them as the batch
        created the chains, the first nat chain and the first ct user
        (tests/kernel/test_diff_hookprio_ties.py).  A higher ``seq`` is newer.

        ``after_ties=True`` makes it older than every entry of equal priority already
        there (it runs after them, and after earlier ``after_ties`` entries).
        """
        if seq is None:
            if after_ties:
                seq = min((-k[1] for k in self._keys if k[0] == priority), default=self._tick) - 1
            else:
                seq = self._tick
        self._tick = max(self._tick, int(seq) + 1)
        key = (priority, -seq)
        i = bisect.bisect_right(self._keys, key)
        self._keys.insert(i, key)
        self.entries.insert(i, (priority, name or getattr(callback, "__name__", "hook"), callback))

    def seq_of(self, index: int) -> float:
        """The registration sequence number of ``entries[index]``."""
        return -self._keys[index][1]

    def unregister(self, name: str) -> None:
        keep = [(k, e) for k, e in zip(self._keys, self.entries) if e[1] != name]
        self._keys = [k for k, _ in keep]
        self.entries = [e for _, e in keep]

    def run(self, pkt: Any, state: HookState) -> HookVerdict:
        for _prio, _name, cb in self.entries:
            v = _as_verdict(cb(pkt, state))
            if v.verdict == Verdict.ACCEPT:
                continue
            if v.verdict == Verdict.STOP:
                # NF_STOP: accept without running the later entries (ip_sabotage_in).
                return _ACCEPT
            return v
        return _ACCEPT

    def __bool__(self) -> bool:
        return bool(self.entries)


class HookTable:
    """Every hook point of the host: ``(family, hook) -> HookRunner``."""

    __slots__ = ("runners", "_tick")

    def __init__(self) -> None:
        self.runners: dict[tuple[str, str], HookRunner] = {}
        self._tick = 0

    def next_seq(self) -> int:
        """A registration sequence number newer than every one handed out so far (one
        clock for every hook point, as the kernel registers hooks one after another)."""
        self._tick += 1
        return self._tick

    def reserve(self, n: int) -> int:
        """Reserve ``n`` consecutive sequence numbers; returns the first (for a caller
        that registers a batch's entries in its own order, :meth:`PriorityHooks.register`)."""
        first = self._tick + 1
        self._tick += n
        return first

    def register(self, family: str, hook: str, priority: int, callback: Callback, *,
                 name: str = "", after_ties: bool = False, seq: float | None = None) -> None:
        """Register on the :class:`PriorityHooks` of ``(family, hook)``; ``after_ties``
        and ``seq`` as in :meth:`PriorityHooks.register` (default: the newest entry)."""
        if family not in HOOKS or hook not in HOOKS[family]:
            raise ValueError(f"no hook {hook!r} in family {family!r}")
        runner = self.runners.get((family, hook))
        if runner is None:
            runner = self.runners[(family, hook)] = PriorityHooks()
        if not isinstance(runner, PriorityHooks):
            raise ValueError(f"{family} {hook} has a custom runner; register on it directly")
        if seq is None and not after_ties:
            seq = self.next_seq()
        elif seq is not None:
            self._tick = max(self._tick, int(seq))
        runner.register(priority, callback, name, after_ties=after_ties, seq=seq)

    def set_runner(self, family: str, hook: str, runner: HookRunner) -> None:
        """Install a whole runner at one point (the register machine plugs in here)."""
        self.runners[(family, hook)] = runner

    def run(self, family: str, hook: str, pkt: Any, state: HookState) -> HookVerdict:
        runner = self.runners.get((family, hook))
        if not runner:
            return _ACCEPT
        return runner.run(pkt, state)
