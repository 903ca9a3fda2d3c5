"""cmp, range, bitwise and byteorder against straightforward integer references."""

from __future__ import annotations

from hypothesis import given, strategies as st

from pkttables.vm import (
    Bitwise, BitwiseOp, Byteorder, ByteorderOp, Cmp, CmpOp, EvalContext, Range, RangeOp, Regs,
    Verdict, parse_instr,
)

CTX = EvalContext()
LENS = st.sampled_from([1, 2, 4, 6, 8, 16])


def _pair(n):
    return st.tuples(st.binary(min_size=n, max_size=n), st.binary(min_size=n, max_size=n))


def _run(ins, regs):
    regs.verdict = Verdict.CONTINUE
    ins.eval(regs, None, CTX)
    return regs.verdict != Verdict.BREAK


REF = {CmpOp.EQ: lambda a, b: a == b, CmpOp.NEQ: lambda a, b: a != b, CmpOp.LT: lambda a, b: a < b,
       CmpOp.LTE: lambda a, b: a <= b, CmpOp.GT: lambda a, b: a > b, CmpOp.GTE: lambda a, b: a >= b}


@given(LENS.flatmap(_pair), st.sampled_from(list(CmpOp)), st.sampled_from([1, 2, 8, 9]))
def test_cmp_is_big_endian_memcmp(ab, op, reg):
    a, b = ab
    regs = Regs()
    regs.store(reg, a)
    ins = Cmp(op, reg, b)
    assert _run(ins, regs) == REF[op](int.from_bytes(a, "big"), int.from_bytes(b, "big"))
    # and the dump reads back to an instruction with the same answer (word padding)
    back = parse_instr(ins.dump())
    assert _run(back, regs) == REF[op](int.from_bytes(a, "big"), int.from_bytes(b, "big"))


@given(LENS.flatmap(lambda n: st.tuples(st.binary(min_size=n, max_size=n), _pair(n))),
       st.sampled_from(list(RangeOp)))
def test_range(v_ab, op):
    v, (lo, hi) = v_ab
    regs = Regs()
    regs.store(1, v)
    iv, ilo, ihi = (int.from_bytes(x, "big") for x in (v, lo, hi))
    inside = ilo <= iv <= ihi
    assert _run(Range(op, 1, lo, hi), regs) == (inside if op == RangeOp.EQ else not inside)


@given(st.sampled_from([1, 2, 3, 4, 8, 16]).flatmap(
    lambda n: st.tuples(*(st.binary(min_size=n, max_size=n) for _ in range(3)))))
def test_bitwise_bool(smx):
    s, m, x = smx
    regs = Regs()
    regs.store(1, b"\xaa" * 16)
    regs.store_raw(1, s)
    Bitwise(1, 2, len(s), BitwiseOp.BOOL, m, x).eval(regs, None, CTX)
    n = len(s)
    want = (int.from_bytes(s, "big") & int.from_bytes(m, "big")) ^ int.from_bytes(x, "big")
    assert regs.load(2, n) == want.to_bytes(n, "big")
    # the rest of the last word is zero (mask and xor are zero past len)
    pad = -n % 4
    assert regs.load(2, n + pad)[n:] == bytes(pad)


def _host_words_number(data: bytes) -> tuple[int, int]:
    ws = [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]
    n = 0
    for w in ws:
        n = (n << 32) | w
    return n, len(ws)


def _number_to_host_words(n: int, nw: int) -> bytes:
    out = b""
    for i in range(nw):
        out = (n & 0xFFFFFFFF).to_bytes(4, "little") + out
        n >>= 32
    return out


@given(st.sampled_from([4, 8, 12, 16]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
       st.integers(1, 31), st.booleans())
def test_shifts_are_wordwise_host_order(data, sh, left):
    # reference: the words, host-endian, form one number with word 0 most significant
    regs = Regs()
    regs.store(1, data)
    op = BitwiseOp.LSHIFT if left else BitwiseOp.RSHIFT
    Bitwise(1, 1, len(data), op, shift=sh).eval(regs, None, CTX)
    n, nw = _host_words_number(data)
    n = (n << sh) % (1 << (32 * nw)) if left else n >> sh
    assert regs.load(1, len(data)) == _number_to_host_words(n, nw)


def test_shift_dump_example():
    ins = parse_instr("[ bitwise reg 1 = ( reg 1 >> 0x00000008 ) ]")
    regs = Regs()
    regs.store_u32(1, 0x12345678)
    ins.eval(regs, None, CTX)
    assert regs.load_u32(1) == 0x00123456


@given(st.sampled_from([2, 4, 8]).flatmap(
    lambda size: st.tuples(st.just(size), st.integers(1, 16 // size))).flatmap(
    lambda t: st.tuples(st.just(t[0]), st.binary(min_size=t[0] * t[1], max_size=t[0] * t[1]))),
    st.sampled_from(list(ByteorderOp)))
def test_byteorder(size_data, op):
    size, data = size_data
    regs = Regs()
    regs.store(1, data)
    Byteorder(1, 1, op, len(data), size).eval(regs, None, CTX)
    # reference: each element as a host (little-endian) integer, re-encoded big-endian
    want = b"".join(int.from_bytes(data[i:i + size], "little").to_bytes(size, "big")
                    for i in range(0, len(data), size))
    assert regs.load(1, len(data)) == want
