"""``pkt simulate --workers N``: flow keys, and N processes giving one process's bytes."""

from __future__ import annotations

import json
import pathlib
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.capture import LinkType, PcapngWriter
from pkttables.cli.simulate import build_parser, run
from pkttables.datapath.summary import Summary
from pkttables.datapath.workers import _merge_spacesaving, flow_key, shared_state
from pkttables.errors import PktError
from pkttables.testing.packets import (TCP_ACK, TCP_FIN, TCP_SYN, ether, icmp_echo, icmp_error, ipv4,
                                       ipv6, tcp, udp)

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "home-router"
LAN_MAC, WAN_MAC, GW_MAC, CLIENT_MAC = "02:00:00:00:00:01", "02:00:00:00:01:01", "02:00:00:00:01:fe", "02:00:00:00:00:10"
WAN_IP = "203.0.113.2"

RULESET = """
table inet filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related counter accept
		ct state invalid counter drop
		iifname "lan0" oifname "wan0" counter accept
		iifname "wan0" ct status dnat counter accept
		meta l4proto ipv6-icmp accept
	}
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iifname "lan0" counter accept
		meta l4proto { icmp, ipv6-icmp } accept
	}
}
table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat;
		iifname "wan0" tcp dport { 80, 443 } dnat to 192.168.1.10
	}
	chain postrouting {
		type nat hook postrouting priority srcnat;
		oifname "wan0" masquerade
	}
}
"""


# ------------------------------------------------------------------ keys
def _v4_frame(src, dst, seg, **kw):
    return ether(LAN_MAC, CLIENT_MAC, ipv4(src, dst, seg, **kw))


addrs4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ports = st.integers(0, 65535)


@settings(max_examples=150, deadline=None)
@given(a=addrs4, b=addrs4, sp=ports, dp=ports, proto=st.sampled_from(["tcp", "udp"]),
       ports_only=st.booleans())
def test_key_is_symmetric_and_covers_icmp_errors(a, b, sp, dp, proto, ports_only):
    seg = (lambda s, d: tcp(s, d)) if proto == "tcp" else (lambda s, d: udp(s, d, b"x"))
    fwd = _v4_frame(a, b, seg(sp, dp))
    rev = _v4_frame(b, a, seg(dp, sp))
    k = flow_key(fwd, ports_only=ports_only)
    assert k is not None and k == flow_key(rev, ports_only=ports_only)
    # an ICMP error from a router on the way quotes the packet: same key
    quoted = ipv4(a, b, seg(sp, dp))
    err = _v4_frame("10.9.9.9", a, icmp_error(3, 3, quoted[:28]))
    assert flow_key(err, ports_only=ports_only) == k
    # raw IP (local) gives the key of the same packet behind Ethernet
    assert flow_key(quoted, l3=True, ports_only=ports_only) == k


@settings(max_examples=60, deadline=None)
@given(sp=ports, dp=ports, ident=st.integers(0, 65535))
def test_key_ipv6_and_echo(sp, dp, ident):
    a, b = "fd00:1::10", "2001:db8::99"
    f = ether(LAN_MAC, CLIENT_MAC, ipv6(a, b, udp(sp, dp)))
    r = ether(LAN_MAC, CLIENT_MAC, ipv6(b, a, udp(dp, sp)))
    assert flow_key(f) == flow_key(r)
    req = _v4_frame("192.168.1.5", "8.8.8.8", icmp_echo(ident, 1))
    rep = _v4_frame("8.8.8.8", "192.168.1.5", icmp_echo(ident, 1, reply=True))
    assert flow_key(req) == flow_key(rep)
    assert flow_key(req, ports_only=True) == flow_key(rep, ports_only=True)


def test_key_nat_invariance_and_fragments_and_arp():
    # masquerade keeps the ports: the reply (to the router's address) hashes alike
    orig = _v4_frame("192.168.1.10", "93.184.216.34", tcp(40000, 80))
    reply = _v4_frame("93.184.216.34", WAN_IP, tcp(80, 40000, TCP_SYN | TCP_ACK))
    assert flow_key(orig, ports_only=True) == flow_key(reply, ports_only=True)
    assert flow_key(orig) != flow_key(reply)      # with addresses it would not
    # a non-first fragment: addresses only, whatever its payload looks like
    l3 = bytearray(ipv4("192.168.1.10", "93.184.216.34", udp(1, 2, bytes(40))))
    l3[6:8] = struct.pack("!H", 185)               # offset 185*8, no ports inside
    a = flow_key(ether(LAN_MAC, CLIENT_MAC, bytes(l3)))
    l3[20:24] = b"\xff\xff\xee\xee"
    assert flow_key(ether(LAN_MAC, CLIENT_MAC, bytes(l3))) == a
    assert flow_key(bytes.fromhex("ffffffffffff020000000010 0806".replace(" ", "")) + bytes(28)) is None
    assert flow_key(b"\x00" * 5) is None


# ------------------------------------------------------------------ a capture with conversations
def _conversations(path, n_conn=60, seed=7, gap=True):
    """TCP handshakes + data + FIN, UDP request/reply, pings, an ICMP error about a
    masqueraded flow, inbound port-forward connections, then (``gap``) 200 s of silence
    and a few packets, so entries of several workers expire in the same tick."""
    rnd = random.Random(seed)
    events = []   # (time_ns, iif, frame)
    t0 = 1_700_000_000 * 10**9
    for c in range(n_conn):
        start = t0 + rnd.randrange(0, 2 * 10**9)
        cli = f"192.168.1.{10 + c % 200}"
        srv = f"{rnd.randrange(1, 223)}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
        sp = 20000 + c
        kind = c % 4
        def lan(t, seg):
            events.append((start + t, "lan0", ether(LAN_MAC, CLIENT_MAC, ipv4(cli, srv, seg))))
        def wan(t, seg, src=srv, dst=WAN_IP):
            events.append((start + t, "wan0", ether(WAN_MAC, GW_MAC, ipv4(src, dst, seg))))
        if kind == 0:
            lan(0, tcp(sp, 80, TCP_SYN, seq=1000))
            wan(1000, tcp(80, sp, TCP_SYN | TCP_ACK, seq=5000, ack=1001))
            lan(2000, tcp(sp, 80, TCP_ACK, seq=1001, ack=5001))
            lan(3000, tcp(sp, 80, TCP_ACK, seq=1001, ack=5001, payload=b"GET / HTTP/1.0\r\n\r\n"))
            wan(4000, tcp(80, sp, TCP_ACK, seq=5001, ack=1019, payload=b"HTTP/1.0 200 OK\r\n\r\n"))
            lan(5000, tcp(sp, 80, TCP_FIN | TCP_ACK, seq=1019, ack=5020))
        elif kind == 1:
            lan(0, udp(sp, 53, b"q" * 20))
            wan(500, udp(53, sp, b"a" * 40))
            lan(900, udp(sp, 53, b"q" * 20))
        elif kind == 2:
            lan(0, icmp_echo(sp, 1))
            wan(700, icmp_echo(sp, 1, reply=True))
            lan(800, udp(sp, 9999, b"z"))
            quoted = ipv4(WAN_IP, srv, udp(sp, 9999, b"z"))[:28]
            wan(900, icmp_error(3, 3, quoted), src=srv)
        else:
            client = f"198.18.{c}.{rnd.randrange(1, 255)}"
            wan(0, tcp(sp, 80, TCP_SYN, seq=1), src=client)
            events.append((start + 600, "lan0", ether(LAN_MAC, CLIENT_MAC,
                                                         ipv4("192.168.1.10", client,
                                                              tcp(80, sp, TCP_SYN | TCP_ACK, seq=9, ack=2)))))
            wan(1200, tcp(sp, 80, TCP_ACK, seq=2, ack=10), src=client)
    events.sort(key=lambda e: e[0])
    if gap:
        last = events[-1][0] + 200 * 10**9
        for i in range(5):
            events.append((last + i * 1000, "lan0",
                           ether(LAN_MAC, CLIENT_MAC, ipv4("192.168.1.77", "9.9.9.9", udp(1000 + i, 53)))))
    with PcapngWriter(str(path)) as w:
        ifs = {"lan0": w.add_interface("lan0", LinkType.ETHERNET), "wan0": w.add_interface("wan0", LinkType.ETHERNET)}
        for ts, iif, fr in events:
            w.write(ifs[iif], fr, ts)
    return len(events)


def _simulate(capsys, *argv):
    args = build_parser().parse_args(list(argv))
    rc = run(args)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    d = tmp_path_factory.mktemp("workers")
    (d / "r.nft").write_text(RULESET)
    n = _conversations(d / "t.pcapng")
    # static neighbours for every LAN client: connections do not meet in the ARP table
    host = (EXAMPLE / "host.toml").read_text()
    for i in range(2, 255):
        if i != 10:
            host += f'\n[[neighbor]]\naddress = "192.168.1.{i}"\nmac = "02:00:00:00:10:{i:02x}"\ndev = "lan0"\n'
    (d / "host.toml").write_text(host)
    return d, n


@pytest.mark.parametrize("workers", [2, 3])
def test_n_workers_give_the_bytes_of_one(capture, capsys, workers):
    d, n = capture
    base = ["--ruleset", str(d / "r.nft"), "--host", str(d / "host.toml"), "--traffic", str(d / "t.pcapng")]
    outs = {}
    for w in (1, workers):
        rc, out, err = _simulate(capsys, *base, "--json", str(d / f"{w}.jsonl"), "--out", str(d / f"{w}.pcapng"),
                                 "--list", "--conntrack", "--workers", str(w))
        assert rc == 0, err
        outs[w] = (out, err)
    one, many = (d / "1.jsonl").read_bytes(), (d / f"{workers}.jsonl").read_bytes()
    assert one == many
    assert (d / "1.pcapng").read_bytes() == (d / f"{workers}.pcapng").read_bytes()
    assert outs[1] == outs[workers]          # --list counters (summed) and conntrack -L
    lines = [json.loads(x) for x in one.decode().splitlines()]
    kinds = [x["type"] for x in lines]
    assert kinds.count("packet") == n
    # the capture exercises what the merge must get right: NAT, several emitted frames,
    # conntrack expiry in one tick from several workers, replies and related errors
    timers = [x for x in lines if x["type"] == "timer"]
    assert timers and max(len(t["events"]) for t in timers) >= 10
    assert any(x.get("nat") for x in lines if x["type"] == "packet")
    states = {x["ct"]["state"] for x in lines if x["type"] == "packet" and x["ct"]}
    assert {"new", "established", "related"} <= states
    assert sum(len(x["emitted"]) for x in lines if x["type"] == "packet") > n // 2
    assert "warnings" not in lines[-1]


def test_shared_neighbour_warned(capture, capsys):
    # Without static neighbours, the ping and the UDP flow of one LAN client wait for the
    # same ARP answer: with one process one request, with several workers one each.
    d, _ = capture
    rc, out, err = _simulate(capsys, "--ruleset", str(d / "r.nft"), "--host", str(EXAMPLE / "host.toml"),
                             "--traffic", str(d / "t.pcapng"), "--json", "-", "--workers", "3")
    assert rc == 0
    end = json.loads(out.splitlines()[-1])
    assert any("resolved by more than one worker" in w for w in end["warnings"])
    assert "resolved by more than one worker" in err


def test_human_summary_equal(capture, capsys):
    d, _ = capture
    base = ["--ruleset", str(d / "r.nft"), "--host", str(d / "host.toml"), "--traffic", str(d / "t.pcapng")]
    r1 = _simulate(capsys, *base)
    r2 = _simulate(capsys, *base, "--workers", "2")
    assert r1 == r2 and "Packets by verdict" in r1[1]


def test_shared_state_warned(tmp_path, capsys, capture):
    d, _ = capture
    rules = tmp_path / "lim.nft"
    rules.write_text(RULESET.replace("iifname \"lan0\" counter accept\n\t\tmeta",
                                     "iifname \"lan0\" limit rate 3/second accept\n\t\tmeta"))
    assert "limit rate" in rules.read_text()
    rc, out, err = _simulate(capsys, "--ruleset", str(rules), "--host", str(EXAMPLE / "host.toml"),
                             "--traffic", str(d / "t.pcapng"), "--json", "-", "--workers", "2")
    assert rc == 0
    header = json.loads(out.splitlines()[0])
    assert any("limit in inet filter input handle" in w for w in header["warnings"])
    assert "each worker has its own" in err
    rc, out, err = _simulate(capsys, "--ruleset", str(rules), "--host", str(EXAMPLE / "host.toml"),
                             "--traffic", str(d / "t.pcapng"), "--json", "-")
    assert json.loads(out.splitlines()[0])["warnings"] == []


def test_errors_after_the_packets_before_them(tmp_path, capsys):
    # packet 3 arrives on an interface the host does not have
    p = tmp_path / "bad.pcapng"
    with PcapngWriter(str(p)) as w:
        good, bad = w.add_interface("lan0", LinkType.ETHERNET), w.add_interface("eth9", LinkType.ETHERNET)
        for i in range(6):
            fr = ether(LAN_MAC, CLIENT_MAC, ipv4("192.168.1.5", "8.8.8.8", udp(1000 + i, 53)))
            w.write(bad if i == 3 else good, fr, 10**18 + i * 1000)
    rules = tmp_path / "r.nft"
    rules.write_text(RULESET)
    got = {}
    for n in (1, 2):
        js = tmp_path / f"{n}.jsonl"
        with pytest.raises(PktError) as ei:
            run(build_parser().parse_args(["--ruleset", str(rules), "--host", str(EXAMPLE / "host.toml"),
                                           "--traffic", str(p), "--json", str(js), "--workers", str(n)]))
        got[n] = (str(ei.value), js.read_text())
    assert got[1] == got[2]
    assert "packet 3: interface 'eth9' is not in the host" in got[1][0]
    assert got[1][1].count('"type": "packet"') == 3


def test_bad_worker_count(capsys, capture):
    d, _ = capture
    with pytest.raises(PktError, match="--workers"):
        run(build_parser().parse_args(["--ruleset", str(d / "r.nft"), "--traffic", str(d / "t.pcapng"),
                                       "--workers", "0"]))


def test_shared_state_scan_names_rules():
    from pkttables.datapath import Simulator
    from pkttables.datapath.replay import load_ruleset
    from pkttables.stack.host import load_host
    import tempfile, os
    with tempfile.TemporaryDirectory() as t:
        f = os.path.join(t, "r.nft")
        with open(f, "w") as fh:
            fh.write("table ip t {\n chain c {\n type filter hook forward priority 0;\n"
                     " quota 10 mbytes accept\n counter accept\n numgen inc mod 2 == 0 accept\n }\n}\n")
        sim = Simulator(load_host(str(EXAMPLE / "host.toml")), load_ruleset(f))
    found = shared_state(sim.runtime)
    assert [x.split(" in ")[0] for x in found] == ["quota", "numgen inc"]


def test_spacesaving_merge_exact_below_capacity():
    a, b = Summary(capacity=8), Summary(capacity=8)
    for k in "aabbbc":
        a.nat.add(k)
    for k in "bcdd":
        b.nat.add(k)
    _merge_spacesaving(a.nat, b.nat)
    assert a.nat.counts == {"a": 2, "b": 4, "c": 2, "d": 2} and set(a.nat.errors.values()) == {0}
    # beyond capacity: counts stay upper bounds, errors bound the overcount
    x, y = Summary(capacity=2), Summary(capacity=2)
    for k in "aaab":
        x.nat.add(k)
    for k in "ccd":
        y.nat.add(k)
    _merge_spacesaving(x.nat, y.nat)
    true = {"a": 3, "b": 1, "c": 2, "d": 1}
    for k, c in x.nat.counts.items():
        assert c - x.nat.errors[k] <= true[k] <= c
