"""Conntrack snapshots: round trip, atomic rewrite, and one clear error for any corrupt
file (hypothesis)."""

from __future__ import annotations

import copy
import io
import json
import os

from hypothesis import HealthCheck, given, settings, strategies as st

from pkttables.conntrack import ConntrackTable, format_entry
from pkttables.conntrack.cli import main
from pkttables.conntrack.snapshot import (SnapshotError, dump_snapshot, load_snapshot,
                                          read_snapshot, write_snapshot)
from pkttables.errors import PktError
from pkttables.packet import LinkType, Packet
from pkttables.testing import packets as P

C, S = "192.168.1.10", "198.51.100.7"


def _table():
    ct = ConntrackTable(keep_events=False)
    frames = [P.ipv4(C, S, P.tcp(1234, 80, P.TCP_SYN, seq=1)),
              P.ipv4(S, C, P.tcp(80, 1234, P.TCP_SYN | P.TCP_ACK, seq=9, ack=2)),
              P.ipv4(C, S, P.tcp(1234, 80, P.TCP_ACK, seq=2, ack=10)),
              P.ipv4(C, S, P.udp(5000, 53, b"q")),
              P.ipv6("fd00::1", "2001:db8::1", P.icmp_echo(3, 1, v6=True)),
              P.ipv4(C, S, P.icmp_echo(9, 1))]
    for i, fr in enumerate(frames):
        pkt = Packet(fr, LinkType.RAW)
        ct.in_hook(pkt, "prerouting", 10.0 + i)
        if pkt.ct is not None and i == 3:
            pkt.ct.mark = 0x2A
        ct.confirm(pkt, 10.0 + i)
    return ct, 16.0


def test_round_trip_lists_the_same_lines(tmp_path):
    ct, now = _table()
    path = str(tmp_path / "s.json")
    write_snapshot(path, ct, now)
    back, bnow = read_snapshot(path)
    assert bnow == now
    want = [format_entry(c, now) for c in ct.entries(now)]
    got = [format_entry(c, bnow) for c in back.entries(bnow)]
    assert got == want and len(got) == 4
    assert "mark=42" in got[1] and "ESTABLISHED" in got[0] and "[ASSURED]" in got[0]
    # a loaded table serialises to the same document
    assert dump_snapshot(back, bnow) == dump_snapshot(ct, now)
    # no temporary file left behind
    assert os.listdir(tmp_path) == ["s.json"]


def test_zones_counters_helper_use_survive(tmp_path):
    ct, now = _table()
    c = ct.entries(now)[0]
    doc = dump_snapshot(ct, now)
    e = doc["entries"][0]
    e.update(zone=5, zone_dir=1, counters=[[3, 180], [1, 60]], helper="ftp", use=2, secmark=7)
    back, _ = load_snapshot(doc)
    line = format_entry(back.entries(now)[0], now)
    assert "zone-orig=5" in line and "packets=3 bytes=180" in line and "helper=ftp" in line
    assert line.endswith("use=2") and "secmark=7" in line
    assert c.zone == 0   # the source table is untouched


def test_unwritable_target_is_an_error(tmp_path):
    ct, now = _table()
    try:
        write_snapshot(str(tmp_path / "no" / "such" / "dir.json"), ct, now)
    except SnapshotError as e:
        assert "cannot write" in str(e)
    else:
        raise AssertionError("no error")


def test_rewrite_is_atomic_rename(tmp_path):
    ct, now = _table()
    path = str(tmp_path / "s.json")
    write_snapshot(path, ct, now)
    ino = os.stat(path).st_ino
    out, err = io.StringIO(), io.StringIO()
    assert main(["-F", "--table", path], out, err) == 0
    assert os.stat(path).st_ino != ino        # a new file renamed over the old one
    assert json.load(open(path))["entries"] == []


def test_specific_errors_name_the_json_path(tmp_path):
    ct, now = _table()
    doc = dump_snapshot(ct, now)
    cases = [
        (lambda d: d.update(version=3), "$.version: version 3 is not supported"),
        (lambda d: d.update(format="x"), "$.format: not a conntrack snapshot"),
        (lambda d: d["entries"][1]["orig"].update(src="x"), '$.entries[1].orig.src: expected an IPv4 address, got "x"'),
        (lambda d: d["entries"][0].update(status=1 << 11), "$.entries[0].status: bits 0x800"),
        (lambda d: d["entries"][2]["reply"].update(dport=70000), "$.entries[2].reply.dport: expected 0..65535"),
        (lambda d: d["entries"][0].pop("mark"), '$.entries[0]: missing key "mark"'),
        (lambda d: d["entries"].append(copy.deepcopy(d["entries"][0])), "$.entries[4]: a tuple of this entry"),
    ]
    for change, msg in cases:
        d = copy.deepcopy(doc)
        change(d)
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(d))
        try:
            read_snapshot(str(path))
        except SnapshotError as e:
            assert f"{path}: {msg}" in str(e), str(e)
        else:
            raise AssertionError(msg)
    path.write_text('{"format": "pkttables-conntrack",\n "version": 1,,}')
    try:
        read_snapshot(str(path))
    except SnapshotError as e:
        assert str(e).startswith(f"{path}:2:15-15: Error: invalid JSON")
        assert str(e).endswith("^")


_json = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats()
                     | st.text(max_size=8),
                     lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
                     max_leaves=8)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


_CT, _NOW = _table()
_DOC = dump_snapshot(_CT, _NOW)
_PATHS = list(_paths(_DOC))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(_PATHS), _json, st.booleans())
def test_corrupt_documents_give_one_error(tmp_path, where, value, delete):
    doc = copy.deepcopy(_DOC)
    if not where:
        doc = value
    else:
        parent = doc
        for k in where[:-1]:
            parent = parent[k]
        if delete:
            del parent[where[-1]]
        else:
            parent[where[-1]] = value
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    try:
        table, now = read_snapshot(str(path))
    except SnapshotError as e:
        assert str(path) in str(e)
        return
    for c in table.entries(now):      # what loads must list
        format_entry(c, now)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
       st.integers(0, 10_000))
def test_corrupt_bytes_through_the_cli(tmp_path, junk, cut):
    good = json.dumps(_DOC).encode()
    for data in (junk, good[:cut % len(good)] + junk):
        path = tmp_path / "j.json"
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        rc = main(["-L", "--table", str(path)], out, err)
        if rc == 0:
            continue
        assert rc == 1 and out.getvalue() == ""
        text = err.getvalue()
        assert text.startswith("conntrack v1.4.7 (conntrack-tools): ") and str(path) in text
        assert "Traceback" not in text


def test_snapshot_error_is_a_pkterror():
    assert issubclass(SnapshotError, PktError)
