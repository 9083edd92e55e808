"""Upper bounds on what a benchmark itself costs and how long it takes, before launch.

Pure functions of a ``BenchmarkConfig``, a few unit rates and an assumed per-invocation
latency, so the panel can show them as the form changes and tests can check the numbers.
Scripts and the panel call the same ``estimate_benchmark``. The bounds assume the worst
plan the config allows: every trial runs to its configured invocation count, trials run
one after another, and the concurrency benchmark runs at the largest memory size. With
traffic given, the open-loop check's endpoints count too, planned at the assumed latency
(the run plans them at the measured one), and the idle-window probe when asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.engine.idle_probe import idle_gaps
from sm_bench_widgets.engine.plan import Trial, plan_concurrency, plan_stability
from sm_bench_widgets.engine.steps.openloop import open_loop_span_s, open_loop_trials
from sm_bench_widgets.limits import INVOCATION_TIMEOUT_S

GB = 1024**3


@dataclass(frozen=True)
class Rates:
    """Unit prices the estimate needs (USD), taken from the pricing table."""

    compute_per_gb_s: float
    data_in_per_gb: float
    data_out_per_gb: float
    provisioned_per_gb_s: float = 0.0


@dataclass(frozen=True)
class Estimate:
    """What a run may use at most: endpoints, invocations, billed compute, money and time."""

    endpoints: int
    trials: int
    max_invocations: int
    compute_gb_s: float
    compute_usd: float
    data_usd: float
    provisioned_usd: float
    duration_s: float
    timeout_compute_usd: float
    latency_ms: float

    @property
    def total_usd(self) -> float:
        """Everything billed at most, at the assumed latency."""
        return self.compute_usd + self.data_usd + self.provisioned_usd


def planned_trials(config: BenchmarkConfig) -> list[Trial]:
    """Every trial the config may run, the concurrency phase at the largest memory size."""
    trials = plan_stability(config)
    if config.include_concurrency_benchmark or config.provisioned_concurrency:
        trials += plan_concurrency(config, max(config.memory_sizes))
    return trials


def open_loop_planned(config: BenchmarkConfig, latency_ms: float) -> tuple[list[Trial], float]:
    """The open-loop trials a run of ``config`` plans at the largest memory size when a
    request takes ``latency_ms``, and the peak rate they send; none without traffic."""
    if config.traffic is None or not config.memory_sizes:
        return [], 0.0
    return open_loop_trials(
        config.traffic,
        max(config.memory_sizes),
        latency_ms,
        config.concurrency_benchmark_invocations,
    )


def trial_duration_s(trial: Trial, latency_s: float, pause_s: float) -> float:
    """Longest load time of one trial: sequential steps of ``latency + pause`` per slot."""
    slots = max(1, min(trial.clients, trial.max_concurrency))
    return math.ceil(trial.max_invocations / slots) * (latency_s + pause_s)


def estimate(
    config: BenchmarkConfig,
    rates: Rates,
    latency_ms: float = 1000.0,
    body_bytes: int = 0,
    endpoint_setup_s: float = 240.0,
) -> Estimate:
    """Upper bounds for ``config`` when no invocation takes longer than ``latency_ms``.

    ``body_bytes`` is the largest request body (responses are assumed no larger);
    ``endpoint_setup_s`` is how long creating and deleting one endpoint may take (a few
    minutes on AWS, about a second on the emulator).
    """
    trials = planned_trials(config)
    open_trials, rate = open_loop_planned(config, latency_ms)
    trials += open_trials
    latency_s = latency_ms / 1000.0
    probes = config.cold_start_probes
    invocations = 0
    gb_s = 0.0
    timeout_gb_s = 0.0
    duration = 0.0
    provisioned_gb_s = 0.0
    endpoints: dict[tuple[bool, str], list[Trial]] = {}
    for t in trials:  # an open-loop check deploys an endpoint of its own
        endpoints.setdefault((t.phase == "open_loop", t.endpoint_key), []).append(t)
    for group in endpoints.values():
        first = group[0]
        memory_gb = first.memory_size / 1024
        if first.phase == "open_loop":
            # its budget holds the burst starting every instance, then arrivals at the peak
            n = first.max_invocations
            span = open_loop_span_s(config.traffic, rate, n - first.max_concurrency)
            held = latency_s + span + latency_s  # the burst, the arrivals, the last answer
        else:
            n = sum(t.max_invocations for t in group) + probes
            held = config.cold_start_delay + sum(
                trial_duration_s(t, latency_s, config.invocation_pause) for t in group
            )
            held += probes * latency_s
        invocations += n
        gb_s += n * latency_s * memory_gb
        timeout_gb_s += n * INVOCATION_TIMEOUT_S * memory_gb
        duration += endpoint_setup_s + held
        provisioned_gb_s += first.provisioned_concurrency * memory_gb * held
    traffic = config.traffic
    if traffic is not None and traffic.probe_idle_window and config.memory_sizes:
        # the idle-window probe: one endpoint, idle for each of its gaps in turn
        gaps = idle_gaps(4 * traffic.idle_window_s)
        n = len(gaps) + 2
        memory_gb = max(config.memory_sizes) / 1024
        invocations += n
        gb_s += n * latency_s * memory_gb
        timeout_gb_s += n * INVOCATION_TIMEOUT_S * memory_gb
        duration += endpoint_setup_s + sum(gaps) + n * latency_s
        extra_endpoints = 1
    else:
        extra_endpoints = 0
    data_usd = invocations * body_bytes / GB * (rates.data_in_per_gb + rates.data_out_per_gb)
    return Estimate(
        endpoints=len(endpoints) + extra_endpoints,
        trials=len(trials) + extra_endpoints,
        max_invocations=invocations,
        compute_gb_s=gb_s,
        compute_usd=gb_s * rates.compute_per_gb_s,
        data_usd=data_usd,
        provisioned_usd=provisioned_gb_s * rates.provisioned_per_gb_s,
        duration_s=duration,
        timeout_compute_usd=timeout_gb_s * rates.compute_per_gb_s,
        latency_ms=latency_ms,
    )


def rates_from_prices(prices: Any) -> Rates:
    """The unit rates read from a pricing table entry (``analysis.pricing.Prices``)."""
    return Rates(
        compute_per_gb_s=float(prices.compute_per_gb_second),
        data_in_per_gb=float(prices.data_in_per_gb),
        data_out_per_gb=float(prices.data_out_per_gb),
        provisioned_per_gb_s=float(prices.provisioned_per_gb_second),
    )


def estimate_benchmark(
    config: BenchmarkConfig,
    latency_ms: float = 1000.0,
    body_bytes: int = 0,
    endpoint_setup_s: float = 240.0,
    region: str | None = None,
) -> Estimate:
    """Upper bounds for ``config`` at the prices of ``region`` (the config's region first;
    regions without a price entry use us-east-1's), with the config's price overrides."""
    from sm_bench_widgets.analysis.pricing import PRICE_TABLE, get_prices

    region = config.region or region
    prices = get_prices(region if region in PRICE_TABLE else "us-east-1", config.pricing_overrides)
    return estimate(
        config,
        rates_from_prices(prices),
        latency_ms=latency_ms,
        body_bytes=body_bytes,
        endpoint_setup_s=endpoint_setup_s,
    )


@dataclass(frozen=True)
class JobCost:
    """What a Processing job's own instances cost at most: None ``usd`` when the pricing
    table has no figure for the instance type."""

    instance_type: str
    instance_count: int
    duration_s: float
    hourly_usd: float | None
    usd: float | None
    as_of: str | None
    source: str


def priced_processing_types() -> list[str]:
    """The Processing instance types the pricing table has an hourly figure for."""
    from sm_bench_widgets.analysis.pricing import PROCESSING_HOURLY

    return sorted(PROCESSING_HOURLY)


def estimate_job_cost(
    instance_type: str, instance_count: int, duration_s: float, region: str | None = None
) -> JobCost:
    """The job's instances for ``duration_s`` (the run's duration bound): hourly price x
    instance count x hours, at the prices of ``region`` (us-east-1's where it has none)."""
    from sm_bench_widgets.analysis.pricing import processing_hourly

    figure = processing_hourly(instance_type, region)
    if figure is None:
        return JobCost(
            instance_type, instance_count, duration_s, None, None, None, "not in the pricing table"
        )
    usd = figure.value * instance_count * duration_s / 3600.0
    return JobCost(
        instance_type, instance_count, duration_s, figure.value, usd, figure.as_of, figure.source
    )
