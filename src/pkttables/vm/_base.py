"""The instruction base class, the registry by kernel name, and dump-parsing helpers.

Every instruction is a frozen, slotted dataclass with the attributes the kernel keeps
(``sreg``, ``dreg``, ``len``, ``base``...), and three methods: ``dump()`` gives the line
libnftnl 1.2.4 prints for it (``[ cmp eq reg 1 0x00001600 ]``), the classmethod
``parse()`` reads that line back, and ``eval(regs, pkt, ctx)`` runs it.

libnftnl prints a rule's expression as ``"  [ " + name + " " + body + "]"`` where each
body ends in a space, so an expression without attributes prints ``[ notrack ]``.
Here :meth:`Instr.body` returns the body without its trailing space and :meth:`dump`
puts the brackets around it (no indent; :mod:`pkttables.vm.program` indents).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from pkttables.errors import PktError

if TYPE_CHECKING:
    from pkttables.packet import Packet
    from pkttables.vm.context import EvalContext
    from pkttables.vm.regs import Regs

__all__ = ["Instr", "REGISTRY", "register", "parse_instr", "DumpError", "instr_classes"]


class DumpError(PktError):
    """A netlink debug dump (``--debug=netlink`` text) that cannot be read back."""


#: kernel expression name -> the classes that dump under it (e.g. ``payload``: load, write)
REGISTRY: dict[str, list[type["Instr"]]] = {}


def register(cls: type["Instr"]) -> type["Instr"]:
    REGISTRY.setdefault(cls.name, []).append(cls)
    return cls


def instr_classes() -> list[type["Instr"]]:
    """Every registered instruction class, in registration order."""
    return [c for cs in REGISTRY.values() for c in cs]


class Instr:
    """Base of all instructions.  Subclasses are frozen slotted dataclasses."""

    __slots__ = ()

    #: the kernel's expression name (``nft_expr_type.name``), first word of the dump
    name: ClassVar[str] = ""
    #: for kinds with several classes: the first word of the body (``load``/``write``)
    verb: ClassVar[str | None] = None
    #: whether eval needs state outside the packet (conntrack, set contents, counters)
    stateful: ClassVar[bool] = False

    def body(self) -> str:
        raise NotImplementedError

    def dump(self) -> str:
        b = self.body()
        return f"[ {self.name} {b} ]" if b else f"[ {self.name} ]"

    @classmethod
    def parse_body(cls, body: str) -> "Instr":
        raise NotImplementedError

    @classmethod
    def parse(cls, line: str) -> "Instr":
        """Read one expression line (``[ cmp eq reg 1 0x00001600 ]``, indent allowed)."""
        name, body = _split_line(line)
        if name != cls.name:
            raise DumpError(f"expected a {cls.name} expression, got {line.strip()!r}")
        return cls.parse_body(body)

    def eval(self, regs: "Regs", pkt: "Packet", ctx: "EvalContext") -> None:
        raise NotImplementedError


def _split_line(line: str) -> tuple[str, str]:
    s = line.strip()
    if not (s.startswith("[ ") and s.endswith(" ]")) and s != "[ ]":
        raise DumpError(f"not an expression line: {line!r}")
    inner = s[2:-2]
    name, _, body = inner.partition(" ")
    if not name:
        raise DumpError(f"not an expression line: {line!r}")
    return name, body


def parse_instr(line: str) -> Instr:
    """Parse any expression line with the class registered for its name (and verb)."""
    name, body = _split_line(line)
    classes = REGISTRY.get(name)
    if not classes:
        raise DumpError(f"unknown expression {name!r} in {line.strip()!r}")
    if len(classes) == 1:
        cls = classes[0]
    else:
        verb = body.split(" ", 1)[0]
        for cls in classes:
            if cls.verb == verb:
                break
        else:
            raise DumpError(f"unknown {name} operation {verb!r} in {line.strip()!r}")
    try:
        return cls.parse_body(body)
    except DumpError:
        raise
    except (PktError, ValueError, KeyError, IndexError) as e:
        raise DumpError(f"cannot read {line.strip()!r}: {e}") from None


def match(pattern: re.Pattern[str], body: str, what: str) -> re.Match[str]:
    m = pattern.fullmatch(body)
    if m is None:
        raise DumpError(f"cannot read {what} expression {body!r}")
    return m


def opt_int(group: str | None) -> int | None:
    """A decimal regex group of an optional attribute (``sreg_addr 2``): None when absent."""
    return None if group is None else int(group)
