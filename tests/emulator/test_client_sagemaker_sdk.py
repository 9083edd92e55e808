"""The sagemaker SDK v3 (``sagemaker-core``) on ``sm-bench emulator``.

The resource classes find the emulator through AWS_ENDPOINT_URL alone; the SDK's
``Session`` (which reaches STS at a fixed URL) through ``sagemaker_session(url)``.
"""

from __future__ import annotations

import boto3
import pytest

from sm_bench_widgets.emulator import sagemaker_session
from tests.emulator.leftovers import leftovers, nothing_left

pytest.importorskip("sagemaker.core")

from sagemaker.core.resources import Endpoint, EndpointConfig, Model  # noqa: E402


def _create_config(name: str, memory: int = 1024, max_concurrency: int = 2) -> EndpointConfig:
    """An endpoint config made with boto3, read back with the SDK.

    ``EndpointConfig.create`` cannot send a ServerlessConfig in sagemaker-core 2.27: it
    serializes ``memory_size_in_mb`` as ``MemorySizeInMb``, which botocore rejects before
    any request (on AWS as here).
    """
    boto3.client("sagemaker").create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "demo-tabular",
                "ServerlessConfig": {"MemorySizeInMB": memory, "MaxConcurrency": max_concurrency},
            }
        ],
    )
    return EndpointConfig.get(endpoint_config_name=name)


def test_resource_classes_get_create_refresh_wait_update_delete(served_env):
    model = Model.get(model_name="demo-tabular")
    assert model.model_name == "demo-tabular"
    first = _create_config("sdk-a")
    second = _create_config("sdk-b", 2048, 3)
    assert first.production_variants[0].serverless_config.max_concurrency == 2

    endpoint = Endpoint.create(endpoint_name="sdk", endpoint_config_name="sdk-a")
    endpoint.wait_for_status("InService", poll=1, timeout=60)
    assert endpoint.refresh().endpoint_status == "InService"
    assert [e.endpoint_name for e in Endpoint.get_all()] == ["sdk"]
    answer = endpoint.invoke(body=b"1,2,3,4", content_type="text/csv")
    assert 0 < float(answer.body.read()) < 1

    endpoint.endpoint_config_name = "sdk-b"
    endpoint.update()
    endpoint.wait_for_status("InService", poll=1, timeout=60)
    got = Endpoint.get(endpoint_name="sdk")
    assert got.endpoint_config_name == "sdk-b"
    assert got.production_variants[0].current_serverless_config.max_concurrency == 3

    endpoint.delete()
    endpoint.wait_for_delete(poll=1, timeout=60)
    first.delete()
    second.delete()
    assert leftovers() == nothing_left()


def test_session_account_bucket_and_endpoint_from_production_variants(served_env):
    session = sagemaker_session(served_env["AWS_ENDPOINT_URL"])
    assert session.account_id() == "123456789012"
    bucket = session.default_bucket()
    assert bucket == "sagemaker-us-east-1-123456789012"
    name = session.endpoint_from_production_variants(
        "sdk-variants",
        [
            {
                "VariantName": "AllTraffic",
                "ModelName": "demo-tabular",
                "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 2},
            }
        ],
        wait=False,  # the SDK's own wait polls every 30 s; boto3's waiter is the same test
    )
    assert name == "sdk-variants"
    sm = session.sagemaker_client
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 400}
    )
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    runtime = session.sagemaker_runtime_client
    answer = runtime.invoke_endpoint(EndpointName=name, Body=b"1,2,3,4", ContentType="text/csv")
    assert 0 < float(answer["Body"].read()) < 1
    session.delete_endpoint(name)
    sm.get_waiter("endpoint_deleted").wait(
        EndpointName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 400}
    )
    session.delete_endpoint_config(name)
    boto3.client("s3").delete_bucket(Bucket=bucket)
    assert leftovers() == nothing_left()
    assert boto3.client("s3").list_buckets()["Buckets"] == []
