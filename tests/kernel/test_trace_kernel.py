"""``nft monitor trace`` of the kernel against pkttables' trace lines (issue 4 §6-7).

The same host, ruleset and traffic go through a KernelLab (``nft monitor trace`` runs
in the lab's host namespace while the frames are injected) and through
:class:`pkttables.datapath.Simulator`.  The lines must be equal after masking only the
trace id -- and the ids must group the lines the same way (one id per skb: a forwarded
packet keeps its id from netdev ingress to postrouting).

Covered: forwarded, input and output (local) packets; jumps, gotos, returns,
continue, policies, verdict maps with jump/goto, several tables at one hook, ip/ip6/
inet/netdev/bridge tables; IPv4 and IPv6; TCP (single and combined flags), UDP,
UDP-Lite, SCTP, GRE, ICMP and ICMPv6 of many types, IPv4 options, an IPv6 extension
header, ARP, a VLAN tag; the packet: line at every hook.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time

import pytest

from lab_hosts import bridge_host
from pkttables.datapath.replay import Simulator
from pkttables.stack.host import load_host
from pkttables.testing._netns import in_netns
from pkttables.testing.kernel import Injection, KernelLab
from pkttables.testing.packets import (TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, Segment, arp_request,
                                       ether, icmp_echo, ipv4, ipv6, tcp, udp)

pytestmark = pytest.mark.kernel

HOST = "examples/home-router/host.toml"
LAN_MAC, CLI_MAC = "02:00:00:00:00:01", "02:00:00:00:00:10"
S, D, S6, D6 = "192.168.1.10", "93.184.216.34", "fd00:1::10", "2001:db8:9::1"
_ID = re.compile(r"^trace id ([0-9a-f]{8}) ")


def lan(l3: bytes, **kw) -> Injection:
    return Injection("lan0", ether(LAN_MAC, CLI_MAC, l3, **kw))


def icmp(t: int, c: int, rest: bytes, data: bytes = b"", v6: bool = False) -> Segment:
    return Segment(58 if v6 else 1, bytes([t, c, 0, 0]) + rest + data, 2, v6)


def masked(lines: list[str]) -> list[str]:
    """Each run of lines with one trace id numbered in order (#0, #1, ...).  The kernel's
    id is a hash of the skb's address, so a later packet can reuse a freed skb and its id:
    numbering by first appearance would then depend on the allocator's timing."""
    out = []
    prev, n = None, -1
    for ln in lines:
        m = _ID.match(ln)
        if m is None:
            continue
        if m[1] != prev:
            prev, n = m[1], n + 1
        out.append(f"trace id #{n} " + ln[m.end():])
    return out


def kernel_trace(host, ruleset: str, injections: list[Injection]) -> list[str]:
    """The kernel's trace lines.  `nft monitor trace` prints as events arrive, so wait until
    it has been quiet for a while (a loaded machine delays it) before stopping it."""
    import threading

    lines: list[str] = []
    last = [time.monotonic()]

    def reader(stream):
        for ln in stream:
            lines.append(ln.rstrip("\n"))
            last[0] = time.monotonic()

    with KernelLab(host, timeout=40, settle=0.2) as lab:
        lab.load(ruleset)
        with in_netns(lab.hostns):
            mon = subprocess.Popen(["nft", "monitor", "trace"], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True, bufsize=1)
        t = threading.Thread(target=reader, args=(mon.stdout,), daemon=True)
        t.start()
        try:
            time.sleep(0.3)          # the monitor's netlink socket is subscribed
            lab.inject(injections)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and time.monotonic() - last[0] < 0.7:
                time.sleep(0.05)
        finally:
            mon.send_signal(signal.SIGINT)
            try:
                mon.wait(timeout=5)
            except subprocess.TimeoutExpired:
                mon.kill()
                mon.wait()
            t.join(timeout=5)
    return lines


def our_trace(host, ruleset: str, injections: list[Injection], tmp_path) -> list[str]:
    from pkttables.datapath.replay import load_ruleset

    path = tmp_path / "trace.nft"
    path.write_text(ruleset)
    sim = Simulator(host, load_ruleset(str(path), host), seed=0)
    lines = []
    for i, inj in enumerate(injections):
        link = 101 if inj.ifname == "local" else 1
        for res in sim.process(inj.frame, (1000 + i) * 10**9, inj.ifname, i, link):
            lines += [e["line"] for e in res.events if e.get("type") == "trace"]
    return lines


def check(host, ruleset, injections, tmp_path, min_lines):
    want = masked(kernel_trace(host, ruleset, injections))
    got = masked(our_trace(host, ruleset, injections, tmp_path))
    assert len(want) >= min_lines           # the monitor saw the traffic
    assert got == want


CHAINS = """
table inet t {
	chain pre {
		type filter hook prerouting priority 0; policy accept;
		meta nftrace set 1
	}
	chain fw {
		type filter hook forward priority 0; policy accept;
		tcp dport 80 jump webc
		udp dport vmap { 53 : jump dnsc, 54 : goto dnsc }
		ip6 nexthdr ipv6-icmp accept
		icmp type echo-request counter
	}
	chain webc {
		tcp flags syn counter return
		accept
	}
	chain dnsc {
		udp length > 10 continue
	}
	chain inp {
		type filter hook input priority 0; policy drop;
	}
}
table ip t2 {
	chain fw {
		type filter hook forward priority 10; policy accept;
	}
}
"""


def test_jumps_gotos_returns_vmaps_two_tables(tmp_path):
    inj = [lan(ipv4(S, D, tcp(40000, 80, TCP_SYN, seq=1000))),
           lan(ipv4(S, D, udp(5353, 53, b"hello world"))),
           lan(ipv4(S, D, udp(5353, 54, b"x"))),
           lan(ipv4(S, "192.168.1.1", udp(5353, 54, b"x")))]
    check(load_host(HOST), CHAINS, inj, tmp_path, 30)


PATHS = """
table netdev n {
	chain ing {
		type filter hook ingress device "lan0" priority 0; policy accept;
		meta nftrace set 1
		ether type ip6 counter
	}
}
table inet t {
	chain out {
		type filter hook output priority 0; policy accept;
		meta nftrace set 1
		ip6 nexthdr ipv6-icmp accept
		udp dport 7 drop
	}
	chain fw {
		type filter hook forward priority 0; policy accept;
		tcp flags syn | ack accept
		icmpv6 type echo-request accept
		icmp type echo-request goto x
	}
	chain x {
		ip length 84 accept
	}
	chain inp {
		type filter hook input priority 0; policy accept;
		tcp dport 22 drop
	}
	chain post {
		type filter hook postrouting priority 0; policy accept;
	}
}
table ip6 t6 {
	chain fw {
		type filter hook forward priority 5; policy drop;
		udp dport 53 accept
	}
}
"""


def test_forward_input_output_v4_v6(tmp_path):
    inj = [lan(ipv4(S, D, tcp(40000, 80, TCP_SYN | TCP_ACK, seq=1000, ack=5))),
           lan(ipv4(S, D, icmp_echo(77, 3, b"p" * 56))),
           lan(ipv6(S6, D6, udp(5353, 53, b"hello"))),
           lan(ipv6(S6, D6, tcp(40001, 443, TCP_SYN, seq=1))),
           lan(ipv6(S6, "fd00:1::1", tcp(40001, 22, TCP_SYN, seq=1))),
           lan(ipv4(S, "192.168.1.1", tcp(40001, 22, TCP_SYN, seq=1))),
           Injection("local", ipv4("192.168.1.1", S, udp(999, 7, b"zz"))),
           Injection("local", ipv4("203.0.113.2", D, udp(999, 8, b"zz"))),
           Injection("local", ipv6("2001:db8:1::2", D6, udp(999, 8, b"zz"))),
           lan(ipv6(S6, D6, icmp_echo(5, 6, b"abc", v6=True))),
           lan(ipv4(S, D, udp(1, 2, b"a"), tos=0xB9, ttl=9, df=False))]
    check(load_host(HOST), PATHS, inj, tmp_path, 60)


HEADERS = """
table netdev n {
	chain ing {
		type filter hook ingress device "lan0" priority 0; policy accept;
		meta nftrace set 1
	}
}
"""


def test_packet_line_headers(tmp_path):
    inj = [lan(ipv4(S, D, icmp(3, 3, bytes(4), b"q" * 8))), lan(ipv4(S, D, icmp(0, 0, b"\0\7\0\11"))),
           lan(ipv4(S, D, icmp(5, 1, bytes([10, 0, 0, 1])))), lan(ipv4(S, D, icmp(11, 0, bytes(4)))),
           lan(ipv4(S, D, icmp(3, 4, b"\0\0\5\xdc"))), lan(ipv4(S, D, icmp(13, 0, b"\0\1\0\2"))),
           lan(ipv4(S, D, icmp(99, 7, b"\0\1\0\2"))),
           lan(ipv6(S6, D6, icmp(1, 4, bytes(4), b"z" * 8, True))), lan(ipv6(S6, D6, icmp(2, 0, b"\0\0\5\0", b"", True))),
           lan(ipv6(S6, D6, icmp(129, 0, b"\0\1\0\2", b"", True))),
           lan(ipv6(S6, D6, icmp(135, 0, bytes(4), bytes(16), True))),
           lan(ipv6(S6, D6, icmp(4, 1, b"\0\0\0\x28", b"", True))), lan(ipv6(S6, D6, icmp(3, 1, bytes(4), b"", True))),
           lan(ipv6(S6, D6, icmp(130, 0, b"\0\x10\0\0", b"", True))),
           lan(ipv4(S, D, tcp(1, 2, 0, seq=1))), lan(ipv4(S, D, tcp(1, 2, TCP_FIN, seq=1))),
           lan(ipv4(S, D, tcp(1, 2, TCP_RST | TCP_ACK, seq=1, ack=3))),
           lan(ipv4(S, D, tcp(1, 2, TCP_PSH | TCP_ACK, seq=1, ack=3, payload=b"abcdefghijklmnopqrstuvwxyz"))),
           lan(ipv4(S, D, tcp(1, 2, 0xFF, seq=1))), lan(ipv4(S, D, tcp(1, 2, 0x20, seq=1))),
           lan(ipv4(S, D, Segment(132, bytes(12) + b"\1\0\0\x10" + bytes(12), None))),
           lan(ipv4(S, D, Segment(47, bytes(8), None))),
           lan(ipv4(S, D, udp(1, 2, b"x"), options=b"\1\1\1\0")),
           lan(ipv6(S6, D6, udp(1, 2, b"y"), flow=0x12345)),
           lan(ipv6(S6, D6, udp(1, 2, b"y"), exthdrs=b"\x11\0" + bytes(6), first_nexthdr=0)),
           lan(ipv4(S, D, Segment(136, b"\0\1\0\2\0\x08\0\0", 6))),
           Injection("lan0", arp_request(CLI_MAC, S, "192.168.1.1")),
           lan(ipv4(S, D, udp(1, 2, b"v")), vlan=5)]
    check(load_host(HOST), HEADERS, inj, tmp_path, 3 * len(inj))


BRIDGE = """
table bridge b {
	chain pre {
		type filter hook prerouting priority 0; policy accept;
		meta nftrace set 1
	}
	chain fw {
		type filter hook forward priority 0; policy accept;
		ether type arp accept
		udp dport 9 counter drop
	}
	chain inp {
		type filter hook input priority 0; policy accept;
	}
}
"""


def test_bridge_ether_fields(tmp_path):
    a, b = "02:00:00:00:09:01", "02:00:00:00:09:02"
    inj = [Injection("lan1", ether("ff:ff:ff:ff:ff:ff", a, arp_request(a, "10.0.0.5", "10.0.0.6")[14:], 0x0806)),
           Injection("lan2", ether(a, b, ipv4("10.0.0.6", "10.0.0.5", udp(7, 8, b"hi")))),
           Injection("lan1", ether(b, a, ipv4("10.0.0.5", "10.0.0.6", udp(7, 9, b"hi")))),
           Injection("lan1", ether(b, a, ipv6("fd00::5", "fd00::6", tcp(7, 9, TCP_SYN, seq=9)))),
           Injection("lan1", ether("02:00:00:00:03:01", a, ipv4("10.0.0.5", "10.0.0.1", udp(7, 9, b"hi"))))]
    check(bridge_host(), BRIDGE, inj, tmp_path, 12)
