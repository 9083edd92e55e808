"""Errors of the data plane, shaped as SageMaker Runtime returns them (rest-json).

botocore reads the error code from the ``x-amzn-ErrorType`` header and the message and
modelled fields (``OriginalStatusCode``, ``OriginalMessage``, ``LogStreamArn`` of
``ModelError``) from the JSON body, so clients see the same exceptions as on AWS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class InvokeError(Exception):
    """An InvokeEndpoint failure: error code, HTTP status, message and extra body fields."""

    code: str
    status: int
    message: str | None
    fields: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_wire(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers and body of the HTTP error response."""
        doc: dict[str, Any] = {"message": self.message} if self.message is not None else {}
        if self.message is not None and self.code == "ModelError":
            doc = {"Message": self.message}
        doc.update(self.fields)
        body = json.dumps(doc).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", self.code),
            ("Content-Length", str(len(body))),
        ]
        return self.status, headers, body


def validation_error(message: str) -> InvokeError:
    """``ValidationError`` (HTTP 400)."""
    return InvokeError("ValidationError", 400, message)


def endpoint_not_found(name: str, account: str) -> InvokeError:
    """The error AWS gives for an endpoint that does not exist (or is not invokable)."""
    return validation_error(f"Endpoint {name} of account {account} not found.")


def throttled(max_concurrency: int) -> InvokeError:
    """``ThrottlingException`` (HTTP 400): every instance up to MaxConcurrency is busy.

    Worded as AWS sends it: HTTP 400 with a null message (``{"message": null}``, shown as
    ``None`` by boto3 and ``null`` by the Java SDK, as public reports show); the limit that
    was reached is not named.
    """
    del max_concurrency  # AWS does not say which limit was reached
    return InvokeError("ThrottlingException", 400, None, {"message": None})


def log_stream_arn(region: str, account: str, endpoint: str) -> str:
    """The CloudWatch Logs group ARN AWS puts in ``ModelError.LogStreamArn``."""
    return f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/{endpoint}"


def model_error(
    original_status: int,
    original_message: str,
    *,
    region: str,
    account: str,
    endpoint: str,
) -> InvokeError:
    """``ModelError`` (HTTP 424) worded as AWS words it, keeping the container's answer."""
    kind = "client" if 400 <= original_status < 500 else "server"
    message = (
        f'Received {kind} error ({original_status}) from primary with message "'
        f'{original_message}". See https://{region}.console.aws.amazon.com/cloudwatch/home?'
        f"region={region}#logEventViewer:group=/aws/sagemaker/Endpoints/{endpoint} "
        f"in account {account} for more information."
    )
    return InvokeError(
        "ModelError",
        424,
        message,
        {
            "OriginalStatusCode": original_status,
            "OriginalMessage": original_message,
            "LogStreamArn": log_stream_arn(region, account, endpoint),
        },
    )


def timed_out(*, region: str, account: str, endpoint: str) -> InvokeError:
    """The ModelError AWS returns when the container does not answer within 60 s."""
    return model_error(
        0,
        "Your invocation timed out while waiting for a response from container primary. "
        "Review the latency metrics for each container in Amazon CloudWatch, resolve the "
        "issue, and try again.",
        region=region,
        account=account,
        endpoint=endpoint,
    )


def out_of_memory(
    footprint_mb: float | None,
    memory_mb: int,
    *,
    region: str,
    account: str,
    endpoint: str,
    detail: str = "",
) -> InvokeError:
    """ModelError for a model that does not fit: the memory size is insufficient."""
    needs = f"the model needs about {footprint_mb:.0f} MB but " if footprint_mb else ""
    extra = f" ({detail})" if detail else ""
    return model_error(
        507,
        f"Insufficient memory: {needs}the serverless endpoint has MemorySizeInMB={memory_mb}; "
        f"the container ran out of memory{extra}. Choose a larger memory size.",
        region=region,
        account=account,
        endpoint=endpoint,
    )


def internal_failure(message: str) -> InvokeError:
    """``InternalFailure`` (HTTP 500): a fault of the emulator itself."""
    return InvokeError("InternalFailure", 500, message)
