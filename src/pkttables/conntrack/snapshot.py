"""Conntrack table snapshots: the table as a versioned JSON file, so that offline
``pkt conntrack`` commands can act on one table one after another, as ``conntrack``
commands act on the kernel's table, and so that ``pkt simulate --conntrack-load`` can
carry on where ``pkt simulate --conntrack-save`` stopped.

Theory of operation
-------------------
The kernel's table lives between two ``conntrack`` commands; an offline table has to
live in a file.  ``pkt simulate --conntrack-save FILE`` and ``pkt conntrack --pcap CAP
--save FILE`` write one; ``pkt conntrack --table FILE -L/-C`` read it, ``-D``/``-F``
read it, delete, and write it back *atomically* (a temporary file in the same directory,
``fsync``, ``os.replace``), so a crash leaves the old table or the new one, never half.

Version 2 keeps everything the tracker needs to take more packets, so that a capture
cut in two and simulated as two runs (save after the first, load before the second)
gives the verdicts, NAT and table of one run over the whole capture:

* the protocol state: TCP window tracking (``struct ip_ct_tcp``: both directions'
  ``td_end/td_maxend/td_maxwin/td_maxack/td_scale/flags`` and the ``last_*`` fields
  that detect retransmissions and challenge ACKs), SCTP vtags and state, the UDP
  stream-detection deadline;
* absolute expiry on the injected clock (``expires``; ``timeout`` = seconds left at
  ``now`` stays for people and for version 1 readers of the idea);
* NAT: the status bits (``SRC_NAT_DONE`` ...) and the reply tuple already are the
  binding; ``nat`` keeps ``struct nf_conn_nat`` (the masquerading interface) and
  ``seqadj`` the sequence adjustments of mangled FTP commands (``struct nf_ct_seqadj``);
* the helper (``helper``) and its per-entry data (``helper_data``: the FTP helper's
  line-start sequence numbers), the master entry (``master``: an index into
  ``entries``), the expectations (with their NAT fields ``saved_addr/saved_port/dir``),
  the ``ct timeout`` policy (``ext.timeout``) and the event mask.

Not kept (not conntrack state): ruleset state (counters, quotas, limits, dynamic set
elements), the engine's reassembly queues, random generators.  Expectation callbacks
(``expectfn``) are code: the loader rebuilds them through ``expectfn=`` (the caller
that owns NAT passes nf_nat_follow_master); the NAT by-source index is rebuilt by the
caller (``nat_rebind``) from the entries' ``SRC_NAT_DONE`` bits.

Version 1 (what ``-L`` shows) is still read: such a table can be listed, filtered,
deleted from and flushed, but ``resume=True`` (feeding it packets) refuses it.

Format (version 2)::

    {"format": "pkttables-conntrack", "version": 2, "now": 1700000000.25, "packets": 42,
     "entries": [
       {"l3": "ipv4", "protonum": 6,
        "orig":  {"src": "192.168.1.10", "dst": "198.51.100.7", "sport": 40000, "dport": 21},
        "reply": {"src": "198.51.100.7", "dst": "192.168.1.10", "sport": 21, "dport": 40000},
        "state": "ESTABLISHED", "status": 8206, "timeout": 431999.5,
        "expires": 1700432000.0,
        "mark": 0, "secmark": 0, "labels": "0x0", "zone": 0, "zone_dir": 3,
        "helper": "ftp", "use": 2, "counters": null,
        "proto": {"kind": "tcp", "state": 3, "seen": [[e, me, mw, ma, sc, fl], [...]],
                  "last": [dir, retrans, index, seq, ack, end, win, wscale, flags]},
        "helper_data": {"seq_aft_nl": [[1016], []], "flags": [0, 0]},
        "master": null, "nat": null, "seqadj": null, "ext": {}}],
     "expectations": [
       {"l3": "ipv4", "protonum": 6,
        "tuple": {"src": "198.51.100.7", "dst": "192.168.1.10", "sport": 0, "dport": 40001},
        "src_mask": "255.255.255.255", "sport_mask": 0, "master": 0, "class": 0,
        "flags": 0, "helper_name": "ftp", "helper": null, "zone": 0,
        "timeout": 300.0, "expires": 1700000299.0, "nat": null}]}

``sport``/``dport`` are the tuple's two 16-bit words as :mod:`._tuple` defines them
(ICMP: the echo id, and ``type << 8 | code``).  ``status`` is the IPS_* bit set (the
kernel's values, :class:`~pkttables.conntrack.Status`), ``counters`` ``[[packets, bytes],
[packets, bytes]]`` or null (accounting off), ``use`` the reference count ``-L`` prints.
Entries are in the table's order.  A reader refuses another ``format`` or a ``version``
it does not know, and every wrong value is one :class:`SnapshotError` naming the file
and the JSON path of the value (``t.json: $.entries[3].orig.src: expected an IPv4
address, got "x"``).
"""

from __future__ import annotations

import enum
import ipaddress
import json
import math
import os
import tempfile
from dataclasses import dataclass
from typing import Any, Callable

from pkttables.conntrack._conn import Conn
from pkttables.conntrack._enums import SctpState, Status, TcpIndex, TcpState
from pkttables.conntrack._sctp import SctpProto
from pkttables.conntrack._tcp import TcpProto, TcpSeen
from pkttables.conntrack.expect import Expectation, ExpectFlag
from pkttables.conntrack.seqadj import SeqAdjDir
from pkttables.conntrack._table import ConntrackTable, _hkeys
from pkttables.conntrack._tuple import AF_INET, AF_INET6, Tuple
from pkttables.errors import Diagnostic, Location, PktError

__all__ = ["FORMAT", "VERSION", "VERSIONS", "Snapshot", "SnapshotError", "dump_snapshot",
           "load_snapshot", "load_snapshot_full", "read_snapshot", "read_snapshot_full",
           "write_snapshot"]

FORMAT = "pkttables-conntrack"
VERSION = 2
#: versions this reader reads (1: what -L shows; 2: + the trackers' state)
VERSIONS = (1, 2)

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


def _proto_json(p: Any) -> dict[str, Any] | None:
    if isinstance(p, TcpProto):
        return {"kind": "tcp", "state": int(p.state),
                "seen": [[d.td_end, d.td_maxend, d.td_maxwin, d.td_maxack, d.td_scale, int(d.flags)]
                         for d in p.seen],
                "last": [p.last_dir, p.retrans, int(p.last_index), p.last_seq, p.last_ack,
                         p.last_end, p.last_win, p.last_wscale, int(p.last_flags)]}
    if isinstance(p, SctpProto):
        return {"kind": "sctp", "state": int(p.state), "vtag": list(p.vtag),
                "init": [bool(x) for x in p.init], "hb_vtag_failed": bool(p.hb_vtag_failed),
                "last_dir": p.last_dir}
    if isinstance(p, float):       # UDP: the stream-detection deadline (_l4.udp_packet)
        return {"kind": "udp", "stream_until": p}
    return None


def _timeout_json(protonum: int, values: dict) -> dict[str, Any]:
    """The ``ct timeout`` policy of an entry: keys are TcpState/SctpState or names."""
    return {(k.name if isinstance(k, enum.Enum) else str(k)): v for k, v in values.items()}


def _helper_data_json(data: Any) -> dict[str, Any] | None:
    """A helper's per-entry data (``nfct_help_data``): its slots, JSON values only."""
    if data is None:
        return None
    out = {}
    for name in getattr(type(data), "__slots__", ()):
        v = getattr(data, name, None)
        out[name] = json.loads(json.dumps(v))
    return out


def dump_snapshot(table: ConntrackTable, now: float, *, packets: int = 0) -> dict[str, Any]:
    """The snapshot of ``table`` at ``now`` (expired entries are destroyed first).
    ``packets``: how many packets the run behind it has seen (kept for the next run)."""
    entries = []
    conns = table.entries(now)
    index = {id(c): i for i, c in enumerate(conns)}
    for c in conns:
        o, r = c.tuples
        left = c.remaining(now)
        hx = c.ext_get("helper")
        adj = c.ext_get("seqadj")
        nat = c.nat
        ext: dict[str, Any] = {}
        if c.ext_get("timeout") is not None:
            ext["timeout"] = _timeout_json(o.protonum, c.ext_get("timeout"))
            obj = c.ext_get("timeout_obj")
            if isinstance(obj, tuple) and all(isinstance(x, str) for x in obj):
                ext["timeout_obj"] = list(obj)
        if c.ext_get("eventmask") is not None:
            ext["eventmask"] = c.ext_get("eventmask")
        if c.ext_get("master_put"):
            ext["master_put"] = True
        entries.append({
            "l3": _L3_NAMES.get(o.l3num, "ipv4"), "protonum": o.protonum,
            "orig": _tuple_json(o), "reply": _tuple_json(r),
            "state": c.state_name, "status": int(c.status) & _STATUS_OK,
            "timeout": left if math.isfinite(left) else 0.0,
            "expires": c.expires if math.isfinite(c.expires) else now,
            "mark": c.mark, "secmark": c.secmark, "labels": hex(c.labels),
            "zone": c.zone, "zone_dir": c.zone_dir, "helper": c.helper,
            "use": 1 + c.ext_get("refs", 0),
            "counters": None if c.counters is None else [list(d) for d in c.counters],
            "proto": _proto_json(c.proto),
            "helper_data": None if hx is None else _helper_data_json(hx.data),
            "master": None if c.master is None else index.get(id(c.master)),
            "nat": None if nat is None else {"masq_ifname": getattr(nat, "masq_ifname", None),
                                             "masq_index": getattr(nat, "masq_index", 0)},
            "seqadj": None if adj is None else [[d.correction_pos, d.offset_before, d.offset_after]
                                                for d in adj],
            "ext": ext,
        })
    exps = []
    for e in table.expectations(now):
        if id(e.master) not in index:
            continue        # its master is gone: the kernel removed it with the master
        t = e.tuple
        exps.append({
            "l3": _L3_NAMES.get(t.l3num, "ipv4"), "protonum": t.protonum, "tuple": _tuple_json(t),
            "src_mask": str(ipaddress.ip_address(e.src_mask)), "sport_mask": e.sport_mask,
            "master": index[id(e.master)], "class": e.cls, "flags": int(e.flags),
            "helper_name": e.helper_name, "helper": getattr(e.helper, "name", None),
            "zone": e.zone, "timeout": e.timeout, "expires": e.expires,
            "nat": None if e.saved_addr is None else {
                "saved_addr": str(ipaddress.ip_address(e.saved_addr)), "saved_port": e.saved_port,
                "dir": e.dir},
        })
    if any(isinstance(c.proto, _SavedProto) for c in conns):
        # a table read from a version 1 file has no trackers' state to write: it stays
        # version 1, so the file reads back (pkt conntrack -D/-F --table chains)
        v1 = ("l3", "protonum", "orig", "reply", "state", "status", "timeout", "mark", "secmark",
              "labels", "zone", "zone_dir", "helper", "use", "counters")
        return {"format": FORMAT, "version": 1, "now": now,
                "entries": [{k: e[k] for k in v1} for e in entries]}
    return {"format": FORMAT, "version": VERSION, "now": now, "packets": packets,
            "entries": entries, "expectations": exps}


def write_snapshot(path: str, table: ConntrackTable, now: float, *, packets: int = 0) -> None:
    """Write the snapshot atomically: a temporary file beside ``path``, then rename."""
    text = json.dumps(dump_snapshot(table, now, packets=packets), indent=1) + "\n"
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

    def l3(self, d: dict, where: str) -> int:
        """The layer-3 family of ``d["l3"]`` ("ipv4" or "ipv6") as AF_INET/AF_INET6."""
        l3 = self.get(d, "l3", where, "str")
        if l3 not in _L3:
            self.fail(f"{where}.l3", f"expected \"ipv4\" or \"ipv6\", got {self._tname(l3)}")
        return _L3[l3]

    def addr(self, d: dict, key: str, where: str, l3num: int, what: str = "address") -> bytes:
        """The packed address written at ``d[key]``, which must be of the family ``l3num``
        (tuple ends, an expectation's mask, a NATed expectation's saved address)."""
        s = self.get(d, key, where, "str")
        try:
            a = ipaddress.ip_address(s)
        except ValueError:
            a = None
        want = 4 if l3num == AF_INET else 6
        if a is None or a.version != want:
            self.fail(f"{where}.{key}", f"expected an IPv{want} {what}, got {self._tname(s)}")
        return a.packed

    def tuple_(self, d: dict, key: str, where: str, l3num: int, protonum: int) -> Tuple:
        t = self.get(d, key, where, "obj")
        p = f"{where}.{key}"
        addrs = [self.addr(t, k, p, l3num) for k in ("src", "dst")]
        sport = self.get(t, "sport", p, "int", hi=0xFFFF)
        dport = self.get(t, "dport", p, "int", hi=0xFFFF)
        return Tuple(l3num, addrs[0], addrs[1], protonum, sport, dport)

    def entry(self, e: Any, where: str, now: float, version: int = 1) -> Conn:
        if not isinstance(e, dict):
            self.fail(where, f"expected an object, got {self._tname(e)}")
        l3num = self.l3(e, where)
        protonum = self.get(e, "protonum", where, "int", hi=255)
        o = self.tuple_(e, "orig", where, l3num, protonum)
        r = self.tuple_(e, "reply", where, l3num, protonum)
        zone = self.get(e, "zone", where, "int", hi=0xFFFF)
        zdir = self.get(e, "zone_dir", where, "int", lo=1, hi=3)
        c = Conn(o, r, zone, zdir)
        state = self.get(e, "state", where, "str", null=True)
        if state is not None and not (state.isascii() and state.replace("_", "").isalnum()):
            self.fail(f"{where}.state", f"expected a state name, got {self._tname(state)}")
        c.proto = _SavedProto(state) if version == 1 else None
        status = self.get(e, "status", where, "int", hi=0xFFFF)
        if status & ~_STATUS_OK:
            self.fail(f"{where}.status", f"bits 0x{status & ~_STATUS_OK:x} cannot be in a table "
                      "(TEMPLATE, DYING or unknown)")
        c.status = Status(status | Status.CONFIRMED)
        left = self.get(e, "timeout", where, "num")
        c.expires = now + left if version == 1 else self.get(e, "expires", where, "num")
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

    # ---- version 2: the trackers' state
    def u32s(self, v: Any, where: str, n: int, *, signed: bool = False) -> list[int]:
        lo, hi = (-(1 << 31), (1 << 31) - 1) if signed else (0, 0xFFFFFFFF)
        if (not isinstance(v, list) or len(v) != n or any(
                isinstance(x, bool) or not isinstance(x, int) or not lo <= x <= hi for x in v)):
            self.fail(where, f"expected {n} {'32-bit signed' if signed else '32-bit unsigned'} "
                      f"integers, got {self._tname(v)}")
        return v

    def proto(self, e: dict, where: str, c: Conn) -> None:
        p = self.get(e, "proto", where, "obj", null=True)
        where = f"{where}.proto"
        want = {6: "tcp", 132: "sctp", 17: "udp", 136: "udp"}.get(c.protonum)
        if p is None:
            if want in ("tcp", "sctp"):
                self.fail(where, f"a {want} entry needs its {want} state, got null")
            return
        kind = self.get(p, "kind", where, "str")
        if kind != want:
            self.fail(f"{where}.kind", f"expected {json.dumps(want) if want else 'null proto'} for "
                      f"protocol {c.protonum}, got {self._tname(kind)}")
        if kind == "udp":
            c.proto = self.get(p, "stream_until", where, "num")
            return
        states = TcpState if kind == "tcp" else SctpState
        st = self.get(p, "state", where, "int", hi=int(states.MAX))
        if kind == "tcp":
            seen = self.get(p, "seen", where, "list")
            if len(seen) != 2:
                self.fail(f"{where}.seen", f"expected 2 directions, got {len(seen)}")
            tp = TcpProto()
            tp.state = TcpState(st)
            for i, d in enumerate(seen):
                v = self.u32s(d, f"{where}.seen[{i}]", 6)
                tp.seen[i] = TcpSeen(*v)
            last = self.u32s(self.get(p, "last", where, "list"), f"{where}.last", 9)
            if last[0] > 1 or last[2] > int(TcpIndex.NONE):
                self.fail(f"{where}.last", "expected [dir 0|1, retrans, index 0..5, seq, ack, end, "
                          "win, wscale, flags]")
            (tp.last_dir, tp.retrans, idx, tp.last_seq, tp.last_ack, tp.last_end, tp.last_win,
             tp.last_wscale, tp.last_flags) = last
            tp.last_index = TcpIndex(idx)
            c.proto = tp
            return
        sp = SctpProto()
        sp.state = SctpState(st)
        sp.vtag = list(self.u32s(self.get(p, "vtag", where, "list"), f"{where}.vtag", 2))
        init = self.get(p, "init", where, "list")
        if len(init) != 2 or not all(isinstance(x, bool) for x in init):
            self.fail(f"{where}.init", f"expected 2 booleans, got {self._tname(init)}")
        sp.init = list(init)
        hb = p.get("hb_vtag_failed", False)
        if not isinstance(hb, bool):
            self.fail(f"{where}.hb_vtag_failed", f"expected a boolean, got {self._tname(hb)}")
        sp.hb_vtag_failed = hb
        sp.last_dir = self.get(p, "last_dir", where, "int", hi=1)
        c.proto = sp

    def shaped(self, default: Any, v: Any, where: str) -> Any:
        """A helper-data value: the shape of the helper's fresh data (lists of lists
        of 32-bit integers, integers, booleans)."""
        if isinstance(default, bool) or isinstance(v, bool):
            if not isinstance(v, bool) or not isinstance(default, bool):
                self.fail(where, f"expected {'a boolean' if isinstance(default, bool) else 'an integer'}"
                          f", got {self._tname(v)}")
            return v
        if isinstance(default, int) or default is None:
            if not isinstance(v, int) or not 0 <= v <= 0xFFFFFFFF:
                self.fail(where, f"expected a 32-bit unsigned integer, got {self._tname(v)}")
            return v
        if isinstance(default, list):
            if not isinstance(v, list) or (default and len(v) != len(default)) or len(v) > 16:
                self.fail(where, f"expected an array of {len(default) or 'up to 16'}, got {self._tname(v)}")
            return [self.shaped(default[i] if i < len(default) else None, x, f"{where}[{i}]")
                    for i, x in enumerate(v)]
        self.fail(where, "this helper's data cannot be restored")

    def extras(self, e: dict, where: str, c: Conn, nat_info: Callable[[dict], Any] | None) -> None:
        """helper_data, nat, seqadj, ext of a version 2 entry."""
        from pkttables.conntrack.helpers import HelperExt, get_helper
        if c.helper is not None:
            h = get_helper(c.helper)
            if h is None:
                self.fail(f"{where}.helper", f"unknown helper {self._tname(c.helper)}")
            hx = HelperExt(h)
            data = self.get(e, "helper_data", where, "obj", null=True)
            if data is not None:
                slots = getattr(type(hx.data), "__slots__", ())
                for k, v in data.items():
                    if k not in slots:
                        self.fail(f"{where}.helper_data", f"the {c.helper} helper keeps no \"{k}\"")
                    setattr(hx.data, k, self.shaped(getattr(hx.data, k), v, f"{where}.helper_data.{k}"))
            c.ext["helper"] = hx
        nat = self.get(e, "nat", where, "obj", null=True)
        if nat is not None:
            ifn = nat.get("masq_ifname")
            if ifn is not None and not isinstance(ifn, str):
                self.fail(f"{where}.nat.masq_ifname", f"expected a string or null, got {self._tname(ifn)}")
            idx = self.get(nat, "masq_index", f"{where}.nat", "int", hi=0xFFFFFFFF)
            info = {"masq_ifname": ifn, "masq_index": idx}
            c.nat = nat_info(info) if nat_info is not None else _SavedNat(ifn, idx)
        adj = self.get(e, "seqadj", where, "list", null=True)
        if adj is not None:
            if len(adj) != 2:
                self.fail(f"{where}.seqadj", f"expected 2 directions, got {len(adj)}")
            dirs = []
            for i, d in enumerate(adj):
                if not isinstance(d, list) or len(d) != 3:
                    self.fail(f"{where}.seqadj[{i}]", "expected [correction_pos, offset_before, "
                              f"offset_after], got {self._tname(d)}")
                pos = self.u32s(d[:1], f"{where}.seqadj[{i}]", 1)
                before, after = self.u32s(d[1:], f"{where}.seqadj[{i}]", 2, signed=True)
                sd = SeqAdjDir()
                sd.correction_pos, sd.offset_before, sd.offset_after = pos[0], before, after
                dirs.append(sd)
            c.ext["seqadj"] = dirs
        ext = self.get(e, "ext", where, "obj")
        p = f"{where}.ext"
        for k in ext:
            if k not in ("timeout", "timeout_obj", "eventmask", "master_put"):
                self.fail(p, f"unknown key \"{k}\"")
        if "timeout" in ext:
            t = self.get(ext, "timeout", p, "obj")
            keys = {6: TcpState, 132: SctpState}.get(c.protonum)
            values: dict[Any, int] = {}
            for k, v in t.items():
                if keys is not None:
                    if k not in keys.__members__:
                        self.fail(f"{p}.timeout", f"unknown state {json.dumps(k)}")
                    key: Any = keys[k]
                else:
                    key = k
                values[key] = self.get(t, k, f"{p}.timeout", "int", hi=0xFFFFFFFF)
            c.ext["timeout"] = values
        if "timeout_obj" in ext:
            o = ext["timeout_obj"]
            if not isinstance(o, list) or len(o) != 3 or not all(isinstance(x, str) for x in o):
                self.fail(f"{p}.timeout_obj", f"expected [family, table, name], got {self._tname(o)}")
            c.ext["timeout_obj"] = tuple(o)
        if "eventmask" in ext:
            c.ext["eventmask"] = self.get(ext, "eventmask", p, "int", hi=0xFFFFFFFF)
        if "master_put" in ext:
            if not isinstance(ext["master_put"], bool):
                self.fail(f"{p}.master_put", f"expected a boolean, got {self._tname(ext['master_put'])}")
            if ext["master_put"]:
                c.ext["master_put"] = True

    def expectation(self, x: Any, where: str, conns: list[Conn], expectfn) -> Expectation:
        from pkttables.conntrack.helpers import get_helper
        if not isinstance(x, dict):
            self.fail(where, f"expected an object, got {self._tname(x)}")
        l3num = self.l3(x, where)
        t = self.tuple_(x, "tuple", where, l3num, self.get(x, "protonum", where, "int", hi=255))
        mask = self.addr(x, "src_mask", where, l3num, "mask")
        mi = self.get(x, "master", where, "int", hi=max(len(conns) - 1, 0))
        if mi >= len(conns):
            self.fail(f"{where}.master", "no entry to be the master")
        hname = self.get(x, "helper", where, "str", null=True)
        helper = None
        if hname is not None:
            helper = get_helper(hname)
            if helper is None:
                self.fail(f"{where}.helper", f"unknown helper {self._tname(hname)}")
        exp = Expectation(t, conns[mi], src_mask=mask,
                          sport_mask=self.get(x, "sport_mask", where, "int", hi=0xFFFF),
                          cls=self.get(x, "class", where, "int", hi=0xFFFFFFFF),
                          flags=self.get(x, "flags", where, "int", hi=int(ExpectFlag.PERMANENT
                                         | ExpectFlag.INACTIVE | ExpectFlag.USERSPACE)),
                          helper_name=self.get(x, "helper_name", where, "str"), helper=helper)
        exp.zone = self.get(x, "zone", where, "int", hi=0xFFFF)
        exp.timeout = self.get(x, "timeout", where, "num")
        exp.expires = self.get(x, "expires", where, "num")
        nat = self.get(x, "nat", where, "obj", null=True)
        if nat is not None:
            p = f"{where}.nat"
            exp.saved_addr = self.addr(nat, "saved_addr", p, l3num)
            exp.saved_port = self.get(nat, "saved_port", p, "int", hi=0xFFFF)
            exp.dir = self.get(nat, "dir", p, "int", hi=1)
            if expectfn is not None:
                exp.expectfn = expectfn(exp)
        return exp

    def document(self, doc: Any, table: ConntrackTable, *, resume: bool = False,
                 expectfn=None, nat_info=None) -> "Snapshot":
        if not isinstance(doc, dict):
            self.fail("$", f"expected an object, got {self._tname(doc)}")
        fmt = self.get(doc, "format", "$", "str")
        if fmt != FORMAT:
            self.fail("$.format", f"not a conntrack snapshot (expected \"{FORMAT}\", got {self._tname(fmt)})")
        ver = self.get(doc, "version", "$", "int")
        if ver not in VERSIONS:
            self.fail("$.version", f"version {ver} is not supported (this pkttables reads "
                      f"{', '.join(map(str, VERSIONS))})")
        if resume and ver < 2:
            self.fail("$.version", f"version {ver} keeps only what -L shows, not the trackers' state: "
                      "it cannot take more packets (write it again with this pkttables)")
        now = self.get(doc, "now", "$", "num")
        packets = self.get(doc, "packets", "$", "int") if ver >= 2 else 0
        seen: set[bytes] = set()
        conns: list[Conn] = []
        raw = self.get(doc, "entries", "$", "list")
        for i, e in enumerate(raw):
            where = f"$.entries[{i}]"
            c = self.entry(e, where, now, ver)
            if ver >= 2:
                self.proto(e, where, c)
                self.extras(e, where, c, nat_info)
            keys = _hkeys(c)
            if any(k in seen for k in keys):
                self.fail(where, "a tuple of this entry is already another entry's "
                          "(the table holds each tuple once)")
            seen.update(keys)
            conns.append(c)
        if ver >= 2:
            for i, (e, c) in enumerate(zip(raw, conns)):
                mi = self.get(e, "master", f"$.entries[{i}]", "int", hi=0xFFFFFFFF, null=True)
                if mi is not None:
                    if mi >= len(conns) or mi == i:
                        self.fail(f"$.entries[{i}].master", f"expected the index of another entry, got {mi}")
                    c.master = conns[mi]
        exps = [self.expectation(x, f"$.expectations[{i}]", conns, expectfn)
                for i, x in enumerate(self.get(doc, "expectations", "$", "list"))] if ver >= 2 else []
        for c in conns:
            table._insert(c, now)
        for x in exps:
            table.expect_table.restore(x)
        return Snapshot(table, now, packets, ver)


class _SavedNat:
    """``struct nf_conn_nat`` of a loaded entry when no NAT module rebuilt it."""
    __slots__ = ("masq_ifname", "masq_index")

    def __init__(self, masq_ifname: str | None, masq_index: int):
        self.masq_ifname, self.masq_index = masq_ifname, masq_index


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A loaded snapshot: the table, its clock (``now``), how many packets the run
    that wrote it had seen, and the file's version."""
    table: ConntrackTable
    now: float
    packets: int
    version: int


def load_snapshot(doc: Any, path: str = "<snapshot>", table: ConntrackTable | None = None
                  ) -> tuple[ConntrackTable, float]:
    """A table (and its ``now``) from a decoded snapshot document."""
    snap = load_snapshot_full(doc, path, table)
    return snap.table, snap.now


def load_snapshot_full(doc: Any, path: str = "<snapshot>", table: ConntrackTable | None = None, *,
                       resume: bool = False, expectfn: Callable[[Expectation], Any] | None = None,
                       nat_info: Callable[[dict], Any] | None = None) -> Snapshot:
    """Load a decoded snapshot into ``table`` (a new one by default).

    ``resume``: the table will take more packets: version 1 files are refused.
    ``expectfn(exp)``: the callback a NATed expectation gets (nf_nat_follow_master),
    ``nat_info(dict)``: the ``Conn.nat`` object from ``{"masq_ifname", "masq_index"}``
    -- both given by the layer that owns NAT (``pkt simulate``).  On an error nothing
    is inserted into ``table``."""
    table = ConntrackTable(keep_events=False) if table is None else table
    return _Reader(path).document(doc, table, resume=resume, expectfn=expectfn, nat_info=nat_info)


def read_snapshot(path: str) -> tuple[ConntrackTable, float]:
    """Read a snapshot file; raises :class:`SnapshotError` with the place of the fault."""
    snap = read_snapshot_full(path)
    return snap.table, snap.now


def read_snapshot_full(path: str, table: ConntrackTable | None = None, **kw: Any) -> Snapshot:
    """:func:`read_snapshot` with :func:`load_snapshot_full`'s options."""
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
    return load_snapshot_full(doc, path, table, **kw)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")

