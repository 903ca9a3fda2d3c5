"""IPv4 options on receive and forward, engine against the kernel (empty ruleset): the
frames emitted per interface are equal byte for byte after mask_random.  Cases are
chosen so that no RR/timestamp/source route option precedes an error or reaches local
delivery: the kernel echoes those in its ICMP errors (ip_options_echo()), which the
engine does not model (docs/stack.md)."""

from __future__ import annotations

import pytest

from lab_hosts import CLIENT_MAC, LAN_MAC, two_interface_host
from pkttables.stack.engine import Engine, mask_random
from pkttables.testing.kernel import Injection, run_kernel
from pkttables.testing.packets import ether, ipv4, udp

pytestmark = pytest.mark.kernel


def fc(opts: bytes, dst: str = "192.168.1.1", sport: int = 4000) -> bytes:
    return ether(LAN_MAC, CLIENT_MAC, ipv4("192.168.1.10", dst, udp(sport, 9, b"opts"), options=opts))


LOCAL = [
    b"\x01\x01\x00\x00",                     # NOP NOP EOL: valid, port unreachable quotes it
    b"\x00\x05\x06\x07",                     # EOL then garbage: zeroed in place
    b"\x1e\x04ab",                           # unknown option: skipped
    b"\x1e\x01\x00\x00",                     # length < 2 -> pointer 20
    b"\x1e\x08\x00\x00",                     # length past the header -> 20
    b"\x01\x01\x01\x44",                     # an option in the last byte -> 23
    b"\x07\x07\x03\x00\x00\x00\x00\x00",     # RR pointer < 4 -> 22
    b"\x07\x07\x05\x00\x00\x00\x00\x00",     # RR pointer without room -> 22
    b"\x07\x02\x00\x00",                     # RR length < 3 -> 21
    b"\x44\x03\x05\x00",                     # timestamp length < 4 -> 21
    b"\x44\x08\x04\x00\x00\x00\x00\x00",     # timestamp pointer < 5 -> 22
    b"\x44\x04\x05\xf0",                     # full timestamp, overflow 15 -> 23
    b"\x83\x07\x03\x00\x00\x00\x00\x00",     # LSRR pointer < 4 -> 22
    b"\x83\x07\x04\x0a\x00\x00\x01\x00",     # LSRR valid: dropped silently (accept_source_route 0)
    b"\x94\x02\x00\x00",                     # router alert length < 4 -> 21
    b"\x94\x04\x00\x00",                     # router alert: valid
]

FORWARD = [
    b"\x01\x01\x01\x00",                     # NOPs: forwarded as is
    b"\x00\x05\x06\x07",                     # EOL garbage zeroed, checksum recomputed
    b"\x1e\x01\x00\x00",                     # bad length: parameter problem from the host
    b"\x07\x07\x03\x00\x00\x00\x00\x00",     # bad RR pointer
    b"\x07\x07\x04\x00\x00\x00\x00\x00",     # RR with room: our outgoing address recorded
    b"\x07\x03\x04\x00",                     # RR full: untouched
    b"\x44\x04\x05\x00",                     # timestamp full: overflow 0 -> 1
    b"\x44\x04\x05\x03",                     # timestamp full, prespecified: untouched
    b"\x83\x03\x04\x00",                     # LSRR: dropped
]


def compare(host, frames):
    """One fresh lab and engine per call (at most 5 frames: the per-peer ICMP bucket
    holds 6)."""
    inj = [Injection("lan0", f) for f in frames]
    obs = run_kernel(host, "", inj, conntrack=False)
    eng = Engine(host)
    loc = {a.ip.packed for i in host.interfaces.values() for a in i.addresses}
    problems = []
    for i, ij in enumerate(inj):
        out = eng.process(ij.frame, 0.0, iif=ij.ifname)
        for ifname in sorted({e.ifname for e in out.emitted} | {e.ifname for e in obs.emitted
                                                                  if e.after_injection == i}):
            mine = [mask_random(e.data, loc).hex() for e in out.emitted if e.ifname == ifname]
            theirs = [mask_random(e.frame, loc).hex() for e in obs.emitted
                      if e.after_injection == i and e.ifname == ifname]
            if mine != theirs:
                problems.append((i, ifname, theirs, mine, out.drop_reason))
    return problems, obs


def test_ip_options_match_the_kernel():
    host = two_interface_host()
    frames = [fc(o, sport=4000 + i) for i, o in enumerate(LOCAL)]
    frames += [fc(o, "8.8.8.8", sport=5000 + i) for i, o in enumerate(FORWARD)]
    problems, pointers, wan = [], [], 0
    for k in range(0, len(frames), 5):
        p, obs = compare(host, frames[k:k + 5])
        problems += [(k + i, *rest) for i, *rest in p]
        pointers += [e.frame[38] for e in obs.emitted if e.ifname == "lan0" and len(e.frame) > 38
                     and e.frame[23] == 1 and e.frame[34] == 12]
        wan += len(obs.on("wan0"))
    assert problems == []
    # the kernel really answered parameter problems, with these pointers, and forwarded
    assert sorted(pointers) == [20, 20, 20, 21, 21, 21, 22, 22, 22, 22, 22, 23, 23]
    assert wan == 6
