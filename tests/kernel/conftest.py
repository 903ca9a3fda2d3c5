"""Fixtures of the kernel-oracle tests; the hosts themselves are in lab_hosts.py (a plain
module, so tests import it by name without clashing with tests/conftest.py)."""

from __future__ import annotations

import pytest

from lab_hosts import two_interface_host
from pkttables.stack.host import Host


@pytest.fixture
def host() -> Host:
    return two_interface_host()
