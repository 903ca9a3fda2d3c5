"""``meta``: load or set packet metadata (nft_meta.c, nft_meta_bridge.c).

Loads store values as the kernel does: host-endian integers (``*dest = skb->mark``),
``nft_reg_store8/16`` for 1- and 2-byte keys (zeroing the rest of the word), the
big-endian EtherType for ``protocol``, NUL-padded 16-byte names for ``iifname``.  A key
that has nothing to give BREAKs where the kernel does (``l4proto`` without L4 info,
``iiftype``/``iifgroup``/``iifkind`` without a device, ``skuid`` without a socket).
``iiftype`` reads ``skb->dev`` (the output device at postrouting, see :func:`_skb_dev`).

Devices come from ``ctx.host`` by the packet's ``iif``/``oif`` names; a device the host
does not know reads as absent.  Time keys read the injected ``ctx.now``; ``day``
applies ``ctx.tz_minuteswest`` as the kernel applies ``sys_tz``; ``hour`` is UTC.  ``cpu`` is 0,
``random`` comes from ``ctx.rng``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address

from pkttables.proto import MetaKeyId
from pkttables.vm._base import DumpError, Instr, match, register
from pkttables.vm.regs import Verdict

__all__ = ["MetaLoad", "MetaSet", "META_KEY_NAMES", "ARPHRD"]

_BREAK = Verdict.BREAK
_K = MetaKeyId

#: libnftnl 1.2.4 meta_key2str_array; keys past it print "unknown".
META_KEY_NAMES: dict[int, str] = {
    _K.LEN: "len", _K.PROTOCOL: "protocol", _K.NFPROTO: "nfproto", _K.L4PROTO: "l4proto",
    _K.PRIORITY: "priority", _K.MARK: "mark", _K.IIF: "iif", _K.OIF: "oif",
    _K.IIFNAME: "iifname", _K.OIFNAME: "oifname", _K.IIFTYPE: "iiftype", _K.OIFTYPE: "oiftype",
    _K.SKUID: "skuid", _K.SKGID: "skgid", _K.NFTRACE: "nftrace", _K.RTCLASSID: "rtclassid",
    _K.SECMARK: "secmark", _K.BRI_IIFNAME: "bri_iifname", _K.BRI_OIFNAME: "bri_oifname",
    _K.PKTTYPE: "pkttype", _K.CPU: "cpu", _K.IIFGROUP: "iifgroup", _K.OIFGROUP: "oifgroup",
    _K.CGROUP: "cgroup", _K.PRANDOM: "prandom", _K.SECPATH: "secpath", _K.IIFKIND: "iifkind",
    _K.OIFKIND: "oifkind", _K.BRI_IIFPVID: "bri_iifpvid", _K.BRI_IIFVPROTO: "bri_iifvproto",
    _K.TIME_NS: "time", _K.TIME_DAY: "day", _K.TIME_HOUR: "hour", _K.SDIF: "sdif",
    _K.SDIFNAME: "sdifname",
}
_KEY_BY_NAME = {v: MetaKeyId(k) for k, v in META_KEY_NAMES.items()}

#: ARPHRD_* of the host's interface kinds (include/uapi/linux/if_arp.h)
ARPHRD = {"ether": 1, "bridge": 1, "loopback": 772}

# PACKET_* (if_packet.h)
_PACKET_BROADCAST, _PACKET_MULTICAST, _PACKET_OTHERHOST, _PACKET_LOOPBACK = 1, 2, 3, 5
_NFPROTO_IPV4, _NFPROTO_IPV6, _NFPROTO_NETDEV, _NFPROTO_INET, _NFPROTO_BRIDGE = 2, 10, 5, 1, 7


def _key_name(key: int) -> str:
    return META_KEY_NAMES.get(int(key), "unknown")


def _parse_key(word: str) -> MetaKeyId:
    if word not in _KEY_BY_NAME:
        raise DumpError(f"unknown meta key {word!r}")
    return _KEY_BY_NAME[word]


def _ifname(name: str | None) -> bytes:
    return (name or "").encode()[:15].ljust(16, b"\0")


def _pf(pkt, ctx) -> int:
    """nft_pf(pkt): the hook's family.  inet chains run on the IPv4/IPv6 hooks."""
    fam = ctx.family
    if fam in (_NFPROTO_IPV4, _NFPROTO_IPV6, _NFPROTO_INET):
        return int(pkt.nfproto)
    return int(fam)


def _pkttype(pkt, ctx) -> int | None:
    """nft_meta_get_eval_pkttype_lo: PACKET_LOOPBACK is reported by destination."""
    t = int(pkt.pkt_type)
    if t != _PACKET_LOOPBACK:
        return t
    pf = _pf(pkt, ctx)
    proto = pkt.ethertype if pf == _NFPROTO_NETDEV else None
    if pf == _NFPROTO_IPV4 or proto == 0x0800:
        nh = pkt.nh_off
        if nh < 0 or nh + 20 > len(pkt.buf):
            return None
        return _PACKET_MULTICAST if IPv4Address(bytes(pkt.buf[nh + 16:nh + 20])).is_multicast \
            else _PACKET_BROADCAST
    if pf == _NFPROTO_IPV6 or proto == 0x86DD:
        return _PACKET_MULTICAST
    return None


def _skb_dev(pkt, ctx) -> str | None:
    """The device ``skb->dev`` names at this hook.

    Since Linux 5.16 key 9 is ``NFT_META_IFTYPE`` (``iiftype`` is its alias) and
    nft_meta_get_eval_ifname reads ``pkt->skb->dev``, not the hook's input device:
    ip_output/ip6_finish_output set ``skb->dev`` to the output device before
    POSTROUTING, a locally generated skb has no device at OUTPUT, __br_forward sets
    the output port before the bridge FORWARD/OUTPUT hooks and br_pass_frame_up the
    bridge device before bridge INPUT; everywhere else it is the arrival device.
    """
    hook = ctx.hook
    if hook in ("postrouting", "egress"):
        return pkt.oif
    if ctx.family == _NFPROTO_BRIDGE:
        if hook in ("forward", "output"):
            return pkt.oif
        if hook == "input":
            dev = ctx.interface(pkt.iif)
            return dev.bridge if dev is not None and dev.bridge else pkt.iif
        return pkt.iif
    if hook == "output":
        return None
    return pkt.iif


def _hour_seconds(now: float) -> int:
    # nft_meta_hour: seconds into the UTC day; nft converted the rule's local hour to
    # UTC already, so the kernel applies no time zone here (unlike ``day``)
    return int(now) % 86400


def _get(key: int, pkt, ctx):
    """The value of ``key`` as register bytes, or None to BREAK."""
    if key == _K.MARK:
        return (pkt.mark & 0xFFFFFFFF).to_bytes(4, "little")
    if key == _K.L4PROTO:
        return bytes((pkt.l4proto,)) if pkt.l4proto >= 0 else None
    if key == _K.PROTOCOL:
        return (max(pkt.ethertype, 0) & 0xFFFF).to_bytes(2, "big")
    if key == _K.NFPROTO:
        return bytes((_pf(pkt, ctx),))
    if key == _K.LEN:
        if ctx.hook == "egress":
            # __dev_queue_xmit: the MAC header is already pushed (as skb_len in counters)
            return (len(pkt.buf) - max(pkt.mac_off, 0)).to_bytes(4, "little")
        # skb->len: from the network header (data was pulled past the MAC header)
        start = pkt.nh_off if pkt.nh_off >= 0 else max(pkt.mac_len, 0)
        end = pkt.nh_off + pkt.l3_len if ctx.l3_trim and pkt.nh_off >= 0 else len(pkt.buf)
        return (end - start).to_bytes(4, "little")
    if key == _K.PRIORITY:
        return (pkt.priority & 0xFFFFFFFF).to_bytes(4, "little")
    if key in (_K.IIF, _K.OIF):
        dev = ctx.interface(pkt.iif if key == _K.IIF else pkt.oif)
        return (dev.ifindex if dev is not None else 0).to_bytes(4, "little")
    if key in (_K.IIFNAME, _K.OIFNAME):
        dev = ctx.interface(pkt.iif if key == _K.IIFNAME else pkt.oif)
        return _ifname(dev.name if dev is not None else None)
    if key in (_K.IIFTYPE, _K.OIFTYPE):
        dev = ctx.interface(_skb_dev(pkt, ctx) if key == _K.IIFTYPE else pkt.oif)
        return None if dev is None else ARPHRD.get(dev.kind, 1).to_bytes(2, "little")
    if key in (_K.IIFGROUP, _K.OIFGROUP):
        dev = ctx.interface(pkt.iif if key == _K.IIFGROUP else pkt.oif)
        return None if dev is None else dev.group.to_bytes(4, "little")
    if key in (_K.IIFKIND, _K.OIFKIND):
        dev = ctx.interface(pkt.iif if key == _K.IIFKIND else pkt.oif)
        # only devices with rtnl_link_ops have a kind; physical NICs and lo do not
        if dev is None or dev.kind != "bridge":
            return None
        return _ifname("bridge")
    if key in (_K.BRI_IIFNAME, _K.BRI_OIFNAME):
        dev = ctx.interface(pkt.iif if key == _K.BRI_IIFNAME else pkt.oif)
        if dev is None or dev.bridge is None:
            return None
        return _ifname(dev.bridge)
    if key == _K.PKTTYPE:
        t = _pkttype(pkt, ctx)
        return None if t is None else bytes((t,))
    if key == _K.NFTRACE:
        return bytes((pkt.nftrace & 1,))
    if key == _K.CPU:
        return bytes(4)
    if key in (_K.RTCLASSID, _K.SECMARK, _K.SDIF):
        return bytes(4)
    if key == _K.SDIFNAME:
        return bytes(16)
    if key == _K.SECPATH:
        return bytes((1 if ctx.secpath else 0,))
    if key in (_K.SKUID, _K.SKGID, _K.CGROUP):
        v = {_K.SKUID: ctx.sk_uid, _K.SKGID: ctx.sk_gid, _K.CGROUP: ctx.cgroup}[key]
        return None if v is None else (v & 0xFFFFFFFF).to_bytes(4, "little")
    if key == _K.PRANDOM:
        return ctx.rng.getrandbits(32).to_bytes(4, "little")
    if key == _K.TIME_NS:
        return (int(round(ctx.now * 1e9)) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")
    if key == _K.TIME_DAY:
        # nft_meta_weekday: 1970-01-01 was a Thursday (4); Sunday is 0
        secs = int(ctx.now) - ctx.tz_minuteswest * 60
        return bytes(((4 + secs // 86400) % 7,))
    if key == _K.TIME_HOUR:
        return _hour_seconds(ctx.now).to_bytes(4, "little")
    # bridge VLAN keys need the bridge's VLAN state: not modelled, so no value
    return None


@register
@dataclass(frozen=True, slots=True)
class MetaLoad(Instr):
    """``[ meta load l4proto => reg 1 ]``"""

    name = "meta"
    verb = "load"

    key: MetaKeyId
    dreg: int

    def body(self) -> str:
        return f"load {_key_name(self.key)} => reg {self.dreg}"

    _RE = re.compile(r"load (\w+) => reg (\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "MetaLoad":
        m = match(cls._RE, body, "meta load")
        return cls(_parse_key(m[1]), int(m[2]))

    def eval(self, regs, pkt, ctx) -> None:
        v = _get(self.key, pkt, ctx)
        if v is None:
            regs.verdict = _BREAK
        else:
            regs.store(self.dreg, v)


@register
@dataclass(frozen=True, slots=True)
class MetaSet(Instr):
    """``[ meta set mark with reg 1 ]``"""

    name = "meta"
    verb = "set"

    key: MetaKeyId
    sreg: int

    def body(self) -> str:
        return f"set {_key_name(self.key)} with reg {self.sreg}"

    _RE = re.compile(r"set (\w+) with reg (\d+)")

    @classmethod
    def parse_body(cls, body: str) -> "MetaSet":
        m = match(cls._RE, body, "meta set")
        return cls(_parse_key(m[1]), int(m[2]))

    def eval(self, regs, pkt, ctx) -> None:
        k = self.key
        if k == _K.MARK:
            pkt.mark = regs.load_u32(self.sreg)
        elif k == _K.PRIORITY:
            pkt.priority = regs.load_u32(self.sreg)
        elif k == _K.NFTRACE:
            pkt.nftrace = 1 if regs.load_u8(self.sreg) else 0
        elif k == _K.PKTTYPE:
            # nft_meta_set_eval: only between HOST..OTHERHOST, and only on a change
            v = regs.load_u8(self.sreg)
            if v != pkt.pkt_type and v <= _PACKET_OTHERHOST and pkt.pkt_type <= _PACKET_OTHERHOST:
                from pkttables.packet import PacketType
                pkt.pkt_type = PacketType(v)
        else:
            ctx.meta_set(self, pkt, regs.load(self.sreg, 4))
