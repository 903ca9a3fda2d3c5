"""Scenario families for issue 6 (conntrack and NAT against the kernel), generated from
parameter grids.  Every scenario is a :class:`ctnat_lab.CtScenario`: a ruleset and
injections on the two-interface router host (client C on lan0, servers S/S2 behind
wan0's gateway, the router's wan address W).

Families (names start with the family):
gw-*        stateful gateway, TCP handshake + data + teardown, either side closing
unsol-*     unsolicited TCP segments in either direction
oow-*       out-of-window TCP (SEQ/ACK over the bounds, old retransmissions)
masq-*      masquerade of TCP/UDP/ICMP with replies
fwd-*       DNAT port forwards with replies
clash-*     several clients with one source port through a small port range
icmperr-*   ICMP errors about NATed flows, both directions
zone-*/mark-*  ct zone set, ct mark set, meta mark set ct mark (connmark restore)
udp-*       UDP streams
sctp-*      SCTP associations, tracked and masqueraded
count-*     ct count (connlimit) in a rule and in set elements
"""

from __future__ import annotations

import itertools

from ctnat_lab import CtScenario
from lab_hosts import CLIENT_MAC, GW_MAC, LAN_MAC, WAN_MAC
from pkttables.conntrack._sctp import C as SC
from pkttables.conntrack._sctp import chunk, init_chunk, sctp_bytes
from pkttables.testing import packets as P
from pkttables.testing.kernel import Injection

C4, C4b, C4c = "192.168.1.10", "192.168.1.11", "192.168.1.12"
S4, S4b = "198.51.100.7", "198.51.100.8"
W4 = "203.0.113.2"
C6, S6, W6 = "fd00:1::10", "2001:db8:99::7", "2001:db8:1::2"
SYN, ACK, FIN, RST, PSH = P.TCP_SYN, P.TCP_ACK, P.TCP_FIN, P.TCP_RST, P.TCP_PSH
SA, PA, FA = SYN | ACK, PSH | ACK, FIN | ACK


def addrs(v6: bool):
    return (C6, S6, W6) if v6 else (C4, S4, W4)


def lan(src, dst, seg, v6=False, delay=0.0, **kw):
    ip = P.ipv6(src, dst, seg) if v6 else P.ipv4(src, dst, seg, **kw)
    return Injection("lan0", P.ether(LAN_MAC, CLIENT_MAC, ip), delay)


def wan(src, dst, seg, v6=False, delay=0.0, **kw):
    ip = P.ipv6(src, dst, seg) if v6 else P.ipv4(src, dst, seg, **kw)
    return Injection("wan0", P.ether(WAN_MAC, GW_MAC, ip), delay)


COUNTERS = """\
        ct state invalid counter
        ct state new counter
        ct state established counter
        ct state related counter
        ct state untracked counter
"""


def ruleset(*, fw: str = "", nat_post: str = "", nat_pre: str = "", raw: str = "", extra: str = "",
            policy: str = "accept") -> str:
    """An inet table with a forward chain (ct state counters first), and nat chains."""
    out = ["table inet t {", extra,
           "    chain fw {", f"        type filter hook forward priority 0; policy {policy};",
           COUNTERS + fw, "    }"]
    if raw:
        out += ["    chain raw {", "        type filter hook prerouting priority raw; policy accept;",
                raw, "    }"]
    if nat_pre:
        out += ["    chain npre {", "        type nat hook prerouting priority dstnat; policy accept;",
                nat_pre, "    }"]
    if nat_post:
        out += ["    chain npost {", "        type nat hook postrouting priority srcnat; policy accept;",
                nat_post, "    }"]
    out.append("}")
    return "\n".join(x for x in out if x) + "\n"


class Tcp:
    """One TCP connection from a lan client to a server; the server answers to ``back``
    (the client, or the masquerading address)."""

    def __init__(self, v6, cport, sport, *, client=None, server=None, back=None, isn=(1000, 50000),
                 window=64240):
        c, s, _w = addrs(v6)
        self.v6, self.cport, self.sport = v6, cport, sport
        self.client, self.server = client or c, server or s
        self.back = back or self.client
        self.c, self.s = isn
        self.window = window
        # what the other side sees of each side's sequence space (NAT resized a segment)
        self.c_shift = self.s_shift = 0

    def cl(self, flags, payload=b"", seq=None, ack=None, **kw):
        seg = P.tcp(self.cport, self.sport, flags, seq=(self.c if seq is None else seq) & 0xFFFFFFFF,
                    ack=((self.s - self.s_shift if flags & ACK else 0) if ack is None else ack) & 0xFFFFFFFF,
                    payload=payload,
                    window=self.window, **kw)
        if seq is None:
            self.c += len(payload) + bool(flags & (SYN | FIN))
        return lan(self.client, self.server, seg, self.v6)

    def sv(self, flags, payload=b"", seq=None, ack=None, **kw):
        seg = P.tcp(self.sport, self.cport, flags, seq=(self.s if seq is None else seq) & 0xFFFFFFFF,
                    ack=((self.c + self.c_shift if flags & ACK else 0) if ack is None else ack) & 0xFFFFFFFF,
                    payload=payload,
                    window=self.window, **kw)
        if seq is None:
            self.s += len(payload) + bool(flags & (SYN | FIN))
        return wan(self.server, self.back, seg, self.v6)

    def handshake(self):
        return [self.cl(SYN), self.sv(SA), self.cl(ACK)]


# ------------------------------------------------------------------ families
def gateway():
    fw = ('        ct state established,related accept\n'
          '        ct state new iifname "lan0" accept\n'
          '        counter drop\n')
    for v6, nat, closer, port in itertools.product((False, True), (False, True), ("client", "server", "rst"),
                                                   (80, 443, 8080)):
        c, s, w = addrs(v6)
        t = Tcp(v6, 40000 + port, port, back=w if nat else None)
        tr = t.handshake() + [t.cl(PA, b"GET / HTTP/1.0\r\n\r\n"), t.sv(ACK), t.sv(PA, b"HTTP/1.0 200 OK\r\n\r\nhi"),
                              t.cl(ACK)]
        if closer == "client":
            tr += [t.cl(FA), t.sv(ACK), t.sv(FA), t.cl(ACK)]
        elif closer == "server":
            tr += [t.sv(FA), t.cl(ACK), t.cl(FA), t.sv(ACK)]
        else:
            tr += [t.cl(RST | ACK)]
        # an unsolicited SYN from outside: new but dropped by policy
        tr.append(wan(s, c if not nat else w, P.tcp(5555, 22, SYN), v6))
        rs = ruleset(fw=fw, nat_post='        oifname "wan0" masquerade\n' if nat else "", policy="drop")
        yield CtScenario(f"gw-{'v6' if v6 else 'v4'}-{'masq' if nat else 'plain'}-{closer}-{port}", rs, tr)


def unsolicited():
    kinds = {"synack": SA, "fin": FA, "rst": RST, "ack": ACK, "none": 0, "finpsh": FIN | PSH | ACK,
             "synfin": SYN | FIN}
    for v6, (kname, flags), direction in itertools.product((False, True), kinds.items(), ("out", "in")):
        c, s, w = addrs(v6)
        if direction == "out":
            tr = [lan(c, s, P.tcp(41000, 80, flags, seq=10, ack=20 if flags & ACK else 0), v6)]
        else:
            tr = [wan(s, c, P.tcp(80, 41000, flags, seq=10, ack=20 if flags & ACK else 0), v6)]
        # and a well-formed connection afterwards, unaffected
        t = Tcp(v6, 41001, 80)
        tr += t.handshake()
        yield CtScenario(f"unsol-{'v6' if v6 else 'v4'}-{kname}-{direction}", ruleset(), tr)


def out_of_window():
    for v6, nat, kind in itertools.product((False, True), (False, True),
                                           ("seq-over", "ack-over", "old-retrans", "seq-under", "rst-oow",
                                            "fin-oow")):
        c, s, w = addrs(v6)
        t = Tcp(v6, 42000, 80, back=w if nat else None, window=1000)
        tr = [t.cl(SYN, options=b""), t.sv(SA, options=b""), t.cl(ACK)]
        if kind == "seq-over":
            tr.append(t.cl(PA, b"x", seq=t.c + 500000))
        elif kind == "ack-over":
            tr.append(t.sv(ACK, ack=t.c + 900000))
        elif kind == "old-retrans":
            tr += [t.cl(PA, b"abc"), t.cl(PA, b"abc", seq=t.c - 3)]
        elif kind == "seq-under":
            tr.append(t.cl(PA, b"y", seq=t.c - 300000))
        elif kind == "rst-oow":
            tr.append(t.sv(RST, seq=t.s + 200000))
        else:
            tr.append(t.cl(FA, seq=t.c + 70000))
        tr.append(t.cl(ACK))      # the connection still works
        rs = ruleset(nat_post='        oifname "wan0" masquerade\n' if nat else "")
        yield CtScenario(f"oow-{'v6' if v6 else 'v4'}-{'masq' if nat else 'plain'}-{kind}", rs, tr)


def masquerade():
    for v6, proto, port in itertools.product((False, True), ("tcp", "udp", "icmp"), (53, 123, 4000)):
        c, s, w = addrs(v6)
        if proto == "tcp":
            t = Tcp(v6, 30000 + port, port, back=w)
            tr = t.handshake() + [t.cl(PA, b"data"), t.sv(ACK)]
        elif proto == "udp":
            tr = [lan(c, s, P.udp(30000 + port, port, b"q"), v6), wan(s, w, P.udp(port, 30000 + port, b"a"), v6),
                  lan(c, s, P.udp(30000 + port, port, b"q2"), v6)]
        else:
            tr = [lan(c, s, P.icmp_echo(port, 1, b"ping", v6=v6), v6),
                  wan(s, w, P.icmp_echo(port, 1, b"ping", reply=True, v6=v6), v6),
                  wan(s, w, P.icmp_echo(port + 1, 1, b"x", reply=True, v6=v6), v6)]
        rs = ruleset(nat_post='        oifname "wan0" masquerade\n')
        yield CtScenario(f"masq-{'v6' if v6 else 'v4'}-{proto}-{port}", rs, tr)


def port_forward():
    for v6, proto, (ext, internal) in itertools.product((False, True), ("tcp", "udp"),
                                                        ((8080, 80), (2222, 22), (443, 443))):
        c, s, w = addrs(v6)
        target = f"[{c}]:{internal}" if v6 else f"{c}:{internal}"
        fam = "ip6" if v6 else "ip"
        rs = ruleset(nat_pre=f'        iifname "wan0" {proto} dport {ext} dnat {fam} to {target}\n')
        if proto == "tcp":
            tr = [wan(s, w, P.tcp(5555, ext, SYN, seq=1000), v6),
                  lan(c, s, P.tcp(internal, 5555, SA, seq=9000, ack=1001), v6),
                  wan(s, w, P.tcp(5555, ext, ACK, seq=1001, ack=9001), v6),
                  wan(s, w, P.tcp(5555, ext, PA, seq=1001, ack=9001, payload=b"hello"), v6),
                  lan(c, s, P.tcp(internal, 5555, ACK, seq=9001, ack=1006), v6)]
        else:
            tr = [wan(s, w, P.udp(6000, ext, b"u"), v6), lan(c, s, P.udp(internal, 6000, b"v"), v6),
                  wan(s, w, P.udp(6000, ext, b"w"), v6)]
        # a second peer to a port that is not forwarded: to the router itself
        tr.append(wan(s, w, P.udp(6001, ext + 1, b"z"), v6))
        yield CtScenario(f"fwd-{'v6' if v6 else 'v4'}-{proto}-{ext}-{internal}", rs, tr)


def clashes():
    clients = [C4, C4b, C4c]
    # n=3 through two ports: the third finds none free and is dropped at confirm (with
    # three ports the kernel would pick the second client's port at random)
    for n, proto, base in itertools.product((2, 3), ("tcp", "udp"), (40000, 1500, 700)):
        rng = f":{base}-{base + 1}"
        rs = ruleset(nat_post=f'        oifname "wan0" meta l4proto {proto} masquerade to {rng}\n')
        tr = []
        for i in range(n):
            seg = P.tcp(base, 80, SYN, seq=7) if proto == "tcp" else P.udp(base, 53, b"q")
            tr.append(lan(clients[i], S4, seg))
        for i in reversed(range(2)):
            seg = P.tcp(80, base + i, SA, seq=9, ack=8) if proto == "tcp" else P.udp(53, base + i, b"a")
            tr.append(wan(S4, W4, seg))
        yield CtScenario(f"clash-{proto}-{n}-{base}", rs, tr)


def icmp_errors():
    for v6, direction, kind in itertools.product((False, True), ("reply", "orig", "ttl"),
                                                 ("unreach", "toobig", "timex")):
        c, s, w = addrs(v6)
        if v6:
            typ = {"unreach": (1, 4), "toobig": (2, 0), "timex": (3, 0)}[kind]
        else:
            typ = {"unreach": (3, 3), "toobig": (3, 4), "timex": (11, 0)}[kind]
        rest = 1280 if kind == "toobig" else 0
        ip = P.ipv6 if v6 else P.ipv4
        rs = ruleset(nat_post='        oifname "wan0" masquerade\n',
                     nat_pre=f'        iifname "wan0" udp dport 8080 dnat {"ip6" if v6 else "ip"} to '
                             f'{f"[{c}]" if v6 else c}:80\n')
        if direction == "reply":
            inner = ip(w, s, P.udp(5000, 53, b"q"))
            tr = [lan(c, s, P.udp(5000, 53, b"q"), v6),
                  wan(s, w, P.icmp_error(*typ, inner, v6=v6, rest=rest), v6)]
        elif direction == "orig":
            inner = ip(w, s, P.udp(8080, 6000, b"r"))
            tr = [wan(s, w, P.udp(6000, 8080, b"r"), v6), lan(c, s, P.udp(80, 6000, b"r"), v6),
                  wan(s, w, P.icmp_error(*typ, inner, v6=v6, rest=rest), v6)]
        else:
            if kind != "timex":
                # a quote that matches no entry
                inner = ip(w, s, P.udp(5999, 53, b"q"))
                tr = [lan(c, s, P.udp(5000, 53, b"q"), v6),
                      wan(s, w, P.icmp_error(*typ, inner, v6=v6, rest=rest), v6)]
            else:
                kw = {"hlim": 1} if v6 else {"ttl": 1}
                seg = P.udp(6000, 8080, b"ttl")
                ipk = P.ipv6(s, w, seg, **kw) if v6 else P.ipv4(s, w, seg, **kw)
                tr = [wan(s, w, P.udp(6000, 8080, b"r"), v6),
                      Injection("wan0", P.ether(WAN_MAC, GW_MAC, ipk))]
        yield CtScenario(f"icmperr-{'v6' if v6 else 'v4'}-{direction}-{kind}", rs, tr)


def zones_marks():
    # ct zone set (the only prerouting chain, at raw priority: before conntrack)
    for v6, zone, proto in itertools.product((False, True), (0, 1, 7), ("tcp", "udp")):
        c, s, w = addrs(v6)
        raw = (f'        iifname "lan0" ct zone set {zone}\n'
               f'        iifname "wan0" ct zone set {zone}\n')
        if proto == "tcp":
            t = Tcp(v6, 43000 + zone, 80)
            tr = t.handshake()
        else:
            tr = [lan(c, s, P.udp(43000 + zone, 53, b"q"), v6), wan(s, c, P.udp(53, 43000 + zone, b"a"), v6)]
        yield CtScenario(f"zone-{'v6' if v6 else 'v4'}-{proto}-{zone}", ruleset(raw=raw), tr)
    # zone only on one side: the reply is not found (a new entry in the other zone)
    for v6 in (False, True):
        c, s, w = addrs(v6)
        raw = '        iifname "lan0" ct zone set 3\n'
        tr = [lan(c, s, P.udp(43100, 53, b"q"), v6), wan(s, c, P.udp(53, 43100, b"a"), v6)]
        yield CtScenario(f"zone-{'v6' if v6 else 'v4'}-oneside", ruleset(raw=raw), tr)
    # ct mark set on new connections, then restored into the packet mark (connmark)
    for v6, mark, proto in itertools.product((False, True), (1, 0x42, 0xdeadbeef), ("tcp", "udp", "icmp")):
        c, s, w = addrs(v6)
        fw = (f'        ct state new ct mark set {mark:#x}\n'
              f'        meta mark set ct mark\n'
              f'        meta mark {mark:#x} counter\n'
              f'        ct mark {mark:#x} ct direction reply counter\n')
        if proto == "tcp":
            t = Tcp(v6, 44000, 22)
            tr = t.handshake() + [t.cl(PA, b"x")]
        elif proto == "udp":
            tr = [lan(c, s, P.udp(44000, 53, b"q"), v6), wan(s, c, P.udp(53, 44000, b"a"), v6)]
        else:
            tr = [lan(c, s, P.icmp_echo(9, 1, v6=v6), v6), wan(s, c, P.icmp_echo(9, 1, reply=True, v6=v6), v6)]
        yield CtScenario(f"mark-{'v6' if v6 else 'v4'}-{proto}-{mark:x}", ruleset(fw=fw), tr)
    # packet mark saved into the entry (ct mark set meta mark) and matched on replies
    for v6, mark in itertools.product((False, True), (5, 0x100)):
        c, s, w = addrs(v6)
        fw = (f'        iifname "lan0" meta mark set {mark}\n'
              f'        ct mark set meta mark\n'
              f'        ct mark {mark} counter\n')
        tr = [lan(c, s, P.udp(44100, 53, b"q"), v6), wan(s, c, P.udp(53, 44100, b"a"), v6),
              lan(c, s, P.udp(44100, 53, b"q"), v6)]
        yield CtScenario(f"mark-{'v6' if v6 else 'v4'}-save-{mark}", ruleset(fw=fw), tr)


def udp_streams():
    for v6, n, nat in itertools.product((False, True), (1, 2, 4), (False, True)):
        c, s, w = addrs(v6)
        tr = []
        for i in range(n):
            tr.append(lan(c, s, P.udp(45000, 5000, b"a" * (i + 1)), v6))
            tr.append(wan(s, w if nat else c, P.udp(5000, 45000, b"b" * (i + 1)), v6))
        tr.append(lan(c, s, P.udp(45001, 5000, b"one-way"), v6))
        rs = ruleset(nat_post='        oifname "wan0" masquerade\n' if nat else "")
        yield CtScenario(f"udp-{'v6' if v6 else 'v4'}-{n}-{'masq' if nat else 'plain'}", rs, tr)


def _sctp(sport, dport, vtag, *chunks_):
    return P.Segment(132, sctp_bytes(sport, dport, vtag, *chunks_), None)


def sctp():
    for v6, nat, stop in itertools.product((False, True), (False, True), ("init", "cookie", "est", "shutdown")):
        c, s, w = addrs(v6)
        back = w if nat else c
        tr = [lan(c, s, _sctp(46000, 9899, 0, init_chunk(0x1111)), v6)]
        if stop != "init":
            tr += [wan(s, back, _sctp(9899, 46000, 0x1111, init_chunk(0x2222, ack=True)), v6),
                   lan(c, s, _sctp(46000, 9899, 0x2222, chunk(SC.COOKIE_ECHO, b"cookie!!")), v6)]
        if stop in ("est", "shutdown"):
            tr += [wan(s, back, _sctp(9899, 46000, 0x1111, chunk(SC.COOKIE_ACK)), v6)]
        if stop == "shutdown":
            tr += [lan(c, s, _sctp(46000, 9899, 0x2222, chunk(SC.SHUTDOWN, b"\0\0\0\1")), v6),
                   wan(s, back, _sctp(9899, 46000, 0x1111, chunk(SC.SHUTDOWN_ACK)), v6),
                   lan(c, s, _sctp(46000, 9899, 0x2222, chunk(SC.SHUTDOWN_COMPLETE)), v6)]
        rs = ruleset(nat_post='        oifname "wan0" masquerade\n' if nat else "")
        yield CtScenario(f"sctp-{'v6' if v6 else 'v4'}-{'masq' if nat else 'plain'}-{stop}", rs, tr)


def ct_count():
    for v6, limit, n in itertools.product((False, True), (1, 2), (2, 3)):
        c, s, w = addrs(v6)
        fw = f'        ct state new ct count over {limit} counter drop\n'
        # 30 ms apart: nf_conncount skips its list walk within one jiffy (list->last_gc)
        tr = [lan(c, s, P.tcp(47000 + i, 80, SYN), v6, delay=0.03) for i in range(n)]
        tr.append(lan(c, s, P.tcp(47000, 80, SYN), v6, delay=0.03))      # a retransmission of the first
        yield CtScenario(f"count-{'v6' if v6 else 'v4'}-rule-{limit}-{n}", ruleset(fw=fw), tr)
    for v6, limit in itertools.product((False, True), (1, 2)):
        c, s, w = addrs(v6)
        fam, key = ("ip6", "ip6 saddr") if v6 else ("ip", "ip saddr")
        extra = (f"    set perhost {{ type {'ipv6_addr' if v6 else 'ipv4_addr'}; flags dynamic; }}\n")
        fw = f'        ct state new add @perhost {{ {key} ct count over {limit} }} counter drop\n'
        tr = [lan(c, s, P.udp(47100 + i, 53, b"q"), v6, delay=0.03) for i in range(3)]
        yield CtScenario(f"count-{'v6' if v6 else 'v4'}-set-{limit}", ruleset(fw=fw, extra=extra), tr)


FTP_RULES = """\
    ct helper ftp-standard { type "ftp" protocol tcp; l3proto inet; }
    chain pre {
        type filter hook prerouting priority 0; policy accept;
        tcp dport 21 ct helper set "ftp-standard"
    }
"""


def _full6(a: str) -> str:
    import ipaddress
    p = ipaddress.IPv6Address(a).packed
    return ":".join(p[i:i + 2].hex() for i in range(0, 16, 2))


def _port_text(addr: str, port: int) -> str:
    return addr.replace(".", ",") + f",{port >> 8},{port & 0xff}"


def ftp_nat():
    """FTP through masquerade (client inside) and DNAT (server inside), active and
    passive: the gateway rewrites the announced address, adjusts sequence numbers after
    a length change, and NATs the data connection as its master (nf_nat_follow_master)."""
    for mode, nat, v6, dport in itertools.product(("port", "eprt", "pasv", "epsv"), ("masq", "dnat"),
                                                  (False, True), (40001, 2121)):
        if v6 and mode in ("port", "pasv"):
            continue
        c, s, w = addrs(v6)
        fam = "ip6" if v6 else "ip"
        if nat == "masq":
            # client c inside, server s outside; the server sees w
            rs = ruleset(extra=FTP_RULES, nat_post='        oifname "wan0" masquerade\n')
            t = Tcp(v6, 40000, 21, back=w)
            inside, outside, inside_addr, seen = "client", "server", c, w
        else:
            # server c inside on port 21, client s outside connecting to w
            rs = ruleset(extra=FTP_RULES,
                         nat_pre=f'        iifname "wan0" tcp dport 21 dnat {fam} to {f"[{c}]" if v6 else c}\n')
            t = None
            inside, outside, inside_addr, seen = "server", "client", c, w
        if nat == "masq":
            tr = t.handshake() + [t.sv(PA, b"220 hi\r\n"), t.cl(PA, b"USER a\r\n"), t.sv(PA, b"331 pw\r\n")]
            if mode in ("port", "eprt"):
                if mode == "port":
                    old, new = _port_text(c, dport), _port_text(w, dport)
                    cmd = f"PORT {old}\r\n"
                else:
                    old = c
                    new = _full6(w) if v6 else w
                    cmd = f"EPRT |{2 if v6 else 1}|{c}|{dport}|\r\n"
                tr.append(t.cl(PA, cmd.encode()))
                t.c_shift += len(new) - len(old)
                tr += [t.sv(PA, b"200 ok\r\n"), t.cl(PA, b"LIST\r\n"), t.sv(PA, b"150 here\r\n")]
                # active data connection: server:20 -> w:dport, DNATed to the client
                d = Tcp(v6, dport, 20)
                tr += [wan(s, w, P.tcp(20, dport, SYN, seq=7000), v6),
                       lan(c, s, P.tcp(dport, 20, SA, seq=8000, ack=7001), v6),
                       wan(s, w, P.tcp(20, dport, PA, seq=7001, ack=8001, payload=b"listing"), v6)]
            else:
                tr.append(t.cl(PA, b"PASV\r\n" if mode == "pasv" else b"EPSV\r\n"))
                if mode == "pasv":
                    tr.append(t.sv(PA, f"227 Entering Passive Mode ({_port_text(s, dport)}).\r\n".encode()))
                else:
                    tr.append(t.sv(PA, f"229 Entering Extended Passive Mode (|||{dport}|)\r\n".encode()))
                tr += [t.cl(PA, b"LIST\r\n")]
                d = Tcp(v6, 41000, dport, back=w)
                tr += d.handshake() + [d.sv(PA, b"listing")]
            tr += [t.sv(PA, b"226 done\r\n"), t.cl(ACK)]
        else:
            # the outside client s:5000 -> w:21; the inside server c answers from 21
            cl = Tcp(v6, 5000, 21)
            def c2s(flags, payload=b""):
                seg = P.tcp(5000, 21, flags, seq=cl.c & 0xFFFFFFFF, ack=(cl.s - cl.s_shift) & 0xFFFFFFFF
                            if flags & ACK else 0, payload=payload)
                cl.c += len(payload) + bool(flags & (SYN | FIN))
                return wan(s, w, seg, v6)
            def s2c(flags, payload=b""):
                seg = P.tcp(21, 5000, flags, seq=cl.s & 0xFFFFFFFF, ack=cl.c & 0xFFFFFFFF if flags & ACK else 0,
                            payload=payload)
                cl.s += len(payload) + bool(flags & (SYN | FIN))
                return lan(c, s, seg, v6)
            tr = [c2s(SYN), s2c(SA), c2s(ACK), s2c(PA, b"220 hi\r\n"), c2s(PA, b"USER a\r\n"),
                  s2c(PA, b"331 pw\r\n")]
            if mode in ("port", "eprt"):
                # active: the outside client announces its own address: text unchanged
                cmd = (f"PORT {_port_text(s, dport)}\r\n" if mode == "port"
                       else f"EPRT |{2 if v6 else 1}|{s}|{dport}|\r\n")
                tr += [c2s(PA, cmd.encode()), s2c(PA, b"200 ok\r\n"), c2s(PA, b"LIST\r\n")]
                # data from the inside server c:20 -> s:dport, SNATed to w by follow_master
                tr += [lan(c, s, P.tcp(20, dport, SYN, seq=7000), v6),
                       wan(s, w, P.tcp(dport, 20, SA, seq=8000, ack=7001), v6),
                       lan(c, s, P.tcp(20, dport, PA, seq=7001, ack=8001, payload=b"listing"), v6)]
            else:
                tr.append(c2s(PA, b"PASV\r\n" if mode == "pasv" else b"EPSV\r\n"))
                if mode == "pasv":
                    tr.append(s2c(PA, f"227 Entering Passive Mode ({_port_text(c, dport)}).\r\n".encode()))
                    cl.s_shift += len(_port_text(w, dport)) - len(_port_text(c, dport))
                else:
                    tr.append(s2c(PA, f"229 Entering Extended Passive Mode (|||{dport}|)\r\n".encode()))
                tr.append(c2s(PA, b"LIST\r\n"))
                # passive data: outside client s -> w:dport, DNATed to the inside server
                tr += [wan(s, w, P.tcp(41000, dport, SYN, seq=100), v6),
                       lan(c, s, P.tcp(dport, 41000, SA, seq=900, ack=101), v6),
                       wan(s, w, P.tcp(41000, dport, ACK, seq=101, ack=901), v6)]
            tr += [s2c(PA, b"226 done\r\n"), c2s(ACK)]
        yield CtScenario(f"ftp-{'v6' if v6 else 'v4'}-{nat}-{mode}-{dport}", rs, tr)


FAMILIES = (ftp_nat, gateway, unsolicited, out_of_window, masquerade, port_forward, clashes, icmp_errors,
            zones_marks, udp_streams, sctp, ct_count)


def all_scenarios() -> list[CtScenario]:
    out = [sc for fam in FAMILIES for sc in fam()]
    names = [sc.name for sc in out]
    assert len(names) == len(set(names)), "scenario names must be unique"
    return out
