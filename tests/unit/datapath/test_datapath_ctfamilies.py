"""Conntrack per layer-3 family in the Simulator (nf_ct_netns_get per family): a
ruleset whose ct users sit in ip6 tables tracks IPv6 only, an ip one IPv4 only, inet
and bridge both.  The kernel's answers are in tests/kernel/test_diff_needsct_family.py;
these run without root."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unittest import mock

from pkttables.commands import run_text
from pkttables.errors import PktError
from pkttables.evaluate import _eval
from pkttables.datapath.replay import CT_FAMILIES, Simulator, conntrack_families, needs_conntrack
from pkttables.model import Ruleset
from pkttables.stack.host import Host
from pkttables.testing.packets import ether, ipv4, ipv6, udp

HOST = """
[sysctl]
"net.ipv4.ip_forward" = 1
"net.ipv6.conf.all.forwarding" = 1

[[interface]]
name = "lan0"
mac = "02:00:00:00:00:01"
addresses = ["192.168.1.1/24", "fd00:1::1/64"]
"""
LAN, PC = "02:00:00:00:00:01", "02:00:00:00:00:10"
_IN = "type filter hook input priority 0;"


def rs(text: str) -> Ruleset:
    # modelled on a kernel with nf_conntrack_bridge (the reference kernel has none and
    # refuses ct users in bridge tables: evaluate's KERNEL_BRIDGE_CONNTRACK, kernel-checked
    # in tests/kernel/test_diff_needsct_family.py)
    with mock.patch.object(_eval, "KERNEL_BRIDGE_CONNTRACK", True):
        return run_text(text, Ruleset()).ruleset


def test_bridge_ct_refused_without_bridge_conntrack():
    with pytest.raises(PktError, match="Protocol error"):
        run_text("table bridge t { chain c { ct state new counter; }; }", Ruleset())
    # notrack takes no conntrack reference
    run_text("table bridge t { chain c { notrack; }; }", Ruleset())


def _tracked(text: str) -> dict[str, bool]:
    """Which families got a conntrack entry for one UDP datagram to the host."""
    sim = Simulator(Host.from_toml(HOST, "<h>"), rs(text))
    v4 = ether(LAN, PC, ipv4("192.168.1.10", "192.168.1.1", udp(5000, 53, b"q")))
    v6 = ether(LAN, PC, ipv6("fd00:1::10", "fd00:1::1", udp(5000, 53, b"q")), ethertype=0x86DD)
    for i, frame in enumerate((v4, v6)):
        list(sim.process(frame, 10**9 + i, "lan0"))
    ents = sim.ct_table.entries(2.0) if sim.ct_table is not None else []
    return {"ip": any(c.tuples[0].l3num == 2 for c in ents), "ip6": any(c.tuples[0].l3num == 10 for c in ents)}


@pytest.mark.parametrize("text,want", [
    (f"table ip6 t {{ chain c {{ {_IN} ct state new counter; }}; }}", ("ip6",)),
    (f"table ip t {{ chain c {{ {_IN} ct state new counter; }}; }}", ("ip",)),
    (f"table inet t {{ chain c {{ {_IN} ct state new counter; }}; }}", ("ip", "ip6")),
    ("table ip6 t { ct timeout x { protocol udp; l3proto ip6; policy = { unreplied: 10 }; }; }", ("ip6",)),
    ("table ip t { ct timeout x { protocol udp; l3proto ip; policy = { unreplied: 10 }; }; }", ("ip",)),
    (f"table ip t {{ chain c {{ {_IN} counter; }}; }}", ()),
])
def test_simulator_tracks_only_the_families_that_need_it(text, want):
    assert conntrack_families(rs(text)) == want
    got = _tracked(text)
    assert got == {"ip": "ip" in want, "ip6": "ip6" in want}


def test_bridge_ct_users_start_both_families():
    # nf_ct_netns_get(NFPROTO_BRIDGE) takes the inet reference too (kernels with
    # nf_conntrack_bridge; the test kernel refuses ct in bridge tables)
    assert conntrack_families(rs("table bridge t { chain c { ct state new counter; }; }")) == ("ip", "ip6")
    assert conntrack_families(rs("table netdev t { chain c { counter; }; }")) == ()


def test_forced_conntrack_tracks_both():
    sim = Simulator(Host.from_toml(HOST, "<h>"), rs(f"table ip t {{ chain c {{ {_IN} counter; }}; }}"),
                    conntrack=True)
    assert sim.ct_families == ("ip", "ip6")


def test_a_new_generation_adds_a_family():
    sim = Simulator(Host.from_toml(HOST, "<h>"), rs(f"table ip t {{ chain c {{ {_IN} ct state new counter; }}; }}"))
    assert sim.ct_families == ("ip",)
    sim.load(rs(f"table inet t {{ chain c {{ {_IN} ct state new counter; }}; }}"))
    assert sim.ct_families == ("ip", "ip6")
    v6 = ether(LAN, PC, ipv6("fd00:1::10", "fd00:1::1", udp(5000, 53, b"q")), ethertype=0x86DD)
    list(sim.process(v6, 10**9, "lan0"))
    assert any(c.tuples[0].l3num == 10 for c in sim.ct_table.entries(2.0))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["ip", "ip6", "inet", "bridge", "netdev", "arp"]),
                          st.booleans()), min_size=1, max_size=4))
def test_families_are_the_union_over_tables(tables):
    """conntrack_families is the union of CT_FAMILIES over the tables holding a ct user;
    needs_conntrack(family=None) says whether it is non-empty."""
    text = ""
    want: set[str] = set()
    for k, (fam, ct) in enumerate(tables):
        body = "ct mark 1 counter;" if ct and fam not in ("netdev", "arp") else "counter;"
        text += f"table {fam} t{k} {{ chain c {{ {body} }}; }}\n"
        if ct and fam not in ("netdev", "arp"):
            want |= set(CT_FAMILIES[fam])
    r = rs(text)
    assert set(conntrack_families(r)) == want
    assert needs_conntrack(r) == bool(want)
