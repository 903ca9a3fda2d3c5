"""The simple protocol trackers: UDP / UDP-Lite, ICMP / ICMPv6, GRE, generic.

Each has the kernel's shape: an ``error`` check on the raw packet (udp_error,
icmp_error, ...) and a ``packet`` function (the l4proto ``packet`` callback) that
refreshes the timeout and may set ASSURED.  Return values are netfilter verdicts:
NF_ACCEPT (1) or -NF_ACCEPT (-1, "invalid: drop the entry from the packet").
"""

from __future__ import annotations

import struct

from pkttables.conntrack._enums import Event, Status

NF_ACCEPT = 1
_H = struct.Struct("!H").unpack_from

#: Default timeouts in seconds: net.netfilter.nf_conntrack_* sysctls.
DEFAULT_TIMEOUTS = {
    "udp_timeout": 30, "udp_timeout_stream": 120,
    "icmp_timeout": 30, "icmpv6_timeout": 30,
    "generic_timeout": 600,
    "gre_timeout": 30, "gre_timeout_stream": 180,
}

# UDP is "stream" only if still active 2 s after the first packet (udp_packet(),
# ct->proto.udp.stream_ts = jiffies + 2 * HZ).
UDP_STREAM_DELAY = 2.0

# ICMP types that may open a connection (icmp_packet valid_new[]).
ICMP_VALID_NEW = frozenset((8, 13, 15, 17))
ICMPV6_VALID_NEW = frozenset((128, 139))
# ICMP error types whose payload quotes the offending packet (icmp_error()).
ICMP_ERRORS = frozenset((3, 4, 5, 11, 12))
NR_ICMP_TYPES = 18
# ICMPv6 neighbour discovery and MLD are never tracked (icmpv6_error noct_valid_new[]).
ICMPV6_NOCT = frozenset((130, 131, 132, 133, 134, 135, 136, 143))


# The UDP state is one number, ``ct.proto`` = the stream time stamp (the kernel's
# ct->proto.udp.stream_ts): a bare float costs 24 bytes per entry, an object 64.


def udp_error(ctx) -> str | None:
    """udp_error() / udplite_error(): length and checksum."""
    buf, off, end = ctx.buf, ctx.dataoff, ctx.end
    if off + 8 > end:
        return "short packet"
    ulen = _H(buf, off + 4)[0]
    if ctx.protonum == 136:
        cscov = ulen
        if cscov == 0:
            cscov = end - off
        elif cscov < 8 or cscov > end - off:
            return "invalid checksum coverage"
        if _H(buf, off + 6)[0] == 0:
            return "checksum missing"
    else:
        if ulen > end - off or ulen < 8:
            return "truncated/malformed packet"
        if _H(buf, off + 6)[0] == 0:
            return None     # no checksum (IPv4 only; IPv6 drops it before us)
    if ctx.checksum_bad():
        return "bad checksum"
    return None


def udp_packet(tr, ct, ctx, dir_: int) -> int:
    """nf_conntrack_udp_packet()."""
    why = udp_error(ctx)
    if why:
        ctx.reason = why
        return -NF_ACCEPT
    if not ct.confirmed:
        ct.proto = ctx.now + UDP_STREAM_DELAY
    t = ct.ext_get("timeout") or tr.timeouts     # nf_ct_timeout_lookup: `ct timeout set`
    if ct.status & Status.SEEN_REPLY:
        extra = t["udp_timeout"]
        stream = False
        if ctx.now > ct.proto:
            extra = t["udp_timeout_stream"]
            stream = not ct.status & Status.ASSURED
        ct.refresh(ctx.now, extra)
        tr.account(ct, ctx, dir_)
        if ct.status & Status.NAT_CLASH:
            return NF_ACCEPT  # clashing NAT entries never become assured
        if stream and not ct.status & Status.ASSURED:
            ct.status |= Status.ASSURED
            tr.event(ct, Event.ASSURED)
    else:
        ct.refresh(ctx.now, t["udp_timeout"])
        tr.account(ct, ctx, dir_)
    return NF_ACCEPT


def icmp_packet(tr, ct, ctx, dir_: int) -> int:
    """icmp_packet() / icmpv6_packet(): only requests open entries; every packet
    refreshes the timeout."""
    v6 = ctx.protonum == 58
    if not ct.confirmed:
        valid = ICMPV6_VALID_NEW if v6 else ICMP_VALID_NEW
        if ct._ko[3] not in valid:      # the original key's type byte (tuples[0].icmp_type)
            ctx.reason = "invalid new"
            return -NF_ACCEPT
    t = ct.ext_get("timeout") or tr.timeouts
    ct.refresh(ctx.now, t["icmpv6_timeout" if v6 else "icmp_timeout"])
    tr.account(ct, ctx, dir_)
    return NF_ACCEPT


def gre_packet(tr, ct, ctx, dir_: int) -> int:
    """gre_packet(): a reply makes it a stream (longer timeout, ASSURED)."""
    t = ct.ext_get("timeout") or tr.timeouts
    if ct.status & Status.SEEN_REPLY:
        ct.refresh(ctx.now, t["gre_timeout_stream"])
        tr.account(ct, ctx, dir_)
        if not ct.status & Status.ASSURED:
            ct.status |= Status.ASSURED
            tr.event(ct, Event.ASSURED)
    else:
        ct.refresh(ctx.now, t["gre_timeout"])
        tr.account(ct, ctx, dir_)
    return NF_ACCEPT


def generic_packet(tr, ct, ctx, dir_: int) -> int:
    """nf_generic_packet()."""
    ct.refresh(ctx.now, (ct.ext_get("timeout") or tr.timeouts)["generic_timeout"])
    tr.account(ct, ctx, dir_)
    return NF_ACCEPT
