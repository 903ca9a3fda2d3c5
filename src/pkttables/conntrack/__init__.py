"""Connection tracking as the Linux kernel does it (nf_conntrack).

In: packets (:class:`pkttables.packet.Packet`) at the hooks where the kernel tracks them,
with the injected time.  Out: ``pkt.ct`` / ``pkt.ctinfo`` for the register machine
(``ct state``, ``ct status``, ``ct mark`` ...), the table of entries, and events.

    ct = ConntrackTable(host)                  # settings from the host's sysctls
    ct.in_hook(pkt, "prerouting", now)         # nf_conntrack_in, priority -200
    ...                                        # the ruleset's chains
    ct.confirm(pkt, now)                       # nf_conntrack_confirm, last in postrouting
    print(format_entry(pkt.ct, now))           # a `conntrack -L` line

Modules: ``_tuple`` (tuples, inversion), ``_tcp`` (the TCP state table and window
tracking), ``_l4`` (UDP, ICMP, GRE, generic), ``_sctp`` (SCTP), ``_table`` (lookups,
new/confirm, early drop, expiry, events), ``_format`` (conntrack-tools text), ``cli``.
"""

from pkttables.conntrack._conn import Conn
from pkttables.conntrack._enums import (CtDir, CtEventType, CtInfo, CtStateBit, Event, SctpState,
                                        Status, TcpIndex, TcpState)
from pkttables.conntrack._format import format_entry, format_event, parse_conntrack_line
from pkttables.conntrack._table import (SYSCTL_DEFAULTS, ConntrackTable, CtEvent, ct_state,
                                        make_template, notrack)
from pkttables.conntrack._tcp import TCP_CONNTRACKS, TCP_REASONS, TCP_TIMEOUTS
from pkttables.conntrack._tuple import Tuple, invert


def cli_main(argv: list[str] | None = None) -> int:
    """``pkt conntrack ...`` (see :mod:`pkttables.conntrack.cli`)."""
    from pkttables.conntrack.cli import main
    return main(argv)


__all__ = [
    "ConntrackTable", "Conn", "CtEvent", "Tuple", "invert",
    "CtDir", "CtInfo", "CtStateBit", "CtEventType", "Event", "Status", "TcpState", "TcpIndex",
    "SctpState", "TCP_CONNTRACKS", "TCP_REASONS", "TCP_TIMEOUTS", "SYSCTL_DEFAULTS",
    "format_entry", "format_event", "parse_conntrack_line", "ct_state", "notrack",
    "make_template", "cli_main",
]
