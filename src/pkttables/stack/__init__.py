"""The simulated host and its packet path.

In: a host description (``contracts/host.toml.md``) and packets.  Out: routing decisions
now; later ``engine.process(packet, now) -> Outcome`` across the netfilter hooks.
"""
