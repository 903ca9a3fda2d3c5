"""Set benchmarks for ``pkt bench``: :func:`run` (entry point) and :func:`bench_kind`.

For each kind of set (hash ``ipv4_addr``, bitmap ``inet_service``, rbtree
``ipv4_addr`` ranges, pipapo ``ipv4_addr . inet_service`` boxes) and each size
(1k, 100k, 1M elements by default) it measures:

* ``build_s``: :meth:`SetInstance.load` of all the elements;
* ``bytes_per_elem``: the growth of the process's resident memory (``VmRSS``) across
  the build, per element: rough (0 for small sets that fit in memory the process
  already had).  Not tracemalloc: a set built under tracemalloc has its objects
  interleaved with tracemalloc's own records, and lookups in it then cost 2-3x more
  at 1M (hash: 532 against 195 ns, measured in one run) -- the bench measured that
  artifact until the layout work of issue 5;
* ``lookup_ns``: mean cost of one ``lookup`` over a fixed batch of keys (half
  present, half absent);
* ``add_ns``/``delete_ns``: one element added to, then deleted from, the full set;
* ``lookup_ratio``: lookup cost at this size / at the smallest size, both measured
  in alternation (``ROUNDS`` rounds, best of each), so that load from other
  processes hits both alike;
* ``hot_ratio``: the same ratio when the big set is probed with only ``HOT`` distinct
  keys (they stay in the CPU caches).  ``lookup_ratio`` well above ``hot_ratio`` means
  the growth is cache and TLB misses of a large heap, not the algorithm.

Bitmap sets cannot hold more than 65536 keys: their sizes are capped there.
Everything is deterministic (seeded) and needs no root.

Beside the kernel (``kernel=True``, or ``None``: when root and ``nft`` are there), the
same elements are loaded into the real kernel in the same run: one ruleset file with
the set declaration and its elements (``add element`` commands of 10000 elements, one
transaction) goes through ``nft -f`` in a network namespace of its own
(``pktsetsk<pid>``, deleted afterwards).  Extra row keys:

* ``kernel_load_s``: wall time of that ``nft -f`` (nft's parsing and evaluation,
  netlink, the kernel's inserts);
* ``kernel_bytes_per_elem``: the growth of ``Slab:`` in ``/proc/meminfo`` across the
  load, per element (the set's elements live in kmalloc slabs).  Other processes
  allocate too, so it is a rough figure; None when the growth is not positive;
* ``load_ratio``: ``build_s / kernel_load_s`` (pkttables' bulk build against nft + the
  kernel; above 1 means pkttables is slower).
* ``kernel_error``: nft's message when the kernel refused or ``nft`` timed out.
"""

from __future__ import annotations

import gc
import ipaddress
import os
import random
import shutil
import subprocess
import tempfile
import time
from typing import Iterable

from pkttables.sets import SetFlags, SetInstance, SetSpec

__all__ = ["run", "bench_kind", "packet_ratio", "KINDS", "DEFAULT_SIZES"]

DEFAULT_SIZES = (100, 1_000, 100_000, 1_000_000)
KINDS = ("hash", "bitmap", "rbtree", "pipapo")
LOOKUPS = 20_000
#: pipapo's build is numpy + one Python pass (about 20 s at 1M on the shared VM).
PIPAPO_MAX = 1_000_000
ROUNDS = 5
HOT = 64


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
        return [(k.to_bytes(2, "big"), None, None) for k in rng.sample(range(65536), min(n, 65535))]
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
    """Half present keys, half random ones; each a fresh ``bytes`` object, as a packet's
    key read from the registers is (reusing the stored key objects would let the dict
    or set compare by identity and read the probe list's keys out of the set's heap)."""
    klen = len(elems[0][0])
    keys = []
    for i in range(count):
        if i % 2 == 0:
            lo, hi, _ = elems[rng.randrange(len(elems))]
            k = lo if hi is None else (lo if i % 4 == 0 else hi)
            keys.append(bytes(bytearray(k)))
        else:
            keys.append(rng.getrandbits(8 * klen).to_bytes(klen, "big"))
    return keys


def bench_kind(kind: str, n: int, seed: int = 1, lookups: int = LOOKUPS) -> dict:
    """Measure one kind at one size; returns a dict of figures."""
    return _bench_one(kind, n, seed, lookups)[0]


def _bench_one(kind: str, n: int, seed: int, lookups: int) -> tuple[dict, SetInstance, list]:
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
    rss0 = _rss()
    t0 = time.perf_counter()
    s = SetInstance(_spec(kind))
    s.load(elems)
    build = time.perf_counter() - t0
    peak = max(_rss() - rss0, 0)
    keys = _probe_keys(kind, elems, rng, lookups)
    lookup_ns = _best_ns(s.lookup, keys, 3)
    match_ns = _best_ns(lambda k: s.match(k, 0.0, 64), keys, 3)
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
    return ({"kind": kind, "backend": s.kind, "elements": n, "build_s": build,
             "bytes_per_elem": peak / max(n, 1), "lookup_ns": lookup_ns, "match_ns": match_ns,
             "add_ns": add_ns, "delete_ns": delete_ns}, s, keys)


def _rss() -> int:
    """Resident memory of this process in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _best_ns(fn, keys, rounds: int = 1) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for k in keys:
            fn(k)
        best = min(best, time.perf_counter() - t0)
    return best / len(keys) * 1e9


def _ratios(small: SetInstance, small_keys, big: SetInstance, big_keys, rounds: int) -> tuple:
    """Alternate small and big (best of ``rounds`` each); then the big set with few keys."""
    a = b = float("inf")
    for _ in range(rounds):
        a = min(a, _best_ns(small.lookup, small_keys))
        b = min(b, _best_ns(big.lookup, big_keys))
    hot_keys = (big_keys[:HOT] * (len(big_keys) // HOT + 1))[:len(big_keys)]
    h = float("inf")
    for _ in range(rounds):
        h = min(h, _best_ns(big.lookup, hot_keys))
    return b / a, h / a


def run(sizes: Iterable[int] = DEFAULT_SIZES, kinds: Iterable[str] = KINDS, seed: int = 1,
        lookups: int = LOOKUPS, pipapo_max: int = PIPAPO_MAX, rounds: int = ROUNDS,
        kernel: bool | None = None) -> list[dict]:
    """The ``pkt bench`` entry point: one result dict per (kind, size), with
    ``lookup_ratio`` and ``hot_ratio`` against the smallest size, and with ``kernel``
    (None: when available) the kernel's ``nft -f`` load of the same elements (see the
    module doc)."""
    sizes = tuple(sizes)
    if kernel is None:
        kernel = kernel_available()
    out = []
    for kind in kinds:
        ks = sizes if kind != "pipapo" else tuple(n for n in sizes if n <= pipapo_max) or sizes[:1]
        small = None
        for n in ks:
            r, s, keys = _bench_one(kind, n, seed, lookups)
            if small is None:
                small = (s, keys)
                r["lookup_ratio"], r["hot_ratio"] = 1.0, 1.0
            else:
                r["lookup_ratio"], r["hot_ratio"] = _ratios(small[0], small[1], s, keys, rounds)
            if kernel:
                del s
                gc.collect()
                r.update(kernel_load(kind, _elements(kind, r["elements"], random.Random(seed))))
                if r.get("kernel_load_s"):
                    r["load_ratio"] = r["build_s"] / r["kernel_load_s"]
                s = None
            out.append(r)
            del s
    return out


# ------------------------------------------------------------------ one packet through a rule
_RULE = {
    "hash": "set s { type ipv4_addr; }",
    "rbtree": "set s { type ipv4_addr; flags interval; }",
}


def packet_ratio(kind: str = "hash", small: int = 100, big: int = 1_000_000, seed: int = 1,
                 packets: int = 2000, rounds: int = ROUNDS) -> dict:
    """The per-packet view: one IPv4 packet through ``ip saddr @s accept`` in an input
    chain with policy drop (the vm path: ``ChainRuntime.run_hook``, the reference
    interpreter), with ``s`` holding ``small`` and ``big`` elements, measured in
    alternation (best of ``rounds``).  Half the packets come from an address in the
    set.  Returns ``small_ns``, ``big_ns`` (per packet) and ``ratio`` = big / small:
    beside the bare lookup ratio, it says how much of a packet's cost the set is."""
    from pkttables.commands import run_text
    from pkttables.model import Ruleset
    from pkttables.packet import Packet
    from pkttables.packet.packet import LinkType
    from pkttables.sets import instances_from_model
    from pkttables.testing import packets as P
    from pkttables.vm.chain import LoadedRuleset
    from pkttables.vm.stateful_impl import ChainRuntime

    text = (f"table ip t {{\n {_RULE[kind]}\n chain input {{ type filter hook input priority 0;"
            " policy drop;\n  ip saddr @s accept\n }\n}\n")
    runs = []
    for n in (small, big):
        rs = run_text(text, Ruleset()).ruleset
        sets = instances_from_model(rs)
        rng = random.Random(seed)
        elems = _elements(kind, n, rng)
        sets[("ip", "t", "s")].load(elems)
        keys = _probe_keys(kind, elems, rng, packets)
        pkts = [Packet(P.ipv4(_ip(k), "10.0.0.2", P.udp(1234, 53)), LinkType.RAW, iif="eth0")
                for k in keys]
        rt = ChainRuntime(LoadedRuleset(rs, sets=sets))
        want = [sets[("ip", "t", "s")].lookup(k)[0] for k in keys]
        got = [int(rt.run_hook("ip", "input", p).verdict) == 1 for p in pkts]
        assert got == want, "the rule does not give the set's answers"
        runs.append((rt, pkts))
    best = [float("inf")] * 2
    for _ in range(rounds):
        for j, (rt, pkts) in enumerate(runs):
            best[j] = min(best[j], _best_ns(lambda p: rt.run_hook("ip", "input", p), pkts))
    return {"kind": kind, "small": small, "big": big, "small_ns": best[0], "big_ns": best[1],
            "ratio": best[1] / best[0]}


# ------------------------------------------------------------------ the kernel beside
_DECL = {
    "hash": "type ipv4_addr; size 4194304;",
    "bitmap": "type inet_service;",
    "rbtree": "type ipv4_addr; flags interval;",
    "pipapo": "type ipv4_addr . inet_service; flags interval;",
}
CHUNK = 10_000
KERNEL_TIMEOUT = 600.0


def _ip(b: bytes) -> str:
    return str(ipaddress.IPv4Address(b[:4]))


def _elem_text(kind: str, e: tuple) -> str:
    lo, hi, _ = e
    if kind == "hash":
        return _ip(lo)
    if kind == "bitmap":
        return str(int.from_bytes(lo, "big"))
    if kind == "rbtree":
        return _ip(lo) if hi is None or hi == lo else f"{_ip(lo)}-{_ip(hi)}"
    plo, phi = int.from_bytes(lo[4:6], "big"), int.from_bytes(hi[4:6], "big")
    return f"{_ip(lo)}/24 . {plo}" + (f"-{phi}" if phi != plo else "")


def kernel_ruleset(kind: str, elems: list[tuple]) -> str:
    """The nft file that loads ``elems`` into a set ``s`` of table ``ip bench``."""
    out = [f"add table ip bench", f"add set ip bench s {{ {_DECL[kind]} }}"]
    for i in range(0, len(elems), CHUNK):
        part = ", ".join(_elem_text(kind, e) for e in elems[i:i + CHUNK])
        out.append(f"add element ip bench s {{ {part} }}")
    return "\n".join(out) + "\n"


def _slab_kb() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("Slab:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def kernel_available() -> bool:
    return os.geteuid() == 0 and shutil.which("nft") is not None and shutil.which("ip") is not None


def kernel_load(kind: str, elems: list[tuple], timeout: float = KERNEL_TIMEOUT) -> dict:
    """Load the same elements with ``nft -f`` in a namespace of our own: load time and
    slab growth (see the module docstring)."""
    ns = f"pktsetsk{os.getpid()}b"
    text = kernel_ruleset(kind, elems)
    with tempfile.NamedTemporaryFile("w", suffix=".nft", delete=False) as f:
        f.write(text)
        path = f.name
    out: dict = {"kernel_load_s": None, "kernel_bytes_per_elem": None}
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
        slab0 = _slab_kb()
        t0 = time.perf_counter()
        r = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", path], capture_output=True,
                           text=True, timeout=timeout)
        dt = time.perf_counter() - t0
        slab1 = _slab_kb()
        if r.returncode != 0:
            out["kernel_error"] = (r.stderr.strip().splitlines() or ["nft failed"])[0][:200]
            return out
        out["kernel_load_s"] = dt
        if slab0 is not None and slab1 is not None and slab1 > slab0:
            out["kernel_bytes_per_elem"] = (slab1 - slab0) * 1024 / max(len(elems), 1)
    except subprocess.TimeoutExpired:
        out["kernel_error"] = f"nft -f did not finish in {timeout:.0f} s"
    except (OSError, subprocess.CalledProcessError) as e:
        out["kernel_error"] = str(e)[:200]
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        os.unlink(path)
    return out


def format_table(rows: list[dict]) -> str:
    lines = [f"{'kind':8} {'backend':7} {'elements':>9} {'build s':>8} {'B/elem':>7} "
             f"{'lookup ns':>10} {'match ns':>9} {'x small':>7} {'x hot':>6} {'add us':>8} {'del us':>8}"]
    for r in rows:
        add = "-" if r["add_ns"] is None else f"{r['add_ns'] / 1e3:8.1f}"
        dele = "-" if r["delete_ns"] is None else f"{r['delete_ns'] / 1e3:8.1f}"
        kl = r.get("kernel_load_s")
        kb = r.get("kernel_bytes_per_elem")
        extra = ""
        if "kernel_load_s" in r:
            extra = (f" {('%.3f' % kl) if kl else '-':>9} {('%.0f' % kb) if kb else '-':>7}"
                     + (f"  {r['kernel_error']}" if r.get("kernel_error") else ""))
        lines.append(f"{r['kind']:8} {r['backend']:7} {r['elements']:>9} {r['build_s']:8.3f} "
                     f"{r['bytes_per_elem']:7.0f} {r['lookup_ns']:10.0f} {r['match_ns']:9.0f} "
                     f"{r['lookup_ratio']:7.2f} {r['hot_ratio']:6.2f} "
                     f"{add:>8} {dele:>8}{extra}")
    if any("kernel_load_s" in r for r in rows):
        lines[0] += f" {'kernel s':>9} {'B/elem':>7}"
    return "\n".join(lines)


if __name__ == "__main__":   # python -m pkttables.sets.bench [sizes...]
    import sys
    sizes = tuple(int(a) for a in sys.argv[1:]) or DEFAULT_SIZES
    print(format_table(run(sizes)))
