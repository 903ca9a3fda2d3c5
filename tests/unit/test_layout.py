"""Repository layout rules that keep the test suite collectable as one run."""

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_test_module_basenames_are_unique():
    # pytest imports test modules by basename (rootdir-relative packages are not used), so two
    # test_x.py files in different folders break collection of the whole suite.
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []
