"""pkttables.log -- log sinks.  Today: the kernel's ``nf_log`` text line.

In: a :class:`~pkttables.packet.Packet` at a hook, the log statement's prefix and
flags.  Out: the line the kernel writes to its ring buffer for ``log`` (the syslog
backend, net/netfilter/nf_log_syslog.c), byte for byte, without the level marker:

    >>> format_log(pkt, family="ip", hook="input", prefix="in ", flags=0, host=None)
    'in IN=eth0 OUT= MAC=... SRC=10.0.0.1 DST=10.0.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=1 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 '
"""

from pkttables.log._kernel import LEVEL_NAMES, format_log, format_syslog

__all__ = ["format_log", "format_syslog", "LEVEL_NAMES"]
