"""Measure the ``--state`` store: size, load time and the time to add one rule to a
store of N rules (``python tests/unit/commands/bench_store.py 2000 100000``).
Not a test: figures go to docs/cli.md."""

from __future__ import annotations

import os
import sys
import tempfile
import time

from pkttables.cli.nft import main
from pkttables.commands import StateStore, run_text
from pkttables.model import Ruleset


def ruleset_text(n: int) -> str:
    lines = ["table inet f {", "\tset ok { type ipv4_addr; elements = { 10.0.0.1 }; }",
             "\tchain other { counter; }",
             "\tchain input {", "\t\ttype filter hook input priority 0; policy drop;"]
    for i in range(n):
        k = i % 4
        a, b = (i >> 8) & 255, i & 255
        if k == 0:
            lines.append(f"\t\tip saddr 10.{a}.{b}.0/24 tcp dport {1 + i % 60000} accept")
        elif k == 1:
            lines.append(f"\t\tip daddr 192.168.{a}.{b} udp dport {{ 53, 123 }} counter drop")
        elif k == 2:
            lines.append(f"\t\tct state established,related ip saddr @ok jump other")
        else:
            lines.append(f"\t\tiifname \"eth{i % 8}\" meta mark {i} log prefix \"r{i}\" accept")
    lines += ["\t}", "}"]
    return "\n".join(lines) + "\n"


def measure(n: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s")
        rs = run_text(ruleset_text(n), Ruleset()).ruleset
        st = StateStore(path)
        t0 = time.perf_counter()
        st.save(rs)
        save = time.perf_counter() - t0
        size = os.path.getsize(path)
        t0 = time.perf_counter()
        st.load()
        load = time.perf_counter() - t0
        devnull = open(os.devnull, "w")
        old = sys.stdout
        sys.stdout = devnull
        try:
            t0 = time.perf_counter()
            rc = main(["--state", path, "add rule inet f input tcp dport 9 accept"])
            add = time.perf_counter() - t0
            t0 = time.perf_counter()
            main(["--state", path, "list chain inet f other"])
            lst = time.perf_counter() - t0
        finally:
            sys.stdout = old
        assert rc == 0
        return {"rules": n, "bytes": size, "bytes_per_rule": size / n, "save_s": save, "load_s": load,
                "add_one_rule_s": add, "list_small_chain_s": lst}


if __name__ == "__main__":
    for n in (int(x) for x in (sys.argv[1:] or ["2000"])):
        print(measure(n))
