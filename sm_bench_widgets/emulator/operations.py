"""Which operations the emulator answers, and how it refuses the others.

Each operation of a served service is the emulator's own (``OWN``: its data plane, its
lifecycle, its job runner, or a correction of moto's answer), moto's (state kept, nothing
runs), or not supported. An unsupported one is refused as AWS refuses a request it will not
serve: a 400 error in the service's protocol (JSON, query XML or REST), which SDKs and the
CLI do not retry. ``catalogue()`` is the list the docs print.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs

from sm_bench_widgets.emulator import moto_adapter

NOT_SUPPORTED = "is not supported by the local emulator"
# moto's words for an action it lacks (its other NotImplementedErrors say more, and are kept)
MOTO_NOT_IMPLEMENTED = re.compile(r"^The \w+ action has not been implemented$")
# the services the emulator serves with a list of operations (S3 is moto's as a whole)
LISTED_SERVICES = (
    "sagemaker",
    "sagemaker-runtime",
    "cloudwatch",
    "logs",
    "sts",
    "iam",
    "service-quotas",
)
_PROCESSING = "runs locally: one process per host (see the README)"
OWN: dict[str, dict[str, str]] = {
    "sagemaker": {
        "CreateEndpointConfig": "ServerlessConfig checked as SageMaker checks it, then kept "
        "by moto",
        "CreateEndpoint": "Creating, then InService (provisioned instances started warm) or "
        "Failed with a FailureReason; the endpoint config is copied, so deleting it later "
        "does not affect the endpoint; ResourceLimitExceeded past the account's serverless "
        "quotas",
        "UpdateEndpoint": "Updating, then InService on the new config: its instances start "
        "(provisioned ones warm, the rest cold on first use), the old ones are drained; a "
        "failed update rolls back with a FailureReason; ResourceLimitExceeded when it would "
        "raise capacity past the account's serverless quotas",
        "UpdateEndpointWeightsAndCapacities": "ServerlessUpdateConfig (MaxConcurrency, "
        "ProvisionedConcurrency) checked and applied in place, Updating then InService; "
        "DesiredWeight and DesiredInstanceCount are ignored; ResourceLimitExceeded when it "
        "would raise MaxConcurrency past the account's serverless quotas",
        "DeleteEndpoint": "instances stopped",
        "DescribeEndpoint": "moto's answer without the empty structures SageMaker leaves out",
        "DescribeEndpointConfig": "moto's answer without the empty structures SageMaker leaves out",
        "DescribeModel": "moto's answer without the empty structures SageMaker leaves out",
        "CreateProcessingJob": _PROCESSING,
        "DescribeProcessingJob": _PROCESSING,
        "ListProcessingJobs": _PROCESSING,
        "StopProcessingJob": _PROCESSING,
    },
    "sagemaker-runtime": {
        "InvokeEndpoint": "the serverless data plane: one request per instance, cold starts, "
        "MaxConcurrency throttling, memory limits, the 4 MB and 60 s limits, metrics",
    },
    "service-quotas": {
        op: "the emulator's serverless quotas (service code sagemaker): total concurrency "
        "(L-96300102) and serverless endpoints"
        for op in (
            "GetServiceQuota",
            "GetAWSDefaultServiceQuota",
            "ListServiceQuotas",
            "ListAWSDefaultServiceQuotas",
        )
    },
    "iam": {
        "SimulatePrincipalPolicy": "every action allowed for a user or role that exists (the "
        "emulator enforces no IAM policy), NoSuchEntity for one that does not",
    },
    "cloudwatch": {
        "GetMetricData": "moto's, with percentile statistics (p50, p99.9, ...)",
        "GetMetricStatistics": "moto's, with ExtendedStatistics (percentiles)",
        "ListMetrics": "moto's, listing each metric and dimension set once",
    },
}
# operations moto answers that the emulator refuses, since moto's answer would mislead
REFUSED: dict[str, dict[str, str]] = {
    "sagemaker-runtime": {
        "InvokeEndpointAsync": "asynchronous inference",
        "InvokeEndpointWithResponseStream": "response streaming",
    },
}
# JSON protocol target prefixes and query-protocol signing names of the listed services
_TARGET_PREFIXES = {
    "SageMaker": "sagemaker",
    "Logs_20140328": "logs",
    "GraniteServiceVersion20100801": "cloudwatch",
}
_SIGNING_NAMES = {"sts": "sts", "iam": "iam", "monitoring": "cloudwatch"}
_RUNTIME_REFUSED_PATHS = {
    "async-invocations": "InvokeEndpointAsync",
    "invocations-response-stream": "InvokeEndpointWithResponseStream",
}
REFUSED_RUNTIME_PATH = re.compile(
    r"^/endpoints/[^/]+/(async-invocations|invocations-response-stream)$"
)
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/")


@cache
def _operations(service: str) -> tuple[str, ...]:
    import botocore.session

    return tuple(botocore.session.get_session().get_service_model(service).operation_names)


@cache
def _moto_actions(service: str) -> frozenset[str]:
    return frozenset(moto_adapter.implemented_actions(service))


def support(service: str, operation: str) -> str:
    """``"emulator"``, ``"moto"`` or ``"unsupported"`` for one operation of a listed service."""
    if operation in OWN.get(service, {}):
        return "emulator"
    if operation in REFUSED.get(service, {}):
        return "unsupported"
    return "moto" if operation in _moto_actions(service) else "unsupported"


def catalogue() -> dict[str, dict[str, list[str]]]:
    """Per listed service, its operations by support (``emulator``, ``moto``, ``unsupported``)."""
    out: dict[str, dict[str, list[str]]] = {}
    for service in LISTED_SERVICES:
        groups: dict[str, list[str]] = {"emulator": [], "moto": [], "unsupported": []}
        for op in sorted(_operations(service)):
            groups[support(service, op)].append(op)
        out[service] = groups
    return out


# -- refusals --------------------------------------------------------------------------------
@dataclass
class Refusal:
    """An HTTP error answer: status line, headers and body."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes


def refuse_unsupported(environ: dict[str, Any], body: bytes, detail: str = "") -> Refusal:
    """The error for a request the emulator does not serve, in the request's protocol."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target and "." in target:
        prefix, action = target.split(".", 1)
        service = _TARGET_PREFIXES.get(prefix)
        if service is not None and action not in _operations(service):
            return json_error(environ, "UnknownOperationException", f"Unknown operation {action}.")
        return json_error(environ, "ValidationException", _message(action, detail))
    path = environ.get("PATH_INFO", "")
    match = REFUSED_RUNTIME_PATH.match(path)
    if match:
        action = _RUNTIME_REFUSED_PATHS[match.group(1)]
        return rest_json_error("ValidationError", _message(action, detail))
    form = form_params(environ, body)
    if "Action" in form:
        action = form["Action"]
        service = _SIGNING_NAMES.get(signing_name(environ) or "")
        if service is not None and action not in _operations(service):
            return query_error("InvalidAction", f"Could not find operation {action}.")
        return query_error("ValidationError", _message(action, detail))
    if signing_name(environ) == "s3":
        return s3_error("NotImplemented", _message(environ.get("REQUEST_METHOD", ""), detail))
    return rest_json_error("ValidationException", _message(path, detail))


def internal_failure(environ: dict[str, Any], body: bytes, detail: str) -> Refusal:
    """An InternalFailure (HTTP 500, retried by clients as on AWS) in the request's protocol."""
    message = f"The local emulator failed: {detail}"
    if environ.get("HTTP_X_AMZ_TARGET"):
        refusal = json_error(environ, "InternalFailure", message)
    elif "Action" in form_params(environ, body):
        refusal = query_error("InternalFailure", message, sender=False)
    else:
        refusal = rest_json_error("InternalFailure", message)
    refusal.status = "500 Internal Server Error"
    return refusal


def _message(action: str, detail: str) -> str:
    text = f"{action} {NOT_SUPPORTED}."
    if not detail or MOTO_NOT_IMPLEMENTED.search(detail):
        return text
    return f"{text} {detail}"


def signing_name(environ: dict[str, Any]) -> str | None:
    """The service a SigV4-signed request was signed for (``monitoring``, ``s3``), or None."""
    match = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else None


def form_params(environ: dict[str, Any], body: bytes) -> dict[str, str]:
    """The query-protocol parameters of a request (form body or query string)."""
    text = environ.get("QUERY_STRING", "")
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        text = f"{text}&{body.decode('utf-8', 'replace')}"
    return {k: v[0] for k, v in parse_qs(text).items()}


def json_error(environ: dict[str, Any], code: str, message: str) -> Refusal:
    """A 400 error in the awsJson protocol (the version the request used)."""
    content_type = environ.get("CONTENT_TYPE") or "application/x-amz-json-1.1"
    body = json.dumps({"__type": code, "message": message}).encode()
    return Refusal("400 Bad Request", _headers(content_type, body), body)


def rest_json_error(code: str, message: str) -> Refusal:
    """A 400 error in the restJson protocol (code in ``x-amzn-ErrorType``)."""
    body = json.dumps({"message": message}).encode()
    headers = [*_headers("application/json", body), ("x-amzn-ErrorType", code)]
    return Refusal("400 Bad Request", headers, body)


def query_error(code: str, message: str, sender: bool = True) -> Refusal:
    """A 400 error in the awsQuery protocol (XML ``ErrorResponse``)."""
    body = (
        "<ErrorResponse><Error>"
        f"<Type>{'Sender' if sender else 'Receiver'}</Type><Code>{_xml(code)}</Code>"
        f"<Message>{_xml(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return Refusal("400 Bad Request", _headers("text/xml", body), body)


def s3_error(code: str, message: str) -> Refusal:
    """A 400 error in S3's restXml protocol."""
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{_xml(code)}</Code>'
        f"<Message>{_xml(message)}</Message><RequestId>{uuid.uuid4()}</RequestId></Error>"
    ).encode()
    return Refusal("400 Bad Request", _headers("application/xml", body), body)


def _headers(content_type: str, body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", content_type), ("Content-Length", str(len(body)))]


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
