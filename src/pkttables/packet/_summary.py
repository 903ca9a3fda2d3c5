"""One-line, tcpdump-like description of a Packet (not on the hot path)."""

from __future__ import annotations

import ipaddress
import struct

__all__ = ["summary"]

_TCP_FLAGS = ((0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"), (0x10, "."), (0x20, "U"),
              (0x40, "E"), (0x80, "W"))  # tcpdump's letters, in tcpdump's order

_L4_NAMES = {1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP", 33: "DCCP", 47: "GRE", 50: "ESP",
             51: "AH", 58: "ICMP6", 59: "no next header", 132: "SCTP", 136: "UDP-Lite"}


def _ports(buf, th: int, end: int):
    if th + 4 <= end:
        return struct.unpack_from("!HH", buf, th)
    return None


def summary(p) -> str:
    buf = p.buf
    parts = []
    if p.vlans:
        parts.append(", ".join(f"vlan {tci & 0xFFF}" for _, tci in p.vlans) + ", ")
    nh = p.nh_off
    et = p.ethertype
    flags = p.flags
    tail = f" [{flags.name or str(int(flags))}]" if flags else ""
    if nh < 0:
        return "".join(parts) + f"link {int(p.link)}, length {len(buf)}" + (tail or "")
    end = nh + p.l3_len
    if et == 0x0800 and len(buf) - nh >= 20:
        src = str(ipaddress.IPv4Address(bytes(buf[nh + 12:nh + 16])))
        dst = str(ipaddress.IPv4Address(bytes(buf[nh + 16:nh + 20])))
        fam = "IP"
    elif et == 0x86DD and len(buf) - nh >= 40:
        src = str(ipaddress.IPv6Address(bytes(buf[nh + 8:nh + 24])))
        dst = str(ipaddress.IPv6Address(bytes(buf[nh + 24:nh + 40])))
        fam = "IP6"
    elif et == 0x0806:
        return "".join(parts) + _arp(buf, nh, end) + tail
    else:
        return "".join(parts) + f"ethertype 0x{et & 0xFFFF:04x}, length {len(buf) - nh}" + tail
    proto = p.l4proto
    if proto < 0:
        return "".join(parts) + f"{fam} {src} > {dst}: length {p.l3_len}" + tail
    name = _L4_NAMES.get(proto, f"proto {proto}")
    if p.fragoff:
        return "".join(parts) + f"{fam} {src} > {dst}: {name} frag (offset {p.fragoff})" + tail
    th = p.th_off
    if proto in (6, 17, 136, 132, 33):
        ports = _ports(buf, th, end)
        if ports is not None:
            src = f"{src}.{ports[0]}"
            dst = f"{dst}.{ports[1]}"
    desc = name
    if proto == 6 and th + 14 <= end:
        f = buf[th + 13]
        desc = "TCP [" + ("".join(c for bit, c in _TCP_FLAGS if f & bit) or "none") + "]"
    elif proto in (17, 136):
        desc = f"{name}, length {max(0, end - th - 8)}"
    elif proto in (1, 58) and th + 2 <= end:
        desc = f"{name} type {buf[th]} code {buf[th + 1]}"
    return "".join(parts) + f"{fam} {src} > {dst}: {desc}" + tail


def _arp(buf, nh: int, end: int) -> str:
    # RFC 826, Ethernet/IPv4 only: who-has / is-at
    if end - nh >= 28 and buf[nh + 4] == 6 and buf[nh + 5] == 4:
        op = (buf[nh + 6] << 8) | buf[nh + 7]
        sha = bytes(buf[nh + 8:nh + 14]).hex(":")
        spa = ipaddress.IPv4Address(bytes(buf[nh + 14:nh + 18]))
        tpa = ipaddress.IPv4Address(bytes(buf[nh + 24:nh + 28]))
        if op == 1:
            return f"ARP, Request who-has {tpa} tell {spa}"
        if op == 2:
            return f"ARP, Reply {spa} is-at {sha}"
        return f"ARP, op {op}"
    return f"ARP, length {end - nh}"
