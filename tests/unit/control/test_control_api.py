"""pkttables.Nftables mirrors python-nftables: methods, flag values, return shapes."""

from __future__ import annotations

import inspect

import pytest

from pkttables import Nftables
import pkttables

# Every public method of python-nftables 1.0.6 (py/src/nftables.py).
PYNFT_METHODS = """get_reversedns_output set_reversedns_output get_service_output set_service_output
get_stateless_output set_stateless_output get_handle_output set_handle_output get_json_output
set_json_output get_echo_output set_echo_output get_guid_output set_guid_output
get_numeric_proto_output set_numeric_proto_output get_numeric_prio_output set_numeric_prio_output
get_numeric_symbol_output set_numeric_symbol_output get_numeric_time_output set_numeric_time_output
get_terse_output set_terse_output get_debug set_debug cmd json_cmd json_validate cmd_from_file
add_include_path clear_include_paths get_dry_run set_dry_run add_var clear_vars""".split()


def test_exported():
    assert "Nftables" in pkttables.__all__


def test_every_public_method_exists():
    for m in PYNFT_METHODS:
        assert callable(getattr(Nftables, m)), m
    assert Nftables.output_flags["json"] == 1 << 4 and Nftables.debug_flags["netlink"] == 0x8
    assert "sofile" in inspect.signature(Nftables).parameters


def test_cmd_shapes_and_rc():
    nft = Nftables()
    assert nft.cmd("add table inet t; add chain inet t c") == (0, "", "")
    rc, out, err = nft.cmd("add rule inet t nosuch accept")
    assert rc == -1 and out == ""
    assert err == ("Error: Could not process rule: No such file or directory\n"
                   "add rule inet t nosuch accept\n                ^^^^^^\n")
    rc, out, err = nft.cmd(b"add rule inet t c accept")
    assert (rc, out, err) == (0, b"", b"")
    assert len(nft.ruleset.chain("inet", "t", "c").rules) == 1


def test_each_instance_has_its_own_ruleset():
    a, b = Nftables(), Nftables()
    a.cmd("add table ip t")
    assert b.cmd("add chain ip t c")[0] == -1


def test_output_flags_return_bits_like_python_nftables():
    nft = Nftables()
    for name, bit in Nftables.output_flags.items():
        get, set_ = getattr(nft, f"get_{name}_output"), getattr(nft, f"set_{name}_output")
        assert get() == 0
        assert set_(True) == 0
        assert get() == bit
        assert set_(False) == bit
        assert get() == 0


def test_debug_flags():
    nft = Nftables()
    assert nft.get_debug() == []
    assert nft.set_debug("netlink") == []
    assert nft.set_debug(["eval", 0x1]) == ["netlink"]
    assert nft.get_debug() == ["scanner", "eval"]
    with pytest.raises(KeyError):
        nft.set_debug("bogus")


def test_debug_netlink_bytecode_in_output():
    from pkttables.commands import compile_available
    nft = Nftables()
    nft.cmd("add table ip t; add chain ip t c")
    nft.set_debug("netlink")
    rc, out, err = nft.cmd("add rule ip t c tcp dport 22 accept")
    assert rc == 0 and err == ""
    if compile_available():
        assert out.splitlines()[:2] == ["ip t c", "  [ meta load l4proto => reg 1 ]"]


def test_dry_run_vars_include_paths(tmp_path):
    nft = Nftables()
    assert nft.set_dry_run(True) is False and nft.get_dry_run() is True
    assert nft.cmd("add table ip t")[0] == 0
    nft.set_dry_run(False)
    assert nft.cmd("add chain ip t c")[0] == -1        # the dry run applied nothing
    assert nft.add_var("novalue") is False
    assert nft.add_var("port=22") is True
    assert nft.cmd("add table ip t; add chain ip t c; add rule ip t c tcp dport $port accept")[0] == 0
    nft.clear_vars()
    rc, _, err = nft.cmd("add rule ip t c tcp dport $port accept")
    assert rc == -1 and "unknown identifier 'port'" in err
    (tmp_path / "inc.nft").write_text("add chain ip t inc\n")
    assert nft.add_include_path(tmp_path) is True
    main = tmp_path / "main.nft"
    main.write_text('include "inc.nft"\n')
    assert nft.cmd_from_file(main) == (0, "", "")
    assert "inc" in nft.ruleset.table("ip", "t").chains
    nft.clear_include_paths()
    rc, _, err = nft.cmd_from_file(str(main))
    assert rc == -1 and "File not found: inc.nft" in err


def test_cmd_from_missing_file():
    rc, out, err = Nftables().cmd_from_file("/nonexistent/x.nft")
    assert rc == -1
    assert err == ('internal:0:0-0: Error: Could not open file "/nonexistent/x.nft": '
                   "No such file or directory\n\n\n")


def test_json_cmd_and_validate():
    nft = Nftables()
    doc = {"nftables": [{"add": {"table": {"family": "inet", "name": "j"}}},
                        {"add": {"chain": {"family": "inet", "table": "j", "name": "c"}}}]}
    rc, out, err = nft.json_cmd(doc)
    assert (rc, out, err) == (0, "", "")
    assert nft.get_json_output() == 0      # restored
    assert "c" in nft.ruleset.table("inet", "j").chains
    assert nft.json_validate(doc) is True
    with pytest.raises(Exception):
        nft.json_validate({"nftables": [{"add": {"table": {"family": 7}}}]})


def test_state_file_shared_with_cli(tmp_path):
    from pkttables.cli.nft import main
    p = tmp_path / "s"
    nft = Nftables(state=p)
    assert nft.cmd("add table inet t; add chain inet t c")[0] == 0
    assert main(["--state", str(p), "add rule inet t c accept"]) == 0
    assert len(Nftables(state=p).ruleset.chain("inet", "t", "c").rules) == 1
