"""The ``fail`` lines of the shared nft 1.0.6 suite against nft's own errors.

``nft_fail_messages.json`` holds what the real nft 1.0.6 said for each line, in the
ruleset state the suite builds (regenerate with ``capture_nft_fail_messages.py``, root).
Every line must be rejected with a PktError (never accepted, never a crash).  Where
evaluation rejects it (not the parser, which belongs to ``lang``), the message must be
nft's and the carets must sit where nft puts them -- except for the lines listed below
with the reason they differ.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "corpus"))

import nftpy  # noqa: E402

from pkttables.errors import PktError, SyntaxError_  # noqa: E402

RECORDS = json.loads((HERE / "nft_fail_messages.json").read_text())

pytestmark = pytest.mark.skipif(not nftpy.SUITE_DIR.exists(), reason="shared corpus not present")

# (file, line) -> why pkttables cannot give nft's answer
KNOWN = {
    # the kernel refuses fib addrtype with `oif` in a prerouting chain (nft_fib_validate
    # checks the hook): evaluation does not know the chain's hook
    ("inet/fib.t", 14): "hook-dependent kernel check",
}


@lru_cache(maxsize=None)
def _tfile(rel: str) -> nftpy.TFile:
    return nftpy.read_file(nftpy.SUITE_DIR / rel, nftpy.SUITE_DIR)


def _compile(rec: dict) -> None:
    from test_bytecode_shared import _objects_for, _sets_for, compile_case, set_hints
    tf = _tfile(rec["file"])
    case = next(c for c in tf.cases() if c.lineno == rec["lineno"] and c.family == rec["family"])
    compile_case(case, _sets_for(tf, rec["family"]), _objects_for(tf), set_hints(tf))


def _ids(rec: dict) -> str:
    return f"{rec['file']}:{rec['lineno']}:{rec['family']}"


def _primary(text: str) -> list[str]:
    """nft's rendering without its secondary ``~~~`` markers (pkttables diagnostics
    carry one location)."""
    out = []
    for line in text.rstrip("\n").splitlines():
        if set(line) <= set(" \t~^") and "^" in line:
            line = line.replace("~", " ").rstrip()
        out.append(line)
    return out


def _params():
    for rec in RECORDS:
        reason = KNOWN.get((rec["file"], rec["lineno"]))
        # Known differences run too, as strict xfails: they fail loudly once fixed.
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(rec, marks=marks, id=_ids(rec))


@pytest.mark.parametrize("rec", list(_params()))
def test_fail_line_rejected_like_nft(rec):
    assert rec["rc"] != 0, "nft accepted a fail line: the capture is stale"
    with pytest.raises(PktError) as ei:
        _compile(rec)
    if isinstance(ei.value, SyntaxError_) or rec["err"].startswith("Error: syntax error"):
        return  # the parser's wording is lang's business
    assert _primary(ei.value.render()) == _primary(rec["err"])


def test_capture_covers_every_fail_line():
    lines = {(c.file, c.lineno, c.family) for tf in nftpy.iter_files() for c in tf.cases() if not c.expect_ok}
    assert {(r["file"], r["lineno"], r["family"]) for r in RECORDS} == lines
