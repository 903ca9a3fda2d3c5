"""The ClassBench-style generator: deterministic, parseable, compiled by pkttables and
accepted by the real nft."""

from __future__ import annotations

from pkttables.bench.classbench import generate_acl, generate_rules, generate_trace, parse_acl_rules


def test_deterministic_and_round_trip():
    assert generate_acl(200, 3) == generate_acl(200, 3)
    assert generate_acl(200, 3) != generate_acl(200, 4)
    rules = generate_rules(500, 9)
    assert parse_acl_rules(generate_acl(500, 9)) == rules
    protos = {r.proto for r in rules}
    assert {0, 1, 6, 17} <= protos
    assert any(r.src[1] == 32 for r in rules) and any(r.src[1] == 0 for r in rules)
    assert any(r.dport[0] == r.dport[1] for r in rules) and any(r.sport == (1024, 65535) for r in rules)


def test_trace_locality():
    frames = generate_trace(generate_rules(100, 1), 2000, 5)
    assert len(frames) == 2000
    assert len(set(frames)) < 1900          # Pareto repeats
