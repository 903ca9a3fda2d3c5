"""``nft -j list ...`` goldens: ``json_golden/g1.nft`` was loaded into the real nft 1.0.6
in a network namespace (``json_golden/capture.sh``) and every listing saved.  The same
ruleset is loaded with :func:`pkttables.commands.run_text` and printed with
:mod:`pkttables.render.json_output`; the text must be byte-identical.

Handles: nft numbers a table block's chains first, then objects, sets and rules, while
the command front end numbers them in file order, so the test gives the model nft's
handles (read from the golden) before printing.  Everything else is compared as is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pkttables import commands
from pkttables.model import Ruleset
from pkttables.render import ListOptions
from pkttables.render import json_output as J

GOLDEN = Path(__file__).parent / "json_golden"


def _model() -> Ruleset:
    rs = commands.run_text((GOLDEN / "g1.nft").read_text(), Ruleset()).ruleset
    want = json.loads((GOLDEN / "g1.ruleset.json").read_text())["nftables"]
    rules: dict[tuple, list[int]] = {}
    for item in want:
        (kind, d), = item.items()
        if kind == "metainfo":
            continue
        t = rs.tables[(d["family"], d.get("table", d.get("name")))]
        if kind == "table":
            t.handle = d["handle"]
        elif kind == "chain":
            t.chains[d["name"]].handle = d["handle"]
        elif kind in ("set", "map"):
            t.sets[d["name"]].handle = d["handle"]
        elif kind == "rule":
            rules.setdefault((d["family"], d["table"], d["chain"]), []).append(d["handle"])
        else:
            t.objects[(kind, d["name"])].handle = d["handle"]
    for (fam, tab, ch), hs in rules.items():
        for r, h in zip(rs.tables[(fam, tab)].chains[ch].rules, hs):
            r.handle = h
    return rs


@pytest.fixture(scope="module")
def rs() -> Ruleset:
    return _model()


def _want(name: str) -> str:
    return (GOLDEN / name).read_text().rstrip("\n")


@pytest.mark.parametrize("name,call", [
    ("g1.ruleset.json", lambda rs: J.list_ruleset_json(rs)),
    ("g1.ruleset.a.json", lambda rs: J.list_ruleset_json(rs, ListOptions(handle=True))),
    ("g1.ruleset.s.json", lambda rs: J.list_ruleset_json(rs, ListOptions(stateless=True))),
    ("g1.ruleset.t.json", lambda rs: J.list_ruleset_json(rs, ListOptions(terse=True))),
    ("g1.table.json", lambda rs: J.list_table_json(rs, "inet", "t")),
    ("g1.tables.json", lambda rs: J.list_tables_json(rs)),
    ("g1.chains.json", lambda rs: J.list_chains_json(rs)),
    ("g1.chain.json", lambda rs: J.list_chain_json(rs, "inet", "t", "c")),
    ("g1.sets.json", lambda rs: J.list_sets_json(rs)),
    ("g1.maps.json", lambda rs: J.list_maps_json(rs)),
    ("g1.set.json", lambda rs: J.list_set_json(rs, "inet", "t", "s")),
    ("g1.counters.json", lambda rs: J.list_objects_json(rs, "counter")),
    ("g1.quotas.json", lambda rs: J.list_objects_json(rs, "quota")),
    ("g1.limits.json", lambda rs: J.list_objects_json(rs, "limit")),
])
def test_golden_byte_identical(rs, name, call):
    assert J.dumps(call(rs)) == _want(name)


def test_metainfo_is_nft_106():
    doc = json.loads(_want("g1.tables.json"))
    assert doc["nftables"][0] == J.metainfo()
