"""The CloudWatch metrics AWS publishes for serverless endpoints, written into moto.

Per invocation and per endpoint variant (dimensions ``EndpointName`` and ``VariantName``),
in the namespaces and units AWS uses: ``AWS/SageMaker`` for invocation, latency
(microseconds) and concurrency metrics, ``/aws/sagemaker/Endpoints`` for
``MemoryUtilization`` (percent). Only the metrics AWS lists as published for serverless
endpoints (its list is exhaustive: no ``InvocationsPerInstance``, for one).

They are kept as CloudWatch keeps them: one data point per metric, dimensions and minute
(SampleCount, Sum, Minimum, Maximum and a sketch of the values for percentiles), so memory
grows with the minutes and endpoints of a run, not with its invocations, and a metric query
reads a few points, never every invocation. With a ``MetricsService`` attached they are
kept in its process (the values sent in batches, off the request path); without, here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sm_bench_widgets.emulator import moto_adapter
from sm_bench_widgets.emulator.metrics_service import Key, MetricsService, MinuteAggregates

FLUSH_INTERVAL_S = 0.25  # how often pending values go to the metrics process

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
    """Collects invocation metrics and adds them to this minute's CloudWatch data points.

    ``publish`` only appends values to a pending batch (no CloudWatch work on the request
    path); ``flush`` hands the batch to the attached ``MetricsService`` (every
    ``FLUSH_INTERVAL_S``, and before each CloudWatch request), or to moto in this process
    when none is attached.
    """

    def __init__(self, account: str, service: MetricsService | None = None):
        self.account = account
        self.service = service
        self._local = MinuteAggregates()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending: dict[Key, list[float]] = {}
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None

    def attach(self, service: MetricsService) -> None:
        """Keep the metrics in ``service`` from now on, flushed in the background."""
        self.service = service
        self._stop.clear()
        self._flusher = threading.Thread(
            target=self._flush_loop, name="sm-bench-metrics-flush", daemon=True
        )
        self._flusher.start()

    def publish(self, region: str, rec: InvocationRecord) -> None:
        """Record one invocation's metrics in ``region``."""
        minute = moto_adapter.metric_minute()
        with self._lock:
            for namespace, data in datums(rec).items():
                for datum in data:
                    dims = tuple((d["Name"], d["Value"]) for d in datum["Dimensions"])
                    key = (
                        self.account,
                        region,
                        namespace,
                        datum["MetricName"],
                        dims,
                        datum["Unit"],
                        minute,
                    )
                    self._pending.setdefault(key, []).append(datum["Value"])
        if self.service is None:
            self.flush()

    def flush(self) -> None:
        """Add every pending value to its data point; returns once they are queryable."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, {}
            if not batch:
                return
            if self.service is not None:
                self.service.add(batch)
            else:
                for key, values in batch.items():
                    self._local.add(key, values)

    def forget(self) -> None:
        """Drop pending values and open data points (the account is being wiped)."""
        with self._flush_lock, self._lock:
            self._pending = {}
            self._local.forget(self.account)

    def close(self) -> None:
        """Stop flushing in the background."""
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join(5)
            self._flusher = None

    def data_points(self, region: str) -> int:
        """How many metric data points ``region`` holds (each a minute of one metric)."""
        self.flush()
        if self.service is not None:
            return self.service.data_points(self.account, region)
        return len(moto_adapter.cloudwatch_backend(self.account, region).metric_data)

    def _flush_loop(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL_S):
            try:
                self.flush()
            except (OSError, EOFError, RuntimeError):  # the service is stopping
                return
