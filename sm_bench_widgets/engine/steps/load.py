"""Load steps: one stability trial (one sequential client), or the concurrency trials of one
endpoint (closed-loop clients, one trial after another). Each ends its trials and releases
its endpoint when done."""

from __future__ import annotations

from typing import Any

from sm_bench_widgets.analysis import stats
from sm_bench_widgets.engine.context import RunContext
from sm_bench_widgets.engine.load_process import Load, job_for, picklable, run_closed_loop
from sm_bench_widgets.engine.loads import FirstWave, Invoker, RowSink, closed_loop, sequential
from sm_bench_widgets.engine.plan import Trial
from sm_bench_widgets.engine.steps.probe import probe_cold_starts
from sm_bench_widgets.engine.steps.split import Splits, part_cold_slots, part_state
from sm_bench_widgets.engine.steps.teardown import release
from sm_bench_widgets.engine.stopping import TrialState


def stability_trial(ctx: RunContext, trial: Trial, endpoint: str, state: TrialState) -> None:
    """One cold probe, then one request after another until the trial stops."""
    try:
        invoker = ctx.invoker(trial, endpoint)
        worker = load_worker(ctx, invoker, 1, state)  # prepared while the probe runs
        ctx.trial_started(trial, endpoint)
        probe_cold_starts(ctx, invoker, state, k=1)
        send_load(ctx, invoker, 1, state, ctx.row_sink(state), worker)
        end_trial(ctx, trial, state.final_reason())
    finally:
        release(ctx, endpoint, [trial])


def concurrency_endpoint(
    ctx: RunContext, group: list[Trial], endpoint: str, splits: Splits | None = None
) -> None:
    """The trials of one endpoint in order: a cold-start burst first, then each trial's
    closed-loop clients, the first wave of each marking the instances it had to start.
    A trial split over hosts (``splits``) runs here as its first part, together with the
    other hosts' parts, and ends once they all have."""
    try:
        warm = group[0].provisioned_concurrency  # instances known to be warm
        for i, trial in enumerate(group):
            if ctx.stop_event.is_set():
                break
            part = splits.of(trial) if splits is not None else None
            clients = part.clients if part else trial.clients
            state = part_state(ctx, part) if part else ctx.new_state(trial)
            invoker = ctx.invoker(trial, endpoint)
            worker = load_worker(ctx, invoker, clients, state)
            if part is not None:
                splits.announce(part, endpoint)
            ctx.trial_started(trial, endpoint)
            if i == 0:
                k = min(ctx.config.cold_start_probes, trial.max_concurrency)
                warm = max(warm, probe_cold_starts(ctx, invoker, state, k, warm))
            wave = min(trial.clients, trial.max_concurrency)
            cold = wave - warm
            if part is not None:
                if not splits.start(ctx, part, cold):
                    splits.end(ctx, part, state)
                    break
                cold = part_cold_slots(cold, part)
            first_wave = FirstWave(clients, cold, ctx.row_sink(state))
            send_load(ctx, invoker, clients, state, first_wave, worker)
            first_wave.close()
            warm = max(warm, wave)
            if part is not None:
                splits.end(ctx, part, state)
            else:
                end_trial(ctx, trial, state.final_reason())
    finally:
        release(ctx, endpoint, group)


def load_worker(ctx: RunContext, invoker: Invoker, clients: int, state: TrialState) -> Load | None:
    """The trial's load in the run's worker process (``load_process``), where nothing this
    process analyses, stores or draws delays a request; None for threads here, when asked
    (``RunOptions.load_in_worker``) or when the pause function cannot be sent."""
    pause = state.load.pause
    if ctx.loader is None or (pause is not None and not picklable(pause)):
        return None
    return ctx.loader.load(job_for(invoker, clients, pause))


def send_load(
    ctx: RunContext,
    invoker: Invoker,
    clients: int,
    state: TrialState,
    sink: RowSink,
    worker: Load | None,
) -> None:
    """The trial's closed-loop load, from ``worker`` or from threads here."""
    load = state.load
    if worker is not None:
        limit = max(1, ctx.config.stability_benchmark_error_thresh) - state.errors
        stability = state.trial.phase == "stability"
        run_closed_loop(worker, load, sink, ctx.saw_emulator, max(1, limit), stability)
    elif clients == 1:
        sequential(invoker, load, sink)
    else:
        closed_loop(invoker, clients, load, sink, backoff=state.throttle_backoff)


def end_trial(ctx: RunContext, trial: Trial, reason: str) -> None:
    """End ``trial`` for ``reason`` with the summary row of all its invocations."""
    ctx.batcher.flush()
    df = ctx.rows.frame({trial.trial_id})
    summary: dict[str, Any] = {}
    if not df.empty:
        table = stats.summarize(df, {trial.trial_id: reason}, confidence=ctx.config.confidence)
        if len(table):
            summary = table.iloc[0].to_dict()
    ctx.end_trial(trial.trial_id, reason, summary=summary)
