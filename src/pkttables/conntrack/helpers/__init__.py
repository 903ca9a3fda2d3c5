"""Connection tracking helpers: the kernel's ``nf_conntrack_helper`` in userspace Python.

A helper reads the payload of a connection it was assigned to (``ct helper set`` in a
ruleset, as the kernel requires since 4.7: no automatic assignment by port) and
announces the connections that will follow as *expectations*.  It runs where the kernel
runs it: in ``nf_confirm``, last in INPUT and POSTROUTING, for every packet of the
entry except RELATED replies (ICMP errors), before sequence adjustment and confirmation.

Writing one::

    from pkttables.conntrack.helpers import Helper, register_helper, NF_ACCEPT

    class Echo7(Helper):
        name, protonum, max_expected, timeout = "echo7", 17, 1, 30

        def help(self, h):                       # h: HelpCall
            if h.dir == 0 and h.payload.startswith(b"OPEN "):
                port = int(h.payload[5:].split()[0])
                h.expect(dport=port)             # peer -> us, any source port
            return NF_ACCEPT

    register_helper(Echo7())
    table.assign_helper(pkt, "echo7")            # what `ct helper set "…"` does

``HelpCall`` gives ``pkt``, ``ct``, ``ctinfo``, ``dir``, ``protoff`` (transport
header), ``dataoff``/``payload`` (TCP/UDP payload), ``data`` (the helper's per-entry
state, from :meth:`Helper.new_data`), ``now``, ``table``; ``expect(...)`` builds and
registers an expectation with the helper's policy; ``log(text)`` records a helper log
line (``nf_ct_helper_log``).  Returning ``NF_DROP`` drops the packet.
"""

from __future__ import annotations

from typing import Any

from pkttables.conntrack._enums import CtInfo
from pkttables.conntrack._tuple import Tuple
from pkttables.conntrack.expect import Expectation

__all__ = ["Helper", "HelpCall", "HelperExt", "HELPERS", "register_helper", "get_helper",
           "NF_ACCEPT", "NF_DROP"]

NF_DROP, NF_ACCEPT = 0, 1


class Helper:
    """``struct nf_conntrack_helper``: a name, the protocols it applies to and its
    expectation policy (``nf_conntrack_expect_policy``: max_expected, timeout)."""

    name = ""
    protonum = 6
    l3nums: tuple[int, ...] = (2, 10)
    max_expected = 1
    timeout = 300.0

    def new_data(self) -> Any:
        """The per-entry state (``nfct_help_data``)."""
        return None

    def help(self, h: "HelpCall") -> int:
        raise NotImplementedError


class HelperExt:
    """``struct nf_conn_help``: the helper and its per-entry data."""
    __slots__ = ("helper", "data")

    def __init__(self, helper: Helper):
        self.helper = helper
        self.data = helper.new_data()


class HelpCall:
    """One call of a helper for one packet."""
    __slots__ = ("pkt", "ct", "ctinfo", "dir", "protoff", "dataoff", "end", "now", "table",
                 "data", "helper")

    def __init__(self, pkt, ct, ctinfo, protoff, dataoff, end, now, table, ext):
        self.pkt, self.ct, self.ctinfo = pkt, ct, ctinfo
        self.dir = 1 if int(ctinfo) >= CtInfo.IS_REPLY else 0
        self.protoff, self.dataoff, self.end = protoff, dataoff, end
        self.now, self.table = now, table
        self.data = ext.data
        self.helper = ext.helper

    @property
    def payload(self) -> bytes:
        return bytes(self.pkt.buf[self.dataoff:self.end])

    def make_expect(self, *, src: bytes | None = None, dst: bytes | None = None,
                    sport: int | None = None, dport: int, protonum: int | None = None,
                    l3num: int | None = None, cls: int = 0) -> Expectation:
        """nf_ct_expect_alloc + nf_ct_expect_init: by default the peer (the source of
        the other direction) connecting to this packet's sender, any source port."""
        ct, d = self.ct, self.dir
        t = Tuple(l3num or ct.l3num, ct.tuples[1 - d].src if src is None else src,
                  ct.tuples[1 - d].dst if dst is None else dst,
                  protonum or ct.protonum, sport or 0, dport)
        return Expectation(t, ct, sport_mask=0 if sport is None else 0xFFFF, cls=cls,
                           helper_name=self.helper.name)

    def expect_related(self, exp: Expectation) -> None:
        """nf_ct_expect_related with the helper's policy (raises ExpectError)."""
        self.table.expect_related(exp, self.now, timeout=self.helper.timeout,
                                  max_expected=self.helper.max_expected)

    def expect(self, **kw) -> Expectation:
        exp = self.make_expect(**kw)
        self.expect_related(exp)
        return exp

    def log(self, text: str) -> None:
        self.table.helper_log.append(f"nf_ct_{self.helper.name}: {text}")


HELPERS: dict[str, Helper] = {}


def register_helper(helper: Helper) -> None:
    """nf_conntrack_helper_register(): make a helper assignable by name."""
    HELPERS[helper.name] = helper


def get_helper(name: str) -> Helper | None:
    return HELPERS.get(name)


from pkttables.conntrack.helpers import ftp as _ftp  # noqa: E402  (registers "ftp")
