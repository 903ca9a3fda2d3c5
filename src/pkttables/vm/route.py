"""``fib``, ``rt``, ``socket``, ``xfrm``, ``osf``: questions about the host rather than
the packet (nft_fib.c, nft_fib_ipv4/6.c, nft_rt.c, nft_socket.c, nft_xfrm.c, nft_osf.c).

What they need from the host:

* fib: ``ctx.host.fib_lookup(saddr, daddr, flags=, result=, iif=, oif=, hook=)``
  (:meth:`pkttables.stack.routing.Routing.fib_lookup`), which reproduces
  nft_fib4_eval / nft_fib6_eval and their ``type`` variants.  Results are stored as
  nft_fib_store_result does: an ifindex (u32), a NUL-padded name, or an RTN_* number;
  with ``present`` a u8 0/1.  A packet that is neither IPv4 nor IPv6 gets NF_DROP in
  the inet-style families (nft_fib_inet_eval) and NFT_BREAK in netdev.
* rt: ``ctx.route`` -- the :class:`~pkttables.stack.routing.RouteDecision` attached to
  the packet (``skb_dst``); without one, BREAK.  ``mtu`` is ``tcpmss``: the smaller MTU
  of the output device and of the route back to the source, minus IP and TCP headers.
* socket, xfrm, osf: socket table, IPsec state and fingerprints are not in the host
  model; they go through ``ctx.socket`` / ``ctx.xfrm`` / ``ctx.osf``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from pkttables.proto import FibFlag, FibResult, RtKeyId, SocketKeyId, XfrmDir, XfrmKey
from pkttables.vm._base import DumpError, Instr, match, register
from pkttables.vm.context import HookNotImplemented
from pkttables.vm.regs import Verdict

__all__ = ["Fib", "Rt", "Socket", "Xfrm", "Osf", "RTN_NUMBERS"]

_BREAK = Verdict.BREAK

_FIB_FLAG_NAMES = ((FibFlag.SADDR, "saddr"), (FibFlag.DADDR, "daddr"), (FibFlag.MARK, "mark"),
                   (FibFlag.IIF, "iif"), (FibFlag.OIF, "oif"))
_FIB_RESULT_NAMES = {FibResult.UNSPEC: "unknown", FibResult.OIF: "oif",
                     FibResult.OIFNAME: "oifname", FibResult.ADDRTYPE: "type"}
_FIB_RESULT_BY_NAME = {v: k for k, v in _FIB_RESULT_NAMES.items()}
_FIB_RESULT_WORD = {FibResult.OIF: "oif", FibResult.OIFNAME: "oifname", FibResult.ADDRTYPE: "type"}
_HOOK_NAMES = {0: "prerouting", 1: "input", 2: "forward", 3: "output", 4: "postrouting"}

#: RTN_* numbers by the names Routing.addr_type returns (rtnetlink.h)
RTN_NUMBERS = {"unspec": 0, "unicast": 1, "local": 2, "broadcast": 3, "anycast": 4,
               "multicast": 5, "blackhole": 6, "unreachable": 7, "prohibit": 8, "throw": 9,
               "nat": 10, "xresolve": 11}


def _addrs(pkt):
    buf = pkt.buf
    nh = pkt.nh_off
    if pkt.nfproto == 2 and nh >= 0 and nh + 20 <= len(buf):
        return (ipaddress.IPv4Address(bytes(buf[nh + 12:nh + 16])),
                ipaddress.IPv4Address(bytes(buf[nh + 16:nh + 20])))
    if pkt.nfproto == 10 and nh >= 0 and nh + 40 <= len(buf):
        return (ipaddress.IPv6Address(bytes(buf[nh + 8:nh + 24])),
                ipaddress.IPv6Address(bytes(buf[nh + 24:nh + 40])))
    return None


def _host(ctx, what: str):
    if ctx.host is None:
        raise HookNotImplemented(f"{what} needs ctx.host")
    return ctx.host


@register
@dataclass(frozen=True, slots=True)
class Fib(Instr):
    """``[ fib saddr . iif oif => reg 1 ]``, ``[ fib daddr oif present => reg 1 ]``"""

    name = "fib"

    flags: FibFlag
    result: FibResult
    dreg: int

    def body(self) -> str:
        keys = " . ".join(n for f, n in _FIB_FLAG_NAMES if self.flags & f)
        pres = " present" if self.flags & FibFlag.PRESENT else ""
        return f"{keys} {_FIB_RESULT_NAMES.get(self.result, 'unknown')}{pres} => reg {self.dreg}"

    _RE = re.compile(r"((?:\w+ \. )*\w+) (\w+)( present)? => reg (\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "Fib":
        m = match(cls._RE, body, "fib")
        names = dict((n, f) for f, n in _FIB_FLAG_NAMES)
        flags = FibFlag(0)
        for k in m[1].split(" . "):
            if k not in names:
                raise DumpError(f"unknown fib flag {k!r}")
            flags |= names[k]
        if m[3]:
            flags |= FibFlag.PRESENT
        if m[2] not in _FIB_RESULT_BY_NAME:
            raise DumpError(f"unknown fib result {m[2]!r}")
        return cls(flags, _FIB_RESULT_BY_NAME[m[2]], int(m[4]))

    def eval(self, regs, pkt, ctx) -> None:
        addrs = _addrs(pkt)
        if addrs is None:
            # nft_fib_inet_eval drops; nft_fib_netdev_eval breaks
            regs.verdict = _BREAK if ctx.family == 5 else Verdict.DROP
            return
        host = _host(ctx, "fib")
        flags = [n for f, n in _FIB_FLAG_NAMES if self.flags & f]
        word = _FIB_RESULT_WORD.get(self.result)
        if word is None:
            raise DumpError("fib: no result type")
        hook = ctx.hook if isinstance(ctx.hook, str) else _HOOK_NAMES.get(ctx.hook, "prerouting")
        res = host.fib_lookup(addrs[0], addrs[1], flags=flags, result=word, iif=pkt.iif,
                              oif=pkt.oif, hook=hook)
        present = bool(self.flags & FibFlag.PRESENT)
        if self.result == FibResult.OIF:
            if present:
                regs.store_u8(self.dreg, 1 if res else 0)
            else:
                regs.store_u32(self.dreg, int(res))
        elif self.result == FibResult.OIFNAME:
            if present:
                regs.store_u8(self.dreg, 1 if res else 0)
            else:
                regs.store(self.dreg, str(res).encode()[:15].ljust(16, b"\0"))
        else:
            regs.store_u32(self.dreg, RTN_NUMBERS.get(str(res), 0))


_RT_NAMES = {RtKeyId.CLASSID: "classid", RtKeyId.NEXTHOP4: "nexthop4", RtKeyId.NEXTHOP6: "nexthop6",
             RtKeyId.TCPMSS: "tcpmss", RtKeyId.XFRM: "ipsec"}
_RT_BY_NAME = {v: k for k, v in _RT_NAMES.items()}
TCP_MSS_DEFAULT = 536


@register
@dataclass(frozen=True, slots=True)
class Rt(Instr):
    """``[ rt load nexthop4 => reg 1 ]``"""

    name = "rt"

    key: RtKeyId
    dreg: int

    def body(self) -> str:
        return f"load {_RT_NAMES.get(self.key, 'unknown')} => reg {self.dreg}"

    _RE = re.compile(r"load (\w+) => reg (\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "Rt":
        m = match(cls._RE, body, "rt")
        if m[1] not in _RT_BY_NAME:
            raise DumpError(f"unknown rt key {m[1]!r}")
        return cls(_RT_BY_NAME[m[1]], int(m[2]))

    def eval(self, regs, pkt, ctx) -> None:
        dst = ctx.route
        if dst is None:
            regs.verdict = _BREAK
            return
        k = self.key
        if k == RtKeyId.CLASSID:
            regs.store_u32(self.dreg, 0)  # no realms in the host model
        elif k in (RtKeyId.NEXTHOP4, RtKeyId.NEXTHOP6):
            want = 2 if k == RtKeyId.NEXTHOP4 else 10
            addrs = _addrs(pkt)
            if pkt.nfproto != want or addrs is None:
                regs.verdict = _BREAK
                return
            # rt_nexthop / rt6_nexthop: the gateway, else the destination itself
            gw = dst.gateway if dst.gateway is not None else addrs[1]
            regs.store(self.dreg, ipaddress.ip_address(gw).packed)
        elif k == RtKeyId.TCPMSS:
            regs.store_u16(self.dreg, self._tcpmss(pkt, ctx, dst))
        elif k == RtKeyId.XFRM:
            regs.store_u8(self.dreg, 0)  # no IPsec policies in the host model
        else:
            regs.verdict = _BREAK

    @staticmethod
    def _tcpmss(pkt, ctx, dst) -> int:
        """get_tcpmss: min(dst mtu, mtu of the route back to the source) - headers."""
        minlen = 40 if pkt.nfproto == 2 else 60
        host = ctx.host
        mtu = 0xFFFFFFFF
        dev = host.interfaces.get(dst.oif) if host is not None and dst.oif else None
        if dev is not None:
            mtu = dev.mtu
        addrs = _addrs(pkt)
        if host is not None and addrs is not None:
            try:
                back = host.route_output(addrs[0])
            except Exception:  # an address the host cannot route: no reverse route
                back = None
            bdev = host.interfaces.get(back.oif) if back is not None and back.oif else None
            if bdev is not None:
                mtu = min(mtu, bdev.mtu)
        if mtu <= minlen or mtu > 0xFFFF:
            return TCP_MSS_DEFAULT
        return mtu - minlen


_SOCKET_NAMES = {SocketKeyId.TRANSPARENT: "transparent", SocketKeyId.MARK: "mark",
                 SocketKeyId.WILDCARD: "wildcard", SocketKeyId.CGROUPV2: "cgroupv2"}
_SOCKET_BY_NAME = {v: k for k, v in _SOCKET_NAMES.items()}


@register
@dataclass(frozen=True, slots=True)
class Socket(Instr):
    """``[ socket load transparent => reg 1 ]``"""

    name = "socket"
    stateful = True

    key: SocketKeyId
    dreg: int
    level: int | None = None

    def body(self) -> str:
        out = f"load {_SOCKET_NAMES.get(self.key, 'unknown')} => reg {self.dreg}"
        if self.level is not None:
            out += f" level {self.level}"
        return out

    _RE = re.compile(r"load (\w+) => reg (\d+)(?: level (\d+))?")

    @classmethod
    def parse_body(cls, body: str) -> "Socket":
        m = match(cls._RE, body, "socket")
        if m[1] not in _SOCKET_BY_NAME:
            raise DumpError(f"unknown socket key {m[1]!r}")
        return cls(_SOCKET_BY_NAME[m[1]], int(m[2]), int(m[3]) if m[3] else None)

    def eval(self, regs, pkt, ctx) -> None:
        sk = ctx.socket(self, pkt)
        if sk is None:
            regs.verdict = _BREAK
            return
        k = self.key
        if k == SocketKeyId.TRANSPARENT:
            regs.store_u8(self.dreg, 1 if sk.transparent else 0)
        elif k == SocketKeyId.MARK:
            regs.store_u32(self.dreg, sk.mark)
        elif k == SocketKeyId.WILDCARD:
            regs.store_u8(self.dreg, 1 if sk.wildcard else 0)
        else:
            regs.store_u64(self.dreg, sk.cgroupv2)


_XFRM_NAMES = {XfrmKey.DADDR_IP4: "daddr4", XfrmKey.DADDR_IP6: "daddr6", XfrmKey.SADDR_IP4: "saddr4",
               XfrmKey.SADDR_IP6: "saddr6", XfrmKey.REQID: "reqid", XfrmKey.SPI: "spi"}
_XFRM_BY_NAME = {v: k for k, v in _XFRM_NAMES.items()}


@register
@dataclass(frozen=True, slots=True)
class Xfrm(Instr):
    """``[ xfrm load in 0 saddr4 => reg 1 ]`` (``ipsec in spnum 0 ip saddr``)"""

    name = "xfrm"
    stateful = True

    dir: XfrmDir
    spnum: int
    key: XfrmKey
    dreg: int

    def body(self) -> str:
        d = "in" if self.dir == XfrmDir.IN else "out"
        return f"load {d} {self.spnum} {_XFRM_NAMES.get(self.key, 'unknown')} => reg {self.dreg}"

    _RE = re.compile(r"load (in|out) (\d+) (\w+) => reg (\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "Xfrm":
        m = match(cls._RE, body, "xfrm")
        if m[3] not in _XFRM_BY_NAME:
            raise DumpError(f"unknown xfrm key {m[3]!r}")
        return cls(XfrmDir.IN if m[1] == "in" else XfrmDir.OUT, int(m[2]), _XFRM_BY_NAME[m[3]], int(m[4]))

    def eval(self, regs, pkt, ctx) -> None:
        v = ctx.xfrm(self, pkt)
        if v is None:
            regs.verdict = _BREAK
        else:
            regs.store(self.dreg, v)


@register
@dataclass(frozen=True, slots=True)
class Osf(Instr):
    """``[ osf dreg 1 ]``.  ``ttl`` (NF_OSF_TTL_*) and ``flags`` (version) are not
    dumped by libnftnl, so a parsed osf has the defaults."""

    name = "osf"
    stateful = True

    dreg: int
    ttl: int = 0
    flags: int = 0

    def body(self) -> str:
        return f"dreg {self.dreg}"

    _RE = re.compile(r"dreg (\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "Osf":
        return cls(int(match(cls._RE, body, "osf")[1]))

    def eval(self, regs, pkt, ctx) -> None:
        # nft_osf_eval: TCP only, else BREAK; no match stores "unknown"
        if pkt.l4proto != 6 or not pkt.has_transport:
            regs.verdict = _BREAK
            return
        genre = ctx.osf(self, pkt)
        regs.store(self.dreg, (genre or "unknown").encode()[:15].ljust(16, b"\0"))
