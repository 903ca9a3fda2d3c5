"""The offline store: a ruleset kept in a file (``pkt --state FILE``, ``PKT_STATE``).

Format (version 2)
------------------
One JSON document::

    {"format": "pkttables-state", "version": 2,
     "generation": 7, "next_table_handle": 3,
     "tables": [<Table>, ...]}

Tables, chains (without their rules), sets, elements and objects are the model itself,
written by a small tagged codec so that handles (tables, chains, rules, sets, objects,
flowtables, each table's handle counter) and the generation survive exactly:

* a dataclass of ``pkttables`` -> ``{"$c": "module:Class", "f": {field: value}}``
* tuple ``{"$t": [...]}``, frozenset ``{"$fs": [...]}``, dict ``{"$d": [[k, v], ...]}``,
  bytes ``{"$b": "hex"}``, an IntEnum/Enum ``{"$e": "module:Class", "v": value}``,
  a datatype ``{"$dt": "name"}``; lists, str, int, float, bool, None as themselves.

Rules are what the kernel keeps of them: the program.  Each chain's ``"f"`` has
``"rules": {"$r": [[handle, comment, program, anon_sets, decls], ...]}`` where
``program`` is the instruction lines as ``nft --debug=netlink`` prints them,
``anon_sets`` the table's ``__set%d`` names bound to the rule, and ``decls`` the
program's anonymous set declarations ``[name, flags, key_len, data_len, size,
[[key, flags, key_end, data, verdict], ...]]`` (hex bytes).  On load a rule gets a
:class:`StoredProgram` that reads its instructions back only when something asks for
them (a listing, the vm), so loading and adding one rule do not grow with the size of
the ruleset's programs.  Typed statements and source locations are not kept (version 1
kept them: ~9 kB per rule).  A rule without a program (no compiler) is written whole
by the codec, ``[handle, {"$c": ...}]``.

Only classes defined in ``pkttables`` modules are rebuilt on load, so a store can never
name arbitrary code.  The version is checked on load (a version 1 store is refused with
a message saying how to rebuild it); anything that does not decode gives one
:class:`StateError`.

Writes are atomic: the new document goes to a temporary file in the same directory,
is fsynced, and replaces the old file with ``os.replace`` -- a failed command or a crash
leaves the previous store intact.  :meth:`StateStore.locked` serializes concurrent
``pkt`` processes with ``flock`` on ``FILE.lock``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import fcntl
import importlib
import json
import os
import tempfile

from pkttables.errors import Diagnostic, PktError
from pkttables.model import Chain, HandleCounter, Rule, Ruleset, Table

__all__ = ["FORMAT", "VERSION", "StateError", "StateStore", "StoredProgram", "dumps", "end_session",
           "handle_marks", "loads"]

FORMAT = "pkttables-state"
VERSION = 2


class StateError(PktError):
    """A state file that cannot be read or written."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(Diagnostic(None, f"state file {path}: {message}"))


# ---------------------------------------------------------------------- codec
def _qual(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _enc(v):
    if v is None or isinstance(v, (bool, str, float)):
        return v
    if isinstance(v, enum.Enum):
        return {"$e": _qual(type(v)), "v": v.value}
    if isinstance(v, int):
        return v
    if isinstance(v, list):
        return [_enc(x) for x in v]
    if isinstance(v, tuple):
        return {"$t": [_enc(x) for x in v]}
    if isinstance(v, (frozenset, set)):
        items = sorted((_enc(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
        return {"$fs": items}
    if isinstance(v, dict):
        return {"$d": [[_enc(k), _enc(x)] for k, x in v.items()]}
    if isinstance(v, (bytes, bytearray)):
        return {"$b": bytes(v).hex()}
    cls = type(v)
    if cls.__name__ == "Datatype" and cls.__module__.startswith("pkttables.types"):
        return {"$dt": getattr(v, "key", "") or v.name}
    if cls is Chain:
        f = {x.name: _enc(getattr(v, x.name)) for x in dataclasses.fields(v) if x.name != "rules"}
        f["rules"] = {"$r": [_enc_rule(r) for r in v.rules]}
        return {"$c": _qual(cls), "f": f}
    if dataclasses.is_dataclass(v) and cls.__module__.startswith("pkttables."):
        return {"$c": _qual(cls), "f": {f.name: _enc(getattr(v, f.name)) for f in dataclasses.fields(v)}}
    raise TypeError(f"cannot store a {cls.__module__}.{cls.__qualname__}")


def _cls(q: str) -> type:
    mod, _, name = q.partition(":")
    if not mod.startswith("pkttables.") or not name:
        raise ValueError(f"class {q!r} is not a pkttables class")
    obj = importlib.import_module(mod)
    for part in name.split("."):
        obj = getattr(obj, part)
    if not isinstance(obj, type):
        raise ValueError(f"{q!r} is not a class")
    return obj


def _dec(v):
    if isinstance(v, list):
        return [_dec(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "$t" in v:
        return tuple(_dec(x) for x in v["$t"])
    if "$r" in v:
        return [_dec_rule(x) for x in v["$r"]]
    if "$c" in v:
        cls = _cls(v["$c"])
        if not dataclasses.is_dataclass(cls):
            raise ValueError(f"{v['$c']} is not a dataclass")
        return cls(**{k: _dec(x) for k, x in v["f"].items()})
    if "$fs" in v:
        return frozenset(_dec(x) for x in v["$fs"])
    if "$d" in v:
        return {_dec(k): _dec(x) for k, x in v["$d"]}
    if "$b" in v:
        return bytes.fromhex(v["$b"])
    if "$e" in v:
        cls = _cls(v["$e"])
        if not issubclass(cls, enum.Enum):
            raise ValueError(f"{v['$e']} is not an enum")
        return cls(v["v"])
    if "$dt" in v:
        from pkttables.types import DATATYPES
        return DATATYPES[v["$dt"]]
    raise ValueError(f"unknown tag in {sorted(v)!r}")


def _hex(b) -> str | None:
    return None if b is None else bytes(b).hex()


def _unhex(h) -> bytes | None:
    return None if h is None else bytes.fromhex(h)


def _enc_rule(r: Rule) -> list:
    prog = r.userdata.get("program")
    names = list(r.userdata.get("sets", ()))
    if isinstance(prog, StoredProgram):
        return [r.handle, r.comment, prog.text, names, prog.decls]
    if prog is not None and hasattr(prog, "instrs") and hasattr(prog, "sets"):
        text = "\n".join(i.dump() for i in prog.instrs)
        decls = [[d.name, d.flags, d.key_len, d.data_len, d.size,
                  [[_hex(e.key), e.flags, _hex(e.key_end), _hex(e.data), e.verdict] for e in d.elements]]
                 for d in prog.sets]
        return [r.handle, r.comment, text, names, decls]
    keep = Rule(r.handle, r.stmts, r.comment, r.loc,
                {k: x for k, x in r.userdata.items() if k != "ast"})
    return [r.handle, _enc(keep)]


def _dec_rule(x: list) -> Rule:
    if len(x) == 2:
        r = _dec(x[1])
        if not isinstance(r, Rule):
            raise ValueError("a rule entry is not a rule")
        return r
    handle, comment, text, names, decls = x
    if not isinstance(handle, int) or not isinstance(text, str):
        raise ValueError("bad rule entry")
    ud = {"program": StoredProgram(text, decls)}
    if names:
        ud["sets"] = tuple(names)
    return Rule(handle, (), comment, None, ud)


class StoredProgram:
    """A rule's program as the store keeps it: its instruction lines and anonymous set
    declarations, read back into :mod:`pkttables.vm` instructions and
    ``compile.AnonSetDecl`` values on first use.  It has the attributes of a
    ``compile.Program`` (``family table chain sets instrs``), so the listing, the vm and
    ``compile.dump`` take it as they take a freshly compiled one."""

    __slots__ = ("text", "decls", "family", "table", "chain", "_instrs", "_sets")

    def __init__(self, text: str, decls: list, family: str = "", table: str = "", chain: str = ""):
        self.text = text
        self.decls = decls
        self.family, self.table, self.chain = family, table, chain
        self._instrs = None
        self._sets = None

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n") if self.text else []

    @property
    def instrs(self) -> tuple:
        if self._instrs is None:
            from pkttables.vm.program import Program, parse_dump
            if not self.text:
                self._instrs = ()
            else:
                body = "\n".join("  " + x for x in self.lines)
                items = parse_dump(f"{self.family or 'ip'} {self.table or 't'} {self.chain or 'c'}\n{body}\n")
                self._instrs = tuple(i for p in items if isinstance(p, Program) for i in p.instrs)
        return self._instrs

    @property
    def sets(self) -> tuple:
        if self._sets is None:
            from pkttables.compile.linearize import AnonSetDecl, SetElem
            self._sets = tuple(
                AnonSetDecl(n, fl, kl, tuple(SetElem(_unhex(k), ef, _unhex(ke), _unhex(d), vd)
                                             for k, ef, ke, d, vd in els), dl, sz)
                for n, fl, kl, dl, sz, els in self.decls)
        return self._sets

    def __repr__(self) -> str:
        return f"StoredProgram({self.text!r})"


def _bind_programs(t: Table) -> None:
    """Tell each stored program where it lives (the dump header names the chain)."""
    for c in t.chains.values():
        for r in c.rules:
            p = r.userdata.get("program")
            if isinstance(p, StoredProgram):
                p.family, p.table, p.chain = t.family, t.name, c.name


def dumps(rs: Ruleset) -> str:
    doc = {"format": FORMAT, "version": VERSION, "generation": rs.generation,
           "next_table_handle": rs.next_table_handle,
           "tables": [_enc(t) for t in rs.tables.values()]}
    return json.dumps(doc, separators=(",", ":")) + "\n"


def loads(text: str, path: str = "<state>") -> Ruleset:
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise StateError(path, f"not a pkttables state file (invalid JSON: {e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StateError(path, "not a pkttables state file")
    if doc.get("version") != VERSION:
        hint = (" -- version 1 stores kept every rule's typed statements; rebuild the store from "
                "the ruleset (`pkt -f ruleset.nft --state NEWFILE`)") if doc.get("version") == 1 else ""
        raise StateError(path, f"format version {doc.get('version')!r} is not supported "
                         f"(this pkttables reads version {VERSION}){hint}")
    try:
        tables = [_dec(t) for t in doc["tables"]]
        if not all(isinstance(t, Table) for t in tables):
            raise ValueError("a table entry is not a table")
        for t in tables:
            _bind_programs(t)
        rs = Ruleset({(t.family, t.name): t for t in tables}, int(doc["generation"]),
                     HandleCounter(int(doc["next_table_handle"])))
    except (KeyError, TypeError, ValueError, AttributeError, ImportError) as e:
        raise StateError(path, f"corrupt ({type(e).__name__}: {e})") from None
    return rs


def handle_marks(rs: Ruleset) -> tuple:
    """The handle counters of ``rs`` (the ruleset's and each table's).  A failed batch
    still advances them -- the kernel never hands a handle out twice -- so a caller
    saves the unchanged ruleset again when these moved."""
    return (rs.table_handles.value,) + tuple((k, t.hgen.value) for k, t in rs.tables.items())


def end_session(rs: Ruleset) -> Ruleset:
    """``rs`` as another process sees it once this one is gone: without the tables this
    session owns (``flags owner``).  Returns ``rs`` itself when it owns none."""
    owned = [k for k, t in rs.tables.items() if "owner" in t.flags]
    if not owned:
        return rs
    return Ruleset({k: t for k, t in rs.tables.items() if k not in owned}, rs.generation, rs.table_handles)


class StateStore:
    """A ruleset in a file.  A missing file is an empty ruleset (generation 0)."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)

    def load(self) -> Ruleset:
        try:
            with open(self.path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError:
            return Ruleset()
        except (OSError, UnicodeDecodeError) as e:
            raise StateError(self.path, getattr(e, "strerror", None) or str(e)) from None
        return loads(text, self.path)

    def save(self, rs: Ruleset) -> None:
        """Write ``rs``; tables with the ``owner`` flag are not kept: they belong to the
        session that created them (the ``pkt`` process), and the kernel removes them
        when its netlink socket closes (NFT_TABLE_F_OWNER)."""
        rs = end_session(rs)
        try:
            text = dumps(rs)
        except TypeError as e:
            raise StateError(self.path, f"cannot be written: {e}") from None
        d = os.path.dirname(os.path.abspath(self.path))
        try:
            fd, tmp = tempfile.mkstemp(prefix=".pkt-state-", dir=d)
        except OSError as e:
            raise StateError(self.path, e.strerror or str(e)) from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException as e:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(e, OSError):
                raise StateError(self.path, e.strerror or str(e)) from None
            raise

    @contextlib.contextmanager
    def locked(self):
        """Hold ``FILE.lock`` (flock) for a load-execute-save cycle."""
        try:
            fh = open(self.path + ".lock", "a")
        except OSError:
            yield  # read-only directory: nothing to write anyway
            return
        with fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
