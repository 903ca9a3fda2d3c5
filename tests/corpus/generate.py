#!/usr/bin/env python3
"""Generate pkttables' own language corpus from the real nft 1.0.6.

Theory of operation
-------------------
Candidates (rule lines) come from two places, both deterministic (``SEED``):

* the shared nftables tests/py suite (read with :mod:`nftpy`): every rule line in its
  own family and, seeded, in one other family; plus value mutations of a sample
  (one number replaced by another, sometimes in hex);
* :mod:`rules_catalog`: every expression/statement family of nft 1.0.6 written out
  systematically, plus random combinations of matches and statements.

Each candidate names a chain *class* (``filter``, ``pre``, ``natpost``...).  One table
``t`` per family holds a chain per class plus named sets, maps, stateful objects and a
flowtable (:data:`TABLE_PARTS`; parts this kernel refuses are dropped and the final
declaration is saved in ``generated/contexts.json``).

Running, in one fresh namespace ``pktcorpus<pid>-N`` (see :mod:`nftns`):

1. every candidate is added on its own with ``--debug=netlink`` through libnftables:
   accepted or not, exit code, stderr, bytecode (printed for kernel-rejected rules
   too).  Rejected rules leave nothing behind, so the chains end up holding exactly
   the accepted rules, in order;
2. then the real ``nft`` binary lists the whole ruleset once per variant (plain,
   ``-s -nn``, ``-a``, ``-n``, ``-nn``, ``-s``, ``-t``) and ``-j``; each chain body is cut
   into rule lines which are matched to the accepted records in order (if the count
   does not match, that chain falls back to one rule at a time).

Whole rulesets (:mod:`rulesets_catalog`) each run in their own fresh namespace (so
handles are deterministic) with ``nft -I . -f NNN-name.nft`` from the ``rulesets``
directory.

``--check`` re-runs a seeded sample of records and rulesets and compares everything
except handles (a record alone gets other handles than in the batch).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import nftpy  # noqa: E402
import rules_catalog as cat  # noqa: E402
import rulesets_catalog  # noqa: E402
from nftns import NFT_DEBUG_NETLINK, NftLab  # noqa: E402

SEED = 20240606
OUT = HERE / "generated"
RULES_DIR = OUT / "rules"
RULESETS_DIR = OUT / "rulesets"
TABLE = "t"

LIST_VARIANTS: dict[str, tuple[str, ...]] = {
    "listing": (),
    "listing_snn": ("-s", "-nn"),
    "listing_a": ("-a",),
    "listing_n": ("-n",),
    "listing_nn": ("-nn",),
    "listing_s": ("-s",),
    "listing_t": ("-t",),
}
ALWAYS_STORED = ("listing", "listing_snn", "listing_a")

# --------------------------------------------------------------------------- contexts

_BASE_INET = {
    "filter": ("input", "type filter hook input priority 0"),
    "pre": ("pre", "type filter hook prerouting priority -150"),
    "fwd": ("forward", "type filter hook forward priority filter"),
    "out": ("output", "type filter hook output priority 0"),
    "post": ("post", "type filter hook postrouting priority 0"),
    "natpre": ("natpre", "type nat hook prerouting priority dstnat"),
    "natpost": ("natpost", "type nat hook postrouting priority srcnat"),
    "natout": ("natout", "type nat hook output priority -100"),
    "natin": ("natin", "type nat hook input priority 100"),
    "route": ("route", "type route hook output priority mangle"),
}
CHAINS: dict[str, dict[str, tuple[str, str]]] = {
    "ip": dict(_BASE_INET),
    "ip6": dict(_BASE_INET),
    "inet": {**_BASE_INET, "ingress": ("ingress", "type filter hook ingress device \"lo\" priority 0")},
    "arp": {"filter": ("input", "type filter hook input priority 0"),
            "out": ("output", "type filter hook output priority 0")},
    "bridge": {"filter": ("input", "type filter hook input priority 0"),
               "pre": ("pre", "type filter hook prerouting priority -200"),
               "fwd": ("forward", "type filter hook forward priority 0"),
               "out": ("output", "type filter hook output priority 0"),
               "post": ("post", "type filter hook postrouting priority 0")},
    "netdev": {"ingress": ("ingress", "type filter hook ingress device \"lo\" priority 0"),
               "egress": ("egress", "type filter hook egress device \"lo\" priority 0")},
}
# a class a family lacks goes to the family's nearest chain (nft may then reject the rule)
FALLBACK = {"natpre": "pre", "natpost": "post", "natout": "out", "natin": "filter", "route": "out",
            "pre": "filter", "fwd": "filter", "post": "out", "ingress": "pre", "egress": "out",
            "filter": "ingress", "out": "egress"}

TABLE_PARTS = [
    "add chain {f} t other",
    "add set {f} t s4 {{ type ipv4_addr; }}",
    "add set {f} t s6 {{ type ipv6_addr; }}",
    "add set {f} t sport {{ type inet_service; }}",
    "add set {f} t sc {{ type ipv4_addr . inet_service; }}",
    "add set {f} t sdyn4 {{ type ipv4_addr; size 65535; flags dynamic,timeout; }}",
    "add set {f} t sdyn6 {{ type ipv6_addr; size 65535; flags dynamic; }}",
    "add set {f} t scdyn {{ type ipv4_addr . inet_service; flags dynamic; }}",
    "add map {f} t mdyn {{ type ipv4_addr : mark; flags dynamic; }}",
    "add map {f} t mmark4 {{ type ipv4_addr : mark; }}",
    "add map {f} t mnat4 {{ type ipv4_addr : ipv4_addr; }}",
    "add map {f} t vm {{ type inet_service : verdict; }}",
    "add counter {f} t c1",
    "add counter {f} t c2",
    "add map {f} t om {{ type ipv4_addr : counter; }}",
    "add quota {f} t q1 {{ 25 mbytes }}",
    "add limit {f} t l1 {{ rate 400/minute }}",
    "add ct helper {f} t h1 {{ type \"ftp\" protocol tcp; }}",
    "add ct timeout {f} t to1 {{ protocol tcp; l3proto {l3}; policy = {{ established: 120 }}; }}",
    "add ct expectation {f} t e1 {{ protocol tcp; dport 21; timeout 1m; size 10; l3proto {l3}; }}",
    "add synproxy {f} t sp1 {{ mss 1460; wscale 7; }}",
    "add secmark {f} t sm1 {{ \"system_u:object_r:ssh_server_packet_t:s0\" }}",
    "add flowtable {f} t ft {{ hook ingress priority 0; devices = {{ veth0 }}; }}",
]


def chain_for(family: str, cls: str) -> tuple[str, str]:
    chains = CHAINS[family]
    seen = set()
    while cls not in chains and cls not in seen:
        seen.add(cls)
        cls = FALLBACK.get(cls, "filter")
    return chains.get(cls) or next(iter(chains.values()))


def build_contexts(lab: NftLab) -> dict[str, dict]:
    """Create one table per family; return family -> {"table_decl": [commands], ...}."""
    contexts = {}
    for fam, chains in CHAINS.items():
        cmds = [f"add table {fam} {TABLE}"]
        for name, spec in chains.values():
            cmds.append(f"add chain {fam} {TABLE} {name} {{ {spec}; }}")
        rc, _, err = lab.cmd("\n".join(cmds))
        if rc != 0:
            raise RuntimeError(f"cannot create {fam} context: {err}")
        dropped = []
        for part in TABLE_PARTS:
            c = part.format(f=fam, l3="ip6" if fam == "ip6" else "ip")
            rc, _, err = lab.cmd(c)
            (cmds if rc == 0 else dropped).append(c)
        contexts[fam] = {"family": fam, "table": TABLE, "table_decl": cmds, "not_supported_here": dropped,
                         "chains": {name: spec for name, spec in chains.values()}}
    return contexts


# --------------------------------------------------------------------------- candidates

_SPEC_CLASS = [("type nat hook prerouting", "natpre"), ("type nat hook postrouting", "natpost"),
               ("type nat hook output", "natout"), ("type nat hook input", "natin"), ("type route", "route"),
               ("hook prerouting", "pre"), ("hook forward", "fwd"), ("hook output", "out"),
               ("hook postrouting", "post"), ("hook ingress", "ingress"), ("hook egress", "egress")]


def spec_class(spec: str) -> str:
    for needle, cls in _SPEC_CLASS:
        if needle in spec:
            return cls
    return "filter"


_NUM = re.compile(r"(?<![\w.:/\-@\"])(\d+)(?![\w.:/\-\"])")


def mutate(rule: str, rng: random.Random) -> str | None:
    nums = list(_NUM.finditer(rule))
    if not nums:
        return None
    m = rng.choice(nums)
    v = int(m.group(1))
    nv = rng.choice([v + 1, max(0, v - 1), v * 2, rng.randrange(0, max(2, v * 4)), 0, 255, 65535])
    text = hex(nv) if rng.random() < 0.25 else str(nv)
    return rule[: m.start()] + text + rule[m.end():]


def candidates(rng: random.Random) -> list[tuple[str, str, str, str, str]]:
    """(topic, origin, family, cls, rule), deduplicated on (family, cls, rule), in a
    stable order."""
    out: list[tuple[str, str, str, str, str]] = []
    seen: set[tuple[str, str, str]] = set()

    def add(topic: str, origin: str, fam: str, cls: str, rule: str) -> None:
        key = (fam, cls, rule)
        if key not in seen and ";" not in rule:
            seen.add(key)
            out.append((topic, origin, fam, cls, rule))

    suite_rules: list[tuple[str, str, str, str]] = []
    for tf in nftpy.iter_files():
        for case in tf.cases():
            if "@" in case.rule.replace("@ll", "").replace("@nh", "").replace("@th", "").replace("@ih", "") \
                    or 'name "' in case.rule or "set \"" in case.rule:
                continue  # refers to named sets/objects of that .t file, not present here
            topic = "suite-" + Path(case.file).stem.replace("_", "-")
            cls = spec_class(case.chain_spec)
            origin = f"suite:{case.file}:{case.lineno}"
            add(topic, origin, case.family, cls, case.rule)
            suite_rules.append((topic, origin, cls, case.rule))
    # the same rules in another family (seeded), then mutated values
    uniq = list(dict.fromkeys(suite_rules))
    for topic, origin, cls, rule in uniq:
        add(topic, origin + ":family", rng.choice(cat.ALL), cls, rule)
    for topic, origin, cls, rule in rng.sample(uniq, min(900, len(uniq))):
        m = mutate(rule, rng)
        if m:
            add(topic, origin + ":mutated", rng.choice(cat.L3), cls, m)
    catalog = list(cat.systematic(rng))
    for c in catalog:
        for fam in c.families:
            add(c.topic, "catalog", fam, c.cls, c.rule)
    for c in cat.combinations(rng, catalog, 700):
        for fam in c.families:
            add(c.topic, "combo", fam, c.cls, c.rule)
    return out


def classify(exit_code: int, stderr: str) -> str | None:
    if exit_code == 0:
        return None
    if exit_code == 134:
        return "abort"  # an assertion in nft (SIGABRT)
    if exit_code >= 128:
        return "crash"  # another signal, e.g. 139 = SIGSEGV
    if "Could not process rule" in stderr:
        return "kernel"  # netlink said no: this kernel lacks the feature or refuses the value
    if "syntax error" in stderr:
        return "parser"
    return "evaluate"


# --------------------------------------------------------------------------- listings


def chain_bodies(text: str) -> dict[tuple[str, str, str], list[str]]:
    """``nft list`` text -> (family, table, chain) -> rule lines (without the two-tab indent)."""
    out: dict[tuple[str, str, str], list[str]] = {}
    fam = table = chain = None
    for line in text.splitlines():
        m = re.match(r"^table (\S+) (\S+) \{", line)
        if m:
            fam, table = m.groups()
            continue
        m = re.match(r"^\tchain (\S+) \{", line)
        if m:
            chain = m.group(1)
            out[(fam, table, chain)] = []
            continue
        if line == "\t}":
            chain = None
            continue
        if chain is not None and line.startswith("\t\t"):
            # only the indentation goes: nft sometimes ends a rule line with a blank
            # (``ct expiration 0s`` lists as "ct expiration "), and that is part of the answer
            s = line[2:]
            if re.match(r"^type \S+ hook ", s) or s.startswith(("policy ", "comment ")):
                continue
            out[(fam, table, chain)].append(s)
    return out


def json_rules(text: str) -> dict[tuple[str, str, str], list[dict]]:
    out: dict[tuple[str, str, str], list[dict]] = collections.defaultdict(list)
    for obj in json.loads(text)["nftables"]:
        if "rule" in obj:
            r = obj["rule"]
            out[(r["family"], r["table"], r["chain"])].append(r)
    return out


def list_chain(lab: NftLab, key: tuple[str, str, str]) -> tuple[dict[str, list[str]], list[dict]] | dict:
    """Every listing variant and the JSON of one chain; on failure (nft may accept a
    rule it then cannot list: it aborts) a dict with the exit code and stderr."""
    fam, table, chain = key
    variants = {}
    for v, opts in LIST_VARIANTS.items():
        rc, out, err = lab.cli(*opts, "list", "chain", fam, table, chain)
        if rc != 0:
            return {"variant": v, "exit": rc, "stderr": err}
        variants[v] = chain_bodies(out).get(key, [])
    rc, out, err = lab.cli("-j", "list", "chain", fam, table, chain)
    if rc != 0:
        return {"variant": "json", "exit": rc, "stderr": err}
    return variants, json_rules(out).get(key, [])


# --------------------------------------------------------------------------- rules


def run_rules(lab: NftLab, cands: list[tuple[str, str, str, str, str]], contexts: dict) -> list[dict]:
    records: list[dict] = []
    per_topic: collections.Counter[str] = collections.Counter()
    for topic, origin, fam, cls, rule in cands:
        chain, spec = chain_for(fam, cls)
        command = f"add rule {fam} {TABLE} {chain} {rule}"
        rc, out, err = lab.cmd(command, debug=NFT_DEBUG_NETLINK)
        if rc == 134:
            # nft aborted (assertion): take the binary's own stderr and status
            rc, out, err = lab.cli("--debug=netlink", command)
        per_topic[topic] += 1
        rec = {
            "id": f"{topic}-{per_topic[topic]:05d}-{fam}",
            "topic": topic, "origin": origin, "family": fam, "table": TABLE, "chain": chain,
            "chain_decl": spec, "rule": rule, "command": command,
            "ok": rc == 0, "exit": rc, "stderr": err, "rejected_by": classify(rc, err),
            "bytecode": out,
        }
        records.append(rec)
    print(f"  {len(records)} rules added", flush=True)
    attach_listings(lab, records)
    return records


def attach_listings(lab: NftLab, records: list[dict]) -> None:
    by_table: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
    for rec in records:
        if rec["ok"]:
            by_table[(rec["family"], rec["table"])].append(rec)
    for (fam, table), recs in by_table.items():
        t = time.time()
        if not _list_table(lab, recs):
            _find_unlistable(lab, fam, table, recs)
        print(f"  listed {fam} {table} ({len(recs)} rules) in {time.time() - t:.1f}s", flush=True)


def _list_table(lab: NftLab, recs: list[dict]) -> bool:
    """List every chain holding ``recs`` (which must be exactly the chains' rules, in
    order); False if nft cannot list one or a listing does not split one line per rule."""
    by_chain: dict[tuple[str, str, str], list[dict]] = collections.defaultdict(list)
    for rec in recs:
        by_chain[(rec["family"], rec["table"], rec["chain"])].append(rec)
    results = {}
    for key, crecs in by_chain.items():
        res = list_chain(lab, key)
        if not isinstance(res, tuple):
            return False
        lines, js = res
        if not (all(len(x) == len(crecs) for x in lines.values()) and len(js) == len(crecs)):
            return False
        results[key] = res
    for key, crecs in by_chain.items():
        lines, js = results[key]
        for i, rec in enumerate(crecs):
            _store_listing(rec, {v: lines[v][i] for v in LIST_VARIANTS}, js[i])
    return True


def _find_unlistable(lab: NftLab, fam: str, table: str, recs: list[dict]) -> None:
    """nft 1.0.6 accepts some rules it then cannot list (it aborts while listing, and a
    listing fetches the whole table, so one such rule breaks every chain).  Find them
    one at a time through the worker (cheap), record the CLI's answer for each, then
    list the others together -- or each alone if that still fails."""
    good = []
    for rec in recs:
        lab.cmd(f"flush table {fam} {table}")
        lab.cmd(rec["command"])
        if lab.cmd(f"list table {fam} {table}")[0] != 0:
            res = list_chain(lab, (fam, table, rec["chain"]))
            rec["listing_error"] = res if isinstance(res, dict) else {"exit": 134, "stderr": ""}
        else:
            good.append(rec)
    lab.cmd(f"flush table {fam} {table}")
    for rec in good:
        lab.cmd(rec["command"])
    if _list_table(lab, good):
        lab.cmd(f"flush table {fam} {table}")
        return
    for rec in good:
        lab.cmd(f"flush table {fam} {table}")
        lab.cmd(rec["command"])
        key = (fam, table, rec["chain"])
        res = list_chain(lab, key)
        rec["listed_alone"] = True
        if isinstance(res, dict):
            rec["listing_error"] = res
        else:
            lines, js = res
            _store_listing(rec, {v: " || ".join(lines[v]) for v in LIST_VARIANTS},
                           js[0] if len(js) == 1 else {"rules": js})
    lab.cmd(f"flush table {fam} {table}")


def _store_listing(rec: dict, lines: dict[str, str], js: dict) -> None:
    for v in LIST_VARIANTS:
        if v in ALWAYS_STORED or lines[v] != lines["listing"]:
            rec[v] = lines[v]
    rec["json"] = js


# --------------------------------------------------------------------------- rulesets


def run_ruleset(path: Path, prefix: str = "pktcorpus") -> dict:
    """``nft -I . -f NAME`` in a fresh namespace, from the rulesets dir; then listings."""
    with NftLab(prefix) as lab:
        rc, out, err = lab.cli("-I", ".", "-f", path.name, cwd=str(path.parent))
        res: dict = {"file": path.name, "command": f"nft -I . -f {path.name}", "ok": rc == 0, "exit": rc,
                     "stderr": err}
        if rc == 0:
            for key, opts in LIST_VARIANTS.items():
                r, o, e = lab.cli(*opts, "list", "ruleset")
                res[key] = o if r == 0 else {"exit": r, "stderr": e}
            r, o, e = lab.cli("-j", "list", "ruleset")
            res["json"] = json.loads(o) if r == 0 else {"exit": r, "stderr": e}
            # a listing must load again and list the same (round trip)
            lab.cli("flush", "ruleset")
            r2, _, e2 = lab.cli("-f", "-", stdin=res["listing"])
            res["relisted_ok"] = r2 == 0 and untime(lab.cli("list", "ruleset")[1]) == untime(res["listing"])
            res["time_dependent"] = untime(res) != res
        else:
            res["rejected_by"] = classify(rc, err)
    for key in list(LIST_VARIANTS)[3:]:
        if key in res and res[key] == res["listing"]:
            del res[key]
    return res


# --------------------------------------------------------------------------- main


def write_rules(records: list[dict], contexts: dict) -> None:
    if RULES_DIR.exists():
        shutil.rmtree(RULES_DIR)
    RULES_DIR.mkdir(parents=True)
    by_file: dict[str, list[dict]] = collections.defaultdict(list)
    for rec in records:
        group = "suite" if rec["topic"].startswith("suite-") else rec["topic"]
        by_file[group].append(rec)
    for group, recs in sorted(by_file.items()):
        with open(RULES_DIR / f"{group}.jsonl", "w") as f:
            for rec in recs:
                f.write(json.dumps(rec, sort_keys=True) + "\n")
    (OUT / "contexts.json").write_text(json.dumps(contexts, indent=1, sort_keys=True) + "\n")


def generate() -> None:
    t0 = time.time()
    rng = random.Random(SEED)
    cands = candidates(rng)
    print(f"{len(cands)} candidates, {len({c[4] for c in cands})} distinct rule lines", flush=True)
    with NftLab() as lab:
        contexts = build_contexts(lab)
        records = run_rules(lab, cands, contexts)
        print(f"rules done in {time.time() - t0:.1f}s; nft aborts: {lab.restarts}", flush=True)
    write_rules(records, contexts)
    RULESETS_DIR.mkdir(parents=True, exist_ok=True)
    for p in RULESETS_DIR.glob("*"):
        if p.is_file():
            p.unlink()
    files = rulesets_catalog.write_all(RULESETS_DIR, random.Random(SEED))
    for path in files:
        res = run_ruleset(path)
        path.with_suffix(".expected.json").write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    ok = sum(r["ok"] for r in records)
    print(f"{len(records)} rule records ({ok} accepted), {len(files)} rulesets, {time.time() - t0:.1f}s")


# --------------------------------------------------------------------------- check


def load_records() -> list[dict]:
    recs = []
    for p in sorted(RULES_DIR.glob("*.jsonl")):
        with open(p) as f:
            recs.extend(json.loads(line) for line in f if line.strip())
    return recs


_EXPIRES = re.compile(r"expires [0-9dhms]+")


def untime(obj):
    """Blank what depends on the clock: element ``expires`` in listings and JSON (an
    element with ``timeout 1h`` lists ``expires 59m59s992ms``, a few ms less each run)."""
    if isinstance(obj, str):
        return _EXPIRES.sub("expires <T>", obj)
    if isinstance(obj, dict):
        return {k: untime(v) for k, v in obj.items() if k != "expires"}
    if isinstance(obj, list):
        return [untime(v) for v in obj]
    return obj


def _strip_handles(obj):
    if isinstance(obj, dict):
        return {k: _strip_handles(v) for k, v in obj.items() if k != "handle"}
    if isinstance(obj, list):
        return [_strip_handles(v) for v in obj]
    return obj


def check(sample: int, rulesets: int) -> int:
    """Re-run a seeded sample; compare with the committed data."""
    contexts = json.loads((OUT / "contexts.json").read_text())
    records = load_records()
    rng = random.Random(SEED + 1)
    picked = sorted(rng.sample(range(len(records)), min(sample, len(records))))
    bad: list[str] = []
    with NftLab() as lab:
        for ctx in contexts.values():
            rc, _, err = lab.cmd("\n".join(ctx["table_decl"]))
            if rc != 0:
                bad.append(f"context {ctx['family']}: {err}")
        for i in picked:
            rec = records[i]
            rc, out, err = lab.cmd(rec["command"], debug=NFT_DEBUG_NETLINK)
            for k, v in (("exit", rc), ("stderr", err), ("bytecode", out)):
                if rec[k] != v:
                    bad.append(f"{rec['id']}: {k} was {rec[k]!r}, nft now says {v!r}")
            if rc == 0:
                key = (rec["family"], rec["table"], rec["chain"])
                res = list_chain(lab, key)
                if isinstance(res, dict):
                    if rec.get("listing_error", {}).get("exit") != res["exit"]:
                        bad.append(f"{rec['id']}: nft now cannot list it: {res}")
                elif "listing_error" in rec:
                    bad.append(f"{rec['id']}: nft now lists what it could not")
                else:
                    variants, js = res
                    for v in ("listing", "listing_snn", "listing_s", "listing_n", "listing_t"):
                        got = " || ".join(variants[v])
                        want = rec.get(v, rec["listing"])
                        if got != want:
                            bad.append(f"{rec['id']}: {v} was {want!r}, nft now says {got!r}")
                    if len(js) != 1 or _strip_handles(js[0]) != _strip_handles(rec["json"]):
                        bad.append(f"{rec['id']}: json differs")
                lab.cmd(f"flush chain {rec['family']} {rec['table']} {rec['chain']}")
    files = sorted(RULESETS_DIR.glob("*.nft"))
    for path in random.Random(SEED + 2).sample(files, min(rulesets, len(files))):
        want = json.loads(path.with_suffix(".expected.json").read_text())
        got = untime(json.loads(json.dumps(run_ruleset(path))))
        want = untime(want)
        for k in sorted(set(want) | set(got)):
            if want.get(k) != got.get(k):
                bad.append(f"rulesets/{path.name}: {k} differs")
    for b in bad[:50]:
        print(b)
    print(f"checked {len(picked)} rule records and {min(rulesets, len(files))} rulesets: "
          f"{'OK' if not bad else f'{len(bad)} differences'}")
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="verify a sample of the committed data against nft")
    ap.add_argument("--sample", type=int, default=300, help="rule records to re-check (default 300)")
    ap.add_argument("--rulesets", type=int, default=10, help="rulesets to re-check (default 10)")
    a = ap.parse_args()
    if a.check:
        return check(a.sample, a.rulesets)
    generate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
