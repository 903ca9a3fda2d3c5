"""``ct`` expressions on the replay's connection tracking: ``nft_ct_get_eval``.

The register machine asks its context for ``ct`` keys (``ctx.ct_get(instr, pkt)``); the
conntrack package sets ``pkt.ct``/``pkt.ctinfo``.  Until the vm's context reads them
itself, the replay installs this reader on the runtime's context (only when that
context still has the base class's "not implemented" hook).

Values are stored as the kernel stores them (net/netfilter/nft_ct.c): state, status,
mark and expiration as 32-bit host-order words, zone as 16-bit host order, direction,
l3protocol and protocol as one byte, addresses as they are, ports in network order.
A packet without a conntrack entry (invalid) or untracked breaks the rule for every key
but ``state``, as ``nft_ct_get_eval`` does (``goto err`` -> NFT_BREAK).
"""

from __future__ import annotations

import struct
from typing import Any

from pkttables.conntrack import CtInfo, ct_state
from pkttables.proto import CtKeyId
from pkttables.vm.context import HookNotImplemented

__all__ = ["ct_get", "install_ct_get"]

_IS_REPLY = int(CtInfo.IS_REPLY) if hasattr(CtInfo, "IS_REPLY") else 3


def ct_get(ctx: Any, instr: Any, pkt: Any) -> bytes | None:
    key = CtKeyId(int(instr.key))
    if key == CtKeyId.STATE:
        return struct.pack("<I", ct_state(pkt))
    ct, ctinfo = getattr(pkt, "ct", None), getattr(pkt, "ctinfo", None)
    if ct is None or ctinfo is None or int(ctinfo) == 7:   # invalid or IP_CT_UNTRACKED
        return None
    if key == CtKeyId.DIRECTION:
        return bytes([1 if int(ctinfo) >= _IS_REPLY else 0])
    if key == CtKeyId.STATUS:
        return struct.pack("<I", int(ct.status) & 0xFFFFFFFF)
    if key == CtKeyId.MARK:
        return struct.pack("<I", ct.mark & 0xFFFFFFFF)
    if key == CtKeyId.ZONE:
        return struct.pack("<H", ct.zone & 0xFFFF)
    if key == CtKeyId.EXPIRATION:
        # Confirmed: time left; unconfirmed: the relative timeout (nf_ct_expires).
        left = ct.expires - ctx.now if getattr(ct, "confirmed", False) else ct.timeout
        return struct.pack("<I", max(0, int(left * 1000)))
    d = 0 if instr.dir is None else int(instr.dir)
    t = ct.tuples[d]
    if key == CtKeyId.L3PROTOCOL:
        return bytes([t.l3num & 0xFF])
    if key == CtKeyId.PROTOCOL:
        return bytes([t.protonum & 0xFF])
    if key in (CtKeyId.SRC, CtKeyId.SRC_IP, CtKeyId.SRC_IP6):
        return bytes(t.src)
    if key in (CtKeyId.DST, CtKeyId.DST_IP, CtKeyId.DST_IP6):
        return bytes(t.dst)
    if key == CtKeyId.PROTO_SRC:
        return struct.pack("!H", t.sport & 0xFFFF)
    if key == CtKeyId.PROTO_DST:
        return struct.pack("!H", t.dport & 0xFFFF)
    raise HookNotImplemented(f"ct {key.name.lower()}: not read by the replay's conntrack glue yet")


def install_ct_get(runtime: Any) -> bool:
    """Give the runtime's context :func:`ct_get` unless it has its own."""
    from pkttables.vm.context import EvalContext

    ctx = getattr(runtime, "ctx", None)
    if ctx is None or type(ctx).ct_get is not EvalContext.ct_get:
        return False
    ctx.ct_get = lambda instr, pkt: ct_get(ctx, instr, pkt)
    return True
