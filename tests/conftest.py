"""Shared fixtures: local SageMaker Serverless emulators over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd
import pytest

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.emulator import LocalServerless
from tests.rows import invocation_rows

# Every emulated duration runs 100x faster: a 2.5 s cold start takes 25 ms, the 300 s idle
# timeout 3 s, endpoint creation 30 ms. Latencies reported by the emulator stay unscaled.
TEST_TIME_SCALE = 0.01
TEST_SEED = 1234


@pytest.fixture(scope="session")
def emulator() -> Iterator[LocalServerless]:
    """One emulator for the whole session (state accumulates: use unique endpoint names)."""
    with LocalServerless(time_scale=TEST_TIME_SCALE, seed=TEST_SEED) as emu:
        yield emu


@pytest.fixture
def fresh_emulator() -> Iterator[LocalServerless]:
    """An emulator of its own for one test, with empty state, stopped afterwards."""
    with LocalServerless(time_scale=TEST_TIME_SCALE, seed=TEST_SEED) as emu:
        yield emu


@pytest.fixture
def emulator_target(emulator: LocalServerless) -> Target:
    """A ``Target`` at the session emulator."""
    return emulator.target()


@pytest.fixture
def emulator_env(emulator: LocalServerless, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point plain boto3 at the session emulator through the environment alone."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulated")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulated")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return emulator.endpoint_url


@pytest.fixture
def make_invocations() -> Callable[..., pd.DataFrame]:
    """The ``tests.rows.invocation_rows`` builder: sequential invocations of one trial."""
    return invocation_rows
