"""Listings (``nft list chain``) and ``-j`` expressions of ERR9's accepted cases, as nft
1.0.6 printed them with the rule really added (golden_err9_listing.json, captured by
tests/unit/evaluate/capture_err9.py): a jhash seed listed when given (0 too), ``ct
expiration 0s`` listed with nothing after the key, a family-less ct address compared
with a prefix listed as the short value, raw network payloads split into sub-byte
fields.  The golden lines are stripped (nft's `ct expiration ` ends in a space)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkttables.testing.nftgolden import ListingGolden

KNOWN: dict[str, str] = {
    # nft 1.0.6 prints this element's dscp part as `0` (its own value is 4 and `{ cs1 .
    # 22 }` prints cs1 = 8): not understood, we print 0x04
    "ip t c ip saddr . @nh,8,6 { 1.1.1.1 . 0x4 }": "nft prints the shifted raw part as 0",
}
G = ListingGolden(Path(__file__).with_name("golden_err9_listing.json"), known=KNOWN)


@pytest.mark.parametrize("case", G.params())
def test_listing_as_nft(case):
    got, want = G.compare(case, "listing")
    assert got == want


@pytest.mark.parametrize("case", G.params())
def test_json_as_nft(case):
    got, want = G.compare(case, "json")
    assert got == want


@pytest.mark.parametrize("case", G.params())
def test_numeric_listing_as_nft(case):
    got, want = G.compare(case, "listing_n")
    assert got == want
