"""Concatenations with ranges: the PIle PAcket POlicies algorithm of nft_set_pipapo.

Problem
-------
An element of ``ipv4_addr . inet_service`` with ``flags interval`` is a box: one range
per field (``10.0.0.0/8 . 10-20``).  A lookup gets a point (the register bytes: each
field padded to 4 bytes) and must answer the first box that contains it.

Algorithm (the kernel's idea, written anew here)
------------------------------------------------
1. Every field range is split into prefixes (netmasks), the way a range becomes CIDR
   blocks: ``10-20`` over 16 bits is ``10/15, 12/14, 16/14, 20/16``.
2. A field of ``b`` bits is cut into ``b/4`` groups of 4 bits.  Each group has a
   lookup table of 16 buckets; bucket ``v`` holds a bitmap of the rules whose prefix
   accepts nibble ``v`` in that group (one bucket if the prefix covers the whole
   group, all 16 past the prefix, a run of buckets where the prefix ends inside it).
3. A lookup ANDs, for each group, the bucket its nibble selects: what survives is
   the set of rules of that field matching the point.  Fields are intersected in turn,
   so a box matches only if all of its fields do.

Worked example: one element ``10.0.0.0/8 . 22`` is rule 0.  Field 0's groups are the
nibbles of 10.0.0.0: group 0 (``0``) and group 1 (``a``) have bit 0 only in buckets
0 and 10; groups 2-7 are past the prefix, so every bucket has bit 0.  Field 1 (22 =
``0x0016``) has bit 0 in buckets 0, 0, 1, 6 of its four groups.  The packet
10.1.2.3 . 22 selects buckets 0, a, 0, 1, 0, 2, 0, 3 | 0, 0, 1, 6: all have bit 0,
the AND is 1, element 0 matches.

Where this differs from the kernel (same answers, different bookkeeping): the kernel
keeps rules per field and *mapping tables* from each rule to the rules of the next
field that belong to the same element.  Here a bit stands for an element, and an
element whose range in a field needs several prefixes puts prefix ``j`` in *layer*
``j`` of that field; a field's match is the OR of its layers.  Elements keep the
order in which they were inserted, and the answer is the lowest matching bit that is
not expired -- the kernel answers the lowest rule index (``ffs`` over the final
bitmap) and skips expired elements (``goto next_match``), and its rules are appended
in insertion order, so both pick the oldest live matching element when boxes overlap.

Bitmaps are Python ints (C loops over 30-bit digits), so a lookup costs
``groups x layers`` ANDs of ``n``-bit ints: like the kernel, linear in the words of the
bitmap with a tiny constant.  Deleting leaves a hole; holes are compacted away when
they are more than half of the slots.

Clash rules (nft_pipapo_insert): the new box's start point inside a live element is
EEXIST if both start and end are equal, else ENOTEMPTY; the end point inside one is
ENOTEMPTY.  A box that strictly encloses an existing one is *not* detected (checked
with nft 1.0.6 on Linux 6.18: ``0.0.0.0/0 . 0-65535`` is accepted next to
``10.0.0.0/8 . 10-20``).

References: net/netfilter/nft_set_pipapo.c (theory of operation), Stefano Brivio's
"nftables set with arbitrary concatenation of ranges" (2020); Ligatti, Rigsby,
Spencer, "PIle PAcket POlicies" (the bitmap-per-field idea).
"""

from __future__ import annotations

from pkttables.sets._common import Elem

__all__ = ["PipapoBackend", "range_to_prefixes"]

GROUP_BITS = 4
BUCKETS = 1 << GROUP_BITS


def range_to_prefixes(lo: int, hi: int, bits: int) -> list[tuple[int, int]]:
    """Split ``[lo, hi]`` over ``bits`` bits into (value, prefix length) netmasks."""
    out = []
    while lo <= hi:
        # the largest aligned block starting at lo that does not pass hi
        size = lo & -lo if lo else 1 << bits
        while lo + size - 1 > hi:
            size >>= 1
        out.append((lo, bits - size.bit_length() + 1))
        lo += size
    return out


def _buckets(value: int, plen: int, bits: int, g: int) -> range:
    """Buckets of group ``g`` (0 = most significant nibble) that prefix accepts."""
    lo_bit = GROUP_BITS * g               # first bit of the group, counted from the MSB
    nib = (value >> (bits - lo_bit - GROUP_BITS)) & (BUCKETS - 1)
    fixed = plen - lo_bit                  # bits of this group the prefix fixes
    if fixed >= GROUP_BITS:
        return range(nib, nib + 1)
    if fixed <= 0:
        return range(BUCKETS)
    span = 1 << (GROUP_BITS - fixed)
    base = nib & ~(span - 1)
    return range(base, base + span)


class PipapoBackend:
    kind = "pipapo"
    interval = True

    def __init__(self, spec):
        self._fields = spec.fields                  # unpadded byte lengths
        self._offs = []
        off = 0
        for flen in spec.padded_fields():
            self._offs.append(off)
            off += flen
        self._bits = [8 * f for f in self._fields]
        self._ngroups = [b // GROUP_BITS for b in self._bits]
        self._reset()

    def _reset(self) -> None:
        # _layers[f][j][g][bucket] -> int bitmap over element slots
        self._layers: list[list[list[list[int]]]] = [[] for _ in self._fields]
        self._slots: list[Elem | None] = []
        self._slot_of: dict[int, int] = {}          # id(elem) -> slot
        self._holes = 0

    # ------------------------------------------------------------------ helpers

    def _field_values(self, key: bytes) -> list[int]:
        return [int.from_bytes(key[o:o + n], "big") for o, n in zip(self._offs, self._fields)]

    def _expand(self, e: Elem) -> list[list[tuple[int, int]]]:
        los = self._field_values(e.key)
        his = self._field_values(e.end)
        return [range_to_prefixes(lo, hi, b) for lo, hi, b in zip(los, his, self._bits)]

    def _layer(self, f: int, j: int) -> list[list[int]]:
        layers = self._layers[f]
        while len(layers) <= j:
            layers.append([[0] * BUCKETS for _ in range(self._ngroups[f])])
        return layers[j]

    # ------------------------------------------------------------------ lookup

    def _matches(self, key: bytes) -> int:
        ans = -1
        for f, layers in enumerate(self._layers):
            o, n = self._offs[f], self._fields[f]
            v = int.from_bytes(key[o:o + n], "big")
            ng = self._ngroups[f]
            nibs = [(v >> (GROUP_BITS * (ng - 1 - g))) & 0xF for g in range(ng)]
            ef = 0
            for layer in layers:
                r = ans
                for g in range(ng):
                    r &= layer[g][nibs[g]]
                    if not r:
                        break
                ef |= r
            ans &= ef
            if not ans:
                return 0
        return ans if ans != -1 else 0

    def lookup(self, key: bytes, now_ns: int) -> Elem | None:
        ans = self._matches(key)
        slots = self._slots
        while ans:
            low = ans & -ans
            e = slots[low.bit_length() - 1]
            if e.expiration is None or now_ns < e.expiration:
                return e
            ans ^= low
        return None

    def _all_matches(self, key: bytes) -> list[Elem]:
        ans = self._matches(key)
        out = []
        while ans:
            low = ans & -ans
            out.append(self._slots[low.bit_length() - 1])
            ans ^= low
        return out

    def get(self, key: bytes, key_end: bytes | None = None) -> Elem | None:
        end = key if key_end is None else key_end
        for e in self._all_matches(key):
            if e.key == key and e.end == end:
                return e
        return None

    def clashes(self, key: bytes, end: bytes, now_ns: int) -> list[Elem]:
        """Elements containing the start point, then those containing the end point."""
        out = self._all_matches(key)
        seen = {id(e) for e in out}
        out += [e for e in self._all_matches(end) if id(e) not in seen]
        return out

    # ------------------------------------------------------------------ updates

    def add(self, e: Elem) -> None:
        slot = len(self._slots)
        self._slots.append(e)
        self._slot_of[id(e)] = slot
        bit = 1 << slot
        for f, prefixes in enumerate(self._expand(e)):
            for j, (value, plen) in enumerate(prefixes):
                layer = self._layer(f, j)
                for g in range(self._ngroups[f]):
                    tab = layer[g]
                    for b in _buckets(value, plen, self._bits[f], g):
                        tab[b] |= bit

    def remove(self, e: Elem) -> None:
        slot = self._slot_of.pop(id(e), None)
        if slot is None:
            return
        bit = 1 << slot
        for f, prefixes in enumerate(self._expand(e)):
            for j, (value, plen) in enumerate(prefixes):
                layer = self._layers[f][j]
                for g in range(self._ngroups[f]):
                    tab = layer[g]
                    for b in _buckets(value, plen, self._bits[f], g):
                        tab[b] ^= bit
        self._slots[slot] = None
        self._holes += 1
        if self._holes > 64 and self._holes * 2 > len(self._slots):
            live = [x for x in self._slots if x is not None]
            self._reset()
            self.bulk_load(live)

    def bulk_load(self, elems) -> None:
        """Append many elements at once: bitmaps built as bytes, then made ints once."""
        elems = list(elems)
        if not elems:
            return
        base = len(self._slots)
        total = base + len(elems)
        nbytes = (total + 7) // 8
        # existing ints -> bytearrays, set the new bits, back to ints
        work: dict[tuple[int, int, int, int], bytearray] = {}

        def buf(f, j, g, b):
            k = (f, j, g, b)
            ba = work.get(k)
            if ba is None:
                ba = bytearray(self._layer(f, j)[g][b].to_bytes(nbytes, "little"))
                work[k] = ba
            return ba

        for i, e in enumerate(elems):
            slot = base + i
            self._slots.append(e)
            self._slot_of[id(e)] = slot
            byte, mask = slot >> 3, 1 << (slot & 7)
            for f, prefixes in enumerate(self._expand(e)):
                bits = self._bits[f]
                for j, (value, plen) in enumerate(prefixes):
                    for g in range(self._ngroups[f]):
                        for b in _buckets(value, plen, bits, g):
                            buf(f, j, g, b)[byte] |= mask
        for (f, j, g, b), ba in work.items():
            self._layers[f][j][g][b] = int.from_bytes(ba, "little")

    def __iter__(self):
        return iter([e for e in self._slots if e is not None])

    def __len__(self) -> int:
        return len(self._slots) - self._holes
