"""The commit's jump check for jumps added in *regular* chains (vm.chain.check_new_jumps
walks only from the base chains that reach the new jumps' sources) against the full
check (vm.chain.check_loops over the whole table), on random chain graphs."""

from __future__ import annotations

import errno
from unittest import mock

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import pkttables.vm.chain as chain
from pkttables.model import Ruleset
from pkttables.vm.chain import bases_reaching, check_loops, check_new_jumps, jump_edges
from test_backends_loops import graph, loads, table_text


def _rule(src: str, dst: int) -> str:
    return f"add rule ip t {src} {'goto' if dst % 2 else 'jump'} c{dst}\n"


def _full(text: str, base: Ruleset | None = None):
    """``loads`` with the incremental check switched off: the commands layer then runs
    check_loops over the touched tables (the path every batch took before)."""
    with mock.patch.object(chain, "check_new_jumps", lambda *a, **k: None):
        return loads(text, base)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph(), st.data())
def test_jumps_from_regular_chains_equal_the_full_check(g, data):
    n, edges = g
    rs = loads(table_text(n, edges))
    assume(isinstance(rs, Ruleset))
    assert not check_loops(rs)
    # one to three new jumps in one batch, mostly from regular chains
    srcs = st.one_of(st.sampled_from([f"c{i}" for i in range(n)]), st.sampled_from(["b0", "b1"]))
    new = data.draw(st.lists(st.tuples(srcs, st.integers(0, n - 1)), min_size=1, max_size=3))
    batch = "".join(_rule(s, d) for s, d in new)
    inc = loads(batch, rs)
    full = _full(batch, rs)
    whole = _full(table_text(n, edges + new))
    assert (inc == errno.EMLINK) == (full == errno.EMLINK) == (whole == errno.EMLINK), (n, edges, new)
    if isinstance(full, Ruleset):
        assert not check_loops(full)
        assert check_new_jumps(full, [("ip", "t", s, f"c{d}") for s, d in new]) is False
    else:
        assert full == errno.EMLINK


def test_regular_chain_jump_walks_only_the_bases_reaching_it(monkeypatch):
    # b0 -> c0 -> c1; c2 is reached by nothing: a jump from c2 cannot fail, however deep
    rs = loads(table_text(20, [("b0", 0), ("c0", 1)] + [(f"c{i}", i + 1) for i in range(3, 19)]))
    assert isinstance(rs, Ruleset)
    t = rs.tables[("ip", "t")]
    e = jump_edges(t, "ip", "t")
    assert bases_reaching(t, e, {"c1"}) == ["b0"]
    assert bases_reaching(t, e, {"c2"}) == []

    def full(_rs):
        raise AssertionError("the full check walked the table")

    monkeypatch.setattr(chain, "check_loops", full)
    # c2 -> c3 (a 16-deep path below c3) is fine while no base chain reaches c2 ...
    assert isinstance(loads("add rule ip t c2 jump c3\n", rs), Ruleset)
    # ... and too deep once b0 -> c0 -> c1 reaches it: 2 + 1 + 16 levels
    assert loads("add rule ip t c1 jump c3\n", rs) == errno.EMLINK
    # a loop closed in a regular chain under a base chain
    assert loads("add rule ip t c1 jump c0\n", rs) == errno.EMLINK


def test_jump_edges_reads_vmaps():
    rs = loads("table ip t {\n chain b { type filter hook input priority 0; ip saddr 1.1.1.1 counter;"
               " tcp dport vmap { 22 : jump c0, 23 : goto c1 }; }\n chain c0 { counter; }\n"
               " chain c1 { jump c0; }\n}\n")
    assert isinstance(rs, Ruleset)
    e = jump_edges(rs.tables[("ip", "t")], "ip", "t")
    assert sorted(e["b"]) == ["c0", "c1"] and e["c1"] == ["c0"] and "c0" not in e


import pytest  # noqa: E402


@pytest.mark.parametrize("k", [14, 15, 16, 17])
@pytest.mark.parametrize("gap", [0, 7, 13])
def test_depth_limit_closed_by_a_regular_chain(k, gap):
    """b0 -> c0 -> ... -> c{k-1} with one missing edge c{g} -> c{g+1}, added by the
    batch: the deepest chain is at level k; NFT_JUMP_STACK_SIZE 16 refuses k >= 16."""
    g = gap % (k - 1)
    path = [("b0", 0)] + [(f"c{i}", i + 1) for i in range(k - 1) if i != g]
    rs = loads(table_text(k, path))
    assert isinstance(rs, Ruleset)
    got = loads(f"add rule ip t c{g} jump c{g + 1}\n", rs)
    full = _full(table_text(k, path + [(f"c{g}", g + 1)]))
    assert (got == errno.EMLINK) == (full == errno.EMLINK) == (k >= 16)


# ---------------------------------------------------------------- hooks (EOPNOTSUPP)
def hooked_text(n: int, edges: list[tuple[str, int]], secpath: set[str]) -> str:
    """Base chains b0 (input: ``meta secpath`` allowed) and b1 (output: refused,
    nft_meta_get_validate), regular chains c0..c{n-1}; ``secpath``: chains holding a
    ``meta secpath exists`` rule."""
    rules: dict[str, list[str]] = {"b0": [], "b1": [], **{f"c{i}": [] for i in range(n)}}
    for src, dst in edges:
        rules[src].append(f"jump c{dst}")
    for c in secpath:
        rules[c].append("meta secpath exists accept")
    out = ["table ip t {"]
    for name, rs in rules.items():
        out.append(f"\tchain {name} {{")
        if name in ("b0", "b1"):
            out.append(f"\t\ttype filter hook {'input' if name == 'b0' else 'output'} priority 0;")
        out += [f"\t\tip saddr 10.0.0.{k} {r}" for k, r in enumerate(rs)]
        out.append("\t}")
    out.append("}")
    return "\n".join(out) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 8), st.data())
def test_hook_check_of_regular_chain_rules_equals_the_full_check(n, data):
    chains = [f"c{i}" for i in range(n)]
    fwd = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).map(lambda p: (min(p), max(p)))
    edges = [(f"c{i}", j) for i, j in data.draw(st.lists(fwd, max_size=8)) if i < j]
    edges += [(b, j) for b, j in data.draw(st.lists(st.tuples(st.sampled_from(["b0", "b1"]),
                                                              st.integers(0, n - 1)), max_size=3))]
    sp = set(data.draw(st.lists(st.sampled_from(chains), max_size=3)))
    rs = loads(hooked_text(n, edges, sp))
    assume(isinstance(rs, Ruleset))
    src = data.draw(st.sampled_from(chains))
    if data.draw(st.booleans()):
        dst = data.draw(st.integers(0, n - 1))
        assume(f"c{dst}" != src)
        rule, edges2, sp2 = f"add rule ip t {src} jump c{dst}\n", edges + [(src, dst)], sp
    else:
        rule, edges2, sp2 = f"add rule ip t {src} meta secpath exists accept\n", edges, sp | {src}
    inc = loads(rule, rs)
    # the oracle, on the graph itself: b1 (output) reaches a secpath chain, or a base
    # chain reaches a cycle (paths here are far shorter than 16)
    succ: dict[str, set[str]] = {}
    for a, b in edges2:
        succ.setdefault(a, set()).add(f"c{b}")

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            c = todo.pop()
            for x in succ.get(c, ()):
                if x not in seen:
                    seen.add(x)
                    todo.append(x)
        return seen

    hooks_bad = bool(reach("b1") & sp2)
    loop_bad = any(c in reach(c) for b in ("b0", "b1") for c in reach(b))
    assert (inc in (errno.EOPNOTSUPP, errno.EMLINK)) == (hooks_bad or loop_bad), (n, edges, sp, rule)
    if not loop_bad:
        assert (inc == errno.EOPNOTSUPP) == hooks_bad
    # and the whole text loaded at once agrees
    assert isinstance(loads(hooked_text(n, edges2, sp2)), Ruleset) == (not (hooks_bad or loop_bad))
