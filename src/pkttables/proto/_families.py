"""Families, their hooks, chain types and the standard priority names.

Checked against nft 1.0.6 on a 6.x kernel (``add chain`` of every combination in a
network namespace):

- ``arp forward`` is accepted by nft but the kernel's arp filter chain type only
  registers ``input`` and ``output`` (EOPNOTSUPP), hence ``kernel_hooks``.
- ``inet ingress`` needs a device, like ``netdev``; ``inet egress`` does not exist.
- Priority names (nft ``std_prios``/``bridge_std_prios`` in ``rule.c``): ``raw``,
  ``mangle`` and ``security`` exist only in ip/ip6/inet, at every hook; ``dstnat`` only
  at prerouting, ``srcnat`` only at postrouting; arp and netdev know only ``filter``;
  bridge has its own values (``filter`` -200, ``out`` 100 at output only, ``dstnat`` -300
  at prerouting, ``srcnat`` 300 at postrouting).  Listings print a standard value as its
  name (``priority filter``) and offsets as ``filter + 5`` / ``raw - 5``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from ._enums import ArpHook, InetHook, NetdevHook, NfProto

__all__ = [
    "Family", "FAMILIES", "StdPriority", "STD_PRIORITIES", "std_priority", "priority_name",
    "CHAIN_TYPES",
]


@dataclass(frozen=True, slots=True)
class Family:
    """A table family: its NFPROTO value and hooks by name (value = kernel hook number)."""

    name: str
    nfproto: NfProto
    hooks: Mapping[str, int]
    kernel_hooks: frozenset[str]
    # Hooks whose base chains need ``device`` (or ``devices``).
    device_hooks: frozenset[str] = frozenset()


_INET_HOOKS = {
    "prerouting": InetHook.PRE_ROUTING, "input": InetHook.LOCAL_IN, "forward": InetHook.FORWARD,
    "output": InetHook.LOCAL_OUT, "postrouting": InetHook.POST_ROUTING,
}
_IP5 = frozenset(_INET_HOOKS)

FAMILIES: Mapping[str, Family] = MappingProxyType({f.name: f for f in (
    Family("ip", NfProto.IPV4, MappingProxyType(dict(_INET_HOOKS)), _IP5),
    Family("ip6", NfProto.IPV6, MappingProxyType(dict(_INET_HOOKS)), _IP5),
    Family("inet", NfProto.INET, MappingProxyType({**_INET_HOOKS, "ingress": InetHook.INGRESS}),
           _IP5 | {"ingress"}, frozenset({"ingress"})),
    Family("arp", NfProto.ARP, MappingProxyType(
        {"input": ArpHook.IN, "forward": ArpHook.FORWARD, "output": ArpHook.OUT}),
        frozenset({"input", "output"})),
    # Bridge hooks reuse the NF_INET numbers (NF_BR_PRE_ROUTING == 0, ...).
    Family("bridge", NfProto.BRIDGE, MappingProxyType(dict(_INET_HOOKS)), _IP5),
    Family("netdev", NfProto.NETDEV, MappingProxyType(
        {"ingress": NetdevHook.INGRESS, "egress": NetdevHook.EGRESS}),
        frozenset({"ingress", "egress"}), frozenset({"ingress", "egress"})),
)})

#: Chain types the kernel registers, per family, with the hooks they may attach to.
CHAIN_TYPES: Mapping[str, Mapping[str, frozenset[str]]] = MappingProxyType({
    "filter": MappingProxyType({
        "ip": _IP5, "ip6": _IP5, "inet": _IP5 | {"ingress"}, "arp": frozenset({"input", "output"}),
        "bridge": _IP5, "netdev": frozenset({"ingress", "egress"}),
    }),
    "nat": MappingProxyType({
        f: frozenset({"prerouting", "input", "output", "postrouting"}) for f in ("ip", "ip6", "inet")
    }),
    "route": MappingProxyType({f: frozenset({"output"}) for f in ("ip", "ip6", "inet")}),
})


@dataclass(frozen=True, slots=True)
class StdPriority:
    """A standard priority name, its value, and where nft accepts it."""

    name: str
    value: int
    families: frozenset[str]
    hooks: frozenset[str] | None  # None: every hook of those families


_L3 = frozenset({"ip", "ip6", "inet"})
_ALL_L3_HOOKS = None

STD_PRIORITIES: tuple[StdPriority, ...] = (
    StdPriority("raw", -300, _L3, _ALL_L3_HOOKS),
    StdPriority("mangle", -150, _L3, _ALL_L3_HOOKS),
    StdPriority("dstnat", -100, _L3, frozenset({"prerouting"})),
    StdPriority("filter", 0, frozenset({"ip", "ip6", "inet", "arp", "netdev"}), _ALL_L3_HOOKS),
    StdPriority("security", 50, _L3, _ALL_L3_HOOKS),
    StdPriority("srcnat", 100, _L3, frozenset({"postrouting"})),
    # bridge_std_prios
    StdPriority("dstnat", -300, frozenset({"bridge"}), frozenset({"prerouting"})),
    StdPriority("filter", -200, frozenset({"bridge"}), _ALL_L3_HOOKS),
    StdPriority("out", 100, frozenset({"bridge"}), frozenset({"output"})),
    StdPriority("srcnat", 300, frozenset({"bridge"}), frozenset({"postrouting"})),
)


def std_priority(name: str, family: str, hook: str) -> int | None:
    """The value of priority ``name`` in ``family``/``hook``, or None where nft refuses it
    (nft then says ``invalid priority expression value in this context.``)."""
    for p in STD_PRIORITIES:
        if p.name == name and family in p.families and (p.hooks is None or hook in p.hooks):
            return p.value
    return None


def priority_name(value: int, family: str, hook: str) -> str:
    """How nft lists a base chain priority: ``filter``, ``filter + 5``, ``raw - 5``, or the
    number when no standard name is close (nft ``prio2str``: exact or within +-10)."""
    for p in STD_PRIORITIES:
        if family in p.families and (p.hooks is None or hook in p.hooks):
            off = value - p.value
            if off == 0:
                return p.name
            if 0 < off <= 10:
                return f"{p.name} + {off}"
            if -10 <= off < 0:
                return f"{p.name} - {-off}"
    return str(value)
