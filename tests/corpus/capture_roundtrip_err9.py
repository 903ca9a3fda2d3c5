"""Capture nft 1.0.6's own round trip for the corpus listings our round trip test sets
apart (ERR9): for each record whose listing matched a KNOWN pattern of
test_roundtrip_listing.py before ERR9 (one-element sets, bitmask sets, `ct expiration`),
nft adds the rule, lists it (L1), adds L1 to a fresh chain and lists that (L2, or
REFUSED).  Written to golden_roundtrip_err9.json; compared by
test_roundtrip_nft_err9.py.  Run as root (namespace ``pktE9<pid>``, always deleted);
the record ids come from the committed golden (or ``--ids FILE``, one id a line)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pkttables.testing.nftgolden import _Netns

HERE = Path(__file__).parent
OUT = HERE / "golden_roundtrip_err9.json"
sys.path.insert(0, str(HERE))
import test_generated_rules as G  # noqa: E402


def _line(n: _Netns, fam: str, chain: str) -> str | None:
    lst = n.nft("list", "chain", fam, "t", chain).stdout.splitlines()
    rules = [x.strip() for x in lst if x.startswith("\t\t")]
    return rules[-1] if rules else None


def capture(ids: list[str]) -> dict:
    ctx = json.loads((G.GEN / "contexts.json").read_text())
    recs = {r["id"]: r for r in G.records()}
    out: dict = {}
    ns = f"{os.environ.get('PKTTABLES_NS_PREFIX') or 'pktE9'}{os.getpid()}"
    with _Netns(ns) as n:
        made = set()
        for rid in ids:
            r = recs[rid]
            fam, chain = r["family"], r["chain"]
            if fam not in made:
                n.nft("; ".join(ctx[fam]["table_decl"]), check=True)
                made.add(fam)
            n.nft(f"flush chain {fam} t {chain}")
            if n.nft(f"add rule {fam} t {chain} {r['rule']}").returncode:
                continue
            l1 = _line(n, fam, chain)
            n.nft(f"flush chain {fam} t {chain}")
            l2 = "REFUSED" if n.nft(f"add rule {fam} t {chain} {l1}").returncode else _line(n, fam, chain)
            n.nft(f"flush chain {fam} t {chain}")
            out[rid] = {"family": fam, "chain": chain, "rule": r["rule"], "l1": l1, "l2": l2}
    OUT.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    return out


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--ids":
        ids = [x.strip() for x in Path(sys.argv[2]).read_text().splitlines() if x.strip()]
    else:
        ids = list(json.loads(OUT.read_text()))
    print("captured", len(capture(ids)))
