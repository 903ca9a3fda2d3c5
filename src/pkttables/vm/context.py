"""What an instruction may ask of the world outside the packet: the evaluation context.

Stateless instructions read only the packet, the registers and a few facts about the
hook (family, hook name, interfaces of the host, the injected clock, a seeded RNG).
Stateful ones (counter, limit, quota, connlimit, last, ct, nat, masq, redir, tproxy,
dynset, objref, log, reject, queue, dup, fwd, synproxy, notrack, flow_offload) and the
ones that need a socket table, IPsec state or an OS-fingerprint database (socket,
xfrm, osf) call one documented hook method here.  :class:`EvalContext` implements the
stateless parts and raises :class:`HookNotImplemented` from every hook; the engine
(and the issues that implement conntrack, NAT, sets, logging, queueing...) subclass
it.  Nothing is faked: an unimplemented hook says so instead of guessing.

Hook signatures (``instr`` is the instruction asking; return values are described
with each method):

=================  ==========================================================
``counter``        ``(instr, pkt)``: add 1 packet and ``len`` bytes
``limit``          ``(instr, pkt) -> bool``: True when over the limit (BREAK)
``quota``          ``(instr, pkt) -> bool``: True when over the quota (BREAK)
``connlimit``      ``(instr, pkt) -> bool``: True when the rule must not match
``last``           ``(instr, pkt)``: remember ``ctx.now``
``ct_get``         ``(instr, pkt) -> bytes | None``: the key's register value, None = BREAK
``ct_set``         ``(instr, pkt, value: bytes)``
``nat``            ``(instr, regs, pkt)``: sets the verdict
``masq/redir``     ``(instr, regs, pkt)``: sets the verdict
``tproxy``         ``(instr, regs, pkt)``: sets the verdict
``dynset``         ``(instr, regs, pkt) -> bool``: False = BREAK (default: the
                   set's own ``dynset``, see :meth:`EvalContext.dynset`)
``objref``         ``(instr, regs, pkt)``: runs the referenced object
``log``            ``(instr, pkt)``
``reject``         ``(instr, regs, pkt)``: emits the reject packet, verdict DROP
``queue``          ``(instr, regs, pkt, qnum: int)``: verdict NF_QUEUE
``dup``            ``(instr, regs, pkt)``
``fwd``            ``(instr, regs, pkt)``: verdict STOLEN
``synproxy``       ``(instr, regs, pkt)``
``notrack``        ``(instr, pkt)``
``flow_offload``   ``(instr, pkt)``
``socket``         ``(instr, pkt) -> SocketInfo | None``: None = BREAK
``xfrm``           ``(instr, pkt) -> bytes | None``: None = BREAK
``osf``            ``(instr, pkt) -> str | None``: OS genre (or "genre:version")
``set``            ``(name) -> SetLookup``: the set a lookup names
``set_conn``       ``(pkt) -> (conn_id, alive) | None``: the packet's conntrack
                   entry for ``ct count`` in set elements (default None)
=================  ==========================================================

Sets on the packet path: ``lookup`` asks ``SetLookup.match(key, now, pkt_len,
conn, invert)`` when the set has it (a :class:`pkttables.sets.SetInstance`), so
timeouts are checked at ``ctx.now`` and element counters, quotas and limits run with
``skb->len`` (:meth:`EvalContext.skb_len`), as nft_lookup_eval does; sets with only
``lookup``/``catchall`` (anonymous sets read from a dump) still work.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["EvalContext", "HookNotImplemented", "SetLookup", "SetMatch", "SocketInfo"]


class HookNotImplemented(NotImplementedError):
    """An instruction needs state the context does not provide (yet)."""


@runtime_checkable
class SetLookup(Protocol):
    """What ``lookup`` needs from a set: its key length, data length and a lookup.

    ``lookup(key)`` returns ``(found, data)``: ``data`` is the element's data bytes for
    a map, a :class:`~pkttables.vm.regs.VerdictData` for a verdict map, None for a
    plain set.  ``catchall()`` returns ``(present, data)`` for the catch-all element
    (``*``), which the kernel consults whenever the lookup result is "not found".
    """

    klen: int
    dlen: int

    def lookup(self, key: bytes) -> tuple[bool, Any]: ...

    def catchall(self) -> tuple[bool, Any]: ...


@runtime_checkable
class SetMatch(SetLookup, Protocol):
    """A set that does the whole of ``nft_lookup_eval`` itself (optional, preferred).

    ``match(key, now, pkt_len, conn=None, invert=False) -> (found, data, brk)``:
    ``now`` in seconds (timeouts), ``pkt_len`` the packet's ``skb->len`` (element
    counters and quotas), ``conn`` what :meth:`EvalContext.set_conn` returns (element
    ``ct count``), ``invert`` the lookup's NFT_LOOKUP_F_INV; the catch-all is included.
    ``brk``: an element expression (quota, limit) ended the rule.
    ``dynset(op, key, data, now=, template=, timeout=, pkt_len=, conn=) -> bool``:
    the packet path writes the set (False = BREAK).
    """

    def match(self, key: bytes, now: float, pkt_len: int = 0, conn: Any = None,
              invert: bool = False) -> tuple[bool, Any, bool]: ...


@dataclass(frozen=True, slots=True)
class SocketInfo:
    """The socket ``socket`` finds for a packet (nft_socket.c reads these)."""

    transparent: bool = False
    mark: int = 0
    wildcard: bool = False
    cgroupv2: int = 0


class EvalContext:
    """The world one rule runs in.

    ``family``: the table family (:class:`pkttables.proto.NfProto`), ``hook``: the hook
    name (``"prerouting"``...), ``host``: a :class:`pkttables.stack.host.Host` (or None),
    ``now``: wall-clock seconds (``meta time``; injected, never read from a clock),
    ``tz_minuteswest``: the kernel's ``sys_tz`` (``meta day``/``hour``),
    ``rng``: seeded RNG for ``meta random`` / ``numgen random`` / autogenerated hash
    seeds, ``l3_trim``: the skb ends at the IP length (true at the inet hooks, where
    ip_rcv has trimmed it), ``route``: the routing decision attached to the packet
    (``skb_dst``), ``secpath``: the packet went through IPsec, ``sk_uid``/``sk_gid``/
    ``cgroup``: the local socket's owner, ``sets``: name -> :class:`SetLookup`.
    """

    def __init__(self, *, family: int = 2, hook: str = "prerouting", host: Any = None,
                 now: float = 0.0, tz_minuteswest: int = 0, seed: int = 0,
                 l3_trim: bool = False, route: Any = None, secpath: bool = False,
                 sk_uid: int | None = None, sk_gid: int | None = None, cgroup: int | None = None,
                 sets: dict[str, SetLookup] | None = None):
        self.family = family
        self.hook = hook
        self.host = host
        self.now = now
        self.tz_minuteswest = tz_minuteswest
        self.rng = random.Random(seed)
        self.l3_trim = l3_trim
        self.route = route
        self.secpath = secpath
        self.sk_uid = sk_uid
        self.sk_gid = sk_gid
        self.cgroup = cgroup
        self.sets = dict(sets or {})
        # per-instruction state (numgen counters, autogenerated hash seeds): id -> [instr, value]
        self._state: dict[int, list[Any]] = {}

    # -------------------------------------------------------------- stateless helpers

    def state(self, instr: Any, init: Any) -> list[Any]:
        """A mutable per-instruction cell ``[instr, value]`` (kept alive with the instr)."""
        cell = self._state.get(id(instr))
        if cell is None or cell[0] is not instr:
            cell = self._state[id(instr)] = [instr, init() if callable(init) else init]
        return cell

    def interface(self, name: str | None) -> Any:
        if name is None or self.host is None:
            return None
        return self.host.interfaces.get(name)

    def set(self, name: str) -> SetLookup:
        try:
            return self.sets[name]
        except KeyError:
            raise HookNotImplemented(f"no set {name!r} in this context") from None

    def skb_len(self, pkt) -> int:
        """``skb->len`` at this hook: from the network header (the MAC header was
        pulled) to the end, or to the IP length where ip_rcv trimmed the padding
        (``l3_trim``).  What counters, quotas and set element counters add."""
        if pkt is None:
            return 0
        nh = getattr(pkt, "nh_off", -1)
        if self.l3_trim and nh >= 0:
            return pkt.l3_len
        start = nh if nh >= 0 else max(getattr(pkt, "mac_len", 0), 0)
        return len(pkt.buf) - start

    def set_conn(self, pkt) -> Any:
        """The packet's conntrack entry as ``(conn_id, alive)`` for ``ct count`` in set
        elements; None (no entry: ``ct count`` BREAKs) unless a subclass knows it."""
        return None

    # -------------------------------------------------------------- stateful hooks

    def dynset(self, instr, regs, pkt) -> bool:
        """``nft_dynset_eval`` through the set's own ``dynset`` (a
        :class:`pkttables.sets.SetInstance`): the key (and data) from the registers,
        the dynset's timeout and expressions, ``now`` and ``skb->len``.  False = BREAK."""
        s = self.set(instr.set)
        dyn = getattr(s, "dynset", None)
        if dyn is None:
            return self._missing(f"dynset on set {instr.set!r} that cannot be updated")
        key = regs.load(instr.sreg_key, s.klen)
        data = regs.load(instr.sreg_data, s.dlen) if instr.sreg_data is not None else None
        return dyn(int(instr.op), key, data, now=self.now, template=instr.exprs,
                   timeout=instr.timeout, pkt_len=self.skb_len(pkt), conn=self.set_conn(pkt))

    def _missing(self, what: str) -> Any:
        raise HookNotImplemented(f"{what}: this EvalContext does not implement it")

    def counter(self, instr, pkt): return self._missing("counter")
    def limit(self, instr, pkt): return self._missing("limit")
    def quota(self, instr, pkt): return self._missing("quota")
    def connlimit(self, instr, pkt): return self._missing("connlimit")
    def last(self, instr, pkt): return self._missing("last")
    def ct_get(self, instr, pkt): return self._missing("ct load")
    def ct_set(self, instr, pkt, value): return self._missing("ct set")
    def nat(self, instr, regs, pkt): return self._missing("nat")
    def masq(self, instr, regs, pkt): return self._missing("masq")
    def redir(self, instr, regs, pkt): return self._missing("redir")
    def tproxy(self, instr, regs, pkt): return self._missing("tproxy")
    def objref(self, instr, regs, pkt): return self._missing("objref")
    def log(self, instr, pkt): return self._missing("log")
    def reject(self, instr, regs, pkt): return self._missing("reject")
    def queue(self, instr, regs, pkt, qnum): return self._missing("queue")
    def dup(self, instr, regs, pkt): return self._missing("dup")
    def fwd(self, instr, regs, pkt): return self._missing("fwd")
    def synproxy(self, instr, regs, pkt): return self._missing("synproxy")
    def notrack(self, instr, pkt): return self._missing("notrack")
    def flow_offload(self, instr, pkt): return self._missing("flow_offload")
    def socket(self, instr, pkt): return self._missing("socket")
    def xfrm(self, instr, pkt): return self._missing("xfrm")
    def osf(self, instr, pkt): return self._missing("osf")
    def meta_set(self, instr, pkt, value): return self._missing(f"meta set {instr.key.name.lower()}")
