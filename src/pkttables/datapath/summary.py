"""Aggregates over a replay, in bounded memory: what ``pkt simulate`` prints.

Counts by verdict, by deciding rule (bounded by the number of rules), by conntrack
state and by output interface are exact.  Flows and NAT translations are unbounded in
a capture, so their top lists use the Space-Saving algorithm (Metwally, Agrawal, El
Abbadi, "Efficient Computation of Frequent and Top-k Elements in Data Streams", ICDT
2005): at most ``capacity`` counters; a new key evicts the smallest counter and
inherits its count as an error bound.  Every key whose true count exceeds
``total / capacity`` is kept, and a kept key's count is over by at most its ``error``.
With fewer distinct keys than ``capacity`` the counts are exact (error 0).
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Hashable

from pkttables.datapath.replay import PacketResult, TimerResult

__all__ = ["SpaceSaving", "Summary"]


class SpaceSaving:
    """Top-k counting in ``capacity`` counters (see the module docstring)."""

    __slots__ = ("capacity", "counts", "errors", "total", "_heap", "_seq")

    def __init__(self, capacity: int = 1024):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.counts: dict[Hashable, int] = {}
        self.errors: dict[Hashable, int] = {}
        self.total = 0
        # Lazy min-heap of (count, seq, key): stale entries (count changed since) are
        # skipped when popped, and the heap is rebuilt when it grows past 4x capacity.
        self._heap: list[tuple[int, int, Hashable]] = []
        self._seq = 0

    def _push(self, key: Hashable) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (self.counts[key], self._seq, key))
        if len(self._heap) > 4 * self.capacity:
            self._heap = [(c, i, k) for i, (k, c) in enumerate(self.counts.items())]
            heapq.heapify(self._heap)

    def add(self, key: Hashable, n: int = 1) -> None:
        self.total += n
        if key in self.counts:
            self.counts[key] += n
            self._push(key)
            return
        if len(self.counts) < self.capacity:
            self.counts[key] = n
            self.errors[key] = 0
            self._push(key)
            return
        # Evict the smallest; the newcomer may have been seen that often before.
        while True:
            c, _, victim = heapq.heappop(self._heap)
            if self.counts.get(victim) == c:
                break
        floor = self.counts.pop(victim)
        self.errors.pop(victim)
        self.counts[key] = floor + n
        self.errors[key] = floor
        self._push(key)

    def top(self, k: int) -> list[tuple[Hashable, int, int]]:
        """The ``k`` largest as (key, count, error), largest first; ties in first-seen order."""
        order = {key: i for i, key in enumerate(self.counts)}
        best = heapq.nsmallest(k, self.counts, key=lambda key: (-self.counts[key], order[key]))
        return [(key, self.counts[key], self.errors[key]) for key in best]

    def __len__(self) -> int:
        return len(self.counts)


@dataclass
class Summary:
    """Everything the human summary shows, fed one result at a time."""

    capacity: int = 1024
    packets: int = 0
    verdicts: Counter = field(default_factory=Counter)
    rules: Counter = field(default_factory=Counter)          # (family, table, chain, handle, text, verdict) -> n
    policies: Counter = field(default_factory=Counter)       # (family, table, chain, verdict) -> n
    ct_states: Counter = field(default_factory=Counter)
    emitted: Counter = field(default_factory=Counter)        # oif -> frames
    emitted_kinds: Counter = field(default_factory=Counter)
    timer_frames: int = 0
    first_ns: int | None = None
    last_ns: int | None = None

    def __post_init__(self) -> None:
        self.dropped_flows = SpaceSaving(self.capacity)
        self.drop_reasons = SpaceSaving(self.capacity)
        self.nat = SpaceSaving(self.capacity)

    def add(self, res: PacketResult | TimerResult) -> None:
        for e in res.emitted:
            self.emitted[e.oif] += 1
            self.emitted_kinds[e.kind] += 1
        if isinstance(res, TimerResult):
            self.timer_frames += len(res.emitted)
            return
        self.packets += 1
        if self.first_ns is None:
            self.first_ns = res.time_ns
        self.last_ns = res.time_ns
        self.verdicts[res.verdict] += 1
        for d in res.chains:
            if d.policy:
                self.policies[(d.family, d.table, d.chain, d.verdict)] += 1
            else:
                self.rules[(d.family, d.table, d.chain, d.handle, d.text, d.verdict)] += 1
        if res.ct is not None:
            self.ct_states[res.ct.state] += 1
        if res.verdict == "drop":
            if res.flow is not None:
                self.dropped_flows.add(res.flow)
            r = res.rule
            if r is not None:
                why = f"{r.where}: {r.text}" if r.text else r.where
            else:
                why = res.reason or "dropped"
            self.drop_reasons.add(why)
        if res.nat is not None:
            self.nat.add(res.nat)

    def to_json(self) -> dict[str, Any]:
        return {
            "packets": self.packets, "verdicts": dict(self.verdicts),
            "emitted": dict(self.emitted), "ct_states": dict(self.ct_states),
            "rules": [{"family": f, "table": t, "chain": c, "handle": h, "text": x, "verdict": v, "packets": n}
                      for (f, t, c, h, x, v), n in sorted(self.rules.items(), key=lambda kv: -kv[1])],
            "policies": [{"family": f, "table": t, "chain": c, "verdict": v, "packets": n}
                         for (f, t, c, v), n in sorted(self.policies.items(), key=lambda kv: -kv[1])],
        }
