"""Issue 7: ``pkt simulate --list`` lists the sets as ``nft list ruleset`` does on the
kernel after the same traffic: element counters and quotas at their final values, the
elements the packet path added (``add @s``, ``update @s``), and ``expires``.

The ruleset and traffic go to a DiffLab (``nft -f``, the frames, ``nft list ruleset``) and
to ``pkt simulate --list`` (one process, and ``--workers 2``).  The listings must be
equal byte for byte, except the ``expires`` values and where an element list wraps: ours are relative to the last
packet's time, the kernel's to the moment ``nft list`` ran (after the lab's settle
time), so each of ours may exceed the kernel's by that lag (less than 2 s) and never
fall below it; nft wraps element lists by their printed width, which the expires values
change."""

from __future__ import annotations

import re

import pytest

from diff_traffic import lan
from lab_hosts import two_interface_host
from simulate_cli import diff_times, listing_objects, run_cli
from pkttables.testing.differential import DiffLab, Scenario, quiet_host
from pkttables.testing.kernel import Injection
from pkttables.testing.packets import ipv4, tcp, udp

pytestmark = pytest.mark.kernel

RULESET = """table ip t {
  counter c_all { }
  counter c_dns { packets 5 bytes 500 }
  quota q1 { 100 bytes }
  set cnt { type ipv4_addr; counter; elements = { 192.168.1.10, 192.168.1.11 counter packets 3 bytes 30 } }
  set qs { type inet_service; quota 60 bytes; elements = { 53, 54 } }
  set dyn { type ipv4_addr; flags dynamic; }
  set dynt { type ipv4_addr; flags dynamic,timeout; timeout 1m; }
  set dync { type ipv4_addr . inet_service; flags dynamic; counter; }
  set tm { type ipv4_addr; flags timeout; elements = { 192.168.1.12 timeout 30s } }
  map dm { type inet_service : ipv4_addr; flags dynamic,timeout; timeout 20s; }
  chain c {
    type filter hook forward priority 0; policy accept;
    counter name "c_all"
    udp dport 53 counter name "c_dns"
    ip saddr @cnt
    udp dport @qs
    add @dyn { ip saddr }
    update @dynt { ip saddr timeout 10s }
    add @dync { ip saddr . th dport }
    ip saddr @tm counter
    quota name "q1"
    udp sport < 1003 update @dm { th dport : ip saddr }
    counter
  }
}
"""

DST = "8.8.8.8"
_EXPIRES = re.compile(r"expires ((?:\d+ms|\d+[dhms])+)")
# nft wraps an element list by its width, and the expires values' widths differ
_WRAP = re.compile(r",\n\t+ +")


def traffic() -> list[Injection]:
    out = []
    for i in range(6):
        out.append(Injection("lan0", lan(ipv4(f"192.168.1.{10 + i % 3}", DST,
                                              udp(1000 + i, 53 + i % 2, b"q" * (10 * i))))))
    for i in range(3):
        out.append(Injection("lan0", lan(ipv4("192.168.1.11", DST, tcp(40000 + i, 22))), 0.3))
    return out


def seconds(text: str) -> float:
    unit = {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(int(n) * unit[u] for n, u in re.findall(r"(\d+)(ms|[dhms])", text))


def split_expires(listing: str) -> tuple[str, list[float]]:
    return (_WRAP.sub(", ", _EXPIRES.sub("expires X", listing)),
            [seconds(m) for m in _EXPIRES.findall(listing)])


@pytest.fixture(scope="module")
def kernel():
    host = quiet_host(two_interface_host())
    sc = Scenario(host, RULESET, traffic(), name="list-sets-after-traffic")
    with DiffLab(host) as lab:
        lab.kernel(sc)
        return host, sc, lab.lab.exec(["nft", "list", "ruleset"]).stdout


@pytest.mark.parametrize("workers", [1, 2])
def test_sets_listed_as_nft_list_ruleset_after_traffic(kernel, workers, tmp_path):
    host, sc, theirs = kernel
    flags = ("--list",) if workers == 1 else ("--list", "--workers", str(workers))
    run = run_cli(tmp_path, host, RULESET, sc.traffic, diff_times(sc.traffic), flags=flags)
    assert run.rc == 0, run.stderr
    k_text, k_exp = split_expires(theirs)
    o_text, o_exp = split_expires(run.listing)
    assert o_text == k_text
    assert len(o_exp) == len(k_exp) >= 5
    for ours, kern in zip(o_exp, k_exp):
        assert 0 <= ours - kern < 2.0, (ours, kern)


def test_the_listing_moved(kernel, tmp_path):
    """Values the traffic changed (so the test above cannot pass on untouched sets)."""
    host, sc, _ = kernel
    run = run_cli(tmp_path, host, RULESET, sc.traffic, diff_times(sc.traffic), flags=("--list",))
    assert "192.168.1.11 counter packets 8 bytes 316" in run.listing      # 3/30 loaded + 5 packets
    assert "53 quota 60 bytes used 60 bytes" in run.listing
    assert "192.168.1.11 . 22 counter packets 3 bytes 180" in run.listing
    assert "192.168.1.11 timeout 10s expires 10s" in run.listing         # updated by the last packet
    assert listing_objects(run.listing)[("counter", "ip", "t", "c_dns")] == (5 + 3, 500 + 28 + 48 + 68)
    # (udp dport 53: packets 0, 2 and 4, with 0, 20 and 40 bytes of payload)

