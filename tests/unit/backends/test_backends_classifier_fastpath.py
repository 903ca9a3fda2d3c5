"""The generated per-packet path of the Classifier (``Classifier._compile_classify``)
against the generic one (``point`` + ``TupleSpace.lookup``, or ``match_linear`` when a
field's loads disagree on presence) and against vm.run: random rules, random frames,
with and without ``l3_trim``."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkttables.backends import Classifier, split_runs
from pkttables.bench.classbench import acl_run, generate_rules, generate_trace
from pkttables.packet import Packet
from pkttables.vm import EvalContext

from test_backends_classifier import Ctx, frame, load_chain, reference, rule_text


def generic(clf: Classifier, pkt, ctx):
    p = clf.point(pkt, ctx)
    return clf.match_linear(pkt, ctx) if p is None else clf.classify_point(p)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rule_text(), min_size=1, max_size=12), st.lists(frame(), min_size=1, max_size=10),
       st.booleans(), st.sampled_from([1, 2, 4]))
def test_generated_classify_equals_generic_and_vm(rules, frames, l3_trim, limit):
    loaded = load_chain(rules)
    runs, _ = split_runs(loaded)
    clf = Classifier(runs[0], limit=limit)
    if clf.method == "tuple":          # a run without boxes (unsatisfiable rules) is a tree
        assert "def classify(pkt, ctx=None):" in clf.source
    for f in frames:
        c = Ctx()
        c.l3_trim = l3_trim
        # trimmed to the IP length: a frame with Ethernet padding loads like the kernel
        padded = f + b"\0" * 6
        for data in (f, padded):
            want = generic(clf, Packet(data), c)
            assert clf.classify(Packet(data), c) == want
            ref, _ = reference(loaded, Packet(data), c)
            assert want == ref


def test_generated_classify_on_acl_trace():
    rules = generate_rules(2_000, 3)
    clf = Classifier(acl_run(rules))
    ctx = EvalContext(family=2)
    hits = 0
    for f in generate_trace(rules, 3_000, 4):
        pkt = Packet(f)
        got = clf.classify(pkt, ctx)
        assert got == generic(clf, pkt, ctx)
        hits += got is not None
    assert hits > 2_500


def test_generated_source_is_in_linecache():
    import linecache

    clf = Classifier(acl_run(generate_rules(50, 1)))
    name = clf.classify.__code__.co_filename
    assert name.startswith("<pkttables classifier ")
    assert "".join(linecache.getlines(name)) == clf.source


def test_generated_classify_truncated_padded_and_fragments():
    """Every truncation of a TCP/UDP frame, with and without Ethernet padding after the
    IP length, first and non-first fragments, ``l3_trim`` on and off: the generated
    path, the generic path and vm.run agree (the loads near the end of the packet)."""
    from pkttables.testing import packets as B

    # th dport 0-10: matches the zero padding when a load wrongly reads past the IP length
    loaded = load_chain(["ip saddr 10.1.2.0/24 th sport 22 drop", "th dport 0-10 drop", "th dport 80 accept",
                         "ip daddr 10.9.9.9 meta l4proto udp accept", "ip saddr 10.0.0.0/8 drop",
                         "meta mark 1 accept", "th sport 1000-2000 accept", "tcp flags syn drop",
                         "th sport != 1500 accept"])
    clf = Classifier(split_runs(loaded)[0][0])
    assert clf.method == "tuple"
    mac = ("02:00:00:00:00:01", "02:00:00:00:00:02")
    seen = set()
    for seg in (B.tcp(1500, 80), B.udp(22, 80), B.tcp(22, 443, flags=B.TCP_SYN)):
        full = B.ether(*mac, B.ipv4("10.1.2.3", "10.9.9.9", seg))
        for cut in range(14, len(full) + 1):
            for fragoff in (0, 1):
                b = bytearray(full[:cut])
                if cut >= 18:
                    b[16:18] = (cut - 14).to_bytes(2, "big")      # the IP length says what is there
                if cut >= 22:
                    b[20:22] = fragoff.to_bytes(2, "big")
                for pad in (0, 6):
                    data = bytes(b) + b"\0" * pad
                    for trim in (False, True):
                        c = Ctx()
                        c.l3_trim = trim
                        want = generic(clf, Packet(data), c)
                        assert clf.classify(Packet(data), c) == want, (cut, fragoff, pad, trim)
                        assert want == reference(loaded, Packet(data), c)[0]
                        seen.add(want)
    assert len(seen) >= 4         # several rules and the miss are exercised
