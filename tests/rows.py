"""Builders of invocation rows and frames (columns of ``schema.INVOCATION_COLUMNS``) for tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from sm_bench_widgets.schema import INVOCATION_COLUMNS

# The AWS error code the engine records beside each outcome (see engine/loads.py).
ERROR_CODES = {
    "ok": "",
    "throttled": "ThrottlingException",
    "insufficient_memory": "ModelError",
    "model_error": "ModelError",
    "error": "InternalFailure",
}


def invocation_row(
    trial_id: str,
    latency_ms: float,
    *,
    start: float,
    phase: str = "stability",
    memory_size: int = 2048,
    max_concurrency: int = 1,
    provisioned_concurrency: int = 0,
    clients: int = 1,
    outcome: str = "ok",
    cold: bool = False,
    run_id: str = "run1",
    endpoint_name: str | None = None,
    client_id: int = 0,
    error_code: str | None = None,
    bytes_in: int = 100,
    bytes_out: int = 50,
    payload_index: int = 0,
) -> dict[str, Any]:
    """One invocation sent at ``start`` (epoch seconds) that took ``latency_ms``."""
    return {
        "run_id": run_id,
        "trial_id": trial_id,
        "phase": phase,
        "memory_size": memory_size,
        "max_concurrency": max_concurrency,
        "provisioned_concurrency": provisioned_concurrency,
        "clients": clients,
        "client_id": client_id,
        "endpoint_name": endpoint_name if endpoint_name is not None else f"ep-{trial_id}",
        "start": start,
        "end": start + latency_ms / 1000.0,
        "latency_ms": float(latency_ms),
        "outcome": outcome,
        "error_code": ERROR_CODES[outcome] if error_code is None else error_code,
        "cold": cold,
        "bytes_in": bytes_in,
        "bytes_out": bytes_out,
        "payload_index": payload_index,
    }


def invocation_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """The rows as an invocations DataFrame with the schema's columns in order."""
    return pd.DataFrame(list(rows), columns=INVOCATION_COLUMNS)


def invocation_rows(
    trial_id: str,
    latencies_ms: Sequence[float],
    *,
    outcomes: Sequence[str] | None = None,
    cold: Sequence[bool] | None = None,
    start: float = 1000.0,
    gap_s: float = 1.0,
    **fields: Any,
) -> pd.DataFrame:
    """Sequential invocations of one trial, one every ``gap_s`` seconds, as a frame.

    ``outcomes`` and ``cold`` give one value per latency (default all ok, all warm);
    ``fields`` are further ``invocation_row`` arguments shared by every row.
    """
    n = len(latencies_ms)
    outcomes = list(outcomes) if outcomes is not None else ["ok"] * n
    cold = list(cold) if cold is not None else [False] * n
    return invocation_frame(
        invocation_row(
            trial_id,
            latency,
            start=start + i * gap_s,
            outcome=outcomes[i],
            cold=cold[i],
            payload_index=i % 2,
            **fields,
        )
        for i, latency in enumerate(latencies_ms)
    )
