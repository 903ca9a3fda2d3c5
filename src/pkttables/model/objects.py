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


_RULE_STMTS = Rule.stmts        # the slot, under the property of LazyRule


class LazyRule(Rule):
    """A :class:`Rule` whose ``stmts`` are built on first read by ``make()``.

    The line-level load path (``commands/_fastline.py``) knows a rule's program without
    its typed statements, which only listings, JSON and errors read; building them for
    every rule of a 100k-rule load was a third of its time.  Equal to, and copied and
    pickled as, the plain :class:`Rule` with the same values."""

    __slots__ = ("make",)

    def __init__(self, handle: int, stmts: tuple = (), comment: str | None = None,
                 loc: Location | None = None, userdata: dict | None = None, *, make=None):
        self.make = make
        _RULE_STMTS.__set__(self, stmts)
        self.handle = handle
        self.comment = comment
        self.loc = loc
        self.userdata = {} if userdata is None else userdata

    @property
    def stmts(self) -> tuple:
        make = self.make
        if make is not None:
            self.make = None
            _RULE_STMTS.__set__(self, tuple(make()))
        return _RULE_STMTS.__get__(self)

    @stmts.setter
    def stmts(self, v) -> None:
        self.make = None
        _RULE_STMTS.__set__(self, v)

    def _plain(self) -> Rule:
        return Rule(self.handle, self.stmts, self.comment, self.loc, self.userdata)

    def __eq__(self, other):
        if isinstance(other, Rule):
            return (self.handle, self.stmts, self.comment, self.loc, self.userdata) == \
                (other.handle, other.stmts, other.comment, other.loc, other.userdata)
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return repr(self._plain())

    def __reduce__(self):
        return (Rule, (self.handle, self.stmts, self.comment, self.loc, self.userdata))

    def __copy__(self) -> Rule:
        return self._plain()


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
    """One element of a set or map, as the kernel holds it.

    * ``key``: the register form of the key (``bytes``: what a ``lookup`` compares, e.g.
      ``b"\\x0a\\x00\\x00\\x01"`` for ``10.0.0.1``, ``b"\\x00\\x16"`` for port 22, a
      ``mark`` little-endian); for a concatenation a ``tuple`` of the parts' register
      forms, unpadded (the kernel's key is their concatenation, each padded to 32 bits).
    * ``key_end``: interval sets only: the inclusive upper bound, same form as ``key``
      (``None`` = a single value).  nft's segtree has already run: overlaps were refused
      or, with ``auto-merge``, merged; the listing decomposes ranges back into prefixes.
    * ``data``: maps: the register form of the data (``bytes``; a ``tuple`` for
      concatenated data; ``("range", low, high)`` for a data range); verdict maps: the
      verdict text (``"accept"``, ``"jump chain"``); object maps: the object's name.
    * ``timeout``/``expires``: milliseconds (``expires`` = left when listed; a fresh
      element with a timeout expires after ``timeout``); ``comment``: the udata comment.
    * ``stmts``: per-element statements in the kernel's form: instruction dump lines
      (``"[ counter pkts 0 bytes 0 ]"``, ``"[ quota bytes 1000 consumed 0 flags 0 ]"``).
    * ``flags``: kernel element flags; ``2`` = the catch-all element (``*``, no key).
    """

    key: Any                        # bytes / tuple of bytes (concatenations)
    data: Any = None                # map data (bytes / tuple), verdict text, object name
    timeout: int | None = None      # milliseconds
    expires: int | None = None      # milliseconds left at listing time
    comment: str | None = None
    stmts: tuple = ()               # per-element statements (instruction dump lines)
    key_end: Any = None             # interval sets: inclusive upper bound
    flags: int = 0                  # NFT_SET_ELEM_CATCHALL (2)


@dataclass(slots=True)
class Set:
    """A named set or map, or an anonymous one (``__set%d``), as the kernel holds it.

    * ``key_type``: datatype names (:mod:`pkttables.types`), one per concatenated part,
      as a ``tuple`` (``("ipv4_addr", "inet_service")``); for ``typeof`` sets the types of
      the expressions.  ``key_len``: each part's length in bits (``(32, 16)``).
    * ``data_type``/``data_len``: maps: the data's datatype name(s) (``"verdict"`` for
      vmaps, the object kind ``"counter"``/``"quota"``/... for object maps) and bits.
    * ``typeof``: declared with ``typeof``; ``key_typeof``/``data_typeof`` are then the
      expressions as nft stores them in the set's udata and lists them (``("ip saddr",
      "tcp dport")``, ``"meta mark"``).
    * ``flags``: the kernel's set flags by name: ``constant interval timeout dynamic
      anonymous eval concat map object``.  Anonymous sets are real sets of the table
      named ``__set%d``/``__map%d`` (numbered in the table, as the kernel names them)
      with ``anonymous`` and ``constant``; they use up a table handle before the rule
      that is bound to them (``Rule.userdata["sets"]`` names them) and go with it.
    * ``elements``: :class:`Element` in kernel form, in insertion order (the listing
      sorts them as nft does).
    * ``stmts``: set-wide statements (``counter`` on every element), as dump lines.
    """

    name: str
    handle: int
    key_type: Any                   # tuple of datatype names (a str is read as one name)
    data_type: Any = None           # maps: datatype name(s) of the data, "verdict", object kind
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
    key_len: tuple[int, ...] = ()   # bits per key part
    data_len: int = 0               # bits of the data (0 for verdicts and objects)
    key_typeof: tuple[str, ...] = ()    # typeof sets: the key expressions as nft lists them
    data_typeof: str | None = None      # typeof maps: the data expression


@dataclass(slots=True)
class StatefulObject:
    """Named counter, quota, limit, ct helper, ct timeout, ct expectation, synproxy, secmark.

    ``spec`` holds the object's kernel attributes, by kind (ints unless said):

    =============== ======================================================================
    counter         ``packets``, ``bytes``
    quota           ``bytes``, ``used``, ``over`` (bool)
    limit           ``rate``, ``unit`` (second minute hour day week), ``burst``, ``type``
                    (``packets``/``bytes``; bytes rates and bursts in bytes), ``over``
    ct helper       ``type`` (str), ``protocol`` (tcp/udp), ``l3proto`` (ip ip6 inet)
    ct timeout      ``protocol``, ``l3proto``, ``policy`` ({state name: seconds})
    ct expectation  ``protocol``, ``dport``, ``timeout`` (ms), ``size``, ``l3proto``
    synproxy        ``mss``, ``wscale``, ``flags`` (tuple of ``timestamp``/``sack-perm``)
    secmark         ``context`` (str)
    =============== ======================================================================
    """

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
