"""The reader streams: memory stays bounded by the chunk size, not the file size, and
records that straddle chunk boundaries (or are bigger than a chunk) come out whole."""

from __future__ import annotations

import hashlib
import tracemalloc

import pytest

import pkttables.capture as capture
from pkttables.capture import LinkType, PcapngWriter, PcapWriter, iter_batches, read_capture
from pkttables.capture._reader import CHUNK

N = 50_000
SIZE = 500          # 50k x ~520 bytes: a ~25 MiB file, far above the reader's working set


def payload(i: int) -> bytes:
    return i.to_bytes(4, "big") * (SIZE // 4)


@pytest.fixture(scope="module", params=["pcap", "pcapng"])
def big_capture(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / f"big.{request.param}"
    if request.param == "pcap":
        with PcapWriter(path, LinkType.ETHERNET) as w:
            for i in range(N):
                w.write(payload(i), i * 1000)
    else:
        with PcapngWriter(path) as w:
            w.add_interface("eth0", LinkType.ETHERNET)
            for i in range(N):
                w.write(0, payload(i), i * 1000, direction="in" if i & 1 else None)
    assert path.stat().st_size > 20 * CHUNK
    return path


def test_memory_does_not_grow_with_the_file(big_capture):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        count = 0
        digest = hashlib.sha256()
        for rec in read_capture(big_capture):
            if rec.index % 997 == 0:
                digest.update(rec.data)
            count += 1
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert count == N
    size = big_capture.stat().st_size
    # A chunk, the records made from it and the next joined buffer: a few MiB at most.
    assert peak < 8 * CHUNK < size / 2, (peak, size)
    expect = hashlib.sha256()
    for i in range(0, N, 997):
        expect.update(payload(i))
    assert digest.hexdigest() == expect.hexdigest()


def test_records_across_chunk_boundaries_are_exact(big_capture):
    last = -1
    for batch in iter_batches(big_capture, size=1000):
        assert 0 < len(batch) <= 1000
        for rec in batch:
            assert rec.index == last + 1
            last = rec.index
            assert rec.data == payload(rec.index)
            assert rec.ts_ns == rec.index * 1000
    assert last == N - 1


@pytest.mark.parametrize("suffix", ["pcap", "pcapng"])
def test_record_bigger_than_a_chunk(tmp_path, suffix):
    path = tmp_path / f"huge.{suffix}"
    big = bytes(range(256)) * (3 * CHUNK // 256 + 7)
    with capture.open_writer(path, LinkType.RAW, snaplen=len(big) + 1) as w:
        args = (big, 1) if suffix == "pcap" else (0, big, 1)
        w.write(*args)
        w.write(*((b"small", 2) if suffix == "pcap" else (0, b"small", 2)))
    recs = list(read_capture(path))
    assert [r.data for r in recs] == [big, b"small"]


def test_reads_from_a_pipe(big_capture):
    """Pipes give short reads: the reader must keep reading, not see a truncation."""
    import subprocess
    with subprocess.Popen(["cat", str(big_capture)], stdout=subprocess.PIPE) as proc:
        count = sum(1 for rec in read_capture(proc.stdout.raw) if rec.data == payload(rec.index))
    assert count == N
