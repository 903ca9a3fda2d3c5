"""Files built by hand with struct (pktcap_craft): both byte orders, every block type,
timestamp resolutions, and every way a file can be truncated or corrupt."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.capture import read_capture
from pkttables.errors import CaptureError, PktError

from pktcap_craft import block, endofopt, epb, idb, opb, opt, pcap_header, pcap_record, shb, spb

SEC = 1_700_000_000


def read_all(data: bytes, name: str = "f.bin"):
    """(records, error) from reading ``data``; error is None or the CaptureError."""
    f = io.BytesIO(data)
    f.name = name
    out = []
    try:
        for rec in read_capture(f):
            out.append(rec)
    except CaptureError as exc:
        return out, exc
    return out, None


# ------------------------------------------------------------------ pcap, both byte orders

@pytest.mark.parametrize("e", ["<", ">"])
@pytest.mark.parametrize("nsec", [False, True])
def test_pcap_byte_orders_and_resolutions(e, nsec):
    data = pcap_header(e, nsec, 113) + pcap_record(e, SEC, 999_999, b"abc", 70) + pcap_record(e, SEC + 1, 1, b"")
    recs, err = read_all(data)
    assert err is None
    scale = 1 if nsec else 1000
    assert [(r.ts_ns, r.data, r.orig_len, r.linktype) for r in recs] == [
        (SEC * 10**9 + 999_999 * scale, b"abc", 70, 113), (SEC * 10**9 + 10**9 + scale, b"", 0, 113)]


def test_pcap_fcs_bits_are_not_the_linktype():
    hdr = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1 | (0x14 << 26))
    (rec,), err = read_all(hdr + pcap_record("<", 1, 2, b"x"))
    assert err is None and rec.linktype == 1


# ------------------------------------------------------------------ pcapng, the block zoo

def zoo() -> tuple[bytes, list[tuple[int, int]], list[tuple]]:
    """A pcapng with two sections (LE, then BE) and every block type.

    Returns the bytes, the (start, end) of every block, and the expected
    (ts_ns, data, orig_len, linktype, ifname, interface_id, direction) per packet.
    """
    blocks: list[bytes] = []
    want: list[tuple] = []
    le, be = "<", ">"
    blocks.append(shb(le, options=opt(le, 4, b"handmade") + endofopt(le)))
    blocks.append(idb(le, 1, 1500, name="eth0"))                                 # µs, default
    blocks.append(idb(le, 276, 0, name="any", tsresol=9, tsoffset=-10))         # ns, offset
    blocks.append(idb(le, 101, 0, tsresol=0x80 | 20))                            # 2**-20 s
    blocks.append(idb(le, 229, 0, name="v6", tsresol=12))                        # ps: floored
    blocks.append(epb(le, 0, SEC * 10**6 + 7, b"A" * 5, 99))
    want.append((SEC * 10**9 + 7000, b"A" * 5, 99, 1, "eth0", 0, None))
    blocks.append(block(le, 4, struct.pack("<HH", 1, 4) + b"\x0a\0\0\x01" + b"\0" * 4))  # NRB
    blocks.append(epb(le, 1, 5_000_000_001, b"B" * 6, flags=1, comment="hello"))
    want.append((5_000_000_001 - 10 * 10**9, b"B" * 6, 6, 276, "any", 1, "in"))
    blocks.append(block(le, 5, struct.pack("<III", 1, 0, 0)))                    # ISB
    blocks.append(epb(le, 2, 3 * 2**20 + 2**19, b"C", flags=2 | (1 << 8)))        # 3.5 s
    want.append((3_500_000_000, b"C", 1, 101, None, 2, "out"))
    blocks.append(epb(le, 3, 1_234_567, b"D" * 8, flags=3))                      # 1234567 ps
    want.append((1_234, b"D" * 8, 8, 229, "v6", 3, None))
    blocks.append(block(le, 0x0A, b"\0" * 8))                                    # DSB
    blocks.append(block(le, 0x00000BAD, b"\x01\x02\x03\x04custom!!"))             # custom block
    blocks.append(block(le, 0x80000001, b""))                                    # local use
    blocks.append(spb(le, b"E" * 7))                                             # SPB: no timestamp
    want.append((0, b"E" * 7, 7, 1, "eth0", 0, None))
    blocks.append(opb(le, 1, 42, b"F" * 3, flags=2))
    want.append((42 - 10 * 10**9, b"F" * 3, 3, 276, "any", 1, "out"))
    # Second section, big-endian: interfaces start over.
    blocks.append(shb(be))
    blocks.append(idb(be, 228, 9, name="ppp0", tsresol=3))                       # ms, snaplen 9
    blocks.append(epb(be, 0, 1500, b"G" * 4, flags=1))
    want.append((1_500_000_000, b"G" * 4, 4, 228, "ppp0", 0, "in"))
    blocks.append(spb(be, b"H" * 9, 1000))                                       # cut by snaplen
    want.append((0, b"H" * 9, 1000, 228, "ppp0", 0, None))
    spans, pos = [], 0
    for b in blocks:
        spans.append((pos, pos + len(b)))
        pos += len(b)
    return b"".join(blocks), spans, want


def fields(r):
    return (r.ts_ns, r.data, r.orig_len, r.linktype, r.ifname, r.interface_id, r.direction)


def test_pcapng_block_zoo():
    data, _spans, want = zoo()
    recs, err = read_all(data)
    assert err is None
    assert [fields(r) for r in recs] == want
    assert [r.index for r in recs] == list(range(len(want)))


def test_pcapng_sections_forget_interfaces():
    le = "<"
    data = shb(le) + idb(le, 1) + idb(le, 1) + epb(le, 1, 1, b"x") + shb(">") + idb(">", 1) + epb(">", 1, 1, b"y")
    recs, err = read_all(data)
    assert [r.data for r in recs] == [b"x"]
    assert err is not None and err.offset == len(data) - len(epb(">", 1, 1, b"y"))
    assert "interface 1" in str(err)


# ------------------------------------------------------------------ truncation at every byte

def small_pcap() -> tuple[bytes, list[tuple[int, int]]]:
    e = "<"
    recs = [pcap_record(e, SEC, i, bytes([i]) * (i * 3)) for i in range(5)]
    data, spans, pos = pcap_header(e, False, 1), [], 24
    for r in recs:
        spans.append((pos, pos + len(r)))
        pos += len(r)
        data += r
    return data, spans


def check_every_truncation(data: bytes, spans: list[tuple[int, int]], header_end: int, packets_per_span):
    full, err = read_all(data)
    assert err is None
    for cut in range(len(data)):
        recs, err = read_all(data[:cut], "cut.bin")
        complete = [i for i, (_s, end) in enumerate(spans) if end <= cut]
        n_good = sum(packets_per_span[i] for i in complete)
        assert recs == full[:n_good], cut
        if cut in [end for _s, end in spans] or (cut == header_end and header_end):
            assert err is None, cut
            continue
        assert err is not None, cut
        if cut < header_end or cut == 0:
            expect = 0
        else:
            expect = next(s for s, end in spans if s <= cut < end)
        assert err.offset == expect, (cut, err)
        assert err.path == "cut.bin"
        assert "cut.bin" in str(err) and f"offset {expect}" in str(err)


def test_pcap_every_truncation():
    data, spans = small_pcap()
    check_every_truncation(data, spans, 24, [1] * len(spans))


def test_pcapng_every_truncation():
    data, spans, want = zoo()
    full, _ = read_all(data)
    # which blocks carry packets: the ones whose start matches a yielded packet's order
    carries = [0] * len(spans)
    count = 0
    for i in range(len(spans)):
        before = len(read_all(data[: spans[i][1]])[0])
        carries[i] = before - count
        count = before
    assert count == len(want)
    check_every_truncation(data, spans, 0, carries)


def test_empty_file_and_tiny_files(tmp_path):
    p = tmp_path / "empty.pcap"
    p.write_bytes(b"")
    with pytest.raises(CaptureError) as ei:
        list(read_capture(p))
    assert ei.value.offset == 0 and "empty" in str(ei.value) and str(p) in str(ei.value)
    for tiny in (b"\xd4", b"\xd4\xc3\xb2\xa1\x02\x00"):
        _, err = read_all(tiny)
        assert err.offset == 0 and "truncated" in str(err)


def test_missing_file_is_a_capture_error(tmp_path):
    with pytest.raises(CaptureError) as ei:
        list(read_capture(tmp_path / "nope.pcap"))
    assert "nope.pcap" in str(ei.value)


def test_capture_error_is_a_pkterror():
    _, err = read_all(b"GIF89a....")
    assert isinstance(err, PktError) and err.offset == 0 and "unknown magic" in str(err)


# ------------------------------------------------------------------ corrupt files

GOOD_LE = shb("<") + idb("<", 1) + epb("<", 0, 1, b"good")
BAD_AT = len(GOOD_LE)


@pytest.mark.parametrize("bad, words", [
    (block("<", 6, bytes(40), trailer=48), "mismatch"),
    (struct.pack("<II", 6, 34) + bytes(30), "length 34"),
    (struct.pack("<II", 1, 8) + bytes(8), "length 8"),
    (block("<", 6, bytes(16)), "length 28"),
    (struct.pack("<II", 6, 0x7FFFFFF0) + bytes(40), "length"),
    (epb("<", 1, 1, b"x"), "interface 1"),
    (opb("<", 5, 1, b"x"), "interface 5"),
    (block("<", 6, struct.pack("<IIIII", 0, 0, 0, 100, 100) + bytes(8)), "captured length 100"),
    (block("<", 1, struct.pack("<HHI", 1, 0, 0) + struct.pack("<HH", 2, 100) + b"eth0"), "runs past"),
    (idb("<", 1, extra=opt("<", 9, b"\x06\x06")), "if_tsresol"),
    (idb("<", 1, extra=opt("<", 14, b"\0" * 4)), "if_tsoffset"),
    (block("<", 6, struct.pack("<IIIII", 0, 0, 0, 1, 1) + b"x\0\0\0" + struct.pack("<HH", 2, 2) + b"\0" * 4), "flags"),
    (shb("<", major=2), "version 2"),
    (block("<", 0x0A0D0D0A, b"\x11\x22\x33\x44" + bytes(12)), "byte-order magic"),
    (block("<", 3, struct.pack("<I", 4) + b"abcd", length=12), "mismatch"),
])
def test_corrupt_block_after_good_packet(bad, words):
    recs, err = read_all(GOOD_LE + bad + epb("<", 0, 2, b"never"))
    assert [r.data for r in recs] == [b"good"]
    assert err is not None and err.offset == BAD_AT, err
    assert words in str(err)


@pytest.mark.parametrize("make", [epb, opb])
def test_caplen_above_interface_snaplen(make):
    """As libpcap: a packet longer than its interface's (non-zero) snaplen is corrupt."""
    data = shb("<") + idb("<", 1, 50) + idb("<", 1, 0) + make("<", 1, 1, bytes(100)) + make("<", 0, 1, bytes(50))
    bad_at = len(data)
    recs, err = read_all(data + make("<", 0, 1, bytes(51)))
    assert [len(r.data) for r in recs] == [100, 50]
    assert err.offset == bad_at and "snaplen 50" in str(err)


def test_spb_without_interface():
    recs, err = read_all(shb("<") + spb("<", b"x"))
    assert recs == [] and err.offset == 28 and "interface" in str(err)


def test_pcap_absurd_caplen():
    e = "<"
    data = pcap_header(e, True, 1, 65535) + pcap_record(e, 1, 1, b"ok")
    bad_at = len(data)
    data += struct.pack("<IIII", 1, 1, 300 << 20, 60) + bytes(100)
    recs, err = read_all(data)
    assert [r.data for r in recs] == [b"ok"]
    assert err.offset == bad_at and "caplen" in str(err)


def test_pcap_unsupported_version():
    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 3, 0, 0, 0, 65535, 1)
    _, err = read_all(data)
    assert err is not None and "version" in str(err)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_files_never_crash(data):
    base = data.draw(st.sampled_from([zoo()[0], small_pcap()[0]]))
    buf = bytearray(base)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(buf)))
    recs, err = read_all(bytes(buf[:cut]))
    assert err is None or 0 <= err.offset < cut or cut == 0


@pytest.mark.parametrize("e", ["<", ">"])
def test_epb_option_layouts(e):
    """epb_flags alone, with opt_endofopt (the inline fast path), and among other options."""
    def epb_raw(opts: bytes) -> bytes:
        return block(e, 6, struct.pack(e + "IIIII", 0, 0, 5, 3, 3) + b"abc\0" + opts)
    flags = lambda v: opt(e, 2, struct.pack(e + "I", v))  # noqa: E731
    data = shb(e) + idb(e, 1, tsresol=9) + b"".join([
        epb_raw(flags(1)),                                       # no opt_endofopt
        epb_raw(flags(2) + endofopt(e)),                         # fast path
        epb_raw(opt(e, 1, b"hi") + flags(1) + endofopt(e)),      # comment first
        epb_raw(flags(2) + opt(e, 1, b"") + endofopt(e)),        # something after
        epb_raw(opt(e, 1, b"x" * 4) + endofopt(e)),              # no flags: 12 bytes, not flags
        epb_raw(flags(0) + endofopt(e)),
        epb_raw(flags(3 | 0xFF00) + endofopt(e)),                # 3 is reserved
    ])
    recs, err = read_all(data)
    assert err is None
    assert [r.direction for r in recs] == ["in", "out", "in", "out", None, None, None]
    assert {(r.data, r.ts_ns) for r in recs} == {(b"abc", 5)}
