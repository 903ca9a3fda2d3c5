"""NAT as the Linux kernel does it (nf_nat): snat, dnat, masquerade, redirect, netmap.

In: packets at the NAT hooks carrying their conntrack entry (``pkt.ct``/``pkt.ctinfo``
from :mod:`pkttables.conntrack`), and the ranges the ruleset's ``nat``/``masq``/``redir``
instructions name.  Out: bindings on the entries (reply tuple, SRC_NAT/DST_NAT and
*_NAT_DONE status bits) and rewritten packets, checksums included.

    ct = ConntrackTable(host); ct.register(hooks)
    nat = NatTable(ct, host, seed=0)
    nat.register(hooks, run_nat_chains)        # -100 prerouting/output, 100 input/postrouting
    nat.setup_info(conn, NatRange.to(addr, port=8080), ManipType.DST)   # what `dnat` does

Modules: ``_range`` (ranges, jhash2 address choice, netmap), ``_manip`` (packet
rewriting, ICMP error translation), ``_core`` (bindings, unique tuples, hooks,
masquerade, redirect, address events).  See docs/nat.md.
"""

from pkttables.nat._core import NAT_PRIORITY, NF_NAT_MAX_ATTEMPTS, NatInfo, NatTable, chain_runner
from pkttables.nat._manip import icmp_reply_translation, l3_manip
from pkttables.nat._range import (RANDOM_ALL, ManipType, NatFlag, NatRange, find_best_ips,
                                  hook_manip, jhash2, netmap_address)


def register(hook_table, run_nat_chains=None, *, conntrack, host=None, seed: int = 0,
             families=("ip", "ip6")) -> NatTable:
    """Create a :class:`NatTable` over ``conntrack`` and plug it into ``hook_table``."""
    nat = NatTable(conntrack, host, seed=seed)
    nat.register(hook_table, run_nat_chains, families)
    return nat


__all__ = [
    "NatTable", "NatInfo", "NatRange", "NatFlag", "ManipType", "RANDOM_ALL", "NAT_PRIORITY",
    "NF_NAT_MAX_ATTEMPTS", "chain_runner", "register", "l3_manip", "icmp_reply_translation",
    "find_best_ips", "jhash2", "netmap_address", "hook_manip",
]
