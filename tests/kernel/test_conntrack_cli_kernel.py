"""`pkt conntrack -L/-D/-F/-C` against conntrack-tools 1.4.7 on the same traffic.

The kernel side: forwarded traffic through a namespace lab (names ``pktcu<pid>x<n>``),
then a sequence of real ``conntrack`` commands on its table.  Our side: the same frames
as a capture, replayed into a snapshot (``--pcap ... --save``), then the same commands
with ``--table``, which -D/-F rewrite.  Each step must give the same exit status, the
same stderr, and the same stdout lines (as a multiset: the kernel lists in hash order,
we in insertion order; the seconds left may differ by the time the lab took, <= 2 s).
"""

from __future__ import annotations

import io

import pytest

import pkttables.testing.kernel as K
from lab_hosts import CLIENT_MAC, GW_MAC, LAN_MAC, WAN_MAC, two_interface_host
from pkttables.capture import PcapWriter
from pkttables.conntrack import parse_conntrack_line
from pkttables.conntrack.cli import main as ct_main
from pkttables.testing import packets as P
from pkttables.testing.kernel import Injection, KernelLab

pytestmark = pytest.mark.kernel

RULESET = """table inet t {
    chain fw {
        type filter hook forward priority 0; policy accept;
        ct state new counter
    }
}
"""
C, S, S2 = "192.168.1.10", "198.51.100.7", "198.51.100.8"

# (arguments) run in this order on both tables
STEPS = [
    ["-L"],
    ["-C"],
    ["-L", "-p", "tcp", "--state", "SYN_SENT"],
    ["-D", "-p", "udp"],
    ["-D", "-p", "udp"],                       # nothing left: status 1
    ["-D", "-s", S2],                          # S2 is a destination only: no match
    ["-D", "-s", "10.9.9.9"],
    ["-D", "-p", "tcp", "--state", "SYN_SENT", "-d", S2],
    ["-D", "--mark", "1"],
    ["-D", "-f", "ipv6"],
    ["-D", "-w", "0", "-p", "icmp"],
    ["-D", "-s", C, "--zone", "3"],
    ["-D", "-L"],
    ["-D", "-s", "bad"],
    ["-D", "-p", "foo"],
    ["-L", "--state", "SYN_SENT"],
    ["-L"],
    ["-F"],
    ["-F"],
    ["-L"],
    ["-D"],
]


def _out(src, dst, seg, v6=False):
    ip = P.ipv6(src, dst, seg) if v6 else P.ipv4(src, dst, seg)
    return Injection("lan0", P.ether(LAN_MAC, CLIENT_MAC, ip))


def _back(src, dst, seg):
    return Injection("wan0", P.ether(WAN_MAC, GW_MAC, P.ipv4(src, dst, seg)))


TRAFFIC = [
    _out(C, S, P.udp(5000, 53, b"q")), _back(S, C, P.udp(53, 5000, b"a")),
    _out(C, S2, P.udp(5001, 53, b"q")),
    _out(C, S, P.tcp(40000, 80, P.TCP_SYN, seq=100)),
    _out(C, S2, P.tcp(40001, 443, P.TCP_SYN, seq=100)),
    _out(C, S, P.icmp_echo(7, 1)),
    _out("fd00:1::10", "2001:db8:99::7", P.udp(6000, 53, b"q"), v6=True),
]


def _norm(stdout: str) -> list[tuple]:
    rows = []
    for line in stdout.splitlines():
        d = parse_conntrack_line(line)
        rows.append((d.pop("timeout"), repr(sorted(d.items()))))
    return sorted(rows, key=lambda r: r[1])


def _same(kout: str, oout: str) -> bool:
    if kout.strip().isdigit() or oout.strip().isdigit():     # -C
        return kout == oout
    k, o = _norm(kout), _norm(oout)
    if [r[1] for r in k] != [r[1] for r in o]:
        return False
    return all(abs((a or 0) - (b or 0)) <= 2 for (a, _), (b, _) in zip(k, o))


def test_delete_and_flush_as_conntrack_tools(tmp_path, monkeypatch):
    monkeypatch.setattr(K, "PREFIX", "pktcu")
    kernel = []
    with KernelLab(two_interface_host(), timeout=60, settle=0.2) as lab:
        lab.load(RULESET)
        lab.inject(TRAFFIC)
        for argv in STEPS:
            r = lab.exec(["conntrack"] + argv, check=False)
            kernel.append((r.returncode, r.stdout, r.stderr))

    pcap = tmp_path / "t.pcap"
    with open(pcap, "wb") as f:
        w = PcapWriter(f, 1)
        for i, inj in enumerate(TRAFFIC):
            w.write(inj.frame, 1_000_000_000 + i * 1_000_000)
    snap = str(tmp_path / "ct.json")
    assert ct_main(["--pcap", str(pcap), "--save", snap], io.StringIO(), io.StringIO()) == 0
    for argv, (krc, kout, kerr) in zip(STEPS, kernel):
        out, err = io.StringIO(), io.StringIO()
        rc = ct_main(argv + ["--table", snap], out, err)
        assert (rc, err.getvalue()) == (krc, kerr), argv
        assert _same(kout, out.getvalue()), (argv, kout, out.getvalue())
    # the steps did something: deletions printed entries, the flush emptied the table
    assert kernel[3][1].count("\n") == 3 and kernel[3][0] == 0
    assert kernel[4][0] == 1 and kernel[12][0] == 2 and kernel[-1][0] == 1
