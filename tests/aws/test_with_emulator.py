"""The AWS-facing layer against the local emulator: lifecycle, metrics with percentiles, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from sm_bench_widgets.aws.cloudwatch import fetch_endpoint_metrics
from sm_bench_widgets.aws.endpoints import (
    EndpointSpec,
    find_leftovers,
    managed_endpoints,
    wait_endpoints,
)


def test_lifecycle_invocations_and_percentiles(emulator_target):
    target = emulator_target
    run_id = f"test-{uuid.uuid4().hex}"
    runtime = target.client("sagemaker-runtime")
    labels = {"memory_size": 2048, "max_concurrency": 2, "provisioned_concurrency": 0}
    with managed_endpoints(target, run_id) as eps:
        names = [
            eps.create(EndpointSpec("demo-tabular", 2048, 2)),
            eps.create(EndpointSpec("demo-tabular", 1024, 1, 1)),
        ]
        statuses = wait_endpoints(target, names, timeout=30, poll=0.1)
        assert all(statuses[n].ok for n in names), statuses
        assert find_leftovers(target, run_id) == sorted(names)
        tagged = target.client("resourcegroupstaggingapi").get_resources(
            ResourceTypeFilters=["sagemaker:endpoint", "sagemaker:endpoint-config"],
            TagFilters=[{"Key": "sm-bench-widgets:run-id", "Values": [run_id]}],
        )["ResourceTagMappingList"]
        assert len(tagged) == 4  # the emulator serves the tagging API the sweep uses
        start = time.time()
        for i in range(20):
            runtime.invoke_endpoint(
                EndpointName=names[0], Body=f"{i},2,3,4", ContentType="text/csv"
            )
        frame = fetch_endpoint_metrics(
            target, names[0], start, time.time(), wait=5, poll=0.2, labels=labels
        )
    assert find_leftovers(target, run_id) == []

    latency = frame[frame.metric == "ModelLatency"].set_index("statistic")["value"]
    assert {"p50", "p90", "p99", "Minimum", "Maximum"} <= set(latency.index)
    assert latency["Minimum"] <= latency["p50"] <= latency["p90"] <= latency["Maximum"]
    invocations = frame[(frame.metric == "Invocations") & (frame.statistic == "Sum")]
    assert invocations["value"].sum() == 20
    assert (frame.memory_size == 2048).all()


def test_cli_needs_no_credentials_for_the_emulator(emulator, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_CONFIG_FILE"] = str(tmp_path / "config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "credentials")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sm_bench_widgets.cli",
            "cleanup",
            "--dry-run",
            "--run-id",
            "no-such-run",
            "--endpoint-url",
            emulator.endpoint_url,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "nothing to clean up for run no-such-run"
