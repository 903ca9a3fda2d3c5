"""bison's error recovery after a table item's block, against nft 1.0.6 (``nft -c -f``).

golden_recovery.json was captured by capture_recovery.py in a namespace.  nft's
``table_block`` productions end ``'{' block '}' stmt_separator``: a token that is not a
separator after a chain's (set's, map's, flowtable's, object's) ``}`` resumes the parse
inside that block, in its define scope; a top-level command's block does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkttables.lang import ast as A
from pkttables.lang import parse
from pkttables.testing.nftgolden import FileGolden

# cases where we knowingly differ from nft (none today; the ct scanner scope after a
# resumed ct object block is modelled: lang/parser.py _CT_RESUMED_STRINGS)
_XFAIL: dict[str, str] = {}

G = FileGolden(Path(__file__).parent / "golden_recovery.json", known=_XFAIL)


@pytest.mark.parametrize("name", G.params())
def test_recovery_as_nft(name):
    got, want = G.compare(name)
    assert got == want


def test_resumed_block_items_belong_to_the_inner_object():
    s = parse("table ip t {\n\tchain c { } x\n\tmeta mark 1\n}\n\tchain d { }\n}\n", "b.nft",
              keep_going=True)
    assert s.error is not None and len(s.error.diagnostics) == 1
    (table,) = [c.obj for c in s.commands]
    chains = [i for i in table.body if isinstance(i, A.ChainObj)]
    assert [c.name for c in chains] == ["c", "d"]
    assert len(chains[0].body) == 1 and isinstance(chains[0].body[0], A.Rule)
    assert chains[1].body == ()


def test_resumed_object_block_keeps_flat_properties():
    s = parse("table ip t {\n\tcounter k { packets 1 bytes 2 } x\n\tcomment \"c\"\n}\n}\n", "b.nft",
              keep_going=True)
    (table,) = [c.obj for c in s.commands]
    (obj,) = table.body
    assert isinstance(obj, A.StatefulObj)
    assert [p.name for p in obj.body] == ["packets", "bytes", "comment"]
