"""The kernel forwarding a ClassBench ACL between network namespaces: the same-run
baseline of ``pkt bench acl`` (issue 8 part 3).

Theory of operation
-------------------
Three namespaces joined by two veth pairs::

    sender  s0 ──veth── r0  router  r1 ──veth── k0  sink
    (AF_PACKET,          (ip_forward=1, the ACL in    (netdev ingress:
     prebuilt frames)     a forward-hook chain)        counter, drop)

* The **router** forwards every unicast IPv4 packet to the sink: a default route via a
  permanent neighbour (no ARP), ``rp_filter`` off (the trace's source addresses are
  random, strict reverse-path filtering would drop them before the forward hook).
  Table ``ip acl`` is the generated ruleset loaded with ``nft -f``, chain ``rules`` at
  ``hook forward priority filter``.  Table ``ip pktcount`` holds one base chain at
  ``hook forward priority -10`` with a named counter: every packet the ACL chain sees
  first passes through it.  That counter is the figure: packets the ruleset processed.
  Packets dropped in the veth backlog (``netdev_max_backlog``) before the router
  handled them are never counted, so backlog drops neither inflate nor deflate it.
* The **sink** counts the IPv4 packets the router forwarded (``netdev`` ingress chain,
  then drop; IPv6 is off on every link).  processed - forwarded is what the ACL dropped: compared with the share of
  drop verdicts that pkttables gives the same frames, it shows the kernel ran the same
  ruleset on the same packets.
* The **sender** writes prebuilt Ethernet frames to an ``AF_PACKET`` socket for a fixed
  time, cycling through the trace.  veth's transmit queues the frame to the peer's
  backlog and the softirq that forwards it runs when the send re-enables bottom
  halves (or in ksoftirqd when it falls behind), so the sender is throttled by the
  router; with no rules the same sender measures what the harness itself can push
  (the ceiling: a rate well below it is the ruleset's cost, not the sender's).

The rate is processed packets / (time of the counter's last change - first send): the
counter is polled after the send loop until it stops moving, so packets still in the
backlog when the loop ends are counted with the time they took.

Frames whose source or destination the kernel never forwards (0/8, 127/8, multicast,
240/4, the broadcast address: ``ip_route_input_slow`` treats them as martians or local
broadcast) are left out of the kernel's traffic; :func:`forwardable` says which.

Namespaces are named ``pktacl<pid><role>`` and always deleted (``try/finally`` in
:meth:`KernelForwarder.close`).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pkttables.errors import HarnessError

__all__ = ["KernelForwarder", "KernelRate", "forwardable", "ROUTER_MAC", "SENDER_MAC"]

#: the trace frames' destination and source MACs (classbench.header_frame): the router's
#: r0 and the sender's s0 take these addresses so the frames need no rewriting
ROUTER_MAC = "02:00:00:00:00:02"
SENDER_MAC = "02:00:00:00:00:01"
_SINK_MAC = "02:00:00:00:00:0b"
_R1_MAC = "02:00:00:00:00:0a"
# link networks from the benchmarking range (RFC 2544 / RFC 6890: 198.18.0.0/15)
_R0_NET, _R1_NET, _SINK_IP = "198.18.0.1/30", "198.18.1.1/30", "198.18.1.2"

_COUNT = """table ip pktcount {
	counter seen { }
	chain c {
		type filter hook forward priority -10; policy accept;
		counter name "seen"
	}
}
"""
_SINK = """table netdev pktsink {
	counter got { }
	chain c {
		type filter hook ingress device "k0" priority 0; policy drop;
		meta protocol ip counter name "got"
	}
}
"""
_PACKETS = re.compile(r"packets (\d+)")


def forwardable(saddr: int, daddr: int) -> bool:
    """Whether Linux forwards an IPv4 unicast packet between these addresses
    (``ip_route_input_slow``: zeronet, loopback, multicast and limited broadcast
    sources are martians; such destinations are martian, local or multicast; 240/4 is
    left out as well) and the destination is not one of the lab's own link networks."""
    for a in (saddr, daddr):
        top = a >> 24
        if top in (0, 127) or top >= 224:
            return False
    return (daddr >> 16) != 0xC612 and (saddr >> 16) != 0xC612    # 198.18/16: the links


@dataclass(frozen=True, slots=True)
class KernelRate:
    """One measurement: packets the ACL chain processed in ``seconds``, of ``sent``
    frames written; ``forwarded``: what reached the sink (accepted by the ACL)."""

    rules: int
    processed: int
    forwarded: int
    sent: int
    seconds: float

    @property
    def pps(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    @property
    def accepted_share(self) -> float:
        return self.forwarded / self.processed if self.processed else 0.0


class KernelForwarder:
    """The three-namespace lab.  ``with KernelForwarder() as k: k.load(text);
    k.measure(frames, seconds=1.0)``.  Needs root, ``ip`` and ``nft``."""

    def __init__(self, prefix: str | None = None):
        base = prefix or f"pktacl{os.getpid()}"
        self.sender, self.router, self.sink = base + "s", base + "r", base + "k"
        self._made: list[str] = []
        self._sock: socket.socket | None = None
        self.rules = 0
        #: the rate with an empty ACL chain, once measured (the harness's ceiling)
        self.ceiling: KernelRate | None = None
        self._loading = None

    # ------------------------------------------------------------------ setup
    def __enter__(self) -> "KernelForwarder":
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self, cmd: Sequence[str], *, ns: str | None = None, input: str | None = None,
             timeout: float = 30.0) -> str:
        full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
        try:
            r = subprocess.run(full, input=input, capture_output=True, text=True, timeout=timeout)
        except (subprocess.TimeoutExpired, FileNotFoundError) as e:
            raise HarnessError(f"kernel ACL lab: {' '.join(full[:7])}: {e}") from None
        if r.returncode != 0:
            raise HarnessError(f"kernel ACL lab: {' '.join(full[:7])} failed (exit {r.returncode}): "
                               f"{r.stderr.strip()[:300]}")
        return r.stdout

    def _setup(self) -> None:
        s, r, k = self.sender, self.router, self.sink
        for ns in (s, r, k):
            self._run(["ip", "netns", "add", ns])
            self._made.append(ns)
        for cmd in (
            f"link add s0 netns {s} address {SENDER_MAC} type veth peer name r0 netns {r} address {ROUTER_MAC}",
            f"link add r1 netns {r} address {_R1_MAC} type veth peer name k0 netns {k} address {_SINK_MAC}",
            f"-n {s} link set s0 up", f"-n {r} link set r0 up", f"-n {r} link set r1 up",
            f"-n {r} link set lo up", f"-n {k} link set k0 up",
            f"-n {r} addr add {_R0_NET} dev r0", f"-n {r} addr add {_R1_NET} dev r1",
            f"-n {r} neigh add {_SINK_IP} lladdr {_SINK_MAC} dev r1 nud permanent",
            f"-n {r} route add default via {_SINK_IP} dev r1",
        ):
            self._run(["ip", *cmd.split()])
        for ns in (s, r, k):
            # no IPv6 on the links: the router's DAD/RS/MLD packets would reach the sink
            self._run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
                      ns=ns)
        for key in ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
                    "net.ipv4.conf.default.rp_filter=0", "net.ipv4.conf.r0.rp_filter=0"):
            self._run(["sysctl", "-qw", key], ns=r)
        self._run(["nft", "-f", "-"], ns=r, input=_COUNT)
        self._run(["nft", "-f", "-"], ns=k, input=_SINK)
        from pkttables.testing._netns import in_netns

        with in_netns(s):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        sock.bind(("s0", 0))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self._sock = sock

    def close(self) -> None:
        if self._loading is not None:
            self._loading[1].kill()
            self._loading[0].join()
            self._loading = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        from pkttables.testing._netns import del_netns

        del_netns(self._made)
        self._made = []

    # ------------------------------------------------------------------ ruleset
    def load(self, text: str, rules: int, path: str | None = None) -> float:
        """Replace table ``ip acl`` in the router with ``text`` (or the file ``path``)
        through ``nft -f``; the seconds nft took."""
        self.start_load(rules, path, text)
        return self.finish_load()

    def start_load(self, rules: int, path: str | None = None, text: str | None = None) -> None:
        """:meth:`load` in the background (``nft -f`` is its own process): the caller goes
        on with work that is not timed, then calls :meth:`finish_load`."""
        import threading

        if "table ip acl" in self._run(["nft", "list", "tables"], ns=self.router):
            self._run(["nft", "delete table ip acl"], ns=self.router, timeout=120)
        cmd = ["ip", "netns", "exec", self.router, "nft", "-f", path or "-"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if path is None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        box: dict = {}

        def wait() -> None:
            box["out"] = proc.communicate(text if path is None else None, timeout=300)
            box["seconds"] = time.perf_counter() - t0

        th = threading.Thread(target=wait, daemon=True)
        th.start()
        self._loading = (th, proc, box, rules)

    def finish_load(self) -> float:
        th, proc, box, rules = self._loading
        th.join()
        self._loading = None
        if "seconds" not in box or proc.returncode != 0:
            err = box.get("out", ("", "timed out"))[1].strip()[:300]
            raise HarnessError(f"kernel ACL lab: nft -f of {rules} rules failed (exit {proc.returncode}): {err}")
        self.rules = rules
        return box["seconds"]

    def counters(self) -> tuple[int, int]:
        """(packets the router's forward hook processed, packets the sink received)."""
        # `list table`: nft 1.0.6 fetches only that table; `list counter` fetches every
        # rule of the namespace first (5 s with the 100k-rule ACL loaded)
        a = self._run(["nft", "list", "table", "ip", "pktcount"], ns=self.router)
        b = self._run(["nft", "list", "table", "netdev", "pktsink"], ns=self.sink)
        return int(_PACKETS.search(a).group(1)), int(_PACKETS.search(b).group(1))

    # ------------------------------------------------------------------ traffic
    def measure(self, frames: Sequence[bytes], seconds: float = 1.0, *, warmup: float = 0.25) -> KernelRate:
        """Send ``frames`` in a loop; while they flow, read the counters after ``warmup``
        seconds and again ``seconds`` later (from a second thread, so the sender never
        pauses and the backlog stays full): the steady-state rate of the ruleset."""
        import threading

        if not frames:
            raise ValueError("no frames to send")
        sock = self._sock
        if sock is None:
            raise HarnessError("kernel ACL lab: measure() outside its with block")
        marks: list[tuple[float, tuple[int, int]]] = []
        errors: list[BaseException] = []
        done = threading.Event()

        def reader() -> None:
            try:
                for wait in (warmup, seconds):
                    time.sleep(wait)
                    ta = time.perf_counter()
                    c = self.counters()
                    # the counters were read somewhere inside the call: take its midpoint
                    marks.append(((ta + time.perf_counter()) / 2, c))
            except BaseException as e:  # noqa: BLE001 -- re-raised in the sending thread
                errors.append(e)
            finally:
                done.set()

        th = threading.Thread(target=reader, daemon=True)
        send = sock.send
        n = len(frames)
        sent = 0
        i = 0
        th.start()
        while not done.is_set():
            for f in frames[i:i + 64]:
                try:
                    send(f)
                except OSError:       # ENOBUFS and the like: the frame is simply not sent
                    continue
                sent += 1
            i = i + 64 if i + 64 < n else 0
        th.join()
        if errors:
            raise errors[0]
        (ta, (pa, fa)), (tb, (pb, fb)) = marks
        return KernelRate(self.rules, pb - pa, fb - fa, sent, tb - ta)

    def replay(self, frames: Sequence[bytes], *, burst: int = 200, pause: float = 0.005,
               settle: float = 0.2) -> tuple[int, int]:
        """Send each frame once, in bursts small enough for the veth backlog, and wait
        for the counters to settle: (processed, forwarded) for exactly these frames
        (when processed == len(frames), nothing was lost).  For tests: verdict by
        verdict agreement with pkttables, not a rate."""
        sock = self._sock
        if sock is None:
            raise HarnessError("kernel ACL lab: replay() outside its with block")
        p0, f0 = self.counters()
        for i in range(0, len(frames), burst):
            for f in frames[i:i + burst]:
                sock.send(f)
            time.sleep(pause)
        last = None
        for _ in range(50):
            time.sleep(settle)
            c = self.counters()
            if c == last:
                break
            last = c
        return last[0] - p0, last[1] - f0

