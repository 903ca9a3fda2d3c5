"""Hypothesis strategies: random stateless rulesets and random traffic for a host.

Theory of operation
-------------------
A ruleset is drawn from a small grammar of rule *fragments* that nft accepts and the
pkttables pipeline supports::

    ruleset  := table+                      (ip | ip6 | inet, one to three tables)
    table    := base-chain+ regular-chain*  (a hook, a priority, a policy)
    rule     := match* statement* verdict?  (each rule ends with a counter)
    match    := a header field, a meta key, a set or a range over values the
                traffic uses (so that matches actually happen)
    verdict  := accept | drop | continue | return | jump/goto a regular chain
                | reject (ip/inet)

Values are drawn from the same small pools the traffic strategy uses (addresses of the
host's neighbours, a handful of ports, TTLs, marks), so a random rule matches some
packets and misses others.  Everything is stateless and deterministic: no ``ct``, no
``numgen random``, no ``limit`` (time-dependent), no jhash without a seed.

The traffic strategy (:func:`router_traffic`) builds Ethernet frames for the
two-interface router host of the docs and tests (lan0 192.168.1.1/24 + fd00:1::1/64
with the client 192.168.1.10 / fd00:1::10; wan0 203.0.113.2/24 + 2001:db8:1::2/64 with
the gateway .1): forwarded, local and locally sent IPv4/IPv6 TCP/UDP/ICMP packets.

Example::

    from hypothesis import given
    from pkttables.testing import strategies as S

    @given(S.rulesets(), S.router_traffic())
    def test_mine(ruleset, traffic): ...
"""

from __future__ import annotations

from hypothesis import strategies as st

from pkttables.testing.kernel import Injection
from pkttables.testing.packets import (TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, ether, icmp_echo, ipv4, ipv6,
                                       tcp, udp)

__all__ = ["rulesets", "rule", "router_traffic", "router_frame", "PORTS", "ADDRS4", "ADDRS6",
           "LAN_MAC", "CLIENT_MAC", "WAN_MAC", "GW_MAC"]

LAN_MAC, CLIENT_MAC = "02:00:00:00:00:01", "02:00:00:00:00:10"
WAN_MAC, GW_MAC = "02:00:00:00:01:01", "02:00:00:00:01:fe"
PORTS = (22, 53, 80, 443, 5000, 40000)
ADDRS4 = ("192.168.1.10", "192.168.1.1", "203.0.113.2", "8.8.8.8", "198.51.100.7")
ADDRS6 = ("fd00:1::10", "fd00:1::1", "2001:db8:1::2", "2001:db8:9::1", "2001:db8:7::7")
TTLS = (1, 2, 30, 64, 255)
MARKS = (0, 1, 7, 0x10)
HOOKS = ("prerouting", "input", "forward", "output", "postrouting")
PRIOS = (-150, -10, 0, 0, 10)

_port = st.sampled_from(PORTS)
_a4 = st.sampled_from(ADDRS4)
_a6 = st.sampled_from(ADDRS6)


def _set(values) -> str:
    return "{ " + ", ".join(str(v) for v in values) + " }"


# ---------------------------------------------------------------- matches
_NETS4 = ("192.168.1.0/24", "8.0.0.0/8", "192.168.0.0/16", "203.0.113.0/25", "192.168.1.8/29")
_NETS6 = ("fd00:1::/64", "2001:db8::/32", "2001:db8:9::/48", "::/0")


def _match_addr(draw, proto: str, kind: str, neg: str, addrs, nets) -> str | None:
    """The address matches ip and ip6 share (saddr/daddr, a prefix, an anonymous set),
    drawn in the same order for both; None for any other kind."""
    if kind in ("saddr", "daddr"):
        return f"{proto} {kind} {neg}{draw(addrs)}"
    if kind == "prefix":
        net = draw(st.sampled_from(nets))
        return f"{proto} {draw(st.sampled_from(('saddr', 'daddr')))} {neg}{net}"
    if kind == "set":
        vals = draw(st.lists(addrs, min_size=1, max_size=3, unique=True))
        return f"{proto} {draw(st.sampled_from(('saddr', 'daddr')))} {neg}{_set(vals)}"
    return None


@st.composite
def _match_ip(draw, l4: str | None = None) -> str:
    kind = draw(st.sampled_from(("saddr", "daddr", "protocol", "ttl", "prefix", "set", "length", "dscp")))
    neg = draw(st.sampled_from(("", "", "!= ")))
    addr = _match_addr(draw, "ip", kind, neg, _a4, _NETS4)
    if addr is not None:
        return addr
    if kind == "protocol":
        if l4 is not None:
            return f"ip protocol {l4}"
        return f"ip protocol {neg}{draw(st.sampled_from(('tcp', 'udp', 'icmp')))}"
    if kind == "ttl":
        op = draw(st.sampled_from(("", "< ", "> ", "!= ")))
        return f"ip ttl {op}{draw(st.sampled_from(TTLS))}"
    if kind == "length":
        lo = draw(st.integers(20, 120))
        return f"ip length {lo}-{lo + draw(st.integers(0, 200))}"
    return f"ip dscp {draw(st.sampled_from(('0', 'cs1', 'ef', '4')))}"


@st.composite
def _match_ip6(draw, l4: str | None = None) -> str:
    kind = draw(st.sampled_from(("saddr", "daddr", "nexthdr", "hoplimit", "prefix", "set")))
    neg = draw(st.sampled_from(("", "", "!= ")))
    addr = _match_addr(draw, "ip6", kind, neg, _a6, _NETS6)
    if addr is not None:
        return addr
    if kind == "nexthdr":
        if l4 is not None:
            return f"ip6 nexthdr {'icmpv6' if l4 == 'icmp' else l4}"
        return f"ip6 nexthdr {neg}{draw(st.sampled_from(('tcp', 'udp', 'icmpv6')))}"
    op = draw(st.sampled_from(("", "< ", "> ")))          # hoplimit
    return f"ip6 hoplimit {op}{draw(st.sampled_from(TTLS))}"


@st.composite
def _match_ports(draw, proto: str) -> str:
    field = draw(st.sampled_from(("sport", "dport")))
    shape = draw(st.sampled_from(("eq", "neq", "range", "set")))
    if shape == "eq":
        return f"{proto} {field} {draw(_port)}"
    if shape == "neq":
        return f"{proto} {field} != {draw(_port)}"
    if shape == "range":
        lo, hi = sorted(draw(st.lists(st.sampled_from(PORTS + (1, 65535)), min_size=2, max_size=2,
                                      unique=True)))
        return f"{proto} {field} {lo}-{hi}"
    vals = draw(st.lists(_port, min_size=1, max_size=4, unique=True))
    return f"{proto} {field} {_set(sorted(vals))}"


@st.composite
def _match_tcp(draw) -> str:
    kind = draw(st.sampled_from(("ports", "ports", "flags", "flagsmask", "window", "option")))
    if kind == "ports":
        return draw(_match_ports("tcp"))
    if kind == "flags":
        return f"tcp flags {draw(st.sampled_from(('syn', 'ack', 'rst', 'fin', '{ syn, ack }')))}"
    if kind == "flagsmask":
        return f"tcp flags & (syn|ack) == {draw(st.sampled_from(('syn', 'ack', 'syn|ack')))}"
    if kind == "window":
        return f"tcp window {draw(st.sampled_from(('64240', '> 1000', '0')))}"
    return f"tcp option {draw(st.sampled_from(('maxseg exists', 'sack-perm exists', 'timestamp missing')))}"


@st.composite
def _match_icmp(draw, v6: bool) -> str:
    if v6:
        return f"icmpv6 type {draw(st.sampled_from(('echo-request', 'echo-reply', 'destination-unreachable')))}"
    kind = draw(st.sampled_from(("type", "type", "id", "code")))
    if kind == "type":
        return f"icmp type {draw(st.sampled_from(('echo-request', 'echo-reply', 'destination-unreachable')))}"
    if kind == "id":
        return f"icmp sequence {draw(st.integers(0, 5))}"
    return "icmp code 0"


@st.composite
def _match_meta(draw, family: str, l3: str | None, l4: str | None) -> str:
    kinds = ["iifname", "oifname", "mark", "length", "pkttype", "priority"]
    if family == "inet" and l3 is None:
        kinds.append("nfproto")
    if l4 is None:
        kinds += ["l4proto", "concat", "th"]
    kind = draw(st.sampled_from(kinds))
    if kind == "l4proto":
        return f"meta l4proto {draw(st.sampled_from(('tcp', 'udp', 'icmp', 'ipv6-icmp', '{ tcp, udp }')))}"
    if kind == "nfproto":
        return f"meta nfproto {draw(st.sampled_from(('ipv4', 'ipv6')))}"
    if kind in ("iifname", "oifname"):
        return f'meta {kind} "{draw(st.sampled_from(("lan0", "wan0", "lo", "lan*")))}"'
    if kind == "mark":
        return f"meta mark {draw(st.sampled_from(MARKS))}"
    if kind == "priority":
        return f"meta priority {draw(st.sampled_from(('none', '1:1', '0:6')))}"
    if kind == "length":
        return f"meta length {draw(st.sampled_from(('< 60', '> 100', '40-80')))}"
    if kind == "pkttype":
        return f"meta pkttype {draw(st.sampled_from(('host', 'broadcast', 'multicast')))}"
    if kind == "th":
        return draw(_match_ports("th"))
    return "meta l4proto . th dport " + _set(
        f"{p} . {d}" for p, d in draw(st.lists(st.tuples(st.sampled_from(("tcp", "udp")), _port),
                                               min_size=1, max_size=3, unique=True)))


def _match(family: str, l3: str | None, l4: str | None):
    opts = [_match_meta(family, l3, l4)]
    if l3 == "ip":
        opts.append(_match_ip(l4))
    if l3 == "ip6":
        opts.append(_match_ip6(l4))
    if l4 == "tcp":
        opts += [_match_tcp(), _match_tcp()]
    if l4 == "udp":
        opts += [_match_ports("udp"), _match_ports("udp")]
    if l4 == "icmp":
        opts.append(_match_icmp(l3 == "ip6"))
    return st.one_of(*opts)


# ---------------------------------------------------------------- statements and verdicts
@st.composite
def _statement(draw, l3: str | None, l4: str | None) -> str:
    kinds = ["mark", "priority", "quota", "counter"]
    if l4 in ("tcp", "udp"):
        kinds.append("markmap")
    if l3 == "ip":
        kinds.append("ttl")
    kind = draw(st.sampled_from(kinds))
    if kind == "mark":
        return f"meta mark set {draw(st.sampled_from(MARKS))}"
    if kind == "markmap":
        return f"meta mark set {l4} dport map {{ 22 : 1, 53 : 7, 80 : 0x10 }}"
    if kind == "priority":
        return f"meta priority set {draw(st.sampled_from(('1:1', '2:3', 'none')))}"
    if kind == "ttl":
        return f"ip ttl set {draw(st.sampled_from((3, 64)))}"
    if kind == "quota":
        return f"quota {draw(st.sampled_from(('until', 'over')))} {draw(st.sampled_from((60, 200, 1000)))} bytes"
    return "counter"


@st.composite
def _verdict(draw, family: str, hook: str, targets: tuple[str, ...], l4: str | None) -> str:
    opts = ["", "", "accept", "drop", "continue"]
    if targets:
        opts += ["jump", "goto"]
    if hook in ("input", "forward", "output", "prerouting") and family != "ip6":
        opts += ["reject"]
    v = draw(st.sampled_from(opts))
    if v in ("jump", "goto"):
        return f"{v} {draw(st.sampled_from(targets))}"
    if v == "reject":
        kinds = ["reject"]
        if l4 == "tcp":
            kinds.append("reject with tcp reset")
        if family == "inet":
            kinds += ["reject with icmpx type admin-prohibited", "reject with icmpx type no-route"]
        return draw(st.sampled_from(kinds))
    return v


@st.composite
def rule(draw, family: str = "inet", hook: str = "forward", targets: tuple[str, ...] = ()) -> str:
    """One rule: up to three coherent matches (one network and one transport protocol),
    an optional statement, a counter, a verdict."""
    l3 = {"ip": "ip", "ip6": "ip6"}.get(family) or draw(st.sampled_from(("ip", "ip6", None)))
    l4 = draw(st.sampled_from(("tcp", "udp", "icmp", None)))
    if l4 == "icmp" and l3 is None:
        l3 = "ip"
    parts = draw(st.lists(_match(family, l3, l4), min_size=0, max_size=3))
    if l4 is not None and not any(p.startswith(l4) for p in parts):
        parts.insert(0, f"meta l4proto {'ipv6-icmp' if l4 == 'icmp' and l3 == 'ip6' else l4}")
    if l3 is not None and family == "inet" and not any(p.startswith(l3 + " ") for p in parts):
        parts.insert(0, f"meta nfproto {'ipv4' if l3 == 'ip' else 'ipv6'}")
    if draw(st.booleans()):
        parts.append(draw(_statement(l3, l4)))
    parts.append("counter")
    v = draw(_verdict(family, hook, targets, l4))
    if v:
        parts.append(v)
    return " ".join(parts)


@st.composite
def _table(draw, name: str, family: str) -> str:
    nreg = draw(st.integers(0, 2))
    regs = tuple(f"r{i}" for i in range(nreg))
    lines = [f"table {family} {name} {{"]
    for i, r in enumerate(regs):
        # regular chains jump only "forward" (to later chains): no loops
        later = regs[i + 1:]
        # (no reject in regular chains: a postrouting base chain may jump here, and
        # the kernel refuses reject there)
        rules = draw(st.lists(rule(family, "postrouting", later), min_size=1, max_size=3))
        if draw(st.booleans()):
            rules.append("counter return")
        lines.append(f"  chain {r} {{")
        lines += [f"    {x}" for x in rules]
        lines.append("  }")
    hooks = draw(st.lists(st.sampled_from(HOOKS), min_size=1, max_size=3, unique=True))
    for h in hooks:
        prio = draw(st.sampled_from(PRIOS))
        policy = draw(st.sampled_from(("accept", "accept", "drop")))
        rules = draw(st.lists(rule(family, h, regs), min_size=1, max_size=5))
        lines.append(f"  chain b_{h} {{")
        lines.append(f"    type filter hook {h} priority {prio}; policy {policy};")
        lines += [f"    {x}" for x in rules]
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)


@st.composite
def rulesets(draw, families=("ip", "ip6", "inet")) -> str:
    """A random stateless ruleset of one to three tables (see the module docstring)."""
    n = draw(st.integers(1, 3))
    tables = [draw(_table(f"t{i}", draw(st.sampled_from(families)))) for i in range(n)]
    return "\n".join(tables) + "\n"


# ---------------------------------------------------------------- traffic
_FLAGS = st.sampled_from((TCP_SYN, TCP_ACK, TCP_ACK | TCP_PSH, TCP_SYN | TCP_ACK, TCP_FIN | TCP_ACK, TCP_RST))


@st.composite
def _segment(draw, v6: bool):
    kind = draw(st.sampled_from(("tcp", "udp", "icmp")))
    sport, dport = draw(_port), draw(_port)
    payload = draw(st.sampled_from((b"", b"x", b"hello world", b"z" * 60)))
    if kind == "tcp":
        return tcp(sport, dport, flags=draw(_FLAGS), seq=draw(st.integers(0, 2**32 - 1)),
                   ack=draw(st.integers(0, 2**32 - 1)), payload=payload)
    if kind == "udp":
        return udp(sport, dport, payload)
    return icmp_echo(draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 5)), payload, v6=v6)


@st.composite
def router_frame(draw) -> Injection:
    """One injection for the two-interface router host."""
    v6 = draw(st.booleans())
    where = draw(st.sampled_from(("lan-fwd", "lan-local", "wan-fwd", "local")))
    seg = draw(_segment(v6))
    if v6:
        src, dst, ifname = {
            "lan-fwd": ("fd00:1::10", draw(st.sampled_from(("2001:db8:9::1", "2001:db8:7::7"))), "lan0"),
            "lan-local": ("fd00:1::10", draw(st.sampled_from(("fd00:1::1", "2001:db8:1::2"))), "lan0"),
            "wan-fwd": (draw(st.sampled_from(("2001:db8:9::1", "2001:db8:7::7"))), "fd00:1::10", "wan0"),
            "local": (draw(st.sampled_from(("fd00:1::1", "2001:db8:1::2"))),
                      draw(st.sampled_from(("2001:db8:9::1", "fd00:1::10"))), "local"),
        }[where]
        l3 = ipv6(src, dst, seg, hlim=draw(st.sampled_from(TTLS)))
    else:
        src, dst, ifname = {
            "lan-fwd": ("192.168.1.10", draw(st.sampled_from(("8.8.8.8", "198.51.100.7"))), "lan0"),
            "lan-local": ("192.168.1.10", draw(st.sampled_from(("192.168.1.1", "203.0.113.2"))), "lan0"),
            "wan-fwd": (draw(st.sampled_from(("8.8.8.8", "198.51.100.7"))), "192.168.1.10", "wan0"),
            "local": (draw(st.sampled_from(("192.168.1.1", "203.0.113.2"))),
                      draw(st.sampled_from(("8.8.8.8", "192.168.1.10"))), "local"),
        }[where]
        l3 = ipv4(src, dst, seg, ttl=draw(st.sampled_from(TTLS)), tos=draw(st.sampled_from((0, 0x10, 0xb8))),
                  df=draw(st.booleans()), ident=draw(st.integers(1, 0xFFFF)))
    if ifname == "local":
        return Injection("local", l3)
    if ifname == "lan0":
        return Injection("lan0", ether(LAN_MAC, CLIENT_MAC, l3))
    return Injection("wan0", ether(WAN_MAC, GW_MAC, l3))


def router_traffic(min_size: int = 1, max_size: int = 8):
    """A list of injections for the router host (all at time 0)."""
    return st.lists(router_frame(), min_size=min_size, max_size=max_size)
