"""Capture nft 1.0.6's answers for the command cases into golden_errors.json.

Run as root on a machine with nft:  python tests/unit/commands/capture_golden.py
Each case runs in a fresh network namespace (pktcmd<pid>, always deleted): the setup
commands, then the case's command line; its exit status and stderr are recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

HERE = Path(__file__).parent
BASE = "add table inet t; add chain inet t c; add rule inet t c accept"

# (name, setup, argv after `nft`)
CASES = [
    ("rule-missing-table", "", ["add", "rule", "inet", "t", "c", "tcp", "dport", "22", "accept"]),
    ("rule-missing-table-ip", "", ["add", "rule", "ip", "t", "c", "accept"]),
    ("rule-missing-chain", "add table inet t", ["add rule inet t nosuch accept"]),
    ("delete-missing-table", "", ["delete table ip nosuch"]),
    ("delete-table-handle", "", ["delete table handle 99"]),
    ("create-existing-table", "add table inet t", ["create table inet t"]),
    ("delete-chain-handle", BASE, ["delete chain inet t handle 99"]),
    ("delete-chain-twice", "add table inet t", ["add chain inet t c2; delete chain inet t c2; delete chain inet t c2"]),
    ("delete-rule-missing-handle", BASE, ["delete rule inet t c handle 99"]),
    ("insert-index-missing", BASE, ["insert rule inet t c index 5 accept"]),
    ("rename-to-existing", BASE, ["rename chain inet t c c"]),
    ("delete-chain-jumped-to", BASE + "; add chain inet t d; add rule inet t c jump d", ["delete chain inet t d"]),
    ("delete-set-in-use", BASE + "; add set inet t s { type ipv4_addr; }; add rule inet t c ip saddr @s accept",
     ["delete set inet t s"]),
    ("delete-missing-set", BASE, ["delete set inet t s"]),
    ("add-element-missing-set", BASE, ["add element inet t s { 1 }"]),
    ("delete-missing-counter", BASE, ["delete counter inet t x"]),
    ("create-existing-counter", BASE, ["add counter inet t x; create counter inet t x"]),
    ("flush-missing-chain", BASE, ["flush chain inet t nosuch"]),
    ("flush-missing-table", "", ["flush table inet nosuch"]),
    ("list-missing-table", "", ["list table inet nosuch"]),
    ("list-missing-chain", BASE, ["list chain inet t nosuch"]),
    ("chain-hook-change", "add table ip t { chain d { type filter hook input priority 0; }; }",
     ["add chain ip t d { type filter hook output priority 0; }"]),
    ("chain-prio-change", "add table ip t { chain d { type filter hook input priority 0; }; }",
     ["add chain ip t d { type filter hook input priority 5; }"]),
    ("policy-on-regular-chain", BASE, ["add chain inet t c { policy drop; }"]),
    ("bad-priority-name", "", ["add table ip t { chain c { type filter hook input priority foo; }; }"]),
    ("priority-wrong-hook", "", ["add table ip t { chain c { type filter hook input priority dstnat; }; }"]),
    ("unknown-hook", "", ["add table ip t { chain c { type filter hook nosuch priority 0; }; }"]),
    ("nat-on-forward", "", ["add table ip t { chain c { type nat hook forward priority 0; }; }"]),
    ("unknown-chain-type", "", ["add table ip t { chain c { type bogus hook input priority 0; }; }"]),
    ("unknown-table-flag", "", ["add table ip t { flags bogus; }"]),
    ("missing-file", "", ["-f", "/nonexistent/pktcmd.nft"]),
    ("unknown-long-option", "", ["--bogus"]),
    ("unknown-short-option", "", ["-x"]),
    ("no-command", "", []),
    ("missing-option-argument", "", ["-f"]),
    ("ok-batch", "", ["add table inet t; add chain inet t c; add rule inet t c tcp dport 22 accept"]),
    ("ok-check", "", ["-c", "add table ip x"]),
]


def capture() -> dict:
    ns = f"pktcmd{os.getpid()}"
    out = {}
    for name, setup, argv in CASES:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            if setup:
                subprocess.run(["ip", "netns", "exec", ns, "nft", setup], check=True)
            p = subprocess.run(["ip", "netns", "exec", ns, "nft", *argv], capture_output=True, text=True)
            out[name] = {"setup": setup, "argv": argv, "rc": p.returncode, "stdout": p.stdout, "stderr": p.stderr}
        finally:
            subprocess.run(["ip", "netns", "del", ns], check=False)
    return out


if __name__ == "__main__":
    data = capture()
    (HERE / "golden_errors.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(data)} cases written")
