"""The executor against the model: handles, positions, atomicity, deletes, sets, objects."""

from __future__ import annotations

import json

import pytest

from pkttables.commands import CommandError, NotAvailable, Options, run_text
from pkttables.errors import EvalError, PktError
from pkttables.model import Ruleset


def run(text, base=None, **kw):
    return run_text(text, base or Ruleset(), Options(**kw)).ruleset


def test_handles_follow_the_kernel():
    rs = run("add table inet t; add chain inet t c; add rule inet t c accept; add chain inet t d")
    t = rs.table("inet", "t")
    assert t.handle == 1
    assert rs.chain("inet", "t", "c").handle == 1
    assert rs.chain("inet", "t", "c").rules[0].handle == 2
    assert rs.chain("inet", "t", "d").handle == 3
    assert rs.generation == 1


def test_one_batch_one_generation_and_failed_batch_changes_nothing():
    rs = run("add table inet t; add chain inet t c")
    with pytest.raises(CommandError):
        run("add rule inet t c accept; add rule inet t nosuch accept", rs)
    assert rs.chain("inet", "t", "c").rules == []
    rs2 = run("add rule inet t c accept; add rule inet t c drop", rs)
    assert rs2.generation == rs.generation + 1
    assert len(rs2.chain("inet", "t", "c").rules) == 2
    assert rs.chain("inet", "t", "c").rules == []  # the old generation is untouched


def test_positions_insert_replace_delete():
    rs = run("add table ip t; add chain ip t c; add rule ip t c accept; add rule ip t c drop")
    c = rs.chain("ip", "t", "c")
    first, second = (r.handle for r in c.rules)
    rs = run(f"add rule ip t c position {first} counter", rs)
    assert [r.handle for r in rs.chain("ip", "t", "c").rules] == [first, 4, second]
    rs = run(f"insert rule ip t c position {first} continue", rs)
    assert [r.handle for r in rs.chain("ip", "t", "c").rules] == [5, first, 4, second]
    rs = run("insert rule ip t c index 0 return", rs)
    assert rs.chain("ip", "t", "c").rules[0].handle == 6
    rs = run(f"replace rule ip t c handle {second} accept", rs)
    # the replacement keeps the handle and takes none (nft 1.0.6 on 6.18, cli2 goldens)
    assert rs.chain("ip", "t", "c").rules[-1].handle == second
    assert rs.table("ip", "t").next_handle == 7
    rs = run(f"delete rule ip t c handle {second}", rs)
    assert second not in [r.handle for r in rs.chain("ip", "t", "c").rules]


def test_base_chain_priority_policy_and_update():
    rs = run("add table inet t { chain b { type filter hook input priority filter + 5; policy drop; }; }")
    h = rs.chain("inet", "t", "b").hook
    assert (h.type, h.hook, h.priority, h.policy) == ("filter", "input", 5, "drop")
    rs = run("add chain inet t b { type filter hook input priority 5; policy accept; }", rs)
    assert rs.chain("inet", "t", "b").hook.policy == "accept"
    rs = run("add table bridge b { chain p { type filter hook prerouting priority dstnat; }; }")
    assert rs.chain("bridge", "b", "p").hook.priority == -300


def test_delete_chain_flushes_its_rules_unless_jumped_to():
    rs = run("add table ip t; add chain ip t c; add chain ip t d; add rule ip t d accept")
    rs = run("delete chain ip t d", rs)
    assert "d" not in rs.table("ip", "t").chains
    rs = run("add chain ip t d; add rule ip t c jump d", rs)
    with pytest.raises(CommandError) as ei:
        run("delete chain ip t d", rs)
    assert ei.value.errno == 16
    rs = run("flush chain ip t c; delete chain ip t d", rs)
    assert "d" not in rs.table("ip", "t").chains


def test_rename_and_flush_ruleset():
    rs = run("add table ip t; add chain ip t c; rename chain ip t c e")
    assert list(rs.table("ip", "t").chains) == ["e"]
    rs = run("add table ip6 u; flush ruleset ip6", rs)
    assert list(rs.tables) == [("ip", "t")]
    assert run("flush ruleset", rs).tables == {}


def test_sets_elements_objects_flowtables():
    rs = run("add table inet t { set s { type ipv4_addr; flags interval; timeout 1m; "
             "elements = { 10.0.0.0/8, 1.2.3.4 timeout 30s } }\n"
             " counter k { packets 1 bytes 2; }\n"
             " flowtable f { hook ingress priority filter; devices = { lo }; }\n}")
    t = rs.table("inet", "t")
    s = t.sets["s"]
    # a default timeout makes it a timeout set (the kernel's flags); intervals sorted by
    # their low end, in kernel form (register bytes, inclusive upper bounds)
    assert s.flags == frozenset({"interval", "timeout"}) and s.timeout == 60000
    assert s.key_type == ("ipv4_addr",) and s.key_len == (32,)
    assert [(e.key, e.key_end) for e in s.elements] == [(bytes([1, 2, 3, 4]), bytes([1, 2, 3, 4])),
                                                        (bytes([10, 0, 0, 0]), bytes([10, 255, 255, 255]))]
    assert [e.timeout for e in s.elements] == [30000, None]
    assert ("counter", "k") in t.objects and t.flowtables["f"].devices == ("lo",)
    rs = run("add element inet t s { 5.6.7.8 }; delete element inet t s { 1.2.3.4 }", rs)
    assert len(rs.table("inet", "t").sets["s"].elements) == 2
    with pytest.raises(CommandError):
        run("delete element inet t s { 9.9.9.9 }", rs)
    with pytest.raises(CommandError):
        run("create element inet t s { 5.6.7.8 }", rs)
    rs = run("flush set inet t s; delete counter inet t k; delete flowtable inet t f", rs)
    t = rs.table("inet", "t")
    assert t.sets["s"].elements == [] and not t.objects and not t.flowtables
    m = run("add table ip t; add map ip t m { type ipv4_addr : verdict; }").table("ip", "t").sets["m"]
    assert m.is_map and m.data_type == ("verdict",)


def test_delete_by_handle():
    rs = run("add table ip t; add set ip t s { type ipv4_addr; }; add chain ip t c")
    rs = run("delete set ip t handle 1; delete chain ip t handle 2; delete table handle 1", rs)
    assert rs.tables == {}


def test_dry_run_and_errors_are_pkterrors():
    base = run("add table ip t")
    r = run_text("add chain ip t c", base, Options(dry_run=True))
    assert r.ruleset is base and not r.changed
    with pytest.raises(EvalError):
        run("add set ip t s { type nosuchtype; }", base)
    assert run_text("list ruleset", base).output == "table ip t {\n}\n"
    out = run_text("list ruleset", base, Options(flags={"json"})).output
    assert json.loads(out)["nftables"][1] == {"table": {"family": "ip", "name": "t", "handle": 1}}


def test_debug_netlink_output_when_compile_is_available():
    from pkttables.commands import compile_available
    r = run_text("add table ip t; add chain ip t c; add rule ip t c tcp dport 22 accept",
                 Ruleset(), Options(debug={"netlink"}))
    if not compile_available():
        assert r.output == ""
        return
    assert r.output.startswith("ip t c\n  [ meta load l4proto => reg 1 ]\n")
    assert "[ cmp eq reg 1 0x00001600 ]" in r.output and r.output.endswith("accept ]\n\n")


def test_vars_define():
    rs = run_text("add table ip t; add chain ip t c; add rule ip t c tcp dport $p accept", Ruleset(),
                  Options(vars={"p": "22"})).ruleset
    assert len(rs.chain("ip", "t", "c").rules) == 1
    with pytest.raises(PktError):
        run("add table ip t; add chain ip t c; add rule ip t c tcp dport $p accept")


def test_hook_checks_run_at_commit_not_in_check_mode():
    # nft 1.0.6 on Linux 6.18: `nft -c` accepts fib daddr oif in an output chain, `nft -f` refuses it.
    text = 'add table ip t; add chain ip t o { type filter hook output priority 0; }; add rule ip t o fib daddr oif "lo" counter'
    assert run_text(text, Ruleset(), Options(dry_run=True)).changed is False
    with pytest.raises(PktError) as e:
        run_text(text, Ruleset())
    assert "Could not process rule: Operation not supported" in str(e.value)
