"""The kernel oracle itself: what the real kernel does with simple traffic, read back
through pkttables.testing.kernel.  scapy (test-only) builds and checks the frames."""

from __future__ import annotations

import errno
import os
import signal
import sys
import subprocess

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import Ether

from lab_hosts import CLIENT_MAC, GW_MAC, LAN_MAC, WAN_MAC, bridge_host, two_interface_host
from pkttables.errors import HarnessError
from pkttables.testing import _netns
from pkttables.testing.kernel import PREFIX, Injection, KernelLab, run_kernel

pytestmark = pytest.mark.kernel


def from_client(l3) -> bytes:
    return bytes(Ether(src=CLIENT_MAC, dst=LAN_MAC) / l3)


def checksums_valid(frame: bytes) -> bool:
    """Rebuild every checksum of the frame with scapy and compare with the wire."""
    pkt = Ether(frame)
    fresh = pkt.copy()
    for layer in (IP, TCP, UDP, ICMP):
        if fresh.haslayer(layer):
            del fresh[layer].chksum
    for layer in (ICMPv6EchoReply, ICMPv6EchoRequest):
        if fresh.haslayer(layer):
            del fresh[layer].cksum
    return bytes(Ether(bytes(fresh))) == bytes(pkt) and bytes(fresh) == frame


def my_namespaces() -> list[str]:
    return _netns.list_netns(f"{PREFIX}{os.getpid()}x")


def test_forward_ipv4_and_ipv6(host):
    v4 = from_client(IP(src="192.168.1.10", dst="198.51.100.7", ttl=64) / UDP(sport=40000, dport=53) / b"q")
    v6 = from_client(IPv6(src="fd00:1::10", dst="2001:db8:99::7", hlim=64) / UDP(sport=40000, dport=53) / b"q")
    obs = run_kernel(host, "", [Injection("lan0", v4), Injection("lan0", v6)])
    assert obs.on("lan0") == []
    out = obs.on("wan0")
    assert len(out) == 2, [Ether(f).summary() for f in out]
    e4, e6 = Ether(out[0]), Ether(out[1])
    assert (e4.src, e4.dst) == (WAN_MAC, GW_MAC)
    assert e4[IP].ttl == 63 and e4[IP].dst == "198.51.100.7"
    assert e4[IP].chksum != IP(v4[14:]).chksum          # the kernel fixed the header checksum
    assert checksums_valid(out[0])
    assert (e6.src, e6.dst) == (WAN_MAC, GW_MAC)
    assert e6[IPv6].hlim == 63 and e6[UDP].dport == 53
    assert bytes(e6[UDP]) == bytes(Ether(v6)[UDP])     # nothing but the hop limit changed
    assert [e.after_injection for e in obs.emitted] == [0, 1]
    assert obs.send_errors == (None, None)
    assert my_namespaces() == []


DROP = """
table inet f {
\tcounter seen {
\t\tpackets 0 bytes 0
\t}
\tchain fw {
\t\ttype filter hook forward priority 0; policy drop;
\t\tudp dport 53 counter name "seen"
\t\tcounter
\t}
}
"""


def test_forward_drop_and_counters(host):
    pkts = [from_client(IP(src="192.168.1.10", dst="198.51.100.7") / UDP(sport=40000 + i, dport=53) / (b"x" * i))
            for i in range(3)]
    obs = run_kernel(host, DROP, [Injection("lan0", p) for p in pkts])
    assert obs.emitted == ()
    # The forward hook sees the IP packet: no Ethernet header in skb->len.
    ip_bytes = sum(len(p) - 14 for p in pkts)
    rules = {k: v for k, v in obs.counters.items() if k[:3] == ("inet", "f", "fw")}
    assert len(rules) == 1
    (count,) = rules.values()
    assert (count.packets, count.bytes) == (3, ip_bytes)
    seen = obs.objects[("counter", "inet", "f", "seen")]
    assert (seen.packets, seen.bytes) == (3, ip_bytes)
    assert obs.ruleset_json["nftables"][0]["metainfo"]["json_schema_version"] == 1


def test_host_answers_syn_udp_and_ping(host):
    syn = from_client(IP(src="192.168.1.10", dst="192.168.1.1") / TCP(sport=40000, dport=81, flags="S", seq=1000))
    dgram = from_client(IP(src="192.168.1.10", dst="192.168.1.1") / UDP(sport=40001, dport=9) / b"hi")
    ping = from_client(IP(src="192.168.1.10", dst="192.168.1.1") / ICMP(id=7, seq=1) / b"abcd")
    ping6 = from_client(IPv6(src="fd00:1::10", dst="fd00:1::1") / ICMPv6EchoRequest(id=7, seq=2) / b"efgh")
    obs = run_kernel(host, "", [Injection("lan0", f) for f in (syn, dgram, ping, ping6)])
    assert obs.on("wan0") == []
    by_inj = {e.after_injection: Ether(e.frame) for e in obs.emitted}
    assert sorted(by_inj) == [0, 1, 2, 3], [Ether(e.frame).summary() for e in obs.emitted]
    for e in obs.emitted:
        assert checksums_valid(e.frame), Ether(e.frame).show(dump=True)   # offloads are off
        assert Ether(e.frame).src == LAN_MAC and Ether(e.frame).dst == CLIENT_MAC
    rst = by_inj[0][TCP]
    assert rst.flags == "RA" and rst.ack == 1001 and (rst.sport, rst.dport) == (81, 40000)
    unreach = by_inj[1][ICMP]
    assert (unreach.type, unreach.code) == (3, 3)
    assert bytes(unreach.payload)[:28] == bytes(IP(dgram[14:]))[:28]     # quotes the datagram
    reply = by_inj[2][ICMP]
    assert (reply.type, reply.id, reply.seq, bytes(reply.payload)) == (0, 7, 1, b"abcd")
    reply6 = by_inj[3][ICMPv6EchoReply]
    assert (reply6.id, reply6.seq, reply6.data) == (7, 2, b"efgh")


CT = """
table inet f {
\tchain fw {
\t\ttype filter hook forward priority 0;
\t\tct state new counter
\t}
}
"""


def test_conntrack_syn_sent(host):
    syn = from_client(IP(src="192.168.1.10", dst="198.51.100.7") / TCP(sport=40000, dport=443, flags="S"))
    obs = run_kernel(host, CT, [Injection("lan0", syn)])
    assert len(obs.on("wan0")) == 1
    (entry,) = [e for e in obs.conntrack if e["proto"] == "tcp"]
    assert entry["l3"] == "ipv4" and entry["protonum"] == 6
    assert entry["state"] == "SYN_SENT"
    assert entry["original"] == {"src": "192.168.1.10", "dst": "198.51.100.7", "sport": 40000, "dport": 443}
    assert entry["reply"] == {"src": "198.51.100.7", "dst": "192.168.1.10", "sport": 443, "dport": 40000}
    assert "UNREPLIED" in entry["status"] and "ASSURED" not in entry["status"]
    assert 0 < entry["timeout"] <= 120
    assert entry["mark"] == 0 and entry["zone"] == 0
    assert "SYN_SENT" in obs.conntrack_text and "[UNREPLIED]" in obs.conntrack_text


def test_conntrack_icmp_tuples_carry_type_code_id(host):
    # conntrack's XML output has no ICMP fields; the harness fills them in from -o extended,id.
    ping = from_client(IP(src="192.168.1.10", dst="198.51.100.7") / ICMP(type=8, id=0x1234, seq=1))
    obs = run_kernel(host, CT, [Injection("lan0", ping)])
    (entry,) = [e for e in obs.conntrack if e["proto"] == "icmp"]
    assert entry["original"] == {"src": "192.168.1.10", "dst": "198.51.100.7", "type": 8, "code": 0, "id": 0x1234}
    assert entry["reply"] == {"src": "198.51.100.7", "dst": "192.168.1.10", "type": 0, "code": 0, "id": 0x1234}


OUT_DROP = """
table inet o {
\tchain out {
\t\ttype filter hook output priority 0;
\t\tudp dport 9 counter drop
\t}
}
"""


def test_local_output_drop_gives_eperm(host):
    dropped = bytes(IP(src="203.0.113.2", dst="198.51.100.7") / UDP(sport=5000, dport=9) / b"no")
    passed = bytes(IP(src="203.0.113.2", dst="198.51.100.7") / UDP(sport=5000, dport=10) / b"yes")
    passed6 = bytes(IPv6(src="2001:db8:1::2", dst="2001:db8:99::7") / UDP(sport=5000, dport=10) / b"yes")
    obs = run_kernel(host, OUT_DROP, [Injection("local", dropped), Injection("local", passed),
                                      Injection("local", passed6)])
    assert obs.send_errors == (errno.EPERM, 0, 0)
    out = obs.on("wan0")
    assert len(out) == 2
    assert Ether(out[0])[UDP].dport == 10 and Ether(out[0])[IP].ttl == 64
    assert Ether(out[1])[IPv6].dst == "2001:db8:99::7"
    (count,) = [v for k, v in obs.counters.items() if k[:3] == ("inet", "o", "out")]
    assert (count.packets, count.bytes) == (1, len(dropped))


@pytest.mark.parametrize("make_host", [two_interface_host, two_interface_host, two_interface_host,
                                       bridge_host, bridge_host])
def test_no_stray_packets(make_host):
    # Nothing sent: the host must stay silent (no MLD, IGMP, RS, DAD, ARP) for the window.
    with KernelLab(make_host(), settle=0.6) as lab:
        assert lab.inject([]) == []
        obs = lab.observe(conntrack=False)
    assert obs.emitted == ()


def test_to_json_is_stable(host):
    syn = from_client(IP(src="192.168.1.10", dst="198.51.100.7") / TCP(sport=40000, dport=443, flags="S"))
    runs = [run_kernel(host, CT, [Injection("lan0", syn)], settle=0.1) for _ in range(2)]
    assert runs[0].to_json() == runs[1].to_json()
    assert '"SYN_SENT"' in runs[0].to_json() and "timeout" not in runs[0].to_json()


def test_bridge_forwards_through_inet_hooks():
    # br_netfilter is built in and bridge-nf-call-iptables=1 in a new namespace: a
    # bridged IPv4 frame also passes the inet forward hook.
    rs = "table inet f {\n\tchain fw {\n\t\ttype filter hook forward priority 0;\n\t\tcounter\n\t}\n}\n"
    frame = bytes(Ether(src="02:00:00:00:aa:01", dst="02:00:00:00:aa:02")
                  / IP(src="10.0.0.10", dst="10.0.0.20", ttl=9) / UDP(sport=1, dport=2))
    obs = run_kernel(bridge_host(), rs, [Injection("lan1", frame)])
    assert obs.on("lan2") == [frame]                  # flooded unchanged (bridged, not routed)
    assert obs.on("lan1") == []
    ((key, count),) = obs.counters.items()
    assert count.packets == 1


# --- robustness ------------------------------------------------------------------------

def test_bad_ruleset_raises_with_nft_stderr_and_cleans_up(host):
    with pytest.raises(HarnessError) as ei:
        run_kernel(host, "table inet f { chain c { type filter hook forward priority 0; bogus } }\n", [])
    assert "ruleset.nft:1:" in str(ei.value) and "Error:" in str(ei.value)
    assert my_namespaces() == []


def test_exception_inside_lab_cleans_up(host):
    with pytest.raises(RuntimeError):
        with KernelLab(host) as lab:
            assert len(my_namespaces()) == 3
            assert "lan0" in lab.exec("ip -br link").stdout
            raise RuntimeError("boom")
    assert my_namespaces() == []


def test_total_timeout_raises_and_cleans_up(host):
    ping = from_client(IP(src="192.168.1.10", dst="192.168.1.1") / ICMP())
    with pytest.raises(HarnessError, match="timeout"):
        run_kernel(host, "", [Injection("lan0", ping, delay=30.0)], timeout=2.0)
    assert my_namespaces() == []


def test_unknown_interface_is_an_error(host):
    with pytest.raises(HarnessError, match="unknown interface 'eth9'"):
        run_kernel(host, "", [Injection("eth9", b"\0" * 60)])
    assert my_namespaces() == []


def test_stale_namespaces_of_dead_processes_are_swept(host):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"{PREFIX}{dead.pid}x0h"
    subprocess.run(["ip", "netns", "add", stale], check=True)
    try:
        with KernelLab(host):
            assert stale not in _netns.list_netns(PREFIX)
    finally:
        _netns.del_netns([stale])


CHILD = """
import sys, time
sys.path.insert(0, {testdir!r})
from lab_hosts import two_interface_host
from pkttables.testing.kernel import KernelLab
with KernelLab(two_interface_host(), timeout=60) as lab:
    print("ready", flush=True)
    time.sleep(30)
"""


def _child_with_lab() -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", CHILD.format(testdir=os.path.dirname(__file__))],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    assert len(_netns.list_netns(f"{PREFIX}{p.pid}x")) == 3
    return p


def test_sigterm_cleans_up():
    p = _child_with_lab()
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=15)
    assert _netns.list_netns(f"{PREFIX}{p.pid}x") == []


def test_sigkill_leftovers_are_swept_by_the_next_lab(host):
    p = _child_with_lab()
    p.kill()
    p.wait(timeout=15)
    left = _netns.list_netns(f"{PREFIX}{p.pid}x")
    assert len(left) == 3
    try:
        with KernelLab(host):
            assert _netns.list_netns(f"{PREFIX}{p.pid}x") == []
    finally:
        _netns.del_netns(left)


HOST_TOML = """
[[interface]]
name = "lan0"
mac = "02:00:00:00:00:01"
addresses = ["192.168.1.1/24", "fd00:1::1/64"]
group = 5

[[interface]]
name = "wan0"
mac = "02:00:00:00:01:01"
addresses = ["203.0.113.2/24", "2001:db8:1::2/64"]

[[route]]
to = "0.0.0.0/0"
via = "203.0.113.1"
dev = "wan0"

[[neighbor]]
address = "203.0.113.1"
mac = "02:00:00:00:01:fe"
dev = "wan0"
"""


def test_host_from_toml_keeps_ifindexes():
    from pkttables.stack.host import Host
    host = Host.from_toml(HOST_TOML, "host.toml")
    rs = ("table inet f {\n\tchain fw {\n\t\ttype filter hook forward priority 0;\n"
          "\t\tmeta iif 2 meta iifgroup 5 meta oif 3 counter\n\t}\n}\n")
    ping = from_client(IP(src="192.168.1.10", dst="198.51.100.7") / ICMP())
    with KernelLab(host) as lab:
        links = lab.exec("ip -o link show").stdout
        assert "\n2: lan0@if1000:" in "\n" + links and "\n3: wan0@if1001:" in links
        lab.load(rs)
        lab.inject([Injection("lan0", ping)])
        obs = lab.observe(conntrack=False)
    assert [Ether(f)[IP].ttl for f in obs.on("wan0")] == [63]
    ((_, count),) = obs.counters.items()
    assert count.packets == 1      # meta iif/oif: the host file's ifindexes; iifgroup: its group
