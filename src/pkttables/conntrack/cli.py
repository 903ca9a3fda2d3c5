"""``pkt conntrack``: list, watch, delete and flush connection-tracking entries, with
conntrack-tools' options and output.

Until ``pktd`` holds a live table, the table comes from replaying a capture through the
tracker on the forwarded path (PREROUTING track, POSTROUTING confirm), with the
capture's timestamps as the clock::

    pkt conntrack -L --pcap trace.pcap [--host host.toml] [-p tcp] [-s ADDR] [-d ADDR]
                     [--state ESTABLISHED] [--mark N[/MASK]] [--zone N] [-f ipv4|ipv6]
    pkt conntrack -E --pcap trace.pcap          # the events, as `conntrack -E` prints them
    pkt conntrack -C --pcap trace.pcap          # the number of entries

As conntrack-tools, the entry count goes to stderr (``conntrack v1.4.7 (conntrack-tools):
N flow entries have been shown.``) and the exit status is 0; bad options give a usage
message and exit status 2; an unreadable capture or host file exits 1.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

from pkttables.conntrack._format import format_entry
from pkttables.conntrack._table import ConntrackTable
from pkttables.conntrack._tuple import PROTO_NAMES
from pkttables.errors import PktError

__all__ = ["main", "build_table", "matches"]

_VERSION = "conntrack v1.4.7 (conntrack-tools)"
_PROTO_NUMBERS = {v: k for k, v in PROTO_NAMES.items()} | {"ipv6-icmp": 58, "icmp6": 58}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pkt conntrack", add_help=True)
    cmd = p.add_mutually_exclusive_group(required=True)
    cmd.add_argument("-L", "--dump", action="store_true", help="list the table")
    cmd.add_argument("-E", "--event", action="store_true", help="show events")
    cmd.add_argument("-C", "--count", action="store_true", help="count entries")
    p.add_argument("--pcap", required=True, help="capture replayed through the tracker")
    p.add_argument("--host", help="host file (sysctls: nf_conntrack_*)")
    p.add_argument("-p", "--proto")
    p.add_argument("-s", "--src", "--orig-src", dest="src")
    p.add_argument("-d", "--dst", "--orig-dst", dest="dst")
    p.add_argument("--state")
    p.add_argument("-m", "--mark")
    p.add_argument("-w", "--zone", type=int)
    p.add_argument("-f", "--family", choices=("ipv4", "ipv6"))
    return p


def build_table(pcap: str, host=None, events=None) -> tuple[ConntrackTable, float]:
    """Replay a capture on the forwarded path; returns the table and the last time."""
    from pkttables.capture import read_capture
    from pkttables.packet import Packet

    ct = ConntrackTable(host, on_event=events, keep_events=False)
    now = 0.0
    for rec in read_capture(pcap):
        now = rec.ts_ns / 1e9
        pkt = Packet(rec.data, rec.linktype, iif=rec.ifname, timestamp=now)
        if ct.in_hook(pkt, "prerouting", now):
            ct.confirm(pkt, now)
    ct.expire(now)
    return ct, now


def matches(conn, args) -> bool:
    """The -p -s -d --state --mark --zone -f filters of conntrack -L."""
    t = conn.original
    if args.family and (t.l3num == 2) != (args.family == "ipv4"):
        return False
    if args.proto is not None:
        want = int(args.proto) if args.proto.isdigit() else _PROTO_NUMBERS.get(args.proto.lower())
        if want != t.protonum:
            return False
    if args.src and ipaddress.ip_address(args.src).packed != t.src:
        return False
    if args.dst and ipaddress.ip_address(args.dst).packed != t.dst:
        return False
    if args.state and (conn.state_name or "") != args.state.upper():
        return False
    if args.mark is not None:
        val, _, mask = args.mark.partition("/")
        m = int(mask, 0) if mask else 0xFFFFFFFF
        if conn.mark & m != int(val, 0) & m:
            return False
    if args.zone is not None and conn.zone != args.zone:
        return False
    return True


def main(argv: list[str] | None = None, out=None, err=None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    p = _parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        for a in (args.src, args.dst):
            if a:
                ipaddress.ip_address(a)
        if args.mark is not None:
            v, _, m = args.mark.partition("/")
            int(v, 0), int(m, 0) if m else 0
    except ValueError as e:
        print(f"{_VERSION}: {e}", file=err)
        return 2
    host = None
    try:
        if args.host:
            from pkttables.stack.host import load_host
            host = load_host(args.host)
        if args.event:
            n = [0]

            def on_event(ev):
                n[0] += 1
                out.write(ev.line + "\n")
            build_table(args.pcap, host, on_event)
            print(f"{_VERSION}: {n[0]} flow events have been shown.", file=err)
            return 0
        table, now = build_table(args.pcap, host)
    except (PktError, OSError) as e:
        print(f"{_VERSION}: {e}", file=err)
        return 1
    shown = [c for c in table.entries(now) if matches(c, args)]
    if args.count:
        out.write(f"{len(shown)}\n")
        return 0
    for c in shown:
        out.write(format_entry(c, now) + "\n")
    print(f"{_VERSION}: {len(shown)} flow entries have been shown.", file=err)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
