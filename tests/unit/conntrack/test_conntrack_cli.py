"""pkt conntrack (cli_main) on a capture written with PcapWriter."""

from __future__ import annotations

import io

from pkttables.capture import PcapWriter
from pkttables.conntrack import cli_main, parse_conntrack_line
from pkttables.conntrack.cli import main
from pkttables.testing import packets as P

C, S = "192.168.1.10", "198.51.100.7"


def _pcap(tmp_path):
    path = tmp_path / "t.pcap"
    frames = [
        P.ipv4(C, S, P.tcp(1234, 80, P.TCP_SYN, seq=1)),
        P.ipv4(S, C, P.tcp(80, 1234, P.TCP_SYN | P.TCP_ACK, seq=9, ack=2)),
        P.ipv4(C, S, P.tcp(1234, 80, P.TCP_ACK, seq=2, ack=10)),
        P.ipv4(C, S, P.udp(5000, 53, b"q")),
        P.ipv6("fd00::1", "2001:db8::1", P.udp(5001, 53, b"q")),
    ]
    with open(path, "wb") as f:
        w = PcapWriter(f, 101)  # LINKTYPE_RAW
        for i, fr in enumerate(frames):
            w.write(fr, 1_000_000_000 + i * 1000)
        if hasattr(w, "close"):
            w.close()
    return str(path)


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    rc = main(argv, out, err)
    return rc, out.getvalue(), err.getvalue()


def test_list_and_filters(tmp_path):
    pcap = _pcap(tmp_path)
    rc, out, err = run(["-L", "--pcap", pcap])
    assert rc == 0 and "3 flow entries have been shown." in err
    rows = [parse_conntrack_line(l) for l in out.splitlines()]
    assert {r["proto"] for r in rows} == {"tcp", "udp"}
    rc, out, _ = run(["-L", "--pcap", pcap, "-p", "tcp", "--state", "established"])
    (row,) = [parse_conntrack_line(l) for l in out.splitlines()]
    assert row["state"] == "ESTABLISHED" and row["status"] == ["ASSURED"]
    rc, out, _ = run(["-L", "--pcap", pcap, "-f", "ipv6"])
    assert out.count("\n") == 1 and "src=fd00::1" in out
    rc, out, _ = run(["-L", "--pcap", pcap, "-s", S])
    assert out == ""
    rc, out, _ = run(["-C", "--pcap", pcap, "--mark", "0"])
    assert out == "3\n"
    rc, out, _ = run(["-L", "--pcap", pcap, "--zone", "1"])
    assert out == ""


def test_events_and_errors(tmp_path):
    pcap = _pcap(tmp_path)
    rc, out, err = run(["-E", "--pcap", pcap])
    assert rc == 0 and out.splitlines()[0].startswith("    [NEW] tcp      6 120 SYN_SENT")
    assert "5 flow events" in err
    assert run(["-L", "--pcap", str(tmp_path / "missing.pcap")])[0] == 1
    assert run(["-L", "--pcap", pcap, "-s", "not-an-address"])[0] == 2
    assert run(["-X"])[0] == 2
    assert cli_main(["-C", "--pcap", pcap]) == 0


def test_exported_members():
    import pkttables.conntrack as m
    assert sorted(m.__all__) == sorted([
        "ConntrackTable", "Conn", "CtEvent", "Tuple", "invert", "CtDir", "CtInfo", "CtStateBit",
        "CtEventType", "Event", "Status", "TcpState", "TcpIndex", "SctpState", "TCP_CONNTRACKS",
        "TCP_REASONS", "TCP_TIMEOUTS", "SYSCTL_DEFAULTS", "format_entry", "format_event",
        "parse_conntrack_line", "ct_state", "notrack", "make_template", "cli_main",
        "SCTP_CONNTRACKS", "SCTP_REASONS", "SCTP_TIMEOUTS", "SctpChunk", "Expectation",
        "ExpectError", "ExpectFlag", "format_expect", "Helper", "HelpCall", "register_helper"])
    for name in m.__all__:
        assert getattr(m, name) is not None
