"""NAT against the kernel: the same host, nat ruleset and traffic through Linux (in a
network namespace) and through pkttables (Engine + ConntrackTable + NatTable running the
ruleset's nat chains with the vm).  Compared: the frames emitted per interface and
injection, byte for byte (after engine.mask_random), and the conntrack entries
(tuples, SNAT/DNAT, ASSURED/UNREPLIED).  Where the kernel picks a port at random
(a clash without a port range), the test compares the structure instead and says so."""

from __future__ import annotations

import ipaddress

import pytest

from lab_hosts import CLIENT_MAC, GW_MAC, LAN_MAC, WAN_MAC, mac, two_interface_host
from pkttables.commands import run_text
from pkttables.conntrack import ConntrackTable, Status
from pkttables.model import Ruleset
from pkttables.nat import NatTable, chain_runner
from pkttables.packet import Packet
from pkttables.stack.engine import Engine, mask_random
from pkttables.stack.hooks import HookTable
from pkttables.stack.host import Neighbor
from pkttables.testing import packets as P
from pkttables.testing.kernel import Injection, KernelLab
from pkttables.vm.chain import LoadedRuleset
from pkttables.vm.stateful_impl import ChainRuntime

pytestmark = pytest.mark.kernel

C, C2, C3 = "192.168.1.10", "192.168.1.11", "192.168.1.12"
S, S2 = "198.51.100.7", "198.51.100.8"
W = "203.0.113.2"
C6, S6, W6 = "fd00:1::10", "2001:db8:99::7", "2001:db8:1::2"
SA, A = P.TCP_SYN | P.TCP_ACK, P.TCP_ACK


def lan(src, dst, seg, v6=False, **kw):
    ip = P.ipv6(src, dst, seg) if v6 else P.ipv4(src, dst, seg, **kw)
    return Injection("lan0", P.ether(LAN_MAC, CLIENT_MAC, ip))


def wan(src, dst, seg, v6=False, **kw):
    ip = P.ipv6(src, dst, seg) if v6 else P.ipv4(src, dst, seg, **kw)
    return Injection("wan0", P.ether(WAN_MAC, GW_MAC, ip))


def nat_host():
    h = two_interface_host()
    for a in (C2, C3):
        h.neighbors.append(Neighbor(ipaddress.ip_address(a), mac(CLIENT_MAC), "lan0"))
    return h


def chains(*bodies: str, family: str = "ip") -> str:
    out = [f"table {family} nat {{"]
    for i, (hook, rules) in enumerate(bodies):
        prio = "dstnat" if hook in ("prerouting", "output") else "srcnat"
        out += [f"  chain c{i} {{", f"    type nat hook {hook} priority {prio}; policy accept;"]
        out += [f"    {r}" for r in rules.split("\n") if r.strip()]
        out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


class Sim:
    """pkttables with the same ruleset: conntrack at -200, NAT at -100/100."""

    def __init__(self, host, ruleset: str, seed: int = 0):
        self.host = host
        hooks = HookTable()
        self.ct = ConntrackTable(host)
        self.ct.register(hooks)
        self.nat = NatTable(self.ct, host, seed=seed)
        loaded = LoadedRuleset(run_text(ruleset, Ruleset()).ruleset)
        rt = ChainRuntime(loaded, host=host, seed=seed, types=("nat",))
        self.nat.register(hooks, chain_runner(rt, self.nat))
        self.engine = Engine(host, hooks, seed=seed)

    def run(self, injections, t0: float = 0.0):
        return [self.engine.process(inj.frame, t0 + 0.01 * i, iif=inj.ifname)
                for i, inj in enumerate(injections)]


def local(host) -> set[bytes]:
    return {a.ip.packed for i in host.interfaces.values() for a in i.addresses}


def masked(frame: bytes, loc) -> bytes:
    """engine.mask_random, and also the IP ID and header checksum of every IPv4 packet
    without DF: NAT gives the host's ICMP errors a source that is not the host's, so
    mask_random no longer recognises them as host-originated (the kernel's ID is random)."""
    f = bytearray(mask_random(frame, loc))
    if len(f) >= 34 and f[12:14] == b"\x08\x00" and not f[20] & 0x40:
        f[18:20] = f[24:26] = b"\0\0"
    return bytes(f)


def frames(host, outs, emitted, n):
    """{(injection, ifname): [masked frames]} for ours and the kernel's."""
    loc = local(host)
    mine, theirs = {}, {}
    for i in range(n):
        for e in outs[i].emitted:
            mine.setdefault((i, e.ifname), []).append(masked(e.data, loc))
    for e in emitted:
        theirs.setdefault((e.after_injection, e.ifname), []).append(masked(e.frame, loc))
    return mine, theirs


def show(d):
    return {k: [Packet(f).summary() for f in v] for k, v in sorted(d.items())}


def ours_as_dicts(ct: ConntrackTable):
    out = []
    for e in ct.entries():
        st = set()
        if e.status & Status.SRC_NAT:
            st.add("SNAT")
        if e.status & Status.DST_NAT:
            st.add("DNAT")
        if e.status & Status.ASSURED:
            st.add("ASSURED")
        if not e.status & Status.SEEN_REPLY:
            st.add("UNREPLIED")
        out.append(_key(e.tuples[0], e.tuples[1], e.state_name, st))
    return sorted(out)


def _tkey(t):
    if t.protonum in (1, 58):
        return (str(t.src_addr), str(t.dst_addr), t.icmp_type, t.icmp_code, t.icmp_id)
    return (str(t.src_addr), str(t.dst_addr), t.sport, t.dport)


def _key(o, r, state, status):
    return (o.protonum, _tkey(o), _tkey(r), state, tuple(sorted(status)))


def kernel_as_dicts(entries):
    out = []
    for e in entries:
        def tk(t):
            if e["protonum"] in (1, 58):
                return (t["src"], t["dst"], t.get("type"), t.get("code"), t.get("id"))
            return (t["src"], t["dst"], t.get("sport"), t.get("dport"))
        st = {s for s in e["status"] if s in ("ASSURED", "UNREPLIED")}
        # conntrack's XML has no SNAT/DNAT flags: the kernel sets them exactly when the
        # manip changed the tuple, so read them from the tuples
        o, r = tk(e["original"]), tk(e["reply"])
        icmp = e["protonum"] in (1, 58)
        if r[1] != o[0] or (r[4] != o[4] if icmp else r[3] != o[2]):
            st.add("SNAT")
        if r[0] != o[1] or (False if icmp else r[2] != o[3]):
            st.add("DNAT")
        out.append((e["protonum"], tk(e["original"]), tk(e["reply"]), e["state"], tuple(sorted(st))))
    return sorted(out)


def run_both(ruleset, injections, seed=0):
    host = nat_host()
    with KernelLab(host, timeout=20, settle=0.15) as lab:
        lab.load(ruleset)
        lab.inject(injections)
        obs = lab.observe()
    sim = Sim(nat_host(), ruleset, seed)
    outs = sim.run(injections)
    mine, theirs = frames(host, outs, obs.emitted, len(injections))
    return obs, sim, mine, theirs


def assert_same(obs, sim, mine, theirs):
    assert mine == theirs, (show(theirs), show(mine))
    assert ours_as_dicts(sim.ct) == kernel_as_dicts(obs.conntrack)


# ------------------------------------------------------------------ scenarios
def test_masquerade_tcp_udp_icmp_with_replies():
    rs = chains(("postrouting", 'oifname "wan0" masquerade'))
    inj = [
        lan(C, S, P.tcp(40000, 80)),
        wan(S, W, P.tcp(80, 40000, SA, seq=5000, ack=1001)),
        lan(C, S, P.tcp(40000, 80, A, seq=1001, ack=5001)),
        lan(C, S, P.udp(5353, 53, b"query")),
        wan(S, W, P.udp(53, 5353, b"answer")),
        lan(C, S, P.icmp_echo(0x1234, 1, b"ping")),
        wan(S, W, P.icmp_echo(0x1234, 1, b"ping", reply=True)),
    ]
    obs, sim, mine, theirs = run_both(rs, inj)
    assert_same(obs, sim, mine, theirs)
    # the replies came back de-NATed to the client
    assert Packet(mine[(1, "lan0")][0]).summary().endswith("TCP [S.]")


def test_masquerade_ipv6():
    rs = chains(("postrouting", 'oifname "wan0" masquerade'), family="ip6")
    inj = [lan(C6, S6, P.tcp(40001, 443), v6=True),
           wan(S6, W6, P.tcp(443, 40001, SA, seq=7000, ack=1001), v6=True),
           lan(C6, S6, P.icmp_echo(7, 1, b"x", v6=True), v6=True),
           wan(S6, W6, P.icmp_echo(7, 1, b"x", reply=True, v6=True), v6=True)]
    assert_same(*run_both(rs, inj))


def test_dnat_port_forward_with_replies():
    rs = chains(("prerouting", 'iifname "wan0" tcp dport 8080 dnat to 192.168.1.10:80\n'
                               'iifname "wan0" udp dport 5000-5010 dnat to 192.168.1.10'))
    inj = [wan(S, W, P.tcp(5555, 8080)),
           lan(C, S, P.tcp(80, 5555, SA, seq=9000, ack=1001)),
           wan(S, W, P.tcp(5555, 8080, A, seq=1001, ack=9001)),
           wan(S2, W, P.udp(6000, 5005, b"u")),
           lan(C, S2, P.udp(5005, 6000, b"v"))]
    obs, sim, mine, theirs = run_both(rs, inj)
    assert_same(obs, sim, mine, theirs)
    assert Packet(mine[(1, "wan0")][0]).summary().startswith(f"IP {W}.8080 > {S}.5555")


def test_same_source_port_two_clients_port_range_exact():
    # with two ports in the range the second flow's port is forced: exact comparison
    rs = chains(("postrouting", 'oifname "wan0" meta l4proto tcp masquerade to :40000-40001'))
    inj = [lan(C, S, P.tcp(40000, 80)), lan(C2, S, P.tcp(40000, 80)),
           wan(S, W, P.tcp(80, 40001, SA, seq=1, ack=1001)),
           wan(S, W, P.tcp(80, 40000, SA, seq=2, ack=1001))]
    obs, sim, mine, theirs = run_both(rs, inj)
    assert_same(obs, sim, mine, theirs)
    assert Packet(mine[(2, "lan0")][0]).summary().startswith(f"IP {S}.80 > {C2}.40000")


def test_same_source_port_two_clients_random_port():
    # no range: the kernel draws the second port at random (get_random_u16); compare
    # what is not random -- the first flow keeps its port, the second moves into
    # 1024-65535, and a reply to the chosen port reaches the second client
    rs = chains(("postrouting", 'oifname "wan0" masquerade'))
    inj = [lan(C, S, P.tcp(40000, 80)), lan(C2, S, P.tcp(40000, 80))]
    with KernelLab(nat_host(), timeout=20, settle=0.15) as lab:
        lab.load(rs)
        first = lab.inject(inj)
        kport = int.from_bytes(Packet(first[1].frame).buf[34:36], "big")
        back = lab.inject([wan(S, W, P.tcp(80, kport, SA, seq=1, ack=1001))])
        kct = lab.observe().conntrack
    sim = Sim(nat_host(), rs)
    outs = sim.run(inj)
    assert outs[0].emitted[0].data == first[0].frame
    op = Packet(outs[1].emitted[0].data)
    oport = int.from_bytes(op.buf[34:36], "big")
    assert kport != 40000 and oport != 40000 and kport >= 1024 and oport >= 1024
    assert op.verify_checksums() == {"ip": True, "tcp": True}
    k = {e["original"]["src"]: e["reply"]["dport"] for e in kct}
    o = {str(e.tuples[0].src_addr): e.tuples[1].dport for e in sim.ct.entries()}
    assert k[C] == o[C] == 40000 and k[C2] == kport and o[C2] == oport
    out = sim.engine.process(wan(S, W, P.tcp(80, oport, SA, seq=1, ack=1001)).frame, 1.0, iif="wan0")
    assert Packet(out.emitted[0].data).summary().startswith(f"IP {S}.80 > {C2}.40000")
    assert Packet(back[0].frame).summary().startswith(f"IP {S}.80 > {C2}.40000")


def test_snat_to_address_range_matches_jhash():
    rs = chains(("postrouting", 'oifname "wan0" snat to 203.0.113.10-203.0.113.20\n'))
    inj = [lan(C, S, P.tcp(40000, 80)), lan(C2, S, P.tcp(40002, 80)), lan(C3, S2, P.udp(1000, 53)),
           lan(C, S2, P.udp(1001, 53)), lan(C2, S2, P.icmp_echo(99, 1))]
    obs, sim, mine, theirs = run_both(rs, inj)
    assert_same(obs, sim, mine, theirs)
    assert len({e["reply"]["dst"] for e in obs.conntrack}) > 1   # the hash spread them


def test_snat_persistent_and_port_range():
    # one port: every choice is forced, so the comparison is exact; persistent keeps
    # a client's address whatever the destination; the second flow reuses the first's
    # mapping (find_appropriate_src)
    rs = chains(("postrouting", 'oifname "wan0" meta l4proto udp snat to 203.0.113.10-203.0.113.20:2000 persistent'))
    inj = [lan(C, S, P.udp(700, 53)), lan(C, S2, P.udp(700, 53)), lan(C, S, P.udp(2001, 54)),
           lan(C3, S2, P.udp(9, 9))]
    obs, sim, mine, theirs = run_both(rs, inj)
    assert_same(obs, sim, mine, theirs)
    mapped = {(e["original"]["src"], e["reply"]["dst"]) for e in obs.conntrack}
    assert len({a for c, a in mapped if c == C}) == 1


def test_icmp_errors_translated_both_directions():
    rs = chains(("postrouting", 'oifname "wan0" masquerade'),
                ("prerouting", 'iifname "wan0" udp dport 8080 dnat to 192.168.1.10:80'))
    inner_out = P.ipv4(W, S, P.udp(5000, 53, b"q"))           # what S got from us
    inner_fwd = P.ipv4(W, S2, P.udp(8080, 6000, b"r"))        # a de-NATed reply S2 got
    inj = [
        lan(C, S, P.udp(5000, 53, b"q")),
        # reply direction: S says port unreachable about the masqueraded datagram
        wan(S, W, P.icmp_error(3, 3, inner_out)),
        # a port forward and its reply
        wan(S2, W, P.udp(6000, 8080, b"r")),
        lan(C, S2, P.udp(80, 6000, b"r")),
        # original direction: S2 says port unreachable about the reply it got
        wan(S2, W, P.icmp_error(3, 3, inner_fwd)),
        # the host itself: TTL 1 on an established forwarded flow -> time exceeded,
        # quoting the DNATed packet, translated back on the way out
        wan(S2, W, P.udp(6000, 8080, b"ttl"), ttl=1),
    ]
    obs, sim, mine, theirs = run_both(rs, inj)
    assert_same(obs, sim, mine, theirs)
    err = Packet(mine[(1, "lan0")][0])
    assert err.summary().startswith(f"IP {S} > {C}")
    assert err.verify_checksums()["icmp"]


def test_redirect_tcp_and_udp():
    rs = chains(("prerouting", 'iifname "lan0" tcp dport 80 redirect to :8080\n'
                               'iifname "lan0" udp dport 53 redirect'))
    inj = [lan(C, S, P.tcp(40000, 80)), lan(C, S, P.udp(4000, 53, b"dns"))]
    obs, sim, mine, theirs = run_both(rs, inj)
    assert_same(obs, sim, mine, theirs)
    # the reset and the port unreachable come from S:80 / S, as the client expects
    assert Packet(mine[(0, "lan0")][0]).summary().startswith(f"IP {S}.80 > {C}.40000")


def test_netmap_prefix_to_prefix():
    rs = chains(("postrouting", 'oifname "wan0" snat ip prefix to ip saddr map { 192.168.1.0/24 : 10.9.8.0/24 }'))
    inj = [lan(C, S, P.tcp(40000, 80)), wan(S, "10.9.8.10", P.tcp(80, 40000, SA, seq=3, ack=1001)),
           lan(C3, S, P.udp(1, 2))]
    assert_same(*run_both(rs, inj))
