"""Enumerations with the kernel's values (include/uapi/linux/netfilter/nf_conntrack_common.h,
nf_conntrack_tcp.h, nf_conntrack_sctp.h) and nft's ``ct state`` bits."""

from __future__ import annotations

import enum

__all__ = ["CtInfo", "CtDir", "Status", "CtStateBit", "CtEventType", "Event", "TcpState",
           "TcpIndex", "TcpFlag", "SctpState"]


class CtDir(enum.IntEnum):
    """``enum ip_conntrack_dir``."""
    ORIGINAL = 0
    REPLY = 1


class CtInfo(enum.IntEnum):
    """``enum ip_conntrack_info``: what a packet is to its connection.

    ``IS_REPLY`` is added to the base value for packets of the reply direction, so
    ``ESTABLISHED_REPLY == IS_REPLY == 3``; ``ctinfo % IS_REPLY`` gives the base."""
    ESTABLISHED = 0
    RELATED = 1
    NEW = 2
    ESTABLISHED_REPLY = 3
    IS_REPLY = 3           # alias: the offset of the reply values, as in the kernel
    RELATED_REPLY = 4
    NUMBER = 5
    UNTRACKED = 7


class Status(enum.IntFlag):
    """``enum ip_conntrack_status`` bits (IPS_*)."""
    EXPECTED = 1 << 0
    SEEN_REPLY = 1 << 1
    ASSURED = 1 << 2
    CONFIRMED = 1 << 3
    SRC_NAT = 1 << 4
    DST_NAT = 1 << 5
    SEQ_ADJUST = 1 << 6
    SRC_NAT_DONE = 1 << 7
    DST_NAT_DONE = 1 << 8
    DYING = 1 << 9
    FIXED_TIMEOUT = 1 << 10
    TEMPLATE = 1 << 11
    # Bit 12 was IPS_UNTRACKED until 4.14; the kernel reuses it as IPS_NAT_CLASH.
    UNTRACKED = 1 << 12
    NAT_CLASH = 1 << 12
    HELPER = 1 << 13
    OFFLOAD = 1 << 14
    HW_OFFLOAD = 1 << 15


class CtStateBit(enum.IntFlag):
    """nft's ``ct state`` bitmask: NF_CT_STATE_BIT(ctinfo) = 1 << (ctinfo % 3 + 1),
    NF_CT_STATE_INVALID_BIT = 1, NF_CT_STATE_UNTRACKED_BIT = 1 << 6."""
    INVALID = 1
    ESTABLISHED = 2
    RELATED = 4
    NEW = 8
    UNTRACKED = 64


class Event(enum.IntFlag):
    """``enum ip_conntrack_events`` bits (IPCT_*), cached per entry and delivered together."""
    NEW = 1 << 0
    RELATED = 1 << 1
    DESTROY = 1 << 2
    REPLY = 1 << 3
    ASSURED = 1 << 4
    PROTOINFO = 1 << 5
    HELPER = 1 << 6
    MARK = 1 << 7
    SEQADJ = 1 << 8
    SECMARK = 1 << 9
    LABEL = 1 << 10
    SYNPROXY = 1 << 11


class CtEventType(enum.Enum):
    """What ctnetlink reports an event as (``conntrack -E`` prints ``[NEW]`` ...)."""
    NEW = "NEW"
    UPDATE = "UPDATE"
    DESTROY = "DESTROY"


class TcpState(enum.IntEnum):
    """``enum tcp_conntrack``; MAX is the table's "invalid" (sIV), IGNORE its sIG; RETRANS
    and UNACK are only timeout slots."""
    NONE = 0
    SYN_SENT = 1
    SYN_RECV = 2
    ESTABLISHED = 3
    FIN_WAIT = 4
    CLOSE_WAIT = 5
    LAST_ACK = 6
    TIME_WAIT = 7
    CLOSE = 8
    SYN_SENT2 = 9
    MAX = 10
    IGNORE = 11
    RETRANS = 12
    UNACK = 13


class TcpIndex(enum.IntEnum):
    """``enum tcp_bit_set``: the event a segment is, from its flags (get_conntrack_index)."""
    SYN = 0
    SYNACK = 1
    FIN = 2
    ACK = 3
    RST = 4
    NONE = 5


class TcpFlag(enum.IntFlag):
    """``ip_ct_tcp_state.flags`` (IP_CT_TCP_FLAG_*) and ``last_flags`` extras."""
    WINDOW_SCALE = 0x01
    SACK_PERM = 0x02
    CLOSE_INIT = 0x04
    BE_LIBERAL = 0x08
    DATA_UNACKNOWLEDGED = 0x10
    MAXACK_SET = 0x20
    EXP_CHALLENGE_ACK = 0x40
    SIMULTANEOUS_OPEN = 0x80


class SctpState(enum.IntEnum):
    """``enum sctp_conntrack``."""
    NONE = 0
    CLOSED = 1
    COOKIE_WAIT = 2
    COOKIE_ECHOED = 3
    ESTABLISHED = 4
    SHUTDOWN_SENT = 5
    SHUTDOWN_RECD = 6
    SHUTDOWN_ACK_SENT = 7
    HEARTBEAT_SENT = 8
    HEARTBEAT_ACKED = 9  # obsolete, kept for the numbering
    MAX = 10
