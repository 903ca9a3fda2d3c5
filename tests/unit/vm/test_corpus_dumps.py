"""Every bytecode entry of the nft 1.0.6 tests/py corpus reads back and dumps identically.

Entries whose element lines had their tabs expanded to spaces by an editor (upstream
compares element lines as sets of whitespace-split items, so it never noticed) are
compared with their element lines' whitespace normalised; they are counted apart.
One stale upstream entry (``__set%d  test-ip4 input``) is not a dump at all.
"""

from __future__ import annotations

import glob
import os
import re

import pytest

from pkttables.vm import DumpError, dump, parse_dump
from pkttables.vm.program import Program, SetDump

CORPUS = "/work/shared/corpus/nft-tests-py"
FILES = sorted(glob.glob(os.path.join(CORPUS, "*", "*.payload*")))

pytestmark = pytest.mark.skipif(not FILES, reason=f"corpus not found at {CORPUS}")

# entries that are not nft output: (file suffix, first bad line)
KNOWN_BAD = {("ip/icmp.t.payload.ip", "__set%d  test-ip4 input")}


def entries():
    for f in FILES:
        rel = os.path.relpath(f, CORPUS)
        with open(f) as fh:
            text = fh.read()
        for block in text.split("\n\n"):
            lines = [ln for ln in block.split("\n") if ln and not ln.startswith("#")]
            if lines:
                yield rel, "\n".join(lines)


def _norm_elements(text: str) -> str:
    out = []
    for ln in text.split("\n"):
        if "element " in ln and not ln.startswith("  ["):
            ln = "\t" + "\t".join(re.split(r"[ \t]+(?=element )", ln.strip(" \t")))
        out.append(ln)
    return "\n".join(out)


def test_every_payload_entry_round_trips():
    exact = expanded = 0
    bad = set()
    kinds = set()
    for rel, body in entries():
        try:
            items = parse_dump(body, rel)
        except DumpError as e:
            bad.add((rel, e.diagnostics[0].location.line_text))
            continue
        for it in items:
            if isinstance(it, Program):
                kinds.update(i.name for i in it.instrs)
        out = dump(items)
        if out == body:
            exact += 1
        else:
            assert out == _norm_elements(body), f"{rel}:\n{body}\n---\n{out}"
            expanded += 1
    assert bad == KNOWN_BAD
    # counts at the time of writing: 2492 exact, 55 with tab-expanded element lines
    assert exact >= 2490 and expanded <= 60, (exact, expanded)
    # every expression kind of the corpus was read
    assert {"cmp", "payload", "meta", "lookup", "exthdr", "bitwise", "immediate", "range", "ct",
            "reject", "byteorder", "redir", "nat", "limit", "masq", "counter", "log", "tproxy",
            "queue", "quota", "dynset", "objref", "hash", "xfrm", "rt", "osf", "dup", "synproxy",
            "fib", "socket", "numgen", "fwd", "connlimit", "notrack"} <= kinds


def test_every_corpus_expression_line_round_trips_alone():
    from pkttables.vm import parse_instr
    seen = 0
    for f in FILES:
        with open(f) as fh:
            for ln in fh:
                if ln.startswith("  ["):
                    ln = ln.rstrip("\n")
                    assert "  " + parse_instr(ln).dump() == ln
                    seen += 1
    assert seen > 9000


def test_set_dump_fields():
    items = parse_dump("__set%d test-ip4 7 size 5\n__set%d test-ip4 0\n"
                       "\telement 00000000  : 1 [end]\telement 04030201  : 0 [end]\n"
                       "ip test-ip4 input\n  [ lookup reg 1 set __set%d ]")
    s1, s2, p = items
    assert isinstance(s1, SetDump) and s1.flags == 7 and s1.size == 5 and not s1.elements
    assert s2.flags == 0 and len(s2.elements) == 2
    assert s2.elements[0].flags == 1 and s2.elements[1].key == bytes([1, 2, 3, 4])
    assert p.header == "ip test-ip4 input" and p.instrs[0].set == "__set%d"


def test_verdict_map_elements_and_catchall():
    text = ("__map%d x 0\n\telement 01010101  : drop 0 [end]\telement  : accept 2 [end]"
            "\telement 00000002  : jump -> foo 0 [end]")
    (s,) = parse_dump(text)
    assert s.elements[1].key == b"" and s.elements[1].flags == 2
    assert s.elements[2].data.chain == "foo"
    assert dump([s]) == text


def test_bad_dump_has_location():
    with pytest.raises(DumpError) as ei:
        parse_dump("ip t c\n  [ cmp eq reg 1 0x0000 ]", "x.payload")
    d = ei.value.diagnostics[0]
    assert d.location.file == "x.payload" and d.location.line == 2
    with pytest.raises(DumpError):
        parse_dump("ip t c\n  [ frobnicate 1 ]")
