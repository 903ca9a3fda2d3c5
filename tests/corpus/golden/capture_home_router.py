"""Capture nft 1.0.6's listings of examples/home-router/ruleset.nft (root, nft, ip).

Loads the example into a fresh network namespace ``pkte2e<N><pid>`` (deleted in
``finally``) with ``nft -f`` and records ``nft [FLAGS] list ruleset`` for each variant into
``home-router.expected.json`` beside this script::

    python tests/corpus/golden/capture_home_router.py

The golden is committed; ``tests/corpus/test_rulesets_e2e.py`` compares pkttables with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
RULESET = ROOT / "examples" / "home-router" / "ruleset.nft"
OUT = Path(__file__).with_name("home-router.expected.json")
VARIANTS = {"listing": [], "listing_a": ["-a"], "listing_s": ["-s"], "listing_t": ["-t"],
            "listing_n": ["-n"], "listing_snn": ["-s", "-nn"]}


def main() -> int:
    ns = f"pkte2e1{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        def nft(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(["ip", "netns", "exec", ns, "nft", *args], capture_output=True, text=True)
        # the example names interfaces lan0/wan0 only by name (iifname), so none is needed
        load = nft("-f", str(RULESET))
        rec = {"file": "examples/home-router/ruleset.nft", "exit": load.returncode, "stderr": load.stderr,
               "ok": load.returncode == 0}
        if rec["ok"]:
            for key, flags in VARIANTS.items():
                rec[key] = nft(*flags, "list", "ruleset").stdout
        OUT.write_text(json.dumps(rec, indent=1) + "\n")
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
