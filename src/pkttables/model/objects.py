"""Model objects.  Slotted dataclasses holding values in the kernel's form; expressions
and statements are the evaluated AST nodes of ``pkttables.lang``/``evaluate``, kept
opaque here (``object``) so the model does not depend on the language front end.

They are mutable only inside the transaction that created their copy; a committed
generation is never changed (see ``transaction.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pkttables.errors import Location


@dataclass(slots=True)
class HandleCounter:
    """A handle generator shared by every generation's copy of one table (or of the ruleset):
    like the kernel's ``table->hgenerator`` and ``nft_net->table_handle``, it is never rolled
    back, so handles used by an aborted transaction are not handed out again."""

    value: int = 1

    def alloc(self) -> int:
        h = self.value
        self.value += 1
        return h


@dataclass(slots=True)
class Hook:
    """What makes a chain a base chain: ``type filter hook input priority 0; policy drop;``."""

    type: str                       # filter, nat, route
    hook: str                       # prerouting, input, forward, output, postrouting, ingress, egress
    priority: int
    priority_expr: Any = None       # as written (a name, `name + n`): the listing prints it back
    devices: tuple[str, ...] = ()
    policy: str | None = None       # accept / drop; None = not given (accept)


@dataclass(slots=True)
class Rule:
    handle: int
    stmts: tuple = ()               # evaluated statements, in order
    comment: str | None = None
    loc: Location | None = None     # where it was written, for errors and traces
    userdata: dict = field(default_factory=dict)


@dataclass(slots=True)
class Chain:
    name: str
    handle: int
    hook: Hook | None = None        # None: a regular chain
    rules: list[Rule] = field(default_factory=list)
    comment: str | None = None
    flags: frozenset[str] = frozenset()

    @property
    def is_base(self) -> bool:
        return self.hook is not None


@dataclass(slots=True)
class Element:
    key: Any                        # kernel-form value (bytes / tuple for concatenations / range)
    data: Any = None                # map data or verdict
    timeout: int | None = None      # milliseconds
    expires: int | None = None      # milliseconds left at listing time
    comment: str | None = None
    stmts: tuple = ()               # per-element statements (counter, quota, limit)
    key_end: Any = None             # interval sets: inclusive upper bound


@dataclass(slots=True)
class Set:
    name: str
    handle: int
    key_type: Any                   # datatype(s), or the `typeof` expressions
    data_type: Any = None           # maps: datatype of the data (verdict for vmaps)
    is_map: bool = False
    flags: frozenset[str] = frozenset()   # constant, interval, timeout, dynamic, anonymous, eval
    timeout: int | None = None
    gc_interval: int | None = None
    size: int | None = None
    policy: str | None = None       # performance / memory
    auto_merge: bool = False
    elements: list[Element] = field(default_factory=list)
    stmts: tuple = ()               # set-wide statements (`counter` on every element)
    comment: str | None = None
    typeof: bool = False            # declared with `typeof`: the listing prints the expressions


@dataclass(slots=True)
class StatefulObject:
    """Named counter, quota, limit, ct helper, ct timeout, ct expectation, synproxy, secmark."""

    kind: str
    name: str
    handle: int
    spec: dict = field(default_factory=dict)
    comment: str | None = None


@dataclass(slots=True)
class Flowtable:
    name: str
    handle: int
    hook: str = "ingress"
    priority: int = 0
    priority_expr: Any = None
    devices: tuple[str, ...] = ()
    flags: frozenset[str] = frozenset()


@dataclass(slots=True)
class Table:
    family: str
    name: str
    handle: int
    flags: frozenset[str] = frozenset()   # dormant, owner
    comment: str | None = None
    chains: dict[str, Chain] = field(default_factory=dict)
    sets: dict[str, Set] = field(default_factory=dict)
    objects: dict[tuple[str, str], StatefulObject] = field(default_factory=dict)
    flowtables: dict[str, Flowtable] = field(default_factory=dict)
    hgen: HandleCounter = field(default_factory=HandleCounter)  # chains, rules, sets, objects

    @property
    def next_handle(self) -> int:
        return self.hgen.value

    def alloc_handle(self) -> int:
        return self.hgen.alloc()
