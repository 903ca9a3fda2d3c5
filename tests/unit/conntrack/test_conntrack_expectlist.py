"""``pkt conntrack -L/-C/-D/-F expect --table S`` and ``pkt simulate --conntrack-expect``:
conntrack 1.4.7's lines, messages and exit statuses (as measured in a namespace, see
tests/kernel/test_conntrack_expect_kernel.py), on a snapshot of an FTP capture with
three expectations (IPv4 PORT, IPv4 PASV, IPv6 EPRT)."""

from __future__ import annotations

import io
import json

import pytest

from pkttables.conntrack import ConntrackTable, Tuple
from pkttables.conntrack.cli import main
from pkttables.conntrack.expect import Expectation
from pkttables.conntrack.snapshot import dump_snapshot, load_snapshot_full
from pkttables.testing.cli import run_pkt, write_pcapng
from pkttables.testing.hosts import DUAL_ROUTER_TOML
from pkttables.testing.packets import TCP_ACK, TCP_PSH, TCP_SYN, ether, ipv4, ipv6, tcp

V = "conntrack v1.4.7 (conntrack-tools)"
TRY = "Try `conntrack -h' or 'conntrack --help' for more information.\n"
RULESET = """
table inet t {
    ct helper ftp-standard { type "ftp" protocol tcp; l3proto inet; }
    chain pre {
        type filter hook prerouting priority 0; policy accept;
        tcp dport 21 ct helper set "ftp-standard"
    }
    chain fw {
        type filter hook forward priority 0; policy accept;
        ct state established counter
    }
}
"""
HOST = DUAL_ROUTER_TOML
C4, S4, C6, S6 = "192.168.1.10", "198.51.100.7", "fd00:1::10", "2001:db8:99::7"


def session(cport: int, v6: bool, lines: list[tuple[bool, bytes]]) -> list[tuple[str, bytes]]:
    cl, sv = (C6, S6) if v6 else (C4, S4)
    ip = ipv6 if v6 else ipv4
    c, s = 1000, 5000
    out = []

    def up(flags, data=b""):
        out.append(("lan0", ether("02:00:00:00:00:01", "02:00:00:00:00:10",
                                  ip(cl, sv, tcp(cport, 21, flags, seq=c, ack=s if flags & TCP_ACK else 0,
                                                 payload=data)))))

    def down(flags, data=b""):
        out.append(("wan0", ether("02:00:00:00:01:01", "02:00:00:00:01:fe",
                                  ip(sv, cl, tcp(21, cport, flags, seq=s, ack=c, payload=data)))))
    up(TCP_SYN)
    c += 1
    down(TCP_SYN | TCP_ACK)
    s += 1
    up(TCP_ACK)
    for from_client, data in lines:
        if from_client:
            up(TCP_PSH | TCP_ACK, data)
            c += len(data)
        else:
            down(TCP_PSH | TCP_ACK, data)
            s += len(data)
    return out


HELLO = [(False, b"220 hi\r\n"), (True, b"USER a\r\n"), (False, b"331 pw\r\n")]
TRAFFIC = (session(40000, False, HELLO + [(True, b"PORT 192,168,1,10,156,65\r\n"), (False, b"200 ok\r\n")])
           + session(40010, False, HELLO + [(True, b"PASV\r\n"),
                                            (False, b"227 Entering Passive Mode (198,51,100,7,117,49).\r\n")])
           + session(40020, True, HELLO + [(True, b"EPRT |2|fd00:1::10|40021|\r\n"), (False, b"200 ok\r\n")]))

PORT_LINE = (f"299 proto=6 src={S4} dst={C4} sport=0 dport=40001 mask-src=255.255.255.255 "
             f"mask-dst=255.255.255.255 sport=0 dport=65535 master-src={C4} master-dst={S4} "
             "sport=40000 dport=21 class=0 helper=ftp")
PASV_LINE = (f"299 proto=6 src={C4} dst={S4} sport=0 dport=30001 mask-src=255.255.255.255 "
             f"mask-dst=255.255.255.255 sport=0 dport=65535 master-src={C4} master-dst={S4} "
             "sport=40010 dport=21 class=0 helper=ftp")
DEL_PASV = ["-D", "expect", "-s", C4, "-d", S4, "-p", "tcp", "--sport", "7", "--dport", "30001",
            "--reply-port-src", "0", "--reply-port-dst", "0"]


def _pkt(*argv):
    return run_pkt(argv)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("expect")
    (d / "r.nft").write_text(RULESET)
    (d / "host.toml").write_text(HOST)
    write_pcapng(d / "t.pcapng", TRAFFIC, t0_ns=1_700_000_000_000_000_000, step_ns=1000)
    return d


@pytest.fixture
def snap(files, tmp_path):
    s = tmp_path / "ct.json"
    rc, out, err = _pkt("simulate", "--ruleset", str(files / "r.nft"), "--host", str(files / "host.toml"),
                        "--traffic", str(files / "t.pcapng"), "--conntrack-save", str(s), "--conntrack-expect")
    assert rc == 0, err
    # --conntrack-expect prints both families (IPv4 first), then conntrack's count line
    assert out.splitlines()[:2] == [PORT_LINE, PASV_LINE] and f"master-src={C6}" in out.splitlines()[2]
    assert err.endswith(f"{V}: 3 expectations have been shown.\n")
    return str(s)


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(argv), out, err)
    return rc, out.getvalue(), err.getvalue()


def test_list_expect_one_family_at_a_time(snap):
    assert run("-L", "expect", "--table", snap) == (0, PORT_LINE + "\n" + PASV_LINE + "\n",
                                                    f"{V}: 2 expectations have been shown.\n")
    rc, out, err = run("-L", "expect", "-f", "ipv6", "--table", snap)
    assert rc == 0 and out.startswith(f"299 proto=6 src={S6} dst={C6} sport=0 dport=40021 mask-src="
                                      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ")
    assert err == f"{V}: 1 expectations have been shown.\n"
    assert run("-C", "expect", "--table", snap) == (0, "2\n", "")    # IPv4 only, as conntrack
    # the entries list is unchanged by the word
    rc, out, err = run("-L", "conntrack", "--table", snap)
    assert rc == 0 and out.count("helper=ftp use=1") == 3


@pytest.mark.parametrize("argv, msg", [
    (["-L", "expect", "-s", S4], "Illegal option `--src' with this command"),
    (["-L", "expect", "-d", S4], "Illegal option `--dst' with this command"),
    (["-L", "expect", "-p", "tcp"], "Illegal option `--protonum' with this command"),
    (["-L", "expect", "-m", "1"], "Illegal option `--mark' with this command"),
    (["-L", "expect", "-w", "0"], "Illegal option `--zone' with this command"),
    (["-C", "expect", "-f", "ipv4"], "Illegal option `--family' with this command"),
    (["-F", "expect", "-f", "ipv6"], "Illegal option `--family' with this command"),
    (["-D", "expect"], "You need to supply the `--src' option for this command"),
    (["-D", "expect", "-s", C4], "You need to supply the `--dst' option for this command"),
    (["-D", "expect", "-s", C4, "-d", S4], "You need to supply the `--protonum' option for this command"),
    (["-D", "expect", "-s", C4, "-d", S4, "-p", "tcp", "--dport", "1"],
     "You need to supply the `--sport' option for this command"),
    (["-D", "expect", "-s", C4, "-d", S4, "-p", "tcp", "--sport", "0"],
     "You need to supply the `--dport' option for this command"),
    (["-D", "expect", "-s", C4, "-d", S4, "-p", "tcp", "--sport", "0", "--dport", "1"],
     "You need to supply the `--reply-port-src' option for this command"),
    (["-D", "expect", "-s", C4, "-d", S4, "-p", "udp", "--sport", "0", "--dport", "1", "--reply-port-src", "0"],
     "You need to supply the `--reply-port-dst' option for this command"),
    (DEL_PASV + ["-f", "ipv6"], "mismatched address family"),
    (["-D", "expect", "-s", C4, "-d", S6, "-p", "icmp"], "mismatched address family"),
    (["-L", "other"], "unknown option `other'"),
    (["-L", "-p", "icmp", "--sport", "1"], "unknown option `--sport'"),
])
def test_expect_option_errors(snap, argv, msg):
    assert run(*argv, "--table", snap) == (2, "", f"{V}: {msg}\n{TRY}")


def test_delete_expect_then_not_found_then_flush(snap):
    before = json.load(open(snap))
    # conntrack 1.4.7 after a successful `-D expect`: this message and status 1
    assert run(*DEL_PASV, "--table", snap) == (1, "", f"{V}: 0 expectations have been shown.\n")
    assert run("-L", "expect", "--table", snap)[1] == PORT_LINE + "\n"
    assert run(*DEL_PASV, "--table", snap) == (1, "", f"{V}: Operation failed: No such file or directory\n")
    after = json.load(open(snap))
    assert len(after["expectations"]) == len(before["expectations"]) - 1
    assert run("-F", "expect", "--table", snap) == (0, "", f"{V}: expectation table has been emptied.\n")
    assert run("-L", "expect", "-f", "ipv6", "--table", snap) == (0, "", f"{V}: 0 expectations have been shown.\n")
    assert json.load(open(snap))["expectations"] == []
    # the entries stay
    assert run("-C", "--table", snap) == (0, "3\n", "")


def test_delete_matches_under_the_mask_only(snap):
    """The tuple given to -D expect is matched under the expectation's mask: any source
    port (mask 0) but the exact addresses and destination port."""
    wrong_port = [a if a != "30001" else "30002" for a in DEL_PASV]
    assert run(*wrong_port, "--table", snap)[0] == 1
    assert run("-C", "expect", "--table", snap)[1] == "2\n"
    assert run(*DEL_PASV, "--table", snap)[0] == 1
    assert run("-C", "expect", "--table", snap)[1] == "1\n"


def test_event_expect_without_ruleset_and_pcap_tables_have_none(files, snap):
    # -E expect is done (test_conntrack_cli_expect_events.py); without --ruleset no helper
    rc, out, err = run("-E", "expect", "--pcap", str(files / "t.pcapng"))
    assert (rc, out, err) == (0, "", f"{V}: 0 expectation events have been shown.\n")
    # a capture replayed without a ruleset has no helper: no expectation
    assert run("-L", "expect", "--pcap", str(files / "t.pcapng")) == (0, "", f"{V}: 0 expectations have been shown.\n")


def test_conntrack_filters_sport_dport_on_entries(snap):
    rc, out, err = run("-L", "-p", "tcp", "--sport", "40010", "--table", snap)
    assert rc == 0 and out.count("\n") == 1 and "sport=40010" in out
    rc, out, err = run("-L", "-p", "tcp", "--reply-port-dst", "40020", "--table", snap)
    assert rc == 0 and out.count("\n") == 1 and f"src={C6}" in out
    assert run("-L", "-p", "tcp", "--dport", "22", "--table", snap)[2] == f"{V}: 0 flow entries have been shown.\n"


def test_snapshot_round_trip_keeps_expectations():
    """dump -> load -> dump is the identity, with masks, zones, flags and classes."""
    ct = ConntrackTable(keep_events=False)
    from pkttables.packet import LinkType as LT, Packet
    from pkttables.testing.packets import udp
    pkt = Packet(ipv4(C4, S4, udp(1000, 2000, b"x")), LT.RAW)
    ct.in_hook(pkt, "prerouting", 5.0)
    ct.confirm(pkt, 5.0)
    master = pkt.ct
    e = Expectation(Tuple(2, bytes([198, 51, 100, 0]), bytes([192, 168, 1, 10]), 17, 0, 7000), master,
                    src_mask=bytes([255, 255, 255, 0]), sport_mask=0, cls=1, flags=1, helper_name="x")
    e.zone = 3
    ct.expect_related(e, 5.0, timeout=60.0)
    doc = dump_snapshot(ct, 6.0)
    snap = load_snapshot_full(json.loads(json.dumps(doc)), resume=True)
    assert dump_snapshot(snap.table, 6.0) == doc
    (x,) = snap.table.expectations(6.0)
    assert (x.src_mask, x.cls, int(x.flags), x.zone, x.expires, x.master.original) == (
        bytes([255, 255, 255, 0]), 1, 1, 3, 65.0, master.original)
    assert doc["expectations"][0]["flags"] == 1
