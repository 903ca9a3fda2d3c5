"""A synthetic capture for measuring read rates (``pkt bench``): ``count`` packets of
``size`` bytes, 1 µs apart, one interface.  Not a traffic generator: the bytes are a
fixed pattern, only the timestamps and one counter byte change."""

from __future__ import annotations

import os

from ._record import LinkType
from ._writer import PcapngWriter, PcapWriter


def write_synthetic(path: str | os.PathLike, count: int = 1_000_000, *, size: int = 60,
                    pcapng: bool | None = None, nanosecond: bool = True) -> None:
    if pcapng is None:
        pcapng = os.fspath(path).endswith(".pcapng")
    base = bytearray(range(256)) * (size // 256 + 1)
    t0 = 1_700_000_000 * 1_000_000_000
    if pcapng:
        with PcapngWriter(path) as w:
            w.add_interface("eth0", LinkType.ETHERNET, tsresol_ns=nanosecond)
            for i in range(count):
                base[0] = i & 0xFF
                w.write(0, bytes(base[:size]), t0 + i * 1000)
    else:
        with PcapWriter(path, LinkType.ETHERNET, nanosecond=nanosecond) as w:
            for i in range(count):
                base[0] = i & 0xFF
                w.write(bytes(base[:size]), t0 + i * 1000)
