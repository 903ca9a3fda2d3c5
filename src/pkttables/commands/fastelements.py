"""Keys of a bulk element list (``lang/elements_fast.py``) in one pass.

Theory of operation
-------------------
``build_elements`` evaluates each element of a set with evaluate's constant parser:
an AST node in, typed nodes out, then their register bytes.  For a plain list of a
single-key ``ipv4_addr`` set (no map data, no options) the answer depends only on the
item's text, so here the list is converted without any per-element node:

1. the span's text, blanks removed, is split at ``,`` ``/`` ``-`` (C string methods),
   and the separators alone (the text with digits and dots deleted) say what each
   piece is: an item's first value (after ``,``), a prefix length (after ``/``) or a
   range's upper bound (after ``-``);
2. every address goes through ``socket.inet_pton(AF_INET)``, which accepts exactly
   the canonical dotted quads evaluate's ``_IPV4_RE`` accepts (no leading zeros, octets
   <= 255) and returns the key bytes;
3. prefixes and ranges become ``(low, high)`` with numpy on the whole array
   (``low = addr & ~host``, ``high = addr | host``, as ``_ipv4_bulk``/nft's
   ``range_expr_value_low/high``).

Anything else -- a number, a symbol, a prefix length over 32, a descending range, a
range in a set without ``flags interval`` -- returns None, and the caller takes the
normal path over the (then materialised) AST, which gives the exact error or value.

A plain set then keeps each key once (:func:`unique_new`: ``numpy.unique`` instead of
the executor's per-element loop).  Interval sets need nft's segtree (``sets/segtree.py``: :func:`merge_bounds`, the
array form of ``commands._sets.merge_intervals``), run on the arrays kept on the
returned list (:class:`ElementList`) rather than on a million sorted tuples.
"""

from __future__ import annotations

import socket

import numpy as np

from pkttables.model import Element

__all__ = ["ElementList", "bulk_elements", "ipv4_elements", "merge_new", "unique_new"]

_SEPS_ONLY = str.maketrans("", "", "0123456789.")
_COMMA, _SLASH, _DASH = ord(","), ord("/"), ord("-")


class ElementList(list):
    """The new elements, plus their bounds as arrays (``lo``/``hi``: uint64, in list
    order; ``width``: key bytes) for the interval merge."""

    __slots__ = ("lo", "hi", "width")


def _quads(texts) -> np.ndarray | None:
    """Dotted quads -> uint64 array; None when one is not a canonical quad."""
    pton, af = socket.inet_pton, socket.AF_INET
    try:
        blob = b"".join([pton(af, t) for t in texts])
    except OSError:
        return None
    return np.frombuffer(blob, dtype=">u4").astype(np.uint64)


def _numbers(texts, bits: int) -> np.ndarray | None:
    """Decimal numbers (the scanner's: no leading zero) -> uint64 array; None when one
    is not a number below 2**bits."""
    try:
        a = np.array([int(t) for t in texts], dtype=np.uint64)
    except (ValueError, OverflowError):
        return None
    if len(a) and int(a.max()) >> bits:
        return None
    return a


_DTYPES = {4: ">u4", 2: ">u2"}


def _keys(a: np.ndarray, width: int = 4) -> list[bytes]:
    b = a.astype(_DTYPES[width]).tobytes()
    return [b[i:i + width] for i in range(0, len(b), width)]


def bulk_elements(bulk, klhs, interval: bool, set_stmts: tuple) -> list | None:
    """The elements ``build_elements`` would give for ``bulk`` (a BulkElements) in a
    single-key set without data whose key is ``klhs`` (evaluate's ``_Lhs``), or None to
    take the normal path: big-endian ``ipv4_addr`` (32 bits) and ``inet_service``
    (16 bits; numbers and ranges, a prefix takes the normal path)."""
    from pkttables.proto import ByteOrder
    x = klhs.expr
    if klhs.shift or x.byteorder is not ByteOrder.BIG:
        return None
    name = klhs.dtype.name
    if name == "ipv4_addr" and x.len_bits == 32:
        return _elements(bulk, interval, set_stmts, _quads, 4)
    if name == "inet_service" and x.len_bits == 16:
        return _elements(bulk, interval, set_stmts, lambda t: _numbers(t, 16), 2)
    return None


def ipv4_elements(bulk, interval: bool, set_stmts: tuple) -> list | None:
    """:func:`bulk_elements` for a big-endian ``ipv4_addr`` key."""
    return _elements(bulk, interval, set_stmts, _quads, 4)


def _elements(bulk, interval: bool, set_stmts: tuple, conv, width: int) -> list | None:
    t = bulk.compact()
    if not t:
        return None
    seps = t.translate(_SEPS_ONLY)
    if not interval:
        if seps.count(",") != len(seps):
            return None                     # a prefix or range: the normal path decides
        lo = conv(t.split(","))
        if lo is None:
            return None
        out = ElementList([Element(k, None, None, None, None, set_stmts, None) for k in _keys(lo, width)])
        out.lo, out.hi, out.width = lo, lo, width
        return out
    toks = t.replace("/", ",").replace("-", ",").split(",")
    sep = np.frombuffer(seps.encode("ascii"), dtype=np.uint8)
    # kind of each piece: what precedes it (the first piece starts an item)
    prev = np.concatenate((np.array([_COMMA], dtype=np.uint8), sep))
    starts = np.flatnonzero(prev == _COMMA)
    nxt = starts + 1
    has_next = nxt < len(toks)
    follow = np.full(len(starts), _COMMA, dtype=np.uint8)
    follow[has_next] = prev[nxt[has_next]]
    # a piece after a bound would be `a-b-c` or `a/8-b`: not in the scanner's grammar
    tok_arr = np.array(toks, dtype=object)
    lo = conv(tok_arr[starts].tolist())
    if lo is None:
        return None
    hi = lo.copy()
    is_pfx = follow == _SLASH
    if is_pfx.any():
        if width != 4:
            return None
        try:
            plen = np.array([int(x) for x in tok_arr[nxt[is_pfx]].tolist()], dtype=np.int64)
        except ValueError:
            return None
        if (plen < 0).any() or (plen > 32).any():
            return None
        host = (np.uint64(1) << (32 - plen).astype(np.uint64)) - np.uint64(1)
        a = lo[is_pfx]
        lo[is_pfx] = a & ~host & np.uint64(0xFFFFFFFF)
        hi[is_pfx] = a | host
    is_rng = follow == _DASH
    if is_rng.any():
        b = conv(tok_arr[nxt[is_rng]].tolist())
        if b is None or (b < lo[is_rng]).any():
            return None                     # a descending range: the normal path decides
        hi[is_rng] = b
    out = ElementList(Element(k, None, None, None, None, set_stmts, e)
                      for k, e in zip(_keys(lo, width), _keys(hi, width)))
    out.lo, out.hi, out.width = lo, hi, width
    return out


def merge_new(s, new: ElementList, loc) -> list[Element] | None:
    """``merge_intervals(s, new, loc)`` for a set with no elements yet and ``new`` from
    :func:`ipv4_elements` (all alike but their keys); None when it does not apply or
    nft refuses the list (the caller's normal merge then raises the error)."""
    from pkttables.sets.segtree import merge_bounds
    if s.elements or not isinstance(new, ElementList) or not new:
        return None
    r = merge_bounds(new.lo, new.hi, auto_merge=bool(s.auto_merge) and not s.is_map)
    if r is None:
        return None     # an overlap: the normal merge reports it, in its own words and place
    lo, hi, src = r
    e, w = new[0], new.width
    if (src >= 0).all():
        # nothing merged: the new elements themselves, as the non-interval path keeps them
        return [new[i] for i in src.tolist()]
    return [new[i] if i >= 0 else Element(a, e.data, e.timeout, e.expires, e.comment, e.stmts, b, e.flags)
            for i, a, b in zip(src.tolist(), _keys(lo, w), _keys(hi, w))]


def unique_new(s, new, create: bool) -> list[Element] | None:
    """What ``_add_elements``' loop leaves in an empty non-interval set ``s`` after
    adding ``new`` (from :func:`ipv4_elements`): each key once, at its first place,
    its first element.  None when it does not apply: the set has elements, a size
    (ENFILE is reported under the element over the limit), or this is ``create``
    (EEXIST on a duplicate) -- the loop then decides."""
    if s.elements or s.size or create or not isinstance(new, ElementList) or not new:
        return None
    _, first = np.unique(new.lo, return_index=True)
    if len(first) == len(new):
        return list(new)
    return [new[i] for i in np.sort(first).tolist()]
