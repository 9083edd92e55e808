"""The emulator's one door into moto's internals.

moto's public surface is its decorators, ``ThreadedMotoServer`` and ``moto.backends.
get_backend``; the emulator needs a little more: the WSGI app moto's server is built from
(to put the data plane in front of it), a SageMaker backend's models (``_models``), the
registry of every backend (``BackendDict._instances``, to forget one account), two
hooks in CloudWatch to compute percentile statistics, its StatisticSet data point (kept
per minute, with a sketch for percentiles) and its clock, a fix that lets its tagging API
list SageMaker endpoint configs, one that makes ListMetrics list each metric once, and the
names of the actions each service's response class answers (the same test moto's
dispatcher makes, so the docs' list of operations follows the installed moto). Every such
name is used here and
nowhere else; ``compatibility_problems()`` says which of them a moto release lacks.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from importlib import import_module
from typing import Any

PROBE_ACCOUNT = "000000000000"  # account used (and forgotten) by compatibility_problems()

# botocore service name -> moto module and response class answering its actions
RESPONSE_CLASSES = {
    "sagemaker": ("moto.sagemaker.responses", "SageMakerResponse"),
    "cloudwatch": ("moto.cloudwatch.responses", "CloudWatchResponse"),
    "logs": ("moto.logs.responses", "LogsResponse"),
    "sts": ("moto.sts.responses", "TokenResponse"),
    "iam": ("moto.iam.responses", "IamResponse"),
}
SAGEMAKER_BACKEND_ATTRS = ("_models", "endpoints", "endpoint_configs", "create_model")
STATISTICS_ATTRS = ("get_statistics_for_type", "metric_single_values_list", "stats")
RESPONSE_ATTRS = ("get_metric_statistics", "_get_param", "_get_int_param", "cloudwatch_backend")
BACKEND_STATISTICS_PARAMS = (
    "namespace",
    "metric_name",
    "start_time",
    "end_time",
    "period",
    "stats",
    "dimensions",
    "unit",
)


# -- backends --------------------------------------------------------------------------------
def sagemaker_backend(account: str, region: str) -> Any:
    """moto's SageMaker backend for ``account`` and ``region``."""
    from moto.backends import get_backend

    return get_backend("sagemaker")[account][region]


def cloudwatch_backend(account: str, region: str) -> Any:
    """moto's CloudWatch backend for ``account`` and ``region``."""
    from moto.backends import get_backend

    return get_backend("cloudwatch")[account][region]


def s3_backend(account: str) -> Any:
    """moto's S3 backend for ``account`` (one for all regions of the partition)."""
    from moto.backends import get_backend

    return get_backend("s3")[account]["aws"]


def sagemaker_models(backend: Any) -> dict[str, Any]:
    """The SageMaker Models a backend holds, by name (moto keeps them in ``_models``)."""
    return backend._models


def wipe_account(account: str) -> None:
    """Forget every moto backend (all services, all regions) of ``account``."""
    from moto.core.base_backend import BackendDict

    for backend_dict in list(BackendDict._instances):
        backend_dict.pop(account, None)


def server_app() -> Callable[..., Any]:
    """A WSGI app serving every moto service, as moto's own server builds it."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


# -- SageMaker tags ---------------------------------------------------------------------------
def fix_endpoint_config_arns() -> None:
    """Let moto's tagging API (GetResources) list SageMaker endpoint configs.

    moto 5.x stores ``FakeEndpointConfig.arn`` as a one-element tuple, so GetResources
    fails on the first endpoint config; new configs get the ARN string instead. Idempotent,
    and a no-op on a moto that stores a string.
    """
    from moto.sagemaker.models import FakeEndpointConfig

    original = FakeEndpointConfig.__init__
    if getattr(original, "_sm_bench_fixed", False):
        return

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if isinstance(self.arn, tuple):
            self.arn = self.arn[0]

    __init__._sm_bench_fixed = True  # type: ignore[attr-defined]
    FakeEndpointConfig.__init__ = __init__


# -- operations -------------------------------------------------------------------------------
def implemented_actions(service: str) -> set[str]:
    """The actions (``ListMetrics``) moto answers for ``service``; empty if not listed here.

    moto's dispatcher answers an action when its response class has a method of the action's
    snake_case name, and raises ``NotImplementedError`` otherwise.
    """
    import botocore.session
    from moto.core.utils import camelcase_to_underscores, method_names_from_class

    if service not in RESPONSE_CLASSES:
        return set()
    module, name = RESPONSE_CLASSES[service]
    methods = set(method_names_from_class(getattr(import_module(module), name)))
    operations = botocore.session.get_session().get_service_model(service).operation_names
    return {op for op in operations if camelcase_to_underscores(op) in methods}


# -- CloudWatch ListMetrics ------------------------------------------------------------------
def fix_list_metrics() -> None:
    """Make moto's ListMetrics list each metric (namespace, name, dimension set) once.

    moto 5.x compares dimension sets pairwise and so never finds two multi-dimension data
    points equal: it lists a metric once per data point. Idempotent.
    """
    from moto.cloudwatch.models import CloudWatchBackend

    if getattr(CloudWatchBackend.get_filtered_metrics, "_sm_bench_fixed", False):
        return

    def get_filtered_metrics(
        self: Any, metric_name: str, namespace: str, dimensions: list[dict[str, str]]
    ) -> list[Any]:
        seen: set[tuple[Any, ...]] = set()
        out = []
        for datum in self.get_all_metrics():
            if not datum.filter(namespace=namespace, name=metric_name, dimensions=dimensions):
                continue
            key = (
                datum.namespace,
                datum.name,
                frozenset((d.name, d.value) for d in datum.dimensions or ()),
            )
            if key not in seen:
                seen.add(key)
                out.append(datum)
        return out

    get_filtered_metrics._sm_bench_fixed = True  # type: ignore[attr-defined]
    CloudWatchBackend.get_filtered_metrics = get_filtered_metrics


# -- CloudWatch statistics -------------------------------------------------------------------
def add_cloudwatch_statistics(
    parse: Callable[[str], float | None],
    compute: Callable[[list[float], list[Any], float], float | None],
) -> None:
    """Make moto's CloudWatch answer the statistics ``parse`` recognises (e.g. ``p99``).

    ``parse`` maps a statistic name to its parameter (None for names moto handles) and
    ``compute`` a period's single values, the ``sketch`` of each of its aggregates that
    has one (see ``new_metric_aggregate``) and that parameter to the value. Both
    GetMetricData (``Stat``) and GetMetricStatistics (``ExtendedStatistics``) then answer
    them; moto's own statistics are left as they are. Call once per process.
    """
    from moto.cloudwatch import models, responses

    _extend_statistics(models.Statistics, parse, compute)
    _extend_get_metric_statistics(responses.CloudWatchResponse, parse)


def _extend_statistics(
    cls: Any,
    parse: Callable[[str], float | None],
    compute: Callable[[list[float], list[Any], float], float | None],
) -> None:
    original = cls.get_statistics_for_type

    def sketches(self: Any) -> list[Any]:
        return [s for m in self.metric_aggregated_list if (s := getattr(m, "sketch", None))]

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        q = parse(stat)
        if q is None:
            return original(self, stat)
        return compute(self.metric_single_values_list, sketches(self), q)

    def extended_statistics(self: Any) -> dict[str, float] | None:
        wanted = {s: q for s in self.stats if (q := parse(s)) is not None}
        if not wanted:
            return None
        values, kept = self.metric_single_values_list, sketches(self)
        out = {s: compute(values, kept, q) for s, q in wanted.items()}
        return {k: v for k, v in out.items() if v is not None} or None

    cls.get_statistics_for_type = get_statistics_for_type
    cls.extended_statistics = property(extended_statistics)


def _extend_get_metric_statistics(cls: Any, parse: Callable[[str], float | None]) -> None:
    original = cls.get_metric_statistics

    def get_metric_statistics(self: Any) -> Any:
        extended = self._get_param("ExtendedStatistics") or []
        if not extended:
            return original(self)
        from moto.cloudwatch.exceptions import InvalidParameterValue
        from moto.core.responses import ActionResult

        for stat in extended:
            if parse(stat) is None:
                raise InvalidParameterValue(
                    f"The value {stat} for parameter ExtendedStatistics is not supported."
                )
        metric_name = self._get_param("MetricName")
        datapoints = self.cloudwatch_backend.get_metric_statistics(
            self._get_param("Namespace"),
            metric_name,
            self._get_param("StartTime"),
            self._get_param("EndTime"),
            self._get_int_param("Period"),
            list(self._get_param("Statistics", [])) + list(extended),
            unit=self._get_param("Unit"),
            dimensions=self._get_param("Dimensions", []),
        )
        return ActionResult({"Label": metric_name, "Datapoints": datapoints})

    cls.get_metric_statistics = get_metric_statistics


def round_metric_query_start() -> None:
    """Round the StartTime of GetMetricData and GetMetricStatistics down to the minute.

    AWS does so for data less than 15 days old, so a query from mid-minute includes that
    minute's data point. Idempotent.
    """
    from moto.cloudwatch.models import CloudWatchBackend

    for name in ("get_metric_data", "get_metric_statistics"):
        original = getattr(CloudWatchBackend, name)
        if getattr(original, "_sm_bench_fixed", False):
            continue

        def rounded(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            if "start_time" in kwargs:
                kwargs["start_time"] = _floor_minute(kwargs["start_time"])
            else:
                at = 1 if _original.__name__ == "get_metric_data" else 2
                args = (*args[:at], _floor_minute(args[at]), *args[at + 1 :])
            return _original(self, *args, **kwargs)

        rounded._sm_bench_fixed = True  # type: ignore[attr-defined]
        rounded.__name__ = name
        setattr(CloudWatchBackend, name, rounded)


def _floor_minute(moment: Any) -> Any:
    return moment.replace(second=0, microsecond=0) if hasattr(moment, "replace") else moment


def metric_minute() -> Any:
    """The current minute, as moto stamps metric data (naive UTC)."""
    from moto.core.utils import utcnow

    return utcnow().replace(second=0, microsecond=0)


def new_metric_aggregate(
    namespace: str,
    name: str,
    dimensions: list[dict[str, str]],
    unit: str,
    minute: Any,
    sketch: Any,
) -> Any:
    """An empty aggregated data point (moto's StatisticSet datum) carrying ``sketch``.

    Its ``sample_count``, ``sum``, ``min`` and ``max`` are for the caller to update.
    """
    from moto.cloudwatch.models import MetricAggregatedDatum

    datum = MetricAggregatedDatum(
        namespace, name, math.inf, -math.inf, 0, 0.0, dimensions, minute, unit
    )
    datum.sketch = sketch
    return datum


def add_metric_datum(backend: Any, datum: Any) -> None:
    """Store a data point in a CloudWatch backend (as PutMetricData does)."""
    backend.metric_data.append(datum)


# -- compatibility ---------------------------------------------------------------------------
def compatibility_problems() -> list[str]:
    """What this moto lacks of the internals used here (empty when all is in place)."""
    import moto

    where = f"moto {moto.__version__}"
    problems: list[str] = []

    def check(label: str, probe: Callable[[], object]) -> Any:
        try:
            return probe()
        except Exception as exc:  # noqa: BLE001 - any failure is a problem to report
            problems.append(f"{where}: {label}: {exc!r}")
            return None

    check("moto.moto_server.werkzeug_app DomainDispatcherApplication", server_app)
    registry = check(
        "moto.core.base_backend.BackendDict._instances",
        lambda: import_module("moto.core.base_backend").BackendDict._instances,
    )
    if registry is not None and not hasattr(registry, "__iter__"):
        problems.append(f"{where}: BackendDict._instances is not a collection")
    try:
        backend = check(
            "get_backend('sagemaker')", lambda: sagemaker_backend(PROBE_ACCOUNT, "us-east-1")
        )
        check("get_backend('cloudwatch')", lambda: cloudwatch_backend(PROBE_ACCOUNT, "us-east-1"))
        check("get_backend('s3')", lambda: s3_backend(PROBE_ACCOUNT))
        for name in SAGEMAKER_BACKEND_ATTRS if backend is not None else ():
            if not hasattr(backend, name):
                problems.append(f"{where}: SageMaker backend has no {name}")
    finally:
        check("forgetting an account", lambda: wipe_account(PROBE_ACCOUNT))
    models = check("moto.cloudwatch.models", lambda: import_module("moto.cloudwatch.models"))
    if models is not None:
        stats = check(
            "moto.cloudwatch.models.Statistics([], None)", lambda: models.Statistics([], None)
        )
        for name in STATISTICS_ATTRS if stats is not None else ():
            if not hasattr(stats, name):
                problems.append(f"{where}: cloudwatch Statistics has no {name}")
        method = getattr(getattr(models, "CloudWatchBackend", None), "get_metric_statistics", None)
        params = set(inspect.signature(method).parameters) if method else set()
        missing = [p for p in BACKEND_STATISTICS_PARAMS if p not in params]
        if missing:
            problems.append(
                f"{where}: CloudWatchBackend.get_metric_statistics lacks parameters {missing}"
            )
    responses = check(
        "moto.cloudwatch.responses", lambda: import_module("moto.cloudwatch.responses")
    )
    response_cls = getattr(responses, "CloudWatchResponse", None)
    for name in RESPONSE_ATTRS:
        if response_cls is None or not hasattr(response_cls, name):
            problems.append(f"{where}: CloudWatchResponse has no {name}")
    config_cls = check(
        "moto.sagemaker.models.FakeEndpointConfig",
        lambda: import_module("moto.sagemaker.models").FakeEndpointConfig,
    )
    if config_cls is not None and not hasattr(config_cls, "arn_formatter"):
        problems.append(f"{where}: FakeEndpointConfig has changed (no arn_formatter)")
    backend_cls = getattr(models, "CloudWatchBackend", None) if models is not None else None
    for name in ("get_filtered_metrics", "get_all_metrics"):
        if backend_cls is None or not hasattr(backend_cls, name):
            problems.append(f"{where}: CloudWatchBackend has no {name}")
    if models is not None and not hasattr(models, "MetricAggregatedDatum"):
        problems.append(f"{where}: cloudwatch has no MetricAggregatedDatum")
    check("moto.core.utils.utcnow", lambda: import_module("moto.core.utils").utcnow)
    datum_cls = getattr(models, "MetricDatumBase", None) if models is not None else None
    if datum_cls is None or not hasattr(datum_cls, "filter"):
        problems.append(f"{where}: cloudwatch MetricDatumBase has no filter")
    for service in RESPONSE_CLASSES:
        check(f"the {service} response class", lambda s=service: implemented_actions(s))
    check(
        "moto.core.responses.ActionResult",
        lambda: import_module("moto.core.responses").ActionResult,
    )
    check(
        "moto.cloudwatch.exceptions.InvalidParameterValue",
        lambda: import_module("moto.cloudwatch.exceptions").InvalidParameterValue,
    )
    return problems
