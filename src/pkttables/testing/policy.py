"""Policy tests: assertions about a ruleset, written as a small TOML file (`pkt test SPEC`).

Theory of operation
-------------------
A *spec* names a ruleset and a host file and lists *cases*.  A case is one packet (or a
``flow`` of several) that arrives on an interface, with the outcome the user expects:
the verdict, the deciding rule, the conntrack state, the NAT rewrite, the interface the
packet leaves by.  Each case runs in a fresh :class:`pkttables.datapath.Simulator` (the
same engine as ``pkt simulate``: host stack, conntrack, NAT, the reference
interpreter), so cases do not leak state into each other.  State a case needs -- an
established connection, a NAT binding -- is built by ``after = ["other case"]``: the
packets of those cases (and of their own ``after``, depth first, each once) are
replayed first, with their expectations left to their own case.

Packets are built from fields (``proto``, ``src``, ``dst``, ``dport``, ``flags``, ...)
with :mod:`pkttables.testing.packets`, so the bytes are exact and checksums are right.
Packet *i* of a case's run arrives at ``t0 + i * 10 ms`` unless it says ``at``.

When an expectation fails, the case is run once more with a table that sets
``meta nftrace set 1`` at priority -350 in prerouting and output (what a user does
before ``nft monitor trace``), and the failure message shows the trace lines of the
failing packet: the kernel's ``nft monitor trace`` text.  The extra table only sets the
trace bit, so the verdicts of the second run are the first run's.

Validation follows the rest of pkttables: a bad spec is one :class:`~pkttables.errors.PktError`
whose location names the line and columns of the offending key (``tomllib`` gives no
positions; :mod:`pkttables.stack._tomlscan` finds them).

Format: docs/policy-tests.md.  Python use::

    from pkttables.testing.policy import load_spec, run_spec
    report = run_spec(load_spec("policy.toml"))
    assert report.ok, report.render()
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from pkttables.errors import Diagnostic, Location, PktError

__all__ = ["PolicySpecError", "PacketSpec", "Expect", "Case", "PolicySpec", "Mismatch", "CaseResult",
           "Report", "load_spec", "parse_spec", "run_case", "run_spec", "check_spec", "build_frame",
           "build_packet", "check_expect", "case_packets", "packet_times",
           "T0_NS", "STEP_NS", "TRACE_TABLE"]

#: the time of a run's first packet (2025-11-24 00:00:00 UTC, as the example capture)
T0_NS = 1_763_942_400 * 10**9
#: the gap between packets that do not say ``at``
STEP_NS = 10_000_000
#: the table added to re-run a failing case with tracing on
TRACE_TABLE = "pkt_policy_trace"
_SYNTH_SRC_MAC = "02:00:00:00:00:fe"
_LINK_ETHERNET, _LINK_RAW = 1, 101

_TOP_KEYS = {"ruleset", "host", "seed", "case", "description"}
_CASE_KEYS = {"name", "packet", "flow", "expect", "after", "description"}
_PACKET_KEYS = {"iif", "proto", "src", "dst", "sport", "dport", "flags", "seq", "ack", "window", "type",
                "code", "id", "sequence", "ttl", "payload", "payload_hex", "src_mac", "dst_mac", "vlan",
                "quote", "at", "expect", "df"}
_QUOTE_KEYS = {"proto", "src", "dst", "sport", "dport", "flags", "seq", "ack", "type", "code", "id",
               "sequence", "ttl", "payload"}
_EXPECT_KEYS = {"verdict", "rule", "chain", "nat", "oif", "emitted", "ct", "reason", "log", "trace"}
_NAT_KEYS = {"saddr", "daddr", "sport", "dport"}
_VERDICTS = ("accept", "drop", "local", "queue", "stolen")
_CT_STATES = ("new", "established", "related", "invalid", "untracked", "off")
_PROTOS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "ipv6-icmp": 58}
# tcpdump's flag letters ("." is ACK there too)
_FLAG_LETTERS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, ".": 0x10, "U": 0x20,
                 "E": 0x40, "W": 0x80, "C": 0x80}
_FLAG_NAMES = {"fin": 0x01, "syn": 0x02, "rst": 0x04, "psh": 0x08, "ack": 0x10, "urg": 0x20,
               "ecn": 0x40, "cwr": 0x80}


class PolicySpecError(PktError):
    """A policy-test spec that is not valid TOML or not a valid spec."""


# ------------------------------------------------------------------ values
@dataclass(frozen=True, slots=True)
class Expect:
    """What one packet must do.  ``None`` means "not checked".  ``where`` maps each
    given key to its location in the spec, for failure messages."""
    verdict: str | None = None
    rule: str | None = None
    chain: str | None = None
    nat: dict[str, Any] | bool | None = None     # False: no translation
    oif: str | None = None                       # "none": the packet does not leave
    emitted: tuple[tuple[str | None, str | None], ...] | None = None   # (oif, kind) pairs
    ct: str | None = None
    reason: str | None = None
    log: str | None = None
    trace: str | None = None
    where: dict[str, Location] = field(default_factory=dict, compare=False)

    def keys(self) -> list[str]:
        return [k for k in ("verdict", "rule", "chain", "nat", "oif", "emitted", "ct", "reason", "log", "trace")
                if getattr(self, k) is not None]


@dataclass(frozen=True, slots=True)
class PacketSpec:
    """One packet of a case: the frame as it arrives on ``iif`` (``local``: an IP packet
    the host sends), when, and what it must do."""
    iif: str
    data: bytes
    link: int
    text: str                    # "tcp 198.51.100.7:40000 -> 203.0.113.2:22 [S] on wan0"
    at_ns: int | None = None
    expect: Expect | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    packets: tuple[PacketSpec, ...]
    after: tuple[str, ...] = ()
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class PolicySpec:
    path: str
    ruleset_path: str
    host_path: str | None
    seed: int
    cases: tuple[Case, ...]
    ruleset: Any = field(repr=False, compare=False, default=None)
    host: Any = field(repr=False, compare=False, default=None)

    def case(self, name: str) -> Case:
        for c in self.cases:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One expectation that did not hold."""
    packet: int                  # index of the packet in the case (its own packets, from 0)
    key: str                     # "verdict", "nat.daddr", ...
    expected: str
    got: str
    location: Location | None = None

    def render(self) -> str:
        where = f" ({self.location})" if self.location is not None else ""
        return f"expect.{self.key}{where}: expected {self.expected}, got {self.got}"


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    mismatches: tuple[Mismatch, ...] = ()
    results: tuple[Any, ...] = ()             # PacketResult of the case's own packets
    traces: tuple[tuple[str, ...], ...] = ()  # per own packet, from the traced re-run (failures only)
    error: str | None = None                  # the run could not be done (e.g. an unbound set)

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.error is None

    def render(self) -> str:
        """``ok NAME`` or ``FAIL NAME`` with what failed, the packet and its trace."""
        c = self.case
        if self.ok:
            return f"ok   {c.name}"
        where = f"  ({c.location.file}:{c.location.line})" if c.location is not None else ""
        out = [f"FAIL {c.name}{where}"]
        if self.error is not None:
            out.append(f"  error: {self.error}")
        by_packet: dict[int, list[Mismatch]] = {}
        for m in self.mismatches:
            by_packet.setdefault(m.packet, []).append(m)
        for i, ms in sorted(by_packet.items()):
            p = c.packets[i]
            out.append(f"  packet {i}: {p.text}")
            if i < len(self.results):
                out.append(f"    got: {_describe_result(self.results[i])}")
            for m in ms:
                out.append(f"    {m.render()}")
            trace = self.traces[i] if i < len(self.traces) else ()
            if trace:
                out.append("    trace (nft monitor trace):")
                out.extend(f"      {line}" for line in trace)
            elif self.traces:
                out.append("    trace: no trace lines (no base chain saw the packet)")
        return "\n".join(out)


@dataclass(frozen=True, slots=True)
class Report:
    spec: PolicySpec
    results: tuple[CaseResult, ...]

    @property
    def passed(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"

    def render(self, verbose: bool = True) -> str:
        lines = [r.render() for r in self.results if verbose or not r.ok]
        return "\n".join(lines + [self.summary()])


# ------------------------------------------------------------------ locations
class _Where:
    """Locations of keys in the spec text (tomllib forgets them)."""

    def __init__(self, path: str, text: str):
        from pkttables.stack._tomlscan import scan

        self.path = path
        self.scan = scan(text)
        self.cases = self.scan.occurrences("case")

    def _loc(self, line: int, first: int = 0, last: int = 0) -> Location:
        return Location(self.path, line, first, last, self.scan.line_text(line))

    def top(self, key: str) -> Location:
        root = self.scan.tables[0]
        k = root.keys.get((key,))
        if k is not None:
            return self._loc(k.line, k.value_col, k.value_end)
        return Location(self.path, 1)

    def case(self, i: int, path: Sequence[str | int] = ()) -> Location:
        if i >= len(self.cases):   # cases written as an inline array: no header to point at
            return self.top("case")
        head = self.cases[i]
        nxt = [t.line for t in self.cases if t.line > head.line]
        end = nxt[0] if nxt else len(self.scan.lines) + 1
        region = [t for t in self.scan.tables if head.line <= t.line < end and t.name[:1] == ("case",)]
        best = self._loc(head.line, head.col, head.end_col)
        best_len = -1
        seen: dict[tuple[str, ...], int] = {}
        for t in region:
            rel: tuple[str | int, ...] = t.name[1:]
            if t.array and rel:
                n = seen.get(t.name, 0)
                seen[t.name] = n + 1
                rel = rel + (n,)
            if tuple(path[:len(rel)]) != rel:
                continue
            rest = list(path[len(rel):])
            loc, used = self._in_table(t, rest)
            if loc is None:
                loc, used = self._loc(t.line, t.col, t.end_col), 0
            if len(rel) + used > best_len:
                best, best_len = loc, len(rel) + used
        return best

    def _in_table(self, t, rest: list[str | int]) -> tuple[Location | None, int]:
        names = [p for p in rest if isinstance(p, str)]
        for n in range(len(names), 0, -1):
            k = t.keys.get(tuple(names[:n]))
            if k is None:
                continue
            line = self.scan.line_text(k.line) or ""
            first, last, used = k.key_col, k.key_end, n
            col = k.value_col - 1
            # Inline tables are one line in TOML: find the inner keys on it, in order.
            for inner in names[n:]:
                j = _find_key(line, inner, col)
                if j < 0:
                    break
                first, last, col, used = j + 1, j + len(inner), j + len(inner), used + 1
            return self._loc(k.line, first, last), used
        return None, 0


def _find_key(line: str, key: str, start: int) -> int:
    i = start
    while True:
        j = line.find(key, i)
        if j < 0:
            return -1
        before = line[j - 1] if j > 0 else " "
        after = line[j + len(key):].lstrip()
        if before in " \t{,." and after[:1] in ("=", "."):   # `key =` or a dotted `key.sub =`
            return j
        i = j + 1


# ------------------------------------------------------------------ loading
def load_spec(path: str) -> PolicySpec:
    """Read and validate a spec file, and load its ruleset and host (paths relative to
    the spec).  Raises :class:`PolicySpecError` (or the ruleset's/host's own errors)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as e:
        raise PolicySpecError(f"cannot read policy spec '{path}': {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PolicySpecError(f"{path}: not UTF-8 text (byte {e.start})") from None
    return parse_spec(text, path)


def parse_spec(text: str, path: str = "<spec>", *, load: bool = True) -> PolicySpec:
    """Validate spec text; ``load`` also reads its ruleset and host files."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line = getattr(e, "lineno", None)
        msg = str(e)
        if line is None:
            import re
            m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
            line, col = (int(m.group(1)), int(m.group(2))) if m else (None, 0)
            msg = re.sub(r" \(at line \d+, column \d+\)", "", msg)
            if m is None and msg.endswith("(at end of document)"):
                # tomllib names no line there: the last one, after its last character
                # (as the host loader does, stack/host.py)
                tail = text.split("\n")
                line, col = len(tail), len(tail[-1]) + 1
        else:
            col = getattr(e, "colno", 0)
        lines = text.split("\n")
        loc = Location(path, line, col, col, lines[line - 1] if line and line <= len(lines) else None) \
            if line else None
        raise PolicySpecError(Diagnostic(loc, f"not valid TOML: {msg}")) from None
    w = _Where(path, text)
    return _Loader(path, data, w, load).spec()


class _Loader:
    def __init__(self, path: str, data: dict, where: _Where, load: bool):
        self.path, self.data, self.w, self.load = path, data, where, load
        self.base = os.path.dirname(path) or "."
        self.host = None

    def err(self, loc: Location, msg: str) -> PolicySpecError:
        return PolicySpecError(Diagnostic(loc, msg))

    def spec(self) -> PolicySpec:
        d = self.data
        for k in d:
            if k not in _TOP_KEYS:
                raise self.err(self.w.top(k), f"unknown key '{k}' (known: {', '.join(sorted(_TOP_KEYS))})")
        rs = d.get("ruleset")
        if not isinstance(rs, str) or not rs:
            raise self.err(self.w.top("ruleset"), "'ruleset' must name the ruleset file (a string)")
        host = d.get("host")
        if host is not None and (not isinstance(host, str) or not host):
            raise self.err(self.w.top("host"), "'host' must name the host file (a string)")
        seed = d.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 1 << 63:
            raise self.err(self.w.top("seed"), "'seed' must be a non-negative 64-bit integer")
        rs_path = os.path.join(self.base, rs)
        host_path = os.path.join(self.base, host) if host else None
        ruleset = host_obj = None
        from pkttables.stack.host import Host, load_host

        if self.load:
            for what, p in (("ruleset", rs_path), ("host", host_path)):
                if p is not None and not os.path.isfile(p):
                    raise self.err(self.w.top(what), f"{what} file '{p}' does not exist")
            host_obj = load_host(host_path) if host_path else Host.single_interface()
            from pkttables.datapath import load_ruleset
            ruleset = load_ruleset(rs_path, host_obj)
        self.host = host_obj
        cases_raw = d.get("case")
        if not isinstance(cases_raw, list) or not cases_raw:
            raise self.err(self.w.top("case") if "case" in d else Location(self.path, 1),
                           "the spec has no cases: add [[case]] tables")
        cases = [self.case(i, c) for i, c in enumerate(cases_raw)]
        names: dict[str, int] = {}
        for i, c in enumerate(cases):
            if c.name in names:
                raise self.err(self.w.case(i, ("name",)), f"case name '{c.name}' is used twice "
                               f"(first at line {cases[names[c.name]].location.line})")
            names[c.name] = i
        for i, c in enumerate(cases):
            for a in c.after:
                if a not in names:
                    raise self.err(self.w.case(i, ("after",)), f"'after' names no case '{a}'")
            _order(cases, i, names, self.w)
        return PolicySpec(self.path, rs_path, host_path, seed, tuple(cases), ruleset, host_obj)

    def case(self, i: int, c: Any) -> Case:
        w = self.w
        if not isinstance(c, dict):
            raise self.err(w.case(i), "a case must be a table")
        for k in c:
            if k not in _CASE_KEYS:
                raise self.err(w.case(i, (k,)), f"unknown case key '{k}' (known: {', '.join(sorted(_CASE_KEYS))})")
        name = c.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.err(w.case(i, ("name",)), "a case needs a 'name' (a non-empty string)")
        after = c.get("after", [])
        if isinstance(after, str):
            after = [after]
        if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
            raise self.err(w.case(i, ("after",)), "'after' must be a list of case names")
        if ("packet" in c) == ("flow" in c):
            raise self.err(w.case(i), f"case '{name}' needs either 'packet' (one) or 'flow' (a list), not "
                           f"{'both' if 'packet' in c else 'neither'}")
        if "packet" in c:
            raws, paths = [c["packet"]], [("packet",)]
        else:
            flow = c["flow"]
            if not isinstance(flow, list) or not flow:
                raise self.err(w.case(i, ("flow",)), "'flow' must be a non-empty list of packets")
            raws, paths = flow, [("flow", j) for j in range(len(flow))]
        packets = [self.packet(i, p, r) for p, r in zip(paths, raws)]
        if "expect" in c:
            exp = self.expect(i, ("expect",), c["expect"])
            if packets[-1].expect is not None:
                raise self.err(w.case(i, ("expect",)), "the case's 'expect' is for its last packet, which "
                               "has an 'expect' of its own: keep one")
            last = packets[-1]
            packets[-1] = PacketSpec(last.iif, last.data, last.link, last.text, last.at_ns, exp, last.location)
        prev = None
        for j, p in enumerate(packets):
            if p.at_ns is not None:
                if prev is not None and p.at_ns < prev:
                    raise self.err(p.location or w.case(i), "'at' goes backwards: packets are in time order")
                prev = p.at_ns
        return Case(name, tuple(packets), tuple(after), w.case(i, ("name",)))

    # ---------------------------------------------------------- packets
    def packet(self, i: int, path: tuple, p: Any) -> PacketSpec:
        w = self.w
        here = w.case(i, path)
        if not isinstance(p, dict):
            raise self.err(here, "a packet must be a table of fields (iif, proto, src, dst, ...)")
        for k in p:
            if k not in _PACKET_KEYS:
                raise self.err(w.case(i, path + (k,)), f"unknown packet field '{k}' "
                               f"(known: {', '.join(sorted(_PACKET_KEYS))})")

        def loc(k: str) -> Location:
            return w.case(i, path + (k,))

        iif = p.get("iif")
        if not isinstance(iif, str) or not iif:
            raise self.err(here, "a packet needs 'iif': the interface it arrives on, or \"local\"")
        if self.host is not None and iif != "local":
            dev = self.host.interfaces.get(iif)
            if dev is None or dev.kind == "loopback":
                known = ", ".join(n for n, d in self.host.interfaces.items() if d.kind != "loopback")
                raise self.err(loc("iif"), f"no interface '{iif}' in the host (known: {known}, local)")
        ip, summary = build_packet(p, lambda k, msg: self.err(loc(k), msg))
        at = p.get("at")
        at_ns = None
        if at is not None:
            if isinstance(at, bool) or not isinstance(at, (int, float)) or at < 0:
                raise self.err(loc("at"), "'at' must be a number of seconds from the start of the run")
            at_ns = T0_NS + int(round(at * 1e9))
        if iif == "local":
            data, link = ip, _LINK_RAW
        else:
            from pkttables.testing.packets import ether
            dst_mac = p.get("dst_mac")
            if dst_mac is None:
                dev = self.host.interfaces.get(iif) if self.host is not None else None
                dst_mac = dev.mac if dev is not None else b"\xff" * 6
            src_mac = p.get("src_mac", _SYNTH_SRC_MAC)
            vlan = p.get("vlan")
            try:
                data = ether(_mac(dst_mac, "dst_mac"), _mac(src_mac, "src_mac"), ip,
                             vlan=_int(vlan, "vlan", 0, 4095) if vlan is not None else None)
            except _FieldError as e:
                raise self.err(loc(e.key), e.msg) from None
            link = _LINK_ETHERNET
        exp = self.expect(i, path + ("expect",), p["expect"]) if "expect" in p else None
        return PacketSpec(iif, data, link, f"{summary} on {iif}", at_ns, exp, here)

    def expect(self, i: int, path: tuple, e: Any) -> Expect:
        w = self.w

        def loc(*k: str) -> Location:
            return w.case(i, path + k)

        if not isinstance(e, dict):
            raise self.err(loc(), "'expect' must be a table (verdict, rule, nat, oif, ct, ...)")
        where: dict[str, Location] = {}
        vals: dict[str, Any] = {}
        for k, v in e.items():
            if k not in _EXPECT_KEYS:
                raise self.err(loc(k), f"unknown expectation '{k}' (known: {', '.join(sorted(_EXPECT_KEYS))})")
            where[k] = loc(k)
            if k == "verdict":
                if v not in _VERDICTS:
                    raise self.err(loc(k), f"verdict must be one of {', '.join(_VERDICTS)} (local: accepted "
                                   "and delivered to the host; accept: accepted and sent on)")
            elif k == "ct":
                if v not in _CT_STATES:
                    raise self.err(loc(k), f"ct must be one of {', '.join(_CT_STATES)}")
            elif k == "nat":
                if v is False:
                    pass
                elif isinstance(v, dict) and v:
                    for nk, nv in v.items():
                        if nk not in _NAT_KEYS:
                            raise self.err(loc(k, nk), f"unknown nat field '{nk}' (known: "
                                           f"{', '.join(sorted(_NAT_KEYS))})")
                        where[f"nat.{nk}"] = loc(k, nk)
                        try:
                            if nk in ("saddr", "daddr"):
                                ipaddress.ip_address(nv)
                            else:
                                _int(nv, nk, 0, 65535)
                        except (ValueError, TypeError, _FieldError):
                            raise self.err(loc(k, nk), f"nat.{nk}: not a valid "
                                           f"{'address' if nk.endswith('addr') else 'port'}: {nv!r}") from None
                    v = dict(v)
                else:
                    raise self.err(loc(k), "nat must be a table (saddr, daddr, sport, dport) or false")
            elif k == "emitted":
                if not isinstance(v, list):
                    raise self.err(loc(k), "emitted must be a list of {oif = ..., kind = ...} tables")
                pairs = []
                for x in v:
                    if not isinstance(x, dict) or not x or set(x) - {"oif", "kind"} \
                            or not all(isinstance(y, str) for y in x.values()):
                        raise self.err(loc(k), "emitted must be a list of {oif = ..., kind = ...} tables")
                    pairs.append((x.get("oif"), x.get("kind")))
                v = tuple(pairs)
            elif not isinstance(v, str) or not v:
                raise self.err(loc(k), f"{k} must be a non-empty string")
            vals[k] = v
        return Expect(**vals, where=where)


def _order(cases: list[Case], i: int, names: dict[str, int], w: _Where) -> list[int]:
    """The prerequisite cases of case ``i`` in replay order (depth first, each once)."""
    out: list[int] = []
    state: dict[int, int] = {}

    def visit(k: int, chain: list[str]) -> None:
        if state.get(k) == 2:
            return
        if state.get(k) == 1:
            raise PolicySpecError(Diagnostic(w.case(k, ("after",)), "'after' goes round in a circle: "
                                             + " -> ".join(chain + [cases[k].name])))
        state[k] = 1
        for a in cases[k].after:
            visit(names[a], chain + [cases[k].name])
        state[k] = 2
        out.append(k)

    visit(i, [])
    return out[:-1]


# ------------------------------------------------------------------ building packets
class _FieldError(Exception):
    def __init__(self, key: str, msg: str):
        self.key, self.msg = key, msg


def _int(v: Any, key: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise _FieldError(key, f"'{key}' must be an integer {lo}-{hi}, not {v!r}")
    return v


def _mac(v: Any, key: str) -> bytes:
    if isinstance(v, bytes):
        return v
    try:
        b = bytes.fromhex(str(v).replace(":", ""))
        if len(b) == 6:
            return b
    except ValueError:
        pass
    raise _FieldError(key, f"'{key}' must be a MAC address like 02:00:00:00:00:01, not {v!r}")


def _tcp_flags(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255:
        return v
    if not isinstance(v, str) or not v:
        raise _FieldError("flags", "'flags' must be tcpdump letters (\"S\", \"SA\", \"PA\", \"FA\", \"R\") "
                          "or names (\"syn,ack\")")
    if all(c in _FLAG_LETTERS for c in v):   # names are lower case, letters upper case
        out = 0
        for c in v:
            out |= _FLAG_LETTERS[c]
        return out
    out = 0
    for name in v.replace("|", ",").split(","):
        name = name.strip().lower()
        if name not in _FLAG_NAMES:
            raise _FieldError("flags", f"unknown TCP flag '{name}' (letters FSRPAUEW or names "
                              f"{', '.join(_FLAG_NAMES)})")
        out |= _FLAG_NAMES[name]
    return out


def _flag_text(flags: int) -> str:
    s = "".join(c for c, b in (("F", 1), ("S", 2), ("R", 4), ("P", 8), ("U", 32), ("E", 64), ("W", 128))
                if flags & b)
    return s + ("." if flags & 0x10 else "")


def _icmp_value(v: Any, key: str, v6: bool) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return _int(v, key, 0, 255)
    from pkttables.types import DATATYPES

    dt = DATATYPES[f"icmp{'v6' if v6 else ''}_{'type' if key == 'type' else 'code'}"]
    try:
        return int(dt.parse(str(v)))
    except PktError:
        names = ", ".join(n for n, _ in dt.symbols)
        raise _FieldError(key, f"unknown ICMP{'v6' if v6 else ''} {key} '{v}' (known: {names})") from None


def build_packet(p: dict[str, Any], err=None) -> tuple[bytes, str]:
    """The IP packet (bytes) described by a spec's packet table, and a one-line summary.
    ``err(key, message)`` makes the exception for a bad field (default: ValueError)."""
    try:
        return _build(p, quoted=False)
    except _FieldError as e:
        if err is None:
            raise ValueError(e.msg) from None
        raise err(e.key, e.msg) from None


def build_frame(p: dict[str, Any], dst_mac: str = "ff:ff:ff:ff:ff:ff", src_mac: str = _SYNTH_SRC_MAC) -> bytes:
    """An Ethernet frame from a packet table (for users' own tests)."""
    from pkttables.testing.packets import ether

    return ether(_mac(dst_mac, "dst_mac"), _mac(src_mac, "src_mac"), build_packet(p)[0])


def _build(p: dict[str, Any], quoted: bool) -> tuple[bytes, str]:
    from pkttables.testing import packets as P

    addrs = []
    for k in ("src", "dst"):
        if k not in p:
            raise _FieldError(k, f"a packet needs '{k}' (an IPv4 or IPv6 address)")
        try:
            addrs.append(ipaddress.ip_address(p[k]))
        except (ValueError, TypeError):
            raise _FieldError(k, f"'{k}' is not an IP address: {p[k]!r}") from None
    src, dst = addrs
    if src.version != dst.version:
        raise _FieldError("dst", "'src' and 'dst' are of different families (IPv4 and IPv6)")
    v6 = src.version == 6
    proto = p.get("proto", "tcp")
    if isinstance(proto, str):
        if proto not in _PROTOS:
            raise _FieldError("proto", f"unknown proto '{proto}' (known: {', '.join(_PROTOS)}, or a number)")
        pnum = _PROTOS[proto]
    else:
        pnum = _int(proto, "proto", 0, 255)
    if pnum == 1 and v6 or pnum == 58 and not v6:
        raise _FieldError("proto", f"proto {proto} does not go with {'IPv6' if v6 else 'IPv4'} addresses")
    payload: bytes = b""
    if "payload" in p:
        if not isinstance(p["payload"], str):
            raise _FieldError("payload", "'payload' must be a string (sent as UTF-8)")
        payload = p["payload"].encode()
    if "payload_hex" in p:
        try:
            payload = bytes.fromhex(str(p["payload_hex"]))
        except ValueError:
            raise _FieldError("payload_hex", "'payload_hex' is not hex") from None
    ep = (lambda a, port: f"[{a}]:{port}" if v6 else f"{a}:{port}")
    name = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}.get(pnum, f"proto {pnum}")
    if pnum in (6, 17):
        sport = _int(p.get("sport", 40000), "sport", 0, 65535)
        if "dport" not in p:
            raise _FieldError("dport", f"a {name} packet needs 'dport'")
        dport = _int(p["dport"], "dport", 0, 65535)
        if pnum == 6:
            flags = _tcp_flags(p.get("flags", "S"))
            seg = P.tcp(sport, dport, flags, seq=_int(p.get("seq", 1000), "seq", 0, 2**32 - 1),
                        ack=_int(p.get("ack", 0), "ack", 0, 2**32 - 1),
                        window=_int(p.get("window", 64240), "window", 0, 65535), payload=payload)
            text = f"tcp {ep(src, sport)} -> {ep(dst, dport)} [{_flag_text(flags)}]"
        else:
            seg = P.udp(sport, dport, payload)
            text = f"udp {ep(src, sport)} -> {ep(dst, dport)}"
    elif pnum in (1, 58):
        t = _icmp_value(p.get("type", "echo-request"), "type", v6)
        code = _icmp_value(p.get("code", 0), "code", v6)
        echo = (128, 129) if v6 else (8, 0)
        if t in echo:
            seg = P.icmp_echo(_int(p.get("id", 1), "id", 0, 65535), _int(p.get("sequence", 1), "sequence", 0, 65535),
                              payload, reply=t == echo[1], v6=v6)
            text = f"{name} {src} -> {dst} echo {'reply' if t == echo[1] else 'request'} id {p.get('id', 1)}"
        else:
            inner = b""
            qtext = ""
            if "quote" in p:
                if quoted or not isinstance(p["quote"], dict):
                    raise _FieldError("quote", "'quote' must be a table describing the quoted packet")
                q = p["quote"]
                bad = set(q) - _QUOTE_KEYS
                if bad:
                    raise _FieldError("quote", f"unknown quote field '{sorted(bad)[0]}'")
                inner, qtext = _build(q, quoted=True)
                # RFC 792: the IP header and the first 64 bits of the datagram's data.
                inner = inner if v6 else inner[:(inner[0] & 0xF) * 4 + 8]
                qtext = f" quoting {qtext}"
            seg = P.icmp_error(t, code, inner, v6=v6, rest=_int(p.get("id", 0), "id", 0, 2**32 - 1)
                               if "id" in p else 0)
            text = f"{name} {src} -> {dst} type {t} code {code}{qtext}"
    else:
        from pkttables.testing.packets import Segment
        seg = Segment(pnum, payload, None)
        text = f"proto {pnum} {src} -> {dst}"
    ttl = _int(p.get("ttl", 64), "ttl", 0, 255)
    if v6:
        ip = P.ipv6(src, dst, seg, hlim=ttl)
    else:
        df = p.get("df", True)
        if not isinstance(df, bool):
            raise _FieldError("df", "'df' must be true or false")
        ip = P.ipv4(src, dst, seg, ttl=ttl, df=df)
    return ip, text


# ------------------------------------------------------------------ running
def _decision_text(d: Any) -> str:
    if d is None:
        return "no base chain"
    if d.policy:
        return f"{d.family} {d.table} {d.chain} policy {d.verdict}"
    if d.chain is None:
        return f"{d.hook} {d.verdict}"
    return f"{d.family} {d.table} {d.chain} handle {d.handle} ({d.text}) {d.verdict}"


def _describe_result(res: Any) -> str:
    chains = list(res.chains) or ([res.rule] if res.rule is not None else [])
    parts = [res.verdict + ((" by " + " -> ".join(_decision_text(d) for d in chains)) if chains
                            else " (no base chain ran)")]
    if res.reason:
        parts.append(f"reason {res.reason}")
    if res.ct is not None:
        parts.append(f"ct {res.ct.state}")
    if res.nat is not None:
        parts.append(f"nat {res.nat[0]} => {res.nat[1]}")
    out = [e.oif + (f" ({e.kind})" if e.kind != "packet" else "") for e in res.emitted]
    if out:
        parts.append("out " + ", ".join(out))
    return "; ".join(parts)


def _rule_forms(d: Any) -> list[str]:
    if d is None:
        return ["none"]
    head = f"{d.family} {d.table} {d.chain}"
    if d.policy:
        return [f"{head} policy", f"{head} policy {d.verdict}", "policy", f"policy {d.verdict}"]
    forms = [f"{head} handle {d.handle}"]
    if d.text:
        forms += [f"{head} {d.text}", d.text]
    return forms


def _rule_matches(pattern: str, d: Any) -> bool:
    pat = " ".join(pattern.split())
    forms = [" ".join(f.split()) for f in _rule_forms(d)]
    if pat.endswith("..."):
        prefix = pat[:-3].rstrip()
        return any(f.startswith(prefix) for f in forms)
    if "*" in pat:
        return any(fnmatch.fnmatchcase(f, pat) for f in forms)
    return pat in forms


def _decisions(res: Any) -> list[Any]:
    """The base-chain results an expectation on ``rule``/``chain`` may match: every base
    chain the packet passed (in order), else the deciding one."""
    return list(res.chains) or ([res.rule] if res.rule is not None else [])


def _got_rules(res: Any) -> str:
    ds = _decisions(res)
    return " -> ".join(_decision_text(d) for d in ds) if ds else "no base chain ran"


def _left_as(res: Any):
    for e in res.emitted:
        if e.kind == "packet":
            from pkttables.datapath.replay import flow_of
            return e, flow_of(e.data)
    return None, None


def check_expect(exp: Expect, res: Any, idx: int, trace_lines: Iterable[str] = ()) -> list[Mismatch]:
    """The expectations of ``exp`` that ``res`` (a PacketResult) does not meet."""
    out: list[Mismatch] = []

    def miss(key: str, expected: str, got: str) -> None:
        out.append(Mismatch(idx, key, expected, got, exp.where.get(key)))

    if exp.verdict is not None and res.verdict != exp.verdict:
        miss("verdict", exp.verdict, res.verdict + (f" ({res.reason})" if res.reason else ""))
    if exp.rule is not None and not any(_rule_matches(exp.rule, d) for d in _decisions(res) or [None]):
        miss("rule", repr(exp.rule), _got_rules(res))
    if exp.chain is not None:
        got = [f"{d.family} {d.table} {d.chain}" for d in _decisions(res) if d.chain]
        if " ".join(exp.chain.split()) not in got:
            miss("chain", repr(exp.chain), ", ".join(got) or "no base chain ran")
    if exp.ct is not None:
        got = res.ct.state if res.ct is not None else "off"
        if got != exp.ct:
            miss("ct", exp.ct, got + (" (connection tracking is off: the ruleset uses no ct expression or NAT)"
                                      if got == "off" else ""))
    if exp.reason is not None and exp.reason not in (res.reason or ""):
        miss("reason", f"a reason containing {exp.reason!r}", repr(res.reason))
    if exp.oif is not None:
        e, _ = _left_as(res)
        got = e.oif if e is not None else "none"
        if got != exp.oif:
            miss("oif", exp.oif, got + (" (the packet did not leave the host)" if e is None else ""))
    if exp.emitted is not None:
        have = [(e.oif, e.kind) for e in res.emitted]
        if not exp.emitted:
            if have:
                miss("emitted", "nothing", ", ".join(f"{o} {k}" for o, k in have))
        else:
            for oif, kind in exp.emitted:
                if not any((oif is None or o == oif) and (kind is None or k == kind) for o, k in have):
                    want = " ".join(x for x in (oif, kind) if x)
                    miss("emitted", f"a frame {want}", ", ".join(f"{o} {k}" for o, k in have) or "nothing")
    if exp.nat is not None:
        e, after = _left_as(res)
        if exp.nat is False:
            if res.nat is not None:
                miss("nat", "no translation", f"{res.nat[0]} => {res.nat[1]}")
        elif after is None:
            miss("nat", "a translation", "the packet did not leave the host, so its rewrite cannot be seen")
        else:
            got = {"saddr": str(ipaddress.ip_address(after.src)), "daddr": str(ipaddress.ip_address(after.dst)),
                   "sport": after.sport, "dport": after.dport}
            for k, v in exp.nat.items():
                want = str(ipaddress.ip_address(v)) if k.endswith("addr") else v
                if got[k] != want:
                    out.append(Mismatch(idx, f"nat.{k}", str(want), f"{got[k]} (left as {after})",
                                        exp.where.get(f"nat.{k}", exp.where.get("nat"))))
    if exp.log is not None:
        lines = [ev.get("line", "") for ev in res.events if ev.get("type") == "log"]
        if not any(exp.log in ln for ln in lines):
            miss("log", f"a log line containing {exp.log!r}", "; ".join(lines) or "no log line")
    if exp.trace is not None:
        lines = [ev.get("line", "") for ev in res.events if ev.get("type") == "trace"] + list(trace_lines)
        if not any(exp.trace in ln for ln in lines):
            miss("trace", f"a trace line containing {exp.trace!r}", f"{len(lines)} trace lines without it")
    return out


def _run_packets(spec: PolicySpec, ruleset: Any, packets: list[PacketSpec]) -> list[Any]:
    from pkttables.datapath import PacketResult, Simulator

    sim = Simulator(spec.host, ruleset, seed=spec.seed)
    results = []
    for i, (p, t) in enumerate(zip(packets, packet_times(packets))):
        got = None
        for r in sim.process(p.data, t, p.iif, i, p.link):
            if isinstance(r, PacketResult):
                got = r
        results.append(got)
    return results


def _traced_ruleset(ruleset: Any) -> Any:
    from pkttables.commands import run_text

    text = (f"add table inet {TRACE_TABLE}\n"
            f"add chain inet {TRACE_TABLE} pre {{ type filter hook prerouting priority -350; }}\n"
            f"add chain inet {TRACE_TABLE} out {{ type filter hook output priority -350; }}\n"
            f"add rule inet {TRACE_TABLE} pre meta nftrace set 1\n"
            f"add rule inet {TRACE_TABLE} out meta nftrace set 1\n")
    return run_text(text, ruleset).ruleset


def case_packets(spec: PolicySpec, case: Case | str) -> tuple[list[PacketSpec], int]:
    """Every packet a case's run sends, in order (its ``after`` cases' first), and the
    index of the case's own first packet.  (The kernel test replays these.)"""
    if isinstance(case, str):
        case = spec.case(case)
    return _all_packets(spec, case)


def packet_times(packets: Sequence[PacketSpec]) -> list[int]:
    """The arrival time (ns) of each packet of a run: ``at`` or the previous + STEP_NS."""
    out: list[int] = []
    for i, p in enumerate(packets):
        out.append(p.at_ns if p.at_ns is not None else (T0_NS if i == 0 else out[-1] + STEP_NS))
    return out


def _all_packets(spec: PolicySpec, case: Case) -> tuple[list[PacketSpec], int]:
    names = {c.name: i for i, c in enumerate(spec.cases)}
    # Validation rejected loops and unknown names; a spec built by hand gets the same check.
    w = _Where(spec.path, "")
    order = _order(list(spec.cases), names[case.name], names, w) if case.name in names else []
    pre = [p for k in order for p in spec.cases[k].packets]
    return pre + list(case.packets), len(pre)


def run_case(spec: PolicySpec, case: Case | str, *, trace: bool = False) -> CaseResult:
    """Run one case (its ``after`` cases' packets first) in a fresh simulator.  On a
    failure, or with ``trace``, the case is run again with tracing on for the trace
    lines."""
    from pkttables.datapath import RunnerUnavailable

    if isinstance(case, str):
        case = spec.case(case)
    packets, first = _all_packets(spec, case)
    try:
        results = _run_packets(spec, spec.ruleset, packets)[first:]
    except RunnerUnavailable as e:
        return CaseResult(case, error=e.diagnostics[0].message)
    mism: list[Mismatch] = []
    for i, (p, res) in enumerate(zip(case.packets, results)):
        if p.expect is not None:
            mism.extend(check_expect(p.expect, res, i))
    traces: tuple[tuple[str, ...], ...] = ()
    if mism or trace:
        try:
            traced = _run_packets(spec, _traced_ruleset(spec.ruleset), packets)[first:]
            traces = tuple(tuple(ev["line"] for ev in r.events if ev.get("type") == "trace") for r in traced)
        except PktError:
            traces = ()
        if any(p.expect is not None and p.expect.trace is not None for p in case.packets) and traces:
            # trace expectations look at the traced run's lines as well
            mism = []
            for i, (p, res) in enumerate(zip(case.packets, results)):
                if p.expect is not None:
                    mism.extend(check_expect(p.expect, res, i, traces[i]))
    return CaseResult(case, tuple(mism), tuple(results), traces)


def run_spec(spec: PolicySpec, names: Sequence[str] | None = None) -> Report:
    """Run the spec's cases (or only the named ones, a case name or a glob)."""
    cases = spec.cases
    if names:
        cases = tuple(c for c in cases if any(n == c.name or fnmatch.fnmatchcase(c.name, n) for n in names))
    return Report(spec, tuple(run_case(spec, c) for c in cases))


def check_spec(path: str, names: Sequence[str] | None = None) -> Report:
    """For pytest: run a spec file and raise AssertionError with the report when a case
    fails.  ``def test_policy(): check_spec("policy.toml")``."""
    report = run_spec(load_spec(path), names)
    if not report.ok:
        raise AssertionError("\n" + report.render(verbose=False))
    return report
