"""The packet path of a Linux host, sans-IO: ``engine.process(packet, now) -> Outcome``.

Theory of operation
-------------------
A frame arrives on an interface (or a packet is sent by a local process: ``iif ==
"local"``, a raw IPPROTO_RAW send as the kernel oracle does it).  The engine walks it
along the kernel's path, calling the netfilter hook points of :mod:`.hooks` where the
kernel calls ``NF_HOOK``, and collects everything the host sends in an
:class:`Outcome`::

    eth rx ── netdev ingress ── [bridge port?  bridge prerouting (+ ip/ip6 prerouting,
       │                          br_netfilter) ─ fdb: local | forward | flood]
       ├─ ARP: arp input ─ arp_process: reply for our addresses, learn the sender
       ├─ IPv4: ip_rcv_core checks ─ prerouting ─ ip_route_input ─┬─ input ─ deliver
       └─ IPv6: ipv6_rcv checks ─ prerouting ─ ip6_route_input ───┘  forward ─┐
                                                                              │
    local send ─ route_output ─ output ─────────────────────────── postrouting ─
       ─ fragment / too big ─ neighbour (static, learned, or ARP/NS + queue) ─ netdev
       egress ─ emitted

Local delivery with nothing listening answers as the kernel does: TCP gets a reset
(``tcp_v4_send_reset``), UDP an ICMP port unreachable, ICMP echo an echo reply, an
unknown protocol ICMP protocol unreachable (IPv6: parameter problem, unknown next
header).  Forwarding checks TTL (time exceeded), DF against the MTU (fragmentation
needed / packet too big), decrements the TTL with the kernel's checksum arithmetic,
sends redirects when a packet leaves by the interface it came in on, and fragments.
Generated packets take the OUTPUT path like any local packet; each is reported in
``Outcome.generated`` with its own hooks.

Errors are rate limited as the kernel limits them (:mod:`._ratelimit`) on the injected
clock ``now``; random fields come from ``random.Random(seed)``: the IPv4 ID of packets
without DF (ICMP errors, echo replies), the IPv6 flow label of every packet the host
originates (auto flow labels), and the global ICMP credit consumption.  A comparison
with the kernel masks exactly these fields: :func:`mask_random`.

Neighbours: static entries of the host file, plus entries learned from ARP requests and
neighbour solicitations addressed to us (``neigh_event_ns``).  A packet for a next hop
without an entry makes the host send an ARP request / neighbour solicitation, and waits
in a queue (101 packets, ``unres_qlen``); :meth:`Engine.advance` runs the timers:
retries every second, and after 3 probes ICMP host unreachable / ICMPv6 address
unreachable for each queued packet.

IPv4 options are validated and RR/timestamp filled (_ipopts.py); bad ones get ICMP
parameter problem.  Not modelled (see docs/stack.md): reassembly of fragments for local
delivery, echoing IP options in ICMP errors, source routing, IPv6 extension header processing beyond walking
them, IPv6 fragmentation of local packets, sockets (nothing listens anywhere), VLAN
devices, bridge VLAN filtering and STP, ICMP timestamp replies.
"""

from __future__ import annotations

import enum
import ipaddress
import random
import struct
from dataclasses import dataclass, field
from typing import Any

from pkttables.packet import LinkType, Packet, PacketType
from pkttables.packet.checksum import (internet_checksum, pseudo_header_v4, pseudo_header_v6)
from pkttables.stack import _build as B
from pkttables.stack._ipopts import OptionsResult, compile_options, forward_options
from pkttables.stack._ratelimit import HZ, RateLimiter
from pkttables.stack.hooks import HookState, HookTable, HookVerdict, Verdict
from pkttables.stack.host import Host, Interface, eui64_link_local
from pkttables.stack.routing import RouteKind, _v6_scope

__all__ = ["Engine", "Outcome", "Disposition", "Emission", "Generated", "mask_random", "LOCAL"]

LOCAL = "local"
EPERM, EINVAL, EMSGSIZE, ENETUNREACH = 1, 22, 90, 101
# Protocols with a handler in the namespace (others get protocol unreachable).  GRE,
# IPIP, ESP, AH, SCTP... have handlers only when their modules are loaded; the oracle's
# kernel has none of them bound in a fresh namespace for IPv4 except these.
KNOWN_PROTOCOLS4 = frozenset({1, 2, 6, 17, 136})
UNRES_QLEN = 101          # unres_qlen_bytes / SKB_TRUESIZE(ETH_FRAME_LEN)
MAX_PROBES = 3            # mcast_solicit (ucast/app probes do not apply to INCOMPLETE)
RETRANS = 1.0             # retrans_time_ms


# ip_tos2prio (net/ipv4/route.c): TC_PRIO_* by IPTOS_TOS(tos) >> 1; the ECN_OR_COST
# entries are the same class.
_IP_TOS2PRIO = (0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4)


class Disposition(str, enum.Enum):
    """What finally happened to the packet."""
    ACCEPT = "accept"        # left the host (forwarded or sent), or is waiting for a neighbour
    DROP = "drop"
    STOLEN = "stolen"        # a hook kept it
    QUEUE = "queue"          # a hook handed it to userspace (NF_QUEUE)
    LOCAL = "local"          # delivered to this host (answered or consumed)


@dataclass(frozen=True, slots=True)
class Emission:
    ifname: str
    data: bytes              # the whole Ethernet frame


@dataclass(frozen=True, slots=True)
class Generated:
    """A packet the host built itself (ICMP error, reset, echo reply, ARP, NS/NA)."""
    kind: str
    data: bytes              # L3 packet (ARP: the ARP payload)
    verdict: Disposition
    hooks: tuple[tuple[str, str], ...]
    drop_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Disposition
    hooks: tuple[tuple[str, str], ...]       # (family, hook) in the order traversed
    emitted: tuple[Emission, ...]            # every frame the host sent, in order
    generated: tuple[Generated, ...] = ()
    events: tuple[Any, ...] = ()
    drop_reason: str | None = None
    send_error: int | None = None            # local sends: 0 or the errno the socket returns

    def on(self, ifname: str) -> list[bytes]:
        return [e.data for e in self.emitted if e.ifname == ifname]


class _Drop(Exception):
    """Ends the walk of one packet (a drop, a hook verdict, or delivery)."""

    def __init__(self, verdict: Disposition, reason: str | None = None, errno: int | None = None):
        self.verdict = verdict
        self.reason = reason
        self.errno = errno


class _Run:
    __slots__ = ("now", "hooks", "emitted", "generated", "events", "depth", "mark", "prio", "nftrace", "skb")

    def __init__(self, now: float, depth: int = 0):
        self.now = now
        # skb->mark and skb->priority: the engine re-creates its Packet view of the one
        # skb between layers, so what a hook set is carried here (a generated packet
        # gets a run of its own, starting at 0 as a fresh skb does).
        self.mark = 0
        self.prio = 0
        self.nftrace = 0          # skb->nf_trace: set by a rule, traced at later hooks
        self.skb = object()       # the skb's identity (HookState.skb): a clone gets a new one
        self.hooks: list[tuple[str, str]] = []
        self.emitted: list[Emission] = []
        self.generated: list[Generated] = []
        self.events: list[Any] = []
        self.depth = depth


@dataclass(slots=True)
class _Pending:
    version: int
    addr: bytes
    dev: str
    first: float
    probes: int
    queue: list[tuple[bytes, bool]] = field(default_factory=list)   # (l3, forwarded)
    src_hint: bytes | None = None


def _mac_str(m: bytes) -> str:
    return ":".join(f"{b:02x}" for b in m)


class Engine:
    """The host's packet path.  ``hooks`` is where chains, conntrack and NAT plug in."""

    def __init__(self, host: Host, hooks: HookTable | None = None, *, seed: int = 0, hz: int = HZ):
        self.host = host
        self.hooks = hooks if hooks is not None else HookTable()
        self.rng = random.Random(seed)
        self.rl = RateLimiter(random.Random(seed ^ 0x5EED), hz=hz,
                              ratelimit_ms=self._sysctl("net.ipv4.icmp_ratelimit", 1000),
                              ratelimit6_ms=self._sysctl("net.ipv6.icmp.ratelimit", 1000))
        self.learned: dict[tuple[bytes, str], bytes] = {}      # (addr, dev) -> mac
        self.pending: dict[tuple[bytes, str], _Pending] = {}
        self.fdb: dict[tuple[str, bytes], str] = {}            # (bridge, mac) -> port
        self._icmp_xmit = False                                 # icmp_xmit_lock held
        self._local = {a.ip.packed for i in host.interfaces.values() for a in i.addresses}
        for name in host.bridges:
            self._dev(name)

    def _sysctl(self, name: str, default: int) -> int:
        s = self.host.sysctls
        return s.get(name, default)

    # ------------------------------------------------------------------ entry points

    def process(self, packet: Packet | bytes, now: float, iif: str | None = None) -> Outcome:
        """Run one packet.  ``packet.iif`` (or ``iif``) names the arrival interface, or
        ``"local"`` for a packet sent by a local process (IPv4/IPv6 from byte 0)."""
        if isinstance(packet, Packet):
            data = bytes(packet.buf)
            iif = iif or packet.iif
        else:
            data = bytes(packet)
        r = _Run(now)
        if isinstance(packet, Packet):
            r.nftrace = packet.nftrace
        verdict, reason, err = Disposition.ACCEPT, None, None
        try:
            if iif == LOCAL:
                err = 0
                self._raw_send(r, data)
            else:
                dev = self.host.interfaces.get(iif or "")
                if dev is None or dev.kind == "loopback":
                    raise _Drop(Disposition.DROP, f"no such interface {iif!r}")
                self._eth_rx(r, bytearray(data), dev)
        except _Drop as d:
            verdict, reason = d.verdict, d.reason
            if iif == LOCAL:
                err = d.errno if d.errno is not None else 0
        return Outcome(verdict, tuple(r.hooks), tuple(r.emitted), tuple(r.generated),
                       tuple(r.events), reason, err)

    def advance(self, now: float) -> Outcome:
        """Run the neighbour timers up to ``now``: ARP/NS retries, then the errors for
        packets whose next hop never answered (neigh_timer_handler)."""
        r = _Run(now)
        for key, p in sorted(self.pending.items(), key=lambda kv: kv[1].first):
            while key in self.pending and p.first + p.probes * RETRANS <= now:
                if p.probes >= MAX_PROBES:
                    del self.pending[key]
                    r.events.append(("neigh", "failed", p.dev, p.addr))
                    for l3, _fwd in p.queue:
                        when = p.first + p.probes * RETRANS
                        if p.version == 4:
                            self._icmp_error(r, bytearray(l3), 0, 3, 1, b"\0" * 4, input_route=_fwd,
                                             now=when)
                        else:
                            self._icmp6_error(r, bytearray(l3), 0, 1, 3, b"\0" * 4, now=when)
                    break
                self._solicit(r, p)
                p.probes += 1
        return Outcome(Disposition.ACCEPT, tuple(r.hooks), tuple(r.emitted), tuple(r.generated),
                       tuple(r.events), None, None)

    # ------------------------------------------------------------------ hooks

    def _hook(self, r: _Run, family: str, hook: str, pkt: Packet, iif: str | None, oif: str | None) -> None:
        r.hooks.append((family, hook))
        runner = self.hooks.runners.get((family, hook))
        if not runner:
            return
        state = HookState(family, hook, iif, oif, r.now, r.events, self, r.skb)
        pkt.iif, pkt.oif = iif, oif
        pkt.mark, pkt.priority, pkt.nftrace = r.mark, r.prio, r.nftrace
        before = len(r.events)
        v = runner.run(pkt, state)
        r.mark, r.prio, r.nftrace = pkt.mark, pkt.priority, pkt.nftrace
        pkt.reparse()
        if v.verdict == Verdict.ACCEPT:
            return
        if v.verdict == Verdict.DROP and len(r.events) > before:
            for ev in r.events[before:]:
                if type(ev).__name__ == "RejectEvent":
                    self._reject(r, ev, pkt, family, hook, iif, oif)
        if v.verdict == Verdict.QUEUE:
            raise _Drop(Disposition.QUEUE, f"queued to {v.queue_num} at {family} {hook}")
        if v.verdict == Verdict.STOLEN and v.xmit:
            # The hook took the packet and transmits what it made of it (the flowtable
            # fast path): through netdev egress, as dev_queue_xmit would.
            for oif, data in v.xmit:
                self._dev_xmit(r, bytearray(data), self._dev(oif))
            raise _Drop(Disposition.ACCEPT, v.reason or f"transmitted by a hook at {family} {hook}")
        if v.verdict == Verdict.STOLEN:
            raise _Drop(Disposition.STOLEN, f"stolen at {family} {hook}")
        raise _Drop(Disposition.DROP, v.reason or f"dropped at {family} {hook}", EPERM)

    # ------------------------------------------------------------------ reject

    def _reject(self, r: _Run, ev: Any, pkt: Packet, family: str, hook: str, iif: str | None,
                oif: str | None) -> None:
        """Send what a ``reject`` statement asks for (the packet itself is dropped).

        ip/ip6 hooks (nf_reject_ipv4.c / nf_reject_ipv6.c): the TCP reset is a local packet
        (``ip_local_out``: OUTPUT and POSTROUTING hooks, ``ip_route_me_harder`` from the
        reset's own addresses); the ICMP error goes through ``icmp_send`` /
        ``icmpv6_send`` with their eligibility rules and rate limits.  No reset for a bad
        TCP checksum, a fragment or a reset (``nf_reject_ip_tcphdr_get``); no ICMP error
        for a bad transport checksum (``nf_reject_verify_csum``).

        netdev ingress and bridge (nft_reject_netdev.c / nft_reject_bridge.c): the reply is
        built whole by ``nf_reject_skb_v4/v6_*`` -- no rate limit, IP ID 0, DF, TTL
        ``ip_default_ttl`` -- with the Ethernet addresses swapped, and sent straight back
        out of the interface the packet came in on."""
        nh = pkt.nh_off
        if nh < 0:
            return
        l3 = bytearray(pkt.buf[nh:nh + pkt.l3_len] if pkt.l3_len > 0 else pkt.buf[nh:])
        if len(l3) < 20:
            return
        version = l3[0] >> 4
        if family in ("netdev", "bridge"):
            self._reject_l2(r, ev, pkt, l3, version, family, iif)
            return
        if not self._reject_csum_ok(l3, version):
            return
        dev = self.host.interfaces.get(iif or "") if iif else None
        if ev.kind == "tcp-reset":
            if ev.packet is None:
                return
            rst = bytearray(ev.packet)
            ttl = self._sysctl("net.ipv4.ip_default_ttl", 64) if version == 4 else 64
            if version == 4:
                daddr = bytes(l3[16:20])
                if daddr[0] >= 224 or daddr == b"\xff" * 4 or self.host.addr_type(daddr) == "broadcast":
                    return                      # RTCF_BROADCAST | RTCF_MULTICAST
                rst[8] = ttl
                rst[10:12] = b"\0\0"
                struct.pack_into("!H", rst, 10, internet_checksum(rst, 0, 20))
                # ip_route_me_harder(): FLOWI_FLAG_ANYSRC, the source need not be ours.
                d = self.host.route_output(bytes(rst[16:20]))
            else:
                if l3[24] == 0xFF:
                    return                      # ipv6_addr_is_multicast(daddr)
                rst[7] = ttl
                to = ipaddress.IPv6Address(bytes(rst[24:40]))
                o = iif if (to.is_link_local and iif) else None
                d = self.host.route_output(to, o)
            if not d.delivers:
                return
            self._local_out(r, "reject-tcp-reset", bytes(rst), decision=d)
            return
        if version == 4:
            if (l3[6] << 8 | l3[7]) & 0x1FFF:
                return                          # only fragment 0
            local_dst = hook == "input" or (hook in ("output", "postrouting")
                                             and self.host.is_local(bytes(l3[16:20])))
            self._icmp_error(r, l3, 0, 3, ev.code, bytes(4), input_route=hook in ("prerouting", "input", "forward"),
                             local_dst=local_dst, pkt_type=pkt.pkt_type if iif else PacketType.HOST, iif=dev)
        else:
            self._icmp6_error(r, l3, 0, 1, ev.code, bytes(4), iif=dev,
                              pkt_type=pkt.pkt_type if iif else PacketType.HOST)

    @staticmethod
    def _reject_csum_ok(l3: bytearray, version: int) -> bool:
        """nf_reject_verify_csum + nf_ip_checksum: TCP, UDP (non-zero checksum), ICMP are
        verified; a bad one gets no reply."""
        p = Packet(bytes(l3), LinkType.RAW)
        try:
            ok = p.verify_checksums()
        except Exception:       # noqa: BLE001 -- a malformed packet: nothing to verify
            return True
        # nf_reject_verify_csum: SCTP, UDP-Lite, DCCP, AH, ESP are not checked here.
        return all(good for name, good in ok.items() if name in ("tcp", "udp", "icmp", "icmpv6"))

    def _reject_l2(self, r: _Run, ev: Any, pkt: Packet, l3: bytearray, version: int, family: str,
                   iif: str | None) -> None:
        from pkttables.vm.reject import unreach_l3
        dev = self.host.interfaces.get(iif or "")
        if dev is None or pkt.mac_len < 14:
            return
        if not self._reject_csum_ok(l3, version):
            return
        if ev.kind == "tcp-reset":
            if version == 6 and l3[24] == 0xFF:
                return
            reply = ev.packet
            if reply is not None:
                reply = bytearray(reply)
                if version == 4:
                    reply[8] = self._sysctl("net.ipv4.ip_default_ttl", 64)
                    reply[10:12] = b"\0\0"
                    struct.pack_into("!H", reply, 10, internet_checksum(reply, 0, 20))
                reply = bytes(reply)
        else:
            ttl = self._sysctl("net.ipv4.ip_default_ttl", 64) if version == 4 else 64
            reply = unreach_l3(bytes(pkt.buf[pkt.nh_off:]), version, ev.code, ttl)
        if reply is None:
            return
        frame = bytes(pkt.buf[0:pkt.mac_len])
        hdr = bytearray(frame)
        hdr[0:6], hdr[6:12] = frame[6:12], frame[0:6]
        out = bytearray(bytes(hdr) + reply)
        if family == "bridge":
            # br_forward(local_orig): bridge output + postrouting, then the port.
            copy = Packet(bytes(out), LinkType.ETHERNET, timestamp=r.now)
            try:
                self._hook(r, "bridge", "output", copy, None, dev.name)
                self._hook(r, "bridge", "postrouting", copy, None, dev.name)
            except _Drop:
                return
            out = bytearray(copy.buf)
        self._dev_xmit(r, out, dev)

    # ------------------------------------------------------------------ link layer

    def _eth_rx(self, r: _Run, frame: bytearray, dev: Interface) -> None:
        if len(frame) < 14:
            raise _Drop(Disposition.DROP, "runt frame (shorter than an Ethernet header)")
        if len(frame) > dev.mtu + 14 + 4:
            # is_skb_forwardable(): the receiving device refuses frames beyond its MTU.
            raise _Drop(Disposition.DROP, f"frame longer than the MTU of {dev.name}")
        pkt = Packet(frame, LinkType.ETHERNET, iif=dev.name, timestamp=r.now)
        # netdev ingress runs on the port, before the bridge's rx_handler (nf_ingress).
        self._hook(r, "netdev", "ingress", pkt, dev.name, None)
        frame = pkt.buf
        if dev.bridge is not None:
            self._bridge_rx(r, frame, dev)
            return
        self._netif_rx(r, frame, dev)

    def add_flowtable(self, hook: Any, priority: int = 0, devices: Any = None, name: str = "flowtable") -> None:
        """Plug a flowtable's fast path (:class:`pkttables.backends.flowtable.FlowtableHook`)
        into netdev ingress at ``priority``, among the other ingress entries, for the
        frames arriving on ``devices`` (None: the hook decides).  A packet it takes is
        transmitted as it returns it and ends there (``accept``, reason ``flowtable``)."""
        devs = None if devices is None else frozenset(devices)

        def offload(pkt: Packet, state: HookState) -> HookVerdict:
            if devs is not None and state.iif not in devs:
                return HookVerdict(Verdict.ACCEPT)
            frames = hook.ingress(pkt, state.iif, state.now)
            if not frames:
                return HookVerdict(Verdict.ACCEPT)
            return HookVerdict(Verdict.STOLEN, reason=f"{name}: fast path", xmit=tuple(frames))

        self.hooks.register("netdev", "ingress", priority, offload, name=name)

    def _pkt_type(self, frame: bytes | bytearray, dev: Interface) -> PacketType:
        dst = bytes(frame[0:6])
        if dst[0] & 1:
            return PacketType.BROADCAST if dst == B.BCAST_MAC else PacketType.MULTICAST
        return PacketType.HOST if dst == dev.mac else PacketType.OTHERHOST   # eth_type_trans

    def _netif_rx(self, r: _Run, frame: bytearray, dev: Interface, *, bridged: bool = False) -> None:
        pkt_type = self._pkt_type(frame, dev)
        etype = frame[12] << 8 | frame[13]
        off = 14
        if etype in (0x8100, 0x88A8):
            if len(frame) < 18:
                raise _Drop(Disposition.DROP, "truncated VLAN tag")
            vid = (frame[14] << 8 | frame[15]) & 0xFFF
            if vid:
                # __netif_receive_skb_core(): no VLAN device for this VID -> OTHERHOST,
                # which ip_rcv/arp_rcv drop.
                raise _Drop(Disposition.DROP, f"VLAN {vid} tagged frame on an untagged port")
            # skb_vlan_untag() moved the tag into skb->vlan_tci (netdev ingress and a
            # bridge still see it), and after the rx_handler a priority tag (VID 0, no
            # VLAN device) is cleared: ip_rcv and the ip/ip6 hooks see it untagged.
            del frame[12:16]
            etype = frame[12] << 8 | frame[13]
        if etype == B.ETH_P_ARP:
            self._arp_rcv(r, frame, off, dev, pkt_type)
        elif etype == B.ETH_P_IP:
            self._ip_rcv(r, frame, off, dev, pkt_type, bridged)
        elif etype == B.ETH_P_IPV6:
            self._ip6_rcv(r, frame, off, dev, pkt_type, bridged)
        else:
            raise _Drop(Disposition.DROP, f"no protocol handler for ethertype 0x{etype:04x}")

    # ------------------------------------------------------------------ ARP

    def _arp_rcv(self, r: _Run, frame: bytearray, off: int, dev: Interface, pkt_type: PacketType) -> None:
        if pkt_type == PacketType.OTHERHOST:
            raise _Drop(Disposition.DROP, "ARP frame for another host")
        a = bytes(frame[off:off + 28])
        if len(a) < 28:
            raise _Drop(Disposition.DROP, "truncated ARP")
        hrd, pro, hln, pln, op = struct.unpack_from("!HHBBH", a)
        if hrd != 1 or pro != B.ETH_P_IP or hln != 6 or pln != 4:
            raise _Drop(Disposition.DROP, "ARP for another hardware or protocol type")
        pkt = Packet(frame, LinkType.ETHERNET, iif=dev.name, timestamp=r.now)
        self._hook(r, "arp", "input", pkt, dev.name, None)
        sha, sip, tip = a[8:14], a[14:18], a[24:28]
        if sip[0] >= 224 or tip[0] >= 224 or tip[0] == 127:
            raise _Drop(Disposition.DROP, "ARP with multicast or loopback addresses")
        if op == 1 and sip == bytes(4):
            # Duplicate address detection probe: answer if the target is ours.
            if tip in self._local_on(dev) or self.host.is_local(tip):
                self._arp_send(r, dev, sha, tip, sha, sip)
            raise _Drop(Disposition.LOCAL)
        if op == 1:
            d = self.host.route_input(tip, sip, dev.name)
            if d.kind == RouteKind.LOCAL:
                self.learned[(sip, dev.name)] = sha        # neigh_event_ns()
                self._resolved(r, sip, dev.name, sha)
                self._arp_send(r, dev, sha, tip, sha, sip)
                raise _Drop(Disposition.LOCAL)
            raise _Drop(Disposition.LOCAL, "ARP request for an address that is not ours")
        if op == 2 and (sip, dev.name) in self.pending:
            self.learned[(sip, dev.name)] = sha
            self._resolved(r, sip, dev.name, sha)
        raise _Drop(Disposition.LOCAL)

    def _dev(self, name: str) -> Interface:
        """An interface by name; a bridge only listed in ``host.bridges`` (a Host built by
        hand) is its own device too."""
        ifc = self.host.interfaces.get(name)
        if ifc is None and name in self.host.bridges:
            b = self.host.bridges[name]
            ifc = self.host.interfaces[name] = Interface(name, b.mac, list(b.addresses), kind="bridge",
                                                         ifindex=max(i.ifindex for i in self.host.interfaces.values()) + 1)
            self.host.rebuild()
            self._local |= {a.ip.packed for a in b.addresses}
        if ifc is None:
            raise _Drop(Disposition.DROP, f"no such interface {name!r}")
        return ifc

    def _local_on(self, dev: Interface) -> set[bytes]:
        return {a.ip.packed for a in dev.addresses}

    def _arp_send(self, r: _Run, dev: Interface, dst_mac: bytes, sip: bytes, tha: bytes, tip: bytes) -> None:
        """arp_send_dst(ARPOP_REPLY): from our MAC to the asker."""
        body = B.arp(2, dev.mac, sip, tha, tip)
        sub = _Run(r.now, r.depth + 1)
        verdict, reason = Disposition.ACCEPT, None
        try:
            pkt = Packet(B.ether(dst_mac, dev.mac, B.ETH_P_ARP, body), LinkType.ETHERNET)
            self._hook(sub, "arp", "output", pkt, None, dev.name)
            self._dev_xmit(sub, bytearray(pkt.buf), dev)
        except _Drop as d:
            verdict, reason = d.verdict, d.reason
        self._merge(r, sub, "arp-reply", body, verdict, reason)

    def _merge(self, r: _Run, sub: _Run, kind: str, data: bytes, verdict: Disposition,
               reason: str | None) -> None:
        r.emitted += sub.emitted
        r.events += sub.events
        r.generated.append(Generated(kind, data, verdict, tuple(sub.hooks), reason))
        r.generated += sub.generated

    # ------------------------------------------------------------------ IPv4 receive

    def _ip_rcv(self, r: _Run, frame: bytearray, off: int, dev: Interface, pkt_type: PacketType,
                bridged: bool) -> None:
        # ip_rcv_core(): every failure is a silent drop, before any hook.
        if pkt_type == PacketType.OTHERHOST:
            raise _Drop(Disposition.DROP, "IPv4 packet for another host (PACKET_OTHERHOST)")
        avail = len(frame) - off
        if avail < 20:
            raise _Drop(Disposition.DROP, "IPv4: shorter than a header")
        vihl = frame[off]
        ihl = (vihl & 0xF) * 4
        if vihl >> 4 != 4 or ihl < 20:
            raise _Drop(Disposition.DROP, "IPv4: bad version or ihl < 5")
        if avail < ihl:
            raise _Drop(Disposition.DROP, "IPv4: header cut short")
        if internet_checksum(frame, off, off + ihl) != 0:
            raise _Drop(Disposition.DROP, "IPv4: bad header checksum")
        tot = frame[off + 2] << 8 | frame[off + 3]
        if tot > avail or tot < ihl:
            raise _Drop(Disposition.DROP, "IPv4: total length beyond the frame or below the header")
        del frame[off + tot:]                                   # pskb_trim_rcsum(): padding
        pkt = Packet(frame, LinkType.ETHERNET, iif=dev.name, timestamp=r.now)
        pkt.pkt_type = pkt_type
        if not bridged:
            self._hook(r, "ip", "prerouting", pkt, dev.name, None)
        self._ip_route(r, pkt, dev, pkt_type)

    def _ip_route(self, r: _Run, pkt: Packet, dev: Interface, pkt_type: PacketType) -> None:
        buf = pkt.buf
        nh = pkt.nh_off
        saddr, daddr = bytes(buf[nh + 12:nh + 16]), bytes(buf[nh + 16:nh + 20])
        d = self.host.route_input(daddr, saddr, dev.name)
        k = d.kind
        if k == RouteKind.MARTIAN:
            raise _Drop(Disposition.DROP, d.reason)
        if k in (RouteKind.UNREACHABLE, RouteKind.PROHIBIT, RouteKind.BLACKHOLE):
            # ip_error(): its own bucket in the sender's inet_peer, then icmp_send().
            if d.icmp is not None and pkt_type == PacketType.HOST and self.rl.ip_error_allow(saddr, r.now):
                self._icmp_error(r, bytearray(buf[nh:]), 0, d.icmp[0], d.icmp[1], bytes(4),
                                 input_route=True, pkt_type=pkt_type, iif=dev)
            raise _Drop(Disposition.DROP, d.reason)
        opt = None
        if (buf[nh] & 0xF) > 5:
            opt = self._ip_rcv_options(r, pkt, dev, d, pkt_type)
        if k == RouteKind.FORWARD:
            self._ip_forward(r, pkt, dev, d, pkt_type, opt)
            return
        self._ip_local_deliver(r, pkt, dev, k)

    def _ip_rcv_options(self, r: _Run, pkt: Packet, dev: Interface, d: Any,
                        pkt_type: PacketType) -> OptionsResult:
        """ip_rcv_options(): compile (rewriting RR/timestamp/EOL padding in place), on error
        ICMP parameter problem with the offset of the bad byte and drop; then a source
        route is dropped silently unless accept_source_route (all AND the device)."""
        buf = pkt.buf
        nh = pkt.nh_off
        saddr, daddr = bytes(buf[nh + 12:nh + 16]), bytes(buf[nh + 16:nh + 20])
        if d.kind == RouteKind.FORWARD:
            # fib_compute_spec_dst(): the source we would use back towards the sender.
            back = self.host.route_output(saddr)
            spec = back.saddr.packed if back.delivers and back.saddr is not None else daddr
        else:
            spec = daddr                                        # RTCF_LOCAL/BROADCAST/MULTICAST
        opt = compile_options(buf, nh, spec, lambda a: self.host.addr_type(a) == "unicast",
                              int(r.now * 1000) % 86_400_000)
        if opt.error is not None:
            self._icmp_error(r, bytearray(buf[nh:]), 0, 12, 0, opt.pointer_word, input_route=True,
                             local_dst=d.kind != RouteKind.FORWARD, pkt_type=pkt_type, iif=dev)
            raise _Drop(Disposition.DROP, f"IPv4 options: bad byte at offset {opt.error}")
        if opt.srr and not (self._sysctl("net.ipv4.conf.all.accept_source_route", 0)
                            and self._sysctl(f"net.ipv4.conf.{dev.name}.accept_source_route", 1)):
            raise _Drop(Disposition.DROP, "IPv4 options: source route (accept_source_route off)")
        return opt

    # ------------------------------------------------------------------ IPv4 forward

    def _ip_forward(self, r: _Run, pkt: Packet, dev: Interface, d: Any, pkt_type: PacketType,
                    opt: OptionsResult | None = None) -> None:
        if pkt_type != PacketType.HOST:
            raise _Drop(Disposition.DROP, "forward: link-layer broadcast or multicast")
        buf = pkt.buf
        nh = pkt.nh_off
        l3 = bytearray(buf[nh:])
        if l3[8] <= 1:
            self._icmp_error(r, l3, 0, 11, 0, bytes(4), input_route=True, iif=dev)
            raise _Drop(Disposition.DROP, "TTL exceeded in transit")
        out = self.host.interfaces[d.oif]
        mtu = out.mtu
        if len(l3) > mtu and l3[6] & 0x40:
            # ip_exceeds_mtu(): DF set -> fragmentation needed, with the next-hop MTU.
            self._icmp_error(r, l3, 0, 3, 4, struct.pack("!I", mtu), input_route=True, iif=dev)
            raise _Drop(Disposition.DROP, f"fragmentation needed (mtu {mtu}, DF set)")
        B.decrease_ttl(buf, nh)
        # ip_forward(): skb->priority = rt_tos2priority(iph->tos)
        r.prio = _IP_TOS2PRIO[(l3[1] & 0x1E) >> 1]
        gw = d.gateway.packed
        if out.name == dev.name and self._redirect_ok(dev, bytes(l3[12:16])) and \
                self.rl.redirect_allow(bytes(l3[12:16]), r.now):
            # ip_rt_send_redirect(): the TTL is already decremented in the quote.
            self._icmp_error(r, bytearray(buf[nh:]), 0, 5, 1, gw, input_route=True, iif=dev)
        self._hook(r, "ip", "forward", pkt, dev.name, out.name)
        if opt is not None:
            # ip_forward_finish() -> ip_forward_options(): our outgoing address in the
            # slots the compile filled, then ip_send_check().
            fb, fnh = pkt.buf, pkt.nh_off
            src = self.host.select_source(bytes(fb[fnh + 16:fnh + 20]), out.name)
            if src is not None and forward_options(fb, fnh, opt, src.packed):
                fihl = (fb[fnh] & 0xF) * 4
                struct.pack_into("!H", fb, fnh + 10, 0)
                struct.pack_into("!H", fb, fnh + 10, internet_checksum(fb, fnh, fnh + fihl))
        self._ip_output(r, pkt, out, gw, forwarded=True)

    def _redirect_ok(self, dev: Interface, saddr: bytes) -> bool:
        # __mkroute_input(): send_redirects on, and the source is reachable on-link through
        # this device (fib_validate_source() returns 1 for a link-scope reverse route).
        if not (self._sysctl("net.ipv4.conf.all.send_redirects", 1)
                or self._sysctl(f"net.ipv4.conf.{dev.name}.send_redirects", 1)):
            return False
        s = ipaddress.IPv4Address(saddr)
        return any(a.version == 4 and s in a.network for a in dev.addresses)

    # ------------------------------------------------------------------ IPv4 output

    def _ip_output(self, r: _Run, pkt: Packet, out: Interface, gw: bytes, *, forwarded: bool) -> None:
        self._hook(r, "ip", "postrouting", pkt, None if not forwarded else pkt.iif, out.name)
        l3 = bytes(pkt.buf[pkt.nh_off:])
        mtu = out.mtu
        if len(l3) > mtu:
            if l3[6] & 0x40 and not forwarded:
                self._icmp_error(r, bytearray(l3), 0, 3, 4, struct.pack("!I", mtu), input_route=False)
                raise _Drop(Disposition.DROP, f"fragmentation needed (mtu {mtu})", EMSGSIZE)
            pieces = B.fragment_v4(l3, mtu)
        else:
            pieces = [l3]
        for piece in pieces:
            self._neigh_output(r, 4, piece, out, gw, forwarded)

    def _neigh_output(self, r: _Run, version: int, l3: bytes, out: Interface, gw: bytes, forwarded: bool) -> None:
        daddr = l3[16:20] if version == 4 else l3[24:40]
        etype = B.ETH_P_IP if version == 4 else B.ETH_P_IPV6
        if version == 4 and (daddr == b"\xff" * 4 or self.host.addr_type(daddr) == "broadcast"):
            mac = B.BCAST_MAC
        elif daddr[0] >= 224 if version == 4 else daddr[0] == 0xFF:
            mac = B.multicast_mac(daddr)
        else:
            mac = self.host.neighbor(gw, out.name) or self.learned.get((gw, out.name))
        if mac is None:
            key = (gw, out.name)
            p = self.pending.get(key)
            if p is None:
                p = self.pending[key] = _Pending(version, gw, out.name, r.now, 0)
                p.src_hint = l3[12:16] if version == 4 else l3[8:24]
                r.events.append(("neigh", "incomplete", out.name, gw))
                self._solicit(r, p)
                p.probes = 1
            p.queue.append((l3, forwarded))
            if len(p.queue) > UNRES_QLEN:
                p.queue.pop(0)
            return
        self._dev_xmit(r, bytearray(B.ether(mac, out.mac, etype, l3)), out)

    def _resolved(self, r: _Run, addr: bytes, dev: str, mac: bytes) -> None:
        p = self.pending.pop((addr, dev), None)
        if p is None:
            return
        out = self.host.interfaces[dev]
        etype = B.ETH_P_IP if p.version == 4 else B.ETH_P_IPV6
        for l3, _fwd in p.queue:
            self._dev_xmit(r, bytearray(B.ether(mac, out.mac, etype, l3)), out)

    def _solicit(self, r: _Run, p: _Pending) -> None:
        out = self.host.interfaces[p.dev]
        hint = p.src_hint
        if p.version == 4:
            # arp_solicit() with arp_announce 0: the packet's source if it is local,
            # else inet_select_addr(dev, target, RT_SCOPE_LINK).
            if hint is not None and hint in self._local:
                src = hint
            else:
                sel = self.host.routing.select_source_on(out.name, ipaddress.IPv4Address(p.addr), 253)
                src = sel.packed if sel is not None else bytes(4)
            body = B.arp(1, out.mac, src, bytes(6), p.addr)
            sub = _Run(r.now, r.depth + 1)
            verdict, reason = Disposition.ACCEPT, None
            try:
                pkt = Packet(B.ether(B.BCAST_MAC, out.mac, B.ETH_P_ARP, body), LinkType.ETHERNET)
                self._hook(sub, "arp", "output", pkt, None, out.name)
                self._dev_xmit(sub, bytearray(pkt.buf), out)
            except _Drop as d:
                verdict, reason = d.verdict, d.reason
            self._merge(r, sub, "arp-request", body, verdict, reason)
            return
        # ndisc_solicit(): the packet's source if it is an address of this device, else
        # the device's link-local address.
        if hint is not None and hint in self._local_on(out):
            src = hint
        else:
            src = self._link_local(out)
        l3 = B.neighbour_solicitation(src, p.addr, out.mac)
        self._local_out(r, "neighbour-solicitation", l3, oif=out.name, direct=True)

    @staticmethod
    def _link_local(dev: Interface) -> bytes:
        """ipv6_get_lladdr(): the device's link-local address (the EUI-64 one every
        non-loopback device gets, also when the Host was built by hand)."""
        ll = [a.ip for a in dev.addrs(6) if a.ip.is_link_local]
        return ll[-1].packed if ll else eui64_link_local(dev.mac).ip.packed

    def _dev_xmit(self, r: _Run, frame: bytearray, out: Interface) -> None:
        if out.kind == "bridge":
            self._bridge_xmit(r, frame, out)
            return
        pkt = Packet(frame, LinkType.ETHERNET, timestamp=r.now)
        self._hook(r, "netdev", "egress", pkt, None, out.name)
        r.emitted.append(Emission(out.name, bytes(pkt.buf)))

    # ------------------------------------------------------------------ local delivery v4

    def _ip_local_deliver(self, r: _Run, pkt: Packet, dev: Interface, kind: RouteKind) -> None:
        buf = pkt.buf
        nh = pkt.nh_off
        if buf[nh + 6] & 0x3F or buf[nh + 7]:
            raise _Drop(Disposition.DROP, "fragment for local delivery: reassembly is not modelled")
        self._hook(r, "ip", "input", pkt, dev.name, None)
        buf = pkt.buf
        l3 = bytearray(buf[nh:])
        ihl = (l3[0] & 0xF) * 4
        proto = l3[9]
        l4 = l3[ihl:]
        unicast = kind == RouteKind.LOCAL
        saddr, daddr = bytes(l3[12:16]), bytes(l3[16:20])
        if proto == 1:
            if len(l4) < 8 or internet_checksum(l4) != 0:
                raise _Drop(Disposition.DROP, "ICMP: bad checksum or short")
            t = l4[0]
            if not unicast and t in (8, 13) and self._sysctl("net.ipv4.icmp_echo_ignore_broadcasts", 1):
                raise _Drop(Disposition.LOCAL, "echo to a broadcast/multicast address ignored")
            if t == 8 and not self._sysctl("net.ipv4.icmp_echo_ignore_all", 0):
                self._icmp_echo_reply(r, l3, dev, unicast)
            raise _Drop(Disposition.LOCAL)
        if proto == 6:
            self._tcp_no_socket(r, l3, ihl, 4, pseudo_header_v4(saddr, daddr, 6, len(l4)), pkt.pkt_type,
                                unicast, dev)
        if proto == 17:
            if len(l4) < 8:
                raise _Drop(Disposition.DROP, "UDP: short")
            ulen = l4[4] << 8 | l4[5]
            if ulen > len(l4) or ulen < 8:
                raise _Drop(Disposition.DROP, "UDP: bad length")
            l4 = l4[:ulen]
            if (l4[6] or l4[7]) and internet_checksum(l4, initial=pseudo_header_v4(saddr, daddr, 17, ulen)) != 0:
                raise _Drop(Disposition.DROP, "UDP: bad checksum")
            if unicast:
                self._icmp_error(r, l3[:ihl + ulen], 0, 3, 3, bytes(4), input_route=False, local_dst=True,
                                 iif=dev, pkt_type=pkt.pkt_type)
            raise _Drop(Disposition.LOCAL, "no socket")
        if proto in KNOWN_PROTOCOLS4:
            raise _Drop(Disposition.LOCAL)
        if unicast:
            self._icmp_error(r, l3, 0, 3, 2, bytes(4), input_route=False, local_dst=True, iif=dev,
                             pkt_type=pkt.pkt_type)
        raise _Drop(Disposition.LOCAL, f"no handler for protocol {proto}")

    # ------------------------------------------------------------------ generated v4

    def _ip_id(self) -> int:
        return self.rng.randrange(1 << 16)

    def _icmp_error(self, r: _Run, l3: bytearray, _nh: int, type_: int, code: int, rest: bytes, *,
                    input_route: bool, local_dst: bool = False, pkt_type: PacketType = PacketType.HOST,
                    iif: Interface | None = None, now: float | None = None) -> None:
        """__icmp_send(): which packets get an error, from which source, how much quoted."""
        now = r.now if now is None else now
        if self._icmp_xmit:
            r.events.append(("icmp", "xmit-lock-busy", type_, code))
            return
        if len(l3) < 20 or pkt_type != PacketType.HOST:
            return
        saddr, daddr = bytes(l3[12:16]), bytes(l3[16:20])
        if (daddr[0] >= 224 or daddr == b"\xff" * 4 or self.host.addr_type(daddr) == "broadcast"):
            return                                              # RTCF_BROADCAST | RTCF_MULTICAST
        if (l3[6] << 8 | l3[7]) & 0x1FFF:
            return                                              # only fragment 0
        ihl = (l3[0] & 0xF) * 4
        if type_ in (3, 4, 5, 11, 12) and l3[9] == 1 and len(l3) > ihl:
            inner = l3[ihl]
            if inner > 18 or inner in (3, 4, 5, 11, 12):
                return                                          # no error about an error
        if saddr[0] >= 224 or saddr in (bytes(4), b"\xff" * 4):
            return
        # Source: the original destination when it was delivered locally (RTCF_LOCAL),
        # else chosen by the route back (icmp_errors_use_inbound_ifaddr = 0).
        src = daddr if local_dst else None
        d = self.host.route_output(saddr, None, src)
        if not d.delivers:
            return
        out = self.host.interfaces.get(d.oif or "lo")
        loop = d.kind == RouteKind.LOCAL
        if not self.rl.allow4(type_, code, saddr, now, loopback=loop):
            r.events.append(("icmp", "ratelimited", type_, code))
            return
        tos = l3[1] & 0x1E | 0xC0                               # RT_TOS() | IPTOS_PREC_INTERNETCONTROL
        room = min(out.mtu if out else 576, 576) - 20 - 8
        quote = bytes(l3[:room])
        body = B.icmp4(type_, code, rest, quote)
        ttl = self._sysctl("net.ipv4.ip_default_ttl", 64)
        pkt = B.ipv4(d.saddr.packed, saddr, 1, body, tos=tos, ttl=ttl, ident=self._ip_id(), df=False)
        self._local_out(r, f"icmp-{type_}-{code}", pkt, decision=d)

    def _icmp_echo_reply(self, r: _Run, l3: bytearray, dev: Interface, unicast: bool) -> None:
        ihl = (l3[0] & 0xF) * 4
        req = bytearray(l3[ihl:])
        req[0] = 0                                              # ECHOREPLY; code is copied
        req[2:4] = b"\0\0"
        struct.pack_into("!H", req, 2, internet_checksum(req))
        saddr, daddr = bytes(l3[12:16]), bytes(l3[16:20])
        # fib_compute_spec_dst(): our address for unicast, else a selected one.
        src = daddr if unicast else None
        d = self.host.route_output(saddr, None, src)
        if not d.delivers:
            return
        pkt = B.ipv4(d.saddr.packed, saddr, 1, bytes(req), tos=l3[1], ttl=self._sysctl("net.ipv4.ip_default_ttl", 64),
                     ident=self._ip_id(), df=False)
        self._local_out(r, "icmp-echo-reply", pkt, decision=d)

    def _tcp_no_socket(self, r: _Run, l3: bytearray, thoff: int, version: int, pseudo: int,
                       pkt_type: PacketType, unicast: bool, dev: Interface) -> None:
        """A segment delivered locally where no socket listens, for both families:
        tcp_v4_rcv() / tcp_v6_rcv() check it (for this host, data offset, checksum seeded
        with ``pseudo``, the pseudo-header's sum) and answer a unicast one with a reset.
        Always raises."""
        l4 = l3[thoff:]
        if pkt_type != PacketType.HOST or len(l4) < 20:
            raise _Drop(Disposition.DROP, "TCP: not for this host or short")
        doff = (l4[12] >> 4) * 4
        if doff < 20 or doff > len(l4):
            raise _Drop(Disposition.DROP, "TCP: bad data offset")
        if internet_checksum(l4, initial=pseudo) != 0:
            raise _Drop(Disposition.DROP, "TCP: bad checksum")
        if unicast:
            self._tcp_reset(r, l3, thoff, version, dev)
        raise _Drop(Disposition.LOCAL, "no socket")

    def _tcp_reset(self, r: _Run, l3: bytearray, thoff: int, version: int, dev: Interface) -> None:
        """tcp_v4_send_reset() / tcp_v6_send_reset() for a segment nobody listens for."""
        th = l3[thoff:]
        flags = th[13]
        if flags & 0x04:
            return                                              # never answer a reset
        sport, dport, seq, ackn = struct.unpack_from("!HHII", th)
        doff = (th[12] >> 4) * 4
        if version == 4:
            plen = (l3[2] << 8 | l3[3]) - thoff - doff
        else:
            plen = 40 + (l3[4] << 8 | l3[5]) - thoff - doff
        if flags & 0x10:
            rseq, rack, rflags = ackn, 0, 0x04
        else:
            rseq = 0
            rack = (seq + (flags & 0x02 > 0) + (flags & 0x01 > 0) + plen) & 0xFFFFFFFF
            rflags = 0x14
        if version == 4:
            saddr, daddr = bytes(l3[12:16]), bytes(l3[16:20])
            d = self.host.route_output(saddr, None, daddr)
            if not d.delivers:
                return
            seg = B.tcp_reset(daddr, saddr, dport, sport, rseq, rack, rflags, False)
            # ip_send_unicast_reply(): the ctl socket has DF (PMTUDISC_DO), so ID 0.
            pkt = B.ipv4(daddr, saddr, 6, seg, tos=l3[1] & ~3 & 0xFF,
                         ttl=self._sysctl("net.ipv4.ip_default_ttl", 64), ident=0, df=True)
            self._local_out(r, "tcp-reset", pkt, decision=d)
        else:
            saddr, daddr = bytes(l3[8:24]), bytes(l3[24:40])
            oif = dev.name if ipaddress.IPv6Address(saddr).is_link_local else None
            d = self.host.route_output(saddr, oif, daddr)
            if not d.delivers:
                return
            seg = B.tcp_reset(daddr, saddr, dport, sport, rseq, rack, rflags, True)
            tclass = ((l3[0] << 4 | l3[1] >> 4) & 0xFF) & ~3
            pkt = B.ipv6(daddr, saddr, 6, seg, hlim=64, tclass=tclass, flow=self._flow())
            self._local_out(r, "tcp-reset", pkt, decision=d)

    # ------------------------------------------------------------------ local output

    def _raw_send(self, r: _Run, data: bytes) -> None:
        """A raw IPPROTO_RAW send (raw_send_hdrinc / rawv6_send_hdrinc)."""
        if not data:
            raise _Drop(Disposition.DROP, "empty packet", EINVAL)
        ver = data[0] >> 4
        if ver == 4 and len(data) >= 20:
            l3 = bytearray(data)
            d = self.host.route_output(bytes(l3[16:20]))
            if not d.delivers:
                raise _Drop(Disposition.DROP, d.reason or "no route", ENETUNREACH if d.kind == RouteKind.UNREACHABLE
                            else EINVAL)
            out = self.host.interfaces[d.oif or "lo"]
            if len(l3) > out.mtu:
                raise _Drop(Disposition.DROP, "message too long", EMSGSIZE)
            ihl = (l3[0] & 0xF) * 4
            if ihl > len(l3):
                raise _Drop(Disposition.DROP, "ihl beyond the packet", EINVAL)
            if ihl >= 20:
                if l3[12:16] == bytes(4):
                    l3[12:16] = d.saddr.packed
                l3[10:12] = b"\0\0"
                struct.pack_into("!H", l3, 2, len(l3))
                if l3[4:6] == b"\0\0" and not l3[6] & 0x40:
                    struct.pack_into("!H", l3, 4, self._ip_id())
                struct.pack_into("!H", l3, 10, internet_checksum(l3, 0, ihl))
            self._out_path(r, 4, l3, d)
        elif ver == 6 and len(data) >= 40:
            l3 = bytearray(data)
            dst = ipaddress.IPv6Address(bytes(l3[24:40]))
            d = self.host.route_output(dst)
            if not d.delivers:
                raise _Drop(Disposition.DROP, d.reason or "no route", ENETUNREACH)
            out = self.host.interfaces[d.oif or "lo"]
            if len(l3) > out.mtu:
                raise _Drop(Disposition.DROP, "message too long", EMSGSIZE)
            self._out_path(r, 6, l3, d)
        else:
            raise _Drop(Disposition.DROP, "not an IPv4/IPv6 packet", EINVAL)

    def _local_out(self, r: _Run, kind: str, l3: bytes, *, decision: Any = None, oif: str | None = None,
                   direct: bool = False) -> None:
        """Send a packet the host generated, recording it in ``generated``."""
        if r.depth > 4:
            return
        sub = _Run(r.now, r.depth + 1)
        verdict, reason = Disposition.ACCEPT, None
        version = l3[0] >> 4
        # icmp_push_reply() runs the output path with the per-netns ICMP socket locked
        # (icmp_xmit_lock is a trylock): an icmp_send() from a hook on that path -- a
        # reject of our own echo reply or error -- finds it taken and sends nothing.
        held = self._icmp_xmit
        if kind.startswith("icmp"):
            self._icmp_xmit = True
        try:
            if decision is None:
                dst = l3[16:20] if version == 4 else l3[24:40]
                decision = self.host.route_output(dst, oif)
                if not decision.delivers:
                    raise _Drop(Disposition.DROP, decision.reason)
            self._out_path(sub, version, bytearray(l3), decision)
        except _Drop as d:
            verdict, reason = d.verdict, d.reason
        finally:
            self._icmp_xmit = held
        self._merge(r, sub, kind, bytes(l3), verdict, reason)

    def _out_path(self, r: _Run, version: int, l3: bytearray, d: Any) -> None:
        fam = "ip" if version == 4 else "ip6"
        oif = d.oif or "lo"
        pkt = Packet(l3, LinkType.RAW, timestamp=r.now)
        daddr = slice(16, 20) if version == 4 else slice(24, 40)
        before = (bytes(pkt.buf[daddr]), pkt.mark)
        self._hook(r, fam, "output", pkt, None, oif)
        if (bytes(pkt.buf[daddr]), pkt.mark) != before:
            # nf_nat_ipv4_local_fn / nf_nat_ipv6_local_fn (and nft_chain_route for
            # `type route`): a new daddr or mark after LOCAL_OUT reroutes the packet,
            # ip_route_me_harder / ip6_route_me_harder; a failed lookup drops it.
            nd = self.host.route_output(ipaddress.ip_address(bytes(pkt.buf[daddr])))
            if not nd.delivers:
                raise _Drop(Disposition.DROP, "ip_route_me_harder: " + (nd.reason or "no route"),
                            ENETUNREACH)
            d, oif = nd, nd.oif or "lo"
        out = self.host.interfaces[oif]
        if d.kind == RouteKind.LOCAL or out.kind == "loopback":
            self._hook(r, fam, "postrouting", pkt, None, oif)
            # loopback_xmit() queues to the backlog: the receive runs after the sender
            # let go of its ICMP socket.
            held, self._icmp_xmit = self._icmp_xmit, False
            try:
                self._loopback_rx(r, version, bytearray(pkt.buf))
            finally:
                self._icmp_xmit = held
            return
        gw = d.gateway.packed if d.gateway is not None else bytes(pkt.buf[16:20] if version == 4 else pkt.buf[24:40])
        if version == 4:
            self._ip_output(r, pkt, out, gw, forwarded=False)
        else:
            self._ip6_output(r, pkt, out, gw, forwarded=False)

    def _loopback_rx(self, r: _Run, version: int, l3: bytearray) -> None:
        if r.depth > 4:
            return
        lo = self.host.interfaces["lo"]
        frame = bytearray(bytes(12) + struct.pack("!H", B.ETH_P_IP if version == 4 else B.ETH_P_IPV6)) + l3
        sub = _Run(r.now, r.depth + 1)
        sub.generated, sub.emitted, sub.events = r.generated, r.emitted, r.events
        try:
            # loopback_xmit(): pkt_type HOST, received on lo.
            if version == 4:
                self._ip_rcv(sub, frame, 14, lo, PacketType.HOST, False)
            else:
                self._ip6_rcv(sub, frame, 14, lo, PacketType.HOST, False)
        except _Drop as d:
            r.events.append(("loopback", d.verdict.value, d.reason))

    # ------------------------------------------------------------------ IPv6

    def _flow(self) -> int:
        return self.rng.randrange(1, 1 << 20)

    def _ip6_rcv(self, r: _Run, frame: bytearray, off: int, dev: Interface, pkt_type: PacketType,
                 bridged: bool) -> None:
        # ipv6_rcv() / ip6_rcv_core(): silent drops before any hook.
        if pkt_type == PacketType.OTHERHOST:
            raise _Drop(Disposition.DROP, "IPv6 packet for another host (PACKET_OTHERHOST)")
        avail = len(frame) - off
        if avail < 40 or frame[off] >> 4 != 6:
            raise _Drop(Disposition.DROP, "IPv6: short or bad version")
        plen = frame[off + 4] << 8 | frame[off + 5]
        if plen + 40 > avail:
            raise _Drop(Disposition.DROP, "IPv6: payload length beyond the frame")
        if plen or frame[off + 6] != 0:
            del frame[off + 40 + plen:]
        saddr = ipaddress.IPv6Address(bytes(frame[off + 8:off + 24]))
        daddr = ipaddress.IPv6Address(bytes(frame[off + 24:off + 40]))
        if saddr.is_multicast:
            raise _Drop(Disposition.DROP, "IPv6: multicast source")
        pkt = Packet(frame, LinkType.ETHERNET, iif=dev.name, timestamp=r.now)
        pkt.pkt_type = pkt_type
        if not bridged:
            self._hook(r, "ip6", "prerouting", pkt, dev.name, None)
        nh = pkt.nh_off
        # ip6_rcv_finish() routes the header as prerouting left it (DNAT, redirect)
        saddr = ipaddress.IPv6Address(bytes(pkt.buf[nh + 8:nh + 24]))
        daddr = ipaddress.IPv6Address(bytes(pkt.buf[nh + 24:nh + 40]))
        d = self.host.route_input(daddr, saddr, dev.name)
        l3 = bytearray(pkt.buf[nh:])
        k = d.kind
        if k == RouteKind.MARTIAN:
            raise _Drop(Disposition.DROP, d.reason)
        if k == RouteKind.FORWARD or (k == RouteKind.UNREACHABLE and d.icmp == (1, 2)):
            self._ip6_forward(r, pkt, dev, d, pkt_type)
            return
        if k in (RouteKind.UNREACHABLE, RouteKind.PROHIBIT, RouteKind.BLACKHOLE):
            if d.icmp is not None:
                self._icmp6_error(r, l3, 0, d.icmp[0], d.icmp[1], bytes(4), iif=dev, pkt_type=pkt_type)
            raise _Drop(Disposition.DROP, d.reason)
        self._ip6_local_deliver(r, pkt, dev, k, pkt_type)

    def _ip6_forward(self, r: _Run, pkt: Packet, dev: Interface, d: Any, pkt_type: PacketType) -> None:
        if pkt_type != PacketType.HOST:
            raise _Drop(Disposition.DROP, "forward: link-layer broadcast or multicast")
        nh = pkt.nh_off
        buf = pkt.buf
        l3 = bytearray(buf[nh:])
        if l3[7] <= 1:
            self._icmp6_error(r, l3, 0, 3, 0, bytes(4), iif=dev)
            raise _Drop(Disposition.DROP, "hop limit exceeded in transit")
        if d.kind == RouteKind.UNREACHABLE:
            self._icmp6_error(r, l3, 0, 1, 2, bytes(4), iif=dev)
            raise _Drop(Disposition.DROP, d.reason)
        out = self.host.interfaces[d.oif]
        mtu = max(out.mtu, 1280)
        if len(l3) > mtu:
            self._icmp6_error(r, l3, 0, 2, 0, struct.pack("!I", mtu), iif=dev)
            raise _Drop(Disposition.DROP, f"packet too big (mtu {mtu})")
        buf[nh + 7] -= 1
        self._hook(r, "ip6", "forward", pkt, dev.name, out.name)
        self._ip6_output(r, pkt, out, d.gateway.packed, forwarded=True)

    def _ip6_output(self, r: _Run, pkt: Packet, out: Interface, gw: bytes, *, forwarded: bool) -> None:
        self._hook(r, "ip6", "postrouting", pkt, pkt.iif if forwarded else None, out.name)
        l3 = bytes(pkt.buf[pkt.nh_off:])
        if len(l3) > out.mtu:
            raise _Drop(Disposition.DROP, "IPv6 packet larger than the MTU (local fragmentation not modelled)",
                        EMSGSIZE)
        self._neigh_output(r, 6, l3, out, gw, forwarded)

    def _ip6_local_deliver(self, r: _Run, pkt: Packet, dev: Interface, kind: RouteKind,
                           pkt_type: PacketType) -> None:
        if pkt.is_fragment or pkt.find_exthdr(44) >= 0:
            raise _Drop(Disposition.DROP, "IPv6 fragment for local delivery: reassembly is not modelled")
        self._hook(r, "ip6", "input", pkt, dev.name, None)
        nh = pkt.nh_off
        l3 = bytearray(pkt.buf[nh:])
        saddr, daddr = bytes(l3[8:24]), bytes(l3[24:40])
        proto = pkt.l4proto
        thoff = pkt.th_off - nh if pkt.th_off >= 0 else 40
        l4 = l3[thoff:]
        unicast = kind == RouteKind.LOCAL and daddr[0] != 0xFF
        if proto == 58:
            if len(l4) < 4 or internet_checksum(l4, initial=pseudo_header_v6(saddr, daddr, 58, len(l4))) != 0:
                raise _Drop(Disposition.DROP, "ICMPv6: bad checksum or short")
            t = l4[0]
            if t == 128 and len(l4) >= 8:
                self._icmp6_echo_reply(r, l3, thoff, dev, kind)
            elif t == 135 and len(l4) >= 24 and l3[7] == 255 and l4[1] == 0:
                self._ndisc_ns(r, l3, thoff, dev)
            elif t == 136 and len(l4) >= 24 and l3[7] == 255:
                tgt = bytes(l4[8:24])
                opts = bytes(l4[24:])
                if (tgt, dev.name) in self.pending and len(opts) >= 8 and opts[0] == 2:
                    self.learned[(tgt, dev.name)] = opts[2:8]
                    self._resolved(r, tgt, dev.name, opts[2:8])
            raise _Drop(Disposition.LOCAL)
        if proto == 6:
            self._tcp_no_socket(r, l3, thoff, 6, pseudo_header_v6(saddr, daddr, 6, len(l4)), pkt_type,
                                unicast, dev)
        if proto == 17:
            if len(l4) < 8:
                raise _Drop(Disposition.DROP, "UDP: short")
            ulen = l4[4] << 8 | l4[5]
            if ulen == 0:
                ulen = len(l4)                                  # jumbogram rule
            if ulen > len(l4) or ulen < 8:
                raise _Drop(Disposition.DROP, "UDP: bad length")
            l4 = l4[:ulen]
            if internet_checksum(l4, initial=pseudo_header_v6(saddr, daddr, 17, ulen)) != 0 or l4[6:8] == b"\0\0":
                raise _Drop(Disposition.DROP, "UDP: bad checksum (zero is invalid over IPv6)")
            if unicast:
                self._icmp6_error(r, l3[:thoff + ulen], 0, 1, 4, bytes(4), iif=dev, pkt_type=pkt_type)
            raise _Drop(Disposition.LOCAL, "no socket")
        if proto in (59, 136):
            raise _Drop(Disposition.LOCAL)
        if proto < 0:
            raise _Drop(Disposition.DROP, "IPv6: unwalkable extension headers")
        # ip6_protocol_deliver_rcu(): unknown next header -> parameter problem pointing at
        # the next-header field that named it.
        ptr = 6
        for _t, o in pkt.ip6_exthdrs:
            if o - nh < thoff:
                ptr = o - nh
        self._icmp6_error(r, l3, 0, 4, 1, struct.pack("!I", ptr), iif=dev, pkt_type=pkt_type)
        raise _Drop(Disposition.LOCAL, f"no handler for next header {proto}")

    def _icmp6_error(self, r: _Run, l3: bytearray, _nh: int, type_: int, code: int, rest: bytes, *,
                     iif: Interface | None = None, pkt_type: PacketType = PacketType.HOST,
                     now: float | None = None) -> None:
        """icmp6_send()."""
        now = r.now if now is None else now
        if self._icmp_xmit:
            r.events.append(("icmpv6", "xmit-lock-busy", type_, code))
            return
        if len(l3) < 40:
            return
        s = ipaddress.IPv6Address(bytes(l3[8:24]))
        dst = ipaddress.IPv6Address(bytes(l3[24:40]))
        src = dst if dst.packed in self._local else None
        if dst.is_multicast or pkt_type != PacketType.HOST:
            if type_ != 2 and not (type_ == 4 and code == 2):
                return
            src = None
        if s.is_unspecified or s.is_multicast:
            return
        p = Packet(l3, LinkType.RAW)
        if p.l4proto == 58 and p.has_transport and p.th_off < len(l3) and l3[p.th_off] < 128:
            return                                              # is_ineligible(): an error
        oif = iif.name if (iif is not None and s.is_link_local) else None
        d = self.host.route_output(s, oif, src)
        if not d.delivers:
            return
        loop = d.kind == RouteKind.LOCAL
        plen = d.route.to.prefixlen if d.route is not None else 128
        if not self.rl.allow6(type_, s.packed, plen, now, loopback=loop):
            r.events.append(("icmpv6", "ratelimited", type_, code))
            return
        saddr = (src or d.saddr).packed
        quote = bytes(l3[:1280 - 40 - 8])
        body = B.icmp6(saddr, s.packed, type_, code, rest, quote)
        pkt = B.ipv6(saddr, s.packed, 58, body, hlim=64, flow=self._flow())
        self._local_out(r, f"icmpv6-{type_}-{code}", pkt, decision=d)

    def _icmp6_echo_reply(self, r: _Run, l3: bytearray, thoff: int, dev: Interface, kind: RouteKind) -> None:
        s = ipaddress.IPv6Address(bytes(l3[8:24]))
        dst = ipaddress.IPv6Address(bytes(l3[24:40]))
        if s.is_unspecified:
            return
        unicast = dst.packed in self._local
        oif = dev.name if (s.is_link_local or dst.is_multicast) else None
        d = self.host.route_output(s, oif, dst if unicast else None)
        if not d.delivers:
            return
        saddr = dst.packed if unicast else d.saddr.packed
        msg = bytearray(l3[thoff:])
        msg[0] = 129
        msg[2:4] = b"\0\0"
        struct.pack_into("!H", msg, 2, internet_checksum(msg, initial=pseudo_header_v6(saddr, s.packed, 58, len(msg))))
        tclass = (l3[0] << 4 | l3[1] >> 4) & 0xFF
        pkt = B.ipv6(saddr, s.packed, 58, bytes(msg), hlim=64, tclass=tclass, flow=self._flow())
        self._local_out(r, "icmpv6-echo-reply", pkt, decision=d)

    def _ndisc_ns(self, r: _Run, l3: bytearray, thoff: int, dev: Interface) -> None:
        """ndisc_recv_ns(): learn the sender, answer with a neighbour advertisement."""
        l4 = l3[thoff:]
        target = bytes(l4[8:24])
        if target not in self._local_on(dev):
            return
        saddr = bytes(l3[8:24])
        daddr = bytes(l3[24:40])
        opts = bytes(l4[24:])
        sllao = opts[2:8] if len(opts) >= 8 and opts[0] == 1 and opts[1] == 1 else None
        dad = saddr == bytes(16)
        if sllao is not None and not dad:
            self.learned[(saddr, dev.name)] = sllao
        router = bool(self.host.sysctl("net.ipv6.conf.all.forwarding"))
        inc_opt = daddr[0] == 0xFF                              # solicited via multicast
        flags = (0x80 if router else 0) | (0 if dad else 0x40) | 0x20
        dst = bytes.fromhex("ff020000000000000000000000000001") if dad else saddr
        opt = b"\x02\x01" + dev.mac if inc_opt else b""
        body = B.icmp6(target, dst, 136, 0, bytes([flags, 0, 0, 0]), target + opt)
        pkt = B.ipv6(target, dst, 58, body, hlim=255)
        self._local_out(r, "neighbour-advertisement", pkt, oif=dev.name)

    # ------------------------------------------------------------------ bridge

    def _bridge_rx(self, r: _Run, frame: bytearray, port: Interface) -> None:
        br_name = port.bridge
        assert br_name is not None
        br = self._dev(br_name)
        bridge = self.host.bridges[br_name]
        src, dst = bytes(frame[6:12]), bytes(frame[0:6])
        local_macs = {br.mac} | {self.host.interfaces[p].mac for p in bridge.ports}
        if not src[0] & 1 and src != bytes(6) and src not in local_macs:
            self.fdb[(br_name, src)] = port.name                # br_fdb_update(): learning
        pkt = Packet(frame, LinkType.ETHERNET, iif=port.name, timestamp=r.now)
        self._hook(r, "bridge", "prerouting", pkt, port.name, None)
        etype = frame[12] << 8 | frame[13]
        inet = {B.ETH_P_IP: "ip", B.ETH_P_IPV6: "ip6"}.get(etype)
        if inet is not None:
            # br_netfilter: br_nf_pre_routing() validates the header, then the inet
            # prerouting hook runs with the bridge as the input device.
            self._br_validate(frame, etype)
            self._hook(r, inet, "prerouting", pkt, br_name, None)
        frame = pkt.buf
        if dst in local_macs:
            self._hook(r, "bridge", "input", pkt, port.name, None)
            self._netif_rx(r, bytearray(frame), br, bridged=True)
            return
        if dst[0] & 1:
            targets = [p for p in bridge.ports if p != port.name]
            local = True
        else:
            learned = self.fdb.get((br_name, dst))
            if learned == port.name:
                raise _Drop(Disposition.DROP, "bridge: destination is on the arrival port")
            targets = [learned] if learned else [p for p in bridge.ports if p != port.name]
            local = False
        orig = r.skb
        for k, p in enumerate(targets):
            copy = Packet(bytes(frame), LinkType.ETHERNET, iif=port.name, timestamp=r.now)
            # br_flood(): every copy is a clone (deliver_clone) except, when the frame is
            # not also delivered locally, the one for the last port of the kernel's port
            # list -- our first target, as the kernel walks the ports in reverse order.
            r.skb = orig if (not local and k == 0) else object()
            try:
                self._hook(r, "bridge", "forward", copy, port.name, p)
                if inet is not None:
                    self._hook(r, inet, "forward", copy, br_name, br_name)
                self._hook(r, "bridge", "postrouting", copy, None, p)
                if inet is not None:
                    self._hook(r, inet, "postrouting", copy, None, br_name)
                self._dev_xmit(r, bytearray(copy.buf), self.host.interfaces[p])
            except _Drop as d:
                if not local and len(targets) == 1:
                    raise
                r.events.append(("bridge", "port-drop", p, d.reason))
        r.skb = orig
        if local:
            self._hook(r, "bridge", "input", pkt, port.name, None)
            self._netif_rx(r, bytearray(frame), br, bridged=True)
            return
        raise _Drop(Disposition.ACCEPT)

    @staticmethod
    def _br_validate(frame: bytearray, etype: int) -> None:
        if etype == B.ETH_P_IP:
            if len(frame) < 34 or frame[14] >> 4 != 4 or frame[14] & 0xF < 5 or \
                    internet_checksum(frame, 14, 14 + (frame[14] & 0xF) * 4) != 0:
                raise _Drop(Disposition.DROP, "br_netfilter: invalid IPv4 header")
            tot = frame[16] << 8 | frame[17]
            if tot > len(frame) - 14 or tot < (frame[14] & 0xF) * 4:
                raise _Drop(Disposition.DROP, "br_netfilter: bad IPv4 total length")
        elif len(frame) < 54 or frame[14] >> 4 != 6 or (frame[18] << 8 | frame[19]) + 40 > len(frame) - 14:
            raise _Drop(Disposition.DROP, "br_netfilter: invalid IPv6 header")

    def _bridge_xmit(self, r: _Run, frame: bytearray, br: Interface) -> None:
        """br_dev_xmit(): the bridge device sends a frame the host made."""
        bridge = self.host.bridges[br.name]
        dst = bytes(frame[0:6])
        learned = None if dst[0] & 1 else self.fdb.get((br.name, dst))
        targets = [learned] if learned else list(bridge.ports)
        for p in targets:
            copy = Packet(bytes(frame), LinkType.ETHERNET, timestamp=r.now)
            self._hook(r, "bridge", "output", copy, None, p)
            self._hook(r, "bridge", "postrouting", copy, None, p)
            self._dev_xmit(r, bytearray(copy.buf), self.host.interfaces[p])


def mask_random(frame: bytes, local: set[bytes] | None = None) -> bytes:
    """Zero the fields the kernel draws at random, in a frame the host sent: the IPv4 ID
    and header checksum of a packet without DF that the host originated (``local`` =
    the host's addresses; without it, every non-DF IPv4 packet), and the IPv6 flow label
    of a packet the host originated."""
    f = bytearray(frame)
    if len(f) < 14:
        return bytes(f)
    et = f[12] << 8 | f[13]
    if et == B.ETH_P_IP and len(f) >= 34:
        if not f[20] & 0x40 and (local is None or bytes(f[26:30]) in local):
            f[18:20] = b"\0\0"
            f[24:26] = b"\0\0"
    elif et == B.ETH_P_IPV6 and len(f) >= 54:
        if local is None or bytes(f[22:38]) in local:
            f[15] &= 0xF0
            f[16:18] = b"\0\0"
    return bytes(f)
