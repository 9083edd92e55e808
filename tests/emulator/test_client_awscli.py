"""The AWS CLI v1 (``awscli``) on ``sm-bench emulator``, through AWS_ENDPOINT_URL alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.emulator.leftovers import leftovers, nothing_left

pytest.importorskip("awscli")


def aws(*args: str) -> dict:
    """Run ``aws ARGS`` (no retries) and return its JSON output ({} when it prints none)."""
    env = {**os.environ, "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": ""}
    done = subprocess.run(
        [sys.executable, "-m", "awscli", *args, "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, f"aws {' '.join(args)} failed:\n{done.stderr}"
    return json.loads(done.stdout) if done.stdout.strip() else {}


def aws_fails(*args: str) -> str:
    """Run ``aws ARGS`` expecting a failure; what it printed on standard error."""
    env = {**os.environ, "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": ""}
    done = subprocess.run(
        [sys.executable, "-m", "awscli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode != 0
    return done.stderr


def variants(config: str, memory: int, max_concurrency: int) -> str:
    serverless = {"MemorySizeInMB": memory, "MaxConcurrency": max_concurrency}
    return json.dumps(
        [{"VariantName": "AllTraffic", "ModelName": "demo-tabular", "ServerlessConfig": serverless}]
    )


def test_the_cli_deploys_invokes_updates_and_deletes(served_env, tmp_path):
    aws(
        "sagemaker",
        "create-endpoint-config",
        "--endpoint-config-name",
        "cli-a",
        "--production-variants",
        variants("cli-a", 1024, 2),
    )
    aws("sagemaker", "create-endpoint", "--endpoint-name", "cli", "--endpoint-config-name", "cli-a")
    aws("sagemaker", "wait", "endpoint-in-service", "--endpoint-name", "cli")
    described = aws("sagemaker", "describe-endpoint", "--endpoint-name", "cli")
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "cli-a"

    out = tmp_path / "answer.txt"
    body = tmp_path / "body.csv"
    body.write_text("1,2,3,4\n")
    answer = aws(
        "sagemaker-runtime",
        "invoke-endpoint",
        "--endpoint-name",
        "cli",
        "--body",
        f"fileb://{body}",
        "--content-type",
        "text/csv",
        str(out),
    )
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    assert 0 < float(out.read_text()) < 1

    now = datetime.now(UTC)
    stats = aws(
        "cloudwatch",
        "get-metric-statistics",
        "--namespace",
        "AWS/SageMaker",
        "--metric-name",
        "Invocations",
        "--dimensions",
        "Name=EndpointName,Value=cli",
        "Name=VariantName,Value=AllTraffic",
        "--start-time",
        (now - timedelta(minutes=5)).isoformat(),
        "--end-time",
        (now + timedelta(minutes=1)).isoformat(),
        "--period",
        "60",
        "--statistics",
        "Sum",
    )
    assert sum(p["Sum"] for p in stats["Datapoints"]) == 1
    listed = aws("cloudwatch", "list-metrics", "--namespace", "AWS/SageMaker")["Metrics"]
    names = [
        m["MetricName"]
        for m in listed
        if {"Name": "EndpointName", "Value": "cli"} in m["Dimensions"]
    ]
    assert names.count("Invocations") == 1

    aws(
        "sagemaker",
        "create-endpoint-config",
        "--endpoint-config-name",
        "cli-b",
        "--production-variants",
        variants("cli-b", 2048, 3),
    )
    aws("sagemaker", "update-endpoint", "--endpoint-name", "cli", "--endpoint-config-name", "cli-b")
    aws("sagemaker", "wait", "endpoint-in-service", "--endpoint-name", "cli")
    assert (
        aws("sagemaker", "describe-endpoint", "--endpoint-name", "cli")["EndpointConfigName"]
        == "cli-b"
    )
    aws(
        "sagemaker",
        "update-endpoint-weights-and-capacities",
        "--endpoint-name",
        "cli",
        "--desired-weights-and-capacities",
        json.dumps(
            [{"VariantName": "AllTraffic", "ServerlessUpdateConfig": {"MaxConcurrency": 4}}]
        ),
    )
    aws("sagemaker", "wait", "endpoint-in-service", "--endpoint-name", "cli")
    variant = aws("sagemaker", "describe-endpoint", "--endpoint-name", "cli")["ProductionVariants"][
        0
    ]
    assert variant["CurrentServerlessConfig"]["MaxConcurrency"] == 4

    aws("sagemaker", "delete-endpoint", "--endpoint-name", "cli")
    aws("sagemaker", "wait", "endpoint-deleted", "--endpoint-name", "cli")
    for config in ("cli-a", "cli-b"):
        aws("sagemaker", "delete-endpoint-config", "--endpoint-config-name", config)
    assert leftovers() == nothing_left()


def test_the_cli_shows_an_unsupported_operation_at_once(served_env):
    stderr = aws_fails(
        "sagemaker", "describe-inference-component", "--inference-component-name", "x"
    )
    assert "ValidationException" in stderr
    assert "not supported by the local emulator" in stderr
    assert "reached max retries" not in stderr
    assert leftovers() == nothing_left()
