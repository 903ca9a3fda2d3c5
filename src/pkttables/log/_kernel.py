"""The kernel's ``nf_log`` syslog line (net/netfilter/nf_log_syslog.c).

Theory of operation
-------------------
The kernel builds one line per logged packet::

    PREFIX IN=<in dev> OUT=<out dev> [MAC=<hard_header_len bytes of the MAC header>]
    SRC=.. DST=.. LEN=<tot_len> TOS=0x%02X PREC=0x%02X TTL=.. ID=.. [CE ][DF ][MF ][FRAG:n ]
    [OPT (<hex>) ]  PROTO=TCP SPT=.. DPT=.. [SEQ=.. ACK=.. ]WINDOW=.. RES=0x%02x <flags>
    URGP=.. [OPT (<hex>) ] | PROTO=UDP SPT=.. DPT=.. LEN=.. | PROTO=ICMP TYPE=.. CODE=..
    [ID=.. SEQ=..] [[<quoted packet>] ] [MTU=..] | PROTO=<n>   [UID=.. GID=.. ] [MARK=0x.. ]

every field followed by one space (so the line ends in a space).  ``MAC=`` is printed
only when there is an input device; with ``macdecode`` an Ethernet header becomes
``MACSRC= MACDST= MACPROTO=``.  TOS is ``tos & 0x1e`` and PREC ``tos & 0xe0``.  IPv6
addresses are printed uncompressed (``%pI6``); LEN is payload length + 40; TC, HOPLIMIT
and FLOWLBL follow.  An ICMP error quotes the inner packet in brackets (once).
Headers cut short print ``INCOMPLETE [n bytes]`` and stop, as the kernel does.
"""

from __future__ import annotations

import ipaddress

__all__ = ["format_log", "format_syslog", "LEVEL_NAMES"]

LEVEL_NAMES = ("emerg", "alert", "crit", "err", "warn", "notice", "info", "debug")

TCPSEQ, TCPOPT, IPOPT, UID, MACDECODE = 0x01, 0x02, 0x04, 0x08, 0x20

# dump_ipv4_packet: minimum ICMP lengths before the type-specific fields are read
_ICMP_REQUIRED = {0: 4, 3: 28, 4: 28, 5: 28, 8: 4, 12: 28, 11: 28, 13: 20, 15: 4, 17: 12}
_PROTO_NAMES6 = {6: "TCP", 17: "UDP", 136: "UDPLITE", 58: "ICMPv6"}


def _u16(b, o):
    return b[o] << 8 | b[o + 1]


def _u32(b, o):
    return int.from_bytes(b[o:o + 4], "big")


def _mac(b) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _ip6(b) -> str:
    # %pI6: eight groups of four hex digits, never compressed
    return ":".join(f"{_u16(b, i):04x}" for i in range(0, 16, 2))


def _tcp(out: list, buf, off: int, end: int, fragment: bool, flags: int) -> bool:
    out.append("PROTO=TCP ")
    if fragment:
        return False
    if end - off < 20:
        out.append(f"INCOMPLETE [{end - off} bytes] ")
        return True
    out.append(f"SPT={_u16(buf, off)} DPT={_u16(buf, off + 2)} ")
    if flags & TCPSEQ:
        out.append(f"SEQ={_u32(buf, off + 4)} ACK={_u32(buf, off + 8)} ")
    out.append(f"WINDOW={_u16(buf, off + 14)} ")
    word = _u32(buf, off + 12)
    out.append(f"RES=0x{(word & 0x0F000000) >> 22:02x} ")
    f = buf[off + 13]
    for bit, name in ((0x80, "CWR"), (0x40, "ECE"), (0x20, "URG"), (0x10, "ACK"),
                      (0x08, "PSH"), (0x04, "RST"), (0x02, "SYN"), (0x01, "FIN")):
        if f & bit:
            out.append(name + " ")
    out.append(f"URGP={_u16(buf, off + 18)} ")
    doff = (buf[off + 12] >> 4) * 4
    if flags & TCPOPT and doff > 20:
        optsize = doff - 20
        if end - off - 20 < optsize:
            out.append(f"OPT (TRUNCATED) ")   # skb_header_pointer failed
            return True
        out.append("OPT (" + "".join(f"{x:02X}" for x in buf[off + 20:off + doff]) + ") ")
    return False


def _udp(out: list, buf, off: int, end: int, fragment: bool, proto: int) -> bool:
    out.append("PROTO=UDP " if proto == 17 else "PROTO=UDPLITE ")
    if fragment:
        return False
    if end - off < 8:
        out.append(f"INCOMPLETE [{end - off} bytes] ")
        return True
    out.append(f"SPT={_u16(buf, off)} DPT={_u16(buf, off + 2)} LEN={_u16(buf, off + 4)} ")
    return False


#: AH and ESP: nf_log_dump_ipv4_packet prints both the same way, the SPI at this offset
_IPSEC_SPI = {51: ("AH", 4), 50: ("ESP", 0)}


def _ipv4(out: list, buf, nh: int, end: int, flags: int, nested: bool) -> None:
    if end - nh < 20:
        out.append("TRUNCATED")
        return
    ihl = (buf[nh] & 0x0F) * 4
    tos, ttl = buf[nh + 1], buf[nh + 8]
    frag = _u16(buf, nh + 6)
    proto = buf[nh + 9]
    out.append(f"SRC={ipaddress.IPv4Address(bytes(buf[nh + 12:nh + 16]))} "
               f"DST={ipaddress.IPv4Address(bytes(buf[nh + 16:nh + 20]))} ")
    out.append(f"LEN={_u16(buf, nh + 2)} TOS=0x{tos & 0x1E:02X} PREC=0x{tos & 0xE0:02X} "
               f"TTL={ttl} ID={_u16(buf, nh + 4)} ")
    if frag & 0x8000:
        out.append("CE ")
    if frag & 0x4000:
        out.append("DF ")
    if frag & 0x2000:
        out.append("MF ")
    offset = frag & 0x1FFF
    if offset:
        out.append(f"FRAG:{offset} ")
    if flags & IPOPT and ihl > 20:
        if end - nh < ihl:
            out.append("TRUNCATED")
            return
        out.append("OPT (" + "".join(f"{x:02X}" for x in buf[nh + 20:nh + ihl]) + ") ")
    th = nh + ihl
    if proto == 6:
        if _tcp(out, buf, th, end, bool(offset), flags):
            return
    elif proto in (17, 136):
        if _udp(out, buf, th, end, bool(offset), proto):
            return
    elif proto == 1:
        out.append("PROTO=ICMP ")
        if not offset:
            _icmp4(out, buf, th, end, flags, nested)
    elif proto in _IPSEC_SPI:
        name, spi = _IPSEC_SPI[proto]
        out.append(f"PROTO={name} ")
        if not offset and end - th >= 8:
            out.append(f"SPI=0x{_u32(buf, th + spi):x} ")
        elif not offset:
            out.append(f"INCOMPLETE [{end - th} bytes] ")
            return
    else:
        out.append(f"PROTO={proto} ")


def _icmp4(out: list, buf, th: int, end: int, flags: int, nested: bool) -> None:
    if end - th < 8:
        out.append(f"INCOMPLETE [{end - th} bytes] ")
        return
    t, c = buf[th], buf[th + 1]
    out.append(f"TYPE={t} CODE={c} ")
    need = _ICMP_REQUIRED.get(t, 0)
    if need and end - th < need:
        out.append(f"INCOMPLETE [{end - th} bytes] ")
        return
    if t in (0, 8):
        out.append(f"ID={_u16(buf, th + 4)} SEQ={_u16(buf, th + 6)} ")
    elif t == 12:
        out.append(f"PARAMETER={buf[th + 4]} ")
    elif t in (3, 4, 5, 11):
        if t == 5:
            out.append(f"GATEWAY={ipaddress.IPv4Address(bytes(buf[th + 4:th + 8]))} ")
        if not nested:
            out.append("[")
            _ipv4(out, buf, th + 8, end, flags, True)
            out.append("] ")
        if t == 3 and c == 4:
            out.append(f"MTU={_u16(buf, th + 6)} ")


_EXT6 = {0, 43, 60, 44, 51, 50}


def _ipv6(out: list, buf, nh: int, end: int, flags: int, nested: bool) -> None:
    if end - nh < 40:
        out.append("TRUNCATED")
        return
    first = _u32(buf, nh)
    out.append(f"SRC={_ip6(buf[nh + 8:nh + 24])} DST={_ip6(buf[nh + 24:nh + 40])} ")
    out.append(f"LEN={_u16(buf, nh + 4) + 40} TC={(first & 0x0FF00000) >> 20} "
               f"HOPLIMIT={buf[nh + 7]} FLOWLBL={first & 0xFFFFF} ")
    nexthdr = buf[nh + 6]
    off = nh + 40
    fragment = False
    while nexthdr in _EXT6:
        if end - off < 8:
            out.append("TRUNCATED")
            return
        if flags & IPOPT:
            out.append("OPT ( ")
        if nexthdr == 44:   # fragment header
            fo = _u16(buf, off + 2)
            out.append(f"FRAG:{fo & 0xFFF8} ")
            if fo & 1:
                out.append("INCOMPLETE ")
            out.append(f"ID:{_u32(buf, off + 4):08x} ")
            if fo & 0xFFF8:
                fragment = True
            nexthdr, hlen = buf[off], 8
        elif nexthdr == 51:
            hlen = (buf[off + 1] + 2) * 4
            out.append(f"AH SPI=0x{_u32(buf, off + 4):x} ")
            nexthdr = buf[off]
        elif nexthdr == 50:
            out.append(f"ESP SPI=0x{_u32(buf, off):x} ")
            return
        else:   # hop-by-hop, routing, destination options
            if fragment:
                if flags & IPOPT:
                    out.append(")")
                return
            hlen = (buf[off + 1] + 1) * 8
            nexthdr = buf[off]
        if flags & IPOPT:
            out.append(") ")
        off += hlen
    if fragment:
        out.append(f"PROTO={_PROTO_NAMES6.get(nexthdr, nexthdr)} ")
        return
    if nexthdr == 6:
        if _tcp(out, buf, off, end, False, flags):
            return
    elif nexthdr in (17, 136):
        if _udp(out, buf, off, end, False, nexthdr):
            return
    elif nexthdr == 58:
        out.append("PROTO=ICMPv6 ")
        if end - off < 8:
            out.append(f"INCOMPLETE [{end - off} bytes] ")
            return
        t, c = buf[off], buf[off + 1]
        out.append(f"TYPE={t} CODE={c} ")
        if t in (128, 129):
            out.append(f"ID={_u16(buf, off + 4)} SEQ={_u16(buf, off + 6)} ")
        elif t in (1, 2, 3, 4):
            if not nested:
                out.append("[")
                _ipv6(out, buf, off + 8, end, flags, True)
                out.append("] ")
            if t == 2:
                out.append(f"MTU={_u32(buf, off + 4)} ")
            elif t == 4:
                out.append(f"POINTER={_u32(buf, off + 4):08x} ")
    elif nexthdr == 59:
        pass
    else:
        out.append(f"PROTO={nexthdr} ")


def format_log(pkt, *, family: str, hook: str, prefix: str = "", flags: int = 0, host=None,
               table_family: str | None = None, iif: str | None = None, oif: str | None = None,
               sk_uid: int | None = None, sk_gid: int | None = None) -> str:
    """The kernel's log line for ``pkt`` (without the ``<level>`` marker).

    ``family`` is the hook's family (``ip``/``ip6``; for inet/bridge/netdev tables the
    packet's own).  In and out devices come from ``pkt.iif``/``pkt.oif`` unless given;
    the kernel passes no input device at output/postrouting and no output device at
    prerouting/input."""
    if iif is None and hook not in ("output", "postrouting"):
        iif = pkt.iif
    if oif is None and hook not in ("prerouting", "input", "ingress"):
        oif = pkt.oif
    out = [f"{prefix}IN={iif or ''} OUT={oif or ''} "]
    buf = pkt.buf
    nh = pkt.nh_off
    if iif:
        if flags & MACDECODE and pkt.mac_off >= 0 and pkt.mac_len >= 14:
            m = pkt.mac_off
            out.append(f"MACSRC={_mac(buf[m + 6:m + 12])} MACDST={_mac(buf[m:m + 6])} ")
            out.append(f"MACPROTO={_u16(buf, m + 12):04x} ")
        else:
            out.append("MAC=")
            if pkt.mac_off >= 0 and pkt.mac_len > 0 and nh > pkt.mac_off:
                # dev->hard_header_len bytes: 14 for Ethernet (and loopback)
                out.append(_mac(buf[pkt.mac_off:pkt.mac_off + 14]))
            out.append(" ")
    end = len(buf)
    version = pkt.nfproto
    if nh < 0:
        pass
    elif int(version) == 2:
        _ipv4(out, buf, nh, end, flags, False)
    elif int(version) == 10:
        _ipv6(out, buf, nh, end, flags, False)
    if flags & UID and sk_uid is not None:
        out.append(f"UID={sk_uid} GID={sk_gid or 0} ")
    if pkt.mark:
        out.append(f"MARK=0x{pkt.mark & 0xFFFFFFFF:x} ")
    return "".join(out)


def format_syslog(line: str, level: int | None) -> str:
    """The line as it enters the ring buffer: ``<level>`` then the text (the kernel
    prefixes KERN_SOH + digit; ``dmesg -r`` shows it as ``<4>``). nft's default level
    is warn (4)."""
    return f"<{4 if level is None else level}>{line}"
