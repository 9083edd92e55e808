"""``sm-bench emulator`` as a separate process, used through AWS_ENDPOINT_URL alone."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest


def command(*args: str) -> list[str]:
    exe = shutil.which("sm-bench")
    base = [exe] if exe else [sys.executable, "-m", "sm_bench_widgets.cli"]
    return [*base, "emulator", *args]


@pytest.fixture
def served():
    """A running ``sm-bench emulator`` process and the URL it printed."""
    proc = subprocess.Popen(
        command("--port", "0", "--time-scale", "0.01", "--seed", "5"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines, url = [], None
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "export AWS_ENDPOINT_URL=" in line:
            url = line.split("=", 1)[1].strip()
    try:
        assert url, "".join(lines)
        yield proc, url, "".join(lines)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_served_emulator_is_usable_through_the_environment_only(served, monkeypatch):
    proc, url, banner = served
    assert "EMULATED" in banner
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "anything")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "anything")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    session = boto3.session.Session()
    sm = session.client("sagemaker")
    rt = session.client("sagemaker-runtime")
    cw = session.client("cloudwatch")
    s3 = session.client("s3")
    assert session.client("sts").get_caller_identity()["Account"] == "123456789012"

    sm.create_endpoint_config(
        EndpointConfigName="cli",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "demo-tabular",
                "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 2},
            }
        ],
    )
    sm.create_endpoint(EndpointName="cli", EndpointConfigName="cli")
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName="cli", WaiterConfig={"Delay": 0.05, "MaxAttempts": 400}
    )
    resp = rt.invoke_endpoint(EndpointName="cli", Body=b"1,2,3,4\n", ContentType="text/csv")
    assert 0 < float(resp["Body"].read()) < 1
    now = datetime.now(UTC)
    point = cw.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Dimensions=[
            {"Name": "EndpointName", "Value": "cli"},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=5),
        Period=3600,
        ExtendedStatistics=["p50"],
    )["Datapoints"]
    assert point and point[0]["ExtendedStatistics"]["p50"] > 0
    s3.create_bucket(
        Bucket="results", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    s3.put_object(Bucket="results", Key="run/summary.csv", Body=b"a,b\n")
    assert s3.get_object(Bucket="results", Key="run/summary.csv")["Body"].read() == b"a,b\n"

    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "emulator stopped" in out


def test_bad_time_scale_is_refused():
    done = subprocess.run(command("--time-scale", "0"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--time-scale" in done.stderr
