"""Issue 6: ``ct timeout`` objects and directional zones against the kernel.

``ct timeout set "obj"`` (nft_ct_timeout_obj_eval) gives a new, unconfirmed entry of the
object's protocol the object's timeouts; later packets refresh it from them
(nf_ct_timeout_lookup).  The scenarios use short policies and traffic spread over
seconds (the kernel really waits; pkttables' clock is the sum of the delays), and
compare frames, counters, the conntrack tables and their timeouts (within a second):
an entry that outlived its custom timeout must be gone on both sides.

``ct original zone set`` / ``ct reply zone set`` (NF_CT_ZONE_DIR_ORIG / _REPL) put one
direction of the entry in the zone and the other in zone 0: the scenarios check which
replies find their entry, and two flows with one tuple kept apart by an original-only
zone behind masquerade (the classic overlapping-clients case).
"""

from __future__ import annotations

import pytest

from ctnat_lab import CtNatLab, CtScenario
from ctnat_scenarios import ACK, SA, SYN, FA, addrs, lan, ruleset, wan
from test_nat_kernel import nat_host
from pkttables.testing import packets as P

pytestmark = pytest.mark.kernel


def _obj(name, proto, l3, policy):
    pol = ", ".join(f"{k}: {v}" for k, v in policy.items())
    return (f"    ct timeout {name} {{\n        protocol {proto}; l3proto {l3};\n"
            f"        policy = {{ {pol} }}\n    }}\n")


def timeout_scenarios():
    for v6 in (False, True):
        c, s, w = addrs(v6)
        tag, l3 = ("v6", "ip6") if v6 else ("v4", "ip")
        udp = _obj("udpto", "udp", l3, {"unreplied": 2, "replied": 4})
        # UDP: the unreplied timeout of the object (2 s, not 30); refreshed, then expired
        yield CtScenario(f"cttimeout-{tag}-udp-unreplied", ruleset(
            extra=udp, fw='        udp dport 53 ct timeout set "udpto"\n'), [
            lan(c, s, P.udp(51000, 53, b"a"), v6),
            lan(c, s, P.udp(51001, 53, b"b"), v6),
            lan(c, s, P.udp(51000, 53, b"c"), v6, delay=1.2),     # refreshed to 2 s
            lan(c, s, P.udp(51001, 53, b"d"), v6, delay=1.1),     # 51001 expired: new
        ])
        # UDP stream: replied (4 s) after the 2 s stream delay
        yield CtScenario(f"cttimeout-{tag}-udp-stream", ruleset(
            extra=udp, fw='        udp dport 5000 ct timeout set "udpto"\n'), [
            lan(c, s, P.udp(51002, 5000, b"a"), v6), wan(s, c, P.udp(5000, 51002, b"b"), v6),
            lan(c, s, P.udp(51002, 5000, b"c"), v6, delay=1.0),
            wan(s, c, P.udp(5000, 51002, b"d"), v6, delay=1.2),   # a stream now: 4 s
        ])
        tcp = _obj("tcpto", "tcp", l3, {"syn_sent": 2, "established": 5, "close": 1})
        # TCP: syn_sent 2 s (values[0]), established 5 s; an unanswered SYN expires
        yield CtScenario(f"cttimeout-{tag}-tcp", ruleset(
            extra=tcp, fw='        tcp dport 80 ct timeout set "tcpto"\n'), [
            lan(c, s, P.tcp(51010, 80, SYN, seq=1), v6),
            lan(c, s, P.tcp(51011, 80, SYN, seq=1), v6),
            wan(s, c, P.tcp(80, 51011, SA, seq=9, ack=2), v6),
            lan(c, s, P.tcp(51011, 80, ACK, seq=2, ack=10), v6),
            wan(s, c, P.tcp(80, 51010, SA, seq=9, ack=2), v6, delay=2.3),   # 51010 gone: invalid
            lan(c, s, P.tcp(51011, 80, ACK, seq=2, ack=10), v6, delay=0.1),  # established: 5 s
        ])
        # only new entries: a rule that matches established packets changes nothing, and a
        # tcp object on udp packets does nothing either
        yield CtScenario(f"cttimeout-{tag}-confirmed-and-proto", ruleset(
            extra=udp + tcp,
            fw='        ct state established udp dport 53 ct timeout set "udpto"\n'
               '        udp dport 54 ct timeout set "tcpto"\n'), [
            lan(c, s, P.udp(51020, 53, b"a"), v6), wan(s, c, P.udp(53, 51020, b"b"), v6),
            lan(c, s, P.udp(51020, 53, b"c"), v6, delay=0.2),
            lan(c, s, P.udp(51021, 54, b"d"), v6),
        ])
        # TCP close: RST gives the object's close timeout
        yield CtScenario(f"cttimeout-{tag}-tcp-rst", ruleset(
            extra=tcp, fw='        tcp dport 81 ct timeout set "tcpto"\n'), [
            lan(c, s, P.tcp(51030, 81, SYN, seq=1), v6),
            wan(s, c, P.tcp(81, 51030, SA, seq=9, ack=2), v6),
            lan(c, s, P.tcp(51030, 81, ACK, seq=2, ack=10), v6),
            lan(c, s, P.tcp(51030, 81, FA, seq=2, ack=10), v6, delay=0.1),
        ])


def zone_scenarios():
    for v6 in (False, True):
        c, s, w = addrs(v6)
        tag = "v6" if v6 else "v4"
        # original-only zone: the reply (no template, zone 0) finds the entry
        yield CtScenario(f"dirzone-{tag}-orig-udp", ruleset(
            raw='        iifname "lan0" ct original zone set 5\n'), [
            lan(c, s, P.udp(52000, 53, b"q"), v6), wan(s, c, P.udp(53, 52000, b"a"), v6),
            lan(c, s, P.udp(52000, 53, b"q2"), v6)])
        # reply-only zone set on lan: the reply from wan (zone 0) misses it: a new entry
        yield CtScenario(f"dirzone-{tag}-reply-oneside", ruleset(
            raw='        iifname "lan0" ct reply zone set 6\n'), [
            lan(c, s, P.udp(52001, 53, b"q"), v6), wan(s, c, P.udp(53, 52001, b"a"), v6)])
        # reply-only zone on both sides: the reply finds it in the reply zone
        yield CtScenario(f"dirzone-{tag}-reply-both-tcp", ruleset(
            raw='        ct reply zone set 6\n'), [
            lan(c, s, P.tcp(52002, 80, SYN, seq=1), v6),
            wan(s, c, P.tcp(80, 52002, SA, seq=9, ack=2), v6),
            lan(c, s, P.tcp(52002, 80, ACK, seq=2, ack=10), v6)])
        # original zone on lan, zone (both directions) on wan: the reply is looked up in
        # zone 7 and misses the entry whose reply direction is in zone 0
        yield CtScenario(f"dirzone-{tag}-orig-vs-both", ruleset(
            raw='        iifname "lan0" ct original zone set 7\n'
                '        iifname "wan0" ct zone set 7\n'), [
            lan(c, s, P.udp(52003, 53, b"q"), v6), wan(s, c, P.udp(53, 52003, b"a"), v6)])
        # `ct original zone` / `ct reply zone` / `ct zone` loads on the entry
        yield CtScenario(f"dirzone-{tag}-load", ruleset(
            raw='        iifname "lan0" ct original zone set 9\n',
            fw='        ct original zone 9 counter\n        ct reply zone 0 counter\n'
               '        ct zone 9 counter\n        ct reply zone 9 counter\n'), [
            lan(c, s, P.udp(52004, 53, b"q"), v6), wan(s, c, P.udp(53, 52004, b"a"), v6)])
    # two flows with the same original tuple, apart only by an original-direction zone
    # (dscp), masqueraded to a two-port range: both get through, on different ports
    c, s, w = addrs(False)

    def two_entries(res):
        for text in (res.kernel_text, res.our_text):
            lines = [x for x in text.splitlines() if "sport=40000 dport=53" in x]
            assert len(lines) == 2, text
            assert sum("zone-orig=1 " in x for x in lines) == 1, text
            assert {x.split("dport=")[-1].split()[0] for x in lines} == {"40000", "40001"}, text

    yield CtScenario("dirzone-v4-overlap-masq", check=two_entries, ruleset=ruleset(
        raw='        ip dscp cs1 ct original zone set 1\n',
        nat_post='        oifname "wan0" meta l4proto udp masquerade to :40000-40001\n'), traffic=[
        lan(c, s, P.udp(40000, 53, b"q"), False),
        lan(c, s, P.udp(40000, 53, b"q"), False, tos=0x20),
        wan(s, w, P.udp(53, 40001, b"b"), False),
        wan(s, w, P.udp(53, 40000, b"a"), False)])


SCENARIOS = list(timeout_scenarios()) + list(zone_scenarios())


@pytest.fixture(scope="module")
def lab():
    with CtNatLab(nat_host()) as lab:
        yield lab


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_cttimeout_and_dirzones(lab, sc):
    res = lab.run(sc)
    assert res.agree, res.report()
