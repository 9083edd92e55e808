"""A moto server on 127.0.0.1 for the AWS-facing code, in an account emptied per test."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.emulator import moto_adapter

TEST_ACCOUNT = "210987654321"
ROLE_ARN = f"arn:aws:iam::{TEST_ACCOUNT}:role/sm-bench-test"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """The URL of a moto server running in this process for the whole session.

    moto's tagging API is fixed for endpoint configs as the emulator fixes it.
    """
    moto_adapter.fix_endpoint_config_arns()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


class AccountTarget(Target):
    """A ``Target`` whose requests go to one moto account, apart from other tests' state.

    moto keeps state per process and account; the emulator used elsewhere in the suite
    runs in this process too, so these tests use an account of their own.
    """

    def client(self, service: str):
        client = super().client(service)
        if not getattr(client, "_test_account_pinned", False):
            client.meta.events.register("before-sign", _pin_account)
            client._test_account_pinned = True
        return client


def _pin_account(request, **kwargs) -> None:
    request.headers["x-moto-account-id"] = TEST_ACCOUNT


def wipe_test_account() -> None:
    """Forget every moto backend of the test account (all services and regions)."""
    moto_adapter.wipe_account(TEST_ACCOUNT)


@pytest.fixture
def target(moto_url: str) -> Iterator[Target]:
    """A fresh target at the moto server, in an emptied account of its own."""
    wipe_test_account()
    yield AccountTarget(region="us-east-1", endpoint_url=moto_url, emulated=True)
    wipe_test_account()


@pytest.fixture
def account_credentials(target: Target) -> dict[str, str]:
    """Access keys that moto maps to the test account, for processes we start."""
    iam = target.client("iam")
    iam.create_user(UserName="sm-bench-test")
    key = iam.create_access_key(UserName="sm-bench-test")["AccessKey"]
    return {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }


@pytest.fixture
def model(target: Target) -> str:
    """The name of a SageMaker model that exists on the moto server."""
    name = "demo-model"
    target.client("sagemaker").create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": f"{TEST_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/x:1"},
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
