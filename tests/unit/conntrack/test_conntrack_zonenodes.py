"""Directional zones: two nodes under one hash key (the kernel's shared bucket), NAT's
taken-tuple test in the node's direction, and ``ct timeout`` objects leaving their
entries when a later generation deletes them (Simulator.load -> untimeout_removed).
The kernel side of the same cases is tests/kernel/test_ctnat_zonedir.py and
test_ctnat_untimeout.py."""

from __future__ import annotations

from pkttables.commands import Options, run_text
from pkttables.conntrack import ConntrackTable, CtInfo, Tuple, make_template
from pkttables.conntrack.nft import ct_timeout_objects, untimeout_removed
from pkttables.datapath.replay import Simulator
from pkttables.model import Ruleset
from pkttables.packet import LinkType, Packet
from pkttables.testing import packets as P
from pkttables.testing.hosts import ROUTER_TOML

C, S, W = "192.168.1.10", "198.51.100.7", "203.0.113.2"


def _send(ct, frame, now, tmpl=None):
    pkt = Packet(frame, LinkType.RAW)
    if tmpl is not None:
        pkt.ct = tmpl
    ct.in_hook(pkt, "prerouting", now)
    ct.confirm(pkt, now)
    return pkt


def _t(src, dst, sport, dport):
    import ipaddress
    return Tuple(2, ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed, 17, sport, dport)


def test_reply_zone_entry_and_reverse_entry_share_a_key():
    ct = ConntrackTable()
    # X from wan, no zone: original node S:53 -> C:40000 and reply node C:40000 -> S:53 in zone 0
    x = _send(ct, P.ipv4(S, C, P.udp(53, 40000)), 1.0).ct
    # B from lan with `ct reply zone set 1`: its lookup (0, then 1) does not take X's reply
    # node (X's reply id 0 != 1), so B is new; its original node has X's reply node's key
    b_pkt = _send(ct, P.ipv4(C, S, P.udp(40000, 53)), 2.0, make_template(1, 2))
    b = b_pkt.ct
    assert b is not x and b.confirmed and b_pkt.ctinfo == CtInfo.NEW
    assert len(ct) == 2 and set(ct.entries()) == {x, b}
    # a zone-0 lookup of that key meets the newest node first: B's original
    assert ct.lookup(_t(C, S, 40000, 53), 0) == (b, 0)
    # S:53 -> C:40000 in zone 0 is X's (B's reply is in zone 1)
    assert ct.lookup(_t(S, C, 53, 40000), 0) == (x, 0)
    # B goes: X's reply node is the head again
    ct.kill(b, 3.0)
    assert ct.lookup(_t(C, S, 40000, 53), 0) == (x, 1)
    assert ct.entries() == [x]


def test_tuple_taken_compares_in_the_nodes_direction():
    ct = ConntrackTable()
    # X: S:53 -> W:40000 (to the router), zone 0: its original node
    _send(ct, P.ipv4(S, W, P.udp(53, 40000)), 1.0)
    # B (unconfirmed) in `ct original zone set 1`, wanting reply S:53 -> W:40000: the node
    # is an original node, compared with B's original id 1: not taken
    pkt = Packet(P.ipv4(C, S, P.udp(40000, 53)), LinkType.RAW)
    pkt.ct = make_template(1, 1)
    ct.in_hook(pkt, "prerouting", 2.0)
    assert not ct.tuple_taken(_t(S, W, 53, 40000), pkt.ct)
    # the same with a zone of both directions (id 0): taken
    pkt2 = Packet(P.ipv4(C, S, P.udp(40001, 53)), LinkType.RAW)
    ct.in_hook(pkt2, "prerouting", 2.0)
    assert ct.tuple_taken(_t(S, W, 53, 40000), pkt2.ct)


def test_icmp_error_found_with_a_reply_zone_template():
    ct = ConntrackTable()
    a = _send(ct, P.ipv4(C, S, P.udp(5000, 53, b"q")), 1.0, make_template(6, 2)).ct
    inner = P.ipv4(C, S, P.udp(5000, 53, b"q"))
    err = P.ipv4(S, C, P.icmp_error(3, 3, inner))
    # no template: zone 0, the entry's reply node is in zone 6: invalid
    assert _send(ct, err, 2.0).ctinfo is None
    # `ct reply zone set 6`: original id 0 misses, reply id 6 finds it
    pkt = _send(ct, err, 2.0, make_template(6, 2))
    assert pkt.ct is a and pkt.ctinfo == CtInfo.RELATED_REPLY


RULESET = """table inet t {
    ct timeout gone { protocol udp; l3proto ip; policy = { unreplied: 100 }; }
    chain fw {
        type filter hook forward priority 0; policy accept;
        ct state new counter
        udp dport 53 ct timeout set "gone"
    }
}
"""


def _rs(text, base=None):
    return run_text(text, base or Ruleset(), Options()).ruleset


_ROUTER = ROUTER_TOML


def test_simulator_load_untimeouts_deleted_objects():
    from pkttables.conntrack.nft import install
    from pkttables.stack.host import Host
    rs = _rs(RULESET)
    sim = Simulator(Host.from_toml(_ROUTER, "<router>"), rs, seed=0, conntrack=True)
    install(sim.runtime, sim.ct_table)
    frame = P.ether("02:00:00:00:00:01", "02:00:00:00:00:10", P.ipv4(C, S, P.udp(5000, 53, b"q")))
    list(sim.process(frame, 0, "lan0"))
    (e,) = sim.ct_table.entries(0.0)
    assert e.ext_get("timeout_obj") == ("inet", "t", "gone")     # the vm passes obj=
    assert int(e.remaining(0.0)) == 100
    # only the rule goes: the object stays, so does the policy
    rs2 = _rs("flush chain inet t fw\nadd rule inet t fw ct state new counter\n", rs)
    sim.load(rs2, now=1.0)
    assert e.ext_get("timeout_obj") == ("inet", "t", "gone")
    # the object goes: the entry falls back to the sysctl (udp 30 s) at its next packet
    rs3 = _rs("delete ct timeout inet t gone\n", rs2)
    sim.load(rs3, now=2.0)
    assert e.ext_get("timeout") is None
    list(sim.process(frame, 3 * 10**9, "lan0"))
    assert int(e.remaining(3.0)) == 30


def test_delete_and_add_again_in_one_batch_is_a_new_object():
    rs = _rs(RULESET)
    rs2 = _rs("flush chain inet t fw\ndelete ct timeout inet t gone\n"
              "add ct timeout inet t gone { protocol udp; l3proto ip; policy = { unreplied: 100 }; }\n", rs)
    assert set(ct_timeout_objects(rs)) == set(ct_timeout_objects(rs2))
    assert ct_timeout_objects(rs) != ct_timeout_objects(rs2)          # a new handle
    ct = ConntrackTable()
    p = Packet(P.ipv4(C, S, P.udp(5000, 53)), LinkType.RAW)
    ct.in_hook(p, "prerouting", 0.0)
    ct.assign_timeout(p, 17, {"unreplied": 100}, obj=("inet", "t", "gone"))
    ct.confirm(p, 0.0)
    assert untimeout_removed(ct, rs, rs) == 0
    assert untimeout_removed(ct, rs, rs2) == 1
    assert p.ct.ext_get("timeout") is None
