"""A ``ct timeout`` object deleted in a later generation, on Linux and through the
Simulator's ``load`` (issue 6, CT3).

Two objects, ``gone`` (udp unreplied 100 s) for dport 53 and ``kept`` (unreplied 200 s)
for dport 54.  A first packet of each flow gets its object.  The next generation removes
the rules that refer to the objects and deletes ``gone`` (nft refuses while a rule uses
it: EBUSY).  The kernel destroys the object after the commit and ``nf_ct_untimeout``
takes it from the entries: the next packet of the dport-53 flow refreshes it with the
sysctl's 30 s, while the dport-54 flow keeps its 200 s.  pkttables: the same batch
through ``pkt``'s command executor on the model, ``Simulator.load`` of the new
generation (``conntrack.nft.untimeout_removed``), the same packets.  Compared:
the frames and the ``conntrack -L`` timeouts (within a second).
"""

from __future__ import annotations

import time

import pytest

import pkttables.testing.kernel as K
from ctnat_lab import table_key
from lab_hosts import CLIENT_MAC, LAN_MAC, two_interface_host
from pkttables.commands import Options, run_text
from pkttables.conntrack import format_entry
from pkttables.datapath.replay import PacketResult, Simulator
from pkttables.testing import packets as P
from pkttables.testing.differential import _load, quiet_host
from pkttables.testing.kernel import Injection, KernelLab

pytestmark = pytest.mark.kernel

RULESET = """table inet t {
    ct timeout gone { protocol udp; l3proto ip; policy = { unreplied: 100, replied: 150 }; }
    ct timeout kept { protocol udp; l3proto ip; policy = { unreplied: 200, replied: 250 }; }
    chain fw {
        type filter hook forward priority 0; policy accept;
        udp dport 53 ct timeout set "gone"
        udp dport 54 ct timeout set "kept"
    }
}
table inet keep {
    chain c {
        type filter hook forward priority 1; policy accept;
        ct state new counter
    }
}
"""
C, S = "192.168.1.10", "198.51.100.7"


def _frame(dport: int) -> bytes:
    return P.ether(LAN_MAC, CLIENT_MAC, P.ipv4(C, S, P.udp(5000, dport, b"q")))


BATCHES = {
    # the object goes away: its entries fall back to the sysctls
    "delete": "flush chain inet t fw\ndelete ct timeout inet t gone\n",
    # only the rules go: the objects stay, and so do the entries' policies
    "keep": "flush chain inet t fw\n",
    # the table goes with both objects (table keep holds conntrack on: a ct state rule,
    # as nf_ct_netns_put would otherwise stop tracking with the last user)
    "table": "delete table inet t\n",
}


@pytest.mark.parametrize("batch", sorted(BATCHES))
def test_untimeout_on_object_delete(batch, monkeypatch):
    monkeypatch.setattr(K, "PREFIX", "pktcv")
    host = quiet_host(two_interface_host())
    text = BATCHES[batch]
    with KernelLab(host, timeout=60, settle=0.2) as lab:
        lab.load(RULESET)
        t0 = time.monotonic()
        first = lab.inject([Injection("lan0", _frame(53)), Injection("lan0", _frame(54))])
        r = lab.exec(["nft", "-f", "-"], input=text, check=False)
        assert r.returncode == 0, r.stderr
        time.sleep(0.3)            # the object is destroyed after the commit (deferred work)
        second = lab.inject([Injection("lan0", _frame(53)), Injection("lan0", _frame(54))])
        ktext = lab.exec(["conntrack", "-L"]).stdout
        elapsed = time.monotonic() - t0

    rs = _load(RULESET, host)
    sim = Simulator(host, rs, seed=0)
    ours = []
    for i, f in enumerate((_frame(53), _frame(54))):
        ours += [e.data for r in sim.process(f, i * 1000, "lan0") if isinstance(r, PacketResult)
                 for e in r.emitted if e.kind != "arp"]
    new = run_text(text, rs, Options(ifindex=host)).ruleset
    now = elapsed - 0.05
    sim.load(new, now=now)
    for i, f in enumerate((_frame(53), _frame(54))):
        ours += [e.data for r in sim.process(f, int(now * 1e9) + i * 1000, "lan0") if isinstance(r, PacketResult)
                 for e in r.emitted if e.kind != "arp"]
    otext = "\n".join(format_entry(c, elapsed) for c in sim.ct_table.entries(elapsed))

    kframes = [e.frame for e in first + second]
    assert len(ours) == len(kframes) == 4
    assert [Packet_summary(f) for f in ours] == [Packet_summary(f) for f in kframes]
    k = dict(table_key(x) for x in ktext.splitlines() if x.strip())
    o = dict(table_key(x) for x in otext.splitlines() if x.strip())
    assert set(k) == set(o), (ktext, otext)
    for key, kt in k.items():
        assert abs(o[key] - kt) <= 1, (key, kt, o[key], ktext, otext)
    # what the kernel showed, spelled out
    by_port = {line.split("dport=")[1].split()[0]: int(line.split()[2])
               for line in ktext.splitlines() if line.strip()}
    want53 = 100 if batch == "keep" else 30
    want54 = 30 if batch == "table" else 200
    assert want53 - 2 <= by_port["53"] <= want53 and want54 - 2 <= by_port["54"] <= want54, ktext


def Packet_summary(frame: bytes) -> str:
    from pkttables.packet import Packet
    return Packet(frame).summary()
