"""describe() against ``nft describe`` goldens captured from nft 1.0.6 (regen_describe.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pkttables.errors import PktError
from pkttables.types import describe

GOLDEN: dict = json.loads((Path(__file__).parent / "describe_golden.json").read_text())
OK = sorted(k for k, v in GOLDEN.items() if v["rc"] == 0)
BAD = sorted(k for k, v in GOLDEN.items() if v["rc"] != 0)


@pytest.mark.parametrize("query", OK)
def test_describe_matches_nft(query):
    assert describe(query) == GOLDEN[query]["stdout"]


@pytest.mark.parametrize("query", BAD)
def test_describe_rejects_what_nft_rejects(query):
    with pytest.raises(PktError):
        describe(query)


def test_known_strings():
    assert describe("tcp dport") == (
        "payload expression, datatype inet_service (internet network service) (basetype integer), 16 bits\n")
    assert describe("ct original saddr") == "ct expression, datatype invalid (invalid)"
