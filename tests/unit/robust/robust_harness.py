"""Shared pieces of the robustness tests (tests/unit/robust/test_robust_*.py).

``run(argv)`` runs the real ``pkt`` entry point in-process and returns ``(rc, out,
err)``; an exception escaping ``main`` is a failure of the test (it would be a
traceback for a user).  ``mutate(data, ops)`` applies the mutation ops a hypothesis
strategy (:func:`mutations`) drew: byte flips, deletions, truncation, splicing a slice
of the input elsewhere, inserting a token of the input's grammar, absurd 32-bit
values -- each op is data, so hypothesis shrinks a failing input to the few ops that
matter.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import strategies as st

from pkttables.testing.cli import run_pkt

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "home-router"
CORPUS = ROOT / "tests" / "corpus" / "generated" / "rulesets"

# A location as nft prints it for a file: FILE:LINE:COL-COL: Error:
FILE_LOC = re.compile(r"^(In file included from |.+:\d+:\d+-\d+: (Error|Warning): )")

# Tokens of the nft grammar (and its lexer's corners) spliced into ruleset text.
NFT_TOKENS = [
    b"{", b"}", b";", b"\n", b'"', b"$", b"@", b"{ ", b" . ", b":", b"/", b"-", b",", b"*",
    b"table", b"chain", b"rule", b"set", b"map", b"element", b"flowtable", b"counter",
    b"type", b"hook", b"priority", b"policy", b"accept", b"drop", b"jump", b"goto",
    b"return", b"ip", b"ip6", b"inet", b"arp", b"bridge", b"netdev", b"tcp", b"udp",
    b"dport", b"saddr", b"meta", b"mark", b"ct", b"state", b"vmap", b"typeof", b"flags",
    b"interval", b"timeout", b"elements", b"=", b"include", b"define", b"snat", b"dnat",
    b"masquerade", b"to", b"limit", b"rate", b"quota", b"log", b"prefix", b"comment",
    b"0xffffffffffffffff", b"-1", b"99999999999999999999", b"4294967296", b"1e999",
    b"1.2.3.4/33", b"::/129", b"\\", b"#", b"\t", b"\xff", b"\x00", b"\xc3", b"'",
]

TOML_TOKENS = [
    b"=", b"\n", b'"', b"'", b"[", b"]", b"{", b"}", b",", b"[[interface]]\n", b"[[route]]\n",
    b"[[neighbor]]\n", b"[[bridge]]\n", b"[sysctl]\n", b"-1", b"99999999999999999999",
    b"1e400", b"nan", b"inf", b"true", b"[]", b"{}", b"/33", b"/-1", b"::", b"lo",
    b'name = ""\n', b"mtu = 0\n", b"group = -5\n", b'dev = "nope"\n', b"\xff", b"\x00",
]

ABSURD = [b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\xff\xff\xff\x7f", b"\x01\x00\x00\x00",
          b"\x00\x00\x01\x00"]


def mutations(tokens: list[bytes], max_ops: int = 4):
    """Lists of mutation ops; each op is ``(kind, position, length_or_byte, token)``."""
    op = st.tuples(st.sampled_from(["flip", "delete", "truncate", "splice", "token", "absurd"]),
                   st.integers(0, 1 << 20), st.integers(0, 255), st.sampled_from(tokens or [b""]))
    return st.lists(op, min_size=1, max_size=max_ops)


def mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for kind, pos, n, tok in ops:
        if not b:
            b = bytearray(tok or b"x")
            continue
        i = pos % len(b)
        if kind == "flip":
            b[i] = n
        elif kind == "delete":
            del b[i:i + 1 + n % 24]
        elif kind == "truncate":
            del b[i:]
        elif kind == "splice":
            j = (pos * 7919 + n) % len(b)
            b[i:i] = b[j:j + 1 + n % 32]
        elif kind == "token":
            b[i:i] = tok
        else:
            b[i:i + 4] = ABSURD[n % len(ABSURD)]
    return bytes(b)


#: ``pkt ARGV`` in-process: (exit status, stdout, stderr)
run = run_pkt


#: what the CLI and the API print for an exception that escaped (cli/main.py
#: internal_error): a bug met by the fuzzers, never an acceptable answer to bad input
INTERNAL = "Error: internal error:"


def check(rc, err: str, ok=(0, 1)) -> None:
    """What every door owes bad input: an nft-like exit status, no traceback, no bug."""
    assert isinstance(rc, int) and rc in ok, (rc, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    assert INTERNAL not in err, err[-2000:]


def check_file_error(rc, err: str, path: str) -> None:
    """A failed ``-f FILE``: exit 1 and an error with its location first."""
    check(rc, err)
    if rc != 0:
        assert err, "failed without a message"
        first = err.splitlines()[0]
        assert FILE_LOC.match(first), err[:2000]


def store_view(raw: bytes):
    """A state file's content without its handle counters: a failed batch that the
    kernel would have seen still takes the handles it used (commands/store.py
    ``handle_marks``), nothing else may move."""
    doc = json.loads(raw)
    doc.pop("next_table_handle", None)

    def strip(v):
        if isinstance(v, dict):
            if str(v.get("$c", "")).endswith(":HandleCounter"):
                return None
            return {k: strip(x) for k, x in v.items()}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v
    return strip(doc)


def good_rulesets() -> list[tuple[str, bytes]]:
    """The example ruleset and the corpus rulesets nft accepts (small ones: speed)."""
    out = [("home-router", (EXAMPLE / "ruleset.nft").read_bytes())]
    for p in sorted(CORPUS.glob("*.nft")):
        if p.stem.endswith("-bad") or "include" in p.stem:
            continue
        data = p.read_bytes()
        if len(data) <= 4000:
            out.append((p.stem, data))
    return out
