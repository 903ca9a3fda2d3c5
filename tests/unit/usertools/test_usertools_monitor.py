"""`pkt monitor trace`: the trace lines of a simulation, for packets with nftrace set."""

from pathlib import Path

from pkttables.capture import LinkType, PcapngWriter
from pkttables.cli.main import main
from pkttables.testing.packets import ether, ipv4, tcp, udp

ROOT = Path(__file__).resolve().parents[3]
HOST = ROOT / "examples" / "home-router" / "host.toml"

RULESET = """
table inet t {
	chain pre { type filter hook prerouting priority -350; tcp dport 22 meta nftrace set 1; }
	chain input {
		type filter hook input priority 0; policy drop;
		tcp dport 22 accept
	}
}
"""


def capture(path):
    with PcapngWriter(str(path)) as w:
        i = w.add_interface("wan0", LinkType.ETHERNET)
        mac, isp = "02:00:00:00:01:01", "02:00:00:00:01:fe"
        w.write(i, ether(mac, isp, ipv4("198.51.100.7", "203.0.113.2", tcp(40000, 22))), 10**18)
        w.write(i, ether(mac, isp, ipv4("198.51.100.7", "203.0.113.2", udp(40000, 53))), 10**18 + 10**7)
        w.write(i, ether(mac, isp, ipv4("198.51.100.7", "203.0.113.2", tcp(40001, 80))), 10**18 + 2 * 10**7)


def test_monitor_trace_prints_marked_packets_only(tmp_path, capsys):
    (tmp_path / "r.nft").write_text(RULESET)
    capture(tmp_path / "t.pcapng")
    args = ["--ruleset", str(tmp_path / "r.nft"), "--host", str(HOST), "--traffic", str(tmp_path / "t.pcapng")]
    assert main(["monitor", "trace", *args]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out, "no trace lines"
    assert all(line.startswith("trace id ") for line in out)
    assert len({line.split()[2] for line in out}) == 1           # one packet traced
    assert any(" inet t input rule tcp dport 22 accept (verdict accept)" in line for line in out)
    assert any(" inet t input packet: iif \"wan0\" " in line for line in out)
    # the same lines as pkt simulate --trace
    assert main(["simulate", "--trace", *args]) == 0
    assert capsys.readouterr().out.splitlines() == out


def test_monitor_without_marked_packets_and_other_kinds(tmp_path, capsys):
    (tmp_path / "r.nft").write_text(RULESET.replace("tcp dport 22 meta nftrace set 1;", ""))
    capture(tmp_path / "t.pcapng")
    args = ["--ruleset", str(tmp_path / "r.nft"), "--host", str(HOST), "--traffic", str(tmp_path / "t.pcapng")]
    assert main(["monitor", "trace", *args]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "no packet had nftrace set" in err
    assert main(["monitor", "rules", *args]) == 1
    assert "offline, only 'trace'" in capsys.readouterr().err
    assert main(["monitor", "trace", "--ruleset", str(tmp_path / "nope.nft"), "--traffic", "x"]) == 1
    assert "Could not open file" in capsys.readouterr().err
