#!/usr/bin/env python3
"""Regenerate the nft 1.0.6 goldens for pkttables.proto (needs root and nft).

    python tests/unit/proto/regen_golden.py

Writes, next to this file:
- ``netlink_loads.json``: for every payload/exthdr field in our tables, the
  ``--debug=netlink`` instruction lines nft prints for ``FIELD VALUE`` in an inet table;
- ``deps.json``: for every (family, protocol) the instructions nft emits for one
  representative match (``test_deps.py`` checks DEPENDENCIES against them).

Everything runs in a throwaway network namespace ``pkttypes<pid>``, deleted in finally.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from pkttables.proto import IP_OPTIONS, IPV6_EXTHDRS, PROTOCOLS, SCTP_CHUNKS, TCP_OPTIONS

HERE = Path(__file__).parent
NS = f"pkttypes{os.getpid()}"

VALUES = {"ipv4_addr": "1.2.3.4", "ipv6_addr": "::1", "ether_addr": "0:0:0:0:0:1"}

#: one representative match per protocol column of DEPENDENCIES
DEP_PROBES = {
    "ether": "ether saddr 0:0:0:0:0:1", "vlan": "vlan id 1", "th": "th dport 22",
    "tcpopt": "tcp option maxseg size 1", "sctp-chunk": "sctp chunk data tsn 1",
    "arp": "arp operation 1", "ip": "ip saddr 1.1.1.1", "ip6": "ip6 saddr ::1",
    "tcp": "tcp dport 22", "udp": "udp dport 22", "udplite": "udplite dport 22",
    "esp": "esp spi 1", "ah": "ah spi 1", "comp": "comp cpi 1", "dccp": "dccp sport 1",
    "sctp": "sctp vtag 1", "icmp": "icmp code 1", "igmp": "igmp mrt 1", "icmpv6": "icmpv6 code 1",
    "ipv6-exthdr": "hbh nexthdr 1", "ipv4-option": "ip option rr ptr 1",
}


def nft(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", NS, "nft", *args], capture_output=True, text=True, check=check)


def field_exprs() -> list[str]:
    out = []
    for p in PROTOCOLS.values():
        out += [f"{p.name} {f.name} {VALUES.get(f.dtype_name, '1')}" for f in p.fields.values()]
    for h in IPV6_EXTHDRS.values():
        for f in h.fields.values():
            name = f"{f.name}[1]" if f.name in ("sid",) or (h.name == "rt0" and f.name == "addr") else f.name
            out.append(f"{h.name} {name} {VALUES.get(f.dtype_name, '1')}")
    for h in TCP_OPTIONS.values():
        out += [f"tcp option {h.name} {f} 1" for f in h.fields]
    for h in IP_OPTIONS.values():
        out += [f"ip option {h.name} {f} 1" for f in h.fields]
    for h in SCTP_CHUNKS.values():
        out += [f"sctp chunk {h.name} {f} 1" for f in h.fields]
    return out


def debug_rule(family: str, expr: str) -> list[str] | str:
    r = nft("--debug=netlink", "add", "rule", family, "t", "c", *expr.split(), check=False)
    if r.returncode:
        return "ERROR " + r.stderr.splitlines()[0]
    return [ln.strip() for ln in r.stdout.splitlines() if ln.strip().startswith("[")]


def main() -> None:
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        for fam in ("ip", "ip6", "inet", "bridge", "netdev", "arp"):
            nft("add", "table", fam, "t")
            spec = "type filter hook ingress device lo priority 0;" if fam == "netdev" \
                else "type filter hook input priority 0;"
            nft("add", "chain", fam, "t", "c", "{ " + spec + " }")
        loads = {e: debug_rule("arp" if e.startswith("arp ") else "inet", e) for e in field_exprs()}
        (HERE / "netlink_loads.json").write_text(json.dumps(loads, indent=1, sort_keys=True) + "\n")
        deps = {fam: {col: debug_rule(fam, e) for col, e in DEP_PROBES.items()}
                for fam in ("ip", "ip6", "inet", "bridge", "netdev", "arp")}
        (HERE / "deps.json").write_text(json.dumps({"probes": DEP_PROBES, "dumps": deps}, indent=1) + "\n")
    finally:
        subprocess.run(["ip", "netns", "del", NS], check=False)


if __name__ == "__main__":
    main()
