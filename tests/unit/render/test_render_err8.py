"""Listings (``nft list chain``) and ``-j`` expressions of ERR8's accepted cases, as nft
1.0.6 printed them with the rule really added (golden_err8_listing.json, captured by
tests/unit/evaluate/capture_err8.py): merged payload loads listed field by field in
the merged load's place."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkttables.testing.nftgolden import ListingGolden

KNOWN: dict[str, str] = {}
G = ListingGolden(Path(__file__).with_name("golden_err8_listing.json"), known=KNOWN)


@pytest.mark.parametrize("case", G.params())
def test_listing_as_nft(case):
    got, want = G.compare(case, "listing")
    assert got == want


@pytest.mark.parametrize("case", G.params())
def test_json_as_nft(case):
    got, want = G.compare(case, "json")
    assert got == want
