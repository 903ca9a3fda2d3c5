"""Policy tests (pkttables.testing.policy, `pkt test`): spec validation with locations,
expectations that hold and that fail (with the failing packet's trace), prerequisites,
flows, NAT, and the packet builder (hypothesis)."""

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.cli.main import main
from pkttables.datapath.replay import flow_of
from pkttables.errors import PktError
from pkttables.testing.policy import (PolicySpecError, build_packet, load_spec, parse_spec, run_case,
                                      run_spec)

ROOT = Path(__file__).resolve().parents[3]
HOST = ROOT / "examples" / "home-router" / "host.toml"

# The home router's ruleset without its named set (the packet path binds no named sets yet),
# plus a log rule, so every kind of expectation has something to look at.
RULESET = """
table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		iif lo accept
		iifname "lan0" accept
		meta l4proto { icmp, ipv6-icmp } accept
		iifname "wan0" tcp dport 22 ct state new limit rate 3/minute accept
		tcp dport 23 log prefix "telnet: " drop
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		iifname "lan0" oifname "wan0" accept
		iifname "wan0" ct status dnat accept
		meta l4proto ipv6-icmp accept
	}
}
table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat;
		iifname "wan0" tcp dport { 80, 443 } dnat to 192.168.1.10
	}
	chain postrouting {
		type nat hook postrouting priority srcnat;
		oifname "wan0" masquerade
	}
}
"""

HEAD = 'ruleset = "fw.nft"\nhost = "host.toml"\n'

GOOD = HEAD + '''
[[case]]
name = "telnet from the internet is dropped and logged"
packet = { iif = "wan0", proto = "tcp", src = "198.51.100.7", dst = "203.0.113.2", dport = 23 }
expect = { verdict = "drop", rule = "inet filter input tcp dport 23 log prefix \\"telnet: \\" drop", log = "telnet: " }

[[case]]
name = "smtp from the internet hits the input policy"
packet = { iif = "wan0", src = "198.51.100.7", dst = "203.0.113.2", dport = 25 }
expect = { verdict = "drop", rule = "inet filter input policy", chain = "inet filter input", ct = "new" }

[[case]]
name = "the lan opens an http connection"
packet = { iif = "lan0", src = "192.168.1.10", dst = "93.184.216.34", sport = 40002, dport = 80 }
expect = { verdict = "accept", oif = "wan0", nat.saddr = "203.0.113.2", nat.sport = 40002, ct = "new", rule = "ip nat postrouting *" }

[[case]]
name = "the web server's answer comes back to the lan"
after = ["the lan opens an http connection"]
packet = { iif = "wan0", src = "93.184.216.34", dst = "203.0.113.2", sport = 80, dport = 40002, flags = "SA", seq = 5000, ack = 1001 }
expect = { verdict = "accept", oif = "lan0", nat = { daddr = "192.168.1.10" }, ct = "established", rule = "inet filter forward ct state established,related accept" }

[[case]]
name = "port forward: http from the internet reaches the web server"
[[case.flow]]
iif = "wan0"
src = "198.51.100.9"
dst = "203.0.113.2"
sport = 50000
dport = 80
expect = { verdict = "accept", oif = "lan0", nat.daddr = "192.168.1.10", rule = "inet filter forward ..." }
[[case.flow]]
iif = "lan0"
src = "192.168.1.10"
dst = "198.51.100.9"
sport = 80
dport = 50000
flags = "SA"
expect = { verdict = "accept", oif = "wan0", nat.saddr = "203.0.113.2", ct = "established" }

[[case]]
name = "ping from the lan to the router"
packet = { iif = "lan0", proto = "icmp", src = "192.168.1.10", dst = "192.168.1.1", type = "echo-request", id = 7 }
expect = { verdict = "local", emitted = [{ oif = "lan0", kind = "icmp-echo-reply" }] }

[[case]]
name = "ipv6 from the lan is forwarded"
packet = { iif = "lan0", src = "fd00:1::10", dst = "2001:db8:80::443", dport = 443 }
expect = { verdict = "accept", oif = "wan0", nat = false }

[[case]]
name = "the router's own dns query leaves by the wan"
packet = { iif = "local", proto = "udp", src = "203.0.113.2", dst = "9.9.9.9", sport = 5353, dport = 53 }
expect = { verdict = "accept", oif = "wan0" }
'''


@pytest.fixture()
def spec_dir(tmp_path):
    (tmp_path / "fw.nft").write_text(RULESET)
    (tmp_path / "host.toml").write_text(HOST.read_text())
    return tmp_path


def write(spec_dir, text, name="spec.toml"):
    p = spec_dir / name
    p.write_text(text)
    return str(p)


def test_good_spec_passes(spec_dir):
    report = run_spec(load_spec(write(spec_dir, GOOD)))
    assert [r.case.name for r in report.results if not r.ok] == [], report.render()
    assert report.passed == 8 and report.failed == 0
    assert report.summary() == "8 passed, 0 failed"


def test_failure_names_expectation_location_and_shows_trace(spec_dir):
    text = HEAD + '''
[[case]]
name = "ssh from the internet is dropped"
packet = { iif = "wan0", proto = "tcp", src = "198.51.100.7", dst = "203.0.113.2", dport = 22, flags = "S" }
expect = { verdict = "drop", rule = "inet filter input policy" }
'''
    path = write(spec_dir, text)
    report = run_spec(load_spec(path))
    assert report.failed == 1 and not report.ok
    res = report.results[0]
    keys = [m.key for m in res.mismatches]
    assert keys == ["verdict", "rule"]
    # verdict: the SSH SYN is accepted by the rate-limited rule and delivered (no socket: a reset)
    assert res.mismatches[0].got.startswith("local")
    assert res.mismatches[0].location.line == 7
    text_out = res.render()
    assert text_out.startswith("FAIL ssh from the internet is dropped")
    assert "expect.verdict (" in text_out and ":7:" in text_out
    assert "tcp 198.51.100.7:40000 -> 203.0.113.2:22 [S] on wan0" in text_out
    assert 'got: local by ' in text_out and 'inet filter input handle ' in text_out
    assert '(iifname "wan0" tcp dport 22 ct state new limit rate 3/minute accept) accept' in text_out
    # the trace of the failing packet, as nft monitor trace prints it
    assert res.traces and any("inet filter input rule iifname \"wan0\" tcp dport 22" in ln and "(verdict accept)" in ln
                              for ln in res.traces[0])
    assert any(" packet: iif \"wan0\" " in ln for ln in res.traces[0])
    assert "trace (nft monitor trace):" in text_out
    assert report.render().endswith("0 passed, 1 failed")


def test_nat_and_oif_mismatch_messages(spec_dir):
    text = HEAD + '''
[[case]]
name = "wrong translation"
packet = { iif = "lan0", src = "192.168.1.10", dst = "93.184.216.34", dport = 80 }
expect = { nat.saddr = "203.0.113.99", oif = "lan0", emitted = [], ct = "established" }
'''
    res = run_spec(load_spec(write(spec_dir, text))).results[0]
    got = {m.key: m for m in res.mismatches}
    assert set(got) == {"nat.saddr", "oif", "emitted", "ct"}
    assert got["nat.saddr"].got.startswith("203.0.113.2 (left as tcp 203.0.113.2:40000")
    assert got["oif"].got == "wan0" and got["ct"].got == "new"
    assert got["nat.saddr"].location.line == 7 and got["nat.saddr"].location.first_col == 16


def test_after_builds_state_and_is_needed(spec_dir):
    reply = '''
[[case]]
name = "reply"
{after}packet = {{ iif = "wan0", src = "93.184.216.34", dst = "203.0.113.2", sport = 80, dport = 40002, flags = "SA" }}
expect = {{ verdict = "accept", ct = "established" }}
'''
    opener = '''
[[case]]
name = "open"
packet = { iif = "lan0", src = "192.168.1.10", dst = "93.184.216.34", sport = 40002, dport = 80 }
'''
    with_after = load_spec(write(spec_dir, HEAD + opener + reply.format(after='after = ["open"]\n')))
    assert run_case(with_after, "reply").ok
    without = load_spec(write(spec_dir, HEAD + opener + reply.format(after="")))
    res = run_case(without, "reply")
    assert not res.ok and {m.key for m in res.mismatches} == {"verdict", "ct"}


def test_cli_exit_status_and_summary(spec_dir, capsys):
    good = write(spec_dir, GOOD)
    assert main(["test", good]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "8 passed, 0 failed"
    assert "ok   telnet from the internet is dropped and logged" in out
    bad = write(spec_dir, HEAD + '''
[[case]]
name = "x"
packet = { iif = "wan0", src = "198.51.100.7", dst = "203.0.113.2", dport = 25 }
expect = { verdict = "accept" }
''', "bad.toml")
    assert main(["test", bad]) == 1
    out = capsys.readouterr().out
    assert "FAIL x" in out and out.splitlines()[-1] == "0 passed, 1 failed"
    assert main(["test", "-q", "-k", "telnet*", good]) == 0
    assert capsys.readouterr().out == "1 passed, 0 failed\n"


@pytest.mark.parametrize("body, line, message", [
    ('[[case]]\nname = "a"\npacket = { iif = "wan0", src = "1.2.3.4", dst = "5.6.7.8", dport = 1, colour = 3 }\n',
     5, "unknown packet field 'colour'"),
    ('[[case]]\nname = "a"\npacket = { iif = "eth9", src = "1.2.3.4", dst = "5.6.7.8", dport = 1 }\n',
     5, "no interface 'eth9' in the host"),
    ('[[case]]\nname = "a"\npacket = { iif = "wan0", src = "1.2.3", dst = "5.6.7.8", dport = 1 }\n',
     5, "'src' is not an IP address"),
    ('[[case]]\nname = "a"\npacket = { iif = "wan0", src = "1.2.3.4", dst = "5.6.7.8" }\n',
     5, "needs 'dport'"),
    ('[[case]]\nname = "a"\npacket = { iif = "wan0", src = "1.2.3.4", dst = "5.6.7.8", dport = 1 }\n'
     'expect = { verdict = "allow" }\n', 6, "verdict must be one of"),
    ('[[case]]\nname = "a"\npacket = { iif = "wan0", src = "1.2.3.4", dst = "5.6.7.8", dport = 1 }\n'
     'expect = { nat.daddr = "x" }\n', 6, "nat.daddr: not a valid address"),
    ('[[case]]\nname = "a"\npacket = { iif = "wan0", src = "1.2.3.4", dst = "5.6.7.8", dport = 1, flags = "SX" }\n',
     5, "unknown TCP flag"),
    ('[[case]]\nname = "a"\npacket = { iif = "wan0", proto = "icmp", src = "1.2.3.4", dst = "5.6.7.8", type = "nope" }\n',
     5, "unknown ICMP type 'nope'"),
    ('[[case]]\nname = "a"\nafter = ["b"]\npacket = { iif = "wan0", src = "1.2.3.4", dst = "5.6.7.8", dport = 1 }\n',
     5, "'after' names no case 'b'"),
    ('[[case]]\nname = "a"\nafter = ["b"]\npacket = { iif = "wan0", src = "1.2.3.4", dst = "5.6.7.8", dport = 1 }\n'
     '[[case]]\nname = "b"\nafter = ["a"]\npacket = { iif = "wan0", src = "1.2.3.4", dst = "5.6.7.8", dport = 1 }\n',
     5, "goes round in a circle"),
    ('[[case]]\nname = "a"\npacket = { iif = "wan0", src = "1.2.3.4", dst = "5.6.7.8", dport = 1 }\n'
     '[[case]]\nname = "a"\npacket = { iif = "wan0", src = "1.2.3.4", dst = "5.6.7.8", dport = 1 }\n',
     7, "case name 'a' is used twice (first at line 4)"),
    ('[[case]]\nname = "a"\n', 3, "needs either 'packet' (one) or 'flow' (a list), not neither"),
    ('[[case]]\nname = "a"\n[[case.flow]]\niif = "wan0"\nsrc = "1.2.3.4"\ndst = "5.6.7.8"\nport = 1\n',
     9, "unknown packet field 'port'"),
    ('colour = 1\n', 3, "unknown key 'colour'"),
    ('[[case]]\nname = "a"\npacket = { iif = "wan0" src = "1.2.3.4" }\n', 5, "not valid TOML"),
])
def test_bad_specs_name_the_line(spec_dir, body, line, message):
    path = write(spec_dir, HEAD + body)
    with pytest.raises(PktError) as ei:
        load_spec(path)
    d = ei.value.diagnostics[0]
    assert message in d.message
    assert d.location is not None and d.location.file == path and d.location.line == line, ei.value.render()
    assert "Traceback" not in ei.value.render()


def test_missing_files_and_cli_error(spec_dir, capsys):
    with pytest.raises(PolicySpecError, match="ruleset file .* does not exist"):
        load_spec(write(spec_dir, 'ruleset = "nope.nft"\n[[case]]\nname = "a"\n'))
    assert main(["test", str(spec_dir / "absent.toml")]) == 1
    assert "cannot read policy spec" in capsys.readouterr().err


def test_ruleset_error_is_nft_form(spec_dir):
    (spec_dir / "fw.nft").write_text("table inet t {\n\tchain c {\n\t\ttcp dport 22 acept\n\t}\n}\n")
    with pytest.raises(PktError) as ei:
        load_spec(write(spec_dir, GOOD))
    assert "fw.nft:3:" in ei.value.render()


def test_unrunnable_ruleset_is_a_failed_case_not_a_crash(spec_dir, capsys):
    (spec_dir / "fw.nft").write_text("table inet t {\n\tset s { type ipv4_addr; elements = { 1.2.3.4 } }\n"
                                     "\tchain c { type filter hook input priority 0; ip saddr @s drop; }\n}\n")
    spec = load_spec(write(spec_dir, HEAD + '[[case]]\nname = "a"\npacket = { iif = "wan0", src = "1.2.3.4", '
                                            'dst = "203.0.113.2", dport = 1 }\nexpect = { verdict = "drop" }\n'))
    res = run_case(spec, "a")
    if res.ok:   # named sets are bound to the interpreter now: the rule drops
        assert res.results[0].verdict == "drop"
    else:
        assert res.error is not None and "@s" in res.error
        assert "error:" in res.render()


# ------------------------------------------------------------------ the packet builder
_v4 = st.ip_addresses(v=4).map(str)
_v6 = st.ip_addresses(v=6).map(str)
_port = st.integers(0, 65535)


@settings(max_examples=60, deadline=None)
@given(v6=st.booleans(), data=st.data(), proto=st.sampled_from(["tcp", "udp"]), sport=_port, dport=_port,
       flags=st.sets(st.sampled_from("FSRPAUEW"), min_size=1).map("".join))
def test_build_packet_round_trips(v6, data, proto, sport, dport, flags):
    src = data.draw(_v6 if v6 else _v4)
    dst = data.draw(_v6 if v6 else _v4)
    fields = {"proto": proto, "src": src, "dst": dst, "sport": sport, "dport": dport}
    if proto == "tcp":
        fields["flags"] = flags
    ip, text = build_packet(fields)
    flow = flow_of(ip, l3=True)
    assert flow is not None
    assert (flow.proto, flow.sport, flow.dport) == ({"tcp": 6, "udp": 17}[proto], sport, dport)
    assert ipaddress.ip_address(flow.src) == ipaddress.ip_address(src)
    assert ipaddress.ip_address(flow.dst) == ipaddress.ip_address(dst)
    assert text.startswith(proto + " ")
    if proto == "tcp":
        th = 40 if v6 else 20
        bits = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16, "U": 32, "E": 64, "W": 128}
        assert ip[th + 13] == sum(bits[c] for c in set(flags))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["proto", "src", "dst", "sport", "dport", "flags", "type", "ttl", "quote"]),
                       st.one_of(st.text(max_size=8), st.integers(-5, 70000), st.booleans(), st.none()), max_size=7))
def test_build_packet_never_crashes(fields):
    fields = {k: v for k, v in fields.items() if v is not None}
    try:
        build_packet(fields)
    except ValueError as e:
        assert str(e)


def test_spec_text_without_files():
    spec = parse_spec('ruleset = "x.nft"\n[[case]]\nname = "a"\npacket = { iif = "eth0", src = "1.2.3.4", '
                      'dst = "5.6.7.8", dport = 9 }\n', "<t>", load=False)
    assert spec.cases[0].packets[0].text == "tcp 1.2.3.4:40000 -> 5.6.7.8:9 [S] on eth0"
