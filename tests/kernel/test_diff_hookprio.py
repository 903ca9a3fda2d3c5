"""Issue 6/4 (HOOKPRIO): base chains on both sides of conntrack, against the kernel.

Every base chain is a hook entry of its own at its priority, among defrag (-400),
conntrack (-200), NAT (dstnat -100, srcnat 100) and confirm (INT_MAX)
(nf_tables_register_hook -> nf_register_net_hook).  Each scenario runs once on the
kernel and on pkttables' three backends (``Simulator(..., backend=...)``); frames,
rule counters by position and the conntrack table (zones included) are compared:

* ``raw-notrack-*``: ``notrack`` in a raw (-300) chain with a filter (0) chain at the
  same hook reading ``ct state`` -- prerouting, and output for locally sent packets;
* ``zone-raw-clash``: ``ct zone set`` in raw keeps two masqueraded clients with one
  source port apart (both keep port 40000);
* ``zone-mangle-late``: the same ``ct zone set`` (for marked packets) at -150 comes after
  conntrack: no effect, the second client moves to 40001; the mark set at -150 is seen
  by later chains but conntrack never read it;
* ``order-six``: chains at -300/-200/-199/-150/-100/0 in one hook handing a mark on,
  with ct state counters (conntrack at -200 runs before the -200 chain registered with
  it in one batch);
* ``nat-around``: filter chains at -150 and -50 around dnat (-100): the first sees the
  original destination, the second the translated one;
* ``two-tables-tie``: equal priorities in two tables: the later one runs first.
"""

from __future__ import annotations

import functools

import pytest

import ctnat_lab
from ctnat_lab import CtNatLab, CtResult, CtScenario
from ctnat_scenarios import C4, C4b, S4, W4, lan, wan
from pkttables.datapath.replay import Simulator
from pkttables.testing import packets as P
from pkttables.testing.kernel import Injection
from test_nat_kernel import nat_host

pytestmark = pytest.mark.kernel

BACKENDS = ("interp", "codegen", "classifier")
CS1 = 0x20
COUNTERS = """
        ct state invalid counter
        ct state new counter
        ct state established counter
        ct state untracked counter
"""


def _chain(name: str, hook: str, prio: str, body: str, kind: str = "filter") -> str:
    return (f"    chain {name} {{\n        type {kind} hook {hook} priority {prio}; policy accept;\n"
            f"{body}\n    }}\n")


def _table(*chains: str, family: str = "ip", name: str = "t") -> str:
    return f"table {family} {name} {{\n" + "".join(chains) + "}\n"


def _ports(text: str) -> list[str]:
    return sorted(x.split("dport=")[-1].split()[0] for x in text.splitlines() if "sport=40000 dport=53" in x)


def scenarios():
    yield CtScenario("raw-notrack-pre", _table(
        _chain("raw", "prerouting", "raw", "        udp dport 53 counter notrack"),
        _chain("pre", "prerouting", "filter", COUNTERS),
        _chain("fw", "forward", "filter", COUNTERS)), [
        lan(C4, S4, P.udp(5000, 53, b"q")),
        lan(C4, S4, P.udp(5000, 54, b"q")),
        wan(S4, C4, P.udp(54, 5000, b"r")),
        wan(S4, C4, P.udp(53, 5000, b"r"))])
    yield CtScenario("raw-notrack-out", _table(
        _chain("raw", "output", "raw", "        udp dport 53 counter notrack"),
        _chain("out", "output", "filter", COUNTERS),
        _chain("post", "postrouting", "filter", COUNTERS)), [
        Injection("local", P.ipv4(W4, S4, P.udp(5000, 53, b"q"))),
        Injection("local", P.ipv4(W4, S4, P.udp(5000, 54, b"q")))])

    masq = '        oifname "wan0" meta l4proto udp masquerade to :40000-40001'

    def both_40000(res):
        for text in (res.kernel_text, res.our_text):
            assert _ports(text) == ["40000", "40000"], text

    def moved(res):
        for text in (res.kernel_text, res.our_text):
            assert _ports(text) == ["40000", "40001"], text

    zone_rules = (f'        ip saddr {C4b} ct zone set 1 counter\n'
                  f'        iifname "wan0" ip dscp cs1 ct zone set 1 counter')
    traffic = [lan(C4, S4, P.udp(40000, 53, b"one")), lan(C4b, S4, P.udp(40000, 53, b"two")),
               wan(S4, W4, P.udp(53, 40000, b"to-two"), tos=CS1), wan(S4, W4, P.udp(53, 40000, b"to-one"))]
    yield CtScenario("zone-raw-clash", _table(
        _chain("raw", "prerouting", "raw", zone_rules),
        _chain("pre", "prerouting", "filter", "        ct zone 1 counter\n" + COUNTERS),
        _chain("post", "postrouting", "srcnat", masq, kind="nat")), traffic, check=both_40000)
    mark_rules = (f'        ip saddr {C4b} meta mark set 1 counter\n'
                  f'        iifname "wan0" ip dscp cs1 meta mark set 1 counter\n'
                  f'        meta mark 1 ct zone set 1 counter')
    yield CtScenario("zone-mangle-late", _table(
        _chain("mangle", "prerouting", "mangle", mark_rules),
        _chain("pre", "prerouting", "filter", "        meta mark 1 counter\n        ct mark 1 counter\n"
               "        ct zone 1 counter\n" + COUNTERS),
        _chain("post", "postrouting", "srcnat", masq, kind="nat")),
        [lan(C4, S4, P.udp(40000, 53, b"one")), lan(C4b, S4, P.udp(40000, 53, b"two")),
         wan(S4, W4, P.udp(53, 40001, b"to-two")), wan(S4, W4, P.udp(53, 40000, b"to-one"))], check=moved)

    def hand_on(i):
        return (f"        meta mark {i} meta mark set {i + 1} counter\n"
                "        ct state new counter\n        ct state untracked counter")
    six = [("a", "-300"), ("b", "-200"), ("c", "-199"), ("d", "-150"), ("e", "-100"), ("f", "0")]
    yield CtScenario("order-six", _table(*[_chain(n, "prerouting", p, hand_on(i)) for i, (n, p) in enumerate(six)]), [
        lan(C4, S4, P.udp(5000, 53, b"q")), wan(S4, C4, P.udp(53, 5000, b"r"))])
    # the same shape in reverse order of creation (the ties go the other way only
    # between chains, not with conntrack)
    yield CtScenario("order-six-reversed", _table(
        *[_chain(n, "prerouting", p, hand_on(i)) for i, (n, p) in reversed(list(enumerate(six)))]), [
        lan(C4, S4, P.udp(5000, 53, b"q"))])

    yield CtScenario("nat-around", _table(
        _chain("early", "prerouting", "-150", f"        ip daddr {W4} counter\n        ip daddr {C4b} counter"),
        _chain("dn", "prerouting", "dstnat", f"        udp dport 8053 dnat to {C4b}:53", kind="nat"),
        _chain("late", "prerouting", "-50", f"        ip daddr {W4} counter\n        ip daddr {C4b} counter\n"
               + COUNTERS),
        _chain("sn", "postrouting", "srcnat", '        oifname "wan0" masquerade', kind="nat"),
        _chain("postf", "postrouting", "50", COUNTERS)), [
        wan(S4, W4, P.udp(6000, 8053, b"q")), lan(C4b, S4, P.udp(53, 6000, b"r"))])

    tie = "        meta mark 0 meta mark set {m} counter\n        ct state new counter"
    yield CtScenario("two-tables-tie",
                     _table(_chain("c", "prerouting", "0", tie.format(m=1)), name="one")
                     + _table(_chain("c", "prerouting", "0", tie.format(m=2)), name="two")
                     + _table(_chain("c", "prerouting", "-5", tie.format(m=3)), name="three"), [
        lan(C4, S4, P.udp(5000, 53, b"q"))])


SCENARIOS = list(scenarios())


class _Sim(Simulator):
    """The lab's Simulator; a ``local`` injection is an IP packet (link type raw)."""

    def process(self, data, time_ns, iif, index=None, link=1):
        return super().process(data, time_ns, iif, index, 101 if iif == "local" else link)


class _Lab(CtNatLab):
    """Runs each scenario once on the kernel and then on every backend."""

    def __init__(self, host):
        super().__init__(host)
        self.cache: dict[str, tuple[CtResult, float]] = {}

    def kernel(self, sc, res):
        if sc.name not in self.cache:
            first = CtResult(sc)
            self.cache[sc.name] = (first, super().kernel(sc, first))
        first, elapsed = self.cache[sc.name]
        res.kernel_frames, res.kernel_table = first.kernel_frames, first.kernel_table
        res.kernel_counters, res.kernel_text = first.kernel_counters, first.kernel_text
        return elapsed


@pytest.fixture(scope="module")
def lab():
    with _Lab(nat_host()) as lab:
        yield lab


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_hookprio(lab, sc, backend, monkeypatch):
    monkeypatch.setattr(ctnat_lab, "Simulator", functools.partial(_Sim, backend=backend))
    res = lab.run(sc)
    assert res.agree, res.report()
    assert not any("conntrack" in w for w in res.sim.warnings), res.sim.warnings
