"""Shared fixtures.  Kernel tests skip, with the reason, only where the kernel, root or
the tools are really missing -- and under CI=true they fail instead of skipping."""

from __future__ import annotations

import os

import pytest

from pkttables.testing.kernel_env import kernel_unavailable_reason


def pytest_collection_modifyitems(config, items):
    reason = kernel_unavailable_reason()
    if reason is None or os.environ.get("CI") == "true":
        return
    for item in items:
        if "kernel" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=f"kernel tests need {reason}"))


def pytest_runtest_setup(item):
    # CI must run the kernel tests: a missing kernel, root or tool is a failure there.
    if "kernel" in item.keywords and os.environ.get("CI") == "true":
        reason = kernel_unavailable_reason()
        if reason is not None:
            pytest.fail(f"CI must run kernel tests, but they need {reason}", pytrace=False)
