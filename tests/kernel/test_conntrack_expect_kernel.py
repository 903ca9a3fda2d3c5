"""``conntrack -L/-C/-D/-F expect`` on Linux with conntrack 1.4.7 vs ``pkt simulate
--conntrack-save S`` then ``pkt conntrack ... expect --table S``.

The FTP sessions of test_conntrack_ftp_kernel.py (``ct helper set "ftp-standard"``):
an active IPv4 PORT, a passive IPv4 PASV and an active IPv6 EPRT, so that the
expectation table holds both families.  The kernel gets the frames in a namespace and
then one ``conntrack`` command after another; pkttables simulates the same frames from
a pcapng through the ``pkt simulate`` command line, saves the table, and runs the same
commands through ``pkt conntrack --table``, which writes the file back after ``-D`` and
``-F`` as the kernel's table changes.  Compared per command: exit status, stderr, and
stdout -- with two masks:

* the first number of each line is the time left (an expectation's 300 s, a TCP
  entry's 432000 s), counting down in real time on the kernel and on the capture's
  clock here: masked, and checked to be within 3 s of each other;
* the kernel lists its hash table bucket by bucket, pkttables oldest first: lines are
  compared as sorted lists.
"""

from __future__ import annotations

import contextlib
import io
import re
import time

import pytest

from lab_hosts import two_interface_host
from test_conntrack_ftp_kernel import RULESET, Session
from pkttables.capture import LinkType, PcapngWriter
from pkttables.cli.main import main as pkt_main
from pkttables.conntrack.cli import main as conntrack_main
from pkttables.testing.differential import host_toml
from pkttables.testing.kernel import KernelLab

pytestmark = pytest.mark.kernel

# the PASV expectation: client -> server's announced port 30001 (any source port)
DEL_PASV = "-D expect -s 192.168.1.10 -d 198.51.100.7 -p tcp --sport 1234 --dport 30001 " \
           "--reply-port-src 0 --reply-port-dst 0"
COMMANDS = [
    "-L expect",
    "-L expect -f ipv6",
    "-C expect",
    "-L expect -s 198.51.100.7",                 # the -L filters are refused for expect
    "-L expect -p tcp",
    "-C expect -f ipv4",
    "-D expect -s 192.168.1.10",                 # -D expect asks for what it needs, in order
    "-D expect -s 192.168.1.10 -d 198.51.100.7",
    "-D expect -s 192.168.1.10 -d 198.51.100.7 -p tcp --dport 30001",
    "-D expect -s 192.168.1.10 -d 198.51.100.7 -p tcp --sport 0 --dport 30001",
    "-D expect -s 192.168.1.10 -d 198.51.100.7 -p tcp --sport 0 --dport 30001 --reply-port-src 0",
    DEL_PASV + " -f ipv6",                       # addresses of the other family
    DEL_PASV,                                    # deletes: "0 expectations have been shown.", 1
    "-L expect",
    "-L",                                        # the PASV master's use= went down
    DEL_PASV,                                    # gone now: ENOENT
    "-C expect",
    "-F expect",
    "-L expect",
    "-L expect -f ipv6",
    "-L",
]


def control_traffic():
    ctl = Session(40000, 21)
    tr = [*ctl.open(), ctl.s2c(b"220 hi\r\n"), ctl.c2s(b"USER a\r\n"), ctl.s2c(b"331 pw\r\n"),
          ctl.c2s(b"PORT 192,168,1,10,156,65\r\n"), ctl.s2c(b"200 ok\r\n")]          # 40001
    ctl2 = Session(40010, 21)
    tr += [*ctl2.open(), ctl2.s2c(b"220 hi\r\n"), ctl2.c2s(b"USER a\r\n"), ctl2.s2c(b"331 pw\r\n"),
           ctl2.c2s(b"PASV\r\n"), ctl2.s2c(b"227 Entering Passive Mode (198,51,100,7,117,49).\r\n")]
    ctl3 = Session(40020, 21, v6=True)
    tr += [*ctl3.open(), ctl3.s2c(b"220 hi\r\n"), ctl3.c2s(b"USER a\r\n"), ctl3.s2c(b"331 pw\r\n"),
           ctl3.c2s(b"EPRT |2|fd00:1::10|40021|\r\n"), ctl3.s2c(b"200 ok\r\n")]
    return tr


_LEAD = re.compile(r"^(\s*\w+\s+\d+\s+|)(\d+)(?= )")


def masked(text: str) -> tuple[list[str], list[int]]:
    """Sorted lines with the time left replaced by T, and the times left."""
    lines, times = [], []
    for line in text.splitlines():
        m = _LEAD.match(line)
        if m:
            times.append(int(m.group(2)))
            line = line[:m.start(2)] + "T" + line[m.end(2):]
        lines.append(line)
    return sorted(lines), times


def kernel_run(traffic):
    results = []
    with KernelLab(two_interface_host(), timeout=40, settle=0.2) as lab:
        lab.load(RULESET)
        lab.inject(traffic)
        for cmd in COMMANDS:
            r = lab.exec(f"conntrack {cmd}", check=False)
            results.append((r.returncode, r.stdout, r.stderr))
    return results


def ours_run(traffic, tmp_path):
    (tmp_path / "host.toml").write_text(host_toml(two_interface_host()))
    (tmp_path / "r.nft").write_text(RULESET)
    cap = tmp_path / "t.pcapng"
    with PcapngWriter(str(cap)) as w:
        ids: dict[str, int] = {}
        for i, inj in enumerate(traffic):
            if inj.ifname not in ids:
                ids[inj.ifname] = w.add_interface(inj.ifname, LinkType.ETHERNET)
            w.write(ids[inj.ifname], inj.frame, 1_700_000_000_000_000_000 + i * 1_000_000)
    snap = tmp_path / "ct.json"
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        rc = pkt_main(["simulate", "--ruleset", str(tmp_path / "r.nft"), "--host", str(tmp_path / "host.toml"),
                       "--traffic", str(cap), "--conntrack-save", str(snap)])
    assert rc == 0, err.getvalue()
    results = []
    for cmd in COMMANDS:
        out, err = io.StringIO(), io.StringIO()
        rc = conntrack_main([*cmd.split(), "--table", str(snap)], out, err)
        results.append((rc, out.getvalue(), err.getvalue()))
    return results


def test_expect_commands_match_conntrack_1_4_7(tmp_path):
    traffic = control_traffic()
    t0 = time.monotonic()
    kern = kernel_run(traffic)
    assert time.monotonic() - t0 < 60
    ours = ours_run(traffic, tmp_path)
    for cmd, (krc, kout, kerr), (orc, oout, oerr) in zip(COMMANDS, kern, ours):
        report = f"\n$ conntrack {cmd}\nkernel {krc}:\n{kout}{kerr}ours {orc}:\n{oout}{oerr}"
        assert (orc, oerr) == (krc, kerr), report
        klines, ktimes = masked(kout)
        olines, otimes = masked(oout)
        assert olines == klines, report
        for kt, ot in zip(sorted(ktimes), sorted(otimes)):
            assert abs(kt - ot) <= 3, report
    # the scenario is not empty: three expectations, two families, one deleted
    first = kern[0][1].splitlines() + kern[1][1].splitlines()
    assert len(first) == 3 and kern[12][0] == 1 and kern[15][2].endswith("No such file or directory\n")


# ------------------------------------------------------------------ carrying a run on
# The FTP-through-NAT scenarios of ctnat_scenarios.py (active and passive, IPv4 and IPv6,
# masquerade and DNAT, standard and other ports), each cut in two just after the packet
# that makes the expectation: `pkt simulate --conntrack-save` on the first part,
# `pkt simulate --conntrack-load` on the rest, outputs put together, compared with the
# kernel as test_simulate_ctnat.py compares one run (frames per injection and interface,
# the final conntrack table) -- except the ruleset's counters, which are not conntrack
# state and start again at 0 in the second run (docs/conntrack.md).

from ctnat_lab import CtNatLab  # noqa: E402
from ctnat_scenarios import ftp_nat  # noqa: E402
from simulate_cli import (CliRun, LazyLab, ct_observation, ct_times, ctnat_disagreements,  # noqa: E402
                          report, run_cli)
from test_nat_kernel import nat_host  # noqa: E402
from pkttables.testing.differential import quiet_host  # noqa: E402

FTP_SCENARIOS = list(ftp_nat())
_COMMAND = re.compile(rb"PORT |EPRT |227 |229 ")


@pytest.fixture(scope="module")
def ftp_lab():
    lazy = LazyLab(lambda: CtNatLab(nat_host()))
    yield quiet_host(nat_host()), lazy
    lazy.close()


def _merge(a: CliRun, b: CliRun, k: int) -> CliRun:
    """Two runs as one: the second run's emitted-frame indexes shifted by the first
    run's frames (each run numbers its own --out file from 0); its packet indexes
    already number on from the snapshot's count (--conntrack-load), checked here."""
    nf = len(a.frames)
    tail = []
    for x in b.lines[1:]:
        x = dict(x)
        if x["type"] in ("packet", "timer"):
            if "index" in x:
                assert x["index"] >= k, x
            x["emitted"] = [dict(e, index=e["index"] + nf) for e in x["emitted"]]
        tail.append(x)
    return CliRun(b.rc or a.rc, a.lines[:-1] + tail, a.frames + b.frames, b.stdout, a.stderr + b.stderr,
                  b.listing, b.conntrack)


@pytest.mark.parametrize("sc", FTP_SCENARIOS, ids=[s.name for s in FTP_SCENARIOS])
def test_ftp_nat_scenario_cut_after_the_command_equals_the_kernel(ftp_lab, sc, tmp_path):
    host, lazy = ftp_lab
    kern = ct_observation(lazy, host, sc)
    times = ct_times(sc.traffic)
    k = next(i for i, inj in enumerate(sc.traffic) if _COMMAND.search(inj.frame)) + 1
    snap = tmp_path / "ct.json"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = run_cli(tmp_path / "a", host, sc.ruleset, sc.traffic[:k], times[:k],
                flags=("--conntrack-save", str(snap)))
    b = run_cli(tmp_path / "b", host, sc.ruleset, sc.traffic[k:], times[k:],
                flags=("--conntrack-load", str(snap), "--list", "--conntrack"))
    assert a.rc == 0 and b.rc == 0, a.stderr + b.stderr
    import json as _json
    doc = _json.loads(snap.read_text())
    assert len(doc["expectations"]) == 1, sc.name          # cut while the expectation waits
    problems = [p for p in ctnat_disagreements(sc, kern, host, _merge(a, b, k), times)
                if not p.startswith("counters:")]
    assert not problems, report(sc.name, problems)
