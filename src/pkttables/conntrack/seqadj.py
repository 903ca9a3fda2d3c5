"""TCP sequence adjustment (net/netfilter/nf_conntrack_seqadj.c).

When NAT rewrites an address inside a helper's payload (``PORT 10,0,0,1,...`` becomes
``PORT 203,0,113,2,...``), the segment grows or shrinks, and from then on every
sequence number of that direction, and every acknowledgement of the other one, is off
by the accumulated difference.  The kernel keeps, per direction, where the last change
happened and the offsets before and after it::

    correction_pos   seq of the segment whose payload was resized
    offset_before    total offset of the bytes before it
    offset_after     total offset from it on (offset_before + this change)

A packet's SEQ gets ``offset_after`` if it is after ``correction_pos``, else
``offset_before``; its ACK (which acknowledges the *other* direction's adjusted
numbers) is mapped back with the other direction's offsets, as are SACK blocks.  The
TCP window tracker asks :func:`seq_offset` to compare an ACK with what was really sent.

API, for NAT and userspace helpers (``ct`` a :class:`~pkttables.conntrack.Conn`,
``ctinfo`` the packet's :class:`~pkttables.conntrack.CtInfo`)::

    seqadj_init(ct)                              # nf_ct_seqadj_ext_add (before confirm)
    tcp_seqadj_set(pkt, ct, ctinfo, off)         # nf_ct_tcp_seqadj_set: this packet grew by off
    seqadj_set(ct, ctinfo, seq, off)             # nf_ct_seqadj_set
    seq_adjust(pkt, ct, ctinfo)                  # nf_ct_seq_adjust: rewrite SEQ/ACK/SACK
    seq_offset(ct, dir, seq)                     # nf_ct_seq_offset

``ConntrackTable.confirm`` calls :func:`seq_adjust` for every packet of an entry with
``IPS_SEQ_ADJUST`` after its helper ran, as ``nf_confirm`` does.
"""

from __future__ import annotations

import struct

from pkttables.conntrack._enums import CtInfo, Event, Status
from pkttables.packet.checksum import csum_replace

__all__ = ["SeqAdjDir", "seqadj_init", "seqadj_set", "tcp_seqadj_set", "seq_adjust",
           "seq_offset", "get_seqadj"]

M32 = 0xFFFFFFFF
_I = struct.Struct("!I")
_H = struct.Struct("!H")


def _after(a: int, b: int) -> bool:
    """after(): a is later than b modulo 2^32 (RFC 1982 style, as tcp.h)."""
    return ((b - a) & M32) > 0x7FFFFFFF


def _before(a: int, b: int) -> bool:
    return _after(b, a)


class SeqAdjDir:
    """``struct nf_ct_seqadj`` of one direction."""
    __slots__ = ("correction_pos", "offset_before", "offset_after")

    def __init__(self) -> None:
        self.correction_pos = 0
        self.offset_before = 0
        self.offset_after = 0

    def __repr__(self) -> str:
        return (f"SeqAdjDir(pos={self.correction_pos}, before={self.offset_before}, "
                f"after={self.offset_after})")


def get_seqadj(ct) -> list[SeqAdjDir] | None:
    return ct.ext_get("seqadj")


def seqadj_init(ct) -> list[SeqAdjDir]:
    """Give an entry the seqadj extension (NAT does it for entries with a helper)."""
    adj = ct.ext_get("seqadj")
    if adj is None:
        adj = ct.ext["seqadj"] = [SeqAdjDir(), SeqAdjDir()]
    return adj


def _dir(ctinfo) -> int:
    return 1 if int(ctinfo) >= CtInfo.IS_REPLY else 0


def seqadj_set(ct, ctinfo, seq: int, off: int, tr=None) -> None:
    """nf_ct_seqadj_set(): the segment starting at ``seq`` changed length by ``off``.
    A second change to the same segment (a retransmission) is not counted twice: the
    position only moves forward."""
    if off == 0:
        return
    adj = seqadj_init(ct)
    ct.status |= Status.SEQ_ADJUST
    way = adj[_dir(ctinfo)]
    if way.offset_before == way.offset_after or _before(way.correction_pos, seq):
        way.correction_pos = seq
        way.offset_before = way.offset_after
        way.offset_after = (way.offset_after + off)
    if tr is not None:
        tr.event(ct, Event.SEQADJ)


def tcp_seqadj_set(pkt, ct, ctinfo, off: int, tr=None) -> None:
    """nf_ct_tcp_seqadj_set(): seqadj_set with this TCP packet's SEQ (not TCP: nothing)."""
    if ct.protonum != 6 or pkt.th_off < 0:
        return
    seqadj_set(ct, ctinfo, _I.unpack_from(pkt.buf, pkt.th_off + 4)[0], off, tr)


def seq_offset(ct, dir_: int, seq: int) -> int:
    """nf_ct_seq_offset(): the offset applied to ``seq`` of direction ``dir_``."""
    adj = ct.ext_get("seqadj")
    if adj is None:
        return 0
    way = adj[dir_]
    return way.offset_after if _after(seq, way.correction_pos) else way.offset_before


def _put32(pkt, off: int, csum_off: int, value: int) -> None:
    buf = pkt.buf
    old = bytes(buf[off:off + 4])
    new = _I.pack(value & M32)
    buf[off:off + 4] = new
    # inet_proto_csum_replace4: RFC 1624 update of the TCP checksum
    c = _H.unpack_from(buf, csum_off)[0]
    _H.pack_into(buf, csum_off, csum_replace(c, old, new))


def _sack_adjust(pkt, th: int, doff: int, other: SeqAdjDir) -> None:
    """nf_ct_sack_adjust(): SACK blocks acknowledge the other direction's numbers."""
    buf = pkt.buf
    i, end = th + 20, th + doff
    while i < end:
        kind = buf[i]
        if kind == 0:
            return
        if kind == 1:
            i += 1
            continue
        if i + 1 >= end:
            return
        ln = buf[i + 1]
        if ln < 2 or i + ln > end:
            return
        if kind == 5 and (ln - 2) % 8 == 0:
            for b in range(i + 2, i + ln, 4):
                v = _I.unpack_from(buf, b)[0]
                if _after((v - other.offset_before) & M32, other.correction_pos):
                    nv = v - other.offset_after
                else:
                    nv = v - other.offset_before
                _put32(pkt, b, th + 16, nv)
        i += ln


def seq_adjust(pkt, ct, ctinfo) -> bool:
    """nf_ct_seq_adjust(): rewrite SEQ, ACK and SACK blocks of a TCP packet (checksum
    updated incrementally).  False when the TCP header cannot be read."""
    adj = ct.ext_get("seqadj")
    th = pkt.th_off
    if adj is None or ct.protonum != 6 or th < 0 or th + 20 > len(pkt.buf):
        return adj is None
    d = _dir(ctinfo)
    this, other = adj[d], adj[1 - d]
    buf = pkt.buf
    seq = _I.unpack_from(buf, th + 4)[0]
    off = this.offset_after if _after(seq, this.correction_pos) else this.offset_before
    _put32(pkt, th + 4, th + 16, seq + off)
    if not buf[th + 13] & 0x10:
        return True
    ack = _I.unpack_from(buf, th + 8)[0]
    if _after((ack - other.offset_before) & M32, other.correction_pos):
        aoff = other.offset_after
    else:
        aoff = other.offset_before
    _put32(pkt, th + 8, th + 16, ack - aoff)
    _sack_adjust(pkt, th, (buf[th + 12] >> 4) * 4, other)
    return True
