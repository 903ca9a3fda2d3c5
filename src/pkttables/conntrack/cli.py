"""``pkt conntrack``: list, watch, delete and flush connection-tracking entries, with
conntrack-tools' options and output.

Until ``pktd`` holds a live table, the table comes from one of two places:

* ``--pcap CAPTURE``: replaying a capture through the tracker on the forwarded path
  (PREROUTING track, POSTROUTING confirm), with the capture's timestamps as the clock;
* ``--table FILE``: a snapshot (:mod:`pkttables.conntrack.snapshot`) written by
  ``pkt simulate --conntrack-save FILE`` or ``pkt conntrack --pcap CAPTURE --save FILE``.
  ``-D`` and ``-F`` write the file back (atomically), so commands chain as they do on the
  kernel's table::

    pkt conntrack -L --pcap trace.pcap [--host host.toml] [-p tcp [--state ESTABLISHED]]
                     [-s ADDR] [-d ADDR] [--mark N[/MASK]] [--zone N] [-f ipv4|ipv6]
    pkt conntrack -E --pcap trace.pcap          # the events, as `conntrack -E` prints them
    pkt conntrack -C --pcap trace.pcap          # the number of entries
    pkt conntrack --pcap trace.pcap --save ct.json [-L|-D|-F ...]
    pkt conntrack -D --table ct.json -p udp     # delete matching entries, print them
    pkt conntrack -F --table ct.json            # flush

Output and exit status are conntrack-tools 1.4.7's, checked against the real tool
(tests/kernel/test_conntrack_cli_kernel.py): ``-L`` ends with ``N flow entries have been
shown.`` on stderr, status 0; ``-D`` prints each entry it deletes as ``-L`` does, then
``N flow entries have been deleted.``, status 0, or 1 when nothing matched; ``-F`` prints
``connection tracking table has been emptied.``, status 0.  Bad options print
conntrack's message and ``Try `conntrack -h' ...``, status 2 (``--state`` without ``-p
tcp`` is an ``unknown option``, as the tool's state option belongs to the protocol);
an unreadable capture, host file or snapshot exits 1 with its location.

The expectation table (``expect`` after the command, as conntrack-tools takes it; a
snapshot of ``pkt simulate --conntrack-save`` holds the helpers' expectations)::

    pkt conntrack -L expect --table ct.json [-f ipv6]
    pkt conntrack -C expect --table ct.json
    pkt conntrack -D expect --table ct.json -s ADDR -d ADDR -p tcp --sport N --dport N \\
                  --reply-port-src N --reply-port-dst N
    pkt conntrack -F expect --table ct.json
    pkt conntrack -E expect --pcap T.pcapng --ruleset R.nft [--host H.toml]   # events

``--ruleset`` (expect commands with ``--pcap``) replays through the host and the
ruleset as ``pkt simulate`` does, so that ``ct helper set`` rules attach helpers;
without it the bare tracker attaches none and the table has no expectations (as a
kernel without such a rule).  ``-E expect`` prints ``[NEW]``/``[DESTROY]`` lines
(:class:`ExpectEvents`) and ``N expectation events have been shown.``, and takes
no filter (``-f`` included).

What conntrack 1.4.7 does with them, asked in a namespace with an FTP expectation
(tests/kernel/test_conntrack_expect_kernel.py): ``-L expect`` lists one family, IPv4
unless ``-f ipv6``, and ends with ``N expectations have been shown.``; the filters of
``-L`` (``-s -d -p -m -w``) are refused (``Illegal option `--src' with this command``,
status 2); ``-C expect`` prints the count and refuses ``-f``; ``-F expect`` prints
``expectation table has been emptied.``; ``-C expect`` counts IPv4 expectations only
(the default family's dump); ``-D expect`` needs ``--src``, ``--dst``,
``--protonum`` and, for a protocol with ports, ``--sport``, ``--dport``,
``--reply-port-src``, ``--reply-port-dst`` (asked for in that order: ``You need to
supply the `--dst' option for this command``), deletes the expectation whose tuple the
given one matches under its mask (ctnetlink_del_expect -> nf_ct_expect_find_get; the
reply ports are required, never used), and then says ``0 expectations have been
shown.`` with status 1 -- conntrack 1.4.7's words and status after a *successful*
delete; nothing matched: ``Operation failed: No such file or directory``, status 1.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from typing import Callable

from pkttables.conntrack._format import format_entry
from pkttables.conntrack._table import ConntrackTable
from pkttables.conntrack._tuple import PROTO_NAMES
from pkttables.errors import PktError

__all__ = ["main", "build_table", "matches", "simulate_table", "ExpectEvents"]

_VERSION = "conntrack v1.4.7 (conntrack-tools)"
_TRY = "Try `conntrack -h' or 'conntrack --help' for more information."
_PROTO_NUMBERS = {v: k for k, v in PROTO_NAMES.items()} | {"ipv6-icmp": 58, "icmp6": 58}
# protocols whose conntrack-tools extension has a --state option (tcp, sctp, dccp)
_STATE_PROTOS = {6, 132, 33}
_COMMANDS = ("dump", "event", "count", "delete", "flush")
# protocols whose extension has port options, and those options
_PORT_PROTOS = {6, 17, 132, 33, 136}
_PORT_OPTS = (("--sport", "sport"), ("--dport", "dport"), ("--reply-port-src", "reply_sport"),
              ("--reply-port-dst", "reply_dport"))
# the options each expectation command refuses (conntrack.c's commands_v_options), in
# the order the tool reports them; `-D expect` needs these, in this order
_EXP_ILLEGAL = {
    "dump": ("src", "dst", "proto", "mark", "zone", "state"),
    "count": ("src", "dst", "proto", "mark", "zone", "state", "family"),
    "flush": ("src", "dst", "proto", "mark", "zone", "state", "family"),
    "delete": ("mark", "zone", "state"),
    # -E expect takes no filter (conntrack 1.4.7, measured: `-E expect -f ipv4` is refused)
    "event": ("src", "dst", "proto", "mark", "zone", "state", "family"),
}
_LONG = {"src": "--src", "dst": "--dst", "proto": "--protonum", "mark": "--mark", "zone": "--zone",
         "state": "--state", "family": "--family"}


class _Usage(Exception):
    """A parameter problem: conntrack's message, the Try line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's words -> conntrack-tools' words
        if "invalid choice" in message:
            word = message.split("invalid choice:", 1)[1].split("(")[0].strip().strip("'")
            raise _Usage(f"unknown option `{word}'")
        if message.startswith("unrecognized arguments:"):
            # the first stray word; it may be empty (`pkt conntrack -L ''`)
            words = message.split(':', 1)[1].split()
            raise _Usage(f"unknown option `{words[0] if words else ''}'")
        if "not allowed with argument" in message:
            raise _Usage("Invalid commands combination")
        raise _Usage(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="pkt conntrack", add_help=True)
    cmd = p.add_mutually_exclusive_group()
    cmd.add_argument("-L", "--dump", action="store_true", help="list the table")
    cmd.add_argument("-E", "--event", action="store_true", help="show events (needs --pcap)")
    cmd.add_argument("-C", "--count", action="store_true", help="count entries")
    cmd.add_argument("-D", "--delete", action="store_true",
                     help="delete the entries the filters match and print them")
    cmd.add_argument("-F", "--flush", action="store_true", help="delete every entry")
    p.add_argument("--pcap", help="capture replayed through the tracker")
    p.add_argument("--table", metavar="FILE", help="snapshot to read (-D/-F write it back)")
    p.add_argument("--save", metavar="FILE", help="write the table after the command to FILE")
    p.add_argument("--host", help="host file (sysctls: nf_conntrack_*), with --pcap")
    p.add_argument("--ruleset", metavar="R.nft", help="with --pcap and expect: replay through the host "
                   "and this ruleset as pkt simulate does (its ct helper rules make expectations)")
    p.add_argument("-p", "--proto")
    p.add_argument("-s", "--src", "--orig-src", dest="src")
    p.add_argument("-d", "--dst", "--orig-dst", dest="dst")
    p.add_argument("--state")
    p.add_argument("-m", "--mark")
    p.add_argument("-w", "--zone", type=int)
    p.add_argument("-f", "--family", choices=("ipv4", "ipv6"))
    # protocol options (conntrack-tools' tcp/udp/sctp/dccp/udplite extensions)
    p.add_argument("--sport", "--orig-port-src", dest="sport", type=_port)
    p.add_argument("--dport", "--orig-port-dst", dest="dport", type=_port)
    p.add_argument("--reply-port-src", dest="reply_sport", type=_port)
    p.add_argument("--reply-port-dst", dest="reply_dport", type=_port)
    # the table a command acts on: `conntrack -L expect`
    p.add_argument("which", nargs="?", choices=("conntrack", "expect"), default="conntrack",
                   metavar="conntrack|expect")
    return p


def _port(text: str) -> int:
    try:
        v = int(text, 0)
    except ValueError:
        v = -1
    if not 0 <= v <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"Bad port `{text}'")
    return v


def _check_filters(args) -> None:
    """Validate the filters as conntrack-tools does before it talks to the kernel."""
    if args.proto is not None:
        pn = args.proto.lower()
        num = int(pn) if pn.isdigit() else _PROTO_NUMBERS.get(pn)
        if num is None or num > 255:
            raise _Usage(f"`{args.proto}' unsupported protocol")
        args.protonum = num
    else:
        args.protonum = None
    if args.state is not None and args.protonum not in _STATE_PROTOS:
        raise _Usage("unknown option `--state'")
    for opt, dest in _PORT_OPTS:
        if getattr(args, dest) is not None and args.protonum not in _PORT_PROTOS:
            raise _Usage(f"unknown option `{opt}'")
    for a in (args.src, args.dst):
        if a is not None:
            try:
                ipaddress.ip_address(a)
            except ValueError:
                raise _Usage(f"Invalid IP address `{a}'") from None
    if args.mark is not None:
        v, _, m = args.mark.partition("/")
        try:
            int(v, 0), int(m, 0) if m else 0
        except ValueError:
            raise _Usage(f"Bad mark `{args.mark}'") from None
    if args.zone is not None and not 0 <= args.zone <= 0xFFFF:
        raise _Usage(f"Bad zone `{args.zone}'")


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
        want = getattr(args, "protonum", None)
        if want is None:
            want = int(args.proto) if args.proto.isdigit() else _PROTO_NUMBERS.get(args.proto.lower())
        if want != t.protonum:
            return False
    if args.src and ipaddress.ip_address(args.src).packed != t.src:
        return False
    if getattr(args, "sport", None) is not None and t.sport != args.sport:
        return False
    if getattr(args, "dport", None) is not None and t.dport != args.dport:
        return False
    r = conn.reply
    if getattr(args, "reply_sport", None) is not None and r.sport != args.reply_sport:
        return False
    if getattr(args, "reply_dport", None) is not None and r.dport != args.reply_dport:
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


def _load(args, on_event=None):
    """(table, now) from --table or --pcap; raises PktError/OSError."""
    if args.table is not None:
        from pkttables.conntrack.snapshot import read_snapshot
        return read_snapshot(args.table)
    if args.ruleset is not None:
        return simulate_table(args.pcap, args.ruleset, args.host)
    host = None
    if args.host:
        from pkttables.stack.host import load_host
        host = load_host(args.host)
    return build_table(args.pcap, host, on_event)


def simulate_table(pcap: str, ruleset: str, host_file: str | None = None,
                   on_step: Callable[[ConntrackTable, float], None] | None = None,
                   ) -> tuple[ConntrackTable, float]:
    """``--pcap --ruleset``: replay the capture through the host and the ruleset as
    ``pkt simulate`` does (helpers, NAT); returns the table and the last packet's time.
    ``on_step(table, now)`` is called after each packet and each timer the replay ran."""
    from pkttables.datapath import Simulator, load_ruleset
    from pkttables.stack.host import Host, load_host

    host = load_host(host_file) if host_file else Host.single_interface()
    sim = Simulator(host, load_ruleset(ruleset, host))
    empty = ConntrackTable(host, keep_events=False)
    for res in sim.replay(pcap):
        if on_step is not None:
            on_step(sim.ct_table if sim.ct_table is not None else empty, res.time_ns / 1e9)
    now = sim.last_ns / 1e9 if sim.last_ns is not None else 0.0
    return (sim.ct_table if sim.ct_table is not None else empty), now


class ExpectEvents:
    """``conntrack -E expect``'s lines, from the expectation table as it stands after
    each packet or timer of a replay.

    The kernel reports IPEXP_NEW when nf_ct_expect_related_report() inserts an
    expectation and IPEXP_DESTROY when nf_ct_unlink_expect_report() takes one out (a
    data connection used it, a newer one of the same master replaced or evicted it,
    its master went away, it timed out); conntrack-tools prints each as ``%9s`` of
    ``[NEW]``/``[DESTROY]`` and the ``-L expect`` line, with the time left at the event
    (0 for a timed-out one).  The table is compared before and after each step, so
    within a step the removals come first, then the insertions: the order of one
    packet's events in the kernel (an expectation is replaced or evicted before its
    successor goes in; expiry runs before the packet).  Every family is reported
    (``-E expect`` takes no ``-f``).  Measured with conntrack 1.4.7 in a namespace
    (tests/kernel/test_conntrack_expect_events.py)."""

    def __init__(self, write: Callable[[str], None]):
        self.write = write
        self.count = 0
        self._prev: list = []

    def __call__(self, table: ConntrackTable, now: float) -> None:
        from pkttables.conntrack.expect import format_expect

        cur = list(table.expect_table)
        live = {id(e) for e in cur}
        before = {id(e) for e in self._prev}
        for e in self._prev:
            if id(e) not in live:
                self._line("[DESTROY]", format_expect(e, min(now, e.expires)))
        for e in cur:
            if id(e) not in before:
                self._line("[NEW]", format_expect(e, now))
        self._prev = cur

    def _line(self, kind: str, text: str) -> None:
        self.count += 1
        self.write(f"{kind:>9} {text}\n")


def _check_expect(args) -> None:
    """The option checks of conntrack 1.4.7's expectation commands."""
    cmd = next(c for c in _COMMANDS if getattr(args, c))
    for dest in _EXP_ILLEGAL.get(cmd, ()):
        if getattr(args, dest) is not None:
            raise _Usage(f"Illegal option `{_LONG[dest]}' with this command")
    if cmd == "delete":
        for dest in ("src", "dst", "proto"):
            if getattr(args, dest) is None:
                raise _Usage(f"You need to supply the `{_LONG[dest]}' option for this command")
    _check_filters(args)
    if cmd == "delete":
        if args.protonum in _PORT_PROTOS:
            for opt, dest in _PORT_OPTS:
                if getattr(args, dest) is None:
                    raise _Usage(f"You need to supply the `{opt}' option for this command")
        fams = {ipaddress.ip_address(a).version for a in (args.src, args.dst)}
        want = {"ipv4": 4, "ipv6": 6}.get(args.family or "")
        if len(fams) > 1 or (want is not None and fams != {want}):
            raise _Usage("mismatched address family")


def _expect_command(args, table, now, out, err) -> tuple[int, bool]:
    """-L/-C/-D/-F expect on a loaded table: (exit status, table changed)."""
    from pkttables.conntrack._tuple import AF_INET, AF_INET6, Tuple
    from pkttables.conntrack.expect import format_expect

    exps = table.expectations(now)
    if args.flush:
        # conntrack -F expect: nfexp_query(NFCT_Q_FLUSH)
        for e in exps:
            table.expect_table.remove(e)
        print(f"{_VERSION}: expectation table has been emptied.", file=err)
        return 0, bool(exps)
    if args.count:
        # conntrack -C expect counts a dump of the default family: IPv4 only (-f refused)
        out.write(f"{sum(1 for e in exps if e.tuple.l3num == AF_INET)}\n")
        return 0, False
    if args.delete:
        s, d = ipaddress.ip_address(args.src), ipaddress.ip_address(args.dst)
        sport = args.sport if args.sport is not None else 0
        dport = args.dport if args.dport is not None else 0
        t = Tuple(AF_INET if s.version == 4 else AF_INET6, s.packed, d.packed, args.protonum, sport, dport)
        # ctnetlink_del_expect: nf_ct_expect_find_get() in the default zone, the first
        # expectation the tuple matches under its mask
        hit = next((e for e in exps if e.zone == 0 and e.matches(t)), None)
        if hit is None:
            print(f"{_VERSION}: Operation failed: No such file or directory", file=err)
            return 1, False
        table.expect_table.remove(hit)
        print(f"{_VERSION}: 0 expectations have been shown.", file=err)
        return 1, True
    # -L expect: one family, IPv4 unless -f ipv6 (nfexp_query(NFCT_Q_DUMP, &family))
    fam = AF_INET6 if args.family == "ipv6" else AF_INET
    shown = [e for e in exps if e.tuple.l3num == fam]
    for e in shown:
        out.write(format_expect(e, now) + "\n")
    print(f"{_VERSION}: {len(shown)} expectations have been shown.", file=err)
    return 0, False


def main(argv: list[str] | None = None, out=None, err=None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        try:
            args = _parser().parse_args(argv)
        except SystemExit as e:      # -h / --help
            return int(e.code or 0)
        if not any(getattr(args, c) for c in _COMMANDS) and not args.save:
            raise _Usage("no command specified")
        if (args.pcap is None) == (args.table is None):
            raise _Usage("one of --pcap CAPTURE or --table FILE is needed" if args.pcap is None
                         else "--pcap and --table cannot be used together")
        if args.event and args.table is not None:
            raise _Usage("-E needs --pcap: a snapshot holds no events")
        if args.host and args.table is not None:
            raise _Usage("--host applies to --pcap only")
        if args.ruleset is not None and args.table is not None:
            raise _Usage("--ruleset applies to --pcap only")
        if args.ruleset is not None and args.which != "expect":
            raise _Usage("--ruleset applies to the expect commands only")
        if args.which == "expect":
            if not any(getattr(args, c) for c in _COMMANDS):
                raise _Usage("no command specified")
            _check_expect(args)
        else:
            _check_filters(args)
    except _Usage as e:
        print(f"{_VERSION}: {e}\n{_TRY}", file=err)
        return 2
    rc = 0
    try:
        if args.event and args.which == "expect":
            # conntrack -E expect: no table command after it; --save keeps the final table
            events = ExpectEvents(out.write)
            if args.ruleset is not None:
                table, now = simulate_table(args.pcap, args.ruleset, args.host, events)
            else:
                # the bare tracker attaches no helper: no expectation, as a kernel
                # without a `ct helper set` rule
                table, now = _load(args)
            print(f"{_VERSION}: {events.count} expectation events have been shown.", file=err)
            if args.save:
                from pkttables.conntrack.snapshot import write_snapshot
                write_snapshot(args.save, table, now)
            return 0
        if args.event:
            n = [0]

            def on_event(ev):
                n[0] += 1
                out.write(ev.line + "\n")
            table, now = _load(args, on_event)
            print(f"{_VERSION}: {n[0]} flow events have been shown.", file=err)
        else:
            table, now = _load(args)
        changed = False
        if args.which == "expect":
            rc, changed = _expect_command(args, table, now, out, err)
        elif args.flush:
            # conntrack -F: nfct_query(NFCT_Q_FLUSH_FILTER); nothing on stdout
            table.flush(now)
            changed = True
            print(f"{_VERSION}: connection tracking table has been emptied.", file=err)
        elif args.delete:
            # conntrack -D: dump, filter in userspace, delete each match and print it as it
            # was dumped; exit status 1 when nothing was deleted (conntrack.c: "if (res == 0) exit 1")
            gone = [c for c in table.entries(now) if matches(c, args)]
            for c in gone:
                out.write(format_entry(c, now) + "\n")
                table.kill(c, now)
            changed = bool(gone)
            print(f"{_VERSION}: {len(gone)} flow entries have been deleted.", file=err)
            rc = 0 if gone else 1
        elif args.count:
            out.write(f"{sum(1 for c in table.entries(now) if matches(c, args))}\n")
        elif args.dump:
            shown = [c for c in table.entries(now) if matches(c, args)]
            for c in shown:
                out.write(format_entry(c, now) + "\n")
            print(f"{_VERSION}: {len(shown)} flow entries have been shown.", file=err)
        target = args.save or (args.table if changed else None)
        if target is not None:
            from pkttables.conntrack.snapshot import write_snapshot
            write_snapshot(target, table, now)
    except (PktError, OSError) as e:
        print(f"{_VERSION}: {e}", file=err)
        return 1
    return rc


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
