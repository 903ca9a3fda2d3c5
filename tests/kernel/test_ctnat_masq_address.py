"""Masqueraded entries and address changes, against the kernel: adding or removing an
address the entries do not use keeps them; removing the address they were masqueraded
to kills them (masq_inet_event); after the address returns, the flow starts again as a
new entry with the same mapping.  pkttables is driven through a host address change and
``NatTable.on_address_change``, as the inetaddr notifier drives the kernel."""

from __future__ import annotations

import copy
import ipaddress
import time

import pytest

from ctnat_lab import CtNatLab, _masked, _strip_l3, table_key
from ctnat_scenarios import addrs, lan, ruleset, wan
from lab_hosts import GW_MAC
from test_nat_kernel import nat_host
from pkttables.conntrack import format_entry
from pkttables.conntrack.nft import install
from pkttables.datapath.replay import PacketResult, Simulator
from pkttables.testing import packets as P
from pkttables.testing.differential import _load

pytestmark = pytest.mark.kernel

RS = ruleset(nat_post='        oifname "wan0" masquerade\n')


def test_masquerade_entries_follow_address_changes():
    c, s, w = addrs(False)
    flow = [lan(c, s, P.udp(51000, 53, b"q")), wan(s, w, P.udp(53, 51000, b"a"))]
    other = [lan(c, s, P.icmp_echo(5, 1, b"p"))]
    steps = [  # (kernel command, host change, expect the masqueraded entries to survive)
        ("addr add 203.0.113.9/24 dev wan0", ("add", "203.0.113.9/24"), True),
        ("addr del 203.0.113.9/24 dev wan0", ("del", "203.0.113.9/24"), True),
        ("addr del 203.0.113.2/24 dev wan0", ("del", "203.0.113.2/24"), False),
        ("addr add 203.0.113.2/24 dev wan0", ("add", "203.0.113.2/24"), False),
    ]
    with CtNatLab(nat_host()) as lab:
        host = lab.host
        k = lab.lab
        k.exec(["nft", "flush", "ruleset"])
        k.exec(["conntrack", "-F"], check=False)
        k.load(RS)
        sim = Simulator(copy.deepcopy(host), _load(RS, host), seed=0)
        install(sim.runtime, sim.ct_table)
        t = [0.0]

        def send(injs):
            kf = [_masked(e.frame, lab._local) for e in k.inject(injs)]
            of = []
            for inj in injs:
                t[0] += 0.01
                for r in sim.process(inj.frame, int(t[0] * 1e9), inj.ifname):
                    if isinstance(r, PacketResult):
                        of += [_masked(e.data, lab._local) for e in r.emitted if e.kind != "arp"]
            assert kf == of

        def tables():
            text = "".join(k.exec(["conntrack", "-L", "-f", f, "-o", "extended"], check=False).stdout
                           for f in ("ipv4", "ipv6"))
            kern = {table_key(_strip_l3(x))[0] for x in text.splitlines() if x.strip()}
            ours = {table_key(format_entry(e, t[0]))[0] for e in sim.ct_table.entries(t[0])}
            assert kern == ours, (text, [format_entry(e, t[0]) for e in sim.ct_table.entries(t[0])])
            return kern

        send(flow + other)
        assert len(tables()) == 2
        wan0 = sim.host.interfaces["wan0"]
        for cmd, (op, addr), survive in steps:
            k.exec(["ip"] + cmd.split())
            a = ipaddress.ip_interface(addr)
            if op == "add":
                wan0.addresses.append(a)
            else:
                wan0.addresses.remove(a)
            killed = sim.nat_table.on_address_change("wan0", t[0])
            time.sleep(0.05)          # the kernel kills from a work queue
            n = len(tables())
            if survive:
                assert n == 2 and killed == 0
        assert len(tables()) == 0 and sim.nat_table.stats["masq_killed"] == 2
        # the route through the gateway went with the address: put it back, flow again
        k.exec(["ip", "route", "replace", "default", "via", "203.0.113.1", "dev", "wan0"])
        k.exec(["ip", "neigh", "replace", "203.0.113.1", "lladdr", GW_MAC, "dev", "wan0", "nud", "permanent"])
        send(flow)
        assert len(tables()) == 1
