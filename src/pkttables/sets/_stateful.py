"""Per-element stateful expressions: counter, quota, limit, last, connlimit.

A set element may carry its own expressions (``add @s { ip saddr counter }``, the
set-wide ``counter`` of a declaration, ``meter``\\ s).  The kernel clones them from a
template when the element is created (``nft_set_elem_expr_clone``) and runs them on
every packet that finds the element (``nft_set_elem_update_expr``, from both lookup
and dynset).  If one of them says BREAK, the rest are not run and the rule stops.

Templates are read duck-typed by their ``name`` (``counter``, ``quota``, ``limit``,
``last``, ``connlimit``) and the field names of :mod:`pkttables.vm.stateful`, so the
instructions of a ``dynset`` (or the set's own) serve as templates directly.

``eval(pkt_len, now_ns, conn)`` returns True when the expression says BREAK.
"""

from __future__ import annotations

from typing import Any, Callable

from pkttables.sets._common import Errno, SetError
from pkttables.sets.connlimit import ConnCountList

__all__ = ["CounterState", "QuotaState", "LimitState", "LastState", "ConnlimitState",
           "from_template", "clone_all"]

NSEC_PER_SEC = 1_000_000_000
NFT_LIMIT_PKT_BURST_DEFAULT = 5
QUOTA_F_INV = 1        # NFT_QUOTA_F_INV: "quota over"
LIMIT_F_INV = 1        # NFT_LIMIT_F_INV: "limit rate over"
CONNLIMIT_F_INV = 1    # NFT_CONNLIMIT_F_INV: "ct count over"


class CounterState:
    """nft_counter: packets and bytes (``skb->len``)."""

    __slots__ = ("packets", "bytes")
    name = "counter"

    def __init__(self, packets: int = 0, bytes: int = 0):
        self.packets = packets
        self.bytes = bytes

    def eval(self, pkt_len: int, now_ns: int, conn: Any = None) -> bool:
        self.packets += 1
        self.bytes += pkt_len
        return False

    def reset(self) -> None:
        self.packets = self.bytes = 0

    def values(self) -> dict:
        return {"packets": self.packets, "bytes": self.bytes}


class QuotaState:
    """nft_quota: ``consumed += len``; over once ``consumed >= quota`` (nft_overquota)."""

    __slots__ = ("quota", "consumed", "flags")
    name = "quota"

    def __init__(self, quota: int, consumed: int = 0, flags: int = 0):
        self.quota = quota
        self.consumed = consumed
        self.flags = flags

    def eval(self, pkt_len: int, now_ns: int, conn: Any = None) -> bool:
        self.consumed += pkt_len
        over = self.consumed >= self.quota
        # nft_quota_do_eval: BREAK when over XOR inverted ("quota over" matches when over)
        return over != bool(self.flags & QUOTA_F_INV)

    def reset(self) -> None:
        self.consumed = 0

    def values(self) -> dict:
        return {"quota": self.quota, "used": self.consumed, "inv": bool(self.flags & QUOTA_F_INV)}


class LimitState:
    """nft_limit's token bucket in nanoseconds (nft_limit_init / nft_limit_eval).

    Tokens are nanoseconds of credit: a packet costs ``unit*1e9/rate`` (bytes mode:
    ``unit*1e9*len/rate``); the bucket holds ``cost*burst`` (packets) or
    ``unit*1e9*(rate+burst)/rate`` (bytes) and refills one token per elapsed ns.
    A clone starts full at the time it is made (nft_limit_clone).
    """

    __slots__ = ("rate", "nsecs", "burst", "bytes_mode", "invert", "tokens", "tokens_max", "last")
    name = "limit"

    def __init__(self, rate: int, unit: int, burst: int = 0, bytes_mode: bool = False,
                 flags: int = 0, now_ns: int = 0):
        if rate <= 0 or unit <= 0:
            raise SetError(Errno.EINVAL, "limit rate and unit must be positive")
        self.rate = rate
        self.nsecs = unit * NSEC_PER_SEC
        self.bytes_mode = bytes_mode
        if not bytes_mode and burst == 0:
            burst = NFT_LIMIT_PKT_BURST_DEFAULT
        self.burst = burst
        self.invert = bool(flags & LIMIT_F_INV)
        if bytes_mode:
            self.tokens_max = self.nsecs * (rate + burst) // rate
        else:
            self.tokens_max = (self.nsecs // rate) * burst
        self.tokens = self.tokens_max
        self.last = now_ns

    def eval(self, pkt_len: int, now_ns: int, conn: Any = None) -> bool:
        cost = (self.nsecs * pkt_len // self.rate) if self.bytes_mode else self.nsecs // self.rate
        tokens = min(self.tokens + now_ns - self.last, self.tokens_max)
        self.last = now_ns
        delta = tokens - cost
        if delta >= 0:
            self.tokens = delta
            return self.invert
        self.tokens = tokens
        return not self.invert

    def reset(self) -> None:
        pass  # the kernel's reset does not refill a limit

    def values(self) -> dict:
        return {"rate": self.rate, "burst": self.burst, "tokens": self.tokens,
                "unit": self.nsecs // NSEC_PER_SEC, "bytes": self.bytes_mode, "inv": self.invert}


class LastState:
    """nft_last: when the element was last used (``last used 1s ago``)."""

    __slots__ = ("used_ns",)
    name = "last"

    def __init__(self):
        self.used_ns: int | None = None

    def eval(self, pkt_len: int, now_ns: int, conn: Any = None) -> bool:
        self.used_ns = now_ns
        return False

    def reset(self) -> None:
        self.used_ns = None

    def values(self) -> dict:
        return {"used_ns": self.used_ns}


class ConnlimitState:
    """nft_connlimit in an element: a per-element :class:`ConnCountList`.

    ``conn`` is ``(conn_id, alive)``: the packet's conntrack entry and a callable telling
    whether a remembered entry still exists (conntrack drives it).  Without a conntrack
    entry the kernel answers BREAK (nft_connlimit_do_eval: no ct -> NFT_BREAK)."""

    __slots__ = ("limit", "invert", "list")
    name = "connlimit"

    def __init__(self, count: int, flags: int = 0):
        self.limit = count
        self.invert = bool(flags & CONNLIMIT_F_INV)
        self.list = ConnCountList()

    def eval(self, pkt_len: int, now_ns: int, conn: Any = None) -> bool:
        if conn is None:
            return True
        conn_id, alive = conn
        self.list.add(conn_id, alive)
        return (self.list.count > self.limit) != self.invert

    def reset(self) -> None:
        pass

    def values(self) -> dict:
        return {"count": self.list.count, "limit": self.limit, "inv": self.invert}


def from_template(t: Any, now_ns: int) -> Any:
    """A fresh state for one template (a vm instruction, or a state to copy)."""
    kind = getattr(t, "name", None)
    if kind == "counter":
        return CounterState(getattr(t, "pkts", getattr(t, "packets", 0)) or 0, getattr(t, "bytes", 0) or 0)
    if kind == "quota":
        quota = t.quota if isinstance(t, QuotaState) else t.bytes
        return QuotaState(quota, getattr(t, "consumed", 0) or 0, getattr(t, "flags", 0) or 0)
    if kind == "limit":
        if isinstance(t, LimitState):
            return LimitState(t.rate, t.nsecs // NSEC_PER_SEC, t.burst, t.bytes_mode,
                              LIMIT_F_INV if t.invert else 0, now_ns)
        return LimitState(t.rate, t.unit, t.burst, int(getattr(t, "type", 0)) == 1, t.flags, now_ns)
    if kind == "last":
        return LastState()
    if kind == "connlimit":
        if isinstance(t, ConnlimitState):
            return ConnlimitState(t.limit, CONNLIMIT_F_INV if t.invert else 0)
        return ConnlimitState(t.count, t.flags)
    raise SetError(Errno.EOPNOTSUPP, f"{kind or type(t).__name__} cannot be a set element expression")


def clone_all(templates, now_ns: int) -> list:
    return [from_template(t, now_ns) for t in templates]


def run_exprs(exprs: list, pkt_len: int, now_ns: int, conn: Any = None) -> bool:
    """nft_set_elem_update_expr: run in order, stop at the first BREAK (returns True)."""
    for x in exprs:
        if x.eval(pkt_len, now_ns, conn):
            return True
    return False


_ = Callable  # typing only
