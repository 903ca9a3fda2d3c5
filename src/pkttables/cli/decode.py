"""`pkt decode` and `pkt route`: the smallest real things pkttables does before
`pkt simulate` exists -- dissect traffic exactly as the kernel would see it, and ask the
simulated host where each packet would go."""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys

from pkttables.errors import PktError


def _load_host(path: str | None):
    from pkttables.stack.host import Host, load_host

    return load_host(path) if path else Host.single_interface()


def _addresses(pkt) -> tuple[ipaddress._BaseAddress, ipaddress._BaseAddress] | None:
    """(saddr, daddr) of an IPv4/IPv6 packet whose addresses are inside the buffer."""
    from pkttables.packet import NFProto

    nh, buf = pkt.nh_off, pkt.buf
    if nh < 0:
        return None
    if pkt.nfproto == NFProto.IPV4 and len(buf) >= nh + 20:
        return (ipaddress.IPv4Address(bytes(buf[nh + 12:nh + 16])),
                ipaddress.IPv4Address(bytes(buf[nh + 16:nh + 20])))
    if pkt.nfproto == NFProto.IPV6 and len(buf) >= nh + 40:
        return (ipaddress.IPv6Address(bytes(buf[nh + 8:nh + 24])),
                ipaddress.IPv6Address(bytes(buf[nh + 24:nh + 40])))
    return None


def _describe_route(decision) -> str:
    kind = decision.kind.value
    parts = [kind]
    route = decision.route
    if kind in ("forward", "output") and route is not None and route.via is not None:
        parts.append(f"via {decision.gateway}")
    if getattr(decision, "oif", None):
        parts.append(f"dev {decision.oif}")
    if decision.saddr is not None:
        parts.append(f"src {decision.saddr}")
    if decision.reason and not decision.delivers:
        parts.append(f"({decision.reason})")
    return " ".join(parts)


def _route_packet(host, pkt, iif: str | None):
    addrs = _addresses(pkt)
    if addrs is None:
        return None
    saddr, daddr = addrs
    if iif == "local":
        return host.route_output(daddr, saddr=saddr)
    return host.route_input(daddr, saddr, iif)


def _offsets(pkt) -> dict[str, int]:
    return {k: v for k, v in (("mac", pkt.mac_off), ("network", pkt.nh_off),
                              ("transport", pkt.th_off)) if v >= 0}


def decode_main(args: argparse.Namespace) -> int:
    from pkttables.capture import read_capture
    from pkttables.packet import LinkType, Packet

    host = _load_host(args.host)
    out = sys.stdout
    for rec in read_capture(args.capture):
        if args.count is not None and rec.index >= args.count:
            break
        iif = rec.ifname or args.iif
        if iif is None:
            raise PktError(f"{args.capture}: a pcap file names no interfaces: give --iif NAME")
        if iif != "local" and iif not in host.interfaces:
            raise PktError(f"{args.capture}: packet {rec.index}: interface '{iif}' is not in the host "
                           f"(known: {', '.join(n for n in host.interfaces if n != 'lo')})")
        link = LinkType(rec.linktype) if rec.linktype in LinkType._value2member_map_ else LinkType.RAW
        pkt = Packet(rec.data, link=link)
        decision = _route_packet(host, pkt, iif)
        route = _describe_route(decision) if decision is not None else None
        if args.json:
            obj = {"index": rec.index, "time": rec.ts_ns / 1e9, "iif": iif, "summary": pkt.summary(),
                   "l4proto": pkt.l4proto if pkt.l4proto >= 0 else None,
                   "offsets": _offsets(pkt), "flags": str(pkt.flags) if pkt.flags else None,
                   "route": route}
            out.write(json.dumps(obj) + "\n")
        else:
            offs = " ".join(f"{k}@{v}" for k, v in _offsets(pkt).items())
            line = f"{rec.index:>6} {rec.ts_ns / 1e9:.6f} {iif:<6} {pkt.summary()}\n"
            line += f"{'':>6} {offs}"
            if pkt.l4proto >= 0:
                line += f" l4proto {pkt.l4proto}"
            if pkt.flags:
                line += f" [{pkt.flags!s}]"
            if route:
                line += f" -> {route}"
            out.write(line + "\n")
    return 0


def route_main(args: argparse.Namespace) -> int:
    host = _load_host(args.host)

    def addr(text: str, what: str):
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            raise PktError(f"pkt route: {what} '{text}' is not an IPv4 or IPv6 address") from None

    dst = addr(args.dst, "destination")
    src = addr(args.src, "source") if args.src else None
    # checked here: the routing code treats both as programming errors (ValueError, KeyError)
    if src is not None and src.version != dst.version:
        raise PktError(f"pkt route: source '{src}' and destination '{dst}' are of different families")
    for opt, name in (("--oif", args.oif), ("--iif", args.iif)):
        if name and name not in host.interfaces:
            raise PktError(f"pkt route: {opt}: no interface '{name}' in the host")
    if args.iif:
        if src is None:
            raise PktError("pkt route: --iif needs --from SRC (the packet's source address)")
        decision = host.route_input(dst, src, args.iif)
    else:
        decision = host.route_output(dst, oif=args.oif, saddr=src)
    print(f"{dst} {_describe_route(decision)}")
    return 0
