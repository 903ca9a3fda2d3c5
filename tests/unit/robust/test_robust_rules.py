"""Fuzzing one rule at a time, in context: the corpus' rule commands (tests/corpus/
generated/rules/*.jsonl, each accepted by nft 1.0.6, with the table and chains it
needs from contexts.json), mutated at the token level as text and at the tree level
as libnftables JSON, through ``pkt -f`` and ``Nftables().json_cmd`` with echo and
handles.  Both sides must give an answer -- the rule, or one located error -- and a
listing of what was accepted must work.

Negative JSON integers are among the mutations (nft 1.0.6 reads them as symbols;
test_robust_regressions.py pins its answers).
"""

from __future__ import annotations

import copy
import json
import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robust_harness import INTERNAL, ROOT, check_file_error, run

RULES_DIR = ROOT / "tests" / "corpus" / "generated" / "rules"
CONTEXTS = json.loads((ROOT / "tests" / "corpus" / "generated" / "contexts.json").read_text())
SETTINGS = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _rules() -> list[dict]:
    out = []
    for p in sorted(RULES_DIR.glob("*.jsonl")):
        with open(p, encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if i % 20:      # every 20th rule of each topic: ~700 rules, every topic
                    continue
                d = json.loads(line)
                if d.get("exit") == 0 and isinstance(d.get("json"), dict):
                    out.append(d)
    return out


RULES = _rules()
VOCAB = sorted({w for d in RULES for w in d["command"].split()})
ODD_TOKENS = ["0", "65536", "4294967296", "18446744073709551615", "18446744073709551616", "0x" + "f" * 40, "1.2.3.4/0", "::/0", "{}", "{ 1 }", "1-0",
              "@s", "$x", '""', "1s", "0s", "99999d", "*", "1.2.3.4-1.2.3.1", "0-65535", "256", ".", ";",
              "{", "}", "vmap", "map", "set", "!=", "&", "|", ">>", "<<"]


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="pktRB-rules-") as d:
        yield d


_TOKEN_OP = st.tuples(st.sampled_from(["replace", "insert", "delete", "odd", "swap"]), st.integers(0, 1 << 16),
                      st.integers(0, 1 << 16))


@SETTINGS
@given(rule=st.sampled_from(RULES), ops=st.lists(_TOKEN_OP, min_size=1, max_size=3),
       flags=st.sampled_from([[], ["-a", "-e"], ["--debug=netlink"], ["-j", "-e"]]))
def test_mutated_rule_text(workdir, rule, ops, flags):
    toks = rule["command"].split()
    for kind, i, j in ops:
        i %= len(toks)
        if kind == "replace":
            toks[i] = VOCAB[j % len(VOCAB)]
        elif kind == "insert":
            toks.insert(i, VOCAB[j % len(VOCAB)])
        elif kind == "delete" and len(toks) > 5:
            del toks[i]
        elif kind == "odd":
            toks[i] = ODD_TOKENS[j % len(ODD_TOKENS)]
        else:
            k = j % len(toks)
            toks[i], toks[k] = toks[k], toks[i]
    text = "\n".join(CONTEXTS[rule["family"]]["table_decl"]) + "\n" + " ".join(toks) + "\n"
    path = os.path.join(workdir, "rule.nft")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    rc, _, err = run(flags + ["-f", path])
    check_file_error(rc, err, path)
    if rc == 0:
        state = os.path.join(workdir, "rule.state")
        if os.path.exists(state):
            os.unlink(state)
        assert run(["--state", state, "-f", path])[0] == 0
        for listing in (["list", "ruleset"], ["-j", "list", "ruleset"], ["-a", "-n", "list", "ruleset"]):
            rc, _, err = run(["--state", state] + listing)
            assert rc == 0 and "Traceback" not in err, err


_ODD_JSON = [None, 0, 1, 65535, "", "x", [], {}, True, 1.5, "@s", {"set": []}, {"range": [1]},
             {"prefix": {"addr": "1.2.3.4", "len": 99}}, {"concat": []}, {"payload": {"protocol": "tcp", "field": "nope"}},
             {"meta": {"key": "nope"}}, ["a", 1], "accept", {"elem": {"val": 1}}, 2 ** 32,
             -1, -65536, -(2 ** 32) - 1, {"set": [-1, 2]}, {"range": [-5, 5]}]
_KEYS = ["op", "left", "right", "key", "field", "protocol", "base", "offset", "len", "family", "expr", "set", "data"]
_TREE_OP = st.tuples(st.sampled_from(["descend", "replace", "delete", "add", "dup"]), st.integers(0, 1 << 16),
                     st.sampled_from(_ODD_JSON), st.sampled_from(_KEYS))


def _mutate_tree(doc, ops):
    """Walk into the tree along the ops' indexes; each op that is not "descend" changes
    the node it reached and the walk restarts at the root."""
    root = {"r": doc}
    node, key = root, "r"
    for kind, i, odd, k in ops:
        cur = node[key]
        kids = list(cur) if isinstance(cur, dict) else list(range(len(cur))) if isinstance(cur, list) else []
        if kind == "descend" and kids:
            node, key = cur, kids[i % len(kids)]
            continue
        if kind == "replace":
            node[key] = copy.deepcopy(odd)
        elif kind == "delete" and kids:
            del cur[kids[i % len(kids)]]
        elif kind == "add" and isinstance(cur, dict):
            cur[k] = copy.deepcopy(odd)
        elif kind == "dup" and isinstance(cur, list) and cur:
            cur.insert(i % len(cur), copy.deepcopy(cur[i % len(cur)]))
        node, key = root, "r"
    return root["r"]


@SETTINGS
@given(rule=st.sampled_from(RULES), ops=st.lists(_TREE_OP, min_size=1, max_size=12), echo=st.booleans())
def test_mutated_rule_json(rule, ops, echo):
    from pkttables.control.api import Nftables

    j = copy.deepcopy(rule["json"])
    j.pop("handle", None)
    doc = {"nftables": [{"add": {"rule": _mutate_tree(j, ops)}}]}
    nft = Nftables()
    nft.set_handle_output(True)
    nft.set_echo_output(echo)
    rc, _, err = nft.cmd("; ".join(CONTEXTS[rule["family"]]["table_decl"]))
    assert rc == 0, err
    rc, out, err = nft.json_cmd(doc)
    assert rc in (0, -1) and "Traceback" not in err and INTERNAL not in err
    if rc == 0:
        rc, out, err = nft.json_cmd({"nftables": [{"list": {"ruleset": None}}]})
        assert rc == 0, err
        rc, out, err = nft.cmd("list ruleset")
        assert rc == 0, err
    else:
        assert err.startswith("Error: ") or ": Error: " in err.splitlines()[0], err[:500]
