"""SCTP connection tracking, as net/netfilter/nf_conntrack_proto_sctp.c (Linux 6.x) does it.

Theory of operation
-------------------
An SCTP packet is a 12-byte common header (ports, verification tag, CRC32c) followed by
chunks (type, flags, length; each padded to 4 bytes).  The tracker walks the chunks and
moves a per-connection state with ``SCTP_CONNTRACKS[dir][chunk][state]``: only the
chunks of association setup and teardown (RFC 9260 section 5 and 9: INIT, INIT ACK,
COOKIE ECHO, COOKIE ACK, SHUTDOWN, SHUTDOWN ACK, SHUTDOWN COMPLETE, ABORT, ERROR) and
HEARTBEAT / HEARTBEAT ACK move it; DATA, SACK and the rest leave it where it is.

The states are states of the *connection as seen in the middle*, not of an end point::

    C->S INIT (vtag 0, init_tag Tc)        NONE -> CLOSED           10 s
    S->C INIT ACK (vtag Tc, init_tag Ts)   CLOSED -> COOKIE_WAIT     3 s
    C->S COOKIE ECHO (vtag Ts)             COOKIE_WAIT -> COOKIE_ECHOED 3 s
    S->C COOKIE ACK (vtag Tc)              COOKIE_ECHOED -> ESTABLISHED, ASSURED 210 s
    C->S SHUTDOWN                          ESTABLISHED -> SHUTDOWN_SENT 3 s
    S->C SHUTDOWN ACK                      SHUTDOWN_SENT -> SHUTDOWN_ACK_SENT 3 s
    C->S SHUTDOWN COMPLETE                 SHUTDOWN_ACK_SENT -> CLOSED 10 s

A HEARTBEAT seen first (a secondary path of a multi-homed association, whose INIT
went over another address) opens the entry in HEARTBEAT_SENT; the HEARTBEAT ACK in the
reply direction makes it ESTABLISHED.

Verification tags (RFC 9260 8.5): the INIT carries the tag the *reply* direction must
use, the INIT ACK the one of the original direction; every later packet must carry its
direction's tag, except the chunks that have their own rule (8.5.1): INIT (tag 0),
ABORT and SHUTDOWN COMPLETE (own tag, or the peer's with the T bit), COOKIE ECHO,
SHUTDOWN ACK, HEARTBEAT and HEARTBEAT ACK.  A HEARTBEAT with an unknown tag (the peer
restarted) is let through unrecorded; the HEARTBEAT ACK answering it from the other
side adopts the new tag.

Sanity checks before any of that (``do_basic_checks``): at least one chunk, no chunk of
length 0, and COOKIE ECHO / COOKIE ACK / INIT / INIT ACK / SHUTDOWN COMPLETE only as
the first chunk (the last three also as the only one).  A packet that opens an entry
must not carry ABORT, SHUTDOWN COMPLETE or COOKIE ACK (out of the blue, 8.4).

Everything that fails makes the packet invalid (``-NF_ACCEPT``): it gets no entry, a
new entry is dropped, an existing one is left alone.  The timeout is the one of the
state reached by the last chunk, from ``net.netfilter.nf_conntrack_sctp_timeout_*``;
an INIT retransmitted on a CLOSED confirmed entry is accepted without refreshing it
(so a port reused forever cannot keep it alive).

References: RFC 9260 (SCTP), nf_conntrack_proto_sctp.c (``sctp_conntracks``,
``do_basic_checks``, ``sctp_new``, ``nf_conntrack_sctp_packet``).
"""

from __future__ import annotations

import enum
import struct

from pkttables.conntrack._enums import CtDir, Event, SctpState, Status

__all__ = ["SCTP_CONNTRACKS", "SCTP_REASONS", "SCTP_TIMEOUTS", "SCTP_SYSCTLS", "SctpChunk",
           "SctpProto", "sctp_packet", "sctp_can_early_drop"]

NF_ACCEPT = 1


class SctpChunk(enum.IntEnum):
    """Chunk types (RFC 9260 3.2, ``enum sctp_cid``)."""
    DATA = 0
    INIT = 1
    INIT_ACK = 2
    SACK = 3
    HEARTBEAT = 4
    HEARTBEAT_ACK = 5
    ABORT = 6
    SHUTDOWN = 7
    SHUTDOWN_ACK = 8
    ERROR = 9
    COOKIE_ECHO = 10
    COOKIE_ACK = 11
    ECN_ECNE = 12
    ECN_CWR = 13
    SHUTDOWN_COMPLETE = 14


C = SctpChunk
sNO, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS = (SctpState(i) for i in range(9))
sIV = SctpState.MAX
_STATES = (sNO, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS)
O, R = CtDir.ORIGINAL, CtDir.REPLY

#: The T bit of ABORT and SHUTDOWN COMPLETE: "the tag is the peer's" (RFC 9260 3.3.7).
CHUNK_FLAG_T = 0x01

# ---------------------------------------------------------------------------------
# The transition table: (direction, chunk) -> next state per current state, columns
# NONE CLOSED COOKIE_WAIT COOKIE_ECHOED ESTABLISHED SHUTDOWN_SENT SHUTDOWN_RECD
# SHUTDOWN_ACK_SENT HEARTBEAT_SENT.  A reason for every cell that is not "stays".
# NONE is only ever the column of the first packet (the original direction).
# ---------------------------------------------------------------------------------
_STAY = "the chunk does not move this state"
_TABLE: dict[tuple[CtDir, SctpChunk], tuple[tuple[SctpState, ...], dict[SctpState, str]]] = {
    (O, C.INIT): ((sCL, sCL, sCW, sCE, sES, sCL, sCL, sSA, sCW), {
        sNO: "an INIT opens the entry; it stays CLOSED until the INIT ACK comes back",
        sCL: "a retransmitted INIT (the timeout is not refreshed for it)",
        sSS: "a new INIT during shutdown restarts the association from scratch",
        sSR: "as SHUTDOWN_SENT: the association restarts",
        sHS: "an INIT after a heartbeat-only pickup: the handshake starts now",
    }),
    (O, C.INIT_ACK): ((sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sCL), {
        sNO: "an INIT ACK from the initiator's side opens a CLOSED entry "
             "(its INIT went the other way, unseen)",
        sHS: "an INIT ACK during a heartbeat pickup: the association restarts",
    }),
    (O, C.ABORT): ((sCL,) * 9, {s: "ABORT ends the association in every state" for s in _STATES}),
    (O, C.SHUTDOWN): ((sCL, sCL, sCW, sCE, sSS, sSS, sSR, sSA, sCL), {
        sNO: "a SHUTDOWN opens a CLOSED entry (out of the blue)",
        sES: "the initiator starts the graceful close",
        sHS: "a SHUTDOWN on a heartbeat pickup closes it",
    }),
    (O, C.SHUTDOWN_ACK): ((sSA, sCL, sCW, sCE, sES, sSA, sSA, sSA, sSA), {
        sNO: "an out-of-the-blue SHUTDOWN ACK: a SHUTDOWN COMPLETE is expected back (8.4 (5))",
        sSS: "a SHUTDOWN ACK after our own SHUTDOWN: both sides are closing",
        sSR: "the answer to the peer's SHUTDOWN",
        sHS: "a SHUTDOWN ACK on a heartbeat pickup",
    }),
    (O, C.ERROR): ((sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sCL), {
        sNO: "an ERROR opens a CLOSED entry",
        sHS: "an ERROR on a heartbeat pickup closes it",
    }),
    (O, C.COOKIE_ECHO): ((sCL, sCL, sCE, sCE, sES, sSS, sSR, sSA, sCL), {
        sNO: "a COOKIE ECHO opens a CLOSED entry (the handshake was not seen)",
        sCW: "the initiator echoes the state cookie of the INIT ACK",
        sHS: "a COOKIE ECHO on a heartbeat pickup closes it",
    }),
    (O, C.COOKIE_ACK): ((sCL, sCL, sCW, sES, sES, sSS, sSR, sSA, sCL), {
        sNO: "never reached: a new entry may not carry a COOKIE ACK",
        sCE: "a COOKIE ACK from the initiator's side (the answer to a cookie the "
             "responder sent): established",
        sHS: "a COOKIE ACK on a heartbeat pickup closes it",
    }),
    (O, C.SHUTDOWN_COMPLETE): ((sCL, sCL, sCW, sCE, sES, sSS, sSR, sCL, sCL), {
        sNO: "never reached: a new entry may not carry a SHUTDOWN COMPLETE",
        sSA: "the last chunk of the graceful close",
        sHS: "a SHUTDOWN COMPLETE on a heartbeat pickup closes it",
    }),
    (O, C.HEARTBEAT): ((sHS, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS), {
        sNO: "a HEARTBEAT opens an entry for a secondary path of a multi-homed association",
        sHS: "heartbeats repeat until one is acknowledged",
    }),
    (O, C.HEARTBEAT_ACK): ((sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS), {
        sNO: "a HEARTBEAT ACK opens a CLOSED entry",
        sHS: "an ACK from the side that sent the heartbeat proves nothing",
    }),
    (R, C.INIT): ((sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sIV), {
        sNO: "the reply direction never sees a new entry",
        sHS: "an INIT in reply to a heartbeat-only entry is not accepted",
    }),
    (R, C.INIT_ACK): ((sIV, sCW, sCW, sCE, sES, sSS, sSR, sSA, sIV), {
        sNO: "the reply direction never sees a new entry",
        sCL: "the responder answers the INIT: wait for the cookie",
        sHS: "no handshake on a heartbeat-only entry",
    }),
    (R, C.ABORT): ((sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sIV), {
        sNO: "the reply direction never sees a new entry",
        **{s: "ABORT ends the association" for s in _STATES[1:8]},
        sHS: "an ABORT on a heartbeat-only entry is not accepted",
    }),
    (R, C.SHUTDOWN): ((sIV, sCL, sCW, sCE, sSR, sSS, sSR, sSA, sIV), {
        sNO: "the reply direction never sees a new entry",
        sES: "the responder starts the graceful close",
        sHS: "no shutdown on a heartbeat-only entry",
    }),
    (R, C.SHUTDOWN_ACK): ((sIV, sCL, sCW, sCE, sES, sSA, sSA, sSA, sIV), {
        sNO: "the reply direction never sees a new entry",
        sSS: "the answer to the initiator's SHUTDOWN",
        sSR: "both sides sent SHUTDOWN: this one acknowledges",
        sHS: "no shutdown on a heartbeat-only entry",
    }),
    (R, C.ERROR): ((sIV, sCL, sCW, sCL, sES, sSS, sSR, sSA, sIV), {
        sNO: "the reply direction never sees a new entry",
        sCE: "an ERROR answering the COOKIE ECHO (a stale cookie): closed",
        sHS: "no ERROR on a heartbeat-only entry",
    }),
    (R, C.COOKIE_ECHO): ((sIV, sCL, sCE, sCE, sES, sSS, sSR, sSA, sIV), {
        sNO: "the reply direction never sees a new entry",
        sCW: "the responder side echoes a cookie (collision of two INITs)",
        sHS: "no handshake on a heartbeat-only entry",
    }),
    (R, C.COOKIE_ACK): ((sIV, sCL, sCW, sES, sES, sSS, sSR, sSA, sIV), {
        sNO: "the reply direction never sees a new entry",
        sCE: "the responder accepted the cookie: established",
        sHS: "no handshake on a heartbeat-only entry",
    }),
    (R, C.SHUTDOWN_COMPLETE): ((sIV, sCL, sCW, sCE, sES, sSS, sSR, sCL, sIV), {
        sNO: "the reply direction never sees a new entry",
        sSA: "the last chunk of the graceful close",
        sHS: "no shutdown on a heartbeat-only entry",
    }),
    (R, C.HEARTBEAT): ((sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS), {
        sNO: "the reply direction never sees a new entry",
        sHS: "a heartbeat from the other side too: still unacknowledged",
    }),
    (R, C.HEARTBEAT_ACK): ((sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sES), {
        sNO: "the reply direction never sees a new entry",
        sHS: "the heartbeat was answered: the path is live, established",
    }),
}

#: SCTP_CONNTRACKS[dir][chunk][state] for the chunks that move the state.
SCTP_CONNTRACKS: dict[CtDir, dict[SctpChunk, tuple[SctpState, ...]]] = {
    d: {c: row for (dd, c), (row, _) in _TABLE.items() if dd == d} for d in (O, R)}

#: SCTP_REASONS[(dir, chunk, state)]: why the cell is what it is (every cell).
SCTP_REASONS: dict[tuple[CtDir, SctpChunk, SctpState], str] = {
    (d, c, s): reasons.get(s, _STAY if row[i] == s else f"{s.name} -> {row[i].name}")
    for (d, c), (row, reasons) in _TABLE.items() for i, s in enumerate(_STATES)}

#: Default timeouts (seconds) per state: the 6.x values, also the sysctls' defaults.
SCTP_TIMEOUTS: dict[SctpState, int] = {
    sCL: 10, sCW: 3, sCE: 3, sES: 210, sSS: 3, sSR: 3, sSA: 3, sHS: 30}
SCTP_SYSCTLS: dict[SctpState, str] = {
    s: f"sctp_timeout_{s.name.lower()}" for s in SCTP_TIMEOUTS}
# timeouts[NONE] is the CLOSED one (nf_conntrack_sctp_init_net)
_NONE_AS = sCL

_HDR = struct.Struct("!HHII")
_CHUNK = struct.Struct("!BBH")
_I = struct.Struct("!I").unpack_from
SCTP_HDR_LEN = 12


class SctpProto:
    """``struct ip_ct_sctp``: state, the tag each direction must carry, whether each
    direction sent an INIT, and the heartbeat-restart flag."""

    __slots__ = ("state", "vtag", "init", "hb_vtag_failed", "last_dir")

    def __init__(self) -> None:
        self.state = sNO
        self.vtag = [0, 0]
        self.init = [False, False]
        self.hb_vtag_failed = False
        self.last_dir = 0

    def state_name(self) -> str:
        return self.state.name


def state_of(row_state: SctpState, d: int, chunk: int) -> SctpState:
    """sctp_new_state(): the next state, or the current one for chunks outside the table."""
    try:
        c = SctpChunk(chunk)
    except ValueError:
        return row_state
    row = SCTP_CONNTRACKS[CtDir(d)].get(c)
    if row is None:
        return row_state    # DATA, SACK, ECN ... do not change the state
    return row[row_state]


def chunks(buf, dataoff: int, end: int):
    """for_each_sctp_chunk: (offset, type, flags, length) while a chunk header fits."""
    off = dataoff + SCTP_HDR_LEN
    while off < end and off + 4 <= end:
        typ, flags, length = _CHUNK.unpack_from(buf, off)
        yield off, typ, flags, length
        if length == 0:
            return          # do_basic_checks refuses it; never loop on it
        off += (length + 3) & ~3


def basic_checks(buf, dataoff: int, end: int) -> set[int] | None:
    """do_basic_checks(): the set of chunk types present, or None for an invalid packet."""
    seen: set[int] = set()
    only = False
    for count, (_off, typ, _fl, length) in enumerate(chunks(buf, dataoff, end)):
        if typ in (C.INIT, C.INIT_ACK, C.SHUTDOWN_COMPLETE):
            only = True
        # COOKIE ECHO/ACK must be first; INIT, INIT ACK, SHUTDOWN COMPLETE must be alone
        if ((typ in (C.COOKIE_ACK, C.COOKIE_ECHO) or only) and count != 0) or length == 0:
            return None
        seen.add(typ)
    return seen or None


def _init_tag(buf, off: int, end: int) -> int | None:
    """The Initiate Tag of an INIT / INIT ACK chunk (after the 4-byte chunk header)."""
    if off + 8 > end:
        return None
    return _I(buf, off + 4)[0]


def _new(st: SctpProto, buf, dataoff: int, end: int, vtag: int) -> bool:
    """sctp_new(): may this packet open an entry, and with which tags."""
    ok = False
    for off, typ, _fl, _len in chunks(buf, dataoff, end):
        ns = state_of(sNO, O, typ)
        if ns in (sNO, sIV):
            return False    # DATA & co cannot open an entry
        if typ == C.INIT:
            if vtag:
                return False    # 8.5.1 (A): an INIT carries tag 0
            tag = _init_tag(buf, off, end)
            if tag is None:
                return False
            st.vtag[R] = tag
        elif typ == C.HEARTBEAT:
            st.vtag[O] = vtag
        elif typ == C.SHUTDOWN_ACK:
            # out of the blue: the SHUTDOWN COMPLETE (or ABORT) back carries this tag
            st.vtag[R] = vtag
        st.state = sNO
        ok = True
    return ok


# chunks with their own tag rule (RFC 9260 8.5.1) skip the plain tag check
_OWN_TAG_RULE = frozenset((C.INIT, C.SHUTDOWN_COMPLETE, C.COOKIE_ECHO, C.ABORT,
                           C.SHUTDOWN_ACK, C.HEARTBEAT, C.HEARTBEAT_ACK))


def sctp_packet(tr, ct, ctx, dir_: int) -> int:
    """nf_conntrack_sctp_packet(): NF_ACCEPT or -NF_ACCEPT (invalid)."""
    buf, off, end = ctx.buf, ctx.dataoff, ctx.end
    # sctp_error(): the common header must be there; CRC32c checked in PREROUTING
    if end - off < SCTP_HDR_LEN:
        ctx.reason = "nf_ct_sctp: short packet"
        return -NF_ACCEPT
    if ctx.checksum_bad():
        ctx.reason = "nf_ct_sctp: bad CRC"
        return -NF_ACCEPT
    vtag = _I(buf, off + 4)[0]
    seen = basic_checks(buf, off, end)
    if seen is None:
        ctx.reason = "do_basic_checks failed"
        return -NF_ACCEPT
    if not ct.confirmed:
        # out of the blue (8.4): these never open an entry
        if seen & {C.ABORT, C.SHUTDOWN_COMPLETE, C.COOKIE_ACK}:
            ctx.reason = "invalid new"
            return -NF_ACCEPT
        st = SctpProto()
        if not _new(st, buf, off, end, vtag):
            ctx.reason = "invalid new"
            return -NF_ACCEPT
        ct.proto = st
    st = ct.proto
    if not seen & _OWN_TAG_RULE and vtag != st.vtag[dir_]:
        ctx.reason = f"verification tag check failed {vtag:x} vs {st.vtag[dir_]:x} for dir {dir_}"
        return -NF_ACCEPT

    other = 1 - dir_
    ignore = False
    old = new = sNO
    for coff, typ, flags, _len in chunks(buf, off, end):
        # the tag rules of RFC 9260 8.5.1
        if typ == C.INIT:
            if vtag != 0:                                   # (A)
                ctx.reason = "INIT with a non-zero tag"
                return -NF_ACCEPT
        elif typ in (C.ABORT, C.SHUTDOWN_COMPLETE):         # (B), (C)
            want = st.vtag[other] if flags & CHUNK_FLAG_T else st.vtag[dir_]
            if vtag != want:
                ctx.reason = f"{SctpChunk(typ).name} with a wrong tag"
                return -NF_ACCEPT
        elif typ == C.COOKIE_ECHO:                          # (D)
            if vtag != st.vtag[dir_]:
                ctx.reason = "COOKIE_ECHO with a wrong tag"
                return -NF_ACCEPT
        elif typ == C.COOKIE_ACK:
            st.init = [False, False]
        elif typ == C.HEARTBEAT:
            if st.vtag[dir_] == 0:
                st.vtag[dir_] = vtag
            elif vtag != st.vtag[dir_]:
                # a peer that restarted: let it pass once, the ACK may adopt its tag
                if C.DATA in seen or ignore:
                    ctx.reason = "HEARTBEAT with a wrong tag"
                    return -NF_ACCEPT
                st.hb_vtag_failed = True
                st.last_dir = dir_
                ignore = True
                continue
            elif st.hb_vtag_failed:
                st.hb_vtag_failed = False
        elif typ == C.HEARTBEAT_ACK:
            if st.vtag[dir_] == 0:
                st.vtag[dir_] = vtag
            elif vtag != st.vtag[dir_]:
                if C.DATA in seen or ignore:
                    ctx.reason = "HEARTBEAT_ACK with a wrong tag"
                    return -NF_ACCEPT
                if not st.hb_vtag_failed or st.last_dir == dir_:
                    ctx.reason = "HEARTBEAT_ACK with a wrong tag"
                    return -NF_ACCEPT
                st.hb_vtag_failed = False       # the restarted peer is confirmed
                st.vtag[dir_] = vtag
                st.vtag[other] = 0
            elif st.hb_vtag_failed:
                st.hb_vtag_failed = False

        old = st.state
        new = state_of(old, dir_, typ)
        if new == sIV:
            ctx.reason = f"Invalid, old_state {int(old)}, dir {dir_}, type {typ}"
            return -NF_ACCEPT

        if typ == C.INIT:
            tag = _init_tag(buf, coff, end)
            if tag is None:
                ctx.reason = "truncated INIT"
                return -NF_ACCEPT
            # a retransmitted or stale INIT carries the tag we know: not a new INIT
            if old == sNO or st.vtag[other] != tag:
                if st.init[dir_] and st.init[other]:
                    st.init[other] = False
                st.init[dir_] = True
            st.vtag[other] = tag
            if new == sCL and old == sCL and ct.confirmed:
                ignore = True    # no refresh: port reuse must not keep it alive forever
        elif typ == C.INIT_ACK:
            tag = _init_tag(buf, coff, end)
            if tag is None:
                ctx.reason = "truncated INIT_ACK"
                return -NF_ACCEPT
            known = st.vtag[other]
            if not st.init[other] and known and known != tag:
                ctx.reason = "INIT_ACK with an unexpected tag"
                return -NF_ACCEPT
            if st.init[dir_] and st.init[other] and known != tag:
                ctx.reason = "INIT_ACK collision"
                return -NF_ACCEPT
            st.vtag[other] = tag

        st.state = new
        if old != new:
            tr.event(ct, Event.PROTOINFO)
            if new == sES and not ct.status & Status.ASSURED:
                ct.status |= Status.ASSURED
                tr.event(ct, Event.ASSURED)

    if ignore:
        return NF_ACCEPT     # accepted, timeout not refreshed
    timeouts = ct.ext_get("timeout") or tr.sctp_timeouts   # `ct timeout set`
    ct.refresh(ctx.now, timeouts[_NONE_AS if new == sNO else new])
    tr.account(ct, ctx, dir_)
    return NF_ACCEPT


def sctp_can_early_drop(ct) -> bool:
    """sctp_can_early_drop(): entries in the middle of a shutdown may go first."""
    st = ct.proto
    return st is not None and st.state in (sSS, sSR, sSA)


# ------------------------------------------------------------------ building packets

def chunk(typ: int, body: bytes = b"", flags: int = 0) -> bytes:
    """One chunk: type, flags, length (without padding), body, padding to 4 bytes."""
    raw = _CHUNK.pack(int(typ), flags, 4 + len(body)) + body
    return raw + b"\0" * (-len(raw) % 4)


def init_chunk(init_tag: int, *, ack: bool = False, a_rwnd: int = 65535, streams: int = 10,
               tsn: int = 1, params: bytes = b"") -> bytes:
    """An INIT (or INIT ACK) chunk: tag, a_rwnd, outbound/inbound streams, initial TSN."""
    body = struct.pack("!IIHHI", init_tag, a_rwnd, streams, streams, tsn) + params
    return chunk(C.INIT_ACK if ack else C.INIT, body)


def sctp_bytes(sport: int, dport: int, vtag: int, *chunks_: bytes, bad_crc: bool = False) -> bytes:
    """An SCTP packet (common header + chunks) with its CRC32c filled in, ready to go
    after an IP header (``pkttables.testing.packets.Segment(132, data, None)``)."""
    from pkttables.packet.checksum import sctp_checksum  # packet/ sits below conntrack
    raw = bytearray(_HDR.pack(sport, dport, vtag, 0) + b"".join(chunks_))
    raw[8:12] = sctp_checksum(raw)          # CRC32c, little-endian (RFC 9260 appendix A)
    if bad_crc:
        raw[8] ^= 1
    return bytes(raw)
