"""compile_options(): the checks of __ip_options_compile() on receive."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.packet.checksum import internet_checksum
from pkttables.stack._ipopts import compile_options, forward_options

SPEC = bytes([10, 0, 0, 1])


def hdr(opts: bytes) -> bytearray:
    opts += b"\0" * (-len(opts) % 4)
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x40 | (5 + len(opts) // 4), 0, 20 + len(opts), 1, 0, 64, 17,
                              0, bytes(4), bytes(4)) + opts)
    struct.pack_into("!H", h, 10, internet_checksum(h))
    return h


def run(opts: bytes, pre=b"\0" * 2):
    b = bytearray(pre) + hdr(opts)
    return compile_options(b, len(pre), SPEC, lambda a: True, 1234), b[len(pre):]


def test_errors_point_at_the_bad_byte():
    assert run(b"\x1e\x01")[0].error == 20
    assert run(b"\x1e\x08\x00\x00")[0].error == 20
    assert run(b"\x01\x01\x01\x44")[0].error == 23
    assert run(b"\x07\x07\x03" + bytes(4))[0].error == 22
    assert run(b"\x07\x02")[0].error == 21
    assert run(b"\x44\x04\x05\xf0")[0].error == 23
    assert run(b"\x83\x03\x04\x83\x03\x04")[0].error == 23
    assert run(b"\x94\x02")[0].error == 21
    assert run(b"\x01\x01\x00\x00")[0].error is None
    assert run(b"\x1e\x04ab")[0].error is None


def test_rewrites():
    r, b = run(b"\x00\x05\x06\x07")
    assert r.error is None and b[20:24] == bytes(4) and r.is_changed
    r, b = run(b"\x07\x07\x04" + bytes(4) + b"\x00")
    assert r.rr == 20 and r.rr_needaddr and b[23:27] == SPEC and b[22] == 8
    assert forward_options(b, 0, r, b"\x05\x06\x07\x08") and b[23:27] == b"\x05\x06\x07\x08"
    r, b = run(b"\x44\x04\x05\x20")
    assert r.error is None and b[23] == 0x30
    r, b = run(b"\x44\x0c\x05\x01" + bytes(8))
    assert r.ts_needaddr and b[24:28] == SPEC and b[28:32] == (1234).to_bytes(4, "big") and b[22] == 13
    r, _ = run(b"\x83\x07\x04" + bytes(4) + b"\x00")
    assert r.srr == 20 and r.error is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_never_raises_and_error_is_inside_the_options(opts):
    r, b = run(opts)
    ihl = (b[0] & 0xF) * 4
    assert r.error is None or 20 <= r.error < ihl
    assert len(b) == ihl
