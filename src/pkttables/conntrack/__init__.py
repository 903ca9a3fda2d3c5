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
tracking), ``_l4`` (UDP, ICMP, GRE, generic; DCCP is generic as on Linux >= 6.16),
``_sctp`` (the SCTP state table), ``_table`` (lookups, new/confirm, early drop, expiry,
events, helpers in confirm), ``_format`` (conntrack-tools text), ``expect``
(expectations, ``conntrack -L expect``), ``seqadj`` (nf_ct_seqadj), ``helpers``
(the helper interface; ``helpers.ftp``), ``cli``.
"""

from pkttables.conntrack._conn import Conn
from pkttables.conntrack._enums import (CtDir, CtEventType, CtInfo, CtStateBit, Event, SctpState,
                                        Status, TcpIndex, TcpState)
from pkttables.conntrack._format import format_entry, format_event, parse_conntrack_line
from pkttables.conntrack._table import (SYSCTL_DEFAULTS, ConntrackTable, CtEvent, ct_state,
                                        make_template, notrack)
from pkttables.conntrack._tcp import TCP_CONNTRACKS, TCP_REASONS, TCP_TIMEOUTS
from pkttables.conntrack._sctp import SCTP_CONNTRACKS, SCTP_REASONS, SCTP_TIMEOUTS, SctpChunk
from pkttables.conntrack._tuple import Tuple, invert
from pkttables.conntrack.expect import Expectation, ExpectError, ExpectFlag, format_expect
from pkttables.conntrack.helpers import Helper, HelpCall, register_helper


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
    "SCTP_CONNTRACKS", "SCTP_REASONS", "SCTP_TIMEOUTS", "SctpChunk",
    "Expectation", "ExpectError", "ExpectFlag", "format_expect",
    "Helper", "HelpCall", "register_helper",
]
