"""Capture nft 1.0.6's answers for the cli2 scenarios (``-j`` listings and JSON input,
``-e`` echo, meters/hooks, flush/rename/replace/insert, jump checks) into
``cli2/golden_cli2.json``.

A scenario is a list of nft invocations run one after the other in one fresh network
namespace ``pktcli2<pid>`` (deleted in ``finally``); each step's argv, exit status,
stdout and stderr are recorded.  ``@NAME`` in an argv is the file ``cli2/NAME``.
Run as root: ``python tests/unit/commands/capture_cli2.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
DIR = HERE / "cli2"
OUT = DIR / "golden_cli2.json"
BASE = ["-f", "@../listing_base.nft"]

J_RULE = ('{"nftables": [{"add": {"table": {"family": "inet", "name": "j"}}}, '
          '{"add": {"chain": {"family": "inet", "table": "j", "name": "c", "type": "filter", '
          '"hook": "input", "prio": 0, "policy": "accept"}}}, '
          '{"add": {"rule": {"family": "inet", "table": "j", "chain": "c", "expr": [{"match": '
          '{"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, '
          '{"accept": null}]}}}]}')

SCENARIOS: dict[str, list[list[str]]] = {
    "json-list": [BASE] + [["-j", *c.split(" ", 0)] for c in (
        "list ruleset", "list tables", "list table inet t", "list chain inet t input", "list chains",
        "list sets", "list set inet t s", "list maps", "list map inet t m", "list counters",
        "list counter inet t c1", "list quotas", "list limits", "list ct helpers", "list flowtables",
        "list ruleset ip", "list tables inet", "list counters table ip u", "list meters",
        "reset counters", "list counters")] + [["-j", "-a", "list chain inet t input"],
                                               ["-j", "-s", "list ruleset"],
                                               ["-j", "list table inet nosuch"]],
    "json-input": [["-j", J_RULE], ["list ruleset"], ["-j", "list ruleset"],
                   ["-j", "-f", "@input.json"], ["-a", "list table ip jt"],
                   ["-j", '{"nftables": [{"list": {"table": {"family": "ip", "name": "jt"}}}]}'],
                   ["-j", '{"nftables": [{"list": {"chains": null}}]}'],
                   ["-j", '{"nftables": [{"flush": {"chain": {"family": "ip", "table": "jt", "name": "in"}}}]}'],
                   ["list chain ip jt in"],
                   ["-j", '{"nftables": [{"delete": {"table": {"family": "inet", "name": "j"}}}]}'],
                   ["list tables"]],
    "echo-text": [["-e", "add table inet t"], ["-e", "add chain inet t c"],
                  ["-e", "add chain inet t b { type filter hook input priority 0; policy drop; }"],
                  ["-e", "add set inet t s { type ipv4_addr; flags interval; }"],
                  ["-e", "add element inet t s { 1.2.3.4, 10.0.0.0/8 }"],
                  ["-e", "add set inet t p { type inet_service; }"],
                  ["-e", "add element inet t p { 22, 80, 443 }"],
                  ["-e", "add map inet t m { type ipv4_addr : verdict; }"],
                  ["-e", "add counter inet t cc"], ["-e", "add quota inet t q { over 10 mbytes; }"],
                  ["-e", "add rule inet t c tcp dport 22 accept"],
                  ["-e", "-a", "add rule inet t c ip saddr { 1.1.1.1, 2.2.2.2 } counter accept"],
                  ["-e", "-a", "insert rule inet t c tcp dport 1 drop"],
                  ["-e", "-a", "replace rule inet t c handle 11 tcp dport 2 drop"],
                  ["-e", "-a", "add rule inet t c position 11 tcp dport 3 drop"],
                  ["-e", "-a", "add rule inet t c ip daddr vmap { 1.1.1.1 : accept }"],
                  ["-e", "delete rule inet t c handle 12"], ["-e", "flush chain inet t c"],
                  ["-e", "rename chain inet t c d"], ["-e", "create table ip x3"],
                  ["-e", "add table inet t"],
                  ["-e", "add rule inet t b tcp dport 22 accept; add rule inet t b tcp dport 23 drop"],
                  ["-e", "-a", "add rule inet t b index 0 tcp dport 5 drop"],
                  ["-e", "-a", "insert rule inet t b position 15 tcp dport 6 drop"],
                  ["-e", "-a", "insert rule inet t b index 1 tcp dport 7 drop"],
                  ["-e", "-s", "add rule inet t b counter"],
                  ["-e", "add table inet t { chain c { type filter hook output priority 0; }; }"],
                  ["-e", "-f", "@block.nft"], ["-a", "list ruleset"]],
    "echo-json": [["-e", "-j", "add table ip x2"], ["-e", "-j", "add chain ip x2 c"],
                  ["-e", "-j", "add chain ip x2 b { type filter hook output priority 0; }"],
                  ["-e", "-j", "add set ip x2 s { type inet_service; elements = { 1 }; }"],
                  ["-e", "-j", "add element ip x2 s { 2, 3 }"],
                  ["-e", "-j", "add rule ip x2 c tcp dport 23 accept"],
                  ["-e", "-j", "-a", "insert rule ip x2 c tcp dport 24 accept"],
                  ["-e", "-j", "add counter ip x2 k"],
                  ["-e", "-j", J_RULE]],
    "meters": [["add table ip t; add chain ip t c"],
               ["add rule ip t c meter m { ip saddr limit rate 10/second } accept"],
               ["add rule ip t c meter m2 size 1024 { tcp dport counter } accept"],
               ["list meters"], ["list meter ip t m"], ["list meter ip t m2"], ["list sets"],
               ["list ruleset"], ["-j", "list meters"], ["-j", "list meter ip t m"],
               ["list meter ip t nosuch"]],
    "hooks": [["add table ip t { chain c { type filter hook input priority 0; }; }"],
              ["list hooks"], ["list hooks ip"], ["reset rules"]],
    "families": [["add table ip a; add table ip6 b; add table inet c; add table arp d; add table bridge e;"
                  " add table netdev f"],
                 ["add chain ip6 b x; add chain arp d y { type filter hook input priority 0; };"
                  " add chain bridge e z { type filter hook forward priority 0; }"],
                 ["list ruleset ip6"], ["list ruleset arp"], ["list ruleset bridge"], ["list ruleset netdev"],
                 ["list ruleset"], ["list tables arp"], ["list chains bridge"], ["-j", "list ruleset ip6"],
                 ["flush ruleset ip6"], ["list ruleset"], ["delete table netdev f"], ["list tables"]],
    "flush": [BASE, ["flush set inet t s"], ["list set inet t s"], ["flush map inet t m"],
              ["list map inet t m"], ["flush chain inet t input"], ["list chain inet t input"],
              ["flush table ip u"], ["-a", "list table ip u"], ["flush table inet t"], ["list table inet t"],
              ["flush ruleset"], ["list ruleset"]],
    "rules": [["add table inet t; add chain inet t c; add rule inet t c tcp dport 1 accept;"
               " add rule inet t c tcp dport 2 accept; add rule inet t c tcp dport 3 accept"],
              ["-a", "list chain inet t c"],
              ["insert rule inet t c position 3 tcp dport 10 drop"],
              ["add rule inet t c position 3 tcp dport 11 drop"],
              ["insert rule inet t c index 0 tcp dport 12 drop"],
              ["add rule inet t c index 0 tcp dport 13 drop"],
              ["add rule inet t c handle 3 tcp dport 14 drop"],
              ["-a", "list chain inet t c"],
              ["replace rule inet t c handle 4 counter tcp dport 20 accept"],
              ["delete rule inet t c handle 5"], ["-a", "list chain inet t c"],
              ["rename chain inet t c renamed"], ["-a", "list ruleset"],
              ["delete rule inet t renamed handle 5"], ["replace rule inet t renamed handle 99 accept"],
              ["insert rule inet t renamed index 50 accept"]],
    "jumps": [["-f", "@block.nft"], ["-a", "list ruleset"],
              ["add chain inet f a; add chain inet f b; add rule inet f a jump b"],
              ["add rule inet f b jump a"],
              ["add rule inet f later jump later"],
              ["add rule inet f input jump a; add rule inet f b jump a"],
              ["add rule inet f b goto input"],
              ["delete chain inet f later"], ["delete chain inet f b"],
              ["add rule inet f a counter; add rule inet f nosuch counter"],
              ["-a", "add rule inet f a counter"], ["-a", "list chain inet f a"],
              ["add chain inet f x; add rule inet f x jump x"], ["-a", "list table inet f"]],
}


def _argv(step: list[str]) -> list[str]:
    return [str(DIR / a[1:]) if a.startswith("@") else a for a in step]


def main() -> int:
    out = {}
    for name, steps in SCENARIOS.items():
        ns = f"pktcli2{os.getpid()}"
        subprocess.run(["ip", "netns", "add", ns], check=True)
        rec = []
        try:
            for step in steps:
                r = subprocess.run(["ip", "netns", "exec", ns, "nft", *_argv(step)], capture_output=True,
                                   text=True)
                rec.append({"argv": step, "exit": r.returncode, "stdout": r.stdout, "stderr": r.stderr})
        finally:
            subprocess.run(["ip", "netns", "del", ns], check=False)
        out[name] = rec
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {sum(map(len, out.values()))} steps in {len(out)} scenarios to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
