"""Capture the kernel's nf_log lines for a fixed set of frames (writes golden_log.json).

Run as root: ``python tests/unit/log/capture_golden.py``.  Builds two namespaces
``pktchain<pid>a`` / ``pktchain<pid>b`` joined by a veth pair, loads a ruleset that logs
every frame at prerouting (with several flag sets) and at input in ``b``, sends the
frames from ``a`` over AF_PACKET and reads the lines back with ``dmesg``.

The kernel logs from a non-initial namespace only when
``net.netfilter.nf_log_all_netns`` is 1: the script sets it for the run and restores
the old value (a global sysctl; the capture is meant to be run once, by hand).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "src"))

from pkttables.testing import packets as P  # noqa: E402

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"
OUT = Path(__file__).with_name("golden_log.json")

RULESET = """
table inet logt {
  chain pre { type filter hook prerouting priority 0;
    meta mark set 0x2a log prefix "P0 "
    log prefix "P1 " flags tcp sequence,options flags ip options
    log prefix "P2 " flags ether
    meta mark set 0
  }
  chain inp { type filter hook input priority 0;
    log prefix "I0 " level info
  }
}
"""


def frames() -> list[tuple[str, bytes]]:
    ea, eb = MAC_A, MAC_B
    f = []
    tcp = P.tcp(40000, 22, flags=0x02, seq=123456, ack=0)
    f.append(("tcp-syn", P.ether(eb, ea, P.ipv4("10.9.0.1", "10.9.0.2", tcp, ident=7, df=True))))
    f.append(("tcp-ack-psh", P.ether(eb, ea, P.ipv4("10.9.0.1", "10.9.0.2",
                                                    P.tcp(40001, 80, flags=0x18, seq=5, ack=99,
                                                          payload=b"hi"), ident=8, df=False, tos=0xb8))))
    f.append(("udp", P.ether(eb, ea, P.ipv4("10.9.0.1", "10.9.0.2", P.udp(5353, 53, b"abcd"), ttl=3))))
    f.append(("icmp-echo", P.ether(eb, ea, P.ipv4("10.9.0.1", "10.9.0.2", P.icmp_echo(77, 3, b"x" * 8)))))
    inner = P.ipv4("10.9.0.2", "10.9.0.9", P.udp(1000, 2000, b"q"), ident=3)
    f.append(("icmp-unreach", P.ether(eb, ea, P.ipv4("10.9.0.1", "10.9.0.2", P.icmp_error(3, 3, inner)))))
    f.append(("icmp-fragneeded", P.ether(eb, ea, P.ipv4("10.9.0.1", "10.9.0.2",
                                                        P.icmp_error(3, 4, inner, rest=1400)))))
    f.append(("tcp6", P.ether(eb, ea, P.ipv6("fd00::1", "fd00::2", P.tcp(40002, 443, flags=0x02, seq=1)))))
    f.append(("udp6", P.ether(eb, ea, P.ipv6("fd00::1", "fd00::2", P.udp(1, 2, b"zz"), hlim=9))))
    f.append(("echo6", P.ether(eb, ea, P.ipv6("fd00::1", "fd00::2", P.icmp_echo(5, 6, v6=True)))))
    return f


def sh(*args: str, check: bool = True) -> str:
    return subprocess.run(args, check=check, capture_output=True, text=True).stdout


def main() -> None:
    pid = os.getpid()
    na, nb = f"pktchain{pid}a", f"pktchain{pid}b"
    knob = Path("/proc/sys/net/netfilter/nf_log_all_netns")
    old = knob.read_text().strip()
    try:
        sh("ip", "netns", "add", na)
        sh("ip", "netns", "add", nb)
        sh("ip", "-n", na, "link", "add", "pa0", "address", MAC_A, "type", "veth", "peer", "name", "pb0",
           "netns", nb, "address", MAC_B)
        for ns, dev, addr, addr6 in ((na, "pa0", "10.9.0.1/24", "fd00::1/64"),
                                     (nb, "pb0", "10.9.0.2/24", "fd00::2/64")):
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "addr", "add", addr6, "dev", dev, "nodad")
        sh("ip", "netns", "exec", nb, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0")
        subprocess.run(["ip", "netns", "exec", nb, "nft", "-f", "-"], input=RULESET, text=True, check=True)
        knob.write_text("1")
        tag = f"pktchain-{pid}-{time.time():.0f}"
        subprocess.run(["sh", "-c", f"echo {tag} > /dev/kmsg"], check=True)
        out = {"ruleset": RULESET, "frames": {}, "lines": {}}
        for name, frame in frames():
            out["frames"][name] = frame.hex()
            code = ("import socket,sys; s=socket.socket(socket.AF_PACKET, socket.SOCK_RAW); "
                    "s.bind(('pa0',0)); s.send(bytes.fromhex(sys.argv[1]))")
            sh("ip", "netns", "exec", na, sys.executable, "-c", code, frame.hex())
            time.sleep(0.3)
            text = sh("dmesg", "-r")
            after = text[text.rindex(tag):]
            lines = [re.sub(r"^<(\d)>\[\s*[\d.]+\] ", r"<\1>", ln) for ln in after.splitlines()[1:]]
            lines = [ln for ln in lines if re.match(r"<\d>[PI]\d ", ln)]
            out["lines"][name] = lines
            tag = f"pktchain-{pid}-{name}"
            subprocess.run(["sh", "-c", f"echo {tag} > /dev/kmsg"], check=True)
        OUT.write_text(json.dumps(out, indent=1) + "\n")
        print(json.dumps(out["lines"], indent=1))
    finally:
        knob.write_text(old)
        for ns in (na, nb):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


if __name__ == "__main__":
    main()
