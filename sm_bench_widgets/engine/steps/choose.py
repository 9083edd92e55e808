"""Planning step between the phases: the memory size the concurrency benchmark runs at."""

from __future__ import annotations

from sm_bench_widgets.analysis import recommend
from sm_bench_widgets.engine.context import RunContext
from sm_bench_widgets.engine.plan import Trial


def choose_memory(ctx: RunContext, stability: list[Trial]) -> int | None:
    """The memory size the stability results recommend, or None (reported) when none
    qualifies or there are no results."""
    df = ctx.rows.frame({t.trial_id for t in stability})
    if df.empty:
        ctx.report("no stability results: concurrency benchmark skipped")
        return None
    summary, costs = ctx.rank_inputs(df)
    config = ctx.config
    rec, why = recommend.recommend_or_reason(
        summary,
        costs,
        config.strategy,
        config.balanced_weight,
        config.sla_percentile,
        config.sla_ms,
        config.max_error_rate,
    )
    if rec is None:
        ctx.report(f"no memory size qualifies, concurrency benchmark skipped: {why}")
        return None
    return int(rec.memory_size)
