"""Capture nft 1.0.6's answers for batches with several errors into golden_batcherr.json.

Run as root with nft:  python tests/unit/commands/capture_batcherr.py
Each case is one file loaded with ``nft -f`` in a fresh namespace (pktbatch<pid>,
always deleted) after its setup; rc and stderr are recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
BASE = "add table ip t; add chain ip t b { type filter hook input priority 0; }; add chain ip t c"

# (name, setup, file text)
CASES = [
    # kernel errors: every failing message of the batch is reported
    ("kernel-two-rules", BASE,
     "add rule ip t c jump b\nadd rule ip t c counter\nadd rule ip t c goto b\n"),
    ("kernel-nested-rules", "",
     "table ip u {\n\tchain b { type filter hook input priority 0; }\n\tchain c {\n"
     "\t\tjump b\n\t\tcounter\n\t\tgoto b\n\t}\n}\n"),
    ("kernel-create-twice", BASE,
     "create table ip t\ncreate chain ip t c\nadd rule ip t c counter\n"),
    ("kernel-missing-chain-then-jump", BASE,
     "add rule ip t nosuch counter\nadd rule ip t c jump b\n"),
    # evaluation errors: all of them, and then nothing is sent to the kernel
    ("eval-two", BASE,
     "add rule ip t c meta nfproto ipv4\nadd rule ip t c counter\nadd rule ip t c meta nfproto ipv6\n"),
    ("eval-and-kernel", BASE,
     "add rule ip t c jump b\nadd rule ip t c meta nfproto ipv4\n"),
    ("eval-nested-first-only", "",
     "table ip u {\n\tchain c {\n\t\tmeta nfproto ipv4\n\t\tmeta nfproto ipv6\n\t}\n}\n"
     "add rule ip u c meta nfproto ipv4\n"),
    # the parser's errors, then the evaluation of what it parsed
    ("unknown-symbol-then-eval", BASE,
     "add rule ip t c meta nfproto ipv4\nadd rule ip t c foo bar\nadd rule ip t c meta nfproto ipv6\n"),
    ("unknown-symbol-then-kernel", BASE,
     "add rule ip t c jump b\nadd rule ip t c foo bar\n"),
    ("syntax-then-eval", BASE,
     "add rule ip t c meta nfproto ipv4\nadd rule ip t c counter )\nadd rule ip t c meta nfproto ipv6\n"),
    ("syntax-then-kernel", BASE,
     "add rule ip t c jump b\nadd rule ip t c counter )\n"),
    ("eval-eleven", BASE, "".join(f"add rule ip t c meta nfproto ipv4 # {i}\n" for i in range(11))),
    # hooks in the wrong family
    ("hook-arp-prerouting", "", "table arp a {\n\tchain c { type filter hook prerouting priority 0; }\n}\n"),
    ("hook-arp-forward", "", "table arp a {\n\tchain c { type filter hook forward priority 0; }\n}\n"),
    ("hook-bridge-ingress", "", "table bridge a {\n\tchain c { type filter hook ingress priority 0; }\n}\n"),
    ("hook-netdev-input", "", "table netdev a {\n\tchain c { type filter hook input priority 0; }\n}\n"),
    ("hook-ip-ingress", "", "table ip a {\n\tchain c { type filter hook ingress priority 0; }\n}\n"),
    ("hook-inet-egress", "", "table inet a {\n\tchain c { type filter hook egress priority 0; }\n}\n"),
    ("hook-ip6-egress", "", "table ip6 a {\n\tchain c { type filter hook egress priority 0; }\n}\n"),
    ("hook-arp-bogus", "", "table arp a {\n\tchain c { type filter hook bogus priority 0; }\n}\n"),
    ("hook-netdev-output", "", "table netdev a {\n\tchain c { type filter hook output priority 0; }\n}\n"),
    ("hook-bridge-egress", "", "table bridge a {\n\tchain c { type filter hook egress priority 0; }\n}\n"),
]


def capture() -> dict:
    ns = f"pktbatch{os.getpid()}"
    out = {}
    for name, setup, text in CASES:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            if setup:
                subprocess.run(["ip", "netns", "exec", ns, "nft", setup], check=True)
            with tempfile.TemporaryDirectory() as d:
                path = Path(d) / "b.nft"
                path.write_text(text)
                p = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "b.nft"], capture_output=True,
                                   text=True, cwd=d)
            out[name] = {"setup": setup, "text": text, "rc": p.returncode, "stderr": p.stderr}
        finally:
            subprocess.run(["ip", "netns", "del", ns], check=False)
    return out


if __name__ == "__main__":
    data = capture()
    (HERE / "golden_batcherr.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
