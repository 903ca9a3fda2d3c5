"""``pkt simulate --conntrack-load``: the second run's packets number on from the
snapshot's packet count (``Simulator.replay(first_index=N)``), so a capture cut in two
gives, line for line, the ``--json`` one run over the whole capture gives -- packet
``index`` included -- and the random fields drawn per (seed, packet index) are the
same: trace ids in the events, the IPv4 IDs of the ICMP errors the host generates
(compared as bytes in ``--out``).  Emitted frames' ``index`` is their place in the
run's own ``--out`` file: the second run's are the one run's minus what the first run
emitted.  hypothesis picks the cut of ``tcp_conversation`` (pkttables.testing.hosts).
A run with the index restarting at 0 (the behaviour before) is shown to differ, so
the comparison can fail.  Also: NAT's by-source index, rebuilt by NatTable.rebind on
loading, lends a loaded binding's mapping to the next connection from that source, as
one run does (and a loader without it differs)."""

from __future__ import annotations

import json
import pathlib

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pkttables.capture import read_capture
from pkttables.datapath import Simulator
from pkttables.errors import PktError
from pkttables.testing.cli import run_pkt, write_pcapng
from pkttables.testing.hosts import tcp_conversation

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "home-router"
HOST = str(EXAMPLE / "host.toml")
RULESET = str(EXAMPLE / "ruleset.nft")

# The home router's forwarding and masquerade, plus what makes the host draw random
# fields per packet: every packet traced (trace ids), DNS to the outside rejected
# (ICMP port unreachable: an IPv4 ID the host picks).
RANDOM_RULESET = """
table inet filter {
    chain pre {
        type filter hook prerouting priority raw; policy accept;
        meta nftrace set 1
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ct state invalid drop
        udp dport 53 reject
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

PACKETS = tcp_conversation(n_data=6)


def _write(path, packets, start: int) -> None:
    write_pcapng(path, packets, start=start)


def _simulate(*argv: str) -> tuple[int, str, str]:
    return run_pkt(["simulate", *argv])


def _lines(path) -> list[dict]:
    """Every line of an outcomes file but the header and the end line (which name the
    run's own files and counts)."""
    out = []
    for line in pathlib.Path(path).read_text().splitlines():
        d = json.loads(line)
        if d.get("type") not in ("header", "end"):
            out.append(d)
    return out


def _frames(path) -> list[tuple[str, bytes]]:
    return [(r.ifname, bytes(r.data)) for r in read_capture(str(path))]


def _ruleset_file(tmp: pathlib.Path, ruleset: str | None) -> str:
    if ruleset is None:
        return RULESET
    p = tmp / "r.nft"
    p.write_text(ruleset)
    return str(p)


_WHOLE: dict[str | None, tuple[list[dict], list]] = {}


def _whole(tmp: pathlib.Path, ruleset: str | None) -> tuple[list[dict], list]:
    if ruleset not in _WHOLE:
        cap, js, o = tmp / "all.pcapng", tmp / "all.jsonl", tmp / "all-out.pcapng"
        _write(cap, PACKETS, 0)
        rc, _, err = _simulate("--ruleset", _ruleset_file(tmp, ruleset), "--host", HOST,
                               "--traffic", str(cap), "--json", str(js), "--out", str(o))
        assert rc == 0, err
        _WHOLE[ruleset] = (_lines(js), _frames(o))
    return _WHOLE[ruleset]


def _cut(tmp: pathlib.Path, ruleset: str | None, k: int) -> tuple[list[dict], list[dict], list, dict]:
    """The capture cut before packet ``k``: run a saves, run b loads.  Returns both
    runs' lines, the joined --out frames and the snapshot."""
    rs = _ruleset_file(tmp, ruleset)
    a, b = tmp / "a.pcapng", tmp / "b.pcapng"
    ja, jb, snap = tmp / "a.jsonl", tmp / "b.jsonl", tmp / "s.json"
    oa, ob = tmp / "a-out.pcapng", tmp / "b-out.pcapng"
    _write(a, PACKETS[:k], 0)
    _write(b, PACKETS[k:], k)
    rc, _, err = _simulate("--ruleset", rs, "--host", HOST, "--traffic", str(a), "--json", str(ja),
                           "--out", str(oa), "--conntrack-save", str(snap))
    assert rc == 0, err
    doc = json.loads(snap.read_text())
    rc, _, err = _simulate("--ruleset", rs, "--host", HOST, "--traffic", str(b), "--json", str(jb),
                           "--out", str(ob), "--conntrack-load", str(snap))
    assert rc == 0, err
    return _lines(ja), _lines(jb), _frames(oa) + _frames(ob), doc


def _joined(la: list[dict], lb: list[dict]) -> list[dict]:
    """The two runs' lines as one run writes them: emitted frames number on."""
    shift = sum(len(d.get("emitted") or ()) for d in la)
    out = list(la)
    for d in lb:
        d = json.loads(json.dumps(d))
        for em in d.get("emitted") or ():
            em["index"] += shift
        out.append(d)
    return out


def _check_cut(tmp: pathlib.Path, ruleset: str | None, k: int) -> None:
    whole, whole_frames = _whole(tmp, ruleset)
    la, lb, frames, doc = _cut(tmp, ruleset, k)
    assert doc["packets"] == k
    # the second run's own lines: packets numbered on from k, frames from 0 in its --out
    assert [d["index"] for d in lb if d["type"] == "packet"] == list(range(k, len(PACKETS)))
    ems = [em["index"] for d in lb for em in d.get("emitted") or ()]
    assert ems == list(range(len(ems)))
    assert _joined(la, lb) == whole
    assert frames == whole_frames


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(min_value=0, max_value=len(PACKETS)))
def test_cut_json_equals_one_run_home_router(tmp_path_factory, k):
    tmp = tmp_path_factory.mktemp("home")
    _check_cut(tmp, None, k)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(min_value=0, max_value=len(PACKETS)))
def test_cut_json_equals_one_run_random_fields(tmp_path_factory, k):
    """Trace ids and the generated ICMP errors' IPv4 IDs depend on the packet index."""
    tmp = tmp_path_factory.mktemp("rand")
    _check_cut(tmp, RANDOM_RULESET, k)


def test_random_ruleset_draws_per_packet(tmp_path):
    """The second ruleset does make index-dependent output: trace lines in every
    packet's events and ICMP errors among the emitted frames."""
    whole, frames = _whole(tmp_path, RANDOM_RULESET)
    packets = [d for d in whole if d["type"] == "packet"]
    assert all(any(e["type"] == "trace" for e in d["events"]) for d in packets)
    rejected = [em for d in packets if d["verdict"] == "drop" for em in d["emitted"]]
    assert len(rejected) == 3 and all(em["kind"] == "icmp-3-3" for em in rejected)
    assert sum(data[23:24] == b"\x01" for _, data in frames) >= 3     # IPv4 protocol ICMP


def test_index_restarting_at_zero_differs(tmp_path, monkeypatch):
    """Without first_index (the second run numbering from 0) the joined output is not
    the one run's: the trace ids and the ICMP errors' IPv4 IDs change."""
    k = 8
    whole, whole_frames = _whole(tmp_path, RANDOM_RULESET)
    real = Simulator.replay

    def from_zero(self, source, **kw):
        kw["first_index"] = 0
        return real(self, source, **kw)

    monkeypatch.setattr(Simulator, "replay", from_zero)
    la, lb, frames, _ = _cut(tmp_path, RANDOM_RULESET, k)
    joined = _joined(la, lb)
    assert joined != whole
    assert [d["index"] for d in lb if d["type"] == "packet"][0] == 0
    strip = [{**d, "index": None} for d in joined]
    assert strip != [{**d, "index": None} for d in whole]       # not only the index
    assert frames != whole_frames


def test_first_index_numbers_packets(tmp_path):
    """The API: results carry first_index + the record's place; count still counts
    this capture's records."""
    from pkttables.datapath import load_ruleset
    from pkttables.stack.host import load_host

    cap = tmp_path / "t.pcapng"
    _write(cap, PACKETS, 0)
    host = load_host(HOST)
    sim = Simulator(host, load_ruleset(RULESET, host))
    idx = [r.index for r in sim.replay(str(cap), first_index=100, count=5) if hasattr(r, "verdict")]
    assert idx == [100, 101, 102, 103, 104]
    assert sim.packets == 5


@pytest.mark.parametrize("bad", [-1, "3", 1.5, True])
def test_first_index_bad_value_is_an_error(tmp_path, bad):
    cap = tmp_path / "t.pcapng"
    _write(cap, PACKETS[:2], 0)
    from pkttables.datapath import load_ruleset
    from pkttables.stack.host import load_host

    host = load_host(HOST)
    sim = Simulator(host, load_ruleset(RULESET, host))
    with pytest.raises(PktError, match="first_index: must be an integer >= 0"):
        list(sim.replay(str(cap), first_index=bad))


def test_error_names_packet_in_its_own_capture(tmp_path):
    """An interface the host lacks: the message counts records of this capture."""
    cap = tmp_path / "t.pcapng"
    _write(cap, [PACKETS[0], ("dmz9", PACKETS[1][1])], 0)
    from pkttables.datapath import load_ruleset
    from pkttables.stack.host import load_host

    host = load_host(HOST)
    sim = Simulator(host, load_ruleset(RULESET, host))
    with pytest.raises(PktError, match=r"packet 1: interface 'dmz9'"):
        list(sim.replay(str(cap), first_index=40))


# ------------------------------------------------------------------ NAT's by-source index
# A snapshot holds the bindings, not NAT's by-source index: --conntrack-load rebuilds it
# with NatTable.rebind, so a new connection from a source that already has a mapping
# gets the same one (find_appropriate_src), as in one run.
SNAT_RULESET = """
table ip nat {
    chain postrouting {
        type nat hook postrouting priority srcnat;
        oifname "wan0" meta l4proto tcp snat to 203.0.113.2:2000-2999
    }
}
"""


def _same_source_packets() -> list[tuple[str, bytes]]:
    """The LAN client opens connections from one source port to several servers."""
    from pkttables.testing.packets import TCP_SYN, ether, ipv4, tcp

    return [("lan0", ether("02:00:00:00:00:01", "02:00:00:00:00:10",
                           ipv4("192.168.1.10", f"93.184.216.{30 + i}", tcp(40000, 80, TCP_SYN, seq=1000))))
            for i in range(6)]


def _snat_runs(tmp: pathlib.Path, k: int) -> tuple[list[dict], list[dict]]:
    rs = _ruleset_file(tmp, SNAT_RULESET)
    pk = _same_source_packets()
    cap, js = tmp / "one.pcapng", tmp / "one.jsonl"
    _write(cap, pk, 0)
    rc, _, err = _simulate("--ruleset", rs, "--host", HOST, "--traffic", str(cap), "--json", str(js))
    assert rc == 0, err
    a, b, ja, jb, snap = tmp / "a.pcapng", tmp / "b.pcapng", tmp / "a.jsonl", tmp / "b.jsonl", tmp / "s.json"
    _write(a, pk[:k], 0)
    _write(b, pk[k:], k)
    rc, _, err = _simulate("--ruleset", rs, "--host", HOST, "--traffic", str(a), "--json", str(ja),
                           "--conntrack-save", str(snap))
    assert rc == 0, err
    rc, _, err = _simulate("--ruleset", rs, "--host", HOST, "--traffic", str(b), "--json", str(jb),
                           "--conntrack-load", str(snap))
    assert rc == 0, err
    return _lines(js), _joined(_lines(ja), _lines(jb))


@pytest.mark.parametrize("k", [1, 3])
def test_loaded_bindings_lend_their_mapping(tmp_path, k):
    whole, cut = _snat_runs(tmp_path, k)
    assert cut == whole
    # one run maps every connection from 192.168.1.10:40000 to the same port
    entries = [d["ct"]["entry"] for d in whole if d.get("ct") and d["ct"].get("entry")]
    mapped = {e.split("dport=")[2].split()[0] for e in entries}
    assert len(entries) == 6 and len(mapped) == 1, entries
    assert 2000 <= int(mapped.pop()) <= 2999


def test_without_rebind_the_second_run_maps_elsewhere(tmp_path, monkeypatch):
    """The index is what lends the mapping: a loader that skips it differs from one run."""
    from pkttables.nat import NatTable

    monkeypatch.setattr(NatTable, "rebind", lambda self, conn: False)
    whole, cut = _snat_runs(tmp_path, 1)
    assert cut != whole
