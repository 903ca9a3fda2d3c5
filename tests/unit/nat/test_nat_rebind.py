"""``NatTable.rebind(conn)``: an entry that already carries a source binding goes back
into NAT's by-source index (what ``pkt simulate --conntrack-load`` does for a table
read from a snapshot), so find_appropriate_src() lends its mapping to the next
connection from the same source, as the kernel's nf_nat_setup_info chain does."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings, strategies as st

from pkttables.conntrack import ConntrackTable, Status
from pkttables.nat import ManipType, NatRange, NatTable
from pkttables.packet import LinkType, Packet
from pkttables.testing import packets as P

A = ipaddress.ip_address
S1, S2, W = A("198.51.100.7"), A("198.51.100.8"), A("203.0.113.2")


def _snat(ct: ConntrackTable, nat: NatTable, dst, sport: int = 40000, now: float = 0.0, hi: int = 2999):
    """A confirmed connection 192.168.1.10:sport -> dst:80 SNATed to W, ports 2000-hi."""
    p = Packet(P.ipv4(A("192.168.1.10"), dst, P.tcp(sport, 80)), LinkType.RAW)
    assert ct.in_hook(p, "prerouting", now) == 1
    assert nat.setup_info(p.ct, NatRange.to(W.packed, port=2000, port_max=hi), ManipType.SRC) == 1
    assert nat.nat_packet(p, p.ct, p.ctinfo, "postrouting") == 1
    assert ct.confirm(p, now) == 1
    return p.ct


def _loaded(sport: int):
    """A table whose first connection was bound by another NatTable: the new one's
    index is empty, as after loading a snapshot."""
    ct = ConntrackTable()
    first = _snat(ct, NatTable(ct, seed=7), S1, sport)
    return ct, NatTable(ct, seed=7), first


@settings(max_examples=25, deadline=None)
@given(sport=st.integers(min_value=1024, max_value=65535))
def test_rebound_mapping_is_lent_to_the_next_connection(sport):
    ct, nat, first = _loaded(sport)
    mapped = first.tuples[1].dport
    assert 2000 <= mapped <= 2999
    assert nat.rebind(first) is True
    second = _snat(ct, nat, S2, sport, now=1.0)
    # find_appropriate_src: the same source gets the same mapping, whatever the destination
    assert second.tuples[1].dport == mapped
    assert second.tuples[1].dst == W.packed


def test_without_rebind_the_mapping_is_not_found():
    """The index is what lends the mapping: for some source port the second connection
    maps elsewhere when the first was not rebound (so the test above can fail)."""
    differ = 0
    for sport in range(40000, 40040):
        ct, nat, first = _loaded(sport)
        second = _snat(ct, nat, S2, sport, now=1.0)
        differ += second.tuples[1].dport != first.tuples[1].dport
    assert differ > 0


def test_rebind_is_idempotent_and_skips_unbound_entries():
    ct, nat, first = _loaded(41000)
    assert nat.rebind(first) is True
    assert nat.rebind(first) is False            # already in its chain
    p = Packet(P.ipv4(A("192.168.1.20"), S1, P.tcp(5000, 80)), LinkType.RAW)
    assert ct.in_hook(p, "prerouting", 0.0) == 1
    assert ct.confirm(p, 0.0) == 1
    assert not p.ct.status & Status.SRC_NAT_DONE
    assert nat.rebind(p.ct) is False


def test_newest_rebound_first():
    """Rebinding in insertion order leaves the newest binding at the head, as
    hlist_add_head does: the newest mapping is the one lent."""
    ct = ConntrackTable()
    other = NatTable(ct, seed=7)
    a = _snat(ct, other, S1, 42000)
    # a second binding of the same source, mapped elsewhere (another range)
    p = Packet(P.ipv4(A("192.168.1.10"), S2, P.tcp(42000, 80)), LinkType.RAW)
    assert ct.in_hook(p, "prerouting", 0.5) == 1
    assert other.setup_info(p.ct, NatRange.to(W.packed, port=3000, port_max=3000), ManipType.SRC) == 1
    assert other.nat_packet(p, p.ct, p.ctinfo, "postrouting") == 1
    assert ct.confirm(p, 0.5) == 1
    b = p.ct
    assert b.tuples[1].dport == 3000 and a.tuples[1].dport != 3000
    nat = NatTable(ct, seed=7)
    for c in ct.entries(1.0):
        nat.rebind(c)
    third = _snat(ct, nat, A("198.51.100.9"), 42000, now=1.0, hi=3000)
    # both mappings fit 2000-3000: the newest (b's 3000) is lent
    assert third.tuples[1].dport == 3000
    # and with only the older one in range, that one is found behind it
    fourth = _snat(ct, nat, A("198.51.100.10"), 42000, now=1.0)
    assert fourth.tuples[1].dport == a.tuples[1].dport
