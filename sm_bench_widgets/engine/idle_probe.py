"""The idle-reclaim window, measured: invoke one instance after growing idle gaps.

AWS does not document how long a serverless instance stays warm while idle. The probe
starts one instance (MaxConcurrency 1), takes a warm reference right after, then waits
each gap of ``idle_gaps`` (service-clock seconds) and invokes again: a request slower
than halfway between the cold start and the warm reference met a reclaimed instance.
The window lies between the longest gap that found the instance warm and the first
that found it cold; the probe stops there. It takes as long as its gaps add up to (an
hour or more on AWS), so it runs only when asked (``Traffic(probe_idle_window=True)``).
"""

from __future__ import annotations

import threading

from sm_bench_widgets.engine.loads import Invoker, RowSink

PHASE = "idle_probe"
FIRST_GAP_S = 60.0


def idle_gaps(longest_s: float, first_s: float = FIRST_GAP_S) -> list[float]:
    """Gaps doubling from ``first_s`` up to at least ``longest_s`` (service-clock seconds)."""
    if longest_s <= 0 or first_s <= 0:
        raise ValueError(f"longest_s={longest_s!r} and first_s={first_s!r} must be > 0")
    gaps = [float(first_s)]
    while gaps[-1] < longest_s:
        gaps.append(gaps[-1] * 2)
    return gaps


def probe_idle_window(
    invoker: Invoker,
    gaps_s: list[float],
    sink: RowSink,
    stop: threading.Event,
    time_scale: float = 1.0,
) -> tuple[float, float | None]:
    """(longest gap found warm, first gap found cold or None) after invoking past each of
    ``gaps_s`` in turn; rows go to ``sink`` marked ``phase="idle_probe"``, cold ones cold."""
    first = invoker.invoke(cold=True, phase=PHASE)
    sink(first)
    reference = invoker.invoke(phase=PHASE)
    sink(reference)
    if first["outcome"] != "ok" or reference["outcome"] != "ok":
        return 0.0, None
    threshold = (first["latency_ms"] + reference["latency_ms"]) / 2
    warm = 0.0
    for gap in gaps_s:
        if stop.wait(gap * time_scale):
            break
        row = invoker.invoke(phase=PHASE)
        row["cold"] = row["outcome"] == "ok" and row["latency_ms"] > threshold
        sink(row)
        if row["cold"]:
            return warm, gap
        if row["outcome"] == "ok":
            warm = gap
    return warm, None
