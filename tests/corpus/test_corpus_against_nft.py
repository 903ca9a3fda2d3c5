"""The corpus against the real nft 1.0.6 (kernel tests: root, nft, namespaces).

Small samples so they stay fast; the full runs are ``generate.py --check --sample N``
and ``check_shared_with_nft.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import check_shared_with_nft  # noqa: E402
import generate  # noqa: E402
import nftpy  # noqa: E402

pytestmark = pytest.mark.kernel


def test_generated_sample_still_matches_nft():
    if not generate.RULES_DIR.is_dir():
        pytest.skip("no generated corpus")
    assert generate.check(sample=60, rulesets=3) == 0


@pytest.mark.skipif(not nftpy.SUITE_DIR.is_dir(), reason="shared suite missing")
def test_shared_suite_files_agree_with_nft():
    files = [nftpy.SUITE_DIR / "ip" / "ip.t", nftpy.SUITE_DIR / "inet" / "tcp.t", nftpy.SUITE_DIR / "any" / "ct.t"]
    stats = check_shared_with_nft.run(files, verbose=False, quiet=True)
    assert stats["bytecode_agree"] > 400
    assert stats["bytecode_disagree"] == 0
    assert stats["ok_rejected"] == 0
    assert stats["fail_accepted"] == 0 and stats["fail_aborted"] == 0
    assert stats["json_input_agree"] == stats["bytecode_agree"]
