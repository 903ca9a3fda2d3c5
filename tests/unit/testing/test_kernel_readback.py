"""Parsers of the kernel oracle's read-back (no root needed)."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pkttables.errors import HarnessError
from pkttables.testing._netns import sysctl_path
from pkttables.testing.kernel import Emitted, Observation
from pkttables.testing._readback import Count, named_objects, parse_conntrack_xml, rule_counters

# Captured from conntrack v1.4.7 on this project's kernel (one UDP entry).
CT_XML = (
    '<?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n<flow><meta direction="original">'
    '<layer3 protonum="2" protoname="ipv4"><src>127.0.0.1</src><dst>127.0.0.1</dst></layer3>'
    '<layer4 protonum="17" protoname="udp"><sport>59620</sport><dport>9</dport></layer4></meta>'
    '<meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>127.0.0.1</src>'
    '<dst>127.0.0.1</dst></layer3><layer4 protonum="17" protoname="udp"><sport>9</sport>'
    '<dport>59620</dport></layer4></meta><meta direction="independent"><timeout>29</timeout>'
    '<mark>0</mark><use>1</use><id>13034143</id><unreplied/></meta></flow>\n</conntrack>\n'
)


def test_conntrack_xml_sample():
    (e,) = parse_conntrack_xml(CT_XML)
    assert e["l3"] == "ipv4" and e["proto"] == "udp" and e["protonum"] == 17
    assert e["original"] == {"src": "127.0.0.1", "dst": "127.0.0.1", "sport": 59620, "dport": 9}
    assert e["reply"] == {"src": "127.0.0.1", "dst": "127.0.0.1", "sport": 9, "dport": 59620}
    assert e["status"] == ["UNREPLIED"] and e["timeout"] == 29 and e["id"] == 13034143
    assert e["state"] is None and e["zone"] == 0


def test_conntrack_xml_empty_and_garbage():
    assert parse_conntrack_xml("") == []
    assert parse_conntrack_xml('<?xml version="1.0"?>\n<conntrack>\n</conntrack>') == []
    with pytest.raises(HarnessError, match="does not parse"):
        parse_conntrack_xml("<conntrack><flow>")


ipv4 = st.ip_addresses(v=4).map(str)
port = st.integers(0, 65535)


@given(src=ipv4, dst=ipv4, sport=port, dport=port, timeout=st.integers(0, 432000),
       mark=st.integers(0, 2**32 - 1), zone=st.integers(0, 65535),
       state=st.sampled_from(["SYN_SENT", "ESTABLISHED", "TIME_WAIT"]),
       flags=st.sets(st.sampled_from(["assured", "unreplied", "seen_reply"])))
def test_conntrack_xml_roundtrip(src, dst, sport, dport, timeout, mark, zone, state, flags):
    def meta(direction, a, b, pa, pb):
        return (f'<meta direction="{direction}"><layer3 protonum="2" protoname="ipv4"><src>{a}</src>'
                f'<dst>{b}</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>{pa}</sport>'
                f'<dport>{pb}</dport></layer4></meta>')
    text = ('<?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n<flow>'
            + meta("original", src, dst, sport, dport) + meta("reply", dst, src, dport, sport)
            + f'<meta direction="independent"><state>{escape(state)}</state><timeout>{timeout}</timeout>'
            + f'<mark>{mark}</mark><zone>{zone}</zone><use>1</use>'
            + "".join(f"<{f}/>" for f in sorted(flags)) + "</meta></flow>\n</conntrack>")
    (e,) = parse_conntrack_xml(text)
    assert e["original"] == {"src": src, "dst": dst, "sport": sport, "dport": dport}
    assert e["reply"] == {"src": dst, "dst": src, "sport": dport, "dport": sport}
    assert (e["state"], e["timeout"], e["mark"], e["zone"]) == (state, timeout, mark, zone)
    assert e["status"] == sorted(f.upper() for f in flags)


RULESET = {"nftables": [
    {"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
    {"table": {"family": "inet", "name": "f", "handle": 1}},
    {"counter": {"family": "inet", "name": "seen", "table": "f", "handle": 2, "packets": 3, "bytes": 90}},
    {"quota": {"family": "inet", "name": "q", "table": "f", "handle": 3, "bytes": 1000, "used": 90, "inv": False}},
    {"chain": {"family": "inet", "table": "f", "name": "fw", "handle": 4, "type": "filter",
               "hook": "forward", "prio": 0, "policy": "drop"}},
    {"rule": {"family": "inet", "table": "f", "chain": "fw", "handle": 5,
              "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 53}},
                       {"counter": "seen"}]}},
    {"rule": {"family": "inet", "table": "f", "chain": "fw", "handle": 6,
              "expr": [{"counter": {"packets": 3, "bytes": 90}}, {"counter": {"packets": 1, "bytes": 30}}]}},
    {"rule": {"family": "inet", "table": "f", "chain": "fw", "handle": 7, "expr": [{"accept": None}]}},
]}


def test_rule_counters_and_named_objects():
    assert rule_counters(RULESET) == {("inet", "f", "fw", 6): Count(4, 120)}
    assert named_objects(RULESET) == {("counter", "inet", "f", "seen"): Count(3, 90),
                                      ("quota", "inet", "f", "q"): Count(0, 90)}
    assert rule_counters({"nftables": []}) == {}


@pytest.mark.parametrize("name, path", [
    ("net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward"),
    ("net.ipv4.conf.eth0/100.rp_filter", "/proc/sys/net/ipv4/conf/eth0.100/rp_filter"),
    ("net.netfilter.nf_conntrack_tcp_loose", "/proc/sys/net/netfilter/nf_conntrack_tcp_loose"),
])
def test_sysctl_path(name, path):
    assert sysctl_path(name) == path


def test_observation_to_json_orders_and_hides_volatile_fields():
    obs = Observation(
        emitted=(Emitted("wan0", b"\x01", 0, 0.002), Emitted("lan0", b"\x02", 0, 0.001),
                 Emitted("wan0", b"\x03", 0, 0.003)),
        send_errors=(None, 1, 0), ruleset_json={"nftables": []},
        counters={("inet", "f", "fw", 6): Count(4, 120)}, objects={},
        conntrack=({"proto": "tcp", "timeout": 99, "id": 5, "use": 1},), conntrack_text="",
        nft_stderr="")
    doc = json.loads(obs.to_json())
    assert [(e["ifname"], e["frame"]) for e in doc["emitted"]] == [("lan0", "02"), ("wan0", "01"), ("wan0", "03")]
    assert doc["send_errors"] == [None, "EPERM", 0]
    assert doc["conntrack"] == [{"proto": "tcp"}]
    assert doc["counters"] == [["inet", "f", "fw", 6, 4, 120]]
    assert "time" in json.loads(obs.to_json(volatile=True))["emitted"][0]


def test_sctp_state_and_icmp_fields_come_from_the_extended_listing():
    from pkttables.testing._readback import merge_icmp_fields

    entries = [{"proto": "sctp", "id": 956025878, "state": "FIN_WAIT", "original": {}, "reply": {}},
               {"proto": "icmp", "id": 77, "state": None, "original": {"src": "1.1.1.1"}, "reply": {}}]
    merge_icmp_fields(entries, (
        "ipv4     2 sctp     132 49 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 [UNREPLIED] "
        "src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 mark=0 use=1 id=956025878\n"
        "ipv4     2 icmp     1 29 src=1.1.1.1 dst=2.2.2.2 type=8 code=0 id=5 [UNREPLIED] "
        "src=2.2.2.2 dst=1.1.1.1 type=0 code=0 id=5 mark=0 use=1 id=77\n"))
    assert entries[0]["state"] == "ESTABLISHED"
    assert entries[1]["original"] == {"src": "1.1.1.1", "type": 8, "code": 0, "id": 5}
    assert entries[1]["reply"] == {"type": 0, "code": 0, "id": 5}
