"""``conntrack -E expect`` (conntrack 1.4.7 on Linux) vs ``pkt conntrack -E expect
--pcap CAPTURE --ruleset R``.

The router of test_conntrack_ftp_kernel.py (``ct helper set "ftp-standard"`` on port
21) takes FTP control traffic that makes expectations of both families (PORT, PASV,
EPRT), a data connection that uses the PORT one, and a control connection that sends
PASV twice (the FTP helper keeps one expectation per master: the first is evicted).
The kernel's events are read by ``conntrack -E expect`` running in the namespace while
the frames go in, stopped with SIGINT; pkttables replays the same frames from a pcapng.
Compared: the lines in order (the event order is what is tested) with the time left
masked and checked to be within 3 s (the kernel counts down in real time, pkttables on
the capture's clock), and the count line on stderr.
"""

from __future__ import annotations

import io
import re
import signal
import subprocess
import time

import pytest

import pkttables.testing.kernel as kernel_lab
from lab_hosts import two_interface_host
from test_conntrack_expect_kernel import control_traffic
from test_conntrack_ftp_kernel import RULESET, Session
from pkttables.capture import LinkType, PcapngWriter
from pkttables.conntrack.cli import main as conntrack_main
from pkttables.testing.differential import host_toml
from pkttables.testing.kernel import KernelLab

pytestmark = pytest.mark.kernel

_LEAD = re.compile(r"^(\s*\[\w+\] )(\d+)(?= )")


def traffic():
    tr = control_traffic()                      # PORT 40001, PASV 30001, EPRT [v6] 40021
    data = Session(40001, 20)                   # the server opens the PORT data connection
    tr += data.open(client_first=False)
    ctl = Session(40030, 21)                    # PASV twice: the first one is evicted
    tr += [*ctl.open(), ctl.s2c(b"220 hi\r\n"), ctl.c2s(b"PASV\r\n"),
           ctl.s2c(b"227 Entering Passive Mode (198,51,100,7,117,60).\r\n"),
           ctl.c2s(b"PASV\r\n"), ctl.s2c(b"227 Entering Passive Mode (198,51,100,7,117,61).\r\n")]
    return tr


def masked(text: str) -> tuple[list[str], list[int]]:
    lines, times = [], []
    for line in text.splitlines():
        m = _LEAD.match(line)
        assert m, line
        times.append(int(m.group(2)))
        lines.append(line[:m.start(2)] + "T" + line[m.end(2):])
    return lines, times


def kernel_events(tr) -> tuple[int, str, str]:
    old = kernel_lab.PREFIX
    kernel_lab.PREFIX = "pktGL"                 # this test's namespaces
    try:
        with KernelLab(two_interface_host(), timeout=40, settle=0.3) as lab:
            lab.load(RULESET)
            proc = subprocess.Popen(["ip", "netns", "exec", lab.hostns, "conntrack", "-E", "expect"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                time.sleep(0.5)                 # subscribed before the first frame
                lab.inject(tr)
                time.sleep(0.3)
                proc.send_signal(signal.SIGINT)
                out, err = proc.communicate(timeout=10)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    finally:
        kernel_lab.PREFIX = old
    return proc.returncode, out, err


def our_events(tr, tmp_path) -> tuple[int, str, str]:
    (tmp_path / "host.toml").write_text(host_toml(two_interface_host()))
    (tmp_path / "r.nft").write_text(RULESET)
    cap = tmp_path / "t.pcapng"
    with PcapngWriter(str(cap)) as w:
        ids: dict[str, int] = {}
        for i, inj in enumerate(tr):
            if inj.ifname not in ids:
                ids[inj.ifname] = w.add_interface(inj.ifname, LinkType.ETHERNET)
            w.write(ids[inj.ifname], inj.frame, 1_700_000_000_000_000_000 + i * 1_000_000)
    out, err = io.StringIO(), io.StringIO()
    rc = conntrack_main(["-E", "expect", "--pcap", str(cap), "--ruleset", str(tmp_path / "r.nft"),
                         "--host", str(tmp_path / "host.toml")], out, err)
    return rc, out.getvalue(), err.getvalue()


def test_expect_events_match_conntrack_1_4_7(tmp_path):
    tr = traffic()
    krc, kout, kerr = kernel_events(tr)
    orc, oout, oerr = our_events(tr, tmp_path)
    report = f"\nkernel {krc}:\n{kout}{kerr}ours {orc}:\n{oout}{oerr}"
    assert (orc, oerr) == (krc, kerr), report
    klines, ktimes = masked(kout)
    olines, otimes = masked(oout)
    assert olines == klines, report
    assert all(abs(k - o) <= 3 for k, o in zip(ktimes, otimes)), report
    # the scenario shows what it is meant to: 5 NEW (one IPv6), 2 DESTROY (used, evicted)
    kinds = [ln.split("]")[0].strip() + "]" for ln in klines]
    assert kinds.count("[NEW]") == 5 and kinds.count("[DESTROY]") == 2, report
    assert any("src=2001:db8:99::7" in ln for ln in klines), report
