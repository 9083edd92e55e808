"""Deploy step: create the endpoints of some trials and wait until they are InService."""

from __future__ import annotations

from sm_bench_widgets.engine import stopping
from sm_bench_widgets.engine.context import RunContext
from sm_bench_widgets.engine.deploy import Deployed
from sm_bench_widgets.engine.plan import Trial


def deploy(ctx: RunContext, trials: list[Trial]) -> dict[str, Deployed]:
    """Endpoint key -> what became of its endpoint; trials whose endpoint failed (or whose
    creation a stop prevented) end here with their reason."""
    shapes = {
        t.endpoint_key: (t.memory_size, t.max_concurrency, t.provisioned_concurrency)
        for t in trials
    }
    deployed = ctx.deployments.deploy(shapes)
    for t in trials:
        d = deployed[t.endpoint_key]
        if not d.ok:
            reason = stopping.STOPPED if d.reason == "stopped" else stopping.ENDPOINT_FAILED
            ctx.end_trial(t.trial_id, reason, detail=d.reason)
    return deployed
