"""Datatype parse/format/register form, with the strings nft 1.0.6 prints and its errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkttables.errors import EvalError
from pkttables.proto import CT_KEYS, META_KEYS, PROTOCOLS
from pkttables.types import DATATYPES, DATATYPES_BY_ID, describe, lookup

D = DATATYPES


def test_every_dtype_name_in_proto_resolves():
    names = {f.dtype_name for p in PROTOCOLS.values() for f in p.fields.values()}
    names |= {k.dtype_name for k in META_KEYS.values()} | {k.dtype_name for k in CT_KEYS.values()}
    assert names <= set(DATATYPES)


def test_ids_unique_and_complete():
    assert sorted(DATATYPES_BY_ID) == list(range(47))


# Listing strings captured from nft 1.0.6 (`nft list ruleset`, `-n`) for one rule:
#   tcp dport 22 meta skuid 0 ct expiration 1h2m3s meta length 16 ip dscp ef
#   tcp flags syn,ack ct state established,related iifname "eth0" ip protocol gre
#   meta hour "10:00" meta day "Wednesday" ct status snat,dnat ether type 0x1234
#   meta mark 0x00000005
LISTED = [
    ("inet_service", "22", 22, "22", "22"),
    ("time", "3723s", 3723000, "1h2m3s", "3723s"),
    ("time", "1h2m3s", 3723000, "1h2m3s", "3723s"),
    ("dscp", "0x2e", 0x2E, "ef", "0x2e"),
    ("dscp", "ef", 0x2E, "ef", "0x2e"),
    ("tcp_flag", "syn,ack", 0x12, "syn,ack", "0x2,0x10"),
    ("ct_state", "established,related", 6, "established,related", "0x2,0x4"),
    ("ifname", "eth0", b"eth0", '"eth0"', '"eth0"'),
    ("inet_proto", "47", 47, "gre", "47"),
    ("hour", "10:00", 36000, '"10:00"', '"10:00"'),
    ("day", "3", 3, '"Wednesday"', "3"),
    ("ct_status", "snat,dnat", 0x30, "snat,dnat", "0x10,0x20"),
    ("ether_type", "0x1234", 0x1234, "0x1234", "0x1234"),
    ("ether_type", "ip", 0x0800, "ip", "0x0800"),
    ("mark", "5", 5, "0x00000005", "0x00000005"),
    ("ipv4_addr", "10.0.0.1", 0x0A000001, "10.0.0.1", "10.0.0.1"),
    ("ipv6_addr", "::1", 1, "::1", "::1"),
    ("ether_addr", "00:0f:54:0c:11:04", 0x000F540C1104, "00:0f:54:0c:11:04", "00:0f:54:0c:11:04"),
    ("icmp_type", "echo-request", 8, "echo-request", "8"),
    ("pkt_type", "host", 0, "host", "0"),
    ("integer", "010", 8, "8", "8"),
]


@pytest.mark.parametrize("dtype,text,value,listed,listed_n", LISTED)
def test_parse_and_list_like_nft(dtype, text, value, listed, listed_n):
    dt = D[dtype]
    assert dt.parse(text) == value
    assert dt.format(value) == listed
    assert dt.format(value, numeric=1) == listed_n


# Error messages captured from `nft add rule ip t c EXPR VALUE` (nft 1.0.6).
ERRORS = [
    ("inet_service", "foo", "Could not resolve service: Servname not supported for ai_socktype"),
    ("inet_service", "70000", "Service out of range"),
    ("mark", "foo", "Could not parse packet mark"),
    ("icmp_type", "foo", "Could not parse ICMP type"),
    ("tcp_flag", "foo", "Could not parse TCP flag"),
    ("ct_state", "foo", "Could not parse conntrack state"),
    ("inet_proto", "foo", "Could not resolve protocol name"),
    ("inet_proto", "300", "Protocol out of range"),
    ("ether_type", "foo", "Could not parse Ethernet protocol"),
    ("day", "Mon", "Could not parse Day of week of packet reception"),
    ("hour", "25:00", "wrong time format"),
    ("time", "foo", "wrong time format"),
    ("ifname", "01234567890123456", "String exceeds maximum length of 16"),
    ("uid", "nosuchuser", "User does not exist"),
    ("dscp", "foo", "Could not parse Differentiated Services Code Point"),
    ("ct_dir", "foo", "Could not parse conntrack direction"),
    ("pkt_type", "foo", "Could not parse packet type"),
    ("mark", "0xffffffff1", "Value 68719476721 exceeds valid range 0-4294967295"),
    ("ipv4_addr", "foo", "Could not resolve hostname: Temporary failure in name resolution"),
]


@pytest.mark.parametrize("dtype,text,message", ERRORS)
def test_errors_are_nfts(dtype, text, message):
    with pytest.raises(EvalError) as ei:
        D[dtype].parse(text)
    assert ei.value.diagnostics[0].message == message


def test_register_forms():
    assert D["mark"].to_reg(1) == b"\x01\0\0\0"            # host order
    assert D["inet_service"].to_reg(22) == b"\x00\x16"      # network order
    assert D["ether_type"].to_reg(D["ether_type"].parse("ip")) == b"\x08\x00"
    assert D["ifname"].to_reg(b"lo") == b"lo" + b"\0" * 14
    assert D["ipv4_addr"].from_reg(b"\x0a\0\0\x01") == 0x0A000001


def test_lookup_and_unknown():
    assert lookup("inet_service") is D["inet_service"]
    with pytest.raises(EvalError):
        lookup("nosuchtype")


# -- round trips -----------------------------------------------------------------

_INT_TYPES = [d for d in DATATYPES.values()
              if d.size_bits and not d.is_string() and d.name not in ("hour", "day", "boolean", "dccp_pkttype", "time")]


@pytest.mark.parametrize("dt", _INT_TYPES, ids=lambda d: d.key)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_roundtrip_text(dt, data):
    value = data.draw(st.integers(0, (1 << dt.size_bits) - 1))
    for numeric in (0, 1, 2):
        text = dt.format(value, numeric=numeric)
        assert dt.parse(text.strip('"')) == value


@pytest.mark.parametrize("dt", [d for d in DATATYPES.values() if d.size_bits and not d.is_string()], ids=lambda d: d.key)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_roundtrip_register(dt, data):
    value = data.draw(st.integers(0, (1 << dt.size_bits) - 1))
    assert dt.from_reg(dt.to_reg(value)) == value


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 86399))
def test_hour_roundtrip(secs):
    assert D["hour"].parse(D["hour"].format(secs).strip('"')) == secs


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**10))
def test_time_roundtrip(ms):
    for numeric in (0,):
        assert D["time"].parse(D["time"].format(ms, numeric=numeric)) == ms


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-_", min_size=1, max_size=16))
def test_ifname_roundtrip(name):
    dt = D["ifname"]
    assert dt.parse(dt.format(dt.parse(name)).strip('"')) == name.encode()


def test_describe_exported():
    assert describe("meta mark").startswith("meta expression, datatype mark")
