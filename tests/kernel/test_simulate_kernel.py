"""`pkt simulate` against the kernel: the same host and traffic, an empty ruleset and a
filter ruleset the interpreter runs (ct state, tcp/udp ports, iifname, policies; no
named sets, no NAT yet), through `run_kernel` and through `pkt simulate --json --out`.  Per input packet and interface
the emitted frames must be equal byte for byte after `mask_random`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pkttables.capture import LinkType, PcapngWriter, read_capture
from pkttables.cli.main import main
from pkttables.stack.engine import mask_random
from pkttables.stack.host import load_host
from pkttables.testing.kernel import Injection, run_kernel
from pkttables.testing.packets import TCP_ACK, TCP_SYN, ether, icmp_echo, ipv4, ipv6, tcp, udp

pytestmark = pytest.mark.kernel

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "home-router"
LAN, PC = "02:00:00:00:00:01", "02:00:00:00:00:10"
STEP_NS = 20_000_000


def simulate(tmp_path: Path, host_file: Path, traffic: Path) -> tuple[list[dict], list]:
    rules = tmp_path / "empty.nft"
    rules.write_text("flush ruleset\n")
    out, js = tmp_path / "out.pcapng", tmp_path / "outcomes.jsonl"
    rc = main(["simulate", "--ruleset", str(rules), "--host", str(host_file), "--traffic", str(traffic),
               "--json", str(js), "--out", str(out)])
    assert rc == 0
    lines = [json.loads(x) for x in js.read_text().splitlines()]
    assert lines[0]["type"] == "header" and lines[0]["schema"] == 1
    return lines, list(read_capture(str(out)))


def compare(host, lines, frames, obs, mask=mask_random) -> list:
    local = {a.ip.packed for i in host.interfaces.values() for a in i.addresses}
    by_index = {}
    for line in lines:
        if line["type"] != "packet":
            continue
        for e in line["emitted"]:
            by_index[e["index"]] = (line["index"], e["oif"])
    assert len(by_index) == len(frames)
    mine: dict[tuple[int, str], list[bytes]] = {}
    for k, rec in enumerate(frames):
        pkt, oif = by_index[k]
        assert rec.ifname == oif
        mine.setdefault((pkt, oif), []).append(mask(rec.data, local))
    theirs: dict[tuple[int, str], list[bytes]] = {}
    for e in obs.emitted:
        theirs.setdefault((e.after_injection, e.ifname), []).append(mask(e.frame, local))
    problems = []
    for key in sorted(set(mine) | set(theirs)):
        if mine.get(key, []) != theirs.get(key, []):
            problems.append((key, [f.hex() for f in theirs.get(key, [])], [f.hex() for f in mine.get(key, [])]))
    return problems


def injections(traffic: Path) -> list[Injection]:
    recs = list(read_capture(str(traffic)))
    out = []
    for i, r in enumerate(recs):
        delay = 0.0 if i == 0 else (r.ts_ns - recs[i - 1].ts_ns) / 1e9
        out.append(Injection(r.ifname, r.data, delay=delay))
    return out


def test_home_router_example_matches_the_kernel(tmp_path):
    host_file, traffic = EXAMPLE / "host.toml", EXAMPLE / "traffic.pcapng"
    host = load_host(str(host_file))
    lines, frames = simulate(tmp_path, host_file, traffic)
    obs = run_kernel(load_host(str(host_file)), "", injections(traffic), conntrack=False)
    assert obs.emitted, "the kernel sent nothing"
    assert len(frames) >= 15
    assert compare(host, lines, frames, obs) == []


def test_forwarding_errors_and_raw_sends_match_the_kernel(tmp_path):
    frames = [
        ("lan0", ether(LAN, PC, ipv4("192.168.1.10", "8.8.8.8", udp(4000, 53, b"q" * 20)))),
        ("lan0", ether(LAN, PC, ipv4("192.168.1.10", "8.8.8.8", udp(4001, 53, b"t"), ttl=1))),
        ("lan0", ether(LAN, PC, ipv4("192.168.1.10", "192.168.1.1", tcp(4002, 22, TCP_ACK, seq=9, ack=77)))),
        ("lan0", ether(LAN, PC, ipv6("fd00:1::10", "fd00:1::1", icmp_echo(3, 4, b"six", v6=True)))),
        ("lan0", ether(LAN, PC, ipv6("fd00:1::10", "2001:db8:5::5", tcp(4003, 443, TCP_SYN), hlim=1))),
        ("wan0", ether("02:00:00:00:01:01", "02:00:00:00:01:fe", ipv4("198.51.100.1", "192.168.1.10", udp(9, 9, b"in")))),
        ("local", ipv4("192.168.1.1", "192.168.1.10", udp(7, 7, b"from the host"), df=False, ident=0)),
    ]
    traffic = tmp_path / "t.pcapng"
    with PcapngWriter(str(traffic)) as w:
        ids = {}
        for i, (dev, data) in enumerate(frames):
            if dev not in ids:
                ids[dev] = w.add_interface(dev, LinkType.RAW if dev == "local" else LinkType.ETHERNET)
            w.write(ids[dev], data, 1_700_000_000 * 10**9 + i * STEP_NS)
    host_file = EXAMPLE / "host.toml"
    host = load_host(str(host_file))
    lines, out = simulate(tmp_path, host_file, traffic)
    verdicts = [x["verdict"] for x in lines if x["type"] == "packet"]
    assert verdicts == ["accept", "drop", "local", "local", "drop", "accept", "accept"]
    obs = run_kernel(load_host(str(host_file)), "", injections(traffic), conntrack=False)
    assert len(obs.emitted) >= 6 and len(out) == len(obs.emitted)
    assert compare(host, lines, out, obs) == []


FILTER = """flush ruleset
table inet f {
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		tcp dport 22 accept
		meta l4proto icmp accept
	}
	chain forward {
		type filter hook forward priority 0; policy accept;
		iifname "wan0" tcp dport 23 drop
		udp dport 9999 drop
	}
}
"""


def test_filter_ruleset_through_the_interpreter_matches_the_kernel(tmp_path):
    """The chain runner (vm ChainRuntime) with conntrack: what the kernel emits with the
    same filter ruleset -- resets only for port 22, echo replies, forwarded traffic but
    the dropped ports."""
    wan = ("02:00:00:00:01:01", "02:00:00:00:01:fe")
    frames = [
        ("lan0", ether(LAN, PC, ipv4("192.168.1.10", "192.168.1.1", tcp(4000, 22, TCP_SYN)))),
        ("lan0", ether(LAN, PC, ipv4("192.168.1.10", "192.168.1.1", tcp(4001, 23, TCP_SYN)))),
        ("lan0", ether(LAN, PC, ipv4("192.168.1.10", "192.168.1.1", udp(4002, 9, b"closed")))),
        ("lan0", ether(LAN, PC, ipv4("192.168.1.10", "192.168.1.1", icmp_echo(5, 1, b"ping")))),
        ("lan0", ether(LAN, PC, ipv4("192.168.1.10", "8.8.8.8", udp(4003, 9999, b"no")))),
        ("lan0", ether(LAN, PC, ipv4("192.168.1.10", "8.8.8.8", udp(4004, 53, b"yes")))),
        ("wan0", ether(*wan, ipv4("198.51.100.1", "192.168.1.10", tcp(4005, 23, TCP_SYN)))),
        ("wan0", ether(*wan, ipv4("198.51.100.1", "192.168.1.10", tcp(4006, 24, TCP_SYN)))),
    ]
    traffic = tmp_path / "t.pcapng"
    with PcapngWriter(str(traffic)) as w:
        ids = {}
        for i, (dev, data) in enumerate(frames):
            if dev not in ids:
                ids[dev] = w.add_interface(dev, LinkType.ETHERNET)
            w.write(ids[dev], data, 1_700_000_000 * 10**9 + i * STEP_NS)
    rules = tmp_path / "filter.nft"
    rules.write_text(FILTER)
    host_file = EXAMPLE / "host.toml"
    out, js = tmp_path / "out.pcapng", tmp_path / "o.jsonl"
    assert main(["simulate", "--ruleset", str(rules), "--host", str(host_file), "--traffic", str(traffic),
                 "--json", str(js), "--out", str(out)]) == 0
    lines = [json.loads(x) for x in js.read_text().splitlines()]
    pk = [x for x in lines if x["type"] == "packet"]
    assert [x["verdict"] for x in pk] == ["local", "drop", "drop", "local", "drop", "accept", "drop", "accept"]
    assert pk[0]["rule"]["text"] == "tcp dport 22 accept"
    assert pk[1]["policy"]["chain"] == "input"
    assert pk[6]["rule"]["text"] == 'iifname "wan0" tcp dport 23 drop'
    obs = run_kernel(load_host(str(host_file)), FILTER, injections(traffic), conntrack=False)
    frames_out = list(read_capture(str(out)))
    assert len(obs.emitted) == len(frames_out) == 4
    assert compare(load_host(str(host_file)), lines, frames_out, obs) == []


def _nat_mask(frame: bytes, local) -> bytes:
    """mask_random, plus the IPv4 ID and header checksum of every non-DF IPv4 packet: NAT
    gives the host's ICMP errors a source that is not the host's (as test_nat_kernel)."""
    f = bytearray(mask_random(frame, local))
    if len(f) >= 34 and f[12:14] == b"\x08\x00" and not f[20] & 0x40:
        f[18:20] = f[24:26] = b"\0\0"
    return bytes(f)


def test_home_router_ruleset_without_its_set_matches_the_kernel(tmp_path):
    """The example's ruleset minus the blocklist set (named sets are not bound to the
    interpreter yet): stateful filter, masquerade, the port forward, rate-limited SSH."""
    text = (EXAMPLE / "ruleset.nft").read_text()
    text = text.replace("\t\tip saddr @blocklist drop\n", "")
    start = text.index("\tset blocklist {")
    text = text[:start] + text[text.index("\tchain input {"):]
    assert "@blocklist" not in text and "set blocklist" not in text
    rules = tmp_path / "router.nft"
    rules.write_text(text)
    traffic = EXAMPLE / "traffic.pcapng"
    host_file = EXAMPLE / "host.toml"
    out, js = tmp_path / "out.pcapng", tmp_path / "o.jsonl"
    assert main(["simulate", "--ruleset", str(rules), "--host", str(host_file), "--traffic", str(traffic),
                 "--json", str(js), "--out", str(out)]) == 0
    lines = [json.loads(x) for x in js.read_text().splitlines()]
    assert lines[0]["warnings"] == []
    pk = [x for x in lines if x["type"] == "packet"]
    assert pk[0]["nat"]["after"]["src"] == "203.0.113.2"            # masqueraded DNS query
    assert pk[1]["nat"]["after"]["dst"] == "192.168.1.10"           # and its answer
    obs = run_kernel(load_host(str(host_file)), text, injections(traffic), conntrack=False)
    frames_out = list(read_capture(str(out)))
    assert len(frames_out) == len(obs.emitted) >= 10
    assert compare(load_host(str(host_file)), lines, frames_out, obs, _nat_mask) == []


COUNTERS = """flush ruleset
table inet f {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 22 counter accept
		counter
		meta l4proto icmp counter drop
	}
	chain forward {
		type filter hook forward priority 0; policy accept;
		counter
	}
}
"""


def test_list_counters_equal_the_kernels(tmp_path, capsys):
    rules = tmp_path / "c.nft"
    rules.write_text(COUNTERS)
    traffic, host_file = EXAMPLE / "traffic.pcapng", EXAMPLE / "host.toml"
    assert main(["simulate", "--ruleset", str(rules), "--host", str(host_file), "--traffic", str(traffic),
                 "--list"]) == 0
    listing = capsys.readouterr().out
    obs = run_kernel(load_host(str(host_file)), COUNTERS, injections(traffic), conntrack=False)
    assert obs.counters, "the kernel reported no counters"
    mine = {}
    chain = None
    for line in listing.splitlines():
        if line.startswith("\tchain "):
            chain = line.split()[1]
        if "counter packets" in line:
            words = line.split()
            i = words.index("packets")
            mine.setdefault(chain, []).append((int(words[i + 1]), int(words[i + 3])))
    theirs = {}
    for (fam, table, ch, handle), c in sorted(obs.counters.items()):
        theirs.setdefault(ch, []).append((c.packets, c.bytes))
    assert mine == theirs
    assert any(p for rows in mine.values() for p, _ in rows)
