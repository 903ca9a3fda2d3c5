"""The replay's ``ct`` reader (pkttables.datapath._ctglue) against a straightforward
reference of ``nft_ct_get_eval`` (the reader as it was before it was made cheap)."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.conntrack import Conn, CtInfo, Status, Tuple, ct_state, make_template
from pkttables.datapath import _ctglue
from pkttables.datapath._ctglue import ct_get, ct_state_word, install_ct_get, make_reader
from pkttables.proto import CtDir, CtKeyId
from pkttables.vm.context import HookNotImplemented
from pkttables.vm.ct import CtLoad


def reference(ctx, instr, pkt):
    """nft_ct_get_eval, written plainly (enum conversions, IntFlag arithmetic)."""
    key = CtKeyId(int(instr.key))
    if key == CtKeyId.STATE:
        if pkt.ctinfo == CtInfo.UNTRACKED:
            return struct.pack("<I", 64)
        ct = pkt.ct
        if ct is None or pkt.ctinfo is None or ct.status & Status.TEMPLATE:
            return struct.pack("<I", 1)
        return struct.pack("<I", 1 << (int(pkt.ctinfo) % 3 + 1))
    ct, ctinfo = pkt.ct, pkt.ctinfo
    if ct is None or ctinfo is None or int(ctinfo) == 7:
        return None
    if key == CtKeyId.DIRECTION:
        return bytes([1 if int(ctinfo) >= 3 else 0])
    if key == CtKeyId.STATUS:
        return struct.pack("<I", int(ct.status) & 0xFFFFFFFF)
    if key == CtKeyId.MARK:
        return struct.pack("<I", ct.mark & 0xFFFFFFFF)
    if key == CtKeyId.ZONE:
        return struct.pack("<H", ct.zone & 0xFFFF)
    if key == CtKeyId.EXPIRATION:
        left = ct.expires - ctx.now if ct.confirmed else ct.timeout
        return struct.pack("<I", max(0, int(left * 1000)))
    t = ct.tuples[0 if instr.dir is None else int(instr.dir)]
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
    raise HookNotImplemented(key.name)


def _tuple(draw, l3):
    n = 4 if l3 == 2 else 16
    return Tuple(l3, draw(st.binary(min_size=n, max_size=n)), draw(st.binary(min_size=n, max_size=n)),
                 draw(st.sampled_from([6, 17, 1, 58])), draw(st.integers(0, 0xFFFF)),
                 draw(st.integers(0, 0xFFFF)))


@st.composite
def packets(draw):
    kind = draw(st.sampled_from(["none", "conn", "template", "untracked"]))
    ctinfo_choices = [None, *CtInfo, *range(0, 8)]
    ctinfo = draw(st.sampled_from(ctinfo_choices))
    ct = None
    if kind == "untracked":
        ctinfo = CtInfo.UNTRACKED
    elif kind == "template":
        ct = make_template(draw(st.integers(0, 0xFFFF)))
    elif kind == "conn":
        l3 = draw(st.sampled_from([2, 10]))
        ct = Conn(_tuple(draw, l3), _tuple(draw, l3), draw(st.integers(0, 0xFFFF)))
        bits = draw(st.integers(0, 0xFFFF))
        # status as the IntFlag conntrack keeps, or a plain int (as a test double might)
        ct.status = Status(bits) if draw(st.booleans()) else bits
        ct.mark = draw(st.integers(0, 0xFFFFFFFF))
        ct.timeout = draw(st.floats(0, 1e5))
        ct.expires = draw(st.floats(0, 1e5))
    return SimpleNamespace(ct=ct, ctinfo=ctinfo)


_READ = [k for k in CtKeyId if k not in (CtKeyId.SECMARK, CtKeyId.HELPER, CtKeyId.LABELS,
                                         CtKeyId.PKTS, CtKeyId.BYTES, CtKeyId.AVGPKT,
                                         CtKeyId.EVENTMASK, CtKeyId.ID)]


@settings(max_examples=400, deadline=None)
@given(pkt=packets(), key=st.sampled_from(_READ),
       d=st.sampled_from([None, CtDir.ORIGINAL, CtDir.REPLY]), now=st.floats(0, 1e5))
def test_reader_equals_reference(pkt, key, d, now):
    ctx = SimpleNamespace(now=now)
    instr = CtLoad(key, 1, d)
    want = reference(ctx, instr, pkt)
    assert ct_get(ctx, instr, pkt) == want
    assert make_reader(ctx)(instr, pkt) == want
    # the key given as a plain int reads the same (codegen and the vm pass the IntEnum)
    assert make_reader(ctx)(SimpleNamespace(key=int(key), dir=d), pkt) == want


@settings(max_examples=200, deadline=None)
@given(pkt=packets())
def test_state_word_is_conntrack_ct_state(pkt):
    assert ct_state_word(pkt) == struct.pack("<I", ct_state(pkt))


@pytest.mark.parametrize("ctinfo,conn,want", [
    (CtInfo.ESTABLISHED, True, 2), (CtInfo.ESTABLISHED_REPLY, True, 2),
    (CtInfo.RELATED, True, 4), (CtInfo.RELATED_REPLY, True, 4), (CtInfo.NEW, True, 8),
    (CtInfo.UNTRACKED, False, 64), (None, False, 1), (CtInfo.NEW, False, 1),
])
def test_state_values(ctinfo, conn, want):
    ct = Conn(Tuple(2, b"\1" * 4, b"\2" * 4, 6, 1, 2), Tuple(2, b"\2" * 4, b"\1" * 4, 6, 2, 1)) if conn else None
    pkt = SimpleNamespace(ct=ct, ctinfo=ctinfo)
    assert make_reader(None)(CtLoad(CtKeyId.STATE, 1), pkt) == want.to_bytes(4, "little")


def test_template_is_invalid_and_breaks_other_keys():
    pkt = SimpleNamespace(ct=make_template(5), ctinfo=CtInfo.NEW)
    rd = make_reader(None)
    assert rd(CtLoad(CtKeyId.STATE, 1), pkt) == b"\1\0\0\0"
    # nft_ct_get_eval reads the template's fields (only state checks IPS_TEMPLATE)
    assert rd(CtLoad(CtKeyId.ZONE, 1), pkt) == (5).to_bytes(2, "little")
    untracked = SimpleNamespace(ct=None, ctinfo=CtInfo.UNTRACKED)
    assert rd(CtLoad(CtKeyId.MARK, 1), untracked) is None


def test_status_memo_follows_status_changes():
    ct = Conn(Tuple(2, b"\1" * 4, b"\2" * 4, 6, 1, 2), Tuple(2, b"\2" * 4, b"\1" * 4, 6, 2, 1))
    pkt = SimpleNamespace(ct=ct, ctinfo=CtInfo.ESTABLISHED)
    rd = make_reader(None)
    ins = CtLoad(CtKeyId.STATUS, 1)
    ct.status = Status.CONFIRMED
    assert rd(ins, pkt) == (8).to_bytes(4, "little")
    ct.status |= Status.SEEN_REPLY | Status.ASSURED
    assert rd(ins, pkt) == (14).to_bytes(4, "little")


@pytest.mark.parametrize("key", [CtKeyId.HELPER, CtKeyId.LABELS, CtKeyId.ID, 99])
def test_unmodelled_keys_say_so(key):
    pkt = SimpleNamespace(ct=None, ctinfo=None)
    with pytest.raises(HookNotImplemented, match="not read by the replay"):
        make_reader(None)(SimpleNamespace(key=key, dir=None), pkt)
    with pytest.raises(HookNotImplemented):
        ct_get(None, SimpleNamespace(key=key, dir=None), pkt)


def test_install_only_over_the_base_hook():
    from pkttables.vm.context import EvalContext

    class Ctx(EvalContext):
        pass

    rt = SimpleNamespace(ctx=Ctx.__new__(Ctx))
    assert install_ct_get(rt) is True
    assert getattr(rt.ctx.ct_get, "__pkttables_ctglue__", False)

    class Own(EvalContext):
        def ct_get(self, instr, pkt):
            return b"x"

    rt2 = SimpleNamespace(ctx=Own.__new__(Own))
    assert install_ct_get(rt2) is False
    assert install_ct_get(SimpleNamespace()) is False
