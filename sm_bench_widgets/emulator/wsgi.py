"""The wire layer: one WSGI app in front of moto's server app.

``POST /endpoints/<name>/invocations`` (SageMaker Runtime signs as service ``sagemaker``,
so it is routed by path) goes to the emulator's data plane; everything else goes to moto,
unmodified, with the emulator's account pinned through moto's ``x-moto-account-id``
header so that several emulators in one process keep separate state. SageMaker control
calls that create or delete endpoints are followed by the lifecycle hooks; endpoint updates
are the emulator's own (``updates``). Processing-job actions go to the emulator's local job
runner (``processing``), and Describe answers drop the empty structures moto leaves in them
where SageMaker leaves the member out; CloudWatch requests go to the metrics process
(``metrics_service``), when there is one. An operation neither serves is refused with a 400
error in the request's protocol (``operations``), never a 500 page that clients retry.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from botocore.model import OperationNotFoundError

from sm_bench_widgets.emulator import errors, faults, iam_simulation, operations, quotas
from sm_bench_widgets.emulator.dataplane import DataPlane
from sm_bench_widgets.emulator.lifecycle import EndpointLifecycle
from sm_bench_widgets.emulator.metrics_service import MetricsService
from sm_bench_widgets.emulator.moto_state import sagemaker_backend
from sm_bench_widgets.emulator.processing import ACTIONS as PROCESSING_ACTIONS
from sm_bench_widgets.emulator.processing import ProcessingJobs
from sm_bench_widgets.emulator.processing.requests import RequestError
from sm_bench_widgets.emulator.registry import ModelRegistry
from sm_bench_widgets.emulator.updates import ACTIONS as UPDATE_ACTIONS
from sm_bench_widgets.emulator.updates import EndpointUpdates
from sm_bench_widgets.emulator.validation import serverless_config_problem

SIGNING_SERVICE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/")
CLOUDWATCH_TARGET = "GraniteServiceVersion20100801."
INVOKE_PATH = re.compile(r"^/endpoints/([^/]+)/invocations$")
DEFAULT_REGION = "us-east-1"
EMULATED_HEADER = "x-sm-bench-emulated"
# on every InvokeEndpoint answer: the emulator's time scale and the wall-clock time its
# clock started from, so a client can state what it measured on the service's own clock
TIME_SCALE_HEADER = "x-sm-bench-time-scale"
CLOCK_ORIGIN_HEADER = "x-sm-bench-clock-origin"
# answers in which moto leaves empty structures (``"DataCaptureConfig": {}``) that
# SageMaker omits; maps, which may be empty, are kept
TIDIED_ACTIONS = ("DescribeEndpoint", "DescribeEndpointConfig", "DescribeModel")
MAP_MEMBERS = ("Environment", "Tags")

StartResponse = Callable[..., Any]


def region_of(environ: dict[str, Any]) -> str:
    """The region of a SigV4-signed request (its credential scope), else us-east-1."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", auth)
    return match.group(1) if match else DEFAULT_REGION


def _is_cloudwatch(environ: dict[str, Any]) -> bool:
    """Whether a request is for CloudWatch (signed for ``monitoring``, or its JSON target)."""
    match = SIGNING_SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match.group(1) == "monitoring"
    return environ.get("HTTP_X_AMZ_TARGET", "").startswith(CLOUDWATCH_TARGET)


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body, leaving a fresh stream in ``environ`` for the next reader."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class EmulatorApp:
    """Routes invocations to the data plane and the rest to moto."""

    def __init__(
        self,
        moto_app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        dataplane: DataPlane,
        lifecycle: EndpointLifecycle,
        registry: ModelRegistry,
        processing: ProcessingJobs | None = None,
        cloudwatch: MetricsService | None = None,
    ):
        self._moto_app = moto_app
        self.cloudwatch = cloudwatch
        self.dataplane = dataplane
        self.lifecycle = lifecycle
        self.registry = registry
        self.processing = processing
        self.account = dataplane.account
        self._clock = [
            (TIME_SCALE_HEADER, repr(dataplane.clock.time_scale)),
            (CLOCK_ORIGIN_HEADER, repr(dataplane.clock.origin)),
        ]
        self.updates = EndpointUpdates(self.account, lifecycle)

    def moto_app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """moto's answer; an action moto lacks is refused as unsupported, a fault is a 500."""
        body = read_body(environ)
        try:
            return self._moto_app(environ, start_response)
        except (NotImplementedError, OperationNotFoundError) as exc:
            return _refusal(start_response, operations.refuse_unsupported(environ, body, str(exc)))
        except Exception as exc:  # noqa: BLE001 - a fault is answered as AWS answers one
            return _refusal(start_response, operations.internal_failure(environ, body, repr(exc)))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = self.account
        path = environ.get("PATH_INFO", "")
        if path == faults.CONTROL_PATH:
            status, answer = self.lifecycle.faults.control(
                environ.get("REQUEST_METHOD", "GET"), read_body(environ)
            )
            body = json.dumps(answer).encode()
            start_response(
                f"{status} {'OK' if status == 200 else 'Error'}",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        if self.lifecycle.faults.active:
            answer = self._injected(environ, start_response)
            if answer is not None:
                return answer
        match = INVOKE_PATH.match(path)
        if match and environ.get("REQUEST_METHOD") == "POST":
            return self._invoke(environ, start_response, unquote(match.group(1)))
        if self.cloudwatch is not None and _is_cloudwatch(environ):
            body = read_body(environ)
            self.dataplane.metrics.flush()  # the query sees every invocation answered so far
            return self.cloudwatch.forward(environ, body, start_response)
        if operations.REFUSED_RUNTIME_PATH.match(path):
            refusal = operations.refuse_unsupported(environ, read_body(environ))
            return _refusal(start_response, refusal)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("SageMaker."):
            return self._sagemaker_control(environ, start_response, target.split(".", 1)[1])
        if target.startswith(quotas.TARGET_PREFIX) and target.split(".", 1)[1] in quotas.ANSWERED:
            return self._service_quotas(environ, start_response, target.split(".", 1)[1])
        if operations.signing_name(environ) == "iam":
            form = operations.form_params(environ, read_body(environ))
            if form.get("Action") == iam_simulation.ACTION:
                status, body = iam_simulation.simulate(form, self.account)
                start_response(
                    status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))]
                )
                return [body]
        return self.moto_app(environ, start_response)

    def _service_quotas(
        self, environ: dict[str, Any], start_response: StartResponse, action: str
    ) -> Iterable[bytes]:
        """The emulator's serverless quotas, through the Service Quotas API."""
        params = _json_params(environ)
        if params is None:
            return _json_error(start_response, "SerializationException", "invalid JSON body")
        try:
            answer = self.lifecycle.quotas.answer(action, region_of(environ), self.account, params)
        except RequestError as exc:
            return _json_error(start_response, exc.code, exc.message)
        return _json_answer(start_response, answer)

    def _injected(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes] | None:
        """The error of an injected fault this request meets, or None to serve it."""
        operation, endpoint = faults.request_operation(environ, read_body(environ))
        fault = self.lifecycle.faults.take(operation, endpoint) if operation else None
        if fault is None:
            return None
        return _refusal(start_response, faults.refusal(environ, read_body(environ), fault))

    # -- data plane ------------------------------------------------------------------
    def _invoke(
        self, environ: dict[str, Any], start_response: StartResponse, endpoint: str
    ) -> Iterable[bytes]:
        region = region_of(environ)
        try:
            body = read_body(environ)
            result = self.dataplane.invoke(
                region,
                endpoint,
                body,
                environ.get("CONTENT_TYPE") or "application/octet-stream",
                environ.get("HTTP_ACCEPT") or "",
                environ.get("HTTP_X_AMZN_SAGEMAKER_TARGET_VARIANT"),
            )
        except errors.InvokeError as exc:
            return _invoke_error(start_response, exc, self._clock)
        except Exception as exc:  # noqa: BLE001 - a fault here is answered as AWS would
            return _invoke_error(start_response, errors.internal_failure(repr(exc)), self._clock)
        headers = [
            ("Content-Type", result.content_type),
            ("Content-Length", str(len(result.body))),
            ("x-Amzn-Invoked-Production-Variant", result.variant),
            (EMULATED_HEADER, "1"),
            *self._clock,
            ("x-sm-bench-model-latency-us", str(int(result.model_ms * 1000))),
            ("x-sm-bench-overhead-latency-us", str(int(result.overhead_ms * 1000))),
        ]
        if result.setup_ms is not None:
            headers.append(("x-sm-bench-model-setup-time-us", str(int(result.setup_ms * 1000))))
        start_response("200 OK", headers)
        return [result.body]

    # -- control plane ---------------------------------------------------------------
    def _sagemaker_control(
        self, environ: dict[str, Any], start_response: StartResponse, action: str
    ) -> Iterable[bytes]:
        region = region_of(environ)
        self.registry.seed(sagemaker_backend(self.account, region), self.account)
        if action in PROCESSING_ACTIONS and self.processing is not None:
            return self._processing(environ, start_response, action, region)
        if action in TIDIED_ACTIONS:
            return self._tidied(environ, start_response)
        if action in UPDATE_ACTIONS:
            return self._update(environ, start_response, action, region)
        if action not in ("CreateEndpoint", "DeleteEndpoint", "CreateEndpointConfig"):
            return self.moto_app(environ, start_response)
        try:
            params = json.loads(read_body(environ) or b"{}")
        except ValueError:
            params = {}
        if action == "CreateEndpointConfig":
            problem = serverless_config_problem(params)
            if problem:
                return _json_error(start_response, "ValidationException", problem)
            return self.moto_app(environ, start_response)
        name = params.get("EndpointName", "") if isinstance(params, dict) else ""
        captured: dict[str, str] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> Any:
            captured["status"] = status
            return (
                start_response(status, headers, exc_info)
                if exc_info
                else start_response(status, headers)
            )

        try:
            with (
                self.lifecycle.admitting(region, params)
                if action == "CreateEndpoint" and isinstance(params, dict)
                else contextlib.nullcontext()
            ):
                response = self.moto_app(environ, capture)
        except RequestError as exc:
            return _json_error(start_response, exc.code, exc.message)
        if name and captured.get("status", "").startswith("200"):
            if action == "CreateEndpoint":
                self.lifecycle.endpoint_created(region, name)
            else:
                self.lifecycle.endpoint_deleted(region, name)
        return response

    def _processing(
        self, environ: dict[str, Any], start_response: StartResponse, action: str, region: str
    ) -> Iterable[bytes]:
        """A Processing-job action, answered by the local job runner."""
        assert self.processing is not None
        params = _json_params(environ)
        if params is None:
            return _json_error(start_response, "SerializationException", "invalid JSON body")

        def store() -> bool:
            status, _headers, _body = self._call_moto(environ)
            return status.startswith("200")

        try:
            answer = self.processing.handle(action, region, params, store)
        except RequestError as exc:
            return _json_error(start_response, exc.code, exc.message)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            return _json_error(start_response, "ValidationException", f"malformed request: {exc}")
        return _json_answer(start_response, answer)

    def _update(
        self, environ: dict[str, Any], start_response: StartResponse, action: str, region: str
    ) -> Iterable[bytes]:
        """An endpoint update, answered by the emulator (moto lacks or ignores them)."""
        params = _json_params(environ)
        if params is None:
            return _json_error(start_response, "SerializationException", "invalid JSON body")
        try:
            return _json_answer(start_response, self.updates.handle(action, region, params))
        except RequestError as exc:
            return _json_error(start_response, exc.code, exc.message)

    def _tidied(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """moto's answer without the empty structures SageMaker leaves out."""
        status, headers, body = self._call_moto(environ)
        if status.startswith("200"):
            with contextlib.suppress(ValueError):
                body = json.dumps(without_empty_structures(json.loads(body))).encode()
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _call_moto(self, environ: dict[str, Any]) -> tuple[str, list, bytes]:
        """moto's status, headers and body for the request (its body left for a re-read)."""
        body = read_body(environ)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = self.moto_app(environ, capture)
        try:
            answer = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        environ["wsgi.input"] = io.BytesIO(body)
        return (
            captured.get("status", "500 Internal Server Error"),
            captured.get("headers", []),
            answer,
        )


def without_empty_structures(value: Any, key: str = "") -> Any:
    """``value`` with every empty-object member removed, at any depth (maps kept)."""
    if isinstance(value, dict):
        if key in MAP_MEMBERS:
            return value
        return {
            k: without_empty_structures(v, k)
            for k, v in value.items()
            if not (isinstance(v, dict) and not v and k not in MAP_MEMBERS)
        }
    if isinstance(value, list):
        return [without_empty_structures(v, key) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json_answer(start_response: StartResponse, answer: dict[str, Any]) -> Iterable[bytes]:
    """A 200 answer in the awsJson protocol."""
    body = json.dumps(answer, default=_json_default).encode()
    start_response(
        "200 OK",
        [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _json_error(start_response: StartResponse, code: str, message: str) -> Iterable[bytes]:
    """A 400 error in the awsJson protocol SageMaker's control plane speaks."""
    body = json.dumps({"__type": code, "message": message}).encode()
    start_response(
        "400 Bad Request",
        [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _refusal(start_response: StartResponse, refusal: operations.Refusal) -> Iterable[bytes]:
    """An error answer built by ``operations``."""
    start_response(refusal.status, refusal.headers)
    return [refusal.body]


def _json_params(environ: dict[str, Any]) -> dict[str, Any] | None:
    """The request's JSON object (``{}`` for an empty body), or None when it is not one."""
    try:
        params = json.loads(read_body(environ) or b"{}")
    except ValueError:
        return None
    return params if isinstance(params, dict) else None


def _invoke_error(
    start_response: StartResponse, exc: errors.InvokeError, clock: list[tuple[str, str]]
) -> Iterable[bytes]:
    """An InvokeEndpoint failure on the wire, marked emulated like every answer."""
    status, headers, payload = exc.to_wire()
    start_response(f"{status} {_reason(status)}", [*headers, (EMULATED_HEADER, "1"), *clock])
    return [payload]


def _reason(status: int) -> str:
    return {
        400: "Bad Request",
        424: "Failed Dependency",
        429: "Too Many Requests",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }.get(status, "Error")
