"""nft 1.0.6's exit status and stderr for each case of golden_errors.json (captured by
capture_golden.py on Linux 6.18), reproduced byte for byte by `pkt --state`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pkttables.cli.nft import main

GOLDEN = json.loads((Path(__file__).parent / "golden_errors.json").read_text())


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_same_answer_as_nft(name, tmp_path, capsys):
    case = GOLDEN[name]
    state = str(tmp_path / "s.state")
    if case["setup"]:
        assert main(["--state", state, case["setup"]]) == 0
        capsys.readouterr()
    rc = main(["--state", state, *case["argv"]])
    out, err = capsys.readouterr()
    assert rc == case["rc"]
    # Usage errors name the program: nft -> pkt.
    assert err == case["stderr"].replace("nft:", "pkt:")
    if case["rc"] == 0 and not case["stdout"]:
        assert out == ""
