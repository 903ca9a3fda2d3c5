"""ERR9's compile changes, checked on packets: a concatenated interval set with a
host-endian part (nft 1.0.6 converts the part with ``byteorder hton`` right after its
load and stores it big endian in the elements; golden_err9.json pins the bytecode) still
matches exactly the packets it should."""

from __future__ import annotations

import pytest

from pkttables.capture import CaptureRecord, LinkType
from pkttables.commands import run_text
from pkttables.datapath import PacketResult, Simulator
from pkttables.model import Ruleset
from pkttables.stack.host import Host
from pkttables.testing.hosts import router_toml
from pkttables.testing.packets import ether, ipv4, tcp

T0 = 1_700_000_000 * 10**9
LAN, PC = "02:00:00:00:00:01", "02:00:00:00:00:10"


def _verdicts(rules: str, frames: list[bytes]) -> list[str]:
    rs = run_text(rules, Ruleset()).ruleset
    sim = Simulator(Host.from_toml(router_toml(), "<router>"), rs)
    recs = [CaptureRecord(T0 + i * 10_000_000, f, len(f), LinkType.ETHERNET, "lan0", 0, None, i)
            for i, f in enumerate(frames)]
    return [r.verdict for r in sim.replay(recs) if isinstance(r, PacketResult)]


def _syn(dport: int) -> bytes:
    return ether(LAN, PC, ipv4("192.168.1.10", "192.168.1.1", tcp(40000, dport, flags=0x02)))


RULES = """table inet t {
  chain setmark { type filter hook prerouting priority -10; meta mark set MARK; }
  chain c { type filter hook input priority 0;
    meta mark . tcp dport { 0x00000010-0x00000020 . 16-32, 0x00000100-0x00000200 . 256-512 } drop
  }
}
"""


@pytest.mark.parametrize("mark, dport, want", [
    (0x18, 22, "drop"), (0x10, 16, "drop"), (0x20, 32, "drop"), (0x100, 300, "drop"), (0x1ff, 512, "drop"),
    (0x18, 33, "local"), (0x21, 22, "local"), (0x100, 22, "local"), (0x18, 300, "local"),
    (0x201, 300, "local"), (0x1000, 22, "local"), (0x10000000, 300, "local")])
def test_concat_interval_with_host_endian_part_matches(mark, dport, want):
    # only a (mark, port) pair inside one of the two boxes is dropped: a mark compared
    # in the wrong byte order (0x18 is 0x18000000 read big endian) falls outside
    assert _verdicts(RULES.replace("MARK", hex(mark)), [_syn(dport)]) == [want]


DSCP_RULES = """table ip t {
  chain c { type filter hook input priority 0;
    ip dscp . tcp dport { cs1 . 22, af41 . 80 } drop
  }
}
"""


@pytest.mark.parametrize("tos, dport, want", [
    (0x20, 22, "drop"), (0x22, 22, "drop"), (0x88, 80, "drop"),   # cs1 (ecn bits ignored), af41
    (0x00, 22, "local"), (0x20, 80, "local"), (0x88, 22, "local"), (0x08, 22, "local")])
def test_concat_with_sub_byte_field_matches(tos, dport, want):
    # the dscp part is masked and shifted down (`>> 2`): the set holds cs1 = 8, af41 = 34
    frame = ether(LAN, PC, ipv4("192.168.1.10", "192.168.1.1", tcp(40000, dport, flags=0x02), tos=tos))
    assert _verdicts(DSCP_RULES, [frame]) == [want]
