"""The FTP helper (net/netfilter/nf_conntrack_ftp.c): PORT, EPRT, PASV (227), EPSV (229).

Theory of operation
-------------------
FTP (RFC 959) negotiates each data connection on the control connection, in text:

    client: PORT 192,168,1,10,156,65\\r\\n      -> server connects to 192.168.1.10:40001
    client: EPRT |1|192.168.1.10|40001|\\r\\n   (RFC 2428, also |2|<IPv6>|)
    server: 227 Entering Passive Mode (198,51,100,7,117,49)\\r\\n -> client connects to :30001
    server: 229 Entering Extended Passive Mode (|||30001|)\\r\\n

The helper looks for the commands in the original direction and the replies in the
reply direction, *only at the start of a segment that follows a line end* the helper
saw in the same direction (it remembers the sequence number after the last two
``\\n``).  So the first segment of each direction (the banner, the first command) is
never parsed, and a command split over two segments is found only if the first part
ended a line.  A segment that starts like a command but stops before its numbers
("partial match", or an unparsable number) is *dropped*: the end point will resend it
and tracking stays exact.

A parsed address must be the sender's own address; otherwise nothing is expected
(``loose=0``: a client may not open a hole towards a third host).  The expectation is:
from the other side's address (the source of the other direction), any source port, to
the announced address and port; at most one per control connection (a newer one
replaces it), 300 s.

With NAT on the control connection (``ct.status & (SRC_NAT | DST_NAT)``) the kernel
hands the match to ``nf_nat_ftp`` instead, which rewrites the address text, resizes
the segment (sequence adjustment) and registers the expectation itself: NAT sets
:data:`NAT_FTP_HOOK` to a callable ``(call, ftptype, matchoff, matchlen, exp) -> verdict``.

``parse_command(data, direction, l3num, own_addr)`` is the parser alone, for tests and
for NAT: it returns a :class:`FtpMatch` or None or :data:`PARTIAL`.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from typing import Any, Callable

from pkttables.conntrack._enums import CtInfo, Status
from pkttables.conntrack.expect import ExpectError
from pkttables.conntrack.helpers import NF_ACCEPT, NF_DROP, HelpCall, Helper, register_helper

__all__ = ["FtpHelper", "FtpType", "FtpMatch", "FtpData", "parse_command", "PARTIAL",
           "NAT_FTP_HOOK", "set_nat_ftp_hook"]

M32 = 0xFFFFFFFF
NUM_SEQ_TO_REMEMBER = 2
SEQ_PICKUP = 1          # NF_CT_FTP_SEQ_PICKUP (set for entries injected from userspace)


class FtpType(enum.IntEnum):
    """``enum nf_ct_ftp_type``."""
    PORT = 0
    PASV = 1
    EPRT = 2
    EPSV = 3


@dataclass(frozen=True, slots=True)
class FtpMatch:
    """What a command announced: type, address (packed; for EPSV the sender's), port,
    and where the numbers are in the payload (``matchoff``, ``matchlen``: what NAT
    rewrites)."""
    type: FtpType
    addr: bytes
    port: int
    matchoff: int
    matchlen: int


PARTIAL = "partial"

_DIGITS = b"0123456789"


def _try_number(data: bytes, start: int, n: int, sep: int, term: int) -> tuple[int, list[int]]:
    """try_number(): n u32 numbers separated by ``sep``; (length, numbers) or (0, _).
    ``term`` 0 accepts any terminator."""
    arr = [0] * n
    i = 0
    ln = 0
    pos = start
    while pos < len(data) and i < n:
        ch = data[pos]
        if 48 <= ch <= 57:
            arr[i] = (arr[i] * 10 + ch - 48) & M32
        elif ch == sep:
            i += 1
        else:
            if (ch == term or not term) and i == n - 1:
                return ln, arr
            return 0, arr
        ln += 1
        pos += 1
    return 0, arr


def _rfc959(data: bytes, start: int, term: int):
    ln, a = _try_number(data, start, 6, ord(","), term)
    if not ln:
        return 0, None, 0
    ip = ((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) & M32
    return ln, ip.to_bytes(4, "big"), ((a[4] << 8) | a[5]) & 0xFFFF


def _get_port(data: bytes, start: int, delim: int) -> tuple[int, int]:
    """get_port(): a port up to ``delim``; (index after delim, port) or (0, 0)."""
    port = 0
    for i in range(start, len(data)):
        ch = data[i]
        if ch == delim:
            if port == 0:
                break
            return i + 1, port
        if 48 <= ch <= 57:
            port = (port * 10 + ch - 48) & 0xFFFF
        else:
            break
    return 0, 0


def _delim_ok(d: int) -> bool:
    return not (48 <= d <= 57) and 33 <= d <= 126


def _eprt(data: bytes, start: int, l3num: int):
    d = data[start:]
    if len(d) <= 3:
        return 0, None, 0
    delim = d[0]
    if not _delim_ok(delim) or d[2] != delim:
        return 0, None, 0
    if (l3num == 2 and d[1] != ord("1")) or (l3num == 10 and d[1] != ord("2")):
        return 0, None, 0
    if d[1] == ord("1"):
        ln, a = _try_number(d, 3, 4, ord("."), delim)
        addr = (((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) & M32).to_bytes(4, "big")
    else:
        # in6_pton() up to the delimiter
        end = d.find(bytes([delim]), 3)
        try:
            addr = ipaddress.IPv6Address(d[3:end].decode("ascii")).packed if end > 3 else None
        except (ValueError, UnicodeDecodeError):
            addr = None
        ln = end - 3 if addr is not None else 0
    if not ln:
        return 0, None, 0
    nxt, port = _get_port(d, 3 + ln + 1, delim)
    return nxt, addr, port


def _epsv(data: bytes, start: int):
    d = data[start:]
    if len(d) <= 3:
        return 0, 0
    delim = d[0]
    if not _delim_ok(delim) or d[1] != delim or d[2] != delim:
        return 0, 0
    return _get_port(d, 3, delim)


# search[dir]: pattern, skip character, terminator, type (the kernel's ftp_search table)
_SEARCH = (
    ((b"PORT", ord(" "), ord("\r"), FtpType.PORT), (b"EPRT", ord(" "), ord("\r"), FtpType.EPRT)),
    ((b"227 ", 0, 0, FtpType.PASV), (b"229 ", ord("("), ord(")"), FtpType.EPSV)),
)


def _find_pattern(data: bytes, pattern: bytes, skip: int, term: int, typ: FtpType,
                  l3num: int, own: bytes):
    """find_pattern(): FtpMatch, 0 (no match) or PARTIAL."""
    dlen, plen = len(data), len(pattern)
    if dlen <= plen:
        return PARTIAL if data.lower() == pattern[:dlen].lower() else 0
    if data[:plen].lower() != pattern.lower():
        return 0
    i = plen
    if skip:
        while data[i] != skip:
            if i == dlen - 1:
                return PARTIAL
            i += 1
        i += 1
    numoff = i
    addr, port = own, 0
    if typ == FtpType.PORT:
        ln, a, port = _rfc959(data, i, term)
        addr = a if ln else own
    elif typ == FtpType.PASV:
        # RFC 1123 4.1.2.6: scan for the first digit, parentheses or not
        j = i
        while j < dlen and not 48 <= data[j] <= 57:
            j += 1
        if j == dlen:
            ln = 0
        else:
            numoff = j
            ln, a, port = _rfc959(data, j, 0)
            addr = a if ln else own
    elif typ == FtpType.EPRT:
        ln, a, port = _eprt(data, i, l3num)
        if ln:
            addr = a
    else:
        ln, port = _epsv(data, i)
    if not ln:
        return PARTIAL
    return FtpMatch(typ, addr, port, numoff, ln)


def parse_command(data: bytes, direction: int, l3num: int, own_addr: bytes):
    """The helper's parser on one segment's payload: FtpMatch, None, or PARTIAL.
    ``own_addr``: the sender's address (what EPSV implies)."""
    for pattern, skip, term, typ in _SEARCH[direction]:
        found = _find_pattern(data, pattern, skip, term, typ, l3num, own_addr)
        if found:
            return found
    return None


def _after(a: int, b: int) -> bool:
    return ((b - a) & M32) > 0x7FFFFFFF


class FtpData:
    """``struct nf_ct_ftp_master``: sequence numbers just after a line end, per direction."""
    __slots__ = ("seq_aft_nl", "flags")

    def __init__(self) -> None:
        self.seq_aft_nl: list[list[int]] = [[], []]
        self.flags = [0, 0]

    def update_nl(self, d: int, seq: int) -> None:
        """update_nl_seq(): remember up to two; replace the older one by a newer one."""
        lst = self.seq_aft_nl[d]
        if seq in lst:
            return
        if len(lst) < NUM_SEQ_TO_REMEMBER:
            lst.append(seq)
            return
        oldest = 0 if _after(lst[1], lst[0]) else 1
        if _after(seq, lst[oldest]):
            lst[oldest] = seq


#: nf_nat_ftp_hook: NAT sets it; called instead of expect_related when the control
#: connection is NATed.  ``(call, ftptype, matchoff, matchlen, exp) -> verdict``.
NAT_FTP_HOOK: Callable[[HelpCall, FtpType, int, int, Any], int] | None = None


def set_nat_ftp_hook(fn) -> None:
    global NAT_FTP_HOOK
    NAT_FTP_HOOK = fn


class FtpHelper(Helper):
    """``ftp``: TCP, IPv4 and IPv6, one expectation of 300 s per control connection."""
    name = "ftp"
    protonum = 6
    max_expected = 1
    timeout = 300.0
    loose = False       # the module parameter: expect even towards another address

    def new_data(self) -> FtpData:
        return FtpData()

    def help(self, h: HelpCall) -> int:
        # until there has been traffic both ways, don't look in packets
        if h.ctinfo not in (CtInfo.ESTABLISHED, CtInfo.ESTABLISHED_REPLY):
            return NF_ACCEPT
        buf, th = h.pkt.buf, h.protoff
        if th + 20 > h.end:
            return NF_ACCEPT
        dataoff = th + (buf[th + 12] >> 4) * 4
        if dataoff >= h.end:
            return NF_ACCEPT        # no data
        data = bytes(buf[dataoff:h.end])
        info: FtpData = h.data
        d = h.dir
        seq = int.from_bytes(buf[th + 4:th + 8], "big")
        ends_in_nl = data[-1:] == b"\n"
        nl_seq = (seq + len(data)) & M32
        if seq not in info.seq_aft_nl[d]:
            if info.flags[d] & SEQ_PICKUP:
                info.flags[d] ^= SEQ_PICKUP       # picking up: look at this one
            else:
                if ends_in_nl:
                    info.update_nl(d, nl_seq)
                return NF_ACCEPT
        ct = h.ct
        own = ct.tuples[d].src
        found = parse_command(data, d, ct.l3num, own)
        if found == PARTIAL:
            h.log("partial matching")
            return NF_DROP
        ret = NF_ACCEPT
        if found is not None:
            daddr = ct.tuples[1 - d].dst
            ok = True
            if found.addr != own:
                # a command naming another host: not recorded (unless loose)
                ok = self.loose
                daddr = found.addr
            if ok:
                exp = h.make_expect(dst=daddr, dport=found.port)
                hook = NAT_FTP_HOOK
                if hook is not None and ct.status & (Status.SRC_NAT | Status.DST_NAT):
                    exp.dir = d
                    ret = hook(h, found.type, found.matchoff, found.matchlen, exp)
                else:
                    try:
                        h.expect_related(exp)
                    except ExpectError:
                        h.log("cannot add expectation")
                        ret = NF_DROP
        if ends_in_nl:
            info.update_nl(d, nl_seq)
        return ret


register_helper(FtpHelper())
