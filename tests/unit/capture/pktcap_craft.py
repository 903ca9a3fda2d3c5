"""Hand-made pcap/pcapng bytes, built with struct from the drafts, independent of our writers.

Every builder takes the byte order (``"<"`` or ``">"``) first.  File builders return
``(data, spans)`` where ``spans`` lists ``(start, end, record_or_None)`` for every
record/block, so tests know where each one starts and which packet it carries.
"""

from __future__ import annotations

import struct


def pad4(b: bytes) -> bytes:
    return b + bytes(-len(b) & 3)


def opt(e: str, code: int, value: bytes) -> bytes:
    return struct.pack(e + "HH", code, len(value)) + pad4(value)


def endofopt(e: str) -> bytes:
    return struct.pack(e + "HH", 0, 0)


def block(e: str, btype: int, body: bytes, *, trailer: int | None = None, length: int | None = None) -> bytes:
    blen = 12 + len(body) if length is None else length
    return struct.pack(e + "II", btype, blen) + body + struct.pack(e + "I", blen if trailer is None else trailer)


def shb(e: str, major: int = 1, minor: int = 0, options: bytes = b"") -> bytes:
    return block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, major, minor, -1) + options)


def idb(e: str, linktype: int, snaplen: int = 0, *, name: str | None = None, tsresol: int | None = None,
        tsoffset: int | None = None, extra: bytes = b"") -> bytes:
    opts = b""
    if name is not None:
        opts += opt(e, 2, name.encode())
    if tsresol is not None:
        opts += opt(e, 9, bytes([tsresol]))
    if tsoffset is not None:
        opts += opt(e, 14, struct.pack(e + "q", tsoffset))
    opts += extra
    if opts:
        opts += endofopt(e)
    return block(e, 1, struct.pack(e + "HHI", linktype, 0, snaplen) + opts)


def epb(e: str, ifid: int, ts: int, data: bytes, orig_len: int | None = None, *, flags: int | None = None,
        comment: str | None = None) -> bytes:
    opts = b""
    if comment is not None:
        opts += opt(e, 1, comment.encode())
    if flags is not None:
        opts += opt(e, 2, struct.pack(e + "I", flags))
    if opts:
        opts += endofopt(e)
    olen = len(data) if orig_len is None else orig_len
    body = struct.pack(e + "IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF, len(data), olen) + pad4(data) + opts
    return block(e, 6, body)


def opb(e: str, ifid: int, ts: int, data: bytes, *, flags: int | None = None) -> bytes:
    opts = b""
    if flags is not None:
        opts = opt(e, 2, struct.pack(e + "I", flags)) + endofopt(e)
    body = struct.pack(e + "HHIIII", ifid, 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data)) + pad4(data) + opts
    return block(e, 2, body)


def spb(e: str, data: bytes, orig_len: int | None = None) -> bytes:
    return block(e, 3, struct.pack(e + "I", len(data) if orig_len is None else orig_len) + pad4(data))


def pcap_header(e: str, nsec: bool, linktype: int, snaplen: int = 65535) -> bytes:
    return struct.pack(e + "IHHiIII", 0xA1B23C4D if nsec else 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(e: str, sec: int, frac: int, data: bytes, orig_len: int | None = None) -> bytes:
    return struct.pack(e + "IIII", sec, frac, len(data), len(data) if orig_len is None else orig_len) + data
