"""The CloudWatch metrics AWS publishes for serverless endpoints, written into moto.

Per invocation and per endpoint variant (dimensions ``EndpointName`` and ``VariantName``),
in the namespaces and units AWS uses: ``AWS/SageMaker`` for invocation, latency
(microseconds) and concurrency metrics, ``/aws/sagemaker/Endpoints`` for
``MemoryUtilization`` (percent). Only the metrics AWS lists as published for serverless
endpoints (its list is exhaustive: no ``InvocationsPerInstance``, for one).

They are kept as CloudWatch keeps them: one data point per metric, dimensions and minute
(SampleCount, Sum, Minimum, Maximum and a sketch of the values for percentiles), so memory
grows with the minutes and endpoints of a run, not with its invocations, and a metric query
reads a few points, never every invocation.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sm_bench_widgets.emulator import moto_adapter
from sm_bench_widgets.emulator.cw_percentiles import ValueSketch

INVOCATION_NAMESPACE = "AWS/SageMaker"
ENDPOINT_NAMESPACE = "/aws/sagemaker/Endpoints"


@dataclass
class InvocationRecord:
    """What happened in one invocation, in emulated milliseconds where timed."""

    endpoint: str
    variant: str
    reached_model: bool
    error_4xx: bool = False
    error_5xx: bool = False
    model_ms: float | None = None
    overhead_ms: float | None = None
    setup_ms: float | None = None
    memory_utilization: float | None = None
    concurrency_utilization: float | None = None
    provisioned: int = 0
    provisioned_busy: int = 0
    served_by_provisioned: bool = False


def datums(rec: InvocationRecord) -> dict[str, list[dict[str, Any]]]:
    """The metric datums of one invocation, by namespace (PutMetricData's shape, stamped now)."""
    dims = [
        {"Name": "EndpointName", "Value": rec.endpoint},
        {"Name": "VariantName", "Value": rec.variant},
    ]

    def d(name: str, value: float, unit: str) -> dict[str, Any]:
        return {
            "MetricName": name,
            "Dimensions": dims,
            "Value": float(value),
            "Unit": unit,
        }

    out: list[dict[str, Any]] = [
        d("Invocation4XXErrors", int(rec.error_4xx), "Count"),
        d("Invocation5XXErrors", int(rec.error_5xx), "Count"),
    ]
    endpoint_ns: list[dict[str, Any]] = []
    if rec.reached_model:
        out.append(d("Invocations", 1, "Count"))
    if rec.model_ms is not None:
        out.append(d("ModelLatency", rec.model_ms * 1000.0, "Microseconds"))
    if rec.overhead_ms is not None:
        out.append(d("OverheadLatency", rec.overhead_ms * 1000.0, "Microseconds"))
    if rec.setup_ms is not None:
        out.append(d("ModelSetupTime", rec.setup_ms * 1000.0, "Microseconds"))
    if rec.concurrency_utilization is not None:
        out.append(
            d("ServerlessConcurrentExecutionsUtilization", rec.concurrency_utilization, "None")
        )
    if rec.provisioned and rec.reached_model:
        out += [
            d("ServerlessProvisionedConcurrencyExecutions", rec.provisioned_busy, "Count"),
            d(
                "ServerlessProvisionedConcurrencyUtilization",
                rec.provisioned_busy / rec.provisioned,
                "None",
            ),
            d(
                "ServerlessProvisionedConcurrencyInvocations",
                int(rec.served_by_provisioned),
                "Count",
            ),
            d(
                "ServerlessProvisionedConcurrencySpilloverInvocations",
                int(not rec.served_by_provisioned),
                "Count",
            ),
        ]
    if rec.memory_utilization is not None:
        endpoint_ns.append(d("MemoryUtilization", rec.memory_utilization, "Percent"))
    result = {INVOCATION_NAMESPACE: out}
    if endpoint_ns:
        result[ENDPOINT_NAMESPACE] = endpoint_ns
    return result


class MetricsSink:
    """Adds invocation metrics to this minute's data points in moto's CloudWatch backend."""

    def __init__(self, account: str):
        self.account = account
        self._lock = threading.Lock()
        # this minute's data points by region, metric and dimensions, with the backend
        # they are in (a wiped account's new backend gets new ones)
        self._open: dict[tuple[Any, ...], Any] = {}
        self._minute: Any = None

    def publish(self, region: str, rec: InvocationRecord) -> None:
        """Record one invocation's metrics in ``region``."""
        backend = moto_adapter.cloudwatch_backend(self.account, region)
        minute = moto_adapter.metric_minute()
        with self._lock:
            if minute != self._minute:
                self._open.clear()
                self._minute = minute
            for namespace, data in datums(rec).items():
                for datum in data:
                    self._add(backend, region, namespace, datum, minute)

    def _add(
        self, backend: Any, region: str, namespace: str, datum: dict[str, Any], minute: Any
    ) -> None:
        dims = tuple((d["Name"], d["Value"]) for d in datum["Dimensions"])
        key = (region, namespace, datum["MetricName"], dims, datum["Unit"])
        point = self._open.get(key)
        if point is None or point[0] is not backend:
            aggregate = moto_adapter.new_metric_aggregate(
                namespace,
                datum["MetricName"],
                datum["Dimensions"],
                datum["Unit"],
                minute,
                ValueSketch(),
            )
            moto_adapter.add_metric_datum(backend, aggregate)
            point = self._open[key] = (backend, aggregate)
        aggregate, value = point[1], datum["Value"]
        aggregate.sketch.add(value)
        aggregate.sample_count += 1
        aggregate.sum += value
        aggregate.min = min(aggregate.min, value)
        aggregate.max = max(aggregate.max, value)

    def data_points(self, region: str) -> int:
        """How many metric data points ``region`` holds (each a minute of one metric)."""
        return len(moto_adapter.cloudwatch_backend(self.account, region).metric_data)
