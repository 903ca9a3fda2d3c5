"""Every list/reset command against nft 1.0.6's answers (golden_listing.json, captured by
capture_listing.py on listing_base.nft), the output flags of the Nftables API and the
CLI, and the reset semantics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pkttables.commands import Options, run_file, run_text
from pkttables.errors import PktError
from pkttables.model import Ruleset

HERE = Path(__file__).parent
CASES = json.loads((HERE / "golden_listing.json").read_text())
_FLAGS = {"-a": {"handle"}, "-s": {"stateless"}, "-t": {"terse"},
          "-n": {"numeric_proto", "numeric_prio", "numeric_symbol", "numeric_time"}}


@pytest.fixture(scope="module")
def base() -> Ruleset:
    return run_file(str(HERE / "listing_base.nft"), Ruleset()).ruleset


def _flags(fl: list[str]) -> set[str]:
    out: set[str] = set()
    for f in fl:
        out |= _FLAGS[f]
    return out


@pytest.mark.parametrize("case", CASES, ids=[" ".join(c["flags"] + [c["command"]]) for c in CASES])
def test_list_command_as_nft(base, case):
    try:
        out, err, rc = run_text(case["command"], base, Options(flags=_flags(case["flags"]))).output, "", 0
    except PktError as e:
        out, err, rc = "", e.render() + "\n", 1
    assert (rc, out, err) == (case["exit"], case["stdout"], case["stderr"])


def test_reset_zeroes_after_the_batch(base):
    r = run_text("reset counters; list counters", base)
    # the batch lists what it read; the values are zero afterwards
    assert r.output.count("packets 10 bytes 1000") == 2
    after = run_text("list counter inet t c1", r.ruleset).output
    assert "packets 0 bytes 0" in after
    assert "packets 10 bytes 1000" in run_text("list counter inet t c1", base).output   # base untouched
    q = run_text("reset quotas", base).ruleset
    assert "over 25 mbytes\n" in run_text("list quotas", q).output


def test_api_and_cli_list(tmp_path, capsys):
    from pkttables.cli.main import main as pkt_main
    from pkttables.control.api import Nftables
    nft = Nftables()
    assert nft.cmd("add table ip t; add chain ip t c { type filter hook input priority 0; }")[0] == 0
    nft.set_handle_output(True)
    rc, out, err = nft.cmd("list ruleset")
    assert rc == 0 and out.startswith("table ip t { # handle 1\n\tchain c { # handle 1\n")
    nft.set_numeric_prio_output(True)
    assert "priority 0;" in nft.cmd("list chain ip t c")[1]
    st = str(tmp_path / "state")
    assert pkt_main(["--state", st, "-f", str(HERE / "listing_base.nft")]) == 0
    capsys.readouterr()
    assert pkt_main(["--state", st, "-t", "list", "set", "inet", "t", "s"]) == 0
    assert capsys.readouterr().out == "table inet t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}\n}\n"


def test_owner_tables_do_not_outlive_the_session(tmp_path, capsys):
    from pkttables.cli.main import main as pkt_main
    st = str(tmp_path / "state")
    assert pkt_main(["--state", st, "add table ip t { flags owner; }; list ruleset"]) == 0
    assert capsys.readouterr().out == "table ip t {\n\tflags owner\n}\n"
    assert pkt_main(["--state", st, "list", "ruleset"]) == 0
    assert capsys.readouterr().out == ""
