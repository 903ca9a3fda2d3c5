"""`pkt decode` / `pkt route` / `pkt bench --list`: real output on the bundled example, and
one clear error line (exit 1, no traceback) for bad input."""

import json
from pathlib import Path

import pytest

from pkttables.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "home-router"


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_decode_example_routes_every_packet(capsys):
    rc, out, err = run(capsys, "decode", str(EXAMPLE / "traffic.pcapng"), "--host", str(EXAMPLE / "host.toml"), "--json")
    assert rc == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 78
    first = rows[0]
    assert first["iif"] == "lan0" and first["l4proto"] == 17
    assert first["offsets"] == {"mac": 0, "network": 14, "transport": 34}
    assert first["route"] == "forward via 203.0.113.1 dev wan0"
    assert rows[1]["route"] == "local"                          # the DNS answer to the router's WAN address
    v6 = rows[11]                                               # HTTPS over IPv6
    assert v6["offsets"]["transport"] == 54 and v6["route"] == "forward via 2001:db8:1::1 dev wan0"
    local = rows[-2]                                            # the router's own DNS query
    assert local["iif"] == "local" and local["offsets"] == {"network": 0, "transport": 20}
    assert local["route"] == "output via 203.0.113.1 dev wan0 src 203.0.113.2"


def test_decode_text_output(capsys):
    rc, out, _ = run(capsys, "decode", str(EXAMPLE / "traffic.pcapng"), "--host", str(EXAMPLE / "host.toml"), "-c", "1")
    assert rc == 0
    assert out.splitlines() == [
        "     0 1763942400.000000 lan0   IP 192.168.1.10.40001 > 9.9.9.9.53: UDP, length 29",
        "       mac@0 network@14 transport@34 l4proto 17 -> forward via 203.0.113.1 dev wan0",
    ]


@pytest.mark.parametrize("argv, message", [
    (["decode", str(EXAMPLE / "host.toml")], "neither pcap nor pcapng"),
    (["decode", str(EXAMPLE / "traffic.pcapng"), "--host", str(EXAMPLE / "ruleset.nft")], "TOML syntax error"),
    (["decode", str(EXAMPLE / "traffic.pcapng")], "interface 'lan0' is not in the host"),
    (["route", "not-an-address"], "is not an IPv4 or IPv6 address"),
    (["route", "1.2.3.4", "--iif", "nope", "--from", "1.1.1.1"], "no interface 'nope'"),
    (["frobnicate"], "syntax error, unexpected newline, expecting string"),  # as nft says
])
def test_bad_input_is_one_clear_error(capsys, argv, message):
    rc, out, err = run(capsys, *argv)
    assert rc == 1
    assert message in err
    assert "Traceback" not in err


def test_route_like_ip_route_get(capsys):
    rc, out, _ = run(capsys, "route", "--host", str(EXAMPLE / "host.toml"), "10.9.9.9", "--from", "8.8.8.8", "--iif", "wan0")
    assert (rc, out) == (0, "10.9.9.9 forward via 203.0.113.1 dev wan0\n")
    rc, out, _ = run(capsys, "route", "--host", str(EXAMPLE / "host.toml"), "fd00:1::77")
    assert (rc, out) == (0, "fd00:1::77 output dev lan0 src fd00:1::1\n")


def test_bench_lists_its_workloads(capsys):
    rc, out, _ = run(capsys, "bench", "--list")
    assert rc == 0
    assert {line.split()[0] for line in out.splitlines()} >= {"packet-parse", "capture-read"}
