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

from pkttables.vm.chain import LoadedChain, LoadedRule, Tracer
from pkttables.vm.regs import Verdict

__all__ = ["TraceEvent", "TraceRecorder", "packet_text"]

_LL_HSIZE, _NH_HSIZE, _TH_HSIZE = 20, 40, 20

_DSCP = {0: "cs0", 8: "cs1", 16: "cs2", 24: "cs3", 32: "cs4", 40: "cs5", 48: "cs6", 56: "cs7",
         10: "af11", 12: "af12", 14: "af13", 18: "af21", 20: "af22", 22: "af23", 26: "af31",
         28: "af32", 30: "af33", 34: "af41", 36: "af42", 38: "af43", 46: "ef", 44: "va"}
_ECN = {0: "not-ect", 1: "ect1", 2: "ect0", 3: "ce"}
_PROTO = {1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp", 132: "sctp", 136: "udplite"}
_TCP_FLAGS = ((0x01, "fin"), (0x02, "syn"), (0x04, "rst"), (0x08, "psh"), (0x10, "ack"),
              (0x20, "urg"), (0x40, "ecn"), (0x80, "cwr"))
_ICMP_TYPES = {0: "echo-reply", 3: "destination-unreachable", 4: "source-quench", 5: "redirect",
               8: "echo-request", 9: "router-advertisement", 10: "router-solicitation",
               11: "time-exceeded", 12: "parameter-problem", 13: "timestamp-request",
               14: "timestamp-reply", 15: "info-request", 16: "info-reply",
               17: "address-mask-request", 18: "address-mask-reply"}
_ICMP_CODES = {0: "net-unreachable", 1: "host-unreachable", 2: "prot-unreachable",
               3: "port-unreachable", 4: "frag-needed", 9: "net-prohibited", 10: "host-prohibited",
               13: "admin-prohibited"}
_VERDICT_WORDS = {Verdict.ACCEPT: "accept", Verdict.DROP: "drop", Verdict.CONTINUE: "continue",
                  Verdict.RETURN: "return", Verdict.JUMP: "jump", Verdict.GOTO: "goto",
                  Verdict.STOLEN: "stolen", Verdict.QUEUE: "queue"}


def _hexnum(b: bytes) -> str:
    return hex(int.from_bytes(b, "big"))


def _tcp_flags(f: int) -> str:
    names = [n for bit, n in _TCP_FLAGS if f & bit]
    return " | ".join(names) if names else "0x0"


def packet_text(pkt, *, hook: str, table_family: str) -> str:
    """The headers part of the ``packet:`` line (after ``packet: ``)."""
    buf = pkt.buf
    out: list[str] = []
    if hook not in ("output", "postrouting") and pkt.iif:
        out.append(f'iif "{pkt.iif}"')
    if hook not in ("prerouting", "input", "ingress") and pkt.oif:
        out.append(f'oif "{pkt.oif}"')
    nh = pkt.nh_off
    if pkt.mac_off >= 0 and pkt.mac_len > 0 and hook in ("prerouting", "input", "forward", "ingress"):
        m = pkt.mac_off
        ll = bytes(buf[m:m + min(pkt.mac_len, _LL_HSIZE)])
        if pkt.link == 1 and any(ll[:12]):   # Ethernet with addresses
            out.append("ether saddr " + ":".join(f"{x:02x}" for x in ll[6:12]))
            out.append("ether daddr " + ":".join(f"{x:02x}" for x in ll[0:6]))
        else:
            out.append(f"@ll,0,{len(ll) * 8} {_hexnum(ll)}")
    if nh < 0:
        return " ".join(out)
    implied = table_family in ("ip", "ip6")
    th = pkt.th_off
    proto = pkt.l4proto
    if int(pkt.nfproto) == 2 and len(buf) - nh >= 20:
        tos = buf[nh + 1]
        out += [f"ip saddr {ipaddress.IPv4Address(bytes(buf[nh + 12:nh + 16]))}",
                f"ip daddr {ipaddress.IPv4Address(bytes(buf[nh + 16:nh + 20]))}",
                f"ip dscp {_DSCP.get(tos >> 2, hex(tos >> 2))}", f"ip ecn {_ECN[tos & 3]}",
                f"ip ttl {buf[nh + 8]}", f"ip id {int.from_bytes(buf[nh + 4:nh + 6], 'big')}"]
        if not implied or buf[nh + 9] not in (1, 6, 17):
            out.append(f"ip protocol {_PROTO.get(buf[nh + 9], buf[nh + 9])}")
        out.append(f"ip length {int.from_bytes(buf[nh + 2:nh + 4], 'big')}")
    elif int(pkt.nfproto) == 10 and len(buf) - nh >= 40:
        first = int.from_bytes(buf[nh:nh + 4], "big")
        tc = (first >> 20) & 0xFF
        out += [f"ip6 saddr {ipaddress.IPv6Address(bytes(buf[nh + 8:nh + 24]))}",
                f"ip6 daddr {ipaddress.IPv6Address(bytes(buf[nh + 24:nh + 40]))}",
                f"ip6 dscp {_DSCP.get(tc >> 2, hex(tc >> 2))}", f"ip6 ecn {_ECN[tc & 3]}",
                f"ip6 hoplimit {buf[nh + 7]}", f"ip6 flowlabel {first & 0xFFFFF}"]
        if not implied or buf[nh + 6] not in (6, 17, 58):
            out.append(f"ip6 nexthdr {_PROTO.get(buf[nh + 6], buf[nh + 6])}")
        out.append(f"ip6 length {int.from_bytes(buf[nh + 4:nh + 6], 'big')}")
    if th < 0 or th >= len(buf):
        return " ".join(out)
    end = min(len(buf), th + _TH_HSIZE)
    seg = bytes(buf[th:end])
    hlen = 0
    if proto == 6 and len(seg) >= 20:
        out += [f"tcp sport {int.from_bytes(seg[0:2], 'big')}", f"tcp dport {int.from_bytes(seg[2:4], 'big')}",
                f"tcp flags == {_tcp_flags(seg[13])}", f"tcp window {int.from_bytes(seg[14:16], 'big')}"]
        hlen = 20
    elif proto in (17, 136) and len(seg) >= 8:
        name = "udp" if proto == 17 else "udplite"
        out += [f"{name} sport {int.from_bytes(seg[0:2], 'big')}", f"{name} dport {int.from_bytes(seg[2:4], 'big')}",
                f"{name} length {int.from_bytes(seg[4:6], 'big')}"]
        hlen = 8
    elif proto == 1 and len(seg) >= 8:
        out += [f"icmp type {_ICMP_TYPES.get(seg[0], seg[0])}", f"icmp code {_ICMP_CODES.get(seg[1], seg[1])}"]
        if seg[0] in (0, 8):
            out += [f"icmp id {int.from_bytes(seg[4:6], 'big')}",
                    f"icmp sequence {int.from_bytes(seg[6:8], 'big')}"]
        hlen = 8
    rest = seg[hlen:]
    if rest:
        out.append(f"@th,{hlen * 8},{len(rest) * 8} {_hexnum(rest)}")
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


def _rule_text(rule: LoadedRule, loaded_tables: dict | None) -> str:
    r = rule.rule
    try:
        from pkttables.render.text import rule_line
        t = loaded_tables.get((rule.family, rule.table)) if loaded_tables else None
        return rule_line(r, rule.family, None, t).strip()
    except Exception:   # a rule the listing cannot print yet: fall back to its source
        loc = getattr(r, "loc", None)
        return (loc.line_text or "").strip() if loc is not None else f"handle {rule.handle}"


class TraceRecorder:
    """Collects trace events; plug :meth:`factory` into ``ChainRuntime(tracer_factory=)``.

    The trace id is drawn from ``Random(seed)`` once per packet object (the kernel
    hashes the skb address; ids differ between hook paths of a looped-back packet)."""

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)
        self.events: list[TraceEvent] = []
        self._ids: dict[int, tuple[Any, int]] = {}

    def trace_id(self, pkt) -> int:
        cell = self._ids.get(id(pkt))
        if cell is None or cell[0] is not pkt:
            cell = self._ids[id(pkt)] = (pkt, self.rng.getrandbits(32))
        return cell[1]

    def lines(self) -> list[str]:
        return [e.text for e in self.events]

    def factory(self, pkt, family: str, hook: str, chain: LoadedChain, ctx) -> Tracer:
        return _ChainTracer(self, pkt, hook, chain, getattr(ctx, "loaded", None))


class _ChainTracer(Tracer):
    def __init__(self, rec: TraceRecorder, pkt, hook: str, base: LoadedChain, loaded):
        self.rec, self.pkt, self.hook, self.base = rec, pkt, hook, base
        self.tables = loaded.tables if loaded is not None else None
        self.dumped = False

    def _hdr(self, chain: LoadedChain) -> str:
        return f"trace id {self.rec.trace_id(self.pkt):08x} {chain.family} {chain.table} {chain.name}"

    def _emit(self, kind: str, chain: LoadedChain, text: str) -> None:
        if not self.dumped:
            # the first event of a base chain run carries the packet (info->packet_dumped)
            self.dumped = True
            ptxt = packet_text(self.pkt, hook=self.hook, table_family=self.base.family)
            self.rec.events.append(TraceEvent(self.rec.trace_id(self.pkt), "packet", chain.family,
                                              chain.table, chain.name,
                                              f"{self._hdr(chain)} packet: {ptxt} "))
        self.rec.events.append(TraceEvent(self.rec.trace_id(self.pkt), kind, chain.family, chain.table,
                                          chain.name, text))

    def rule(self, chain, rule, verdict, target):
        self._emit("rule", chain, f"{self._hdr(chain)} rule {_rule_text(rule, self.tables)} "
                                  f"(verdict {_verdict_text(verdict, target)})")

    def ret(self, chain, verdict, rule):
        if rule is not None:   # an explicit `return` is reported as its rule
            self.rule(chain, rule, verdict, None)

    def policy(self, chain, verdict):
        self._emit("policy", chain, f"{self._hdr(chain)} policy {_verdict_text(int(verdict), None)} ")
