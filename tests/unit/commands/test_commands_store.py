"""The --state store: exact round trip, version check, corrupt files, atomic writes."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings, strategies as st

from pkttables.cli.nft import main
from pkttables.commands import Options, StateError, StateStore, run_text
from pkttables.commands import store as S
from pkttables.model import Ruleset

RULES = ("add table inet t { set s { type ipv4_addr . inet_service; elements = { 1.2.3.4 . 22 } }\n"
         " chain c { type filter hook input priority 0; policy drop; tcp dport { 22, 80 } accept; }\n"
         " set a { type ipv4_addr; }\n counter k { packets 1 bytes 2; }\n}\n"
         "add chain inet t d; add rule inet t d ip saddr @a counter comment \"x\"")


def test_round_trip_keeps_handles_generation_and_rules(tmp_path):
    rs = run_text(RULES, Ruleset()).ruleset
    st_ = StateStore(tmp_path / "s")
    st_.save(rs)
    back = st_.load()
    assert S.dumps(back) == S.dumps(rs)
    assert back.generation == rs.generation and back.next_table_handle == rs.next_table_handle
    t, t2 = rs.table("inet", "t"), back.table("inet", "t")
    assert t2.next_handle == t.next_handle
    assert [r.handle for r in t2.chains["d"].rules] == [r.handle for r in t.chains["d"].rules]
    # version 2 keeps the program (what the kernel keeps), read back on demand
    r1, r2 = t.chains["d"].rules[0], t2.chains["d"].rules[0]
    assert isinstance(r2.userdata["program"], S.StoredProgram)
    assert [i.dump() for i in r2.userdata["program"].instrs] == [i.dump() for i in r1.userdata["program"].instrs]
    assert r2.comment == "x"
    assert run_text("list ruleset", back).output == run_text("list ruleset", rs).output
    # handles keep counting from where they were after a reload
    again = run_text("add chain inet t e", back).ruleset
    assert again.chain("inet", "t", "e").handle == t.next_handle


def test_missing_file_is_empty_ruleset(tmp_path):
    assert StateStore(tmp_path / "nope").load().tables == {}


@pytest.mark.parametrize("content,msg", [
    ("garbage", "not a pkttables state file (invalid JSON"),
    ('{"format": "other"}', "not a pkttables state file"),
    ('{"format": "pkttables-state", "version": 99}', "format version 99 is not supported"),
    ('{"format": "pkttables-state", "version": 1, "tables": []}', "version 1 stores kept every rule"),
    ('{"format": "pkttables-state", "version": 2, "generation": 1, "next_table_handle": 1, '
     '"tables": [{"$c": "os:system", "f": {}}]}', "corrupt"),
    ('{"format": "pkttables-state", "version": 2, "generation": 1, "next_table_handle": 1, '
     '"tables": [{"$zz": 1}]}', "corrupt"),
])
def test_bad_store_gives_one_clear_error(tmp_path, content, msg, capsys):
    p = tmp_path / "s"
    p.write_text(content)
    with pytest.raises(StateError) as ei:
        StateStore(p).load()
    assert msg in str(ei.value)
    assert main(["--state", str(p), "add table ip t"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: state file {p}: ") and "Traceback" not in err
    assert p.read_text() == content


def test_failed_command_or_file_leaves_store_unchanged_but_its_handles(tmp_path, capsys):
    p = tmp_path / "s"
    assert main(["--state", str(p), "add table inet t; add chain inet t c"]) == 0
    before = p.read_bytes()
    listing = StateStore(p).load()
    assert main(["--state", str(p), "-c", "add chain inet t e"]) == 0
    assert p.read_bytes() == before                     # -c: nothing at all
    assert main(["--state", str(p), "add rule inet t c accept; add rule inet t x accept"]) == 1
    bad = tmp_path / "bad.nft"
    bad.write_text("add chain inet t e\nadd rule inet t nosuch accept\n")
    assert main(["--state", str(p), "-f", str(bad)]) == 1
    after = StateStore(p).load()
    # same tables, chains, rules and generation; the kernel never reuses the handles
    # the failed batches took (rule 2, chain 3), so neither does the store
    assert after.generation == listing.generation
    assert [(k, list(t.chains)) for k, t in after.tables.items()] == \
        [(k, list(t.chains)) for k, t in listing.tables.items()]
    assert after.table("inet", "t").next_handle == 4
    assert main(["--state", str(p), "-a", "add rule inet t c accept"]) == 0
    assert StateStore(p).load().chain("inet", "t", "c").rules[0].handle == 4
    assert [f for f in os.listdir(tmp_path) if f.startswith(".pkt-state-")] == []
    err = capsys.readouterr().err
    assert f"{bad}:2:17-22: Error: Could not process rule: No such file or directory" in err


def test_env_pkt_state(tmp_path, monkeypatch):
    p = tmp_path / "s"
    monkeypatch.setenv("PKT_STATE", str(p))
    assert main(["add table ip t"]) == 0
    assert json.loads(p.read_text())["generation"] == 1


_names = st.text("bcdfgjkz", min_size=1, max_size=6).map(lambda s: "n" + s)  # never a keyword


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["ip", "ip6", "inet"]), _names, st.lists(_names, max_size=3)),
                max_size=4))
def test_codec_round_trip(tables):
    text = []
    for fam, name, chains in tables:
        text.append(f"add table {fam} {name}")
        for c in chains:
            text.append(f"add chain {fam} {name} {c}; add rule {fam} {name} {c} meta mark 3 counter accept")
    rs = run_text("\n".join(text) or "flush ruleset", Ruleset(), Options()).ruleset
    assert S.dumps(S.loads(S.dumps(rs))) == S.dumps(rs)
