"""FTP through NAT: nf_nat_ftp.c, nf_nat_helper.c (mangling) and nf_nat_follow_master.

When the FTP helper (``pkttables.conntrack.helpers.ftp``) finds a PORT, EPRT, 227 (PASV)
or 229 (EPSV) on a control connection that has SRC_NAT or DST_NAT, it calls
:func:`nat_ftp` instead of registering the expectation:

1. The address the other side must connect to is the one it sees for the sender: the
   destination of the *other* direction's tuple (``ct.tuples[!dir].dst``) -- the
   masquerading address for a client's PORT, the public address for a DNATed server's
   227 (the helper already aimed the expectation there).  The announced port is kept
   in ``exp.saved_port``, ``exp.dir`` becomes ``!dir`` and ``exp.expectfn`` is
   :func:`follow_master`.
2. The port: the announced one if the expectation can be registered with it; on EBUSY
   another one (``nf_nat_exp_find_port``: the kernel then draws at random from the
   ports above; we try them in order, so only that case differs).  None left: drop.
3. The command's numbers are rewritten in place (``nf_nat_ftp_fmt_cmd``):
   PORT/PASV ``a,b,c,d,p1,p2``; EPRT ``|1|a.b.c.d|port|`` or ``|2|<%pI6>|port|`` (the
   kernel prints IPv6 with ``%pI6``: eight groups of four hex digits, uncompressed);
   EPSV ``|||port|``.
4. ``nf_nat_mangle_tcp_packet``: the payload is resized, the IP length and checksums
   recomputed, and a length change recorded for sequence adjustment
   (``nf_ct_seqadj_set``): later segments of that direction get their SEQ (and the
   other direction's ACK) shifted by ``confirm()``'s seq_adjust.

When the data connection arrives, conntrack finds the expectation and calls
:func:`follow_master` (``nf_nat_follow_master``): SRC mapped to where the master sends
to, DST mapped to the master's real source (``tuples[!exp.dir].src``) and the saved
port; both manips are done, so no nat chain runs for it.
"""

from __future__ import annotations

import ipaddress
import weakref
from typing import Any

from pkttables.conntrack.expect import ExpectError
from pkttables.conntrack.helpers import NF_ACCEPT, NF_DROP
from pkttables.conntrack.helpers import ftp as _ftp
from pkttables.conntrack.seqadj import tcp_seqadj_set
from pkttables.nat._range import ManipType, NatFlag, NatRange

__all__ = ["nat_ftp", "follow_master", "fmt_cmd", "mangle_tcp_packet", "bind"]

#: which NatTable NATs the entries of a ConntrackTable (one per network namespace)
_TABLES: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def bind(conntrack, nat) -> None:
    """Register ``nat`` as the NAT of ``conntrack`` and install the FTP hook."""
    _TABLES[conntrack] = nat
    _ftp.set_nat_ftp_hook(nat_ftp)


def fmt_cmd(ftptype: int, addr: bytes, port: int, l3num: int) -> bytes:
    """nf_nat_ftp_fmt_cmd: the text that replaces the command's numbers."""
    t = _ftp.FtpType(ftptype)
    if t in (_ftp.FtpType.PORT, _ftp.FtpType.PASV):
        a = addr[:4]
        return f"{a[0]},{a[1]},{a[2]},{a[3]},{port >> 8},{port & 0xFF}".encode()
    if t == _ftp.FtpType.EPRT:
        if l3num == 2:
            return f"|1|{ipaddress.IPv4Address(addr[:4])}|{port}|".encode()
        full = ":".join(addr[i:i + 2].hex() for i in range(0, 16, 2))   # %pI6
        return f"|2|{full}|{port}|".encode()
    return f"|||{port}|".encode()


def mangle_tcp_packet(pkt, ct, ctinfo, matchoff: int, matchlen: int, new: bytes) -> bool:
    """__nf_nat_mangle_tcp_packet: replace ``matchlen`` bytes at ``matchoff`` (from the
    start of the TCP payload), fix the IP length and checksums, record the length change
    for sequence adjustment."""
    buf, nh, th = pkt.buf, pkt.nh_off, pkt.th_off
    if nh < 0 or th < 0:
        return False
    dataoff = th + (buf[th + 12] >> 4) * 4
    end = pkt.l3_end
    start = dataoff + matchoff
    if start + matchlen > end:
        return False
    buf[start:start + matchlen] = bytes(new)
    l3_len = end + len(new) - matchlen - nh
    if buf[nh] >> 4 == 4:
        buf[nh + 2:nh + 4] = l3_len.to_bytes(2, "big")
    else:
        buf[nh + 4:nh + 6] = (l3_len - 40).to_bytes(2, "big")
    pkt.reparse()
    # nf_nat_csum: the kernel recomputes the whole TCP checksum (and ip_send_check)
    pkt.fix_checksums()
    if len(new) != matchlen:
        tcp_seqadj_set(pkt, ct, ctinfo, len(new) - matchlen)
    return True


def nat_ftp(call, ftptype, matchoff: int, matchlen: int, exp) -> int:
    """nf_nat_ftp: the hook the FTP helper calls for a NATed control connection."""
    ct, d = call.ct, call.dir
    newaddr = ct.tuples[1 - d].dst
    exp.saved_addr = exp.tuple.dst
    exp.saved_port = exp.tuple.dport
    exp.dir = 1 - d
    nat = _TABLES.get(call.table)
    exp.expectfn = (lambda new, e: follow_master(nat, new, e)) if nat is not None else None
    port = _find_port(call, exp, newaddr, exp.saved_port)
    if port == 0:
        call.log("all ports in use")
        return NF_DROP
    text = fmt_cmd(ftptype, newaddr, port, ct.l3num)
    if not mangle_tcp_packet(call.pkt, ct, call.ctinfo, matchoff, matchlen, text):
        call.log("cannot mangle packet")
        call.table.expect_table.remove(exp)          # nf_ct_unexpect_related
        return NF_DROP
    return NF_ACCEPT


def _find_port(call, exp, newaddr: bytes, port: int) -> int:
    """nf_nat_exp_find_port: the saved port first, then others (up to 128 tries)."""
    from pkttables.conntrack._tuple import Tuple
    attempts = min(0xFFFF - port, 128)
    p = port
    while True:
        t = exp.tuple
        exp.tuple = Tuple(t.l3num, t.src, newaddr, t.protonum, t.sport, p)
        try:
            call.expect_related(exp)
            return p
        except ExpectError as e:
            if getattr(e, "errno", None) != 16 or attempts <= 0:   # EBUSY
                return 0
        attempts -= 1
        p += 1
        if p > 0xFFFF:
            return 0


def follow_master(nat, ct, exp) -> None:
    """nf_nat_follow_master: the data connection is NATed as its master says."""
    if nat is None:
        return
    # the master's tuple of the direction the data connection takes: its source is
    # the real host behind the NAT, its destination where the master sends to
    t = exp.master.tuples[1 - exp.dir]
    nat.setup_info(ct, NatRange(NatFlag.MAP_IPS, t.dst, t.dst), ManipType.SRC)
    nat.setup_info(ct, NatRange.to(t.src, port=exp.saved_port), ManipType.DST)
