"""Cost per invocation, per month and break-even against an instance endpoint.

The cost model, per configuration (memory size, max concurrency, provisioned concurrency):
- compute per invocation = billed seconds x price per second at that memory, where the
  billed duration is the mean CloudWatch ``ModelLatency`` of the configuration's endpoints
  (the model's own time, closest to what AWS bills per millisecond) when given, else the
  mean client-observed latency of ok, warm invocations (the round trip also holds network
  time, so this errs on the expensive side); ``billed_from`` says which. With provisioned
  concurrency every invocation is assumed to be served by the provisioned capacity and
  billed at its rate.
- data per invocation = mean request bytes x price in + mean response bytes x price out
  (per GB of 1024^3 bytes), over ok invocations.
- provisioned per month = provisioned concurrency x memory GB x held price per GB-second
  x 730 hours.
- cost per invocation = compute + data + provisioned per month / monthly invocations
  (the fixed holding cost spread over the expected volume; nothing is spread at 0), so
  provisioned variants compete with their own costs. cost_per_1m_usd = that x 1e6 and
  monthly_cost_usd = compute and data x monthly invocations + provisioned per month.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sm_bench_widgets.analysis.pricing import BYTES_PER_GB, SECONDS_PER_MONTH, Prices
from sm_bench_widgets.frames import as_bool
from sm_bench_widgets.schema import BREAK_EVEN_COLUMNS, COST_COLUMNS

CONFIG_KEYS = ["memory_size", "max_concurrency", "provisioned_concurrency"]


def _latency_from_invocations(g: pd.DataFrame) -> dict[str, float]:
    ok = g["outcome"].astype(str) == "ok"
    warm = ok & ~as_bool(g["cold"]) if "cold" in g else ok
    lat = pd.to_numeric(g.loc[warm, "latency_ms"], errors="coerce").dropna().to_numpy()
    ok_rows = g.loc[ok]
    return {
        "billed_ms": float(lat.mean()) if lat.size else math.nan,
        "p50_ms": float(np.percentile(lat, 50)) if lat.size else math.nan,
        "p90_ms": float(np.percentile(lat, 90)) if lat.size else math.nan,
        "bytes_in": float(pd.to_numeric(ok_rows["bytes_in"], errors="coerce").mean())
        if len(ok_rows) and "bytes_in" in ok_rows
        else 0.0,
        "bytes_out": float(pd.to_numeric(ok_rows["bytes_out"], errors="coerce").mean())
        if len(ok_rows) and "bytes_out" in ok_rows
        else 0.0,
    }


def _latency_from_summary(g: pd.DataFrame) -> dict[str, float]:
    best = g.sort_values("ok_count", ascending=False).iloc[0]
    return {
        "billed_ms": float(best["mean_ms"]),
        "p50_ms": float(best["p50_ms"]),
        "p90_ms": float(best["p90_ms"]),
        "bytes_in": 0.0,
        "bytes_out": 0.0,
    }


MODEL_LATENCY = "ModelLatency"
ROUND_TRIP = "round trip"


def model_latency_ms(cloudwatch_df: pd.DataFrame | None) -> dict[tuple[int, int, int], float]:
    """Mean CloudWatch ModelLatency (ms) per configuration, weighted by sample counts.

    Uses each period's ``Average`` with its ``SampleCount`` (microseconds in, milliseconds
    out); configurations without both are left out.
    """
    if cloudwatch_df is None or not len(cloudwatch_df) or "metric" not in cloudwatch_df:
        return {}
    cw = cloudwatch_df[cloudwatch_df["metric"] == MODEL_LATENCY]
    keys = [*CONFIG_KEYS, "endpoint_name", "timestamp"]
    if cw.empty or not set(keys) <= set(cw.columns):
        return {}
    wide = cw.pivot_table(index=keys, columns="statistic", values="value", aggfunc="mean")
    if not {"Average", "SampleCount"} <= set(wide.columns):
        return {}
    wide = wide.dropna(subset=["Average", "SampleCount"]).reset_index()
    out = {}
    for key, g in wide.groupby(CONFIG_KEYS):
        count = float(g["SampleCount"].sum())
        if count > 0:
            mean_us = float((g["Average"] * g["SampleCount"]).sum()) / count
            out[tuple(int(k) for k in key)] = mean_us / 1000.0
    return out


def configuration_cost(
    memory_size: float,
    provisioned_concurrency: int,
    billed_ms: float,
    bytes_in: float,
    bytes_out: float,
    prices: Prices,
    monthly_invocations: int,
) -> dict[str, float]:
    """The cost columns of one configuration from its billed duration and payload sizes."""
    rate = (
        prices.provisioned_compute_per_second(memory_size)
        if provisioned_concurrency
        else prices.compute_per_second(memory_size)
    )
    compute = billed_ms / 1000.0 * rate
    data = (
        np.nan_to_num(bytes_in) * prices.data_in_per_gb
        + np.nan_to_num(bytes_out) * prices.data_out_per_gb
    ) / BYTES_PER_GB
    held = (
        provisioned_concurrency
        * prices.provisioned_held_per_second(memory_size)
        * SECONDS_PER_MONTH
    )
    spread = held / monthly_invocations if monthly_invocations > 0 else 0.0
    per_invocation = compute + data + spread
    return {
        "compute_per_invocation_usd": compute,
        "data_per_invocation_usd": float(data),
        "cost_per_invocation_usd": per_invocation,
        "cost_per_1m_usd": per_invocation * 1e6,
        "provisioned_per_month_usd": held,
        "monthly_cost_usd": (compute + data) * monthly_invocations + held,
    }


def cost_table(
    summary_df: pd.DataFrame | None,
    invocations_df: pd.DataFrame | None,
    prices: Prices,
    monthly_invocations: int,
    cloudwatch_df: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """COST_COLUMNS, one row per configuration, from measured latency and payload sizes.

    Invocations are used when given (every phase of a configuration pooled, cold and
    failed invocations left out of the latency); otherwise the summary row with the most
    ok invocations supplies mean and percentiles, and data processing counts as 0. With
    ``cloudwatch_df``, a configuration's ModelLatency is its billed duration.
    """
    billed = model_latency_ms(cloudwatch_df)
    source = invocations_df if invocations_df is not None and len(invocations_df) else None
    frame = source if source is not None else summary_df
    if frame is None or not len(frame):
        return pd.DataFrame(columns=COST_COLUMNS)
    measure = _latency_from_invocations if source is not None else _latency_from_summary
    rows = []
    for keys, g in frame.groupby(CONFIG_KEYS, sort=True):
        memory, max_conc, provisioned = keys
        stats = measure(g)
        key = (int(memory), int(max_conc), int(provisioned))
        source = MODEL_LATENCY if key in billed else ROUND_TRIP
        if key in billed:
            stats["billed_ms"] = billed[key]
        row = {
            "memory_size": int(memory),
            "max_concurrency": int(max_conc),
            "provisioned_concurrency": int(provisioned),
            "p50_ms": stats["p50_ms"],
            "p90_ms": stats["p90_ms"],
            "billed_ms": stats["billed_ms"],
            "billed_from": source,
        }
        row.update(
            configuration_cost(
                memory,
                int(provisioned),
                stats["billed_ms"],
                stats["bytes_in"],
                stats["bytes_out"],
                prices,
                monthly_invocations,
            )
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=COST_COLUMNS)


def break_even_table(cost_df: pd.DataFrame, prices: Prices, instance_type: str) -> pd.DataFrame:
    """BREAK_EVEN_COLUMNS: monthly invocations from which a 24x7 instance is cheaper.

    Serverless per month = fixed provisioned cost F + N x marginal cost c (compute and
    data per invocation); the instance costs I per month whatever N. Break-even
    N = (I - F) / c, and 0 when F >= I (the instance is cheaper from the first
    invocation). Assumes one instance carries the load.
    """
    instance_monthly = prices.instance_monthly(instance_type)
    rows = []
    for _, r in cost_df.iterrows():
        marginal = float(r["compute_per_invocation_usd"]) + float(r["data_per_invocation_usd"])
        fixed = float(r["provisioned_per_month_usd"])
        if fixed >= instance_monthly:
            n = 0.0
        elif marginal > 0 and math.isfinite(marginal):
            n = (instance_monthly - fixed) / marginal
        else:
            n = math.nan
        rows.append(
            {
                "memory_size": r["memory_size"],
                "max_concurrency": r["max_concurrency"],
                "provisioned_concurrency": r["provisioned_concurrency"],
                "instance_type": instance_type,
                "instance_monthly_usd": instance_monthly,
                "serverless_cost_per_1m_usd": marginal * 1e6,
                "break_even_monthly_invocations": n,
            }
        )
    return pd.DataFrame(rows, columns=BREAK_EVEN_COLUMNS)
