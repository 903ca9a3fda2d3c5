"""Every simulate backend against the reference interpreter: the comparison the backend
tests (tests/unit/backends/test_backends_simulate_equiv.py, test_backends_cgclass.py)
share.

A ruleset and a list of :class:`~pkttables.testing.kernel.Injection` go through a
:class:`pkttables.datapath.Simulator` once per backend factory (``factory(ruleset,
host, *, seed)``, as :data:`pkttables.datapath.replay.BACKENDS`), 1 ms apart from
:data:`T0`, on a fresh host each time.  What a backend may not change: every packet's
``--json`` object (verdict, reason, deciding rule, chains, hooks, NAT, conntrack view,
events), the emitted frames' bytes, and at the end every rule counter (the filter and
the NAT runtimes').  With ``second``, that ruleset is loaded as a new generation before
packet ``load_at`` on every side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pkttables.commands import Options, run_text
from pkttables.datapath import Simulator
from pkttables.model import Ruleset
from pkttables.stack.host import Host

__all__ = ["T0", "simulate", "assert_backends_agree"]

#: the first packet's time (ns); the next ones follow 1 ms apart
T0 = 1_700_000_000 * 10**9
# pcap link types: the Simulator reads a "local" injection as a raw IP packet
_LINK_ETHERNET, _LINK_RAW = 1, 101


def simulate(host: Callable[[], Host], text: str, traffic: Sequence, factory, *,
             load_at: int | None = None, second: str | None = None) -> tuple[list, list, dict, Any]:
    """Run ``traffic`` through ``text`` with the backend ``factory`` on ``host()``.
    Returns ``(json records, emitted (oif, kind, bytes), counters, runtime)``."""
    h = host()
    rs = run_text(text, Ruleset(), Options(ifindex=h)).ruleset
    sim = Simulator(h, rs, seed=7, runtime=factory(rs, h, seed=7))
    lines, frames = [], []
    for i, inj in enumerate(traffic):
        if second is not None and i == load_at:
            sim.load(run_text(second, Ruleset(), Options(ifindex=h)).ruleset)
        link = _LINK_RAW if inj.ifname == "local" else _LINK_ETHERNET
        for res in sim.process(bytes(inj.frame), T0 + i * 1_000_000, inj.ifname, i, link):
            lines.append(res.to_json())
            frames.extend((e.oif, e.kind, e.data) for e in res.emitted)
    counters = {}
    for rt in (sim.runtime, sim.nat_runtime):
        if rt is not None:
            counters.update({k: (c.packets, c.bytes) for k, c in rt.state.counters.items()})
    return lines, frames, counters, sim.runtime


def assert_backends_agree(host: Callable[[], Host], factories: Mapping[str, Any], text: str,
                          traffic: Sequence, **kw) -> dict[str, Any]:
    """Assert every factory of ``factories`` but ``"interp"`` (the reference) gives the
    interpreter's records, frames and counters; returns ``{name: runtime}``."""
    ref = simulate(host, text, traffic, factories["interp"], **kw)
    out = {}
    for name, factory in factories.items():
        if name == "interp":
            continue
        got = simulate(host, text, traffic, factory, **kw)
        for i, (a, b) in enumerate(zip(ref[0], got[0])):
            assert a == b, f"{name}: record {i} differs\n{text}\ninterp {a}\n{name} {b}"
        assert len(ref[0]) == len(got[0]), name
        assert ref[1] == got[1], f"{name}: emitted frames differ\n{text}"
        assert ref[2] == got[2], f"{name}: counters differ\n{text}"
        out[name] = got[3]
    return out
