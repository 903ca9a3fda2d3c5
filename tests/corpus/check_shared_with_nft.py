#!/usr/bin/env python3
"""Run nftables' own tests/py suite (v1.0.6, read with :mod:`nftpy`) through the real
nft 1.0.6 in a network namespace and report how often nft agrees with the suite.

This proves the reader right: if it mis-parsed a line, a declaration or a payload
entry, nft would disagree far more than on the handful of rules this kernel cannot run.

For each ``.t`` file, in a clean ruleset: the ``*`` tables (with their chains), then the
set / element / object lines and rule lines in file order.  For each rule case:

1. ``flush table FAMILY TABLE``, then ``add rule ...`` with ``--debug=netlink``;
   ``fail`` lines must be rejected (an abort, exit 134, counts as a disagreement);
2. ``ok`` lines: the bytecode must equal the payload entry for the family -- the
   ``[ ... ]`` lines in order, the ``element`` items as a multiset;
3. the listing with ``-s -p`` (what upstream uses) must equal LISTING (with upstream's
   anonymous-set fallback);
4. the JSON listing (``-j``) of the rule's ``expr`` must equal ``.t.json.output``
   (else ``.t.json``);
5. the rule added from its ``.t.json`` form must give the same bytecode.

Usage: ``python tests/corpus/check_shared_with_nft.py [-v] [FILE.t ...]``.
Exit 0 always when it ran; the summary and every disagreement are printed.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nftpy  # noqa: E402
from nftns import NFT_DEBUG_NETLINK, OUT_JSON, OUT_STATELESS, NftLab  # noqa: E402

OUT_NUMERIC_PROTO = 1 << 7


def compare_bytecode(expected: nftpy.PayloadEntry, dump: str) -> str | None:
    """None when equal, else a short description of the difference."""
    got = nftpy._parse_payload_body(dump.splitlines())
    if list(got.exprs) != list(expected.exprs):
        return "exprs differ:\n    expected " + "\n             ".join(expected.exprs) + \
               "\n    got      " + "\n             ".join(got.exprs)
    if sorted(got.elements) != sorted(expected.elements):
        return f"elements differ: expected {sorted(expected.elements)} got {sorted(got.elements)}"
    return None


def rule_lines_of_chain(listing: str, chain: str) -> list[str]:
    """The rule lines of ``chain`` in ``nft list table`` output."""
    lines = listing.splitlines()
    out: list[str] = []
    inside = False
    for line in lines:
        s = line.strip()
        if not inside:
            if s == f"chain {chain} {{":
                inside = True
            continue
        if s == "}":
            break
        if s.startswith("type ") and s.endswith(";") or s.startswith(("policy ", "comment ")):
            continue
        out.append(s)
    return out


def listing_matches(expected: str, got: str, rule: str) -> bool:
    expected, got = expected.rstrip(), got.rstrip()
    if expected == got:
        return True
    # upstream's fallback for anonymous sets: same prefix, same items (unordered), same tail
    if "{" in rule and "{" in expected and "{" in got and "}" in expected and "}" in got:
        def split(s: str) -> tuple[str, list[str], str]:
            a = s.index("{")
            b = s.index("}", a)
            items = sorted(x.replace(" ", "") for x in s[a + 1:b].split(","))
            return s[:a], items, s[b:]
        return split(expected) == split(got)
    return False


def run(files: list[Path], verbose: bool, quiet: bool = False) -> collections.Counter[str]:
    stats: collections.Counter[str] = collections.Counter()
    problems: list[str] = []
    t0 = time.time()
    with NftLab() as lab:
        for path in files:
            tf = nftpy.read_file(path, nftpy.SUITE_DIR)
            lab.reset()
            tables: list[nftpy.TableDecl] = []
            for step in tf.steps:
                if isinstance(step, nftpy.TableDecl):
                    rc, _, err = lab.cmd("; ".join(step.commands()))
                    if rc != 0:
                        problems.append(f"{tf.rel}:{step.lineno}: table not created: {err.strip()}")
                        stats["table_failed"] += 1
                        continue
                    tables.append(step)
                elif isinstance(step, (nftpy.SetDecl, nftpy.ElementDecl, nftpy.ObjectDecl)):
                    for t in tables:
                        rc, _, err = lab.cmd(step.command(t.family, t.table))
                        key = type(step).__name__
                        if (rc == 0) == step.expect_ok:
                            stats[key + "_agree"] += 1
                        else:
                            stats[key + "_disagree"] += 1
                            problems.append(f"{tf.rel}:{step.lineno} [{t.family}]: {key} expected "
                                            f"{'ok' if step.expect_ok else 'fail'}, nft rc={rc} {err.strip()[:200]}")
            for case in tf.cases():
                if case.table not in {t.table for t in tables if t.family == case.family}:
                    continue
                where = f"{case.file}:{case.lineno} [{case.family} {case.chain}] {case.rule}"
                lab.cmd(f"flush table {case.family} {case.table}")
                rc, out, err = lab.cmd(case.add_command, debug=NFT_DEBUG_NETLINK)
                if not case.expect_ok:
                    if rc == 0:
                        stats["fail_accepted"] += 1
                        problems.append(f"{where}: expected fail, nft accepted")
                    elif rc == 134:
                        stats["fail_aborted"] += 1
                        problems.append(f"{where}: expected fail, nft aborted (134)")
                    else:
                        stats["fail_agree"] += 1
                    continue
                if rc != 0:
                    stats["ok_rejected"] += 1
                    problems.append(f"{where}: expected ok, nft rc={rc}: {err.strip().splitlines()[0] if err.strip() else ''}")
                    continue
                stats["ok_accepted"] += 1
                if case.payload is None:
                    stats["payload_missing"] += 1
                else:
                    diff = compare_bytecode(case.payload, out)
                    if diff:
                        stats["bytecode_disagree"] += 1
                        problems.append(f"{where}: bytecode ({case.payload_source}) {diff}")
                    else:
                        stats["bytecode_agree"] += 1
                _, listing, _ = lab.cmd(f"list table {case.family} {case.table}",
                                        flags=OUT_STATELESS | OUT_NUMERIC_PROTO)
                lines = rule_lines_of_chain(listing, case.chain)
                got = lines[0] if len(lines) == 1 else " || ".join(lines)
                if case.listing is not None and listing_matches(case.listing, got, case.rule):
                    stats["listing_agree"] += 1
                else:
                    stats["listing_disagree"] += 1
                    problems.append(f"{where}: listing expected {case.listing!r} got {got!r}")
                if case.json is not None:
                    _, jout, _ = lab.cmd(f"list table {case.family} {case.table}", flags=OUT_JSON | OUT_STATELESS | OUT_NUMERIC_PROTO)
                    try:
                        rules = [o["rule"] for o in json.loads(jout)["nftables"]
                                 if "rule" in o and o["rule"]["chain"] == case.chain]
                    except (ValueError, KeyError):
                        rules = []
                    expr = rules[0]["expr"] if len(rules) == 1 else None
                    if expr == case.expected_json_listing:
                        stats["json_listing_agree"] += 1
                    else:
                        stats["json_listing_disagree"] += 1
                        problems.append(f"{where}: JSON listing differs: got {json.dumps(expr)[:300]}")
                    # JSON input round trip: same bytecode
                    lab.cmd(f"flush table {case.family} {case.table}")
                    doc = {"nftables": [{"add": {"rule": {"family": case.family, "table": case.table,
                                                          "chain": case.chain, "expr": case.json}}}]}
                    rc2, out2, err2 = lab.cmd(json.dumps(doc), flags=OUT_JSON, debug=NFT_DEBUG_NETLINK)
                    if rc2 != 0:
                        stats["json_input_rejected"] += 1
                        problems.append(f"{where}: JSON input rejected: {err2.strip()[:200]}")
                    elif case.payload is not None and compare_bytecode(case.payload, out2):
                        stats["json_input_bytecode_disagree"] += 1
                        problems.append(f"{where}: JSON input bytecode differs")
                    else:
                        stats["json_input_agree"] += 1
    elapsed = time.time() - t0
    if quiet:
        return stats
    for p in problems if verbose else problems[:400]:
        print(p)
    print()
    print(f"files: {len(files)}  time: {elapsed:.1f}s  worker restarts (nft aborts): {lab.restarts}")
    for k in sorted(stats):
        print(f"  {k:32s} {stats[k]}")
    total_bc = stats["bytecode_agree"] + stats["bytecode_disagree"]
    print(f"bytecode: nft agrees with {stats['bytecode_agree']} of {total_bc} expectations "
          f"({stats['ok_rejected']} ok-rules rejected here)")
    return stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("-v", "--verbose", action="store_true", help="print every disagreement")
    a = ap.parse_args()
    files = a.files or nftpy.suite_files()
    run([f.resolve() for f in files], a.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
