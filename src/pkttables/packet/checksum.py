"""Internet checksums (RFC 1071), incremental updates (RFC 1624) and CRC32c (SCTP).

Theory of operation
-------------------
The Internet checksum is the one's complement of the one's complement sum of the data
taken as big-endian 16-bit words (an odd trailing byte is padded with a zero byte).
Since 2**16 == 1 (mod 0xffff), a byte string read as one big-endian integer N has

    N == sum of its 16-bit words    (mod 0xffff)

so the one's complement sum is ``N % 0xffff`` -- computed in C by ``int.from_bytes``
and one big-integer modulo, with no Python loop.  The only detail is the two zeros
of one's complement: an end-around-carry sum of words is 0 only when every word is 0,
otherwise a multiple of 0xffff is represented as 0xffff.  Example: the words 0xff00
and 0x00ff sum to 0xffff; N = 0xff0000ff = 0xffff * 0xff01, N % 0xffff = 0, so the
sum is 0xffff and the checksum ~0xffff = 0.

Incremental update (RFC 1624 eqn. 3): HC' = ~(~HC + ~m + m'), with every term a
one's complement sum; for several words ~m and m' are the sums of the old and new
words.  The result equals a full recomputation, with one exception: when the new data
is all zero a full recomputation gives 0xffff and eqn. 3 gives 0 (both mean zero).

The kernel's nft_payload_set adds one rule (``nft_csum_replace``): a result of 0 is
stored as 0xffff (CSUM_MANGLED_0).  Both represent zero, so verification still passes,
but the bytes differ; :func:`csum_replace` is plain RFC 1624 and the caller applies
CSUM_MANGLED_0 where the kernel does (see :meth:`Packet.mangle`).

SCTP uses CRC32c (RFC 4960 appendix B, RFC 3309) over the whole SCTP packet with the
checksum field zeroed, stored little-endian (the kernel's ``sctp_compute_cksum``).
"""

from __future__ import annotations

import struct

__all__ = [
    "ones_sum",
    "internet_checksum",
    "csum_replace",
    "csum_fold",
    "pseudo_header_v4",
    "pseudo_header_v6",
    "ipv4_header_checksum",
    "tcp_checksum",
    "udp_checksum",
    "udplite_checksum",
    "icmp_checksum",
    "icmpv6_checksum",
    "dccp_checksum",
    "gre_checksum",
    "crc32c",
    "sctp_checksum",
    "CSUM_MANGLED_0",
]

# include/net/checksum.h: what nft_payload / nf_nat store instead of a computed 0
CSUM_MANGLED_0 = 0xFFFF

_from_bytes = int.from_bytes


def ones_sum(data, start: int = 0, end: int | None = None) -> int:
    """One's complement sum of ``data[start:end]`` as 16-bit big-endian words: 0..0xffff."""
    if start or end is not None:
        data = memoryview(data)[start:end]
    n = _from_bytes(data, "big")
    if len(data) & 1:
        n <<= 8
    s = n % 0xFFFF
    if s == 0 and n:
        return 0xFFFF
    return s


def csum_fold(s: int) -> int:
    """Fold a wide one's complement accumulator to 16 bits (end-around carry)."""
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def internet_checksum(data, start: int = 0, end: int | None = None, initial: int = 0) -> int:
    """RFC 1071 checksum of ``data[start:end]``; ``initial`` is a partial sum to add
    (typically a pseudo-header sum from :func:`pseudo_header_v4`)."""
    s = ones_sum(data, start, end)
    if initial:
        s = csum_fold(s + initial)
    return ~s & 0xFFFF


def csum_replace(csum: int, old: bytes, new: bytes) -> int:
    """RFC 1624 eqn. 3: the checksum ``csum`` after ``old`` became ``new``.

    ``old`` and ``new`` have the same length and start at an even offset of the
    checksummed data (as the kernel's csum_partial assumes); an odd length is padded
    at the end.
    """
    s = (~csum & 0xFFFF) + (0xFFFF - ones_sum(old)) + ones_sum(new)
    return ~csum_fold(s) & 0xFFFF


def pseudo_header_v4(saddr, daddr, proto: int, length: int) -> int:
    """One's complement sum of the IPv4 pseudo-header (RFC 793 3.1, RFC 768)."""
    return csum_fold(ones_sum(saddr) + ones_sum(daddr) + proto + length)


def pseudo_header_v6(saddr, daddr, proto: int, length: int) -> int:
    """One's complement sum of the IPv6 pseudo-header (RFC 8200 8.1): the upper-layer
    length is 32 bits, the next header is the upper-layer protocol."""
    return csum_fold(ones_sum(saddr) + ones_sum(daddr) + (length >> 16) + (length & 0xFFFF) + proto)


def _csum_skipping(data, field: int, pseudo: int) -> int:
    """Checksum of ``data`` as if the 16-bit field at ``field`` were zero (no copy:
    the field's value is subtracted from the big integer, so the sum is exact, zero
    representation included)."""
    n = _from_bytes(data, "big")
    size = len(data)
    if field + 2 <= size:
        n -= ((data[field] << 8) | data[field + 1]) << (8 * (size - field - 2))
    if size & 1:
        n <<= 8
    s = n % 0xFFFF
    if s == 0 and n:
        s = 0xFFFF
    if pseudo:
        s = csum_fold(s + pseudo)
    return ~s & 0xFFFF


def ipv4_header_checksum(header) -> int:
    """Checksum of an IPv4 header (RFC 791), the checksum field (bytes 10-11) taken as 0."""
    return _csum_skipping(header, 10, 0)


def tcp_checksum(segment, pseudo: int) -> int:
    """TCP checksum of ``segment`` (header + data) with pseudo-header sum ``pseudo``."""
    return _csum_skipping(segment, 16, pseudo)


def udp_checksum(datagram, pseudo: int) -> int:
    """UDP checksum (RFC 768): a computed 0 is sent as 0xffff, 0 meaning "none"."""
    c = _csum_skipping(datagram, 6, pseudo)
    return c or 0xFFFF


def udplite_checksum(datagram, pseudo: int) -> int:
    """UDP-Lite checksum (RFC 3828 3.1): covers the first ``checksum coverage`` bytes
    (0 = the whole datagram); the pseudo-header length is the datagram length."""
    cov = (datagram[4] << 8) | datagram[5] if len(datagram) >= 6 else 0
    if cov == 0 or cov > len(datagram):
        cov = len(datagram)
    c = _csum_skipping(memoryview(datagram)[:cov], 6, pseudo)
    return c or 0xFFFF


def icmp_checksum(message) -> int:
    """ICMP checksum (RFC 792): over the message, no pseudo-header."""
    return _csum_skipping(message, 2, 0)


def icmpv6_checksum(message, pseudo: int) -> int:
    """ICMPv6 checksum (RFC 4443 2.3): over the message with the IPv6 pseudo-header."""
    return _csum_skipping(message, 2, pseudo)


def dccp_checksum(packet, pseudo: int) -> int:
    """DCCP checksum (RFC 4340 9): header plus the first (CsCov-1)*4 bytes of data,
    all of it when CsCov is 0, with the pseudo-header."""
    n = len(packet)
    if n >= 6:
        doff = packet[4] * 4
        cscov = packet[5] & 0x0F
        if cscov:
            n = min(n, doff + (cscov - 1) * 4)
    return _csum_skipping(memoryview(packet)[:n], 6, pseudo)


def gre_checksum(packet) -> int:
    """GRE checksum (RFC 2784): over the GRE header and payload, field at bytes 4-5."""
    return _csum_skipping(packet, 4, 0)


def _crc32c_table() -> tuple[int, ...]:
    # Castagnoli polynomial 0x1EDC6F41, reflected: 0x82F63B78
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC32C = _crc32c_table()


def crc32c(data, crc: int = 0) -> int:
    """CRC32c (Castagnoli) of ``data``, continuing from ``crc`` (0 to start)."""
    table = _CRC32C
    c = ~crc & 0xFFFFFFFF
    for b in bytes(data):
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return ~c & 0xFFFFFFFF


def sctp_checksum(packet) -> bytes:
    """The 4 checksum bytes of an SCTP packet (common header + chunks): CRC32c over
    it with the checksum field (bytes 8-11) zeroed, little-endian as in the kernel's
    sctp_compute_cksum."""
    mv = memoryview(packet)
    c = crc32c(mv[:8])
    c = crc32c(b"\0\0\0\0", c)
    c = crc32c(mv[12:], c)
    return struct.pack("<I", c)
