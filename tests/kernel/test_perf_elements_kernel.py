"""Bulk element lists (docs/bulk-elements.md) against the real nft: the same generated
set files loaded by ``nft -f`` in a network namespace and by pkttables (bulk path on,
>= 64 items per list) list the same, and an overlap without auto-merge is refused by
both with the same error text."""

from __future__ import annotations

import ipaddress
import os
import random
import subprocess

import pytest

from pkttables.commands import Options, run_text
from pkttables.errors import PktError
from pkttables.model import Ruleset

pytestmark = pytest.mark.kernel


def _q(a: int) -> str:
    return str(ipaddress.IPv4Address(a))


def _items(rng: random.Random, n: int, *, disjoint: bool) -> list[str]:
    out, a = [], 10 << 24
    for _ in range(n):
        k = rng.random()
        a += rng.randrange(1, 3) * 256 if disjoint else rng.randrange(0, 300)
        if k < 0.3:
            out.append(_q(a) if not disjoint else _q(a + 7))
        elif k < 0.6:
            out.append(f"{_q(a & ~15)}/{rng.choice((28, 29, 30, 32))}")
        else:
            out.append(f"{_q(a + 16)}-{_q(a + 16 + rng.randrange(0, 100))}")
    return out


def _ruleset(rng: random.Random) -> str:
    plain = [_q((192 << 24) | rng.randrange(1 << 16)) for _ in range(300)]
    ports = [str(rng.randrange(65536)) for _ in range(200)] + ["1000-2000", "1500-1600", "65535"]
    return ("table ip t {\n"
            "\tset a {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\tauto-merge\n"
            f"\t\telements = {{ {', '.join(_items(rng, 400, disjoint=False))} }}\n\t}}\n"
            "\tset b {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
            f"\t\telements = {{ {(',' + chr(10) + chr(9) + chr(9)).join(_items(rng, 400, disjoint=True))} }}\n\t}}\n"
            f"\tset c {{\n\t\ttype ipv4_addr\n\t\telements = {{ {', '.join(plain + plain[:50])} }}\n\t}}\n"
            "\tset d {\n\t\ttype inet_service\n\t\tflags interval\n\t\tauto-merge\n"
            f"\t\telements = {{ {', '.join(ports)} }}\n\t}}\n"
            "}\n")


@pytest.fixture
def ns():
    name = f"pktsl{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield ["ip", "netns", "exec", name, "nft"]
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.mark.parametrize("seed", [1, 2])
def test_bulk_sets_list_as_nft(ns, seed, tmp_path):
    text = _ruleset(random.Random(seed))
    path = tmp_path / "sets.nft"
    path.write_text(text)
    subprocess.run(ns + ["flush", "ruleset"], check=True)
    r = subprocess.run(ns + ["-f", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    want = subprocess.run(ns + ["list", "ruleset"], capture_output=True, text=True, check=True).stdout
    ours = run_text(text, Ruleset(), Options(), filename=str(path))
    got = run_text("list ruleset", ours.ruleset, Options()).output
    assert got == want


def test_overlap_error_as_nft(ns, tmp_path):
    items = [f"10.0.{i}.0/24" for i in range(100)] + ["10.0.5.7-10.0.6.1"]
    text = ("table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
            f"\t\telements = {{ {', '.join(items)} }}\n\t}}\n}}\n")
    path = tmp_path / "overlap.nft"
    path.write_text(text)
    r = subprocess.run(ns + ["-c", "-f", str(path)], capture_output=True, text=True)
    assert r.returncode != 0
    with pytest.raises(PktError) as e:
        run_text(text, Ruleset(), Options(dry_run=True), filename=str(path))
    ours, theirs = e.value.render().splitlines()[0], r.stderr.splitlines()[0]
    assert ours.split(": ", 1)[1] == theirs.split(": ", 1)[1] == "Error: conflicting intervals specified"


def test_overlap_error_location_as_nft(ns, tmp_path):
    """nft marks the conflicting element (^) and the earlier one (~); golden variants
    in tests/unit/sets/test_sets_overlap_errors.py."""
    items = [f"10.0.{i}.0/24" for i in range(100)] + ["10.0.5.7-10.0.6.1"]
    text = ("table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
            f"\t\telements = {{ {', '.join(items)} }}\n\t}}\n}}\n")
    path = tmp_path / "overlap.nft"
    path.write_text(text)
    r = subprocess.run(ns + ["-c", "-f", str(path)], capture_output=True, text=True)
    with pytest.raises(PktError) as e:
        run_text(text, Ruleset(), Options(dry_run=True), filename=str(path))
    assert e.value.render() + "\n" == r.stderr
