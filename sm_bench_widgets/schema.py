"""Column names of the DataFrames that flow from the runner to analysis, charts and widgets.

One place names them so that producers and readers agree.
"""

from __future__ import annotations

OUTCOMES = ("ok", "throttled", "insufficient_memory", "model_error", "error")
PHASES = ("cold_start", "stability", "concurrency")

INVOCATION_COLUMNS = [
    "run_id",
    "trial_id",
    "phase",  # one of PHASES
    "memory_size",  # MB
    "max_concurrency",
    "provisioned_concurrency",  # 0 when none
    "clients",  # simulated concurrent clients in this trial
    "client_id",
    "endpoint_name",
    "start",  # epoch seconds (float), when the request was sent
    "end",  # epoch seconds (float), when the answer (or error) arrived
    "latency_ms",  # client-observed round trip
    "outcome",  # one of OUTCOMES
    "error_code",  # AWS error code, "" when ok
    "cold",  # True for a request that paid a cold start
    "bytes_in",  # request body size
    "bytes_out",  # response body size
    "payload_index",  # index into the examples
]

SUMMARY_COLUMNS = [
    "trial_id",
    "phase",
    "memory_size",
    "max_concurrency",
    "provisioned_concurrency",
    "clients",
    "count",  # invocations made
    "ok_count",
    "throttle_count",
    "insufficient_memory_count",
    "model_error_count",
    "other_error_count",
    "error_rate",  # all non-ok outcomes / count
    "mean_ms",  # over ok, warm invocations
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "iqr_ms",
    "p50_ci_low",
    "p50_ci_high",
    "p90_ci_low",
    "p90_ci_high",
    "p95_ci_low",
    "p95_ci_high",
    "p99_ci_low",
    "p99_ci_high",
    "throughput_rps",  # steady state: ok load invocations/s once no instance is cold
    "throughput_all_rps",  # ok load invocations/s over the whole load (no probe)
    "throughput_window_s",  # the window throughput_rps is over (duration_s if no ramp)
    "duration_s",  # the load's window: its first start to its last end
    "cold_count",
    "stop_reason",  # why the trial stopped: "precision", "dominated", "max_invocations", ...
]

COLD_START_COLUMNS = [
    "trial_id",
    "memory_size",
    "max_concurrency",
    "provisioned_concurrency",
    "cold_count",
    "cold_p50_ms",
    "cold_max_ms",
    "warm_p50_ms",
    "cold_penalty_ms",  # cold_p50_ms - warm_p50_ms
]

COST_COLUMNS = [
    "memory_size",
    "max_concurrency",
    "provisioned_concurrency",
    "p50_ms",
    "p90_ms",
    "billed_ms",  # the duration billed per invocation (mean)
    "billed_from",  # "ModelLatency" (CloudWatch) or "round trip" (client-observed)
    "compute_per_invocation_usd",
    "data_per_invocation_usd",
    "cost_per_invocation_usd",
    "cost_per_1m_usd",
    "provisioned_per_month_usd",  # 0 without provisioned concurrency
    "monthly_cost_usd",  # at config.monthly_invocations
]

BREAK_EVEN_COLUMNS = [
    "memory_size",
    "max_concurrency",
    "provisioned_concurrency",
    "instance_type",
    "instance_monthly_usd",
    "serverless_cost_per_1m_usd",
    "break_even_monthly_invocations",  # from here on the instance endpoint is cheaper
]

CLOUDWATCH_COLUMNS = [
    "endpoint_name",
    "memory_size",
    "max_concurrency",
    "provisioned_concurrency",
    "metric",  # e.g. ModelLatency
    "statistic",  # Average, Maximum, Sum, SampleCount, p50, p90, p99
    "timestamp",
    "value",
    "unit",
]
