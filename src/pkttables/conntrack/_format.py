"""Text in conntrack-tools' formats: ``conntrack -L`` lines, ``conntrack -E`` events, and
a parser for them (tests compare our lines with the real tool's).

Field order is libnetfilter_conntrack's default output (``__snprintf_conntrack_default``)::

    tcp      6 431999 ESTABLISHED src=A dst=B sport=P dport=Q src=B dst=A sport=Q dport=P [ASSURED] mark=0 use=1
    ^name padded to 8, protonum, seconds left, protocol state, original tuple,
    [packets= bytes=] with accounting, [UNREPLIED] before the reply tuple when no reply
    was seen, [ASSURED], mark, zone (if not 0), use.

Events (``conntrack -E``) put ``[NEW]``, ``[UPDATE]`` or ``[DESTROY]`` right-aligned in 9
columns in front, have no ``use=``, and carry ``mark=`` only when the mark is not 0 or
the event is about the mark (ctnetlink_dump_mark).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from pkttables.conntrack._conn import Conn
from pkttables.conntrack._enums import CtEventType, Event, Status
from pkttables.conntrack._tuple import PROTO_NAMES, Tuple

__all__ = ["format_entry", "format_event", "parse_conntrack_line", "format_tuple"]


def format_tuple(t: Tuple) -> str:
    s = f"src={ipaddress.ip_address(t.src)} dst={ipaddress.ip_address(t.dst)}"
    p = t.protonum
    # DCCP is generic on Linux >= 6.16 (ports 0 in the tuple), but the kernel still
    # sends CTA_PROTO_SRC/DST_PORT attributes and conntrack-tools prints them: 0 and 0
    if p in (6, 17, 136, 132, 33):
        s += f" sport={t.sport} dport={t.dport}"
    elif p in (1, 58):
        s += f" type={t.icmp_type} code={t.icmp_code} id={t.icmp_id}"
    elif p == 47:
        s += f" srckey=0x{t.sport:x} dstkey=0x{t.dport:x}"
    return s


def _body(conn: Conn, now: float, *, event: bool, mark: bool) -> str:
    t0, t1 = conn.tuples
    name = PROTO_NAMES.get(t0.protonum, "unknown")
    parts = [f"{name:<8} {t0.protonum} {int(conn.remaining(now))}"]
    st = conn.state_name
    if st is not None:
        parts.append(st)
    # ctnetlink_dump_zone_id(): a zone of one direction only is a CTA_TUPLE_ZONE inside
    # that tuple (printed zone-orig= / zone-reply= after it); one of both directions is
    # CTA_ZONE (zone=, below).  Zone 0 is never printed.
    zone, zdir = conn.zone, conn.zone_dir
    parts.append(format_tuple(t0))
    if zone and zdir == 1:
        parts.append(f"zone-orig={zone}")
    if conn.counters is not None:
        parts.append(f"packets={conn.counters[0][0]} bytes={conn.counters[0][1]}")
    if not conn.status & Status.SEEN_REPLY:
        parts.append("[UNREPLIED]")
    parts.append(format_tuple(t1))
    if zone and zdir == 2:
        parts.append(f"zone-reply={zone}")
    if conn.counters is not None:
        parts.append(f"packets={conn.counters[1][0]} bytes={conn.counters[1][1]}")
    if conn.status & Status.OFFLOAD:
        parts.append("[OFFLOAD]")
    if conn.status & Status.ASSURED:
        parts.append("[ASSURED]")
    if mark:
        parts.append(f"mark={conn.mark}")
    if conn.secmark:
        parts.append(f"secmark={conn.secmark}")
    if zone and zdir == 3:
        parts.append(f"zone={zone}")
    if conn.helper:
        parts.append(f"helper={conn.helper}")
    if not event:
        parts.append(f"use={1 + conn.ext_get('refs', 0)}")
    return " ".join(parts)


def format_entry(conn: Conn, now: float) -> str:
    """One ``conntrack -L`` line for an entry at time ``now``."""
    return _body(conn, now, event=False, mark=True)


def format_event(kind: CtEventType, conn: Conn, now: float, events: int = 0) -> str:
    """One ``conntrack -E`` line."""
    show_mark = conn.mark != 0 or bool(events & Event.MARK)
    return f"{'[' + kind.value + ']':>9} " + _body(conn, now, event=True, mark=show_mark)


_EVENT_RE = re.compile(r"^\s*\[(NEW|UPDATE|DESTROY)\]\s+")
_KV_RE = re.compile(r"^([a-z_-]+)=(.*)$")


def parse_conntrack_line(line: str) -> dict[str, Any]:
    """A ``conntrack -L`` (default or ``-o extended``) or ``-E`` line -> dict with
    ``event``, ``l3``, ``proto``, ``protonum``, ``timeout``, ``state``, ``original``,
    ``reply`` (src, dst, sport/dport or type/code/id, packets/bytes, ``zone`` from
    ``zone-orig=`` / ``zone-reply=``), ``status`` (sorted),
    ``mark``, ``zone``, ``use``.  Raises ValueError on a line that is not one."""
    d: dict[str, Any] = {"event": None, "l3": None, "proto": None, "protonum": None,
                         "timeout": None, "state": None, "original": {}, "reply": {},
                         "status": [], "mark": 0, "zone": 0, "use": None}
    m = _EVENT_RE.match(line)
    if m:
        d["event"] = m.group(1)
        line = line[m.end():]
    words = line.split()
    if len(words) >= 2 and words[0] in ("ipv4", "ipv6") and words[1].isdigit():
        d["l3"] = words[0]
        words = words[2:]
    if len(words) < 2 or not words[1].isdigit():
        raise ValueError(f"not a conntrack line: {line!r}")
    d["proto"], d["protonum"] = words[0], int(words[1])
    i = 2
    if i < len(words) and words[i].isdigit():
        d["timeout"] = int(words[i])
        i += 1
    if i < len(words) and "=" not in words[i] and not words[i].startswith("["):
        d["state"] = words[i]
        i += 1
    cur = None
    status = set()
    for w in words[i:]:
        if w.startswith("["):
            status.add(w.strip("[]"))
            continue
        kv = _KV_RE.match(w)
        if not kv:
            continue
        k, v = kv.groups()
        if k == "src":
            cur = "original" if not d["original"] else "reply"
        if k in ("src", "dst", "sport", "dport", "type", "code", "id", "packets", "bytes",
                 "srckey", "dstkey") and cur is not None and not (
                     k == "id" and d[cur].get("id") is not None):
            if k in ("src", "dst"):
                d[cur][k] = v
            elif k in ("srckey", "dstkey"):
                d[cur][k] = int(v, 16)
            else:
                d[cur][k] = int(v)
        elif k in ("zone-orig", "zone-reply"):
            d["original" if k == "zone-orig" else "reply"]["zone"] = int(v)
        elif k in ("mark", "zone", "use", "secmark"):
            d[k] = int(v)
        else:
            d[k] = v
    d["status"] = sorted(status)
    if d["l3"] is None and d["original"].get("src"):
        d["l3"] = "ipv6" if ":" in d["original"]["src"] else "ipv4"
    return d
