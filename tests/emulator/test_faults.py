"""Fault injection: requests answered with the errors AWS sends, set over HTTP or the CLI."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError

from sm_bench_widgets.emulator.faults import CONTROL_PATH, Fault, FaultError
from tests.emulator.awsutil import clients, create, error_code, invoke, wait


def control(url: str, method: str, body: object = None) -> tuple[int, dict]:
    """A request to the emulator's fault control endpoint: (status, JSON answer)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + CONTROL_PATH, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def sagemaker(url: str, attempts: int):
    """A SageMaker client at ``url`` making at most ``attempts`` attempts per call."""
    return boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="emulated",
        aws_secret_access_key="emulated",
        config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}),
    )


def test_throttling_is_retried_by_botocore_and_counted(fresh_emulator):
    url = fresh_emulator.endpoint_url
    status, _ = control(
        url, "POST", {"operation": "ListEndpoints", "code": "ThrottlingException", "count": 2}
    )
    assert status == 200
    assert sagemaker(url, 3).list_endpoints()["Endpoints"] == []  # two throttles, then an answer
    (fault,) = control(url, "GET")[1]["faults"]
    assert (fault["seen"], fault["fired"]) == (2, 2)

    control(url, "POST", {"operation": "ListEndpoints", "code": "ThrottlingException"})
    with pytest.raises(ClientError) as err:
        sagemaker(url, 1).list_endpoints()
    assert error_code(err.value) == "ThrottlingException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    ("code", "status"), [("InternalFailure", 500), ("ServiceUnavailable", 503)]
)
def test_server_errors_carry_their_status(fresh_emulator, code, status):
    url = fresh_emulator.endpoint_url
    control(url, "POST", {"operation": "DescribeEndpoint", "code": code, "count": None})
    with pytest.raises(ClientError) as err:
        sagemaker(url, 2).describe_endpoint(EndpointName="x")
    assert error_code(err.value) == code
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert control(url, "GET")[1]["faults"][0]["fired"] == 2  # botocore retried once


def test_expired_token_on_every_control_call_until_cleared(fresh_emulator):
    aws = clients(fresh_emulator)
    create(aws, "before", "demo-tabular", max_concurrency=1)
    wait(aws, "before")
    control(
        fresh_emulator.endpoint_url,
        "POST",
        {"operation": "*", "code": "ExpiredTokenException", "count": None},
    )
    for call in (aws.sm.list_endpoints, lambda: aws.cw.list_metrics()):
        with pytest.raises(ClientError) as err:
            call()
        assert error_code(err.value) == "ExpiredTokenException"
        assert "expired" in err.value.response["Error"]["Message"]
    assert invoke(aws, "before")["Body"]  # '*' leaves the data plane alone
    assert control(fresh_emulator.endpoint_url, "DELETE") == (200, {"faults": []})
    assert [e["EndpointName"] for e in aws.sm.list_endpoints()["Endpoints"]] == ["before"]


def test_endpoint_creation_fails_with_the_injected_reason(fresh_emulator):
    aws = clients(fresh_emulator)
    fresh_emulator.faults.add(
        Fault.parse(
            {
                "operation": "CreateEndpoint",
                "code": "EndpointFailed",
                "message": "no capacity",
                "endpoint": "doomed",
            }
        )
    )
    create(aws, "fine", "demo-tabular", max_concurrency=1)
    create(aws, "doomed-1", "demo-tabular", max_concurrency=1)
    wait(aws, "fine")
    waiter = aws.sm.get_waiter("endpoint_in_service")
    with pytest.raises(WaiterError):
        waiter.wait(EndpointName="doomed-1", WaiterConfig={"Delay": 0.05, "MaxAttempts": 400})
    desc = aws.sm.describe_endpoint(EndpointName="doomed-1")
    assert (desc["EndpointStatus"], desc["FailureReason"]) == ("Failed", "no capacity")


def test_skip_lets_requests_through_first(fresh_emulator):
    aws = clients(fresh_emulator)
    fresh_emulator.faults.add(
        Fault.parse({"operation": "CreateEndpointConfig", "code": "InternalFailure", "skip": 1})
    )
    create(aws, "first", "demo-tabular", max_concurrency=1)
    with pytest.raises(ClientError) as err:
        create(aws, "second", "demo-tabular", max_concurrency=1)
    assert error_code(err.value) == "InternalFailure"
    create(aws, "third", "demo-tabular", max_concurrency=1)  # count 1: spent


def test_bad_faults_are_refused_saying_why(fresh_emulator):
    url = fresh_emulator.endpoint_url
    status, answer = control(url, "POST", {"operation": "ListEndpoints"})
    assert status == 400 and answer["error"].startswith("code:")
    status, answer = control(url, "POST", {"operation": "ListEndpoints", "code": "X", "count": 0})
    assert status == 400 and "count" in answer["error"]
    assert control(url, "GET") == (200, {"faults": []})
    with pytest.raises(FaultError, match="OPERATION=CODE"):
        Fault.from_option("CreateEndpoint")
    assert Fault.from_option("*=ThrottlingException:always").count is None


def test_cli_fault_option():
    from sm_bench_widgets.emulator.process import served

    with served("--fault", "ListEndpoints=ExpiredTokenException:1", time_scale=0.01) as emu:
        assert "1 fault(s) set" in emu.banner
        client = sagemaker(emu.url, 1)
        with pytest.raises(ClientError) as err:
            client.list_endpoints()
        assert error_code(err.value) == "ExpiredTokenException"
        assert client.list_endpoints()["Endpoints"] == []
