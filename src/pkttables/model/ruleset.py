"""A Ruleset generation: every table, by (family, name), in creation order."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field

from pkttables.model.objects import Chain, HandleCounter, Set, Table

FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")


class ModelError(Exception):
    """A command the kernel would refuse: carries the errno nft reports
    (``Error: Could not process rule: No such file or directory``)."""

    def __init__(self, err: int, what: str = ""):
        self.errno = err
        self.what = what
        super().__init__(f"{what}: {os.strerror(err)}" if what else os.strerror(err))

    @property
    def strerror(self) -> str:
        return os.strerror(self.errno)


@dataclass(slots=True)
class Ruleset:
    """One committed generation.  Never modified after commit: readers may keep it."""

    tables: dict[tuple[str, str], Table] = field(default_factory=dict)
    generation: int = 0
    table_handles: HandleCounter = field(default_factory=HandleCounter)  # nft_net->table_handle

    @property
    def next_table_handle(self) -> int:
        return self.table_handles.value

    def table(self, family: str, name: str) -> Table:
        t = self.tables.get((family, name))
        if t is None:
            raise ModelError(errno.ENOENT, f"table {family} {name}")
        return t

    def chain(self, family: str, table: str, name: str) -> Chain:
        c = self.table(family, table).chains.get(name)
        if c is None:
            raise ModelError(errno.ENOENT, f"chain {family} {table} {name}")
        return c

    def set(self, family: str, table: str, name: str) -> Set:
        s = self.table(family, table).sets.get(name)
        if s is None:
            raise ModelError(errno.ENOENT, f"set {family} {table} {name}")
        return s

    def rule_count(self) -> int:
        return sum(len(c.rules) for t in self.tables.values() for c in t.chains.values())
