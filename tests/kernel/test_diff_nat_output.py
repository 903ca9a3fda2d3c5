"""NAT in an ``output`` chain reroutes the packet, on the kernel and on pkttables.

The kernel routes a locally generated packet before LOCAL_OUT; when a ``type nat``
output chain (or a ``type route`` chain changing the mark) gives it a new destination,
nf_nat_ipv4_local_fn / nf_nat_ipv6_local_fn call ip_route_me_harder /
ip6_route_me_harder, so it leaves by the route of the *new* destination (or is
delivered locally after a redirect).  Each scenario sends from the host and compares
the frames on every interface, the send result and the rule counters; each uses its
own lab, since conntrack entries outlive a flushed ruleset."""

from __future__ import annotations

import pytest

from diff_traffic import C4, C6, L4
from lab_hosts import two_interface_host
from pkttables.testing.differential import DiffLab, Scenario, quiet_host
from pkttables.testing.kernel import Injection
from pkttables.testing.packets import ipv4, ipv6, tcp, udp

pytestmark = pytest.mark.kernel

SCENARIOS = {
    # to the internet by default route; DNAT sends it to the LAN client instead
    "dnat4-to-lan": ("""table ip n {
  chain out { type nat hook output priority -100; policy accept;
    udp dport 53 counter dnat to 192.168.1.10
  }
  chain post { type nat hook postrouting priority 100; policy accept; counter; }
}
""", [Injection("local", ipv4(L4, "198.51.100.50", udp(4000, 53, b"to wan?")))]),
    "dnat6-to-lan": ("""table ip6 n {
  chain out { type nat hook output priority -100; policy accept;
    tcp dport 443 counter dnat to fd00:1::10
  }
}
""", [Injection("local", ipv6("fd00:1::1", "2001:db8:9::1", tcp(4001, 443)))]),
    # a DNAT that keeps the route: no reroute, same frame as without NAT
    "dnat4-same-route": ("""table ip n {
  chain out { type nat hook output priority -100; policy accept;
    udp dport 54 counter dnat to 8.8.4.4
  }
}
""", [Injection("local", ipv4(L4, "198.51.100.51", udp(4002, 54, b"stay")))]),
    # the reverse: a LAN-bound packet pushed out of the WAN
    "dnat4-lan-to-wan": ("""table ip n {
  chain out { type nat hook output priority -100; policy accept;
    udp dport 55 counter dnat to 198.51.100.9
  }
}
""", [Injection("local", ipv4(L4, C4, udp(4003, 55, b"lan->wan")))]),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_output_nat_reroutes(name):
    host = quiet_host(two_interface_host())
    ruleset, traffic = SCENARIOS[name]
    with DiffLab(host, settle=0.1) as lab:
        cmp = lab.run(Scenario(host, ruleset, traffic, name=name))
    assert cmp.refused is None, cmp.refused
    assert cmp.agree, cmp.report()
    assert any(e for e in cmp.kernel.emitted), "the kernel sent nothing: the scenario tests nothing"
