"""JSON input against the real nft 1.0.6: what ``nft -j list ruleset`` prints, we read
into the same rules as what ``nft list ruleset`` prints (tests/unit/lang/json_golden)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HERE = os.path.join(os.path.dirname(__file__), "..", "unit", "lang")
sys.path.insert(0, HERE)
from test_json_input import check_listing_pair  # noqa: E402

pytestmark = pytest.mark.kernel


def test_json_listing_of_the_live_kernel_reads_like_its_text_listing():
    rs = os.path.join(HERE, "json_golden", "rs.nft")
    # unshare -n: an anonymous network namespace that dies with the shell.
    script = f"nft -f {rs} && nft -j list ruleset && echo '#--8<--' && nft list ruleset"
    out = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    jt, lt = out.stdout.split("#--8<--\n")
    check_listing_pair(jt, lt)
