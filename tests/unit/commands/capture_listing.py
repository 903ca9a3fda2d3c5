"""Capture nft 1.0.6's answers to the list/reset commands on ``listing_base.nft``.

Each command runs in a fresh network namespace ``pkte2e2<pid>`` (deleted in ``finally``)
after ``nft -f listing_base.nft``; stdout, stderr and the exit status go to
``golden_listing.json``.  Run as root: ``python tests/unit/commands/capture_listing.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BASE = HERE / "listing_base.nft"
OUT = HERE / "golden_listing.json"

# (flags, command); a command with ";" runs as one nft invocation (one batch)
CASES = [
    ([], "list tables"), (["-a"], "list tables"), ([], "list tables inet"),
    ([], "list table inet t"), (["-a"], "list table inet t"), (["-t"], "list table inet t"),
    ([], "list chains"), ([], "list chain inet t input"), (["-a"], "list chain inet t input"),
    ([], "list sets"), ([], "list sets inet"), ([], "list set inet t s"), ([], "list maps"),
    ([], "list map inet t m"), ([], "list counters"), ([], "list counters table ip u"),
    ([], "list counter inet t c1"), ([], "list quotas"), ([], "list limits"), ([], "list ct helpers table inet t"),
    ([], "list ruleset inet"), (["-s"], "list ruleset ip"), (["-n"], "list ruleset"),
    ([], "list table inet nosuch"), ([], "list chain inet t nosuch"),
    ([], "reset counters"), ([], "reset counters; list counters"), ([], "reset counter inet t c1"),
    ([], "reset quotas"),
]


def main() -> int:
    out = []
    for i, (flags, cmd) in enumerate(CASES):
        ns = f"pkte2e2{os.getpid()}"
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            load = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", str(BASE)], capture_output=True, text=True)
            assert load.returncode == 0, load.stderr
            r = subprocess.run(["ip", "netns", "exec", ns, "nft", *flags, cmd], capture_output=True, text=True)
            out.append({"flags": flags, "command": cmd, "exit": r.returncode, "stdout": r.stdout,
                        "stderr": r.stderr})
        finally:
            subprocess.run(["ip", "netns", "del", ns], check=False)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {len(out)} cases to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
