"""``pkt simulate --conntrack-save S`` then ``--conntrack-load S``: a capture cut in two
and simulated as two runs gives what one run over the whole capture gives -- every
packet's verdict, deciding rule, NAT, ct state and entry line, and the final table
(hypothesis picks the cut).  Captures: the home router's TCP conversation (window
tracking across the cut, masquerade), and an active FTP session through the masquerade
(``ct helper set``: the helper's line tracking, the NATed expectation with
nf_nat_follow_master, seqadj of the rewritten PORT command, the related data
connection); the TCP conversation also cut into up to five runs, each loading the
previous one's snapshot.  Plus: snapshot errors from ``--conntrack-load`` (location,
never a traceback), version 1 files refused for loading, a ruleset that tracks nothing."""

from __future__ import annotations

import copy
import io
import json
import pathlib

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pkttables.capture import read_capture
from pkttables.conntrack.snapshot import VERSION
from pkttables.testing.cli import run_pkt, write_pcapng
from pkttables.testing.hosts import tcp_conversation
from pkttables.testing.packets import TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, ether, ipv4, tcp

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "home-router"
HOST = str(EXAMPLE / "host.toml")
RULESET = str(EXAMPLE / "ruleset.nft")

FTP_RULESET = """
table inet filter {
    ct helper ftp-standard { type "ftp" protocol tcp; l3proto inet; }
    chain pre {
        type filter hook prerouting priority filter; policy accept;
        iifname "lan0" tcp dport 21 ct helper set "ftp-standard"
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ct state invalid drop
        iifname "lan0" oifname "wan0" accept
    }
}
table ip nat {
    chain postrouting {
        type nat hook postrouting priority srcnat;
        oifname "wan0" masquerade
    }
}
"""

LAN_MAC, WAN_MAC, GW_MAC, CLI_MAC = ("02:00:00:00:00:01", "02:00:00:00:01:01",
                                     "02:00:00:00:01:fe", "02:00:00:00:00:10")
CLI, SRV, WAN = "192.168.1.10", "93.184.216.34", "203.0.113.2"
PA = TCP_PSH | TCP_ACK


def ftp_session() -> list[tuple[str, bytes]]:
    """An active FTP session from the LAN client through the masquerade: the client's
    PORT names its inside address (12 characters), the router rewrites it to the
    masquerade address (11: seqadj -1), the server opens the data connection from port
    20 to the announced port, and the control connection goes on in both directions
    (the server acknowledges in its view of the client's sequence numbers)."""
    out: list[tuple[str, bytes]] = []

    def lan(seg):
        out.append(("lan0", ether(LAN_MAC, CLI_MAC, ipv4(CLI, SRV, seg))))

    def wan(seg, dst=WAN):
        out.append(("wan0", ether(WAN_MAC, GW_MAC, ipv4(SRV, dst, seg, ttl=50))))

    c, s, adj = 1000, 9000, 0        # client seq, server seq, the router's shift of c

    def c2s(data: bytes, shift: int = 0):
        nonlocal c, adj
        lan(tcp(41000, 21, PA, seq=c, ack=s, payload=data))
        c += len(data)
        adj += shift

    def s2c(data: bytes):
        nonlocal s
        wan(tcp(21, 41000, PA, seq=s, ack=c + adj, payload=data))
        s += len(data)

    lan(tcp(41000, 21, TCP_SYN, seq=c - 1))
    wan(tcp(21, 41000, TCP_SYN | TCP_ACK, seq=s - 1, ack=c))
    lan(tcp(41000, 21, TCP_ACK, seq=c, ack=s))
    s2c(b"220 hello\r\n")
    c2s(b"USER anonymous\r\n")
    s2c(b"331 password\r\n")
    c2s(b"PORT 192,168,1,10,161,1\r\n", shift=-1)       # 41217
    s2c(b"200 PORT ok\r\n")
    c2s(b"RETR file\r\n")
    # the data connection: server port 20 -> the masquerade address, announced port
    d, e = 7000, 3000
    wan(tcp(20, 41217, TCP_SYN, seq=d - 1))
    lan(tcp(41217, 20, TCP_SYN | TCP_ACK, seq=e - 1, ack=d))
    wan(tcp(20, 41217, TCP_ACK, seq=d, ack=e))
    s2c(b"150 opening\r\n")
    for i in range(3):
        wan(tcp(20, 41217, PA, seq=d, ack=e, payload=b"data" * 20))
        d += 80
        lan(tcp(41217, 20, TCP_ACK, seq=e, ack=d))
    wan(tcp(20, 41217, TCP_FIN | TCP_ACK, seq=d, ack=e))
    s2c(b"226 done\r\n")
    c2s(b"QUIT\r\n")
    s2c(b"221 bye\r\n")
    return out


def _write(path, packets, start: int) -> None:
    write_pcapng(path, packets, start=start)


def _simulate(*argv: str) -> tuple[int, str, str]:
    return run_pkt(["simulate", *argv])


def _results(path) -> list[dict]:
    """The packet results; ``index`` (the packet's place in its run's capture) and the
    emitted frames' ``index`` (their place in the run's --out capture) restart in the
    second run: not compared."""
    res = []
    for line in pathlib.Path(path).read_text().splitlines():
        d = json.loads(line)
        if d.get("type") == "packet":
            d.pop("index", None)
            for em in d.get("emitted") or ():
                em.pop("index", None)
            res.append(d)
    return res


_WHOLE: dict[str, tuple] = {}


def _whole(tmp: pathlib.Path, name: str, ruleset: str, packets) -> tuple[list[dict], str]:
    """One run over the whole capture (cached per capture: the reference)."""
    if name not in _WHOLE:
        cap, js = tmp / f"{name}-all.pcapng", tmp / f"{name}-all.jsonl"
        emitted = tmp / f"{name}-all-out.pcapng"
        _write(cap, packets, 0)
        rc, out, err = _simulate("--ruleset", ruleset, "--host", HOST, "--traffic", str(cap),
                                 "--json", str(js), "--out", str(emitted), "--conntrack", "--conntrack-expect")
        assert rc == 0, err
        _WHOLE[name] = (_results(js), out, _frames(emitted))
    return _WHOLE[name]


def _frames(path) -> list[tuple[str, bytes]]:
    """The emitted frames (the bytes show NAT and seqadj)."""
    return [(r.ifname, bytes(r.data)) for r in read_capture(str(path))]


def _split(tmp: pathlib.Path, ruleset: str, packets, k: int) -> tuple[list[dict], str, dict, list]:
    a, b = tmp / "a.pcapng", tmp / "b.pcapng"
    ja, jb, snap = tmp / "a.jsonl", tmp / "b.jsonl", tmp / "s.json"
    oa, ob = tmp / "a-out.pcapng", tmp / "b-out.pcapng"
    _write(a, packets[:k], 0)
    _write(b, packets[k:], k)
    rc, _, err = _simulate("--ruleset", ruleset, "--host", HOST, "--traffic", str(a), "--json", str(ja),
                           "--out", str(oa), "--conntrack-save", str(snap))
    assert rc == 0, err
    doc = json.loads(snap.read_text())
    rc, out, err = _simulate("--ruleset", ruleset, "--host", HOST, "--traffic", str(b), "--json", str(jb),
                             "--out", str(ob), "--conntrack-load", str(snap), "--conntrack", "--conntrack-expect")
    assert rc == 0, err
    return _results(ja) + _results(jb), out, doc, _frames(oa) + _frames(ob)


def _tmp(tmp_path_factory, name: str) -> pathlib.Path:
    return tmp_path_factory.mktemp(name)


TCP_PACKETS = tcp_conversation(n_data=8)
FTP_PACKETS = ftp_session()


def _chain(tmp: pathlib.Path, ruleset: str, packets, cuts: list[int]) -> tuple[list[dict], str, list]:
    """Runs between consecutive cuts, each loading the previous one's snapshot and
    saving its own."""
    bounds = [0, *sorted(set(cuts)), len(packets)]
    results, frames, out, prev = [], [], "", None
    for n, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        cap, js, o, snap = (tmp / f"c{n}.pcapng", tmp / f"c{n}.jsonl", tmp / f"c{n}-out.pcapng",
                            tmp / f"c{n}.json")
        _write(cap, packets[lo:hi], lo)
        argv = ["--ruleset", ruleset, "--host", HOST, "--traffic", str(cap), "--json", str(js), "--out", str(o),
                "--conntrack-save", str(snap)]
        if prev is not None:
            argv += ["--conntrack-load", str(prev)]
        if hi == len(packets):
            argv += ["--conntrack", "--conntrack-expect"]
        rc, out, err = _simulate(*argv)
        assert rc == 0, err
        assert json.loads(snap.read_text())["packets"] == hi
        results += _results(js)
        frames += _frames(o)
        prev = snap
    return results, out, frames


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(TCP_PACKETS) - 1), min_size=2, max_size=4))
def test_tcp_conversation_cut_in_several_runs(tmp_path_factory, cuts):
    tmp = _tmp(tmp_path_factory, "tcpmany")
    whole, whole_out, whole_frames = _whole(tmp, "tcp", RULESET, TCP_PACKETS)
    parts, out, frames = _chain(tmp, RULESET, TCP_PACKETS, cuts)
    assert parts == whole and out == whole_out and frames == whole_frames


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(min_value=0, max_value=len(TCP_PACKETS)))
def test_tcp_conversation_cut_anywhere_gives_one_runs_outcomes(tmp_path_factory, k):
    tmp = _tmp(tmp_path_factory, "tcp")
    whole, whole_out, whole_frames = _whole(tmp, "tcp", RULESET, TCP_PACKETS)
    parts, out, doc, frames = _split(tmp, RULESET, TCP_PACKETS, k)
    assert doc["version"] == VERSION and doc["packets"] == k
    assert len(parts) == len(whole)
    for i, (x, y) in enumerate(zip(whole, parts)):
        assert x == y, (k, i)
    assert out == whole_out
    assert frames == whole_frames


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(min_value=0, max_value=len(FTP_PACKETS)))
def test_ftp_through_masquerade_cut_anywhere_gives_one_runs_outcomes(tmp_path_factory, k):
    tmp = _tmp(tmp_path_factory, "ftp")
    whole, whole_out, whole_frames = _whole(tmp, "ftp", _ftp_ruleset(tmp), FTP_PACKETS)
    parts, out, doc, frames = _split(tmp, _ftp_ruleset(tmp), FTP_PACKETS, k)
    assert len(parts) == len(whole)
    for i, (x, y) in enumerate(zip(whole, parts)):
        assert x == y, (k, i)
    assert out == whole_out
    for i, (x, y) in enumerate(zip(whole_frames, frames)):
        assert x == y, (k, i)
    assert len(frames) == len(whole_frames)


def _ftp_ruleset(tmp: pathlib.Path) -> str:
    p = tmp / "ftp.nft"
    if not p.exists():
        p.write_text(FTP_RULESET)
    return str(p)


def test_ftp_capture_exercises_what_the_snapshot_must_keep(tmp_path):
    """The FTP capture is not trivial: the data connection is RELATED and NATed back to
    the client by the expectation, and the PORT rewrite shifts sequence numbers."""
    whole, out, frames = _whole(tmp_path, "ftp", _ftp_ruleset(tmp_path), FTP_PACKETS)
    assert all(r["verdict"] == "accept" for r in whole), [r["verdict"] for r in whole]
    syn20 = next(r for r in whole if r["flow"]["sport"] == 20)
    assert syn20["ct"]["state"] == "related"
    assert syn20["nat"]["after"]["dst"] == CLI and syn20["nat"]["after"]["dport"] == 41217
    assert "helper=ftp" in out
    # just after the PORT command: the snapshot holds the NATed expectation and seqadj
    k = next(i for i, (_, f) in enumerate(FTP_PACKETS) if b"PORT" in f) + 1
    _, _, doc, _ = _split(tmp_path, _ftp_ruleset(tmp_path), FTP_PACKETS, k)
    (exp,) = doc["expectations"]
    # nf_nat_ftp: saved_addr is the address the helper aimed at (the reply tuple's dst),
    # dir the other direction; nf_nat_follow_master maps to the master's original source
    assert exp["nat"] == {"saved_addr": WAN, "saved_port": 41217, "dir": 1}
    assert exp["tuple"]["dst"] == WAN and exp["tuple"]["dport"] == 41217
    (ctl,) = [e for e in doc["entries"] if e["orig"]["dport"] == 21]
    assert ctl["seqadj"][0][1:] == [0, -1] and ctl["helper"] == "ftp"
    assert ctl["proto"]["kind"] == "tcp" and ctl["helper_data"]["seq_aft_nl"][0]
    assert ctl["use"] == 1       # an expectation holds no reference on its master (kernel-checked)


# ------------------------------------------------------------------ errors

def _saved(tmp_path) -> tuple[pathlib.Path, dict]:
    cap, snap = tmp_path / "a.pcapng", tmp_path / "s.json"
    k = next(i for i, (_, f) in enumerate(FTP_PACKETS) if b"PORT" in f) + 1
    _write(cap, FTP_PACKETS[:k], 0)
    rc, _, err = _simulate("--ruleset", _ftp_ruleset(tmp_path), "--host", HOST, "--traffic", str(cap),
                           "--conntrack-save", str(snap))
    assert rc == 0, err
    return snap, json.loads(snap.read_text())


BAD = [
    (lambda d: d["entries"][0]["proto"].update(kind="sctp"),
     "$.entries[0].proto.kind: expected \"tcp\" for protocol 6, got \"sctp\""),
    (lambda d: d["entries"][0].update(proto=None), "$.entries[0].proto: a tcp entry needs its tcp state"),
    (lambda d: d["entries"][0]["proto"]["seen"][1].pop(), "$.entries[0].proto.seen[1]: expected 6"),
    (lambda d: d["entries"][0]["proto"].update(state=99), "$.entries[0].proto.state: expected 0..10, got 99"),
    (lambda d: d["entries"][0]["proto"]["last"].__setitem__(0, 2), "$.entries[0].proto.last: expected [dir"),
    (lambda d: d["entries"][0].update(expires="soon"), "$.entries[0].expires: expected a number"),
    (lambda d: d["entries"][0].update(helper="tftp"), "$.entries[0].helper: unknown helper \"tftp\""),
    (lambda d: d["entries"][0]["helper_data"].update(seq_aft_nl=[[1], [2], [3]]),
     "$.entries[0].helper_data.seq_aft_nl: expected an array of 2"),
    (lambda d: d["entries"][0]["helper_data"].update(bogus=1),
     "$.entries[0].helper_data: the ftp helper keeps no \"bogus\""),
    (lambda d: d["entries"][0]["seqadj"][0].__setitem__(1, 1 << 40),
     "$.entries[0].seqadj[0]: expected 2 32-bit signed integers"),
    (lambda d: d["entries"][0].update(master=0), "$.entries[0].master: expected the index of another entry"),
    (lambda d: d["entries"][0]["ext"].update(x=1), "$.entries[0].ext: unknown key \"x\""),
    (lambda d: d["expectations"][0].update(master=7), "$.expectations[0].master: expected 0..0, got 7"),
    (lambda d: d["expectations"][0].update(src_mask="::"), "$.expectations[0].src_mask: expected an IPv4 mask"),
    (lambda d: d["expectations"][0]["nat"].update(dir=2), "$.expectations[0].nat.dir: expected 0..1, got 2"),
    (lambda d: d.pop("expectations"), "$: missing key \"expectations\""),
    (lambda d: d.update(packets=-1), "$.packets: expected at least 0, got -1"),
    (lambda d: d.update(version=1), "$.version: version 1 keeps only what -L shows"),
]


def test_corrupt_snapshot_is_one_error_with_its_json_path(tmp_path):
    snap, doc = _saved(tmp_path)
    cap = tmp_path / "b.pcapng"
    _write(cap, FTP_PACKETS[-3:], 100)
    for mutate, msg in BAD:
        d = copy.deepcopy(doc)
        mutate(d)
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(d))
        rc, out, err = _simulate("--ruleset", _ftp_ruleset(tmp_path), "--host", HOST, "--traffic", str(cap),
                                 "--conntrack-load", str(bad))
        assert rc == 1, (msg, rc, err)
        assert f"{bad}: {msg}" in err, (msg, err)
        assert "Traceback" not in err and out == ""


def test_unreadable_and_not_json_snapshot(tmp_path):
    cap = tmp_path / "b.pcapng"
    _write(cap, FTP_PACKETS[:3], 0)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "pkttables-conntrack",\n "version": 2,,}')
    args = ("--ruleset", _ftp_ruleset(tmp_path), "--host", HOST, "--traffic", str(cap), "--conntrack-load")
    rc, _, err = _simulate(*args, str(bad))
    assert rc == 1 and f"{bad}:2:15" in err and "invalid JSON" in err and "Traceback" not in err
    rc, _, err = _simulate(*args, str(tmp_path / "none.json"))
    assert rc == 1 and "none.json: cannot read: No such file or directory" in err


@given(junk=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                         lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                         max_leaves=6),
       where=st.integers(min_value=0, max_value=200))
@settings(max_examples=150, deadline=None)
def test_any_replaced_value_is_an_error_or_a_table_never_a_traceback(junk, where):
    """Replace one value anywhere in a version 2 snapshot: loading raises
    SnapshotError (a PktError) or gives a table, nothing else."""
    from pkttables.conntrack import ConntrackTable
    from pkttables.conntrack.snapshot import SnapshotError, load_snapshot_full
    doc = _DOC[0]
    d = copy.deepcopy(doc)
    slots = []

    def walk(x):
        if isinstance(x, dict):
            for k in x:
                slots.append((x, k))
                walk(x[k])
        elif isinstance(x, list):
            for i in range(len(x)):
                slots.append((x, i))
                walk(x[i])
    walk(d)
    parent, key = slots[where % len(slots)]
    parent[key] = junk
    table = ConntrackTable(keep_events=False)
    try:
        load_snapshot_full(d, "x.json", table, resume=True)
    except SnapshotError as e:
        assert str(e).startswith("Error: x.json: $"), str(e)
        assert len(table) == 0 and len(table.expect_table) == 0     # nothing half-loaded


_DOC: list[dict] = []


@pytest.fixture(autouse=True, scope="module")
def _doc(tmp_path_factory):
    _, doc = _saved(tmp_path_factory.mktemp("doc"))
    _DOC.append(doc)
    yield


def test_load_into_a_ruleset_that_tracks_nothing(tmp_path):
    """A ruleset without ct users tracks nothing: an empty snapshot carries on, a
    snapshot with entries is refused with the file's name."""
    plain = tmp_path / "plain.nft"
    plain.write_text("table inet f {\n chain fw {\n  type filter hook forward priority 0; policy accept;\n }\n}\n")
    cap = tmp_path / "a.pcapng"
    _write(cap, TCP_PACKETS[:3], 0)
    empty = tmp_path / "empty.json"
    rc, _, err = _simulate("--ruleset", str(plain), "--host", HOST, "--traffic", str(cap),
                           "--conntrack-save", str(empty))
    assert rc == 0, err
    assert json.loads(empty.read_text())["entries"] == []
    rc, _, err = _simulate("--ruleset", str(plain), "--host", HOST, "--traffic", str(cap),
                           "--conntrack-load", str(empty), "--json", str(tmp_path / "o.jsonl"))
    assert rc == 0, err
    full = tmp_path / "full.json"
    rc, _, err = _simulate("--ruleset", RULESET, "--host", HOST, "--traffic", str(cap),
                           "--conntrack-save", str(full))
    assert rc == 0, err
    rc, out, err = _simulate("--ruleset", str(plain), "--host", HOST, "--traffic", str(cap),
                             "--conntrack-load", str(full))
    assert rc == 1 and f"{full}: the ruleset uses no ct expression and no NAT" in err
    assert "Traceback" not in err
    rc, _, err = _simulate("--ruleset", RULESET, "--host", HOST, "--traffic", str(cap),
                           "--conntrack-load", str(full), "--workers", "2")
    assert rc == 1 and "--conntrack-load: needs --workers 1" in err


def test_a_version_1_table_stays_version_1_through_delete(tmp_path):
    """pkt conntrack -D --table on a version 1 file writes version 1 back (there is no
    trackers' state to write), so the chain of commands goes on."""
    from pkttables.conntrack.cli import main as ct_main
    v1 = {"format": "pkttables-conntrack", "version": 1, "now": 10.0, "entries": [
        {"l3": "ipv4", "protonum": p, "orig": {"src": "10.0.0.1", "dst": "10.0.0.2", "sport": 1, "dport": 2},
         "reply": {"src": "10.0.0.2", "dst": "10.0.0.1", "sport": 2, "dport": 1},
         "state": "ESTABLISHED" if p == 6 else None, "status": 14, "timeout": 50.0, "mark": 0,
         "secmark": 0, "labels": "0x0", "zone": 0, "zone_dir": 3, "helper": None, "use": 1,
         "counters": None} for p in (6, 17)]}
    f = tmp_path / "v1.json"
    f.write_text(json.dumps(v1))
    out, err = io.StringIO(), io.StringIO()
    assert ct_main(["-D", "--table", str(f), "-p", "udp"], out, err) == 0, err.getvalue()
    doc = json.loads(f.read_text())
    assert doc["version"] == 1 and len(doc["entries"]) == 1 and doc["entries"][0]["protonum"] == 6
    out, err = io.StringIO(), io.StringIO()
    assert ct_main(["-L", "--table", str(f)], out, err) == 0
    assert out.getvalue().startswith("tcp      6 50 ESTABLISHED src=10.0.0.1")
    cap = tmp_path / "b.pcapng"
    _write(cap, TCP_PACKETS[:2], 0)
    rc, _, err = _simulate("--ruleset", RULESET, "--host", HOST, "--traffic", str(cap), "--conntrack-load", str(f))
    assert rc == 1 and "$.version: version 1 keeps only what -L shows" in err
