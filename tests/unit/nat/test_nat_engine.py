"""NAT in the engine with a real ruleset (no kernel needed): nat chains run by the vm
through chain_runner, conntrack and NAT at their priorities."""

from __future__ import annotations

import ipaddress

from pkttables.commands import run_text
from pkttables.conntrack import ConntrackTable
from pkttables.model import Ruleset
from pkttables.nat import NatTable, chain_runner
from pkttables.packet import Packet
from pkttables.stack.engine import Engine
from pkttables.stack.hooks import HookTable
from pkttables.stack.host import Host, Interface, Neighbor, Route
from pkttables.testing import packets as P
from pkttables.vm.chain import LoadedRuleset
from pkttables.vm.stateful_impl import ChainRuntime

LAN, WAN, CLI, GW = (bytes.fromhex(x) for x in ("020000000001", "020000000101", "020000000010", "0200000001fe"))


def host() -> Host:
    ip = ipaddress.ip_interface
    h = Host(source="<nat unit host>")
    h.interfaces["lo"] = Interface("lo", bytes(6), [ip("127.0.0.1/8"), ip("::1/128")], mtu=65536,
                                   kind="loopback", ifindex=1)
    h.interfaces["lan0"] = Interface("lan0", LAN, [ip("192.168.1.1/24"), ip("fd00:1::1/64")], ifindex=2)
    h.interfaces["wan0"] = Interface("wan0", WAN, [ip("203.0.113.2/24"), ip("2001:db8:1::2/64")], ifindex=3)
    h.routes += [Route(ipaddress.ip_network("0.0.0.0/0"), "wan0", ipaddress.ip_address("203.0.113.1")),
                 Route(ipaddress.ip_network("::/0"), "wan0", ipaddress.ip_address("2001:db8:1::1"))]
    for a, m, d in (("203.0.113.1", GW, "wan0"), ("2001:db8:1::1", GW, "wan0"),
                    ("192.168.1.10", CLI, "lan0"), ("fd00:1::10", CLI, "lan0")):
        h.neighbors.append(Neighbor(ipaddress.ip_address(a), m, d))
    return h


RULES = """table inet nat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "wan0" tcp dport 8080 dnat ip to 192.168.1.10:80
    iifname "wan0" tcp dport 8080 dnat ip6 to [fd00:1::10]:80
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" masquerade
  }
}
"""


def engine():
    h = host()
    hooks = HookTable()
    ct = ConntrackTable(h)
    ct.register(hooks)
    nat = NatTable(ct, h, seed=0)
    rt = ChainRuntime(LoadedRuleset(run_text(RULES, Ruleset()).ruleset), host=h, types=("nat",))
    nat.register(hooks, chain_runner(rt, nat))
    return Engine(h, hooks), ct


def test_inet_dnat_ipv4_and_ipv6_forward_and_reply():
    eng, ct = engine()
    for s, w, c in (("198.51.100.7", "203.0.113.2", "192.168.1.10"), ("2001:db8:99::7", "2001:db8:1::2", "fd00:1::10")):
        v6 = ":" in s
        mk = P.ipv6 if v6 else P.ipv4
        out = eng.process(P.ether(WAN, GW, mk(s, w, P.tcp(5555, 8080))), 0.0, iif="wan0")
        # the engine routes the DNATed header (ip6_rcv_finish after prerouting)
        assert [e.ifname for e in out.emitted] == ["lan0"], out.drop_reason
        got = Packet(out.emitted[0].data)
        assert got.summary().startswith(f"IP{'6' if v6 else ''} {s}.5555 > {c}.80")
        assert all(got.verify_checksums().values())
        back = eng.process(P.ether(LAN, CLI, mk(c, s, P.tcp(80, 5555, P.TCP_SYN | P.TCP_ACK, ack=1001))),
                           0.1, iif="lan0")
        rep = Packet(back.emitted[0].data)
        assert back.emitted[0].ifname == "wan0"
        assert rep.summary().startswith(f"IP{'6' if v6 else ''} {w}.8080 > {s}.5555")
    assert len(ct) == 2


def test_masquerade_from_the_lan():
    eng, ct = engine()
    out = eng.process(P.ether(LAN, CLI, P.ipv4("192.168.1.10", "198.51.100.7", P.udp(5000, 53))), 0.0, iif="lan0")
    assert Packet(out.emitted[0].data).summary().startswith("IP 203.0.113.2.5000 > 198.51.100.7.53")
    (e,) = ct.entries()
    assert e.nat.masq_ifname == "wan0"
