"""The golden overlap errors of tests/unit/sets/test_sets_overlap_errors.py, asked again
of the real nft: each case's ``base`` is loaded by ``nft -f`` in a network namespace of
our own, then its text, and nft's stderr must still be the pinned text (so the goldens
cannot drift from nft unnoticed; the unit test checks pkttables against them)."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess

import pytest

pytestmark = pytest.mark.kernel

_GOLDEN = pathlib.Path(__file__).parent.parent / "unit" / "sets" / "test_sets_overlap_errors.py"
_spec = importlib.util.spec_from_file_location("_sets_overlap_golden", _GOLDEN)
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)


@pytest.fixture(scope="module")
def nft():
    ns = f"pktsu{os.getpid()}ov"
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
    try:
        def run(*args, stdin=None):
            return subprocess.run(["ip", "netns", "exec", ns, "nft", *args], capture_output=True,
                                  text=True, input=stdin, timeout=60)
        yield run
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.mark.parametrize("case", golden.CASES, ids=[c.name for c in golden.CASES])
def test_nft_still_prints_the_golden_text(nft, case, tmp_path):
    assert nft("flush", "ruleset").returncode == 0
    if case.base is not None:
        base = tmp_path / "base.nft"
        base.write_text(case.base)
        r = nft("-f", str(base))
        assert r.returncode == 0, r.stderr
    if case.file == "<cmdline>":
        r = nft(*case.text.split())
    else:
        # run from tmp_path so that nft names the file as the golden does
        (tmp_path / case.file).write_text(case.text)
        r = subprocess.run(["ip", "netns", "exec", f"pktsu{os.getpid()}ov", "nft", "-f", case.file],
                           capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert r.returncode == 1
    assert r.stderr == case.nft
