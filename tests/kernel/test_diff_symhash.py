"""symhash against the kernel: what can be compared, and the property that must hold.

The kernel's ``symhash`` is ``__skb_get_hash_symmetric``: the flow dissector's keys,
ordered so both directions give the same keys, hashed with ``hashrnd``, a secret the
kernel draws once per boot (``net_get_random_once``).  Its values therefore cannot be
reproduced, by pkttables or by another boot of the same kernel: that is an inherent
difference, documented in docs/differential.md and docs/vm.md.

What is boot-independent is compared exactly in test_diff_handwritten.py
(``symhash mod 1`` with an offset).  Here a structural property is checked on *both*
the kernel and pkttables, each on its own numbers: the two directions of every flow
land in the same bucket, so per bucket the forward and the reverse direction count
the same packets, and every packet lands in some bucket."""

from __future__ import annotations

import pytest

from diff_traffic import C4, C6, R4, R6, lan, wan
from lab_hosts import two_interface_host
from pkttables.testing.differential import DiffLab, Scenario, quiet_host, run_pkttables
from pkttables.testing.kernel import Injection
from pkttables.testing.packets import TCP_ACK, TCP_SYN, ipv4, ipv6, tcp, udp

pytestmark = pytest.mark.kernel

MOD = 4


def _ruleset() -> str:
    rules = [f"meta mark set symhash mod {MOD}"]
    for m in range(MOD):
        rules += [f'iifname "lan0" meta mark {m} counter', f'iifname "wan0" meta mark {m} counter']
    body = "\n    ".join(rules)
    return f"""table inet t {{
  chain forw {{ type filter hook forward priority 0; policy accept;
    {body}
  }}
}}
"""


def _flows() -> list[Injection]:
    """Both directions of 16 flows: UDP/TCP over IPv4 and IPv6, different ports."""
    out = []
    for i in range(4):
        sp = 41000 + 37 * i
        out += [Injection("lan0", lan(ipv4(C4, R4, udp(sp, 53, b"q")))),
                Injection("wan0", wan(ipv4(R4, C4, udp(53, sp, b"a")))),
                Injection("lan0", lan(ipv4(C4, R4, tcp(sp + 1, 443, flags=TCP_SYN)))),
                Injection("wan0", wan(ipv4(R4, C4, tcp(443, sp + 1, flags=TCP_SYN | TCP_ACK)))),
                Injection("lan0", lan(ipv6(C6, R6, udp(sp + 2, 123, b"n")))),
                Injection("wan0", wan(ipv6(R6, C6, udp(123, sp + 2, b"m")))),
                Injection("lan0", lan(ipv6(C6, R6, tcp(sp + 3, 22, flags=TCP_SYN)))),
                Injection("wan0", wan(ipv6(R6, C6, tcp(22, sp + 3, flags=TCP_SYN | TCP_ACK))))]
    return out


def _buckets(counts_by_pos: dict[int, int]) -> list[tuple[int, int]]:
    """(lan0 packets, wan0 packets) per bucket, from the counters by rule position."""
    return [(counts_by_pos.get(1 + 2 * m, 0), counts_by_pos.get(2 + 2 * m, 0)) for m in range(MOD)]


def test_symhash_both_directions_share_a_bucket():
    host = quiet_host(two_interface_host())
    sc = Scenario(host, _ruleset(), _flows(), name="symhash-symmetric")
    n = len(sc.traffic) // 2
    with DiffLab(host) as lab:
        cmp = lab.run(sc)
    # the forwarded frames are the same (the mark does not change a byte)
    assert cmp.refused is None, cmp.refused
    assert not cmp.frames and not cmp.errors, cmp.report()

    pos = {}
    for item in cmp.kernel.ruleset_json["nftables"]:
        if "rule" in item:
            pos[item["rule"]["handle"]] = len(pos)
    kernel = {pos[key[3]]: c.packets for key, c in cmp.kernel.counters.items()}
    kb = _buckets(kernel)
    assert all(a == b for a, b in kb), f"kernel: directions in different buckets {kb}"
    assert sum(a for a, _ in kb) == n, kb

    rs, runtime, _ = run_pkttables(sc)
    handles = [r.handle for r in rs.tables[("inet", "t")].chains["forw"].rules]
    ours: dict[int, int] = {}
    for key, c in runtime.state.counters.items():
        ours[handles.index(key[3])] = ours.get(handles.index(key[3]), 0) + c.packets
    ob = _buckets(ours)
    assert all(a == b for a, b in ob), f"pkttables: directions in different buckets {ob}"
    assert sum(a for a, _ in ob) == n, ob
    # 16 flows over 4 buckets: a hash that puts them all in one bucket is no hash
    assert sum(1 for a, _ in ob if a) > 1, ob
