"""Capture nft 1.0.6's answers for bison error-recovery cases into golden_recovery.json.

Run as root with nft:  python tests/unit/lang/capture_recovery.py
Each case is one file checked with ``nft -c -f`` in a namespace ``pktlf<pid>`` (always
deleted) after its setup; rc and stderr are recorded.

What the cases pin: nft's ``table_block`` productions end ``'{' block '}'
stmt_separator``, so a token that is not a separator after a chain's (set's, map's,
flowtable's, object's) closing ``}`` is an error while that inner block is still on
bison's stack: ``error`` pops only the ``}``, and recovery resumes *inside* the inner
block, in its define scope.  A top-level command's block is reduced before its
separator (``line: base_cmd stmt_separator | base_cmd error``), so there recovery
stays at the top level.
"""

from __future__ import annotations

from pathlib import Path

from pkttables.testing.nftgolden import capture

HERE = Path(__file__).parent

# (name, setup, file text)
CASES = [
    ("052-redefine-undefine", "",
     "flush ruleset\n\ndefine A = 1\nredefine A = 2\ntable ip t { chain c { meta mark $A; } }\n"
     "undefine A\ndefine A = 3\ntable ip t2 { chain c { meta mark $A; } }\n"),
    ("chain-resumes-then-add-rule", "",
     "table ip t { chain c { meta mark 1; } }\nadd rule ip t c accept\n"),
    ("chain-resumes-chain-in-chain", "",
     "table ip t { chain c { meta mark 1; } }\nchain d { }\n}\n"),
    ("chain-resumes-define-twice", "",
     "table ip t { chain c { meta mark 1; } }\ndefine A = 3\ndefine A = 4\nchain d { meta mark 2; }\n}\n"),
    ("chain-resumes-redefine-outer", "",
     "define A = 1\ntable ip t { chain c { meta mark 1; } }\ndefine A = 3\nchain d { meta mark 2; }\n}\n"),
    ("chain-resumes-eof", "",
     "define A = 1\ntable ip t { chain c { meta mark 1; } }\ndefine A = 3\n}\n"),
    ("top-level-redefine-then-table", "",
     "define A = 1\ndefine A = 3\ntable ip t { chain c { meta mark 1; } }\n"),
    ("top-level-redefine-then-add", "",
     "define A = 1\ndefine A = 3\nadd rule ip t c accept\n"),
    ("set-resumes", "",
     "table ip t { set s { type ipv4_addr; } }\nflags interval\n}\n}\n"),
    ("map-resumes", "",
     "table ip t { map m { type ipv4_addr : mark; } }\nflags interval\n}\n}\n"),
    ("counter-resumes", "",
     "table ip t { counter c { packets 0 bytes 0 } }\nchain d { }\n}\n"),
    ("flowtable-resumes", "",
     "table ip t { flowtable f { hook ingress priority 0; } }\nchain d { }\n}\n"),
    ("quota-resumes", "",
     "table ip t { quota q { 10 bytes } }\nchain d { }\n}\n"),
    ("ct-helper-resumes", "",
     "table ip t { ct helper h { type \"ftp\" protocol tcp; } }\nl3proto ip\n}\n}\n"),
    # after a resumed ct object block the ct scanner scope is gone: l3proto, protocol
    # and dport are strings; type (after which protocol still parses), timeout, size,
    # policy and comment stay keywords
    ("ct-helper-resumes-type-line", "",
     "table ip t { ct helper h { type \"ftp\" protocol tcp; } x\ntype \"ftp\" protocol tcp; l3proto ip\n}\n}\n"),
    ("ct-timeout-resumes-protocol", "",
     "table ip t { ct timeout h { protocol tcp; policy = { established: 10 }; } x\nprotocol tcp\n}\n}\n"),
    ("ct-timeout-resumes-policy", "",
     "table ip t { ct timeout h { protocol tcp; policy = { established: 10 }; } x\npolicy = { established: 10 }\n}\n}\n"),
    ("ct-expect-resumes-dport", "",
     "table ip t { ct expectation h { protocol tcp; dport 21; timeout 10s; size 8; l3proto ip; } x\ndport 22\n}\n}\n"),
    ("ct-expect-resumes-size", "",
     "table ip t { ct expectation h { protocol tcp; dport 21; timeout 10s; size 8; l3proto ip; } x\nsize 3\n}\n}\n"),
    ("top-level-table-junk", "",
     "table ip t { } x\nchain d { }\n}\n"),
    ("top-level-chain-junk", "",
     "add table ip t\nadd chain ip t c { type filter hook input priority 0; } }\n"
     "add rule ip t c accept\n}\n"),
    ("chain-junk-word", "",
     "table ip t { chain c { } x\nmeta mark 1\n}\n}\n"),
    ("chain-resumes-multiline", "",
     "table ip t {\n chain c {\n meta mark 1\n } }\n meta mark 2\n}\n}\n"),
    ("resumed-rules-are-evaluated", "",
     "table ip t {\n\tchain c { type filter hook input priority 0; } x\n\tmeta nfproto ipv4\n}\n}\n"),
    ("resumed-chain-scope", "",
     "table ip t {\n\tchain c { } x\n\tdefine B = 1\n\tmeta mark $B\n}\n\tchain d {\n\t\tmeta mark $B\n\t}\n}\n"),
    ("resumed-twice", "",
     "table ip t {\n\tchain c { } x\n\tmeta mark 1\n} y\n\tmeta mark 2\n}\n}\n"),
    ("counter-block-bytes-first", "",
     "table ip t { counter c { bytes 1 packets 2 } }\n"),
    ("counter-block-without-bytes", "",
     "table ip t { counter c { packets 1 } }\n"),
    ("counter-block-unknown-word", "",
     "table ip t { counter c { foo } }\n"),
    ("set-statement-without-ref", "add table ip t; add chain ip t c",
     "add rule ip t c add rule\nadd rule ip t c update foo\nadd rule ip t c delete 1\n"),
]


if __name__ == "__main__":
    capture(CASES, "", HERE / "golden_recovery.json", "pktlf", files=True, sort_keys=False, ensure_ascii=False)
