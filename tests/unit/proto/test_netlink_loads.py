"""Every field's load instruction against nft 1.0.6 (netlink_loads.json, regen_golden.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pkttables.proto import IP_OPTIONS, IPV6_EXTHDRS, PROTOCOLS, SCTP_CHUNKS, TCP_OPTIONS, indexed_field

GOLDEN: dict = json.loads((Path(__file__).parent / "netlink_loads.json").read_text())

# Template fields nft 1.0.6 has but its grammar cannot name in a match (checked: syntax
# errors), kept for the delinearizer/listing.
NOT_IN_GRAMMAR = re.compile(r"^(tcp option \S+ kind|rt0 reserved|rt2 reserved|rt2 addr) ")

_P = re.compile(r"\[ payload load (\d+)b @ (\w+) header \+ (\d+) => reg 1 \]")
_X = re.compile(r"\[ exthdr load (?:(ipv6|tcpopt|ipv4) )?(\d+)b @ (\d+) \+ (\d+) => reg 1 \]")


def _expected():
    for p in PROTOCOLS.values():
        for f in p.fields.values():
            extra = 14 if p.name == "vlan" else 0
            start, n = f.load_span()
            yield f"{p.name} {f.name} ", ("payload", p.base.nft_name, start + extra, n)
    spaces = (("", "ipv6", IPV6_EXTHDRS), ("tcp option ", "tcpopt", TCP_OPTIONS),
              ("ip option ", "ipv4", IP_OPTIONS), ("sctp chunk ", None, SCTP_CHUNKS))
    for prefix, space, table in spaces:
        for h in table.values():
            for f in h.fields.values():
                name = f.name
                if (h.name, f.name) in (("rt0", "addr"), ("srh", "sid")):
                    f, name = indexed_field(h, f.name, 1), f.name + "[1]"
                start, n = f.load_span()
                yield f"{prefix}{h.name} {name} ", ("exthdr", space, h.kind, start, n)


CASES = list(_expected())


def _golden_for(prefix: str):
    hits = [(k, v) for k, v in GOLDEN.items() if k.startswith(prefix) and len(k.split()) == len(prefix.split()) + 1]
    assert len(hits) == 1, prefix
    return hits[0]


def test_golden_covers_every_field():
    assert len(GOLDEN) == len(CASES)


@pytest.mark.parametrize("prefix,want", CASES, ids=[c[0].strip() for c in CASES])
def test_load_matches_nft(prefix, want):
    key, dump = _golden_for(prefix)
    if NOT_IN_GRAMMAR.match(key):
        assert isinstance(dump, str)
        return
    assert isinstance(dump, list), dump
    loads = [ln for ln in dump if " load " in ln and "meta load" not in ln]
    last = loads[-1]
    if want[0] == "payload":
        m = _P.fullmatch(last)
        assert m, last
        assert (m.group(2), int(m.group(3)), int(m.group(1))) == want[1:]
    else:
        m = _X.fullmatch(last)
        assert m, last
        assert (m.group(1), int(m.group(3)), int(m.group(4)), int(m.group(2))) == want[1:]
