"""Values shared by every set backend: flags, the set's shape, one element, errors, time.

Time
----
Every entry point takes ``now`` in **seconds** (a float or an int), the same clock the
engine injects into ``EvalContext.now``.  Internally it is turned into integer
nanoseconds once (:func:`to_ns`) so expirations compare exactly; timeouts are kept in
milliseconds, the unit nft prints and the kernel's netlink attributes carry.

An element with an expiration is *expired* from the instant ``now >= expiration``: the
kernel's ``__nft_set_elem_expired`` is ``time_after_eq64(tstamp, expiration)``.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

from pkttables.errors import Diagnostic, Location, PktError

__all__ = [
    "SetFlags", "ElemFlags", "SetSpec", "Elem", "SetError", "to_ns", "NS_PER_MS",
    "DEFAULT_GC_INTERVAL_MS", "Errno", "PLAIN", "is_plain", "plain_spec",
]

NS_PER_MS = 1_000_000
#: nft_set_gc_interval(): a set without ``gc-interval`` is collected every second (HZ).
DEFAULT_GC_INTERVAL_MS = 1000


def to_ns(now: float | int) -> int:
    """Seconds (float or int) -> integer nanoseconds."""
    if isinstance(now, int):
        return now * 1_000_000_000
    return int(round(now * 1e9))


class SetFlags(IntFlag):
    """``enum nft_set_flags`` (include/uapi/linux/netfilter/nf_tables.h)."""

    ANONYMOUS = 0x1
    CONSTANT = 0x2
    INTERVAL = 0x4
    MAP = 0x8
    TIMEOUT = 0x10
    EVAL = 0x20
    OBJECT = 0x40
    CONCAT = 0x80
    EXPR = 0x100


class ElemFlags(IntFlag):
    """``enum nft_set_elem_flags``: what nft sends with an element."""

    INTERVAL_END = 0x1
    CATCHALL = 0x2


class Errno(IntEnum):
    """The errnos the kernel answers element commands with, and nft's words for them."""

    ENOENT = errno.ENOENT     # "No such file or directory": delete/get of a missing element
    EEXIST = errno.EEXIST     # "File exists": create of an existing one, clash, overlap
    EBUSY = errno.EBUSY       # "Device or resource busy": data/objref presence differs
    ENFILE = errno.ENFILE     # "Too many open files in system": set full (size)
    EINVAL = errno.EINVAL
    EOPNOTSUPP = errno.EOPNOTSUPP


class SetError(PktError):
    """An element command the kernel refuses: ``.errno`` is the kernel's answer.

    The message is nft's (``Could not process rule: File exists``) so the command layer
    can print it with the caret under the element as nft does.
    """

    def __init__(self, err: int, detail: str = "", location: Location | None = None):
        import os
        self.errno = int(err)
        # nft prints only the strerror; the detail is for logs and tests.
        msg = f"Could not process rule: {os.strerror(err)}"
        self.detail = detail
        super().__init__(Diagnostic(location, msg))


@dataclass(frozen=True, slots=True)
class SetSpec:
    """A set as the kernel was told to create it.

    ``klen``: key bytes as they sit in the source registers (for a concatenation each
    field is padded to 4 bytes, so ``ipv4_addr . inet_service`` has klen 8).
    ``field_len``: the unpadded byte length of each concatenated field (NFTA_SET_DESC
    _CONCAT); empty for a single field of ``klen`` bytes.  ``dlen``: data bytes (0 for
    a plain set; verdict maps carry :class:`~pkttables.vm.regs.VerdictData`).
    ``timeout``/``gc_interval`` in milliseconds; ``size`` 0/None = unbounded.
    ``exprs``: the set-wide stateful templates (``counter`` in a set declaration):
    every element gets its own copy.
    """

    klen: int
    field_len: tuple[int, ...] = ()
    dlen: int = 0
    flags: SetFlags = SetFlags(0)
    timeout: int | None = None
    gc_interval: int | None = None
    size: int | None = None
    policy: str = "performance"
    exprs: tuple = ()
    name: str = ""

    @property
    def fields(self) -> tuple[int, ...]:
        return self.field_len or (self.klen,)

    @property
    def is_interval(self) -> bool:
        return bool(self.flags & SetFlags.INTERVAL)

    @property
    def is_concat(self) -> bool:
        return len(self.fields) > 1

    @property
    def is_map(self) -> bool:
        return bool(self.flags & (SetFlags.MAP | SetFlags.OBJECT))

    @property
    def has_timeout(self) -> bool:
        return bool(self.flags & SetFlags.TIMEOUT)

    def padded_fields(self) -> tuple[int, ...]:
        return tuple(f + (-f % 4) for f in self.fields) if self.is_concat else (self.klen,)

    def check_key(self, key: bytes, what: str = "key") -> bytes:
        key = bytes(key)
        if len(key) != self.klen:
            raise SetError(Errno.EINVAL, f"{what} has {len(key)} bytes, set {self.name!r} takes {self.klen}")
        return key


class Elem:
    """One element as the kernel keeps it (``struct nft_set_ext``).

    ``key`` and ``key_end`` (inclusive, only for ranges) are register-form bytes;
    ``data`` the map data; ``timeout`` in ms (None = no NFT_SET_EXT_TIMEOUT);
    ``expiration`` in ns on the injected clock (None = never); ``exprs`` the element's
    own stateful expressions (counters, quotas, limits); ``seq``: insertion order,
    which decides between overlapping ranges in a concatenation (pipapo answers the
    lowest rule index, and rules are appended in insertion order).
    """

    __slots__ = ("key", "key_end", "data", "timeout", "expiration", "exprs", "comment",
                 "seq", "catchall", "own_timeout")

    def __init__(self, key: bytes, key_end: bytes | None = None, data: Any = None, *,
                 timeout: int | None = None, expiration: int | None = None,
                 exprs: list | None = None, comment: str | None = None, seq: int = 0,
                 catchall: bool = False, own_timeout: bool = False):
        self.key = key
        self.key_end = key_end
        self.data = data
        self.timeout = timeout
        self.expiration = expiration
        self.exprs = exprs if exprs is not None else []
        self.comment = comment
        self.seq = seq
        self.catchall = catchall
        self.own_timeout = own_timeout

    @property
    def end(self) -> bytes:
        """Inclusive upper bound (== key for a single value)."""
        return self.key if self.key_end is None else self.key_end

    def expired(self, now_ns: int) -> bool:
        exp = self.expiration
        return exp is not None and now_ns >= exp

    def __repr__(self) -> str:
        k = self.key.hex() + ("" if self.key_end is None else "-" + self.key_end.hex())
        return f"Elem({'*' if self.catchall else k}, data={self.data!r}, exp={self.expiration})"


def is_plain(e: Elem) -> bool:
    """An element the packet path needs nothing from but its presence: no data, no
    expressions, no expiration.  Its answer to a lookup is the same as :data:`PLAIN`'s."""
    return e.data is None and not e.exprs and e.expiration is None


def plain_spec(spec: SetSpec | None) -> bool:
    """A set whose elements can all be plain: no map data and no ``timeout`` flag (an
    element without expiration in a timeout set may get one later, see
    ``SetInstance._clash``, so those sets never take the presence-only path)."""
    return spec is not None and not spec.is_map and not spec.has_timeout and not spec.exprs


#: The stand-in a backend's ``lookup`` may return for a plain element (see
#: :func:`is_plain`): what ``SetInstance.lookup``/``match``/``find`` read from it (data,
#: expressions, expiration) is what they would read from the element itself, so a
#: backend can answer from a compact presence structure without touching the element
#: (one cache miss fewer at 1M).  Callers that need the element itself use
#: ``backend.elem()``.
PLAIN = Elem(b"", None, None)
