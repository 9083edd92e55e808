"""Serverless endpoint lifecycle: create (tagged), wait, delete, and find what was left.

Each benchmarked configuration gets its own endpoint and endpoint config, both named after
the model, a short run id and the configuration, and both tagged with the tool and the run
id so that anything left behind can be found and removed (``sm-bench cleanup``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.config import ENDPOINT_WAIT_TIMEOUT_S, ConfigError
from sm_bench_widgets.limits import MAX_CONCURRENCY_RANGE, MEMORY_SIZES

logger = logging.getLogger(__name__)

TOOL_TAG_KEY = "sm-bench-widgets:tool"
TOOL_TAG_VALUE = "sm-bench-widgets"
RUN_TAG_KEY = "sm-bench-widgets:run-id"
VARIANT_NAME = "AllTraffic"

NAME_MAX = 63
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
TAG_VALUE_PATTERN = re.compile(r"^[\w .:/=+\-@]{1,256}$")
SHORT_RUN_ID_LEN = 8

IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
DEFAULT_POLL = 5.0
FIRST_POLL = 0.25
MAX_WORKERS = 16


class EndpointError(RuntimeError):
    """An endpoint operation failed; carries the resource name, AWS's error code and message."""

    def __init__(self, name: str, operation: str, message: str, code: str = ""):
        self.name = name
        self.operation = operation
        self.message = message
        self.code = code
        shown = f"{code}: {message}" if code and code not in message else message
        super().__init__(f"{operation} {name}: {shown}")


# Codes AWS answers when the caller's credentials have expired: every call fails until
# they are refreshed, so a run stops instead of failing each step in turn.
EXPIRED_CREDENTIALS = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
)
LIMIT_EXCEEDED = "ResourceLimitExceeded"


def error_code(exc: BaseException | None) -> str:
    """The AWS error code of ``exc`` or of the error it was raised from ("" if none)."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, EndpointError) and exc.code:
            return exc.code
        if isinstance(exc, ClientError):
            return _error(exc)[0]
        exc, seen = exc.__cause__, seen + 1
    return ""


def credentials_expired(exc: BaseException | None) -> bool:
    """True when ``exc`` says the AWS credentials in use have expired."""
    from botocore.exceptions import TokenRetrievalError

    probe: BaseException | None = exc
    for _ in range(5):
        if probe is None:
            break
        if isinstance(probe, TokenRetrievalError):
            return True
        probe = probe.__cause__
    return error_code(exc) in EXPIRED_CREDENTIALS


class CleanupError(RuntimeError):
    """Some resources could not be deleted; ``failures`` maps each name to the reason."""

    def __init__(self, failures: dict[str, str]):
        self.failures = dict(failures)
        listed = "; ".join(f"{name}: {reason}" for name, reason in failures.items())
        super().__init__(
            f"could not delete {len(failures)} resource(s), still in the account: {listed}"
        )


@dataclass(frozen=True)
class EndpointSpec:
    """One serverless configuration of one model."""

    model_name: str
    memory_size: int
    max_concurrency: int
    provisioned_concurrency: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.model_name, str) or not self.model_name:
            raise ConfigError("model_name", self.model_name, "the name of a SageMaker model")
        if self.memory_size not in MEMORY_SIZES or isinstance(self.memory_size, bool):
            raise ConfigError(
                "memory_size", self.memory_size, f"one of {', '.join(map(str, MEMORY_SIZES))}"
            )
        low, high = MAX_CONCURRENCY_RANGE
        if not _is_int(self.max_concurrency) or not low <= self.max_concurrency <= high:
            raise ConfigError(
                "max_concurrency", self.max_concurrency, f"a whole number from {low} to {high}"
            )
        if not _is_int(self.provisioned_concurrency) or not (
            0 <= self.provisioned_concurrency <= self.max_concurrency
        ):
            raise ConfigError(
                "provisioned_concurrency",
                self.provisioned_concurrency,
                f"a whole number from 0 (none) to max_concurrency ({self.max_concurrency})",
            )

    def serverless_config(self) -> dict[str, int]:
        """The ``ServerlessConfig`` of the production variant."""
        config = {"MemorySizeInMB": self.memory_size, "MaxConcurrency": self.max_concurrency}
        if self.provisioned_concurrency > 0:
            config["ProvisionedConcurrency"] = self.provisioned_concurrency
        return config


@dataclass(frozen=True)
class EndpointStatus:
    """Where an endpoint ended up after waiting: its status and AWS's FailureReason."""

    name: str
    status: str
    failure_reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when the endpoint can take invocations."""
        return self.status == "InService"


@dataclass(frozen=True)
class Leftover:
    """An endpoint or endpoint config that carries the tool tag."""

    name: str
    kind: str  # "endpoint" or "endpoint-config"
    run_id: str


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- naming --------------------------------------------------------------------------------
def _digest(text: str, length: int) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


def short_run_id(run_id: str) -> str:
    """The run id as it appears in endpoint names: itself if short and plain, else a hash."""
    plain = re.sub(r"[^a-zA-Z0-9]", "", run_id)
    if 0 < len(plain) <= SHORT_RUN_ID_LEN:
        return plain
    return _digest(run_id, SHORT_RUN_ID_LEN)


def endpoint_name_for(model_name: str, run_id: str, spec: EndpointSpec) -> str:
    """A valid, unique endpoint (and config) name for ``spec`` in run ``run_id``."""
    _check_run_id(run_id)
    suffix = f"-{short_run_id(run_id)}-m{spec.memory_size}-c{spec.max_concurrency}"
    if spec.provisioned_concurrency:
        suffix += f"-p{spec.provisioned_concurrency}"
    model = re.sub(r"[^a-zA-Z0-9]+", "-", model_name).strip("-") or "model"
    room = NAME_MAX - len(suffix)
    if len(model) > room:
        model = model[: room - 5].rstrip("-") + "-" + _digest(model_name, 4)
    return model + suffix


def _check_run_id(run_id: Any) -> None:
    if not isinstance(run_id, str) or not TAG_VALUE_PATTERN.match(run_id):
        raise ConfigError(
            "run_id", run_id, "a non-empty tag value: letters, digits, spaces and _.:/=+-@"
        )


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ConfigError(
            "endpoint_name",
            name,
            "1 to 63 letters, digits and hyphens, starting and ending with a letter or digit",
        )


def resource_tags(run_id: str) -> list[dict[str, str]]:
    """The tags every endpoint and endpoint config of a run carries."""
    return [
        {"Key": TOOL_TAG_KEY, "Value": TOOL_TAG_VALUE},
        {"Key": RUN_TAG_KEY, "Value": run_id},
    ]


# -- AWS error helpers ---------------------------------------------------------------------
def _error(err: ClientError) -> tuple[str, str]:
    info = err.response.get("Error", {})
    return str(info.get("Code", "")), str(info.get("Message", "")) or str(err)


def _message_code(err: ClientError) -> tuple[str, str]:
    code, message = _error(err)
    return message, code


def _is_not_found(err: ClientError) -> bool:
    code, message = _error(err)
    return code in ("ResourceNotFound", "ResourceNotFoundException") or (
        code == "ValidationException" and "could not find" in message.lower()
    )


def _is_model_missing(err: ClientError) -> bool:
    return _is_not_found(err) and "model" in _error(err)[1].lower()


# -- create --------------------------------------------------------------------------------
def check_model(target: Target, model_name: str) -> None:
    """Raise ``ConfigError`` naming ``model_name`` when the model does not exist.

    Without permission to describe models the check is skipped: creating the endpoint
    config reports a missing model the same way.
    """
    try:
        target.client("sagemaker").describe_model(ModelName=model_name)
    except ClientError as err:
        code, message = _error(err)
        if _is_not_found(err):
            raise _model_error(target, model_name, message) from err
        if code in ("AccessDenied", "AccessDeniedException"):
            logger.debug("cannot describe model %s: %s", model_name, message)
            return
        raise EndpointError(model_name, "DescribeModel", message, code) from err


def _model_error(target: Target, model_name: str, message: str) -> ConfigError:
    return ConfigError(
        "model_name",
        model_name,
        f"the name of an existing SageMaker model in {target.region_name} (AWS: {message})",
    )


def create_endpoint(target: Target, spec: EndpointSpec, name: str, run_id: str) -> None:
    """Create the tagged endpoint config and endpoint ``name`` for ``spec``.

    Returns once AWS accepted the endpoint (use ``wait_endpoints`` for InService). If the
    endpoint cannot be created, the config made for it is deleted before raising.
    """
    _check_name(name)
    _check_run_id(run_id)
    check_model(target, spec.model_name)
    sm = target.client("sagemaker")
    tags = resource_tags(run_id)
    variant = {
        "VariantName": VARIANT_NAME,
        "ModelName": spec.model_name,
        "ServerlessConfig": spec.serverless_config(),
    }
    try:
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant], Tags=tags)
    except ClientError as err:
        if _is_model_missing(err):
            raise _model_error(target, spec.model_name, _error(err)[1]) from err
        raise EndpointError(name, "CreateEndpointConfig", *_message_code(err)) from err
    try:
        sm.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags)
    except ClientError as err:
        _undo_config(sm, name, err)
        raise EndpointError(name, "CreateEndpoint", *_message_code(err)) from err
    except BaseException as exc:
        # The request may have reached AWS (e.g. Ctrl-C mid-call): remove whatever exists.
        try:
            delete_endpoint(target, name)
        except Exception as cleanup_exc:
            exc.add_note(f"{name} may be left behind: {cleanup_exc}")
        raise


def _undo_config(sm: Any, name: str, cause: BaseException) -> None:
    try:
        _delete_config(sm, name)
    except Exception as exc:
        cause.add_note(f"endpoint config {name} could not be deleted: {exc}")
        logger.error("endpoint config %s left behind: %s", name, exc)


# -- wait ----------------------------------------------------------------------------------
def describe_status(target: Target, name: str) -> EndpointStatus:
    """The current status of endpoint ``name`` ("NotFound" when it does not exist)."""
    try:
        desc = target.client("sagemaker").describe_endpoint(EndpointName=name)
    except ClientError as err:
        code, message = _error(err)
        return EndpointStatus(name, "NotFound" if _is_not_found(err) else "Error", message)
    return EndpointStatus(name, desc["EndpointStatus"], desc.get("FailureReason"))


def wait_endpoints(
    target: Target, names: Iterable[str], timeout: float, poll: float = DEFAULT_POLL
) -> dict[str, EndpointStatus]:
    """Poll several endpoints at once until none is still in progress, or ``timeout`` s.

    Polling starts quickly and slows down to every ``poll`` seconds. An endpoint still in
    progress at the timeout keeps its last status with a failure reason saying so.
    """
    pending = list(dict.fromkeys(names))
    results: dict[str, EndpointStatus] = {}
    if not pending:
        return results
    deadline = time.monotonic() + timeout
    delay = min(FIRST_POLL, poll)
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(pending))) as pool:
        while pending:
            statuses = list(pool.map(lambda n: describe_status(target, n), pending))
            for status in statuses:
                if status.status not in IN_PROGRESS:
                    results[status.name] = status
            still = [s for s in statuses if s.name not in results]
            pending = [s.name for s in still]
            if not pending:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                for s in still:
                    reason = f"timed out after {timeout:g} s while {s.status}"
                    results[s.name] = EndpointStatus(s.name, s.status, reason)
                break
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, poll)
    return results


# -- delete --------------------------------------------------------------------------------
def delete_endpoint(
    target: Target, name: str, timeout: float = ENDPOINT_WAIT_TIMEOUT_S, poll: float = DEFAULT_POLL
) -> None:
    """Delete endpoint ``name`` and its config; not-found is fine, Creating is waited out."""
    sm = target.client("sagemaker")
    config = delete_endpoint_only(target, name, timeout=timeout, poll=poll)
    _delete_config(sm, config or name)


def delete_endpoint_only(
    target: Target, name: str, timeout: float = ENDPOINT_WAIT_TIMEOUT_S, poll: float = DEFAULT_POLL
) -> str | None:
    """Delete endpoint ``name`` (waiting while it is in progress); return its config name."""
    sm = target.client("sagemaker")
    deadline = time.monotonic() + timeout
    delay = min(FIRST_POLL, poll)
    last_error: ClientError | None = None
    while True:
        try:
            desc = sm.describe_endpoint(EndpointName=name)
        except ClientError as err:
            if _is_not_found(err):
                return None
            raise EndpointError(name, "DescribeEndpoint", *_message_code(err)) from err
        config = desc.get("EndpointConfigName")
        status = desc["EndpointStatus"]
        if status == "Deleting":
            return config
        if status in IN_PROGRESS:
            last_error = None
        if status not in IN_PROGRESS:
            if last_error is not None:
                raise EndpointError(
                    name, "DeleteEndpoint", *_message_code(last_error)
                ) from last_error
            try:
                sm.delete_endpoint(EndpointName=name)
                return config
            except ClientError as err:
                if _is_not_found(err):
                    return config
                last_error = err
                continue
        logger.info("endpoint %s is %s; waiting to delete it", name, status)
        if time.monotonic() >= deadline:
            raise EndpointError(
                name, "DeleteEndpoint", f"still {status} after waiting {timeout:g} s"
            )
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, poll)


def delete_endpoint_config(target: Target, name: str) -> None:
    """Delete endpoint config ``name``; not-found is fine."""
    _delete_config(target.client("sagemaker"), name)


def _delete_config(sm: Any, name: str) -> None:
    try:
        sm.delete_endpoint_config(EndpointConfigName=name)
    except ClientError as err:
        if not _is_not_found(err):
            raise EndpointError(name, "DeleteEndpointConfig", *_message_code(err)) from err


# -- leftovers -----------------------------------------------------------------------------
TAGGED_TYPES = ("sagemaker:endpoint", "sagemaker:endpoint-config")


def find_leftover_resources(target: Target, run_id: str | None = None) -> list[Leftover]:
    """Endpoints and endpoint configs tagged by this tool (and run ``run_id`` if given).

    Tags come from one paginated Resource Groups Tagging API query where it answers, or
    else from each resource's ``ListTags``. Either way only resources that
    ``ListEndpoints``/``ListEndpointConfigs`` show are returned (the tagging API may still
    list deleted ones), and endpoints already ``Deleting`` are left out.
    """
    sm = target.client("sagemaker")
    resources: list[tuple[str, str, str]] = []  # (arn, name, kind)
    for page in sm.get_paginator("list_endpoints").paginate():
        for e in page.get("Endpoints", []):
            if e.get("EndpointStatus") != "Deleting":  # already on its way out
                resources.append((e["EndpointArn"], e["EndpointName"], "endpoint"))
    for page in sm.get_paginator("list_endpoint_configs").paginate():
        for c in page.get("EndpointConfigs", []):
            resources.append((c["EndpointConfigArn"], c["EndpointConfigName"], "endpoint-config"))
    if not resources:
        return []
    tagged = _tagged_by_tool(target, run_id)
    if tagged is not None:
        all_tags = [tagged.get(arn) for arn, _, _ in resources]
    else:
        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(resources))) as pool:
            all_tags = list(pool.map(lambda r: _tags(sm, r[0]), resources))
    found = []
    for (_, name, kind), tags in zip(resources, all_tags, strict=True):
        if tags is None or tags.get(TOOL_TAG_KEY) != TOOL_TAG_VALUE:
            continue
        if run_id is not None and tags.get(RUN_TAG_KEY) != run_id:
            continue
        found.append(Leftover(name, kind, tags.get(RUN_TAG_KEY, "")))
    return sorted(found, key=lambda r: (r.kind, r.name))


def _tagged_by_tool(target: Target, run_id: str | None) -> dict[str, dict[str, str]] | None:
    """Tags by ARN of the endpoints and configs carrying the tool tag, from the tagging API.

    None when that API cannot answer (not allowed, not served, unreachable): the caller
    then reads each resource's tags instead.
    """
    filters = [{"Key": TOOL_TAG_KEY, "Values": [TOOL_TAG_VALUE]}]
    if run_id is not None:
        filters.append({"Key": RUN_TAG_KEY, "Values": [run_id]})
    tagged: dict[str, dict[str, str]] = {}
    try:
        pages = (
            target.client("resourcegroupstaggingapi")
            .get_paginator("get_resources")
            .paginate(ResourceTypeFilters=list(TAGGED_TYPES), TagFilters=filters)
        )
        for page in pages:
            for mapping in page.get("ResourceTagMappingList", []):
                tags = {t["Key"]: t["Value"] for t in mapping.get("Tags", [])}
                tagged[mapping["ResourceARN"]] = tags
    except (ClientError, BotoCoreError) as err:
        logger.info("tagging API unavailable (%s); reading each resource's tags instead", err)
        return None
    return tagged


def find_leftovers(target: Target, run_id: str | None = None) -> list[str]:
    """Names of endpoints and endpoint configs carrying the tool tag (and ``run_id``)."""
    return sorted({r.name for r in find_leftover_resources(target, run_id)})


def _tags(sm: Any, arn: str) -> dict[str, str] | None:
    tags: dict[str, str] = {}
    try:
        for page in sm.get_paginator("list_tags").paginate(ResourceArn=arn):
            tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
    except ClientError as err:
        if _is_not_found(err):
            return None  # deleted while we looked
        raise
    return tags


# -- managed -------------------------------------------------------------------------------
class ManagedEndpoints:
    """Endpoints of one run that are deleted on exit, also on error and Ctrl-C.

    Use as ``with managed_endpoints(target, run_id) as eps: name = eps.create(spec)``.
    Names are tracked before creation starts, so an interrupted create is cleaned up too.
    ``create`` and ``delete`` may be called from several threads at once.
    A deletion that fails is raised as ``CleanupError`` (or, when the block already
    raised, attached to that exception as a note and logged), never dropped.
    """

    def __init__(
        self, target: Target, run_id: str, delete_timeout: float = ENDPOINT_WAIT_TIMEOUT_S
    ):
        _check_run_id(run_id)
        self.target = target
        self.run_id = run_id
        self.delete_timeout = delete_timeout
        self._names: list[str] = []
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        """Endpoints created (or being created) and not yet deleted."""
        with self._lock:
            return list(self._names)

    def track(self, name: str) -> None:
        """Make ``name`` (endpoint and config) part of the cleanup on exit."""
        with self._lock:
            if name not in self._names:
                self._names.append(name)

    def create(self, spec: EndpointSpec) -> str:
        """Create the endpoint for ``spec`` and return its name."""
        name = endpoint_name_for(spec.model_name, self.run_id, spec)
        self.track(name)
        create_endpoint(self.target, spec, name, self.run_id)
        return name

    def delete(self, name: str) -> None:
        """Delete ``name`` now (e.g. when its trial ends) and stop tracking it."""
        delete_endpoint(self.target, name, timeout=self.delete_timeout)
        with self._lock:
            if name in self._names:
                self._names.remove(name)

    def delete_all(self) -> dict[str, str]:
        """Delete every tracked endpoint in parallel; return the failures by name."""
        names = self.names
        if not names:
            return {}
        failures: dict[str, str] = {}

        def _one(name: str) -> None:
            try:
                self.delete(name)
            except Exception as exc:
                failures[name] = str(exc)

        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(names))) as pool:
            list(pool.map(_one, names))
        return failures

    def __enter__(self) -> ManagedEndpoints:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            failures = self.delete_all()
        except BaseException:
            logger.error(
                "cleanup interrupted; run `sm-bench cleanup --run-id %s` to delete: %s",
                self.run_id,
                ", ".join(self.names),
            )
            raise
        if not failures:
            return
        error = CleanupError(failures)
        logger.error("%s; run `sm-bench cleanup --run-id %s`", error, self.run_id)
        if exc is None:
            raise error
        exc.add_note(str(error))


def managed_endpoints(
    target: Target, run_id: str, delete_timeout: float = ENDPOINT_WAIT_TIMEOUT_S
) -> ManagedEndpoints:
    """A context manager that deletes the run's endpoints on exit (see ``ManagedEndpoints``)."""
    return ManagedEndpoints(target, run_id, delete_timeout=delete_timeout)
