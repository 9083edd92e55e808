"""Target choice and model picker: no credentials means the embedded emulator, said plainly."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from sm_bench_widgets.widgets import BenchmarkPanel
from sm_bench_widgets.widgets.models import list_model_names
from sm_bench_widgets.widgets.target import AWS, EMULATOR, has_aws_credentials
from tests.waiting import wait_until


@pytest.fixture
def no_aws_credentials(monkeypatch, tmp_path):
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_without_credentials_the_panel_starts_the_emulator_and_says_so(no_aws_credentials):
    assert not has_aws_credentials()
    panel = BenchmarkPanel(
        emulator_time_scale=0.01,
        model_name="demo-tabular",
        invoke_args_examples=[{"Body": "1,2,3,4"}],
    )
    chooser = panel.target_chooser
    assert chooser.choice.value == EMULATOR
    info = chooser.info.value
    assert "No AWS credentials found" in info and "Results are emulated" in info
    target = chooser.target()
    assert target.emulated and target.endpoint_url.startswith("http://127.0.0.1:")
    assert {"demo-tabular", "demo-nlp", "demo-mlp"} <= set(panel.model_picker.combo.options)
    assert not panel.run_button.disabled
    chooser.choice.value = AWS
    assert "No AWS credentials" in chooser.info.value
    assert panel.run_button.disabled
    chooser.choice.value = EMULATOR
    assert not panel.run_button.disabled


def _wait_past(moment: datetime) -> None:
    """Wait until the clock is past ``moment`` at the millisecond precision of CreationTime."""
    wait_until(
        lambda: datetime.now(UTC) >= moment + timedelta(milliseconds=1),
        30,
        f"the clock did not pass {moment.isoformat()}",
    )


def test_model_list_is_newest_first(emulator_target):
    sm = emulator_target.client("sagemaker")
    stamp = f"{time.time_ns():x}"[-8:]
    names = [f"picker-{stamp}-{i}" for i in range(3)]
    for name in names:
        sm.create_model(
            ModelName=name,
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:latest"},
            ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
        )
        _wait_past(sm.describe_model(ModelName=name)["CreationTime"])
    listed = [n for n in list_model_names(emulator_target) if n in names]
    assert listed == names[::-1]
