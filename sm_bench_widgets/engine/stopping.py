"""When a trial stops: error threshold, precision reached, dominated, infeasible, budget,
or a stop.

``TrialState`` sees every row of one trial as it completes and decides the cheap stops
(errors, precision, checked every ``check_every`` warm samples); precision means p50 and
p90 within +-precision and, with an SLA, its percentile settled (within +-precision, or
its interval wholly below the SLA; wholly above it is racing's "infeasible").
``racing_verdicts`` ranks the trials racing each other and names those that cannot win
or surely fail the constraints.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from sm_bench_widgets.analysis import stats
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.engine.loads import TrialLoad
from sm_bench_widgets.engine.openloop import PHASE as OPEN_LOOP
from sm_bench_widgets.engine.plan import Trial

# stop reasons, as written to TrialEnded and the summaries
PRECISION = "precision"
DOMINATED = "dominated"
INFEASIBLE = "infeasible"  # fails the SLA or the error-rate limit with confidence
MAX_INVOCATIONS = "max_invocations"
ERRORS = "errors"
STOPPED = "stopped"
ENDPOINT_FAILED = "endpoint_failed"
FAILED = "failed"


class Samples:
    """Latencies appended one at a time into a float64 array grown geometrically: 8-16
    bytes a sample, not a Python float in a list (about 32), and read without a copy."""

    def __init__(self, capacity: int = 256):
        self._values = np.empty(max(1, capacity), dtype=np.float64)
        self._size = 0

    def append(self, value: float) -> None:
        """Add one sample (the caller serialises appends)."""
        if self._size == self._values.size:
            grown = np.empty(2 * self._values.size, dtype=np.float64)
            grown[: self._size] = self._values
            self._values = grown
        self._values[self._size] = value
        self._size += 1

    def __len__(self) -> int:
        return self._size

    def view(self) -> np.ndarray:
        """The samples so far, read-only; later appends never change them (they write
        past its end or into a new array)."""
        view = self._values[: self._size]
        view.flags.writeable = False
        return view


class TrialState:
    """Counts one trial's rows and stops its load on the error threshold or precision."""

    def __init__(
        self, trial: Trial, config: BenchmarkConfig, load: TrialLoad, check_every: int = 10
    ):
        self.trial = trial
        self.config = config
        self.load = load
        self.check_every = max(1, check_every)
        self.count = 0
        self.errors = 0
        self.warm_ok = 0  # warm ok invocations
        # an open-loop check measures the throttled share of all its arrivals: it never
        # stops for latency precision, only latency trials do
        self.adaptive = config.adaptive and trial.phase != OPEN_LOOP
        self.warm_ok_ms = Samples()  # their latencies, kept when adaptive (precision reads them)
        self.typical_ms: float | None = None  # running mean of recent warm ok latencies
        self.stop_reason: str | None = None
        self._lock = threading.Lock()
        self._error_limit = max(1, config.stability_benchmark_error_thresh)

    def stop(self, reason: str) -> None:
        """Stop the trial's load for ``reason`` (the first reason given wins)."""
        with self._lock:
            if self.stop_reason is None:
                self.stop_reason = reason
        self.load.trial_stop.set()

    def record(self, row: dict[str, Any]) -> None:
        """Account for one completed invocation and stop the trial when it should."""
        check = False
        with self._lock:
            self.count += 1
            outcome = row["outcome"]
            if outcome == "ok":
                if not row.get("cold"):
                    latency = float(row["latency_ms"])
                    self.warm_ok += 1
                    if self.adaptive:
                        self.warm_ok_ms.append(latency)
                    self.typical_ms = (
                        latency
                        if self.typical_ms is None
                        else (0.9 * self.typical_ms + 0.1 * latency)
                    )
                    n = self.warm_ok
                    check = (
                        self.adaptive
                        and n >= self.config.min_invocations
                        and n % self.check_every == 0
                    )
            elif outcome != "throttled" or self.trial.phase == "stability":
                # throttles are the expected answer to excess clients, not a failure
                self.errors += 1
            too_many_errors = self.errors >= self._error_limit
            samples = self.warm_ok_ms.view() if check else None
        if too_many_errors:
            self.stop(ERRORS)
        elif samples is not None and self._precise(samples):
            self.stop(PRECISION)

    def _precise(self, samples: np.ndarray) -> bool:
        """p50 and p90 within the precision, and the SLA percentile settled: within the
        precision too, or surely meeting the SLA. Surely failing it is racing's verdict
        (``INFEASIBLE``), which keeps the last possibly feasible trial going."""
        c = self.config
        if not stats.precision_reached(
            samples, c.precision, c.confidence, (50, 90), floor_ms=c.precision_ms
        ):
            return False
        if c.sla_percentile is None or c.sla_percentile in (50, 90):
            return True
        return stats.percentile_settled(
            samples,
            c.sla_percentile,
            c.precision,
            c.confidence,
            c.sla_ms,
            side="below",
            floor_ms=c.precision_ms,
        )

    def throttle_backoff(self) -> float:
        """Seconds a throttled client waits: about one service time, jittered (0.5-1.5x)."""
        typical = self.typical_ms if self.typical_ms is not None else 10.0
        return min(1.0, typical / 1000.0) * random.uniform(0.5, 1.5)

    def final_reason(self) -> str:
        """Why the trial ended, once its load returned."""
        if self.stop_reason is not None:
            return self.stop_reason
        if self.load.run_stop.is_set() and self.load.issued < self.load.max_invocations:
            return STOPPED
        return MAX_INVOCATIONS


def racing_verdicts(
    rows: pd.DataFrame,
    states: dict[str, TrialState],
    config: BenchmarkConfig,
    rank_inputs: Callable[[pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]],
) -> dict[str, str]:
    """Running trials past ``min_invocations`` that racing stops, with the stop reason
    (``DOMINATED`` or ``INFEASIBLE``)."""
    from sm_bench_widgets.analysis import racing

    if rows.empty:
        return {}
    summary, costs = rank_inputs(rows)
    if summary.empty:
        return {}
    # a trial stopped since its rows came in is stopped for racing too
    stopped = {t: s.stop_reason for t, s in states.items() if s.stop_reason is not None}
    if stopped:
        summary = summary.copy()
        ids = summary["trial_id"].astype(str)
        summary["stop_reason"] = ids.map(stopped).fillna(summary["stop_reason"])
    found = racing.verdicts(
        summary,
        costs,
        config.strategy,
        config.balanced_weight,
        config.confidence,
        config.sla_percentile,
        config.sla_ms,
        config.max_error_rate,
        config.indifference,
    )
    return {
        t: why
        for t, why in found.items()
        if t in states
        and states[t].stop_reason is None
        and states[t].count >= config.min_invocations
    }


def dominated_trials(
    rows: pd.DataFrame,
    states: dict[str, TrialState],
    config: BenchmarkConfig,
    rank_inputs: Callable[[pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]],
) -> set[str]:
    """Running trials that racing says cannot win, among those with enough invocations."""
    found = racing_verdicts(rows, states, config, rank_inputs)
    return {t for t, why in found.items() if why == DOMINATED}
