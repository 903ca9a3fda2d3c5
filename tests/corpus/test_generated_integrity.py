"""The committed corpus (tests/corpus/generated/) is complete and well-formed.

No nft needed: this checks the data files only.  ``generate.py --check`` is what
compares them with the real nft.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

GEN = Path(__file__).resolve().parent / "generated"
RULES = GEN / "rules"
RULESETS = GEN / "rulesets"

REQUIRED_RULE_KEYS = {"id", "topic", "origin", "family", "table", "chain", "chain_decl", "rule", "command",
                      "ok", "exit", "stderr", "rejected_by", "bytecode"}
LISTING_KEYS = {"listing", "listing_snn", "listing_a", "json"}
FAMILIES = {"ip", "ip6", "inet", "arp", "bridge", "netdev"}

# Every expression and statement family of nft 1.0.6 the corpus must cover, by a regex
# on the rule text.  Each needs at least one case nft accepts and one it rejects.
COVERAGE = {
    # payload, per protocol
    "eth": r"\bether (saddr|daddr|type)\b", "vlan": r"\bvlan (id|pcp|dei|cfi|type)\b",
    "arp": r"\barp (htype|ptype|hlen|plen|operation|saddr|daddr)\b", "ip": r"(^|\s)ip (saddr|daddr|ttl|protocol|dscp|length|id|frag-off|version|hdrlength|ecn|checksum)\b",
    "icmp": r"\bicmp (type|code|id|sequence|checksum|gateway|mtu)\b", "igmp": r"\bigmp (type|mrt|checksum|group)\b",
    "ip6": r"\bip6 (saddr|daddr|nexthdr|hoplimit|flowlabel|dscp|ecn|length|version)\b",
    "icmpv6": r"\bicmpv6 (type|code|id|sequence|mtu|checksum|max-delay|taddr|daddr)\b",
    "tcp": r"\btcp (sport|dport|flags|sequence|ackseq|window|checksum|urgptr|doff|reserved)\b",
    "udp": r"\budp (sport|dport|length|checksum)\b", "udplite": r"\budplite (sport|dport|csumcov|checksum)\b",
    "sctp": r"\bsctp (sport|dport|vtag|checksum)\b", "dccp": r"\bdccp (sport|dport|type)\b",
    "ah": r"\bah (nexthdr|hdrlength|reserved|spi|sequence)\b", "esp": r"\besp (spi|sequence)\b",
    "comp": r"\bcomp (nexthdr|flags|cpi)\b", "th": r"\bth (sport|dport)\b",
    "raw @ll": r"@ll,", "raw @nh": r"@nh,", "raw @th": r"@th,",
    # other expressions
    "meta": r"\bmeta \w+", "meta set": r"\bmeta \w+ set\b", "ct": r"\bct (state|status|mark|direction|expiration|helper|zone|label|bytes|packets)\b",
    "ct direction": r"\bct (original|reply) ", "ct set": r"\bct \w+ set\b", "fib": r"\bfib ", "rt": r"(^|\s)rt (classid|nexthop|mtu|ip|ip6|ipsec|tcpmss)\b",
    "exthdr ipv6": r"\b(exthdr|hbh|frag|dst|mh|rt0|rt2|srh) ", "tcp option": r"\btcp option\b",
    "ip option": r"\bip option\b", "sctp chunk": r"\bsctp chunk\b", "socket": r"\bsocket ", "osf": r"\bosf ",
    "numgen": r"\bnumgen ", "jhash": r"\bjhash ", "symhash": r"\bsymhash\b", "ipsec": r"\bipsec ",
    # statements
    "accept/drop": r"\b(accept|drop)$", "jump/goto": r"\b(jump|goto)\b", "continue/return": r"\b(continue|return)$",
    "counter": r"\bcounter\b", "limit": r"\blimit rate\b", "quota": r"\bquota\b", "log": r"\blog\b",
    "reject": r"\breject\b", "snat": r"\bsnat\b", "dnat": r"\bdnat\b", "masquerade": r"\bmasquerade\b",
    "redirect": r"\bredirect\b", "tproxy": r"\btproxy\b", "queue": r"(^|\s)queue(\s|$)", "dup": r"\bdup (to|ip|ip6)\b",
    "fwd": r"\bfwd ", "notrack": r"\bnotrack\b", "payload set": r"\b(ip|ip6|tcp|udp|ether|@nh,\S+|@th,\S+) \S+ set\b",
    "set add/update/delete": r"\b(add|update|delete) @", "synproxy": r"\bsynproxy\b", "flow offload": r"\bflow (add|offload) @",
    "objref": r"\b(counter|quota|limit|synproxy) name\b|\bct (helper|timeout|expectation) set \"",
    "ct count": r"\bct count\b",
    # constructs
    "anonymous set": r"\{ ?[^:{}]+\}", "anonymous map": r"\bmap \{", "verdict map": r"\bvmap\b",
    "concatenation": r"\S \. \S", "range": r"\b\d+-\d+\b", "prefix": r"/\d+\b", "negation": r"!=",
    "bitmask": r"(&|\band\b|\||\bor\b|\^|\bxor\b)", "comment": r"\bcomment \"", "hex number": r"\b0x[0-9a-fA-F]+\b",
    "named set": r"@\w+",
}


def load_records() -> list[dict]:
    recs = []
    for p in sorted(RULES.glob("*.jsonl")):
        with open(p) as f:
            for n, line in enumerate(f, 1):
                assert line.strip(), f"{p.name}:{n}: empty line"
                recs.append(json.loads(line))
    return recs


@pytest.fixture(scope="module")
def records() -> list[dict]:
    if not RULES.is_dir():
        pytest.skip("no generated corpus: run tests/corpus/generate.py")
    return load_records()


def test_records_well_formed(records):
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "ids must be unique"
    for r in records:
        missing = REQUIRED_RULE_KEYS - r.keys()
        assert not missing, (r["id"], missing)
        assert r["family"] in FAMILIES
        assert r["command"] == f"add rule {r['family']} {r['table']} {r['chain']} {r['rule']}"
        assert r["ok"] == (r["exit"] == 0)
        if r["ok"]:
            assert r["stderr"] == "" and r["rejected_by"] is None
            assert "[ " in r["bytecode"] or r["rule"].strip() == "", r["id"]
            if "listing_error" not in r:
                assert LISTING_KEYS <= r.keys(), r["id"]
                assert r["listing_a"].startswith(r["listing"]) and "# handle " in r["listing_a"]
                assert isinstance(r["json"], dict) and r["json"].get("chain") == r["chain"]
                # the text and JSON listings were cut from the same position of the chain
                assert r["listing_a"].endswith(f"# handle {r['json']['handle']}"), r["id"]
                assert r["listing_a"][: -len(f" # handle {r['json']['handle']}")] == r["listing"], r["id"]
        else:
            assert r["rejected_by"] in {"parser", "evaluate", "kernel", "abort", "crash"}
            assert r["stderr"] or r["rejected_by"] == "crash", r["id"]
            if r["rejected_by"] == "kernel":
                assert "Could not process rule" in r["stderr"]
            if r["rejected_by"] == "abort":
                assert r["exit"] == 134


def test_enough_distinct_rules(records):
    assert len({r["rule"] for r in records}) >= 2000
    assert len({r["rule"] for r in records if r["ok"]}) >= 1500
    assert {r["family"] for r in records} == FAMILIES
    for fam in FAMILIES:
        assert any(r["ok"] and r["family"] == fam for r in records), fam
        assert any(not r["ok"] and r["family"] == fam for r in records), fam


def test_kernel_and_nft_rejections_distinguished(records):
    kinds = {r["rejected_by"] for r in records if not r["ok"]}
    assert {"parser", "evaluate", "kernel"} <= kinds


# Features this kernel is built without (CONFIG_NF_FLOW_TABLE, CONFIG_NFT_QUEUE are not
# set): nft accepts the rule, the kernel refuses it.  For these a kernel rejection stands
# in for the accepted case.
KERNEL_LACKS = {"flow offload", "queue"}


@pytest.mark.parametrize("name", sorted(COVERAGE))
def test_coverage(records, name):
    rx = re.compile(COVERAGE[name])
    hits = [r for r in records if rx.search(r["rule"])]
    if name in KERNEL_LACKS:
        assert any(r["rejected_by"] == "kernel" for r in hits), f"{name}: no case nft accepts"
        assert any(r["rejected_by"] in ("parser", "evaluate") for r in hits), f"{name}: no case nft rejects"
        return
    assert any(r["ok"] for r in hits), f"{name}: no accepted case"
    assert any(not r["ok"] for r in hits), f"{name}: no rejected case"


def test_contexts_file():
    ctx = json.loads((GEN / "contexts.json").read_text())
    assert set(ctx) == FAMILIES
    for fam, c in ctx.items():
        assert c["table_decl"][0] == f"add table {fam} {c['table']}"


def test_rulesets():
    files = sorted(RULESETS.glob("*.nft"))
    assert len(files) >= 100
    names = [p.name for p in files]
    assert all(re.fullmatch(r"\d{3}-[a-z0-9-]+\.nft", n) for n in names)
    ok = bad = 0
    for p in files:
        exp = json.loads(p.with_suffix(".expected.json").read_text())
        assert exp["file"] == p.name
        assert exp["ok"] == (exp["exit"] == 0)
        if exp["ok"]:
            ok += 1
            assert {"listing", "listing_snn", "listing_a", "json"} <= exp.keys()
            assert exp["listing"].startswith("table ") or exp["listing"] == ""
            assert "nftables" in exp["json"]
        else:
            bad += 1
            assert exp["stderr"] and exp["rejected_by"]
    assert ok >= 50 and bad >= 25


def test_total_size_reasonable():
    total = sum(p.stat().st_size for p in GEN.rglob("*") if p.is_file())
    assert total < 30 * 1024 * 1024
