"""Transactions: atomic, copy-on-write, handles as the kernel allocates them."""

import errno

import pytest
from hypothesis import given, settings, strategies as st

from pkttables.model import Hook, ModelError, Ruleset, Set, Transaction
from pkttables.model.objects import Flowtable, StatefulObject


def build() -> Ruleset:
    tx = Transaction(Ruleset())
    tx.add_table("inet", "filter")
    tx.add_chain("inet", "filter", "input", hook=Hook("filter", "input", 0, policy="accept"))
    tx.add_chain("inet", "filter", "other")
    tx.add_rule("inet", "filter", "input", ("r1",))
    tx.add_rule("inet", "filter", "input", ("r2",))
    return tx.commit()


def test_handles_are_per_table_and_shared_by_chains_and_rules():
    rs = build()
    t = rs.table("inet", "filter")
    assert t.handle == 1
    assert [t.chains["input"].handle, t.chains["other"].handle] == [1, 2]
    assert [r.handle for r in t.chains["input"].rules] == [3, 4]
    tx = Transaction(rs)
    tx.add_table("ip", "nat")
    s = tx.add_set("inet", "filter", Set("s", 0, "ipv4_addr"))
    assert s.handle == 5
    assert tx.commit().table("ip", "nat").handle == 2


def test_commit_never_changes_the_base_generation():
    rs = build()
    before = [r.stmts for r in rs.chain("inet", "filter", "input").rules]
    tx = Transaction(rs)
    tx.add_rule("inet", "filter", "input", ("r3",), insert=True)
    tx.add_chain("inet", "filter", "input", hook=Hook("filter", "input", 0, policy="drop"))
    tx.flush_chain("inet", "filter", "other")
    new = tx.commit()
    assert [r.stmts for r in rs.chain("inet", "filter", "input").rules] == before
    assert rs.chain("inet", "filter", "input").hook.policy == "accept"
    assert new.chain("inet", "filter", "input").hook.policy == "drop"
    assert [r.stmts for r in new.chain("inet", "filter", "input").rules] == [("r3",), ("r1",), ("r2",)]
    assert new.generation == rs.generation + 1


def test_positions_and_indexes():
    rs = build()
    tx = Transaction(rs)
    h1, h2 = [r.handle for r in rs.chain("inet", "filter", "input").rules]
    tx.add_rule("inet", "filter", "input", ("after1",), position=h1)
    tx.add_rule("inet", "filter", "input", ("before1",), position=h1, insert=True)
    tx.add_rule("inet", "filter", "input", ("idx0",), index=0, insert=True)
    tx.replace_rule("inet", "filter", "input", h2, ("r2b",))
    rules = tx.commit().chain("inet", "filter", "input").rules
    assert [r.stmts[0] for r in rules] == ["idx0", "before1", "r1", "after1", "r2b"]
    assert rules[-1].handle == h2  # replace keeps the handle, as the kernel does


@pytest.mark.parametrize("op, err", [
    (lambda tx: tx.add_table("inet", "filter", create=True), errno.EEXIST),
    (lambda tx: tx.delete_table("ip", "nope"), errno.ENOENT),
    (lambda tx: tx.add_rule("inet", "filter", "nope", ()), errno.ENOENT),
    (lambda tx: tx.delete_chain("inet", "filter", "nope"), errno.ENOENT),
    (lambda tx: tx.delete_rule("inet", "filter", "input", 99), errno.ENOENT),
    (lambda tx: tx.add_rule("inet", "filter", "input", (), position=99), errno.ENOENT),
    (lambda tx: tx.add_chain("inet", "filter", "other", hook=Hook("nat", "input", 0)), errno.EOPNOTSUPP),
    (lambda tx: tx.delete_set("inet", "filter", "nope"), errno.ENOENT),
    (lambda tx: tx.add_elements("inet", "filter", "nope", []), errno.ENOENT),
    (lambda tx: tx.delete_object("inet", "filter", "counter", "nope"), errno.ENOENT),
    (lambda tx: tx.delete_flowtable("inet", "filter", "nope"), errno.ENOENT),
    (lambda tx: [tx.add_flowtable("inet", "filter", Flowtable("f", 0)),
                 tx.add_flowtable("inet", "filter", Flowtable("f", 0), create=True)], errno.EEXIST),
    (lambda tx: [tx.add_object("inet", "filter", StatefulObject("counter", "c", 0, {})),
                 tx.add_object("inet", "filter", StatefulObject("counter", "c", 0, {}), create=True)],
     errno.EEXIST),
])
def test_errors_carry_the_kernels_errno(op, err):
    with pytest.raises(ModelError) as e:
        op(Transaction(build()))
    assert e.value.errno == err


def test_destroy_is_silent_when_missing():
    tx = Transaction(build())
    tx.delete_table("ip", "nope", destroy=True)
    tx.delete_rule("inet", "filter", "input", 99, destroy=True)
    tx.delete_set("inet", "filter", "nope", destroy=True)
    tx.delete_object("inet", "filter", "counter", "nope", destroy=True)
    tx.delete_flowtable("inet", "filter", "nope", destroy=True)


def test_objects_and_flowtables_add_keeps_the_existing_one_and_delete_removes():
    tx = Transaction(build())
    c = tx.add_object("inet", "filter", StatefulObject("counter", "c", 0, {"packets": 1}))
    ft = tx.add_flowtable("inet", "filter", Flowtable("f", 0))
    assert (c.handle, ft.handle) == (5, 6)      # the table's next handles, after 2 chains + 2 rules
    assert tx.add_object("inet", "filter", StatefulObject("counter", "c", 0, {})) is c
    assert tx.add_flowtable("inet", "filter", Flowtable("f", 0)) is ft
    tx.delete_object("inet", "filter", "counter", "c")
    tx.delete_flowtable("inet", "filter", "f")
    t = tx.commit().table("inet", "filter")
    assert not t.objects and not t.flowtables


def test_a_committed_transaction_cannot_be_reused():
    tx = Transaction(build())
    tx.commit()
    with pytest.raises(RuntimeError):
        tx.add_rule("inet", "filter", "input", ())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "insert", "delete", "flush"]), st.integers(0, 5)), max_size=30))
def test_random_batches_match_a_list_model_and_leave_the_base_alone(ops):
    rs = build()
    snapshot = [(r.handle, r.stmts) for r in rs.chain("inet", "filter", "input").rules]
    tx = Transaction(rs)
    model = list(snapshot)
    for op, arg in ops:
        if op == "add":
            r = tx.add_rule("inet", "filter", "input", (arg,))
            model.append((r.handle, (arg,)))
        elif op == "insert":
            r = tx.add_rule("inet", "filter", "input", (arg,), insert=True)
            model.insert(0, (r.handle, (arg,)))
        elif op == "delete" and model:
            h = model.pop(arg % len(model))[0]
            tx.delete_rule("inet", "filter", "input", h)
        elif op == "flush":
            tx.flush_chain("inet", "filter", "input")
            model.clear()
    new = tx.commit()
    assert [(r.handle, r.stmts) for r in new.chain("inet", "filter", "input").rules] == model
    assert [(r.handle, r.stmts) for r in rs.chain("inet", "filter", "input").rules] == snapshot


def test_deleting_a_chain_takes_its_rules_along():
    tx = Transaction(build())
    tx.delete_chain("inet", "filter", "input")
    assert "input" not in tx.commit().table("inet", "filter").chains


def test_an_aborted_transaction_still_uses_up_handles_like_the_kernel():
    rs = build()
    tx = Transaction(rs)
    tx.add_rule("inet", "filter", "input", ("lost",))
    tx.add_table("ip", "lost")
    del tx  # aborted: nothing committed
    assert [r.stmts for r in rs.chain("inet", "filter", "input").rules] == [("r1",), ("r2",)]
    tx = Transaction(rs)
    assert tx.add_rule("inet", "filter", "input", ("kept",)).handle == 6
    assert tx.add_table("ip", "nat").handle == 3
