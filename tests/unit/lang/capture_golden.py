"""Regenerate golden_errors.json: the real nft 1.0.6's syntax errors for bad inputs.

Run as root where nft is installed:  python tests/unit/lang/capture_golden.py
Each input is written to a file named ``in.nft`` in a temporary directory and checked
with ``nft -c -f in.nft`` (pure syntax errors need no kernel); the test compares our
rendering with nft's stderr, lines that are not syntax errors dropped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from corpus_cases import cases  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

INPUTS = [
    "add rule ip t c tcp dport\n",
    "add rule ip t c tcp dport 22 accept junk\n",
    "table ip t { chain c { tcp dport { 22, } } }\n",
    "add rule ip t c ip saddr 1.2.3.4 counter packets\n",
    "add rule\n",
    "add foo\n",
    "add rule ip t c meta mark set\n",
    "table ip t {\n chain c {\n   ip saddr ) accept\n   tcp dport 22 accept\n }\n}\ntable inet x {\n",
    "table ip t { chain c { } }\n",
    "table ip t { chain c { type filter hook input priority 0; policy accept } }\n",
    'table ip "t"\n',
    "define x = 1\ndefine x = 2\n",
    "add rule ip t c tcp dport $y\n",
    "table ip t { set s { type ipv4_addr; elements = { 1.2.3.4 } } }\n",
    "add rule ip t c tcp foo 1\n",
    'include "nonexist.nft"\n',
    "".join(f"add rule ip t c ) {i}\n" for i in range(14)),
    "list foo\n",
    "add rule ip t c ~\n",
    "add table ip t\nadd chain ip t c {\n",
    "add rule ip t c meta foo 1\n",
    "add rule ip t c ct foo 1\n",
    "add rule ip t c tcp dport 22 counter packets x\n",
    "add rule ip t c jump\n",
    "add rule ip t c tcp dport { 22 23 }\n",
    "table ip t {\n\tchain c {\n\t\ttcp dport 22 22\n\t\tudp dport 53 accept\n\t}\n}\n",
    "add rule ip t c limit rate foo\n",
    "flush\n",
    "add rule ip t c ip saddr 1.2.3.4 ip daddr\n",
    "add rule ip t c iifname eth0 oifname\n",
    "add rule ip t c tcp dport 22 accept\nadd rule ip t c (\n",
    "add rule ip t c ip saddr 1.2.3.4 \\\n  ip daddr\n",
    "# comment\n  # another\nadd rule ip t c tcp dport }\n",
]


def run(text: str) -> str:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "in.nft")
        with open(path, "w") as fh:
            fh.write(text)
        r = subprocess.run(["nft", "-c", "-f", "in.nft"], cwd=d, capture_output=True, text=True, timeout=10)
        return r.stderr


def main():
    out = []
    for text in INPUTS:
        out.append({"input": text, "stderr": run(text)})
    # fail lines of the corpus that nft rejects at parse time.
    corpus_fail = []
    for rel, n, kind, ok, cmd in cases():
        if ok:
            continue
        err = run(cmd + "\n")
        corpus_fail.append({"file": rel, "line": n, "input": cmd + "\n", "stderr": err, "syntax": "syntax error" in err})
    with open(os.path.join(HERE, "golden", "golden_errors.json"), "w") as fh:
        json.dump({"nft": subprocess.run(["nft", "--version"], capture_output=True, text=True).stdout.strip(), "cases": out, "corpus_fail": corpus_fail}, fh, indent=1)


if __name__ == "__main__":
    main()
