"""The measured tables as DataFrames with the schema's columns and fixed dtypes.

Every producer and reader (runner, run store, saved results) goes through here, so a table
read back from disk has the same dtypes as the one the runner built.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from sm_bench_widgets.schema import CLOUDWATCH_COLUMNS, INVOCATION_COLUMNS

_INVOCATION_KINDS = {
    **dict.fromkeys(
        ("run_id", "trial_id", "phase", "endpoint_name", "outcome", "error_code"), "str"
    ),
    **dict.fromkeys(
        (
            "memory_size",
            "max_concurrency",
            "provisioned_concurrency",
            "clients",
            "client_id",
            "bytes_in",
            "bytes_out",
            "payload_index",
        ),
        "int",
    ),
    **dict.fromkeys(("start", "end", "latency_ms"), "float"),
    "cold": "bool",
}
_CLOUDWATCH_KINDS = {
    **dict.fromkeys(("endpoint_name", "metric", "statistic", "unit"), "str"),
    **dict.fromkeys(("memory_size", "max_concurrency", "provisioned_concurrency"), "int"),
    "timestamp": "time",
    "value": "float",
}
_TRUE = {"true", "1", "yes", "y", "t"}


def as_bool(series: pd.Series) -> pd.Series:
    """A column of flags as booleans, tolerating strings (\"True\"/\"false\") and missing values."""
    if series.dtype == bool:
        return series
    return series.map(
        lambda v: (
            str(v).strip().lower() in _TRUE
            if isinstance(v, str)
            else bool(v)
            if pd.notna(v)
            else False
        )
    ).astype(bool)


def _coerce(frame: pd.DataFrame | None, columns: list[str], kinds: dict[str, str]) -> pd.DataFrame:
    """``frame`` with ``columns`` first (missing ones added) and each column of its kind."""
    frame = pd.DataFrame() if frame is None else frame
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    extra = [c for c in frame.columns if c not in columns]
    for col in [*columns, *extra]:
        values = (
            frame[col].reset_index(drop=True)
            if col in frame.columns
            else pd.Series([None] * len(frame), dtype=object)
        )
        kind = kinds.get(col)
        if kind == "str":
            values = values.astype(object).where(values.notna(), "").astype(str)
        elif kind == "int":
            values = pd.to_numeric(values, errors="coerce").fillna(0).astype("int64")
        elif kind == "float":
            values = pd.to_numeric(values, errors="coerce").astype("float64")
        elif kind == "bool":
            values = as_bool(values)
        elif kind == "time":
            values = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
            values = values.astype("datetime64[ns, UTC]")
        out[col] = values
    return out


def normalize_invocations(frame: pd.DataFrame | None) -> pd.DataFrame:
    """Invocations with ``INVOCATION_COLUMNS`` first and fixed dtypes (empty is fine)."""
    return _coerce(frame, INVOCATION_COLUMNS, _INVOCATION_KINDS)


def normalize_cloudwatch(frame: pd.DataFrame | None) -> pd.DataFrame:
    """CloudWatch rows with ``CLOUDWATCH_COLUMNS`` first and fixed dtypes (UTC timestamps)."""
    return _coerce(frame, CLOUDWATCH_COLUMNS, _CLOUDWATCH_KINDS)


def invocations_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Invocation rows (dicts) as a normalised frame."""
    return normalize_invocations(pd.DataFrame(list(rows)))


def cloudwatch_frame(frames: Iterable[pd.DataFrame | None]) -> pd.DataFrame:
    """CloudWatch rows of several endpoints in one normalised frame."""
    parts = [f for f in frames if f is not None and len(f)]
    return normalize_cloudwatch(pd.concat(parts, ignore_index=True) if parts else None)
