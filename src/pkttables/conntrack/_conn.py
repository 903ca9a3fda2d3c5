"""A conntrack entry (``struct nf_conn``) as a mutable slotted object.

The tracker owns the entries; everything else reads them (``pkt.ct``) and may set the
fields the ruleset can set (mark, labels, secmark) -- and, for NAT, the tuple of the
reply direction (``tuples[1]``) through :meth:`ConntrackTable.alter_reply`, plus the
``nat`` slot where the NAT module keeps its manipulations.

Memory layout (issue 6: a million entries should fit in ~400 MB).  The kernel keeps
rarely used parts of ``nf_conn`` in *extensions* allocated on demand (``nf_ct_ext_add``:
acct, helper, labels, nat, ...).  An entry here does the same: the slots every entry
needs are on the object; zone, mark, labels, secmark, counters, NAT, helper, master and
``ext`` live in one :class:`_Rare` object created the first time one of them is set to
something other than its default.  Reading them costs a property call; an entry that never
uses them pays one empty slot.

The tuples are not kept as ``Tuple`` objects: the entry holds the two compact keys of
:mod:`pkttables.conntrack._tuple` (``_ko``, ``_kr``; bytes, also the table's hash keys
in zone 0), and ``tuples`` / ``original`` / ``reply`` decode them on access.  An entry
that already has its rare part (NAT, helper, mark ...) caches the decoded pair there,
so the NAT path, which reads the tuples on every packet, decodes once.

Zones (``struct nf_conntrack_zone``): ``zone`` is the id, ``zone_dir`` the directions
it applies to (NF_CT_ZONE_DIR_ORIG 1, NF_CT_ZONE_DIR_REPL 2, both by default);
:meth:`Conn.zone_id` is ``nf_ct_zone_id()``: the id in a direction it applies to, else
the default zone 0.
"""

from __future__ import annotations

import itertools
from typing import Any

from pkttables.conntrack._enums import Status
from pkttables.conntrack._tuple import Tuple, key_tuple, tuple_key

__all__ = ["Conn"]

_ids = itertools.count(1)
_INF = float("inf")   # one shared object: "not in the expiry index"

#: nf_conntrack_zone.dir bits (include/net/netfilter/nf_conntrack_zones.h)
NF_CT_ZONE_DIR_ORIG, NF_CT_ZONE_DIR_REPL = 1, 2
NF_CT_DEFAULT_ZONE_DIR = NF_CT_ZONE_DIR_ORIG | NF_CT_ZONE_DIR_REPL

# Status tests on the per-packet path use int.__and__ with plain ints: ``status &
# Status.X`` runs enum.Flag.__and__ (Python code, ~1 us) and builds a flag object.
_AND = int.__and__
_CONFIRMED, _ASSURED, _DYING = int(Status.CONFIRMED), int(Status.ASSURED), int(Status.DYING)
_FIXED_TIMEOUT = int(Status.FIXED_TIMEOUT)


class _Rare:
    """The extension-like fields of an entry, allocated on first use."""
    __slots__ = ("zone", "zone_dir", "mark", "labels", "secmark", "counters", "nat", "helper",
                 "master", "ext", "tup")

    def __init__(self) -> None:
        self.zone = 0
        self.zone_dir = NF_CT_DEFAULT_ZONE_DIR
        self.tup: tuple | None = None   # (ko, kr, (Tuple, Tuple)): decoded keys, cached
        self.mark = 0
        self.labels = 0              # 128-bit ct label bitmap
        self.secmark = 0
        # [direction][packets, bytes]; filled only with nf_conntrack_acct=1
        self.counters: list[list[int]] | None = None
        self.nat: Any = None         # NAT manipulations (pkttables.nat fills this)
        self.helper: str | None = None
        self.master: "Conn | None" = None
        self.ext: dict[str, Any] | None = None


def _rare_field(name: str, default: Any) -> property:
    def get(self: "Conn") -> Any:
        r = self._x
        return default if r is None else getattr(r, name)

    def set_(self: "Conn", value: Any) -> None:
        r = self._x
        if r is None:
            if value is default or (type(value) is int and value == default):
                return      # setting the default: nothing to allocate
            r = self._x = _Rare()
        setattr(r, name, value)

    return property(get, set_, doc=f"``{name}`` (kept in the entry's rare part)")


class Conn:
    """One connection: two tuples, status, protocol state, timeout, metadata.

    ``expires`` is absolute time in seconds of the injected clock once the entry is
    confirmed; before that ``timeout`` holds the relative value the protocol tracker
    asked for (the kernel does the same with ``ct->timeout``, adding ``nfct_time_stamp``
    in ``__nf_conntrack_confirm``).
    """

    __slots__ = ("_ko", "_kr", "status", "proto", "timeout", "expires", "id", "_events",
                 "_heap_at", "_x", "__weakref__")

    def __init__(self, orig: Tuple | bytes, reply: Tuple | bytes, zone: int = 0,
                 zone_dir: int = NF_CT_DEFAULT_ZONE_DIR):
        # keys (bytes) from the table's hot path, Tuples from everybody else
        self._ko = orig if type(orig) is bytes else tuple_key(orig)
        self._kr = reply if type(reply) is bytes else tuple_key(reply)
        self.status = Status(0)
        self.proto: Any = None       # protocol tracker state (TcpProto, ...)
        self.timeout = 0.0           # relative, while unconfirmed
        self.expires = 0.0           # absolute, once confirmed
        self.id = next(_ids)
        self._events = 0             # cached IPCT_* bits, delivered at confirm
        self._heap_at = _INF         # earliest expiry the table's index holds for it
        self._x: _Rare | None = None
        if zone:
            self.zone = zone
        if zone_dir != NF_CT_DEFAULT_ZONE_DIR:
            self.zone_dir = zone_dir

    zone = _rare_field("zone", 0)
    zone_dir = _rare_field("zone_dir", NF_CT_DEFAULT_ZONE_DIR)
    mark = _rare_field("mark", 0)
    labels = _rare_field("labels", 0)
    secmark = _rare_field("secmark", 0)
    counters = _rare_field("counters", None)
    nat = _rare_field("nat", None)
    helper = _rare_field("helper", None)
    master = _rare_field("master", None)

    @property
    def ext(self) -> dict[str, Any]:
        """Named extensions (helper, seqadj, refs ...): a dict created on first access.
        Code that only asks whether one is there uses :meth:`ext_get` (no allocation)."""
        r = self._x
        if r is None:
            r = self._x = _Rare()
        if r.ext is None:
            r.ext = {}
        return r.ext

    def ext_get(self, name: str, default: Any = None) -> Any:
        r = self._x
        if r is None or r.ext is None:
            return default
        return r.ext.get(name, default)

    def zone_id(self, dir_: int) -> int:
        """nf_ct_zone_id(): the zone id the entry has in direction ``dir_`` (0 original,
        1 reply): its id where the zone applies to that direction, else 0."""
        r = self._x
        if r is None:
            return 0
        return r.zone if r.zone_dir & (1 << dir_) else 0

    # ---- views
    @property
    def tuples(self) -> tuple[Tuple, Tuple]:
        """(original, reply), indexable by :class:`CtDir`; decoded from the keys."""
        ko, kr, r = self._ko, self._kr, self._x
        if r is not None:
            c = r.tup
            if c is not None and c[0] is ko and c[1] is kr:
                return c[2]
            pair = (key_tuple(ko), key_tuple(kr))
            r.tup = (ko, kr, pair)
            return pair
        return (key_tuple(ko), key_tuple(kr))

    @tuples.setter
    def tuples(self, value) -> None:
        o, r = value
        self._ko, self._kr = tuple_key(o), tuple_key(r)

    @property
    def original(self) -> Tuple:
        return self.tuples[0]

    @property
    def reply(self) -> Tuple:
        return self.tuples[1]

    # the old slot names, for code that reads them: decoded, not stored
    _o = original
    _r = reply

    @property
    def l3num(self) -> int:
        n = len(self._ko) - 5
        return 2 if n == 8 else 10 if n == 32 else 0

    @property
    def protonum(self) -> int:
        return self._ko[0]

    @property
    def confirmed(self) -> bool:
        return _AND(self.status, _CONFIRMED) != 0

    @property
    def assured(self) -> bool:
        return _AND(self.status, _ASSURED) != 0

    @property
    def dying(self) -> bool:
        return _AND(self.status, _DYING) != 0

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
        st = self.status
        if _AND(st, _FIXED_TIMEOUT):
            return
        if _AND(st, _CONFIRMED):
            self.expires = now + timeout
        else:
            self.timeout = timeout

    def __repr__(self) -> str:
        return (f"<Conn {self.id} {self.original} | {self.reply} "
                f"status={self.status!r} state={self.state_name}>")
