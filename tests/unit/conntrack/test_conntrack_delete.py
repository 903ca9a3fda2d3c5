"""pkt conntrack -D / -F, --save and --table: output, exit status, the snapshot chain."""

from __future__ import annotations

import io
import json

import pytest

from pkttables.capture import PcapWriter
from pkttables.conntrack import parse_conntrack_line
from pkttables.conntrack.cli import main
from pkttables.testing import packets as P

C, S, S2 = "192.168.1.10", "198.51.100.7", "198.51.100.8"
V = "conntrack v1.4.7 (conntrack-tools)"
TRY = "Try `conntrack -h' or 'conntrack --help' for more information.\n"


def _pcap(tmp_path):
    path = tmp_path / "t.pcap"
    frames = [
        P.ipv4(C, S, P.udp(5000, 53, b"q")),
        P.ipv4(S, C, P.udp(53, 5000, b"a")),
        P.ipv4(C, S2, P.udp(5001, 53, b"q")),
        P.ipv4(C, S, P.tcp(40000, 80, P.TCP_SYN, seq=100)),
        P.ipv4(C, S2, P.tcp(40001, 443, P.TCP_SYN, seq=100)),
        P.ipv4(C, S, P.icmp_echo(7, 1)),
    ]
    with open(path, "wb") as f:
        w = PcapWriter(f, 101)
        for i, fr in enumerate(frames):
            w.write(fr, 1_000_000_000 + i * 1000)
    return str(path)


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    rc = main(argv, out, err)
    return rc, out.getvalue(), err.getvalue()


def test_delete_on_replayed_table_prints_what_it_deletes(tmp_path):
    pcap = _pcap(tmp_path)
    rc, out, err = run(["-D", "--pcap", pcap, "-p", "udp"])
    assert rc == 0
    assert err == f"{V}: 2 flow entries have been deleted.\n"
    rows = [parse_conntrack_line(x) for x in out.splitlines()]
    assert [r["proto"] for r in rows] == ["udp", "udp"]
    assert {r["original"]["dst"] for r in rows} == {S, S2}
    # the lines are -L lines: the first UDP flow was answered, the second not
    assert rows[0]["status"] == [] and rows[1]["status"] == ["UNREPLIED"]
    assert out.splitlines()[0].endswith("mark=0 use=1")


def test_delete_without_match_exits_1(tmp_path):
    pcap = _pcap(tmp_path)
    for argv in (["-s", "10.9.9.9"], ["--mark", "1"], ["-f", "ipv6"], ["--zone", "3"]):
        assert run(["-D", "--pcap", pcap] + argv) == (1, "", f"{V}: 0 flow entries have been deleted.\n")


def test_flush_output(tmp_path):
    pcap = _pcap(tmp_path)
    assert run(["-F", "--pcap", pcap]) == (0, "", f"{V}: connection tracking table has been emptied.\n")


def test_snapshot_chain(tmp_path):
    pcap, snap = _pcap(tmp_path), str(tmp_path / "ct.json")
    rc, out, err = run(["-L", "--pcap", pcap, "--save", snap])
    assert rc == 0 and "5 flow entries have been shown" in err
    listing = out
    # the snapshot lists the same lines
    assert run(["-L", "--table", snap]) == (0, listing, f"{V}: 5 flow entries have been shown.\n")
    assert run(["-C", "--table", snap])[1] == "5\n"
    # -D rewrites the file: a second -D of the same finds nothing
    rc, out, err = run(["-D", "--table", snap, "-d", S2])
    assert rc == 0 and out.count("\n") == 2 and "2 flow entries have been deleted" in err
    assert run(["-D", "--table", snap, "-d", S2])[0] == 1
    rc, out, _ = run(["-L", "--table", snap])
    assert out == "".join(l + "\n" for l in listing.splitlines() if f"dst={S2} " not in l.split(" src=")[1])
    rc, out, _ = run(["-D", "--table", snap, "-p", "tcp", "--state", "SYN_SENT"])
    assert rc == 0 and out.startswith("tcp      6 119 SYN_SENT")
    assert run(["-F", "--table", snap])[0] == 0
    assert run(["-L", "--table", snap]) == (0, "", f"{V}: 0 flow entries have been shown.\n")
    doc = json.loads(open(snap).read())
    assert doc["format"] == "pkttables-conntrack" and doc["version"] == 2 and doc["entries"] == []


def test_save_after_delete_keeps_the_input_untouched(tmp_path):
    pcap, a, b = _pcap(tmp_path), str(tmp_path / "a.json"), str(tmp_path / "b.json")
    run(["-L", "--pcap", pcap, "--save", a])
    before = open(a).read()
    assert run(["-D", "--table", a, "--save", b, "-p", "icmp"])[0] == 0
    assert open(a).read() == before
    assert run(["-C", "--table", b])[1] == "4\n"


@pytest.mark.parametrize("argv, msg", [
    (["-D", "-L"], "Invalid commands combination"),
    (["-D", "-s", "bad"], "Invalid IP address `bad'"),
    (["-D", "-p", "foo"], "`foo' unsupported protocol"),
    (["-L", "--state", "SYN_SENT"], "unknown option `--state'"),
    (["-D", "--bogus"], "unknown option `--bogus'"),
    ([], "no command specified"),
])
def test_parameter_problems_as_conntrack(tmp_path, argv, msg):
    pcap = _pcap(tmp_path)
    assert run(argv + ["--pcap", pcap]) == (2, "", f"{V}: {msg}\n{TRY}")


def test_source_problems(tmp_path):
    pcap = _pcap(tmp_path)
    assert run(["-L"])[0] == 2
    assert run(["-L", "--pcap", pcap, "--table", "x"])[0] == 2
    assert run(["-E", "--table", "x"])[0] == 2
    rc, out, err = run(["-L", "--table", str(tmp_path / "missing.json")])
    assert rc == 1 and out == "" and "missing.json: cannot read" in err and err.count("\n") == 1


def test_simulate_conntrack_save_feeds_pkt_conntrack(tmp_path, capsys):
    from pkttables.capture import PcapWriter as W
    from pkttables.cli.simulate import simulate_main

    rs = tmp_path / "r.nft"
    rs.write_text("table inet t {\n chain fw {\n  type filter hook prerouting priority 0; policy accept;\n"
                  "  ct state new counter\n }\n}\n")
    cap = tmp_path / "t.pcap"
    with open(cap, "wb") as f:
        w = W(f, 1)
        w.write(P.ether("02:00:00:00:00:01", "02:00:00:00:00:10", P.ipv4("192.0.2.9", "192.0.2.1", P.udp(5000, 53, b"q"))),
                1_000_000_000)
        w.write(P.ether("02:00:00:00:00:01", "02:00:00:00:00:10", P.ipv4("192.0.2.9", "192.0.2.1", P.icmp_echo(5, 1))),
                1_500_000_000)
    snap = tmp_path / "s.json"
    assert simulate_main(["--ruleset", str(rs), "--traffic", str(cap), "--iif", "eth0", "--conntrack",
                          "--conntrack-save", str(snap)]) == 0
    listed = capsys.readouterr().out
    assert listed.count("\n") == 2
    assert run(["-L", "--table", str(snap)])[1] == listed
    rc, out, _ = run(["-D", "--table", str(snap), "-p", "icmp"])
    assert rc == 0 and out == listed.splitlines(keepends=True)[1]
    assert run(["-C", "--table", str(snap)])[1] == "1\n"
