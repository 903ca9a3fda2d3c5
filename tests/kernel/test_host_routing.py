"""route_input/route_output against the kernel's `ip -j route get`, in a namespace built
from the same host file (namespaces pkthost<pid>..., deleted in finally)."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from pkttables.stack.host import Host
from pkttables.stack.routing import RouteKind

pytestmark = pytest.mark.kernel

HOST_A = """
[sysctl]
"net.ipv4.ip_forward" = 1
"net.ipv6.conf.all.forwarding" = 1

[[interface]]
name = "lan0"
mac = "02:00:00:00:00:01"
addresses = ["192.168.1.1/24", "192.168.1.7/24", "10.1.0.1/16", "fd00:1::1/64"]

[[interface]]
name = "wan0"
mac = "02:00:00:00:01:01"
addresses = ["203.0.113.2/24", "2001:db8:1::2/64"]

[[interface]]
name = "dmz0"
mac = "02:00:00:00:02:01"
addresses = ["172.16.0.1/30", "2001:db8:2::1/64"]

[[route]]
to = "0.0.0.0/0"
via = "203.0.113.1"
dev = "wan0"

[[route]]
to = "10.1.5.0/24"
via = "172.16.0.2"

[[route]]
to = "10.1.5.128/25"
via = "192.168.1.254"
metric = 5

[[route]]
to = "10.66.0.0/16"
type = "blackhole"

[[route]]
to = "10.67.0.0/16"
type = "unreachable"

[[route]]
to = "10.68.0.0/16"
type = "prohibit"

[[route]]
to = "::/0"
via = "2001:db8:1::1"
dev = "wan0"

[[route]]
to = "2001:db8:77::/48"
via = "fd00:1::fe"

[[route]]
to = "2001:db8:66::/48"
type = "blackhole"

[[route]]
to = "2001:db8:68::/48"
type = "prohibit"

[[bridge]]
name = "br0"
mac = "02:00:00:00:03:01"
ports = ["lan1"]
addresses = ["10.0.0.1/24"]

[[interface]]
name = "lan1"
mac = "02:00:00:00:04:01"
"""

HOST_NOFWD = """
[sysctl]
"net.ipv4.ip_forward" = 0
"net.ipv6.conf.all.forwarding" = 0

[[interface]]
name = "eth0"
mac = "02:00:00:00:00:01"
addresses = ["192.0.2.1/24", "2001:db8::1/64"]

[[interface]]
name = "eth1"
mac = "02:00:00:00:00:02"
addresses = ["198.51.100.1/24", "2001:db8:1::1/64"]
"""

INPUT = {
    "a": [
        ("192.168.1.1", "192.168.1.10", "lan0"), ("192.168.1.7", "192.168.1.10", "lan0"),
        ("203.0.113.2", "192.168.1.10", "lan0"), ("8.8.8.8", "192.168.1.10", "lan0"),
        ("192.168.1.20", "192.168.1.10", "lan0"), ("192.168.1.255", "192.168.1.10", "lan0"),
        ("255.255.255.255", "192.168.1.10", "lan0"), ("10.1.5.3", "192.168.1.10", "lan0"),
        ("10.1.5.200", "192.168.1.10", "lan0"), ("10.1.9.9", "192.168.1.10", "lan0"),
        ("10.66.1.1", "192.168.1.10", "lan0"), ("10.67.1.1", "192.168.1.10", "lan0"),
        ("10.68.1.1", "192.168.1.10", "lan0"), ("127.0.0.1", "192.168.1.10", "lan0"),
        ("192.168.1.1", "127.0.0.1", "lan0"), ("192.168.1.1", "192.168.1.7", "lan0"),
        ("192.168.1.1", "0.0.0.0", "lan0"), ("0.1.2.3", "192.168.1.10", "lan0"),
        ("0.0.0.0", "192.168.1.10", "lan0"), ("8.8.8.8", "0.1.2.3", "lan0"), ("8.8.8.8", "0.0.0.0", "lan0"),
        ("fd00:1::1", "fd00:1::1", "lan0"), ("2001:db8:1::2", "2001:db8:77::1", "lan0"),
        ("192.168.1.1", "224.0.0.9", "lan0"), ("224.0.0.1", "192.168.1.10", "lan0"),
        ("10.0.0.9", "8.8.8.8", "wan0"), ("172.16.0.3", "8.8.8.8", "wan0"), ("10.0.0.255", "8.8.8.8", "wan0"),
        ("fd00:1::1", "fd00:1::10", "lan0"), ("2001:db8:1::2", "fd00:1::10", "lan0"),
        ("2001:db8:9::1", "fd00:1::10", "lan0"), ("2001:db8:1::9", "fd00:1::10", "lan0"),
        ("2001:db8:77::1", "2001:db8:1::9", "wan0"), ("2001:db8:66::1", "fd00:1::10", "lan0"),
        ("2001:db8:68::1", "fd00:1::10", "lan0"), ("fd00:1::", "fd00:1::10", "lan0"),
        ("fe80::ff:fe00:1", "fe80::1", "lan0"),
    ],
    "nofwd": [
        ("192.0.2.1", "192.0.2.9", "eth0"), ("198.51.100.1", "192.0.2.9", "eth0"),
        ("198.51.100.9", "192.0.2.9", "eth0"), ("8.8.8.8", "192.0.2.9", "eth0"),
        ("2001:db8::1", "2001:db8::9", "eth0"), ("2001:db8:1::1", "2001:db8::9", "eth0"),
    ],
}

OUTPUT = {
    "a": [
        ("8.8.8.8", None, None), ("192.168.1.10", None, None), ("192.168.1.7", None, None),
        ("203.0.113.2", None, None), ("10.1.5.3", None, None), ("10.1.5.200", None, None),
        ("10.66.1.1", None, None), ("10.67.1.1", None, None), ("10.68.1.1", None, None),
        ("127.0.0.5", None, None), ("10.0.0.5", None, None), ("192.168.1.255", None, None),
        ("8.8.8.8", "lan0", None), ("8.8.8.8", None, "192.168.1.7"), ("8.8.8.8", None, "10.9.9.9"),
        ("172.16.0.2", None, None), ("224.0.0.1", "lan0", None),
        ("2001:db8:1::9", None, None), ("2001:db8:9::9", None, None), ("fd00:1::9", None, None),
        ("2001:db8:2::9", None, None), ("2001:db8:77::1", None, None), ("fd00:1::1", None, None),
        ("fe80::9", "wan0", None), ("2001:db8:66::1", None, None), ("ff02::1", "lan0", None),
        ("2001:db8:1::9", None, "fd00:1::1"), ("2001:db8:1::9", None, "2001:db8:99::1"),
        ("fd00:1::", None, None), ("fe80::9", "lan0", None), ("10.1.0.99", None, None),
    ],
    "nofwd": [("8.8.8.8", None, None), ("198.51.100.9", None, None), ("2001:db8:1::9", None, None),
              ("2001:db8:5::9", None, None)],
}

HOSTS = {"a": HOST_A, "nofwd": HOST_NOFWD}


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(args, capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


def build(ns: str, peer: str, host: Host) -> None:
    """A namespace copy of host: veth pairs (peers in `peer`) and bridges."""
    X = ("ip", "netns", "exec", ns)
    sh(*X, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
    for k, v in host.sysctls.items():
        if k.startswith(("net.ipv4", "net.ipv6")):
            sh(*X, "sysctl", "-qw", f"{k}={v}")
    sh("ip", "-n", ns, "link", "set", "lo", "up")
    for ifc in sorted(host.interfaces.values(), key=lambda i: i.ifindex):
        if ifc.kind == "loopback":
            continue
        if ifc.kind == "bridge":
            sh("ip", "-n", ns, "link", "add", ifc.name, "type", "bridge")
        else:
            sh("ip", "-n", ns, "link", "add", ifc.name, "type", "veth", "peer", "name", f"p{ifc.ifindex}",
               "netns", peer)
            sh("ip", "-n", peer, "link", "set", f"p{ifc.ifindex}", "up")
        sh("ip", "-n", ns, "link", "set", ifc.name, "address", ifc.mac.hex(":"), "mtu", str(ifc.mtu))
    for br in host.bridges.values():
        for p in br.ports:
            sh("ip", "-n", ns, "link", "set", p, "master", br.name)
    for ifc in sorted(host.interfaces.values(), key=lambda i: i.ifindex):
        if ifc.kind == "loopback":
            continue
        for a in ifc.addresses:
            if not (a.version == 6 and a.ip.is_link_local):
                sh("ip", "-n", ns, "addr", "add", str(a), "dev", ifc.name, *(("nodad",) if a.version == 6 else ()))
        sh("ip", "-n", ns, "link", "set", ifc.name, "up")
    for r in host.routes:
        cmd = ["ip", "-n", ns, f"-{r.to.version}", "route", "add"]
        if r.kind != "unicast":
            cmd.append(r.kind)
        cmd.append(str(r.to))
        if r.via is not None:
            cmd += ["via", str(r.via)]
        if r.dev is not None:
            cmd += ["dev", r.dev]
        cmd += ["metric", str(r.metric)]
        if r.prefsrc is not None:
            cmd += ["src", str(r.prefsrc)]
        sh(*cmd)
    # Wait for the link-local addresses the kernel generates when a link comes up.
    want = sum(1 for i in host.interfaces.values() if i.kind != "loopback")
    for _ in range(100):
        out = sh("ip", "-n", ns, "-6", "addr", "show", "scope", "link").stdout
        if out.count("inet6 fe80") >= want and "tentative" not in out:
            break
        time.sleep(0.05)


def kernel_get(ns: str, args: list[str]):
    r = sh("ip", "-n", ns, "-j", "route", "get", *args, check=False)
    if r.returncode != 0:
        msg = r.stderr.strip()
        for key, name in (("Network is unreachable", "ENETUNREACH"), ("No route to host", "EHOSTUNREACH"),
                          ("Invalid argument", "EINVAL"), ("Permission denied", "EACCES"),
                          ("Cannot assign requested address", "EADDRNOTAVAIL")):
            if key in msg:
                return ("error", name)
        return ("error", msg)
    (j,) = json.loads(r.stdout)
    kind = j.get("type", "unicast")
    if kind in ("local", "broadcast", "multicast", "blackhole", "prohibit", "unreachable", "anycast"):
        if kind in ("blackhole", "prohibit", "unreachable"):
            return (kind,)
        return (kind if kind != "anycast" else "local",)
    return ("unicast", j.get("dev"), j.get("gateway"), j.get("prefsrc"))


_ERR = {RouteKind.BLACKHOLE: "EINVAL", RouteKind.PROHIBIT: "EACCES", RouteKind.MARTIAN: "EINVAL"}


def mine(dec, family: int, output: bool, forwarding: bool):
    k = dec.kind
    if k in (RouteKind.FORWARD, RouteKind.OUTPUT):
        gw = str(dec.route.via) if dec.route is not None and dec.route.via is not None else None
        return ("unicast", dec.oif, gw, str(dec.saddr) if output and family == 4 else None)
    if k in (RouteKind.LOCAL, RouteKind.BROADCAST, RouteKind.MULTICAST):
        return (k.value,)
    if family == 6:
        if k == RouteKind.UNREACHABLE and dec.route is not None and not forwarding:
            # ip6 finds the route; the forwarding check comes later, in ip6_forward().
            r = dec.route
            return ("unicast", r.dev, str(r.via) if r.via else None, None)
        if k == RouteKind.UNREACHABLE:
            return ("error", "ENETUNREACH")
    if k == RouteKind.MARTIAN and "EADDRNOTAVAIL" in dec.reason:
        return ("error", "EADDRNOTAVAIL")
    if k == RouteKind.UNREACHABLE:
        if dec.route is not None and dec.route.kind == "unreachable":
            return ("error", "EHOSTUNREACH")
        if output or dec.icmp == (3, 0):
            return ("error", "ENETUNREACH")
        return ("error", "EHOSTUNREACH")
    return ("error", _ERR[k])


@pytest.fixture(scope="module")
def labs():
    pid = os.getpid()
    made: list[str] = []
    try:
        out = {}
        for name, text in HOSTS.items():
            ns, peer = f"pkthost{pid}{name}", f"pkthost{pid}{name}p"
            for n in (ns, peer):
                sh("ip", "netns", "add", n)
                made.append(n)
            host = Host.from_toml(text, f"<{name}>")
            build(ns, peer, host)
            out[name] = (ns, host)
        yield out
    finally:
        for n in made:
            subprocess.run(["ip", "netns", "del", n], capture_output=True, timeout=20)


def _fix_kernel(k, family, output):
    # `ip route get` prints prefsrc for IPv4 only when asked about output; input has none.
    if k[0] == "unicast" and (family == 6 or not output):
        return k[:3] + (None,)
    return k


@pytest.mark.parametrize("name,case", [(n, c) for n, cs in INPUT.items() for c in cs],
                         ids=[f"{n}-{c[0]}-from-{c[1]}-iif-{c[2]}" for n, cs in INPUT.items() for c in cs])
def test_route_input_matches_kernel(labs, name, case):
    ns, host = labs[name]
    d, s, iif = case
    fam = 6 if ":" in d else 4
    dec = host.route_input(d, s, iif)
    fwd = bool(host.sysctl("net.ipv6.conf.all.forwarding" if fam == 6 else "net.ipv4.ip_forward"))
    kernel = _fix_kernel(kernel_get(ns, [d, "from", s, "iif", iif]), fam, False)
    assert mine(dec, fam, False, fwd) == kernel, dec


@pytest.mark.parametrize("name,case", [(n, c) for n, cs in OUTPUT.items() for c in cs],
                         ids=[f"{n}-{c[0]}-oif-{c[1]}-from-{c[2]}" for n, cs in OUTPUT.items() for c in cs])
def test_route_output_matches_kernel(labs, name, case):
    ns, host = labs[name]
    d, oif, s = case
    fam = 6 if ":" in d else 4
    dec = host.route_output(d, oif, s)
    args = [d] + (["oif", oif] if oif else []) + (["from", s] if s else [])
    kernel = kernel_get(ns, args)
    if kernel[0] == "unicast" and (fam == 6 or s):   # prefsrc is printed only without `from`
        kernel = kernel[:3] + (None,)
    m = mine(dec, fam, True, True)
    if m[0] == "unicast" and s:
        m = m[:3] + (None,)
    assert m == kernel, dec
    if fam == 6 and not s and dec.saddr is not None and kernel[0] == "unicast":
        # IPv6 source selection: what `ip route get` prints as prefsrc.
        j = json.loads(sh("ip", "-n", ns, "-j", "route", "get", *args).stdout)[0]
        assert str(dec.saddr) == j.get("prefsrc"), dec
