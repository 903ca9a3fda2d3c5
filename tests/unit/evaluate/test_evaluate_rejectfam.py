"""reject in arp tables and after a non-IP network dependency, against nft 1.0.6
(stderr of `nft -c LINE`, captured in a namespace)."""

from __future__ import annotations

import pytest

from pkttables.commands import Options, run_text
from pkttables.errors import PktError
from pkttables.model import Ruleset

SETUP = ("add table arp t; add chain arp t c { type filter hook input priority 0; }; "
         "add table bridge t; add chain bridge t c { type filter hook input priority 0; }")
CASES = [
    ('add rule arp t c reject with tcp reset',
     'Error: cannot use reject with arp\nadd rule arp t c reject with tcp reset\n                 ^^^^^^\n'),
    ('add rule arp t c reject with icmpv6 no-route',
     'Error: cannot use reject with arp\nadd rule arp t c reject with icmpv6 no-route\n                 ^^^^^^\n'),
    ('add rule arp t c reject with icmp host-unreachable',
     'Error: cannot use reject with arp\nadd rule arp t c reject with icmp host-unreachable\n                 ^^^^^^\n'),
    ('add rule arp t c reject with icmpx host-unreachable',
     'Error: cannot use reject with arp\nadd rule arp t c reject with icmpx host-unreachable\n                 ^^^^^^\n'),
    ('add rule arp t c reject',
     'Error: cannot use reject with arp\nadd rule arp t c reject\n                 ^^^^^^\n'),
    ('add rule bridge t c arp hlen 6 reject',
     'Error: cannot reject this network family\nadd rule bridge t c arp hlen 6 reject\n                    ~~~~~~~~   ^^^^^^\n'),
    ('add rule bridge t c arp hlen != { 6 } reject',
     'Error: cannot reject this network family\nadd rule bridge t c arp hlen != { 6 } reject\n                    ~~~~~~~~          ^^^^^^\n'),
]


@pytest.mark.parametrize("line,expected", CASES)
def test_reject_family_errors_as_nft(line, expected):
    base = run_text(SETUP, Ruleset()).ruleset
    with pytest.raises(PktError) as ei:
        run_text(line + "\n", base, Options(dry_run=True))
    assert ei.value.render() + "\n" == expected
