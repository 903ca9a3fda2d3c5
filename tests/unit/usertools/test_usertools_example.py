"""The bundled example (examples/home-router): the capture is what make_traffic.py writes,
its traffic makes sense for the ruleset, and policy.toml passes."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pkttables.datapath import PacketResult, Simulator, load_ruleset
from pkttables.stack import load_host
from pkttables.testing.policy import load_spec, run_spec

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "home-router"


def without_blocklist(tmp_path) -> Path:
    text = (EXAMPLE / "ruleset.nft").read_text().replace("\t\tip saddr @blocklist drop\n", "")
    start = text.index("\tset blocklist {")
    text = text[:start] + text[text.index("\tchain input {"):]
    assert "@blocklist" not in text and "set blocklist" not in text
    (tmp_path / "ruleset.nft").write_text(text)
    (tmp_path / "host.toml").write_text((EXAMPLE / "host.toml").read_text())
    (tmp_path / "policy.toml").write_text((EXAMPLE / "policy.toml").read_text())
    return tmp_path


def test_capture_is_what_make_traffic_writes(tmp_path):
    out = tmp_path / "t.pcapng"
    r = subprocess.run([sys.executable, str(EXAMPLE / "make_traffic.py"), str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == (EXAMPLE / "traffic.pcapng").read_bytes()


def test_traffic_makes_sense_for_the_ruleset(tmp_path):
    d = without_blocklist(tmp_path)
    sim = Simulator(load_host(str(d / "host.toml")), load_ruleset(str(d / "ruleset.nft")), seed=0)
    res = [r for r in sim.replay(str(EXAMPLE / "traffic.pcapng")) if isinstance(r, PacketResult)]
    assert len(res) == 78
    # The conversations (DNS, HTTP, HTTPS/IPv6, FTP control + data, pings, the ICMP error)
    # all pass; every answer from the internet to the masqueraded address reaches the PC.
    talk = res[:54]
    assert [r.index for r in talk if r.verdict not in ("accept", "local")] == []
    back = [r for r in talk if r.iif == "wan0" and r.flow.family == 4 and r.verdict == "accept"]
    assert back and all(r.nat is not None and r.emitted[0].oif == "lan0" for r in back)
    assert {r.ct.state for r in back} <= {"established", "related"}
    assert res[53].ct.state == "related"                                   # the port unreachable
    # The scan: 80/443 forwarded to the web server, SSH reaches the router, the rest dropped.
    scan = {r.flow.dport: r.verdict for r in res[54:66] if r.iif == "wan0" and r.flow.sport == 61000
            and r.flow.dport != 61000 and (r.ct is None or r.ct.state == "new")}
    assert scan == {21: "drop", 22: "local", 23: "drop", 25: "drop", 80: "accept", 443: "accept",
                    3389: "drop", 8080: "drop"}
    # The brute force: the limit's burst of 5 is shared with the scanner's SSH SYN.
    assert [r.verdict for r in res[66:73]] == ["local"] * 4 + ["drop"] * 3
    assert Counter(r.verdict for r in res) == Counter({"accept": 60, "local": 8, "drop": 10})


def test_policy_without_the_blocklist_fails_only_the_blocklist_cases(tmp_path):
    d = without_blocklist(tmp_path)
    report = run_spec(load_spec(str(d / "policy.toml")))
    failed = sorted(r.case.name for r in report.results if not r.ok)
    assert failed == ["a blocklisted host is dropped at the forwarded port too",
                      "a host of a blocklisted network is dropped"], report.render(verbose=False)
    assert report.passed == len(report.results) - 2


def test_example_policy_passes():
    report = run_spec(load_spec(str(EXAMPLE / "policy.toml")))
    errors = [r.error for r in report.results if r.error]
    if errors and all("no set 'blocklist'" in e for e in errors):
        pytest.xfail("named sets are not bound to the interpreter yet (sets/): " + errors[0])
    assert report.ok, report.render(verbose=False)
