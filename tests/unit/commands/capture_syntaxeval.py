"""Capture nft 1.0.6's answers for files mixing parser and evaluation errors into
golden_syntaxeval.json.

Run as root with nft:  python tests/unit/commands/capture_syntaxeval.py
Each case is one file checked with ``nft -c -f`` in a fresh namespace (pktle<pid>,
always deleted) after its setup; rc and stderr are recorded.  nft 1.0.6 evaluates the
commands its parser kept even when the parser failed, and prints their errors after
the parser's (sharing one error counter with it).
"""

from __future__ import annotations

from pathlib import Path

from pkttables.testing.nftgolden import capture

HERE = Path(__file__).parent
BASE = "add table ip t; add chain ip t b { type filter hook input priority 0; }; add chain ip t c"
NF4 = "add rule ip t c meta nfproto ipv4\n"

# (name, setup, file text)
CASES = [
    ("nested-syntax-then-evals", BASE,
     "table ip u {\n\tchain c {\n\t\tmeta nfproto ipv4\n\t\tcounter )\n\t\ttcp dport 22 accept\n"
     "\t\tmeta nfproto ipv6\n\t}\n}\n"),
    ("syntax-then-missing-objects", BASE,
     "add rule ip nosuch c accept\nadd rule ip t c counter )\nlist table ip nosuch\n"
     "add rule ip t nosuch accept\n"),
    ("eof-inside-block", BASE,
     NF4 + "table ip u {\n\tchain c {\n\t\tmeta nfproto ipv4\n\t\ttcp dport 22 accept\n\t}\n"),
    ("nine-syntax-then-evals", BASE,
     NF4 + "".join(f"add rule ip t c counter ) # {i}\n" for i in range(9))
     + "add rule ip t c meta nfproto ipv6\nadd rule ip t c meta nfproto ipv4 # x\n"),
    ("ten-syntax-then-evals", BASE,
     NF4 + "".join(f"add rule ip t c counter ) # {i}\n" for i in range(10))
     + "add rule ip t c meta nfproto ipv6\nadd rule ip t c meta nfproto ipv4 # x\n"),
    ("eight-syntax-then-evals", BASE,
     NF4 + "".join(f"add rule ip t c counter ) # {i}\n" for i in range(8))
     + "add rule ip t c meta nfproto ipv6\nadd rule ip t c meta nfproto ipv4 # x\n"
       "add rule ip t c meta nfproto ipv4 # y\n"),
    ("chain-type-check-then-eval", BASE,
     NF4 + "table ip u {\n\tchain d { type bogus hook input priority 0; }\n"
     "\tchain e {\n\t\tmeta nfproto ipv6\n\t}\n}\n"),
    ("redefine-then-eval", BASE,
     "define x = 1\ndefine x = 2\n" + NF4),
    ("quota-unit-then-eval", BASE,
     "add quota ip t q { 10 foo }\n" + NF4 + "add quota ip t q2 { over 10 parsecs }\n"),
    ("set-block-syntax-then-eval", BASE,
     "table ip u {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags )\n\t}\n\tchain c {\n"
     "\t\tip saddr @s meta nfproto ipv4\n\t}\n}\n"),
    ("kernel-error-not-reported", BASE,
     "add rule ip t c jump b\nadd rule ip t nosuch counter\nadd rule ip t c counter )\n"),
    ("bad-priority-then-syntax", BASE,
     "add chain ip t d { type filter hook input priority foo; }\nadd rule ip t c counter )\n"),
    ("missing-set-element-then-syntax", BASE,
     "add element ip t nosuch { 1.2.3.4 }\nadd rule ip t c counter )\n"),
    ("syntax-then-unknown-symbol", BASE,
     "add rule ip t c counter )\nadd rule ip t c foo bar\n"),
    ("syntax-then-limit-unit", BASE,
     "add rule ip t c counter )\nadd rule ip t c limit rate 10 parsecs/second\n"),
    ("rate-units-in-parser-order", BASE,
     "add rule ip t c limit rate 10 parsecs/second\nadd rule ip t c counter )\n"
     "add rule ip t c limit rate 10 mbytes/second burst 5 parsecs\nadd rule ip t c quota 10 parsecs\n"
     "add rule ip t c quota over 10 mbytes used 1 parsecs\nadd rule ip t c limit rate 1 gbytes / second\n"),
    ("object-rate-units-in-block", BASE,
     "table ip u {\n\tlimit l1 { rate 10 parsecs/second }\n\tquota q1 { 10 parsecs }\n"
     "\tquota q2 { 10 mbytes used 1 parsecs }\n\tchain c {\n\t\tmeta nfproto ipv4\n\t}\n}\n"),
    ("quota-recovered-object-then-eval", BASE,
     "table ip u {\n\tquota q2 { over 1 gbytes used 10 mbytes }\n}\n" + NF4),
    ("missing-include-then-eval", BASE,
     'include "./nosuch-pktle.nft"\n' + NF4),
]


if __name__ == "__main__":
    capture(CASES, "", HERE / "golden_syntaxeval.json", "pktle", files=True, sort_keys=False, ensure_ascii=False)
