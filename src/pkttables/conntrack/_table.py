"""The conntrack table and the two hook functions, nf_conntrack_in and nf_conntrack_confirm.

Theory of operation
-------------------
``in_hook(pkt, hook, now)`` runs at priority -200 in PREROUTING and OUTPUT
(``nf_conntrack_in``):

1. A packet that already carries an entry (loopback) or is marked untracked
   (``notrack``) passes untouched.  A *template* (``ct zone set`` in a raw chain) only
   gives the zone.
2. The l3 header is parsed as ``get_l4proto`` does; a non-first fragment (the engine
   defragments at -400 first) or a truncated header gets no entry: ``ct state invalid``.
3. ICMP/ICMPv6 errors are looked up by the packet they quote (``nf_conntrack_inet_error``):
   found, they become RELATED to that entry; not found or broken, invalid.  IPv6
   neighbour discovery and MLD are untracked.
4. Otherwise the tuple is looked up (``resolve_normal_ct``).  A miss allocates a new,
   *unconfirmed* entry -- not yet in the table -- after checking ``nf_conntrack_max``
   (early drop, see below).  ctinfo follows: reply direction -> ESTABLISHED_REPLY; a
   reply seen -> ESTABLISHED; expected -> RELATED; else NEW.
5. The protocol tracker (TCP state machine, UDP, ICMP, ...) checks the packet and
   refreshes the timeout.  A negative verdict detaches the entry: the packet is
   ``invalid`` and an unconfirmed entry vanishes.  TCP may ask to kill a closed entry and
   look up again (-NF_REPEAT, reopening after TIME_WAIT/CLOSE).
6. The first reply sets SEEN_REPLY.

``confirm(pkt, now)`` runs last in INPUT and POSTROUTING (``nf_conntrack_confirm``): an
unconfirmed entry is inserted under both tuples, gets CONFIRMED, its absolute expiry,
and a NEW event; for a confirmed entry the events cached while the packet traversed
(state change, reply, assured, mark) are delivered as one UPDATE.

The table is a dict with one key per direction: the direction's compact key
(``_tuple.packet_key``: protocol, ports, addresses as one ``bytes``) in zone 0, the
2-byte zone id followed by it in other zones -- the zone id *of that direction*
(``nf_ct_zone_id``), so ``ct original zone set`` puts only the original direction in
its zone.  The value is the entry, and the direction is found by comparing the key with
the entry's reply key (a value of ``(entry, dir)`` per key cost ~130 bytes per
connection, issue 6).

A node (one direction of an entry) matches a lookup when the tuple is equal and the
entry's zone id *in the node's direction* equals the looked-up zone's id in that
direction (nf_ct_key_equal -> nf_ct_zone_equal).  With directional zones two nodes may
then share one key: entry X from wan with ``ct reply zone set 1`` has its original node
S:53 -> C:40000 in zone 0; a NATed entry B with ``ct original zone set 1`` may take the
reply S:53 -> C:40000, also in zone 0 -- comparing X's node with B's zone looks at the
*original* direction (0 vs 1): no clash, and the kernel keeps both nodes in the bucket,
newest first (hlist_nulls_add_head_rcu); a zone-0 lookup then finds B's.  Here the
newest node of a key is the dict's value and older ones wait in ``_older[key]``, which
stays empty without directional zones (tests/kernel/test_ctnat_zonedir.py).

Python hashes the ``bytes`` keys with SipHash-1-3 under a
per-process random key
(PYTHONHASHSEED; PEP 456), so an attacker who chooses tuples cannot make them collide on
purpose -- the role the kernel's ``hash_conntrack_raw`` gives to siphash with a boot-time
random seed.  A dict resizes itself, so there are no chains to grow long.

Bounded table and early drop: ``nf_conntrack_max`` counts confirmed entries plus the one
being created.  When the limit would be exceeded, ``early_drop`` looks at the hash
buckets of the new tuple and the 7 after it (NF_CT_EVICTION_RANGE = 8 buckets of
``nf_conntrack_buckets``) and kills every entry there that is confirmed, not ASSURED and
not dying; if none was found the packet is dropped (``nf_conntrack: table full``).
The buckets are modelled with the same keyed hash modulo ``nf_conntrack_buckets``, both
directions of an entry indexed, as the kernel hashes both tuplehash nodes.  Not
modelled: the GC worker's extra eviction of closing TCP entries under pressure.

Expiry: entries carry their absolute expiry; an index of one-second slots (slot
``floor(expiry)`` -> entries, with a heap of the slot numbers) is consulted at every call
with the injected ``now``; every entry found expired is destroyed (DESTROY event), in
(expiry, id) order.  A refresh that moves an expiry later leaves the entry in its old slot,
where it is found again and moved on (the kernel's GC also just skips live entries); one
that moves it to an earlier slot files it there too, and the old slot ignores it.  A slot
costs a list cell per entry instead of a heap tuple (~65 bytes less per entry).  The kernel's GC runs later than the exact expiry, but an expired entry is never
found by a lookup there either, which is what traffic observes.
"""

from __future__ import annotations

import heapq
import itertools
import math
import struct
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from pkttables.conntrack import _l4, _sctp
from pkttables.conntrack._conn import _INF, NF_CT_DEFAULT_ZONE_DIR, Conn
from pkttables.conntrack._enums import CtDir, CtEventType, CtInfo, CtStateBit, Event, Status
from pkttables.conntrack._format import format_event
from pkttables.conntrack._tcp import TcpSettings, tcp_packet
from pkttables.conntrack import seqadj as _seqadj
from pkttables.conntrack.expect import Expectation, ExpectTable
from pkttables.conntrack._tuple import (AF_INET, AF_INET6, Tuple, addresses, get_tuple, invert,
                                        invert_key, key_tuple, l3_bounds, packet_key,
                                        tuple_key)

__all__ = ["ConntrackTable", "CtEvent", "ct_state", "notrack", "make_template",
           "SYSCTL_DEFAULTS", "NF_CT_EVICTION_RANGE"]

NF_DROP, NF_ACCEPT, NF_REPEAT = 0, 1, 4
NF_CT_EVICTION_RANGE = 8
CONFIRM_PRIORITY = 2**31 - 1   # NF_IP_PRI_CONNTRACK_CONFIRM (INT_MAX)
CONNTRACK_PRIORITY = -200      # NF_IP_PRI_CONNTRACK

_PRE, _IN, _FWD, _OUT, _POST = 0, 1, 2, 3, 4
_HOOK_NAMES = {"prerouting": _PRE, "input": _IN, "forward": _FWD, "output": _OUT,
               "postrouting": _POST}

# Values of the kernel this project checks against (6.18); the host file may override.
SYSCTL_DEFAULTS: dict[str, int] = {
    "net.netfilter.nf_conntrack_max": 262144,
    "net.netfilter.nf_conntrack_buckets": 262144,
    "net.netfilter.nf_conntrack_acct": 0,
    "net.netfilter.nf_conntrack_checksum": 1,
    "net.netfilter.nf_conntrack_tcp_loose": 1,
    "net.netfilter.nf_conntrack_tcp_be_liberal": 0,
    "net.netfilter.nf_conntrack_tcp_max_retrans": 3,
    "net.netfilter.nf_conntrack_tcp_ignore_invalid_rst": 0,
    "net.netfilter.nf_conntrack_expect_max": 4096,
    **{f"net.netfilter.nf_conntrack_{k}": v for k, v in _l4.DEFAULT_TIMEOUTS.items()},
    **{f"net.netfilter.nf_conntrack_{_sctp.SCTP_SYSCTLS[s]}": v
       for s, v in _sctp.SCTP_TIMEOUTS.items()},
}


@dataclass(frozen=True, slots=True)
class CtEvent:
    """One conntrack event as ``conntrack -E`` reports it; ``line`` is its text at the
    time it was delivered."""
    type: CtEventType
    conn_id: int
    events: int
    time: float
    line: str


class _Ctx:
    """What a protocol tracker gets: the packet, its l4 offsets and the hook."""
    __slots__ = ("pkt", "buf", "nh", "dataoff", "end", "l3num", "protonum", "hook", "now",
                 "reason", "check")

    def __init__(self, pkt, buf, nh, dataoff, end, l3num, protonum, hook, now, check):
        self.pkt, self.buf, self.nh, self.dataoff, self.end = pkt, buf, nh, dataoff, end
        self.l3num, self.protonum, self.hook, self.now = l3num, protonum, hook, now
        self.reason = ""
        self.check = check

    def checksum_bad(self) -> bool:
        """nf_checksum(): verified only in PREROUTING with nf_conntrack_checksum=1
        (locally generated packets are trusted)."""
        if not self.check or self.hook != _PRE or self.pkt is None:
            return False
        try:
            res = self.pkt.verify_checksums()
        except Exception:  # a packet our parser cannot checksum: trust it like the kernel
            return False
        return not all(v for k, v in res.items() if k != "ip")


def _hk(zid: int, k: bytes) -> bytes:
    """The hash key of a direction's key in zone ``zid`` (the key itself in zone 0)."""
    return k if zid == 0 else zid.to_bytes(2, "big") + k


def _hkeys(ct: Conn) -> tuple[bytes, bytes]:
    """The entry's two hash keys (original, reply), each with its direction's zone id."""
    r = ct._x
    if r is None or r.zone == 0:
        return ct._ko, ct._kr
    return _hk(ct.zone_id(0), ct._ko), _hk(ct.zone_id(1), ct._kr)


def _dir_of(ct: Conn, hk: bytes) -> int:
    """The direction of the entry whose hash key ``hk`` found it (the reply wins when
    both keys are one: a tuple equal to its own inverse)."""
    r = ct._x
    if r is None or r.zone == 0:
        return 1 if hk == ct._kr else 0
    return 1 if hk == _hk(ct.zone_id(1), ct._kr) else 0


def _zone_match(ct: Conn, hk: bytes, zo: int, zr: int) -> int:
    """The direction of ``ct``'s node under ``hk`` if it matches a lookup in the zone
    struct whose ids are ``zo``/``zr`` (nf_ct_key_equal: nf_ct_zone_equal in the node's
    direction), else -1."""
    d = _dir_of(ct, hk)
    return d if ct.zone_id(d) == (zr if d else zo) else -1


def _hook_num(hook) -> int:
    if isinstance(hook, str):
        return _HOOK_NAMES[hook]
    return int(hook)


_EMPTY_KEY = tuple_key(Tuple(0, b"", b"", 0))


def make_template(zone: int = 0, zone_dir: int = NF_CT_DEFAULT_ZONE_DIR) -> Conn:
    """A template entry (``ct zone set`` before conntrack): only its zone is used;
    ``zone_dir`` (``ct original zone set``: 1, ``ct reply zone set``: 2, both: 3) says
    which directions of the new entry the zone applies to."""
    c = Conn(_EMPTY_KEY, _EMPTY_KEY, zone, zone_dir)
    c.status = Status.TEMPLATE | Status.CONFIRMED
    return c


def notrack(pkt) -> None:
    """``notrack``: the packet skips connection tracking (``ct state untracked``)."""
    pkt.ct = None
    pkt.ctinfo = CtInfo.UNTRACKED


_UNTRACKED_BIT = int(CtStateBit.UNTRACKED)
_INVALID_BIT = int(CtStateBit.INVALID)
_TEMPLATE = int(Status.TEMPLATE)
_UPDATE_BITS = ~int(Event.NEW | Event.RELATED | Event.DESTROY)
# int.__and__ on the per-packet path (enum.Flag.__and__ is Python code; see _conn.py)
_AND = int.__and__
_CONFIRMED, _SEEN_REPLY = int(Status.CONFIRMED), int(Status.SEEN_REPLY)
_EXPECTED, _SEQ_ADJUST = int(Status.EXPECTED), int(Status.SEQ_ADJUST)
_UNTRACKED_CTINFO = int(CtInfo.UNTRACKED)


def ct_state(pkt) -> int:
    """The value ``ct state`` loads for a packet (nft_ct_get_eval NFT_CT_STATE).

    Plain ints throughout (``int.__and__`` on the status, not IntFlag ``&``): this runs
    once per packet and ``enum.Flag.__and__`` is Python code."""
    ctinfo = pkt.ctinfo
    if ctinfo == _UNTRACKED_CTINFO:
        return _UNTRACKED_BIT
    ct = pkt.ct
    if ct is None or ctinfo is None or int.__and__(ct.status, _TEMPLATE):
        return _INVALID_BIT
    return 1 << (int(ctinfo) % 3 + 1)          # NF_CT_STATE_BIT: ctinfo % IP_CT_IS_REPLY


class ConntrackTable:
    """One network namespace's connection tracking.

    ``host`` (a :class:`pkttables.stack.host.Host`) or ``sysctl`` (a function of a
    sysctl name) gives the settings; unknown names take :data:`SYSCTL_DEFAULTS`.
    """

    def __init__(self, host: Any = None, *, sysctl: Callable[[str], int] | None = None,
                 on_event: Callable[[CtEvent], None] | None = None,
                 keep_events: bool = True):
        overrides = dict(getattr(host, "sysctls", {}) or {})

        def get(name: str) -> int:
            if sysctl is not None:
                v = sysctl(name)
                if v is not None:
                    return int(v)
            if name in overrides:
                return int(overrides[name])
            return SYSCTL_DEFAULTS.get(name, 0)

        self.sysctl = get
        self.max = get("net.netfilter.nf_conntrack_max")
        self.buckets = max(1, get("net.netfilter.nf_conntrack_buckets"))
        self.acct = bool(get("net.netfilter.nf_conntrack_acct"))
        self.checksum = bool(get("net.netfilter.nf_conntrack_checksum"))
        self.tcp = TcpSettings.from_sysctl(get)
        self.timeouts = {k: get(f"net.netfilter.nf_conntrack_{k}") or v
                         for k, v in _l4.DEFAULT_TIMEOUTS.items()}
        self.sctp_timeouts = {s: get(f"net.netfilter.nf_conntrack_{n}")
                              for s, n in _sctp.SCTP_SYSCTLS.items()}
        # key: a direction's compact key, zone id first outside zone 0 (_hk); value: the entry
        self.hash: dict[bytes, Conn] = {}
        # older nodes under a key the newest (in ``hash``) shares, newest first: only with
        # directional zones (see the module doc)
        self._older: dict[bytes, list[Conn]] = {}
        # bucket -> entries, for early drop only: built the first time the table is full
        # and kept from then on (a set per bucket costs ~340 bytes per entry otherwise)
        self._bucket: dict[int, set[Conn]] | None = None
        self._slots: dict[int, list[Conn]] = {}    # floor(expiry) -> entries
        self._slot_heap: list[int] = []            # the keys of _slots, as a heap
        self._count = 0
        self.expect_table = ExpectTable(get("net.netfilter.nf_conntrack_expect_max"))
        self.helper_log: list[str] = []
        self.events: list[CtEvent] = []
        self.keep_events = keep_events
        self.on_event = on_event
        self.stats = {"found": 0, "invalid": 0, "ignore": 0, "insert": 0, "drop": 0,
                      "early_drop": 0, "insert_failed": 0}
        self.last_reason = ""
        self._trackers = {6: tcp_packet, 17: _l4.udp_packet, 136: _l4.udp_packet,
                          1: _l4.icmp_packet, 58: _l4.icmp_packet, 47: _l4.gre_packet,
                          132: _sctp.sctp_packet}

    # ------------------------------------------------------------------ lookups

    def __len__(self) -> int:
        return self._count

    def lookup(self, t: Tuple, zone: "int | Conn" = 0, now: float | None = None) -> tuple[Conn, int] | None:
        """The entry and direction a tuple belongs to (``nf_conntrack_find_get``).

        ``zone`` is a zone id (both directions), or an entry or template whose zone
        (id and directions, ``struct nf_conntrack_zone``) is used as the kernel uses a
        zone struct: the original-direction id first, then the reply one if it differs,
        and a hit counts only if the entry's zone id in the hit's direction is the same
        (nf_ct_zone_equal).  NAT passes the entry it is NATing (``nf_ct_zone(ct)``)."""
        if now is not None:
            self.expire(now)
        if type(zone) is not int:
            hit, d = self._find_zoned(tuple_key(t), zone)
            return None if hit is None else (hit, d)
        hk = _hk(zone, tuple_key(t))
        ct = self.hash.get(hk)
        if ct is None:
            return None
        return ct, _dir_of(ct, hk)

    def tuple_taken(self, t: Tuple, ignored: Conn | None = None, zone: int = 0) -> bool:
        """nf_conntrack_tuple_taken(): is ``t`` some other entry's tuple?  (NAT port
        allocation asks this about the reply tuples it tries.)  With ``ignored`` (the
        entry being NATed) the zone is that entry's reply-direction zone id, as the
        kernel hashes with ``nf_ct_zone_id(zone, IP_CT_DIR_REPLY)``."""
        k = tuple_key(t)
        if ignored is None or ignored._x is None:
            # a zone of both directions: every node under the key matches it
            hk = _hk(zone, k)
            hit = self.hash.get(hk)
            if hit is None:
                return False
            return hit is not ignored or any(o is not ignored for o in self._older.get(hk, ()))
        # nf_conntrack_tuple_taken(): hashed with the reply-direction id, each node compared
        # with the entry's zone in the node's own direction (nf_ct_key_equal)
        zo, zr = ignored.zone_id(0), ignored.zone_id(1)
        hk = _hk(zr, k)
        for ct in self._nodes(hk):
            if ct is ignored or _zone_match(ct, hk, zo, zr) < 0:
                continue
            # "if the *original tuples* are identical, both refer to the same flow"
            if ct._ko == ignored._ko and ct.zone_id(0) == zo:
                continue
            return True
        return False

    def _nodes(self, hk: bytes) -> list[Conn]:
        """The entries with a node under ``hk``, newest first (the kernel's bucket order)."""
        head = self.hash.get(hk)
        if head is None:
            return []
        older = self._older.get(hk)
        return [head] if older is None else [head, *older]

    def alter_reply(self, ct: Conn, new_reply: Tuple) -> None:
        """nf_conntrack_alter_reply(): NAT rewrites the reply tuple of an entry that is
        not yet confirmed (it is hashed only at confirm)."""
        if ct.confirmed:
            raise ValueError("the reply tuple of a confirmed entry cannot change")
        ct._kr = tuple_key(new_reply)

    def entries(self, now: float | None = None) -> list[Conn]:
        """Confirmed entries in insertion order (expired ones destroyed first)."""
        if now is not None:
            self.expire(now)
        # both keys of an entry hold it; the first (original) one gives insertion order
        if self._older:
            return list(dict.fromkeys(itertools.chain(self.hash.values(), *self._older.values())))
        return list(dict.fromkeys(self.hash.values()))

    def __iter__(self) -> Iterator[Conn]:
        return iter(self.entries())

    # ------------------------------------------------------------------ events

    def event(self, ct: Conn, bits: int) -> None:
        """nf_conntrack_event_cache(): remember what changed; delivered at confirm."""
        ct._events |= int(bits)

    def _deliver(self, kind: CtEventType, ct: Conn, bits: int, now: float) -> None:
        if not self.keep_events and self.on_event is None:
            return      # nobody listens: no event text to build (ctnetlink without listeners)
        ev = CtEvent(kind, ct.id, bits, now, format_event(kind, ct, now, bits))
        if self.keep_events:
            self.events.append(ev)
        if self.on_event is not None:
            self.on_event(ev)

    def _deliver_cached(self, ct: Conn, now: float) -> None:
        bits, ct._events = ct._events, 0
        # ctnetlink reports an UPDATE for any of these (nf_ct_deliver_cached_events)
        if bits and _AND(bits, _UPDATE_BITS):
            self._deliver(CtEventType.UPDATE, ct, bits, now)

    def drain_events(self) -> list[CtEvent]:
        out, self.events = self.events, []
        return out

    # ------------------------------------------------------------------ lifecycle

    def _bucket_of(self, hk: bytes) -> int:
        return hash(hk) % self.buckets

    def _insert(self, ct: Conn, now: float) -> None:
        for hk in _hkeys(ct):
            old = self.hash.get(hk)
            if old is not None and old is not ct:
                # another entry's node shares the key (directional zones): newest first
                self._older.setdefault(hk, []).insert(0, old)
            self.hash[hk] = ct
            if self._bucket is not None:
                self._bucket.setdefault(self._bucket_of(hk), set()).add(ct)
        self._count += 1
        self.touch(ct)

    def touch(self, ct: Conn) -> None:
        """Tell the expiry index that ``ct.expires`` may have moved earlier (a later
        expiry is noticed lazily when the old slot comes due)."""
        exp = ct.expires
        if exp < ct._heap_at and _AND(ct.status, _CONFIRMED):
            old = ct._heap_at
            ct._heap_at = exp
            k = math.floor(exp)
            if old is not _INF and k == math.floor(old):
                return      # already filed in that slot
            self._file(ct, k)

    def _file(self, ct: Conn, k: int) -> None:
        lst = self._slots.get(k)
        if lst is None:
            self._slots[k] = [ct]
            heapq.heappush(self._slot_heap, k)
        else:
            lst.append(ct)

    def _unlink(self, ct: Conn) -> None:
        for key in _hkeys(ct):
            older = self._older.get(key)
            if older is not None and ct in older:
                older.remove(ct)
                if not older:
                    del self._older[key]
                continue
            if self.hash.get(key) is ct:
                if older is not None:
                    self.hash[key] = older.pop(0)
                    if not older:
                        del self._older[key]
                else:
                    del self.hash[key]
                if self._bucket is not None:
                    bk = self._bucket_of(key)
                    b = self._bucket.get(bk)
                    if b is not None:
                        b.discard(ct)
                        if not b:
                            del self._bucket[bk]
        self._count -= 1

    def kill(self, ct: Conn, now: float) -> bool:
        """nf_ct_kill(): remove a confirmed entry at once (DESTROY event); False if it
        was already dying or never confirmed."""
        if ct.status & Status.DYING:
            return False
        ct.status |= Status.DYING
        self.expect_table.remove_master(ct)     # nf_ct_remove_expectations
        if ct.master is not None and not ct.ext_get("master_put"):
            ct.ext["master_put"] = True
            ct.master.ext["refs"] = ct.master.ext.get("refs", 0) - 1
        if not ct.confirmed:
            return False
        self._unlink(ct)
        ct._events = 0
        self._deliver(CtEventType.DESTROY, ct, Event.DESTROY, now)
        return True

    def expire(self, now: float) -> int:
        """Destroy every entry whose timeout has passed; returns how many."""
        keys = self._slot_heap
        if not keys or keys[0] > now:
            return 0
        due: list[Conn] = []
        keep: list[tuple[int, list[Conn]]] = []
        while keys and keys[0] <= now:
            k = heapq.heappop(keys)
            left: list[Conn] = []
            for ct in self._slots.pop(k):
                if ct.status & Status.DYING or math.floor(ct._heap_at) != k:
                    continue    # dead, or filed in an earlier slot since: stale cell
                exp = ct.expires
                if exp <= now:
                    due.append(ct)
                    continue
                ct._heap_at = exp   # refreshed since it was filed: move it on
                nk = math.floor(exp)
                if nk == k:
                    left.append(ct)   # due later within this second
                else:
                    self._file(ct, nk)
            if left:
                keep.append((k, left))
        for k, left in keep:
            self._slots[k] = left
            heapq.heappush(keys, k)
        n = 0
        # a cell may have been filed twice in one slot (moved earlier, then on again)
        for ct in sorted(dict.fromkeys(due), key=lambda c: (c.expires, c.id)):
            if self.kill(ct, now):
                n += 1
        return n

    def flush(self, now: float) -> int:
        """``conntrack -F``."""
        n = 0
        for ct in self.entries():
            n += self.kill(ct, now)
        return n

    def _early_drop(self, hk: bytes, now: float) -> bool:
        """early_drop(): kill the non-assured entries of up to 8 buckets from the new
        tuple's own (``hk``: its hash key)."""
        if self._bucket is None:
            self._bucket = {}
            for ct in self.entries():
                for k in _hkeys(ct):
                    self._bucket.setdefault(self._bucket_of(k), set()).add(ct)
        b = self._bucket_of(hk)
        for i in range(NF_CT_EVICTION_RANGE):
            chain = self._bucket.get((b + i) % self.buckets)
            if not chain:
                continue
            drops = 0
            for ct in sorted(chain, key=lambda c: c.id):
                if ct.status & (Status.ASSURED | Status.DYING) or not ct.confirmed:
                    continue
                drops += self.kill(ct, now)
            if drops:
                self.stats["early_drop"] += drops
                return True
        return False

    def expect(self, t: Tuple, master: Conn, now: float, timeout: float = 300.0,
               zone: int | None = None) -> Expectation:
        """Register an exact-match expectation (every field of ``t`` must match): the
        first packet with this original tuple opens an entry with EXPECTED status,
        RELATED.  Helpers use :meth:`expect_related` with masks and a policy."""
        exp = Expectation(t, master, sport_mask=0xFFFF)
        if zone is not None:
            exp.zone = zone
        self.expect_related(exp, now, timeout=timeout)
        return exp

    def expect_related(self, exp: Expectation, now: float, *, timeout: float,
                       max_expected: int = 0) -> None:
        """nf_ct_expect_related(): raises :class:`~pkttables.conntrack.expect.ExpectError`."""
        self.expect_table.related(exp, now, timeout=timeout, max_expected=max_expected)

    def expectations(self, now: float | None = None) -> list[Expectation]:
        """The expectation table (``conntrack -L expect``), oldest first."""
        if now is not None:
            self.expect_table.expire(now)
        return list(self.expect_table)

    def assign_helper(self, pkt, name: str, protonum: int | None = None,
                      l3nums: tuple[int, ...] | None = None) -> bool:
        """``ct helper set "obj"`` (nft_ct_helper_obj_eval): attach the helper ``name``
        (the object's ``type``) to the packet's entry if it is new (not confirmed, not a
        template), of the object's l4 protocol (``protonum``, default the helper's) and
        family (``l3nums``: 2 ip, 10 ip6), and has no helper yet.  True if attached."""
        from pkttables.conntrack.helpers import HelperExt, get_helper
        ct = pkt.ct
        if ct is None or ct.confirmed or ct.status & Status.TEMPLATE:
            return False
        helper = get_helper(name)
        if helper is None:
            return False
        if ct.protonum != (helper.protonum if protonum is None else protonum):
            return False
        if ct.l3num not in (helper.l3nums if l3nums is None else l3nums):
            return False
        if ct.status & Status.HELPER:
            return False
        ct.ext["helper"] = HelperExt(helper)
        ct.helper = helper.name
        ct.status |= Status.HELPER
        return True

    def assign_timeout(self, pkt, protonum: int, policy: dict[str, int], obj: Any = None) -> bool:
        """``ct timeout set "obj"`` (nft_ct_timeout_obj_eval): give a new entry (not
        confirmed, not a template) of the object's l4 protocol the object's timeouts
        (the timeout extension, ``nf_ct_timeout_ext_add``) and refresh it to the first
        value of the policy (``values[0]``: TCP's syn_sent, UDP's unreplied), relative
        since the entry is unconfirmed.  The trackers then read the entry's timeouts
        instead of the sysctls' (``nf_ct_timeout_lookup``).  ``policy`` maps nft's state
        names to seconds; states it does not name keep the sysctl value, as
        ``*_timeout_nlattr_to_obj`` copies the per-netns defaults first.  True if set."""
        ct = pkt.ct
        if ct is None or ct.status & Status.TEMPLATE or ct.confirmed:
            return False
        if ct.protonum != protonum:      # priv->l4proto != pkt->tprot
            return False
        values, first = self._timeout_policy(protonum, policy)
        ct.ext["timeout"] = values
        if obj is not None:
            ct.ext["timeout_obj"] = obj      # which object, for untimeout()
        ct.refresh(0.0, first)   # unconfirmed: only the relative value is kept (no "now")
        return True

    def untimeout(self, obj: Any = None) -> int:
        """nf_ct_untimeout(): a ``ct timeout`` object is destroyed.  Every entry that got
        it (``assign_timeout(..., obj=obj)``; every entry with a timeout policy when
        ``obj`` is None, as on netns exit) loses it: the time already set runs on, and
        the next packet refreshes with the sysctl timeouts.  Returns how many entries.

        The kernel lets an object go only when no rule refers to it (EBUSY before), and
        an object cannot be changed at all (``add`` of an existing one is accepted and
        does nothing: ct timeout has no update op) -- so this is the only way a policy
        leaves its entries (tests/kernel/test_ctnat_cttimeout_change.py)."""
        n = 0
        for ct in self.entries():
            r = ct._x
            if r is None or r.ext is None or "timeout" not in r.ext:
                continue
            if obj is None or r.ext.get("timeout_obj") == obj:
                del r.ext["timeout"]
                r.ext.pop("timeout_obj", None)
                n += 1
        return n

    def _timeout_policy(self, protonum: int, policy: dict[str, int]):
        """(the entry's timeout table, values[0]) for an object's policy."""
        pol = {str(k).lower(): int(v) for k, v in policy.items()}
        if protonum == 6:
            from pkttables.conntrack._tcp import TCP_POLICY_NAMES
            t = dict(self.tcp.timeouts)
            for name, st in TCP_POLICY_NAMES.items():
                if name in pol:
                    t[st] = pol[name]
            # tcp_timeout_nlattr_to_obj: timeouts[TCP_CONNTRACK_NONE] = syn_sent's
            from pkttables.conntrack._enums import TcpState
            return t, t[TcpState.SYN_SENT]
        if protonum == 132:
            t = dict(self.sctp_timeouts)
            for st in t:
                if st.name.lower() in pol:
                    t[st] = pol[st.name.lower()]
            return t, next(iter(t.values()))
        t = dict(self.timeouts)
        names = {17: ("udp_timeout", "udp_timeout_stream"), 136: ("udp_timeout", "udp_timeout_stream"),
                 47: ("gre_timeout", "gre_timeout_stream")}.get(protonum)
        if names is not None:
            # UDP_CT_UNREPLIED / UDP_CT_REPLIED (GRE the same two)
            if "unreplied" in pol:
                t[names[0]] = pol["unreplied"]
            if "replied" in pol:
                t[names[1]] = pol["replied"]
            return t, t[names[0]]
        key = {1: "icmp_timeout", 58: "icmpv6_timeout"}.get(protonum, "generic_timeout")
        if pol:
            t[key] = pol.get("timeout", next(iter(pol.values())))
        return t, t[key]

    # ------------------------------------------------------------------ hooks

    def in_hook(self, pkt, hook, now: float) -> int:
        """nf_conntrack_in(): returns NF_ACCEPT (1) or NF_DROP (0) and sets
        ``pkt.ct`` / ``pkt.ctinfo`` (both None: ``ct state invalid``)."""
        hook = _hook_num(hook)
        self.expire(now)
        self.last_reason = ""
        tmpl = None
        ct = pkt.ct
        if pkt.ctinfo == CtInfo.UNTRACKED:
            self.stats["ignore"] += 1
            return NF_ACCEPT
        if ct is not None:
            if not _AND(ct.status, _TEMPLATE):
                self.stats["ignore"] += 1   # already tracked (loopback)
                return NF_ACCEPT
            tmpl = ct
        pkt.ct = None
        pkt.ctinfo = None
        buf = pkt.buf
        nh = pkt.nh_off
        l3 = l3_bounds(buf, nh, len(buf))
        if l3 is None:
            return self._invalid("no l4 header / fragment")
        l3num, protonum, dataoff, end = l3
        ctx = _Ctx(pkt, buf, nh, dataoff, end, l3num, protonum, hook, now, self.checksum)
        if protonum == 1 or protonum == 58:
            # nf_conntrack_inet_error(): the quoted tuple is looked up with the template's
            # zone struct (nf_conntrack_find_get: original id, then reply id)
            verdict = self._icmp(pkt, ctx, tmpl)
            if verdict is not None:
                return verdict
        for _ in range(3):      # -NF_REPEAT goes round again (at most once in practice)
            res = self._resolve(pkt, ctx, tmpl)
            if res is None:
                return self._invalid(ctx.reason or "cannot get tuple")
            if res is False:
                self.stats["drop"] += 1
                return NF_DROP
            ct, ctinfo = res
            dir_ = 1 if ctinfo >= CtInfo.IS_REPLY else 0
            tracker = self._trackers.get(protonum, _l4.generic_packet)
            ret = tracker(self, ct, ctx, dir_)
            self.touch(ct)
            if ret <= 0:
                pkt.ct = None
                pkt.ctinfo = None
                if ret == -NF_REPEAT:
                    continue
                self.stats["invalid"] += 1
                self.last_reason = ctx.reason
                if ret == NF_DROP:
                    self.stats["drop"] += 1
                    return NF_DROP
                return NF_ACCEPT
            pkt.ct = ct
            pkt.ctinfo = ctinfo
            if ctinfo == CtInfo.ESTABLISHED_REPLY and not _AND(ct.status, _SEEN_REPLY):
                ct.status |= Status.SEEN_REPLY
                self.event(ct, Event.REPLY)
            return NF_ACCEPT
        return self._invalid("repeat loop")

    def _invalid(self, why: str) -> int:
        self.stats["invalid"] += 1
        self.last_reason = why
        return NF_ACCEPT

    def _resolve(self, pkt, ctx: _Ctx, tmpl):
        """resolve_normal_ct(): (conn, ctinfo), None (no tuple: invalid) or False
        (table full: drop)."""
        k = packet_key(ctx.buf, ctx.nh, ctx.l3num, ctx.protonum, ctx.dataoff, ctx.end)
        if k is None:
            ctx.reason = "cannot get tuple"
            return None
        if tmpl is None:
            ct = self.hash.get(k)
            if ct is None:
                dir_ = -1
            elif ct._x is None:
                dir_ = 1 if k == ct._kr else 0
            else:
                ct, dir_ = self._find_zoned(k, None)
        else:
            ct, dir_ = self._find_zoned(k, tmpl)
        if ct is None:
            ct = self._init_conntrack(k, tmpl, ctx)
            if ct is None or ct is False:
                return ct
            dir_ = 0
        else:
            self.stats["found"] += 1
        if dir_ == 1:
            ctinfo = CtInfo.ESTABLISHED_REPLY
        elif _AND(ct.status, _SEEN_REPLY):
            ctinfo = CtInfo.ESTABLISHED
        elif _AND(ct.status, _EXPECTED):
            ctinfo = CtInfo.RELATED
        else:
            ctinfo = CtInfo.NEW
        return ct, ctinfo

    def _find_zoned(self, k: bytes, tmpl: Conn | None) -> tuple[Conn | None, int]:
        """__nf_conntrack_find_get() with a template's zone, as resolve_normal_ct does it:
        the original-direction zone id first, then the reply one if it differs; a hit
        counts only if the entry's zone id in the hit's direction is the template's
        (nf_ct_zone_equal)."""
        zo, zr = (0, 0) if tmpl is None else (tmpl.zone_id(0), tmpl.zone_id(1))
        for zid in ((zo,) if zo == zr else (zo, zr)):
            hk = _hk(zid, k)
            for ct in self._nodes(hk):
                d = _zone_match(ct, hk, zo, zr)
                if d >= 0:
                    return ct, d
        return None, -1

    def _init_conntrack(self, k: bytes, tmpl: Conn | None, ctx: _Ctx):
        """init_conntrack(): a new unconfirmed entry, or None (no reply tuple) / False
        (table full and nothing to evict).  The entry takes the template's zone, both
        its id and its directions (nf_ct_zone_add)."""
        rk = invert_key(k)
        if rk is None:
            ctx.reason = "cannot invert tuple"
            return None
        zone, zdir = (0, NF_CT_DEFAULT_ZONE_DIR) if tmpl is None else (tmpl.zone, tmpl.zone_dir)
        if self.max and self._count + 1 > self.max:
            zo = tmpl.zone_id(0) if tmpl is not None else 0
            if not self._early_drop(_hk(zo, k), ctx.now):
                self.last_reason = "nf_conntrack: table full, dropping packet"
                return False
        ct = Conn(k, rk, zone, zdir)
        if self.acct:
            ct.counters = [[0, 0], [0, 0]]
        # nf_ct_find_expectation() with the template's zone: nf_ct_exp_zone_equal_any()
        # compares the plain zone ids (the master's and the template's), whatever the
        # directions (expect.h: a->zone.id == b->id)
        exp = (self.expect_table.find(key_tuple(k), ct.zone, ctx.now)
               if len(self.expect_table) else None)
        if exp is not None:
            master = exp.master
            ct.status |= Status.EXPECTED
            ct.master = master
            master.ext["refs"] = master.ext.get("refs", 0) + 1   # released when ct dies
            ct.mark = master.mark      # an expected entry inherits the master's mark
            ct.secmark = master.secmark
            if exp.helper is not None:
                from pkttables.conntrack.helpers import HelperExt
                ct.ext["helper"] = HelperExt(exp.helper)
                ct.helper = exp.helper.name
            if exp.expectfn is not None:
                exp.expectfn(ct, exp)   # NAT: nf_nat_follow_master
        return ct

    def _icmp(self, pkt, ctx: _Ctx, tmpl: Conn | None) -> int | None:
        """icmp_error() / icmpv6_error() + nf_conntrack_inet_error(): a verdict when the
        packet is an error (or untracked ND/MLD), None to track it normally."""
        buf, off, end = ctx.buf, ctx.dataoff, ctx.end
        if off + 8 > end:
            return self._invalid("short packet")
        if ctx.checksum_bad():
            return self._invalid("bad checksum")
        typ = buf[off]
        if ctx.protonum == 1:
            if typ > _l4.NR_ICMP_TYPES:
                return self._invalid("invalid icmp type")
            if typ not in _l4.ICMP_ERRORS:
                return None
        else:
            if typ in _l4.ICMPV6_NOCT:
                pkt.ct = None
                pkt.ctinfo = CtInfo.UNTRACKED
                return NF_ACCEPT
            if typ >= 128:
                return None
        # the quoted packet: same l3 protocol, its tuple, inverted, must be an entry
        inner = l3_bounds(buf, off + 8, end)
        if inner is None or inner[0] != ctx.l3num:
            return self._invalid("failed to get tuple of inner packet")
        il3, iproto, ioff, iend = inner
        isrc, idst = addresses(buf, off + 8, il3)
        it = get_tuple(buf, il3, isrc, idst, iproto, ioff, iend)
        if it is None:
            return self._invalid("failed to get tuple of inner packet")
        target = invert(it)
        if target is None:
            return self._invalid("failed to invert inner tuple")
        ct, dir_ = self._find_zoned(tuple_key(target), tmpl)
        if ct is None:
            return self._invalid("no match for ICMP error")
        outer_dst = addresses(buf, ctx.nh, ctx.l3num)[1]
        if ct.tuples[dir_].dst != outer_dst:
            # NAT may have rewritten the destination: a NAT module can allow it by
            # setting ct.nat.allow_outer_daddr(...); without NAT this is a spoof
            nat_ok = getattr(ct.nat, "icmp_outer_daddr_ok", None)
            if not (nat_ok and nat_ok(outer_dst, dir_)):
                return self._invalid("outer daddr mismatch")
        pkt.ct = ct
        pkt.ctinfo = CtInfo.RELATED_REPLY if dir_ == 1 else CtInfo.RELATED
        return NF_ACCEPT

    def account(self, ct: Conn, ctx: _Ctx, dir_: int) -> None:
        """nf_ct_acct_update(): packets and bytes (the IP length) per direction."""
        c = ct.counters
        if c is not None:
            c[dir_][0] += 1
            c[dir_][1] += ctx.end - ctx.nh

    def confirm(self, pkt, now: float) -> int:
        """nf_confirm(): the entry's helper, sequence adjustment, then
        nf_conntrack_confirm(): insert a new entry, deliver cached events."""
        ct = pkt.ct
        if (ct is not None and (ct.ext_get("helper") is not None or _AND(ct.status, _SEQ_ADJUST))
                and pkt.ctinfo not in (None, CtInfo.RELATED_REPLY, CtInfo.UNTRACKED)):
            v = self._help(pkt, ct, now)
            if v != NF_ACCEPT:
                self.stats["drop"] += 1
                return v
        if ct is None or _AND(ct.status, _TEMPLATE) or pkt.ctinfo == CtInfo.UNTRACKED:
            return NF_ACCEPT
        if ct.confirmed:
            if not ct.dying:
                self._deliver_cached(ct, now)
            return NF_ACCEPT
        if pkt.ctinfo is not None and pkt.ctinfo >= CtInfo.IS_REPLY:
            return NF_ACCEPT
        if ct.dying:
            self.stats["insert_failed"] += 1
            return NF_DROP
        zo, zr = ct.zone_id(0), ct.zone_id(1)
        for hk in _hkeys(ct):
            if any(_zone_match(o, hk, zo, zr) >= 0 for o in self._nodes(hk)):
                # a clash: another packet confirmed the same tuple first (not modelled:
                # nf_ct_resolve_clash's UDP merge); the kernel drops this one
                self.stats["insert_failed"] += 1
                return NF_DROP
        ct.status |= Status.CONFIRMED
        ct.expires = now + ct.timeout
        self._insert(ct, now)
        self.stats["insert"] += 1
        bits = ct._events | Event.NEW
        if ct.status & Status.EXPECTED:
            bits |= Event.RELATED
        ct._events = 0
        self._deliver(CtEventType.NEW, ct, bits, now)
        return NF_ACCEPT

    def _help(self, pkt, ct: Conn, now: float) -> int:
        """The helper and seqadj part of nf_confirm()."""
        from pkttables.conntrack.helpers import HelpCall
        l3 = l3_bounds(pkt.buf, pkt.nh_off, len(pkt.buf))
        if l3 is None:
            return NF_ACCEPT
        _l3num, proto, protoff, end = l3
        ext = ct.ext_get("helper")
        if ext is not None:
            dataoff = protoff + (8 if proto in (17, 136) else 0)
            call = HelpCall(pkt, ct, pkt.ctinfo, protoff, dataoff, end, now, self, ext)
            v = ext.helper.help(call)
            if v != NF_ACCEPT:
                self.last_reason = (self.helper_log[-1] if self.helper_log
                                    else f"helper {ext.helper.name} dropped the packet")
                return v
        if ct.status & Status.SEQ_ADJUST and not _seqadj.seq_adjust(pkt, ct, pkt.ctinfo):
            return NF_DROP
        return NF_ACCEPT

    # ------------------------------------------------------------------ engine glue

    def register(self, hooks, families: Iterable[str] = ("ip", "ip6")) -> None:
        """Plug into a :class:`pkttables.stack.hooks.HookTable`: tracking at -200 in
        prerouting and output, confirmation last in input and postrouting."""
        from pkttables.stack.hooks import HookVerdict, Verdict

        def _v(v: int):
            return HookVerdict(Verdict.ACCEPT if v == NF_ACCEPT else Verdict.DROP,
                               reason="" if v == NF_ACCEPT else self.last_reason)

        def track(pkt, st):
            n = len(self.events)
            v = self.in_hook(pkt, st.hook, st.now)
            st.events.extend(self.events[n:])
            return _v(v)

        def confirm(pkt, st):
            n = len(self.events)
            v = self.confirm(pkt, st.now)
            st.events.extend(self.events[n:])
            return _v(v)

        for fam in families:
            hooks.register(fam, "prerouting", CONNTRACK_PRIORITY, track, name="conntrack")
            hooks.register(fam, "output", CONNTRACK_PRIORITY, track, name="conntrack")
            hooks.register(fam, "input", CONFIRM_PRIORITY, confirm, name="conntrack-confirm")
            hooks.register(fam, "postrouting", CONFIRM_PRIORITY, confirm, name="conntrack-confirm")
