"""Set benchmarks for ``pkt bench``: :func:`run` (entry point) and :func:`bench_kind`.

For each kind of set (hash ``ipv4_addr``, bitmap ``inet_service``, rbtree
``ipv4_addr`` ranges, pipapo ``ipv4_addr . inet_service`` boxes) and each size
(1k, 100k, 1M elements by default) it measures:

* ``build_s``: :meth:`SetInstance.load` of all the elements;
* ``bytes_per_elem``: tracemalloc's peak during the build, per element;
* ``lookup_ns``: mean cost of one ``lookup`` over a fixed batch of keys (half
  present, half absent);
* ``add_ns``/``delete_ns``: one element added to, then deleted from, the full set.

Bitmap sets cannot hold more than 65536 keys: their sizes are capped there.
Everything is deterministic (seeded) and needs no root.
"""

from __future__ import annotations

import gc
import random
import time
import tracemalloc
from typing import Iterable

from pkttables.sets import SetFlags, SetInstance, SetSpec

__all__ = ["run", "bench_kind", "KINDS", "DEFAULT_SIZES"]

DEFAULT_SIZES = (1_000, 100_000, 1_000_000)
KINDS = ("hash", "bitmap", "rbtree", "pipapo")
LOOKUPS = 20_000
#: pipapo's bulk build is pure Python (~160 us per element measured at 100k, and about
#: 540 bytes per element at peak): 1M elements would take minutes, so a plain run stops
#: pipapo at this size unless ``pipapo_max`` is raised.
PIPAPO_MAX = 100_000


def _spec(kind: str) -> SetSpec:
    if kind == "hash":
        return SetSpec(4, name="h")
    if kind == "bitmap":
        return SetSpec(2, name="b")
    if kind == "rbtree":
        return SetSpec(4, flags=SetFlags.INTERVAL, name="r")
    return SetSpec(8, (4, 2), flags=SetFlags.INTERVAL | SetFlags.CONCAT, name="p")


def _elements(kind: str, n: int, rng: random.Random) -> list[tuple]:
    if kind == "bitmap":
        return [(k.to_bytes(2, "big"), None, None) for k in rng.sample(range(65536), n)]
    if kind == "hash":
        return [(k.to_bytes(4, "big"), None, None) for k in rng.sample(range(1 << 32), n)]
    if kind == "rbtree":
        # n disjoint ranges of 1..256 addresses
        starts = sorted(rng.sample(range(0, 1 << 32, 512), n))
        return [(s.to_bytes(4, "big"), (s + rng.randrange(256)).to_bytes(4, "big"), None) for s in starts]
    # pipapo: distinct /24 networks with a port range each
    nets = rng.sample(range(1 << 24), n)
    out = []
    for net in nets:
        lo = rng.randrange(1, 60000)
        hi = lo + rng.randrange(0, 100)
        out.append(((net << 8).to_bytes(4, "big") + lo.to_bytes(2, "big") + b"\0\0",
                    ((net << 8) | 255).to_bytes(4, "big") + hi.to_bytes(2, "big") + b"\0\0", None))
    return out


def _probe_keys(kind: str, elems: list[tuple], rng: random.Random, count: int) -> list[bytes]:
    klen = len(elems[0][0])
    keys = []
    for i in range(count):
        if i % 2 == 0:
            lo, hi, _ = elems[rng.randrange(len(elems))]
            keys.append(lo if hi is None else (lo if i % 4 == 0 else hi))
        else:
            keys.append(rng.getrandbits(8 * klen).to_bytes(klen, "big"))
    return keys


def bench_kind(kind: str, n: int, seed: int = 1, lookups: int = LOOKUPS) -> dict:
    """Measure one kind at one size; returns a dict of figures."""
    if kind == "bitmap":
        n = min(n, 65535)            # leave one key free for the add/delete figure
    rng = random.Random(seed)
    elems = _elements(kind, n, rng)
    spare = []
    if kind in ("hash", "bitmap"):
        have = {e[0] for e in elems}
        klen = len(elems[0][0])
        spare = [next(k for k in (i.to_bytes(klen, "big") for i in range(1 << 16)) if k not in have)]
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    s = SetInstance(_spec(kind))
    s.load(elems)
    build = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    keys = _probe_keys(kind, elems, rng, lookups)
    lookup = s.lookup
    t0 = time.perf_counter()
    for k in keys:
        lookup(k)
    lookup_ns = (time.perf_counter() - t0) / len(keys) * 1e9
    # one more element into the full set, then out again
    if kind == "rbtree":
        top = max(int.from_bytes(e[1], "big") for e in elems) + 2
        new = (top.to_bytes(4, "big"), (top + 10).to_bytes(4, "big"))
    elif kind == "pipapo":
        new = (b"\xff\xff\xff\x00\x00\x01\x00\x00", b"\xff\xff\xff\xff\x00\x02\x00\x00")
    else:
        new = (spare[0], None)
    add_ns = delete_ns = None
    if new is not None:
        t0 = time.perf_counter()
        s.add(*new)
        add_ns = (time.perf_counter() - t0) * 1e9
        t0 = time.perf_counter()
        s.delete(*new)
        delete_ns = (time.perf_counter() - t0) * 1e9
    return {"kind": kind, "backend": s.kind, "elements": n, "build_s": build,
            "bytes_per_elem": peak / max(n, 1), "lookup_ns": lookup_ns,
            "add_ns": add_ns, "delete_ns": delete_ns}


def run(sizes: Iterable[int] = DEFAULT_SIZES, kinds: Iterable[str] = KINDS, seed: int = 1,
        lookups: int = LOOKUPS, pipapo_max: int = PIPAPO_MAX) -> list[dict]:
    """The ``pkt bench`` entry point: one result dict per (kind, size), plus for each
    kind ``lookup_ratio`` = lookup cost at this size / at the smallest size."""
    sizes = tuple(sizes)
    out = []
    for kind in kinds:
        ks = sizes if kind != "pipapo" else tuple(n for n in sizes if n <= pipapo_max) or sizes[:1]
        rows = [bench_kind(kind, n, seed, lookups) for n in ks]
        base = rows[0]["lookup_ns"]
        for r in rows:
            r["lookup_ratio"] = r["lookup_ns"] / base if base else None
        out += rows
    return out


def format_table(rows: list[dict]) -> str:
    lines = [f"{'kind':8} {'backend':7} {'elements':>9} {'build s':>8} {'B/elem':>7} "
             f"{'lookup ns':>10} {'x small':>7} {'add us':>8} {'del us':>8}"]
    for r in rows:
        add = "-" if r["add_ns"] is None else f"{r['add_ns'] / 1e3:8.1f}"
        dele = "-" if r["delete_ns"] is None else f"{r['delete_ns'] / 1e3:8.1f}"
        lines.append(f"{r['kind']:8} {r['backend']:7} {r['elements']:>9} {r['build_s']:8.3f} "
                     f"{r['bytes_per_elem']:7.0f} {r['lookup_ns']:10.0f} {r['lookup_ratio']:7.2f} "
                     f"{add:>8} {dele:>8}")
    return "\n".join(lines)


if __name__ == "__main__":   # python -m pkttables.sets.bench [sizes...]
    import sys
    sizes = tuple(int(a) for a in sys.argv[1:]) or DEFAULT_SIZES
    print(format_table(run(sizes)))
