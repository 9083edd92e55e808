"""Operations the emulator does not serve are refused as AWS refuses them; the docs' list."""

from __future__ import annotations

import json
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sm_bench_widgets.emulator import ModelProfile, operations
from sm_bench_widgets.emulator.operations_doc import DEFAULT_PATH, render
from tests.emulator.awsutil import burst, deploy, invoke

# 40 s of emulated compute per request (0.4 s real at the test time scale): a burst overlaps
SLOW = ModelProfile(
    base_ms_at_1vcpu=40_000, cold_start_ms=1000, sigma=0.0, cold_start_sigma=0.0, footprint_mb=200
)


def _client(emulator, service: str):
    """A client with botocore's default retries: a refusal must not be retried."""
    return boto3.client(
        service,
        endpoint_url=emulator.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard"}),
    )


def _refused(call) -> dict:
    with pytest.raises(ClientError) as err:
        call()
    response = err.value.response
    assert response["ResponseMetadata"]["RetryAttempts"] == 0
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return response["Error"]


def test_a_sagemaker_operation_moto_lacks_is_a_json_validation_error(emulator):
    sm = _client(emulator, "sagemaker")
    error = _refused(lambda: sm.describe_inference_component(InferenceComponentName="x"))
    assert error["Code"] == "ValidationException"
    assert error["Message"] == "DescribeInferenceComponent is not supported by the local emulator."


def test_a_query_protocol_operation_moto_lacks_is_a_validation_error(emulator):
    sts = _client(emulator, "sts")
    error = _refused(lambda: sts.decode_authorization_message(EncodedMessage="x"))
    assert error["Code"] == "ValidationError"
    assert "not supported by the local emulator" in error["Message"]


@pytest.mark.parametrize(
    "operation", ["invoke_endpoint_async", "invoke_endpoint_with_response_stream"]
)
def test_runtime_operations_other_than_invoke_are_refused(emulator, operation):
    rt = _client(emulator, "sagemaker-runtime")
    kwargs = {"EndpointName": "any"}
    if operation == "invoke_endpoint_async":
        kwargs["InputLocation"] = "s3://bucket/key"
    else:
        kwargs["Body"] = b"1"
    error = _refused(lambda: getattr(rt, operation)(**kwargs))
    assert error["Code"] == "ValidationError"
    assert "not supported by the local emulator" in error["Message"]


def test_an_operation_sagemaker_does_not_have_is_an_unknown_operation(emulator):
    request = urllib.request.Request(
        emulator.endpoint_url,
        data=b"{}",
        headers={
            "X-Amz-Target": "SageMaker.MakeCoffee",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/sagemaker/"
            "aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)
    assert err.value.code == 400
    body = json.loads(err.value.read())
    assert body["__type"] == "UnknownOperationException"


def test_update_endpoint_is_served_not_a_500(emulator, aws):
    name = deploy(aws, "demo-tabular")
    sm = _client(emulator, "sagemaker")
    answer = sm.update_endpoint(EndpointName=name, EndpointConfigName=name)
    assert answer["EndpointArn"].endswith(f"endpoint/{name}")
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 400}
    )
    aws.sm.delete_endpoint(EndpointName=name)
    aws.sm.delete_endpoint_config(EndpointConfigName=name)


def test_throttling_is_a_400_with_a_null_message_as_on_aws(aws, emulator):
    slow = emulator.register_profile_model("test-slow-operations", SLOW)
    name = deploy(aws, slow, max_concurrency=1)
    throttles = [resp for code, resp in burst(aws, name, 3) if code == "ThrottlingException"]
    assert throttles
    response = throttles[0]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"].get("Message") in (None, "")
    invoke(aws, name)
    aws.sm.delete_endpoint(EndpointName=name)
    aws.sm.delete_endpoint_config(EndpointConfigName=name)


def test_the_catalogue_sorts_every_operation_once():
    for service, groups in operations.catalogue().items():
        listed = [op for ops in groups.values() for op in ops]
        assert len(listed) == len(set(listed)), service
        assert set(operations.OWN.get(service, {})) <= set(groups["emulator"])
    assert operations.support("sagemaker", "UpdateEndpoint") == "emulator"
    assert operations.support("sagemaker", "CreateModel") == "moto"
    assert operations.support("sagemaker-runtime", "InvokeEndpointAsync") == "unsupported"


def test_the_docs_list_of_operations_is_up_to_date():
    assert DEFAULT_PATH.read_text(encoding="utf-8") == render(), (
        "docs/emulator-operations.md is stale: run "
        "python -m sm_bench_widgets.emulator.operations_doc"
    )
