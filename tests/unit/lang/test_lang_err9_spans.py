"""ERR9: a location the parser spans over several tokens keeps its include chain and the
line nft shows (nft 1.0.6 ``nft -c -f a.nft`` output, captured in a namespace)."""

from __future__ import annotations

import pytest

from pkttables.commands import Options, run_text
from pkttables.errors import PktError
from pkttables.model import Ruleset

# nft -c -f a.nft, with a.nft including ./b.nft whose rule has a protocol conflict
# over the two tokens `ip6 daddr`
WANT = ("In file included from a.nft:3:1-18:\n"
        "./b.nft:1:34-42: Error: conflicting protocols specified: ip vs. ip6\n"
        "add rule ip t c ip saddr 1.2.3.4 ip6 daddr ::1\n"
        "                                 ^^^^^^^^^")


def test_spanned_location_in_included_file_names_the_include(tmp_path, monkeypatch):
    (tmp_path / "b.nft").write_text("add rule ip t c ip saddr 1.2.3.4 ip6 daddr ::1\n")
    (tmp_path / "a.nft").write_text('add table ip t\nadd chain ip t c\ninclude "./b.nft"\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PktError) as e:
        run_text((tmp_path / "a.nft").read_text(), Ruleset(), Options(dry_run=True), filename="a.nft")
    assert e.value.render() == WANT
