"""Checks nft 1.0.6's parser makes in its actions, with bison's error recovery
(outputs recorded with nft 1.0.6 on this machine, see docs/known-differences.md)."""

import pytest

from pkttables.errors import EvalError, SyntaxError_
from pkttables.lang import parse


def _err(text: str) -> str:
    with pytest.raises(SyntaxError_) as e:
        parse(text, "f")
    return str(e.value)


def test_unknown_hook_and_type_then_recovery():
    out = _err("table ip t { chain c { type filter hook nosuch priority 0; }; chain d { type bogus hook input priority 0; }; }\n")
    assert out.splitlines()[0] == "f:1:41-46: Error: unknown chain hook"
    assert out.splitlines()[3] == "f:1:78-82: Error: unknown chain type"
    assert len(out.splitlines()) == 6       # the rest parses after the skipped line part


def test_parser_checks_are_also_evaluation_errors():
    with pytest.raises(EvalError):
        parse("add set ip t s { type nosuchtype; }")


def test_unknown_datatype_per_part_and_map_without_data():
    out = _err("table ip t { set s { type ipv4_addr . nosuch2; }; }\n")
    assert out.startswith("f:1:39-45: Error: unknown datatype nosuch2")
    out = _err("table ip t { map m { type ipv4_addr; }; }\n")
    assert out.startswith("f:1:36-36: Error: syntax error, unexpected semicolon, expecting colon or .")


def test_typeof_symbol_and_quota_units():
    assert _err("table ip t { set s { typeof foo; }; }\n").startswith(
        "f:1:29-31: Error: primary expression type 'symbol' lacks typeof serialization")
    # without over/until the config is located from the token before it (bison's empty rule)
    out = _err("table ip t { quota q { 25 parsecs } }\n")
    assert out.splitlines()[0] == "f:1:22-33: Error: Wrong rate format"
    assert out.splitlines()[3] == "f:2:1-1: Error: syntax error, unexpected end of file"
    assert _err("table ip t { quota q3 { over 25 gbytes }; }\n").startswith("f:1:25-38: Error: Wrong rate format")


def test_expecting_lists():
    assert "unexpected icmp, expecting udp or tcp" in _err('table ip t { ct helper h { type "ftp" protocol icmp; }; }\n')
    assert "unexpected reject, expecting accept or drop or '$'" in _err(
        "table ip t { chain c { type filter hook input priority 0; policy reject; }; }\n")
    assert "unexpected '{', expecting string or quoted string or string with a trailing asterisk" in _err(
        "table ip t { chain d { comment {; }; }\n")
    assert "f:1:41-41: Error: syntax error, unexpected junk, expecting newline or semicolon" in _err(
        "table ip t { chain c { ip saddr 1.2.3.4 \\ accept; }; }\n")


def test_netdev_devices_list():
    s = parse('table netdev t { chain c { type filter hook ingress devices = { lo, "dum0" } priority 0; }; }')
    ct = s.commands[0].obj.body[0].body[0]
    assert ct.hook == "ingress" and len(ct.device.elements) == 2
