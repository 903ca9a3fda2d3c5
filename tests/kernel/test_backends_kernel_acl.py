"""The kernel ACL forwarding lab of `pkt bench acl` (pkttables.bench.kernel_acl):
namespaces pktacl<pid>{s,r,k}, always deleted.  The kernel forwards exactly the
packets pkttables' classifier accepts, and the rate measurement counts packets."""

from __future__ import annotations

import os

import pytest

from pkttables.backends import Classifier
from pkttables.bench.classbench import acl_run, generate_rules, header_frame, ruleset_text, trace_headers
from pkttables.bench.kernel_acl import KernelForwarder, forwardable
from pkttables.packet import Packet
from pkttables.vm import EvalContext


@pytest.mark.kernel
def test_kernel_forwards_what_the_classifier_accepts():
    rules = generate_rules(300, 4)
    headers = [h for h in trace_headers(rules, 1_500, 5) if forwardable(h[0], h[1])]
    frames = [header_frame(h) for h in headers]
    clf = Classifier(acl_run(rules))
    ctx = EvalContext(family=2)
    want = 0
    for f in frames:
        pos = clf.classify(Packet(f), ctx)
        want += pos is None or rules[pos].verdict == "accept"     # policy accept
    assert 0 < want < len(frames)              # both verdicts occur: the check can fail
    lab = KernelForwarder()
    names = (lab.sender, lab.router, lab.sink)
    with lab:
        assert lab.load(ruleset_text(rules), 300) >= 0
        processed, forwarded = lab.replay(frames)
        if processed != len(frames):
            pytest.skip(f"the veth backlog lost {len(frames) - processed} frames (machine busy)")
        assert forwarded == want
        rate = lab.measure(frames, 0.3, warmup=0.1)
        assert rate.processed > 0 and rate.pps > 0 and rate.sent >= rate.processed
    for n in names:
        assert not os.path.exists(f"/run/netns/{n}")


def test_forwardable():
    ip = lambda s: int.from_bytes(bytes(map(int, s.split("."))), "big")   # noqa: E731
    assert forwardable(ip("10.0.0.1"), ip("192.0.2.1"))
    for bad in ("0.1.2.3", "127.0.0.1", "224.0.0.5", "240.1.1.1", "255.255.255.255", "198.18.1.2"):
        assert not forwardable(ip(bad), ip("10.0.0.1"))
        assert not forwardable(ip("10.0.0.1"), ip(bad))
