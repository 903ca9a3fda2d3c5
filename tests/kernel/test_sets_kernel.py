"""The golden facts test_sets_semantics.py asserts, re-checked on the real kernel:
the same element commands through nft in a network namespace give the same errnos and
the same `get element` answers as pkttables.sets."""

from __future__ import annotations

import os
import subprocess

import pytest

from pkttables.sets import SetError, SetFlags, SetInstance, SetSpec

pytestmark = pytest.mark.kernel

IP = lambda s: bytes(int(x) for x in s.split("."))  # noqa: E731

RULESET = """
table ip t {
  set s { type ipv4_addr; flags interval; elements = { 10.0.0.0/24, 10.1.0.1-10.1.0.9 } }
  set h { type ipv4_addr; size 2; }
  map m { type ipv4_addr : mark; elements = { 1.1.1.1 : 5 } }
}
"""

# (nft command, our call) -> both must agree on success or the errno
CASES = [
    ("add element ip t h { 1.1.1.1, 1.1.1.2 }", lambda S: (S["h"].add(IP("1.1.1.1")), S["h"].add(IP("1.1.1.2")))),
    ("add element ip t h { 1.1.1.3 }", lambda S: S["h"].add(IP("1.1.1.3"))),
    ("add element ip t h { 1.1.1.1 }", lambda S: S["h"].add(IP("1.1.1.1"))),
    ("create element ip t h { 1.1.1.1 }", lambda S: S["h"].add(IP("1.1.1.1"), create=True)),
    ("delete element ip t h { 9.9.9.9 }", lambda S: S["h"].delete(IP("9.9.9.9"))),
    ("add element ip t m { 1.1.1.1 : 6 }", lambda S: S["m"].add(IP("1.1.1.1"), data=b"\x06\0\0\0")),
    ("add element ip t m { 1.1.1.1 : 5 }", lambda S: S["m"].add(IP("1.1.1.1"), data=b"\x05\0\0\0")),
    ("get element ip t s { 10.0.0.5 }", lambda S: S["s"].get(IP("10.0.0.5"))),
    ("get element ip t s { 10.1.0.2-10.1.0.3 }", lambda S: S["s"].get(IP("10.1.0.2"), IP("10.1.0.3"))),
    ("get element ip t s { 10.0.0.0/16 }", lambda S: S["s"].get(IP("10.0.0.0"), IP("10.0.255.255"))),
    ("get element ip t s { 10.2.0.0 }", lambda S: S["s"].get(IP("10.2.0.0"))),
]

ERRNO_WORDS = {2: "No such file or directory", 17: "File exists", 23: "Too many open files in system"}


def test_element_commands_agree_with_the_kernel():
    ns = f"pktsets{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        nft = ["ip", "netns", "exec", ns, "nft"]
        subprocess.run(nft + ["-f", "-"], input=RULESET, text=True, check=True)
        S = {
            "s": SetInstance(SetSpec(4, flags=SetFlags.INTERVAL, name="s")),
            "h": SetInstance(SetSpec(4, size=2, name="h")),
            "m": SetInstance(SetSpec(4, dlen=4, flags=SetFlags.MAP, name="m")),
        }
        S["s"].add(IP("10.0.0.0"), IP("10.0.0.255"))
        S["s"].add(IP("10.1.0.1"), IP("10.1.0.9"))
        S["m"].add(IP("1.1.1.1"), data=b"\x05\0\0\0")
        for cmd, ours in CASES:
            r = subprocess.run(nft + cmd.split(" "), capture_output=True, text=True)
            try:
                ours(S)
                mine = 0
            except SetError as e:
                mine = e.errno
            if mine:
                assert r.returncode == 1 and ERRNO_WORDS[mine] in r.stderr, (cmd, mine, r.stderr)
            else:
                assert r.returncode == 0, (cmd, r.stderr)
    finally:
        subprocess.run(["ip", "netns", "del", ns])


@pytest.mark.parametrize("kind", ["hash", "bitmap", "rbtree", "pipapo"])
def test_bench_loads_the_same_set_into_the_kernel(kind):
    import random

    from pkttables.sets import bench
    r = bench.kernel_load(kind, bench._elements(kind, 300, random.Random(2)))
    assert "kernel_error" not in r, r
    assert r["kernel_load_s"] > 0
