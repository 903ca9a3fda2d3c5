"""DEPENDENCIES against nft 1.0.6's bytecode (deps.json, from regen_golden.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pkttables.proto import DEPENDENCIES, META_KEYS, PROTOCOLS, ByteOrder, Dep

GOLDEN = json.loads((Path(__file__).parent / "deps.json").read_text())


def _reg_words(data: bytes) -> str:
    """nft 1.0.6 (libnftnl 1.2.4) prints register data as host-endian u32 words."""
    data = data + b"\0" * (-len(data) % 4)
    return " ".join(f"0x{int.from_bytes(data[i:i + 4], 'little'):08x}" for i in range(0, len(data), 4))


def render(dep: Dep) -> list[str]:
    if dep.kind == "meta":
        k = META_KEYS[dep.name]
        nbytes = (k.len_bits + 7) // 8
        order = "big" if k.byteorder is ByteOrder.BIG else "little"
        return [f"[ meta load {dep.name} => reg 1 ]",
                f"[ cmp eq reg 1 {_reg_words(int(dep.value).to_bytes(nbytes, order))} ]"]
    proto, field = dep.name.split(" ", 1)
    f = PROTOCOLS[proto].fields[field]
    start, n = f.load_span()
    return [f"[ payload load {n}b @ {PROTOCOLS[proto].base.nft_name} header + {start} => reg 1 ]",
            f"[ cmp eq reg 1 {_reg_words(int(dep.value).to_bytes(n, 'big'))} ]"]


CASES = [(fam, col) for fam, row in GOLDEN["dumps"].items() for col in row]


def test_every_cell_is_covered():
    assert {(f, c) for f, row in DEPENDENCIES.items() for c in row} == set(CASES)


@pytest.mark.parametrize("family,column", CASES)
def test_dependency_matches_nft(family, column):
    dump = GOLDEN["dumps"][family][column]
    deps = DEPENDENCIES[family][column]
    if isinstance(dump, str):
        assert deps is None, dump
        assert "conflicting protocols" in dump or "cannot use exthdr" in dump
        return
    assert deps is not None
    expected = [line for d in deps for line in render(d)]
    assert dump[: len(expected)] == expected
    # what follows is the probe's own load, never another implicit match
    assert "load" in dump[len(expected)] and "meta load" not in dump[len(expected)]
