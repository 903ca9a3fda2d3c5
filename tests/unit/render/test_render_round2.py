"""Listing pins for round 2 of the nft 1.0.6 agreement work: NAT maps whose data fill
several registers, sub-byte payload writes, chain device lists, -n timeouts, and the
evaluator's vlan conflicts (every expected text is nft 1.0.6's, recorded here)."""

import pytest

from pkttables.commands import Options, run_text
from pkttables.errors import PktError
from pkttables.model import Ruleset

_NUM = {"numeric_proto", "numeric_prio", "numeric_symbol", "numeric_time"}


def _chain_lines(text: str, flags=()) -> list[str]:
    rs = run_text(text, Ruleset()).ruleset
    out = run_text("list ruleset", rs, Options(flags=set(flags))).output
    return [ln.strip() for ln in out.splitlines()]


NAT = """table ip t {
	map m4 { type ipv4_addr . inet_service : ipv4_addr . inet_service; elements = { 1.1.1.1 . 80 : 2.2.2.2 . 8080 }; }
	chain c { type nat hook prerouting priority 0;
		dnat ip to ip daddr . tcp dport map @m4
		meta l4proto tcp dnat ip to ip daddr . tcp dport map { 1.1.1.1 . 80 : 2.2.2.2 . 8080 }
		snat ip to ip saddr map { 10.141.11.4 : 192.168.2.2-192.168.2.4 }
		snat ip prefix to ip saddr map { 10.141.11.0/24 : 192.168.2.0/24 }
		dnat to ip saddr map { 10.0.0.1 : 192.168.3.2 }
		dnat to 10.0.0.0-10.0.0.255
		dnat prefix to 10.0.0.0/24
		tcp dport 1 dnat to 10.0.0.0-10.0.0.255:80
	}
}
table ip6 t6 { chain c { type nat hook prerouting priority 0; dnat to 2001:838:35f:1::/64; tcp dport 1 dnat to [2001:838:35f:1::]:80; }; }
"""


def test_nat_listing():
    lines = _chain_lines(NAT)
    for want in ("dnat ip to ip daddr . tcp dport map @m4",
                 "dnat ip to ip daddr . tcp dport map { 1.1.1.1 . 80 : 2.2.2.2 . 8080 }",
                 "snat ip to ip saddr map { 10.141.11.4 : 192.168.2.2-192.168.2.4 }",
                 "snat ip prefix to ip saddr map { 10.141.11.0/24 : 192.168.2.0/24 }",
                 "dnat to ip saddr map { 10.0.0.1 : 192.168.3.2 }",
                 "dnat to 10.0.0.0/24", "dnat prefix to 10.0.0.0/24", "tcp dport 1 dnat to 10.0.0.0/24:80",
                 "dnat to 2001:838:35f:1::/64", "tcp dport 1 dnat to [2001:838:35f:1::]:80"):
        assert want in lines, (want, lines)


def test_named_concat_map_nat_bytecode():
    rs = run_text("table ip t { map m4 { type ipv4_addr . inet_service : ipv4_addr . inet_service; }; "
                  "chain c { type nat hook prerouting priority 0; }; }", Ruleset()).ruleset
    out = run_text("add rule ip t c dnat ip to ip daddr . tcp dport map @m4", rs, Options(debug={"netlink"})).output
    assert "[ nat dnat ip addr_min reg 1 proto_min reg 9 ]" in out


@pytest.mark.parametrize("rule", ["ip ttl set 64", "ip dscp set cs1", "ip ecn set ce", "ip version set 4",
                                  "ip6 flowlabel set 74565", "tcp dport set tcp sport",
                                  "tcp sport set tcp sport & 4607 | 4352"])
def test_subbyte_writes_fold_back(rule):
    fam = "ip6" if rule.startswith("ip6") else "ip"
    pre = "meta l4proto tcp " if rule.startswith("tcp") else ""
    lines = _chain_lines(f"table {fam} t {{ chain c {{ {pre}{rule}; }}; }}")
    assert (pre + rule).replace("meta l4proto tcp tcp", "tcp") in lines or pre + rule in lines, lines


def test_vlan_id_set_in_bridge_drops_dependency():
    assert "vlan id set 4094" in _chain_lines("table bridge t { chain c { vlan id set 4094; }; }")


def test_icmp_type_write_lists_as_nft():
    assert "th sport set th sport & 2303 | 2048" in _chain_lines("table ip t { chain c { icmp type set echo-request; }; }")


def test_devices_sorted_and_numeric_timeout():
    lines = _chain_lines("table netdev t { chain c { type filter hook ingress devices = { lo, dum0, veth0 } priority -500; }; }")
    assert "type filter hook ingress devices = { dum0, lo, veth0 } priority -500; policy accept;" in lines
    text = ("table ip t { set seen { type ipv4_addr; flags dynamic,timeout; }; "
            "chain c { update @seen { ip saddr timeout 2m }; }; }")
    assert "update @seen { ip saddr timeout 2m }" in _chain_lines(text)
    assert "update @seen { ip saddr timeout 120s }" in _chain_lines(text, _NUM)


@pytest.mark.parametrize("fam,rule,bad", [
    ("bridge", "ip protocol udp vlan id 10", True), ("inet", "ip saddr 1.1.1.1 vlan id 1", True),
    ("inet", "meta protocol ip vlan id 1", False), ("bridge", "meta protocol ip vlan id 1", True),
    ("ip", "ip saddr 1.1.1.1 vlan id 1", False), ("ip", "ether saddr 00:11:22:33:44:55 vlan id 1", True),
    ("inet", "tcp dport 1 vlan id 1", False), ("inet", "ether type vlan vlan id 1", False),
])
def test_vlan_after_network_protocol(fam, rule, bad):
    rs = run_text(f"table {fam} t {{ chain c {{ }}; }}", Ruleset()).ruleset
    if bad:
        with pytest.raises(PktError, match="conflicting protocols specified: ether vs. vlan"):
            run_text(f"add rule {fam} t c {rule}", rs)
    else:
        run_text(f"add rule {fam} t c {rule}", rs)
