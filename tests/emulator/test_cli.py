"""``sm-bench emulator`` as a separate process, used through AWS_ENDPOINT_URL alone."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from sm_bench_widgets.emulator.process import ServedEmulator, emulator_command, served


@pytest.fixture
def emulator_process() -> Iterator[ServedEmulator]:
    """A running ``sm-bench emulator`` process, with the URL and banner it printed."""
    with served(time_scale=0.01, seed=5) as emulator:
        yield emulator


def test_served_emulator_is_usable_through_the_environment_only(emulator_process, monkeypatch):
    assert "EMULATED" in emulator_process.banner
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_process.url)
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

    assert emulator_process.stop() == 0
    assert "emulator stopped" in emulator_process.output


def test_bad_time_scale_is_refused():
    done = subprocess.run(
        emulator_command("--time-scale", "0"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--time-scale" in lines[0], done.stderr
