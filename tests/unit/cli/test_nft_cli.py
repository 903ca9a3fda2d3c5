"""`pkt` as nft: options, one command line from words, exit codes, routing from main."""

from __future__ import annotations

import pytest

from pkttables.cli.main import main as pkt_main
from pkttables.cli.nft import main, parse_args


def test_options_parse_like_getopt():
    a = parse_args(["-ac", "-I", "/x", "-D", "a=1", "--debug=netlink,eval", "-j", "add", "rule", "ip",
                    "t", "c", "meta", "mark", "set", "-1"])
    assert a.check and a.opts.dry_run
    assert {"handle", "json"} <= a.opts.flags
    assert a.opts.include_paths == ["/x"] and a.opts.vars == {"a": "1"}
    assert a.opts.debug == {"netlink", "eval"}
    assert a.words[-1] == "-1"      # options end at the first command word
    n = parse_args(["-n", "-o", "-s", "-t", "-S", "-N", "-u", "-y", "-p", "-T", "-e", "list", "ruleset"])
    assert {"numeric_proto", "numeric_prio", "numeric_symbol", "numeric_time", "stateless",
            "terse", "service", "reversedns", "guid", "echo"} <= n.opts.flags
    assert parse_args(["--state", "F", "-fX"]).state == "F"


@pytest.mark.parametrize("argv,msg", [
    (["--bogus"], "pkt: unrecognized option '--bogus'\n"),
    (["-x"], "pkt: invalid option -- 'x'\n"),
    (["-f"], "pkt: option requires an argument -- 'f'\n"),
    ([], "pkt: no command specified\n"),
    (["-d", "nope", "list", "ruleset"], "pkt: invalid debug parameter `nope'\n"),
])
def test_usage_errors_exit_1(argv, msg, capsys):
    assert main(argv) == 1
    assert capsys.readouterr().err == msg


def test_words_are_one_command_line(tmp_path, capsys):
    s = str(tmp_path / "s")
    assert main(["--state", s, "add table ip t; add chain ip t c"]) == 0
    assert main(["--state", s, "add", "rule", "ip", "t", "c", "tcp", "dport", "22", "accept"]) == 0
    from pkttables.commands import StateStore
    assert len(StateStore(s).load().chain("ip", "t", "c").rules) == 1


def test_check_only_file(tmp_path, capsys):
    f = tmp_path / "r.nft"
    f.write_text("table inet t {\n\tchain c {\n\t\ttype filter hook input priority 0; policy drop;\n"
                 "\t\ttcp dport 22 accept\n\t}\n}\n")
    assert main(["-c", "-f", str(f)]) == 0
    f.write_text("table inet t {\n\tchain c {\n\t\ttype filter hook nosuch priority 0;\n\t}\n}\n")
    assert main(["-c", "-f", str(f)]) == 1
    assert capsys.readouterr().err == (f"{f}:3:20-25: Error: unknown chain hook\n"
                                       "\t\ttype filter hook nosuch priority 0;\n\t\t                 ^^^^^^\n")


def test_debug_netlink_prints_bytecode_even_when_the_rule_fails(capsys):
    from pkttables.commands import compile_available
    assert main(["--debug=netlink", "add", "rule", "ip", "t", "c", "tcp", "dport", "22", "accept"]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("Error: Could not process rule: No such file or directory\n")
    if compile_available():
        assert out.startswith("ip t c\n  [ meta load l4proto => reg 1 ]\n")


def test_main_routes_non_verbs_to_nft(tmp_path, capsys):
    s = str(tmp_path / "s")
    assert pkt_main(["--state", s, "add", "table", "ip", "t"]) == 0
    assert pkt_main(["add", "chain", "ip", "nosuch", "c"]) == 1
    assert "Could not process rule" in capsys.readouterr().err
    assert pkt_main(["list", "ruleset"]) == 0     # an empty ruleset lists as nothing
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("argv,err", [
    # nft 1.0.6 (a command line ends with a newline token)
    (["list"], "Error: syntax error, unexpected newline\nlist\n    ^\n"),
    (["frobnicate"], "Error: syntax error, unexpected newline, expecting string\nfrobnicate\n          ^\n"),
])
def test_command_line_ends_with_newline_like_nft(argv, err, capsys):
    assert main(argv) == 1
    assert capsys.readouterr().err == err


def test_interactive_mode_runs_commands_with_the_command_line_flags(monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("add table ip t\nadd chain ip t c\nlist ruleset\nquit\n"))
    from pkttables.cli.main import main as pkt_main

    assert pkt_main(["-a", "-i"]) == 0
    out = capsys.readouterr().out
    assert "table ip t { # handle 1" in out and "chain c { # handle 1" in out
