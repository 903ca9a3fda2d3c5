"""The tests/py reader: counts, spot checks, payload lookup by family.  No nft needed."""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nftpy  # noqa: E402

pytestmark = pytest.mark.skipif(not nftpy.SUITE_DIR.is_dir(), reason=f"shared suite missing: {nftpy.SUITE_DIR}")


@pytest.fixture(scope="module")
def files() -> dict[str, nftpy.TFile]:
    return {tf.rel: tf for tf in nftpy.iter_files()}


@pytest.fixture(scope="module")
def cases(files) -> list[nftpy.RuleCase]:
    return [c for tf in files.values() for c in tf.cases()]


def test_counts(files, cases):
    assert len(files) == 97  # every *.t; icmpX.t.netdev is not collected
    assert "any/icmpX.t.netdev" not in files
    ok = [c for c in cases if c.expect_ok]
    assert len(cases) == 5839
    assert len(ok) == 5339
    assert len(cases) - len(ok) == 500
    # every ok case has its bytecode and JSON; no line of the suite is malformed
    assert all(c.payload is not None for c in ok)
    assert all(c.json is not None for c in ok)
    assert not [s for tf in files.values() for s in tf.steps if isinstance(s, nftpy.Malformed)]
    fams = collections.Counter(c.family for c in cases)
    assert set(fams) == {"ip", "ip6", "inet", "arp", "bridge", "netdev"}
    assert fams["netdev"] == 1571


def test_disabled_lines_skipped_unless_asked(files):
    tf = files["ip/ip.t"]
    normal = {c.rule for c in tf.cases()}
    with_disabled = {c.rule for c in tf.cases(include_disabled=True)}
    assert "ip version 2" not in normal
    assert "ip version 2" in with_disabled
    step = next(s for s in tf.rules if s.rule == "ip version 2")
    assert step.disabled and step.expect_ok


def test_tables_and_chains(files):
    tf = files["ip/ip.t"]
    assert [(t.family, t.table) for t in tf.tables] == [
        ("ip", "test-ip4"), ("inet", "test-inet"), ("bridge", "test-bridge"), ("netdev", "test-netdev")]
    netdev = tf.tables[3]
    assert netdev.chains == (("ingress", "type filter hook ingress device lo priority 0"),
                             ("egress", "type filter hook egress device lo priority 0"))
    assert netdev.commands()[1] == ("add chain netdev test-netdev ingress "
                                    "{ type filter hook ingress device lo priority 0; }")
    rule_cases = [c for c in tf.cases() if c.rule == "ip dscp cs1"]
    assert [(c.family, c.chain) for c in rule_cases] == [
        ("ip", "input"), ("inet", "input"), ("bridge", "input"), ("netdev", "ingress"), ("netdev", "egress")]


def test_spot_listing_and_verdicts(cases):
    by = {(c.file, c.family, c.chain, c.rule): c for c in cases}
    c = by[("ip/ip.t", "ip", "input", "ip dscp 0x38")]
    assert c.expect_ok and c.listing == "ip dscp cs7"
    assert c.add_command == "add rule ip test-ip4 input ip dscp 0x38"
    c = by[("ip/ip.t", "ip", "input", "ip dscp cs1")]
    assert c.listing == "ip dscp cs1"  # no third field: the rule lists as written
    fails = [c for c in cases if c.file == "ip/ip.t" and not c.expect_ok]
    assert fails and all(c.listing is None and c.payload is None for c in fails)


def test_payload_lookup_by_family(files):
    tf = files["ip/ip.t"]
    ip = next(c for c in tf.cases() if c.family == "ip" and c.rule == "ip dscp cs1")
    inet = next(c for c in tf.cases() if c.family == "inet" and c.rule == "ip dscp cs1")
    assert ip.payload_source == "ip/ip.t.payload"
    assert inet.payload_source == "ip/ip.t.payload.inet"
    assert ip.payload.exprs == (
        "[ payload load 1b @ network header + 1 => reg 1 ]",
        "[ bitwise reg 1 = ( reg 1 & 0x000000fc ) ^ 0x00000000 ]",
        "[ cmp eq reg 1 0x00000020 ]",
    )
    # inet needs the nfproto dependency in front
    assert inet.payload.exprs[:2] == ("[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x00000002 ]")
    assert inet.payload.exprs[2:] == ip.payload.exprs
    # dnat.t has only a family file (.payload.ip)
    dn = next(c for c in files["ip/dnat.t"].cases() if c.expect_ok)
    assert dn.payload_source == "ip/dnat.t.payload.ip"


def test_payload_sets_and_elements(files):
    tf = files["ip/ip.t"]
    c = next(c for c in tf.cases() if c.family == "ip" and c.rule.startswith("ip dscp vmap"))
    assert c.payload.sets == ("__map%d test-ip4 b size 2", "__map%d test-ip4 0")
    assert c.payload.elements == ("element 00000020 : continue 0 [end]", "element 00000080 : accept 0 [end]")
    assert c.payload.header == "ip test-ip4 input"
    assert c.payload.exprs[-1] == "[ counter pkts 0 bytes 0 ]"


def test_json_and_json_output(files):
    tf = files["ip/ip.t"]
    c = next(c for c in tf.cases() if c.family == "ip" and c.rule == "ip dscp 0x38")
    assert c.json == [{"match": {"left": {"payload": {"field": "dscp", "protocol": "ip"}}, "op": "==",
                                 "right": "0x38"}}]
    assert c.json_output[0]["match"]["right"] == "cs7"
    assert c.expected_json_listing is c.json_output
    c2 = next(c for c in tf.cases() if c.family == "ip" and c.rule == "ip dscp cs1")
    assert c2.json_output is None and c2.expected_json_listing is c2.json


def test_declarations(files):
    objs = {o.name: o for o in files["ip/objects.t"].objects}
    assert objs["cthelp1"].objtype == "ct helper"
    assert objs["cthelp1"].args == '{ type "ftp" protocol tcp; }'
    assert objs["cthelp1"].expect_ok and not objs["cthelp2"].expect_ok
    assert objs["cthelp1"].command("ip", "test-ip4") == 'add ct helper ip test-ip4 cthelp1 { type "ftp" protocol tcp; }'
    assert objs["qt2"].args == "over 1 kbytes"
    sets = {s.name: s for tf in files.values() for s in tf.sets}
    assert all(s.keyword == "type" for s in sets.values())  # v1.0.6 files declare no typeof sets
    assert nftpy.parse_t("!m1 typeof vlan id : meta mark;ok")[0].key == "vlan id"
    s = next(s for tf in files.values() for s in tf.sets if s.timeout)
    assert s.command("ip", "x").startswith(f"add set ip x {s.name} {{ type ")
    elems = [e for tf in files.values() for e in tf.elements]
    assert any(not e.expect_ok for e in elems) and any(e.expect_ok for e in elems)


def test_parse_t_grammar():
    steps = nftpy.parse_t(
        ":in;type filter hook input priority 0\n"
        ":in;type filter hook output priority 0\n"
        "*ip;t;in,other\n"
        "!m type ipv4_addr : mark timeout 5s flags interval;ok\n"
        "?m 1.2.3.4 : 1;fail\n"
        "%q type quota 1 mbytes;ok\n"
        "tcp dport 22;ok\n"
        "tcp dport 22-22;ok;tcp dport 22\n"
        "- tcp dport 1;ok\n"
        "bogus line\n"
        "# comment\n"
    )
    kinds = [type(s).__name__ for s in steps]
    assert kinds == ["ChainDecl", "ChainDecl", "TableDecl", "SetDecl", "ElementDecl", "ObjectDecl",
                     "RuleLine", "RuleLine", "RuleLine", "Malformed"]
    t = steps[2]
    assert t.chains == (("in", "type filter hook input priority 0"), ("other", ""))  # first declaration wins
    m = steps[3]
    assert (m.key, m.data, m.timeout, m.flags, m.is_map) == ("ipv4_addr", "mark", "5s", "interval", True)
    assert m.command("ip", "t") == "add map ip t m { type ipv4_addr : mark ; timeout 5s; flags interval; }"
    assert steps[7].listing == "tcp dport 22"
    assert steps[8].disabled


@given(st.lists(st.from_regex(r"[0-9a-f]{8}( [0-9a-f]{8})?  : (0|accept|drop) \[end\]", fullmatch=True),
                min_size=1, max_size=6),
       st.sampled_from(["\t", " ", "  "]))
def test_split_elements_roundtrip(items, sep):
    line = "\t" + sep.join("element " + i for i in items)
    assert nftpy.split_elements(line) == [" ".join(("element " + i).split()) for i in items]


@given(st.text(alphabet=st.characters(blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
               max_size=60))
def test_parse_t_never_raises(line):
    steps = nftpy.parse_t(line)
    assert len(steps) <= 1
