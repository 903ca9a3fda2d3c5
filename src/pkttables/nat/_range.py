"""NAT ranges (``struct nf_nat_range2``) and the kernel's address choice within one.

A range says what a manipulation may pick: an address interval (``MAP_IPS``) and a
port/ICMP-id interval (``PROTO_SPECIFIED``), plus flags.  Addresses are packed bytes
(4 for IPv4, 16 for IPv6) and ports plain ints, the kernel's values in our form.

:func:`find_best_ips` is ``find_best_ips_proto`` (net/netfilter/nf_nat_core.c): the
address is chosen by ``jhash2`` of the *source* address, seeded with the last word of
the destination (and the zone), unless ``persistent`` -- then the destination is left
out, so a client keeps its address whatever it talks to.  jhash2 has no secret here,
so the choice is exactly the kernel's, on the same byte order (x86: the words are the
address bytes read little-endian).  Worked example: SNAT ``192.168.1.10 -> 198.51.100.7``
into ``203.0.113.10-203.0.113.20`` picks ``min + (jhash2(src, dst) * 11 >> 32)``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pkttables.vm.hash import jhash
from pkttables.vm.nat import NatFlag

__all__ = ["NatRange", "ManipType", "NatFlag", "RANDOM_ALL", "jhash2", "find_best_ips",
           "addr_in_range", "netmap_address"]

M32 = 0xFFFFFFFF
#: NF_NAT_RANGE_PROTO_RANDOM_ALL
RANDOM_ALL = NatFlag.PROTO_RANDOM | NatFlag.PROTO_RANDOM_FULLY


class ManipType(enum.IntEnum):
    """``enum nf_nat_manip_type``; the same values as nft's ``enum nft_nat_types``."""

    SRC = 0
    DST = 1


def hook_manip(hook: str) -> ManipType:
    """HOOK2MANIP: postrouting and input rewrite the source, the others the destination."""
    return ManipType.SRC if hook in ("postrouting", "input") else ManipType.DST


@dataclass(frozen=True, slots=True)
class NatRange:
    """``struct nf_nat_range2``: ``min_addr``/``max_addr`` packed (or None without
    MAP_IPS), ``min_proto``/``max_proto`` ports or ICMP ids, ``base_proto`` for
    PROTO_OFFSET."""

    flags: NatFlag = NatFlag(0)
    min_addr: bytes | None = None
    max_addr: bytes | None = None
    min_proto: int = 0
    max_proto: int = 0
    base_proto: int = 0

    @classmethod
    def to(cls, addr: bytes | None = None, addr_max: bytes | None = None,
           port: int | None = None, port_max: int | None = None,
           flags: NatFlag = NatFlag(0)) -> "NatRange":
        """A range as a nat statement names it: ``to ADDR[-ADDR][:PORT[-PORT]]``."""
        f = NatFlag(flags)
        if addr is not None:
            f |= NatFlag.MAP_IPS
        if port is not None:
            f |= NatFlag.PROTO_SPECIFIED
        return cls(f, addr, addr_max if addr_max is not None else addr,
                   port or 0, port_max if port_max is not None else (port or 0))


def _words(addr: bytes) -> list[int]:
    """``union nf_inet_addr`` as the u32 words the kernel hashes (16 bytes, zero padded,
    each word read in the memory order of a little-endian CPU)."""
    a = addr.ljust(16, b"\0")
    return [int.from_bytes(a[i:i + 4], "little") for i in range(0, 16, 4)]


def jhash2(k: list[int], initval: int) -> int:
    """include/linux/jhash.h ``jhash2`` (Bob Jenkins' lookup3 ``hashword``).

    The kernel's jhash2 over n u32 words is its jhash over those 4n bytes as they lie
    in memory (same initial state ``JHASH_INITVAL + 4n + initval``, same 12-byte
    blocks, a tail of whole words), so on a little-endian CPU it is
    :func:`pkttables.vm.hash.jhash` of the words written little-endian: one lookup3
    for the VM's ``hash`` instruction and NAT's address choice."""
    return jhash(b"".join((w & M32).to_bytes(4, "little") for w in k), initval)


def find_best_ips(src: bytes, dst: bytes, rng: NatRange, zone: int = 0) -> bytes:
    """find_best_ips_proto(): the address in ``rng`` for a connection ``src -> dst``."""
    lo, hi = rng.min_addr, rng.max_addr
    if lo == hi:
        return lo
    n = len(lo) // 4
    last = n - 1
    dwords = _words(dst)
    persistent = bool(rng.flags & NatFlag.PERSISTENT)
    j = jhash2(_words(src), 0 if persistent else (dwords[last] ^ zone) & M32)
    out = bytearray()
    full = False
    for i in range(n):
        if not full:
            minip = int.from_bytes(lo[4 * i:4 * i + 4], "big")
            maxip = int.from_bytes(hi[4 * i:4 * i + 4], "big")
            dist = (maxip - minip + 1) & M32
        else:
            minip, dist = 0, M32
        word = ((minip + ((j * dist) >> 32)) & M32).to_bytes(4, "big")
        out += word
        if word != hi[4 * i:4 * i + 4]:
            full = True
        if not persistent:
            j ^= dwords[i]
    return bytes(out)


def addr_in_range(addr: bytes, rng: NatRange) -> bool:
    """nf_nat_inet_in_range(): addresses compare as big-endian numbers."""
    return rng.min_addr <= addr <= rng.max_addr


def netmap_address(addr: bytes, rng: NatRange) -> bytes:
    """nft_nat_setup_netmap(): keep the host part of ``addr`` under the bits in which
    ``min_addr`` and ``max_addr`` differ, take the rest from ``min_addr``."""
    out = bytearray(addr)
    for i in range(len(addr)):
        mask = ~(rng.min_addr[i] ^ rng.max_addr[i]) & 0xFF
        out[i] = (addr[i] & ~mask & 0xFF) | (rng.min_addr[i] & mask)
    return bytes(out)
