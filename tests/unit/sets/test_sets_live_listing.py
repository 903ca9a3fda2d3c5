"""`pkt simulate --list` lists sets with their live elements (sets.listing.live_ruleset):
the listing of a ruleset whose sets are replaced by their live instances must equal the
model's own listing while nothing changed — also for anonymous concatenated interval sets,
whose model keys are the compiler's padded bytes, not tuples of parts (they listed as
``# unrenderable rule: ZeroDivisionError``)."""

import pytest

from pkttables.commands import run_text
from pkttables.model import Ruleset
from pkttables.render.text import list_ruleset
from pkttables.sets import instances_from_model
from pkttables.sets.listing import live_ruleset

RULESETS = [
    """table ip t {
  set cr { type ipv4_addr . inet_service; flags interval;
           elements = { 192.168.1.0/29 . 50-60, 192.168.1.12 . 1000-2000, 0.0.0.0/0 . 5353 } }
  chain c { type filter hook input priority 0;
    ip saddr . udp dport @cr counter
    ip saddr . udp dport { 192.168.1.8-192.168.1.11 . 53, 192.168.1.13 . 50-60 } counter
  }
}""",
    """table inet t { chain c { type filter hook input priority 0;
    ip saddr . tcp dport { 10.0.0.1 . 22, 10.0.0.2 . 80 } accept
    ip6 saddr . ip6 daddr { ::1 . ::2 } drop
    tcp dport { 22, 80-90 } counter
  }
}""",
]


@pytest.mark.parametrize("text", RULESETS)
def test_live_listing_equals_model_listing(text):
    rs = run_text(text, Ruleset()).ruleset
    live = live_ruleset(rs, instances_from_model(rs), 0)
    out = list_ruleset(live)
    assert "unrenderable" not in out
    assert out == list_ruleset(rs)
