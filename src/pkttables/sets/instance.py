"""A live set: backend choice, element commands, the packet path, time and gc.

:class:`SetInstance` is what the engine keeps for each set of a committed ruleset.
It owns one backend (chosen as the kernel chooses: :func:`choose_backend`) and adds
the semantics every backend shares:

* **Time.**  ``now`` is seconds on the injected clock (see ``_common``).  Expired
  elements are invisible at once to lookups, ``get`` and ``delete`` (the kernel's
  ``nft_set_elem_expired`` checks), but they still count in ``nelems`` -- and so
  against ``size`` -- until garbage collection removes them: for hash sets every
  ``gc_interval`` (default 1 s) of clock time (nft_rhash_gc), for interval and
  concatenation sets at the next command once ``gc_interval`` has passed
  (nft_rbtree_commit / pipapo_commit).
* **Commands** (``add``/``create``/``delete``/``get``/``reset``/``flush`` element):
  the kernel's errnos (nf_tables_api.c ``nft_add_set_elem``/``nft_del_setelem``):
  add of an existing element is fine (and, since Linux 6.10, a ``timeout``/``expires``
  given with it updates the element), create is EEXIST, a map element with other
  data is EEXIST, one with/without data where the other has none is EBUSY, an overlap
  is EEXIST, delete or get of a missing (or expired) element is ENOENT, a full set
  is ENFILE.
* **Packet path**: ``lookup`` (the VM's :class:`~pkttables.vm.context.SetLookup`),
  ``match`` (lookup that also runs the element's stateful expressions, as
  nft_lookup_eval does through nft_set_elem_update_expr) and ``dynset``
  (nft_dynset.c: add/update/delete, size limit -> BREAK).

Element counters, quotas and limits live in ``Elem.exprs`` (see ``_stateful``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from pkttables.sets._bitmap import BitmapBackend
from pkttables.sets._common import (DEFAULT_GC_INTERVAL_MS, NS_PER_MS, Elem, Errno, SetError,
                                    SetFlags, SetSpec, to_ns)
from pkttables.sets._hash import HashBackend
from pkttables.sets._pipapo import PipapoBackend
from pkttables.sets._rbtree import IntervalBackend
from pkttables.sets._stateful import clone_all, run_exprs

__all__ = ["SetInstance", "ElementView", "DynsetOp", "choose_backend"]


class DynsetOp:
    """``enum nft_dynset_ops`` (same values as :class:`pkttables.vm.lookup.DynsetOp`)."""

    ADD = 0
    UPDATE = 1
    DELETE = 2


def choose_backend(spec: SetSpec) -> str:
    """The kernel's choice (nft_select_set_ops) reduced to what changes behaviour.

    * concatenation with intervals -> ``pipapo`` (nft_pipapo_estimate wants
      NFT_SET_INTERVAL and at least 2 fields);
    * one field with intervals -> ``rbtree``;
    * ``dynamic`` (NFT_SET_EVAL), maps, timeouts, element expressions -> ``hash``
      (only rhash offers EVAL/TIMEOUT; bitmap has no features and refuses expressions);
    * key of at most 2 bytes otherwise -> ``bitmap`` (nft_bitmap_estimate: klen <= 2);
    * anything else -> ``hash``.

    The kernel also weighs sizes between candidates of equal lookup class (a 2-byte
    set of a few elements may get a hash); all exact backends give the same answers.
    """
    if spec.is_interval:
        return "pipapo" if spec.is_concat else "rbtree"
    if (spec.flags & (SetFlags.EVAL | SetFlags.MAP | SetFlags.OBJECT | SetFlags.TIMEOUT)
            or spec.exprs or spec.klen > 2):
        return "hash"
    return "bitmap"


_BACKENDS = {"hash": HashBackend, "bitmap": BitmapBackend, "rbtree": IntervalBackend,
             "pipapo": PipapoBackend}


@dataclass(frozen=True, slots=True)
class ElementView:
    """One element as ``nft list set`` shows it.

    ``key_end``: inclusive end for a range (None for a single value); ``timeout``: only
    when it differs from the set's (nft prints it then); ``expires`` in ms left (None
    without a timeout); ``exprs``: ``(name, values)`` of each stateful expression.
    """

    key: bytes | None
    key_end: bytes | None = None
    data: Any = None
    timeout: int | None = None
    expires: int | None = None
    comment: str | None = None
    exprs: tuple = ()
    catchall: bool = False

    @property
    def counter(self) -> tuple[int, int] | None:
        for name, v in self.exprs:
            if name == "counter":
                return v["packets"], v["bytes"]
        return None


def _ms_left(e: Elem, now_ns: int) -> int | None:
    if e.expiration is None:
        return None
    return max(0, (e.expiration - now_ns) // NS_PER_MS)


class SetInstance:
    """A set with its elements.  ``klen``/``dlen``/``lookup``/``catchall`` make it a
    :class:`pkttables.vm.context.SetLookup`; ``lookup`` uses the clock of the last
    :meth:`advance` (the engine calls ``advance(now)`` once per packet)."""

    def __init__(self, spec: SetSpec, now: float | int = 0.0, backend: str | None = None):
        if spec.klen <= 0 or (spec.field_len and
                              sum(f + (-f % 4) for f in spec.field_len) != spec.klen):
            raise SetError(Errno.EINVAL, f"set {spec.name!r}: key length {spec.klen} does not "
                           f"match its fields {spec.field_len}")
        self.spec = spec
        self.klen = spec.klen
        self.dlen = spec.dlen
        self.kind = backend or choose_backend(spec)
        self._b = _BACKENDS[self.kind](spec)
        self._catchall: Elem | None = None
        self.now_ns = to_ns(now)
        self.nelems = 0            # the kernel's set->nelems: live + expired-not-yet-collected
        self._zombies = 0          # expired elements replaced before gc: still in nelems
        self._seq = 0
        gc_ms = spec.gc_interval or DEFAULT_GC_INTERVAL_MS
        self._gc_ns = gc_ms * NS_PER_MS
        self._next_gc = self.now_ns + self._gc_ns
        #: object maps: the kind of object their elements name (``counter``...)
        self.obj_kind: str | None = None
        #: set by :func:`pkttables.sets.instances_from_model`: the model set's handle and
        #: the model's elements at the last sync (identity -> signature)
        self.model_handle: int | None = None
        self.model_elements: dict = {}

    # ------------------------------------------------------------------ clock

    def _clock(self, now) -> int:
        if now is not None:
            ns = to_ns(now)
            if ns > self.now_ns:
                self.now_ns = ns
                if ns >= self._next_gc and self.kind == "hash" and self.spec.has_timeout:
                    self._timer_gc(ns)
        return self.now_ns

    def _timer_gc(self, ns: int) -> None:
        """The hash backend's gc is a timer (nft_rhash_gc, re-armed every
        ``gc_interval``): whoever reads the set at ``ns`` sees what the last tick at or
        before ``ns`` left.  That tick collected the elements expired by then -- not
        those expiring between the tick and ``ns``, which still count in ``nelems``
        (and so against ``size``).  Run lazily here, the answer is the timer's."""
        ticks = (ns - self._next_gc) // self._gc_ns
        tick = self._next_gc + ticks * self._gc_ns
        dead = [e for e in self._b if e.expired(tick)]
        for e in dead:
            self._b.remove(e)
        self.nelems -= len(dead) + self._zombies
        self._zombies = 0
        self._next_gc = tick + self._gc_ns

    def advance(self, now: float | int) -> int:
        """Move the clock; runs the periodic gc of hash sets when it is due.  Returns the
        number of elements collected."""
        before = self.nelems
        self._clock(now)           # runs the timer's gc when a tick is due
        return before - self.nelems

    def gc(self, now: float | int | None = None) -> int:
        """Remove every expired element now (nft_rhash_gc / nft_rbtree_gc / pipapo_gc)."""
        ns = self._clock(now)
        dead = [e for e in self._b if e.expired(ns)]
        for e in dead:
            self._b.remove(e)
        n = len(dead) + self._zombies
        self.nelems -= n
        self._zombies = 0
        self._next_gc = ns + self._gc_ns
        return n

    def _commit_gc(self, ns: int) -> None:
        # interval and concatenation sets collect at commit time, not from a timer
        if self.kind in ("rbtree", "pipapo") and ns >= self._next_gc:
            self.gc()

    # ------------------------------------------------------------------ packet path

    def lookup(self, key: bytes, now: float | int | None = None) -> tuple[bool, Any]:
        """``(found, data)`` without the catch-all and without running expressions
        (``now``: check timeouts at that time; default the clock of the last call)."""
        e = self._b.lookup(key, self._clock(now) if now is not None else self.now_ns)
        if e is None:
            return False, None
        return True, e.data

    def catchall(self, now: float | int | None = None) -> tuple[bool, Any]:
        e = self._catchall
        if e is None or e.expired(self._clock(now) if now is not None else self.now_ns):
            return False, None
        return True, e.data

    def find(self, key: bytes, now: float | int | None = None) -> tuple[bool, Any]:
        """The element, else the catch-all, without running expressions: what
        nft_objref_map_eval asks (an object map's element names the object)."""
        ns = self._clock(now) if now is not None else self.now_ns
        e = self._b.lookup(key, ns)
        if e is None:
            e = self._catchall
            if e is None or e.expired(ns):
                return False, None
        return True, e.data

    def match(self, key: bytes, now: float | int | None = None, pkt_len: int = 0,
              conn: Any = None, invert: bool = False) -> tuple[bool, Any, bool]:
        """``nft_lookup_eval``: returns ``(found, data, brk)``.

        ``found`` is the lookup XOR ``invert``; when that is false the catch-all element
        is tried (Linux 6.18 order: after the inversion, so ``!= @s`` with a catch-all
        matches every packet).  The element found (or the catch-all) then runs its
        expressions (nft_set_elem_update_expr: counters count ``pkt_len``, quotas and
        limits may BREAK: ``brk``).  Timeouts are checked at ``now`` (seconds)."""
        ns = self._clock(now)
        e = self._b.lookup(key, ns)
        if (e is not None) == invert:               # not found after the inversion
            e = self._catchall
            if e is None or e.expired(ns):
                return False, None, False
        elif e is None:                            # inverted and absent: matches, no element
            return True, None, False
        brk = run_exprs(e.exprs, pkt_len, ns, conn) if e.exprs else False
        return True, e.data, brk

    def dynset(self, op: int, key: bytes, data: Any = None, now: float | int | None = None,
               template: Iterable = (), timeout: int | None = None, pkt_len: int = 0,
               conn: Any = None) -> bool:
        """The packet path writes the set (nft_dynset_eval).  False means BREAK.

        ``add``: create the element if absent (an existing one is left alone: its
        timeout is *not* refreshed); ``update``: the same, and refresh the timeout of an
        existing element to ``timeout or set timeout``; ``delete``: remove it if
        present, never BREAK (Linux 6.18).  A new element gets ``timeout`` (the dynset's, else the set's) and
        clones of ``template`` (the dynset's expressions, else the set's); when the set
        holds ``size`` elements -- expired ones not yet collected included -- the new
        element is refused and the rule BREAKs (nft_dynset_new).  Then the element's
        expressions run; one that says BREAK ends the rule.
        """
        ns = self._clock(now)
        key = bytes(key)
        if op == DynsetOp.DELETE:
            # nft_dynset_eval on Linux 6.18: a delete never BREAKs, present or not
            # (observed: `delete @s { ip saddr } counter` counts absent keys too).
            e = self._b.elem(key, ns)
            if e is not None:
                self._b.remove(e)
                self.nelems -= 1
            return True
        if self.kind in ("rbtree", "pipapo"):
            raise SetError(Errno.EOPNOTSUPP, f"set {self.spec.name!r}: interval sets cannot be updated from the packet path")
        e = self._b.elem(key, ns)
        if e is None:
            if self.spec.size and self.nelems >= self.spec.size:
                return False
            to = timeout or (self.spec.timeout if self.spec.has_timeout else None)
            templates = tuple(template) or self.spec.exprs
            e = self._new(key, None, data, to, None, clone_all(templates, ns), None, ns,
                          own_timeout=bool(timeout) and timeout != self.spec.timeout)
            self._insert_replacing(e, ns)
        elif op == DynsetOp.UPDATE and e.expiration is not None:
            to = timeout or self.spec.timeout or e.timeout or 0
            e.expiration = ns + to * NS_PER_MS
        return not (run_exprs(e.exprs, pkt_len, ns, conn) if e.exprs else False)

    # ------------------------------------------------------------------ element commands

    def _new(self, key, key_end, data, timeout, expires, exprs, comment, ns, own_timeout=False):
        self._seq += 1
        expiration = None
        if expires is not None:
            expiration = ns + expires * NS_PER_MS
        elif timeout:
            expiration = ns + timeout * NS_PER_MS
        return Elem(key, key_end, data, timeout=timeout, expiration=expiration, exprs=exprs,
                    comment=comment, seq=self._seq, own_timeout=own_timeout)

    def _insert_replacing(self, e: Elem, ns: int) -> None:
        old = self._b.get(e.key, e.key_end)
        if old is not None:                 # only ever an expired one here
            self._b.remove(old)
            self._zombies += 1
        self._b.add(e)
        self.nelems += 1

    def _norm(self, key, key_end):
        key = self.spec.check_key(key)
        if key_end is not None:
            key_end = self.spec.check_key(key_end, "end key")
            if not self.spec.is_interval:
                raise SetError(Errno.EINVAL, f"set {self.spec.name!r} has no interval flag")
            if key_end < key:
                raise SetError(Errno.EINVAL, "range end is below its start")
            if key_end == key:
                key_end = None
        return key, key_end

    def add(self, key: bytes | None, key_end: bytes | None = None, data: Any = None, *,
            timeout: int | None = None, expires: int | None = None, exprs: Iterable = (),
            comment: str | None = None, now: float | int | None = None, create: bool = False,
            catchall: bool = False) -> None:
        """``add element`` (``create=True``: ``create element``).  ``key_end`` is the
        inclusive end of a range; ``timeout``/``expires`` in ms; ``exprs`` templates of
        the element's own expressions (default: the set's)."""
        ns = self._clock(now)
        self._commit_gc(ns)
        if timeout and not self.spec.has_timeout:
            raise SetError(Errno.EINVAL, f"set {self.spec.name!r} has no timeout flag")
        if self.spec.is_map and data is None:
            raise SetError(Errno.EINVAL, f"map {self.spec.name!r} needs data for every element")
        if not self.spec.is_map and data is not None:
            raise SetError(Errno.EINVAL, f"set {self.spec.name!r} is not a map")
        to = timeout if timeout else (self.spec.timeout if self.spec.has_timeout else None)
        new_exprs = clone_all(tuple(exprs) or self.spec.exprs, ns)
        own = bool(timeout) and timeout != self.spec.timeout
        if catchall:
            old = self._catchall
            if old is not None and not old.expired(ns):
                self._clash(old, data, create, timeout, expires, ns)
                return
            e = self._new(None, None, data, to, expires, new_exprs, comment, ns, own)
            e.catchall = True
            self._catchall = e
            return
        key, key_end = self._norm(key, key_end)
        end = key if key_end is None else key_end
        clashes = self._b.clashes(key, end, ns)
        live = [c for c in clashes if not c.expired(ns)]
        if self.kind in ("rbtree", "pipapo"):
            for c in clashes:               # expired ones met on insert are collected now
                if c.expired(ns):
                    self._b.remove(c)
                    self.nelems -= 1
        if live:
            first = live[0]
            if first.key == key and first.end == end:
                self._clash(first, data, create, timeout, expires, ns)
                return
            # ENOTEMPTY: overlap with another element; nf_tables_api reports EEXIST
            raise SetError(Errno.EEXIST, "overlaps with an existing element")
        if self.spec.size and self.nelems >= self.spec.size:
            raise SetError(Errno.ENFILE, f"set {self.spec.name!r} is full ({self.spec.size})")
        e = self._new(key, key_end, data, to, expires, new_exprs, comment, ns, own)
        self._insert_replacing(e, ns)

    def _clash(self, old: Elem, data, create, timeout, expires, ns) -> None:
        # nft_add_set_elem: data present on one side only -> EBUSY; other data -> EEXIST;
        # same element: EEXIST for create (NLM_F_EXCL), else success and, since Linux
        # 6.10, a timeout/expiration given with it updates the element.
        if (old.data is None) != (data is None):
            raise SetError(Errno.EBUSY, "element exists with different data kind")
        if old.data != data:
            raise SetError(Errno.EEXIST, "element exists with other data")
        if create:
            raise SetError(Errno.EEXIST, "element exists")
        if timeout:
            old.timeout = timeout
            old.own_timeout = timeout != self.spec.timeout
            old.expiration = ns + (expires if expires is not None else timeout) * NS_PER_MS
        elif expires is not None and old.expiration is not None:
            old.expiration = ns + expires * NS_PER_MS

    def _find_exact(self, key, key_end, ns) -> Elem:
        key, key_end = self._norm(key, key_end)
        e = self._b.get(key, key_end)
        if e is None or e.expired(ns) or (e.key_end != key_end):
            raise SetError(Errno.ENOENT, "no such element")
        return e

    def delete(self, key: bytes | None, key_end: bytes | None = None, *,
               now: float | int | None = None, catchall: bool = False) -> None:
        """``delete element``: the exact element (a range must match exactly); ENOENT
        if it is missing or expired.  (``destroy element`` is this, ignoring ENOENT.)"""
        ns = self._clock(now)
        self._commit_gc(ns)
        if catchall:
            if self._catchall is None or self._catchall.expired(ns):
                raise SetError(Errno.ENOENT, "no catch-all element")
            self._catchall = None
            return
        e = self._find_exact(key, key_end, ns)
        self._b.remove(e)
        self.nelems -= 1

    def get(self, key: bytes | None, key_end: bytes | None = None, *,
            now: float | int | None = None, catchall: bool = False) -> ElementView:
        """``get element``: exact sets answer the element; interval sets answer the
        element that covers both ``key`` and ``key_end`` (nft 1.0.6 on Linux 6.18:
        ``get element { 10.0.0.5 }`` prints ``10.0.0.0/24``; a range not inside one
        element is ENOENT)."""
        ns = self._clock(now)
        if catchall:
            e = self._catchall
            if e is None or e.expired(ns):
                raise SetError(Errno.ENOENT, "no catch-all element")
            return self._view(e, ns)
        key, key_end = self._norm(key, key_end)
        e = self._b.elem(key, ns)
        if self.spec.is_interval:
            if e is not None and key_end is not None:
                if not (e.key <= key_end <= e.end):
                    e = None
        if e is None:
            raise SetError(Errno.ENOENT, "no such element")
        return self._view(e, ns)

    def reset(self, key: bytes | None = None, key_end: bytes | None = None, *,
              now: float | int | None = None) -> list[ElementView]:
        """``reset element`` (one key) or ``reset set`` (key None): zero the counters
        and quotas; returns the elements as they were before (what nft prints)."""
        ns = self._clock(now)
        if key is None:
            targets = [e for e in self._all() if not e.expired(ns)]
        else:
            v = self.get(key, key_end, now=now)
            targets = [e for e in self._all()
                       if e.key == v.key and e.key_end == v.key_end and not e.catchall]
        out = [self._view(e, ns) for e in targets]
        for e in targets:
            for x in e.exprs:
                x.reset()
        return out

    def flush(self, now: float | int | None = None) -> None:
        """``flush set``: every element goes, the catch-all too."""
        self._clock(now)
        for e in list(self._b):
            self._b.remove(e)
        self._catchall = None
        self.nelems = 0
        self._zombies = 0

    def load(self, elements: Iterable[tuple], now: float | int | None = None) -> None:
        """Bulk-insert ``(key, key_end, data)`` tuples into an empty set, as a
        transaction that adds many elements.  Duplicates and overlaps raise as ``add``
        would (checked in one sorted pass for rbtree; pipapo trusts nft's evaluated
        list and does not check)."""
        ns = self._clock(now)
        if len(self._b):
            for k, ke, d in elements:
                self.add(k, ke, d, now=now)
            return
        to = self.spec.timeout if self.spec.has_timeout else None
        elems = []
        klen, interval, templates = self.klen, self.spec.is_interval, self.spec.exprs
        expiration = ns + to * NS_PER_MS if to else None
        seq = self._seq
        for k, ke, d in elements:
            # _norm and _new inlined: this loop is most of a 1M-element build
            if type(k) is not bytes or len(k) != klen or (ke is not None and (
                    type(ke) is not bytes or len(ke) != klen or not interval or ke < k)):
                k, ke = self._norm(k, ke)
            elif ke == k:
                ke = None
            seq += 1
            elems.append(Elem(k, ke, d, timeout=to, expiration=expiration,
                              exprs=clone_all(templates, ns) if templates else None, seq=seq))
        self._seq = seq
        if self.spec.size and len(elems) > self.spec.size:
            raise SetError(Errno.ENFILE, f"set {self.spec.name!r} is full ({self.spec.size})")
        if self.kind == "rbtree":
            elems.sort(key=lambda e: e.key)
            for a, b in zip(elems, elems[1:]):
                if b.key <= a.end:
                    raise SetError(Errno.EEXIST, f"{a!r} overlaps {b!r}")
        elif self.kind in ("hash", "bitmap"):
            seen = set()
            for e in elems:
                if e.key in seen:
                    raise SetError(Errno.EEXIST, f"{e!r} listed twice")
                seen.add(e.key)
        self._b.bulk_load(elems)
        self.nelems = len(elems)

    def load_elements(self, inits: Iterable, now: float | int | None = None) -> None:
        """Add elements described fully (:class:`pkttables.sets.generation.ElementInit`:
        key, key_end, data, timeout, expires, expression templates, comment, catch-all),
        as the commit of a transaction does.  Into an empty set they are bulk-loaded
        (the model has checked them already); otherwise each goes through :meth:`add`."""
        ns = self._clock(now)
        inits = list(inits)
        plain = [i for i in inits if not i.catchall]
        for i in inits:
            if i.catchall:
                self.add(None, data=i.data, timeout=i.timeout, expires=i.expires,
                         exprs=i.exprs, comment=i.comment, now=now, catchall=True)
        if len(self._b):
            for i in plain:
                self.add(i.key, i.key_end, i.data, timeout=i.timeout, expires=i.expires,
                         exprs=i.exprs, comment=i.comment, now=now)
            return
        elems = []
        for i in plain:
            key, key_end = self._norm(i.key, i.key_end)
            to = i.timeout if i.timeout else (self.spec.timeout if self.spec.has_timeout else None)
            own = bool(i.timeout) and i.timeout != self.spec.timeout
            templates = tuple(i.exprs) or self.spec.exprs
            elems.append(self._new(key, key_end, i.data, to, i.expires,
                                   clone_all(templates, ns) if templates else None,
                                   i.comment, ns, own))
        if self.spec.size and len(elems) > self.spec.size:
            raise SetError(Errno.ENFILE, f"set {self.spec.name!r} is full ({self.spec.size})")
        self._b.bulk_load(elems)
        self.nelems += len(elems)

    # ------------------------------------------------------------------ listing

    def _all(self) -> list[Elem]:
        out = list(self._b)
        if self._catchall is not None:
            out.append(self._catchall)
        return out

    def _view(self, e: Elem, ns: int) -> ElementView:
        return ElementView(
            key=None if e.catchall else e.key, key_end=e.key_end, data=e.data,
            timeout=e.timeout if e.own_timeout else None, expires=_ms_left(e, ns),
            comment=e.comment, exprs=tuple((x.name, x.values()) for x in e.exprs),
            catchall=e.catchall)

    def elements(self, now: float | int | None = None) -> list[ElementView]:
        """The live elements in the backend's walk order (hash: insertion order; rbtree
        and bitmap-of-ranges: key order), the catch-all last, as nft lists them."""
        ns = self._clock(now)
        return [self._view(e, ns) for e in self._all() if not e.expired(ns)]

    def __len__(self) -> int:
        return sum(1 for e in self._b if not e.expired(self.now_ns))

    def __repr__(self) -> str:
        return f"<SetInstance {self.spec.name!r} {self.kind} nelems={self.nelems}>"
