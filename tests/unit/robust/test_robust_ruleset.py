"""Fuzzing the ruleset doors: ``pkt -f``, ``pkt -c -f``, ``pkt --state S`` (text and
``-j`` JSON), ``pkt -i`` lines, and the python-nftables API (``Nftables().cmd`` /
``json_cmd``).

Each test mutates valid inputs (robust_harness.mutate: byte flips, truncation,
splices, tokens of the nft grammar) or draws random JSON trees shaped like libnftables
schema 1, runs the real entry point in-process and asserts: exit status 0 or 1, no
traceback, an error with its location first for a file, and a state file whose ruleset
did not move when the command failed.
"""

from __future__ import annotations

import io
import json
import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robust_harness import (FILE_LOC, INTERNAL, NFT_TOKENS, check, check_file_error, good_rulesets, mutate,
                            mutations, run, store_view)

RULESETS = good_rulesets()
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="pktRB-ruleset-") as d:
        yield d


def _write(d: str, name: str, data: bytes) -> str:
    p = os.path.join(d, name)
    with open(p, "wb") as fh:
        fh.write(data)
    return p


@SETTINGS
@given(base=st.sampled_from(RULESETS), ops=mutations(NFT_TOKENS), check_only=st.booleans())
def test_mutated_ruleset_file_gives_a_located_error(workdir, base, ops, check_only):
    path = _write(workdir, "r.nft", mutate(base[1], ops))
    rc, _, err = run((["-c"] if check_only else []) + ["-f", path])
    check_file_error(rc, err, path)


@pytest.fixture(scope="module")
def stores(workdir):
    """A state file loaded from each of a few good rulesets: name -> bytes."""
    out = {}
    for name, data in RULESETS[:6]:
        st_path = os.path.join(workdir, f"{name}.state")
        rc, _, err = run(["--state", st_path, "-f", _write(workdir, f"{name}.nft", data)])
        assert rc == 0, err
        with open(st_path, "rb") as fh:
            out[name] = (data, fh.read())
    return out


def _state_after(workdir, raw: bytes, argv: list[str]):
    st_path = _write(workdir, "s.state", raw)
    rc, out, err = run(["--state", st_path] + argv)
    with open(st_path, "rb") as fh:
        return rc, out, err, fh.read()


@SETTINGS
@given(data=st.data(), ops=mutations(NFT_TOKENS))
def test_failed_file_leaves_the_store_unchanged(workdir, stores, data, ops):
    name = data.draw(st.sampled_from(sorted(stores)))
    text, raw = stores[name]
    path = _write(workdir, "m.nft", mutate(text, ops))
    rc, _, err, after = _state_after(workdir, raw, ["-f", path])
    check_file_error(rc, err, path)
    if rc != 0:
        assert store_view(after) == store_view(raw)
        if "syntax error" in err.splitlines()[0]:
            # the batch never reached the "kernel": not even a handle moved
            assert after == raw
    else:
        assert run(["--state", _write(workdir, "s2.state", after), "list", "ruleset"])[0] == 0


@SETTINGS
@given(data=st.data(), ops=mutations(NFT_TOKENS))
def test_failed_command_line_leaves_the_store_unchanged(workdir, stores, data, ops):
    name = data.draw(st.sampled_from(sorted(stores)))
    text, raw = stores[name]
    words = mutate(text, ops).decode("utf-8", "surrogateescape").split()
    start = data.draw(st.integers(0, max(len(words) - 1, 0)))
    words = words[start:start + data.draw(st.integers(1, 25))]
    verb = data.draw(st.sampled_from(["add", "insert", "delete", "replace", "create", "flush", "list", "reset"]))
    rc, _, err, after = _state_after(workdir, raw, [verb] + words)
    check(rc, err)
    if rc != 0:
        assert err.startswith(("Error: ", "pkt: ")), err[:500]
        assert store_view(after) == store_view(raw)


@pytest.fixture(scope="module")
def json_docs(stores, workdir):
    """Each store listed with -j, and the same objects as one batch of add commands."""
    docs = []
    for name, (_, raw) in sorted(stores.items()):
        rc, out, err = run(["--state", _write(workdir, "l.state", raw), "-j", "list", "ruleset"])
        assert rc == 0, err
        listing = json.loads(out)
        docs.append((name, {"nftables": [x if "metainfo" in x else {"add": x} for x in listing["nftables"]]}))
    return docs


@SETTINGS
@given(data=st.data(), ops=mutations([b"{", b"}", b"[", b"]", b",", b":", b'"', b"null", b"-1", b"1e999",
                                      b'"add"', b'"expr"', b"\\u0000", b"\xff", b"99999999999999999999"]))
def test_mutated_json_file_into_a_store(workdir, stores, json_docs, data, ops):
    name, doc = data.draw(st.sampled_from(json_docs))
    raw = stores[name][1]
    text = json.dumps(doc).encode()
    path = _write(workdir, "m.json", mutate(text, ops))
    rc, _, err, after = _state_after(workdir, raw, ["-j", "-f", path])
    check_file_error(rc, err, path)
    if rc != 0:
        assert store_view(after) == store_view(raw)


# ----------------------------------------------------------------- JSON trees, schema 1
_KEYS = ["family", "name", "table", "chain", "handle", "expr", "match", "op", "left", "right", "payload",
         "protocol", "field", "meta", "key", "counter", "accept", "drop", "jump", "goto", "target", "set",
         "elem", "range", "prefix", "addr", "len", "concat", "type", "hook", "prio", "policy", "flags",
         "timeout", "ct", "mangle", "value", "snat", "dnat", "limit", "rate", "per", "vmap", "data", "map",
         "elements", "size", "comment", "devices", "log", "level", "reject", "queue", "num", "quota",
         "bytes", "packets", "&", "|", "^", "<<", "jhash", "numgen", "mod", "offset", "tcp option", "ip option",
         "exthdr", "fib", "result", "rt", "socket", "osf", "xt", "verdict", "immediate", "inv", "notrack"]
_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(["", "ip", "inet", "ip6", "bridge", "netdev", "arp", "t", "c", "s", "tcp",
                                     "dport", "saddr", "==", "!=", "in", "<", "accept", "drop", "filter",
                                     "input", "@s", "$v", "10.0.0.0/8", "1-2", "lo", "mark", "state"]),
                    st.text(max_size=8))
_TREE = st.recursive(_VALUES, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.sampled_from(_KEYS), kids, max_size=4)), max_leaves=20)
_OBJECT = st.fixed_dictionaries(
    {"family": st.sampled_from(["ip", "inet", "ip6", "bridge", "netdev", "arp", "nope", 1])},
    optional={"table": st.sampled_from(["t", "", None]), "name": st.sampled_from(["t", "c", "s", ""]),
              "chain": st.sampled_from(["c", 0]), "handle": st.integers(-1, 2 ** 64),
              "expr": st.lists(st.dictionaries(st.sampled_from(_KEYS), _TREE, min_size=1, max_size=1),
                               max_size=3),
              "type": _TREE, "hook": _TREE, "prio": _TREE, "policy": _TREE, "elem": _TREE, "flags": _TREE})
_COMMAND = st.one_of(
    st.dictionaries(st.sampled_from(["add", "create", "insert", "replace", "delete", "list", "reset",
                                     "flush", "rename", "destroy"]),
                    st.dictionaries(st.sampled_from(["table", "chain", "rule", "set", "map", "element",
                                                     "counter", "quota", "ruleset", "flowtable", "limit"]),
                                    _OBJECT, min_size=1, max_size=1), min_size=1, max_size=1),
    st.just({"metainfo": {"json_schema_version": 1}}),
    _TREE)
SCHEMA1 = st.one_of(st.fixed_dictionaries({"nftables": st.lists(_COMMAND, max_size=5)}), _TREE)


@SETTINGS
@given(doc=SCHEMA1)
def test_json_cmd_returns_a_triple_for_any_json(doc):
    from pkttables.control.api import Nftables

    nft = Nftables()
    rc, out, err = nft.json_cmd(doc)
    assert rc in (0, -1)
    assert "Traceback" not in err and INTERNAL not in err
    if rc != 0:
        assert err.startswith("Error: "), err[:500]


@SETTINGS
@given(text=st.one_of(st.text(max_size=200),
                      st.builds(lambda b, ops: mutate(b[1], ops).decode("utf-8", "surrogateescape"),
                                st.sampled_from(RULESETS), mutations(NFT_TOKENS))),
       as_bytes=st.booleans())
def test_cmd_returns_a_triple_for_any_text(text, as_bytes):
    from pkttables.control.api import Nftables

    nft = Nftables()
    arg = text.encode("utf-8", "surrogateescape") if as_bytes else text
    rc, out, err = nft.cmd(arg)
    assert rc in (0, -1)
    assert isinstance(out, bytes if as_bytes else str) and isinstance(err, bytes if as_bytes else str)
    text_err = err.decode("utf-8", "surrogateescape") if as_bytes else err
    assert "Traceback" not in text_err and INTERNAL not in text_err


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(base=st.sampled_from(RULESETS), ops=mutations(NFT_TOKENS))
def test_interactive_lines(base, ops):
    """``pkt -i``: each line through the session; a bad line is an error, the loop goes on."""
    from pkttables.cli.interactive import run_interactive
    from pkttables.control.api import Nftables

    lines = mutate(base[1], ops).decode("utf-8", "surrogateescape")
    out, err = io.StringIO(), io.StringIO()
    rc = run_interactive(Nftables(), stdin=io.StringIO(lines + "\nlist ruleset\n"), stdout=out, stderr=err)
    assert rc in (0, 1)
    assert "Traceback" not in err.getvalue() and INTERNAL not in err.getvalue()


@SETTINGS
@given(data=st.data(), ops=mutations([b"{", b"}", b"[", b"]", b'"$c"', b'"$t"', b'"$d"', b'"$b"', b'"$e"',
                                      b'"$dt"', b'"$r"', b'"pkttables.model.objects:Table"', b'"os:system"',
                                      b"null", b"-1", b"99999999999999999999", b'"zz"', b"\xff"]))
def test_corrupt_state_file_is_one_error_and_stays(workdir, stores, data, ops):
    """A state file that does not decode: one ``state file ...`` error, and a command
    that fails on it does not rewrite it."""
    name = data.draw(st.sampled_from(sorted(stores)))
    raw = mutate(stores[name][1], ops)
    argv = data.draw(st.sampled_from([["list", "ruleset"], ["-j", "list", "ruleset"], ["-a", "list", "ruleset"],
                                      ["add", "table", "ip", "zz"], ["flush", "ruleset"],
                                      ["add", "rule", "inet", "filter", "input", "accept"]]))
    rc, _, err, after = _state_after(workdir, raw, argv)
    check(rc, err)
    if rc != 0:
        assert err.startswith(("state file ", "Error: ")) or FILE_LOC.match(err), err[:500]
        if err.startswith("Error: state file "):
            assert after == raw
