"""The rule catalogue: every expression and statement family of nft 1.0.6, as rule
text generators.  Pure data + small combinators; :mod:`generate` runs them through nft.

Each generator yields :class:`Cand` values: a topic, the rule text, the chain *class*
(``filter`` = input hook, ``pre``/``fwd``/``out``/``post``, ``natpre``/``natpost``/
``natout``, ``route``, ``ingress``/``egress`` for netdev) and the families to try.
Families where nft refuses the rule are kept on purpose: they are the rejected cases.
Everything random draws from one ``random.Random`` seeded by the caller, so the
catalogue is deterministic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator

ALL = ("ip", "ip6", "inet", "bridge", "netdev", "arp")
L3 = ("ip", "ip6", "inet", "bridge", "netdev")
INET = ("ip", "ip6", "inet")
V4 = ("ip", "inet", "bridge", "netdev")
V6 = ("ip6", "inet", "bridge", "netdev")


@dataclass(frozen=True, slots=True)
class Cand:
    topic: str
    rule: str
    cls: str = "filter"
    families: tuple[str, ...] = L3


def _num(rng: random.Random, v: int) -> str:
    """The same number in another base nft reads: decimal or hex."""
    return hex(v) if rng.random() < 0.3 else str(v)


# --------------------------------------------------------------------------- payload

# protocol -> [(field, [values]) ...]; values are literal right-hand sides
PAYLOAD: dict[str, list[tuple[str, list[str]]]] = {
    "ether": [("saddr", ["00:0f:54:0c:11:04", "ff:ff:ff:ff:ff:ff"]), ("daddr", ["01:02:03:04:05:06"]),
              ("type", ["ip", "ip6", "arp", "vlan", "0x8100", "8021ad"])],
    "vlan": [("id", ["4094", "0", "1-100"]), ("pcp", ["0", "7"]), ("dei", ["0", "1"]),
             ("cfi", ["1"]), ("type", ["ip", "arp", "ip6"])],
    "arp": [("htype", ["1", "0x0001"]), ("ptype", ["ip", "0x0800"]), ("hlen", ["6"]), ("plen", ["4"]),
            ("operation", ["request", "reply", "rrequest", "rreply", "inrequest", "inreply", "nak", "1"]),
            ("saddr ip", ["192.168.1.1", "10.0.0.0/8"]), ("daddr ip", ["192.168.1.2"]),
            ("saddr ether", ["00:11:22:33:44:55"]), ("daddr ether", ["00:11:22:33:44:66"])],
    "ip": [("version", ["4"]), ("hdrlength", ["5", "15"]), ("dscp", ["cs1", "ef", "af41", "0x2e", "46"]),
           ("ecn", ["not-ect", "ect1", "ect0", "ce"]), ("length", ["1500", "100-200"]),
           ("id", ["12345", "0x1000"]), ("frag-off", ["0", "0x2000", "& 0x1fff != 0"]),
           ("ttl", ["64", "1-10"]), ("protocol", ["tcp", "udp", "icmp", "47", "gre"]),
           ("checksum", ["0x1234"]), ("saddr", ["192.168.0.1", "10.0.0.0/8", "172.16.0.0-172.16.255.255"]),
           ("daddr", ["127.0.0.1", "224.0.0.0/4"])],
    "icmp": [("type", ["echo-request", "echo-reply", "destination-unreachable", "time-exceeded",
                       "redirect", "router-advertisement", "timestamp-request", "8"]),
             ("code", ["net-unreachable", "port-unreachable", "frag-needed", "admin-prohibited", "3"]),
             ("checksum", ["12343"]), ("id", ["1245"]), ("sequence", ["22"]), ("gateway", ["10.0.0.1"]),
             ("mtu", ["1500"])],
    "igmp": [("type", ["membership-query", "membership-report-v1", "membership-report-v2",
                       "membership-report-v3", "leave-group"]), ("mrt", ["10"]), ("checksum", ["1234"]),
             ("group", ["239.1.1.1"])],
    "ip6": [("version", ["6"]), ("dscp", ["cs0", "ef", "0x10"]), ("ecn", ["ce", "ect0"]),
            ("flowlabel", ["22", "0xfffff"]), ("length", ["1500"]), ("nexthdr", ["tcp", "udp", "icmpv6", "44"]),
            ("hoplimit", ["255", "1"]), ("saddr", ["::1", "2001:db8::/32", "fe80::1-fe80::ff"]),
            ("daddr", ["ff02::1", "::ffff:192.168.1.1"])],
    "icmpv6": [("type", ["echo-request", "echo-reply", "nd-neighbor-solicit", "nd-neighbor-advert",
                         "nd-router-advert", "packet-too-big", "mld-listener-query", "destination-unreachable",
                         "time-exceeded", "parameter-problem", "nd-redirect", "ind-neighbor-solicit", "133"]),
               ("code", ["no-route", "admin-prohibited", "addr-unreachable", "port-unreachable",
                         "policy-fail", "reject-route", "0"]),
               ("checksum", ["2222"]), ("mtu", ["1280"]), ("id", ["33"]), ("sequence", ["2"]),
               ("max-delay", ["10"]), ("taddr", ["fe80::1"]), ("daddr", ["fe80::2"])],
    "tcp": [("sport", ["22", "1024-65535", "ssh", "0x50"]), ("dport", ["80", "http", "8000-8080"]),
            ("sequence", ["4294967295", "0"]), ("ackseq", ["1"]), ("doff", ["8"]), ("reserved", ["0"]),
            ("flags", ["syn", "syn,ack", "fin|psh|ack|urg", "ecn", "cwr", "& (syn|ack) == syn",
                       "& syn == 0", "!= rst"]),
            ("window", ["65535"]), ("checksum", ["22"]), ("urgptr", ["0"])],
    "udp": [("sport", ["53", "domain", "1-1023"]), ("dport", ["123", "ntp"]), ("length", ["8"]),
            ("checksum", ["0"])],
    "udplite": [("sport", ["80"]), ("dport", ["443"]), ("csumcov", ["8"]), ("checksum", ["1"])],
    "sctp": [("sport", ["23"]), ("dport", ["3868", "1-10"]), ("vtag", ["22"]), ("checksum", ["1111"])],
    "dccp": [("sport", ["21-35"]), ("dport", ["22"]),
             ("type", ["request", "response", "data", "ack", "dataack", "closereq", "close", "reset",
                       "sync", "syncack", "15"])],
    "ah": [("nexthdr", ["esp", "6"]), ("hdrlength", ["11"]), ("reserved", ["22"]), ("spi", ["111"]),
           ("sequence", ["123"])],
    "esp": [("spi", ["100", "0x10-0x20"]), ("sequence", ["22"])],
    "comp": [("nexthdr", ["esp", "tcp"]), ("flags", ["0x1"]), ("cpi", ["22"])],
    "th": [("sport", ["22"]), ("dport", ["53"])],
}

RAW = ["@ll,0,8 0x1", "@ll,48,48 0x0123456789ab", "@nh,8,8 0x10", "@nh,96,32 192.168.0.1",
       "@nh,0,4 4", "@th,16,16 22", "@th,0,16 1-1024", "@th,13,1 1", "@ih,0,8 0x45",
       "@nh,32,160 0x0", "@ll,0,0 1", "@ll,0,200 1"]

META_MATCH: dict[str, list[str]] = {
    "length": ["1000", "33-45", "!= 1000"], "protocol": ["ip", "ip6", "vlan", "arp"],
    "nfproto": ["ipv4", "ipv6"], "l4proto": ["tcp", "22", "icmp"],
    "priority": ["none", "root", "1:1234", "0x10:0x20", "ffff:0"],
    "mark": ["0x4", "32", "0x10-0x20", "and 0x03 == 0x01", "& 0xff00 != 0"],
    "iif": ['"lo"', "lo", "1"], "iifname": ['"lo"', '"eth*"', '"dum0"'], "iiftype": ["ether", "loopback", "ppp"],
    "oif": ['"lo"'], "oifname": ['"veth0"', '"ppp*"'], "oiftype": ["ether", "appletlk"],
    "skuid": ["0", "root", "1000-2000"], "skgid": ["0", "root"], "nftrace": ["0", "1"],
    "rtclassid": ["cosmos", "12"], "ibrname": ['"br0"'], "obrname": ['"br0"'],
    "ibriport": ['"eth0"'], "obriport": ['"eth0"'],
    "pkttype": ["host", "broadcast", "multicast", "other"], "cpu": ["1", "1-3"],
    "iifgroup": ["0", "default"], "oifgroup": ["0"], "cgroup": ["0x100001", "1048577"],
    "random": ["1"], "secpath": ["exists", "missing"], "ipsec": ["exists"],
    "time": ['"2019-06-06 17:00"', '< "2022-07-01 11:00:00"'], "day": ['"Saturday"', "2", '{ "Monday", "Friday" }'],
    "hour": ['"17:00"', '"17:00"-"19:00"', '"17:00:01"'], "iifkind": ['"dummy"'], "oifkind": ['"veth"'],
    "ibrpvid": ["1"], "ibrvproto": ["vlan"], "sdif": ['"lo"'], "sdifname": ['"vrf1"'],
    "secmark": ["0x1"], "broute": ["1"],
}
META_SET = ["mark 0x4", "mark 0x10 | 0x04", "mark ct mark", "mark meta mark and 0xff", "priority 1:2",
            "priority none", "nftrace 1", "pkttype host", "pkttype multicast", "mark numgen inc mod 2",
            "mark jhash ip saddr mod 4", "secmark 0x1", "iifname \"lo\"", "length 100", "cpu 1",
            "mark tcp dport map { 22 : 1, 80 : 2 }", "mark ip saddr map @mmark4", "priority ip dscp map { cs0 : 1:1, cs1 : 1:2 }",
            "broute set 1", "mark set 1"]

CT_KEYS: dict[str, list[str]] = {
    "state": ["established", "new,related", "invalid", "untracked", "!= established", "{ new, related }"],
    "direction": ["original", "reply"], "status": ["expected", "seen-reply", "assured", "confirmed",
                                                   "snat", "dnat", "dying", "snat,dnat"],
    "mark": ["0x1", "and 0x3 == 0x1", "!= 0", "{ 1, 2, 3 }"], "expiration": ["30s", "1d2h3m", "30"],
    "helper": ['"ftp"'], "l3proto": ["ipv4", "ip6"], "protocol": ["tcp", "6"],
    "saddr": ["1.2.3.4"], "daddr": ["::1"], "proto-src": ["22"], "proto-dst": ["80"],
    "bytes": ["> 1024", "1000-2000"], "packets": ["10", "< 5"], "avgpkt": ["> 100"], "zone": ["1", "0-10"],
    "label": ["1", "127"], "event": ["new"], "secmark": ["1"], "id": ["12345"], "count": ["3", "over 3"],
}
CT_DIR_KEYS = {
    "saddr": ["1.2.3.4", "1.2.3.0/24"], "daddr": ["10.0.0.1"], "ip saddr": ["1.2.3.4"], "ip daddr": ["10.0.0.0/8"],
    "ip6 saddr": ["::1"], "ip6 daddr": ["fe80::/10"], "proto-src": ["53"], "proto-dst": ["22", "1-1024"],
    "l3proto": ["ipv4"], "protocol": ["udp"], "bytes": ["> 100"], "packets": ["10"], "avgpkt": ["1"],
    "zone": ["4"], "mark": ["1"],
}
CT_SET = ["mark 0x1", "mark meta mark", "mark ct mark or 0x10", "mark set 1", "label 1", "label 127",
          "zone 1", "zone meta mark map { 1 : 1, 2 : 2 }", "original zone 2", "reply zone 3",
          "event new,related,destroy", "event 0", "helper \"h1\"", "timeout \"to1\"",
          "expectation \"e1\"", "secmark meta secmark", "mark jhash ip saddr mod 3", "mark numgen random mod 5"]

FIB = ["fib saddr . iif oif ne 0", "fib saddr . iif oif missing", "fib daddr type local",
       "fib daddr . iif type { local, broadcast }", "fib saddr . mark oif exists", "fib daddr oifname \"lo\"",
       "fib daddr . oif type unicast", "fib saddr oif 0", "fib daddr type vmap { blackhole : drop, prohibit : drop }",
       "fib saddr . daddr oif lo", "fib mark oif 1", "fib iif . oif type local", "fib daddr check present"]

RT = ["rt classid cosmos", "rt classid 12", "rt nexthop 192.168.0.1", "rt ip nexthop 10.0.0.1",
      "rt ip6 nexthop fe80::1", "rt mtu 1500", "rt mtu < 1280", "rt ipsec exists", "rt ipsec missing",
      "rt nexthop fd00::1", "rt tcpmss 1400"]

EXTHDR = [
    "exthdr hbh exists", "exthdr rt missing", "exthdr frag exists", "exthdr dst exists", "exthdr mh exists",
    "exthdr rt0 exists", "exthdr rt2 exists", "exthdr srh exists", "exthdr hbh == exists",
    "hbh nexthdr 22", "hbh hdrlength 1-5", "hbh nexthdr { udp, tcp }",
    "rt nexthdr 22", "rt hdrlength 22", "rt type 0", "rt seg-left 1", "rt0 addr[1] fe80::1", "rt0 reserved 0",
    "rt2 addr fe80::2", "srh last-entry 0", "srh flags 0", "srh tag 1", "srh sid[1] fd00::1",
    "frag nexthdr tcp", "frag reserved 22", "frag frag-off 22", "frag more-fragments 1", "frag id 1",
    "frag reserved2 1", "dst nexthdr 22", "dst hdrlength 1", "mh nexthdr 22", "mh hdrlength 1",
    "mh type binding-update", "mh type { home-test, care-of-test }", "mh reserved 1", "mh checksum 0x1234",
    "tcp option eol exists", "tcp option nop exists", "tcp option maxseg exists", "tcp option maxseg length 4",
    "tcp option maxseg size 1460", "tcp option maxseg size 1000-1500", "tcp option window kind 3",
    "tcp option window count 7", "tcp option sack-perm exists", "tcp option sack exists",
    "tcp option sack left 1", "tcp option sack0 left 1", "tcp option sack1 right 2", "tcp option sack3 left 3",
    "tcp option timestamp tsval 1", "tcp option timestamp tsecr 2", "tcp option timestamp exists",
    "tcp option mptcp exists", "tcp option mptcp subtype 0", "tcp option mptcp subtype mp-capable",
    "tcp option 255 exists", "tcp option @255,8,8 255", "tcp option 6 missing", "tcp option fastopen exists",
    "tcp option md5sig exists",
    "ip option rr exists", "ip option lsrr exists", "ip option ssrr exists", "ip option ra exists",
    "ip option rr ptr 0", "ip option lsrr type 1", "ip option ssrr addr 1.2.3.4", "ip option ra value 0",
    "ip option lsrr length 8", "ip option rr missing",
    "sctp chunk data exists", "sctp chunk init exists", "sctp chunk init-ack exists", "sctp chunk sack exists",
    "sctp chunk heartbeat exists", "sctp chunk abort exists", "sctp chunk shutdown exists",
    "sctp chunk cookie-echo exists", "sctp chunk asconf exists", "sctp chunk forward-tsn exists",
    "sctp chunk data flags 2", "sctp chunk data tsn 1", "sctp chunk data stream 1", "sctp chunk data ppid 1",
    "sctp chunk init num-outbound-streams 1", "sctp chunk init initial-tsn 1",
    "sctp chunk sack cum-tsn-ack 1", "sctp chunk sack num-gap-ack-blocks 1", "sctp chunk shutdown cum-tsn-ack 1",
    "sctp chunk abort type 6", "sctp chunk i-data mid 1", "sctp chunk ecne lowest-tsn 1",
    "sctp chunk cwr lowest-tsn 1", "sctp chunk asconf-ack seqno 1", "sctp chunk forward-tsn new-cum-tsn 1",
]

SOCKET = ["socket transparent 1", "socket transparent 0", "socket mark 0x5", "socket mark 1-10",
          "socket wildcard 0", "socket wildcard 1", "socket cgroupv2 level 1 \"user.slice\"",
          "socket cgroupv2 level 2 \"system.slice/sshd.service\"", "socket transparent 1 mark set socket mark",
          "socket transparent 2", "socket uid 0"]

OSF = ["osf name \"Linux\"", "osf ttl loose name \"Linux\"", "osf ttl skip name \"Windows\"",
       "osf ttl nocheck name \"Linux\"", "osf version \"Linux:3.0\"", "osf name { \"Windows\", \"MacOs\" }",
       "osf name vmap { \"Windows\" : drop, \"MacOs\" : accept }", "ct mark set osf name map { \"Windows\" : 0x1, \"MacOs\" : 0x2 }",
       "osf ttl foo name \"Linux\""]

NUMGEN_HASH = [
    "ct mark set numgen inc mod 2", "ct mark set numgen inc mod 2 offset 100", "ct mark set numgen random mod 10",
    "meta mark set numgen random mod 2 offset 4", "numgen inc mod 2 0", "numgen random mod 100 < 50",
    "dnat to numgen inc mod 2 map { 0 : 192.168.10.100, 1 : 192.168.20.200 }",
    "ct mark set jhash ip saddr mod 2", "ct mark set jhash ip saddr . ip daddr mod 2 seed 0xdeadbeef",
    "ct mark set jhash ip saddr . tcp dport mod 10 seed 0x1 offset 100", "meta mark set symhash mod 2",
    "meta mark set symhash mod 2 offset 100", "jhash ip6 saddr mod 4 1", "symhash mod 2 0",
    "ct mark set jhash ether saddr . ether daddr mod 2", "ct mark set numgen inc mod 0", "meta mark set symhash mod 2 seed 1",
    "dnat to jhash ip saddr mod 2 map { 0 : 10.0.0.1, 1 : 10.0.0.2 }",
]

IPSEC = ["ipsec in reqid 1", "ipsec in spi 1-10", "ipsec out spi 0x42", "ipsec in ip saddr 192.168.1.0/24",
         "ipsec in ip6 daddr dead::beef", "ipsec out ip daddr 1.2.3.4", "ipsec in spnum 1 reqid 2",
         "ipsec out spnum 0 ip6 saddr ::1", "ipsec in ip saddr 1.2.3.4 ip daddr 5.6.7.8", "ipsec in",
         "ipsec forward reqid 1"]

VERDICTS = ["accept", "drop", "continue", "return", "jump other", "goto other", "jump nonexistent",
            "counter accept", "counter drop", "ip saddr 1.2.3.4 drop", "meta mark 1 return",
            "tcp dport vmap { 22 : accept, 23 : drop, 80 : jump other }", "goto", "drop accept"]

COUNTER = ["counter", "counter packets 0 bytes 0", "counter packets 10 bytes 1000", "counter name \"c1\"",
           "counter name tcp dport map { 22 : \"c1\", 80 : \"c2\" }", "counter bytes 1", "counter packets"]
LIMIT = ["limit rate 400/minute", "limit rate 20/second", "limit rate 400/hour", "limit rate 40/day",
         "limit rate 400/week", "limit rate over 400/minute", "limit rate 1/second burst 3 packets",
         "limit rate 10 mbytes/second", "limit rate 1025 kbytes/second burst 1023 kbytes",
         "limit rate over 1 bytes/second", "limit rate 1023/second burst 10 packets",
         "limit name \"l1\"", "limit rate 0/second", "limit rate 400/millisecond", "limit rate 1 gbytes / second",
         "limit rate 400 / minute"]
QUOTA = ["quota 25 mbytes", "quota over 25 mbytes", "quota 1 bytes", "quota over 1 kbytes",
         "quota until 100 gbytes", "quota 25 mbytes used 1 mbytes", "quota name \"q1\"", "quota 2 tbytes",
         "quota over 1 kbytes used 10 bytes", "quota 0 bytes"]
LOG = ["log", "log prefix \"aaaaa-aaaaaa\"", "log prefix \"pre\" level emerg", "log level alert",
       "log level crit", "log level err", "log level warn", "log level notice", "log level info",
       "log level debug", "log level audit", "log level foo", "log group 2 prefix \"x\" queue-threshold 2",
       "log group 2 snaplen 4294967295", "log group 0 snaplen 100", "log flags tcp sequence,options",
       "log flags ip options", "log flags skuid", "log flags ether", "log flags all",
       "log flags tcp sequence,options flags skuid", "log level info flags all prefix \"p \"",
       "log prefix \"x\" group 1", "log snaplen 10", "log prefix \"${X}\"", "log flags bogus"]
REJECT = ["reject", "reject with icmp host-unreachable", "reject with icmp net-unreachable",
          "reject with icmp prot-unreachable", "reject with icmp port-unreachable", "reject with icmp net-prohibited",
          "reject with icmp host-prohibited", "reject with icmp admin-prohibited", "reject with icmp 3",
          "reject with icmpv6 no-route", "reject with icmpv6 admin-prohibited", "reject with icmpv6 addr-unreachable",
          "reject with icmpv6 port-unreachable", "reject with icmpv6 policy-fail", "reject with icmpv6 reject-route",
          "reject with icmpx host-unreachable", "reject with icmpx no-route", "reject with icmpx admin-prohibited",
          "reject with icmpx port-unreachable", "reject with tcp reset", "meta l4proto tcp reject with tcp reset",
          "ip protocol tcp reject with tcp reset", "reject with icmp type host-unreachable",
          "reject with icmpv6 type no-route", "reject with icmpx type port-unreachable",
          "ether type ip reject", "ether type ip6 reject with icmpv6 port-unreachable", "reject with foo"]
NAT_PRE = ["dnat to 192.168.3.2", "dnat to 192.168.3.2:8080", "dnat to 10.0.0.1-10.0.0.10",
           "dnat to 10.0.0.1-10.0.0.10:20-30", "tcp dport 80 dnat to 10.0.0.1:8080",
           "dnat ip to 10.0.0.1", "dnat ip6 to [fe80::1]:80", "dnat to [fe80::1]:80", "dnat to fe80::1",
           "dnat ip to tcp dport map { 80 : 192.168.3.2, 81 : 192.168.3.3 }",
           "dnat ip to ip saddr map { 10.0.0.1 : 192.168.3.2 }", "dnat to ip saddr map @mnat4",
           "meta l4proto tcp dnat ip to ip daddr . tcp dport map { 1.1.1.1 . 80 : 2.2.2.2 . 8080 }",
           "dnat to 10.0.0.1 random", "dnat to 10.0.0.1 persistent", "dnat to 10.0.0.1 fully-random",
           "dnat to 10.0.0.1 random,persistent", "dnat ip to 10.0.0.0/24", "dnat ip prefix to ip daddr map { 10.141.10.0/24 : 192.168.2.0/24 }",
           "redirect", "redirect to :8080", "tcp dport 22 redirect to :2222", "redirect to :1000-2000",
           "redirect random", "redirect persistent", "redirect fully-random", "redirect to :tcp dport map { 22 : 2222 }",
           "tcp dport 22 redirect to 2222", "dnat to :8080", "meta l4proto tcp dnat to :8080"]
NAT_POST = ["snat to 192.168.3.2", "snat to 192.168.3.2:1024-2048", "snat ip to 10.0.0.1-10.0.0.10",
            "snat ip6 to dead::beef", "snat to fe80::1", "oifname \"veth0\" snat to 10.0.0.1",
            "snat to ip saddr map { 10.0.0.0/8 : 1.2.3.4 }", "snat to 10.0.0.1 random", "snat to 10.0.0.1 persistent,fully-random",
            "masquerade", "masquerade random", "masquerade fully-random", "masquerade persistent",
            "masquerade to :1024", "masquerade to :1024-2048", "meta l4proto tcp masquerade to :1024-2048 random",
            "masquerade random,persistent", "oif \"lo\" masquerade", "snat ip to 10.0.0.1:tcp dport map { 1 : 2 }",
            "ip saddr 10.0.0.0/8 snat to 1.2.3.4", "snat ip prefix to ip saddr map { 10.141.11.0/24 : 192.168.2.0/24 }"]
TPROXY = ["meta l4proto tcp tproxy to 192.0.2.1", "meta l4proto udp tproxy to 192.0.2.1:50080",
          "meta l4proto tcp tproxy to :50080", "meta l4proto tcp tproxy ip to 192.0.2.1",
          "meta l4proto tcp tproxy ip6 to [2001:db8::1]:50080", "meta l4proto tcp tproxy to [2001:db8::1]",
          "tproxy to 192.0.2.1", "tcp dport 80 tproxy to :3128 meta mark set 1 accept",
          "meta l4proto tcp tproxy ip to :50080", "meta l4proto 17 tproxy ip6 to :50080"]
QUEUE = ["queue", "queue num 2", "queue num 2-3", "queue num 4-5 fanout bypass", "queue flags bypass",
         "queue flags bypass,fanout num 1-3", "queue to 3", "queue to 1-2 bypass", "queue num 65535",
         "queue to jhash ip saddr mod 4", "queue to numgen inc mod 2", "queue to symhash mod 2 flags bypass",
         "queue num 3-2", "queue num 70000"]
DUP_FWD = ["dup to 10.2.3.4", "dup to 10.2.3.4 device \"lo\"", "dup ip to 10.2.3.4 device \"lo\"",
           "dup to ip saddr map { 1.1.1.1 : 2.2.2.2 }", "dup to ip saddr map { 192.168.0.1 : 192.168.1.1 } device \"lo\"",
           "dup to fe80::1", "dup ip6 to fe80::1 device \"lo\"", "dup to \"lo\"", "dup to \"dum0\"",
           "fwd to \"lo\"", "fwd to \"veth0\"", "fwd to meta mark map { 1 : \"lo\", 2 : \"veth0\" }",
           "fwd ip to 192.168.2.200 device \"lo\"", "fwd ip6 to fe80::1 device \"lo\"", "fwd to 1.2.3.4"]
MISC_STMT = ["notrack", "ip saddr 1.2.3.4 notrack", "synproxy", "synproxy mss 1460", "synproxy wscale 7",
             "synproxy mss 1460 wscale 7 timestamp sack-perm", "synproxy timestamp", "synproxy sack-perm",
             "synproxy name \"sp1\"", "synproxy name ip saddr map { 192.168.1.0/24 : \"sp1\" }",
             "flow add @ft", "flow offload @ft", "meta l4proto tcp flow add @ft", "flow add @nonexistent",
             "flow add ft", "flow bogus @ft", "flow add @ft @ft",
             "ct count 3", "ct count over 3", "ct count 0", "tcp dport 22 ct count over 10 reject",
             "ct helper set \"h1\"", "ct timeout set \"to1\"", "ct expectation set \"e1\"",
             "ct helper set ip protocol map { tcp : \"h1\" }", "meta secmark set \"sm1\"", "quota name \"q1\" drop",
             "limit name \"l1\" accept", "counter name ip saddr map { 1.2.3.4 : \"c1\" }", "ct helper set \"nonexistent\"",
             "last", "last used never", "meter m1 { ip saddr limit rate 10/second }",
             "meter m2 size 128 { ip saddr . tcp dport counter }", "ip saddr 1.2.3.4 comment \"a comment\"",
             "counter comment \"with spaces and 'quotes'\"", "comment \"only a comment\""]
SETSTMT = ["add @sdyn4 { ip saddr }", "add @sdyn4 { ip saddr timeout 10s }", "update @sdyn4 { ip saddr }",
           "update @sdyn4 { ip saddr timeout 1m counter }", "delete @sdyn4 { ip saddr }",
           "add @sdyn4 { ip saddr limit rate 10/second }", "update @sdyn4 { ip daddr counter } drop",
           "set add ip saddr @sdyn4", "set update ip saddr timeout 10s @sdyn4", "add @sdyn6 { ip6 saddr }",
           "update @sdyn6 { ip6 daddr timeout 5m }", "add @scdyn { ip saddr . tcp dport }",
           "add @sdyn4 { ip6 saddr }", "add @s4 { ip saddr }", "add @sdyn4 { ip saddr counter quota 10 mbytes }",
           "add @mdyn { ip saddr : 0x1 }", "update @mdyn { ip saddr : meta mark }",
           "ip saddr @s4", "ip saddr != @s4", "ip6 daddr @s6", "tcp dport @sport", "ip saddr . tcp dport @sc",
           "meta mark set ip saddr map @mmark4", "tcp dport vmap @vm", "ip saddr @nonexistent",
           "ip daddr @s6", "counter name ip saddr map @om"]


def payload(rng: random.Random) -> Iterator[Cand]:
    for proto, fields in PAYLOAD.items():
        fams = ("bridge", "netdev", "inet") if proto in ("ether", "vlan") else L3
        if proto == "arp":
            fams = ("arp", "bridge", "netdev", "inet")
        for fld, values in fields:
            for v in values:
                yield Cand("payload", f"{proto} {fld} {v}", families=fams)
            v = values[0]
            if not v.startswith(("&", "!=", "{")):
                yield Cand("payload", f"{proto} {fld} != {v}", families=fams)
                yield Cand("payload", f"{proto} {fld} {{ {', '.join(values[:3])} }}", families=fams[:3])
                yield Cand("payload", f"{proto} {fld} != {{ {v} }}", families=fams[:2])
        # one statement per protocol: payload set (mangling)
        f0, v0 = fields[0][0], fields[0][1][0]
        yield Cand("payload", f"{proto} {f0} set {v0}", families=fams)
    for r in RAW:
        yield Cand("payload", r, families=ALL)
    yield Cand("payload", "@nh,8,8 set 0x10", families=INET)
    yield Cand("payload", "@th,16,16 set 80", families=("ip", "inet"))
    yield Cand("payload", "tcp dport set tcp sport", families=INET)
    yield Cand("payload", "ip ttl set 64", families=V4)
    yield Cand("payload", "ip6 hoplimit set 1", families=V6)
    yield Cand("payload", "ip dscp set cs1", families=V4)
    yield Cand("payload", "ip6 flowlabel set 0x12345", families=INET)
    yield Cand("payload", "ether saddr set 00:11:22:33:44:55", families=("bridge", "netdev", "inet"))
    yield Cand("payload", "ip saddr set 1.2.3.4 ip daddr set 5.6.7.8", families=V4)
    yield Cand("payload", "ip foo 1", families=L3)
    yield Cand("payload", "tcp dport 65536", families=L3)
    yield Cand("payload", "ip saddr 1.2.3.4/33", families=L3)
    yield Cand("payload", "ip6 saddr 1.2.3.4", families=L3)
    yield Cand("payload", "vlan id 4096", families=L3)
    yield Cand("payload", "ip ttl 256", families=L3)
    yield Cand("payload", "ip dscp wrong", families=L3)


def meta(rng: random.Random) -> Iterator[Cand]:
    for key, values in META_MATCH.items():
        for v in values:
            yield Cand("meta", f"meta {key} {v}", families=ALL)
        if not values[0].startswith(("!=", "and", "&", "{", "<", "exists")):
            yield Cand("meta", f"meta {key} != {values[0]}", families=L3[:3])
            if len(values) > 1 and not any(c in " ".join(values) for c in "{<&"):
                yield Cand("meta", f"meta {key} {{ {', '.join(values[:3])} }}", families=L3[:3])
    # the implicit-"meta" short forms nft accepts
    for key in ("mark", "iif", "iifname", "oif", "oifname", "skuid", "skgid", "nftrace", "rtclassid",
                "ibrname", "obrname", "pkttype", "cpu", "iifgroup", "oifgroup", "cgroup", "iiftype", "oiftype",
                "priority", "length", "protocol", "l4proto", "nfproto"):
        v = META_MATCH[key][0]
        yield Cand("meta", f"{key} {v}", families=("ip", "inet", "bridge"))
    for s in META_SET:
        yield Cand("meta", f"meta {s}" if not s.startswith("mark set") and not s.startswith("broute set")
                   else f"meta {s}", families=ALL)
    yield Cand("meta", "mark set 0x10", families=L3)
    yield Cand("meta", "meta foo 1", families=L3)
    yield Cand("meta", "meta mark 0x100000000", families=L3)
    yield Cand("meta", "meta iifname \"lo\" oifname \"veth0\" meta l4proto tcp counter accept", families=ALL)


def ct(rng: random.Random) -> Iterator[Cand]:
    for key, values in CT_KEYS.items():
        for v in values:
            yield Cand("ct", f"ct {key} {v}", families=ALL)
    for d in ("original", "reply"):
        for key, values in CT_DIR_KEYS.items():
            for v in values:
                yield Cand("ct", f"ct {d} {key} {v}", families=L3[:3])
    for s in CT_SET:
        yield Cand("ct", f"ct {s}" if not s.startswith("mark set") else f"ct {s}", families=L3)
    yield Cand("ct", "ct state established,related accept", families=ALL)
    yield Cand("ct", "ct state vmap { established : accept, related : accept, invalid : drop }", families=ALL)
    yield Cand("ct", "ct bogus 1", families=INET)
    yield Cand("ct", "ct original foo 1", families=INET)
    yield Cand("ct", "ct mark set ct mark and 0xffff0000 or 0x1", families=INET)


def simple(topic: str, rules: list[str], families: tuple[str, ...] = L3, cls: str = "filter") -> Iterator[Cand]:
    for r in rules:
        yield Cand(topic, r, cls, families)


def systematic(rng: random.Random) -> Iterator[Cand]:
    yield from payload(rng)
    yield from meta(rng)
    yield from ct(rng)
    yield from simple("fib", FIB, ("ip", "ip6", "inet", "bridge", "netdev"), "pre")
    yield from simple("fib", ["fib daddr type local", "fib saddr . iif oif 0"], ("ip", "ip6", "inet"), "filter")
    yield from simple("rt", RT, INET + ("bridge",), "out")
    yield from simple("exthdr", EXTHDR, L3)
    yield from simple("socket", SOCKET, INET + ("bridge",), "pre")
    yield from simple("osf", OSF, INET + ("bridge",), "filter")
    yield from simple("numgen_hash", NUMGEN_HASH[:6] + NUMGEN_HASH[7:17], ALL)
    yield from simple("numgen_hash", [NUMGEN_HASH[6], NUMGEN_HASH[17]], INET, "natpre")
    yield from simple("ipsec", IPSEC, INET + ("bridge",))
    yield from simple("verdict", VERDICTS, ALL)
    yield from simple("counter", COUNTER, ALL)
    yield from simple("limit", LIMIT, ALL)
    yield from simple("quota", QUOTA, ALL)
    yield from simple("log", LOG, ALL)
    yield from simple("reject", REJECT, ALL)
    yield from simple("nat", NAT_PRE, INET + ("bridge",), "natpre")
    yield from simple("nat", NAT_POST, INET, "natpost")
    yield from simple("nat", ["dnat to 10.0.0.1", "snat to 10.0.0.1", "masquerade", "redirect to :80"], INET,
                      "natout")
    yield from simple("nat", ["dnat to 10.0.0.1", "masquerade", "snat to 10.0.0.1"], ("ip", "inet"), "filter")
    yield from simple("tproxy", TPROXY, INET, "pre")
    yield from simple("tproxy", TPROXY[:2], ("ip",), "filter")
    yield from simple("queue", QUEUE, ALL)
    yield from simple("dup_fwd", DUP_FWD[:9], INET + ("netdev",), "pre")
    yield from simple("dup_fwd", DUP_FWD[9:], ("netdev", "ip", "inet"), "ingress")
    yield from simple("stmt", MISC_STMT, INET + ("bridge", "netdev"), "filter")
    yield from simple("stmt", ["flow add @ft", "meta l4proto tcp flow offload @ft"], INET, "fwd")
    yield from simple("stmt", ["ct mark set 1", "meta mark set 1 accept"], INET, "route")
    yield from simple("set", SETSTMT, ALL)
    yield from sets_and_maps(rng)
    yield from numbers(rng)
    yield from negation_bitops(rng)


def sets_and_maps(rng: random.Random) -> Iterator[Cand]:
    R = [
        "tcp dport { 22, 80, 443 } accept", "tcp dport { 1-1024, 8080 } counter",
        "ip saddr { 10.0.0.0/8, 192.168.0.0/16 } drop", "ip saddr { 10.0.0.1-10.0.0.10, 10.0.1.0/24 }",
        "ip6 daddr { ::1, fe80::/10 }", "meta mark { 1, 2, 3 }", "meta l4proto { tcp, udp } th dport 53",
        "ip saddr . tcp dport { 1.2.3.4 . 22, 5.6.7.8 . 80 }", "ip saddr . ip daddr { 1.1.1.0/24 . 2.2.2.2 }",
        "ip saddr . tcp dport { 1.1.1.1-1.1.1.9 . 20-30 }", "meta iifname . ip saddr { \"lo\" . 127.0.0.1 }",
        "ip daddr . tcp dport vmap { 1.2.3.4 . 22 : accept, 1.2.3.4 . 80 : drop }",
        "tcp dport vmap { 22 : accept, 80-90 : drop, 100 : jump other, 200 : goto other }",
        "meta mark set tcp dport map { 22 : 1, 23 : 2 }", "ct mark set ip saddr map { 10.0.0.0/8 : 1, 0.0.0.0/0 : 2 }",
        "ip saddr vmap { 10.0.0.0/8 : accept, 192.168.0.0/16 : drop }",
        "ip daddr set ip saddr map { 1.1.1.1 : 2.2.2.2 }", "ether saddr { 00:11:22:33:44:55, 00:11:22:33:44:66 }",
        "tcp dport { 22, 22 }", "tcp dport { 1-10, 5-20 }", "tcp dport { }", "tcp dport { 22, }",
        "ip saddr { 1.2.3.4, ::1 }", "tcp flags { syn, syn | ack }", "ct state { new, established }",
        "tcp dport map { 22 : 1 }", "ip protocol vmap { tcp : accept, udp : drop, icmp : continue }",
        "ip saddr . meta mark { 1.2.3.4 . 0x1 }", "udp dport . udp sport { 53 . 1024-65535 }",
        "ip6 saddr . ip6 daddr . tcp dport { ::1 . ::2 . 22 }", "meta mark . ct mark { 1 . 2 }",
        "tcp dport { 0x16, 0x50, 443 }", "tcp dport { 22 } accept", "ip saddr { 10.0.0.0/8 } accept",
        "iifname { \"lo\", \"veth*\" }", "meta day { \"Monday\", \"Sunday\" }",
    ]
    for r in R:
        yield Cand("sets", r, families=("ip", "inet", "bridge", "netdev") if "ip6" not in r else ("ip6", "inet"))


def numbers(rng: random.Random) -> Iterator[Cand]:
    for v in (0, 1, 22, 255, 1024, 65535):
        for form in (str(v), hex(v), "0x%04x" % v, "0X%x" % v, "0%d" % v, "0b1", "%do" % v):
            yield Cand("numbers", f"tcp dport {form}", families=("ip", "inet"))
    for form in ("0xff", "255", "0x0ff", "0377", "1e2", "-1", "+1", "0x1ff", "00"):
        yield Cand("numbers", f"ip ttl {form}", families=("ip",))
        yield Cand("numbers", f"meta mark {form}", families=("inet",))
    for form in ("0xffffffff", "4294967295", "4294967296", "0x100000000"):
        yield Cand("numbers", f"ct mark {form}", families=("ip",))
    for unit in ("bytes", "kbytes", "mbytes", "gbytes"):
        yield Cand("numbers", f"quota 10 {unit}", families=("ip",))
    for t in ("1s", "1m", "1h", "1d", "1d2h3m4s", "100ms", "0s", "90", "1w"):
        yield Cand("numbers", f"ct expiration {t}", families=("ip",))


def negation_bitops(rng: random.Random) -> Iterator[Cand]:
    R = [
        "tcp flags & (syn | ack) == syn | ack", "tcp flags & (fin | syn | rst | ack) != syn",
        "tcp flags & syn == syn", "tcp flags syn / syn,ack", "tcp flags ! syn", "tcp flags != syn",
        "meta mark & 0xffff0000 == 0x10000", "meta mark and 0x3 != 0", "ct mark & 0xf == 1",
        "ct mark xor 0x1 == 0", "ct mark | 0x1 == 0x1", "meta mark set meta mark | 0x10",
        "meta mark set meta mark & 0xff", "meta mark set meta mark ^ 0x1", "meta mark set meta mark << 2",
        "meta mark set meta mark >> 1", "ct mark set ct mark lshift 1", "ct mark set meta mark and 0xffff",
        "ip saddr & 255.255.255.0 == 1.2.3.0", "ip saddr & 0.0.0.255 != 0.0.0.1", "ip6 saddr & ::ffff == ::1",
        "ip saddr != 10.0.0.0/8", "ip saddr != 1.2.3.4-1.2.3.8", "tcp dport != 1-1024", "ip ttl != { 1, 2 }",
        "ip dscp != cs1", "ip frag-off & 0x1fff != 0", "ip hdrlength & 0x3 == 1", "tcp dport 22-22",
        "ip saddr 10.0.0.0/255.255.255.0", "ip saddr 10.0.0.0/0", "ip saddr 0.0.0.0/0", "ip6 saddr ::/0",
        "ip saddr 10.1.2.3/8", "tcp dport < 1024", "tcp dport >= 1024", "tcp dport > 1024 tcp dport <= 2000",
        "ip length lt 100", "ip length gt 100", "ip length le 100", "ip length ge 100", "ip length eq 100",
        "ip length ne 100", "meta mark != 0 meta mark & 0x1 == 0x1", "!ip saddr 1.2.3.4", "ip saddr ! 1.2.3.4",
        "tcp flags & (syn|fin) == (syn|fin)", "tcp flags syn,fin / syn,fin,rst", "ip saddr 1.2.3.4 != 1",
    ]
    for r in R:
        yield Cand("bitops", r, families=("ip", "inet") if "ip6" not in r else ("ip6", "inet"))


def combinations(rng: random.Random, pool: list[Cand], n: int) -> Iterator[Cand]:
    """Random conjunctions of two or three matches, finished by a statement."""
    matches = [c for c in pool if c.topic in ("payload", "meta", "ct", "sets", "exthdr", "bitops")
               and c.cls == "filter" and "set " not in c.rule and " vmap " not in c.rule]
    stmts = ["accept", "drop", "counter", "counter accept", "log prefix \"x\" drop", "continue",
             "meta mark set 1", "ct mark set 2 accept", "limit rate 10/second accept", "jump other", "return",
             "counter packets 0 bytes 0 comment \"combo\"", "quota 10 mbytes drop", "notrack", "reject"]
    for _ in range(n):
        k = rng.choice((1, 2, 2, 3))
        parts = [rng.choice(matches) for _ in range(k)]
        fams = tuple(f for f in ALL if all(f in p.families for p in parts)) or ("inet",)
        fam = rng.choice(fams)
        rule = " ".join(p.rule for p in parts) + " " + rng.choice(stmts)
        yield Cand("combo", rule, families=(fam,))
