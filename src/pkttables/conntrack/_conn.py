"""A conntrack entry (``struct nf_conn``) as a mutable slotted object.

The tracker owns the entries; everything else reads them (``pkt.ct``) and may set the
fields the ruleset can set (mark, labels, secmark) -- and, for NAT, the tuple of the
reply direction (``tuples[1]``) through :meth:`ConntrackTable.alter_reply`, plus the
``nat`` slot where the NAT module keeps its manipulations.
"""

from __future__ import annotations

import itertools
from typing import Any

from pkttables.conntrack._enums import CtDir, Status
from pkttables.conntrack._tuple import Tuple

__all__ = ["Conn"]

_ids = itertools.count(1)


class Conn:
    """One connection: two tuples, status, protocol state, timeout, metadata.

    ``expires`` is absolute time in seconds of the injected clock once the entry is
    confirmed; before that ``timeout`` holds the relative value the protocol tracker
    asked for (the kernel does the same with ``ct->timeout``, adding ``nfct_time_stamp``
    in ``__nf_conntrack_confirm``).
    """

    __slots__ = ("tuples", "status", "zone", "mark", "labels", "secmark", "proto",
                 "timeout", "expires", "counters", "nat", "helper", "master", "id",
                 "_events", "_heap_at", "ext", "__weakref__")

    def __init__(self, orig: Tuple, reply: Tuple, zone: int = 0):
        self.tuples: list[Tuple] = [orig, reply]
        self.status = Status(0)
        self.zone = zone
        self.mark = 0
        self.labels = 0              # 128-bit ct label bitmap
        self.secmark = 0
        self.proto: Any = None       # protocol tracker state (TcpProto, ...)
        self.timeout = 0.0           # relative, while unconfirmed
        self.expires = 0.0           # absolute, once confirmed
        # [direction][packets, bytes]; filled only with nf_conntrack_acct=1
        self.counters: list[list[int]] | None = None
        self.nat: Any = None         # NAT manipulations (pkttables.nat fills this)
        self.helper: str | None = None
        self.master: "Conn | None" = None
        self.id = next(_ids)
        self._events = 0             # cached IPCT_* bits, delivered at confirm
        self._heap_at = float("inf")  # earliest expiry the table's heap holds for it
        self.ext: dict[str, Any] = {}

    # ---- views
    @property
    def original(self) -> Tuple:
        return self.tuples[CtDir.ORIGINAL]

    @property
    def reply(self) -> Tuple:
        return self.tuples[CtDir.REPLY]

    @property
    def l3num(self) -> int:
        return self.tuples[0].l3num

    @property
    def protonum(self) -> int:
        return self.tuples[0].protonum

    @property
    def confirmed(self) -> bool:
        return bool(self.status & Status.CONFIRMED)

    @property
    def assured(self) -> bool:
        return bool(self.status & Status.ASSURED)

    @property
    def dying(self) -> bool:
        return bool(self.status & Status.DYING)

    @property
    def state_name(self) -> str | None:
        """The protocol state as conntrack-tools prints it (TCP/SCTP), else None."""
        name = getattr(self.proto, "state_name", None)
        return name() if callable(name) else None

    def remaining(self, now: float) -> float:
        """nf_ct_expires(): seconds left, never negative."""
        if not self.confirmed:
            return max(self.timeout, 0.0)
        return max(self.expires - now, 0.0)

    def refresh(self, now: float, timeout: float) -> None:
        """__nf_ct_refresh_acct() without the accounting: a FIXED_TIMEOUT entry keeps
        its timeout; an unconfirmed one stores the relative value."""
        if self.status & Status.FIXED_TIMEOUT:
            return
        if self.confirmed:
            self.expires = now + timeout
        else:
            self.timeout = timeout

    def __repr__(self) -> str:
        return (f"<Conn {self.id} {self.tuples[0]} | {self.tuples[1]} "
                f"status={self.status!r} state={self.state_name}>")
