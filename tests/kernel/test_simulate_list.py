"""Issue 7: ``pkt simulate --list`` prints the ruleset as ``nft list ruleset`` does on
the kernel *after* the traffic.  Named counters and quotas show their final values,
and so do the rules' own counters and quotas (``used``).  Limits keep their loaded
text, because the kernel does not dump the token bucket.

The same ruleset and traffic go to the kernel (a DiffLab: ``nft -f``, the frames, then
``nft list ruleset``) and to ``pkt simulate --list``, and the two listings must be equal
byte for byte."""

from __future__ import annotations

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
  counter c_never { }
  quota q_over { over 100 bytes }
  quota q_until { 2 kbytes }
  quota q_big { 1 mbytes used 1000 bytes }
  limit l_pkts { rate 2/second burst 3 packets }
  limit l_bytes { rate over 1 kbytes/second burst 100 bytes }
  chain c {
    type filter hook forward priority 0; policy accept;
    counter name "c_all"
    udp dport 53 counter name "c_dns" counter
    quota name "q_over" counter
    quota name "q_until" counter
    quota name "q_big"
    limit name "l_pkts" counter
    limit name "l_bytes" counter
    quota over 200 bytes counter quota 150 bytes counter
    tcp dport 22 counter counter
  }
}
"""

DST = "8.8.8.8"


def traffic() -> list[Injection]:
    out = []
    for i in range(6):
        out.append(Injection("lan0", lan(ipv4("192.168.1.10", DST, udp(1000 + i, 53, b"q" * (10 * i))))))
    for i in range(3):
        out.append(Injection("lan0", lan(ipv4("192.168.1.11", DST, tcp(40000 + i, 22)))))
    out.append(Injection("lan0", lan(ipv4("192.168.1.12", DST, udp(2000, 123, b"ntp" * 20))), 0.2))
    return out


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    host = quiet_host(two_interface_host())
    sc = Scenario(host, RULESET, traffic(), name="list-after-traffic")
    with DiffLab(host) as lab:
        lab.kernel(sc)
        kernel = lab.lab.exec(["nft", "list", "ruleset"]).stdout
    run = run_cli(tmp_path_factory.mktemp("list"), host, RULESET, sc.traffic, diff_times(sc.traffic))
    assert run.rc == 0, run.stderr
    return kernel, run.listing


def test_list_after_traffic_is_nft_list_ruleset(both):
    kernel, ours = both
    assert ours == kernel


def test_named_objects_moved(both):
    """The listing shows values the traffic changed, not the loaded ones (the test above
    could otherwise pass on a ruleset no packet touched)."""
    kernel, ours = both
    objs = listing_objects(ours)
    assert objs[("counter", "ip", "t", "c_all")] == (10, objs[("counter", "ip", "t", "c_all")][1])
    assert objs[("counter", "ip", "t", "c_dns")][0] == 5 + 6
    assert objs[("counter", "ip", "t", "c_never")] == (0, 0)
    assert objs[("quota", "ip", "t", "q_over")] == (0, 100)          # capped at the quota
    assert 0 < objs[("quota", "ip", "t", "q_big")][1] > 1000
    assert "used" in ours.split("quota q_until")[1].split("}")[0]
    assert "rate 2/second burst 3 packets" in ours
