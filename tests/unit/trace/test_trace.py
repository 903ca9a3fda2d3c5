"""nft monitor trace lines against a capture from Linux 6.18 + nft 1.0.6 (golden/)."""

import re
from pathlib import Path

from pkttables.commands import run_text
from pkttables.model import Ruleset
from pkttables.packet import Packet
from pkttables.packet.packet import LinkType
from pkttables.trace import TraceRecorder
from pkttables.vm.chain import LoadedRuleset
from pkttables.vm.stateful_impl import ChainRuntime

G = Path(__file__).with_name("golden")
_ID = re.compile(r"^trace id [0-9a-f]{8} ")


def _golden():
    lines = (G / "lo_udp.trace").read_text().splitlines()
    ids = []
    for ln in lines:
        i = ln.split()[2]
        if i not in ids:
            ids.append(i)
    return {i: [_ID.sub("", ln) for ln in lines if ln.split()[2] == i] for i in ids}


def _udp_ip():
    # the datagram the capture sent: 127.0.0.1:49896 -> 127.0.0.1:9999 "hello", ID 32367, DF
    ip = bytes.fromhex("450000217e6f400040110000" "7f000001" "7f000001")
    return ip + bytes.fromhex("c2e8270f000d0000") + b"hello"


def _run(hook, pkt):
    rs = run_text((G / "lo_udp.nft").read_text(), Ruleset()).ruleset
    rec = TraceRecorder(seed=1)
    rt = ChainRuntime(LoadedRuleset(rs), tracer_factory=rec.factory)
    v = rt.run_hook("ip", hook, pkt, now=0.0)
    return v, rec


def test_input_path_matches_capture():
    gold = list(_golden().values())[1]          # the second id: the input path
    pkt = Packet(bytes(12) + b"\x08\x00" + _udp_ip(), LinkType.ETHERNET, iif="lo")
    v, rec = _run("input", pkt)
    assert [_ID.sub("", ln) for ln in rec.lines()] == gold
    assert int(v.verdict) == 0                   # ip t2 input policy drop


def test_output_path_matches_capture():
    gold = list(_golden().values())[0]
    pkt = Packet(_udp_ip(), LinkType.RAW, oif="lo")
    v, rec = _run("output", pkt)
    assert [_ID.sub("", ln) for ln in rec.lines()] == gold


def test_one_id_per_packet_seeded():
    pkt = Packet(_udp_ip(), LinkType.RAW, oif="lo")
    _, a = _run("output", pkt)
    _, b = _run("output", Packet(_udp_ip(), LinkType.RAW, oif="lo"))
    ids = {ln.split()[2] for ln in a.lines()}
    assert len(ids) == 1 and ids == {ln.split()[2] for ln in b.lines()}


def test_no_trace_without_nftrace():
    rs = run_text("table ip t {\n chain c { type filter hook output priority 0;\n counter\n }\n}\n", Ruleset()).ruleset
    rec = TraceRecorder()
    ChainRuntime(LoadedRuleset(rs), tracer_factory=rec.factory).run_hook(
        "ip", "output", Packet(_udp_ip(), LinkType.RAW, oif="lo"))
    assert rec.lines() == []
