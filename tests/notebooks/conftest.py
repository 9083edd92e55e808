"""Fixtures for executing the notebooks: a python3 kernel and an emulator standing in for AWS."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def python3_kernel() -> str:
    """The name of a kernel running this interpreter, its kernelspec installed if missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        subprocess.run(
            [sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"],
            check=True,
        )
    return "python3"


@pytest.fixture(scope="session")
def aws_emulator() -> Iterator[object]:
    """An emulator on 127.0.0.1 that notebooks reach as "AWS" through ``AWS_ENDPOINT_URL``."""
    from sm_bench_widgets.emulator import LocalServerless

    with LocalServerless(time_scale=0.05, seed=7) as emulator:
        yield emulator


@pytest.fixture
def aws_env(aws_emulator: object, tmp_path: Path) -> dict[str, str]:
    """A kernel environment whose AWS is the emulator: endpoint URL, region, dummy keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=aws_emulator.endpoint_url,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="emulated",
        AWS_SECRET_ACCESS_KEY="emulated",
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
    )
    return env
