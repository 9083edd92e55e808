"""Builders of invocation frames with known contents for the analysis tests."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest

from sm_bench_widgets.schema import INVOCATION_COLUMNS


def invocation_rows(
    trial_id: str,
    latencies_ms: Sequence[float],
    *,
    phase: str = "stability",
    memory_size: int = 2048,
    max_concurrency: int = 1,
    provisioned_concurrency: int = 0,
    clients: int = 1,
    outcomes: Sequence[str] | None = None,
    cold: Sequence[bool] | None = None,
    bytes_in: int = 100,
    bytes_out: int = 50,
    start: float = 1000.0,
    gap_s: float = 1.0,
) -> pd.DataFrame:
    """Sequential invocations, one every ``gap_s`` seconds, with the given latencies."""
    n = len(latencies_ms)
    outcomes = list(outcomes) if outcomes is not None else ["ok"] * n
    cold = list(cold) if cold is not None else [False] * n
    rows = []
    for i, lat in enumerate(latencies_ms):
        t0 = start + i * gap_s
        rows.append(
            {
                "run_id": "run1",
                "trial_id": trial_id,
                "phase": phase,
                "memory_size": memory_size,
                "max_concurrency": max_concurrency,
                "provisioned_concurrency": provisioned_concurrency,
                "clients": clients,
                "client_id": 0,
                "endpoint_name": f"ep-{trial_id}",
                "start": t0,
                "end": t0 + lat / 1000.0,
                "latency_ms": float(lat),
                "outcome": outcomes[i],
                "error_code": "" if outcomes[i] == "ok" else "SomeError",
                "cold": cold[i],
                "bytes_in": bytes_in,
                "bytes_out": bytes_out,
                "payload_index": i % 2,
            }
        )
    return pd.DataFrame(rows, columns=INVOCATION_COLUMNS)


@pytest.fixture
def make_invocations():
    """The ``invocation_rows`` builder, as a fixture."""
    return invocation_rows
