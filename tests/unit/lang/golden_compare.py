"""Compare our syntax errors with the golden nft stderr (shared by the tests and by hand)."""

from __future__ import annotations

import json
import os

from pkttables.errors import SyntaxError_
from pkttables.lang.parser import parse

HERE = os.path.dirname(os.path.abspath(__file__))
# "Wrong rate format": rate_parse() runs in nft's limit/quota grammar actions (a file
# with it and a later syntax error reports both in line order: capture_syntaxeval.py)
PARSE_STAGE = ("syntax error", "redefinition of symbol", "unknown identifier", "File not found", "Include nested",
               "Wrong rate format", "invalid ttl option")


def load():
    with open(os.path.join(HERE, "golden", "golden_errors.json")) as fh:
        return json.load(fh)


def nft_blocks(stderr: str) -> list[str]:
    """nft's diagnostics that come from the parser, each as header+line+carets text."""
    lines = stderr.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if ": Error: " in lines[i] or lines[i].startswith("Error: "):
            blk = lines[i : i + 3]
            msg = lines[i].split(": Error: ", 1)[-1]
            if msg.startswith(PARSE_STAGE):
                blocks.append("\n".join(blk))
            i += 3
        else:
            i += 1
    return blocks


def ours(text: str) -> list[str]:
    try:
        parse(text, "in.nft")
    except SyntaxError_ as e:
        return [d.render() for d in e.diagnostics]
    return []
