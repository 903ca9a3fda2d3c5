"""A `ct timeout` object changed or deleted while entries use it, on Linux and here.

Linux 6.18 (probed in a namespace ``pktcu<pid>x<n>``):

* ``add ct timeout`` of an existing object with other values is accepted and changes
  nothing (ct timeout has no update op); ``create`` says EEXIST;
* ``delete ct timeout`` while a rule refers to it: EBUSY;
* once no rule refers to it, it can be deleted, and ``nf_ct_untimeout`` takes it from the
  entries: the time they have runs on, their next packet refreshes with the sysctl
  timeouts (udp 30 s), not the object's 100 s.

Our side: the same nft commands through ``pkt --state`` (the model), and the entry
through ``ConntrackTable.assign_timeout(..., obj=)`` / ``untimeout(obj)``.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import pkttables.testing.kernel as K
from lab_hosts import CLIENT_MAC, LAN_MAC, two_interface_host
from pkttables.conntrack import ConntrackTable, parse_conntrack_line
from pkttables.packet import LinkType, Packet
from pkttables.testing import packets as P
from pkttables.testing.kernel import Injection, KernelLab

pytestmark = pytest.mark.kernel

RULESET = """table inet t {
    ct timeout short-udp { protocol udp; l3proto ip; policy = { unreplied: 100, replied: 200 }; }
    chain fw {
        type filter hook forward priority 0; policy accept;
        udp dport 53 ct timeout set "short-udp"
    }
    chain keep {
        type filter hook forward priority 1; policy accept;
        ct state new counter
    }
}
"""
ADD = "add ct timeout inet t short-udp { protocol udp; l3proto ip; policy = { unreplied: 50, replied: 60 }; }\n"
CREATE = "create ct timeout inet t short-udp { protocol udp; l3proto ip; policy = { unreplied: 9 }; }\n"
DELETE = "delete ct timeout inet t short-udp\n"
C, S = "192.168.1.10", "198.51.100.7"
FRAME = P.ether(LAN_MAC, CLIENT_MAC, P.ipv4(C, S, P.udp(5000, 53, b"q")))


def _err_line(stderr: str) -> str:
    return next((l for l in stderr.splitlines() if "Error:" in l), "").split("Error:", 1)[-1].strip()


def _pkt(state: str, text: str):
    f = state + ".nft"
    with open(f, "w") as fh:
        fh.write(text)
    return subprocess.run([sys.executable, "-m", "pkttables.cli.main", "--state", state, "-f", f],
                          capture_output=True, text=True, timeout=60)


def _timeout_block(listing: str) -> str:
    lines = listing.splitlines()
    i = next(i for i, l in enumerate(lines) if "ct timeout short-udp" in l)
    return "\n".join(lines[i:i + 5])


def test_ct_timeout_change_and_delete_in_use(tmp_path, monkeypatch):
    monkeypatch.setattr(K, "PREFIX", "pktcu")
    k = {}
    with KernelLab(two_interface_host(), timeout=60, settle=0.2) as lab:
        lab.load(RULESET)
        lab.inject([Injection("lan0", FRAME)])
        sh = lambda text: lab.exec(["nft", "-f", "-"], input=text, check=False)   # noqa: E731
        k["add"] = sh(ADD)
        k["list"] = lab.exec(["nft", "list", "ruleset"]).stdout
        k["create"] = sh(CREATE)
        k["busy"] = sh(DELETE)
        lab.exec(["nft", "flush", "chain", "inet", "t", "fw"])
        k["delete"] = sh(DELETE)
        time.sleep(0.3)             # the object is destroyed after the commit (deferred work)
        lab.inject([Injection("lan0", FRAME)])
        k["after"] = lab.exec(["conntrack", "-L"]).stdout

    state = str(tmp_path / "st.json")
    assert _pkt(state, RULESET).returncode == 0
    o_add, o_list = _pkt(state, ADD), subprocess.run(
        [sys.executable, "-m", "pkttables.cli.main", "--state", state, "list", "ruleset"],
        capture_output=True, text=True, timeout=60).stdout
    o_create, o_busy = _pkt(state, CREATE), _pkt(state, DELETE)
    assert _pkt(state, "flush chain inet t fw\n").returncode == 0
    o_delete = _pkt(state, DELETE)

    assert (k["add"].returncode, o_add.returncode) == (0, 0)
    assert "unreplied : 100" in _timeout_block(k["list"])          # unchanged in the kernel
    assert _timeout_block(o_list) == _timeout_block(k["list"])
    assert k["create"].returncode == o_create.returncode == 1
    assert _err_line(k["create"].stderr) == _err_line(o_create.stderr) == "Could not process rule: File exists"
    assert k["busy"].returncode == o_busy.returncode == 1
    assert _err_line(k["busy"].stderr) == _err_line(o_busy.stderr) == \
        "Could not process rule: Device or resource busy"
    assert (k["delete"].returncode, o_delete.returncode) == (0, 0)

    # the entry: the kernel refreshed it with the sysctl's 30 s after the object went away
    (row,) = [parse_conntrack_line(l) for l in k["after"].splitlines()]
    assert 27 <= row["timeout"] <= 30
    ct = ConntrackTable()
    p = Packet(P.ipv4(C, S, P.udp(5000, 53, b"q")), LinkType.RAW)
    ct.in_hook(p, "prerouting", 0.0)
    ct.assign_timeout(p, 17, {"unreplied": 100, "replied": 200}, obj=("inet", "t", "short-udp"))
    ct.confirm(p, 0.0)
    assert ct.untimeout(("inet", "t", "short-udp")) == 1
    p2 = Packet(P.ipv4(C, S, P.udp(5000, 53, b"q")), LinkType.RAW)
    ct.in_hook(p2, "prerouting", 1.0)
    ct.confirm(p2, 1.0)
    assert abs(int(p.ct.remaining(1.0)) - row["timeout"]) <= 2
