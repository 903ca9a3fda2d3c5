"""Interpreter cost per packet per rule: the ``interp-rules`` figures of ``pkt bench``.

Theory of operation
-------------------
For each typical rule (:data:`RULES`: a payload match, meta keys, an anonymous set
lookup, a verdict map, a counter, ``ct state``, a DNAT) a table is built whose base
chain holds ``K`` copies of that rule, none of which ends the chain (each one misses,
continues or counts), and a second table whose chain is empty.  The same realistic
traffic (:func:`traffic`: a mix of IPv4/IPv6 TCP, UDP and ICMP frames from a LAN
client, some to well-known ports) is run through both with
:meth:`ChainRuntime.run_hook`, and::

    ns per packet per rule = (t(K rules) - t(empty chain)) / packets / K

so the hook dispatch and the per-packet overhead of the runtime are not charged to
the rule.  DNAT ends the chain (its verdict is ACCEPT), so it is measured with one
rule (``K = 1``) in a ``type nat`` chain; every round gets fresh, unconfirmed
conntrack entries (built before the clock starts), as NAT only runs on the first
packet of a connection.  ``ct state`` reads the entry that conntrack attached
before the clock starts, so only the rule's cost is timed.  Each figure is the best
of :data:`ROUNDS` rounds, both chains measured alternately within a round.

Everything is deterministic (seeded) and needs no root.
"""

from __future__ import annotations

import random
import struct
import time
from typing import Any

__all__ = ["run_interp_bench", "RULES", "traffic", "measure"]

#: name -> (chain type, rule text, copies K, note)
RULES: dict[str, tuple[str, str, int, str]] = {
    "payload": ("filter", "ip saddr 198.51.100.0/24 tcp dport 22 accept", 20,
                "two payload matches, misses"),
    "meta": ("filter", 'meta iifname "eth1" meta l4proto udp accept', 20, "ifname + l4proto, misses"),
    "set": ("filter", "tcp dport { 21, 23, 25, 110, 143, 445, 3389, 5900 } drop", 20,
            "anonymous set of 8 ports, mostly misses"),
    "vmap": ("filter", "meta l4proto vmap { tcp : continue, udp : continue, icmp : continue, "
                       "ipv6-icmp : continue }", 20, "every packet continues"),
    "counter": ("filter", "counter", 20, "every packet counted"),
    "ct-state": ("filter", "ct state invalid drop", 20, "conntrack attached beforehand"),
    "nat": ("nat", "dnat ip to 10.0.0.5", 1, "one DNAT per new connection"),
}
ROUNDS = 5


def traffic(n: int, seed: int = 7) -> list[bytes]:
    """``n`` Ethernet frames from a LAN client: 60 % TCP (a quarter to 22/80/443),
    25 % UDP (DNS/NTP/other), 10 % ICMP echo, 5 % IPv6 TCP; distinct flows."""
    from pkttables.testing.packets import ether, icmp_echo, ipv4, ipv6, tcp, udp
    rng = random.Random(seed)
    out = []
    for i in range(n):
        x = rng.random()
        sport = 1024 + (i % 60000)
        dst4 = f"203.0.113.{1 + rng.randrange(250)}"
        if x < 0.60:
            dport = rng.choice((22, 80, 443)) if rng.random() < 0.25 else rng.randrange(1, 65535)
            l3 = ipv4("192.168.1.10", dst4, tcp(sport, dport))
        elif x < 0.85:
            l3 = ipv4("192.168.1.10", dst4, udp(sport, rng.choice((53, 123, 5000)), b"q" * rng.randrange(8, 64)))
        elif x < 0.95:
            l3 = ipv4("192.168.1.10", dst4, icmp_echo(i & 0xFFFF, 1, b"ping" * 8))
        else:
            l3 = ipv6("fd00:1::10", f"2001:db8::{1 + rng.randrange(250):x}", tcp(sport, 443))
        out.append(ether("02:00:00:00:00:01", "02:00:00:00:00:10", l3))
    return out


def _ruleset(kind: str, copies: int) -> str:
    ctype, rule, _, _ = RULES[kind]
    body = "\n    ".join([rule] * copies)
    return (f"table inet b {{\n  chain pre {{ type {ctype} hook prerouting priority "
            f"{'dstnat' if ctype == 'nat' else 0}; policy accept;\n    {body}\n  }}\n}}\n")


def _runtime(text: str, host: Any):
    from pkttables.commands import Options, run_text
    from pkttables.model import Ruleset
    from pkttables.vm.chain import LoadedRuleset
    from pkttables.vm.stateful_impl import ChainRuntime
    rs = run_text(text, Ruleset(), Options(ifindex=host)).ruleset
    types = ("filter", "route", "nat")
    rt = ChainRuntime(LoadedRuleset(rs), host=host, seed=1)
    rt.types = types
    return rt


def _packets(frames: list[bytes], kind: str, ct: Any, now: float) -> list[Any]:
    """Parsed packets, with fresh conntrack entries (from ``ct``) where the rule needs them."""
    from pkttables.packet import LinkType, Packet
    pkts = []
    for f in frames:
        p = Packet(f, LinkType.ETHERNET, iif="eth0", timestamp=now)
        # the runtime sees the packet at the IP hooks: no MAC header, as after ip_rcv
        pkts.append(p)
    if kind in ("ct-state", "nat"):
        for p in pkts:
            ct.in_hook(p, "prerouting", now)
    return pkts


def _attach(rt, kind: str, host: Any, ct: Any) -> None:
    if kind == "ct-state":
        from pkttables.conntrack import ct_state
        rt.ctx.ct_get = lambda instr, pkt: struct.pack("<I", ct_state(pkt))
    elif kind == "nat":
        from pkttables.nat._core import NatTable
        NatTable(ct, host, seed=1).attach(rt.ctx)


def _run(rt, pkts: list[Any]) -> float:
    fam = {4: "ip", 6: "ip6"}
    hook = rt.run_hook
    t = time.perf_counter()
    for p in pkts:
        hook(fam[p.buf[p.nh_off] >> 4], "prerouting", p, now=1.0)
    return time.perf_counter() - t


def measure(kind: str, frames: list[bytes], host: Any = None) -> tuple[float, float]:
    """(ns per packet per rule, ns per packet of the empty chain) for ``kind``."""
    from pkttables.stack.host import Host
    host = host or Host.single_interface()
    _, _, copies, _ = RULES[kind]
    full, empty = _runtime(_ruleset(kind, copies), host), _runtime(_ruleset(kind, 0), host)
    from pkttables.conntrack import ConntrackTable
    ct = ConntrackTable(host)
    _attach(full, kind, host, ct)
    _attach(empty, kind, host, ct)
    best_full = best_empty = float("inf")
    n = len(frames)
    for _ in range(ROUNDS):
        if kind == "nat":
            ct = ConntrackTable(host)     # fresh entries and a fresh tuple space per round
            _attach(full, kind, host, ct)
        pf, pe = _packets(frames, kind, ct, 1.0), _packets(frames, kind, ct, 1.0)
        best_empty = min(best_empty, _run(empty, pe))
        best_full = min(best_full, _run(full, pf))
    per_rule = max(best_full - best_empty, 0.0) / n / copies * 1e9
    return per_rule, best_empty / n * 1e9


def run_interp_bench(report, opt) -> None:
    """``pkt bench`` workload ``interp-rules``: the reference interpreter's cost per
    packet per rule for typical rules (see the module docstring).  No baseline: these
    are absolute figures for comparing rule kinds and for spotting regressions."""
    from pkttables.bench.report import Measurement
    # 10k packets x K=20 rules = 200k rule evaluations per figure, best of ROUNDS: as
    # steady as 20k was and half the workload's time (pkt bench's 10-minute total)
    n = opt.n(10_000, 2_000)
    frames = traffic(n)
    base = None
    for kind, (_ctype, rule, copies, note) in RULES.items():
        per_rule, empty = measure(kind, frames)
        base = empty if base is None else min(base, empty)
        report.add(Measurement("interp-rules", "pkttables", kind, per_rule, "ns/pkt/rule", n,
                               f"{note}; K={copies}: {rule}"))
    report.add(Measurement("interp-rules", "pkttables", "empty chain", base or 0.0, "ns/pkt", n,
                           "hook dispatch + runtime, charged to no rule"))
