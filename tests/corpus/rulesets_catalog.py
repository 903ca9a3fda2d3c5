"""Whole rulesets for the corpus: ``nft -f`` files, good and bad.

:func:`write_all` writes ``NNN-name.nft`` files (plus ``include/*.nft`` they include)
into a directory and returns the top-level paths in order.  Each file starts with
``flush ruleset`` so it can be loaded on its own.  Names ending in ``-bad`` are meant to
be rejected by nft (the recorded outcome is whatever nft says, not this intent).
"""

from __future__ import annotations

import random
from pathlib import Path

HDR = "flush ruleset\n\n"

PRIO_FORMS = ["0", "-150", "150", "filter", "filter + 5", "filter - 5", "raw", "mangle", "dstnat", "srcnat",
              "security", "-300", "2147483647", "-2147483648"]

GOOD: list[tuple[str, str]] = []
BAD: list[tuple[str, str]] = []


def good(name: str, text: str) -> None:
    GOOD.append((name, HDR + text.strip() + "\n"))


def bad(name: str, text: str) -> None:
    BAD.append((name + "-bad", HDR + text.strip() + "\n"))


# -- tables and chains ------------------------------------------------------------

for fam in ("ip", "ip6", "inet", "arp", "bridge", "netdev"):
    hooks = {
        "ip": ["prerouting", "input", "forward", "output", "postrouting"],
        "ip6": ["prerouting", "input", "forward", "output", "postrouting"],
        "inet": ["prerouting", "input", "forward", "output", "postrouting"],
        "arp": ["input", "output"],
        "bridge": ["prerouting", "input", "forward", "output", "postrouting"],
        "netdev": [],
    }[fam]
    body = "".join(f"\tchain c_{h} {{\n\t\ttype filter hook {h} priority 0; policy accept;\n\t\tcounter\n\t}}\n"
                   for h in hooks)
    if fam == "netdev":
        body = ("\tchain in {\n\t\ttype filter hook ingress device \"lo\" priority 0;\n\t}\n"
                "\tchain out {\n\t\ttype filter hook egress devices = { \"lo\", \"dum0\" } priority 0;\n\t}\n")
    good(f"hooks-{fam}", f"table {fam} t {{\n{body}\tchain plain {{\n\t\taccept\n\t}}\n}}")

for i, prio in enumerate(PRIO_FORMS):
    fam = ("ip", "inet", "ip6")[i % 3]
    typ, hook = ("nat", "prerouting") if prio in ("dstnat",) else ("nat", "postrouting") if prio == "srcnat" \
        else ("filter", "input")
    good(f"priority-{i:02d}", f"table {fam} t {{\n\tchain c {{\n\t\ttype {typ} hook {hook} priority {prio}; "
                              f"policy accept;\n\t}}\n}}")

good("policies", """
table inet t {
	chain a { type filter hook input priority 0; policy drop; }
	chain b { type filter hook output priority 0; policy accept; }
	chain c { type filter hook forward priority 0; policy drop; ct state established accept; }
}
""")
good("table-dormant", "table ip t {\n\tflags dormant\n\tchain c { type filter hook input priority 0; }\n}")
good("table-comment", "table ip t {\n\tcomment \"a table comment\"\n\tchain c {\n\t\tcomment \"chain comment\"\n"
                      "\t\ttype filter hook input priority 0;\n\t}\n}")
good("nat-chains", """
table ip nat {
	chain pre { type nat hook prerouting priority dstnat; tcp dport 80 dnat to 10.0.0.1:8080; }
	chain post { type nat hook postrouting priority srcnat; oifname "veth0" masquerade; }
	chain out { type nat hook output priority -100; }
	chain in { type nat hook input priority 100; }
}
table ip6 nat6 {
	chain pre { type nat hook prerouting priority dstnat + 10; redirect to :8080; }
	chain post { type nat hook postrouting priority srcnat - 10; snat to fe80::1; }
}
table inet natx {
	chain post { type nat hook postrouting priority srcnat; meta nfproto ipv4 snat ip to 10.0.0.1; }
}
""")
good("route-chain", "table ip mangle {\n\tchain out {\n\t\ttype route hook output priority mangle;\n"
                    "\t\tmeta mark set 1\n\t}\n}")
good("inet-ingress", "table inet t {\n\tchain ing {\n\t\ttype filter hook ingress device \"lo\" priority 0;\n\t}\n}")
good("bridge-chains", """
table bridge filter {
	chain pre { type filter hook prerouting priority -200; ether type arp accept; }
	chain fwd { type filter hook forward priority 0; vlan id 100 counter; }
	chain out { type filter hook output priority 0; }
}
""")
good("jumps", """
table ip t {
	chain base { type filter hook input priority 0; jump a; tcp dport 22 goto b; }
	chain a { ip saddr 10.0.0.0/8 return; counter; }
	chain b { accept; }
}
""")

# -- sets and maps ------------------------------------------------------------

SET_TYPES = [("ipv4_addr", "10.0.0.1, 10.0.0.2"), ("ipv6_addr", "::1, fe80::1"), ("ether_addr", "00:11:22:33:44:55"),
             ("inet_proto", "tcp, udp"), ("inet_service", "22, 80, 443"), ("mark", "0x1, 0x2"),
             ("ifname", "\"lo\", \"veth0\""), ("ipv4_addr . inet_service", "10.0.0.1 . 22, 10.0.0.2 . 80"),
             ("ipv4_addr . ipv4_addr . inet_service", "1.1.1.1 . 2.2.2.2 . 22"),
             ("ct_state", "established, related"), ("icmp_type", "echo-request"), ("time", "1s, 2m")]
for i, (typ, elems) in enumerate(SET_TYPES):
    good(f"set-type-{i:02d}", f"table inet t {{\n\tset s {{\n\t\ttype {typ}\n\t\telements = {{ {elems} }}\n\t}}\n}}")

good("set-flags", """
table ip t {
	set a { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.168.1.1-192.168.1.9 }; }
	set b { type ipv4_addr; flags constant; elements = { 1.2.3.4 }; }
	set c { type ipv4_addr; flags timeout; timeout 1h; }
	set d { type ipv4_addr; flags dynamic; size 1024; }
	set e { type ipv4_addr; flags dynamic,timeout; timeout 30s; gc-interval 1m; }
	set f { type ipv4_addr . inet_service; flags interval; elements = { 10.0.0.0/24 . 20-30 }; }
	set g { type ipv4_addr; policy memory; }
	set h { type ipv4_addr; policy performance; size 65535; }
}
""")
good("set-auto-merge", """
table ip t {
	set a { type ipv4_addr; flags interval; auto-merge; elements = { 10.0.0.0/24, 10.0.1.0/24, 10.0.0.5 }; }
	set b { type inet_service; flags interval; auto-merge; elements = { 1-10, 5-20, 21 }; }
}
""")
good("set-elements-extra", """
table ip t {
	set a {
		type ipv4_addr
		flags timeout
		elements = { 1.2.3.4 timeout 1h, 1.2.3.5 timeout 10m expires 5m, 1.2.3.6 comment "host six" }
	}
	set b {
		type ipv4_addr
		counter
		elements = { 10.0.0.1 counter packets 5 bytes 500, 10.0.0.2 }
	}
	set c { type ipv4_addr; comment "set comment"; }
}
""")
good("set-typeof", """
table inet t {
	set a { typeof ip saddr; elements = { 1.2.3.4 }; }
	set b { typeof ip saddr . tcp dport; }
	set c { typeof meta mark; }
	set d { typeof ip6 daddr; flags interval; elements = { 2001:db8::/32 }; }
	map e { typeof ip saddr : meta mark; elements = { 1.2.3.4 : 0x1 }; }
	set f { typeof vlan id; }
	set g { typeof ct state; }
}
""")
good("maps", """
table ip t {
	map m1 { type ipv4_addr : ipv4_addr; elements = { 1.1.1.1 : 2.2.2.2 }; }
	map m2 { type inet_service : verdict; elements = { 22 : accept, 23 : drop, 80 : jump c }; }
	map m3 { type ipv4_addr : mark; flags interval; elements = { 10.0.0.0/8 : 0x1 }; }
	map m4 { type ipv4_addr . inet_service : ipv4_addr . inet_service; elements = { 1.1.1.1 . 80 : 2.2.2.2 . 8080 }; }
	map m5 { type ipv4_addr : counter; elements = { 1.2.3.4 : "c1" }; }
	counter c1 { }
	chain c { }
	chain in {
		type filter hook input priority 0;
		tcp dport vmap @m2
		meta mark set ip saddr map @m3
		counter name ip saddr map @m5
	}
	chain pre {
		type nat hook prerouting priority dstnat;
		dnat to ip daddr map @m1
		dnat ip to ip daddr . tcp dport map @m4
	}
}
""")
good("dynamic-sets", """
table inet t {
	set seen { type ipv4_addr; flags dynamic,timeout; timeout 1m; size 4096; }
	set seen6 { type ipv6_addr; flags dynamic; }
	chain in {
		type filter hook input priority 0;
		ct state new add @seen { ip saddr }
		update @seen { ip saddr timeout 2m counter }
		ip6 saddr @seen6 drop
		ct state new update @seen6 { ip6 saddr limit rate 10/second } accept
	}
}
""")

# -- stateful objects, flowtables --------------------------------------------------

good("objects", """
table inet t {
	counter c1 { packets 10 bytes 1000 }
	counter c2 { comment "count it" }
	quota q1 { 25 mbytes }
	quota q2 { over 1 gbytes used 10 mbytes }
	limit l1 { rate 400/minute }
	limit l2 { rate over 1024 bytes/second burst 512 bytes }
	ct helper h1 { type "ftp" protocol tcp; l3proto inet; }
	ct timeout to1 { protocol tcp; l3proto ip; policy = { established: 120, close: 10 }; }
	ct expectation e1 { protocol tcp; dport 21; timeout 1m; size 10; l3proto ip; }
	synproxy sp1 { mss 1460; wscale 7; timestamp sack-perm; }
	chain in {
		type filter hook input priority 0;
		counter name "c1"
		quota name "q1"
		limit name "l1" accept
		ct helper set "h1"
		ct timeout set "to1"
		ct expectation set "e1"
		tcp dport 80 synproxy name "sp1"
	}
}
""")
good("secmark", "table inet t {\n\tsecmark s1 {\n\t\t\"system_u:object_r:ssh_server_packet_t:s0\"\n\t}\n"
                "\tchain in {\n\t\ttype filter hook input priority 0;\n\t\tmeta secmark set \"s1\"\n\t}\n}")
good("flowtable", """
table inet t {
	flowtable ft {
		hook ingress priority 0
		devices = { veth0, veth1 }
	}
	chain fwd {
		type filter hook forward priority 0;
		meta l4proto tcp flow add @ft
	}
}
""")
good("flowtable-prio-name", "table ip t {\n\tflowtable f {\n\t\thook ingress priority filter + 1\n"
                            "\t\tdevices = { dum0 }\n\t\tcounter\n\t}\n}")

# -- defines, includes, comments, continuation ----------------------------------------

good("defines", """
define LAN = 192.168.0.0/16
define PORTS = { 22, 80, 443 }
define IF = "lo"
define NESTED = { $PORTS, 8080 }
table ip t {
	chain in {
		type filter hook input priority 0;
		iifname $IF ip saddr $LAN tcp dport $PORTS accept
		tcp dport $NESTED counter
	}
}
""")
good("redefine-undefine", """
define A = 1
redefine A = 2
table ip t { chain c { meta mark $A; } }
undefine A
define A = 3
table ip t2 { chain c { meta mark $A; } }
""")
good("include", """
include "include/defs.nft"
include "include/table.nft"
table ip t { chain c { ip saddr $INC_NET counter; } }
""")
good("comments-continuation", """
# a comment line
table ip t { # trailing comment
	chain c { # another
		type filter hook input priority 0; policy accept;
		ip saddr 1.2.3.4 \\
			tcp dport 22 \\
			accept comment "rule comment"
		counter comment "x"
	}
}
""")
good("one-line-commands", """
add table ip t
add chain ip t c { type filter hook input priority 0; }
add rule ip t c tcp dport 22 accept
insert rule ip t c position 0 counter
add set ip t s { type ipv4_addr; }
add element ip t s { 1.2.3.4 }
add rule ip t c ip saddr @s drop
""")
good("create-delete", """
add table ip a
create table ip b
add chain ip a c
delete chain ip a c
add table ip6 x
delete table ip6 x
""")
good("semicolons", "table ip t { chain c { type filter hook input priority 0; policy accept; tcp dport 22 accept; "
                   "udp dport 53 accept; } }")
good("big-anon-sets", "table ip t {\n\tchain c {\n\t\ttcp dport { " + ", ".join(str(p) for p in range(1000, 1100))
     + " }\n\t\tip saddr { " + ", ".join(f"10.{i}.0.0/16" for i in range(0, 60)) + " }\n\t}\n}")
good("realistic-host", """
define SSH_ALLOWED = { 10.0.0.0/8, 192.168.0.0/16 }
table inet filter {
	set blocklist { type ipv4_addr; flags interval; elements = { 203.0.113.0/24 }; }
	chain input {
		type filter hook input priority filter; policy drop;
		ct state vmap { established : accept, related : accept, invalid : drop }
		iif "lo" accept
		ip saddr @blocklist drop
		meta l4proto { icmp, ipv6-icmp } accept
		tcp dport 22 ip saddr $SSH_ALLOWED ct state new limit rate 10/minute accept
		tcp dport { 80, 443 } accept
		log prefix "input drop: " level info counter
	}
	chain forward { type filter hook forward priority filter; policy drop; }
	chain output { type filter hook output priority filter; policy accept; }
}
""")
good("realistic-router", """
table inet filter {
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		iifname "veth1" oifname "veth0" accept
		iifname "veth0" oifname "veth1" ct status dnat accept
	}
}
table ip nat {
	chain prerouting { type nat hook prerouting priority dstnat; iifname "veth0" tcp dport 8080 dnat to 192.168.1.10:80; }
	chain postrouting { type nat hook postrouting priority srcnat; oifname "veth0" masquerade; }
}
""")

# -- corrected forms of rulesets above that nft refuses (those stay: they record how)

good("nat-chains-fixed", """
table ip nat {
	chain pre { type nat hook prerouting priority dstnat; tcp dport 80 dnat to 10.0.0.1:8080; }
	chain post { type nat hook postrouting priority srcnat; oifname "veth0" masquerade; }
}
table ip6 nat6 {
	chain pre { type nat hook prerouting priority dstnat + 10; meta l4proto tcp redirect to :8080; }
	chain post { type nat hook postrouting priority srcnat - 10; snat to fe80::1; }
}
""")
good("bridge-chains-fixed", """
table bridge filter {
	chain pre { type filter hook prerouting priority -200; ether type arp accept; }
	chain forward_c { type filter hook forward priority 0; vlan id 100 counter; }
	chain out { type filter hook output priority 0; }
}
""")
good("objects-fixed", """
table inet t {
	counter c1 { packets 10 bytes 1000 }
	quota q1 { 25 mbytes }
	quota q2 { over 1 mbytes }
	limit l1 { rate 400/minute }
	limit l2 { rate over 1024 bytes/second burst 512 bytes }
	ct helper h1 { type "ftp" protocol tcp; l3proto inet; }
	ct timeout to1 { protocol tcp; l3proto ip; policy = { established: 120, close: 10 }; }
	ct expectation e1 { protocol tcp; dport 21; timeout 1m; size 10; l3proto ip; }
	synproxy sp1 { mss 1460; wscale 7; timestamp sack-perm; }
	chain in {
		type filter hook input priority 0;
		counter name "c1"
		quota name "q1"
		limit name "l1" accept
		ct helper set "h1"
		tcp dport 80 synproxy name "sp1"
	}
}
""")
good("redefine-undefine-fixed", "define A = 1\nredefine A = 2\ntable ip t {\n\tchain c { meta mark $A; }\n}\n"
     "undefine A\ndefine A = 3\ntable ip t2 {\n\tchain c { meta mark $A; }\n}\n")
good("include-fixed", 'include "include/defs.nft"\ninclude "include/table.nft"\n'
     "table ip t {\n\tchain c { ip saddr $INC_NET counter; }\n}\n")
good("semicolons-fixed", "table ip t { chain c { type filter hook input priority 0; policy accept; tcp dport 22 accept; "
     "udp dport 53 accept; }; }")
good("include-glob", 'include "include/*.nft"\ntable ip t {\n\tchain c { ip saddr $INC_NET; }\n}\n')
good("chain-devices-netdev", 'table netdev t {\n\tchain c {\n\t\ttype filter hook ingress devices = { lo, dum0, veth0 } '
     "priority -500; policy accept;\n\t}\n}")
good("set-elements-simple-timeouts", "table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags timeout\n"
     "\t\telements = { 1.2.3.4 timeout 1h, 5.6.7.8 timeout 2d }\n\t}\n}")

# -- bad rulesets ---------------------------------------------------------------

bad("unknown-keyword", "table ip t { chain c { foo bar; } }")
bad("missing-brace", "table ip t {\n\tchain c {\n\t\taccept\n}")
bad("bad-hook", "table ip t { chain c { type filter hook nosuchhook priority 0; } }")
bad("bad-type", "table ip t { chain c { type bogus hook input priority 0; } }")
bad("nat-in-bridge", "table bridge t { chain c { type nat hook prerouting priority 0; } }")
bad("arp-forward", "table arp t { chain c { type filter hook forward priority 0; } }")
bad("netdev-no-device", "table netdev t { chain c { type filter hook ingress priority 0; } }")
bad("netdev-bad-device", "table netdev t { chain c { type filter hook ingress device \"nosuchdev0\" priority 0; } }")
bad("bad-policy", "table ip t { chain c { type filter hook input priority 0; policy reject; } }")
bad("policy-regular-chain", "table ip t { chain c { policy drop; } }")
bad("priority-name-wrong-hook", "table ip t { chain c { type filter hook input priority dstnat; } }")
bad("priority-out-of-range", "table ip t { chain c { type filter hook input priority 2147483648; } }")
bad("undefined-variable", "table ip t { chain c { ip saddr $NOPE; } }")
bad("missing-include", "include \"include/does-not-exist.nft\"")
bad("set-bad-type", "table ip t { set s { type nosuchtype; } }")
bad("set-bad-element", "table ip t { set s { type ipv4_addr; elements = { ::1 }; } }")
bad("set-interval-without-flag", "table ip t { set s { type ipv4_addr; elements = { 10.0.0.0/8 }; } }")
bad("set-overlap", "table ip t { set s { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 10.1.0.0/16 }; } }")
bad("map-missing-data", "table ip t { map m { type ipv4_addr; elements = { 1.2.3.4 : 1 }; } }")
bad("jump-loop", "table ip t {\n\tchain a { type filter hook input priority 0; jump b; }\n\tchain b { jump a; }\n}")
bad("jump-missing", "table ip t { chain a { type filter hook input priority 0; jump nowhere; } }")
bad("unknown-family", "table foo t { }")
bad("table-flags-bad", "table ip t { flags bogus; }")
bad("table-owner-flag", "table ip t { flags owner; }")
bad("duplicate-define", "define A = 1\ndefine A = 2\n")
bad("objref-missing", "table ip t { chain c { counter name \"nope\"; } }")
bad("flowtable-no-hook", "table ip t { flowtable f { devices = { lo }; } }")
bad("flowtable-bad-device", "table ip t { flowtable f { hook ingress priority 0; devices = { nosuchdev0 }; } }")
bad("ct-helper-bad-proto", "table ip t { ct helper h { type \"ftp\" protocol icmp; } }")
bad("ct-timeout-bad-state", "table ip t { ct timeout x { protocol tcp; policy = { bogus: 1 }; } }")
bad("quota-bad-unit", "table ip t { quota q { 25 parsecs } }")
bad("limit-zero", "table ip t { limit l { rate 0/second } }")
bad("rule-outside-chain", "table ip t { tcp dport 22 accept }")
bad("unterminated-string", "table ip t { chain c { comment \"abc; } }")
bad("line-continuation-broken", "table ip t { chain c { ip saddr 1.2.3.4 \\ accept; } }")
bad("delete-missing-table", "delete table ip nosuch")
bad("dnat-in-filter", "table ip t { chain c { type filter hook input priority 0; dnat to 1.2.3.4; } }")
bad("reject-in-output-of-nat", "table ip t { chain c { type nat hook output priority 0; reject; } }")
bad("set-size-zero-elements", "table ip t { set s { type ipv4_addr; size 1; elements = { 1.1.1.1, 2.2.2.2 }; } }")
bad("typeof-bad-expr", "table ip t { set s { typeof foo bar; } }")


def _includes(d: Path) -> None:
    inc = d / "include"
    inc.mkdir(parents=True, exist_ok=True)
    (inc / "defs.nft").write_text("define INC_NET = 10.0.0.0/8\n")
    (inc / "table.nft").write_text("table inet from_include {\n\tchain c {\n\t\tcounter\n\t}\n}\n")


def write_all(directory: Path, rng: random.Random) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    _includes(directory)
    items = list(GOOD) + list(BAD)
    # Seeded extra rulesets: random tables mixing the shapes above, so the count is
    # comfortably above 100 and the mixes are not only hand-written ones.
    fams = ["ip", "ip6", "inet", "bridge"]
    matches = {"ip": ["ip saddr 10.0.0.0/8", "tcp dport 22", "ip ttl 64", "meta mark 1", "ct state new"],
               "ip6": ["ip6 saddr ::1", "udp dport 53", "ip6 hoplimit 1", "meta l4proto icmpv6"],
               "inet": ["meta nfproto ipv4", "tcp dport { 22, 80 }", "ct state established", "iifname \"lo\""],
               "bridge": ["ether type ip", "vlan id 10", "meta ibrname \"br0\"", "ip protocol udp"]}
    stmts = ["accept", "drop", "counter", "log", "limit rate 10/second", "return", "meta mark set 1"]
    for n in range(20):
        fam = rng.choice(fams)
        hooks = ["input", "output", "forward"] if fam != "bridge" else ["input", "forward"]
        lines = [f"table {fam} r{n} {{"]
        for ci in range(rng.randint(1, 3)):
            hook = rng.choice(hooks)
            prio = rng.choice(["0", "filter", "filter + 10", "-10", "raw" if fam != "bridge" else "-300"])
            pol = rng.choice(["accept", "drop"])
            lines.append(f"\tchain c{ci} {{")
            lines.append(f"\t\ttype filter hook {hook} priority {prio}; policy {pol};")
            for _ in range(rng.randint(1, 5)):
                lines.append("\t\t" + " ".join(rng.sample(matches[fam], rng.randint(1, 2))) + " " + rng.choice(stmts))
            lines.append("\t}")
        lines.append("}")
        items.append((f"random-{n:02d}", HDR + "\n".join(lines) + "\n"))
    paths = []
    for i, (name, text) in enumerate(items, 1):
        p = directory / f"{i:03d}-{name}.nft"
        p.write_text(text)
        paths.append(p)
    return paths
