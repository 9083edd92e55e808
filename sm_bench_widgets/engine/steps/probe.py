"""Cold-start probe step: the first requests to a fresh endpoint, sent at once."""

from __future__ import annotations

from sm_bench_widgets.engine.context import RunContext
from sm_bench_widgets.engine.loads import Invoker, burst, mark_slowest_cold
from sm_bench_widgets.engine.stopping import TrialState


def probe_cold_starts(
    ctx: RunContext, invoker: Invoker, state: TrialState, k: int, warm: int = 0
) -> int:
    """Send ``k`` concurrent first requests to the fresh endpoint: ``k`` cold starts.

    With ``warm`` instances already up (provisioned concurrency), only the ``k - warm``
    slowest requests of the burst are marked cold. Returns how many requests were
    answered (instances now warm).
    """
    k = state.load.reserve(k)
    if k <= 0:
        return 0
    rows = burst(invoker, k)
    if warm:
        mark_slowest_cold(rows, k - warm)
    for row in rows:
        state.record(row)
    ctx.batcher.add_many(rows)
    return sum(1 for r in rows if r["outcome"] == "ok")
