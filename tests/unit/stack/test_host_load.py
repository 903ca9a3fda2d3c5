"""Loading and validating host files (contracts/host.toml.md): every error names its line."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from pkttables.errors import HostFileError
from pkttables.stack.host import Host, eui64_link_local, load_host

CONTRACT = Path("/work/shared/contracts/host.toml.md")


def contract_example() -> str:
    text = CONTRACT.read_text()
    return re.search(r"```toml\n(.*?)```", text, re.S).group(1)


@pytest.mark.skipif(not CONTRACT.exists(), reason="contract file not available")
def test_contract_example_loads_verbatim(tmp_path):
    p = tmp_path / "host.toml"
    p.write_text(contract_example())
    h = load_host(p)
    assert list(h.interfaces) == ["lo", "lan0", "wan0", "br0", "lan1", "lan2"]
    assert [i.ifindex for i in h.interfaces.values()] == [1, 2, 3, 4, 5, 6]
    lan0 = h.interface("lan0")
    assert lan0.mac == bytes.fromhex("020000000001")
    assert lan0.addresses[:2] == [ipaddress.ip_interface("192.168.1.1/24"), ipaddress.ip_interface("fd00:1::1/64")]
    assert lan0.addresses[2] == ipaddress.ip_interface("fe80::ff:fe00:1/64")    # EUI-64 link-local
    assert h.interface("lo").kind == "loopback"
    assert h.addresses("lo") == [ipaddress.ip_interface("127.0.0.1/8"), ipaddress.ip_interface("::1/128")]
    assert h.interface("br0").kind == "bridge" and h.bridges["br0"].ports == ["lan1", "lan2"]
    assert h.interface("lan1").bridge == "br0"
    (r,) = h.routes
    assert (str(r.to), str(r.via), r.dev, r.line) == ("0.0.0.0/0", "203.0.113.1", "wan0", 20)
    assert h.neighbor("203.0.113.1", "wan0") == bytes.fromhex("020000000 1fe".replace(" ", ""))
    assert h.neighbor("192.168.1.10") == bytes.fromhex("020000000010")
    assert h.neighbor("192.168.1.11") is None
    assert h.sysctl("net.ipv4.ip_forward") == 1
    assert h.interface_by_index(3).name == "wan0"
    assert h.source == str(p)


def test_single_interface_default():
    h = Host.single_interface()
    assert list(h.interfaces) == ["lo", "eth0"]
    eth0 = h.interface("eth0")
    assert eth0.mac == bytes.fromhex("020000000001") and eth0.ifindex == 2
    assert [str(a) for a in eth0.addresses] == ["192.0.2.1/24", "2001:db8::1/64", "fe80::ff:fe00:1/64"]
    assert h.is_local("192.0.2.1") and not h.is_local("192.0.2.2")


def test_eui64():
    assert str(eui64_link_local(bytes.fromhex("525400123456")).ip) == "fe80::5054:ff:fe12:3456"


def err(text: str) -> HostFileError:
    with pytest.raises(HostFileError) as ei:
        Host.from_toml(text, "h.toml")
    return ei.value


IF = '[[interface]]\nname = "eth0"\nmac = "02:00:00:00:00:01"\naddresses = ["192.0.2.1/24"]\n'

# (text, line, words in the message)
CASES = [
    ('[[interface]]\nname = "eth0"\nfoo = 1\n', 3, "unknown key 'foo'"),
    ('[[ifaces]]\nname = "x"\n', 1, "unknown table 'ifaces'"),
    ('colour = 3\n', 1, "unknown table 'colour'"),
    ('[[interface]]\nmac = "02:00:00:00:00:01"\n', 1, "needs 'name'"),
    ('[[interface]]\nname = "abcdefghijklmnop"\n', 2, "at most 15"),
    ('[[interface]]\nname = "a:b"\n', 2, "':'"),
    ('[[interface]]\nname = "a/b"\n', 2, "'/'"),
    ('[[interface]]\nname = "a b"\n', 2, "whitespace"),
    ('[[interface]]\nname = ""\n', 2, "empty"),
    ('[[interface]]\nname = "lo"\n', 2, "reserved"),
    ('[[interface]]\nname = "local"\n', 2, "reserved"),
    ('[[interface]]\nname = 5\n', 2, "must be a string"),
    (IF + '\n[[interface]]\nname = "eth0"\n', 7, "duplicate interface name 'eth0' (first defined on line 1)"),
    ('[[interface]]\nname = "e"\nmac = "02:00:00:00:00"\n', 3, "invalid MAC"),
    ('[[interface]]\nname = "e"\nmac = "01:00:5e:00:00:01"\n', 3, "multicast"),
    ('[[interface]]\nname = "e"\nmac = "00:00:00:00:00:00"\n', 3, "all zeroes"),
    ('[[interface]]\nname = "e"\naddresses = ["192.0.2.1"]\n', 3, "needs a prefix length"),
    ('[[interface]]\nname = "e"\naddresses = [\n  "192.0.2.1/24",\n  "192.0.2.300/24",\n]\n', 5, "invalid address"),
    ('[[interface]]\nname = "e"\naddresses = ["224.0.0.1/4"]\n', 3, "multicast"),
    ('[[interface]]\nname = "e"\naddresses = "192.0.2.1/24"\n', 3, "array"),
    ('[[interface]]\nname = "e"\naddresses = ["192.0.2.1/24", "192.0.2.1/25"]\n', 3, "duplicate address 192.0.2.1"),
    (IF + '[[interface]]\nname = "f"\naddresses = ["192.0.2.1/24"]\n', 7, "duplicate address"),
    ('[[interface]]\nname = "e"\nmtu = 67\n', 3, "mtu 67 out of range 68..65535"),
    ('[[interface]]\nname = "e"\nmtu = 65536\n', 3, "out of range"),
    ('[[interface]]\nname = "e"\nmtu = true\n', 3, "must be an integer"),
    ('[[interface]]\nname = "e"\naddresses = ["2001:db8::1/64"]\nmtu = 1000\n', 4, "1280"),
    ('[[interface]]\nname = "e"\ngroup = 4294967296\n', 3, "group 4294967296 out of range"),
    ('[[interface]]\nname = "e"\ngroup = -1\n', 3, "out of range"),
    (IF + '[[route]]\nto = "10.0.0.1/8"\nvia = "192.0.2.254"\n', 6, "Invalid prefix for given prefix length"),
    (IF + '[[route]]\nto = "10.0.0.0/33"\nvia = "192.0.2.254"\n', 6, "invalid destination"),
    (IF + '[[route]]\nto = "10.0.0.0/8"\nvia = "198.51.100.1"\n', 7, "Nexthop has invalid gateway"),
    (IF + '[[route]]\nto = "10.0.0.0/8"\ndev = "eth1"\n', 7, "no such interface"),
    (IF + '[[route]]\nto = "10.0.0.0/8"\n', 5, "needs 'via' or 'dev'"),
    (IF + '[[route]]\nto = "10.0.0.0/8"\nvia = "192.0.2.1"\n', 7, "local address"),
    (IF + '[[route]]\nto = "10.0.0.0/8"\nvia = "2001:db8::1"\n', 7, "IPv6"),
    (IF + '[[route]]\nto = "10.0.0.0/8"\ntype = "blackhole"\ndev = "eth0"\n', 8, "can not be specified"),
    (IF + '[[route]]\nto = "10.0.0.0/8"\ntype = "nat"\n', 7, "unknown route type"),
    (IF + '[[route]]\nto = "10.0.0.0/8"\nvia = "192.0.2.9"\nsrc = "192.0.2.7"\n', 8, "Invalid prefsrc"),
    (IF + '[[route]]\nto = "192.0.2.0/24"\ndev = "eth0"\n', 6, "File exists"),
    (IF + '[[route]]\nto = "10.0.0.0/8"\ndev = "eth0"\n[[route]]\nto = "10.0.0.0/8"\nvia = "192.0.2.9"\n',
     9, "File exists: a route to 10.0.0.0/8 with metric 0 already exists (line 5)"),
    (IF + '[[neighbor]]\naddress = "192.0.2.9"\nmac = "02:00:00:00:00:09"\ndev = "eth9"\n', 8, "no such interface"),
    ('[[interface]]\nname = "e"\n[[neighbor]]\naddress = "192.0.2.9"\nmac = "02:00:00:00:00:09"\ndev = "e"\n',
     6, "e has no IPv4 address"),
    (IF + '[[neighbor]]\naddress = "192.0.2.9"\nmac = "02:00:00:00:00:09"\ndev = "lo"\n', 8, "NOARP"),
    (IF + '[[neighbor]]\naddress = "192.0.2.9"\nmac = "zz"\ndev = "eth0"\n', 7, "invalid MAC"),
    (IF + '[[neighbor]]\naddress = "224.0.0.9"\nmac = "02:00:00:00:00:09"\ndev = "eth0"\n', 6, "not a unicast"),
    (IF + '[[neighbor]]\naddress = "192.0.2.9"\ndev = "eth0"\n', 5, "needs 'mac'"),
    (IF + '[[neighbor]]\naddress = "192.0.2.9"\nmac = "02:00:00:00:00:09"\ndev = "eth0"\n'
     '[[neighbor]]\naddress = "192.0.2.9"\nmac = "02:00:00:00:00:0a"\ndev = "eth0"\n', 10, "already defined on line 5"),
    ('[[interface]]\nname = "v4only"\naddresses = ["192.0.2.1/24"]\n[[interface]]\nname = "lo2"\n'
     '[[neighbor]]\naddress = "192.0.2.9"\nmac = "02:00:00:00:00:09"\ndev = "nope"\n', 9, "no such interface"),
    (IF + '[[bridge]]\nname = "br0"\nports = ["eth0"]\n', 4, "cannot carry addresses"),
    ('[[interface]]\nname = "p1"\n[[bridge]]\nname = "br0"\nports = ["p1"]\n[[bridge]]\nname = "br1"\n'
     'ports = ["p1"]\n', 8, "already a port of bridge br0"),
    ('[[interface]]\nname = "p1"\n[[bridge]]\nname = "br0"\nports = ["p1", "p1"]\n', 5, "listed twice"),
    ('[[bridge]]\nname = "br0"\n[[bridge]]\nname = "br1"\nports = ["br0"]\n', 5, "is a bridge"),
    ('[[bridge]]\nname = "br0"\nports = ["lo"]\n', 3, "lo cannot be a bridge port"),
    ('[[interface]]\nname = "p1"\n[[bridge]]\nname = "br0"\nports = ["p1"]\n[[route]]\nto = "10.0.0.0/8"\n'
     'dev = "p1"\n', 8, "port of bridge br0"),
    ('[sysctl]\n"net.ipv4.ip_forward" = "1"\n', 2, "must be an integer"),
    ('[sysctl]\n"net.ipv4.ip_forward" = true\n', 2, "must be an integer"),
    ('[sysctl]\n"net.ipv4.ip_forwrd" = 1\n', 2, "unknown sysctl"),
    ('[sysctl]\n"net.ipv4.conf.eth7.rp_filter" = 1\n', 2, "no interface 'eth7'"),
    ('[sysctl]\n"net.ipv4.conf.all.rp_flter" = 1\n', 2, "unknown setting"),
    ('[sysctl]\n\n\nnet.ipv4.ip_forward = 1\n', 4, "must be quoted"),
    ('sysctl = 3\n', 1, "must be a table"),
    ('interface = 3\n', 1, "array of tables"),
]


@pytest.mark.parametrize("text,line,words", CASES, ids=[f"{i}:{c[2][:30]}" for i, c in enumerate(CASES)])
def test_validation_error_line(text, line, words):
    e = err(text)
    (d,) = e.diagnostics
    assert d.location.file == "h.toml"
    assert d.location.line == line, d.render()
    assert words in d.message, d.message
    # The location carries the offending line's text, so it renders with carets.
    assert d.location.line_text == text.split("\n")[line - 1]
    assert "h.toml:%d" % line in str(e)


def test_error_columns_point_at_the_bad_element():
    text = '[[interface]]\nname = "e"\naddresses = ["192.0.2.1/24", "10.0.0.300/8"]\n'
    d = err(text).diagnostics[0]
    assert (d.location.line, d.location.first_col, d.location.last_col) == (3, 30, 43)
    assert d.render().splitlines()[-1] == " " * 29 + "^" * 14


def test_unknown_key_points_at_key():
    d = err('[[interface]]\nname = "e"\n  colour = "red"\n').diagnostics[0]
    assert (d.location.first_col, d.location.last_col) == (3, 8)


def test_ipv6_route_host_bits_are_masked_like_the_kernel():
    h = Host.from_toml('[[interface]]\nname = "e"\naddresses = ["2001:db8::1/64"]\n'
                       '[[route]]\nto = "2001:db8:5::1/48"\ndev = "e"\n')
    assert str(h.routes[0].to) == "2001:db8:5::/48" and h.routes[0].metric == 1024


def test_toml_syntax_error_has_line_and_column():
    d = err('[[interface]]\nname = "e"\nmtu = = 3\n').diagnostics[0]
    assert d.location.line == 3 and d.location.first_col == 7
    assert "TOML syntax error" in d.message
    d = err('[[interface]]\nname = "e').diagnostics[0]
    assert d.location.line == 2


def test_inline_array_of_tables_falls_back_to_key_line():
    d = err('interface = [\n  {name = "e"},\n  {name = "e"},\n]\n').diagnostics[0]
    assert "duplicate" in d.message and d.location.line == 1


def test_ifindex_follows_file_order_across_tables():
    h = Host.from_toml('[[bridge]]\nname = "br0"\nports = ["p1"]\n[[interface]]\nname = "p1"\n'
                       '[[interface]]\nname = "e"\n')
    assert [(i.name, i.ifindex) for i in h.interfaces.values()] == [("lo", 1), ("br0", 2), ("p1", 3), ("e", 4)]


def test_unreadable_file(tmp_path):
    with pytest.raises(HostFileError) as ei:
        load_host(tmp_path / "missing.toml")
    assert "cannot read" in str(ei.value)


def test_sysctls_and_defaults():
    h = Host.from_toml('[sysctl]\n"net.ipv4.ip_forward" = 0\n"net.ipv4.conf.all.rp_filter" = 2\n')
    assert h.sysctl("net.ipv4.ip_forward") == 0
    assert h.sysctl("net.ipv4.conf.all.forwarding") == 0
    assert h.sysctl("net.ipv4.conf.lo.forwarding") == 0
    assert h.sysctl("net.ipv6.conf.all.forwarding") == 1
    assert h.sysctl("net.netfilter.nf_conntrack_tcp_loose") == 1


# Any bad input gives a HostFileError, never another exception.
@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('[]=" \n#abc.,:/0123456789lo{}interfacemroutesysctl')), max_size=120))
def test_fuzz_never_crashes(text):
    try:
        Host.from_toml(text)
    except HostFileError as e:
        assert e.diagnostics and e.diagnostics[0].location is not None


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_fuzz_mutated_contract_example(data):
    base = contract_example() if CONTRACT.exists() else IF
    lines = base.split("\n")
    i = data.draw(st.integers(0, len(lines) - 1))
    lines[i] = data.draw(st.sampled_from(['mtu = 1', 'name = "x y"', 'to = "1.2.3.4/8"', 'bogus = 1',
                                          'addresses = ["1.2.3.4"]', 'via = "9.9.9.9"', 'dev = "zz"', '']))
    try:
        Host.from_toml("\n".join(lines))
    except HostFileError as e:
        loc = e.diagnostics[0].location
        assert 1 <= loc.line <= len(lines)
