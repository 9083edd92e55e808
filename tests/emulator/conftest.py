"""Fixtures of the emulator tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sm_bench_widgets.emulator import LocalServerless
from sm_bench_widgets.emulator.process import served
from tests.emulator.awsutil import Aws, clients


@pytest.fixture
def aws(emulator: LocalServerless) -> Aws:
    """Clients at the session emulator."""
    return clients(emulator)


@pytest.fixture(scope="module")
def served_env() -> Iterator[dict[str, str]]:
    """``sm-bench emulator`` in its own process, and the environment that points at it.

    The variables are set for the module's tests (only ``AWS_ENDPOINT_URL`` and dummy
    credentials: a client finds the emulator the way a user's would).
    """
    with served(time_scale=0.01, seed=3) as process:
        env = {
            "AWS_ENDPOINT_URL": process.url,
            "AWS_ACCESS_KEY_ID": "emulated",
            "AWS_SECRET_ACCESS_KEY": "emulated",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
                patch.delenv(key, raising=False)
            yield env
