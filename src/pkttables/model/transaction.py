"""Transactions: copy on first write -> apply -> validate -> commit (a new generation).

The kernel applies a netlink batch atomically: either every command of ``nft -f`` takes
effect or none does.  Here a Transaction starts from a committed :class:`Ruleset`, copies
a table the first time a command writes to it and a chain the first time its rules change
(so a 100k-rule batch costs O(n), not O(n^2)), and ``commit()`` returns the new
generation.  Nothing of the base generation is ever modified; abort = drop the object.

Errors are :class:`ModelError` with the errno the kernel returns (ENOENT, EEXIST, EBUSY,
EINVAL, ...); the command layer turns them into nft's diagnostics with locations.
"""

from __future__ import annotations

import copy
import dataclasses
import errno
from collections.abc import Callable

from pkttables.model.objects import (Chain, Element, Flowtable, Hook, LazyRule, Rule, Set, StatefulObject,
                                     Table)  # noqa: F401 - re-exported for callers building objects
from pkttables.model.ruleset import FAMILIES, ModelError, Ruleset


class Transaction:
    def __init__(self, base: Ruleset):
        self.base = base
        self.tables: dict[tuple[str, str], Table] = dict(base.tables)
        # Shared with the base generation on purpose: handles are never reused (objects.HandleCounter).
        self.table_handles = base.table_handles
        self._own_tables: set[int] = set()      # id() of tables copied by this transaction
        self._own_chains: set[int] = set()
        self._own_sets: set[int] = set()
        self.validators: list[Callable[[Transaction], None]] = []
        self._committed = False

    # -- copy on first write ------------------------------------------------------------

    def _check_open(self) -> None:
        if self._committed:
            raise RuntimeError("transaction already committed")

    def _table(self, family: str, name: str) -> Table:
        t = self.tables.get((family, name))
        if t is None:
            raise ModelError(errno.ENOENT, f"table {family} {name}")
        return t

    def _wtable(self, family: str, name: str) -> Table:
        self._check_open()
        t = self._table(family, name)
        if id(t) not in self._own_tables:
            t = copy.copy(t)
            t.chains, t.sets = dict(t.chains), dict(t.sets)
            t.objects, t.flowtables = dict(t.objects), dict(t.flowtables)
            self.tables[(family, name)] = t
            self._own_tables.add(id(t))
        return t

    def _wchain(self, t: Table, name: str) -> Chain:
        return self._wmember(t, t.chains, name, self._own_chains, "chain", "rules")

    def _wset(self, t: Table, name: str) -> Set:
        return self._wmember(t, t.sets, name, self._own_sets, "set", "elements")

    @staticmethod
    def _wmember(t: Table, items: dict, name: str, owned: set[int], kind: str, listattr: str):
        """Copy a chain or set of (already copied) table ``t`` on its first write in this
        transaction, with its own copy of the list that changes (``rules``/``elements``),
        so the base generation's object is never modified."""
        o = items.get(name)
        if o is None:
            raise ModelError(errno.ENOENT, f"{kind} {t.family} {t.name} {name}")
        if id(o) not in owned:
            o = copy.copy(o)
            setattr(o, listattr, list(getattr(o, listattr)))
            items[name] = o
            owned.add(id(o))
        return o

    # -- tables -------------------------------------------------------------------------

    def add_table(self, family: str, name: str, *, flags: frozenset[str] | None = None,
                  comment: str | None = None, create: bool = False) -> Table:
        if family not in FAMILIES:
            raise ModelError(errno.EAFNOSUPPORT, f"family {family}")
        if (family, name) in self.tables:
            if create:
                raise ModelError(errno.EEXIST, f"table {family} {name}")
            t = self._wtable(family, name)
            if flags is not None:
                t.flags = flags
            if comment is not None:
                t.comment = comment
            return t
        t = Table(family, name, self.table_handles.alloc(), flags or frozenset(), comment)
        self.tables[(family, name)] = t
        self._own_tables.add(id(t))
        return t

    def delete_table(self, family: str, name: str, *, destroy: bool = False) -> None:
        if (family, name) not in self.tables:
            if destroy:
                return
            raise ModelError(errno.ENOENT, f"table {family} {name}")
        del self.tables[(family, name)]

    def flush_table(self, family: str, name: str) -> None:
        """Remove every rule of the table; sets keep their elements (nft 1.0.6)."""
        t = self._wtable(family, name)
        for cname in t.chains:
            self._wchain(t, cname).rules.clear()

    def flush_ruleset(self, family: str | None = None) -> None:
        for key in [k for k in self.tables if family is None or k[0] == family]:
            del self.tables[key]

    # -- chains -------------------------------------------------------------------------

    def add_chain(self, family: str, table: str, name: str, *, hook: Hook | None = None,
                  comment: str | None = None, create: bool = False) -> Chain:
        t = self._wtable(family, table)
        c = t.chains.get(name)
        if c is not None:
            if create:
                raise ModelError(errno.EEXIST, f"chain {family} {table} {name}")
            c = self._wchain(t, name)
            if hook is not None:
                if c.hook is None or (c.hook.type, c.hook.hook) != (hook.type, hook.hook):
                    raise ModelError(errno.EOPNOTSUPP, f"chain {family} {table} {name}")
                if hook.policy is not None:
                    # Hook objects are shared with the base generation: replace, never mutate.
                    c.hook = dataclasses.replace(c.hook, policy=hook.policy)
            if comment is not None:
                c.comment = comment
            return c
        c = Chain(name, t.alloc_handle(), hook, [], comment)
        t.chains[name] = c
        self._own_chains.add(id(c))
        return c

    def delete_chain(self, family: str, table: str, name: str | None = None, *,
                     handle: int | None = None, destroy: bool = False) -> None:
        t = self._wtable(family, table)
        if name is None:
            name = next((n for n, c in t.chains.items() if c.handle == handle), None)
        c = t.chains.get(name) if name is not None else None
        if c is None:
            if destroy:
                return
            raise ModelError(errno.ENOENT, f"chain {family} {table} {name or handle}")
        # Rules go with the chain (kernel 6.x); only a jump/goto to it makes it busy, which
        # the command layer checks because only it knows the rules' targets.
        del t.chains[name]

    def flush_chain(self, family: str, table: str, name: str) -> None:
        self._wchain(self._wtable(family, table), name).rules.clear()

    def rename_chain(self, family: str, table: str, name: str, new: str) -> None:
        t = self._wtable(family, table)
        if new in t.chains:
            raise ModelError(errno.EEXIST, f"chain {family} {table} {new}")
        c = self._wchain(t, name)
        c.name = new
        t.chains = {(new if k == name else k): v for k, v in t.chains.items()}

    # -- rules --------------------------------------------------------------------------

    def add_rule(self, family: str, table: str, chain: str, stmts: tuple, *,
                 insert: bool = False, position: int | None = None, index: int | None = None,
                 comment: str | None = None, loc=None, make=None) -> Rule:
        """`add` appends (or goes after `position`/`index`); `insert` prepends (or goes before).
        ``make``: the statements are ``make()``, built on first read (:class:`LazyRule`)."""
        t = self._wtable(family, table)
        c = self._wchain(t, chain)
        at = self._rule_slot(c, position, index, family, table)
        if make is not None:
            r = LazyRule(t.alloc_handle(), (), comment, loc, make=make)
        else:
            r = Rule(t.alloc_handle(), tuple(stmts), comment, loc)
        if at is None:
            c.rules.insert(0, r) if insert else c.rules.append(r)
        else:
            c.rules.insert(at if insert else at + 1, r)
        return r

    def replace_rule(self, family: str, table: str, chain: str, handle: int, stmts: tuple, *,
                     comment: str | None = None, loc=None) -> Rule:
        t = self._wtable(family, table)
        c = self._wchain(t, chain)
        i = self._rule_slot(c, handle, None, family, table)
        # nf_tables_newrule with NLM_F_REPLACE: the handle attribute names the rule replaced,
        # which keeps its handle; none is allocated (nft 1.0.6 lists it with the old handle).
        r = Rule(handle, tuple(stmts), comment, loc)
        c.rules[i] = r
        return r

    def delete_rule(self, family: str, table: str, chain: str, handle: int, *, destroy: bool = False) -> None:
        c = self._wchain(self._wtable(family, table), chain)
        for i, r in enumerate(c.rules):
            if r.handle == handle:
                del c.rules[i]
                return
        if not destroy:
            raise ModelError(errno.ENOENT, f"rule handle {handle}")

    @staticmethod
    def _rule_slot(c: Chain, position: int | None, index: int | None, family: str, table: str) -> int | None:
        if position is not None:
            for i, r in enumerate(c.rules):
                if r.handle == position:
                    return i
            raise ModelError(errno.ENOENT, f"rule handle {position} in chain {family} {table} {c.name}")
        if index is not None:
            if index >= len(c.rules):
                raise ModelError(errno.ENOENT, f"rule index {index} in chain {family} {table} {c.name}")
            return index
        return None

    # -- sets, elements, objects, flowtables ----------------------------------------------

    def add_set(self, family: str, table: str, s: Set, *, create: bool = False) -> Set:
        t = self._wtable(family, table)
        if s.name in t.sets:
            if create:
                raise ModelError(errno.EEXIST, f"set {family} {table} {s.name}")
            return self._wset(t, s.name)
        s.handle = t.alloc_handle()
        t.sets[s.name] = s
        self._own_sets.add(id(s))
        return s

    def delete_set(self, family: str, table: str, name: str, *, destroy: bool = False) -> None:
        _delete_member(self._wtable(family, table).sets, name, destroy, f"set {family} {table} {name}")

    def add_elements(self, family: str, table: str, name: str, elements: list[Element]) -> None:
        self._wset(self._wtable(family, table), name).elements.extend(elements)

    def set_for_update(self, family: str, table: str, name: str) -> Set:
        """A writable copy of a set, for element commands that need the set's own rules
        (intervals, overlap, deletion): ``sets/`` implements them on top."""
        return self._wset(self._wtable(family, table), name)

    def add_object(self, family: str, table: str, obj: StatefulObject, *, create: bool = False) -> StatefulObject:
        t = self._wtable(family, table)
        return _add_member(t, t.objects, (obj.kind, obj.name), obj, create,
                           f"{obj.kind} {family} {table} {obj.name}")

    def delete_object(self, family: str, table: str, kind: str, name: str, *, destroy: bool = False) -> None:
        _delete_member(self._wtable(family, table).objects, (kind, name), destroy,
                       f"{kind} {family} {table} {name}")

    def add_flowtable(self, family: str, table: str, ft: Flowtable, *, create: bool = False) -> Flowtable:
        t = self._wtable(family, table)
        return _add_member(t, t.flowtables, ft.name, ft, create, f"flowtable {family} {table} {ft.name}")

    def delete_flowtable(self, family: str, table: str, name: str, *, destroy: bool = False) -> None:
        _delete_member(self._wtable(family, table).flowtables, name, destroy,
                       f"flowtable {family} {table} {name}")

    # -- commit -------------------------------------------------------------------------

    def commit(self) -> Ruleset:
        """Validate (loops, references: registered by later stages) and return the new generation."""
        self._check_open()
        for check in self.validators:
            check(self)
        self._committed = True  # its objects now belong to the new generation
        return Ruleset(self.tables, self.base.generation + 1, self.table_handles)


def _add_member(t: Table, items: dict, key, obj, create: bool, what: str):
    """``add`` (or ``create``) of an object or flowtable in table ``t``: an existing one
    is kept as it is (``create``: EEXIST); a new one gets the table's next handle."""
    if key in items:
        if create:
            raise ModelError(errno.EEXIST, what)
        return items[key]
    obj.handle = t.alloc_handle()
    items[key] = obj
    return obj


def _delete_member(items: dict, key, destroy: bool, what: str) -> None:
    """``delete`` of a set, object or flowtable: ENOENT when missing, unless ``destroy``."""
    if key not in items:
        if destroy:
            return
        raise ModelError(errno.ENOENT, what)
    del items[key]
