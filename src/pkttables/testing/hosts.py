"""Host files shared by tests and examples: one definition of the small IPv4 router the
conntrack, NAT and hook-order tests run on (the home-router example's addresses, IPv4
only, no neighbour on the LAN side unless asked for: packets to an unknown LAN client
then wait for ARP, as on the kernel), and one masqueraded conversation through the home
router (flowtable tests and benchmarks).

    from pkttables.stack.host import Host
    from pkttables.testing.hosts import router_toml
    host = Host.from_toml(router_toml(), "<router>")
"""

from __future__ import annotations

__all__ = ["ROUTER_TOML", "router_toml", "DUAL_ROUTER_TOML", "tcp_conversation", "FLOWTABLE_RULESET",
           "CLASSIC_RULESET"]

#: lan0 192.168.1.1/24, wan0 203.0.113.2/24, default route via the gateway 203.0.113.1
#: (whose MAC is known), IPv4 forwarding on.
ROUTER_TOML = """
[sysctl]
"net.ipv4.ip_forward" = 1
[[interface]]
name = "lan0"
mac = "02:00:00:00:00:01"
addresses = ["192.168.1.1/24"]
[[interface]]
name = "wan0"
mac = "02:00:00:00:01:01"
addresses = ["203.0.113.2/24"]
[[route]]
to = "0.0.0.0/0"
via = "203.0.113.1"
dev = "wan0"
[[neighbor]]
address = "203.0.113.1"
mac = "02:00:00:00:01:fe"
dev = "wan0"
"""


#: The same router dual-stack: lan0 also fd00:1::1/64, wan0 also 2001:db8:1::2/64, a
#: default IPv6 route via 2001:db8:1::1 (same gateway MAC), IPv6 forwarding on, and the
#: LAN client 192.168.1.10 / fd00:1::10 (02:00:00:00:00:10) known on lan0, so replies to
#: it leave at once (the backend-equivalence, codegen and conntrack-expect tests).
DUAL_ROUTER_TOML = """
[sysctl]
"net.ipv4.ip_forward" = 1
"net.ipv6.conf.all.forwarding" = 1
[[interface]]
name = "lan0"
mac = "02:00:00:00:00:01"
addresses = ["192.168.1.1/24", "fd00:1::1/64"]
[[interface]]
name = "wan0"
mac = "02:00:00:00:01:01"
addresses = ["203.0.113.2/24", "2001:db8:1::2/64"]
[[route]]
to = "0.0.0.0/0"
via = "203.0.113.1"
dev = "wan0"
[[route]]
to = "::/0"
via = "2001:db8:1::1"
dev = "wan0"
[[neighbor]]
address = "203.0.113.1"
mac = "02:00:00:00:01:fe"
dev = "wan0"
[[neighbor]]
address = "2001:db8:1::1"
mac = "02:00:00:00:01:fe"
dev = "wan0"
[[neighbor]]
address = "192.168.1.10"
mac = "02:00:00:00:00:10"
dev = "lan0"
[[neighbor]]
address = "fd00:1::10"
mac = "02:00:00:00:00:10"
dev = "lan0"
"""


def router_toml(*lan_neighbors: tuple[str, str]) -> str:
    """:data:`ROUTER_TOML` with ``(address, mac)`` neighbours known on lan0."""
    return ROUTER_TOML + "".join(f'[[neighbor]]\naddress = "{a}"\nmac = "{m}"\ndev = "lan0"\n'
                                 for a, m in lan_neighbors)


def tcp_conversation(n_data: int = 20, sport: int = 40000, *, closing_ack: bool = True,
                     udp_tail: bool = True) -> list[tuple[str, bytes]]:
    """``(ingress interface, frame)`` pairs of one TCP connection from the LAN client
    192.168.1.10 to 93.184.216.34:80 through the home router (examples/home-router:
    lan0/wan0 MACs, the gateway's MAC on wan0; replies addressed to the masquerade
    address 203.0.113.2): handshake, ``n_data`` segments alternating directions (10
    bytes up, 100 down), the client's FIN, and with ``closing_ack`` the server's ACK of
    it; with ``udp_tail`` three client UDP datagrams to port 53 and one reply."""
    from pkttables.testing.packets import TCP_ACK, TCP_FIN, TCP_SYN, ether, ipv4, tcp, udp

    lan_mac, wan_mac, gw_mac, cli_mac = ("02:00:00:00:00:01", "02:00:00:00:01:01",
                                         "02:00:00:00:01:fe", "02:00:00:00:00:10")
    cli, srv, wan = "192.168.1.10", "93.184.216.34", "203.0.113.2"

    def lan(seg):
        return "lan0", ether(lan_mac, cli_mac, ipv4(cli, srv, seg, ident=7))

    def wn(seg):
        return "wan0", ether(wan_mac, gw_mac, ipv4(srv, wan, seg, ident=9, ttl=50))

    pk = [lan(tcp(sport, 80, TCP_SYN, seq=1000)), wn(tcp(80, sport, TCP_SYN | TCP_ACK, seq=5000, ack=1001)),
          lan(tcp(sport, 80, TCP_ACK, seq=1001, ack=5001))]
    cs, ss = 1001, 5001
    for i in range(n_data):
        if i % 2 == 0:
            pk.append(lan(tcp(sport, 80, TCP_ACK, seq=cs, ack=ss, payload=b"q" * 10)))
            cs += 10
        else:
            pk.append(wn(tcp(80, sport, TCP_ACK, seq=ss, ack=cs, payload=b"r" * 100)))
            ss += 100
    pk.append(lan(tcp(sport, 80, TCP_FIN | TCP_ACK, seq=cs, ack=ss)))
    if closing_ack:
        pk.append(wn(tcp(80, sport, TCP_ACK, seq=ss, ack=cs + 1)))
    if udp_tail:   # UDP: offloaded once confirmed, no reply needed
        pk += [("lan0", ether(lan_mac, cli_mac, ipv4(cli, srv, udp(5353, 53, b"x" * n)))) for n in (10, 20, 30)]
        pk.append(("wan0", ether(wan_mac, gw_mac, ipv4(srv, wan, udp(53, 5353, b"y" * 40)))))
    return pk


#: The home router's forwarding with a flowtable: established TCP/UDP flows are offloaded
#: (``flow add @f``) and masqueraded on wan0.
FLOWTABLE_RULESET = """
table inet filter {
	flowtable f {
		hook ingress priority 0; devices = { lan0, wan0 };
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ip protocol { tcp, udp } flow add @f counter
		ct state established,related accept
		iifname "lan0" oifname "wan0" accept
	}
}
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat;
		oifname "wan0" masquerade
	}
}
"""
#: The same ruleset without the flowtable: every packet walks the chains.
CLASSIC_RULESET = (FLOWTABLE_RULESET
                   .replace("\tflowtable f {\n\t\thook ingress priority 0; devices = { lan0, wan0 };\n\t}\n", "")
                   .replace("ip protocol { tcp, udp } flow add @f counter", "ip protocol { tcp, udp } counter"))
