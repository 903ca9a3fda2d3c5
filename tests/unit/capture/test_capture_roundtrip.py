"""Write with our writers, read with our reader: every field survives."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.capture import (CaptureRecord, LinkType, PcapngWriter, PcapWriter, iter_batches, open_writer,
                               read_capture)

LINKTYPES = [LinkType.ETHERNET, LinkType.RAW, LinkType.IPV4, LinkType.IPV6, LinkType.LINUX_SLL,
             LinkType.LINUX_SLL2]
T0 = 1_700_000_000_123_456_789


@pytest.mark.parametrize("linktype", LINKTYPES)
@pytest.mark.parametrize("nanosecond", [True, False])
def test_pcap_round_trip(tmp_path, linktype, nanosecond):
    path = tmp_path / "x.pcap"
    pkts = [(bytes([i]) * (20 + i), T0 + i * 1_000_003) for i in range(10)]
    with PcapWriter(path, linktype, nanosecond=nanosecond) as w:
        for data, ts in pkts:
            w.write(data, ts, orig_len=len(data) + 4)
    recs = list(read_capture(path))
    assert len(recs) == 10
    for i, (rec, (data, ts)) in enumerate(zip(recs, pkts)):
        assert isinstance(rec, CaptureRecord)
        assert rec.data == data
        assert rec.ts_ns == (ts if nanosecond else ts // 1000 * 1000)
        assert rec.orig_len == len(data) + 4
        assert rec.linktype == linktype
        assert (rec.ifname, rec.interface_id, rec.direction, rec.index) == (None, 0, None, i)


@pytest.mark.parametrize("linktype", LINKTYPES)
@pytest.mark.parametrize("tsresol_ns", [True, False])
def test_pcapng_round_trip(tmp_path, linktype, tsresol_ns):
    path = tmp_path / "x.pcapng"
    with PcapngWriter(path) as w:
        assert w.add_interface("eth0", linktype, tsresol_ns=tsresol_ns) == 0
        for i in range(7):
            w.write(0, bytes([i]) * (13 + i), T0 + i, direction=[None, "in", "out"][i % 3])
    recs = list(read_capture(path))
    assert [r.data for r in recs] == [bytes([i]) * (13 + i) for i in range(7)]
    assert [r.ts_ns for r in recs] == [(T0 + i) if tsresol_ns else (T0 + i) // 1000 * 1000 for i in range(7)]
    assert [r.direction for r in recs] == [None, "in", "out"] * 2 + [None]
    assert {(r.linktype, r.ifname, r.interface_id) for r in recs} == {(linktype, "eth0", 0)}
    assert [r.index for r in recs] == list(range(7))


def test_pcapng_several_interfaces(tmp_path):
    path = tmp_path / "multi.pcapng"
    with PcapngWriter(path) as w:
        ids = [w.add_interface("eth0", LinkType.ETHERNET), w.add_interface("any", LinkType.LINUX_SLL2),
               w.add_interface(None, LinkType.RAW, tsresol_ns=False)]
        assert ids == [0, 1, 2]
        for i in range(9):
            w.write(i % 3, b"p%d" % i, T0 + i * 1000, direction="out" if i % 3 == 1 else None)
    recs = list(read_capture(path))
    assert [(r.interface_id, r.ifname, r.linktype) for r in recs[:3]] == [
        (0, "eth0", 1), (1, "any", 276), (2, None, 101)]
    assert [r.direction for r in recs] == [None, "out", None] * 3
    assert [r.data for r in recs] == [b"p%d" % i for i in range(9)]
    # interface 2 counts microseconds: its timestamps lose the last three digits
    assert [r.ts_ns for r in recs] == [(T0 + i * 1000) // (1000 if i % 3 == 2 else 1) * (1000 if i % 3 == 2 else 1)
                                       for i in range(9)]


def test_snaplen_truncates_and_keeps_orig_len(tmp_path):
    for path in (tmp_path / "s.pcap", tmp_path / "s.pcapng"):
        with open_writer(path, LinkType.RAW, snaplen=64) as w:
            if isinstance(w, PcapWriter):
                w.write(bytes(100), 5)
            else:
                w.write(0, bytes(100), 5)
        (rec,) = read_capture(path)
        assert (len(rec.data), rec.orig_len, rec.ts_ns) == (64, 100, 5)


def test_open_writer_by_suffix(tmp_path):
    assert isinstance(open_writer(tmp_path / "a.pcap"), PcapWriter)
    w = open_writer(tmp_path / "a.pcapng", LinkType.IPV6, ifname="wg0")
    assert isinstance(w, PcapngWriter)
    w.write(0, b"\x60" + bytes(39), 1)
    w.close()
    (rec,) = read_capture(tmp_path / "a.pcapng")
    assert (rec.ifname, rec.linktype) == ("wg0", 229)
    with pytest.raises(ValueError):
        open_writer(tmp_path / "a.txt")


def test_write_record_copies_between_formats(tmp_path):
    src = tmp_path / "src.pcapng"
    with PcapngWriter(src) as w:
        w.add_interface("a", LinkType.ETHERNET)
        w.add_interface("b", LinkType.RAW)
        for i in range(6):
            w.write(i % 2, b"x" * (i + 1), T0 + i, direction="in" if i % 2 else "out")
    dst = tmp_path / "dst.pcapng"
    with PcapngWriter(dst) as w:
        for rec in read_capture(src):
            w.write_record(rec)
    strip = lambda r: r._replace(index=0)  # noqa: E731
    assert [strip(r) for r in read_capture(dst)] == [strip(r) for r in read_capture(src)]


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    w = PcapWriter(buf, LinkType.IPV4)
    w.write(b"\x45" + bytes(19), 1_000_000_001)
    w.close()
    assert not buf.closed                     # a caller's file is flushed, not closed
    buf.seek(0)
    (rec,) = read_capture(buf)
    assert rec.ts_ns == 1_000_000_001 and rec.linktype == 228


def test_batches(tmp_path):
    path = tmp_path / "b.pcap"
    with PcapWriter(path, LinkType.RAW) as w:
        for i in range(10_000):
            w.write(i.to_bytes(4, "big"), i)
    batches = list(iter_batches(path, size=3000))
    assert [len(b) for b in batches] == [3000, 3000, 3000, 1000]
    assert list(read_capture(path, batch=True))[0][0] == batches[0][0]
    flat = [r for b in batches for r in b]
    assert [r.index for r in flat] == list(range(10_000))
    assert flat == list(read_capture(path))


def test_writer_rejects_bad_arguments(tmp_path):
    with PcapngWriter(tmp_path / "e.pcapng") as w:
        with pytest.raises(ValueError):
            w.write(0, b"x", 1)               # no interface yet
        w.add_interface("e", 1)
        with pytest.raises(ValueError):
            w.write(0, b"x", 1, direction="sideways")
        with pytest.raises(ValueError):
            w.write(0, b"x", -1)
    with PcapWriter(tmp_path / "e.pcap", 1) as w:
        with pytest.raises(ValueError):
            w.write(b"x", (1 << 33) * 10**9)


records_st = st.lists(
    st.tuples(st.binary(max_size=300), st.integers(0, 2**32 * 10**9 - 1), st.integers(0, 2**32 - 1),
              st.sampled_from([None, "in", "out"]), st.integers(0, 2)),
    max_size=30)


@settings(max_examples=60, deadline=None)
@given(records_st, st.booleans())
def test_hypothesis_pcapng_round_trip(records, ns):
    buf = io.BytesIO()
    with PcapngWriter(buf) as w:
        for k, name in enumerate(["eth0", "eth1", "lo"]):
            w.add_interface(name, LINKTYPES[k], tsresol_ns=ns)
        for data, ts, olen, direction, ifid in records:
            w.write(ifid, data, ts, direction=direction, orig_len=olen)
    buf.seek(0)
    got = list(read_capture(buf))
    assert [(r.data, r.ts_ns, r.orig_len, r.direction, r.interface_id, r.linktype, r.ifname) for r in got] == [
        (d, ts if ns else ts // 1000 * 1000, olen, direction, ifid, LINKTYPES[ifid], ["eth0", "eth1", "lo"][ifid])
        for d, ts, olen, direction, ifid in records]


@settings(max_examples=60, deadline=None)
@given(records_st, st.booleans(), st.sampled_from(LINKTYPES))
def test_hypothesis_pcap_round_trip(records, ns, linktype):
    buf = io.BytesIO()
    with PcapWriter(buf, linktype, nanosecond=ns) as w:
        for data, ts, olen, _direction, _ifid in records:
            w.write(data, ts, orig_len=olen)
    buf.seek(0)
    got = list(read_capture(buf))
    assert [(r.data, r.ts_ns, r.orig_len, r.linktype, r.index) for r in got] == [
        (d, ts if ns else ts // 1000 * 1000, olen, linktype, i) for i, (d, ts, olen, _, _) in enumerate(records)]
