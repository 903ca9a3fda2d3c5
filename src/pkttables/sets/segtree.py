"""nft's userspace interval handling (src/intervals.c, formerly segtree.c), for evaluate.

The kernel stores whatever non-overlapping intervals it is sent; merging and the
overlap errors happen in nft before anything is sent:

* with ``auto-merge``, the new intervals and the set's current ones are sorted and
  every pair that overlaps *or touches* (``1-2, 3-4``) becomes one interval; the old
  elements that were merged away are deleted and the merged ones added in the same
  transaction (nft 1.0.6: ``{ 1-2, 3-4, 6-8, 7-10, 20, 21 }`` lists as
  ``1-4, 6-10, 20-21``);
* without it, two new intervals that overlap are ``conflicting intervals specified``
  (the caret under both), and a new one overlapping an existing element is
  ``interval overlaps with an existing one``.  Touching intervals are fine.

Intervals are ``(low, high)`` inclusive integers (the key read big-endian).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from pkttables.errors import Diagnostic, EvalError, Location

__all__ = ["merge_intervals", "merge_bounds", "MergeResult", "key_to_int", "int_to_key",
           "intervals_from_netlink", "intervals_to_netlink"]


@dataclass(frozen=True, slots=True)
class MergeResult:
    """``intervals``: the set's content afterwards, sorted; ``added``: what to send as
    new elements; ``removed``: existing elements to delete (merged into a new one)."""

    intervals: tuple[tuple[int, int], ...]
    added: tuple[tuple[int, int], ...]
    removed: tuple[tuple[int, int], ...]


def _loc(locations, i) -> Location | None:
    if locations is None or i is None or i >= len(locations):
        return None
    return locations[i]


def merge_intervals(new: Sequence[tuple[int, int]], existing: Sequence[tuple[int, int]] = (),
                    *, auto_merge: bool = True,
                    locations: Sequence[Location] | None = None) -> MergeResult:
    """Merge ``new`` into ``existing`` as nft does; raise :class:`EvalError` (located
    at ``locations[i]`` of the offending new interval) where nft refuses."""
    for i, (lo, hi) in enumerate(new):
        if hi < lo:
            raise EvalError(Diagnostic(_loc(locations, i), "Range has zero or negative size"))
    existing = sorted(existing)
    if not auto_merge:
        order = sorted(range(len(new)), key=lambda i: new[i])
        for a, b in zip(order, order[1:]):
            if new[b][0] <= new[a][1]:
                raise EvalError([Diagnostic(_loc(locations, b), "conflicting intervals specified")])
        for i, (lo, hi) in enumerate(new):
            for elo, ehi in existing:
                if lo <= ehi and elo <= hi and (lo, hi) != (elo, ehi):
                    raise EvalError(Diagnostic(_loc(locations, i),
                                               "interval overlaps with an existing one"))
        allv = sorted(set(existing) | {tuple(x) for x in new})
        added = tuple(sorted({tuple(x) for x in new} - set(existing)))
        return MergeResult(tuple(allv), added, ())
    tagged = sorted([(lo, hi, True) for lo, hi in existing] + [(lo, hi, False) for lo, hi in new])
    merged: list[list] = []          # [lo, hi, members]
    for lo, hi, old in tagged:
        if merged and lo <= merged[-1][1] + 1:
            m = merged[-1]
            m[1] = max(m[1], hi)
            m[2].append((lo, hi, old))
        else:
            merged.append([lo, hi, [(lo, hi, old)]])
    added, removed = [], []
    for lo, hi, members in merged:
        olds = [(a, b) for a, b, o in members if o]
        if olds == [(lo, hi)]:
            continue                 # an existing element absorbed only what it covered
        removed += olds
        added.append((lo, hi))
    return MergeResult(tuple((lo, hi) for lo, hi, _ in merged), tuple(added), tuple(removed))


def key_to_int(key: bytes) -> int:
    return int.from_bytes(key, "big")


def int_to_key(v: int, klen: int) -> bytes:
    return v.to_bytes(klen, "big")


def intervals_from_netlink(elems: Sequence[tuple[bytes, int, object]], klen: int):
    """nft's wire form -> ``(start, end_inclusive, data)``.  ``elems`` are
    ``(key, flags, data)`` in key order, an interval being a start element followed
    by an NFT_SET_ELEM_INTERVAL_END element holding ``end + 1``; a start with no end
    after it runs to the largest key (nft omits the end element then)."""
    out = []
    pending = None
    top = (1 << (8 * klen)) - 1
    for key, flags, data in sorted(elems, key=lambda x: (x[0], not (x[1] & 1))):
        if flags & 1:                  # NFT_SET_ELEM_INTERVAL_END
            if pending is not None:
                out.append((pending[0], int_to_key(key_to_int(key) - 1, klen), pending[1]))
                pending = None
            continue
        if pending is not None:        # the previous interval had no end: up to here - 1
            out.append((pending[0], int_to_key(key_to_int(key) - 1, klen), pending[1]))
        pending = (key, data)
    if pending is not None:
        out.append((pending[0], int_to_key(top, klen), pending[1]))
    return out


def intervals_to_netlink(intervals: Sequence[tuple[bytes, bytes, object]], klen: int):
    """``(start, end_inclusive, data)`` -> nft's wire form ``(key, flags, data)``."""
    out = []
    top = (1 << (8 * klen)) - 1
    for start, end, data in sorted(intervals, key=lambda x: x[0]):
        out.append((start, 0, data))
        e = key_to_int(end)
        if e != top:
            out.append((int_to_key(e + 1, klen), 1, None))
    return out


def merge_bounds(lo, hi, *, auto_merge: bool):
    """:func:`merge_intervals`' rules (and ``commands._sets.merge_intervals``') on
    arrays, for new intervals into an empty set: ``lo``/``hi`` are uint64 numpy arrays
    of inclusive bounds (keys below 2**63), in any order.  Returns the set's sorted
    ``(lo, hi, src)`` arrays -- ``src[i]``: the index of an input interval equal to
    output ``i``, or -1 where the output is a new (merged) one -- or None where nft says
    ``conflicting intervals specified``.

    Sorted by ``(lo, hi)``; with ``auto-merge`` an interval joins the run before it when
    it starts at most one past the run's highest end so far (overlapping or touching),
    the run's end being the running maximum; without it equal intervals collapse into
    one and any remaining overlap (``lo[i+1] <= hi[i]``; touching is fine) is refused.
    Example: ``[(1, 2), (3, 4), (6, 8), (7, 10)]`` with auto-merge gives ``(1, 4), (6, 10)``."""
    import numpy as np
    order = np.lexsort((hi, lo))
    lo, hi = lo[order], hi[order]
    if len(lo) == 0:
        return lo, hi, order
    if auto_merge:
        top = np.maximum.accumulate(hi)
        starts = np.flatnonzero(np.concatenate(([True], lo[1:] > top[:-1] + np.uint64(1))))
        mhi = np.maximum.reduceat(hi, starts)
        # the first interval of a run already reaches the run's end: it is the output
        src = np.where(mhi == hi[starts], order[starts], -1)
        return lo[starts], mhi, src
    keep = np.concatenate(([True], (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])))
    lo, hi = lo[keep], hi[keep]
    if (lo[1:] <= hi[:-1]).any():
        return None
    return lo, hi, order[keep]
