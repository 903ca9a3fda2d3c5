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

Theory of operation (why it looks the way it does).  This reader runs once per ``ct``
load per packet, and ``ct state established,related accept`` is the first rule of
nearly every ruleset, so its cost is most of what the generated-code backend spends on
a packet.  It therefore avoids everything that runs Python-level enum code:

* the key is looked up as a plain int in a dict of readers (no ``CtKeyId(...)`` call;
  an IntEnum hashes and compares as its int value);
* IntFlag arithmetic (``ct.status & Status.TEMPLATE`` runs ``enum.Flag.__and__`` and
  builds a new flag) is replaced by ``int.__and__`` on the same object, which is C;
* ``ct state`` has five possible answers: their 4-byte words are built once, and the
  ``ctinfo -> word`` mapping (``NF_CT_STATE_BIT(ctinfo)``) is a dict lookup; status
  words are memoised per status value (a handful of flag combinations occur).

No per-packet cache: the answer is already a couple of attribute reads and one dict
lookup, and a cache would have to be invalidated whenever ``pkt.ct``/``pkt.ctinfo``
change (``ct zone set`` attaches a template, NAT and confirm touch the status).
"""

from __future__ import annotations

import struct
from typing import Any

from pkttables.proto import CtKeyId
from pkttables.vm.context import HookNotImplemented

__all__ = ["ct_get", "ct_state_word", "install_ct_get", "make_reader"]

_AND = int.__and__                 # IntFlag & int without enum.Flag.__and__
_U32 = struct.Struct("<I").pack
_BE16 = struct.Struct("!H").pack
_LE16 = struct.Struct("<H").pack

_IS_REPLY = 3                      # IP_CT_IS_REPLY
_UNTRACKED_CTINFO = 7              # IP_CT_UNTRACKED
_IPS_TEMPLATE = 1 << 11            # IPS_TEMPLATE

#: NF_CT_STATE_INVALID_BIT and NF_CT_STATE_UNTRACKED_BIT as loaded into the register
STATE_INVALID = _U32(1)
STATE_UNTRACKED = _U32(64)
#: ctinfo -> NF_CT_STATE_BIT(ctinfo) = 1 << (ctinfo % IP_CT_IS_REPLY + 1), as a word
_STATE_BY_CTINFO: dict[int, bytes] = {ci: _U32(1 << (ci % _IS_REPLY + 1)) for ci in range(7)}

_STATUS_WORDS: dict[int, bytes] = {}
_STATUS_WORDS_MAX = 4096           # bound the memo for odd status values


def ct_state_word(pkt: Any) -> bytes:
    """The 4 bytes ``ct state`` loads for ``pkt`` (``nft_ct_get_eval`` NFT_CT_STATE);
    the same value as :func:`pkttables.conntrack.ct_state`, little-endian."""
    ctinfo = pkt.ctinfo
    if ctinfo == _UNTRACKED_CTINFO:
        return STATE_UNTRACKED
    ct = pkt.ct
    if ct is None or ctinfo is None or _AND(ct.status, _IPS_TEMPLATE):
        return STATE_INVALID
    w = _STATE_BY_CTINFO.get(ctinfo)
    if w is None:   # not a kernel ctinfo value: the same formula, computed
        w = _U32((1 << (int(ctinfo) % _IS_REPLY + 1)) & 0xFFFFFFFF)
    return w


def _status(ctx, instr, ct, ctinfo) -> bytes:
    s = _AND(ct.status, 0xFFFFFFFF)
    w = _STATUS_WORDS.get(s)
    if w is None:
        w = _U32(s)
        if len(_STATUS_WORDS) < _STATUS_WORDS_MAX:
            _STATUS_WORDS[s] = w
    return w


def _direction(ctx, instr, ct, ctinfo) -> bytes:
    return b"\x01" if ctinfo >= _IS_REPLY else b"\x00"


def _mark(ctx, instr, ct, ctinfo) -> bytes:
    return _U32(ct.mark & 0xFFFFFFFF)


def _zone(ctx, instr, ct, ctinfo) -> bytes:
    # `ct original zone`: the zone id of that direction (nf_ct_zone_id); plain `ct zone`:
    # the id whatever its directions
    d = instr.dir
    zid = ct.zone if d is None else ct.zone_id(int(d))
    return _LE16(zid & 0xFFFF)


def _expiration(ctx, instr, ct, ctinfo) -> bytes:
    # Confirmed: time left; unconfirmed: the relative timeout (nf_ct_expires).
    left = ct.expires - ctx.now if getattr(ct, "confirmed", False) else ct.timeout
    return _U32(max(0, int(left * 1000)))


def _tuple(instr, ct):
    return ct.tuples[0 if instr.dir is None else int(instr.dir)]


def _l3protocol(ctx, instr, ct, ctinfo) -> bytes:
    return bytes((_tuple(instr, ct).l3num & 0xFF,))


def _protocol(ctx, instr, ct, ctinfo) -> bytes:
    return bytes((_tuple(instr, ct).protonum & 0xFF,))


def _src(ctx, instr, ct, ctinfo) -> bytes:
    return bytes(_tuple(instr, ct).src)


def _dst(ctx, instr, ct, ctinfo) -> bytes:
    return bytes(_tuple(instr, ct).dst)


def _proto_src(ctx, instr, ct, ctinfo) -> bytes:
    return _BE16(_tuple(instr, ct).sport & 0xFFFF)


def _proto_dst(ctx, instr, ct, ctinfo) -> bytes:
    return _BE16(_tuple(instr, ct).dport & 0xFFFF)


_K = CtKeyId
#: key (as a plain int) -> reader of a tracked entry; ``state`` is handled before these
_READERS = {int(k): f for k, f in {
    _K.DIRECTION: _direction, _K.STATUS: _status, _K.MARK: _mark, _K.ZONE: _zone,
    _K.EXPIRATION: _expiration, _K.L3PROTOCOL: _l3protocol, _K.PROTOCOL: _protocol,
    _K.SRC: _src, _K.SRC_IP: _src, _K.SRC_IP6: _src,
    _K.DST: _dst, _K.DST_IP: _dst, _K.DST_IP6: _dst,
    _K.PROTO_SRC: _proto_src, _K.PROTO_DST: _proto_dst,
}.items()}
_STATE = int(CtKeyId.STATE)


def _not_read(key) -> HookNotImplemented:
    try:
        name = CtKeyId(int(key)).name.lower()
    except (ValueError, TypeError):
        name = f"key {key!r}"
    return HookNotImplemented(f"ct {name}: not read by the replay's conntrack glue yet")


def ct_get(ctx: Any, instr: Any, pkt: Any) -> bytes | None:
    """``nft_ct_get_eval``: the register value of ``instr.key`` for ``pkt``, or None
    (NFT_BREAK).  Raises HookNotImplemented for keys the replay does not model."""
    key = instr.key
    if key == _STATE:
        return ct_state_word(pkt)
    reader = _READERS.get(key)
    if reader is None:
        raise _not_read(key)
    ct, ctinfo = getattr(pkt, "ct", None), getattr(pkt, "ctinfo", None)
    if ct is None or ctinfo is None or ctinfo == _UNTRACKED_CTINFO:   # invalid or untracked
        return None
    return reader(ctx, instr, ct, ctinfo)


def make_reader(ctx: Any):
    """``ctx.ct_get`` for one context: :func:`ct_get` with ``ct state`` inlined (it is
    the load of nearly every packet, so it saves the extra call)."""
    readers = _READERS
    by_ctinfo = _STATE_BY_CTINFO

    def ct_get_hook(instr, pkt):
        key = instr.key
        if key == _STATE:
            ctinfo = pkt.ctinfo
            if ctinfo == _UNTRACKED_CTINFO:
                return STATE_UNTRACKED
            ct = pkt.ct
            if ct is None or ctinfo is None or _AND(ct.status, _IPS_TEMPLATE):
                return STATE_INVALID
            w = by_ctinfo.get(ctinfo)
            return w if w is not None else ct_state_word(pkt)
        reader = readers.get(key)
        if reader is None:
            raise _not_read(key)
        ct, ctinfo = getattr(pkt, "ct", None), getattr(pkt, "ctinfo", None)
        if ct is None or ctinfo is None or ctinfo == _UNTRACKED_CTINFO:
            return None
        return reader(ctx, instr, ct, ctinfo)

    ct_get_hook.__pkttables_ctglue__ = True   # marks the replay's reader (tests, debugging)
    return ct_get_hook


def install_ct_get(runtime: Any) -> bool:
    """Give the runtime's context :func:`ct_get` unless it has its own."""
    from pkttables.vm.context import EvalContext

    ctx = getattr(runtime, "ctx", None)
    if ctx is None or type(ctx).ct_get is not EvalContext.ct_get:
        return False
    ctx.ct_get = make_reader(ctx)
    return True
