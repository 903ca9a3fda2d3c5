"""The nft 1.0.6 tests/py suite: every ok line (and its listing) parses; fail lines that
nft rejects in its parser are rejected by ours (golden file from the real nft)."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from corpus_cases import CORPUS, cases  # noqa: E402
from golden_compare import load, nft_blocks, ours  # noqa: E402

from pkttables.errors import SyntaxError_
from pkttables.lang import ast as A
from pkttables.lang.parser import parse

pytestmark = pytest.mark.skipif(not os.path.isdir(CORPUS), reason="shared corpus missing")

# nft parses this one (and rejects it while evaluating); we reject it while parsing.
# (`spnum 256`: nft's parser action refuses it, "value too large", which the capture files
# as a non-syntax error; ours refuses it in the parser as well)
KNOWN_PARSE_DIFFERENCES = {"add rule inet test-inet c snat ip daddr 1.2.3.4 ip6 to dead::beef",
                           "add rule ip ipsec-ip4 c ipsec in spnum 256 reqid 1"}


def test_every_ok_line_parses():
    ok = [c for c in cases() if c[3]]
    assert len(ok) > 2000
    failures = []
    for rel, n, kind, _, text in ok:
        try:
            script = parse(text)
        except SyntaxError_ as e:
            failures.append(f"{rel}:{n}: {text}\n{e}")
            continue
        (cmd,) = script.commands
        assert cmd.verb == "add"
        if kind in ("rule", "listing"):
            assert isinstance(cmd.obj, A.RuleObj) and cmd.obj.rule.stmts
    assert not failures, "\n".join(failures[:20])


def test_fail_lines_rejected_by_parser_as_nft():
    d = load()
    mismatched = [
        c["input"].strip()
        for c in d["corpus_fail"]
        if bool(ours(c["input"])) != (c["syntax"] or bool(nft_blocks(c["stderr"])))
        and c["input"].strip() not in KNOWN_PARSE_DIFFERENCES
    ]
    assert sum(c["syntax"] for c in d["corpus_fail"]) > 40
    assert mismatched == []


@pytest.mark.parametrize(
    "text,check",
    [
        ("add rule ip t c tcp dport 22 accept", lambda r: r.stmts[0].left == A.Payload(r.stmts[0].left.loc, "tcp", "dport")),
        ("add rule ip t c ct state established,related accept", lambda r: isinstance(r.stmts[0].right, A.ListExpr)),
        ("add rule ip t c ip saddr . tcp dport { 1.2.3.4 . 22 }", lambda r: isinstance(r.stmts[0].left, A.Concat)),
        ("add rule ip t c meta mark set 0x1 counter", lambda r: isinstance(r.stmts[0], A.SetStmt) and isinstance(r.stmts[1], A.Counter)),
        ("add rule ip t c tcp flags & (syn|ack) == syn|ack", lambda r: r.stmts[0].op == "==" and r.stmts[0].left.op == "&"),
        ("add rule ip t c ct mark and 0x3 != 0x1", lambda r: r.stmts[0].left.op == "&" and r.stmts[0].op == "!="),
        ("add rule ip t c dnat to 10.0.0.1-10.0.0.5:80-90", lambda r: isinstance(r.stmts[0].addr, A.Range) and isinstance(r.stmts[0].port, A.Range)),
        ("add rule ip t c tcp dport vmap { 22 : accept, 23 : jump x }", lambda r: isinstance(r.stmts[0], A.VmapStmt)),
        ("add rule ip t c update @s { ip saddr timeout 1s counter }", lambda r: isinstance(r.stmts[0], A.DynsetStmt) and r.stmts[0].set == "s"),
        ("add rule ip t c @nh,0,8 0x45", lambda r: isinstance(r.stmts[0].left, A.RawPayload)),
        ("add rule ip t c ct count over 10", lambda r: r.stmts[0] == A.Connlimit(r.stmts[0].loc, 10, True)),
        ("add rule ip t c limit rate over 1 mbytes/second burst 2 kbytes", lambda r: r.stmts[0].unit == "mbytes" and r.stmts[0].per == "second" and r.stmts[0].over),
        ("add rule ip t c fib saddr . iif oif missing drop", lambda r: r.stmts[0].left.flags == ("saddr", "iif")),
        ("add rule ip t c counter name ip saddr map { 1.1.1.1 : \"c\" }", lambda r: isinstance(r.stmts[0], A.ObjRef)),
    ],
)
def test_ast_shapes(text, check):
    rule = parse(text).commands[0].obj.rule
    assert check(rule)
