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

import time

import pytest

from ct_veth import loaded, send, tracked, veth_pair
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


@pytest.fixture(scope="module")
def lab():
    with veth_pair("pkts2", "10.77.0") as pair:
        yield pair


def _kernel_tracks(lab, text: str) -> bool:
    with loaded(lab, text):
        send(lab, _SEND)
        time.sleep(0.1)
        return tracked(lab)


@pytest.mark.parametrize("name", sorted(CASES))
def test_needs_conntrack_agrees_with_kernel(lab, name):
    text = CASES[name]
    ours = needs_conntrack(run_text(text, Ruleset(), Options()).ruleset, family="ip")
    assert ours == _kernel_tracks(lab, text), name
