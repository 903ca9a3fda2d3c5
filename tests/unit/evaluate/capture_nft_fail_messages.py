#!/usr/bin/env python3
"""Regenerate ``nft_fail_messages.json``: every ``fail`` line of the shared nft 1.0.6
suite run through the real nft in a network namespace (``pkteval2<pid>-N``, deleted on
exit), with the ruleset state the suite builds before the line (tables, chains, sets,
elements, objects).  Each record keeps nft's exit code and its error text, whose
first line is nft's message and whose caret line places it in ``add rule F T C RULE``.

Usage (root, nft 1.0.6): ``python tests/unit/evaluate/capture_nft_fail_messages.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "corpus"))

import nftpy  # noqa: E402
from nftns import NftLab  # noqa: E402

OUT = HERE / "nft_fail_messages.json"


def main() -> int:
    records = []
    with NftLab(prefix="pkteval2") as lab:
        for tf in nftpy.iter_files():
            lab.reset()
            tables = []
            for step in tf.steps:
                if isinstance(step, nftpy.TableDecl):
                    rc, _, _ = lab.cmd("; ".join(step.commands()))
                    if rc == 0:
                        tables.append(step)
                elif isinstance(step, (nftpy.SetDecl, nftpy.ElementDecl, nftpy.ObjectDecl)):
                    for t in tables:
                        lab.cmd(step.command(t.family, t.table))
            seen = set()
            for case in tf.cases():
                if case.expect_ok:
                    continue
                key = (case.lineno, case.family)
                if key in seen:
                    continue
                seen.add(key)
                lab.cmd(f"flush table {case.family} {case.table}")
                rc, _, err = lab.cmd(case.add_command)
                records.append({"file": case.file, "lineno": case.lineno, "family": case.family,
                                "table": case.table, "chain": case.chain, "rule": case.rule,
                                "rc": rc, "err": err})
    OUT.write_text(json.dumps(records, indent=1) + "\n")
    print(f"{len(records)} fail lines written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
