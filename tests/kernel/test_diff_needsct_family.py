"""Conntrack per layer-3 family, against the kernel (issue 6 leftover).

nf_tables takes its conntrack reference with the table's family (nf_ct_netns_get):
``ip`` starts IPv4 tracking only, ``ip6`` IPv6 only, ``inet`` both.  So a ruleset whose
ct users all sit in ``ip6`` tables leaves IPv4 untracked.  Two checks:

* ``test_families_agree_with_kernel``: each ruleset is loaded in a namespace, one IPv4
  and one IPv6 UDP datagram are sent to it, and ``conntrack -L -f ipv4|ipv6`` says which
  families were tracked; ``replay.conntrack_families`` must say the same;
* ``test_family_scenario``: mixed IPv4/IPv6 traffic through the router (CtNatLab: frames,
  rule counters, the conntrack table of both families) on the kernel and on
  ``Simulator`` with every backend, and ``test_family_scenario_through_the_cli``: the
  same through ``pkt simulate --json --out --list --conntrack``.

Bridge tables: the test kernel (6.18, built without CONFIG_NF_CONNTRACK_BRIDGE: a host
property) refuses any ct user in a bridge table with EPROTO (``Could not process rule:
Protocol error`` under the ct expression); ``test_bridge_ct_like_the_kernel`` compares
pkttables' error text with nft's for each (evaluate's ``KERNEL_BRIDGE_CONNTRACK``).
"""

from __future__ import annotations

import functools
import time

import pytest

import ctnat_lab
from ctnat_lab import CtNatLab, CtScenario
from ct_veth import loaded, run, send, tracked, veth_pair
from ctnat_scenarios import C4, C6, S4, S6, W6, lan, wan
from simulate_cli import LazyLab, ct_observation, ct_times, ctnat_disagreements, report, run_cli
from test_nat_kernel import nat_host
from pkttables.commands import Options, run_text
from pkttables.datapath.replay import Simulator, conntrack_families, needs_conntrack
from pkttables.errors import PktError
from pkttables.model import Ruleset
from pkttables.testing import packets as P
from pkttables.testing.differential import quiet_host

pytestmark = pytest.mark.kernel

_TO6 = "protocol udp; l3proto ip6; policy = { unreplied: 10 };"
_TO4 = "protocol udp; l3proto ip; policy = { unreplied: 10 };"
_IN = "type filter hook input priority 0;"

#: name -> (ruleset, families the kernel tracks) -- the expectation is checked against
#: the kernel by test_families_agree_with_kernel, not trusted
CASES = {
    "ip6_ct_state": (f"table ip6 t {{ chain c {{ {_IN} ct state new counter; }}; }}", ("ip6",)),
    "ip_ct_state": (f"table ip t {{ chain c {{ {_IN} ct state new counter; }}; }}", ("ip",)),
    "inet_ct_state": (f"table inet t {{ chain c {{ {_IN} ct state new counter; }}; }}", ("ip", "ip6")),
    "ip6_ct_regular_chain": ("table ip6 t { chain c { ct mark 1 counter; }; }", ("ip6",)),
    "ip6_ct_timeout_alone": (f"table ip6 t {{ ct timeout x {{ {_TO6} }}; }}", ("ip6",)),
    "ip_ct_timeout_alone": (f"table ip t {{ ct timeout x {{ {_TO4} }}; }}", ("ip",)),
    "inet_ct_timeout_alone": (f"table inet t {{ ct timeout x {{ {_TO4} }}; }}", ("ip", "ip6")),
    "ip6_ct_helper_alone": ('table ip6 t { ct helper h { type "ftp" protocol tcp; }; }', ("ip6",)),
    "ip6_masquerade": ("table ip6 t { chain c { type nat hook postrouting priority 100; masquerade; }; }",
                       ("ip6",)),
    "ip6_ct_count": (f"table ip6 t {{ chain c {{ {_IN} ct count over 10 drop; }}; }}", ("ip6",)),
    "ip6_notrack": ("table ip6 t { chain c { type filter hook prerouting priority -300; notrack; }; }", ()),
    "ip_nat_chain_ip6_ct": ("table ip n { chain c { type nat hook postrouting priority 100; }; }\n"
                            f"table ip6 t {{ chain c {{ {_IN} ct state new counter; }}; }}", ("ip6",)),
    "ip6_and_ip_tables": (f"table ip6 t {{ chain c {{ {_IN} ct state new counter; }}; }}\n"
                          f"table ip u {{ chain c {{ {_IN} counter; }}; }}", ("ip6",)),
    "inet_synproxy_object": ("table inet t { synproxy s { mss 1460; wscale 7; }; }", ("ip", "ip6")),
}

_SEND = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('10.78.0.2', 5555))
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.sendto(b'x', ('fd78::2', 5555))
"""


@pytest.fixture(scope="module")
def pair():
    with veth_pair("pktLO", "10.78.0", "fd78") as p:
        # the first IPv6 datagrams after link-up can be lost (neighbour discovery of a
        # fresh link): warm the path up with nothing loaded
        for _ in range(3):
            run("ip", "netns", "exec", p[0], "python3", "-c", _SEND)
            time.sleep(0.2)
        yield p


def _kernel_families(pair, text: str) -> tuple[str, ...]:
    with loaded(pair, text):
        # twice, the same tuples (one entry per family): a first IPv6 datagram is now
        # and then lost while the neighbour is resolved again
        for _ in range(2):
            send(pair, _SEND)
            time.sleep(0.15)
        return tuple(name for fam, name in (("ipv4", "ip"), ("ipv6", "ip6")) if tracked(pair, "-f", fam))


@pytest.mark.parametrize("name", sorted(CASES))
def test_families_agree_with_kernel(pair, name):
    text, expected = CASES[name]
    rs = run_text(text, Ruleset(), Options()).ruleset
    kernel = _kernel_families(pair, text)
    assert kernel == expected, (name, kernel)
    assert conntrack_families(rs) == kernel, name
    assert needs_conntrack(rs) == bool(kernel)


BRIDGE = "table bridge t {{ chain c {{ type filter hook input priority 0; {} }}; }}"
#: ct users in a bridge table (and notrack, which takes no conntrack reference)
BRIDGE_RULES = ("ct state new counter;", "ct count 3;", "ct zone set 1;", "ct direction original;",
                "meta mark set ct mark;", "ct state new counter ct mark set 1;", "notrack;", "meta mark 1 counter;")


def _pkt_error(text: str) -> str:
    """pkttables' answer in nft's form: '' when the ruleset loads, else the rendered error."""
    try:
        run_text(text, Ruleset(), Options(), filename="/dev/stdin")
    except PktError as e:
        return str(e)
    return ""


@pytest.mark.parametrize("rule", BRIDGE_RULES)
def test_bridge_ct_like_the_kernel(pair, rule):
    """This kernel has no nf_conntrack_bridge (a host property, evaluate's
    KERNEL_BRIDGE_CONNTRACK): every ct user in a bridge table is refused with EPROTO at
    its expression; pkttables gives the same message and carets."""
    _a, b = pair
    text = BRIDGE.format(rule)
    r = run("ip", "netns", "exec", b, "nft", "-f", "-", stdin=text)
    run("ip", "netns", "exec", b, "nft", "flush", "ruleset")
    ours = _pkt_error(text)
    if r.returncode == 0:
        assert ours == "", ours
    else:
        assert "Could not process rule: Protocol error" in r.stderr, r.stderr
        assert ours.strip() == r.stderr.strip(), (ours, r.stderr)


# ---------------------------------------------------------------- traffic scenarios
FW = """    chain fw {{
        type filter hook forward priority 0; policy accept;
{body}
    }}
"""


def _table(family: str, body: str, name: str = "t") -> str:
    return f"table {family} {name} {{\n" + FW.format(body=body) + "}\n"


def _traffic(c6_seen_as: str = C6):
    """A UDP exchange per family (the IPv6 answer goes to ``c6_seen_as``: the client's
    address as the server saw it), then a second IPv4 query."""
    return [lan(C4, S4, P.udp(5000, 53, b"q4")), wan(S4, C4, P.udp(53, 5000, b"r4")),
            lan(C6, S6, P.udp(5000, 53, b"q6"), v6=True),
            wan(S6, c6_seen_as, P.udp(53, 5000, b"r6"), v6=True),
            lan(C4, S4, P.udp(5001, 53, b"q4b"))]


_CT = "        ct state new counter\n        ct state established counter"
_PLAIN = "        meta l4proto udp counter"


def _fam_scenarios():
    yield CtScenario("ip6-only", _table("ip6", _CT) + _table("ip", _PLAIN, "u"), _traffic())
    yield CtScenario("ip-only", _table("ip", _CT) + _table("ip6", _PLAIN, "u"), _traffic())
    yield CtScenario("inet", _table("inet", _CT), _traffic())
    yield CtScenario("ip6-timeout-object", f"table ip6 t {{\n    ct timeout x {{ {_TO6} }}\n}}\n"
                     + _table("ip", _PLAIN, "u"), _traffic())
    yield CtScenario("ip-nat-empty-ip6-ct",
                     "table ip n {\n    chain post {\n        type nat hook postrouting priority srcnat;"
                     " policy accept;\n        counter\n    }\n}\n" + _table("ip6", _CT), _traffic())
    yield CtScenario("ip6-masquerade-ip-traffic",
                     "table ip6 n {\n    chain post {\n        type nat hook postrouting priority srcnat;"
                     ' policy accept;\n        oifname "wan0" masquerade\n    }\n}\n' + _table("ip", _PLAIN, "u"),
                     _traffic(W6))


SCENARIOS = list(_fam_scenarios())
BACKENDS = ("interp", "codegen", "classifier")


@pytest.fixture(scope="module")
def lab():
    with CtNatLab(nat_host()) as lab:
        yield lab


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_family_scenario(lab, sc, backend, monkeypatch):
    monkeypatch.setattr(ctnat_lab, "Simulator", functools.partial(Simulator, backend=backend))
    res = lab.run(sc)
    assert res.agree, res.report()


_MASQ6 = ("table ip6 n {\n    chain post {\n        type nat hook postrouting priority srcnat;"
          ' policy accept;\n        oifname "wan0" masquerade\n    }\n}\n')


def _sport_masked(frames: dict) -> tuple[dict, set[int]]:
    """IPv6/UDP frames with the source port and the UDP checksum zeroed, and the ports."""
    out, ports = {}, set()
    for k, fl in frames.items():
        new = []
        for f in fl:
            if len(f) >= 62 and f[12:14] == b"\x86\xdd" and f[20] == 17:
                ports.add(int.from_bytes(f[54:56], "big"))
                f = f[:54] + b"\0\0" + f[56:60] + b"\0\0" + f[62:]
            new.append(f)
        out[k] = new
    return out, ports


@pytest.mark.parametrize("backend", BACKENDS)
def test_ip6_masquerade_reply_to_inside_address(lab, backend, monkeypatch):
    """A server answering the masqueraded client's *inside* address (C6, not W6): the
    kernel makes a new entry S6:53 -> C6:5000 whose reply is the client's own original
    tuple; the null binding at postrouting (nf_nat_setup_info, SRC) finds the clash --
    through the reverse lookup of nf_nat_used_tuple_new -- and moves the source port to
    a random one of 1-511 (get_random_u16), and the datagram reaches the client from
    that port.  pkttables picks its port from the simulation's seed: everything but
    the port (and the UDP checksum) must be the kernel's, and the port in 1-511."""
    monkeypatch.setattr(ctnat_lab, "Simulator", functools.partial(Simulator, backend=backend))
    sc = CtScenario("ip6-masquerade-inside-reply", _MASQ6 + _table("ip", _PLAIN, "u"), _traffic())
    res = lab.run(sc)
    kf, kports = _sport_masked(res.kernel_frames)
    of, oports = _sport_masked(res.our_frames)
    assert (3, "lan0") in res.kernel_frames, res.report()
    assert kf == of, res.report()
    assert res.kernel_counters == res.our_counters, res.report()
    moved_k, moved_o = kports - {5000}, oports - {5000}
    assert len(moved_k) == 1 and len(moved_o) == 1 and all(1 <= p <= 511 and p != 53 for p in moved_k | moved_o), \
        (kports, oports)

    def norm(text: str, port: int) -> list[str]:
        return sorted(x.replace(f"dport={port} ", "dport=P ") for x in text.splitlines() if x.strip())
    assert norm(res.kernel_text, moved_k.pop()) == norm(res.our_text, moved_o.pop()), res.report()


@pytest.fixture(scope="module")
def cli_lab():
    host = quiet_host(nat_host())
    lazy = LazyLab(lambda: CtNatLab(nat_host()))
    yield host, lazy
    lazy.close()


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_family_scenario_through_the_cli(cli_lab, sc, tmp_path):
    host, lazy = cli_lab
    kern = ct_observation(lazy, host, sc)
    times = ct_times(sc.traffic)
    run = run_cli(tmp_path, host, sc.ruleset, sc.traffic, times)
    problems = ctnat_disagreements(sc, kern, host, run, times)
    assert not problems, report(sc.name, problems)
