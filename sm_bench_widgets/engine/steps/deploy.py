"""Deploy step: create the endpoints of some trials and wait until they are InService,
in waves that fit the account's serverless quotas."""

from __future__ import annotations

from collections.abc import Iterator

from sm_bench_widgets.engine import stopping
from sm_bench_widgets.engine.context import RunContext
from sm_bench_widgets.engine.deploy import Deployed
from sm_bench_widgets.engine.plan import Trial


def deploy(ctx: RunContext, trials: list[Trial]) -> dict[str, Deployed]:
    """Endpoint key -> what became of its endpoint; trials whose endpoint failed (or whose
    creation a stop prevented) end here with their reason."""
    deployed = ctx.deployments.deploy(_shapes(trials))
    for t in trials:
        d = deployed[t.endpoint_key]
        if not d.ok:
            reason = stopping.STOPPED if d.reason == "stopped" else stopping.ENDPOINT_FAILED
            ctx.end_trial(t.trial_id, reason, detail=d.reason)
    return deployed


def deploy_waves(
    ctx: RunContext, trials: list[Trial]
) -> Iterator[tuple[list[Trial], dict[str, Deployed]]]:
    """Deploy ``trials`` in waves that fit what the account has free when each starts;
    yields each wave's trials and endpoints. The caller runs a wave (and releases its
    endpoints) before asking for the next. Trials no wave could take end as failed."""
    remaining = list(trials)
    while remaining and not ctx.stop_event.is_set():
        keys = set(ctx.deployments.room_for(_shapes(remaining)))
        if not keys:
            if not ctx.stop_event.is_set():
                for t in remaining:
                    ctx.end_trial(
                        t.trial_id,
                        stopping.ENDPOINT_FAILED,
                        detail="no room under the account's serverless quotas",
                    )
            return
        wave = [t for t in remaining if t.endpoint_key in keys]
        remaining = [t for t in remaining if t.endpoint_key not in keys]
        yield wave, deploy(ctx, wave)


def _shapes(trials: list[Trial]) -> dict[str, tuple[int, int, int]]:
    return {
        t.endpoint_key: (t.memory_size, t.max_concurrency, t.provisioned_concurrency)
        for t in trials
    }
