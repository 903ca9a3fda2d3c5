"""`pkt bench` figures for connection tracking: ``run_conntrack_bench(report, opt)``.

Measured on pkttables (one ConntrackTable, nobody listening to events, packets parsed
before the clock starts so only conntrack is timed):

* ``new conn``: NEW UDP flows, ``in_hook`` + ``confirm`` per packet (conn/s);
* ``established``: TCP segments of established flows (window tracking included),
  round robin over 1000 flows (pkt/s);
* ``memory``: bytes per tracked entry with tracemalloc, after N new UDP flows
  (N = 1M, 100k with ``--quick``), packets freed.

And the kernel's figures on the same machine, in the same run, where they can be
measured (root, ``ip``, ``conntrack``; skipped with a note otherwise):

* ``new conn``: a burst of N new UDP flows injected through a veth into a namespace
  that tracks them; the rate is entries counted by ``conntrack -C`` over the time from
  the first send until the count stops growing.  The sender is Python (AF_PACKET), so
  this is a lower bound of the kernel's rate;
* ``memory``: the ``nf_conntrack`` slab's object size from /proc/slabinfo (the entry
  alone; extensions are allocated apart).

Namespaces of the kernel measurement are named ``pktctnat<pid>b...`` and always deleted.
"""

from __future__ import annotations

import gc
import os
import struct
import time
import tracemalloc
from typing import Any

__all__ = ["run_conntrack_bench", "measure_ours", "measure_kernel"]

_LAN = bytes.fromhex("020000000001")
_CLI = bytes.fromhex("020000000010")


def _csum(data: bytes) -> int:
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _udp_frame(i: int, dst: bytes = bytes([198, 51, 100, 7])) -> bytes:
    src = bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
    sport = 1024 + (i % 60000)
    udp = struct.pack("!HHHH", sport, 53, 9, 0) + b"q"
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 29, 1, 0x4000, 64, 17, 0, src, dst))
    struct.pack_into("!H", ip, 10, _csum(bytes(ip)))
    return _LAN + _CLI + b"\x08\x00" + bytes(ip) + udp


def _tcp_frame(cport: int, flags: int, seq: int, ack: int, reply: bool) -> bytes:
    c, s = bytes([192, 168, 1, 10]), bytes([198, 51, 100, 7])
    src, dst, sp, dp = (s, c, 80, cport) if reply else (c, s, cport, 80)
    tcp = bytearray(struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 64240, 0, 0))
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    struct.pack_into("!H", tcp, 16, _csum(pseudo + bytes(tcp)))
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src, dst))
    struct.pack_into("!H", ip, 10, _csum(bytes(ip)))
    return _LAN + _CLI + b"\x08\x00" + bytes(ip) + bytes(tcp)


def measure_ours(n_new: int, n_est: int, n_mem: int) -> dict[str, float]:
    from pkttables.conntrack import ConntrackTable
    from pkttables.packet import LinkType, Packet

    out: dict[str, float] = {}
    # new connections
    ct = ConntrackTable(keep_events=False)
    pkts = [Packet(_udp_frame(i), LinkType.ETHERNET, iif="lan0") for i in range(n_new)]
    gc.collect()
    t0 = time.perf_counter()
    for p in pkts:
        ct.in_hook(p, "prerouting", 0.0)
        ct.confirm(p, 0.0)
    out["new_per_s"] = n_new / (time.perf_counter() - t0)
    del pkts, ct

    # established flows: handshakes first, then ACKs round robin (fresh packets: the
    # tracker reads them, nothing rewrites them)
    ct = ConntrackTable(keep_events=False)
    flows = 1000
    for f in range(flows):
        for fr in (_tcp_frame(20000 + f, 0x02, 1000, 0, False), _tcp_frame(20000 + f, 0x12, 5000, 1001, True),
                   _tcp_frame(20000 + f, 0x10, 1001, 5001, False)):
            p = Packet(fr, LinkType.ETHERNET, iif="lan0")
            ct.in_hook(p, "prerouting", 0.0)
            ct.confirm(p, 0.0)
    frames = [_tcp_frame(20000 + f, 0x10, 1001, 5001, False) for f in range(flows)]
    pkts = [Packet(frames[i % flows], LinkType.ETHERNET, iif="lan0") for i in range(n_est)]
    gc.collect()
    t0 = time.perf_counter()
    for p in pkts:
        ct.in_hook(p, "prerouting", 0.001)
        ct.confirm(p, 0.001)
    out["est_per_s"] = n_est / (time.perf_counter() - t0)
    del pkts, ct

    # memory per entry
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        ct = ConntrackTable(keep_events=False, sysctl=lambda name: (
            n_mem + 1 if name == "net.netfilter.nf_conntrack_max" else None))
        for i in range(n_mem):
            p = Packet(_udp_frame(i), LinkType.ETHERNET, iif="lan0")
            ct.in_hook(p, "prerouting", 0.0)
            ct.confirm(p, 0.0)
        del p
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - base
        out["entries"] = len(ct)
    finally:
        tracemalloc.stop()
    out["bytes_per_conn"] = used / max(1, out["entries"])
    return out


def _slab_objsize() -> int | None:
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                w = line.split()
                if w and w[0] == "nf_conntrack":
                    return int(w[3])
    except OSError:
        return None
    return None


def measure_kernel(n: int) -> dict[str, Any]:
    """New-connection rate of the kernel between two namespaces (a lower bound: the
    sender is Python) and the nf_conntrack slab object size."""
    import socket
    import subprocess

    from pkttables.testing._netns import in_netns

    out: dict[str, Any] = {"slab_objsize": _slab_objsize()}
    if os.geteuid() != 0:
        out["note"] = "not root: kernel rate not measured"
        return out
    base = f"pktctnat{os.getpid()}b"
    gw, peer = base + "g", base + "p"
    made: list[str] = []
    try:
        for ns in (gw, peer):
            subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True, timeout=10)
            made.append(ns)
        cmds = [
            ["ip", "link", "add", "lan0", "netns", gw, "address", "02:00:00:00:00:01", "type", "veth",
             "peer", "name", "pk0", "netns", peer, "address", "02:00:00:00:00:10"],
            ["ip", "-n", gw, "link", "set", "lan0", "up"], ["ip", "-n", gw, "link", "set", "lo", "up"],
            ["ip", "-n", peer, "link", "set", "pk0", "up"],
            ["ip", "-n", gw, "addr", "add", "10.0.0.1/8", "dev", "lan0"],
            ["ip", "netns", "exec", gw, "sysctl", "-qw", f"net.netfilter.nf_conntrack_max={4 * n}"],
            ["ip", "netns", "exec", gw, "nft", "add table ip t; add chain ip t in { type filter hook "
             "prerouting priority 0; ct state new counter; }"],
        ]
        for c in cmds:
            subprocess.run(c, check=True, capture_output=True, timeout=10)
        frames = [_udp_frame(i, dst=bytes([10, 0, 0, 1])) for i in range(n)]
        with in_netns(peer):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind(("pk0", 0))
        t0 = time.perf_counter()
        for f in frames:
            try:
                s.send(f)
            except BlockingIOError:
                pass
        t_sent = time.perf_counter()
        count, last_change = -1, time.perf_counter()
        while time.perf_counter() - last_change < 0.2 and time.perf_counter() - t0 < 60:
            r = subprocess.run(["ip", "netns", "exec", gw, "conntrack", "-C"], capture_output=True,
                               text=True, timeout=10)
            c = int(r.stdout.strip() or 0)
            if c != count:
                count, last_change = c, time.perf_counter()
        s.close()
        out.update(entries=count, seconds=last_change - t0, send_seconds=t_sent - t0,
                   new_per_s=count / max(last_change - t0, 1e-9))
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        out["note"] = f"kernel rate not measured: {e}"
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
    return out


def run_conntrack_bench(report, opt) -> None:
    """Record the figures above in ``report`` (pkttables.bench.report.Report)."""
    from pkttables.bench.report import Measurement

    w = "conntrack"
    # rates from 100k packets each (3-4 s per figure here); memory stays at the issue's
    # 1M flows, the workload's largest cost (tracemalloc)
    n_new = opt.n(100_000, 20_000)
    n_est = opt.n(100_000, 20_000)
    n_mem = opt.n(1_000_000, 100_000)
    ours = measure_ours(n_new, n_est, n_mem)
    m_new = report.add(Measurement(w, "pkttables", "new conn", ours["new_per_s"], "conn/s", n_new,
                                   "UDP, in_hook+confirm, parsed packets"))
    report.add(Measurement(w, "pkttables", "established", ours["est_per_s"], "pkt/s", n_est,
                           "TCP ACKs over 1000 established flows"))
    m_mem = report.add(Measurement(w, "pkttables", "memory", ours["bytes_per_conn"], "bytes/conn",
                                   int(ours["entries"]), "tracemalloc; aim <= 400"))
    k = measure_kernel(opt.n(100_000, 20_000))
    if k.get("new_per_s"):
        m_k = report.add(Measurement(w, "kernel", "new conn", k["new_per_s"], "conn/s", int(k["entries"]),
                                     "veth burst from Python, conntrack -C; a lower bound"))
        report.ratio(m_new, m_k)
    if k.get("slab_objsize"):
        m_ks = report.add(Measurement(w, "kernel", "memory", float(k["slab_objsize"]), "bytes/conn", 0,
                                      "nf_conntrack slab object size"))
        report.ratio(m_mem, m_ks)
    if k.get("note"):
        report.add(Measurement(w, "kernel", "note", 0.0, "", 0, k["note"]))
