"""Syntax errors rendered exactly as nft 1.0.6 prints them (golden file from capture_golden.py)."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from golden_compare import load, nft_blocks, ours  # noqa: E402

_CASES = load()["cases"]


@pytest.mark.parametrize("case", _CASES, ids=[repr(c["input"][:40]) for c in _CASES])
def test_same_errors_as_nft(case):
    assert ours(case["input"]) == nft_blocks(case["stderr"])


def test_error_limit_is_ten():
    text = "".join(f"add rule ip t c ) {i}\n" for i in range(30))
    assert len(ours(text)) == 10
