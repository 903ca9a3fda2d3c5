"""Elements of a set with a default ``timeout`` list ``expires`` (not ``timeout``).

The kernel gives an element without a timeout of its own the set's timeout
(nft_set_elem_init sets its expiration), so ``nft list`` shows ``expires`` on it.  The
golden texts are nft 1.0.6's, from a network namespace (Linux 6.18), right after the
load: the kernel's clock had run ~4 ms, ours has not (an offline store has no clock
running), so ``expires`` values are compared with the kernel's rounded up to the
second."""

import json
import re

from pkttables.control import Nftables

RULESET = """table ip t {
  set s { type ipv4_addr; timeout 1h; elements = { 1.2.3.4, 5.6.7.8 timeout 10m } }
  set d { type ipv4_addr; flags timeout; elements = { 1.2.3.4 } }
}
add element ip t s { 9.9.9.9 }
"""

NFT_TEXT = """table ip t {
	set s {
		type ipv4_addr
		timeout 1h
		elements = { 1.2.3.4 expires 59m59s996ms, 5.6.7.8 timeout 10m expires 9m59s996ms,
			     9.9.9.9 expires 59m59s996ms }
	}

	set d {
		type ipv4_addr
		flags timeout
		elements = { 1.2.3.4 }
	}
}
"""

NFT_ELEMS = [{"elem": {"val": "1.2.3.4", "expires": 3599}},
             {"elem": {"val": "5.6.7.8", "timeout": 600, "expires": 599}},
             {"elem": {"val": "9.9.9.9", "expires": 3599}}]


def _up(text: str) -> str:
    # the kernel's 59m59s996ms is our 1h: the few ms its clock ran
    return text.replace("59m59s996ms", "1h").replace("9m59s996ms", "10m")


def _loaded() -> Nftables:
    nft = Nftables()
    rc, _, err = nft.cmd(RULESET)
    assert rc == 0, err
    return nft


def test_default_timeout_elements_list_expires_as_nft():
    rc, out, err = _loaded().cmd("list ruleset")
    assert rc == 0, err
    assert out == _up(NFT_TEXT)


def test_default_timeout_elements_json_as_nft():
    nft = _loaded()
    nft.set_json_output(True)
    rc, out, err = nft.cmd("list ruleset")
    assert rc == 0, err
    sets = [o["set"] for o in json.loads(out)["nftables"] if "set" in o]
    got = sets[0]["elem"]
    want = json.loads(json.dumps(NFT_ELEMS).replace("3599", "3600").replace("599", "600"))
    assert got == want
    assert sets[1]["elem"] == ["1.2.3.4"]


def test_echo_shows_the_default_expiration_as_nft():
    # nft 1.0.6 -e: "add element ip t s { 10.0.0.1 expires 1h }" (measured)
    nft = _loaded()
    nft.set_echo_output(True)
    rc, out, err = nft.cmd("add element ip t s { 10.0.0.1 }")
    assert rc == 0, err
    assert out.splitlines()[0] == "add element ip t s { 10.0.0.1 expires 1h }"


def test_stateless_listing_drops_expires():
    nft = _loaded()
    nft.set_stateless_output(True)
    rc, out, _ = nft.cmd("list set ip t s")
    assert rc == 0
    assert not re.search(r"expires", out)
    assert "5.6.7.8 timeout 10m" in out
