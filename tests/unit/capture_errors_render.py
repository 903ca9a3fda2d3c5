"""Capture nft 1.0.6's error renderings for golden_errors_render.json.

Run as root with nft:  python tests/unit/capture_errors_render.py
Each case is a set of files (the first one is given to ``nft -c -f``) or one command
line (``nft -c 'CMD'``), run in a fresh directory inside a network namespace
``pkter<pid>`` (always deleted).  rc and stderr are recorded; test_errors_render.py pins
them.  The cases probe erec_print's drawing: secondary ``~`` locations on other lines,
the 1023-byte line buffer of files, tabs, end of file, spans over several lines and
``In file included from`` chains.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "golden_errors_render.json"
SET = "add table ip t\nadd chain ip t c\nadd set ip t s { type ipv4_addr; flags interval; }\n"
LONG = ", ".join(f"10.1.{i // 250}.{i % 250 + 1}" for i in range(120))   # ~1300 bytes

# name -> {"files": {name: text}} (first file is run) or {"cmd": text}
CASES: dict[str, dict] = {
    # 1. secondary location on another line: marks by column on the ^ line
    "interval_tilde_longer_line": {"files": {"a.nft": SET +
        "add element ip t s { 10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, 10.0.5.0/24 }\n"
        "add element ip t s { 10.0.5.7 }\n"}},
    "interval_tilde_shorter_line": {"files": {"a.nft": SET +
        "add element ip t s { 10.0.5.0/24 }\n"
        "add element ip t s { 10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, 10.0.5.7 }\n"}},
    "interval_tilde_prev_line_in_list": {"files": {"a.nft": SET +
        "add element ip t s { 10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, 10.0.5.0/24,\n"
        "  10.0.5.7 }\n"}},
    "terminal_stmt_across_lines": {"files": {"a.nft":
        "table ip t {\n\tchain c {\n\t\tip saddr 1.2.3.4 accept \\\n\t\t\tcounter\n\t}\n}\n"}},
    "terminal_stmt_one_line": {"files": {"a.nft":
        "table ip t {\n\tchain c {\n\t\tip saddr 1.2.3.4 accept counter\n\t}\n}\n"}},
    "reject_across_lines": {"files": {"a.nft":
        "table arp t {\n\tchain c {\n\t\tmeta l4proto tcp \\\n\t\t\treject with tcp reset\n\t}\n}\n"}},
    "reject_across_lines_long_first": {"files": {"a.nft":
        "table arp t {\n\tchain c {\n\t\tmeta mark 1 meta mark 2 meta mark 3 meta l4proto tcp \\\n reject with tcp reset\n\t}\n}\n"}},
    "conflicting_protocols_across_lines": {"files": {"a.nft":
        "table inet t {\n\tchain c {\n\t\tmeta nfproto ipv6 meta mark 1 meta mark 2 \\\n ct original ip saddr 1.2.3.4\n\t}\n}\n"}},
    # 2. the line buffer: files cut at 1023 bytes, the command line whole
    "long_file_line_error_early": {"files": {"a.nft": SET +
        "add rule ip t c tcp dport foo ip saddr { " + LONG + " }\n"}},
    "long_file_line_error_late": {"files": {"a.nft": SET +
        "add rule ip t c ip saddr { " + LONG + " } tcp dport foo\n"}},
    "long_cmdline_error_late": {"cmd": "add rule ip t c ip saddr { " + LONG + " } tcp dport foo"},
    # 3. tabs, end of file, spans over lines, includes
    "tabs_in_file_line": {"files": {"a.nft": SET + "add rule ip t c\ttcp\tdport\tfoo\n"}},
    "cmdline_two_lines": {"cmd": "add table ip x\nadd rule ip t c tcp dport foo"},
    "cmdline_two_lines_first_longer": {"cmd": "add table ip xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nadd rule ip t c tcp dport foo"},
    "tabs_in_cmdline": {"cmd": "add rule ip t c\ttcp\tdport\tfoo"},
    "eof_no_newline": {"files": {"a.nft": SET + "add rule ip t c tcp dport"}},
    "eof_with_newline": {"files": {"a.nft": SET + "add rule ip t c tcp dport\n"}},
    "eof_open_block": {"files": {"a.nft": "table ip t {\n\tchain c {\n"}},
    "eof_empty_last_line": {"files": {"a.nft": "table ip t {\n\tchain c {\n\t}\n\n"}},
    "span_set_over_lines": {"files": {"a.nft": SET + "add rule ip t c meta mark set { 1,\n 2 }\n"}},
    "span_concat_over_lines": {"files": {"a.nft": SET +
        "add rule ip t c ip saddr . tcp dport { 1.2.3.4 . 80,\n 1.2.3.5 }\n"}},
    "span_chain_block": {"files": {"a.nft":
        "table ip t {\n\tchain c {\n\t\ttype filter hook ingress priority 0;\n\t}\n}\n"}},
    "include_chain": {"files": {
        "main.nft": "add table ip t\ninclude \"./a.nft\"\n",
        "a.nft": "add chain ip t c\n  include \"./b.nft\"\n",
        "b.nft": "add rule ip t c tcp dport foo\n"}},
    "include_syntax_error": {"files": {
        "main.nft": "add table ip t\ninclude \"./a.nft\"\n",
        "a.nft": "add chain ip t c\n\tinclude \"./b.nft\"\n",
        "b.nft": "add rule ip t c tcp dport }\n"}},
    "include_eval_error_secondary": {"files": {
        "main.nft": SET + "include \"./a.nft\"\n",
        "a.nft": "add element ip t s { 10.0.1.0/24, 10.0.2.0/24 }\nadd element ip t s { 10.0.1.7 }\n"}},
}


def main() -> None:
    ns = f"pkter{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    out = {}
    try:
        for name, case in CASES.items():
            with tempfile.TemporaryDirectory() as d:
                if "cmd" in case:
                    argv = ["nft", "-c", case["cmd"]]
                    pre = SET.replace("\n", "; ").rstrip("; ")
                    subprocess.run(["ip", "netns", "exec", ns, "nft", "flush ruleset"], check=True)
                    subprocess.run(["ip", "netns", "exec", ns, "nft", pre], check=True)
                else:
                    subprocess.run(["ip", "netns", "exec", ns, "nft", "flush ruleset"], check=True)
                    for fn, text in case["files"].items():
                        Path(d, fn).write_text(text)
                    argv = ["nft", "-c", "-f", next(iter(case["files"]))]
                p = subprocess.run(["ip", "netns", "exec", ns, *argv], cwd=d, capture_output=True, text=True)
                out[name] = {**case, "rc": p.returncode, "stderr": p.stderr}
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    OUT.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
