"""Flowtables: the fast path for established connections (``flow add @ft``).

Theory of operation
-------------------
A ``flowtable`` hooks netdev ingress on its devices.  A rule in a forward chain,
``flow add @ft``, offloads the connection of the packet it sees; from then on the
packets of that connection that arrive on one of the flowtable's devices are looked up
by their tuple at ingress and, when found, skip everything else -- prerouting,
conntrack, the forward chains, NAT hooks, postrouting: the flowtable applies the NAT
the conntrack entry recorded, decrements the TTL (hop limit), writes a new Ethernet
header for the next hop and transmits.  A packet that the fast path does not take goes
on through the classic path unchanged.  This reproduces (read, not copied) Linux's
net/netfilter/nft_flow_offload.c, nf_flow_table_core.c and nf_flow_table_ip.c:

``flow add`` (nft_flow_offload_eval) offloads only when all hold, else the rule breaks:
  * no IPv4 options (nft_flow_offload_skip), a conntrack entry;
  * TCP: not FIN/RST, state ESTABLISHED and ASSURED (nf_conntrack_tcp_established);
    UDP: always (no reply needed -- but the entry must be confirmed); nothing else
    (GRE is not offloaded here);
  * no helper, no IPS_SEQ_ADJUST, no IPS_NAT_CLASH; confirmed; not offloaded yet
    (test_and_set_bit IPS_OFFLOAD);
  * both directions route (nft_flow_route: this packet's output; the other direction
    by a route lookup to this direction's source, out of this packet's input device).
  TCP entries get the BE_LIBERAL window flag on both sides; the conntrack entry's
  timeout becomes a day (nf_ct_offload_timeout) and stays so while offloaded.

Ingress (nf_flow_offload_ip_hook / nf_flow_offload_ipv6_hook):
  * the tuple is (l3, l4proto, src, dst, sport, dport, iif) for TCP/UDP; IPv4 with
    options, fragments or TTL <= 1 is not looked up (nf_flow_tuple_ip);
  * an entry being torn down, or whose conntrack entry is dying, is not found;
  * L3 length above the output MTU: classic path (nf_flow_exceeds_mtu);
  * TCP FIN or RST: the entry is torn down and the packet takes the classic path
    (nf_flow_state_check -- Linux 6.14+ instead marks the flow "closing" and keeps it
    in the fast path; the long-standing behaviour is implemented);
  * otherwise: timeout refreshed (flow_offload_refresh, only when it moves by more
    than a second), NAT from the entry (nf_flow_nat_ip/ipv6: source and destination
    address and port of the other direction's tuple, inverted; checksums updated
    incrementally as inet_proto_csum_replace4/2, UDP checksum 0 left alone and a
    result of 0 written as 0xffff), TTL/hop limit decremented (ip_decrease_ttl), new
    Ethernet header: the output device's MAC and the next hop's (XMIT_DIRECT from
    dev_fill_forward_path), transmitted (NF_STOLEN).

Removal: the garbage collector runs every second (nf_flow_offload_work_gc, HZ) and
removes entries whose timeout passed (``net.netfilter.nf_flowtable_tcp_timeout`` /
``..._udp_timeout``, 30 s) or whose conntrack entry died; teardown gives the conntrack
entry back its protocol timeout (flow_offload_fixup_ct: the state's timeout, minus the
offload timeout when the flow expired) and clears IPS_OFFLOAD, so a later packet can
offload it again.

Engine integration is a hook object: :class:`FlowtableHook` with ``ingress(frame, iif,
now) -> [(oif, frame), ...] | None`` (call it at netdev ingress, at the flowtable's
priority, before the packet walks on; non-None: emit those frames, through netdev
egress, and stop) and ``flow_offload(ctx)`` giving the vm's ``ctx.flow_offload(instr,
pkt) -> bool`` (False: the rule must break, NFT_BREAK).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["FlowtableHook", "FlowEntry", "FlowTuple", "FLOW_TIMEOUT", "NF_CT_DAY"]

#: nf_flowtable_tcp_timeout / nf_flowtable_udp_timeout default (seconds)
FLOW_TIMEOUT = 30
#: nf_ct_offload_timeout(): an offloaded entry's conntrack timeout
NF_CT_DAY = 86400
_GC_INTERVAL = 1.0            # nf_flow_offload_work_gc requeues itself every HZ
_IPS_OFFLOAD = 1 << 14
_IPS_ASSURED = 1 << 2
_IPS_SEEN_REPLY = 1 << 1
_IPS_CONFIRMED = 1 << 3
_IPS_SEQ_ADJUST = 1 << 6
_IPS_DYING = 1 << 9
_IPS_NAT_CLASH = 1 << 12
_TCP_ESTABLISHED = 3
_TCP_FIN, _TCP_RST = 0x01, 0x04
_IP_CT_TCP_FLAG_BE_LIBERAL = 0x08


@dataclass(frozen=True, slots=True)
class FlowTuple:
    """struct flow_offload_tuple's lookup part."""
    l3: int                   # 4 or 6
    proto: int
    src: bytes
    dst: bytes
    sport: int
    dport: int
    iif: str


@dataclass(slots=True)
class _Dir:
    tuple: FlowTuple
    oif: str
    nexthop: bytes
    mtu: int
    h_source: bytes
    h_dest: bytes | None      # None: XMIT_NEIGH (looked up at transmit)
    # the rewrite: the other direction's tuple, inverted
    new_src: bytes
    new_dst: bytes
    new_sport: int
    new_dport: int


@dataclass(slots=True)
class FlowEntry:
    """struct flow_offload: the two directions and the conntrack entry."""
    ct: Any
    dirs: tuple[_Dir, _Dir]
    flowtable: str
    timeout: float
    teardown: bool = False
    packets: list[int] = field(default_factory=lambda: [0, 0])


def _csum_replace(buf: bytearray, at: int, old: bytes, new: bytes, udp: bool) -> None:
    """RFC 1624 eqn 3 (inet_proto_csum_replace*): HC' = ~(~HC + ~m + m')."""
    hc = buf[at] << 8 | buf[at + 1]
    if udp and hc == 0:
        return                # UDP without checksum stays without (nf_flow_nat_*_udp)
    s = (~hc) & 0xFFFF
    for i in range(0, len(old), 2):
        s += (~(old[i] << 8 | old[i + 1])) & 0xFFFF
        s += new[i] << 8 | new[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    res = (~s) & 0xFFFF
    if udp and res == 0:
        res = 0xFFFF          # CSUM_MANGLED_0
    buf[at], buf[at + 1] = res >> 8, res & 0xFF


class FlowtableHook:
    """The flowtables of a ruleset, their entries and the two hooks.

    ``conntrack``: the :class:`~pkttables.conntrack.ConntrackTable` (timeouts, entry
    death); ``nat`` is accepted for the engine's symmetry (the rewrite comes from the
    conntrack tuples, as the kernel's does); ``host``: interfaces, routes, static
    neighbours; ``neighbour(addr, dev) -> mac | None`` adds learned neighbours."""

    def __init__(self, ruleset: Any, conntrack: Any, nat: Any, host: Any, *,
                 neighbour: Callable[[bytes, str], bytes | None] | None = None):
        self.conntrack = conntrack
        self.nat = nat
        self.host = host
        self.neighbour = neighbour
        sysctl = getattr(host, "sysctls", {}) or {}
        self.timeouts = {6: int(sysctl.get("net.netfilter.nf_flowtable_tcp_timeout", FLOW_TIMEOUT)),
                         17: int(sysctl.get("net.netfilter.nf_flowtable_udp_timeout", FLOW_TIMEOUT))}
        #: (family, table, name) -> the model Flowtable
        self.flowtables: dict[tuple[str, str, str], Any] = {}
        self.devices: dict[str, list[tuple[str, str, str]]] = {}
        for (fam, tname), t in getattr(ruleset, "tables", {}).items():
            for name, ft in getattr(t, "flowtables", {}).items():
                self.flowtables[(fam, tname, name)] = ft
                for dev in ft.devices:
                    self.devices.setdefault(dev, []).append((fam, tname, name))
        self.table: dict[FlowTuple, tuple[FlowEntry, int]] = {}
        self.entries: list[FlowEntry] = []
        self._next_gc: float | None = None
        self.stats = {"offloaded": 0, "fast": 0, "teardown": 0, "expired": 0, "refused": 0}

    # ------------------------------------------------------------------ flow add
    def flow_offload(self, ctx: Any) -> Callable[[Any, Any], bool]:
        """``ctx.flow_offload(instr, pkt)`` for the vm: True when offloaded (or the
        rule may go on), False when nft_flow_offload_eval would break the rule."""
        def hook(instr, pkt) -> bool:
            rule = getattr(ctx, "current_rule", None)
            fam, table = (rule.family, rule.table) if rule is not None else ("inet", "")
            return self.add(fam, table, instr.table, pkt, getattr(ctx, "now", 0.0))
        return hook

    def add(self, family: str, table: str, name: str, pkt: Any, now: float) -> bool:
        """nft_flow_offload_eval for a packet in the forward hook."""
        if (family, table, name) not in self.flowtables:
            self.stats["refused"] += 1
            return False
        ct, ctinfo = getattr(pkt, "ct", None), getattr(pkt, "ctinfo", None)
        buf, nh = pkt.buf, pkt.nh_off
        if ct is None or ctinfo is None or int(ctinfo) == 7:
            return self._refuse()
        version = buf[nh] >> 4
        if version == 4 and (buf[nh] & 0xF) != 5:
            return self._refuse()              # IP options (nft_flow_offload_skip)
        proto = ct.tuples[0].protonum
        if proto == 6:
            th = pkt.th_off
            if th is None or len(buf) < th + 14:
                return self._refuse()
            flags = buf[th + 13]
            tcp = getattr(ct, "proto", None)
            if flags & (_TCP_FIN | _TCP_RST) or tcp is None or int(tcp.state) != _TCP_ESTABLISHED \
                    or not int(ct.status) & _IPS_ASSURED:
                return self._refuse()
        elif proto != 17:
            return self._refuse()
        st = int(ct.status)
        if ct.helper or st & (_IPS_SEQ_ADJUST | _IPS_NAT_CLASH) or not st & _IPS_CONFIRMED:
            return self._refuse()
        if st & _IPS_OFFLOAD:
            return self._refuse()
        d = 1 if int(ctinfo) >= 3 else 0      # CTINFO2DIR
        dirs = self._route(ct, d, pkt)
        if dirs is None:
            return self._refuse()
        ct.status = type(ct.status)(st | _IPS_OFFLOAD)
        if proto == 6:
            for seen in ct.proto.seen:
                seen.flags |= _IP_CT_TCP_FLAG_BE_LIBERAL
        entry = FlowEntry(ct, dirs, name, now + self.timeouts[proto])
        for i, dd in enumerate(dirs):
            self.table[dd.tuple] = (entry, i)
        self.entries.append(entry)
        self._ct_day(ct, now)
        self.stats["offloaded"] += 1
        if self._next_gc is None:
            self._next_gc = now + _GC_INTERVAL
        return True

    def _refuse(self) -> bool:
        self.stats["refused"] += 1
        return False

    def _ct_day(self, ct: Any, now: float) -> None:
        # nf_ct_offload_timeout(): less than half a day left -> a day from now
        if ct.expires - now < NF_CT_DAY / 2:
            ct.expires = now + NF_CT_DAY
            if self.conntrack is not None:
                self.conntrack.touch(ct)

    def _route(self, ct: Any, d: int, pkt: Any) -> tuple[_Dir, _Dir] | None:
        """nft_flow_route: direction ``d`` leaves by this packet's output device, the
        other by a route to this direction's source, out of this packet's input."""
        t = ct.tuples
        out = [None, None]
        ins = [None, None]
        ins[d], out[d] = pkt.iif, pkt.oif
        ins[1 - d] = pkt.oif
        dec = self.host.route_input(t[d].src, t[1 - d].src, pkt.oif)
        if getattr(dec, "oif", None) is None:
            return None
        out[1 - d] = dec.oif
        dirs = []
        for i in (0, 1):
            if out[i] is None or ins[i] is None or out[i] not in self.host.interfaces:
                return None
            other = t[1 - i]
            # the packet of direction i leaves as the inverse of the other tuple
            new_src, new_dst, new_sport, new_dport = other.dst, other.src, other.dport, other.sport
            dev = self.host.interfaces[out[i]]
            # the route the packet takes: its destination after NAT, its source as it
            # arrives (rt_nexthop of the dst the classic path would use)
            dec_i = self.host.route_input(new_dst, bytes(t[i].src), ins[i])
            gw = getattr(getattr(dec_i, "gateway", None), "packed", None) or new_dst
            mac = self._neigh(gw, out[i])
            l3 = 4 if t[i].l3num == 2 else 6
            dirs.append(_Dir(FlowTuple(l3, t[i].protonum, bytes(t[i].src), bytes(t[i].dst), t[i].sport,
                                       t[i].dport, ins[i]),
                             out[i], gw, dev.mtu, dev.mac, mac, bytes(new_src), bytes(new_dst),
                             new_sport, new_dport))
        return dirs[0], dirs[1]

    def _neigh(self, addr: bytes, dev: str) -> bytes | None:
        mac = self.host.neighbor(addr, dev)
        if mac is None and self.neighbour is not None:
            mac = self.neighbour(addr, dev)
        return mac

    # ------------------------------------------------------------------ gc
    def gc(self, now: float) -> int:
        """nf_flow_offload_gc_step over every entry; returns how many were removed."""
        removed = 0
        keep = []
        for e in self.entries:
            dying = bool(int(e.ct.status) & _IPS_DYING)
            expired = e.timeout <= now
            if not e.teardown and (expired or dying):
                self.teardown(e, now, expired=expired)
                self.stats["expired"] += expired
            if e.teardown:
                for dd in e.dirs:
                    if self.table.get(dd.tuple, (None,))[0] is e:
                        del self.table[dd.tuple]
                # flow_offload_del: the entry may be offloaded again
                e.ct.status = type(e.ct.status)(int(e.ct.status) & ~_IPS_OFFLOAD)
                removed += 1
                continue
            self._ct_day(e.ct, now)            # nf_flow_table_extend_ct_timeout
            keep.append(e)
        self.entries = keep
        return removed

    def teardown(self, e: FlowEntry, now: float, *, expired: bool = False) -> None:
        """flow_offload_teardown + flow_offload_fixup_ct: the conntrack entry gets its
        protocol timeout back (TCP: its state's; UDP: replied or not)."""
        e.teardown = True
        self.stats["teardown"] += 1
        ct = e.ct
        ctt = self.conntrack
        if ctt is None:
            return
        if ct.protonum == 6:
            timeout = ctt.tcp.timeouts.get(ct.proto.state, 0) if hasattr(ctt, "tcp") else 0
            for seen in ct.proto.seen:       # flow_offload_fixup_tcp: the window is stale
                seen.td_maxwin = 0
                seen.flags &= ~0x10          # IP_CT_TCP_FLAG_MAXACK_SET
        else:
            key = "udp_timeout_stream" if int(ct.status) & _IPS_SEEN_REPLY else "udp_timeout"
            timeout = ctt.timeouts.get(key, 30)
        if expired:
            timeout -= self.timeouts.get(ct.protonum, FLOW_TIMEOUT)
        timeout = max(0, timeout)
        if ct.expires - now > timeout:
            ct.expires = now + timeout
            ctt.touch(ct)

    def _gc_due(self, now: float) -> None:
        nxt = self._next_gc
        if nxt is None or now < nxt:
            return
        # the work runs every second: the last run before ``now`` sees what every
        # earlier one would (timeouts only move at packets)
        ticks = int((now - nxt) // _GC_INTERVAL)
        self.gc(nxt + ticks * _GC_INTERVAL)
        self._next_gc = nxt + (ticks + 1) * _GC_INTERVAL

    # ------------------------------------------------------------------ ingress
    def ingress(self, frame: Any, iif: str, now: float) -> list[tuple[str, bytes]] | None:
        """nf_flow_offload_ip(v6)_hook on an Ethernet frame arriving on ``iif``: the
        frames to transmit (the fast path took the packet) or None (classic path)."""
        self._gc_due(now)
        if iif not in self.devices or not self.table:
            return None
        buf = frame.buf if hasattr(frame, "buf") else frame
        if len(buf) < 14:
            return None
        et = buf[12] << 8 | buf[13]
        nh = 14
        if et == 0x0800:
            if len(buf) < nh + 20:
                return None
            if buf[nh] != 0x45:
                return None                      # options, or not IPv4 (nf_flow_tuple_ip)
            if (buf[nh + 6] << 8 | buf[nh + 7]) & 0x3FFF:
                return None                      # a fragment
            if buf[nh + 8] <= 1:
                return None
            proto = buf[nh + 9]
            src, dst = bytes(buf[nh + 12:nh + 16]), bytes(buf[nh + 16:nh + 20])
            th, l3, l3len = nh + 20, 4, buf[nh + 2] << 8 | buf[nh + 3]
        elif et == 0x86DD:
            if len(buf) < nh + 40:
                return None
            proto = buf[nh + 6]
            if buf[nh + 7] <= 1:
                return None
            src, dst = bytes(buf[nh + 8:nh + 24]), bytes(buf[nh + 24:nh + 40])
            th, l3, l3len = nh + 40, 6, 40 + (buf[nh + 4] << 8 | buf[nh + 5])
        else:
            return None
        if proto not in (6, 17) or len(buf) < th + (20 if proto == 6 else 8):
            return None
        sport, dport = struct.unpack_from("!HH", buf, th)
        hit = self.table.get(FlowTuple(l3, proto, src, dst, sport, dport, iif))
        if hit is None:
            return None
        e, d = hit
        if e.teardown or int(e.ct.status) & _IPS_DYING:
            return None
        dd = e.dirs[d]
        if l3len > dd.mtu:
            return None                          # nf_flow_exceeds_mtu: the classic path
        if proto == 6 and buf[th + 13] & (_TCP_FIN | _TCP_RST):
            self.teardown(e, now)                # nf_flow_state_check
            return None
        mac = dd.h_dest or self._neigh(dd.nexthop, dd.oif)
        if mac is None:
            return None                          # no neighbour: let the classic path resolve it
        # flow_offload_refresh: only when it moves by more than HZ
        new_to = now + self.timeouts[proto]
        if new_to - e.timeout > _GC_INTERVAL:
            e.timeout = new_to
        out = bytearray(buf[nh:nh + l3len])
        self._nat(out, l3, proto, th - nh, dd)
        if l3 == 4:
            # ip_decrease_ttl(): checksum += htons(0x0100), with end-around carry
            c = (out[10] << 8 | out[11]) + 0x0100
            c = (c + (c >= 0xFFFF)) & 0xFFFF
            out[10], out[11] = c >> 8, c & 0xFF
            out[8] -= 1
        else:
            out[7] -= 1
        e.packets[d] += 1
        self.stats["fast"] += 1
        return [(dd.oif, mac + dd.h_source + buf[12:14] + bytes(out))]

    @staticmethod
    def _nat(out: bytearray, l3: int, proto: int, th: int, dd: _Dir) -> None:
        """nf_flow_nat_ip / nf_flow_nat_ipv6: SNAT then DNAT, each address then port."""
        udp = proto == 17
        ck = th + (16 if proto == 6 else 6)
        if l3 == 4:
            sa, da = 12, 16
        else:
            sa, da = 8, 24
        alen = 4 if l3 == 4 else 16
        for at, new in ((sa, dd.new_src), (da, dd.new_dst)):
            old = bytes(out[at:at + alen])
            if old != new:
                if l3 == 4:
                    _csum_replace(out, 10, old, new, False)     # the IP header checksum
                _csum_replace(out, ck, old, new, udp)           # the pseudo-header
                out[at:at + alen] = new
        for at, new in ((th, dd.new_sport), (th + 2, dd.new_dport)):
            old = bytes(out[at:at + 2])
            nb = struct.pack("!H", new)
            if old != nb:
                _csum_replace(out, ck, old, nb, udp)
                out[at:at + 2] = nb
