"""Open-loop load: requests arrive at a target rate, whether or not earlier ones answered.

Real traffic does not wait for answers, so a serverless endpoint (which queues nothing)
throttles what finds MaxConcurrency instances busy. The arrival times are drawn first
(Poisson at a rate, or a trace's busiest stretch with each minute squeezed into
``TRACE_MINUTE_S``), then one dispatcher thread sends each request at its time through
the same ``Invoker`` the closed-loop clients use, on a pool of sender threads. In a run
the dispatcher runs in the run's load worker (``load_process``), threads here being the
fallback. Rates and offsets are on the
service's clock; against an emulator running at a time scale, the dispatcher waits the
scaled wall-clock time. A request that could not go out within ``LATE_MS`` of its time
(every sender busy, or the machine too slow) is counted late, so a report can say when
the load was not truly open.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from sm_bench_widgets.engine.loads import Invoker, RowSink, TrialLoad

PHASE = "open_loop"
LATE_MS = 20.0  # wall-clock milliseconds past an arrival time that count as late
# A trace minute replayed in this many seconds of the service's clock: long beside any
# service time (a loss system settles within a few), short enough that a check's budget
# covers the peak and the minutes beside it.
TRACE_MINUTE_S = 10.0


def poisson_offsets(rate_per_s: float, count: int, seed: int | None = None) -> np.ndarray:
    """``count`` arrival times (seconds from the start) of a Poisson process at ``rate_per_s``."""
    if rate_per_s <= 0 or count < 0:
        raise ValueError(f"rate_per_s={rate_per_s!r} must be > 0 and count={count!r} >= 0")
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.exponential(1.0 / rate_per_s, count))


def trace_offsets(
    per_minute: Sequence[float], window_s: float, count: int, seed: int | None = None
) -> np.ndarray:
    """About ``count`` arrival times replaying a trace's shape squeezed into ``window_s``.

    Each trace minute becomes an equal slice of the window; arrivals within a slice are
    Poisson at a rate proportional to that minute's count, scaled so that ``count``
    requests are expected in all.
    """
    counts = np.asarray(per_minute, dtype=float)
    if counts.size == 0 or counts.sum() <= 0 or window_s <= 0:
        raise ValueError("a trace with requests in it and a window > 0 are needed")
    rng = np.random.default_rng(seed)
    slice_s = window_s / counts.size
    expected = counts / counts.sum() * count
    out = []
    for i, n in enumerate(rng.poisson(expected)):
        out.append(i * slice_s + np.sort(rng.uniform(0.0, slice_s, n)))
    return np.concatenate(out) if out else np.zeros(0)


def busiest_stretch(per_minute: Sequence[float], requests: float) -> tuple[int, int]:
    """(first, end) minutes of a stretch of a trace holding at least ``requests`` requests,
    grown from the busiest minute by its busier neighbour, minute by minute (the peak
    stays inside, the busy minutes beside it first); the whole trace when it holds fewer."""
    counts = np.asarray(per_minute, dtype=float)
    first = int(np.argmax(counts))
    end = first + 1
    total = counts[first]
    while total < requests and (first > 0 or end < counts.size):
        before = counts[first - 1] if first > 0 else -1.0
        after = counts[end] if end < counts.size else -1.0
        if after >= before:
            total += after
            end += 1
        else:
            first -= 1
            total += before
    return first, end


def trace_replay_offsets(
    per_minute: Sequence[float],
    peak_rps: float,
    count: int,
    minute_s: float = TRACE_MINUTE_S,
    seed: int | None = None,
) -> np.ndarray:
    """About ``count`` arrival times replaying a trace's busiest stretch in its shape.

    Each trace minute becomes ``minute_s`` seconds (service clock), its requests scaled so
    the busiest minute arrives at ``peak_rps``; the stretch is the shortest run of minutes
    around the busiest that holds ``count`` requests at that scale (``busiest_stretch``),
    so the check meets the trace's peak and the minutes beside it, not its quiet hours.
    """
    counts = np.asarray(per_minute, dtype=float)
    if counts.size == 0 or counts.max() <= 0 or peak_rps <= 0 or minute_s <= 0:
        raise ValueError("a trace with requests in it, peak_rps > 0 and minute_s > 0 are needed")
    scale = peak_rps * minute_s / counts.max()  # arrivals per request of the trace
    first, end = busiest_stretch(counts, count / scale)
    stretch = counts[first:end]
    expected = min(float(count), float(stretch.sum() * scale))
    return trace_offsets(stretch, minute_s * stretch.size, int(round(expected)), seed)


@dataclass
class OpenLoopStats:
    """How the dispatcher kept to the arrival times, and the answered requests' wall-clock
    round trips (an upper bound of how long each held an instance, client overhead
    included)."""

    sent: int = 0
    late: int = 0
    max_late_ms: float = 0.0
    answered: int = 0
    round_trip_s: float = 0.0

    @property
    def mean_round_trip_ms(self) -> float:
        """Mean wall-clock round trip of the ok requests (ms; NaN before any)."""
        return self.round_trip_s * 1000.0 / self.answered if self.answered else math.nan


def open_loop(
    invoker: Invoker,
    offsets: Sequence[float],
    load: TrialLoad,
    sink: RowSink,
    *,
    time_scale: float = 1.0,
    senders: int = 64,
) -> OpenLoopStats:
    """Send one request at each offset (service-clock seconds from now) until the offsets,
    the trial's budget or a stop end it; rows go to ``sink`` marked ``phase="open_loop"``."""
    stats = OpenLoopStats()
    free = threading.Semaphore(senders)
    lock = threading.Lock()

    def send(i: int) -> None:
        try:
            t = time.perf_counter()
            row = invoker.invoke(client_id=i, phase=PHASE)
            took = time.perf_counter() - t
            if row["outcome"] == "ok":
                with lock:
                    stats.answered += 1
                    stats.round_trip_s += took
            sink(row)
        finally:
            free.release()

    with ThreadPoolExecutor(max_workers=senders, thread_name_prefix="sm-bench-open") as pool:
        t0 = time.perf_counter()
        for i, offset in enumerate(offsets):
            due = t0 + float(offset) * time_scale
            wait = due - time.perf_counter()
            if wait > 0 and (load.run_stop.wait(wait) or load.trial_stop.is_set()):
                break
            free.acquire()
            if not load.take():
                free.release()
                break
            late_ms = (time.perf_counter() - due) * 1000.0
            with lock:
                stats.sent += 1
                stats.max_late_ms = max(stats.max_late_ms, late_ms)
                stats.late += late_ms > LATE_MS
            pool.submit(send, i)
    return stats
