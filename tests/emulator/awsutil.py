"""Helpers for the emulator tests: plain boto3 clients and endpoint deployment."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from sm_bench_widgets.emulator import LocalServerless

_names = itertools.count()


@dataclass
class Aws:
    """Plain boto3 clients at one emulator (no retries, so throttles are seen as they are)."""

    sm: Any
    rt: Any
    cw: Any
    region: str


def clients(emu: LocalServerless, region: str = "us-east-1") -> Aws:
    """boto3 clients for sagemaker, sagemaker-runtime and cloudwatch at ``emu``."""
    config = Config(retries={"total_max_attempts": 1}, max_pool_connections=32)
    kw = dict(
        endpoint_url=emu.endpoint_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )
    return Aws(
        boto3.client("sagemaker", **kw),
        boto3.client("sagemaker-runtime", **kw),
        boto3.client("cloudwatch", **kw),
        region,
    )


def unique(prefix: str) -> str:
    """An endpoint name no other test uses."""
    return f"{prefix}-{next(_names)}"


def create(
    aws: Aws,
    name: str,
    model: str,
    memory: int = 2048,
    max_concurrency: int = 5,
    provisioned: int = 0,
) -> None:
    """Create an endpoint config and endpoint (does not wait)."""
    serverless = {"MemorySizeInMB": memory, "MaxConcurrency": max_concurrency}
    if provisioned:
        serverless["ProvisionedConcurrency"] = provisioned
    aws.sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": model, "ServerlessConfig": serverless}
        ],
    )
    aws.sm.create_endpoint(EndpointName=name, EndpointConfigName=name)


def wait(aws: Aws, name: str) -> None:
    """Wait for InService with boto3's own waiter (polling fast)."""
    aws.sm.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 400}
    )


def deploy(aws: Aws, model: str, **kw: Any) -> str:
    """Create an endpoint for ``model`` and wait until it is InService; its name."""
    name = unique(model)
    create(aws, name, model, **kw)
    wait(aws, name)
    return name


def invoke(
    aws: Aws, name: str, body: bytes = b"1,2,3,4", content_type: str = "text/csv", **kw: Any
) -> dict:
    """InvokeEndpoint; the response with the body read into ``Body``."""
    resp = aws.rt.invoke_endpoint(EndpointName=name, Body=body, ContentType=content_type, **kw)
    resp["Body"] = resp["Body"].read()
    return resp


def header(resp: dict, name: str) -> str | None:
    """A response header."""
    return resp["ResponseMetadata"]["HTTPHeaders"].get(name)


def setup_us(resp: dict) -> int | None:
    """The ModelSetupTime the emulator reports for this invocation (cold starts only)."""
    value = header(resp, "x-sm-bench-model-setup-time-us")
    return None if value is None else int(value)


def error_code(exc: ClientError) -> str:
    """The AWS error code of a failed call."""
    return exc.response["Error"]["Code"]


def burst(aws: Aws, name: str, n: int, body: bytes = b"1,2,3,4") -> list[tuple[str, dict | None]]:
    """``n`` invocations released at once: each one's outcome ("ok" or error code) and response."""
    gate = threading.Barrier(n)
    out: list[tuple[str, dict | None]] = [("", None)] * n

    def one(i: int) -> None:
        gate.wait()
        try:
            out[i] = ("ok", invoke(aws, name, body))
        except ClientError as exc:
            out[i] = (error_code(exc), exc.response)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out
