"""Build the runner's DataFrames from plain rows, with the schema's columns and dtypes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from sm_bench_widgets.schema import CLOUDWATCH_COLUMNS, INVOCATION_COLUMNS

_INT_COLUMNS = (
    "memory_size",
    "max_concurrency",
    "provisioned_concurrency",
    "clients",
    "client_id",
    "bytes_in",
    "bytes_out",
    "payload_index",
)
_FLOAT_COLUMNS = ("start", "end", "latency_ms")
_STR_COLUMNS = ("run_id", "trial_id", "phase", "endpoint_name", "outcome", "error_code")


def invocations_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per invocation, columns in ``INVOCATION_COLUMNS`` order (empty is fine)."""
    df = pd.DataFrame(list(rows))
    for col in INVOCATION_COLUMNS:
        if col not in df.columns:
            df[col] = pd.Series(dtype="object")
    df = df[INVOCATION_COLUMNS]
    for col in _INT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype("int64")
    for col in _FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for col in _STR_COLUMNS:
        df[col] = df[col].fillna("").astype(str)
    df["cold"] = df["cold"].fillna(False).astype(bool)
    return df.reset_index(drop=True)


def cloudwatch_frame(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """CloudWatch rows of several endpoints in one frame with ``CLOUDWATCH_COLUMNS``."""
    parts = [f for f in frames if f is not None and len(f)]
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    for col in CLOUDWATCH_COLUMNS:
        if col not in df.columns:
            df[col] = pd.Series(dtype="object")
    return df[CLOUDWATCH_COLUMNS].reset_index(drop=True)
