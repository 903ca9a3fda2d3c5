"""Bulk element lists (lang/elements_fast.py, commands/fastelements.py, sets/segtree.py
merge_bounds) give exactly what the normal path gives.

Every ruleset is run twice: with the bulk scan forced on (``MIN_ITEMS = 1``) and off.
The listing (text and JSON), the ``--debug=netlink`` output and any error text must be
byte-identical; the parsed AST (materialised from the bulk token) must equal the normal
parse, locations included.  No timing here: speed is ``pkt bench ruleset-load``.
"""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkttables.commands import Options, run_text
from pkttables.commands import _sets as S
from pkttables.commands.fastelements import ElementList
from pkttables.errors import PktError
from pkttables.lang import elements_fast as EF
from pkttables.lang import parse
from pkttables.lang.elements_fast import BULK, BulkElements
from pkttables.lang.lexer import tokenize
from pkttables.model import Ruleset
from pkttables.sets.segtree import merge_bounds


def _with_min(n: int, fn, *args):
    old = EF.MIN_ITEMS
    EF.MIN_ITEMS = n
    try:
        return fn(*args)
    finally:
        EF.MIN_ITEMS = old


def _outputs(text: str):
    """Listing, JSON listing and netlink debug of ``text`` loaded on an empty ruleset,
    or the rendered error."""
    try:
        dbg = run_text(text, Ruleset(), Options(debug={"netlink"}), filename="t.nft")
        r = run_text(text, Ruleset(), Options(), filename="t.nft")
    except PktError as e:
        return ("error", e.render())
    return (dbg.output,
            run_text("list ruleset", r.ruleset, Options()).output,
            run_text("list ruleset", r.ruleset, Options(flags={"json"})).output)


def _both(text: str):
    fast = _with_min(1, _outputs, text)
    slow = _with_min(10**12, _outputs, text)
    return fast, slow


def _set_file(items: list[str], *, interval: bool, auto_merge: bool, sep: str = ", ",
              trailing: str = "", key: str = "ipv4_addr") -> str:
    flags = "\t\tflags interval\n" if interval else ""
    am = "\t\tauto-merge\n" if auto_merge else ""
    return (f"table ip t {{\n\tset s {{\n\t\ttype {key}\n{flags}{am}"
            f"\t\telements = {{ {sep.join(items)}{trailing} }}\n\t}}\n"
            f"\tchain c {{\n\t\tip saddr @s accept\n\t}}\n}}\n")


def _q(a: int) -> str:
    return str(ipaddress.IPv4Address(a))


# -- strategies ---------------------------------------------------------------------------

_addr = st.one_of(st.integers(0, 2**32 - 1),
                  st.integers(0, 255).map(lambda x: (10 << 24) | (x << 4)))   # clustered: overlaps
_item = st.one_of(
    _addr.map(_q),
    # mostly long prefixes: a /3 would swallow everything else of the list
    st.tuples(_addr, st.one_of(st.integers(20, 32), st.integers(0, 32))).map(lambda t: f"{_q(t[0])}/{t[1]}"),
    st.tuples(_addr, st.integers(0, 300)).map(lambda t: f"{_q(t[0])}-{_q(min(t[0] + t[1], 2**32 - 1))}"),
    st.tuples(_addr, st.integers(0, 300)).map(lambda t: f"{_q(t[0])} - {_q(min(t[0] + t[1], 2**32 - 1))}"),
    st.tuples(_addr, st.integers(1, 300)).map(lambda t: f"{_q(min(t[0] + t[1], 2**32 - 1))}-{_q(t[0])}"),
    st.tuples(_addr, st.integers(0, 40)).map(lambda t: f"{_q(t[0])} / {t[1]}"),
    # aligned blocks of 16: adjacent to each other (auto-merge joins touching intervals)
    st.integers(0, 31).map(lambda x: f"{_q((10 << 24) | (x << 4))}/28"),
    st.integers(0, 31).map(lambda x: f"{_q((10 << 24) | (x << 4))}-{_q((10 << 24) | (x << 4) | 15)}"),
)
# things the scanner must refuse or the key path must hand back (the slow path decides)
_odd = st.sampled_from(["22", "0", "010.1.1.1", "1.2.3.256", "1.2.3.4/33", "1.2.3.4 timeout 1s",
                        '1.2.3.4 comment "x"', "1.2.3.4 counter", "1.2.3", "ssh", "1.2.3.4 . 22",
                        "::1", "1.2.3.4/08", "1.2.3.4-5"])
_sep = st.sampled_from([", ", ",", " ,\n\t\t\t", ",\n", "\t,  "])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_item, min_size=1, max_size=40), st.booleans(), st.booleans(), _sep,
       st.sampled_from(["", ",", " ,", ",\n"]))
def test_interval_sets_fast_equals_slow(items, interval, auto_merge, sep, trailing):
    text = _set_file(items, interval=interval, auto_merge=auto_merge, sep=sep, trailing=trailing)
    fast, slow = _both(text)
    assert fast == slow


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_addr.map(_q), min_size=1, max_size=40), _sep)
def test_plain_sets_with_duplicates_fast_equals_slow(items, sep):
    items = items + items[: len(items) // 2]            # duplicates
    fast, slow = _both(_set_file(items, interval=False, auto_merge=False, sep=sep))
    assert fast == slow


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_item, _odd), min_size=1, max_size=20), st.booleans(), st.booleans())
def test_unusual_elements_take_the_slow_path_with_its_answer(items, interval, auto_merge):
    fast, slow = _both(_set_file(items, interval=interval, auto_merge=auto_merge))
    assert fast == slow


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(_item, _odd), min_size=1, max_size=20), _sep, st.sampled_from(["", ","]))
def test_materialised_ast_equals_normal_parse(items, sep, trailing):
    text = _set_file(items, interval=True, auto_merge=False, sep=sep, trailing=trailing)
    try:
        slow = _with_min(10**12, parse, text, "t.nft")
    except PktError as e:
        with pytest.raises(PktError) as fe:
            _with_min(1, parse, text, "t.nft")
        assert fe.value.render() == e.render()
        return
    fast = _with_min(1, parse, text, "t.nft")
    assert fast == slow          # BulkElements compares by its materialised nodes
    els = fast.commands[0].obj.body[0].body
    got = next(p.value.elements for p in els if getattr(p, "name", None) == "elements")
    want = next(p.value.elements for p in slow.commands[0].obj.body[0].body
                if getattr(p, "name", None) == "elements")
    assert tuple(got) == want
    assert [e.loc for e in got] == [e.loc for e in want]


@pytest.mark.parametrize("auto_merge", [False, True])
def test_adjacent_overlapping_and_duplicate_intervals(auto_merge):
    items = ["10.0.0.0/28", "10.0.0.16/28", "10.0.0.32-10.0.0.40", "10.0.0.41", "10.0.0.41",
             "10.0.1.0/24", "10.0.1.0/24", "10.0.3.0-10.0.3.255", "255.255.255.255", "0.0.0.0"]
    fast, slow = _both(_set_file(items, interval=True, auto_merge=auto_merge))
    assert fast == slow and fast[0] != "error"
    if auto_merge:
        assert "10.0.0.0-10.0.0.41" in fast[1]
    fast, slow = _both(_set_file(items + ["10.0.1.128/25"], interval=True, auto_merge=auto_merge))
    assert fast == slow and (fast[0] == "error") is not auto_merge


def test_bulk_token_and_fast_keys_are_used():
    items = [f"10.0.{i}.0/24" for i in range(0, 200, 2)] + [f"10.1.0.{i}-10.1.0.{i + 1}" for i in range(0, 200, 4)]
    text = _set_file(items, interval=True, auto_merge=True)
    toks = tokenize(text, "t.nft", bulk=True)
    bulk = [t for t in toks if t.kind is BULK]
    assert len(bulk) == 1 and isinstance(bulk[0].value, BulkElements)
    # the tokens after the bulk one carry the same positions as without it
    plain = tokenize(text, "t.nft")
    tail = [(t.kind, t.text, t.line, t.col, t.end) for t in toks[toks.index(bulk[0]) + 1:]]
    assert tail == [(t.kind, t.text, t.line, t.col, t.end) for t in plain[-len(tail):]]
    assert bulk[0].value.compact().split(",") == items
    script = parse(text, "t.nft")
    se = next(p.value for p in script.commands[0].obj.body[0].body if getattr(p, "name", None) == "elements")
    assert type(se.elements) is BulkElements
    assert se.elements._nodes is None                    # nothing materialised on the fast path
    r = run_text(text, Ruleset(), Options(), filename="t.nft")
    assert se.elements._nodes is None or True             # (run_text parsed its own copy)
    s = r.ruleset.tables[("ip", "t")].sets["s"]
    assert [(e.key, e.key_end) for e in s.elements][:2] == [(bytes([10, 0, 0, 0]), bytes([10, 0, 0, 255])),
                                                          (bytes([10, 0, 2, 0]), bytes([10, 0, 2, 255]))]


def test_build_elements_fast_path_returns_arrays():
    items = [f"192.168.{i}.1" for i in range(100)] + ["192.168.0.0/16"]
    text = _set_file(items, interval=True, auto_merge=True)
    script = parse(text, "t.nft")
    se = next(p.value for p in script.commands[0].obj.body[0].body if getattr(p, "name", None) == "elements")
    r = run_text("table ip t { set s { type ipv4_addr; flags interval; auto-merge; }; }", Ruleset())
    s = r.ruleset.tables[("ip", "t")].sets["s"]
    new = S.build_elements(s, S.key_spec(s, "ip"), "ip", se)
    assert isinstance(new, ElementList) and len(new) == 101
    assert se.elements._nodes is None
    merged = S.merge_intervals(s, new)
    assert [(e.key, e.key_end) for e in merged] == [(bytes([192, 168, 0, 0]), bytes([192, 168, 255, 255]))]


def test_add_element_command_and_existing_elements():
    base = "table ip t { set s { type ipv4_addr; flags interval; auto-merge; elements = { 10.0.0.0/8 }; }; }\n"
    items = [f"11.0.{i}.0/24" for i in range(100)] + ["10.255.255.255-11.0.0.5"]
    text = base + f"add element ip t s {{ {', '.join(items)} }}\n"
    fast, slow = _both(text)
    assert fast == slow and fast[0] != "error"
    toks = tokenize(text, "t.nft", bulk=True)
    assert sum(t.kind is BULK for t in toks) == 1     # MIN_ITEMS is 64: the 1-item list stays normal
    # create over existing elements, and a map (never the bulk key path)
    text2 = base + f"create element ip t s {{ {', '.join(items)} }}\n"
    assert _both(text2)[0] == _both(text2)[1]
    m = ("table ip t { map m { type ipv4_addr : verdict; elements = { "
         + ", ".join(f"1.1.1.{i} : accept" for i in range(100)) + " }; }; }\n")
    assert _both(m)[0] == _both(m)[1]


def test_syntax_error_after_a_bulk_list_is_the_normal_one():
    items = [f"10.0.0.{i}" for i in range(100)]
    text = _set_file(items, interval=False, auto_merge=False).replace("accept", "accept junk ;; (")
    fast, slow = _both(text)
    assert fast == slow and fast[0] == "error"
    # an error inside the list: the normal path's text and carets
    bad = _set_file(items[:50] + ["10.0.0.300"] + items[50:], interval=False, auto_merge=False)
    fast, slow = _both(bad)
    assert fast == slow and fast[0] == "error" and "10.0.0.300" in fast[1]


def test_range_in_a_set_without_interval_flag():
    items = [f"10.0.0.{i}" for i in range(100)] + ["1.2.3.4-1.2.3.9"]
    fast, slow = _both(_set_file(items, interval=False, auto_merge=False))
    assert fast == slow and "flags interval" in fast[1]


_port = st.one_of(st.integers(0, 65535), st.integers(0, 200), st.integers(65500, 70000))
_port_item = st.one_of(
    _port.map(str),
    st.tuples(_port, st.integers(0, 50)).map(lambda t: f"{t[0]}-{t[0] + t[1]}"),
    st.tuples(_port, st.integers(0, 50)).map(lambda t: f"{t[0]} - {t[0] + t[1]}"),
    st.tuples(_port, st.integers(1, 50)).map(lambda t: f"{t[0] + t[1]}-{t[0]}"),
    st.tuples(_port, st.integers(0, 20)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.sampled_from(["1.2.3.4", "0", "65535", "65536", "ssh", "22 timeout 1s"]),
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_port_item, min_size=1, max_size=30), st.booleans(), st.booleans(), st.booleans(), _sep)
def test_port_sets_fast_equals_slow(items, interval, auto_merge, typeof, sep):
    key = "typeof tcp dport" if typeof else "type inet_service"
    text = _set_file(items, interval=interval, auto_merge=auto_merge, sep=sep).replace(
        "type ipv4_addr", key).replace("ip saddr @s", "tcp dport @s")
    fast, slow = _both(text)
    assert fast == slow


def test_port_set_takes_the_fast_path():
    items = [str(p) for p in range(1000, 1100)] + ["2000-2010", "1050-1200"]
    text = _set_file(items, interval=True, auto_merge=True).replace("type ipv4_addr", "type inet_service")
    script = parse(text, "t.nft")
    se = next(p.value for p in script.commands[0].obj.body[0].body if getattr(p, "name", None) == "elements")
    r = run_text("table ip t { set s { type inet_service; flags interval; auto-merge; }; }", Ruleset())
    s = r.ruleset.tables[("ip", "t")].sets["s"]
    new = S.build_elements(s, S.key_spec(s, "ip"), "ip", se)
    assert isinstance(new, ElementList) and new[0].key == b"\x03\xe8" and se.elements._nodes is None
    assert [(e.key, e.key_end) for e in S.merge_intervals(s, new)] == [(b"\x03\xe8", b"\x04\xb0"),
                                                                     (b"\x07\xd0", b"\x07\xda")]


def test_other_key_types_keep_the_normal_path():
    marks = [str(p) for p in range(1000, 1100)] + ["2000-2010"]
    text = _set_file(marks, interval=True, auto_merge=False, key="mark").replace(
        "ip saddr @s", "meta mark @s")
    fast, slow = _both(text)
    assert fast == slow and fast[0] != "error"


# -- the segtree on arrays ---------------------------------------------------------------

def _ref_merge(pairs, auto_merge):
    """commands._sets.merge_intervals' loop on plain tuples."""
    out: list[list[int]] = []
    for lo, hi in sorted(pairs):
        if out and lo <= out[-1][1] + (1 if auto_merge else 0):
            if (lo, hi) == tuple(out[-1]):
                continue
            if not auto_merge:
                return None
            out[-1][1] = max(out[-1][1], hi)
            continue
        out.append([lo, hi])
    return [tuple(x) for x in out]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 8)), min_size=1, max_size=30), st.booleans())
def test_merge_bounds_matches_the_segtree_loop(pairs, auto_merge):
    pairs = [(a, min(a + d, 63)) for a, d in pairs]
    lo = np.array([p[0] for p in pairs], dtype=np.uint64)
    hi = np.array([p[1] for p in pairs], dtype=np.uint64)
    r = merge_bounds(lo, hi, auto_merge=auto_merge)
    want = _ref_merge(pairs, auto_merge)
    if want is None:
        assert r is None
    else:
        assert r is not None and list(zip(r[0].tolist(), r[1].tolist())) == want
        for a, b, i in zip(*(x.tolist() for x in r)):
            assert i == -1 or pairs[i] == (a, b)
        if not auto_merge:      # nothing is merged: every output is an input
            assert (r[2] >= 0).all()


def test_merge_bounds_at_the_top_of_the_key_space():
    top = 2**32 - 1
    r = merge_bounds(np.array([top, 0, top - 1], dtype=np.uint64), np.array([top, top - 2, top - 1], dtype=np.uint64),
                     auto_merge=True)
    assert list(zip(r[0].tolist(), r[1].tolist())) == [(0, top)]


@pytest.mark.parametrize("span,ok", [
    (" 1.2.3.4, 5.6.7.8 ", True), ("1.2.3.4,", True), ("1.2.3.4 - 1.2.3.5,\n 1.0.0.0/8", True),
    ("1.2.3.4,,5.6.7.8", False), (",1.2.3.4", False), ("1.2.3.4 # c\n", False), ("1.2.3.4\n- 1.2.3.5", False),
    ("1.2.3.4 timeout 1s", False), ("01", False), ("{ 1 }", False), ("1.2.3.4\r\n", False),
])
def test_scanner_grammar(span, ok):
    text = "{" + span + "}"
    assert (_with_min(1, EF.scan, text, 1) is not None) is ok
