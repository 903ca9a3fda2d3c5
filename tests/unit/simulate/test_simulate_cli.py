"""`pkt simulate`: every option, the summary, the files it writes, and its errors
(one message naming what and where, exit status 1, no traceback)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from pkttables.capture import LinkType, PcapngWriter, PcapWriter, read_capture
from pkttables.cli import simulate as cli_sim
from pkttables.cli.main import main
from pkttables.datapath import replay
from pkttables.testing.packets import TCP_SYN, ether, icmp_echo, ipv4, tcp, udp

from test_simulate_replay import LAN, PC, ROUTER, T0, FakeRuntime

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "home-router"


def frames():
    return [
        ("lan0", ether(LAN, PC, ipv4("192.168.1.10", "9.9.9.9", udp(4000, 53, b"q")))),
        ("lan0", ether(LAN, PC, ipv4("192.168.1.10", "192.168.1.1", tcp(5, 22, TCP_SYN)))),
        ("lan0", ether(LAN, PC, ipv4("192.168.1.10", "192.168.1.1", udp(5, 9, b"x")))),
        ("wan0", ether("02:00:00:00:01:01", "02:00:00:00:01:fe", ipv4("198.51.100.1", "203.0.113.2", icmp_echo(1, 1)))),
        ("local", ipv4("192.168.1.1", "192.168.1.10", udp(7, 7, b"hi"))),
    ]


@pytest.fixture
def files(tmp_path):
    host = tmp_path / "host.toml"
    host.write_text(ROUTER)
    empty = tmp_path / "empty.nft"
    empty.write_text("flush ruleset\n")
    traffic = tmp_path / "t.pcapng"
    with PcapngWriter(str(traffic)) as w:
        ids = {}
        for i, (dev, data) in enumerate(frames()):
            if dev not in ids:
                ids[dev] = w.add_interface(dev, LinkType.RAW if dev == "local" else LinkType.ETHERNET)
            w.write(ids[dev], data, T0 + i * 1_000_000)
    return {"dir": tmp_path, "host": str(host), "rules": str(empty), "traffic": str(traffic)}


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        rc = main(["simulate", *argv])
    except SystemExit as e:      # argparse usage errors (exit status 1, as `pkt decode`)
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def base(f, *more):
    return ["--ruleset", f["rules"], "--host", f["host"], "--traffic", f["traffic"], *more]


def test_summary_tables(files, capsys):
    rc, out, err = run(capsys, *base(files))
    assert rc == 0, err
    assert out.startswith("5 packets over 0.004 s, 5 emitted, conntrack off, ruleset without base chains")
    assert "Packets by verdict" in out and "Emitted" in out
    lines = {ln.split("│")[1].strip(): ln.split("│")[2].strip() for ln in out.splitlines()
             if ln.count("│") >= 3 and ln.split("│")[1].strip() in ("local", "accept")}
    assert lines == {"local": "3", "accept": "2"}
    assert err == ""


def test_json_outcomes_and_out_pcapng_agree(files, capsys):
    js, pc = files["dir"] / "o.jsonl", files["dir"] / "o.pcapng"
    rc, out, err = run(capsys, *base(files, "--json", str(js), "--out", str(pc)))
    assert rc == 0, err
    lines = [json.loads(x) for x in js.read_text().splitlines()]
    assert lines[0] == {"type": "header", "schema": 1, "format": "pkttables-outcomes", "ruleset": files["rules"],
                        "host": files["host"], "traffic": files["traffic"], "seed": 0, "backend": "interp",
                        "conntrack": False, "warnings": []}
    assert lines[-1]["type"] == "end" and lines[-1]["packets"] == 5 and lines[-1]["emitted"] == 5
    pkts = [x for x in lines if x["type"] == "packet"]
    assert [p["index"] for p in pkts] == [0, 1, 2, 3, 4]
    assert [p["verdict"] for p in pkts] == ["accept", "local", "local", "local", "accept"]
    assert pkts[0]["time_ns"] == T0 and pkts[1]["time"] == pytest.approx((T0 + 1_000_000) / 1e9)
    for p in pkts:
        assert set(p) >= {"index", "time", "iif", "verdict", "rule", "policy", "hooks", "nat", "ct", "emitted", "events"}
    recs = list(read_capture(str(pc)))
    emitted = [(e["index"], e["oif"], e["len"], p["time_ns"]) for p in pkts for e in p["emitted"]]
    assert [(r.index, r.ifname, len(r.data), r.ts_ns) for r in recs] == emitted
    assert {r.ifname for r in recs} == {"wan0", "lan0"} and all(r.direction == "out" for r in recs)
    assert [e["kind"] for p in pkts for e in p["emitted"]] == ["packet", "tcp-reset", "icmp-3-3",
                                                               "icmp-echo-reply", "packet"]


def test_json_to_stdout_replaces_the_summary(files, capsys):
    rc, out, err = run(capsys, *base(files, "--json", "-"))
    assert rc == 0
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r["type"] for r in rows] == ["header"] + ["packet"] * 5 + ["end"]


def test_conntrack_option_prints_the_table(files, capsys):
    rules = files["dir"] / "ct.nft"
    rules.write_text("table ip t {\n\tchain c {\n\t\tct state new counter\n\t}\n}\n")
    rc, out, err = run(capsys, "--ruleset", str(rules), "--host", files["host"], "--traffic", files["traffic"],
                       "--conntrack")
    assert rc == 0, err
    rows = out.splitlines()
    # 30 s UDP timeout, listed 4 ms after the packet: 29 (conntrack -L floors)
    assert rows[0].startswith("udp      17 29 src=192.168.1.10 dst=9.9.9.9 sport=4000 dport=53 [UNREPLIED]")
    assert any(r.startswith("icmp     1 29 src=198.51.100.1 dst=203.0.113.2 type=8 code=0 id=1 ") for r in rows)
    assert not any(r.startswith("tcp") for r in rows)     # reset by the host: destroyed
    assert err.endswith(f"conntrack v1.4.7 (conntrack-tools): {len(rows)} flow entries have been shown.\n")
    assert "Packets by verdict" not in out


def test_conntrack_option_says_when_tracking_was_off(files, capsys):
    rc, out, err = run(capsys, *base(files, "--conntrack"))
    assert rc == 0 and out == ""
    assert "was not active" in err and "0 flow entries" in err


def test_list_prints_the_ruleset(files, capsys):
    rules = files["dir"] / "l.nft"
    rules.write_text("table ip t {\n\tchain c {\n\t\ttcp dport 22 counter\n\t}\n}\n")
    rc, out, err = run(capsys, "--ruleset", str(rules), "--host", files["host"], "--traffic", files["traffic"], "--list")
    assert rc == 0, err
    assert out == "table ip t {\n\tchain c {\n\t\ttcp dport 22 counter packets 0 bytes 0\n\t}\n}\n"


def test_trace_rule_hits_and_warnings_through_a_backend(files, capsys, monkeypatch):
    monkeypatch.setitem(replay.BACKENDS, "fake", lambda rs, host, *, seed: FakeRuntime())
    rules = files["dir"] / "f.nft"
    rules.write_text("table inet fw {\n\tchain input {\n\t\ttype filter hook input priority 0;\n\t}\n}\n")
    argv = ["--ruleset", str(rules), "--host", files["host"], "--traffic", files["traffic"], "--backend", "fake"]
    rc, out, err = run(capsys, *argv, "--trace")
    assert rc == 0, err
    assert out.splitlines() == ["trace id 0000abcd inet fw input rule tcp dport 22 drop (verdict drop)"] * 3
    rc, out, err = run(capsys, *argv)
    assert "Deciding rules and policies" in out and "Top dropped flows" in out
    assert "tcp 192.168.1.10:5 -> 192.168.1.1:22" in out
    assert "NAT translations" in out and "udp 203.0.113.2:4000 -> 9.9.9.9:53" in out
    rc, out, err = run(capsys, *argv, "--list")
    assert "the backend does not export its counters" in err


def test_pcap_needs_iif(files, capsys):
    pcap = files["dir"] / "t.pcap"
    with PcapWriter(str(pcap), LinkType.ETHERNET) as w:
        w.write(frames()[0][1], T0)
    rc, out, err = run(capsys, "--ruleset", files["rules"], "--host", files["host"], "--traffic", str(pcap))
    assert rc == 1 and "packet 0: the capture names no interface: give --iif NAME" in err
    rc, out, err = run(capsys, "--ruleset", files["rules"], "--host", files["host"], "--traffic", str(pcap),
                       "--iif", "lan0", "--json", "-")
    assert rc == 0 and json.loads(out.splitlines()[1])["iif"] == "lan0"


def test_single_interface_host_by_default(files, capsys):
    rc, out, err = run(capsys, "--ruleset", files["rules"], "--traffic", files["traffic"])
    assert rc == 1 and "interface 'lan0' is not in the host (known: eth0, local)" in err


@pytest.mark.parametrize("argv, message", [
    (["--ruleset", "{rules}", "--traffic", "{dir}/none.pcapng"], "--traffic: cannot read '{dir}/none.pcapng'"),
    (["--ruleset", "{dir}/none.nft", "--traffic", "{traffic}"], 'Could not open file "{dir}/none.nft"'),
    (["--ruleset", "{bad}", "--traffic", "{traffic}"], "{bad}:2:"),
    (["--ruleset", "{rules}", "--host", "{badhost}", "--traffic", "{traffic}"], "{badhost}"),
    (["--ruleset", "{rules}", "--host", "{host}", "--traffic", "{corrupt}"], "{corrupt}: at byte offset"),
    (["--ruleset", "{rules}", "--host", "{host}", "--traffic", "{traffic}", "--out", "{dir}/no/such/o.pcapng"],
     "cannot write '{dir}/no/such/o.pcapng'"),
    (["--ruleset", "{rules}", "--host", "{host}", "--traffic", "{traffic}", "--iif", "eth7"],
     "--iif: no interface 'eth7' in the host"),
    (["--ruleset", "{rules}", "--traffic", "{traffic}", "--backend", "jit"], "--backend: unknown backend 'jit'"),
    (["--ruleset", "{rules}", "--traffic", "{traffic}", "--seed", "x"], "argument --seed: invalid int value"),
    (["--traffic", "{traffic}"], "the following arguments are required: --ruleset"),
])
def test_errors_name_what_and_where(files, capsys, argv, message):
    d = files["dir"]
    (d / "bad.nft").write_text("table ip t {\n\tchain c { bogus }\n}\n")
    (d / "bad.toml").write_text("[[interface]]\nname = 7\n")
    good = Path(files["traffic"]).read_bytes()
    (d / "corrupt.pcapng").write_bytes(good[:-7])
    subst = {**files, "bad": str(d / "bad.nft"), "badhost": str(d / "bad.toml"), "corrupt": str(d / "corrupt.pcapng")}
    argv = [a.format(**subst) for a in argv]
    rc, out, err = run(capsys, *argv)
    assert rc == 1
    assert message.format(**subst) in err
    assert "Traceback" not in err


def test_base_chains_without_a_runner_name_the_ruleset(files, capsys, monkeypatch):
    def unavailable(rs, host, *, seed):
        raise replay.RunnerUnavailable("the chain runner has not landed")
    monkeypatch.setitem(replay.BACKENDS, "interp", unavailable)
    rules = files["dir"] / "b.nft"
    rules.write_text("table ip t {\n\tchain c {\n\t\ttype filter hook input priority 0;\n\t}\n}\n")
    rc, out, err = run(capsys, "--ruleset", str(rules), "--host", files["host"], "--traffic", files["traffic"])
    assert rc == 1 and err == f"Error: {rules}: the chain runner has not landed\n"


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_after_a_second_and_on_a_terminal():
    clock = [100.0]

    def now():
        return clock[0]
    quiet = io.StringIO()
    p = cli_sim._Progress(1000, False, quiet, now)
    clock[0] += 5
    p(10, 500)
    p.close()
    assert quiet.getvalue() == "" and p.bar is None
    tty = _Tty()
    p = cli_sim._Progress(1000, False, tty, now)
    p(1, 10)
    assert p.bar is None                # not yet a second
    clock[0] += 1.5
    p(2048, 600)
    assert p.bar is not None
    assert p.bar.tasks[0].completed == 600 and p.bar.tasks[0].fields["packets"] == 2048
    p.close()
    forced = io.StringIO()
    p = cli_sim._Progress(1000, True, forced, now)
    clock[0] += 2
    p(5, 1000)
    assert p.bar is not None
    p.close()


def test_home_router_example_with_an_empty_ruleset(capsys, tmp_path):
    rules = tmp_path / "e.nft"
    rules.write_text("flush ruleset\n")
    rc, out, err = run(capsys, "--ruleset", str(rules), "--host", str(EXAMPLE / "host.toml"),
                       "--traffic", str(EXAMPLE / "traffic.pcapng"))
    assert rc == 0, err
    assert out.startswith("78 packets over 0.770 s, 74 emitted")


def test_list_shows_the_final_counters(files, capsys):
    rules = files["dir"] / "c.nft"
    rules.write_text("table inet f {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n"
                     "\t\ttcp dport 22 counter accept\n\t\tcounter\n\t\tudp dport 7 counter drop\n\t}\n}\n")
    rc, out, err = run(capsys, "--ruleset", str(rules), "--host", files["host"], "--traffic", files["traffic"], "--list")
    assert rc == 0 and err == ""
    assert out == ("table inet f {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n"
                   "\t\ttcp dport 22 counter packets 1 bytes 60 accept\n"
                   "\t\tcounter packets 2 bytes 57\n"
                   "\t\tudp dport 7 counter packets 0 bytes 0 drop\n\t}\n}\n")


def test_listing_with_no_counters_is_the_plain_listing():
    from pkttables.commands import run_text
    from pkttables.model import Ruleset
    from pkttables.render.text import list_ruleset

    rs = run_text("table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t}\n\tchain c {\n\t\ttype filter hook input priority 0;\n"
                  "\t\tip saddr @s counter drop\n\t}\n}\ntable ip6 u {\n\tchain d {\n\t\tcounter\n\t}\n}\n",
                  Ruleset()).ruleset
    assert cli_sim.listing_with_counters(rs, {}) == list_ruleset(rs)


def test_trace_and_log_through_the_interpreter(files, capsys):
    rules = files["dir"] / "tr.nft"
    rules.write_text("table inet f {\n\tchain pre {\n\t\ttype filter hook prerouting priority -300; policy accept;\n"
                     "\t\ttcp dport 22 meta nftrace set 1\n\t}\n\tchain input {\n"
                     "\t\ttype filter hook input priority 0; policy accept;\n"
                     "\t\ttcp dport 22 log prefix \"ssh: \" drop\n\t}\n}\n")
    argv = ["--ruleset", str(rules), "--host", files["host"], "--traffic", files["traffic"]]
    rc, out, err = run(capsys, *argv, "--trace")
    assert rc == 0, err
    lines = out.splitlines()
    # As the kernel: the rule that sets nftrace is traced itself (nft_trace_packet reads
    # skb->nf_trace at every event), then the rest of its chain and the later hooks.
    assert len(lines) == 5
    assert lines[0].startswith("trace id ") and ' inet f pre packet: iif "lan0" ' in lines[0]
    assert lines[1].endswith(" inet f pre rule tcp dport 22 meta nftrace set 1 (verdict continue)")
    assert lines[2].endswith(" inet f pre policy accept ")
    assert ' inet f input packet: iif "lan0" ' in lines[3]
    assert lines[4].endswith(' inet f input rule tcp dport 22 log prefix "ssh: " drop (verdict drop)')
    assert len({ln.split()[2] for ln in lines}) == 1            # one trace id per packet (skb)
    rc, out, err = run(capsys, *argv, "--json", "-")
    pkt = [json.loads(x) for x in out.splitlines()][2]
    assert pkt["index"] == 1 and pkt["verdict"] == "drop" and pkt["emitted"] == []
    log = [e for e in pkt["events"] if e["type"] == "log"]
    assert log and log[0]["line"].startswith("ssh: IN=lan0 OUT= MAC=02:00:00:00:00:01:02:00:00:00:00:10:08:00 "
                                             "SRC=192.168.1.10 DST=192.168.1.1 ")
