"""The datapath: where packets come from and go to, the only package (with control/)
that does IO.

In: a capture file (pcap/pcapng), later NFQUEUE and AF_PACKET.  Out: per-packet
:class:`~pkttables.datapath.replay.PacketResult` values (what the engine decided, the
rule, NAT, conntrack, the frames emitted) and the emitted frames themselves.

    from pkttables.datapath import Simulator, load_ruleset
    sim = Simulator(host, load_ruleset("fw.nft"), seed=0)
    for res in sim.replay("traffic.pcapng"):
        print(res.index, res.verdict, res.rule)

See docs/simulate.md and docs/outcomes-schema.md.
"""

from pkttables.datapath.replay import (BACKENDS, SCHEMA, Decision, Emitted, Flow, PacketResult,
                                       RunnerUnavailable, Simulator, TimerResult, load_ruleset,
                                       needs_conntrack)

__all__ = ["BACKENDS", "SCHEMA", "Decision", "Emitted", "Flow", "PacketResult", "RunnerUnavailable",
           "Simulator", "TimerResult", "load_ruleset", "needs_conntrack"]
