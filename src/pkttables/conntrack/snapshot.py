"""Conntrack table snapshots: the table as a versioned JSON file, so that offline
``pkt conntrack`` commands can act on one table one after another, as ``conntrack``
commands act on the kernel's table.

Theory of operation
-------------------
The kernel's table lives between two ``conntrack`` commands; an offline table has to
live in a file.  ``pkt simulate --conntrack-save FILE`` and ``pkt conntrack --pcap CAP
--save FILE`` write one; ``pkt conntrack --table FILE -L/-C`` read it, ``-D``/``-F``
read it, delete, and write it back *atomically* (a temporary file in the same directory,
``fsync``, ``os.replace``), so a crash leaves the old table or the new one, never half.

The snapshot keeps what ``conntrack -L`` shows, not the trackers' inner state (TCP
window edges, SCTP vtags, helper data, NAT bindings).  A table loaded from it can be
listed, filtered, deleted from and flushed, but not fed more packets.  Its clock is
stopped: ``now`` is the time of the last packet (the capture's clock), and every entry
keeps the seconds it had left then.

Format (version 1)::

    {"format": "pkttables-conntrack", "version": 1, "now": 1700000000.25,
     "entries": [
       {"l3": "ipv4", "protonum": 6,
        "orig":  {"src": "192.168.1.10", "dst": "198.51.100.7", "sport": 40000, "dport": 80},
        "reply": {"src": "198.51.100.7", "dst": "192.168.1.10", "sport": 80, "dport": 40000},
        "state": "ESTABLISHED", "status": 14, "timeout": 431999.5,
        "mark": 0, "secmark": 0, "labels": "0x0", "zone": 0, "zone_dir": 3,
        "helper": null, "use": 1, "counters": null}]}

``sport``/``dport`` are the tuple's two 16-bit words as :mod:`._tuple` defines them
(ICMP: the echo id, and ``type << 8 | code``).  ``status`` is the IPS_* bit set (the
kernel's values, :class:`~pkttables.conntrack.Status`), ``timeout`` the seconds left at
``now``, ``counters`` ``[[packets, bytes], [packets, bytes]]`` or null (accounting off),
``use`` the reference count ``-L`` prints.  Entries are in the table's order.  A reader
refuses another ``format`` or a ``version`` it does not know, and every wrong value is
one :class:`SnapshotError` naming the file and the JSON path of the value
(``t.json: $.entries[3].orig.src: expected an IPv4 address, got "x"``).
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import tempfile
from typing import Any

from pkttables.conntrack._conn import Conn
from pkttables.conntrack._enums import Status
from pkttables.conntrack._table import ConntrackTable, _hkeys
from pkttables.conntrack._tuple import AF_INET, AF_INET6, Tuple
from pkttables.errors import Diagnostic, Location, PktError

__all__ = ["FORMAT", "VERSION", "SnapshotError", "dump_snapshot", "load_snapshot",
           "read_snapshot", "write_snapshot"]

FORMAT = "pkttables-conntrack"
VERSION = 1

_L3 = {"ipv4": AF_INET, "ipv6": AF_INET6}
_L3_NAMES = {v: k for k, v in _L3.items()}
# the bits a listed entry may carry; TEMPLATE and DYING entries are never in a table
_STATUS_OK = int(Status.EXPECTED | Status.SEEN_REPLY | Status.ASSURED | Status.CONFIRMED
                 | Status.SRC_NAT | Status.DST_NAT | Status.SEQ_ADJUST | Status.SRC_NAT_DONE
                 | Status.DST_NAT_DONE | Status.FIXED_TIMEOUT | Status.NAT_CLASH
                 | Status.HELPER | Status.OFFLOAD | Status.HW_OFFLOAD)


class SnapshotError(PktError):
    """A snapshot file that cannot be read, is not JSON, or holds a wrong value."""


class _SavedProto:
    """The protocol state of a loaded entry: only its name, for ``-L`` and ``--state``."""
    __slots__ = ("name",)

    def __init__(self, name: str | None):
        self.name = name

    def state_name(self) -> str | None:
        return self.name


# ---------------------------------------------------------------- writing

def _tuple_json(t: Tuple) -> dict[str, Any]:
    return {"src": str(ipaddress.ip_address(t.src)), "dst": str(ipaddress.ip_address(t.dst)),
            "sport": t.sport, "dport": t.dport}


def dump_snapshot(table: ConntrackTable, now: float) -> dict[str, Any]:
    """The snapshot of ``table`` at ``now`` (expired entries are destroyed first)."""
    entries = []
    for c in table.entries(now):
        o, r = c.tuples
        left = c.remaining(now)
        entries.append({
            "l3": _L3_NAMES.get(o.l3num, "ipv4"), "protonum": o.protonum,
            "orig": _tuple_json(o), "reply": _tuple_json(r),
            "state": c.state_name, "status": int(c.status) & _STATUS_OK,
            "timeout": left if math.isfinite(left) else 0.0,
            "mark": c.mark, "secmark": c.secmark, "labels": hex(c.labels),
            "zone": c.zone, "zone_dir": c.zone_dir, "helper": c.helper,
            "use": 1 + c.ext_get("refs", 0),
            "counters": None if c.counters is None else [list(d) for d in c.counters],
        })
    return {"format": FORMAT, "version": VERSION, "now": now, "entries": entries}


def write_snapshot(path: str, table: ConntrackTable, now: float) -> None:
    """Write the snapshot atomically: a temporary file beside ``path``, then rename."""
    text = json.dumps(dump_snapshot(table, now), indent=1) + "\n"
    d = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".pktct-", suffix=".tmp", dir=d)
    except OSError as e:
        raise SnapshotError(f"{path}: cannot write: {e.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise SnapshotError(f"{path}: cannot write: {e.strerror}") from None


# ---------------------------------------------------------------- reading

class _Reader:
    def __init__(self, path: str):
        self.path = path

    def fail(self, where: str, msg: str):
        raise SnapshotError(f"{self.path}: {where}: {msg}")

    @staticmethod
    def _tname(v: Any) -> str:
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "a boolean"
        return {dict: "an object", list: "an array", str: f"{json.dumps(v)[:40]}",
                int: f"{v}", float: f"{v}"}.get(type(v), type(v).__name__)

    def get(self, d: dict, key: str, where: str, kind: str, *, lo: int = 0, hi: int | None = None,
            null: bool = False) -> Any:
        if key not in d:
            self.fail(where, f"missing key \"{key}\"")
        v = d[key]
        p = f"{where}.{key}"
        if v is None and null:
            return None
        if kind == "int":
            if isinstance(v, bool) or not isinstance(v, int):
                self.fail(p, f"expected an integer, got {self._tname(v)}")
            if v < lo or (hi is not None and v > hi):
                self.fail(p, f"expected {lo}..{hi}, got {v}" if hi is not None
                          else f"expected at least {lo}, got {v}")
        elif kind == "num":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                self.fail(p, f"expected a number, got {self._tname(v)}")
            if v < lo:
                self.fail(p, f"expected at least {lo}, got {v}")
            v = float(v)
        elif kind == "str":
            if not isinstance(v, str):
                self.fail(p, f"expected a string, got {self._tname(v)}")
        elif kind == "obj":
            if not isinstance(v, dict):
                self.fail(p, f"expected an object, got {self._tname(v)}")
        elif kind == "list":
            if not isinstance(v, list):
                self.fail(p, f"expected an array, got {self._tname(v)}")
        return v

    def tuple_(self, d: dict, key: str, where: str, l3num: int, protonum: int) -> Tuple:
        t = self.get(d, key, where, "obj")
        p = f"{where}.{key}"
        addrs = []
        for k in ("src", "dst"):
            s = self.get(t, k, p, "str")
            try:
                a = ipaddress.ip_address(s)
            except ValueError:
                a = None
            want = 4 if l3num == AF_INET else 6
            if a is None or a.version != want:
                self.fail(f"{p}.{k}", f"expected an IPv{want} address, got {self._tname(s)}")
            addrs.append(a.packed)
        sport = self.get(t, "sport", p, "int", hi=0xFFFF)
        dport = self.get(t, "dport", p, "int", hi=0xFFFF)
        return Tuple(l3num, addrs[0], addrs[1], protonum, sport, dport)

    def entry(self, e: Any, where: str, now: float) -> Conn:
        if not isinstance(e, dict):
            self.fail(where, f"expected an object, got {self._tname(e)}")
        l3 = self.get(e, "l3", where, "str")
        if l3 not in _L3:
            self.fail(f"{where}.l3", f"expected \"ipv4\" or \"ipv6\", got {self._tname(l3)}")
        l3num = _L3[l3]
        protonum = self.get(e, "protonum", where, "int", hi=255)
        o = self.tuple_(e, "orig", where, l3num, protonum)
        r = self.tuple_(e, "reply", where, l3num, protonum)
        zone = self.get(e, "zone", where, "int", hi=0xFFFF)
        zdir = self.get(e, "zone_dir", where, "int", lo=1, hi=3)
        c = Conn(o, r, zone, zdir)
        state = self.get(e, "state", where, "str", null=True)
        if state is not None and not (state.isascii() and state.replace("_", "").isalnum()):
            self.fail(f"{where}.state", f"expected a state name, got {self._tname(state)}")
        c.proto = _SavedProto(state)
        status = self.get(e, "status", where, "int", hi=0xFFFF)
        if status & ~_STATUS_OK:
            self.fail(f"{where}.status", f"bits 0x{status & ~_STATUS_OK:x} cannot be in a table "
                      "(TEMPLATE, DYING or unknown)")
        c.status = Status(status | Status.CONFIRMED)
        c.expires = now + self.get(e, "timeout", where, "num")
        c.mark = self.get(e, "mark", where, "int", hi=0xFFFFFFFF)
        c.secmark = self.get(e, "secmark", where, "int", hi=0xFFFFFFFF)
        labels = self.get(e, "labels", where, "str")
        try:
            lv = int(labels, 16)
        except ValueError:
            lv = -1
        if not 0 <= lv < 1 << 128:
            self.fail(f"{where}.labels", f"expected a 128-bit hex number, got {self._tname(labels)}")
        c.labels = lv
        c.helper = self.get(e, "helper", where, "str", null=True)
        use = self.get(e, "use", where, "int", lo=1, hi=0xFFFFFFFF)
        if use > 1:
            c.ext["refs"] = use - 1
        counters = self.get(e, "counters", where, "list", null=True)
        if counters is not None:
            if len(counters) != 2:
                self.fail(f"{where}.counters", f"expected 2 directions, got {len(counters)}")
            cs = []
            for i, d in enumerate(counters):
                p = f"{where}.counters[{i}]"
                if not isinstance(d, list) or len(d) != 2 or any(
                        isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in d):
                    self.fail(p, f"expected [packets, bytes], got {self._tname(d)}")
                cs.append(list(d))
            c.counters = cs
        return c

    def document(self, doc: Any, table: ConntrackTable) -> float:
        if not isinstance(doc, dict):
            self.fail("$", f"expected an object, got {self._tname(doc)}")
        fmt = self.get(doc, "format", "$", "str")
        if fmt != FORMAT:
            self.fail("$.format", f"not a conntrack snapshot (expected \"{FORMAT}\", got {self._tname(fmt)})")
        ver = self.get(doc, "version", "$", "int")
        if ver != VERSION:
            self.fail("$.version", f"version {ver} is not supported (this pkttables reads {VERSION})")
        now = self.get(doc, "now", "$", "num")
        seen: set[bytes] = set()
        for i, e in enumerate(self.get(doc, "entries", "$", "list")):
            c = self.entry(e, f"$.entries[{i}]", now)
            keys = _hkeys(c)
            if any(k in seen for k in keys):
                self.fail(f"$.entries[{i}]", "a tuple of this entry is already another entry's "
                          "(the table holds each tuple once)")
            seen.update(keys)
            table._insert(c, now)
        return now


def load_snapshot(doc: Any, path: str = "<snapshot>", table: ConntrackTable | None = None
                  ) -> tuple[ConntrackTable, float]:
    """A table (and its ``now``) from a decoded snapshot document."""
    table = ConntrackTable(keep_events=False) if table is None else table
    now = _Reader(path).document(doc, table)
    return table, now


def read_snapshot(path: str) -> tuple[ConntrackTable, float]:
    """Read a snapshot file; raises :class:`SnapshotError` with the place of the fault."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise SnapshotError(f"{path}: cannot read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SnapshotError(f"{path}: not UTF-8 (byte offset {e.start})") from None
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        lines = text.split("\n")
        line_text = lines[e.lineno - 1] if 0 < e.lineno <= len(lines) else None
        if line_text is not None and len(line_text) > 200:
            line_text = None
        raise SnapshotError(Diagnostic(Location(path, e.lineno, e.colno, e.colno, line_text),
                                       f"invalid JSON: {e.msg}")) from None
    except (ValueError, RecursionError) as e:
        raise SnapshotError(f"{path}: invalid JSON: {e}") from None
    return load_snapshot(doc, path)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")

