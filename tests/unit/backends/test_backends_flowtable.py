"""Flowtable fast path: the same bytes as the classic path (the oracle), lifecycle rules."""

from __future__ import annotations

import pathlib

from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.backends.flowtable import FlowtableHook, _csum_replace
from pkttables.datapath import Simulator
from pkttables.datapath.replay import load_ruleset
from pkttables.packet.checksum import internet_checksum
from pkttables.stack.host import load_host
from pkttables.testing.hosts import tcp_conversation

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "home-router"

RULES = """
table inet filter {
	flowtable f {
		hook ingress priority 0; devices = { lan0, wan0 };
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ip protocol { tcp, udp } flow add @f
		ct state established,related accept
		iifname "lan0" oifname "wan0" accept
	}
}
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat;
		oifname "wan0" masquerade
	}
}
"""


def _sims(tmp_path):
    f = tmp_path / "ft.nft"
    f.write_text(RULES)
    host = load_host(str(EXAMPLE / "host.toml"))
    rs = load_ruleset(str(f))
    classic = Simulator(host, rs, seed=1)
    classic.runtime.ctx.flow_offload = lambda instr, pkt: True      # never used at ingress
    fast = Simulator(host, rs, seed=1)
    hook = FlowtableHook(rs, fast.ct_table, fast.nat_table, host,
                         neighbour=lambda a, d: fast.engine.learned.get((a, d)))
    fast.runtime.ctx.flow_offload = hook.flow_offload(fast.runtime.ctx)
    return classic, fast, hook


def _run(sim, hook, packets, t0=1000.0, step=0.01):
    outs, paths = [], []
    for i, (iif, frame) in enumerate(packets):
        now = t0 + i * step
        got = hook.ingress(frame, iif, now) if hook is not None else None
        if got is not None:
            outs.append([(oif, bytes(b)) for oif, b in got])
            paths.append("fast")
            continue
        res = [r for r in sim.process(frame, int(now * 1e9), iif, i) if hasattr(r, "verdict")][0]
        outs.append([(e.oif, bytes(e.data)) for e in res.emitted])
        paths.append("classic")
    return outs, paths


def test_fast_path_emits_the_classic_bytes(tmp_path):
    classic, fast, hook = _sims(tmp_path)
    pk = tcp_conversation()
    want, _ = _run(classic, None, pk)
    got, paths = _run(fast, hook, pk)
    assert got == want
    # the handshake and the first established packet go the classic way; then fast
    assert paths[:3] == ["classic"] * 3
    assert paths.count("fast") >= 20
    # FIN: torn down, back to the classic path, and so is what follows
    fin = 3 + 20
    assert paths[fin] == "classic" and paths[fin + 1] == "classic"
    assert hook.stats["teardown"] >= 1
    # UDP: the first packet creates the entry, the second (confirmed) offloads it
    assert paths[-4:] == ["classic", "classic", "fast", "fast"]
    # the masquerade and TTL really happened on the fast frames
    oif, frame = got[10][0]
    assert oif in ("lan0", "wan0") and frame[14 + 8] in (63, 49)
    for _oif, fr in (x for g in got for x in g):
        assert internet_checksum(fr, 14, 34) == 0


def test_not_offloaded_before_established_and_expiry(tmp_path):
    classic, fast, hook = _sims(tmp_path)
    pk = tcp_conversation(n_data=4)
    _run(fast, hook, pk[:2])                   # SYN, SYN-ACK: not established
    assert hook.stats["offloaded"] == 0 and hook.stats["refused"] >= 1
    _run(fast, hook, pk[2:4], t0=1000.02)
    assert hook.stats["offloaded"] == 1
    e = hook.entries[0]
    assert int(e.ct.status) & (1 << 14)        # IPS_OFFLOAD
    assert e.ct.expires - 1000.03 > 80000      # a day while offloaded
    # 30 s idle: the gc (every second) removes it, conntrack gets its timeout back
    assert hook.ingress(pk[4][1], pk[4][0], 1000.03 + 31.5) is None
    assert not hook.entries and not hook.table
    assert not int(e.ct.status) & (1 << 14)
    assert e.ct.expires - 1031.53 < 432000     # established timeout minus the offload timeout


def test_unknown_flowtable_and_other_devices(tmp_path):
    _, fast, hook = _sims(tmp_path)
    assert hook.add("inet", "filter", "nope", None, 0.0) is False
    assert hook.ingress(b"\x00" * 60, "eth9", 0.0) is None
    assert hook.ingress(b"\x00" * 10, "lan0", 0.0) is None


@settings(max_examples=200, deadline=None)
@given(data=st.binary(min_size=20, max_size=60).filter(lambda b: len(b) % 2 == 0),
       at=st.integers(0, 8), new=st.binary(min_size=4, max_size=4))
def test_incremental_checksum_equals_recompute(data, at, new):
    # RFC 1624: replacing 4 bytes and updating the checksum incrementally gives the
    # checksum computed from scratch (up to the 0x0000/0xffff representation)
    buf = bytearray(b"\0\0" + data)
    c = internet_checksum(buf, 0, len(buf))
    buf[0], buf[1] = c >> 8, c & 0xFF
    off = 2 + (at * 2) % (len(data) - 4)
    old = bytes(buf[off:off + 4])
    _csum_replace(buf, 0, old, new, False)
    buf[off:off + 4] = new
    assert internet_checksum(buf, 0, len(buf)) in (0, 0xFFFF)
