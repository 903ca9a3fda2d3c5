"""The kernel oracle: run a host, a ruleset and traffic on the real Linux kernel.

Every behaviour of pkttables is checked by running the same host description, ruleset
and packets here, in network namespaces, and comparing what comes out.

Theory of operation
-------------------
Lab layout (one lab per :class:`KernelLab`; names ``pktlab<pid>x<n>``)::

    peer ns p0            host ns h                         peer ns p1
    [pk0] <--veth--> [lan0 mac/mtu/addrs]   [wan0] <--veth--> [pk1]
     AF_PACKET             nft ruleset, routes,                 AF_PACKET
     send + capture        neighbours, sysctls, bridges         send + capture

* The host namespace is a copy of :class:`pkttables.stack.host.Host`: every interface
  is the host end of a veth pair, with its name, MAC, MTU and addresses (IPv6 with
  ``nodad``); bridges are Linux bridges with their ports enslaved; static routes and
  ``nud permanent`` neighbours; the host's sysctls.  br_netfilter is built into this
  kernel and ``bridge-nf-call-ip(6)tables`` is 1 in a new namespace, so bridged IP
  traffic also passes the ip/ip6/inet hooks (contracts/host.toml.md).
* Each interface's peer end sits alone in its own namespace with IPv6 disabled and no
  address: it never originates a packet.  One AF_PACKET socket on it injects the test's
  Ethernet frames (they arrive on the host end as if from the wire) and captures every
  frame the host sends out of that interface.
* ``local`` injections go through a raw socket (IPPROTO_RAW, header included) created in
  the host namespace, so they take the OUTPUT path; the send's errno is recorded (an
  OUTPUT drop surfaces as EPERM, from ``nf_hook_slow`` returning -EPERM).
* All namespace work is done from this process with ``setns`` (see ``_netns``): sockets
  are created inside, /proc/sys written inside, and ``nft``/``conntrack``/``ip`` forked
  from inside.  No helper process stays alive, nothing needs a pipe protocol.

Silence
    The host must not emit anything of its own, or captures and counters stop being
    deterministic.  Before any interface exists, the host namespace's IPv6 defaults get
    ``accept_dad=0 autoconf=0 accept_ra=0 router_solicitations=0`` and
    ``mldv2_unsolicited_report_interval=1`` (ms).  MLD reports for the solicited-node and
    all-routers groups cannot be switched off (``igmp6_join_group`` only skips ff02::1),
    so they are made to go out at once; after building, the lab waits until the host has
    been quiet for ``QUIET`` seconds and records what it captured meanwhile as
    ``setup_noise`` -- never part of ``emitted``.  IPv4 sends no gratuitous ARP
    (``arp_notify=0``) and no IGMP report for 224.0.0.1.

Attribution
    Each frame is stamped by the kernel (SO_TIMESTAMPNS) when it reaches the peer end;
    each injection's wall-clock time is taken just *before* its send (the host may
    answer before ``send`` returns, in the same softirq).  A frame belongs to the last
    injection sent before it arrived (``after_injection``).  Frames from before the lab
    was ready are ``setup_noise``; a frame in ``emitted`` with ``after_injection == -1``
    came after that but before the first injection: the host spoke on its own, which the
    silence test proves does not happen.

Bounded
    One :class:`_netns.Deadline` covers the whole lab; every subprocess gets the time
    that is left, every wait loop checks it, and running out raises HarnessError.  The
    namespaces are deleted in ``__exit__`` whatever happened (exceptions, KeyboardInterrupt;
    SIGTERM/SIGHUP are turned into KeyboardInterrupt while a lab is open in the main
    thread; an atexit hook is the last resort), and each new lab first deletes the
    ``pktlab*`` namespaces of processes that no longer exist.

Setup cost measured on the development VM (2 shared cores): see docs/kernel-harness.md.
"""

from __future__ import annotations

import atexit
import contextlib
import errno as errno_mod
import fcntl
import ipaddress
import itertools
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pkttables.errors import HarnessError
from pkttables.stack.host import Host, Interface
from pkttables.testing import _netns
from pkttables.testing._netns import Deadline, in_netns
from pkttables.testing._readback import (Count, merge_icmp_fields, named_objects, needs_extended,
                                         parse_conntrack_xml,
                                         rule_counters)

__all__ = [
    "Injection",
    "Emitted",
    "Observation",
    "KernelLab",
    "run_kernel",
    "Count",
    "rule_counters",
    "named_objects",
    "parse_conntrack_xml",
    "PREFIX",
]

PREFIX = "pktlab"
LOCAL = "local"
QUIET = 0.05            # s without a frame that counts as "quiet"
SETUP_QUIET_MAX = 1.5   # s at most spent waiting for setup noise to stop

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
PACKET_IGNORE_OUTGOING = 23
SOL_PACKET = 263
SO_TIMESTAMPNS = 35
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFF_RUNNING = 0x40

# Sysctls written in the host namespace before any interface exists, so that every
# interface created afterwards inherits them through conf/default.
SILENCE_SYSCTLS: dict[str, int] = {
    "net.ipv6.conf.default.accept_dad": 0,
    "net.ipv6.conf.default.autoconf": 0,
    "net.ipv6.conf.default.accept_ra": 0,
    "net.ipv6.conf.default.router_solicitations": 0,
    "net.ipv6.conf.default.mldv2_unsolicited_report_interval": 1,
    "net.ipv6.conf.default.mldv1_unsolicited_report_interval": 1,
    "net.ipv6.conf.all.accept_dad": 0,
    "net.ipv6.conf.all.autoconf": 0,
    "net.ipv6.conf.all.accept_ra": 0,
    "net.ipv6.conf.all.router_solicitations": 0,
    "net.ipv6.conf.all.mldv2_unsolicited_report_interval": 1,
    "net.ipv6.conf.all.mldv1_unsolicited_report_interval": 1,
    # A bridge with multicast snooping joins the all-snoopers groups (224.0.0.106,
    # ff02::6a, RFC 4286) and reports them like any other group.
    "net.ipv4.conf.default.igmpv2_unsolicited_report_interval": 1,
    "net.ipv4.conf.default.igmpv3_unsolicited_report_interval": 1,
    "net.ipv4.conf.all.igmpv2_unsolicited_report_interval": 1,
    "net.ipv4.conf.all.igmpv3_unsolicited_report_interval": 1,
}
PEER_SYSCTLS: dict[str, int] = {
    "net.ipv6.conf.all.disable_ipv6": 1,
    "net.ipv6.conf.default.disable_ipv6": 1,
}
PEER_INDEX = 1000
PEER_MTU = 65535        # veth maximum: the peer end can capture whatever the host sends


@dataclass(frozen=True, slots=True)
class Injection:
    """One frame to send.  ``ifname`` is a host interface (an Ethernet frame arriving
    from the wire) or ``"local"`` (an IPv4/IPv6 packet sent by a local process).
    ``delay`` is the time in seconds to wait before sending it."""

    ifname: str
    frame: bytes
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Emitted:
    """A frame the host sent out of ``ifname``; ``time`` is seconds since the first
    injection of the lab."""

    ifname: str
    frame: bytes
    after_injection: int
    time: float


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything read back from one kernel run.

    ``send_errors`` has one entry per injection: None for interface injections, 0 or the
    errno of the raw-socket send for ``local`` ones.  ``counters`` maps (family, table,
    chain, handle) to the rule's counter; ``objects`` maps (kind, family, table, name) to
    named counters and quotas.  ``conntrack`` holds one dict per entry
    (see :func:`parse_conntrack_xml`); ``conntrack_text`` is ``conntrack -L -o extended``.
    """

    emitted: tuple[Emitted, ...]
    send_errors: tuple[int | None, ...]
    ruleset_json: dict[str, Any]
    counters: dict[tuple[str, str, str, int], Count]
    objects: dict[tuple[str, str, str, str], Count]
    conntrack: tuple[dict[str, Any], ...]
    conntrack_text: str
    nft_stderr: str
    setup_noise: tuple[Emitted, ...] = ()

    def on(self, ifname: str) -> list[bytes]:
        """The frames emitted on one interface, in order."""
        return [e.frame for e in self.emitted if e.ifname == ifname]

    def to_json(self, *, volatile: bool = False) -> str:
        """Stable JSON for golden files and diffs.

        Frames are hex; emitted frames are ordered by (injection, interface) keeping the
        kernel's order within one interface (the order across interfaces is a race).
        Unless ``volatile``, times, conntrack timeouts/ids/use counts and setup noise are
        left out, so two runs of the same scenario give the same text.
        """
        emitted = sorted(self.emitted, key=lambda e: (e.after_injection, e.ifname))

        def em(e: Emitted) -> dict[str, Any]:
            d: dict[str, Any] = {"ifname": e.ifname, "after_injection": e.after_injection,
                                 "frame": e.frame.hex()}
            if volatile:
                d["time"] = round(e.time, 6)
            return d

        ct = []
        for entry in self.conntrack:
            entry = dict(entry)
            if not volatile:
                for k in ("timeout", "id", "use"):
                    entry.pop(k, None)
            ct.append(entry)
        if not volatile:
            ct.sort(key=lambda d: json.dumps(d, sort_keys=True))
        doc: dict[str, Any] = {
            "emitted": [em(e) for e in emitted],
            "send_errors": [None if v is None else errno_mod.errorcode.get(v, v) if v else 0
                            for v in self.send_errors],
            "counters": [[*k, v.packets, v.bytes] for k, v in sorted(self.counters.items())],
            "objects": [[*k, v.packets, v.bytes] for k, v in sorted(self.objects.items())],
            "conntrack": ct,
            "ruleset": self.ruleset_json,
            "nft_stderr": self.nft_stderr,
        }
        if volatile:
            doc["setup_noise"] = [em(e) for e in self.setup_noise]
        return json.dumps(doc, indent=1, sort_keys=True)


# --- lab bookkeeping ------------------------------------------------------------------

_counter = itertools.count()
_live: dict[int, "KernelLab"] = {}
_live_lock = threading.Lock()


@atexit.register
def _cleanup_at_exit() -> None:
    with _live_lock:
        labs = list(_live.values())
    for lab in labs:
        lab._teardown()


class _Port:
    """The peer end of one host interface: one AF_PACKET socket, in its own namespace."""

    __slots__ = ("ifname", "ns", "peer", "sock")

    def __init__(self, ifname: str, ns: str, peer: str):
        self.ifname = ifname
        self.ns = ns
        self.peer = peer
        self.sock: socket.socket | None = None


def _set_up(ifname: str) -> None:
    """Bring a link up with SIOCSIFFLAGS in the calling thread's namespace (no fork)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sH14x", ifname.encode(), 0)
        flags = struct.unpack_from("16sH", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS,
                                  struct.pack("16sH14x", ifname.encode(), flags | IFF_UP))


def _if_flags(ifname: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sH14x", ifname.encode(), 0)
        return struct.unpack_from("16sH", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]


def _fmt_mac(mac: bytes) -> str:
    if len(mac) != 6:
        raise HarnessError(f"MAC address must be 6 bytes, got {len(mac)}")
    return ":".join(f"{b:02x}" for b in mac)


class KernelLab:
    """A network-namespace copy of ``host`` with capture on every interface.

    Use as a context manager::

        with KernelLab(host) as lab:
            lab.load(ruleset_text)
            lab.inject([Injection("lan0", frame)])
            obs = lab.observe()

    ``timeout`` bounds the whole life of the lab; ``settle`` is the minimum wait after
    the last injection of each :meth:`inject` call.
    """

    def __init__(self, host: Host, *, timeout: float = 20.0, settle: float = 0.3):
        self.host = host
        self.timeout = timeout
        self.settle = settle
        self.base = f"{PREFIX}{os.getpid()}x{next(_counter)}"
        self.hostns = self.base + "h"
        self.ports: dict[str, _Port] = {}
        self._namespaces: list[str] = []
        self._raw: dict[int, socket.socket] = {}
        self._deadline: Deadline | None = None
        self._emitted: list[Emitted] = []
        self._noise: list[Emitted] = []
        self._send_times: list[int] = []
        self._send_errors: list[int | None] = []
        self._nft_stderr: list[str] = []
        self._t0: int | None = None
        self._old_handlers: dict[int, Any] = {}
        self._closed = False
        self._ready = False

    # -- context management -------------------------------------------------------------

    def __enter__(self) -> "KernelLab":
        self._deadline = Deadline(self.timeout, f"kernel lab {self.base}")
        self._install_signals()
        with _live_lock:
            _live[id(self)] = self
        try:
            self._build()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self._teardown()
        except HarnessError:
            if exc_type is None:
                raise       # else the original exception says more; it propagates
        finally:
            with _live_lock:
                _live.pop(id(self), None)
            self._restore_signals()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def interrupt(signum: int, frame: object) -> None:
            raise KeyboardInterrupt(f"signal {signum} while a kernel lab was open")

        for sig in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError, OSError):
                self._old_handlers[sig] = signal.signal(sig, interrupt)

    def _restore_signals(self) -> None:
        for sig, handler in self._old_handlers.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, handler)
        self._old_handlers.clear()

    def _teardown(self) -> None:
        if self._closed:
            return
        self._closed = True
        for s in [p.sock for p in self.ports.values()] + list(self._raw.values()):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.close()
        failed = _netns.del_netns(self._namespaces)
        if failed:
            raise HarnessError(f"could not delete network namespaces: {', '.join(failed)}")

    @property
    def deadline(self) -> Deadline:
        if self._deadline is None or self._closed:
            raise HarnessError("KernelLab used outside its `with` block")
        return self._deadline

    # -- building -----------------------------------------------------------------------

    def _interfaces(self) -> list[Interface]:
        out = []
        for iface in self.host.interfaces.values():
            if iface.name == "lo" or iface.kind in ("loopback", "bridge") \
                    or iface.name in self.host.bridges:
                continue
            if len(iface.name.encode()) > 15:
                raise HarnessError(f"interface name {iface.name!r} is longer than 15 bytes")
            out.append(iface)
        return out

    def _build(self) -> None:
        dl = self.deadline
        _netns.sweep_stale(PREFIX)
        ifaces = self._interfaces()
        for i, iface in enumerate(ifaces):
            self.ports[iface.name] = _Port(iface.name, f"{self.base}p{i}", f"pk{i}")
        # Register the names before creating them so a failure half-way still deletes all.
        self._namespaces = [self.hostns] + [p.ns for p in self.ports.values()]
        _netns.add_netns(self._namespaces, dl)

        for port in self.ports.values():
            with in_netns(port.ns):
                for k, v in PEER_SYSCTLS.items():
                    _netns.write_sysctl(k, v)

        host_sysctls = dict(self.host.sysctls)
        with in_netns(self.hostns):
            for k, v in SILENCE_SYSCTLS.items():
                _netns.write_sysctl(k, v)
            _set_up("lo")
            # Global sysctls now (conf/default ones reach the interfaces created next);
            # per-interface ones once the interfaces exist.
            late = {k: v for k, v in host_sysctls.items() if self._is_per_interface(k)}
            for k, v in host_sysctls.items():
                if k not in late:
                    _netns.write_sysctl(k, v)
            # Host devices keep the host's ifindexes (meta iif/oif compare them); peers get
            # 1000+i.  A veth whose ifindex equals its peer's (possible across namespaces:
            # both 2) is not an "urgent" linkwatch event (linkwatch_urgent_event compares
            # ifindex with iflink), and its carrier would come up to a second late.
            explicit, auto = [], []
            for i, iface in enumerate(ifaces):
                port = self.ports[iface.name]
                index = f" index {iface.ifindex}" if iface.ifindex > 1 else ""
                (explicit if index else auto).append(
                    f"link add name {iface.name}{index} address {_fmt_mac(iface.mac)} "
                    f"mtu {iface.mtu} type veth peer name {port.peer} index {PEER_INDEX + i} "
                    f"address 02:70:6b:6c:{i >> 8:02x}:{i & 0xff:02x} mtu {PEER_MTU} "
                    f"netns {port.ns}")
            for br in self.host.bridges.values():
                bif = self.host.interfaces.get(br.name)
                index = f" index {bif.ifindex}" if bif is not None and bif.ifindex > 1 else ""
                (explicit if index else auto).append(
                    f"link add name {br.name}{index} address {_fmt_mac(br.mac)} type bridge")
            # Explicit indexes first, so an automatic one cannot take a wanted number.
            cmds = explicit + auto
            for br in self.host.bridges.values():
                for p in br.ports:
                    if p not in self.ports:
                        raise HarnessError(f"bridge {br.name}: port {p} is not an interface")
                    cmds.append(f"link set {p} master {br.name}")
            for iface in self.host.interfaces.values():
                if iface.bridge and iface.name in self.ports and not any(
                        iface.name in b.ports for b in self.host.bridges.values()):
                    cmds.append(f"link set {iface.name} master {iface.bridge}")
            _netns.run(["ip", "-batch", "-"], dl, input="\n".join(cmds) + "\n")
            _netns.offloads_off(list(self.ports), dl)
            for k, v in late.items():
                _netns.write_sysctl(k, v)

        # Capture sockets before anything is up, so no frame of the host is missed.
        for port in self.ports.values():
            with in_netns(port.ns):
                _netns.offloads_off([port.peer], dl)
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
                with contextlib.suppress(OSError):
                    s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
                s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                s.bind((port.peer, ETH_P_ALL))
                s.setblocking(False)
                port.sock = s

        with in_netns(self.hostns):
            _netns.run(["ip", "-batch", "-"], dl, input=self._host_config())
        for port in self.ports.values():
            with in_netns(port.ns):
                _set_up(port.peer)
        with in_netns(self.hostns):
            self._wait_running(list(self.ports) + list(self.host.bridges))
        self._wait_quiet()
        self._ready = True

    @staticmethod
    def _is_per_interface(name: str) -> bool:
        parts = name.split(".")
        return (len(parts) >= 5 and parts[0] == "net" and parts[2] in ("conf", "neigh")
                and parts[3] not in ("all", "default"))

    def _host_config(self) -> str:
        h = self.host
        cmds = []
        for name in self.ports:
            cmds.append(f"link set {name} up")
        for iface in h.interfaces.values():
            if iface.group and (iface.name in self.ports or iface.name in h.bridges):
                cmds.append(f"link set {iface.name} group {iface.group}")
        for br in h.bridges.values():
            cmds.append(f"link set {br.name} up")
        addrs: list[tuple[str, Any]] = []
        for iface in h.interfaces.values():
            if iface.name != "lo" and iface.kind != "loopback" and iface.name not in h.bridges:
                addrs += [(iface.name, a) for a in iface.addresses]
        for br in h.bridges.values():
            addrs += [(br.name, a) for a in br.addresses]
            bif = h.interfaces.get(br.name)
            if bif is not None:
                addrs += [(br.name, a) for a in bif.addresses if a not in br.addresses]
        for dev, a in addrs:
            flags = " nodad" if a.version == 6 else ""
            cmds.append(f"addr add {a.with_prefixlen} dev {dev}{flags}")
        for r in h.routes:
            parts = ["route", "add"]
            if r.kind != "unicast":
                parts.append(r.kind)
            parts.append(str(r.to))
            if r.via is not None:
                parts += ["via", str(r.via)]
            if r.dev:
                parts += ["dev", r.dev]
            if r.prefsrc is not None:
                parts += ["src", str(r.prefsrc)]
            if r.metric:
                parts += ["metric", str(r.metric)]
            if r.table != "main":
                parts += ["table", r.table]
            cmds.append(" ".join(parts))
        for n in h.neighbors:
            cmds.append(f"neigh replace {n.address} lladdr {_fmt_mac(n.mac)} "
                        f"dev {n.dev} nud permanent")
        return "\n".join(cmds) + "\n"

    # -- capture ------------------------------------------------------------------------

    def _drain(self, into: list[Emitted] | None) -> int:
        """Read every queued frame; returns how many."""
        n = 0
        for port in self.ports.values():
            s = port.sock
            assert s is not None
            while True:
                try:
                    data, anc, _flags, addr = s.recvmsg(65536, 64)
                except BlockingIOError:
                    break
                except OSError as e:
                    # packet_notifier() reports a NETDEV_DOWN of the bound device once as
                    # a socket error (the peer goes down/up while the lab is built).
                    if e.errno == errno_mod.ENETDOWN:
                        continue
                    raise HarnessError(f"capture on {port.ifname}: {e.strerror}") from None
                if addr[2] == PACKET_OUTGOING:
                    continue
                ts = time.time_ns()
                for level, typ, cdata in anc:
                    if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(cdata) >= 16:
                        sec, nsec = struct.unpack_from("qq", cdata)
                        ts = sec * 1_000_000_000 + nsec
                n += 1
                self._record(port.ifname, data, ts, into)
        return n

    def _record(self, ifname: str, data: bytes, ts: int, into: list[Emitted] | None) -> None:
        idx = -1
        for k in range(len(self._send_times) - 1, -1, -1):
            if self._send_times[k] <= ts:
                idx = k
                break
        t = (ts - self._t0) / 1e9 if self._t0 is not None else 0.0
        e = Emitted(ifname, bytes(data), idx, t)
        if into is not None:
            into.append(e)
        elif not self._ready:
            self._noise.append(e)
        else:
            self._emitted.append(e)

    def _wait(self, seconds: float, *, until_quiet: bool, step: str) -> None:
        """Collect frames for at least ``seconds`` and then until QUIET s pass without one."""
        socks = [p.sock for p in self.ports.values()]
        start = time.monotonic()
        last = start
        while True:
            now = time.monotonic()
            if now - start >= seconds and (not until_quiet or now - last >= QUIET):
                return
            self.deadline.check(step)
            left = max(seconds - (now - start), QUIET - (now - last) if until_quiet else 0)
            if socks:
                r, _, _ = select.select(socks, [], [], max(0.001, min(left, 0.05)))
                if r and self._drain(None):
                    last = time.monotonic()
            else:
                time.sleep(max(0.001, min(left, 0.05)))

    def _wait_running(self, ifnames: list[str]) -> None:
        """Poll until every device is operationally up (IFF_RUNNING: linkwatch has run).

        IPv6 configures an interface (link-local address, MLD joins) only once its carrier
        is up, so the setup noise is over only after this point.  A bridge's carrier is a
        non-urgent linkwatch event and may take up to a second (linkwatch rate limit).
        """
        pending = list(ifnames)
        while pending:
            self.deadline.check("waiting for " + ", ".join(pending) + " to come up")
            pending = [n for n in pending if not _if_flags(n) & IFF_RUNNING]
            if pending:
                self._drain(None)
                time.sleep(0.005)

    def _wait_quiet(self) -> None:
        start = time.monotonic()
        socks = [p.sock for p in self.ports.values()]
        last = start
        while time.monotonic() - last < QUIET:
            if time.monotonic() - start > SETUP_QUIET_MAX:
                break   # still chattering: whatever comes later is attributed, not hidden
            self.deadline.check("waiting for setup noise to stop")
            r, _, _ = select.select(socks, [], [], QUIET) if socks else ([], [], [])
            if r and self._drain(None):
                last = time.monotonic()

    # -- public operations --------------------------------------------------------------

    def exec(self, cmd: Sequence[str] | str, *, input: str | None = None,
             check: bool = True, timeout: float = 10.0):
        """Run a command in the host namespace (a list, or a string split on spaces)."""
        if isinstance(cmd, str):
            cmd = cmd.split()
        with in_netns(self.hostns):
            return _netns.run(cmd, self.deadline, input=input, cap=timeout, check=check)

    def load(self, ruleset: str, *, filename: str = "ruleset.nft") -> str:
        """``nft -f`` the ruleset in the host namespace; returns nft's stderr (warnings).

        A ruleset nft rejects raises HarnessError carrying nft's own error text.  The file
        is written as ``filename`` in a private directory and nft runs from there, so its
        messages name ``filename`` and stay comparable across runs.
        """
        with tempfile.TemporaryDirectory(prefix=self.base) as d:
            with open(os.path.join(d, filename), "w") as f:
                f.write(ruleset)
            left = self.deadline.check("nft -f")
            with in_netns(self.hostns):
                try:
                    r = subprocess.run(["nft", "-f", filename], cwd=d, capture_output=True,
                                       text=True, timeout=min(left, 15.0))
                except subprocess.TimeoutExpired:
                    raise HarnessError("nft -f: timed out") from None
        if r.returncode != 0:
            raise HarnessError(f"nft rejected the ruleset:\n{r.stderr.rstrip()}")
        self._nft_stderr.append(r.stderr)
        return r.stderr

    def inject(self, injections: Iterable[Injection]) -> list[Emitted]:
        """Send the injections in order, then wait ``settle`` s and until quiet.

        Returns the frames emitted during this call (they also accumulate for
        :meth:`observe`).  Injection indexes count across calls.
        """
        injections = list(injections)
        for inj in injections:
            if inj.ifname != LOCAL and inj.ifname not in self.ports:
                raise HarnessError(f"injection on unknown interface {inj.ifname!r}; "
                                   f"known: {', '.join(self.ports) or 'none'} and 'local'")
        first = len(self._emitted)
        # Whatever arrived since the last call (late noise, lab.exec side effects)
        # belongs to the previous injection or to the noise.
        self._drain(None)
        for inj in injections:
            if inj.delay > 0:
                self._wait(inj.delay, until_quiet=False, step="injection delay")
            self.deadline.check("injecting")
            # Frames already queued arrived before this send: attribute them first.
            self._drain(None)
            t = time.time_ns()
            if self._t0 is None:
                self._t0 = t
            self._send_times.append(t)
            if inj.ifname == LOCAL:
                self._send_errors.append(self._send_local(inj.frame))
            else:
                self._send_errors.append(None)
                sock = self.ports[inj.ifname].sock
                assert sock is not None
                try:
                    sock.send(inj.frame)
                except OSError as e:
                    raise HarnessError(f"injection {len(self._send_times) - 1} on "
                                       f"{inj.ifname}: {e.strerror} "
                                       f"({len(inj.frame)} bytes)") from None
        self._wait(self.settle, until_quiet=True, step="settling after the traffic")
        return self._emitted[first:]

    def _send_local(self, packet: bytes) -> int:
        if not packet:
            return errno_mod.EINVAL
        version = packet[0] >> 4
        if version == 4 and len(packet) >= 20:
            fam, dst = socket.AF_INET, (str(ipaddress.IPv4Address(packet[16:20])), 0)
        elif version == 6 and len(packet) >= 40:
            fam, dst = socket.AF_INET6, (str(ipaddress.IPv6Address(packet[24:40])), 0, 0, 0)
        else:
            raise HarnessError(f"local injection is not an IPv4/IPv6 packet "
                               f"(version {version}, {len(packet)} bytes)")
        s = self._raw.get(fam)
        if s is None:
            with in_netns(self.hostns):
                # IPPROTO_RAW implies IP_HDRINCL (raw(7)); for AF_INET6 the kernel sets
                # hdrincl for IPPROTO_RAW too (inet6_create), so we send the full packet.
                s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_RAW)
            s.setblocking(False)
            self._raw[fam] = s
        try:
            s.sendto(packet, dst)
        except OSError as e:
            return e.errno or -1
        return 0

    def observe(self, *, conntrack: bool = True) -> Observation:
        """Read back the ruleset, its counters and (if ``conntrack``) the conntrack table."""
        self._drain(None)
        r = self.exec(["nft", "-j", "list", "ruleset"])
        try:
            rs = json.loads(r.stdout) if r.stdout.strip() else {"nftables": []}
        except json.JSONDecodeError as e:
            raise HarnessError(f"nft -j list ruleset: output is not JSON: {e}") from None
        entries: list[dict[str, Any]] = []
        text = ""
        if conntrack:
            for fam in ("ipv4", "ipv6"):
                x = self.exec(["conntrack", "-L", "-f", fam, "-o", "xml"], check=False)
                if x.returncode != 0 and x.stdout.strip() == "":
                    continue
                fam_entries = parse_conntrack_xml(x.stdout)
                if needs_extended(fam_entries):
                    ids = self.exec(["conntrack", "-L", "-f", fam, "-o", "extended,id"], check=False)
                    merge_icmp_fields(fam_entries, ids.stdout)
                entries += fam_entries
                t = self.exec(["conntrack", "-L", "-f", fam, "-o", "extended"], check=False)
                text += t.stdout
        return Observation(
            emitted=tuple(self._emitted),
            send_errors=tuple(self._send_errors),
            ruleset_json=rs,
            counters=rule_counters(rs),
            objects=named_objects(rs),
            conntrack=tuple(entries),
            conntrack_text=text,
            nft_stderr="".join(self._nft_stderr),
            setup_noise=tuple(self._noise),
        )


def run_kernel(host: Host, ruleset: str, traffic: Sequence[Injection], *,
               timeout: float = 20.0, settle: float = 0.3,
               conntrack: bool = True) -> Observation:
    """Build the host in namespaces, load the ruleset, send the traffic, read back.

    ``conntrack=False`` skips reading the conntrack table.  (The kernel tracks only in
    namespaces whose ruleset uses conntrack -- ``ct`` expressions, NAT -- since
    ``nf_ct_netns_get`` is what registers its hooks.)
    """
    with KernelLab(host, timeout=timeout, settle=settle) as lab:
        if ruleset.strip():
            lab.load(ruleset)
        lab.inject(traffic)
        return lab.observe(conntrack=conntrack)
