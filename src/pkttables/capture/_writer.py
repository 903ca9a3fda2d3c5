"""Streaming pcap and pcapng writers.

Each ``write`` packs one record header and hands header and data to the file; nothing
is kept but the file object (which buffers in the usual way), so a writer can emit a
capture of any size.  Writers opened on a path own the file and close it; writers given
a file object only flush it.
"""

from __future__ import annotations

import io
import os
import struct
from typing import BinaryIO

from ._reader import BT_EPB, BT_IDB, BT_SHB, OPT_EPB_FLAGS, OPT_IF_NAME, OPT_IF_TSRESOL
from ._record import CaptureRecord, Direction, LinkType

__all__ = ["PcapWriter", "PcapngWriter", "open_writer"]

DEFAULT_SNAPLEN = 262144
_NS = 1000000000
_U32 = 0xFFFFFFFF
_ZEROS = bytes(4)


def _open_out(path_or_file) -> tuple[BinaryIO, bool]:
    if hasattr(path_or_file, "write"):
        return path_or_file, False
    return open(os.fspath(path_or_file), "wb", buffering=io.DEFAULT_BUFFER_SIZE * 16), True


class _Writer:
    _f: BinaryIO
    _owned: bool

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        if self._f is None:
            return
        try:
            if self._owned:
                self._f.close()
            else:
                self._f.flush()
        finally:
            self._f = None


class PcapWriter(_Writer):
    """Write a classic pcap file (draft-ietf-opsawg-pcap), little-endian.

    ``nanosecond=True`` writes the 0xa1b23c4d magic and nanosecond timestamps;
    ``False`` the classic 0xa1b2c3d4 with microseconds (``ts_ns`` is floored to µs).
    Data longer than ``snaplen`` is truncated, its ``orig_len`` kept.
    """

    def __init__(self, path_or_file, linktype: int = LinkType.ETHERNET, *, nanosecond: bool = True,
                 snaplen: int = DEFAULT_SNAPLEN):
        if not 0 <= int(linktype) <= 0xFFFF:
            raise ValueError(f"link type {linktype} out of range")
        if not 0 < snaplen <= _U32:
            raise ValueError(f"snaplen {snaplen} out of range")
        self.linktype = int(linktype)
        self.nanosecond = nanosecond
        self.snaplen = snaplen
        self._div = 1 if nanosecond else 1000
        self._pack = struct.Struct("<IIII").pack
        self._f, self._owned = _open_out(path_or_file)
        magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
        self._f.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, self.linktype))

    def write(self, data: bytes, ts_ns: int, orig_len: int | None = None) -> None:
        sec, frac = divmod(ts_ns, _NS)
        if not 0 <= sec <= _U32:
            raise ValueError(f"timestamp {ts_ns} ns does not fit in a pcap record")
        if orig_len is None:
            orig_len = len(data)
        if len(data) > self.snaplen:
            data = data[: self.snaplen]
        f = self._f
        f.write(self._pack(sec, frac // self._div, len(data), orig_len))
        f.write(data)

    def write_record(self, rec: CaptureRecord) -> None:
        """Write a record read from any capture (its interface and direction are lost)."""
        self.write(rec.data, rec.ts_ns, rec.orig_len)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + _ZEROS[: -len(value) & 3]


class PcapngWriter(_Writer):
    """Write a pcapng file (draft-ietf-opsawg-pcapng), one little-endian section.

    Interfaces are declared with :meth:`add_interface` before packets use them;
    packets go out as Enhanced Packet Blocks, with an ``epb_flags`` option when a
    direction is given.
    """

    def __init__(self, path_or_file, *, userappl: str = "pkttables"):
        self._f, self._owned = _open_out(path_or_file)
        self._ifaces: list[tuple[int, int, str | None, int]] = []   # (div, snaplen, name, linktype)
        self._by_key: dict[tuple[str | None, int], int] = {}
        self._epb = struct.Struct("<IIIIIII").pack
        opts = _option(4, userappl.encode()) + _option(0, b"")       # shb_userappl
        body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + opts    # section length unknown
        self._block(BT_SHB, body)

    def _block(self, btype: int, body: bytes) -> None:
        blen = 12 + len(body)
        self._f.write(struct.pack("<II", btype, blen) + body + struct.pack("<I", blen))

    def add_interface(self, name: str | None, linktype: int = LinkType.ETHERNET, snaplen: int = DEFAULT_SNAPLEN,
                      tsresol_ns: bool = True) -> int:
        """Declare an interface; returns its id (0, 1, ...) for :meth:`write`."""
        if not 0 <= int(linktype) <= 0xFFFF:
            raise ValueError(f"link type {linktype} out of range")
        if not 0 <= snaplen <= _U32:
            raise ValueError(f"snaplen {snaplen} out of range")
        opts = b""
        if name is not None:
            opts += _option(OPT_IF_NAME, name.encode())
        if tsresol_ns:
            opts += _option(OPT_IF_TSRESOL, b"\x09")
        if opts:
            opts += _option(0, b"")
        self._block(BT_IDB, struct.pack("<HHI", int(linktype), 0, snaplen) + opts)
        self._ifaces.append((1 if tsresol_ns else 1000, snaplen, name, int(linktype)))
        iface_id = len(self._ifaces) - 1
        self._by_key.setdefault((name, int(linktype)), iface_id)
        return iface_id

    def write(self, interface_id: int, data: bytes, ts_ns: int, *, direction: str | None = None,
              orig_len: int | None = None) -> None:
        try:
            div, snaplen, _name, _lt = self._ifaces[interface_id]
        except (IndexError, TypeError):
            raise ValueError(f"interface {interface_id} was not added") from None
        if ts_ns < 0:
            raise ValueError(f"timestamp {ts_ns} ns is before the epoch")
        ts = ts_ns // div
        if orig_len is None:
            orig_len = len(data)
        if snaplen and len(data) > snaplen:
            data = data[:snaplen]
        cap = len(data)
        pad = -cap & 3
        if direction is None:
            opts = b""
        else:
            try:
                flags = Direction.CODES[direction]
            except KeyError:
                raise ValueError(f"direction must be 'in', 'out' or None, not {direction!r}") from None
            opts = struct.pack("<HHIHH", OPT_EPB_FLAGS, 4, flags, 0, 0)
        blen = 32 + cap + pad + len(opts)
        f = self._f
        f.write(self._epb(BT_EPB, blen, interface_id, (ts >> 32) & _U32, ts & _U32, cap, orig_len))
        f.write(data)
        f.write(_ZEROS[:pad] + opts + blen.to_bytes(4, "little"))

    def write_record(self, rec: CaptureRecord) -> None:
        """Write a record read from any capture; its (ifname, linktype) picks or adds the interface."""
        key = (rec.ifname, rec.linktype)
        iface_id = self._by_key.get(key)
        if iface_id is None:
            iface_id = self.add_interface(rec.ifname, rec.linktype)
        self.write(iface_id, rec.data, rec.ts_ns, direction=rec.direction, orig_len=rec.orig_len)


_PCAP_SUFFIXES = (".pcap", ".cap", ".dmp")
_PCAPNG_SUFFIXES = (".pcapng", ".ntar")


def open_writer(path: str | os.PathLike, linktype: int = LinkType.ETHERNET, *, ifname: str | None = None,
                nanosecond: bool = True, snaplen: int = DEFAULT_SNAPLEN) -> PcapWriter | PcapngWriter:
    """A writer chosen by the file's suffix: ``.pcap`` -> :class:`PcapWriter`,
    ``.pcapng`` -> :class:`PcapngWriter` with one interface (id 0, ``ifname``,
    ``linktype``) already added.  Both take :meth:`write_record`; their ``write``
    signatures differ (pcapng's takes the interface id first).
    """
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix in _PCAP_SUFFIXES:
        return PcapWriter(path, linktype, nanosecond=nanosecond, snaplen=snaplen)
    if suffix in _PCAPNG_SUFFIXES:
        w = PcapngWriter(path)
        w.add_interface(ifname, linktype, snaplen=snaplen, tsresol_ns=nanosecond)
        return w
    raise ValueError(f"{os.fspath(path)}: unknown capture suffix {suffix!r}: use .pcap or .pcapng")
