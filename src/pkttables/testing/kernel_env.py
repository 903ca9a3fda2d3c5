"""Can the kernel oracle run here?  One place that answers, so tests skip with a reason."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

REQUIRED_TOOLS = ("nft", "ip", "conntrack")


@functools.cache
def kernel_unavailable_reason() -> str | None:
    """None when root, the tools and network namespaces are all there; else why not."""
    if os.geteuid() != 0:
        return "root (running as uid %d)" % os.geteuid()
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        return "the tools " + ", ".join(missing) + " (apt-get install nftables iproute2 conntrack)"
    name = f"pktprobe{os.getpid()}"
    try:
        r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            return "network namespaces (ip netns add failed: %s)" % r.stderr.strip()
        r = subprocess.run(["ip", "netns", "exec", name, "nft", "list", "ruleset"],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            return "nf_tables in the kernel (nft failed: %s)" % r.stderr.strip()
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
    return None
