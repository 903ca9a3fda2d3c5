"""pcap and pcapng captures: streaming read and write.

In: a capture file (pcap in either byte order, µs or ns; pcapng with any number of
sections and interfaces).  Out: :class:`CaptureRecord` values -- timestamp in ns,
captured bytes, original length, link type, interface name and id, direction, index.
And the reverse with :class:`PcapWriter` / :class:`PcapngWriter`.

This package knows nothing of the engine nor of packet parsing: bytes in, bytes out.
See ``docs/capture.md``.
"""

from ._reader import iter_batches, measure_read_rate, read_capture
from ._record import CaptureRecord, LinkType
from ._writer import PcapngWriter, PcapWriter, open_writer

__all__ = [
    "read_capture",
    "iter_batches",
    "measure_read_rate",
    "CaptureRecord",
    "LinkType",
    "PcapWriter",
    "PcapngWriter",
    "open_writer",
]
