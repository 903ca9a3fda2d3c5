"""The nf_tables side of conntrack: ``ct ... set``, ``ct count`` and the packet's entry
for ``ct count`` in set elements.

The register machine reaches conntrack only through its context
(``pkttables.vm.context``): ``ct_set(instr, pkt, value)``, ``connlimit(instr, pkt)`` and
``set_conn(pkt)``.  :func:`install` gives a chain runtime's context these three hooks
on a :class:`~pkttables.conntrack.ConntrackTable`, and points ``ctx.conntrack`` (used by
``ct helper set``) at the same table::

    from pkttables.conntrack.nft import install
    install(runtime, ct_table)          # filter runtime, and the nat runtime if any

What each hook reproduces (net/netfilter/nft_ct.c, nft_connlimit.c, nf_conncount.c):

``ct mark set`` / ``ct secmark set`` / ``ct label set``
    ``nft_ct_set_eval``: nothing for a packet without an entry, an untracked one or a
    template; the value is written and ``IPCT_MARK`` (``IPCT_SECMARK``,
    ``IPCT_LABEL``) cached only when it changes.  Labels OR into the bitmap
    (``nf_connlabels_replace`` with the bit set, as nft generates one bit per rule).
``ct event set``
    the event mask of an unconfirmed entry only.
``ct zone set``
    ``nft_ct_set_zone_eval``: only when the packet has no entry yet (a chain before
    conntrack, priority below -200): the packet gets a template carrying the zone, and
    conntrack looks it up in that zone (``make_template``).  ``ct original zone set`` /
    ``ct reply zone set`` give the zone to one direction only (the template's
    ``zone_dir``): the entry is hashed in that zone in that direction and in zone 0 in
    the other (``nf_ct_zone_id``).
``ct count [over] N``
    ``nft_connlimit_do_eval``: the entry's original tuple and zone are added to the
    rule's list once; dead entries are reaped on the way until the entry itself is met
    (so a dropped, never confirmed entry behind it still counts); the rule
    breaks when ``(count > N) ^ over``.  A packet without an entry breaks the rule (the
    kernel counts the tuple it reads from the packet: not modelled).  The list is kept
    here rather than with :mod:`pkttables.sets` (which sits above conntrack).
``set_conn``
    ``(conn_id, alive)`` for per-element ``ct count`` (:mod:`pkttables.sets`): the
    identity is (zone, original tuple) and ``alive`` asks the table.
"""

from __future__ import annotations

from typing import Any

from pkttables.conntrack._conn import NF_CT_DEFAULT_ZONE_DIR, Conn
from pkttables.conntrack._enums import CtInfo, Event, Status
from pkttables.conntrack._table import ConntrackTable, make_template
from pkttables.proto import CtKeyId

__all__ = ["install", "ct_set", "CtGlue", "NF_DROP_VERDICT", "ct_timeout_objects", "untimeout_removed"]

#: nft's NF_DROP verdict code in the verdict register
NF_DROP_VERDICT = 0
_BREAK = -2          # NFT_BREAK


def _tracked(pkt) -> Conn | None:
    """nf_ct_get() for a set: None for no entry, untracked or a template."""
    ct = getattr(pkt, "ct", None)
    if ct is None or getattr(pkt, "ctinfo", None) in (None, CtInfo.UNTRACKED):
        return None
    if ct.status & Status.TEMPLATE:
        return None
    return ct


def ct_set(instr: Any, pkt: Any, value: bytes, table: ConntrackTable | None = None) -> None:
    """``nft_ct_set_eval`` / ``nft_ct_set_zone_eval`` for one ``[ ct set KEY with reg N ]``."""
    key = int(instr.key)
    if key == CtKeyId.ZONE:
        # nft_ct_set_zone_eval: an entry already attached (conntrack ran) wins
        if getattr(pkt, "ct", None) is not None or getattr(pkt, "ctinfo", None) == CtInfo.UNTRACKED:
            return
        # the zone applies to the directions the statement names (NF_CT_ZONE_DIR_ORIG 1,
        # NF_CT_ZONE_DIR_REPL 2; no direction: both, NF_CT_DEFAULT_ZONE_DIR)
        d = getattr(instr, "dir", None)
        zdir = NF_CT_DEFAULT_ZONE_DIR if d is None else (1 << int(d))
        pkt.ct = make_template(int.from_bytes(value[:2], "little"), zdir)
        pkt.ctinfo = CtInfo.NEW
        return
    ct = _tracked(pkt)
    if ct is None:
        return
    if key == CtKeyId.MARK:
        v = int.from_bytes(value[:4], "little")
        if ct.mark != v:
            ct.mark = v
            _cache(table, ct, Event.MARK)
    elif key == CtKeyId.SECMARK:
        v = int.from_bytes(value[:4], "little")
        if ct.secmark != v:
            ct.secmark = v
            _cache(table, ct, Event.SECMARK)
    elif key == CtKeyId.LABELS:
        bits = int.from_bytes(value[:16], "little")
        if ct.labels | bits != ct.labels:
            ct.labels |= bits
            _cache(table, ct, Event.LABEL)
    elif key == CtKeyId.EVENTMASK:
        if not ct.confirmed:
            ct.ext["eventmask"] = int.from_bytes(value[:4], "little")


def _cache(table: ConntrackTable | None, ct: Conn, bits: int) -> None:
    if table is not None:
        table.event(ct, int(bits))


class CtGlue:
    """The three context hooks bound to one table (see the module docstring)."""

    def __init__(self, table: ConntrackTable):
        self.table = table
        self.lists: dict[Any, dict[tuple, None]] = {}

    def alive(self, conn_id) -> bool:
        zone, tup = conn_id
        return self.table.lookup(tup, zone) is not None

    def conn_id(self, pkt) -> tuple | None:
        ct = _tracked(pkt)
        if ct is None:
            return None
        return (ct.zone, ct.tuples[0])

    def ct_set(self, instr, pkt, value: bytes) -> None:
        ct_set(instr, pkt, value, self.table)

    def set_conn(self, pkt):
        cid = self.conn_id(pkt)
        return None if cid is None else (cid, self.alive)

    def connlimit(self, ctx, instr, pkt) -> bool:
        """True = BREAK.  A packet without an entry is dropped (the verdict register)."""
        cid = self.conn_id(pkt)
        if cid is None:
            return True
        key = ctx._key(instr) if hasattr(ctx, "_key") else id(instr)
        lst = self.lists.setdefault(key, {})
        # __nf_conncount_add: walk the list in order, evicting dead entries (at most
        # CONNCOUNT_GC_MAX_NODES = 8 per call); a live entry with this tuple ends the
        # walk ("already exists"), so dead entries behind it stay counted
        collect, present = 0, False
        for c in list(lst):
            if collect > 8:
                break
            if not self.alive(c):
                del lst[c]
                collect += 1
                continue
            if c == cid:
                present = True
                break
        if not present:
            lst[cid] = None
        return (len(lst) > instr.count) ^ bool(instr.flags & 1)


def install(runtime: Any, table: ConntrackTable) -> CtGlue | None:
    """Give ``runtime.ctx`` (a ChainContext) ``ct_set``, ``connlimit`` and ``set_conn``
    on ``table``, and make ``ct helper set`` attach helpers through it.  Returns the
    glue (its ``lists`` hold the per-rule ``ct count`` lists)."""
    ctx = getattr(runtime, "ctx", None)
    if ctx is None:
        return None
    glue = CtGlue(table)
    ctx.ct_set = glue.ct_set
    ctx.set_conn = glue.set_conn
    ctx.connlimit = lambda instr, pkt: glue.connlimit(ctx, instr, pkt)
    if hasattr(type(ctx), "conntrack") or hasattr(ctx, "conntrack"):
        ctx.conntrack = table
    return glue


def ct_timeout_objects(ruleset: Any) -> dict[tuple[str, str, str], tuple[int, int]]:
    """The ``ct timeout`` objects of a ruleset generation: ``(family, table, name)`` ->
    ``(table handle, object handle)``, the identity of the kernel object."""
    out: dict[tuple[str, str, str], tuple[int, int]] = {}
    for (fam, tname), t in getattr(ruleset, "tables", {}).items():
        for o in t.objects.values():
            if o.kind == "ct timeout":
                out[(fam, tname, o.name)] = (t.handle, o.handle)
    return out


def untimeout_removed(table: ConntrackTable, old: Any, new: Any) -> int:
    """A new generation replaces ``old`` with ``new``: every ``ct timeout`` object that
    went away (deleted, its table deleted, or deleted and added again in one batch: a
    new handle) is destroyed, and ``nft_ct_timeout_obj_destroy`` calls
    ``nf_ct_untimeout``: the entries that got it (``ct timeout set``, which passes
    ``obj=(family, table, name)``) fall back to the sysctl timeouts from their next
    packet on.  Returns how many entries lost a policy."""
    if old is None:
        return 0
    after = ct_timeout_objects(new)
    n = 0
    for key, ident in ct_timeout_objects(old).items():
        if after.get(key) != ident:
            n += table.untimeout(key)
    return n
