#!/usr/bin/env python3
"""Capture ``nft describe`` outputs from the real nft 1.0.6 into describe_golden.json.

    python tests/unit/types/regen_describe.py

Queries: every datatype name, and every payload/exthdr field, meta/ct/rt/fib/socket/
xfrm key our proto tables know.  ``nft describe`` needs no ruleset and no root.
test_describe.py checks ``pkttables.types.describe`` against every entry.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from pkttables import proto as P

HERE = Path(__file__).parent

TYPE_NAMES = (
    "verdict nf_proto bitmask integer string lladdr ipv4_addr ipv6_addr ether_addr ether_type "
    "arp_op inet_proto inet_service icmp_type tcp_flag dccp_pkttype mh_type time mark iface_index "
    "iface_type realm classid uid gid ct_state ct_dir ct_status icmpv6_type ct_label pkt_type "
    "icmp_code icmpv6_code icmpx_code devgroup dscp ecn fib_addrtype boolean ct_event ifname "
    "igmp_type day hour cgroupsv2 invalid"
).split()


def queries() -> list[str]:
    q = list(TYPE_NAMES)
    q += [f"{p.name} {f}" for p in P.PROTOCOLS.values() for f in p.fields]
    q += [f"{h.name} {f}" for h in P.IPV6_EXTHDRS.values() for f in h.fields
          if (h.name, f) not in (("rt0", "addr"), ("srh", "sid"))]
    q += ["rt0 addr[1]", "srh sid[1]"]
    q += [f"tcp option {h.name} {f}" for h in P.TCP_OPTIONS.values() for f in h.fields if f != "kind"]
    q += [f"ip option {h.name} {f}" for h in P.IP_OPTIONS.values() for f in h.fields]
    q += [f"sctp chunk {h.name} {f}" for h in P.SCTP_CHUNKS.values() for f in h.fields]
    q += [f"meta {k}" for k in P.META_KEYS] + [f"meta {k}" for k in P.META_KEY_ALIASES]
    q += [f"{k}" for k, m in P.META_KEYS.items() if m.unqualified]
    q += [f"ct {k}" for k in P.CT_KEYS] + [f"ct original {k}" for k in P.CT_KEYS]
    q += [f"rt {k}" for k in P.RT_KEYS]
    q += [f"fib daddr {k}" for k in P.FIB_RESULTS]
    q += ["socket transparent", "socket mark", "socket wildcard", "socket cgroupv2 level 1"]
    q += [f"ipsec in {k}" for k in P.XFRM_KEYS]
    return q


def main() -> None:
    out = {}
    for q in queries():
        r = subprocess.run(["nft", "describe", *q.split()], capture_output=True, text=True)
        out[q] = {"rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr}
    (HERE / "describe_golden.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
