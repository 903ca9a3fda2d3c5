"""Every header field's offset and length against nft 1.0.6's own bytecode.

The shared corpus (nftables tests/py at v1.0.6) holds, for thousands of rules, the
exact netlink dump nft produced.  For each rule of the form ``PROTO FIELD VALUE`` we
take the last load instruction and check it is the smallest byte-aligned load that
covers our Field, at our base (or exthdr space and type).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pkttables.proto import (
    IP_OPTIONS, IPV6_EXTHDRS, PROTOCOLS, SCTP_CHUNKS, TCP_OPTIONS, Base, indexed_field,
)

CORPUS = Path("/work/shared/corpus/nft-tests-py")
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")

_LOAD = re.compile(r"\[ payload load (\d+)b @ (\w+) header \+ (\d+) => reg \d+ \]")
_XLOAD = re.compile(r"\[ exthdr load (?:(ipv6|tcpopt|ipv4) )?(\d+)b @ (\d+) \+ (\d+)(?: present)? => reg \d+ \]")


def _entries() -> dict[str, list[str]]:
    """rule text -> instruction lines, over every payload file (first file wins)."""
    out: dict[str, list[str]] = {}
    for path in sorted(CORPUS.glob("*/*.payload*")):
        heads: list[str] = []
        body: list[str] = []
        for line in path.read_text().splitlines() + [""]:
            if line.startswith("# "):
                if body:
                    for h in heads:
                        out.setdefault(h, body)
                    heads, body = [], []
                heads.append(line[2:].strip())
            elif line.startswith("  ["):
                body.append(line.strip())
            elif not line.strip() and body:
                for h in heads:
                    out.setdefault(h, body)
                heads, body = [], []
    return out


ENTRIES = _entries()


def _rules_for(prefix: str) -> list[tuple[str, list[str]]]:
    pat = re.compile(re.escape(prefix) + r" (?:!= )?[\w.:\-]+$")
    return [(r, b) for r, b in ENTRIES.items() if pat.match(r)]


# Fields with a single-field rule in the corpus; all fields are also checked against nft's
# own bytecode in test_netlink_loads.py.
PAYLOAD_CASES = [
    (p.name, f.name) for p in PROTOCOLS.values() for f in p.fields.values()
    if _rules_for(f"{p.name} {f.name}")
]


def test_corpus_loaded():
    assert len(ENTRIES) > 1000


@pytest.mark.parametrize("proto,field", PAYLOAD_CASES)
def test_payload_field_matches_corpus(proto, field):
    f = PROTOCOLS[proto].fields[field]
    rules = _rules_for(f"{proto} {field}")
    # vlan sits behind the 14-byte ether header in the link-layer base
    extra = 14 if proto == "vlan" else 0
    base_word = PROTOCOLS[proto].base.nft_name
    for rule, body in rules:
        loads = [m for m in map(_LOAD.search, body) if m]
        assert loads, rule
        n, base, off = loads[-1].groups()
        start, length = f.load_span()
        assert (base, int(off), int(n)) == (base_word, start + extra, length), rule


EXT_CASES = (
    [("ipv6", h, f) for h in IPV6_EXTHDRS.values() for f in h.fields]
    + [("tcpopt", h, f) for h in TCP_OPTIONS.values() for f in h.fields]
    + [("ipv4", h, f) for h in IP_OPTIONS.values() for f in h.fields]
    + [(None, h, f) for h in SCTP_CHUNKS.values() for f in h.fields]
)


def _ext_prefix(space, hdr, field):
    if space == "tcpopt":
        return f"tcp option {hdr.name} {field}"
    if space == "ipv4":
        return f"ip option {hdr.name} {field}"
    if space is None:
        return f"sctp chunk {hdr.name} {field}"
    return f"{hdr.name} {field}"


def _ext_rules(space, hdr, field):
    if hdr.name in ("rt0", "srh") and field in ("addr", "sid"):
        return [(r, b) for r, b in ENTRIES.items() if re.match(re.escape(f"{hdr.name} {field}") + r"\[\d+\] \S+$", r)]
    return _rules_for(_ext_prefix(space, hdr, field))


# Only fields the corpus has rules for; the others are checked against nft's own
# bytecode in test_netlink_loads.py.
EXT_WITH_RULES = [c for c in EXT_CASES if _ext_rules(*c)]


def test_most_exthdr_fields_have_corpus_rules():
    assert len(EXT_WITH_RULES) >= 40, len(EXT_WITH_RULES)


@pytest.mark.parametrize("space,hdr,field", EXT_WITH_RULES, ids=lambda x: getattr(x, "name", str(x)))
def test_exthdr_field_matches_corpus(space, hdr, field):
    rules = _ext_rules(space, hdr, field)
    for rule, body in rules:
        m = [x for x in map(_XLOAD.search, body) if x]
        assert m, rule
        sp, n, typ, off = m[-1].groups()
        f = hdr.fields[field]
        if "[" in rule.split()[1]:
            f = indexed_field(hdr, field, int(rule.split("[")[1].split("]")[0]))
        start, length = f.load_span()
        assert sp == space, rule
        assert int(typ) == hdr.kind, rule
        assert (int(off), int(n)) == (start, length), rule


def test_some_known_offsets():
    # Spot checks written from the RFCs, independent of the corpus.
    assert PROTOCOLS["tcp"].fields["dport"].load_span() == (2, 2)
    assert PROTOCOLS["tcp"].base is Base.TRANSPORT_HEADER
    assert PROTOCOLS["ip"].fields["daddr"].load_span() == (16, 4)
    assert PROTOCOLS["ip6"].fields["daddr"].load_span() == (24, 16)
    assert PROTOCOLS["ip"].fields["dscp"].load_span() == (1, 1)
    assert PROTOCOLS["dccp"].fields["type"].load_span() == (8, 1)
    assert PROTOCOLS["vlan"].fields["id"].load_span() == (0, 2)
    assert PROTOCOLS["arp"].fields["daddr ip"].load_span() == (24, 4)
