"""IPv4 options on receive and forward: the checks and rewrites of net/ipv4/ip_options.c.

Theory of operation
-------------------
The kernel routes a received packet first and then, when ``ihl > 5``, compiles its
options (ip_rcv_finish_core() -> ip_rcv_options() -> ip_options_compile() with an skb).
The walk (``__ip_options_compile()``) goes option by option over ``ihl*4 - 20`` bytes:

- EOL (0) ends the list; every byte after it that is not 0 is set to 0 in the packet.
- NOP (1) is one byte.
- Every other option needs a length byte, ``2 <= len <= bytes left``; otherwise the
  error points at the option's type byte.
- LSRR/SSRR (131/137): len >= 3 (else points at the length), pointer >= 4 (else points
  at the pointer), at most one source route (a second one: points at its type byte).
- RR (7): only one (else the type byte), len >= 3, pointer >= 4; when the pointer is
  within the option it must leave room for an address (``ptr + 3 <= len``, else the
  pointer byte) and the receiving host writes its "specific destination"
  (fib_compute_spec_dst()) at ``ptr - 1`` and advances the pointer by 4.
- Timestamp (68): only one, len >= 4, pointer >= 5; with room: flag 0 writes the time,
  flag 1 the address and the time (needs 8 bytes), flag 3 writes the time only when the
  pre-specified address is not one of ours (inet_addr_type() != RTN_UNICAST); other
  flags are accepted from the wire untouched.  Without room (pointer > len) the overflow
  nibble is incremented (15 already: points at the flags byte), except for flag 3.
- Router alert (148): len >= 4.  CIPSO (134): the CIPSO validator is not modelled, a
  CIPSO option is accepted as unknown (see docs/stack.md).
- Unknown options, security (130) and stream id (136) are skipped by their length.

An error makes ip_options_compile() send ICMP parameter problem, code 0, with
``htonl((pp_ptr - iph) << 24)`` (the offset of the bad byte from the start of the IP
header in the top byte), and the packet is dropped.  The bytes the walk had already
rewritten before the error stay rewritten, so the quote shows them (the header checksum
is not recomputed on receive).

After a successful compile, a source route drops the packet silently unless
``accept_source_route`` is on for both ``all`` and the device (IN_DEV_SOURCE_ROUTE is an
ANDCONF).  Source route processing (ip_options_rcv_srr()) is not modelled.

ip_forward_options() then, after the forward hook, writes the outgoing route's source
address (ip_rt_get_source()) over the address slots the compile filled (RR, timestamp
flag 1) and recomputes the header checksum when anything changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

IPOPT_END, IPOPT_NOOP = 0, 1
IPOPT_RR, IPOPT_TIMESTAMP = 7, 68
IPOPT_SEC, IPOPT_LSRR, IPOPT_CIPSO, IPOPT_SID, IPOPT_SSRR, IPOPT_RA = 130, 131, 134, 136, 137, 148
IPOPT_TS_TSONLY, IPOPT_TS_TSANDADDR, IPOPT_TS_PRESPEC = 0, 1, 3


@dataclass(frozen=True, slots=True)
class OptionsResult:
    """What the compile found.  Offsets are from the start of the IP header, 0 = absent
    (as in the kernel's ``struct ip_options``).  ``error`` is the offset of the bad byte
    (the parameter problem pointer) or None."""
    error: int | None = None
    srr: int = 0
    is_strictroute: bool = False
    rr: int = 0
    rr_needaddr: bool = False
    ts: int = 0
    ts_needaddr: bool = False
    ts_needtime: bool = False
    router_alert: int = 0
    is_changed: bool = False

    @property
    def pointer_word(self) -> bytes:
        """The 4 bytes after the ICMP type/code/checksum: ``htonl(ptr << 24)``."""
        return bytes([self.error or 0, 0, 0, 0])


def compile_options(hdr: bytearray, nh: int, spec_dst: bytes, is_local_unicast: Callable[[bytes], bool],
                    timestamp_ms: int) -> OptionsResult:
    """__ip_options_compile() for a received skb (``rt`` set): walks the options of the
    IPv4 header at ``hdr[nh:]`` and rewrites them in place as the kernel does.

    ``spec_dst`` is what fib_compute_spec_dst() returns (the address recorded in RR and
    timestamp-with-address), ``is_local_unicast(addr)`` is inet_addr_type() == RTN_UNICAST
    (i.e. *not* ours), ``timestamp_ms`` is inet_current_timestamp() (ms since midnight UT)."""
    ihl = (hdr[nh] & 0xF) * 4
    end = nh + ihl
    p = nh + 20
    f: dict = {}
    changed = False

    def err(at: int) -> OptionsResult:
        return OptionsResult(error=at - nh, is_changed=changed, **f)

    while p < end:
        left = end - p
        t = hdr[p]
        if t == IPOPT_END:
            for q in range(p + 1, end):
                if hdr[q] != IPOPT_END:
                    hdr[q] = IPOPT_END
                    changed = True
            break
        if t == IPOPT_NOOP:
            p += 1
            continue
        if left < 2:
            return err(p)
        olen = hdr[p + 1]
        if olen < 2 or olen > left:
            return err(p)
        if t in (IPOPT_SSRR, IPOPT_LSRR):
            if olen < 3:
                return err(p + 1)
            if hdr[p + 2] < 4:
                return err(p + 2)
            if f.get("srr"):                                # RFC 1812 5.2.4.1: one source route
                return err(p)
            f["is_strictroute"] = t == IPOPT_SSRR
            f["srr"] = p - nh
        elif t == IPOPT_RR:
            if f.get("rr"):
                return err(p)
            if olen < 3:
                return err(p + 1)
            ptr = hdr[p + 2]
            if ptr < 4:
                return err(p + 2)
            if ptr <= olen:
                if ptr + 3 > olen:
                    return err(p + 2)
                hdr[p + ptr - 1:p + ptr + 3] = spec_dst
                changed = True
                hdr[p + 2] = ptr + 4
                f["rr_needaddr"] = True
            f["rr"] = p - nh
        elif t == IPOPT_TIMESTAMP:
            if f.get("ts"):
                return err(p)
            if olen < 4:
                return err(p + 1)
            ptr = hdr[p + 2]
            if ptr < 5:
                return err(p + 2)
            flag = hdr[p + 3] & 0xF
            if ptr <= olen:
                if ptr + 3 > olen:
                    return err(p + 2)
                timeptr = None
                if flag == IPOPT_TS_TSONLY:
                    timeptr = p + ptr - 1
                    f["ts_needtime"] = True
                    hdr[p + 2] = ptr + 4
                elif flag == IPOPT_TS_TSANDADDR:
                    if ptr + 7 > olen:
                        return err(p + 2)
                    hdr[p + ptr - 1:p + ptr + 3] = spec_dst
                    timeptr = p + ptr + 3
                    f["ts_needaddr"] = True
                    f["ts_needtime"] = True
                    hdr[p + 2] = ptr + 8
                elif flag == IPOPT_TS_PRESPEC:
                    if ptr + 7 > olen:
                        return err(p + 2)
                    addr = bytes(hdr[p + ptr - 1:p + ptr + 3])
                    if not is_local_unicast(addr):
                        timeptr = p + ptr + 3
                        f["ts_needtime"] = True
                        hdr[p + 2] = ptr + 8
                # other flags: accepted from the wire (the CAP_NET_RAW check is for
                # locally built options only)
                if timeptr is not None:
                    hdr[timeptr:timeptr + 4] = (timestamp_ms & 0xFFFFFFFF).to_bytes(4, "big")
                    changed = True
            elif flag != IPOPT_TS_PRESPEC:
                overflow = hdr[p + 3] >> 4
                if overflow == 15:
                    return err(p + 3)
                hdr[p + 3] = flag | (overflow + 1) << 4
                changed = True
            f["ts"] = p - nh
        elif t == IPOPT_RA:
            if olen < 4:
                return err(p + 1)
            if hdr[p + 2] == 0 and hdr[p + 3] == 0:
                f["router_alert"] = p - nh
        # IPOPT_SEC, IPOPT_SID, IPOPT_CIPSO (validator not modelled), unknown: skipped
        p += olen
    return OptionsResult(is_changed=changed, **f)


def forward_options(hdr: bytearray, nh: int, opt: OptionsResult, out_src: bytes) -> bool:
    """ip_forward_options() without source routing: the outgoing route's source address
    (ip_rt_get_source()) over the slots the compile filled.  Returns whether the header
    changed (the caller then recomputes the checksum, as ip_send_check())."""
    if opt.rr_needaddr:
        q = nh + opt.rr
        at = q + hdr[q + 2] - 5
        hdr[at:at + 4] = out_src
    if opt.ts_needaddr:
        q = nh + opt.ts
        at = q + hdr[q + 2] - 9
        hdr[at:at + 4] = out_src
    return opt.is_changed or opt.rr_needaddr or opt.ts_needaddr
