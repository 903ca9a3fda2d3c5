"""Issue 7: every hand-written differential scenario through the real command line.

The scenarios of test_diff_handwritten.py (R over the router host, B over the bridge
host) run once on the kernel (one DiffLab per host, reused: ``DiffLab.kernel``) and once
through ``pkt simulate --ruleset R --host H --traffic T --json J --out O --list`` with the
scenario's host written as a host file (``differential.host_toml``) and its traffic as a
pcapng (``differential.write_traffic``).  Compared, as ``differential.compare`` does:

* the ``--out`` frames per (input packet, output interface), in order, matched to their
  packet through the ``--json`` lines' ``emitted[].index``, after ``_untag`` and
  ``mask_random`` on both sides;
* the ``send_error`` of each local packet (``--json``) with the kernel's;
* every rule's anonymous counters in the ``--list`` output, by (family, table, chain,
  rule position), with the kernel's ``nft -j list ruleset`` counters.

Disagreements that are real bugs are listed in XFAIL (strict) with the reason."""

from __future__ import annotations

import json
import re

import pytest

from diff_traffic import bridge_traffic, router_traffic
from lab_hosts import bridge_host, two_interface_host
from pkttables.capture import read_capture
from pkttables.cli.main import main
from pkttables.stack.engine import mask_random
from pkttables.testing._readback import rule_counter_list
from pkttables.testing.differential import (DiffLab, Scenario, _positions_kernel, _untag, host_toml,
                                            quiet_host, write_traffic)
from test_diff_handwritten import B, R

pytestmark = pytest.mark.kernel

# name -> reason: scenarios whose `pkt simulate` output disagrees with the kernel
XFAIL: dict[str, str] = {}


@pytest.fixture(scope="module")
def router_lab():
    with DiffLab(quiet_host(two_interface_host())) as lab:
        yield lab


@pytest.fixture(scope="module")
def bridge_lab():
    with DiffLab(quiet_host(bridge_host())) as lab:
        yield lab


_COUNTER = re.compile(r"\bcounter packets (\d+) bytes (\d+)")


def listing_counters(text: str) -> dict[tuple, list[tuple[int, int]]]:
    """(family, table, chain, rule position) -> the rule's anonymous counters, from an
    ``nft list ruleset``-style text (tables and chains one tab deeper each, rules two)."""
    out: dict[tuple, list[tuple[int, int]]] = {}
    table = chain = None
    pos = 0
    for line in text.splitlines():
        if line.startswith("table "):
            table, chain = tuple(line.split()[1:3]), None
        elif line.startswith("\tchain ") and table:
            chain, pos = line.split()[1], 0
        elif line.startswith("\t}"):
            chain = None
        elif chain and line.startswith("\t\t") and not line.startswith("\t\t\t"):
            body = line.strip()
            if body.startswith(("type ", "policy ", "comment ", "devices ")):
                continue
            counts = [(int(p), int(b)) for p, b in _COUNTER.findall(body)]
            if counts:
                out[table + (chain, pos)] = counts
            pos += 1
    return out


def kernel_counters(ruleset_json: dict) -> dict[tuple, list[tuple[int, int]]]:
    kpos = _positions_kernel(ruleset_json)
    return {k[:3] + (kpos[k][0],): [(c.packets, c.bytes) for c in v]
            for k, v in rule_counter_list(ruleset_json).items()}


def simulate(tmp_path, sc: Scenario, capsys) -> tuple[list[dict], list, str]:
    rules, host, traffic = tmp_path / "r.nft", tmp_path / "host.toml", tmp_path / "t.pcapng"
    js, out = tmp_path / "o.jsonl", tmp_path / "out.pcapng"
    rules.write_text(sc.ruleset)
    host.write_text(host_toml(sc.host))
    write_traffic(traffic, sc.traffic)
    capsys.readouterr()
    rc = main(["simulate", "--ruleset", str(rules), "--host", str(host), "--traffic", str(traffic),
               "--json", str(js), "--out", str(out), "--list"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    lines = [json.loads(x) for x in js.read_text().splitlines()]
    assert lines[0]["type"] == "header" and lines[-1]["type"] == "end"
    frames = list(read_capture(str(out))) if out.exists() else []
    return lines, frames, captured.out


def disagreements(sc: Scenario, obs, per, lines, frames, listing) -> list[str]:
    host = sc.host
    local = {a.ip.packed for i in host.interfaces.values() for a in i.addresses}
    for b in host.bridges.values():
        local |= {a.ip.packed for a in b.addresses}
    problems = []
    packets = [x for x in lines if x["type"] == "packet"]
    if len(packets) != len(sc.traffic):
        problems.append(f"{len(packets)} packet lines for {len(sc.traffic)} injections")
    owner = {}
    for x in lines:
        if x["type"] not in ("packet", "timer"):
            continue
        for e in x["emitted"]:
            owner[e["index"]] = (x["index"] if x["type"] == "packet" else None, e["oif"])
    if len(owner) != len(frames):
        problems.append(f"--json names {len(owner)} emitted frames, --out holds {len(frames)}")
    mine: dict[tuple, list[bytes]] = {}
    for k, rec in enumerate(frames):
        pkt, oif = owner.get(k, (None, rec.ifname))
        if rec.ifname != oif:
            problems.append(f"--out frame {k} on {rec.ifname}, --json says {oif}")
        mine.setdefault((pkt, oif), []).append(mask_random(_untag(rec.data), local))
    theirs: dict[tuple, list[bytes]] = {}
    for i, es in enumerate(per):
        for e in es:
            theirs.setdefault((i, e.ifname), []).append(mask_random(_untag(e.frame), local))
    for key in sorted(set(mine) | set(theirs), key=repr):
        a, b = theirs.get(key, []), mine.get(key, [])
        if a != b:
            problems.append(f"packet {key[0]} on {key[1]}: kernel {[f.hex() for f in a]}\n"
                            f"    simulate {[f.hex() for f in b]}")
    for i, (inj, p) in enumerate(zip(sc.traffic, packets)):
        if inj.ifname == "local":
            k_err = obs.send_errors[i] if i < len(obs.send_errors) else None
            if k_err != p.get("send_error"):
                problems.append(f"packet {i}: send error kernel {k_err}, simulate {p.get('send_error')}")
    kc, oc = kernel_counters(obs.ruleset_json), listing_counters(listing)
    for key in sorted(set(kc) | set(oc), key=repr):
        if kc.get(key) != oc.get(key):
            problems.append(f"counters of rule {key}: kernel {kc.get(key)}, simulate {oc.get(key)}")
    return problems


def _params(d):
    return [pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=XFAIL[k])) if k in XFAIL else k
            for k in d]


def _run(lab, sc, tmp_path, capsys):
    obs, per = lab.kernel(sc)
    lines, frames, listing = simulate(tmp_path, sc, capsys)
    problems = disagreements(sc, obs, per, lines, frames, listing)
    assert not problems, f"{sc.name}:\n  " + "\n  ".join(problems)
    return obs


@pytest.mark.parametrize("name", _params(R))
def test_router_scenario_through_the_cli(router_lab, name, tmp_path, capsys):
    obs = _run(router_lab, Scenario(router_lab.host, R[name], router_traffic(), name=name), tmp_path, capsys)
    assert obs.counters or "counter" not in R[name]


@pytest.mark.parametrize("name", _params(B))
def test_bridge_scenario_through_the_cli(bridge_lab, name, tmp_path, capsys):
    _run(bridge_lab, Scenario(bridge_lab.host, B[name], bridge_traffic(), name=name), tmp_path, capsys)


def test_listing_counters_reads_positions():
    text = ("table inet t {\n\tchain c {\n\t\ttype filter hook input priority filter; policy accept;\n"
            "\t\ttcp dport 22 counter packets 3 bytes 180\n\t\tudp dport 53 accept\n"
            "\t\tcounter packets 1 bytes 60 counter packets 2 bytes 9\n\t}\n}\n")
    assert listing_counters(text) == {("inet", "t", "c", 0): [(3, 180)],
                                      ("inet", "t", "c", 2): [(1, 60), (2, 9)]}
