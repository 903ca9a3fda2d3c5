"""Expectations: connections a helper has announced (net/netfilter/nf_conntrack_expect.c).

A helper that reads ``PORT 192,168,1,10,156,65`` on an FTP control connection knows
that a data connection 198.51.100.7:* -> 192.168.1.10:40001 will follow.  It registers
an *expectation*: a tuple and a mask (here: the source port is a wildcard) and the
master entry.  The first new connection whose original tuple matches under the mask
takes the expectation away (unless PERMANENT), gets status EXPECTED, the master link,
the master's mark, and its packets are ``ct state related`` until it is established.

Rules kept from the kernel (``__nf_ct_expect_check``, ``nf_ct_find_expectation``):

- an identical expectation (same tuple and mask) of the same master and class replaces
  the old one; one that overlaps another master's under the intersection of the masks
  is refused (EBUSY);
- a helper's policy bounds the expectations per master and class (``max_expected``,
  FTP: 1): the oldest is evicted to make room;
- ``nf_conntrack_expect_max`` bounds the table (EMFILE, "expectation table full");
- an expectation times out after the policy's timeout (FTP: 300 s), and goes away
  with its master;
- it is only found once its master is confirmed and not dying.

``format_expect`` prints a ``conntrack -L expect`` line, as conntrack-tools 1.4.7 does::

    299 proto=6 src=198.51.100.7 dst=192.168.1.10 sport=0 dport=40001 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=192.168.1.10 master-dst=198.51.100.7 sport=40000 dport=21 class=0 helper=ftp
"""

from __future__ import annotations

import enum
import errno
import ipaddress
import itertools
from typing import Any, Callable

from pkttables.conntrack._tuple import Tuple

__all__ = ["Expectation", "ExpectFlag", "ExpectTable", "format_expect", "ExpectError"]

_ids = itertools.count(1)


class ExpectFlag(enum.IntFlag):
    """NF_CT_EXPECT_* flags."""
    PERMANENT = 0x1
    INACTIVE = 0x2
    USERSPACE = 0x4


class ExpectError(Exception):
    """nf_ct_expect_related() failed: ``errno`` is EBUSY or EMFILE as in the kernel."""

    def __init__(self, err: int, message: str):
        super().__init__(message)
        self.errno = err


class Expectation:
    """``struct nf_conntrack_expect``.

    ``tuple`` is the expected original tuple; ``src_mask`` (address bytes) and
    ``sport_mask`` say which of its source fields must match (the destination and the
    protocol always must).  ``expectfn`` is called with ``(new_conn, exp)`` when a
    connection takes it (NAT's nf_nat_follow_master); ``helper`` is the helper the new
    connection gets (None for FTP data).  ``saved_addr``/``saved_port``/``dir`` are free
    for NAT (``nf_nat_ftp`` keeps the original address there).
    """

    __slots__ = ("tuple", "src_mask", "sport_mask", "master", "helper_name", "cls", "flags",
                 "expires", "timeout", "id", "zone", "expectfn", "helper", "saved_addr",
                 "saved_port", "dir", "ext")

    def __init__(self, tuple_: Tuple, master, *, src_mask: bytes | None = None,
                 sport_mask: int = 0, cls: int = 0, flags: int = 0, helper_name: str = "",
                 expectfn: Callable[[Any, "Expectation"], None] | None = None,
                 helper: Any = None):
        self.tuple = tuple_
        self.src_mask = b"\xff" * len(tuple_.src) if src_mask is None else src_mask
        self.sport_mask = sport_mask
        self.master = master
        self.helper_name = helper_name
        self.cls = cls
        self.flags = ExpectFlag(flags)
        self.expires = 0.0
        self.timeout = 0.0
        self.id = next(_ids)
        self.zone = master.zone if master is not None else 0
        self.expectfn = expectfn
        self.helper = helper
        self.saved_addr: bytes | None = None
        self.saved_port = 0
        self.dir = 0
        self.ext: dict[str, Any] = {}

    def matches(self, t: Tuple) -> bool:
        """nf_ct_tuple_mask_cmp(): does a connection's original tuple fit?"""
        e = self.tuple
        if (t.l3num != e.l3num or t.protonum != e.protonum or t.dst != e.dst
                or t.dport != e.dport or (t.sport ^ e.sport) & self.sport_mask):
            return False
        return all((a ^ b) & m == 0 for a, b, m in zip(t.src, e.src, self.src_mask))

    def same(self, other: "Expectation") -> bool:
        """expect_matches(): the same tuple and mask (and zone)."""
        return (self.tuple == other.tuple and self.src_mask == other.src_mask
                and self.sport_mask == other.sport_mask and self.zone == other.zone)

    def clashes(self, other: "Expectation") -> bool:
        """expect_clash(): could one connection match both, under both masks?"""
        if self.zone != other.zone:
            return False
        a, b = self.tuple, other.tuple
        if (a.l3num != b.l3num or a.protonum != b.protonum or a.dst != b.dst
                or a.dport != b.dport):
            return False
        if (a.sport ^ b.sport) & self.sport_mask & other.sport_mask:
            return False
        return all((x ^ y) & m1 & m2 == 0 for x, y, m1, m2 in
                   zip(a.src, b.src, self.src_mask, other.src_mask))

    def remaining(self, now: float) -> float:
        return max(self.expires - now, 0.0)

    def __repr__(self) -> str:
        return f"<Expectation {self.id} {self.tuple} master={getattr(self.master, 'id', None)}>"


class ExpectTable:
    """All expectations of one conntrack table, oldest first."""

    def __init__(self, expect_max: int = 4096):
        self.expect_max = expect_max
        self._list: list[Expectation] = []
        self.stats = {"new": 0, "create": 0, "delete": 0}

    def __len__(self) -> int:
        return len(self._list)

    def __iter__(self):
        return iter(list(self._list))

    def of_master(self, master) -> list[Expectation]:
        return [e for e in self._list if e.master is master]

    def related(self, exp: Expectation, now: float, *, timeout: float, max_expected: int = 0,
                skip_master: bool = False) -> None:
        """nf_ct_expect_related(): insert, or raise :class:`ExpectError`."""
        self.expire(now)
        for old in list(self._list):
            if (skip_master or old.master is exp.master) and old.same(exp):
                if old.cls != exp.cls or old.master is not exp.master:
                    raise ExpectError(errno.EALREADY, "expectation already exists")
                self.remove(old)
                break
            if old.clashes(exp):
                raise ExpectError(errno.EBUSY, "expectation clashes with an existing one")
        if max_expected:
            mine = [e for e in self._list if e.master is exp.master and e.cls == exp.cls]
            if len(mine) >= max_expected:
                self.remove(mine[0])          # evict_oldest_expect
                if len(mine) - 1 >= max_expected:
                    raise ExpectError(errno.EMFILE, "too many expectations for this master")
        if len(self._list) >= self.expect_max:
            raise ExpectError(errno.EMFILE, "nf_conntrack: expectation table full")
        exp.timeout = timeout
        exp.expires = now + timeout
        # no reference on the master: nf_ct_expect_insert() counts only the
        # expectation's own (exp->use); conntrack -L shows the master's use=1 while its
        # expectation waits (tests/kernel/test_conntrack_expect_kernel.py)
        self._list.append(exp)
        self.stats["create"] += 1

    def restore(self, exp: Expectation) -> None:
        """Put back an expectation read from a snapshot, without the checks of
        :meth:`related`."""
        self._list.append(exp)

    def remove(self, exp: Expectation) -> bool:
        try:
            self._list.remove(exp)
        except ValueError:
            return False
        self.stats["delete"] += 1
        return True

    def remove_master(self, master) -> int:
        """nf_ct_remove_expectations(): the master went away."""
        gone = [e for e in self._list if e.master is master]
        for e in gone:
            self.remove(e)
        return len(gone)

    def expire(self, now: float) -> int:
        gone = [e for e in self._list if e.expires <= now]
        for e in gone:
            self.remove(e)
        return len(gone)

    def find(self, t: Tuple, zone: int, now: float, unlink: bool = True) -> Expectation | None:
        """nf_ct_find_expectation(): the expectation a new connection takes."""
        self.expire(now)
        for e in self._list:
            if e.zone != zone or e.flags & ExpectFlag.INACTIVE or not e.matches(t):
                continue
            m = e.master
            # the other end cannot know of it before the master left this host
            if not m.confirmed or m.dying:
                return None
            if unlink and not e.flags & ExpectFlag.PERMANENT:
                self.remove(e)
            self.stats["new"] += 1
            return e
        return None


def _addr(b: bytes) -> str:
    return str(ipaddress.ip_address(b))


def format_expect(exp: Expectation, now: float) -> str:
    """One ``conntrack -L expect`` line (libnetfilter_conntrack's default expect output)."""
    t, m = exp.tuple, exp.master.tuples[0]
    parts = [f"{int(exp.remaining(now))} proto={t.protonum}",
             f"src={_addr(t.src)} dst={_addr(t.dst)}"]
    ports = t.protonum in (6, 17, 132, 136, 33)
    if ports:
        parts.append(f"sport={t.sport} dport={t.dport}")
    full = bytes([255]) * len(t.dst)
    parts.append(f"mask-src={_addr(exp.src_mask)} mask-dst={_addr(full)}")
    if ports:
        parts.append(f"sport={exp.sport_mask} dport=65535")
    parts.append(f"master-src={_addr(m.src)} master-dst={_addr(m.dst)}")
    if ports:
        parts.append(f"sport={m.sport} dport={m.dport}")
    if exp.zone:
        parts.append(f"zone={exp.zone}")
    flags = [f.name for f in (ExpectFlag.PERMANENT, ExpectFlag.INACTIVE, ExpectFlag.USERSPACE)
             if exp.flags & f]
    if flags:
        parts.append(",".join(flags))
    parts.append(f"class={exp.cls}")
    if exp.helper_name:
        parts.append(f"helper={exp.helper_name}")
    return " ".join(parts)
