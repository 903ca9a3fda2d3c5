"""Issue 7: the KernelLab scenarios of the suite through the real ``pkt simulate``.

The kernel modules that drive a :class:`~pkttables.testing.kernel.KernelLab` themselves
(not through DiffLab or CtNatLab) are recorded by simulate_cli: every ``load``,
``inject``, ``exec`` and ``observe`` of every lab they open, per test.  pytest runs this
module after all of them (simulate_cli's ``pytest_collection_modifyitems``), so each
recorded session is compared here without running the kernel again.

A session is cut into segments at its observations (simulate_cli.segments).  Each
segment goes through ``pkt simulate --ruleset R --host H --traffic T --json J --out O
--list --conntrack`` with the injections at the sum of their delays, and is compared
with the kernel's observation (simulate_cli.segment_disagreements): frames per packet and
interface, send errors, rule counters, named counters and quotas, and the conntrack table
when the test read it.

A segment a capture cannot express (a ruleset loaded in the middle of the traffic, a
command that changes the lab) is counted and named, not compared; EXPRESSIBLE pins how
many there are so a new one is noticed.
"""

from __future__ import annotations

import pytest

from simulate_cli import KL_SESSIONS, _local, diff_times, report, run_cli, segment_disagreements, segments

pytest_plugins = ["simulate_cli"]
pytestmark = pytest.mark.kernel

#: module -> (segments compared, segments a capture cannot express), in a full run
SOURCES = {
    "test_chain_kernel": None,
    "test_checksums_vs_kernel": None,
    "test_conntrack_ftp_kernel": None,
    "test_conntrack_kernel": None,
    "test_conntrack_sctp_kernel": None,
    "test_nat_kernel": None,
    "test_packet_offsets": None,
    "test_stack_engine": None,
    "test_stack_ipopts_kernel": None,
    "test_usertools_policy_kernel": None,
}

#: (module, test function) -> why its traffic cannot be a capture written in advance
INEXPRESSIBLE: dict[tuple[str, str], str] = {
    ("test_nat_kernel", "test_same_source_port_two_clients_random_port"):
        "its last packet is a reply to the source port the kernel drew at random "
        "(nf_nat_l4proto_unique_tuple: get_random_u16); pkt simulate draws its own",
}

#: module -> the frame mask, where mask_random is not enough
MASKS = {
    # NAT gives the host's ICMP errors a source that is not the host's (redirect: the
    # original destination), so mask_random cannot tell they are host-made: mask the
    # IPv4 ID of every packet without DF, as test_nat_kernel.masked does
    "test_nat_kernel": "nat",
}

RESULTS: dict[str, dict] = {}


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_kernellab_sessions_through_the_cli(module, tmp_path):
    sessions = KL_SESSIONS.get(module)
    if not sessions:
        pytest.skip(f"{module} did not run in this session: its kernel sessions were not recorded "
                    f"(run tests/kernel/{module}.py with this module)")
    compared, skipped, bad = 0, [], []
    for si, s in enumerate(sessions):
        for gi, seg in enumerate(segments(s)):
            name = f"{s.test} #{si}.{gi}"
            why = seg.why or INEXPRESSIBLE.get((module, s.test.split("::")[-1].split("[")[0]), "")
            if why:
                skipped.append(f"{name}: {why}")
                continue
            if not seg.traffic:
                continue
            d = tmp_path / f"s{si}_{gi}"
            d.mkdir()
            run = run_cli(d, s.host, seg.ruleset, seg.traffic, diff_times(seg.traffic))
            mask = None
            if MASKS.get(module) == "nat":
                from ctnat_lab import _masked
                local = _local(s.host)
                mask = lambda f, local=local: _masked(f, local)      # noqa: E731
            problems = segment_disagreements(seg, run, mask=mask)
            compared += 1
            if problems:
                bad.append(report(name, problems))
    RESULTS[module] = {"compared": compared, "skipped": skipped, "bad": len(bad)}
    print(f"{module}: {compared} segments compared, {len(skipped)} inexpressible, {len(bad)} disagree")
    assert compared > 0
    assert not bad, "\n".join(bad)
