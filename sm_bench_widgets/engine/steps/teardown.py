"""Teardown steps: release one endpoint when its trials end; finish the run whatever
happened; delete what an earlier process of a resumed run left behind."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sm_bench_widgets.engine import stopping
from sm_bench_widgets.engine.context import RunContext
from sm_bench_widgets.engine.plan import Trial

log = logging.getLogger(__name__)


def release(ctx: RunContext, endpoint: str, trials: list[Trial]) -> None:
    """Delete the endpoint of finished ``trials`` and fetch its metrics in the background."""
    ctx.deployments.delete(endpoint)
    if not ctx.config.fetch_cloudwatch:
        return
    df = ctx.rows.frame({t.trial_id for t in trials})
    if df.empty:
        return
    t = trials[0]
    labels = {
        "memory_size": t.memory_size,
        "max_concurrency": t.max_concurrency,
        "provisioned_concurrency": t.provisioned_concurrency,
    }
    # rows are on the service's clock; CloudWatch is asked for the wall-clock window
    start, end = (ctx.wall_clock(float(t)) for t in (df["start"].min(), df["end"].max()))
    ctx.metrics.submit(endpoint, start, end, labels)


def delete_leftovers(ctx: RunContext) -> list[str]:
    """Delete the endpoints and configs of this run that an earlier process left live
    (a killed run being resumed); returns their names."""
    from sm_bench_widgets.aws.cleanup import sweep

    return sweep(ctx.target, run_id=ctx.run_id, out=log.info)


def finish(ctx: RunContext, status: str) -> None:
    """Delete what is live, end unfinished trials, collect metrics, close the store.

    Each part runs even when an earlier one failed, so a failed deletion never costs the
    rows still queued for the store, nor a full disk the endpoint deletion.
    """
    reason = stopping.STOPPED if status != "failed" else stopping.FAILED
    parts: list[tuple[str, Callable[[], Any] | None]] = [
        ("delete endpoints", ctx.deployments and ctx.deployments.delete_all),
        ("end unfinished trials", lambda: ctx.end_unfinished(reason)),
        ("collect CloudWatch metrics", ctx.metrics and ctx.metrics.collect),
        ("write the last invocations", ctx.batcher and ctx.batcher.close),
        ("close the run store", ctx.store and (lambda: ctx.store.close(status))),
    ]
    for what, part in parts:
        if part is None:
            continue
        try:
            part()
        except Exception as exc:
            log.exception("finishing run %s: %s", ctx.run_id, what)
            ctx.report(f"could not {what}: {exc}")
