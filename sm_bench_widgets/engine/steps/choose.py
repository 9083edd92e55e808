"""Planning step between the phases: the memory size the concurrency benchmark runs at."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sm_bench_widgets.analysis import recommend
from sm_bench_widgets.engine.context import RunContext
from sm_bench_widgets.engine.plan import Trial
from sm_bench_widgets.frames import invocations_frame


def choose_memory(
    ctx: RunContext,
    stability: list[Trial],
    other_rows: Sequence[dict[str, Any]] = (),
    other_reasons: dict[str, str] | None = None,
) -> int | None:
    """The memory size the stability results recommend (with ``other_rows`` and
    ``other_reasons`` that other hosts measured), or None (reported) when none qualifies
    or there are no results."""
    ids = {t.trial_id for t in stability}
    df = ctx.rows.frame(ids)
    if other_rows:
        df = invocations_frame([*df.to_dict("records"), *other_rows])
    if df.empty:
        ctx.report("no stability results: concurrency benchmark skipped")
        return None
    summary, costs = ctx.rank_inputs(df, {**(other_reasons or {}), **ctx.stop_reasons})
    config = ctx.config
    rec, why = recommend.recommend_or_reason(
        summary,
        costs,
        config.strategy,
        config.balanced_weight,
        config.sla_percentile,
        config.sla_ms,
        config.max_error_rate,
        config.indifference,
    )
    if rec is None:
        ctx.report(f"no memory size qualifies, concurrency benchmark skipped: {why}")
        return None
    return int(rec.memory_size)
