"""The classifier against the reference: random rule sets (prefixes, ranges, sets,
negations, wildcards, overlaps, opaque rules in between) and random packets.

Three answers must agree for every packet: the Classifier / ChainClassifier, the
linear scan over the extracted constraints, and ``vm.run`` over the compiled programs
rule by rule (the reference semantics), including which rule matched and the counters.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pkttables.backends import ChainClassifier, Classifier, extract_frames, split_runs
from pkttables.commands import run_text
from pkttables.errors import PktError
from pkttables.model import Ruleset
from pkttables.packet import Packet
from pkttables.testing import packets as B
from pkttables.vm import EvalContext, Regs, Verdict, run
from pkttables.vm.chain import LoadedRuleset

ADDRS = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3", "10.1.2.128/25", "10.0.0.0/7",
         "10.1.2.0/30", "192.168.0.0/16", "192.168.1.7", "0.0.0.0/1"]
HOSTS = ["10.1.2.3", "10.1.2.200", "10.9.9.9", "11.1.1.1", "192.168.1.7", "192.168.9.9", "172.16.0.1"]
PORTS = [22, 53, 80, 443, 1000, 1023, 1024, 5000, 65535]

match_part = st.one_of(
    st.builds(lambda a: f"ip saddr {a}", st.sampled_from(ADDRS)),
    st.builds(lambda a: f"ip daddr {a}", st.sampled_from(ADDRS)),
    st.builds(lambda a: f"ip saddr != {a}", st.sampled_from(ADDRS)),
    st.sampled_from(["meta l4proto tcp", "meta l4proto udp", "ip protocol tcp", "ip protocol udp",
                     "meta l4proto icmp"]),
    st.builds(lambda k, p: f"th {k} {p}", st.sampled_from(["sport", "dport"]), st.sampled_from(PORTS)),
    st.builds(lambda k, a, b: f"th {k} {min(a, b)}-{max(a, b)}", st.sampled_from(["sport", "dport"]),
              st.sampled_from(PORTS), st.sampled_from(PORTS)),
    st.builds(lambda k, a, b: f"th {k} != {min(a, b)}-{max(a, b)}", st.sampled_from(["sport", "dport"]),
              st.sampled_from(PORTS), st.sampled_from(PORTS)),
    st.builds(lambda ps: "th dport { " + ", ".join(map(str, sorted(set(ps)))) + " }",
              st.lists(st.sampled_from(PORTS), min_size=1, max_size=4)),
    st.just("th sport { 22, 1000-2000, 5000 }"),
    st.just("tcp dport 80"), st.just("tcp flags syn"), st.just("ip ttl < 64"), st.just("ip ttl 64"),
    st.just("meta mark 1"), st.just("meta protocol ip"),
)
# stateless rules that are not classifiable (byteorder, meta set, no verdict)
opaque_rule = st.sampled_from(["meta mark 1-3 accept", "meta mark set 1", "ip saddr 10.0.0.0/8 counter",
                               "ip dscp 0 meta mark set 2"])


@st.composite
def rule_text(draw):
    parts = draw(st.lists(match_part, min_size=0, max_size=4))
    tail = draw(st.sampled_from(["accept", "drop", "counter accept", "counter drop"]))
    return " ".join(parts + [tail])


def load_chain(rules: list[str]):
    text = "table ip t {\n chain c {\n" + "".join(f"  {r}\n" for r in rules) + " }\n}\n"
    try:
        res = run_text(text, Ruleset())
    except PktError:            # e.g. conflicting protocols: nft rejects it too
        assume(False)
    return LoadedRuleset(res.ruleset).chain("ip", "t", "c").rules


class Ctx(EvalContext):
    def __init__(self):
        super().__init__(family=2)
        self.counted = []
        self.rule_sets = {}

    def set(self, name):
        return self.rule_sets[name] if name in self.rule_sets else super().set(name)

    def counter(self, instr, pkt):
        self.counted.append(id(instr))


def reference(rules, pkt, ctx):
    """nft_do_chain's rule loop with vm.run: (position, verdict) of the first decision."""
    regs = Regs()
    for i, r in enumerate(rules):
        if r.sets:
            ctx.rule_sets = r.sets
        v, _ = run(r.instrs, pkt, ctx, regs)
        if v != Verdict.CONTINUE:
            return i, v
    return None, Verdict.CONTINUE


@st.composite
def frame(draw):
    src = draw(st.sampled_from(HOSTS))
    dst = draw(st.sampled_from(HOSTS))
    kind = draw(st.sampled_from(["tcp", "udp", "icmp", "trunc", "frag", "v6", "opts"]))
    sp, dp = draw(st.sampled_from(PORTS)), draw(st.sampled_from(PORTS))
    ttl = draw(st.sampled_from([1, 63, 64, 200]))
    if kind == "udp":
        ip = B.ipv4(src, dst, B.udp(sp, dp), ttl=ttl)
    elif kind == "icmp":
        ip = B.ipv4(src, dst, B.icmp_echo(sp, dp), ttl=ttl)
    elif kind == "v6":
        return B.ether("02:00:00:00:00:01", "02:00:00:00:00:02", B.ipv6("2001:db8::1", "2001:db8::2", B.tcp(sp, dp)))
    elif kind == "opts":
        ip = B.ipv4(src, dst, B.tcp(sp, dp, flags=B.TCP_ACK), ttl=ttl, options=b"\x01\x01\x01\x01")
    else:
        ip = B.ipv4(src, dst, B.tcp(sp, dp, flags=draw(st.sampled_from([B.TCP_SYN, B.TCP_ACK]))), ttl=ttl)
    f = B.ether("02:00:00:00:00:01", "02:00:00:00:00:02", ip)
    if kind == "trunc":
        f = f[: draw(st.integers(14, 40))]
        f = f[:16] + len(f[14:]).to_bytes(2, "big") + f[18:] if len(f) >= 18 else f
    elif kind == "frag":   # a non-first fragment: only aligned 1/2/4-byte transport loads
        b = bytearray(f)
        b[20:22] = (0x0001).to_bytes(2, "big")
        f = bytes(b)
    return f


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rule_text(), min_size=1, max_size=12), st.lists(frame(), min_size=1, max_size=12))
def test_run_classifier_equals_linear_and_vm(rules, frames):
    loaded = load_chain(rules)
    runs, opaque = split_runs(loaded)
    assert not opaque, opaque                  # every rule of this vocabulary is classifiable
    clf = Classifier(runs[0], binth=2)         # small leaves: deep trees even for few rules
    points = []
    for f in frames:
        ctx = Ctx()
        want, _ = reference(loaded, Packet(f), ctx)
        pkt = Packet(f)
        assert clf.classify(pkt, Ctx()) == want
        assert clf.match_linear(pkt, Ctx()) == want
        points.append(clf.point(pkt, Ctx()))
    pts, slow = extract_frames(clf, frames, Ctx())
    for i, p in enumerate(points):
        assert slow[i] == (p is None)
        if p is not None:
            assert pts[i].tolist() == p
    batch = clf.classify_batch(pts)
    for i, f in enumerate(frames):
        if not slow[i]:
            want, _ = reference(loaded, Packet(f), Ctx())
            assert batch[i] == (-1 if want is None else want)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(rule_text(), opaque_rule), min_size=1, max_size=14),
       st.lists(frame(), min_size=1, max_size=8), st.booleans())
def test_chain_classifier_equals_vm_with_counters(rules, frames, l3_trim):
    loaded = load_chain(rules)
    cc = ChainClassifier(loaded, min_run=1, binth=3)
    for f in frames:
        c1, c2 = Ctx(), Ctx()
        c1.l3_trim = c2.l3_trim = l3_trim
        p1, p2 = Packet(f), Packet(f)
        want = reference(loaded, p1, c1)
        got = cc.first_match(p2, c2)
        assert (got[0], got[1]) == want
        assert c1.counted == c2.counted
        assert p1.mark == p2.mark


def test_acl_rules_vs_vm():
    from pkttables.bench.classbench import generate_acl, generate_rules, generate_trace

    loaded = LoadedRuleset(run_text(generate_acl(300, 5, counter=True), Ruleset()).ruleset) \
        .chain("ip", "acl", "rules").rules
    runs, opaque = split_runs(loaded)
    assert len(runs) == 1 and runs[0].stop == 300 and not opaque
    clf = Classifier(runs[0])
    frames = generate_trace(generate_rules(300, 5), 400, 7)
    pts, slow = extract_frames(clf, frames)
    assert not slow.any()
    got = clf.classify_batch(pts)
    hits = 0
    for f, g in zip(frames, got):
        want, _ = reference(loaded, Packet(f), Ctx())
        assert g == (-1 if want is None else want)
        hits += want is not None
    assert hits > 300                 # the trace hits rules, it is not noise


def test_empty_and_wildcard_runs():
    loaded = load_chain(["accept", "drop"])
    clf = Classifier(split_runs(loaded)[0][0])
    pkt = Packet(B.ether("02:00:00:00:00:01", "02:00:00:00:00:02", B.ipv4("1.1.1.1", "2.2.2.2", B.udp(1, 2))))
    assert clf.classify(pkt) == 0
    assert clf.classify_batch(np.zeros((3, 0), dtype=np.uint64)).tolist() == [0, 0, 0]
    assert clf.classify_batch(np.zeros((0, 0), dtype=np.uint64)).tolist() == []


def test_shadowed_rules_are_pruned():
    # 200 copies of a rule behind a rule that covers them: the tree keeps one leaf entry
    loaded = load_chain(["ip saddr 10.0.0.0/8 accept"] + ["ip saddr 10.1.2.3 drop"] * 200)
    clf = Classifier(split_runs(loaded)[0][0])
    assert clf.stats().leaf_entries < 10
