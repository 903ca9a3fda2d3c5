"""The real nft accepts the ClassBench-style ACL (namespace pktcls<pid>, always deleted)."""

from __future__ import annotations

import os
import subprocess

import pytest

from pkttables.bench.classbench import generate_acl


@pytest.mark.kernel
def test_nft_accepts_the_ruleset(tmp_path):
    path = tmp_path / "acl.nft"
    path.write_text(generate_acl(300, 2, counter=True))
    ns = f"pktcls{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        r = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", str(path)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        out = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "ruleset"], capture_output=True, text=True)
        assert out.stdout.count("counter packets") == 300
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
