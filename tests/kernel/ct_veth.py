"""Two namespaces joined by a veth pair, for the tests that ask the kernel whether a
ruleset starts conntrack (test_diff_needsct.py: IPv4; test_diff_needsct_family.py: per
family).  ``a`` sends, ``b`` holds the ruleset; ``conntrack -L`` in ``b`` then says
which families nf_ct_netns_get() started.

A plain module (imported by name from tests/kernel, like lab_hosts.py), so both tests
share one namespace setup and one load/flush sequence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=20)


@contextmanager
def veth_pair(prefix: str, net4: str, net6: str | None = None) -> Iterator[tuple[str, str]]:
    """Namespaces ``<prefix><pid>a`` and ``…b`` (skips without root, nft and conntrack),
    veth ``va``/``vb`` between them, ``<net4>.1/24``/``<net4>.2/24`` and with ``net6``
    ``<net6>::1/64``/``<net6>::2/64`` (no DAD); both always deleted."""
    if os.geteuid() != 0 or not shutil.which("conntrack") or not shutil.which("nft"):
        pytest.skip("needs root, nft and conntrack")
    a, b = f"{prefix}{os.getpid()}a", f"{prefix}{os.getpid()}b"
    try:
        for ns in (a, b):
            run("ip", "netns", "add", ns).check_returncode()
        run("ip", "link", "add", "va", "netns", a, "type", "veth", "peer", "name", "vb",
            "netns", b).check_returncode()
        for ns, dev, n in ((a, "va", 1), (b, "vb", 2)):
            run("ip", "-n", ns, "addr", "add", f"{net4}.{n}/24", "dev", dev).check_returncode()
            if net6 is not None:
                run("ip", "-n", ns, "addr", "add", f"{net6}::{n}/64", "dev", dev, "nodad").check_returncode()
            run("ip", "-n", ns, "link", "set", dev, "up").check_returncode()
        # the first probe right after `link set up` was sometimes lost (about 1 run in 3
        # for IPv6): wait until both ends report carrier (operstate up)
        deadline = time.monotonic() + 5.0
        for ns, dev in ((a, "va"), (b, "vb")):
            while time.monotonic() < deadline:
                st = run("ip", "netns", "exec", ns, "cat", f"/sys/class/net/{dev}/operstate").stdout.strip()
                if st == "up":
                    break
                time.sleep(0.02)
        # permanent neighbours both ways: no neighbour discovery between the probes (a
        # datagram queued behind an unresolved IPv6 neighbour arrived after the check)
        for ns, dev, peer_ns, peer_dev, n in ((a, "va", b, "vb", 2), (b, "vb", a, "va", 1)):
            mac = run("ip", "netns", "exec", peer_ns, "cat", f"/sys/class/net/{peer_dev}/address").stdout.strip()
            for addr in (f"{net4}.{n}",) + ((f"{net6}::{n}",) if net6 is not None else ()):
                run("ip", "-n", ns, "neigh", "replace", addr, "lladdr", mac, "dev", dev,
                    "nud", "permanent").check_returncode()
        yield a, b
    finally:
        for ns in (a, b):
            run("ip", "netns", "del", ns)


def send(pair: tuple[str, str], script: str) -> None:
    """Run the Python ``script`` in ``a`` (it sends the probe packets)."""
    run("ip", "netns", "exec", pair[0], "python3", "-c", script).check_returncode()


@contextmanager
def loaded(pair: tuple[str, str], text: str) -> Iterator[None]:
    """``text`` loaded alone in ``b`` with an empty conntrack table; flushed after."""
    b = pair[1]
    run("ip", "netns", "exec", b, "nft", "flush", "ruleset").check_returncode()
    r = run("ip", "netns", "exec", b, "nft", "-f", "-", stdin=text)
    assert r.returncode == 0, r.stderr
    try:
        run("ip", "netns", "exec", b, "conntrack", "-F")
        yield
    finally:
        run("ip", "netns", "exec", b, "nft", "flush", "ruleset")


def tracked(pair: tuple[str, str], *args: str) -> bool:
    """Whether ``conntrack -L ARGS`` in ``b`` lists any entry."""
    out = run("ip", "netns", "exec", pair[1], "conntrack", "-L", *args).stdout
    return any(line.strip() for line in out.splitlines())
