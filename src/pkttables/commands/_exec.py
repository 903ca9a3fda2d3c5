"""Executing parsed commands against the model, as one atomic batch.

Theory of operation
-------------------
``nft -f FILE`` (or one command line) is one netlink batch: the kernel applies every
command or none.  :func:`execute` opens one :class:`pkttables.model.Transaction` on the
current generation, runs the commands in order against it, and commits only when all of
them succeeded; any error leaves the caller's generation untouched.  ``list`` commands
read the transaction's view (what the batch has built so far).

nft finds errors in two places, and they print differently:

* its own evaluation, against the cache (``list table inet nosuch``, ``add element`` to
  a missing set, a missing rule ``position``): ``Error: No such file or directory``;
* the kernel, answering the batch (a missing table or chain, an existing object with
  ``create``, a chain still jumped to): ``Error: Could not process rule: <strerror>``.

Both point at one token of the command (nft keeps a location per field of ``struct
handle``); :mod:`._locate` finds it.  The errnos and the carets were taken from nft 1.0.6
on Linux 6.18 (tests/unit/commands/golden_errors.json, captured by capture_golden.py).

Rules go through :func:`._pipeline.compile_rule` -- evaluation and compilation when
those stages exist -- and everything else (tables, chains with hooks, sets and maps,
elements, stateful objects, flowtables, delete/destroy/flush/rename, handles and
positions) is executed here.
"""

from __future__ import annotations

import dataclasses
import errno as E
import os
from dataclasses import dataclass, field

from pkttables.errors import Diagnostic, EvalError, Location, PktError
from pkttables.lang import ast as A
from pkttables.model import (Chain, Element, Flowtable, Hook, ModelError, Rule, Ruleset, Set,
                             StatefulObject, Table, Transaction)

from . import _locate as L
from ._pipeline import compile_rule, set_infos

__all__ = ["CommandError", "Options", "Result", "execute", "NotAvailable"]

_DEFAULT_FAMILY = "ip"
_TABLE_FLAGS = frozenset(("dormant", "owner"))


class CommandError(PktError):
    """A command nft or the kernel refuses: ``errno`` and nft's rendering with carets."""

    def __init__(self, err: int, loc: Location | None, *, kernel: bool = True, suffix: str = ""):
        self.errno = err
        prefix = "Could not process rule: " if kernel else ""
        super().__init__(Diagnostic(loc, prefix + os.strerror(err) + suffix))


class NotAvailable(PktError):
    """A command whose stage is not written yet (listing before ``render`` lands)."""


@dataclass
class Options:
    """nft's context: output flags (python-nftables names), debug flags, dry run,
    include paths and ``-D`` variables."""

    flags: set[str] = field(default_factory=set)    # handle json echo stateless terse ...
    debug: set[str] = field(default_factory=set)    # netlink, ...
    dry_run: bool = False
    include_paths: list[str] = field(default_factory=list)
    vars: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    ruleset: Ruleset        # the new generation (the old one when nothing changed or dry run)
    output: str = ""        # what nft prints on stdout (listings, echo, --debug=netlink)
    changed: bool = False


def execute(script: A.Script, base: Ruleset, opts: Options | None = None) -> Result:
    """Run every command of ``script`` as one batch on ``base``.

    Raises :class:`pkttables.errors.PktError` (``CommandError``, ``EvalError``...) and
    then nothing changed; ``Result.output`` is what nft would print on success.  With
    a debug flag the bytecode printed before an error is in ``exc.output``."""
    ex = _Executor(base, opts or Options())
    try:
        for cmd in script.commands:
            ex.command(cmd)
    except PktError as exc:
        exc.output = "".join(ex.out)  # nft prints --debug=netlink before the kernel answers
        raise
    if ex.changed and not ex.opts.dry_run:
        new = ex.tx.commit()
    else:
        new = base
    return Result(new, "".join(ex.out), ex.changed and not ex.opts.dry_run)


# ------------------------------------------------------------------ references
def _walk(node, seen=None):
    """Every dataclass node below ``node`` (statements, expressions), depth first."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (tuple, list)):
            stack.extend(n)
        elif dataclasses.is_dataclass(n) and not isinstance(n, type):
            yield n
            for f in dataclasses.fields(n):
                if f.name != "loc":
                    stack.append(getattr(n, f.name))


def _jump_target(n) -> str | None:
    kind = getattr(n, "kind", None)
    if kind not in ("jump", "goto"):
        return None
    t = getattr(n, "target", None)
    if t is not None:
        return getattr(t, "name", None) or getattr(t, "value", None)
    return getattr(n, "chain", None)


def _refs(table: Table):
    """(chains jumped to, sets referenced, objects referenced, flowtables referenced)."""
    chains, sets, objs, fts = set(), set(), set(), set()
    for c in table.chains.values():
        for r in c.rules:
            for n in _walk(r.stmts):
                j = _jump_target(n)
                if j:
                    chains.add(j)
                cls = type(n).__name__
                if cls == "SetRef":
                    sets.add(n.name)
                elif cls == "DynsetStmt" or cls == "Meter":
                    sets.add(n.set if cls == "DynsetStmt" else n.name)
                elif cls == "ObjRef":
                    objs.add(getattr(n.name, "name", None) or getattr(n.name, "value", None))
                elif cls == "FlowOffload":
                    fts.add(n.flowtable)
    for s in table.sets.values():
        for el in s.elements:
            for n in _walk((el.key, el.data)):
                j = _jump_target(n)
                if j:
                    chains.add(j)
    return chains, sets, objs, fts


# ------------------------------------------------------------------ helpers
def _time_ms(v, loc) -> int:
    from pkttables.types import DATATYPES
    if isinstance(v, A.Number):
        return v.value * 1000
    text = getattr(v, "name", None) or getattr(v, "value", None) or str(v)
    try:
        return int(DATATYPES["time"].parse(text))
    except (PktError, ValueError):
        raise EvalError(Diagnostic(getattr(v, "loc", loc), "wrong time format")) from None


def _text(v) -> str:
    if isinstance(v, str):
        return v
    for a in ("name", "value"):
        x = getattr(v, a, None)
        if isinstance(x, str):
            return x
    return str(v)


def _strip(node):
    """A location-free, hashable form of an AST value, to compare set elements."""
    if isinstance(node, (tuple, list)):
        return tuple(_strip(x) for x in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__,) + tuple(
            _strip(getattr(node, f.name)) for f in dataclasses.fields(node) if f.name != "loc")
    return node


class _Executor:
    def __init__(self, base: Ruleset, opts: Options):
        self.base = base
        self.opts = opts
        self.tx = Transaction(base)
        self.out: list[str] = []
        self.changed = False

    # -- dispatch ---------------------------------------------------------------------
    def command(self, cmd: A.Command) -> None:
        verb, obj = cmd.verb, cmd.obj
        name = type(obj).__name__
        fn = getattr(self, f"_{verb}_{name}", None)
        if fn is None:
            if verb in ("list", "reset") or isinstance(obj, (A.ListObj, A.Monitor, A.Export)):
                fn = self._listing
            elif verb == "describe":
                fn = self._describe
            else:
                raise EvalError(Diagnostic(L.widen(cmd.loc), f"'{verb}' of a {name[:-3].lower()} is not supported"))
        fn(cmd)

    def _fam(self, obj) -> str:
        return obj.family or _DEFAULT_FAMILY

    def _view(self) -> Ruleset:
        return Ruleset(dict(self.tx.tables), self.base.generation, self.tx.table_handles)

    def _need_table(self, fam: str, name: str, loc, *, kernel=True) -> Table:
        t = self.tx.tables.get((fam, name))
        if t is None:
            raise CommandError(E.ENOENT, loc, kernel=kernel)
        return t

    def _mutating(self) -> None:
        self.changed = True

    # -- tables -----------------------------------------------------------------------
    def _add_TableObj(self, cmd: A.Command, create: bool = False) -> None:
        obj: A.TableObj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        flags = comment = None
        for item in obj.body or ():
            if isinstance(item, A.Prop) and item.name == "flags":
                for fl in item.value:
                    if fl not in _TABLE_FLAGS:
                        raise EvalError(Diagnostic(L.word(item.loc, fl) or item.loc, f"unknown table option {fl}"))
                flags = frozenset(item.value)
            elif isinstance(item, A.Prop) and item.name == "comment":
                comment = item.value
        self._mutating()
        try:
            self.tx.add_table(fam, obj.name, flags=flags, comment=comment, create=create)
        except ModelError as e:
            raise CommandError(e.errno, f.pick("name")) from None
        for item in obj.body or ():
            if isinstance(item, A.ChainObj):
                self._chain(item, fam, obj.name, create=False, nested=True)
            elif isinstance(item, A.SetObj):
                self._set(item, fam, obj.name, create=False, nested=True)
            elif isinstance(item, A.StatefulObj):
                self._object(item, fam, obj.name, create=False, nested=True)
            elif isinstance(item, A.FlowtableObj):
                self._flowtable(item, fam, obj.name, create=False, nested=True)

    def _create_TableObj(self, cmd):
        self._add_TableObj(cmd, create=True)

    def _table_by(self, obj, f: L.Fields, kernel=True) -> tuple[str, str] | None:
        fam = self._fam(obj)
        if obj.name is not None:
            if (fam, obj.name) in self.tx.tables:
                return fam, obj.name
            return None
        for (tf, tn), t in self.tx.tables.items():
            if tf == fam and t.handle == obj.handle:
                return tf, tn
        return None

    def _delete_TableObj(self, cmd, destroy=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        key = self._table_by(obj, f)
        self._mutating()
        if key is None:
            if destroy:
                return
            raise CommandError(E.ENOENT, f.pick("handle", "name"))
        self.tx.delete_table(*key)

    def _destroy_TableObj(self, cmd):
        self._delete_TableObj(cmd, destroy=True)

    def _flush_TableObj(self, cmd):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        self._need_table(fam, obj.name, f.pick("name"))
        self._mutating()
        self.tx.flush_table(fam, obj.name)

    def _delete_RulesetObj(self, cmd):
        self._flush_RulesetObj(cmd)

    def _flush_RulesetObj(self, cmd):
        self._mutating()
        self.tx.flush_ruleset(cmd.obj.family)

    # -- chains -----------------------------------------------------------------------
    def _add_ChainObj(self, cmd, create=False):
        obj = cmd.obj
        self._chain(obj, self._fam(obj), obj.table, create=create, nested=False, cmd=cmd)

    def _create_ChainObj(self, cmd):
        self._add_ChainObj(cmd, create=True)

    def _hook(self, ct: A.ChainType, fam: str, name_loc, policy) -> Hook:
        from pkttables.proto import CHAIN_TYPES, FAMILIES, std_priority
        if ct.type not in CHAIN_TYPES:
            raise EvalError(Diagnostic(L.after(ct.loc, "type") or ct.loc, "unknown chain type"))
        if ct.hook not in FAMILIES[fam].hooks:
            raise EvalError(Diagnostic(L.after(ct.loc, "hook") or ct.loc, "unknown chain hook"))
        prio = self._priority(ct, fam, std_priority)
        if ct.hook not in CHAIN_TYPES[ct.type].get(fam, frozenset()):
            raise CommandError(E.EOPNOTSUPP, name_loc)
        devices: tuple[str, ...] = ()
        if ct.device is not None:
            devices = self._devices(ct.device)
        return Hook(ct.type, ct.hook, prio, ct.priority, devices, policy)

    def _priority(self, ct: A.ChainType, fam: str, std_priority) -> int:
        p = ct.priority
        bad = EvalError(Diagnostic(L.from_keyword(ct.loc, "priority", getattr(p, "loc", None)) or ct.loc,
                                   "invalid priority expression value in this context."))
        if isinstance(p, A.Number):
            return p.value
        if isinstance(p, A.Symbol):
            v = std_priority(p.name, fam, ct.hook)
            if v is None:
                try:
                    return int(p.name)
                except ValueError:
                    raise bad from None
            return v
        if isinstance(p, A.Binop) and isinstance(p.left, A.Symbol) and isinstance(p.right, A.Number):
            v = std_priority(p.left.name, fam, ct.hook)
            if v is None:
                raise bad
            return v + p.right.value if p.op == "+" else v - p.right.value
        raise bad

    def _devices(self, v) -> tuple[str, ...]:
        if isinstance(v, A.SetExpr):
            return tuple(_text(e) for e in v.elements)
        return (_text(v),)

    def _chain(self, obj: A.ChainObj, fam: str, table: str, *, create: bool, nested: bool, cmd=None):
        f = L.locate(obj, nested=nested, end=cmd.loc if cmd is not None else None)
        tloc = f.pick("table") if not nested else f.whole
        self._need_table(fam, table, tloc)
        hook_node = None
        policy = comment = None
        policy_loc = None
        devices = None
        rules = []
        for item in obj.body or ():
            if isinstance(item, A.ChainType):
                hook_node = item
            elif isinstance(item, A.Prop) and item.name == "policy":
                policy, policy_loc = _text(item.value), item.loc
            elif isinstance(item, A.Prop) and item.name == "comment":
                comment = item.value
            elif isinstance(item, A.Prop) and item.name == "devices":
                devices = self._devices(item.value)
            elif isinstance(item, A.Rule):
                rules.append(item)
        hook = None
        if hook_node is not None:
            hook = self._hook(hook_node, fam, f.pick("name"), policy)
            if devices is not None:
                hook = dataclasses.replace(hook, devices=devices)
        t = self.tx.tables[(fam, table)]
        old = t.chains.get(obj.name)
        if old is not None and not create:
            # nft 1.0.6 on 6.18: a chain update may change only the policy (EOPNOTSUPP
            # on the whole command otherwise).
            if hook is not None and (old.hook is None or (old.hook.type, old.hook.hook, old.hook.priority)
                                     != (hook.type, hook.hook, hook.priority)):
                raise CommandError(E.EOPNOTSUPP, L.widen(cmd.loc if cmd else obj.loc))
        if policy is not None and hook is None and (old is None or old.hook is None):
            raise CommandError(E.EOPNOTSUPP, policy_loc)
        self._mutating()
        try:
            if old is not None and hook is None and policy is not None:
                hook = dataclasses.replace(old.hook, policy=policy)
            self.tx.add_chain(fam, table, obj.name, hook=hook, comment=comment, create=create)
        except ModelError as e:
            raise CommandError(e.errno, f.pick("name")) from None
        for r in rules:
            self._add_rule(fam, table, obj.name, r, None, f)

    def _delete_ChainObj(self, cmd, destroy=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        t = self.tx.tables.get((fam, obj.table))
        if t is None:
            if destroy:
                return
            raise CommandError(E.ENOENT, f.pick("table"))
        name = obj.name
        if name is None:
            name = next((n for n, c in t.chains.items() if c.handle == obj.handle), None)
        if name not in t.chains:
            if destroy:
                return
            raise CommandError(E.ENOENT, f.pick("handle", "name"))
        if name in _refs(t)[0]:
            raise CommandError(E.EBUSY, f.pick("handle", "name"))
        self._mutating()
        # Linux 6.18 deletes a chain together with its rules (nf_tables_delchain without
        # NLM_F_NONREC, which nft 1.0.6 does not set); only jumps to it make it busy.
        self.tx.flush_chain(fam, obj.table, name)
        self.tx.delete_chain(fam, obj.table, name)

    def _destroy_ChainObj(self, cmd):
        self._delete_ChainObj(cmd, destroy=True)

    def _flush_ChainObj(self, cmd):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        t = self._need_table(fam, obj.table, f.pick("table"))
        if obj.name not in t.chains:
            raise CommandError(E.ENOENT, f.pick("name"))
        self._mutating()
        self.tx.flush_chain(fam, obj.table, obj.name)

    def _rename_ChainObj(self, cmd):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        self._need_table(fam, obj.table, f.pick("table"))
        self._mutating()
        try:
            self.tx.rename_chain(fam, obj.table, obj.name, cmd.newname)
        except ModelError as e:
            raise CommandError(e.errno, L.widen(cmd.loc)) from None

    # -- rules ------------------------------------------------------------------------
    def _add_RuleObj(self, cmd, insert=False):
        obj: A.RuleObj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        self._add_rule(self._fam(obj), obj.table, obj.chain, obj.rule, obj, f, insert=insert)

    def _create_RuleObj(self, cmd):
        self._add_RuleObj(cmd)

    def _insert_RuleObj(self, cmd):
        self._add_RuleObj(cmd, insert=True)

    def _add_rule(self, fam, table, chain, rule: A.Rule, obj: A.RuleObj | None, f: L.Fields,
                  insert=False, replace=False):
        t = self.tx.tables.get((fam, table))
        nested = obj is None
        c = t.chains.get(chain) if t is not None else None
        if c is not None or t is None or nested:
            pass
        comp = compile_rule(rule, fam, table, chain, sets=set_infos(t) if t is not None else None,
                            chains=frozenset(t.chains) if t is not None else None) if t is not None \
            else compile_rule(rule, fam, table, chain)
        if "netlink" in self.opts.debug and comp.bytecode:
            self.out.append(comp.bytecode + "\n")
        if t is None:
            raise CommandError(E.ENOENT, f.pick("table"))
        if c is None:
            raise CommandError(E.ENOENT, f.pick("name") if not nested else f.whole)
        self._mutating()
        try:
            if replace:
                r = self.tx.replace_rule(fam, table, chain, obj.handle, comp.stmts,
                                         comment=rule.comment, loc=rule.loc)
            else:
                r = self.tx.add_rule(fam, table, chain, comp.stmts, insert=insert,
                                     position=obj.position if obj else None,
                                     index=obj.index if obj else None,
                                     comment=rule.comment, loc=rule.loc)
        except ModelError as e:
            raise CommandError(e.errno, f.pick("position")) from None
        r.userdata["ast"] = rule
        if comp.program is not None:
            r.userdata["program"] = comp.program

    def _replace_RuleObj(self, cmd):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        self._add_rule(self._fam(obj), obj.table, obj.chain, obj.rule, obj, f, replace=True)

    def _delete_RuleObj(self, cmd, destroy=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        t = self.tx.tables.get((fam, obj.table))
        if t is None:
            if destroy:
                return
            raise CommandError(E.ENOENT, f.pick("table"))
        if obj.chain not in t.chains:
            if destroy:
                return
            raise CommandError(E.ENOENT, f.pick("name"))
        self._mutating()
        try:
            self.tx.delete_rule(fam, obj.table, obj.chain, obj.handle, destroy=destroy)
        except ModelError as e:
            raise CommandError(e.errno, f.pick("handle")) from None

    def _destroy_RuleObj(self, cmd):
        self._delete_RuleObj(cmd, destroy=True)

    # -- sets and elements ------------------------------------------------------------
    def _add_SetObj(self, cmd, create=False):
        obj = cmd.obj
        self._set(obj, self._fam(obj), obj.table, create=create, nested=False)

    def _create_SetObj(self, cmd):
        self._add_SetObj(cmd, create=True)

    def _set(self, obj: A.SetObj, fam, table, *, create, nested):
        from pkttables.types import lookup
        f = L.locate(obj, nested=nested)
        key = data = None
        typeof = False
        flags: set[str] = set()
        kw: dict = {}
        elements = None
        stmts = []
        for item in obj.body or ():
            if isinstance(item, A.SetType):
                typeof = item.typeof
                if not typeof:
                    for name in item.key + tuple(item.data or ()):
                        if name in ("verdict",) or name.startswith("$"):
                            continue
                        try:
                            lookup(name)
                        except PktError:
                            raise EvalError(Diagnostic(L.word(item.loc, name) or item.loc,
                                                       f"unknown datatype {name}")) from None
                key, data = item.key, item.data
                if item.data_interval:
                    flags.add("interval")
            elif isinstance(item, A.Prop):
                if item.name == "flags":
                    flags.update(item.value)
                elif item.name in ("timeout", "gc-interval"):
                    kw[item.name.replace("-", "_")] = _time_ms(item.value, item.loc)
                elif item.name == "size":
                    kw["size"] = item.value
                elif item.name == "policy":
                    kw["policy"] = item.value
                elif item.name == "auto-merge":
                    kw["auto_merge"] = True
                elif item.name == "comment":
                    kw["comment"] = item.value
                elif item.name == "elements":
                    elements = item.value
                elif item.name == "stmt":
                    stmts.append(item.value)
        if obj.body is not None and key is None:
            raise EvalError(Diagnostic(f.pick("name"), f"set definition does not specify key"))
        self._need_table(fam, table, f.pick("table") if not nested else f.whole)
        s = Set(obj.name, 0, key, data, obj.kind == "map" or data is not None, frozenset(flags),
                stmts=tuple(stmts), typeof=typeof, **kw)
        self._mutating()
        try:
            s = self.tx.add_set(fam, table, s, create=create)
        except ModelError as e:
            raise CommandError(e.errno, f.pick("name")) from None
        if elements is not None:
            self.tx.add_elements(fam, table, obj.name, self._elements(elements))

    def _elements(self, se) -> list[Element]:
        out = []
        for e in getattr(se, "elements", ()):
            data = None
            if isinstance(e, A.Mapping):
                e, data = e.key, e.value
            opts: dict = {}
            est = []
            key = e
            if isinstance(e, A.Elem):
                key = e.key
                for o in e.opts:
                    if isinstance(o, A.ElemOpt) and o.name in ("timeout", "expires"):
                        opts[o.name] = _time_ms(o.value, o.loc)
                    elif isinstance(o, A.ElemOpt) and o.name == "comment":
                        opts["comment"] = o.value
                    else:
                        est.append(o)
            out.append(Element(key, data, stmts=tuple(est), **opts))
        return out

    def _set_ref(self, obj, f, kernel=False) -> tuple[str, Set]:
        fam = self._fam(obj)
        t = self._need_table(fam, obj.table, f.pick("table"), kernel=kernel)
        name = obj.set if isinstance(obj, A.ElementObj) else obj.name
        if name is None:
            name = next((n for n, s in t.sets.items() if s.handle == obj.handle), None)
        if name not in t.sets:
            raise CommandError(E.ENOENT, f.pick("handle", "name"), kernel=kernel)
        return fam, name

    def _delete_SetObj(self, cmd, destroy=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        try:
            fam, name = self._set_ref(obj, f, kernel=True)
        except CommandError:
            if destroy:
                return
            raise
        t = self.tx.tables[(fam, obj.table)]
        if name in _refs(t)[1]:
            raise CommandError(E.EBUSY, f.pick("handle", "name"))
        self._mutating()
        self.tx.delete_set(fam, obj.table, name)

    def _destroy_SetObj(self, cmd):
        self._delete_SetObj(cmd, destroy=True)

    def _flush_SetObj(self, cmd):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam, name = self._set_ref(obj, f, kernel=True)
        self._mutating()
        self.tx.set_for_update(fam, obj.table, name).elements.clear()

    def _add_ElementObj(self, cmd, create=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam, name = self._set_ref(obj, f)
        new = self._elements(obj.elements)
        s = self.tx.set_for_update(fam, obj.table, name)
        have = {_strip(e.key): i for i, e in enumerate(s.elements)}
        self._mutating()
        for el in new:
            k = _strip(el.key)
            if k in have:
                if create:
                    raise CommandError(E.EEXIST, f.whole)
                continue
            have[k] = len(s.elements)
            s.elements.append(el)

    def _create_ElementObj(self, cmd):
        self._add_ElementObj(cmd, create=True)

    def _delete_ElementObj(self, cmd, destroy=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam, name = self._set_ref(obj, f)
        s = self.tx.set_for_update(fam, obj.table, name)
        self._mutating()
        for el in self._elements(obj.elements):
            k = _strip(el.key)
            for i, old in enumerate(s.elements):
                if _strip(old.key) == k:
                    del s.elements[i]
                    break
            else:
                if not destroy:
                    raise CommandError(E.ENOENT, f.whole)

    def _destroy_ElementObj(self, cmd):
        self._delete_ElementObj(cmd, destroy=True)

    # -- stateful objects and flowtables ----------------------------------------------
    def _add_StatefulObj(self, cmd, create=False):
        obj = cmd.obj
        self._object(obj, self._fam(obj), obj.table, create=create, nested=False)

    def _create_StatefulObj(self, cmd):
        self._add_StatefulObj(cmd, create=True)

    def _object(self, obj: A.StatefulObj, fam, table, *, create, nested):
        f = L.locate(obj, nested=nested)
        self._need_table(fam, table, f.pick("table") if not nested else f.whole)
        spec: dict = {}
        comment = None

        def props(items):
            nonlocal comment
            for p in items:
                if isinstance(p, A.Prop) and p.name == "group":
                    props(p.value)
                elif isinstance(p, A.Prop) and p.name == "comment":
                    comment = _text(p.value[0]) if isinstance(p.value, tuple) and p.value else p.value
                elif isinstance(p, A.Prop):
                    spec[p.name] = p.value
        props(obj.body or ())
        self._mutating()
        try:
            self.tx.add_object(fam, table, StatefulObject(obj.kind, obj.name, 0, spec, comment), create=create)
        except ModelError as e:
            raise CommandError(e.errno, f.pick("name")) from None

    def _delete_StatefulObj(self, cmd, destroy=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        t = self.tx.tables.get((fam, obj.table))
        name = obj.name
        if t is not None and name is None:
            name = next((k[1] for k, o in t.objects.items() if k[0] == obj.kind and o.handle == obj.handle), None)
        if t is None or (obj.kind, name) not in t.objects:
            if destroy:
                return
            raise CommandError(E.ENOENT, f.pick("handle", "name") if t is not None else f.pick("table"))
        if name in _refs(t)[2]:
            raise CommandError(E.EBUSY, f.pick("handle", "name"))
        self._mutating()
        self.tx.delete_object(fam, obj.table, obj.kind, name)

    def _destroy_StatefulObj(self, cmd):
        self._delete_StatefulObj(cmd, destroy=True)

    def _add_FlowtableObj(self, cmd, create=False):
        obj = cmd.obj
        self._flowtable(obj, self._fam(obj), obj.table, create=create, nested=False)

    def _create_FlowtableObj(self, cmd):
        self._add_FlowtableObj(cmd, create=True)

    def _flowtable(self, obj: A.FlowtableObj, fam, table, *, create, nested):
        from pkttables.proto import std_priority
        f = L.locate(obj, nested=nested)
        self._need_table(fam, table, f.pick("table") if not nested else f.whole)
        ft = Flowtable(obj.name, 0)
        for item in obj.body or ():
            if isinstance(item, A.ChainType):
                ft.hook = item.hook
                if item.priority is not None:
                    ft.priority = self._priority(item, "inet" if fam == "inet" else fam, std_priority) \
                        if not isinstance(item.priority, A.Number) else item.priority.value
                    ft.priority_expr = item.priority
            elif isinstance(item, A.Prop) and item.name == "devices":
                ft.devices = self._devices(item.value)
            elif isinstance(item, A.Prop) and item.name == "flags":
                ft.flags = frozenset(item.value)
            elif isinstance(item, A.Prop) and item.name == "counter":
                ft.flags = ft.flags | {"counter"}
        self._mutating()
        try:
            self.tx.add_flowtable(fam, table, ft, create=create)
        except ModelError as e:
            raise CommandError(e.errno, f.pick("name")) from None

    def _delete_FlowtableObj(self, cmd, destroy=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        t = self.tx.tables.get((fam, obj.table))
        name = obj.name
        if t is not None and name is None:
            name = next((n for n, o in t.flowtables.items() if o.handle == obj.handle), None)
        if t is None or name not in t.flowtables:
            if destroy:
                return
            raise CommandError(E.ENOENT, f.pick("handle", "name") if t is not None else f.pick("table"))
        if name in _refs(t)[3]:
            raise CommandError(E.EBUSY, f.pick("handle", "name"))
        self._mutating()
        self.tx.delete_flowtable(fam, obj.table, name)

    def _destroy_FlowtableObj(self, cmd):
        self._delete_FlowtableObj(cmd, destroy=True)

    # -- listings -----------------------------------------------------------------------
    def _listing(self, cmd: A.Command) -> None:
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc) if not isinstance(obj, (A.ListObj, A.RulesetObj)) else L.Fields(obj.loc)
        # nft checks what a listing names against its cache first (no "Could not process").
        if isinstance(obj, A.TableObj):
            self._need_table(self._fam(obj), obj.name, f.pick("name"), kernel=False)
        elif isinstance(obj, A.ChainObj):
            t = self._need_table(self._fam(obj), obj.table, f.pick("table"), kernel=False)
            if obj.name not in t.chains:
                raise CommandError(E.ENOENT, f.pick("name"), kernel=False)
        elif isinstance(obj, A.SetObj):
            self._set_ref(obj, f)
        from . import _listing
        self.out.append(_listing.render(cmd, self._view(), self.opts))

    def _describe(self, cmd: A.Command) -> None:
        from pkttables.types import describe
        loc = cmd.obj.loc
        text = loc.line_text[loc.first_col - 1:loc.last_col] if loc and loc.line_text else ""
        self.out.append(describe(text) + "\n")
