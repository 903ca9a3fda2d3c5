"""Trace events (NFT_TRACETYPE_*) and their ``nft monitor trace`` lines.

The ``packet:`` line is nft's decoding of the headers the kernel copies into the
first event of a base chain run: 20 bytes of link layer, 40 of network header, 20 of
transport header (NFT_TRACETYPE_*_HSIZE).  nft prints the fields of each header it
knows, without the ones implied by the next header in ip/ip6 tables (``ip protocol``)
and without version, header length, checksum, fragment offset, TCP sequence numbers,
data offset and urgent pointer; transport bytes past the header print as
``@th,OFFSET,BITS 0x...``.  A link layer that is not Ethernet (loopback) prints raw
(``@ll,0,112 0x800``).
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field
from typing import Any

from pkttables.types._symbols import SYMBOLS
from pkttables.vm.chain import LoadedChain, LoadedRule, Tracer
from pkttables.vm.regs import Verdict

__all__ = ["TraceEvent", "TraceRecorder", "packet_text"]

_LL_HSIZE, _NH_HSIZE, _TH_HSIZE = 20, 40, 20

def _table(name: str) -> dict[int, str]:
    """value -> nft's word (the first symbol of the datatype for that value)."""
    out: dict[int, str] = {}
    for word, value in SYMBOLS[name]:
        out.setdefault(value, word)
    return out


_DSCP, _ECN, _PROTO = _table("dscp"), _table("ecn"), _table("inet_proto")
_ICMP_TYPES, _ICMP_CODES = _table("icmp_type"), _table("icmp_code")
_ICMP6_TYPES, _ICMP6_CODES = _table("icmpv6_type"), _table("icmpv6_code")
_TCP_FLAGS, _ARP_OPS, _ETHER_TYPES = _table("tcp_flag"), _table("arp_op"), _table("ether_type")
_VERDICT_WORDS = {Verdict.ACCEPT: "accept", Verdict.DROP: "drop", Verdict.CONTINUE: "continue",
                  Verdict.RETURN: "return", Verdict.JUMP: "jump", Verdict.GOTO: "goto",
                  Verdict.STOLEN: "stolen", Verdict.QUEUE: "queue"}
# Transport headers nft decodes, with the bytes its printed fields cover (what follows
# is printed raw as @th,OFFSET,BITS): proto_tcp/udp/udplite/sctp/icmp/icmp6 in nft.
_TH_DECODED = {6: 20, 17: 8, 136: 8, 132: 12, 1: 8, 58: 8}
_ETH_P_8021Q, _ETH_P_8021AD, _ETH_P_IP, _ETH_P_ARP, _ETH_P_IPV6 = 0x8100, 0x88A8, 0x0800, 0x0806, 0x86DD


def _hexnum(b: bytes) -> str:
    return hex(int.from_bytes(b, "big"))


def _u(b: bytes) -> int:
    return int.from_bytes(b, "big")


def _tcp_flags(f: int) -> str:
    # nft prints one flag by name and any other combination as a number (tcp_flag_type
    # is a bitmask type; the trace prints the value with ``==``): syn -> "syn",
    # syn|ack -> "0x12", none -> "0x0"  (checked on Linux 6.18 + nft 1.0.6).
    if f and f & (f - 1) == 0:
        return _TCP_FLAGS.get(f, hex(f))
    return hex(f)


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _link_fields(ll: bytes, out: list[str]) -> int:
    """The Ethernet header (and one VLAN tag) as nft prints it; returns the ethertype
    of the network header that follows."""
    out.append("ether saddr " + _mac(ll[6:12]))
    out.append("ether daddr " + _mac(ll[0:6]))
    et = _u(ll[12:14])
    if et in (_ETH_P_8021Q, _ETH_P_8021AD) and len(ll) >= 18:
        tci = _u(ll[14:16])
        out += [f"vlan pcp {tci >> 13}", f"vlan dei {(tci >> 12) & 1}", f"vlan id {tci & 0xFFF}"]
        et = _u(ll[16:18])
        if et not in (_ETH_P_IP, _ETH_P_IPV6, _ETH_P_ARP):
            out.append(f"vlan type {_ETHER_TYPES.get(et, f'0x{et:04x}')}")
    elif et not in (_ETH_P_IP, _ETH_P_IPV6, _ETH_P_ARP):
        out.append(f"ether type {_ETHER_TYPES.get(et, f'0x{et:04x}')}")
    return et


def _transport_fields(proto: int, seg: bytes, out: list[str]) -> None:
    hlen = _TH_DECODED.get(proto, 0)
    if len(seg) < hlen:
        hlen = 0
    if hlen and proto == 6:
        out += [f"tcp sport {_u(seg[0:2])}", f"tcp dport {_u(seg[2:4])}",
                f"tcp flags == {_tcp_flags(seg[13])}", f"tcp window {_u(seg[14:16])}"]
    elif hlen and proto == 17:
        out += [f"udp sport {_u(seg[0:2])}", f"udp dport {_u(seg[2:4])}", f"udp length {_u(seg[4:6])}"]
    elif hlen and proto == 136:
        out += [f"udplite sport {_u(seg[0:2])}", f"udplite dport {_u(seg[2:4])}",
                f"udplite csumcov {_u(seg[4:6])}", f"udplite checksum {_u(seg[6:8])}"]
    elif hlen and proto == 132:
        out += [f"sctp sport {_u(seg[0:2])}", f"sctp dport {_u(seg[2:4])}", f"sctp vtag {_u(seg[4:8])}"]
    elif hlen and proto == 1:
        # nft's icmp template lists id and sequence first at offset 32: printed for
        # every type (a redirect's gateway prints as id/sequence too).
        out += [f"icmp type {_ICMP_TYPES.get(seg[0], seg[0])}", f"icmp code {_ICMP_CODES.get(seg[1], seg[1])}",
                f"icmp id {_u(seg[4:6])}", f"icmp sequence {_u(seg[6:8])}"]
    elif hlen and proto == 58:
        # likewise icmpv6's first 32-bit field at offset 32 is parameter-problem
        out += [f"icmpv6 type {_ICMP6_TYPES.get(seg[0], seg[0])}",
                f"icmpv6 code {_ICMP6_CODES.get(seg[1], seg[1])}",
                f"icmpv6 parameter-problem {_u(seg[4:8])}"]
    rest = seg[hlen:]
    if rest:
        out.append(f"@th,{hlen * 8},{len(rest) * 8} {_hexnum(rest)}")


def packet_text(pkt, *, hook: str, table_family: str) -> str:
    """The headers part of the ``packet:`` line (after ``packet: ``).

    What nft prints (checked on Linux 6.18 + nft 1.0.6, tests/kernel/test_trace_kernel.py):
    ``iif``/``oif`` when the hook has that device (a forwarded packet keeps its input
    device at postrouting); the Ethernet header while the skb still has one (received
    packets, also at forward and postrouting), raw ``@ll`` for other links (loopback);
    the network header without version, header length, checksum and fragment fields;
    ``ip protocol``/``ip6 nexthdr`` only where the table family does not imply it by
    the transport header that follows (ip and ip6 tables); IPv4 options as
    ``@nh,160,BITS``; the transport header chosen by the network header's protocol
    field (an IPv6 extension header leaves it raw), the bytes after the printed
    fields as ``@th,OFFSET,BITS``.
    """
    buf = pkt.buf
    out: list[str] = []
    if pkt.iif:
        out.append(f'iif "{pkt.iif}"')
    if pkt.oif:
        out.append(f'oif "{pkt.oif}"')
    nh = pkt.nh_off
    et = None
    if pkt.mac_off >= 0 and pkt.mac_len > 0:
        m = pkt.mac_off
        ll = bytes(buf[m:m + min(pkt.mac_len, _LL_HSIZE)])
        if pkt.link == 1 and len(ll) >= 14 and any(ll[:12]):   # Ethernet with addresses
            et = _link_fields(ll, out)
        else:
            out.append(f"@ll,0,{len(ll) * 8} {_hexnum(ll)}")
    if et == _ETH_P_ARP and nh >= 0 and len(buf) - nh >= 8:
        op = _u(buf[nh + 6:nh + 8])
        out.append(f"arp operation {_ARP_OPS.get(op, op)}")
        return " ".join(out)
    if nh < 0:
        return " ".join(out)
    implied = table_family in ("ip", "ip6")
    th = pkt.th_off
    proto = None
    if int(pkt.nfproto) == 2 and len(buf) - nh >= 20:
        tos = buf[nh + 1]
        proto = buf[nh + 9]
        out += [f"ip saddr {ipaddress.IPv4Address(bytes(buf[nh + 12:nh + 16]))}",
                f"ip daddr {ipaddress.IPv4Address(bytes(buf[nh + 16:nh + 20]))}",
                f"ip dscp {_DSCP.get(tos >> 2, hex(tos >> 2))}", f"ip ecn {_ECN[tos & 3]}",
                f"ip ttl {buf[nh + 8]}", f"ip id {_u(buf[nh + 4:nh + 6])}"]
        if not implied or proto not in _TH_DECODED or proto == 58:
            out.append(f"ip protocol {_PROTO.get(proto, proto)}")
        out.append(f"ip length {_u(buf[nh + 2:nh + 4])}")
        ihl = (buf[nh] & 0xF) * 4
        opts = bytes(buf[nh + 20:min(nh + ihl, nh + _NH_HSIZE, len(buf))])
        if opts:
            out.append(f"@nh,160,{len(opts) * 8} {_hexnum(opts)}")
    elif int(pkt.nfproto) == 10 and len(buf) - nh >= 40:
        first = _u(buf[nh:nh + 4])
        tc = (first >> 20) & 0xFF
        proto = buf[nh + 6]
        out += [f"ip6 saddr {ipaddress.IPv6Address(bytes(buf[nh + 8:nh + 24]))}",
                f"ip6 daddr {ipaddress.IPv6Address(bytes(buf[nh + 24:nh + 40]))}",
                f"ip6 dscp {_DSCP.get(tc >> 2, hex(tc >> 2))}", f"ip6 ecn {_ECN[tc & 3]}",
                f"ip6 hoplimit {buf[nh + 7]}", f"ip6 flowlabel {first & 0xFFFFF}"]
        if not implied or proto not in _TH_DECODED or proto == 1:
            out.append(f"ip6 nexthdr {_PROTO.get(proto, proto)}")
        out.append(f"ip6 length {_u(buf[nh + 4:nh + 6])}")
    if th < 0 or th >= len(buf):
        return " ".join(out)
    seg = bytes(buf[th:min(len(buf), th + _TH_HSIZE)])
    _transport_fields(proto if proto is not None else -1, seg, out)
    return " ".join(out)


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One trace message: ``type`` is ``packet``, ``rule`` or ``policy``."""

    id: int
    type: str
    family: str
    table: str
    chain: str
    text: str          # the nft monitor trace line

    def __str__(self) -> str:
        return self.text


def _verdict_text(code: int, target: str | None) -> str:
    base = code & 0xFF if code >= 0 else code
    try:
        word = _VERDICT_WORDS[Verdict(base)]
    except (ValueError, KeyError):
        word = str(code)
    if base in (Verdict.JUMP, Verdict.GOTO) and target:
        return f"{word} {target}"
    return word


def _rule_text(rule: LoadedRule, loaded_tables: dict | None, options: Any = None) -> str:
    r = rule.rule
    try:
        from pkttables.render.text import rule_line
        t = loaded_tables.get((rule.family, rule.table)) if loaded_tables else None
        return rule_line(r, rule.family, options, t).strip()
    except Exception:   # a rule the listing cannot print yet: fall back to its source
        loc = getattr(r, "loc", None)
        return (loc.line_text or "").strip() if loc is not None else f"handle {rule.handle}"


class TraceRecorder:
    """Collects trace events; plug :meth:`factory` into ``ChainRuntime(tracer_factory=)``.

    The trace id is drawn from ``Random(seed)`` once per packet object (the kernel
    hashes the skb address; ids differ between hook paths of a looped-back packet)."""

    def __init__(self, seed: int = 0, *, ifnames: Any = None):
        self.rng = random.Random(seed)
        #: rules print as nft prints them, which names interface indexes as the machine
        #: it runs on does (``iif "lan0"``): ``((ifindex, name), ...)`` of the host
        self.options = None
        if ifnames is not None:
            from pkttables.render.options import ListOptions
            self.options = ListOptions(ifnames=tuple(ifnames))
        self.events: list[TraceEvent] = []
        self._ids: dict[int, tuple[Any, int]] = {}

    def trace_id(self, pkt, skb: Any = None) -> int:
        """The id of one skb: ``skb`` (the engine's per-packet walk, HookState.skb)
        when known, else the packet object."""
        key = skb if skb is not None else pkt
        cell = self._ids.get(id(key))
        if cell is None or cell[0] is not key:
            cell = self._ids[id(key)] = (key, self.rng.getrandbits(32))
        return cell[1]

    def lines(self) -> list[str]:
        return [e.text for e in self.events]

    def factory(self, pkt, family: str, hook: str, chain: LoadedChain, ctx) -> Tracer:
        skb = getattr(getattr(ctx, "hook_state", None), "skb", None)
        return _ChainTracer(self, pkt, hook, chain, getattr(ctx, "loaded", None), skb)


class _ChainTracer(Tracer):
    def __init__(self, rec: TraceRecorder, pkt, hook: str, base: LoadedChain, loaded, skb: Any = None):
        self.rec, self.pkt, self.hook, self.base, self.skb = rec, pkt, hook, base, skb
        self.tables = loaded.tables if loaded is not None else None
        self.dumped = False

    def _hdr(self, chain: LoadedChain) -> str:
        return f"trace id {self.rec.trace_id(self.pkt, self.skb):08x} {chain.family} {chain.table} {chain.name}"

    def _emit(self, kind: str, chain: LoadedChain, text: str) -> None:
        if not self.dumped:
            # the first event of a base chain run carries the packet (info->packet_dumped)
            self.dumped = True
            ptxt = packet_text(self.pkt, hook=self.hook, table_family=self.base.family)
            self.rec.events.append(TraceEvent(self.rec.trace_id(self.pkt, self.skb), "packet", chain.family,
                                              chain.table, chain.name,
                                              f"{self._hdr(chain)} packet: {ptxt} "))
        self.rec.events.append(TraceEvent(self.rec.trace_id(self.pkt, self.skb), kind, chain.family, chain.table,
                                          chain.name, text))

    def rule(self, chain, rule, verdict, target):
        self._emit("rule", chain, f"{self._hdr(chain)} rule {_rule_text(rule, self.tables, self.rec.options)} "
                                  f"(verdict {_verdict_text(verdict, target)})")

    def ret(self, chain, verdict, rule):
        if rule is not None:   # an explicit `return` is reported as its rule
            self.rule(chain, rule, verdict, None)

    def policy(self, chain, verdict):
        self._emit("policy", chain, f"{self._hdr(chain)} policy {_verdict_text(int(verdict), None)} ")
