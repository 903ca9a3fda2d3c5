"""Hand-written differential scenarios: every stateless expression and statement family,
the same ruleset and traffic on the kernel and on pkttables, compared with
:func:`pkttables.testing.differential.run_both` (frames per interface after
mask_random, send errors, every rule counter by position, named objects).

Most rulesets put the same rules, each with a counter, in a chain at every hook of a
family, and the whole of diff_traffic.ROUTER_TRAFFIC (28 frames over every protocol)
goes through them: each rule's counter then says how many of those packets matched it
at that hook, on both sides.

Disagreements rooted in other packages are listed in XFAIL (strict) with the reason."""

from __future__ import annotations

import pytest

from diff_traffic import bridge_traffic, router_traffic
from lab_hosts import bridge_host, two_interface_host
from pkttables.testing.differential import DiffLab, Scenario, quiet_host

pytestmark = pytest.mark.kernel

HOOKS = ("prerouting", "input", "forward", "output", "postrouting")


def chains(family: str, rules: list[str], hooks=HOOKS, *, policy: str = "accept", prio: int = 0,
           table: str = "t", extra: str = "", device: str | None = None) -> str:
    """One table with one base chain per hook, each holding ``rules``."""
    out = [f"table {family} {table} {{", extra]
    for h in hooks:
        dev = f' device "{device}"' if device else ""
        out.append(f"  chain {h[:4]} {{")
        out.append(f"    type filter hook {h}{dev} priority {prio}; policy {policy};")
        out += [f"    {r}" for r in rules]
        out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


def counted(*matches: str) -> list[str]:
    return [f"{m} counter" for m in matches]


R: dict[str, str] = {}          # name -> ruleset over the router traffic
B: dict[str, str] = {}          # name -> ruleset over the bridge traffic

# ---------------------------------------------------------------- payload: ip, ip6
R["ip-header"] = chains("ip", counted(
    "ip saddr 192.168.1.10", "ip daddr 8.8.8.8", "ip daddr != 8.8.8.8", "ip protocol udp",
    "ip protocol { tcp, icmp }", "ip ttl 30", "ip ttl < 64", "ip ttl 64", "ip length > 100",
    "ip length 20-60", "ip id 99", "ip id 0", "ip dscp 4", "ip dscp ef", "ip ecn not-ect",
    "ip frag-off & 0x1fff != 0", "ip frag-off & 0x2000 == 0x2000", "ip hdrlength 6",
    "ip hdrlength 5", "ip version 4", "ip checksum != 0", "ip saddr 192.168.0.0/16",
    "ip daddr 192.168.1.0-192.168.1.255"))
R["ip6-header"] = chains("ip6", counted(
    "ip6 saddr fd00:1::10", "ip6 daddr 2001:db8:9::/48", "ip6 nexthdr tcp", "ip6 nexthdr { udp, icmpv6 }",
    "ip6 hoplimit 9", "ip6 hoplimit > 10", "ip6 flowlabel 0x12345", "ip6 flowlabel 0", "ip6 length < 30",
    "ip6 length 8-100", "ip6 dscp 0", "ip6 ecn not-ect", "ip6 version 6", "ip6 daddr fd00:1::1",
    "ip6 saddr != fd00:1::/64"))
R["inet-ip-ip6"] = chains("inet", counted(
    "ip saddr 192.168.1.10", "ip6 saddr fd00:1::10", "ip protocol tcp", "ip6 nexthdr udp",
    "meta nfproto ipv4", "meta nfproto ipv6", "ip daddr 8.8.8.8 ip protocol icmp"))
# ---------------------------------------------------------------- transport
R["tcp"] = chains("inet", counted(
    "tcp dport 22", "tcp sport 40000-40010", "tcp flags syn", "tcp flags & (syn|ack) == ack",
    "tcp flags & (fin|syn|rst|ack) == syn", "tcp flags { syn, ack|psh }", "tcp sequence 7", "tcp ackseq 9",
    "tcp window 64240", "tcp doff 5", "tcp doff > 5", "tcp checksum != 0", "tcp urgptr 0",
    "tcp dport != 22", "tcp dport { 22, 80, 443 }"))
R["udp"] = chains("inet", counted(
    "udp dport 53", "udp sport 5353", "udp length 14", "udp length > 10", "udp checksum 0",
    "udp checksum != 0", "udp dport 5000-5001", "udp sport { 53, 5000 }"))
R["icmp"] = chains("ip", counted(
    "icmp type echo-request", "icmp type echo-reply", "icmp id 0x77", "icmp sequence 3", "icmp code 0",
    "icmp type { destination-unreachable, time-exceeded }", "icmp code port-unreachable",
    "icmp checksum != 0"))
R["icmpv6"] = chains("ip6", counted(
    "icmpv6 type echo-request", "icmpv6 type echo-reply", "icmpv6 id 5", "icmpv6 sequence 6",
    "icmpv6 code 0", "icmpv6 type destination-unreachable", "icmpv6 code port-unreachable",
    "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert }"))
R["sctp"] = chains("inet", counted(
    "sctp dport 2906", "sctp sport 3000", "sctp vtag 0x01020304", "sctp sport 2905 sctp dport 2906",
    "sctp chunk init exists", "sctp chunk data missing", "meta l4proto sctp"))
R["th-raw"] = chains("inet", counted(
    "th dport 53", "th sport 40000", "meta l4proto { tcp, udp } th dport 22", "@nh,0,4 4", "@nh,0,4 6",
    "@th,16,16 53", "@th,0,16 0x1b59", "@nh,64,8 30", "@th,104,8 & 0x02 == 0x02"))
R["ll-raw"] = chains("inet", counted("@ll,0,48 0x020000000001", "@ll,96,16 0x86dd", "@ll,48,48 0x020000000010"),
                     hooks=("prerouting", "input", "forward"))
R["ether"] = chains("inet", counted(
    "ether saddr 02:00:00:00:00:10", "ether type ip6", "ether daddr ff:ff:ff:ff:ff:ff",
    "ether type vlan", "ether saddr 02:00:00:00:01:fe ip saddr 198.51.100.7"),
    hooks=("prerouting", "input", "forward"))
# ---------------------------------------------------------------- meta
R["meta-match"] = chains("inet", counted(
    'meta iifname "lan0"', 'meta oifname "wan0"', 'meta iifname "lan*"',
    "meta l4proto udp", "meta l4proto ipv6-icmp", "meta nfproto ipv6", "meta length > 100", "meta length 40",
    "meta pkttype broadcast", "meta pkttype host", "meta protocol ip6", "meta protocol ip",
    "meta mark 0", "meta priority none", "meta oiftype ether",
    "meta iifgroup 0", "meta oifgroup default", "meta l4proto != tcp"))
R["meta-set"] = chains("inet", [
    "meta mark set 0x10 counter", "meta mark 0x10 counter", "meta mark set meta mark | 0x3 counter",
    "meta mark 0x13 counter", "meta priority set 1:2 counter", "meta priority 1:2 counter",
    "meta mark set 0xffffffff counter", "meta mark 0xffffffff counter"], hooks=("prerouting", "forward"))
R["mark-across-hooks"] = """table inet t {
  chain pre { type filter hook prerouting priority 0; meta mark set 0x2a counter; }
  chain fwd2 { type filter hook forward priority 0; meta mark 0x2a counter; meta mark set 7; }
  chain post { type filter hook postrouting priority 0; meta mark 7 counter; meta mark 0x2a counter; }
}
"""
# ---------------------------------------------------------------- mangling
R["payload-set-ip"] = chains("ip", [
    "ip protocol udp ip ttl set 5 counter", "ip protocol tcp ip dscp set cs1 counter",
    "icmp type echo-request ip id set 0x1234 counter", "ip saddr set 192.168.1.99 udp dport 53 counter"],
    hooks=("forward",))
R["payload-set-l4"] = chains("inet", [
    "tcp dport 22 tcp dport set 2222 counter", "udp dport 53 udp sport set 1111 counter",
    "tcp dport 443 tcp sport set 4433 counter", "ip6 nexthdr udp ip6 hoplimit set 3 counter",
    "ip6 nexthdr tcp ip6 dscp set af11 counter", "icmp type echo-request icmp sequence set 99 counter"],
    hooks=("forward",))
R["payload-set-output"] = chains("inet", [
    "udp dport 53 udp dport set 5353 counter", "ip ttl set 9 counter", "ip6 hoplimit set 7 counter",
    "tcp flags syn tcp window set 1000 counter"], hooks=("output",))
R["payload-set-raw"] = chains("inet", ["@th,16,16 53 @th,16,16 set 54 counter",
                                        "udp dport 54 counter"], hooks=("forward",))
# ---------------------------------------------------------------- extension headers, tcp options
R["exthdr-ipv6"] = chains("ip6", counted(
    "exthdr hbh exists", "exthdr hbh missing", "hbh nexthdr udp", "exthdr dst exists", "dst nexthdr tcp",
    "hbh hdrlength 0", "exthdr frag missing", "exthdr rt exists"))
R["tcp-options"] = chains("inet", counted(
    "tcp option maxseg size 1400", "tcp option maxseg size 1460", "tcp option sack-perm exists",
    "tcp option timestamp exists", "tcp option window exists", "tcp option window count 5",
    "tcp option sack missing", "tcp option maxseg exists", "tcp option timestamp tsval 42"))
R["tcp-option-set"] = chains("inet", ["tcp flags syn tcp option maxseg size set 1300 counter",
                                       "tcp option maxseg size 1300 counter"], hooks=("forward",))
# ---------------------------------------------------------------- fib
R["fib"] = chains("inet", counted(
    "fib daddr type local", "fib daddr type unicast", "fib daddr type broadcast", "fib saddr type local",
    'fib daddr oifname "wan0"', 'fib daddr oifname "lan0"', "fib saddr . iif oif exists",
    "fib saddr . iif oif missing", "fib daddr . iif type local"),
    hooks=("prerouting", "input", "forward"))
R["fib-output"] = chains("inet", counted("fib daddr type unicast", "fib daddr type local",
                                         "fib daddr . oif type unicast"), hooks=("output",))
# ---------------------------------------------------------------- numgen, hash, maps
R["numgen-hash"] = chains("inet", [
    "meta mark set numgen inc mod 4 counter", "meta mark 0 counter", "meta mark 1 counter",
    "meta mark 3 counter",
    "meta mark set jhash ip saddr . ip daddr mod 8 seed 0xa counter", "meta mark 0-3 counter",
    "meta mark set jhash ip6 saddr mod 2 seed 0x5 offset 100 counter", "meta mark 100 counter",
    "meta mark set numgen inc mod 2 offset 10 counter", "meta mark 11 counter"],
    hooks=("prerouting", "forward"))
R["numgen-vmap"] = chains("inet", ["numgen inc mod 3 vmap { 0 : accept, 1 : continue, 2 : drop }",
                                   "counter"], hooks=("forward",))
R["anon-sets"] = chains("inet", counted(
    "tcp dport { 22, 80, 443 }", "ip daddr { 8.8.8.8, 1.1.1.1 }", "ip6 daddr { 2001:db8::/32 }",
    "udp dport { 1-100, 5000-6000 }", "ip saddr != { 192.168.1.10 }", "meta l4proto { tcp, udp, sctp }",
    "ether saddr { 02:00:00:00:00:10 }", "ip6 saddr { fd00:1::/64, 2001:db8:7::/48 }"))
R["anon-maps"] = chains("inet", [
    "meta mark set tcp dport map { 22 : 1, 80 : 2, 443 : 3 } counter", "meta mark 1 counter",
    "meta mark 2 counter", "meta mark 3 counter",
    "meta mark set ip daddr map { 8.0.0.0/8 : 0x100, 192.168.1.0/24 : 0x200 } counter",
    "meta mark 0x100 counter", "meta mark 0x200 counter",
    "meta priority set udp dport map { 53 : 1:1, 5000 : 2:2 } counter", "meta priority 1:1 counter"],
    hooks=("prerouting", "forward"))
R["anon-vmaps"] = chains("inet", [
    "udp dport vmap { 53 : accept, 5000 : drop, 5001 : continue }", "counter",
    "tcp dport vmap { 22 : drop, 80 : accept }", "counter",
    "meta l4proto vmap { icmp : drop }", "counter"], hooks=("prerouting", "input", "forward", "output"))
R["concat"] = chains("inet", counted(
    "ip saddr . tcp dport { 192.168.1.10 . 22 }", "meta l4proto . th dport { udp . 53, tcp . 443 }",
    "ip daddr . ip protocol { 8.8.8.8 . icmp, 192.168.1.1 . udp }",
    "ip6 saddr . ip6 nexthdr { fd00:1::10 . udp }", 'meta iifname . ip saddr { "lan0" . 192.168.1.10 }'),
    hooks=("prerouting", "forward", "input"))
R["concat-vmap"] = chains("inet", [
    "ip protocol . th dport vmap { tcp . 22 : drop, udp . 53 : accept, udp . 5000 : drop }", "counter"],
    hooks=("forward", "input"))
R["ranges-prefixes"] = chains("inet", counted(
    "ip daddr 8.0.0.0/8", "tcp dport 1-1023", "ip daddr != 10.0.0.0-10.255.255.255", "tcp dport { 20-25, 79-81 }",
    "ip saddr 192.168.1.8/29", "ip6 daddr 2001:db8::/33", "udp sport 5000-5353", "ip ttl 1-31",
    "tcp sport != 40000-40001"))
# ---------------------------------------------------------------- stateful
R["counters-named"] = chains("inet", ["counter name c1", "ip protocol udp counter name c2", "counter"],
                             hooks=("forward",), extra="  counter c1 { }\n  counter c2 { packets 5 bytes 500 }")
R["quotas"] = chains("inet", ["quota until 200 bytes counter", "quota over 100 bytes counter",
                              "quota name q1 counter", "counter"], hooks=("forward",),
                     extra="  quota q1 { over 300 bytes }")
R["limits"] = chains("inet", ["limit rate 5/second burst 2 packets counter", "limit rate over 1/minute counter",
                              "limit rate 400 bytes/second burst 100 bytes counter",
                              "limit name l1 counter", "counter"], hooks=("forward", "input"),
                     extra="  limit l1 { rate 3/hour burst 4 packets }")
R["log"] = chains("inet", ['log prefix "diff " counter', "log level info flags all counter",
                           "log group 2 counter", "counter"], hooks=("forward", "input"))
# ---------------------------------------------------------------- verdicts
R["reject-input"] = chains("inet", ["tcp dport 22 counter reject with tcp reset",
                                    "meta nfproto ipv4 udp dport 5000 counter reject",
                                    "meta nfproto ipv6 udp dport 5001 counter reject",
                                    "icmp type echo-request counter reject with icmp type admin-prohibited",
                                    "icmpv6 type echo-request counter reject with icmpv6 type admin-prohibited",
                                    "counter"], hooks=("input",))
R["reject-forward"] = chains("inet", ["tcp dport 22 counter reject with tcp reset",
                                      "meta nfproto ipv4 udp dport 53 counter reject with icmp type host-unreachable",
                                      "udp dport 53 counter reject with icmpv6 type no-route",
                                      "icmp type echo-request counter reject with icmp type net-unreachable",
                                      "sctp dport 2906 counter reject with icmpx type admin-prohibited",
                                      "tcp dport 443 counter reject with icmpx type port-unreachable",
                                      "ip6 nexthdr sctp reject with icmpv6 type addr-unreachable",
                                      "counter"], hooks=("forward",))
R["reject-icmp-types"] = chains("ip", ["tcp dport 80 reject with icmp type net-prohibited",
                                       "udp dport 53 reject with icmp type host-prohibited",
                                       "sctp dport 2906 reject with icmp type prot-unreachable",
                                       "ip frag-off & 0x1fff != 0 reject",
                                       "icmp type echo-request reject with icmp type port-unreachable",
                                       "udp dport 7001 reject with icmp type frag-needed", "counter"],
                                hooks=("forward",))
R["reject-icmpx"] = chains("inet", ["meta l4proto tcp reject with icmpx type host-unreachable",
                                    "meta l4proto udp reject with icmpx type no-route", "counter"],
                           hooks=("forward",))
R["reject-icmpv6-types"] = chains("ip6", ["tcp dport 443 reject with icmpv6 type policy-fail",
                                          "udp dport 53 reject with icmpv6 type reject-route",
                                          "exthdr hbh exists reject with icmpv6 type port-unreachable",
                                          "tcp dport 25 reject with tcp reset", "counter"], hooks=("forward",))
R["reject-prerouting"] = chains("inet", ["tcp dport 22 counter reject with tcp reset",
                                         "udp dport 53 counter reject", "udp dport 5000 reject",
                                         "ip6 nexthdr icmpv6 counter reject", "counter"], hooks=("prerouting",))
R["reject-output"] = chains("inet", ["udp dport 53 counter reject", "tcp dport 443 counter reject with tcp reset",
                                     "counter"], hooks=("output",))
R["reject-netdev"] = """table netdev n {
  chain ing { type filter hook ingress device "lan0" priority 0;
    tcp dport 22 counter reject with tcp reset
    udp dport 53 reject with icmp type admin-prohibited
    ip6 nexthdr udp counter reject with icmpv6 type no-route
    icmp type echo-request counter reject with icmpx type port-unreachable
    counter
  }
}
"""
R["drop-accept-policy"] = chains("inet", ["tcp dport 22 counter drop", "udp dport 53 counter accept",
                                          "meta l4proto icmp counter accept", "counter"],
                                 hooks=("forward",), policy="drop")
R["jump-goto-return"] = """table inet t {
  chain tcpchk { tcp dport 22 counter return; tcp dport 80 counter accept; counter drop; }
  chain udpchk { udp dport 53 counter jump deeper; counter; }
  chain deeper { udp sport 5353 counter return; counter drop; }
  chain icmpchk { counter; icmp type echo-request counter drop; }
  chain fw { type filter hook forward priority 0; policy accept;
    counter
    meta l4proto tcp jump tcpchk
    meta l4proto udp goto udpchk
    meta l4proto icmp jump icmpchk
    tcp dport 22 counter drop
    counter
  }
}
"""
R["verdict-continue"] = chains("inet", ["tcp dport 22 counter continue", "tcp dport 22 counter",
                                        "udp dport 53 counter accept", "udp dport 53 counter drop",
                                        "counter"], hooks=("forward",))
R["tables-priorities"] = """table inet a {
  chain f { type filter hook forward priority 0; meta mark set 1 counter; }
}
table inet b {
  chain f { type filter hook forward priority 0; meta mark 0 counter; meta mark 1 counter; meta mark set 2; }
}
table ip c {
  chain f { type filter hook forward priority -5; meta mark 0 counter; udp dport 53 counter drop; }
  chain g { type filter hook forward priority 10; meta mark 1 counter; meta mark 2 counter; }
}
table ip6 d {
  chain f { type filter hook forward priority filter; ip6 nexthdr udp counter drop; counter; }
}
"""
R["tables-accept-then-drop"] = """table inet a {
  chain f { type filter hook forward priority -10; tcp dport 22 counter accept; }
}
table inet b {
  chain f { type filter hook forward priority 10; tcp dport 22 counter drop; counter; }
}
"""
R["netdev-ingress"] = """table netdev n {
  chain ing { type filter hook ingress device "lan0" priority 0;
    counter
    ether type ip counter
    ether type arp counter
    vlan id 0 counter
    vlan pcp 1 counter
    vlan type ip counter
    ip daddr 8.8.8.8 udp dport 53 counter
    meta protocol ip6 counter
    ip saddr 192.168.1.10 tcp dport 22 counter drop
    meta mark set 5 counter
  }
  chain ing2 { type filter hook ingress device "wan0" priority -1;
    counter
    ip saddr 198.51.100.7 counter drop
  }
}
table inet t {
  chain pre { type filter hook prerouting priority 0; meta mark 5 counter; }
}
"""
R["inet-ingress"] = """table inet i {
  chain ing { type filter hook ingress device "lan0" priority 0;
    counter
    ip protocol udp counter
    ip6 nexthdr tcp counter drop
  }
}
"""
R["arp-family"] = """table arp a {
  chain in { type filter hook input priority 0;
    counter
    arp operation request counter
    arp saddr ip 192.168.1.10 counter
    arp daddr ip 192.168.1.1 counter
    arp htype 1 counter
    arp ptype ip counter
    arp hlen 6 arp plen 4 counter
    arp saddr ether 02:00:00:00:00:10 counter
    arp daddr ip 192.168.1.99 counter drop
  }
  chain out { type filter hook output priority 0;
    counter
    arp operation reply counter
    arp daddr ether 02:00:00:00:00:10 counter
  }
}
"""
R["arp-drop"] = """table arp a {
  chain in { type filter hook input priority 0; arp daddr ip 192.168.1.1 counter drop; }
}
"""
R["output-drop"] = chains("inet", ["udp dport 53 counter drop", "ip6 nexthdr udp counter drop", "counter"],
                          hooks=("output",))
R["postrouting"] = chains("inet", ["oifname wan0 tcp dport 22 counter drop", "oifname lan0 counter",
                                   "ip protocol icmp counter", "counter"], hooks=("postrouting",))
# symhash values depend on the kernel's per-boot hashrnd (inherent): only what does not
# depend on it is compared here; test_diff_symhash.py checks the symmetry property
R["symhash-mod1"] = chains("inet", ["meta mark set symhash mod 1 counter", "meta mark 0 counter",
                                    "meta mark set symhash mod 1 offset 7 counter", "meta mark 7 counter"],
                           hooks=("prerouting", "forward", "postrouting"))
# key 9 is NFT_META_IFTYPE since 5.16: skb->dev, the output device at postrouting
R["meta-iiftype"] = chains("inet", counted("meta iiftype ether", "meta iiftype loopback", "meta oiftype ether",
                                           "meta iiftype != ether"))
R["meta-iiftype-netdev"] = chains("netdev", counted("meta iiftype ether", "meta iiftype != ether", "meta length > 100"),
                                  hooks=("ingress", "egress"), device="wan0")

# ---------------------------------------------------------------- bridge
B["bridge-basic"] = """table bridge b {
  chain pre { type filter hook prerouting priority 0;
    counter
    ether saddr 02:00:00:00:0a:01 counter
    ether type ip counter
    ether type arp counter
    ether type vlan counter
    vlan id 0 counter
    ip daddr 10.0.0.20 counter
    ip6 daddr fd00:b::10 counter
    meta iifname "lan1" counter
  }
  chain fw { type filter hook forward priority 0;
    counter
    meta oifname "lan2" counter
    tcp dport 22 counter drop
    udp dport 7 counter
  }
  chain post { type filter hook postrouting priority 0; counter; }
}
"""
B["bridge-iiftype"] = chains("bridge", counted("meta iiftype ether", "meta oiftype ether", "meta iifname \"br0\""),
                             hooks=("prerouting", "input", "forward", "output", "postrouting"))
B["bridge-vmap-sets"] = """table bridge b {
  chain fw { type filter hook forward priority 0;
    ether saddr . ip saddr { 02:00:00:00:0a:01 . 10.0.0.10 } counter
    meta l4proto vmap { icmp : drop, tcp : continue }
    tcp dport { 22, 80 } counter
    ether daddr ff:ff:ff:ff:ff:ff counter
  }
}
"""

# ---------------------------------------------------------------- once gaps, now agreeing
R["meta-iif-name"] = chains("inet", counted("meta iif lan0", "meta oif wan0", "meta iif { lan0, wan0 }",
                                            "meta oif != lo"), hooks=("forward", "postrouting"))
R["netdev-reject-dependency"] = """table netdev n {
  chain ing { type filter hook ingress device "lan0" priority 0;
    udp dport 53 counter reject with icmp type admin-prohibited
    counter reject with icmpv6 type admin-prohibited
  }
}
"""

# ---------------------------------------------------------------- refused by both
# name -> ruleset the kernel (or nft) refuses: pkttables must refuse it with the same
# message and carets (compared in test_refused)
REFUSED_R: dict[str, str] = {
    "meta-mark-set-field": chains("inet", ["meta mark set ip ttl counter"], hooks=("forward",)),
    "meta-mark-set-iif": chains("inet", ["meta mark set meta iif counter"], hooks=("forward",)),
    "fib-oif-output": chains("inet", ['fib daddr oifname "wan0" counter'], hooks=("output",)),
    "fib-iif-type-postrouting": chains("inet", ["fib daddr . iif type local counter"], hooks=("postrouting",)),
    "secpath-output": chains("inet", ["meta secpath exists counter"], hooks=("output",)),
    "pkttype-set-input": chains("inet", ["meta pkttype set host counter"], hooks=("input",)),
    "rt-mtu-prerouting": chains("inet", ["tcp flags syn tcp option maxseg size set rt mtu"],
                                hooks=("prerouting",)),
}
REFUSED_B: dict[str, str] = {
    # the reference kernel has no nft_meta_bridge (evaluate.KERNEL_BRIDGE_META)
    "bridge-ibrname": """table bridge b {
  chain pre { type filter hook prerouting priority 0; meta ibrname "br0" counter; }
}
""",
}
# name -> reason: disagreements whose cause lies outside the files this work may edit
XFAIL: dict[str, str] = {}


@pytest.fixture(scope="module")
def router_lab():
    with DiffLab(quiet_host(two_interface_host())) as lab:
        yield lab


@pytest.fixture(scope="module")
def bridge_lab():
    with DiffLab(quiet_host(bridge_host())) as lab:
        yield lab


def _params(d):
    return [pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=XFAIL[k])) if k in XFAIL else k
            for k in d]


@pytest.mark.parametrize("name", _params(R))
def test_router(router_lab, name):
    cmp = router_lab.run(Scenario(router_lab.host, R[name], router_traffic(), name=name))
    assert cmp.refused is None, cmp.refused
    assert cmp.agree, cmp.report()
    assert cmp.kernel.counters or "counter" not in R[name]


@pytest.mark.parametrize("name", _params(B))
def test_bridge(bridge_lab, name):
    cmp = bridge_lab.run(Scenario(bridge_lab.host, B[name], bridge_traffic(), name=name))
    assert cmp.refused is None, cmp.refused
    assert cmp.agree, cmp.report()


def _messages(text: str) -> list[str]:
    """An nft error text without file names and indentation: message and caret lines."""
    import re
    out = []
    for line in text.splitlines():
        if "nft rejected the ruleset" in line or not line.strip():
            continue
        line = re.sub(r"^\s*\S+:\d+:\d+(-\d+)?: ", "", line)
        out.append(line[2:] if line.startswith("  ") and not line.startswith("  Error") else line)
    return [x.rstrip() for x in out]


@pytest.mark.parametrize("name,which", [(k, "R") for k in REFUSED_R] + [(k, "B") for k in REFUSED_B])
def test_refused(router_lab, bridge_lab, name, which):
    from pkttables.errors import PktError
    from pkttables.testing.differential import _load
    lab, text = (router_lab, REFUSED_R[name]) if which == "R" else (bridge_lab, REFUSED_B[name])
    cmp = lab.run(Scenario(lab.host, text, [], name=name))
    assert cmp.refused is not None, cmp.report()
    with pytest.raises(PktError) as ei:
        _load(text, lab.host)
    assert _messages(ei.value.render()) == _messages(cmp.refused)
