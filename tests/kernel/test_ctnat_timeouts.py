"""Issue 6: conntrack timeouts against the kernel, with short timeouts from sysctls and
traffic spread over seconds (the kernel really waits; pkttables' clock is the sum of the
injections' delays).  Expired entries must be gone on both sides, refreshed ones kept,
and the remaining seconds agree within one."""

from __future__ import annotations

import pytest

from ctnat_lab import CtNatLab, CtScenario
from ctnat_scenarios import ACK, SA, SYN, addrs, lan, ruleset, wan
from test_nat_kernel import nat_host
from pkttables.testing import packets as P

pytestmark = pytest.mark.kernel

SYSCTLS = {
    "net.netfilter.nf_conntrack_udp_timeout": 1,
    "net.netfilter.nf_conntrack_udp_timeout_stream": 3,
    "net.netfilter.nf_conntrack_icmp_timeout": 1,
    "net.netfilter.nf_conntrack_icmpv6_timeout": 1,
    "net.netfilter.nf_conntrack_tcp_timeout_syn_sent": 1,
    "net.netfilter.nf_conntrack_tcp_timeout_syn_recv": 2,
    "net.netfilter.nf_conntrack_tcp_timeout_established": 4,
}


def scenarios():
    for v6 in (False, True):
        c, s, w = addrs(v6)
        tag = "v6" if v6 else "v4"
        # UDP: refreshed before it expires, then left to expire; a later packet is NEW
        yield CtScenario(f"timeout-{tag}-udp-refresh-expire", ruleset(), [
            lan(c, s, P.udp(50000, 53, b"a"), v6),
            lan(c, s, P.udp(50000, 53, b"b"), v6, delay=0.6),
            lan(c, s, P.udp(50001, 53, b"c"), v6, delay=0.7),      # 50000 still there
            lan(c, s, P.udp(50000, 53, b"d"), v6, delay=1.3),      # 50000 expired: new
        ])
        # UDP stream (reply seen, then more): the stream timeout
        yield CtScenario(f"timeout-{tag}-udp-stream", ruleset(nat_post='        oifname "wan0" masquerade\n'), [
            lan(c, s, P.udp(50002, 5000, b"a"), v6), wan(s, w, P.udp(5000, 50002, b"b"), v6),
            lan(c, s, P.udp(50002, 5000, b"c"), v6, delay=0.5),
            wan(s, w, P.udp(5000, 50002, b"d"), v6, delay=1.2),    # past 1 s: still there
        ])
        # ICMP echo expiring between two pings with the same id
        yield CtScenario(f"timeout-{tag}-icmp", ruleset(), [
            lan(c, s, P.icmp_echo(77, 1, v6=v6), v6),
            wan(s, c, P.icmp_echo(77, 1, reply=True, v6=v6), v6, delay=1.3),   # expired: invalid
            lan(c, s, P.icmp_echo(77, 2, v6=v6), v6),
        ])
        # TCP: SYN_SENT expires; an established one keeps 4 s
        yield CtScenario(f"timeout-{tag}-tcp", ruleset(), [
            lan(c, s, P.tcp(50010, 80, SYN, seq=1), v6),
            lan(c, s, P.tcp(50011, 80, SYN, seq=1), v6),
            wan(s, c, P.tcp(80, 50011, SA, seq=9, ack=2), v6),
            lan(c, s, P.tcp(50011, 80, ACK, seq=2, ack=10), v6),
            wan(s, c, P.tcp(80, 50010, SA, seq=9, ack=2), v6, delay=1.3),    # 50010 gone: invalid
        ])


SCENARIOS = list(scenarios())


@pytest.fixture(scope="module")
def lab():
    host = nat_host()
    host.sysctls.update(SYSCTLS)
    with CtNatLab(host) as lab:
        yield lab


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_timeout(lab, sc):
    res = lab.run(sc)
    assert res.agree, res.report()
