"""A moto server on 127.0.0.1 for the AWS-facing code, reset before each test."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from sm_bench_widgets.aws.clients import Target

ROLE_ARN = "arn:aws:iam::123456789012:role/sm-bench-test"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """The URL of a moto server running in this process for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def target(moto_url: str) -> Target:
    """A fresh target at an emptied moto server."""
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    return Target(region="us-east-1", endpoint_url=moto_url, emulated=True)


@pytest.fixture
def model(target: Target) -> str:
    """The name of a SageMaker model that exists on the moto server."""
    name = "demo-model"
    target.client("sagemaker").create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    )
    return name


def all_resources(target: Target) -> tuple[list[str], list[str]]:
    """Names of every endpoint and endpoint config at the target."""
    sm = target.client("sagemaker")
    endpoints = [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
    configs = [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]]
    return endpoints, configs


def inject(target: Target, operation: str, respond) -> None:
    """Answer ``operation`` on this target's SageMaker client with ``respond(params)``.

    ``respond(api_params)`` returns an error ``(code, message)``, a ``dict`` response, or
    ``None`` to let the call go to moto. Only for answers moto cannot give (failures, Creating).
    """
    from botocore.awsrequest import AWSResponse

    def handler(params, **kwargs):
        answer = respond(json.loads(params["body"] or b"{}"))
        if answer is None:
            return None
        if isinstance(answer, tuple):
            code, message = answer
            parsed = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {}}
            return AWSResponse("http://x", 400, {}, None), parsed
        return AWSResponse("http://x", 200, {}, None), answer

    client = target.client("sagemaker")
    client.meta.events.register(f"before-call.sagemaker.{operation}", handler)
