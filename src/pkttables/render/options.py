"""Listing options: nft's output flags (``struct output_ctx``) that change ``nft list``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ListOptions"]


@dataclass(frozen=True, slots=True)
class ListOptions:
    """``-a`` handle, ``-s`` stateless, ``-t`` terse, ``-n`` (numeric 1, ``-nn`` 2),
    ``-p`` numeric_proto, ``-S`` service, ``-T`` numeric_time, ``-u`` guid, ``-y``
    numeric_priority."""

    handle: bool = False
    stateless: bool = False
    terse: bool = False
    numeric: int = 0
    numeric_proto: bool = False
    service: bool = False
    numeric_time: bool = False
    guid: bool = False
    numeric_priority: bool = False
    # how interface indexes are named (nft asks the kernel: if_indextoname)
    ifnames: tuple[tuple[int, str], ...] = ((1, "lo"),)
    # seconds east of UTC for meta time/hour (None: this machine's local time)
    tz_offset: int | None = None

    @classmethod
    def from_flags(cls, flags: str) -> "ListOptions":
        """``"-a -s"`` / ``"as"`` -> options (letters as nft's short options)."""
        letters = flags.replace("-", "").replace(" ", "")
        return cls(handle="a" in letters, stateless="s" in letters, terse="t" in letters,
                   numeric=min(letters.count("n"), 2), numeric_proto="p" in letters,
                   service="S" in letters, numeric_time="T" in letters, guid="u" in letters,
                   numeric_priority="y" in letters)
