"""Implicit dependencies: what nft 1.0.6 inserts before a header match.

``tcp dport 22`` in an inet table is compiled as ``meta l4proto tcp`` then the port
match; ``ip saddr`` in a bridge table gets ``meta protocol ip``.  nft computes this in
``payload_gen_dependency`` / ``payload_add_dependency`` (``src/payload.c``) from the
protocol context; here it is a table, captured from nft 1.0.6 with ``--debug=netlink``
on one rule per (family, protocol) -- ``tests/unit/proto/regen_deps.py`` reproduces
the capture and ``test_deps.py`` checks every cell.

Irregularities this table keeps because nft has them:

- transport headers use ``meta l4proto`` in every family, also in ``ip`` (not
  ``ip protocol``), because l4proto survives IPv6 extension headers and fragments;
- ``icmp``/``igmp``/``icmpv6`` first pin the network protocol (``meta nfproto`` in
  inet; ``ether type`` in bridge; ``meta protocol`` in netdev), other transports do not;
- in bridge, ``ip``/``ip6`` get ``meta protocol`` but ``arp`` and ``vlan`` get
  ``ether type``; in every family but bridge, a link-layer match first checks
  ``meta iiftype ether``;
- ``th`` (any transport header) gets no dependency.

``None`` means nft refuses: ``conflicting protocols specified: FAMILY vs. PROTO`` for
payload protocols, ``cannot use exthdr with FAMILY`` for ``ipv6``/``ipv4`` exthdrs.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from ._enums import EthProto, IpProto, NfProto

__all__ = ["Dep", "DEPENDENCIES", "dependencies", "EXTHDR_SPACES"]


@dataclass(frozen=True, slots=True)
class Dep:
    """One implicit match: ``meta KEY == value`` or ``payload PROTO FIELD == value``.

    ``value`` is the plain number; the datatype of the key/field (``meta protocol`` is a
    big-endian ``ether_type``) decides its register form.
    """

    kind: str   # "meta" | "payload"
    name: str   # meta key name, or "PROTO FIELD" for payload
    value: int

    def __str__(self) -> str:
        return f"{self.name if self.kind == 'payload' else 'meta ' + self.name} {self.value:#x}"


_L4 = {n: int(getattr(IpProto, n.upper())) for n in
       ("tcp", "udp", "udplite", "esp", "ah", "comp", "dccp", "sctp")}
_ICMPISH = {"icmp": (NfProto.IPV4, EthProto.IP, IpProto.ICMP),
            "igmp": (NfProto.IPV4, EthProto.IP, IpProto.IGMP),
            "icmpv6": (NfProto.IPV6, EthProto.IPV6, IpProto.ICMPV6)}

IIFTYPE_ETHER = Dep("meta", "iiftype", 1)  # ARPHRD_ETHER
VLAN_BY_ETHER = Dep("payload", "ether type", EthProto.VLAN_8021Q)


def l4(n: int) -> Dep:
    return Dep("meta", "l4proto", n)


def _table() -> dict[str, dict[str, tuple[Dep, ...] | None]]:
    t: dict[str, dict[str, tuple[Dep, ...] | None]] = {}
    # "ipv6-exthdr" and "ipv4-option" stand for every hbh/rt/frag/.../mh and ip option;
    # "tcpopt" and "sctp-chunk" for every TCP option and SCTP chunk.
    for fam in ("ip", "ip6", "inet", "bridge", "netdev", "arp"):
        row: dict[str, tuple[Dep, ...] | None] = {}
        ll = () if fam == "bridge" else (IIFTYPE_ETHER,)
        row["ether"] = ll
        row["vlan"] = ll + (VLAN_BY_ETHER,)
        row["th"] = ()
        row["tcpopt"] = ()
        row["sctp-chunk"] = ()
        if fam == "arp":
            row["arp"] = ()
            for p in ("ip", "ip6", *_L4, *_ICMPISH):
                row[p] = None
            row["ipv6-exthdr"] = row["ipv4-option"] = None
            t[fam] = row
            continue
        for p, n in _L4.items():
            row[p] = (l4(n),)
        if fam in ("ip", "ip6"):
            own, other = ("ip", "ip6") if fam == "ip" else ("ip6", "ip")
            row[own] = ()
            row[other] = None
            row["arp"] = None
            for p, (_, _, n) in _ICMPISH.items():
                row[p] = (l4(n),)
            row["ipv6-exthdr"] = () if fam == "ip6" else None
            row["ipv4-option"] = () if fam == "ip" else None
        else:
            if fam == "inet":
                net = {"ip": Dep("meta", "nfproto", NfProto.IPV4), "ip6": Dep("meta", "nfproto", NfProto.IPV6)}
                row["arp"] = None
                icmp_net = net
            else:
                net = {"ip": Dep("meta", "protocol", EthProto.IP), "ip6": Dep("meta", "protocol", EthProto.IPV6)}
                if fam == "bridge":
                    row["arp"] = (Dep("payload", "ether type", EthProto.ARP),)
                    icmp_net = {"ip": Dep("payload", "ether type", EthProto.IP),
                                "ip6": Dep("payload", "ether type", EthProto.IPV6)}
                else:
                    row["arp"] = (Dep("meta", "protocol", EthProto.ARP),)
                    icmp_net = net
            row["ip"] = (net["ip"],)
            row["ip6"] = (net["ip6"],)
            for p, (nfp, _, n) in _ICMPISH.items():
                key = "ip" if nfp == NfProto.IPV4 else "ip6"
                row[p] = (icmp_net[key], l4(n))
            row["ipv6-exthdr"] = (icmp_net["ip6"],)
            row["ipv4-option"] = (icmp_net["ip"],)
        t[fam] = row
    return t


#: DEPENDENCIES[family][protocol] -> the implicit matches, in order, or None (refused).
DEPENDENCIES: Mapping[str, Mapping[str, tuple[Dep, ...] | None]] = MappingProxyType(
    {f: MappingProxyType(r) for f, r in _table().items()})

#: Which DEPENDENCIES column an exthdr space uses.
EXTHDR_SPACES: Mapping[str, str] = MappingProxyType({
    "ipv6": "ipv6-exthdr", "ipv4": "ipv4-option", "tcpopt": "tcpopt", "sctp": "sctp-chunk"})


def dependencies(family: str, protocol: str) -> tuple[Dep, ...] | None:
    """The implicit matches nft adds for ``protocol`` in a ``family`` table (see module doc)."""
    return DEPENDENCIES[family][protocol]
