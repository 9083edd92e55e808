"""Fixtures of the emulator tests."""

from __future__ import annotations

import pytest

from sm_bench_widgets.emulator import LocalServerless
from tests.emulator.awsutil import Aws, clients


@pytest.fixture
def aws(emulator: LocalServerless) -> Aws:
    """Clients at the session emulator."""
    return clients(emulator)
