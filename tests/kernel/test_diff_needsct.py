"""Which rulesets make the kernel start conntrack in a namespace, against
``pkttables.datapath.replay.needs_conntrack``.

Conntrack's hooks are registered per namespace and layer-3 family on demand
(nf_ct_netns_get()); nf_tables takes that reference in the init of the ct / nat /
connlimit / synproxy expressions, of NAT chains, and of ct helper / ct timeout /
ct expectation / synproxy objects.  Each case loads one ruleset in a namespace of ours,
sends one IPv4 UDP datagram and one TCP SYN to it from a peer namespace, and reads
``conntrack -L``: entries exist exactly when conntrack was started for IPv4.  Our answer
for ``family="ip"`` must agree (and, with no family, an ip6-only ruleset counts).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from pkttables.commands import Options, run_text
from pkttables.datapath.replay import needs_conntrack
from pkttables.model import Ruleset

pytestmark = pytest.mark.kernel

_TO = "protocol udp; l3proto ip; policy = { unreplied: 10 };"
CASES = {
    "empty": "table ip t { chain c { type filter hook input priority 0; }; }",
    "ct_state": "table ip t { chain c { type filter hook input priority 0; ct state new counter; }; }",
    "ct_state_regular_chain": "table ip t { chain c { ct state new counter; }; }",
    "ct_timeout_set": ("table ip t { ct timeout x { " + _TO + " }; chain c { type filter hook prerouting "
                       "priority -300; ct timeout set \"x\"; }; }"),
    "ct_timeout_unused": ("table ip t { ct timeout x { " + _TO + " }; chain c { type filter hook input "
                          "priority 0; }; }"),
    "ct_timeout_no_chain": "table ip t { ct timeout x { " + _TO + " }; }",
    "ct_helper_set": ("table ip t { ct helper h { type \"ftp\" protocol tcp; }; chain c { type filter "
                      "hook prerouting priority -300; ct helper set \"h\"; }; }"),
    "ct_helper_unused": "table ip t { ct helper h { type \"ftp\" protocol tcp; }; }",
    "ct_expectation_unused": ("table ip t { ct expectation e { protocol tcp; dport 21; timeout 1m; "
                              "size 12; l3proto ip; }; }"),
    "notrack": "table ip t { chain c { type filter hook prerouting priority -300; notrack; }; }",
    "ct_count": "table ip t { chain c { type filter hook input priority 0; ct count over 10 drop; }; }",
    "inet_ct_count": "table inet t { chain c { type filter hook input priority 0; ct count over 10 drop; }; }",
    "ip6_ct_state": "table ip6 t { chain c { type filter hook input priority 0; ct state new counter; }; }",
    "ip6_ct_timeout_unused": ("table ip6 t { ct timeout x { protocol udp; l3proto ip6; "
                              "policy = { unreplied: 10 }; }; }"),
    "counter_quota_objects": "table ip t { counter n { }; quota q { over 1 mbytes; }; }",
    "nat_chain": "table ip t { chain c { type nat hook postrouting priority 100; }; }",
}

_SEND = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('10.77.0.2', 5555))
t = socket.socket(); t.settimeout(0.5)
try:
    t.connect(('10.77.0.2', 5556))
except OSError:
    pass
"""


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=20)


@pytest.fixture(scope="module")
def lab():
    if os.geteuid() != 0 or not shutil.which("conntrack") or not shutil.which("nft"):
        pytest.skip("needs root, nft and conntrack")
    a, b = f"pkts2{os.getpid()}a", f"pkts2{os.getpid()}b"
    try:
        for ns in (a, b):
            _run("ip", "netns", "add", ns).check_returncode()
        _run("ip", "link", "add", "va", "netns", a, "type", "veth", "peer", "name", "vb",
             "netns", b).check_returncode()
        _run("ip", "-n", a, "addr", "add", "10.77.0.1/24", "dev", "va").check_returncode()
        _run("ip", "-n", b, "addr", "add", "10.77.0.2/24", "dev", "vb").check_returncode()
        for ns, dev in ((a, "va"), (b, "vb")):
            _run("ip", "-n", ns, "link", "set", dev, "up").check_returncode()
        yield a, b
    finally:
        for ns in (a, b):
            _run("ip", "netns", "del", ns)


def _kernel_tracks(lab, text: str) -> bool:
    a, b = lab
    _run("ip", "netns", "exec", b, "nft", "flush", "ruleset").check_returncode()
    r = _run("ip", "netns", "exec", b, "nft", "-f", "-", stdin=text)
    assert r.returncode == 0, r.stderr
    try:
        _run("ip", "netns", "exec", b, "conntrack", "-F")
        _run("ip", "netns", "exec", a, "python3", "-c", _SEND).check_returncode()
        time.sleep(0.1)
        out = _run("ip", "netns", "exec", b, "conntrack", "-L").stdout
        return any(line.strip() for line in out.splitlines())
    finally:
        _run("ip", "netns", "exec", b, "nft", "flush", "ruleset")


@pytest.mark.parametrize("name", sorted(CASES))
def test_needs_conntrack_agrees_with_kernel(lab, name):
    text = CASES[name]
    ours = needs_conntrack(run_text(text, Ruleset(), Options()).ruleset, family="ip")
    assert ours == _kernel_tracks(lab, text), name
