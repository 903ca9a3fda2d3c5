"""``pkt conntrack -E expect --pcap CAPTURE --ruleset R``: the expectation events of a
replay through the host and the ruleset, in conntrack 1.4.7's form (``%9s`` of
``[NEW]``/``[DESTROY]``, the ``-L expect`` line, then ``N expectation events have been
shown.`` on stderr; the kernel comparison is tests/kernel/test_conntrack_expect_events.py).
Here: the active FTP session through the home router's masquerade (NEW at the PORT
command, DESTROY when the data connection uses it), expiry (time left 0), the events
adding up to the final table for any prefix of the capture (hypothesis), and the
refusals (filters, --table, --ruleset where it does not apply)."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pkttables.conntrack.cli import main
from test_conntrack_snapload import FTP_PACKETS, FTP_RULESET, HOST, _write

VERSION = "conntrack v1.4.7 (conntrack-tools)"
EXPECT = ("proto=6 src=93.184.216.34 dst=203.0.113.2 sport=0 dport=41217 mask-src=255.255.255.255 "
          "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=192.168.1.10 "
          "master-dst=93.184.216.34 sport=41000 dport=21 class=0 helper=ftp")
PORT_AT = next(i for i, (_, f) in enumerate(FTP_PACKETS) if b"PORT " in f)
DATA_SYN_AT = next(i for i, (dev, f) in enumerate(FTP_PACKETS) if dev == "wan0" and f[34:36] == b"\x00\x14")


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(argv), out, err)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path):
    r = tmp_path / "r.nft"
    r.write_text(FTP_RULESET)
    return tmp_path, str(r)


def test_ftp_session_new_then_destroy_when_used(files):
    tmp, rs = files
    cap = tmp / "ftp.pcapng"
    _write(cap, FTP_PACKETS, 0)
    rc, out, err = _run("-E", "expect", "--pcap", str(cap), "--ruleset", rs, "--host", HOST)
    assert rc == 0
    # 250 ms between packets: the data SYN comes (DATA_SYN_AT - PORT_AT) / 4 s after the PORT
    left = int(300 - (DATA_SYN_AT - PORT_AT) * 0.25)
    assert out == f"    [NEW] 300 {EXPECT}\n[DESTROY] {left} {EXPECT}\n"
    assert err == f"{VERSION}: 2 expectation events have been shown.\n"


def test_expiry_is_a_destroy_with_no_time_left(files):
    """The PORT expectation waits in vain: a packet 400 s later finds it timed out."""
    tmp, rs = files
    cap = tmp / "late.pcapng"
    pk = FTP_PACKETS[:PORT_AT + 1]
    # then the next control segment, 400 s later
    from pkttables.capture import LinkType, PcapngWriter
    with PcapngWriter(str(cap)) as w:
        ids: dict[str, int] = {}
        for i, (dev, data) in enumerate(pk + [FTP_PACKETS[PORT_AT + 1]]):
            if dev not in ids:
                ids[dev] = w.add_interface(dev, LinkType.ETHERNET)
            ts = 1_000_000_000_000 + i * 250_000_000 + (400_000_000_000 if i > PORT_AT else 0)
            w.write(ids[dev], data, ts)
    rc, out, err = _run("-E", "expect", "--pcap", str(cap), "--ruleset", rs, "--host", HOST)
    assert rc == 0
    assert out == f"    [NEW] 300 {EXPECT}\n[DESTROY] 0 {EXPECT}\n"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(min_value=0, max_value=len(FTP_PACKETS)))
def test_events_add_up_to_the_final_table(files, k):
    """For any prefix: NEW lines minus DESTROY lines = the expectations -L expect shows
    after it, and each DESTROY names an expectation a NEW announced."""
    tmp, rs = files
    cap = tmp / f"p{k}.pcapng"
    _write(cap, FTP_PACKETS[:k], 0)
    rc, out, _ = _run("-E", "expect", "--pcap", str(cap), "--ruleset", rs, "--host", HOST)
    assert rc == 0
    rc, listing, lerr = _run("-L", "expect", "--pcap", str(cap), "--ruleset", rs, "--host", HOST)
    assert rc == 0
    def body(ln):            # the line after the event kind and the time left
        return ln.split("] ", 1)[1].split(" ", 1)[1]
    new = [body(ln) for ln in out.splitlines() if ln.startswith("    [NEW] ")]
    gone = [body(ln) for ln in out.splitlines() if ln.startswith("[DESTROY] ")]
    assert all(g in new for g in gone)
    assert len(new) - len(gone) == len(listing.splitlines())
    assert len(new) == (k > PORT_AT)
    assert len(gone) == (k > DATA_SYN_AT)


def test_save_keeps_the_final_table(files):
    tmp, rs = files
    cap, snap = tmp / "ftp.pcapng", tmp / "ct.json"
    _write(cap, FTP_PACKETS[:PORT_AT + 1], 0)
    rc, out, _ = _run("-E", "expect", "--pcap", str(cap), "--ruleset", rs, "--host", HOST, "--save", str(snap))
    assert rc == 0 and out.count("[NEW]") == 1
    assert len(json.loads(snap.read_text())["expectations"]) == 1
    rc, out, err = _run("-L", "expect", "--table", str(snap))
    assert rc == 0 and EXPECT in out


def test_without_ruleset_no_helper_no_events(files):
    """The bare tracker of --pcap attaches no helper, as a kernel without a
    `ct helper set` rule: no expectation, no event."""
    tmp, _ = files
    cap = tmp / "ftp.pcapng"
    _write(cap, FTP_PACKETS, 0)
    assert _run("-E", "expect", "--pcap", str(cap)) == (0, "", f"{VERSION}: 0 expectation events have been shown.\n")


@pytest.mark.parametrize("extra, message", [
    (["-f", "ipv4"], "Illegal option `--family' with this command"),
    (["-s", "1.2.3.4"], "Illegal option `--src' with this command"),
    (["-p", "tcp"], "Illegal option `--protonum' with this command"),
    (["-m", "1"], "Illegal option `--mark' with this command"),
])
def test_filters_refused_as_conntrack_does(files, extra, message):
    tmp, rs = files
    rc, out, err = _run("-E", "expect", "--pcap", str(tmp / "x.pcapng"), *extra)
    assert (rc, out) == (2, "")
    assert err == f"{VERSION}: {message}\nTry `conntrack -h' or 'conntrack --help' for more information.\n"


@pytest.mark.parametrize("argv, message", [
    (["-E", "expect", "--table", "s.json"], "-E needs --pcap: a snapshot holds no events"),
    (["-L", "--pcap", "x.pcapng", "--ruleset", "r.nft"], "--ruleset applies to the expect commands only"),
    (["-L", "expect", "--table", "s.json", "--ruleset", "r.nft"], "--ruleset applies to --pcap only"),
])
def test_ruleset_and_table_refusals(argv, message):
    rc, out, err = _run(*argv)
    assert (rc, out) == (2, "")
    assert err.startswith(f"{VERSION}: {message}\n")


def test_bad_ruleset_is_an_error_with_location(files):
    tmp, _ = files
    cap, bad = tmp / "ftp.pcapng", tmp / "bad.nft"
    _write(cap, FTP_PACKETS[:3], 0)
    bad.write_text("table inet t { chain c { tcp dport frob accept; } }\n")
    rc, out, err = _run("-E", "expect", "--pcap", str(cap), "--ruleset", str(bad), "--host", HOST)
    assert rc == 1 and out == ""
    assert "bad.nft:1:" in err and "Traceback" not in err
