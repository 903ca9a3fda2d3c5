"""Inputs that once gave a traceback or changed what they must not, found by the
fuzzers of tests/unit/robust (docs/robustness.md), one minimal case each.

The strict xfails are crashes or differences from nft 1.0.6 in packages this work does
not own (lang/, render/): the input is here, so the owner can flip them.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from robust_harness import check, run

# --------------------------------------------------------------------------- fixed


def test_conntrack_empty_stray_argument_is_a_usage_error():
    # argparse's "unrecognized arguments: " with an empty word: IndexError in the
    # translation to conntrack's words (conntrack/cli.py _Parser.error)
    rc, _, err = run(["conntrack", "-D", ""])
    check(rc, err, ok=(2,))
    assert err == ("conntrack v1.4.7 (conntrack-tools): unknown option `'\n"
                   "Try `conntrack -h' or 'conntrack --help' for more information.\n")


def test_api_cmd_takes_bytes_that_are_not_utf8():
    # python-nftables passes bytes to libnftables as they are: a byte that is not UTF-8
    # is junk for the scanner, never a UnicodeDecodeError (control/api.py Nftables.cmd)
    from pkttables.control.api import Nftables

    rc, out, err = Nftables().cmd(b"\xff\xfe list ruleset")
    assert (rc, out) == (-1, b"")
    assert err == b"Error: syntax error, unexpected junk\n\xff\xfe list ruleset\n^\n"


def test_syntax_error_in_a_file_takes_no_handle(tmp_path):
    # nft 1.0.6 evaluates the commands of a file with a syntax error but never sends
    # them: the next table gets the handle it would have got (checked in a netns:
    # add table a; -f bad; add table b -> b has handle 2).  The evaluation after the
    # parse error used to take handles from the store's counters.
    st = str(tmp_path / "s.state")
    bad = tmp_path / "bad.nft"
    bad.write_bytes(b'flush ruleset\ntable inet t {\n\tset s {\n\t\ttype ifname\n'
                    b'\t\telements\xe6= { "lo" }\n\t}\n}\n')
    assert run(["--state", st, "add", "table", "ip", "a"])[0] == 0
    before = open(st, "rb").read()
    rc, _, err = run(["--state", st, "-f", str(bad)])
    check(rc, err)
    assert rc == 1 and "syntax error, unexpected junk" in err
    assert open(st, "rb").read() == before
    assert run(["--state", st, "add", "table", "ip", "b"])[0] == 0
    assert "table ip b { # handle 2" in run(["--state", st, "-a", "list", "ruleset"])[1]


NONUTF8 = (b'table ip t {\n comment "caf\xe9"\n chain c {\n type filter hook input priority 0;\n'
           b' iifname "e\xff" counter comment "x\xfe"\n }\n}\n')


def test_string_that_is_not_utf8_loads_with_nft_bytecode(tmp_path):
    # a ruleset file is read with surrogateescape; evaluate/types/compile encoded its
    # strings strictly (UnicodeEncodeError).  Bytecode as nft 1.0.6 prints it.
    f = tmp_path / "r.nft"
    f.write_bytes(NONUTF8)
    rc, out, err = run(["--debug=netlink", "-f", str(f)])
    check(rc, err)
    assert rc == 0
    assert "  [ cmp eq reg 1 0x0000ff65 0x00000000 0x00000000 0x00000000 ]\n" in out
    assert "  userdata = { \\x00\\x03x\\xfe\\x00 }\n" in out
    st = str(tmp_path / "s.state")
    assert run(["--state", st, "-f", str(f)])[0] == 0
    rc, out, err = run(["--state", st, "list", "ruleset"])
    assert rc == 0 and 'comment "caf\udce9"' in out


def test_bytes_that_are_not_utf8_are_printed_back_raw(tmp_path):
    # nft prints a file's line as its bytes; pkt did too only where the locale made
    # stdio surrogateescape -- with strict stdio the error itself raised.
    f = tmp_path / "bad.nft"
    f.write_bytes(b"table ip t {\n\telements\xe6= 1\n}\n")
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict")
    p = subprocess.run([sys.executable, "-m", "pkttables.cli.main", "-f", str(f)], capture_output=True,
                       env=env, timeout=60)
    assert p.returncode == 1
    assert b"Traceback" not in p.stderr
    assert b"\telements\xe6= 1\n" in p.stderr


def test_policy_spec_toml_error_at_end_of_document_has_a_location(tmp_path):
    # tomllib says "(at end of document)" with no line: the spec loader dropped the
    # location (testing/policy.py parse_spec); now the last line, as the host loader
    spec = tmp_path / "p.toml"
    spec.write_text('ruleset = "r.nft"\n[[case]]\nname')
    rc, _, err = run(["test", str(spec)])
    check(rc, err)
    assert rc == 1
    assert err == (f"{spec}:3:5-5: Error: not valid TOML: Expected '=' after a key in a key/value pair "
                   "(at end of document)\nname\n    ^\n")


def test_simulate_seed_beyond_64_bits_is_a_usage_error():
    # was an OverflowError in nat/_core.py (the seed is the NAT key's 8 bytes)
    from robust_harness import EXAMPLE
    rc, _, err = run(["simulate", "--ruleset", str(EXAMPLE / "ruleset.nft"), "--traffic",
                      str(EXAMPLE / "traffic.pcapng"), "--seed", str(1 << 63)])
    check(rc, err)
    assert rc == 1
    assert err.endswith(f"argument --seed: must be a 64-bit integer (got {1 << 63})\n")


@pytest.mark.parametrize("argv,message", [
    # ValueError from stack/routing.py route_output
    (["192.0.2.1", "--from", "::1"], "pkt route: source '::1' and destination '192.0.2.1' are of different families"),
    # KeyError from stack/routing.py _iface
    (["192.0.2.1", "--oif", "0"], "pkt route: --oif: no interface '0' in the host"),
])
def test_route_arguments_that_the_routing_code_refuses(argv, message):
    rc, out, err = run(["route"] + argv)
    check(rc, err)
    assert (rc, out, err) == (1, "", f"Error: {message}\n")


def test_file_dash_is_standard_input(monkeypatch, tmp_path):
    # nft 1.0.6 reads "-f -" from stdin and names it /dev/stdin; pkt opened a file "-"
    import io
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"table ip t {\n chain c { foo }\n}\n")))
    rc, _, err = run(["-c", "-f", "-"])
    check(rc, err)
    assert err == ("/dev/stdin:2:16-16: Error: syntax error, unexpected '}'\n chain c { foo }\n"
                   "               ^\n/dev/stdin:4:1-1: Error: syntax error, unexpected end of file\n}\n^\n")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"table ip t\n")))
    assert run(["-c", "-f", "-"])[0] == 0


@pytest.mark.parametrize("rule", ["meta skgid != 0xffffffffffffffffffffffffffffffffffffffff",
                                  "meta skuid 99999999999999999999999"])
def test_uid_beyond_64_bits_is_value_too_large(rule):
    # types/_datatypes.py _uid_parse returned the number whole: OverflowError when the
    # evaluator encoded it into 4 bytes.  Output as nft 1.0.6's, byte for byte.
    line = f"add table ip t; add chain ip t c; add rule ip t c {rule}"
    rc, _, err = run([line])
    check(rc, err)
    col = line.index(rule.split()[-1])
    assert err == f"Error: Value too large\n{line}\n{' ' * col}{'^' * len(rule.split()[-1])}\n"


def test_echo_of_a_json_document_with_reals(tmp_path):
    # -e -j echoes the input document back; a real in it (an unknown key's value) was
    # TypeError('not JSON: float') in render/json_output.dumps.  nft 1.0.6's bytes.
    f = tmp_path / "r.json"
    f.write_text('{"nftables": [{"add": {"table": {"family": "ip", "name": "t", "a": 0.1, "b": 2.0, '
                 '"c": -3e-7, "d": 1e16, "e": 1.2345678901234568e17, "f": 0.0, "g": -0.0}}}]}')
    rc, out, err = run(["-e", "-j", "-f", str(f)])
    check(rc, err)
    assert out == ('{"nftables": [{"add": {"table": {"family": "ip", "name": "t", "a": 0.10000000000000001, '
                   '"b": 2.0, "c": -2.9999999999999999e-7, "d": 10000000000000000.0, '
                   '"e": 1.2345678901234568e17, "f": 0.0, "g": -0.0, "handle": 1}}}]}')   # no newline, as nft


def test_a_bug_is_one_line_and_changes_nothing(tmp_path, monkeypatch):
    # the last line of defence (cli/main.py internal_error, control/api.py): an
    # exception that is not bad input is one "internal error" line, exit 1 / rc -1, the
    # store untouched; PKT_DEBUG=1 lets it through for a developer
    import pkttables.commands._exec as ex

    st = str(tmp_path / "s.state")
    assert run(["--state", st, "add", "table", "ip", "t"])[0] == 0
    before = open(st, "rb").read()

    def boom(*a, **k):
        raise ZeroDivisionError("boom")
    monkeypatch.setattr(ex._Executor, "validate", boom)
    rc, out, err = run(["--state", st, "add", "table", "ip", "u"])
    assert (rc, out) == (1, "")
    assert err == ("Error: internal error: ZeroDivisionError: boom (a bug in pkttables: please report it "
                   "with the input; PKT_DEBUG=1 shows the traceback)\n")
    assert open(st, "rb").read() == before
    from pkttables.control.api import Nftables
    assert Nftables(state=st).cmd("add table ip u") == (-1, "", err)
    monkeypatch.setenv("PKT_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        run(["--state", st, "add", "table", "ip", "u"])


# --------------------------------------------------------------------------- left for others


def test_deeply_nested_parentheses(tmp_path):
    # RecursionError in lang/parser.py.  nft 1.0.6 parses 5000 parentheses (its bison
    # stack holds 10000 entries): the error is the one of `meta mark (1) } }`, a rule
    # that needs a separator before `}` (measured in a netns)
    f = tmp_path / "r.nft"
    f.write_text("table ip t { chain c { meta mark " + "(" * 5000 + "1" + ")" * 5000 + " } }\n")
    rc, _, err = run(["-c", "-f", str(f)])
    check(rc, err)
    assert rc == 1 and err.startswith(f"{f}:1:10036-10036: Error: syntax error, unexpected '}}', "
                                      "expecting newline or semicolon\n")
    assert f"{f}:2:1-1: Error: syntax error, unexpected end of file\n" in err


def test_deeply_nested_set_braces(tmp_path):
    # 3000 nested set braces still fit nft's stack (2 entries each): the same
    # separator error as with one
    f = tmp_path / "r.nft"
    f.write_text("table ip t { chain c { ip saddr " + "{ " * 3000 + "1.2.3.4" + " }" * 3000 + " } }\n")
    rc, _, err = run(["-c", "-f", str(f)])
    check(rc, err)
    assert rc == 1 and err.startswith(f"{f}:1:12041-12041: Error: syntax error, unexpected '}}', "
                                      "expecting newline or semicolon\n")


@pytest.mark.parametrize("prefix,kind,depth,col", [
    # nft 1.0.6's answers (netns): bison's "memory exhausted" at the token that no
    # longer fits its 10000-entry stack, and nothing after it
    ("table ip t { chain c { meta mark ", "(", 5000, None),
    ("table ip t { chain c { meta mark ", "(", 9985, "10020-10020"),     # the first `)`
    ("table ip t { chain c { meta mark ", "(", 9986, "10020-10020"),     # the `1`
    ("table ip t { chain c { meta mark ", "(", 11000, "10020-10020"),    # a `(`
    ("table ip t { chain c { ip saddr ", "{", 4993, "10019-10025"),      # the address
    ("table ip t { chain c { ip saddr ", "{", 5000, "10019-10019"),
    ("add rule ip t c meta mark ", "(", 9991, None),
    ("add rule ip t c meta mark ", "(", 9992, "10020-10020"),
    ("add rule ip t c ip saddr ", "{", 4997, "10020-10026"),
    ("add rule ip t c ip saddr ", "{", 6000, "10020-10020"),
    ("chain ip t c { ip saddr ", "{", 12000, "10017-10017"),
    ("add element ip t s ", "{", 12000, "10014-10014"),
    ("define x = ", "(", 12000, "10006-10006"),
    ("table ip t { set s { type ipv4_addr; elements = ", "{", 12000, "10035-10035"),
])
def test_nesting_deeper_than_nfts_parser_stack(tmp_path, prefix, kind, depth, col):
    f = tmp_path / "r.nft"
    body = "(" * depth + "1" + ")" * depth if kind == "(" else "{ " * depth + "1.2.3.4" + " }" * depth
    f.write_text(prefix + body + "\n")
    rc, _, err = run(["-c", "-f", str(f)])
    check(rc, err)
    if col is None:
        assert "memory exhausted" not in err
    else:
        line = (prefix + body)[:1023]  # nft prints at most 1023 bytes of the line
        first, last = (int(x) for x in col.split("-"))
        assert rc == 1 and err == (f"{f}:1:{col}: Error: memory exhausted\n{line}\n"
                                   + " " * (first - 1) + "^" * (last - first + 1) + "\n")


def test_deeply_nested_valid_set_is_flattened(tmp_path):
    # evaluate/_eval.py _flatten_set recursed once per level (RecursionError); nft
    # 1.0.6 itself aborts on any nested anonymous set (netlink.c alloc_nftnl_setelem
    # assertion), so pkt's answer is the flattened set
    f = tmp_path / "r.nft"
    f.write_text("add table ip t\nadd chain ip t c\nadd rule ip t c ip saddr "
                 + "{ " * 4900 + "1.2.3.4, 5.6.7.8" + " }" * 4900 + "\n")
    st = str(tmp_path / "s.state")
    rc, _, err = run(["--state", st, "-f", str(f)])
    check(rc, err)
    assert rc == 0, err
    assert "ip saddr { 1.2.3.4, 5.6.7.8 }" in run(["--state", st, "list", "ruleset"])[1]


def test_crlf_is_junk_as_in_nft(tmp_path):
    # files were read with universal newlines and the lexer had a "crlf" token: nft
    # 1.0.6 reads "\r" as junk (the line is printed with it, caret under it)
    f = tmp_path / "r.nft"
    f.write_bytes(b"table ip t {\r\n chain c {\r\n }\r\n}\r\n")
    rc, _, err = run(["-c", "-f", str(f)])
    assert rc == 1 and err.startswith(f"{f}:1:13-13: Error: syntax error, unexpected junk\n"
                                      "table ip t {\r\n            ^\n"
                                      f"{f}:2:11-11: Error: syntax error, unexpected junk\n")
    rc, _, err = run(["-c", "add table ip t\r"])
    assert (rc, err) == (1, "Error: syntax error, unexpected junk, expecting end of file or newline "
                            "or semicolon\nadd table ip t\r\n              ^\n")


def test_f_directory_is_flex_fatal_error(tmp_path):
    # nft 1.0.6: fopen() of a directory succeeds, flex's read fails: exit status 2
    rc, out, err = run(["-c", "-f", str(tmp_path)])
    assert (rc, out, err) == (2, "", "input in flex scanner failed\n")


def test_table_name_longer_than_256(tmp_path):
    # names were accepted at any length; nft 1.0.6's answer (netns), only the first
    # long name, nothing evaluated after it
    f = tmp_path / "r.nft"
    name = "t" * 300
    f.write_text(f"table ip {name} {{ }}\nadd table ip x\nadd table ip {name}\n")
    rc, _, err = run(["-c", "-f", str(f)])
    assert (rc, err) == (1, f"{f}:1:10-309: Error: name too long, 256 characters maximum allowed\n"
                            f"table ip {name} {{ }}\n{' ' * 9}{'^' * 300}\n")


N257 = "n" * 257


@pytest.mark.parametrize("cmd", [
    "add chain ip t N", "add rule ip N c accept", "add rule ip t N accept", "add element ip t N { 1.2.3.4 }",
    "add counter ip t N", "add flowtable ip t N { hook ingress priority 0; }", "list table ip N",
    "delete rule ip t N handle 3", "add set ip t N { type ipv4_addr; }", "add quota ip t N 10 bytes",
    "add table ip t; add chain ip t c; add chain ip t N; add set ip t N { type ipv4_addr; }",
])
def test_name_of_257_characters_is_too_long(cmd):
    # nft 1.0.6 (cache.c nft_handle_validate): the caret under the first long name
    line = cmd.replace("N", N257)
    rc, _, err = run(["-c", line])
    col = line.index(N257)
    assert (rc, err) == (1, f"Error: name too long, 256 characters maximum allowed\n{line}\n"
                            f"{' ' * col}{'^' * 257}\n")


def test_long_name_in_a_table_block_is_not_checked_by_nft(tmp_path):
    # a table block's own chains are not in the command's handle: nft passes them to
    # the kernel (ERANGE there), and the check goes on to the next command
    f = tmp_path / "r.nft"
    f.write_text(f"table ip t {{\n chain c {{\n  jump {N257}\n }}\n}}\nadd chain ip t {N257}\n")
    rc, _, err = run(["-c", "-f", str(f)])
    assert rc == 1 and err.startswith(f"{f}:6:16-272: Error: name too long, 256 characters maximum allowed\n")
    assert err.count("Error") == 1


def test_long_name_after_a_syntax_error():
    rc, _, err = run(["-c", f"add table ip t; add rule ip t c meta mark set 1 foo; add chain ip t {N257}"])
    assert rc == 1 and err.count("Error") == 2
    assert err.startswith("Error: syntax error, unexpected semicolon\n")
    assert "Error: name too long, 256 characters maximum allowed\n" in err


def test_long_name_in_json(tmp_path):
    import json
    f = tmp_path / "r.json"
    f.write_text(json.dumps({"nftables": [{"add": {"table": {"family": "ip", "name": "t"}}},
                                          {"add": {"chain": {"family": "ip", "table": "t", "name": N257}}}]}))
    rc, _, err = run(["-c", "-j", "-f", str(f)])
    assert rc == 1 and "Error: name too long, 256 characters maximum allowed\n" in err


def test_name_of_256_characters_passes_the_parser():
    from pkttables.lang import parse
    assert parse("add chain ip t " + "m" * 256 + "\n").commands[0].obj.name == "m" * 256


def test_nonutf8_ifname_lists_raw(tmp_path):
    # render/delinearize.py decoded with errors="replace" (U+FFFD); nft 1.0.6 prints
    # the raw bytes (listing measured in a netns, byte for byte)
    f = tmp_path / "r.nft"
    f.write_bytes(NONUTF8)
    st = str(tmp_path / "s.state")
    assert run(["--state", st, "-f", str(f)])[0] == 0
    rc, out, _ = run(["--state", st, "list", "ruleset"])
    assert 'iifname "e\udcff" counter packets 0 bytes 0 comment "x\udcfe"' in out


def test_nonutf8_strings_in_json_listing(tmp_path):
    # nft 1.0.6 -j (netns): jansson refuses a string that is not UTF-8, so a comment
    # that is not is left out and so is a set element; text keeps both raw, and a set's
    # comment lists before its elements
    f = tmp_path / "r.nft"
    f.write_bytes(b'table ip t {\n set s {\n  type ifname\n  elements = { "a\xfe", "lo" comment "\xfe" }\n'
                  b' comment "s\xfe"\n }\n chain c {\n  iifname "lo" counter comment "x\xfe"\n }\n}\n')
    st = str(tmp_path / "s.state")
    assert run(["--state", st, "-f", str(f)])[0] == 0
    rc, out, _ = run(["--state", st, "-j", "list", "ruleset"])
    assert rc == 0
    assert '"elem": [{"elem": {"val": "lo"}}]' in out and '"comment"' not in out and "\udcfe" not in out
    rc, out, _ = run(["--state", st, "list", "ruleset"])
    assert ('\t\ttype ifname\n\t\tcomment "s\udcfe"\n\t\telements = { "lo" comment "\udcfe",\n'
            '\t\t\t     "a\udcfe" }\n') in out


@pytest.mark.parametrize("rule,limit", [
    ("meta cpu 0xffffffffffffffffffffffffffffffffffffffff", "4294967295"),
    ("ip frag-off 18446744073709551616", "65535"),
    ("tcp sequence 18446744073709551616", "4294967295"),
    ("meta length 99999999999999999999999", "4294967295"),
])
def test_integer_beyond_64_bits_exceeds_valid_range(rule, limit):
    # a number past 64 bits is a Symbol, and _parse_value's Symbol branch had no range
    # check: OverflowError in encode() (evaluate/_eval.py).  nft 1.0.6's bytes.
    line = f"add table ip t; add chain ip t c; add rule ip t c {rule}"
    rc, _, err = run([line])
    check(rc, err)
    word = rule.split()[-1]
    col = line.index(word)
    assert err == (f"Error: Value {int(word, 0)} exceeds valid range 0-{limit}\n{line}\n"
                   f"{' ' * col}{'^' * len(word)}\n")


_NEG = ('{"nftables": [{"add": {"table": {"family": "ip", "name": "t"}}}, {"add": {"chain": {"family": "ip", '
        '"table": "t", "name": "c"}}}, {"add": {"rule": {"family": "ip", "table": "t", "chain": "c", "expr": '
        '[{"match": {"left": LEFT, "op": "==", "right": -1}}]}}}]}')


@pytest.mark.parametrize("left,right,listed", [
    # nft 1.0.6 in a netns (nft -j -f, then nft list chain): the JSON integer is read as
    # the symbol "-N"; GMP's mpz_export_data keeps the magnitude's first word
    ('{"meta": {"key": "mark"}}', "-1", "meta mark 0x00000001"),
    ('{"meta": {"key": "mark"}}', "-4294967296", "meta mark 0x00000000"),
    ('{"meta": {"key": "mark"}}', "-4294967297", "meta mark 0x00000001"),
    ('{"payload": {"protocol": "ip", "field": "ttl"}}', "-300", "ip ttl 1"),
    ('{"payload": {"protocol": "tcp", "field": "sequence"}}', "-4294967297", "tcp sequence 1"),
    ('{"payload": {"protocol": "ip", "field": "version"}}', "-4", "ip version 12"),
    ('{"payload": {"protocol": "ip", "field": "dscp"}}', "-1", "ip dscp 0x3f"),
    ('{"sctp chunk": {"name": "shutdown-ack"}}', "-1", "sctp chunk shutdown-ack exists"),
    ('{"ct": {"key": "state"}}', "-2", "ct state == established"),
    ('{"meta": {"key": "iifname"}}', "-1", 'iifname "-1"'),
    ('{"meta": {"key": "length"}}', '{"set": [-1, -2]}', "meta length { 1, 2 }"),
    ('{"meta": {"key": "length"}}', '{"range": [-1, 5]}', "meta length 1-5"),
])
def test_negative_json_integer_in_a_match(tmp_path, left, right, listed):
    # evaluate/: OverflowError in encode()
    f = tmp_path / "r.json"
    f.write_text(_NEG.replace("LEFT", left).replace('"right": -1', f'"right": {right}'))
    st = str(tmp_path / "s.state")
    got, _, err = run(["--state", st, "-j", "-f", str(f)])
    check(got, err)
    assert got == 0, err
    assert f"\t\t{listed}\n" in run(["--state", st, "list", "chain", "ip", "t", "c"])[1]


@pytest.mark.parametrize("left,message", [
    ('{"payload": {"protocol": "tcp", "field": "dport"}}', "Service out of range"),
    ('{"meta": {"key": "l4proto"}}', "Protocol out of range"),
    ('{"payload": {"protocol": "ip", "field": "saddr"}}', "Could not resolve hostname: Name or service not known"),
])
def test_negative_json_integer_nft_refuses(tmp_path, left, message):
    f = tmp_path / "r.json"
    f.write_text(_NEG.replace("LEFT", left))
    got, _, err = run(["-c", "-j", "-f", str(f)])
    check(got, err)
    assert got == 1 and f"Error: {message}\n" in err


def test_api_cmd_from_file_dash_is_stdin(monkeypatch):
    # control/api.py opened a file named "-"; libnftables 1.0.6 reads standard input
    # and names it /dev/stdin (measured through libnftables.so.1 with ctypes)
    import io
    from pkttables.control.api import Nftables

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"add table ip t; junk\n")))
    n = Nftables()
    n.set_dry_run(True)
    assert n.cmd_from_file("-") == (-1, "", "/dev/stdin:1:21-21: Error: syntax error, unexpected newline, "
                                            "expecting string\nadd table ip t; junk\n                    ^\n")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"add table ip t\nlist tables\n")))
    assert n.cmd_from_file("-") == (0, "table ip t\n", "")


def test_api_cmd_from_file_directory(tmp_path):
    # libnftables prints flex's fatal error (and exit()s with 2: the API answers instead)
    from pkttables.control.api import Nftables
    assert Nftables().cmd_from_file(str(tmp_path)) == (-1, "", "input in flex scanner failed\n")


@pytest.mark.parametrize("rule,word", [
    ("snat to 1.2.3.4 ip6 to ::1", "to"), ("snat to 1.2.3.4 ip to ::1", "to"), ("ip to", "to"),
    ("ip6 to 1", "to"), ("ip foo", "string"), ("tcp to", "string"),
])
def test_to_after_ip_is_named_as_nft_names_it(rule, word):
    # ERR9: nft 1.0.6 says "unexpected to" after ip/ip6 (nat's `ip to` form), and
    # "unexpected string" after another protocol
    line = f"add rule ip t c {rule}"
    rc, _, err = run(["-c", "add table ip t; add chain ip t c { type nat hook postrouting priority 100; }; " + line])
    check(rc, err)
    assert rc == 1 and err.startswith(f"Error: syntax error, unexpected {word}\n")


@pytest.mark.parametrize("text", [
    b'{"nftables": [' + b"[" * 3000 + b"]" * 3000 + b"]}",                    # deeper than jansson
    b'{"nftables": [{"add": {"table": {"family": "ip", "name": "t\xff"}}}]}',  # not UTF-8
    b'{"nftables": [NaN]}', b'{"nftables": []} x', b'{"nftables": [}',
])
def test_json_jansson_refuses_is_read_as_nft_syntax(tmp_path, text):
    # "invalid JSON: ..." was pkt's own answer; libnftables 1.0.6 parses text jansson
    # does not load with bison instead (measured in a netns: only bison's error)
    f = tmp_path / "r.json"
    f.write_bytes(text + b"\n")
    rc, _, err = run(["-c", "-j", "-f", str(f)])
    check(rc, err)
    assert rc == 1 and err.startswith(f"{f}:1:1-1: Error: syntax error, unexpected '{{'\n")


@pytest.mark.parametrize("depth,ok", [(2043, True), (2044, False)])
def test_json_depth_limit_is_janssons(depth, ok):
    # jansson's JSON_PARSER_MAX_DEPTH 2048, with the 5 levels around the value
    # (nft 1.0.6: 2043 loads, 2044 is bison's "unexpected '{'"); Python's json alone
    # stops near 1000 levels
    from pkttables.lang.json_input import InvalidJSON, parse_json
    text = ('{"nftables": [{"add": {"table": {"family": "ip", "name": "t", "x": '
            + "[" * depth + "]" * depth + "}}}]}")
    if ok:
        assert parse_json(text).commands[0].obj.name == "t"
    else:
        with pytest.raises(InvalidJSON):
            parse_json(text)


@pytest.mark.parametrize("prefix,depth,col", [
    # a statement's value sits 2 stack entries higher (nft 1.0.6, netns)
    ("add rule ip t c meta mark set ", 9989, None),
    ("add rule ip t c meta mark set ", 9990, "10022-10022"),
    ("table ip t { chain c { meta mark set ", 9983, "10022-10022"),
    ("table ip t { chain c { meta mark set ", 12000, "10022-10022"),
])
def test_nesting_in_a_statement_value(tmp_path, prefix, depth, col):
    f = tmp_path / "r.nft"
    line = prefix + "(" * depth + "1" + ")" * depth
    f.write_text(line + "\n")
    rc, _, err = run(["-c", "-f", str(f)])
    check(rc, err)
    if col is None:
        assert "memory exhausted" not in err
    else:
        assert err.startswith(f"{f}:1:{col}: Error: memory exhausted\n{line[:1023]}\n")
