"""Fault injection: make chosen requests fail as AWS fails them, to test what a client does.

A fault names an operation (``CreateEndpoint``; ``*`` for every operation but
InvokeEndpoint) and an AWS error code. Matching requests are answered with that error in
the request's protocol (``ThrottlingException``, ``InternalFailure`` (500),
``ServiceUnavailable`` (503), ``ExpiredTokenException``, ``ResourceLimitExceeded``, ...),
``count`` times (None: until cleared), after letting ``skip`` matching requests through.
The code ``EndpointFailed`` lets CreateEndpoint succeed and makes the endpoint ``Failed``
with the fault's message as its FailureReason.

Faults are set over HTTP at ``/_sm_bench/faults`` on the emulator's URL (POST a fault or a
list of them as JSON, GET lists them with how often each fired, DELETE clears them), with
``sm-bench emulator --fault OPERATION=CODE[:COUNT]``, or from Python (``emulator.faults``).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from dataclasses import asdict, dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

from sm_bench_widgets.emulator import operations

CONTROL_PATH = "/_sm_bench/faults"
ANY = "*"
INVOKE = "InvokeEndpoint"
ENDPOINT_FAILED = "EndpointFailed"
# code -> (HTTP status, message) AWS sends with it
KNOWN: dict[str, tuple[int, str]] = {
    "ThrottlingException": (400, "Rate exceeded"),
    "InternalFailure": (500, "An internal error occurred. Try again."),
    "ServiceUnavailable": (503, "Service Unavailable"),
    "ExpiredTokenException": (400, "The security token included in the request is expired"),
    "ResourceLimitExceeded": (400, "The account-level service limit was exceeded."),
    "AccessDeniedException": (400, "User is not authorized to perform this action"),
    ENDPOINT_FAILED: (200, "The emulator was told to fail this endpoint (injected fault)."),
}


class FaultError(ValueError):
    """A fault that cannot be set; the message says which field and what is allowed."""


@dataclass
class Fault:
    """One injected failure and how often it fired."""

    operation: str
    code: str
    status: int
    message: str
    count: int | None = 1
    skip: int = 0
    endpoint: str | None = None
    seen: int = 0
    fired: int = 0

    @classmethod
    def parse(cls, spec: Any) -> Fault:
        """A fault from a JSON object (``operation``, ``code``; optional ``status``,
        ``message``, ``count``, ``skip``, ``endpoint``); ``FaultError`` when invalid."""
        if not isinstance(spec, dict):
            raise FaultError(f"a fault is a JSON object, not {spec!r}")
        unknown = set(spec) - {
            "operation",
            "code",
            "status",
            "message",
            "count",
            "skip",
            "endpoint",
        }
        if unknown:
            raise FaultError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        operation, code = spec.get("operation"), spec.get("code")
        if not isinstance(operation, str) or not operation:
            raise FaultError("operation: an AWS operation name (CreateEndpoint) or '*'")
        if not isinstance(code, str) or not code:
            raise FaultError(f"code: an AWS error code, e.g. {', '.join(KNOWN)}")
        status, message = KNOWN.get(code, (400, f"{code} (injected fault)"))
        status = spec.get("status", status)
        if not isinstance(status, int) or not 200 <= status <= 599:
            raise FaultError("status: an HTTP status from 400 to 599")
        count = spec.get("count", 1)
        if count is not None and (not isinstance(count, int) or count < 1):
            raise FaultError("count: a whole number >= 1, or null for every matching request")
        skip = spec.get("skip", 0)
        if not isinstance(skip, int) or skip < 0:
            raise FaultError("skip: a whole number >= 0")
        if code == ENDPOINT_FAILED and operation != "CreateEndpoint":
            raise FaultError(f"code {ENDPOINT_FAILED} applies to operation CreateEndpoint only")
        endpoint = spec.get("endpoint")
        if endpoint is not None and not isinstance(endpoint, str):
            raise FaultError("endpoint: an endpoint name prefix")
        return cls(
            operation,
            code,
            status,
            str(spec.get("message") or message),
            count,
            skip,
            endpoint,
        )

    @classmethod
    def from_option(cls, text: str) -> Fault:
        """A fault from ``OPERATION=CODE[:COUNT]`` (COUNT a number or ``always``)."""
        operation, sep, rest = text.partition("=")
        if not sep:
            raise FaultError(f"{text!r}: expected OPERATION=CODE[:COUNT]")
        code, _, count = rest.partition(":")
        spec: dict[str, Any] = {"operation": operation.strip(), "code": code.strip()}
        if count:
            if count == "always":
                spec["count"] = None
            elif count.isdigit():
                spec["count"] = int(count)
            else:
                raise FaultError(f"{text!r}: COUNT is a whole number or 'always'")
        return cls.parse(spec)

    def matches(self, operation: str, endpoint: str | None) -> bool:
        """Whether a request of ``operation`` (on ``endpoint``) is one this fault is for."""
        ok = operation != INVOKE if self.operation == ANY else self.operation == operation
        if ok and self.endpoint is not None:
            ok = endpoint is not None and endpoint.startswith(self.endpoint)
        return ok

    @property
    def spent(self) -> bool:
        """True once it fired ``count`` times."""
        return self.count is not None and self.fired >= self.count


class FaultBook:
    """The faults set on one emulator; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether any fault is set (requests are not inspected otherwise)."""
        return bool(self._faults)

    def add(self, fault: Fault) -> Fault:
        """Set ``fault`` (after those already set)."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def listed(self) -> list[dict[str, Any]]:
        """Every fault set, with how many matching requests it saw and failed."""
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take(self, operation: str, endpoint: str | None = None) -> Fault | None:
        """The fault that fails this request now, if any (counted as fired)."""
        return self._take(operation, endpoint, creation=False)

    def creation_failure(self, endpoint: str) -> str | None:
        """The FailureReason an injected fault gives new endpoint ``endpoint``, or None."""
        fault = self._take("CreateEndpoint", endpoint, creation=True)
        return fault.message if fault is not None else None

    def _take(self, operation: str, endpoint: str | None, creation: bool) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if (fault.code == ENDPOINT_FAILED) != creation or fault.spent:
                    continue
                if not fault.matches(operation, endpoint):
                    continue
                fault.seen += 1
                if fault.seen <= fault.skip:
                    continue
                fault.fired += 1
                return fault
        return None

    # -- the HTTP control endpoint ---------------------------------------------------
    def control(self, method: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """Answer a request to ``CONTROL_PATH``: (HTTP status, JSON answer)."""
        if method == "GET":
            return 200, {"faults": self.listed()}
        if method == "DELETE":
            self.clear()
            return 200, {"faults": []}
        if method != "POST":
            return 405, {"error": f"{method} not allowed: GET, POST or DELETE"}
        try:
            spec = json.loads(body or b"null")
            specs = spec if isinstance(spec, list) else [spec]
            faults = [Fault.parse(s) for s in specs]
        except ValueError as exc:  # FaultError and bad JSON alike
            return 400, {"error": str(exc)}
        for fault in faults:
            self.add(fault)
        return 200, {"faults": self.listed()}


# -- requests ------------------------------------------------------------------------
_INVOKE_PATH = re.compile(r"^/endpoints/([^/]+)/invocations$")
_RPC_PATH = re.compile(r"/operation/([A-Za-z0-9]+)$")


def request_operation(environ: dict[str, Any], body: bytes) -> tuple[str | None, str | None]:
    """The AWS operation a request calls and the endpoint it names (None when unknown)."""
    path = environ.get("PATH_INFO", "")
    match = _INVOKE_PATH.match(path)
    if match:
        return INVOKE, unquote(match.group(1))
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if "." in target:
        endpoint = None
        with contextlib.suppress(ValueError, AttributeError):
            endpoint = json.loads(body or b"{}").get("EndpointName")
        return target.split(".", 1)[1], endpoint if isinstance(endpoint, str) else None
    match = _RPC_PATH.search(path)
    if match:
        return match.group(1), None
    action = _form(environ, body).get("Action")
    return (action or None), None


def _form(environ: dict[str, Any], body: bytes) -> dict[str, str]:
    """The query-protocol parameters of a request (form body or query string)."""
    text = environ.get("QUERY_STRING", "")
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        text = f"{text}&{body.decode('utf-8', 'replace')}"
    return {k: v[0] for k, v in parse_qs(text).items()}


def refusal(environ: dict[str, Any], body: bytes, fault: Fault) -> operations.Refusal:
    """The fault's error answer in the request's protocol, with the fault's HTTP status."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        answer = operations.json_error(environ, fault.code, fault.message)
    elif "Action" in _form(environ, body):
        answer = operations.query_error(fault.code, fault.message, sender=fault.status < 500)
    else:
        answer = operations.rest_json_error(fault.code, fault.message)
    answer.status = f"{fault.status} {HTTPStatus(fault.status).phrase}"
    return answer
