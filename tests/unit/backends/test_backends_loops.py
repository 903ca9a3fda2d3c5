"""The incremental jump check (vm.chain.check_new_jumps, used by the commands layer at
commit) against the full check (vm.chain.check_loops) on random chain graphs: loops,
orphan loops that a new jump makes reachable, nesting near NFT_JUMP_STACK_SIZE."""

from __future__ import annotations

import errno

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pkttables.commands import run_text
from pkttables.errors import PktError
from pkttables.model import Ruleset
from pkttables.vm.chain import check_loops, check_new_jumps


def table_text(n: int, edges: list[tuple[str, int]], extra: str = "") -> str:
    """Base chains b0, b1 (input, forward), regular chains c0..c{n-1}; ``edges`` are
    (source chain, target index) jumps (gotos for odd targets)."""
    rules: dict[str, list[str]] = {"b0": [], "b1": []}
    rules.update({f"c{i}": [] for i in range(n)})
    for src, dst in edges:
        rules[src].append(f"{'goto' if dst % 2 else 'jump'} c{dst}")
    out = ["table ip t {"]
    for name, rs in rules.items():
        out.append(f"\tchain {name} {{")
        if name == "b0":
            out.append("\t\ttype filter hook input priority 0; policy accept;")
        elif name == "b1":
            out.append("\t\ttype filter hook forward priority 0; policy accept;")
        out += [f"\t\tip saddr 10.0.0.{k} {r}" for k, r in enumerate(rs)]
        out.append("\t}")
    out.append("}")
    return "\n".join(out) + "\n" + extra


@st.composite
def graph(draw):
    """Mostly forward jumps (c_i -> c_j, i < j: acyclic, so the committed generation
    usually passes), a long path for the depth limit, a few back edges (loops, often in
    chains no base chain reaches yet)."""
    # sizes around the depth limit: a path of 15 jumps below a base chain passes, 16 fail
    n = draw(st.one_of(st.sampled_from([14, 15, 16, 17, 19]), st.integers(1, 19)))
    edges: list[tuple[str, int]] = []
    if draw(st.booleans()):   # a long path c_s -> ... -> c_{n-1}
        s0 = draw(st.one_of(st.integers(0, 2), st.integers(0, n - 1))) % n
        edges += [(f"c{i}", i + 1) for i in range(s0, n - 1)]
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
    for i, j in draw(st.lists(pairs, max_size=10)):
        if i < j:
            edges.append((f"c{i}", j))
    for i, j in draw(st.lists(pairs, max_size=2)):
        edges.append((f"c{max(i, j)}", min(i, j)))          # back edge (or self jump)
    for b, j in draw(st.lists(st.tuples(st.sampled_from(["b0", "b1"]), st.integers(0, n - 1)), max_size=3)):
        edges.append((b, j))
    return n, edges


def loads(text: str, base: Ruleset | None = None):
    """The ruleset, or the errno of the refusal."""
    try:
        return run_text(text, base if base is not None else Ruleset()).ruleset
    except PktError as e:
        return getattr(e, "errno", None) or "error"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph(), st.sampled_from(["b0", "b1"]), st.data())
def test_incremental_equals_full_check(g, src, data):
    n, edges = g
    rs = loads(table_text(n, edges))
    assume(isinstance(rs, Ruleset))            # the committed generation passed the full check
    assert not check_loops(rs)
    dst = data.draw(st.one_of(st.integers(0, 2), st.integers(0, n - 1))) % n
    new = loads(table_text(n, edges + [(src, dst)]))
    if isinstance(new, Ruleset):
        full = bool(check_loops(new))
        assert not full
    else:
        assert new == errno.EMLINK
        full = True
    if not full:
        assert check_new_jumps(new, [("ip", "t", src, f"c{dst}")]) is False
    # one rule added to the committed generation: the commands layer's incremental path
    inc = loads(f"add rule ip t {src} {'goto' if dst % 2 else 'jump'} c{dst}\n", rs)
    assert (inc == errno.EMLINK) == full, (n, edges, src, dst)


def test_incremental_finds_loops_and_depth_directly():
    # orphan loop c0 <-> c1: fine until a base chain reaches it
    rs = loads(table_text(2, [("c0", 1), ("c1", 0)]))
    assert isinstance(rs, Ruleset)
    assert check_new_jumps(rs, [("ip", "t", "b0", "c0")]) is True
    # a path of 15 jumps below b0 is the deepest allowed; 16 is too deep
    for k, want in ((15, False), (16, True)):
        edges = [(f"c{i}", i + 1) for i in range(k - 1)]
        rs = loads(table_text(k, edges))
        assert check_new_jumps(rs, [("ip", "t", "b0", "c0")]) is want
        assert not check_loops(rs)
    # a source that is a regular chain: decided from the base chains that reach it
    # (none here: nothing is walked, as in check_loops)
    rs = loads(table_text(3, []))
    assert check_new_jumps(rs, [("ip", "t", "c0", "c1")]) is False


@pytest.mark.parametrize("k,ok", [(15, True), (16, False)])
def test_commit_depth_limit_through_commands(k, ok):
    rs = loads(table_text(k, [(f"c{i}", i + 1) for i in range(k - 1)]))
    got = loads("add rule ip t b1 jump c0\n", rs)
    assert isinstance(got, Ruleset) == ok
    if not ok:
        assert got == errno.EMLINK


def test_commit_of_a_jump_from_a_base_chain_skips_the_full_walk(monkeypatch):
    import pkttables.vm.chain as chain

    rs = loads(table_text(4, [("c0", 1), ("c1", 2)]))

    def full(_rs):
        raise AssertionError("the full check walked the table")

    monkeypatch.setattr(chain, "check_loops", full)
    assert isinstance(loads("add rule ip t b0 jump c0\n", rs), Ruleset)
    assert loads("add rule ip t b0 jump c3\n", rs) != errno.EMLINK
    # a jump from a regular chain: only the base chains reaching it are walked
    assert isinstance(loads("add rule ip t c2 jump c3\n", rs), Ruleset)


HOOKED = """table ip t {
	chain bi {
		type filter hook input priority 0; policy accept;
		jump c0
	}
	chain bo {
		type filter hook output priority 0; policy accept;
	}
	chain c0 {
		ip saddr 10.0.0.1 jump c1
	}
	chain c1 {
		meta secpath exists accept
	}
	chain c2 {
		ip saddr 10.0.0.2 accept
	}
}
"""


@pytest.mark.parametrize("rule,refused", [
    ("add rule ip t bo jump c0", True),        # c1's secpath is not allowed at output
    ("add rule ip t bo jump c2", False),
    ("add rule ip t bi jump c1", False),       # input allows it
    ("add rule ip t c2 jump c1", False),       # a regular chain: the whole-table check
    ("add rule ip t bo ip daddr 10.0.0.3 goto c1", True),
])
def test_hook_check_of_a_new_jump_equals_the_full_load(rule, refused):
    """nft_chain_validate_hooks through the new jump only (check_hooks_from) gives the
    answer of loading the whole ruleset with the rule in it."""
    base = loads(HOOKED)
    assert isinstance(base, Ruleset)
    inc = loads(rule + "\n", base)
    full = loads(HOOKED + rule + "\n")
    assert isinstance(inc, Ruleset) != refused
    assert isinstance(full, Ruleset) != refused
    if refused:
        assert inc == full == errno.EOPNOTSUPP
