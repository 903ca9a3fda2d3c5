"""The NAT core: bindings on conntrack entries, the unique-tuple search, the hooks.

Theory of operation
-------------------
NAT in Linux is a decision taken once per connection and applied to every packet of
it (net/netfilter/nf_nat_core.c):

1. At the NAT hooks -- prerouting and output at -100 (``dstnat``: DST manip), input
   and postrouting at 100 (``srcnat``: SRC manip) -- a packet whose entry is NEW (or
   RELATED, but not an ICMP error) and whose manip of this hook is not yet *initialized*
   (``IPS_{SRC,DST}_NAT_DONE``) runs the ``type nat`` chains of the hook
   (``nf_nat_inet_fn``).  A ``snat``/``dnat``/``masquerade``/``redirect`` statement calls
   :meth:`NatTable.setup_info` (``nf_nat_setup_info``) and ends the chain; when no chain
   bound the manip, a *null binding* is set (``nf_nat_alloc_null_binding``: map to the
   address the tuple already has -- which still moves the port if it clashes).
2. ``setup_info`` computes the tuple the packet should have (:meth:`get_unique_tuple`),
   and stores its inverse as the entry's reply tuple (``nf_conntrack_alter_reply``), so
   replies are recognised by the tracker.  SRC_NAT / DST_NAT record that the manip
   changed something.
3. Every packet of the entry, in both directions, is then rewritten at each NAT hook
   where the status says so (``nf_nat_packet``): the original direction gets the manip
   of the hook, the reply direction the inverse one -- so a reply is de-NATed in
   prerouting (SNAT undone) and in postrouting (DNAT undone).
4. ICMP errors RELATED to an entry never traverse the nat chains: their outer and
   quoted headers are translated from the entry (:func:`icmp_reply_translation`).

Unique tuple (``get_unique_tuple``), for an original tuple ``o`` and a range:

- SRC manip, not random: if ``o`` already fits the range and nobody else uses it, keep
  it (a port is only changed when it must be).  Otherwise reuse the mapping an earlier
  entry from the same source address and port got (``find_appropriate_src``, the
  *bysource* table), if it fits and is free.
- Pick the address: ``find_best_ips`` (jhash2 of the addresses: the kernel's exact
  choice, see :mod:`._range`).
- Keep the port if it is in range and free; else ``nf_nat_l4proto_unique_tuple``: a
  range (the given one, or 1-511 / 600-1023 / 1024-65535 by the old port), a start
  offset, then up to 128 consecutive candidates; if all are taken, a new offset and half
  as many, while at least 16.  In the last 32 attempts a TCP SYN may evict a TIME_WAIT
  entry whose sequence numbers it has passed (``nf_nat_used_tuple_harder``).

**Where we differ from the kernel**: the start offset is ``get_random_u16()`` in Linux
6.x (and the random/fully-random flags use the same).  Here it is a keyed BLAKE2b hash of
the tuple and the round under the simulation's seed, standing in for the kernel's
per-boot secret: runs are reproducible, and the port differs from the kernel's only
where the kernel's port is random -- with no clash the source port is kept and the
address choice is jhash2, both exact.

Masquerade (``nf_nat_masquerade_ipv4/6``) is SNAT to the address the output interface
would use as source towards the next hop; the entry remembers the interface, and
:meth:`NatTable.on_address_change` kills masqueraded entries whose address the interface
no longer has (``masq_inet_event``), :meth:`NatTable.on_device_down` all of them.
Redirect (``nf_nat_redirect_ipv4/6``) is DNAT to 127.0.0.1 / ::1 in output, else to the
first address of the input interface.
"""

from __future__ import annotations

import hashlib
import ipaddress
import weakref
from dataclasses import replace
from typing import Any, Callable

from pkttables.conntrack import CtInfo, Status, Tuple, invert
from pkttables.conntrack._enums import TcpState
from pkttables.nat._manip import (IPPROTO_ICMP, IPPROTO_ICMPV6, NAT_MASK, icmp_reply_translation,
                                  ipv6_skip_exthdr, l3_manip)
from pkttables.nat._range import (RANDOM_ALL, ManipType, NatFlag, NatRange, addr_in_range,
                                  find_best_ips, hook_manip, netmap_address)

__all__ = ["NatTable", "NatInfo", "NF_NAT_MAX_ATTEMPTS", "NAT_PRIORITY", "chain_runner"]

NF_DROP, NF_ACCEPT = 0, 1
NF_NAT_MAX_ATTEMPTS = 128
NF_NAT_HARDER_THRESH = NF_NAT_MAX_ATTEMPTS // 4
#: NF_IP_PRI_NAT_DST / NF_IP_PRI_NAT_SRC, per hook
NAT_PRIORITY = {"prerouting": -100, "output": -100, "input": 100, "postrouting": 100}
NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6 = 1, 2, 10
_PORT_PROTOS = frozenset((6, 17, 136, 132, 33))
# nf_conntrack_l4proto.allow_clash (UDP and UDP-Lite)
_ALLOW_CLASH = frozenset((17, 136))
# nf_nat_used_tuple_new's uses_nat before 2025: IPS_NAT_MASK | IPS_SEQ_ADJUST_BIT (6)
_USES_NAT = int(NAT_MASK) | 6
_LOOP4, _LOOP6 = bytes([127, 0, 0, 1]), bytes(15) + b"\x01"


class NatInfo:
    """``struct nf_conn_nat`` kept in ``Conn.nat``: the masquerading interface."""

    __slots__ = ("masq_ifname", "masq_index")

    def __init__(self) -> None:
        self.masq_ifname: str | None = None
        self.masq_index = 0

    def __repr__(self) -> str:
        return f"NatInfo(masq={self.masq_ifname!r})"


def _initialized(ct, manip: int) -> bool:
    """nf_nat_initialized()."""
    return bool(ct.status & (Status.SRC_NAT_DONE if manip == ManipType.SRC else Status.DST_NAT_DONE))


class NatTable:
    """NAT for one network namespace, on top of its :class:`ConntrackTable`.

    ``host`` gives interfaces and routes (masquerade, redirect); ``seed`` keys the port
    search's start offsets."""

    def __init__(self, conntrack, host: Any = None, *, seed: int = 0):
        self.conntrack = conntrack
        self.host = host
        self.seed = seed
        self._key = seed.to_bytes(8, "big", signed=True)
        self._bysource: dict[tuple, list[weakref.ref]] = {}
        self.now = 0.0
        self.last_reason = ""
        self.stats = {"bindings": 0, "null_bindings": 0, "port_searches": 0, "evicted": 0,
                      "icmp_translated": 0, "masq_killed": 0, "dropped": 0}
        # nf_nat_ftp: the FTP helper hands NATed control connections to this table
        from pkttables.nat._ftp import bind
        bind(conntrack, self)

    # ------------------------------------------------------------------ clashes
    def _used(self, t: Tuple, ct) -> bool:
        """nf_nat_used_tuple(): would the reply of ``t`` be another entry's tuple?"""
        reply = invert(t)
        return reply is not None and self.conntrack.tuple_taken(reply, ct, ct.zone)

    def _used_new(self, t: Tuple, ct) -> bool:
        """nf_nat_used_tuple_new(): as _used, but a UDP entry that would only clash with
        its own exact reverse (two NEW packets crossing) is not a clash.

        The clashing entry is looked up by ``t`` and, when no entry has ``t``, by its
        reverse (the 2025 change "also check reverse tuple to obtain clashing entry",
        in 6.18): an entry whose *original* tuple is ``t``'s reverse -- a reply sent to
        a masqueraded client's inside address makes a new entry whose null binding
        clashes with the client's own, which is subject to NAT -- is taken, and the
        SRC null binding moves the port (1-511 for port 53:
        tests/kernel/test_diff_needsct_family.py, ip6-masquerade-reply-to-inside).
        An entry found either way that is not NATed and is the new entry's exact
        reverse (tests/kernel/test_ctnat_zonedir.py, snat-inrange-wanreply-udp: an
        entry from wan whose reply node is in zone 1, found by its original tuple) is
        no clash: the tuple is kept, and confirm then finds the clash and drops the
        packet.  Not found at all: "clashing entry went away", free as well.  ``uses_nat`` there is ``IPS_NAT_MASK | IPS_SEQ_ADJUST_BIT``: the
        bit *number* 6, i.e. SEEN_REPLY|ASSURED."""
        if not self._used(t, ct):
            return False
        if t.protonum not in _ALLOW_CLASH or ct.status & _USES_NAT:
            return True
        # nf_conntrack_find_get(net, nf_ct_zone(ignored_ct), ...): the entry's zone struct
        hit = self.conntrack.lookup(t, ct)
        if hit is not None:
            other, d = hit
            if d != 1:          # an original-direction hit: another CPU's new entry
                return True
        else:
            # found by its original tuple: the direction says nothing here
            rev = invert(t)
            hit = self.conntrack.lookup(rev, ct) if rev is not None else None
            if hit is None:
                return False
            other = hit[0]
        # a clashing entry subject to NAT: retry with a new tuple
        if other.status & _USES_NAT:
            return True
        # two NEW packets crossing (each the other's reply) are no clash
        return not (other.tuples[0] == ct.tuples[1] and other.tuples[1] == ct.tuples[0])

    def _used_harder(self, t: Tuple, ct, attempts_left: int) -> bool:
        """nf_nat_used_tuple_harder(): in the last attempts a TCP SYN may take the port
        of a SNATed entry in TIME_WAIT (or later) once its own sequence is past it."""
        reply = invert(t)
        proto = getattr(ct, "proto", None)
        if (attempts_left > NF_NAT_HARDER_THRESH or t.protonum != 6
                or getattr(proto, "state", None) != TcpState.SYN_SENT):
            return self.conntrack.tuple_taken(reply, ct, ct.zone)
        hit = self.conntrack.lookup(reply, ct)     # nf_ct_zone(ct): directional zones
        if hit is None:
            return False
        old, d = hit
        if d == 0 or old is ct:
            return True
        st = getattr(old.proto, "state", TcpState.NONE)
        if st < TcpState.TIME_WAIT or old.status & (Status.FIXED_TIMEOUT | Status.DYING) \
                or not old.status & Status.SRC_NAT:
            return True
        delta = (proto.seen[0].td_end - old.proto.seen[0].td_end) & 0xFFFFFFFF
        if delta == 0 or delta >= 0x80000000:      # (s32)(new - old) > 0
            return True
        if self.conntrack.kill(old, self.now):
            self.stats["evicted"] += 1
            return bool(old.status & (Status.OFFLOAD | Status.HW_OFFLOAD))
        return True

    # ------------------------------------------------------------------ ranges
    @staticmethod
    def _l4_in_range(t: Tuple, manip: int, rng: NatRange) -> bool:
        """l4proto_in_range()."""
        if t.protonum in (IPPROTO_ICMP, IPPROTO_ICMPV6):
            return rng.min_proto <= t.sport <= rng.max_proto
        if t.protonum in _PORT_PROTOS or t.protonum == 47:
            port = t.sport if manip == ManipType.SRC else t.dport
            return rng.min_proto <= port <= rng.max_proto
        return True

    def _in_range(self, t: Tuple, rng: NatRange) -> bool:
        """nf_in_range(): would SNAT to ``t``'s source satisfy the range?"""
        if rng.flags & NatFlag.MAP_IPS and not addr_in_range(t.src, rng):
            return False
        if not rng.flags & NatFlag.PROTO_SPECIFIED:
            return True
        return self._l4_in_range(t, ManipType.SRC, rng)

    # ------------------------------------------------------------------ bysource
    @staticmethod
    def _src_key(t: Tuple, ct) -> tuple:
        """hash_by_src(): the zone id is part of the hash only for a zone of both
        directions ("Zone ID can be used provided its valid for both directions")."""
        zone = ct.zone if ct.zone_dir == 3 else 0
        return (zone, t.l3num, t.protonum, t.src, t.sport)

    def _find_appropriate_src(self, t: Tuple, rng: NatRange, ct) -> Tuple | None:
        """find_appropriate_src(): the newest entry with the same source address and
        port (and protocol, and original-direction zone id: nf_ct_zone_equal(ct, zone,
        IP_CT_DIR_ORIGINAL)) lends its mapping, if that fits the range."""
        key = self._src_key(t, ct)
        zo = ct.zone_id(0)
        refs = self._bysource.get(key)
        if not refs:
            return None
        alive = []
        found = None
        for r in refs:
            other = r()
            if other is None or other.status & Status.DYING:
                continue
            alive.append(r)
            if found is None and other.zone_id(0) == zo:
                inv = invert(other.tuples[1])
                if inv is None:
                    continue
                cand = Tuple(t.l3num, inv.src, t.dst, t.protonum, inv.sport, t.dport)
                if self._in_range(cand, rng):
                    found = cand
        self._bysource[key] = alive
        return found

    def rebind(self, ct) -> bool:
        """Put an entry that already carries a source binding (``SRC_NAT_DONE``, as
        nf_nat_setup_info left it) back in the by-source index, at the head of its
        chain as nf_nat_setup_info's hlist_add_head does: what a table loaded from a
        snapshot needs so that find_appropriate_src() lends its mapping to a new
        connection from the same source.  Rebinding in insertion order gives the
        newest binding first, as the kernel's chain.  An entry without a source
        binding, or one already in the index, is left alone.  Returns whether the
        entry was added."""
        if not ct.status & Status.SRC_NAT_DONE or ct.status & Status.DYING:
            return False
        key = self._src_key(ct.tuples[0], ct)
        refs = self._bysource.setdefault(key, [])
        if any(r() is ct for r in refs):
            return False
        refs.insert(0, weakref.ref(ct))
        return True

    # ------------------------------------------------------------------ the search
    def _rand16(self, t: Tuple, round_: int) -> int:
        """Stands in for get_random_u16(): a keyed hash of the tuple (see the module doc)."""
        h = hashlib.blake2b(digest_size=2, key=self._key)
        h.update(b"%d %d %d %d %d %d " % (t.l3num, t.protonum, t.sport, t.dport, round_, 0))
        h.update(t.src + t.dst)
        return int.from_bytes(h.digest(), "big")

    def _l4_unique(self, t: Tuple, rng: NatRange, manip: int, ct) -> Tuple:
        """nf_nat_l4proto_unique_tuple()."""
        self.stats["port_searches"] += 1
        proto = t.protonum
        if proto in (IPPROTO_ICMP, IPPROTO_ICMPV6):
            field = "sport"       # the echo id is the same in both directions
            if not rng.flags & NatFlag.PROTO_SPECIFIED:
                lo, size = 0, 65536
            else:
                lo, size = rng.min_proto, rng.max_proto - rng.min_proto + 1
        elif proto in _PORT_PROTOS:
            field = "sport" if manip == ManipType.SRC else "dport"
            if not rng.flags & NatFlag.PROTO_SPECIFIED:
                if manip == ManipType.DST:
                    return t      # a destination port is never changed unasked
                port = getattr(t, field)
                if port < 1024:
                    # "Loose convention: >> 512 is credential passing"
                    lo, size = (1, 511) if port < 512 else (600, 424)
                else:
                    lo, size = 1024, 64512
            else:
                lo, hi = sorted((rng.min_proto, rng.max_proto))
                size = hi - lo + 1
        else:
            return t              # GRE needs a PPTP master; other protocols have no ports
        if rng.flags & NatFlag.PROTO_OFFSET:
            off = (getattr(t, field) - rng.base_proto) & 0xFFFF
        elif rng.flags & RANDOM_ALL or manip != ManipType.DST:
            off = self._rand16(t, 0)
        else:
            off = 0
        attempts = min(size, NF_NAT_MAX_ATTEMPTS)
        round_ = 0
        cand = t
        while True:
            for i in range(attempts):
                cand = replace(t, **{field: lo + off % size})
                if not self._used_harder(cand, ct, attempts - i):
                    return cand
                off = (off + 1) & 0xFFFF          # a u16 in the kernel: it wraps
            if attempts >= size or attempts < 16:
                return cand                       # give up: confirm will find the clash
            attempts //= 2
            round_ += 1
            off = self._rand16(t, round_)

    def get_unique_tuple(self, orig: Tuple, rng: NatRange, ct, manip: int) -> Tuple:
        """get_unique_tuple(): the tuple the connection will have after ``manip``."""
        zone = ct.zone
        if manip == ManipType.SRC and not rng.flags & RANDOM_ALL:
            if self._in_range(orig, rng):
                if not self._used_new(orig, ct):
                    return orig
            else:
                found = self._find_appropriate_src(orig, rng, ct)
                if found is not None and not self._used(found, ct):
                    return found
        t = orig
        if rng.flags & NatFlag.MAP_IPS:
            addr = find_best_ips(orig.src, orig.dst, rng, zone)
            t = replace(t, src=addr) if manip == ManipType.SRC else replace(t, dst=addr)
        if not rng.flags & RANDOM_ALL:
            if rng.flags & NatFlag.PROTO_SPECIFIED:
                if (not rng.flags & NatFlag.PROTO_OFFSET and self._l4_in_range(t, manip, rng)
                        and (rng.min_proto == rng.max_proto or not self._used(t, ct))):
                    return t
            elif not self._used(t, ct):
                return t
        return self._l4_unique(t, rng, manip, ct)

    # ------------------------------------------------------------------ bindings
    def setup_info(self, ct, rng: NatRange, manip: int) -> int:
        """nf_nat_setup_info(): bind ``manip`` of an unconfirmed entry to ``rng``.
        Returns NF_ACCEPT (1) or NF_DROP (0)."""
        if ct is None or ct.confirmed:
            return NF_ACCEPT
        if _initialized(ct, manip):
            self.last_reason = "nf_nat_setup_info: manip already initialized"
            return NF_DROP
        curr = invert(ct.tuples[1])
        if curr is None:
            return NF_DROP
        new = self.get_unique_tuple(curr, rng, ct, manip)
        if new != curr:
            self.conntrack.alter_reply(ct, invert(new))
            ct.status |= Status.SRC_NAT if manip == ManipType.SRC else Status.DST_NAT
        if manip == ManipType.SRC:
            key = self._src_key(ct.tuples[0], ct)
            self._bysource.setdefault(key, []).insert(0, weakref.ref(ct))   # hlist_add_head
        ct.status |= Status.DST_NAT_DONE if manip == ManipType.DST else Status.SRC_NAT_DONE
        self.stats["bindings"] += 1
        return NF_ACCEPT

    def alloc_null_binding(self, ct, manip: int) -> int:
        """__nf_nat_alloc_null_binding(): map to the address the entry already has,
        ports left to the protocol (a clash still moves the port)."""
        r = ct.tuples[1]
        addr = r.dst if manip == ManipType.SRC else r.src
        self.stats["null_bindings"] += 1
        return self.setup_info(ct, NatRange(NatFlag.MAP_IPS, addr, addr), manip)

    def _info(self, ct) -> NatInfo | None:
        """nf_ct_nat_ext_add(): the extension exists only if added before confirm."""
        if not isinstance(ct.nat, NatInfo):
            if ct.confirmed:
                return None
            ct.nat = NatInfo()
        return ct.nat

    # ------------------------------------------------------------------ targets
    def masquerade(self, pkt, rng: NatRange, oif: str | None) -> int:
        """nf_nat_masquerade_ipv4/6: SNAT to the source the output interface would pick."""
        ct = pkt.ct
        if ct is None or self.host is None or oif is None:
            return NF_DROP
        o = ct.tuples[0]
        nh = pkt.nh_off
        if o.l3num == NFPROTO_IPV4:
            if o.src == bytes(4):
                return NF_ACCEPT      # 0.0.0.0: a local packet not meant to be masqueraded
            daddr = bytes(pkt.buf[nh + 16:nh + 20])
            try:
                d = self.host.route_output(ipaddress.IPv4Address(daddr), oif)
                gw = d.gateway if d.gateway is not None else ipaddress.IPv4Address(daddr)
            except Exception:       # no route through oif: the kernel's rt_nexthop is daddr
                gw = ipaddress.IPv4Address(daddr)
            src = self.host.routing.select_source_on(oif, gw, 0)
        else:
            daddr = bytes(pkt.buf[nh + 24:nh + 40])
            try:
                src = self.host.select_source(ipaddress.IPv6Address(daddr), oif)
            except Exception:
                src = None
        if src is None:
            self.last_reason = f"{oif} ate my IP address"
            return NF_DROP
        info = self._info(ct)
        if info is not None:
            info.masq_ifname = oif
            dev = self.host.interfaces.get(oif)
            info.masq_index = getattr(dev, "ifindex", 0)
        a = src.packed
        return self.setup_info(ct, replace(rng, flags=rng.flags | NatFlag.MAP_IPS, min_addr=a,
                                           max_addr=a), ManipType.SRC)

    def redirect(self, pkt, rng: NatRange, hook: str, iif: str | None) -> int:
        """nf_nat_redirect_ipv4/6: DNAT to the host itself."""
        ct = pkt.ct
        if ct is None:
            return NF_DROP
        v4 = ct.tuples[0].l3num == NFPROTO_IPV4
        if hook == "output":
            new = _LOOP4 if v4 else _LOOP6
        else:
            dev = self.host.interfaces.get(iif or "") if self.host is not None else None
            new = None
            if dev is not None and v4:
                addrs = dev.addrs(4)
                new = addrs[0].ip.packed if addrs else None      # ifa_list's first
            elif dev is not None:
                # the first address of the destination's scope; a device lists its
                # addresses newest first within one scope (ipv6_link_dev_addr)
                dst = ipaddress.IPv6Address(bytes(pkt.buf[pkt.nh_off + 24:pkt.nh_off + 40]))
                for a in reversed(dev.addrs(6)):
                    if _scope6(a.ip) == _scope6(dst):
                        new = a.ip.packed
                        break
            if new is None:
                self.last_reason = "redirect: no address on the input interface"
                return NF_DROP
        return self.setup_info(ct, replace(rng, flags=rng.flags | NatFlag.MAP_IPS, min_addr=new,
                                           max_addr=new), ManipType.DST)

    # ------------------------------------------------------------------ per packet
    def nat_packet(self, pkt, ct, ctinfo: int, hook: str) -> int:
        """nf_nat_packet(): rewrite ``pkt`` as the entry's bindings say for this hook."""
        manip = hook_manip(hook)
        dir_ = 1 if ctinfo >= CtInfo.IS_REPLY else 0
        statusbit = Status.SRC_NAT if manip == ManipType.SRC else Status.DST_NAT
        if dir_:
            statusbit ^= NAT_MASK
        if not ct.status & statusbit:
            return NF_ACCEPT
        target = invert(ct.tuples[1 - dir_])
        if target is None or not l3_manip(pkt.buf, pkt.nh_off, pkt.l3_end, target, manip):
            return NF_DROP
        return NF_ACCEPT

    @staticmethod
    def _is_icmp(pkt) -> bool:
        buf, nh = pkt.buf, pkt.nh_off
        if nh < 0 or nh >= len(buf):
            return False
        if buf[nh] >> 4 == 4:
            return nh + 20 <= len(buf) and buf[nh + 9] == IPPROTO_ICMP
        if nh + 40 > len(buf):
            return False
        off, proto, _f = ipv6_skip_exthdr(buf, nh + 40, buf[nh + 6], pkt.l3_end)
        return off >= 0 and proto == IPPROTO_ICMPV6

    def hook(self, pkt, hook: str, *, oif: str | None = None, now: float | None = None,
             run_chains: Callable[..., Any] | None = None, state: Any = None) -> int:
        """nf_nat_ipv4_fn / nf_nat_ipv6_fn + nf_nat_inet_fn at one NAT hook.
        ``run_chains(pkt, state)`` runs the nat chains (returns a verdict)."""
        if now is not None:
            self.now = now
        ct, ctinfo = pkt.ct, pkt.ctinfo
        if ct is None or ctinfo is None or ctinfo == CtInfo.UNTRACKED or ct.status & Status.TEMPLATE:
            return NF_ACCEPT
        manip = hook_manip(hook)
        if ctinfo in (CtInfo.RELATED, CtInfo.RELATED_REPLY) and self._is_icmp(pkt):
            # ICMP errors take their translation from the entry, never from the chains
            if not icmp_reply_translation(pkt.buf, pkt.nh_off, pkt.l3_end, ct, ctinfo, manip):
                self.last_reason = "ICMP error translation failed"
                self.stats["dropped"] += 1
                return NF_DROP
            self.stats["icmp_translated"] += 1
            return NF_ACCEPT
        if ctinfo in (CtInfo.RELATED, CtInfo.RELATED_REPLY, CtInfo.NEW):
            if not _initialized(ct, manip):
                if run_chains is not None:
                    v = _verdict_code(run_chains(pkt, state))
                    if v != NF_ACCEPT:
                        return v
                if not _initialized(ct, manip):
                    v = self.alloc_null_binding(ct, manip)
                    if v != NF_ACCEPT:
                        self.stats["dropped"] += 1
                        return v
            elif self._oif_changed(hook, ctinfo, ct, oif):
                return self._oif_kill(ct)
        elif self._oif_changed(hook, ctinfo, ct, oif):
            return self._oif_kill(ct)
        v = self.nat_packet(pkt, ct, ctinfo, hook)
        if v != NF_ACCEPT:
            self.last_reason = "nf_nat_manip_pkt failed (header not writable)"
            self.stats["dropped"] += 1
        return v

    @staticmethod
    def _oif_changed(hook: str, ctinfo: int, ct, oif: str | None) -> bool:
        """nf_nat_oif_changed(): a masqueraded flow now leaving by another interface."""
        nat = ct.nat
        return (isinstance(nat, NatInfo) and nat.masq_ifname is not None and hook == "postrouting"
                and ctinfo < CtInfo.IS_REPLY and oif is not None and nat.masq_ifname != oif)

    def _oif_kill(self, ct) -> int:
        self.conntrack.kill(ct, self.now)
        self.last_reason = "masqueraded flow changed output interface"
        self.stats["dropped"] += 1
        return NF_DROP

    # ------------------------------------------------------------------ address events
    def on_address_change(self, ifname: str, now: float | None = None) -> int:
        """masq_inet_event / masq_inet6_event: the addresses of ``ifname`` changed (read
        from the host): kill masqueraded entries of that interface whose address it no
        longer has.  Entries whose address came back are kept.  Returns how many died."""
        if now is not None:
            self.now = now
        dev = self.host.interfaces.get(ifname) if self.host is not None else None
        have = {a.ip.packed for a in dev.addresses} if dev is not None else set()
        return self._kill_masq(ifname, lambda ct: ct.tuples[1].dst not in have)

    def on_device_down(self, ifname: str, now: float | None = None) -> int:
        """masq_device_event(NETDEV_DOWN): every entry masqueraded out of ``ifname`` dies."""
        if now is not None:
            self.now = now
        return self._kill_masq(ifname, lambda ct: True)

    def _kill_masq(self, ifname: str, pred) -> int:
        n = 0
        for ct in self.conntrack.entries():
            nat = ct.nat
            if isinstance(nat, NatInfo) and nat.masq_ifname == ifname and pred(ct):
                n += bool(self.conntrack.kill(ct, self.now))
        self.stats["masq_killed"] += n
        return n

    # ------------------------------------------------------------------ the VM's hooks
    def range_from_regs(self, instr, regs, pkt, *, addr_len: int | None = None) -> NatRange:
        """nft_nat_setup_addr / _proto / _netmap: the range a nat/masq/redir instruction's
        registers name (ports are the first 2 bytes of a register, network order)."""
        flags = NatFlag(int(instr.flags or 0))
        lo = hi = None
        amin = getattr(instr, "sreg_addr_min", None)
        if amin is not None:
            n = addr_len or (4 if instr.family == NFPROTO_IPV4 else 16)
            lo = regs.load(amin, n)
            amax = instr.sreg_addr_max if instr.sreg_addr_max is not None else amin
            hi = regs.load(amax, n)
            flags |= NatFlag.MAP_IPS
        pmin, pmax = 0, 0
        if instr.sreg_proto_min is not None:
            pmin = int.from_bytes(regs.load(instr.sreg_proto_min, 2), "big")
            smax = instr.sreg_proto_max if instr.sreg_proto_max is not None else instr.sreg_proto_min
            pmax = int.from_bytes(regs.load(smax, 2), "big")
            flags |= NatFlag.PROTO_SPECIFIED
        rng = NatRange(flags, lo, hi, pmin, pmax)
        if lo is not None and flags & NatFlag.NETMAP:
            nh = pkt.nh_off
            v4 = len(lo) == 4
            if instr.type == 0:   # SNAT: the source address
                addr = bytes(pkt.buf[nh + 12:nh + 16] if v4 else pkt.buf[nh + 8:nh + 24])
            else:
                addr = bytes(pkt.buf[nh + 16:nh + 20] if v4 else pkt.buf[nh + 24:nh + 40])
            new = netmap_address(addr, rng)
            rng = replace(rng, min_addr=new, max_addr=new)
        return rng

    def attach(self, ctx) -> None:
        """Give an :class:`~pkttables.vm.context.EvalContext` the ``nat``, ``masq`` and
        ``redir`` hooks (nft_nat_eval, nft_masq_eval, nft_redir_eval)."""
        from pkttables.vm.regs import Verdict as V

        def pf(pkt) -> int:
            return NFPROTO_IPV6 if pkt.buf[pkt.nh_off] >> 4 == 6 else NFPROTO_IPV4

        def nat(instr, regs, pkt):
            # nft_nat_inet_eval: a rule for the other family does nothing
            if instr.family not in (pf(pkt), NFPROTO_INET):
                return
            self.now = getattr(ctx, "now", self.now)
            rng = self.range_from_regs(instr, regs, pkt)
            regs.verdict = V(self.setup_info(pkt.ct, rng, int(instr.type)))

        def masq(instr, regs, pkt):
            self.now = getattr(ctx, "now", self.now)
            rng = self.range_from_regs(instr, regs, pkt)
            regs.verdict = V(self.masquerade(pkt, rng, pkt.oif))

        def redir(instr, regs, pkt):
            self.now = getattr(ctx, "now", self.now)
            rng = self.range_from_regs(instr, regs, pkt)
            regs.verdict = V(self.redirect(pkt, rng, getattr(ctx, "hook", "prerouting"), pkt.iif))

        ctx.nat, ctx.masq, ctx.redir = nat, masq, redir

    # ------------------------------------------------------------------ engine glue
    def register(self, hooks, run_nat_chains: Callable[..., Any] | None = None,
                 families=("ip", "ip6")) -> None:
        """Plug into a :class:`pkttables.stack.hooks.HookTable` at the kernel's NAT
        priorities (nf_nat_ipv4_ops / nf_nat_ipv6_ops).  ``run_nat_chains(pkt, state)``
        runs the ``type nat`` chains of ``state.family``/``state.hook`` and returns a
        verdict; :func:`chain_runner` builds one from a vm ChainRuntime."""
        from pkttables.stack.hooks import HookVerdict, Verdict

        def cb(pkt, st):
            v = self.hook(pkt, st.hook, oif=st.oif, now=st.now, run_chains=run_nat_chains, state=st)
            if v == NF_ACCEPT:
                return HookVerdict(Verdict.ACCEPT)
            if v == NF_DROP:
                return HookVerdict(Verdict.DROP, reason=self.last_reason or "nat")
            return HookVerdict(Verdict(v & 0xFF))

        for fam in families:
            for hook, prio in NAT_PRIORITY.items():
                hooks.register(fam, hook, prio, cb, name="nat")


def _verdict_code(v: Any) -> int:
    code = getattr(v, "verdict", v)
    return int(code)


def _scope6(a: ipaddress.IPv6Address) -> int:
    if a.is_loopback:
        return 0x10
    if a.is_link_local:
        return 0x20
    if a.is_site_local:
        return 0x50
    return 0


def chain_runner(runtime, nat: NatTable) -> Callable[[Any, Any], int]:
    """A ``run_nat_chains`` over a :class:`pkttables.vm.stateful_impl.ChainRuntime`:
    the ``type nat`` base chains of the hook in priority order, stopping after the chain
    that bound the manip (nf_nat_inet_fn's lookup entries)."""
    nat.attach(runtime.ctx)

    def run(pkt, state) -> int:
        manip = hook_manip(state.hook)
        chains = runtime.loaded.base_chains(state.family, state.hook, types=("nat",))
        before = len(runtime.ctx.events)
        try:
            for ch in chains:
                res = runtime.run_chain(ch, pkt, family=state.family, hook=state.hook, now=state.now)
                v = res.verdict & 0xFF if res.verdict >= 0 else NF_ACCEPT
                if v != NF_ACCEPT:
                    return v
                if pkt.ct is not None and _initialized(pkt.ct, manip):
                    break
            return NF_ACCEPT
        finally:
            if state is not None and hasattr(state, "events"):
                state.events.extend(runtime.ctx.events[before:])

    return run
