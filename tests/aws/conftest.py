"""A moto server on 127.0.0.1 for the AWS-facing code, reset before each test."""

from __future__ import annotations

import threading
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


def inject(target: Target, operation: str, respond, service: str = "sagemaker", status=400):
    """Answer ``operation`` on this target's ``service`` client with ``respond(api_params)``.

    ``respond`` returns an error ``(code, message)`` (sent with HTTP ``status``), a ``dict``
    response, or ``None`` to let the call go to moto. Only for answers moto cannot give
    (failures, an endpoint still Creating).
    """
    from botocore.awsrequest import AWSResponse

    seen = threading.local()

    def remember(params, **kwargs):
        seen.params = dict(params)

    def answer(**kwargs):
        reply = respond(seen.params)
        if reply is None:
            return None
        if isinstance(reply, tuple):
            code, message = reply
            parsed = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {}}
            return AWSResponse("http://injected", status, {}, None), parsed
        return AWSResponse("http://injected", 200, {}, None), reply

    client = target.client(service)
    event_service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-parameter-build.{event_service}.{operation}", remember)
    client.meta.events.register(f"before-call.{event_service}.{operation}", answer)
