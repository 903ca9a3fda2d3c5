"""Policy cases of the bundled example against the kernel: the packets of a case (its
`after` cases first), sent into a namespace copy of the host with the same ruleset, leave
by the same interfaces, as the same number of frames, as in the simulation that
`pkt test` checks.  The ruleset is the example's minus its named set (named sets are
not bound to the interpreter yet)."""

from collections import Counter
from pathlib import Path

import pytest

from pkttables.testing import kernel as K
from pkttables.testing.policy import case_packets, load_spec, packet_times, run_case

pytestmark = pytest.mark.kernel

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "home-router"
CASES = [
    "the DNS answer comes back to the PC",
    "an HTTP handshake from the LAN",
    "an ICMP error for a masqueraded flow is related and goes back to the PC",
    "an SSH brute force is rate-limited after the burst of 5",
    "the web server's answer leaves with the router's address",
    "the router's own DNS query leaves by the WAN",
]


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    d = tmp_path_factory.mktemp("router")
    text = (EXAMPLE / "ruleset.nft").read_text().replace("\t\tip saddr @blocklist drop\n", "")
    start = text.index("\tset blocklist {")
    (d / "ruleset.nft").write_text(text[:start] + text[text.index("\tchain input {"):])
    (d / "host.toml").write_text((EXAMPLE / "host.toml").read_text())
    (d / "policy.toml").write_text((EXAMPLE / "policy.toml").read_text())
    return load_spec(str(d / "policy.toml"))


@pytest.mark.parametrize("name", CASES)
def test_case_outputs_match_the_kernel(spec, name, monkeypatch):
    monkeypatch.setattr(K, "PREFIX", "pktuser")   # this engineer's namespace prefix
    res = run_case(spec, name)
    assert res.ok, res.render()
    packets, first = case_packets(spec, name)
    times = packet_times(packets)
    inj = [K.Injection(p.iif, p.data, delay=0.0 if i == 0 else (times[i] - times[i - 1]) / 1e9)
           for i, p in enumerate(packets)]
    obs = K.run_kernel(spec.host, open(spec.ruleset_path).read(), inj, conntrack=False)
    theirs = Counter((e.after_injection, e.ifname) for e in obs.emitted
                     if e.after_injection >= first)
    mine = Counter((first + i, e.oif) for i, r in enumerate(res.results) for e in r.emitted)
    assert mine == theirs
    assert sum(theirs.values()) >= 1
