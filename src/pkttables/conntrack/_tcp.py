"""TCP connection tracking, as net/netfilter/nf_conntrack_proto_tcp.c does it.

Theory of operation
-------------------
The tracker sits in the middle: it sees every segment but cannot know which ones the
end points received.  It keeps two things per connection:

1. **A state** (:class:`TcpState`) moved by ``TCP_CONNTRACKS[dir][index][state]``, where
   ``index`` is the segment's kind from its flags (RST > SYN/SYN-ACK > FIN > ACK > none,
   ``get_conntrack_index``) and ``dir`` whether it travels in the original or reply
   direction.  Two results are not states: ``MAX`` (sIV, the segment is invalid) and
   ``IGNORE`` (sIG, the segment may be valid for the end points although not for us: let
   it through without touching the state, and remember it -- if the answer proves the
   end points are in sync, we resynchronise from what we remembered).

2. **Window tracking per direction** (``TcpSeen``: td_end, td_maxend, td_maxwin,
   td_scale, td_maxack), after Guido van Rooij's "Real Stateful TCP Packet Filtering in
   IP Filter".  A segment of the sender, with ``end = seq + len (+1 for SYN, +1 for
   FIN)`` and ``sack`` = its ACK or the highest SACK right edge, must satisfy

   I.   seq  <= sender.td_maxend                     (not beyond what the receiver allowed)
   II.  end  >= sender.td_end - receiver.td_maxwin   (not older than one window)
   III. sack <= receiver.td_end                      (acks nothing not yet sent)
   IV.  sack >= receiver.td_end - MAXACKWINDOW        (acks nothing too old)

   A failure of I or III makes the segment INVALID (unless nf_conntrack_tcp_be_liberal
   or the entry was picked up mid-stream); II and IV make it ignored (accepted, no state
   change).  All comparisons are modulo 2^32 (``before``/``after``).

Worked example (client C, server S, forwarded)::

    C->S SYN seq=1000 win=64240 wscale 7   NONE -> SYN_SENT (new entry, timeout 120 s)
    S->C SYN/ACK seq=5000 ack=1001         SYN_SENT -> SYN_RECV (SEEN_REPLY, 60 s)
    C->S ACK seq=1001 ack=5001             SYN_RECV -> ESTABLISHED, ASSURED (5 days)
    C->S FIN/ACK                           ESTABLISHED -> FIN_WAIT (120 s)
    S->C ACK                               FIN_WAIT -> CLOSE_WAIT (60 s)
    S->C FIN/ACK                           CLOSE_WAIT -> LAST_ACK (30 s)
    C->S ACK                               LAST_ACK -> TIME_WAIT (120 s)

Picking up a connection in the middle (``nf_conntrack_tcp_loose``, default 1): an ACK
without a preceding SYN creates an ESTABLISHED entry whose window data comes from that
segment, with SACK and be-liberal assumed because the options of the SYN were missed;
without a reply it only gets the "unacknowledged" timeout (300 s).

References: RFC 793, RFC 1122 (TIME-WAIT reopen), RFC 1323/7323 (window scaling),
RFC 5961 (challenge ACKs); kernel functions named in each docstring.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from pkttables.conntrack._enums import CtDir, Status, TcpFlag, TcpIndex, TcpState

__all__ = ["TCP_CONNTRACKS", "TCP_REASONS", "TCP_TIMEOUTS", "TcpSeen", "TcpProto",
           "tcp_index", "tcp_packet", "TcpSettings"]

NF_DROP, NF_ACCEPT, NF_REPEAT = 0, 1, 4

sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 = (TcpState(i) for i in range(10))
sIV, sIG = TcpState.MAX, TcpState.IGNORE
_STATES = (sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2)

O, R = CtDir.ORIGINAL, CtDir.REPLY
I = TcpIndex

# ---------------------------------------------------------------------------------
# The transition table: (direction, event) -> one next state per current state, in the
# column order NONE SYN_SENT SYN_RECV ESTABLISHED FIN_WAIT CLOSE_WAIT LAST_ACK
# TIME_WAIT CLOSE SYN_SENT2.  A reason is given for every cell that is not plain.
# ---------------------------------------------------------------------------------
_TABLE: dict[tuple[CtDir, TcpIndex], tuple[tuple[TcpState, ...], dict[TcpState, str]]] = {
    (O, I.SYN): ((sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2), {
        sNO: "a SYN from the initiator opens the connection",
        sSS: "the initiator retransmits its SYN",
        sSR: "a SYN during the handshake: the end points may know better; pass it unrecorded",
        sES: "a SYN on a live connection is an error for the receiver (it answers RST) "
             "or we hold a stale entry: pass it and let the answer decide",
        sFW: "as ESTABLISHED: the answer (RST or SYN/ACK) decides",
        sCW: "as ESTABLISHED",
        sLA: "as ESTABLISHED; also the RFC 5961 challenge-ACK case",
        sTW: "RFC 1122 4.2.2.13: a new SYN may reopen a connection in TIME-WAIT",
        sCL: "the connection was reset: a SYN starts it again",
        sS2: "late retransmission of the initiator's SYN during a simultaneous open",
    }),
    (O, I.SYNACK): ((sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR), {
        sNO: "a SYN/ACK cannot open a connection from our point of view",
        sSS: "the initiator sent a SYN; it cannot also send the SYN/ACK",
        sSR: "late retransmitted SYN/ACK of a simultaneous open",
        sES: "the initiator never sends a SYN/ACK once established",
        sFW: "as ESTABLISHED", sCW: "as ESTABLISHED", sLA: "as ESTABLISHED",
        sTW: "as ESTABLISHED", sCL: "as ESTABLISHED",
        sS2: "simultaneous open: the initiator answers the responder's SYN",
    }),
    (O, I.FIN): ((sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV), {
        sNO: "a FIN cannot open a connection",
        sSS: "no FIN before the SYN/ACK: we insist on seeing the answer first",
        sSR: "closing starts before the last handshake ACK was seen",
        sFW: "FIN seen in both directions (or a retransmitted FIN): wait for the last ACK",
        sCW: "the second FIN after the first was acknowledged",
        sLA: "retransmitted FIN",
        sTW: "retransmission after the close: stay",
        sCL: "after a RST nothing reopens but a SYN",
        sS2: "no FIN during a simultaneous open",
    }),
    (O, I.ACK): ((sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV), {
        sNO: "an ACK without a SYN: picked up mid-stream (nf_conntrack_tcp_loose)",
        sSS: "the initiator cannot ACK before it saw the SYN/ACK",
        sSR: "the third segment of the three-way handshake",
        sFW: "the other side's FIN acknowledged (or our own data after our FIN)",
        sLA: "the last ACK: both FINs acknowledged (unless it is an RFC 5961 challenge ACK)",
        sTW: "retransmitted last ACK",
        sS2: "no plain ACK during a simultaneous open",
    }),
    (O, I.RST): ((sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL), {
        sNO: "a RST cannot open a connection",
    }),
    (O, I.NONE): ((sIV,) * 10, {s: "a segment without SYN, FIN, ACK or RST is never valid"
                               for s in _STATES}),
    (R, I.SYN): ((sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2), {
        sNO: "unreachable: a reply direction exists only after the original",
        sSS: "both sides sent a SYN: simultaneous open (RFC 793 figure 8)",
        sSR: "the responder cannot send a SYN after its SYN/ACK",
        sES: "the responder never opens on a live connection", sFW: "as ESTABLISHED",
        sCW: "as ESTABLISHED", sLA: "as ESTABLISHED",
        sCL: "after a RST only the initiator may reopen",
        sTW: "the old responder reopens the connection after TIME-WAIT, roles swapped",
        sS2: "retransmitted simultaneous SYN",
    }),
    (R, I.SYNACK): ((sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR), {
        sNO: "unreachable",
        sSS: "the responder accepts: the second segment of the handshake",
        sSR: "retransmitted SYN/ACK: ignore it",
        sES: "a late retransmitted SYN/ACK, or the answer to a SYN we ignored",
        sFW: "may answer a SYN we passed as ignored: remembered for resynchronisation",
        sCW: "as FIN_WAIT",
        sLA: "as FIN_WAIT",
        sTW: "as FIN_WAIT",
        sCL: "as FIN_WAIT",
        sS2: "simultaneous open: the responder's SYN/ACK",
    }),
    (R, I.FIN): ((sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV), {
        sNO: "unreachable",
        sSS: "the responder cannot FIN before its SYN/ACK",
        sSR: "closing starts during the handshake",
        sFW: "FIN seen in both directions",
        sCW: "the second FIN",
        sLA: "retransmitted FIN",
        sTW: "retransmission after the close",
        sCL: "after a RST nothing reopens but a SYN",
        sS2: "no FIN during a simultaneous open",
    }),
    (R, I.ACK): ((sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG), {
        sNO: "unreachable",
        sSS: "an ACK answering a SYN may mean a half-open connection (or an RFC 5961 "
             "challenge ACK): pass it, remember it",
        sSR: "may answer a retransmitted SYN: stay in SYN_RECV",
        sFW: "the FIN acknowledged",
        sLA: "the last ACK (unless an RFC 5961 challenge ACK)",
        sTW: "retransmitted last ACK",
        sS2: "as SYN_SENT",
    }),
    (R, I.RST): ((sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL), {
        sNO: "unreachable",
    }),
    (R, I.NONE): ((sIV,) * 10, {s: "a segment without SYN, FIN, ACK or RST is never valid"
                               for s in _STATES}),
}

#: ``TCP_CONNTRACKS[dir][index][state]`` -> next state (sIV = MAX, sIG = IGNORE)
TCP_CONNTRACKS: tuple[tuple[tuple[TcpState, ...], ...], ...] = tuple(
    tuple(_TABLE[(d, i)][0] for i in TcpIndex) for d in CtDir)
#: ``TCP_REASONS[(dir, index, state)]`` -> why, for the cells that need a word
TCP_REASONS: dict[tuple[CtDir, TcpIndex, TcpState], str] = {
    (d, i, s): why for (d, i), (_row, reasons) in _TABLE.items() for s, why in reasons.items()}

#: Default timeouts in seconds (tcp_timeouts[]; sysctl nf_conntrack_tcp_timeout_*).
TCP_TIMEOUTS: dict[TcpState, int] = {
    TcpState.SYN_SENT: 120, TcpState.SYN_RECV: 60, TcpState.ESTABLISHED: 432000,
    TcpState.FIN_WAIT: 120, TcpState.CLOSE_WAIT: 60, TcpState.LAST_ACK: 30,
    TcpState.TIME_WAIT: 120, TcpState.CLOSE: 10, TcpState.SYN_SENT2: 120,
    TcpState.RETRANS: 300, TcpState.UNACK: 300,
}
_SYSCTL_NAMES = {
    TcpState.SYN_SENT: "syn_sent", TcpState.SYN_RECV: "syn_recv",
    TcpState.ESTABLISHED: "established", TcpState.FIN_WAIT: "fin_wait",
    TcpState.CLOSE_WAIT: "close_wait", TcpState.LAST_ACK: "last_ack",
    TcpState.TIME_WAIT: "time_wait", TcpState.CLOSE: "close",
    TcpState.SYN_SENT2: "syn_sent", TcpState.RETRANS: "max_retrans",
    TcpState.UNACK: "unacknowledged",
}

#: nft's ``ct timeout`` policy state names (nftables src/ct.c) -> state
TCP_POLICY_NAMES = {
    "syn_sent": TcpState.SYN_SENT, "syn_recv": TcpState.SYN_RECV,
    "established": TcpState.ESTABLISHED, "fin_wait": TcpState.FIN_WAIT,
    "close_wait": TcpState.CLOSE_WAIT, "last_ack": TcpState.LAST_ACK,
    "time_wait": TcpState.TIME_WAIT, "close": TcpState.CLOSE,
    "syn_sent2": TcpState.SYN_SENT2, "retrans": TcpState.RETRANS,
    "unacknowledged": TcpState.UNACK,
}

# Flag tests on the per-packet path: int.__and__ with plain ints (enum.Flag.__and__ is
# Python code and was a third of an established packet's time); same values.
_AND = int.__and__
_F_SACK_PERM, _F_BE_LIBERAL = int(TcpFlag.SACK_PERM), int(TcpFlag.BE_LIBERAL)
_F_MAXACK_SET, _F_DATA_UNACK = int(TcpFlag.MAXACK_SET), int(TcpFlag.DATA_UNACKNOWLEDGED)
_S_ASSURED, _S_SEEN_REPLY = int(Status.ASSURED), int(Status.SEEN_REPLY)

MAXACKWINCONST = 66000
TCP_MAX_WSCALE = 14
M32 = 0xFFFFFFFF

# tcp_valid_flags[]: the FIN/SYN/RST/ACK/URG combinations a tracker accepts; PSH, ECE
# and CWR are always allowed (tcp_error masks them out).
_FIN, _SYN, _RST, _PSH, _ACK, _URG, _ECE, _CWR = 1, 2, 4, 8, 16, 32, 64, 128
_VALID_FLAGS = frozenset((_SYN, _SYN | _URG, _SYN | _ACK, _RST, _RST | _ACK, _FIN | _ACK,
                          _FIN | _ACK | _URG, _ACK, _ACK | _URG))

_II = struct.Struct("!II").unpack_from
_H = struct.Struct("!H").unpack_from
_I = struct.Struct("!I").unpack_from


def before(a: int, b: int) -> bool:
    """RFC 1982 serial comparison on 32 bits, the kernel's before()."""
    return ((a - b) & M32) >= 0x80000000


def after(a: int, b: int) -> bool:
    return before(b, a)


def tcp_index(flags: int) -> TcpIndex:
    """get_conntrack_index()."""
    if flags & _RST:
        return I.RST
    if flags & _SYN:
        return I.SYNACK if flags & _ACK else I.SYN
    if flags & _FIN:
        return I.FIN
    if flags & _ACK:
        return I.ACK
    return I.NONE


@dataclass(slots=True)
class TcpSeen:
    """``struct ip_ct_tcp_state``: what one direction has sent and may send."""
    td_end: int = 0
    td_maxend: int = 0
    td_maxwin: int = 0
    td_maxack: int = 0
    td_scale: int = 0
    flags: int = 0

    def reset(self) -> None:
        """nf_ct_tcp_state_reset(): forget everything but be-liberal."""
        self.td_end = self.td_maxend = self.td_maxwin = self.td_maxack = self.td_scale = 0
        self.flags &= TcpFlag.BE_LIBERAL


@dataclass(slots=True)
class TcpProto:
    """``struct ip_ct_tcp``."""
    seen: list[TcpSeen] = field(default_factory=lambda: [TcpSeen(), TcpSeen()])
    state: TcpState = TcpState.NONE
    last_dir: int = 0
    retrans: int = 0
    last_index: int = TcpIndex.NONE
    last_seq: int = 0
    last_ack: int = 0
    last_end: int = 0
    last_win: int = 0
    last_wscale: int = 0
    last_flags: int = 0

    def state_name(self) -> str:
        return self.state.name


@dataclass(slots=True)
class TcpSettings:
    """The per-namespace knobs (net.netfilter.nf_conntrack_tcp_*)."""
    loose: int = 1
    be_liberal: int = 0
    max_retrans: int = 3
    ignore_invalid_rst: int = 0
    timeouts: dict[TcpState, int] = field(default_factory=lambda: dict(TCP_TIMEOUTS))

    @classmethod
    def from_sysctl(cls, sysctl) -> "TcpSettings":
        p = "net.netfilter.nf_conntrack_tcp_"
        t = dict(TCP_TIMEOUTS)
        for st, name in _SYSCTL_NAMES.items():
            v = sysctl(p + "timeout_" + name)
            if v:
                t[st] = v
        return cls(loose=sysctl(p + "loose"), be_liberal=sysctl(p + "be_liberal"),
                   max_retrans=sysctl(p + "max_retrans") or 3,
                   ignore_invalid_rst=sysctl(p + "ignore_invalid_rst"), timeouts=t)


@dataclass(slots=True)
class _Seg:
    """The fields of one segment the tracker reads."""
    seq: int
    ack: int
    flags: int
    win: int
    end: int
    opts: bytes


def _segment(buf, dataoff: int, skb_end: int) -> _Seg:
    seq, ack = _II(buf, dataoff + 4)
    doff = (buf[dataoff + 12] >> 4) * 4
    flags = buf[dataoff + 13]
    win = _H(buf, dataoff + 14)[0]
    # segment_seq_plus_len(): payload length from the IP length, SYN and FIN count one
    end = (seq + (skb_end - dataoff) - doff + (1 if flags & _SYN else 0)
           + (1 if flags & _FIN else 0)) & M32
    return _Seg(seq, ack, flags, win, end, bytes(buf[dataoff + 20:dataoff + doff]))


def _options(opts: bytes, state: TcpSeen) -> None:
    """tcp_options(): window scale and SACK-permitted from a SYN's options."""
    if not opts:
        return
    state.td_scale = 0
    state.flags &= TcpFlag.BE_LIBERAL
    i, n = 0, len(opts)
    while i < n:
        kind = opts[i]
        if kind == 0:           # EOL
            return
        if kind == 1:           # NOP
            i += 1
            continue
        if n - i < 2:
            return
        size = opts[i + 1]
        if size < 2 or size > n - i:
            return              # silly or partial option: stop parsing
        if kind == 4 and size == 2:
            state.flags |= TcpFlag.SACK_PERM
        elif kind == 3 and size == 3:
            state.td_scale = min(opts[i + 2], TCP_MAX_WSCALE)
            state.flags |= TcpFlag.WINDOW_SCALE
        i += size


def _sack(opts: bytes, sack: int) -> int:
    """tcp_sack(): the highest right edge of the SACK blocks, if above ``sack``."""
    if not opts:
        return sack
    # the timestamp-only layout (NOP NOP TS) has no SACK: fast path as the kernel's
    if len(opts) == 12 and opts[:4] == b"\x01\x01\x08\x0a":
        return sack
    i, n = 0, len(opts)
    while i < n:
        kind = opts[i]
        if kind == 0:
            return sack
        if kind == 1:
            i += 1
            continue
        if n - i < 2:
            return sack
        size = opts[i + 1]
        if size < 2 or size > n - i:
            return sack
        if kind == 5 and size >= 10 and (size - 2) % 8 == 0:
            for b in range(i + 2, i + size, 8):
                right = _I(opts, b + 4)[0]
                if after(right, sack):
                    sack = right
            return sack
        i += size
    return sack


def _init_sender(sender: TcpSeen, receiver: TcpSeen, seg: _Seg, dir_: int) -> None:
    """tcp_init_sender(): a SYN/ACK (or a SYN in the reply direction) starts the
    sender's window data; window scaling holds only if both sides offered it
    (RFC 7323 2.2)."""
    sender.td_end = sender.td_maxend = seg.end
    sender.td_maxwin = seg.win or 1
    _options(seg.opts, sender)
    if dir_ == R and not (sender.flags & TcpFlag.WINDOW_SCALE
                          and receiver.flags & TcpFlag.WINDOW_SCALE):
        sender.td_scale = receiver.td_scale = 0


_IGNORE, _INVALID, _ACCEPT_W = 0, 1, 2


def _in_window(st: TcpProto, dir_: int, index: int, seg: _Seg, cfg: TcpSettings,
               seq_offset) -> tuple[int, str]:
    """tcp_in_window(): check the segment against the windows and update them.
    Returns (ACCEPT|IGNORE|INVALID, reason)."""
    sender = st.seen[dir_]
    receiver = st.seen[1 - dir_]
    seq, ack, win, end = seg.seq, seg.ack, seg.win, seg.end
    win_raw = win
    sack = ack
    if _AND(receiver.flags, _F_SACK_PERM):
        sack = _sack(seg.opts, sack)
    # NAT sequence adjustment of the receiver direction (nf_ct_seq_offset)
    off = seq_offset(1 - dir_, (ack - 1) & M32) if seq_offset else 0
    ack = (ack - off) & M32
    sack = (sack - off) & M32
    syn, has_ack, rst = seg.flags & _SYN, seg.flags & _ACK, seg.flags & _RST

    if sender.td_maxwin == 0:
        if syn:
            _init_sender(sender, receiver, seg, dir_)
            if not has_ack:
                return _ACCEPT_W, "simultaneous open"
        else:
            # history lost (picked up): take what this segment says
            sender.td_end = end
            swin = (win << sender.td_scale) & M32
            sender.td_maxwin = swin or 1
            sender.td_maxend = (end + sender.td_maxwin) & M32
            if receiver.td_maxwin == 0:
                # nothing seen the other way yet: make III and IV pass until it is
                receiver.td_end = receiver.td_maxend = sack
            elif sack == (receiver.td_end + 1) & M32:
                receiver.td_end = (receiver.td_end + 1) & M32  # answer to a keepalive
    elif syn and after(end, sender.td_end) and st.state in (TcpState.SYN_SENT, TcpState.SYN_RECV):
        # RFC 793: a reinitialised TCP may use larger sequence numbers at once
        _init_sender(sender, receiver, seg, dir_)
        if dir_ == R and not has_ack:
            return _ACCEPT_W, "simultaneous open"

    if not has_ack:
        ack = sack = receiver.td_end        # no ACK: pretend it acks what was sent
    elif seg.flags & (_ACK | _RST) == (_ACK | _RST) and ack == 0:
        ack = sack = receiver.td_end        # broken stacks put ACK with 0 in RSTs

    if rst and seq == 0 and st.state == TcpState.SYN_SENT:
        seq = end = sender.td_end           # RST answering a SYN

    maxackwin = sender.td_maxwin if sender.td_maxwin > MAXACKWINCONST else MAXACKWINCONST
    liberal = _AND(sender.flags, _F_BE_LIBERAL) != 0 or bool(cfg.be_liberal)

    if not before(seq, (sender.td_maxend + 1) & M32):
        overshot = (end - sender.td_maxend + 1) & M32
        ack_ok = after(sack, (receiver.td_end - maxackwin - 1) & M32)
        in_recv_win = receiver.td_maxwin and after(
            end, (sender.td_end - receiver.td_maxwin - 1) & M32)
        if in_recv_win and ack_ok and overshot <= receiver.td_maxwin and before(
                sack, (receiver.td_end + 1) & M32):
            # a sender that overran the receive window a little: remember the data so
            # that the ACK for it is not "over the upper bound" later
            sender.td_end = end
            sender.flags |= TcpFlag.DATA_UNACKNOWLEDGED
            return (_ACCEPT_W if liberal else _IGNORE), f"{overshot} bytes more than expected"
        return (_ACCEPT_W if liberal else _INVALID), (
            f"SEQ is over upper bound {(sender.td_maxend + 1) & M32} (over the window of the receiver)")
    if not before(sack, (receiver.td_end + 1) & M32):
        return (_ACCEPT_W if liberal else _INVALID), (
            f"ACK is over upper bound {(receiver.td_end + 1) & M32} (ACKed data not seen yet)")
    in_recv_win = not receiver.td_maxwin or after(end, (sender.td_end - receiver.td_maxwin - 1) & M32)
    if not in_recv_win:
        return (_ACCEPT_W if liberal else _IGNORE), "SEQ is under lower bound (already ACKed data retransmitted)"
    if not after(sack, (receiver.td_end - maxackwin - 1) & M32):
        return (_ACCEPT_W if liberal else _IGNORE), "ignored ACK under lower bound (possible overly delayed)"

    if not syn:
        win = (win << sender.td_scale) & M32   # RFC 7323 window scaling
    swin = (win + ((sack - ack) & M32)) & M32
    if sender.td_maxwin < swin:
        sender.td_maxwin = swin
    if after(end, sender.td_end):
        sender.td_end = end
        sender.flags |= TcpFlag.DATA_UNACKNOWLEDGED
    if has_ack:
        if not _AND(sender.flags, _F_MAXACK_SET):
            sender.td_maxack = ack
            sender.flags |= TcpFlag.MAXACK_SET
        elif after(ack, sender.td_maxack):
            sender.td_maxack = ack
    if receiver.td_maxwin != 0 and after(end, sender.td_maxend):
        receiver.td_maxwin = (receiver.td_maxwin + ((end - sender.td_maxend) & M32)) & M32
    if after((sack + win) & M32, (receiver.td_maxend - 1) & M32):
        receiver.td_maxend = (sack + win) & M32
        if win == 0:
            receiver.td_maxend = (receiver.td_maxend + 1) & M32
    if ack == receiver.td_end:
        receiver.flags &= ~TcpFlag.DATA_UNACKNOWLEDGED
    if index == I.ACK:
        # count identical ACKs: retransmissions shorten the timeout
        if (st.last_dir == dir_ and st.last_seq == seq and st.last_ack == ack
                and st.last_end == end and st.last_win == win_raw):
            st.retrans += 1
        else:
            st.last_dir, st.last_seq, st.last_ack = dir_, seq, ack
            st.last_end, st.last_win, st.retrans = end, win_raw, 0
    return _ACCEPT_W, ""


def tcp_error(buf, dataoff: int, skb_end: int, checksum_bad: bool) -> str | None:
    """tcp_error(): why the segment is broken, or None."""
    if dataoff + 20 > skb_end:
        return "truncated packet"
    doff = (buf[dataoff + 12] >> 4) * 4
    if doff < 20 or skb_end - dataoff < doff:
        return "truncated packet"
    if checksum_bad:
        return "bad checksum"
    if (buf[dataoff + 13] & ~(_ECE | _CWR | _PSH) & 0xFF) not in _VALID_FLAGS:
        return "invalid tcp flag combination"
    return None


def _tcp_new(ct, seg: _Seg, cfg: TcpSettings) -> bool:
    """tcp_new(): initialise a new entry from its first segment; False if it cannot
    open a connection."""
    new_state = TCP_CONNTRACKS[O][tcp_index(seg.flags)][TcpState.NONE]
    if new_state >= TcpState.MAX:
        return False
    st = TcpProto()
    s0 = st.seen[0]
    if new_state == TcpState.SYN_SENT:
        s0.td_end = seg.end
        s0.td_maxwin = seg.win or 1
        s0.td_maxend = s0.td_end
        _options(seg.opts, s0)
    elif not cfg.loose:
        return False
    else:
        s0.td_end = seg.end
        s0.td_maxwin = seg.win or 1
        s0.td_maxend = (s0.td_end + s0.td_maxwin) & M32
        # the SYN's options were missed: assume SACK and be liberal about windows
        s0.flags = st.seen[1].flags = int(TcpFlag.SACK_PERM | TcpFlag.BE_LIBERAL)
    st.last_index = I.NONE
    ct.proto = st
    return True


def _can_early_drop(st: TcpProto) -> bool:
    """tcp_can_early_drop(): closing connections may be evicted even when assured."""
    return st.state in (TcpState.FIN_WAIT, TcpState.LAST_ACK, TcpState.TIME_WAIT,
                        TcpState.CLOSE, TcpState.CLOSE_WAIT)


def _established(ct) -> bool:
    """nf_conntrack_tcp_established()."""
    return ct.proto.state == TcpState.ESTABLISHED and _AND(ct.status, _S_ASSURED) != 0


def tcp_packet(tr, ct, ctx, dir_: int) -> int:
    """nf_conntrack_tcp_packet(): returns NF_ACCEPT, -NF_ACCEPT (invalid), NF_DROP or
    -NF_REPEAT (kill the entry and look up again).  ``tr`` is the table (for kill,
    events and settings), ``ctx`` the packet context."""
    buf, dataoff, skb_end = ctx.buf, ctx.dataoff, ctx.end
    why = tcp_error(buf, dataoff, skb_end, ctx.checksum_bad())
    if why:
        ctx.reason = why
        return -NF_ACCEPT
    cfg: TcpSettings = tr.tcp
    seg = _segment(buf, dataoff, skb_end)
    if not ct.confirmed and not _tcp_new(ct, seg, cfg):
        ctx.reason = "invalid new"
        return -NF_ACCEPT
    st: TcpProto = ct.proto
    old_state = st.state
    index = tcp_index(seg.flags)
    new_state = TCP_CONNTRACKS[dir_][index][old_state]

    goto_in_window = False
    if new_state == TcpState.SYN_SENT and old_state >= TcpState.TIME_WAIT:
        if ((st.seen[dir_].flags | st.seen[1 - dir_].flags) & TcpFlag.CLOSE_INIT
                or (st.last_dir == dir_ and st.last_index == I.RST)):
            # reopening a closed/aborted connection: delete the entry, start again
            tr.kill(ct, ctx.now)
            return -NF_REPEAT
        new_state = TcpState.IGNORE  # fall through to the ignore handling
    if new_state == TcpState.SYN_SENT and old_state < TcpState.TIME_WAIT:
        pass
    elif new_state == TcpState.IGNORE:
        if (index == I.SYNACK and st.last_index == I.SYN and st.last_dir != dir_
                and seg.ack == st.last_end):
            # the SYN/ACK answers a SYN we ignored: the end points are in sync and we
            # are not; resynchronise from what we remembered of that SYN
            old_state, new_state = TcpState.SYN_SENT, TcpState.SYN_RECV
            ld = st.seen[st.last_dir]
            ld.td_end = ld.td_maxend = st.last_end
            ld.td_maxwin = st.last_win or 1
            ld.td_scale = st.last_wscale
            st.last_flags &= ~TcpFlag.EXP_CHALLENGE_ACK
            ld.flags = st.last_flags
            st.seen[dir_].reset()
        else:
            st.last_index, st.last_dir = index, dir_
            st.last_seq, st.last_end, st.last_win = seg.seq, seg.end, seg.win
            if index == I.SYN and dir_ == O:
                seen = TcpSeen()
                st.last_flags = st.last_wscale = 0
                _options(seg.opts, seen)
                if seen.flags & TcpFlag.WINDOW_SCALE:
                    st.last_flags |= TcpFlag.WINDOW_SCALE
                    st.last_wscale = seen.td_scale
                if seen.flags & TcpFlag.SACK_PERM:
                    st.last_flags |= TcpFlag.SACK_PERM
                if old_state == TcpState.LAST_ACK:
                    # RFC 5961: the answer may be a challenge ACK, not the last ACK
                    st.last_flags |= TcpFlag.EXP_CHALLENGE_ACK
            if old_state == TcpState.SYN_SENT and index == I.ACK and dir_ == R:
                st.last_ack = seg.ack  # possible challenge ACK to the SYN
            ctx.reason = f"packet (index {int(index)}) in dir {dir_} ignored, state {old_state.name}"
            return NF_ACCEPT
    elif new_state == TcpState.MAX:
        ctx.reason = f"packet (index {int(index)}) in dir {dir_} invalid, state {old_state.name}"
        return -NF_ACCEPT
    elif new_state == TcpState.TIME_WAIT:
        if (old_state == TcpState.LAST_ACK and index == I.ACK and st.last_dir != dir_
                and st.last_index == I.SYN and st.last_flags & TcpFlag.EXP_CHALLENGE_ACK):
            st.last_flags &= ~TcpFlag.EXP_CHALLENGE_ACK
            ctx.reason = "challenge-ack ignored"
            return NF_ACCEPT
    elif new_state == TcpState.SYN_SENT2:
        st.last_flags |= TcpFlag.SIMULTANEOUS_OPEN
    elif new_state == TcpState.SYN_RECV:
        if dir_ == R and index == I.ACK and st.last_flags & TcpFlag.SIMULTANEOUS_OPEN:
            new_state = TcpState.ESTABLISHED
    elif new_state == TcpState.CLOSE and index == I.RST:
        new_state, verdict, goto_in_window = _rst_checks(tr, ct, st, seg, dir_, old_state,
                                                        new_state, cfg)
        if verdict is not None:
            ctx.reason = "invalid rst"
            return verdict

    if not goto_in_window:
        res, why = _in_window(st, dir_, index, seg, cfg, _seq_offset_of(ct))
        if res == _IGNORE:
            ctx.reason = why
            return NF_ACCEPT
        if res == _INVALID:
            _handle_invalid(ct, st, dir_, index, cfg, ctx.now)
            ctx.reason = why
            return -NF_ACCEPT

    # in window from here on
    st.last_index, st.last_dir = index, dir_
    st.state = new_state
    if old_state != new_state and new_state == TcpState.FIN_WAIT:
        st.seen[dir_].flags |= TcpFlag.CLOSE_INIT

    t = ct.ext_get("timeout") or cfg.timeouts   # nf_ct_timeout_lookup: `ct timeout set`
    if st.retrans >= cfg.max_retrans and t[new_state] > t[TcpState.RETRANS]:
        timeout = t[TcpState.RETRANS]
    elif index == I.RST:
        timeout = t[TcpState.CLOSE]
    elif (_AND(st.seen[0].flags | st.seen[1].flags, _F_DATA_UNACK)
          and t[new_state] > t[TcpState.UNACK]):
        timeout = t[TcpState.UNACK]
    elif st.last_win == 0 and t[new_state] > t[TcpState.RETRANS]:
        timeout = t[TcpState.RETRANS]
    else:
        timeout = t[new_state]

    from pkttables.conntrack._enums import Event  # local: avoid a cycle at import
    if new_state != old_state:
        tr.event(ct, Event.PROTOINFO)

    if not _AND(ct.status, _S_SEEN_REPLY):
        if seg.flags & _RST:
            # the only answer was a RST: no connection, drop the entry at once
            tr.account(ct, ctx, dir_)
            tr.kill(ct, ctx.now)
            return NF_ACCEPT
        if index == I.SYN and old_state == TcpState.SYN_SENT:
            # a retransmitted SYN does not extend the entry's life
            tr.account(ct, ctx, dir_)
            return NF_ACCEPT
        if new_state == TcpState.ESTABLISHED and timeout > t[TcpState.UNACK]:
            timeout = t[TcpState.UNACK]  # picked up mid-stream, unanswered
    elif (not _AND(ct.status, _S_ASSURED)
          and old_state in (TcpState.SYN_RECV, TcpState.ESTABLISHED)
          and new_state == TcpState.ESTABLISHED):
        ct.status |= Status.ASSURED
        tr.event(ct, Event.ASSURED)
    ct.refresh(ctx.now, timeout)
    tr.account(ct, ctx, dir_)
    return NF_ACCEPT


def _rst_checks(tr, ct, st: TcpProto, seg: _Seg, dir_: int, old_state, new_state, cfg):
    """The RST cases of nf_conntrack_tcp_packet(): returns (new_state, verdict or None,
    skip_window_check)."""
    if _can_early_drop(st):
        return new_state, None, True  # closing: the tuple may be reused; skip checks
    other = st.seen[1 - dir_]
    if other.flags & TcpFlag.MAXACK_SET and st.last_index != I.SYN:
        seq = seg.seq
        if seq == 0 and not _established(ct):
            return new_state, None, False
        if before(seq, other.td_maxack) and not cfg.ignore_invalid_rst:
            return new_state, -NF_ACCEPT, False   # RST below what was acknowledged
        if _established(ct) and seq != other.td_maxack:
            # part of a train (data then RST at its end) is fine; otherwise keep the
            # state so that a challenge ACK can still pass (RFC 5961 3.2)
            if not (st.last_index == I.ACK and st.last_dir == dir_ and seq == st.last_end):
                new_state = old_state
    if (((ct.status & Status.SEEN_REPLY and st.last_index == I.SYN)
         or (not ct.status & Status.ASSURED and st.last_index == I.ACK))
            and seg.ack == st.last_end):
        # RST to a SYN or ACK we let through as ignored: accept without window checks
        return new_state, None, True
    if (old_state == TcpState.SYN_SENT and st.last_index == I.ACK and st.last_dir == R
            and seg.seq == st.last_ack):
        return new_state, None, True  # RST answering a challenge ACK we passed
    return new_state, None, False


def _handle_invalid(ct, st: TcpProto, dir_: int, index: int, cfg: TcpSettings, now: float) -> None:
    """nf_tcp_handle_invalid(): out-of-window FIN/RST answered by another one from the
    other side shortens an assured entry's life to the "unacknowledged" timeout."""
    if not ct.status & Status.ASSURED or ct.status & Status.FIXED_TIMEOUT:
        return
    if index not in (I.RST, I.FIN):
        return
    if st.last_dir != dir_ and st.last_index in (I.FIN, I.RST):
        left = ct.remaining(now)
        if left < 120:
            return
        timeout = (ct.ext_get("timeout") or cfg.timeouts)[TcpState.UNACK]
        if left > timeout:
            ct.refresh(now, timeout)
    else:
        st.last_index, st.last_dir = index, dir_


def _seq_offset_of(ct):
    """nf_ct_seq_offset for the window check: NAT's own, else the entry's seqadj."""
    fn = getattr(ct.nat, "seq_offset", None)
    if fn is None and ct.status & Status.SEQ_ADJUST:
        from pkttables.conntrack.seqadj import seq_offset
        return lambda d, seq: seq_offset(ct, d, seq)
    return fn


def tcp_can_early_drop(ct) -> bool:
    return isinstance(ct.proto, TcpProto) and _can_early_drop(ct.proto)
