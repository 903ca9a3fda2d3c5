"""Cross-checks with independent implementations: scapy and dpkt write files we read
and read files we write; tcpdump (libpcap) reads what we write."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal

import pytest

from pkttables.capture import LinkType, PcapngWriter, PcapWriter, read_capture

from pktcap_craft import epb, idb, pcap_header, pcap_record, shb

scapy_all = pytest.importorskip("scapy.all")
from scapy.utils import EDecimal  # noqa: E402

try:  # dpkt comes with the [bench] extra, not [test]: its tests skip where it is missing
    import dpkt
except ImportError:  # pragma: no cover
    dpkt = None
needs_dpkt = pytest.mark.skipif(dpkt is None, reason="dpkt is not installed (pip install -e '.[bench]')")

T0 = 1_700_000_000_123_456_789


def scapy_packets(n=5):
    from scapy.all import IP, UDP, Ether, Raw
    pkts = []
    for i in range(n):
        p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="10.0.0.1", dst="10.0.0.2") / \
            UDP(sport=1000 + i, dport=53) / Raw(b"q" * i)
        p.time = EDecimal(T0 + i * 1_000_001) / 10**9
        pkts.append(p)
    return pkts


def ip_packet(i: int) -> bytes:
    """An IPv4/UDP packet, built by hand so tcpdump has something to print."""
    from scapy.all import IP, UDP, Raw
    return bytes(IP(src="192.0.2.1", dst="192.0.2.2", id=i) / UDP(sport=4000 + i, dport=53) / Raw(b"x" * i))


# ------------------------------------------------------------------ scapy

def test_read_scapy_wrpcap(tmp_path):
    from scapy.all import wrpcap
    pkts = scapy_packets()
    path = tmp_path / "scapy.pcap"
    wrpcap(str(path), pkts)                       # classic µs pcap
    recs = list(read_capture(path))
    assert [r.data for r in recs] == [bytes(p) for p in pkts]
    # scapy rounds to the nearest µs
    assert [r.ts_ns for r in recs] == [(T0 + i * 1_000_001 + 500) // 1000 * 1000 for i in range(5)]
    assert {r.linktype for r in recs} == {1}


def test_read_scapy_pcapng_with_interfaces_and_directions(tmp_path):
    from scapy.all import PcapNgWriter
    pkts = scapy_packets(6)
    for i, p in enumerate(pkts):
        p.sniffed_on = ["eth0", "eth1"][i % 2]
        p.direction = [1, 2, None][i % 3]
        p.time = EDecimal(1_700_000_000_123_456 + i * 1001) / 10**6   # whole µs: scapy's rounding is uneven
    path = tmp_path / "scapy.pcapng"
    w = PcapNgWriter(str(path))
    for p in pkts:
        w.write(p)
    w.close()
    recs = list(read_capture(path))
    assert [r.data for r in recs] == [bytes(p) for p in pkts]
    assert [r.ifname for r in recs] == ["eth0", "eth1"] * 3
    assert [r.direction for r in recs] == ["in", "out", None] * 2
    # scapy writes µs (its default if_tsresol)
    assert [r.ts_ns for r in recs] == [(1_700_000_000_123_456 + i * 1001) * 1000 for i in range(6)]


@pytest.mark.parametrize("nanosecond", [True, False])
def test_scapy_reads_our_pcap(tmp_path, nanosecond):
    from scapy.all import rdpcap
    pkts = scapy_packets()
    path = tmp_path / "ours.pcap"
    with PcapWriter(path, LinkType.ETHERNET, nanosecond=nanosecond) as w:
        for i, p in enumerate(pkts):
            w.write(bytes(p), T0 + i * 1_000_001)
    got = rdpcap(str(path))
    assert [bytes(p) for p in got] == [bytes(p) for p in pkts]
    scale = 1 if nanosecond else 1000
    assert [Decimal(p.time) for p in got] == [Decimal((T0 + i * 1_000_001) // scale * scale) / 10**9
                                            for i in range(5)]


def test_scapy_reads_our_pcapng(tmp_path):
    from scapy.all import rdpcap
    pkts = scapy_packets(4)
    path = tmp_path / "ours.pcapng"
    with PcapngWriter(path) as w:
        w.add_interface("eth0", LinkType.ETHERNET)
        w.add_interface("eth1", LinkType.ETHERNET, tsresol_ns=False)
        for i, p in enumerate(pkts):
            w.write(i % 2, bytes(p), T0 + i, direction=["in", "out"][i % 2])
    got = rdpcap(str(path))
    assert [bytes(p) for p in got] == [bytes(p) for p in pkts]
    assert [p.sniffed_on for p in got] == ["eth0", "eth1"] * 2
    assert [p.direction for p in got] == [1, 2] * 2
    assert [Decimal(p.time) for p in got] == [Decimal((T0 + i) if i % 2 == 0 else (T0 + i) // 1000 * 1000) / 10**9
                                            for i in range(4)]


# ------------------------------------------------------------------ dpkt

@needs_dpkt
@pytest.mark.parametrize("nano", [True, False])
def test_read_dpkt_pcap(tmp_path, nano):
    path = tmp_path / "dpkt.pcap"
    with open(path, "wb") as f:
        w = dpkt.pcap.Writer(f, linktype=dpkt.pcap.DLT_RAW, nano=nano)
        for i in range(5):
            # dpkt takes a float: pick timestamps a double holds exactly
            w.writepkt(ip_packet(i), ts=1_700_000_000 + i / 4)
    recs = list(read_capture(path))
    assert [r.data for r in recs] == [ip_packet(i) for i in range(5)]
    assert [r.ts_ns for r in recs] == [1_700_000_000 * 10**9 + i * 250_000_000 for i in range(5)]
    # dpkt writes DLT_RAW (12), which readers take as LINKTYPE_RAW (101)
    assert dpkt.pcap.DLT_RAW == 12
    assert {r.linktype for r in recs} == {LinkType.RAW}


@needs_dpkt
def test_read_dpkt_pcapng(tmp_path):
    path = tmp_path / "dpkt.pcapng"
    with open(path, "wb") as f:
        w = dpkt.pcapng.Writer(f, linktype=dpkt.pcap.DLT_EN10MB)
        for i, p in enumerate(scapy_packets(3)):
            w.writepkt(bytes(p), ts=1_700_000_000 + i / 2)
    recs = list(read_capture(path))
    assert [r.data for r in recs] == [bytes(p) for p in scapy_packets(3)]
    assert [r.ts_ns for r in recs] == [1_700_000_000 * 10**9 + i * 500_000_000 for i in range(3)]


@needs_dpkt
@pytest.mark.parametrize("nanosecond", [True, False])
def test_dpkt_reads_our_pcap(tmp_path, nanosecond):
    path = tmp_path / "ours.pcap"
    with PcapWriter(path, LinkType.RAW, nanosecond=nanosecond) as w:
        for i in range(5):
            w.write(ip_packet(i), 1_700_000_000 * 10**9 + i * 250_000_000)
    with open(path, "rb") as f:
        got = list(dpkt.pcap.Reader(f))
    assert [buf for _ts, buf in got] == [ip_packet(i) for i in range(5)]
    assert [ts for ts, _buf in got] == [1_700_000_000 + i / 4 for i in range(5)]


@needs_dpkt
def test_dpkt_reads_our_pcapng(tmp_path):
    path = tmp_path / "ours.pcapng"
    with PcapngWriter(path) as w:
        w.add_interface("eth0", LinkType.RAW)
        for i in range(4):
            w.write(0, ip_packet(i), 1_700_000_000 * 10**9 + i * 500_000_000, direction="in")
    with open(path, "rb") as f:
        got = list(dpkt.pcapng.Reader(f))
    assert [buf for _ts, buf in got] == [ip_packet(i) for i in range(4)]
    assert [ts for ts, _buf in got] == [1_700_000_000 + i / 2 for i in range(4)]


# ------------------------------------------------------------------ tcpdump (libpcap)

TCPDUMP = shutil.which("tcpdump")


@pytest.mark.skipif(TCPDUMP is None, reason="tcpdump is not installed")
@pytest.mark.parametrize("fmt", ["pcap", "pcap-us", "pcapng"])
def test_tcpdump_reads_ours(tmp_path, fmt):
    path = tmp_path / ("ours.pcapng" if fmt == "pcapng" else "ours.pcap")
    stamps = [1_700_000_000 * 10**9 + i * 1_000_001_000 + 7_000 for i in range(4)]
    if fmt == "pcapng":
        with PcapngWriter(path) as w:
            w.add_interface("eth0", LinkType.RAW)
            for i, ts in enumerate(stamps):
                w.write(0, ip_packet(i), ts, direction="out")
    else:
        with PcapWriter(path, LinkType.RAW, nanosecond=fmt == "pcap") as w:
            for i, ts in enumerate(stamps):
                w.write(ip_packet(i), ts)
    res = subprocess.run([TCPDUMP, "-r", str(path), "-nn", "-tt"], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 4
    for i, (line, ts) in enumerate(zip(lines, stamps)):
        assert line.startswith(f"{ts // 10**9}.{ts % 10**9 // 1000:06d} IP 192.0.2.1.{4000 + i} > 192.0.2.2.53: ")


@pytest.mark.skipif(TCPDUMP is None, reason="tcpdump is not installed")
@pytest.mark.parametrize("precision", ["micro", "nano"])
@pytest.mark.parametrize("source", ["pcap", "pcapng"])
def test_read_what_libpcap_writes(tmp_path, source, precision):
    """tcpdump -r OURS -w THEIRS: libpcap's own writer, read back by us."""
    ours = tmp_path / f"ours.{source}"
    stamps = [1_700_000_000 * 10**9 + i * 1_000_001_001 + 789 for i in range(5)]
    if source == "pcapng":
        with PcapngWriter(ours) as w:
            w.add_interface("eth0", LinkType.RAW)
            for i, ts in enumerate(stamps):
                w.write(0, ip_packet(i), ts, orig_len=len(ip_packet(i)) + i)
    else:
        with PcapWriter(ours, LinkType.RAW) as w:
            for i, ts in enumerate(stamps):
                w.write(ip_packet(i), ts, orig_len=len(ip_packet(i)) + i)
    theirs = tmp_path / "theirs.pcap"
    res = subprocess.run([TCPDUMP, "-r", str(ours), "-w", str(theirs), f"--time-stamp-precision={precision}"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    recs = list(read_capture(theirs))
    assert [r.data for r in recs] == [ip_packet(i) for i in range(5)]
    assert [r.orig_len for r in recs] == [len(ip_packet(i)) + i for i in range(5)]
    assert {r.linktype for r in recs} == {LinkType.RAW}
    scale = 1 if precision == "nano" else 1000
    assert [r.ts_ns for r in recs] == [ts // scale * scale for ts in stamps]


@pytest.mark.skipif(TCPDUMP is None, reason="tcpdump is not installed")
@pytest.mark.parametrize("e", ["<", ">"])
@pytest.mark.parametrize("tsresol, tsoffset", [(None, None), (9, None), (3, 5), (0x80 | 20, 1_700_000_000),
                                               (0x80 | 10, None), (12, 3), (0x80, None)])
def test_timestamps_agree_with_libpcap(tmp_path, e, tsresol, tsoffset):
    """Hand-made pcapng (either byte order, odd resolutions): tcpdump prints the same ns as we read."""
    r = 6 if tsresol is None else tsresol
    per_sec = 2 ** (r & 0x7F) if r & 0x80 else 10**r
    # Small values, values past 2**32 units and "now"; but only what tcpdump can print
    # and libpcap computes without overflowing its 64-bit arithmetic.
    now = max(1_699_999_990 - (tsoffset or 0), 10)
    units = [0, 1, 7, 2**20 * 3 + 2**19 + 1, 2**40 + 12345, now * per_sec + per_sec // 3 + 1]
    units = [u for u in units if u < 2**64 and u * 10**9 < 2**64 * per_sec // 16]
    data = shb(e) + idb(e, 101, 0, name="x", tsresol=tsresol, tsoffset=tsoffset)
    for i, u in enumerate(units):
        data += epb(e, 0, u, ip_packet(i), flags=1 + i % 2)
    path = tmp_path / "hand.pcapng"
    path.write_bytes(data)
    res = subprocess.run([TCPDUMP, "-r", str(path), "-nn", "-tt", "--time-stamp-precision=nano"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    theirs = []
    for line in res.stdout.splitlines():
        sec, frac = line.split()[0].split(".")
        theirs.append(int(sec) * 10**9 + int(frac) * 10 ** (9 - len(frac)))
    ours = [r.ts_ns for r in read_capture(path)]
    assert len(ours) == len(units)
    assert ours == theirs


@pytest.mark.skipif(TCPDUMP is None, reason="tcpdump is not installed")
@pytest.mark.parametrize("e", ["<", ">"])
@pytest.mark.parametrize("nsec", [False, True])
def test_hand_made_pcap_agrees_with_libpcap(tmp_path, e, nsec):
    data = pcap_header(e, nsec, 101, 65535)
    for i in range(4):
        data += pcap_record(e, 1_700_000_000 + i, 999_999 - i, ip_packet(i))
    path = tmp_path / "hand.pcap"
    path.write_bytes(data)
    res = subprocess.run([TCPDUMP, "-r", str(path), "-nn", "-tt", "--time-stamp-precision=nano"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    theirs = [int(line.split()[0].replace(".", "")) for line in res.stdout.splitlines()]
    recs = list(read_capture(path))
    assert [r.ts_ns for r in recs] == theirs and len(theirs) == 4
    assert [r.data for r in recs] == [ip_packet(i) for i in range(4)]
