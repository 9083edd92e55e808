"""boto3's own waiters on ``sm-bench emulator``, through AWS_ENDPOINT_URL alone."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import WaiterError

from tests.emulator.leftovers import leftovers, nothing_left

FAST = {"Delay": 0.05, "MaxAttempts": 400}


def _config(sm, name: str, model: str = "demo-tabular", max_concurrency: int = 2) -> None:
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": max_concurrency},
            }
        ],
    )


def test_in_service_after_create_and_update_then_deleted(served_env):
    sm = boto3.client("sagemaker")
    _config(sm, "waiters-a")
    _config(sm, "waiters-b", max_concurrency=3)
    sm.create_endpoint(EndpointName="waiters", EndpointConfigName="waiters-a")
    assert sm.describe_endpoint(EndpointName="waiters")["EndpointStatus"] == "Creating"
    sm.get_waiter("endpoint_in_service").wait(EndpointName="waiters", WaiterConfig=FAST)
    sm.update_endpoint(EndpointName="waiters", EndpointConfigName="waiters-b")
    assert sm.describe_endpoint(EndpointName="waiters")["EndpointStatus"] == "Updating"
    sm.get_waiter("endpoint_in_service").wait(EndpointName="waiters", WaiterConfig=FAST)
    assert sm.describe_endpoint(EndpointName="waiters")["EndpointConfigName"] == "waiters-b"
    sm.delete_endpoint(EndpointName="waiters")
    sm.get_waiter("endpoint_deleted").wait(EndpointName="waiters", WaiterConfig=FAST)
    sm.delete_endpoint_config(EndpointConfigName="waiters-a")
    sm.delete_endpoint_config(EndpointConfigName="waiters-b")
    assert leftovers() == nothing_left()


def test_in_service_waiter_stops_on_a_failed_endpoint(served_env):
    sm = boto3.client("sagemaker")
    sm.create_model(
        ModelName="waiters-unrunnable",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        PrimaryContainer={"Image": "example.com/not-runnable:latest"},
    )
    _config(sm, "waiters-failed", model="waiters-unrunnable")
    sm.create_endpoint(EndpointName="waiters-failed", EndpointConfigName="waiters-failed")
    with pytest.raises(WaiterError, match="Failed"):
        sm.get_waiter("endpoint_in_service").wait(EndpointName="waiters-failed", WaiterConfig=FAST)
    sm.delete_endpoint(EndpointName="waiters-failed")
    sm.get_waiter("endpoint_deleted").wait(EndpointName="waiters-failed", WaiterConfig=FAST)
    sm.delete_endpoint_config(EndpointConfigName="waiters-failed")
    sm.delete_model(ModelName="waiters-unrunnable")
    assert leftovers() == nothing_left()
