"""The pieces wired into the engine and the replay: flowtables (fast path at netdev
ingress, ``flow add`` breaking the rule when it refuses), named sets across ruleset
generations, the conntrack table in the chain context, interface names in ``--list``,
``--debug=codegen``."""

from __future__ import annotations

import json
import pathlib

from pkttables.capture import LinkType, PcapngWriter, read_capture
from pkttables.cli.main import main
from pkttables.datapath import Simulator
from pkttables.datapath.replay import load_ruleset
from pkttables.stack.host import load_host
from pkttables.testing.hosts import CLASSIC_RULESET, FLOWTABLE_RULESET, tcp_conversation
from pkttables.testing.packets import ether, ipv4, udp

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "home-router"
HOST = str(EXAMPLE / "host.toml")
LAN_MAC, CLI_MAC = "02:00:00:00:00:01", "02:00:00:00:00:10"
CLI, SRV = "192.168.1.10", "93.184.216.34"

FLOW, CLASSIC = FLOWTABLE_RULESET, CLASSIC_RULESET


def write_traffic(path, packets):
    with PcapngWriter(str(path)) as w:
        ids = {}
        for i, (dev, data) in enumerate(packets):
            if dev not in ids:
                ids[dev] = w.add_interface(dev, LinkType.ETHERNET)
            w.write(ids[dev], data, 1_000_000_000_000 + i * 10_000_000)


def simulate(capsys, *argv):
    try:
        rc = main(["simulate", *argv])
    except SystemExit as e:
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


# ------------------------------------------------------------------ flowtables
def test_simulate_with_a_flowtable_emits_the_classic_bytes(tmp_path, capsys):
    traffic = tmp_path / "t.pcapng"
    write_traffic(traffic, tcp_conversation())
    outs = {}
    for name, text in (("flow", FLOW), ("classic", CLASSIC)):
        rules = tmp_path / f"{name}.nft"
        rules.write_text(text)
        out = tmp_path / f"{name}.pcapng"
        js = tmp_path / f"{name}.jsonl"
        rc, _, err = simulate(capsys, "--ruleset", str(rules), "--host", HOST, "--traffic", str(traffic),
                              "--out", str(out), "--json", str(js))
        assert rc == 0, err
        outs[name] = ([(r.ifname, r.data) for r in read_capture(str(out))],
                      [json.loads(ln) for ln in js.read_text().splitlines()])
    frames, results = outs["flow"]
    assert frames == outs["classic"][0] and len(frames) == len(tcp_conversation())
    fast = [r["index"] for r in results if r.get("type") == "packet" and r["reason"]
            and r["reason"].startswith("flowtable inet filter f")]
    # the handshake and the first established packet take the classic path (flow add
    # happens there); data then goes fast, FIN tears the flow down; UDP offloads once
    # its entry is confirmed
    assert fast[:1] == [3] and len(fast) >= 20
    assert 23 not in fast and 24 not in fast
    assert {27, 28} <= set(fast) and 25 not in fast and 26 not in fast
    for r in results:
        if r.get("type") == "packet" and r["index"] in fast:
            assert r["verdict"] == "accept" and r["hooks"] == ["netdev ingress", "netdev egress"]


def test_simulator_flowtable_stats_and_break(tmp_path):
    rules = tmp_path / "flow.nft"
    rules.write_text(FLOW)
    host = load_host(HOST)
    sim = Simulator(host, load_ruleset(str(rules), host), seed=1)
    assert sim.flowtable is not None and sim.ct_table is not None
    res = []
    for i, (dev, frame) in enumerate(tcp_conversation(n_data=4)):
        res += [r for r in sim.process(frame, (1000 + i) * 10**9, dev, i) if hasattr(r, "verdict")]
    st = sim.flowtable.stats
    assert st["offloaded"] == 2 and st["fast"] >= 4 and st["teardown"] >= 1 and st["refused"] >= 2
    # a refused flow add (not established, already offloaded, ...) breaks the rule
    # (NFT_BREAK): the counter after it counts only the two packets that offloaded
    counters = sim.runtime.state.rule_counters()
    fw = [c for (fam, t, ch, _h), c in counters.items() if (fam, t, ch) == ("inet", "filter", "forward")]
    assert fw and fw[0].packets == 2
    # the chains' conntrack hooks use the replay's table (ct helper set, ct count, ct set)
    assert sim.runtime.ctx.conntrack is sim.ct_table
    assert sim.nat_runtime.ctx.conntrack is sim.ct_table


# ------------------------------------------------------------------ sets across generations
SETS = """
table inet f {
	set seen {
		type ipv4_addr
		flags dynamic
	}
	chain fw {
		type filter hook forward priority 0; policy accept;
		update @seen { ip saddr }
	}
}
"""


def test_reload_keeps_dynamic_set_state(tmp_path):
    rules = tmp_path / "s.nft"
    rules.write_text(SETS)
    host = load_host(HOST)
    rs = load_ruleset(str(rules), host)
    sim = Simulator(host, rs, seed=0)
    list(sim.process(ether(LAN_MAC, CLI_MAC, ipv4(CLI, SRV, udp(1, 2, b"a"))), 10**9, "lan0"))
    old = sim.runtime.loaded.named_sets[("inet", "f", "seen")]
    assert old.find(bytes([192, 168, 1, 10])) is not None
    # a new generation with one more chain: the set (same handle) keeps what the
    # packet path added
    from pkttables.commands import run_text
    rs2 = run_text("add chain inet f other\n", rs).ruleset
    sim.load(rs2)
    new = sim.runtime.loaded.named_sets[("inet", "f", "seen")]
    assert new is old and new.find(bytes([192, 168, 1, 10])) is not None
    assert sim.runtime.loaded.chain("inet", "f", "other") is not None


# ------------------------------------------------------------------ interface names
IFN = """
table inet f {
	chain input {
		type filter hook input priority 0; policy accept;
		meta iif lan0 meta nftrace set 1 counter
		meta iif wan0 drop
	}
}
"""


def test_list_and_trace_name_interfaces_as_on_the_host(tmp_path, capsys):
    rules = tmp_path / "ifn.nft"
    rules.write_text(IFN)
    traffic = tmp_path / "t.pcapng"
    write_traffic(traffic, [("lan0", ether(LAN_MAC, CLI_MAC, ipv4(CLI, "192.168.1.1", udp(1, 2, b"a"))))])
    argv = ["--ruleset", str(rules), "--host", HOST, "--traffic", str(traffic)]
    rc, out, err = simulate(capsys, *argv, "--list")
    assert rc == 0, err
    assert '\t\tiif "lan0" meta nftrace set 1 counter packets 1 bytes 29\n' in out
    assert '\t\tiif "wan0" drop\n' in out and "iif 2" not in out
    rc, out, err = simulate(capsys, *argv, "--trace")
    assert rc == 0, err
    assert out.splitlines()[1].endswith(' inet f input rule iif "lan0" meta nftrace set 1 counter packets 0 '
                                        'bytes 0 (verdict continue)')


def test_ifnames_of_host():
    from pkttables.datapath.replay import ifnames_of
    assert ifnames_of(load_host(HOST)) == ((1, "lo"), (2, "lan0"), (3, "wan0"))


# ------------------------------------------------------------------ --debug=codegen
def test_debug_codegen_prints_the_generated_source(tmp_path, capsys):
    from pkttables.backends.codegen import CompiledRuleset
    from pkttables.vm.chain import LoadedRuleset

    rules = tmp_path / "ifn.nft"
    rules.write_text(IFN)
    traffic = tmp_path / "t.pcapng"
    write_traffic(traffic, [("lan0", ether(LAN_MAC, CLI_MAC, ipv4(CLI, "192.168.1.1", udp(1, 2, b"a"))))])
    argv = ["--ruleset", str(rules), "--host", HOST, "--traffic", str(traffic)]
    rc, out, err = simulate(capsys, *argv, "--debug=codegen", "--list")
    assert rc == 0, err
    host = load_host(HOST)
    src = CompiledRuleset(LoadedRuleset(load_ruleset(str(rules), host))).source()
    assert src and out.startswith(src) and "def " in src
    assert out[len(src):].startswith("table inet f {")          # then the run goes on
    rc, out, err = simulate(capsys, *argv, "--debug=bogus")
    assert rc == 1 and "unknown level 'bogus'" in err
