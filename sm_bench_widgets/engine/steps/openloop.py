"""Open-loop step: the user's peak traffic sent at the chosen memory size, arriving at its
rate whether or not earlier requests answered, so the throttling model meets data.

With ``config.traffic`` given, after the concurrency trials: one open-loop trial at the
MaxConcurrency the traffic model picks for the peak, and one at the largest smaller
MaxConcurrency where Erlang-B predicts at least 1% throttled, where the share is large
enough to measure. Each endpoint first gets a burst that starts every instance, so the
trial measures throttling rather than scale-up. Rows carry ``phase="open_loop"``;
``BenchmarkResult.throttle_check`` sets Erlang-B beside them. On an emulator so fast that
a request holds its instance under 20 ms of wall time the check is skipped (and logged):
the client's own time per request would dominate.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from sm_bench_widgets.analysis import traffic as model
from sm_bench_widgets.engine.context import RunContext
from sm_bench_widgets.engine.events import PhaseStarted
from sm_bench_widgets.engine.idle_probe import PHASE as IDLE_PHASE
from sm_bench_widgets.engine.idle_probe import idle_gaps, probe_idle_window
from sm_bench_widgets.engine.load_process import job_for, run_closed_loop
from sm_bench_widgets.engine.openloop import (
    PHASE,
    TRACE_MINUTE_S,
    OpenLoopStats,
    busiest_stretch,
    open_loop,
    poisson_offsets,
    trace_replay_offsets,
)
from sm_bench_widgets.engine.plan import Trial, endpoint_key
from sm_bench_widgets.engine.steps.deploy import deploy_waves
from sm_bench_widgets.engine.steps.load import end_trial
from sm_bench_widgets.engine.steps.probe import probe_cold_starts
from sm_bench_widgets.engine.steps.teardown import release
from sm_bench_widgets.traffic import Traffic

CHECK_SHARE = 0.01  # the checking trial's predicted throttled share, at least
SENDERS = 64  # sender threads of an open-loop trial (requests in flight at most)
# Below this many wall-clock milliseconds per request (an emulator at a small time scale),
# the client's own few milliseconds per request would hold instances longer than the
# service time says, and the check would measure the machine rather than the model.
MIN_WALL_SERVICE_MS = 20.0

log = logging.getLogger(__name__)


def plan_open_loop(ctx: RunContext, memory_size: int) -> tuple[list[Trial], float]:
    """The open-loop trials at ``memory_size`` and the peak rate (requests per second on
    the service's clock) they send; none without traffic or warm stability rows."""
    traffic = ctx.config.traffic
    if traffic is None:
        return [], 0.0
    most = account_concurrency(ctx)
    ids = {
        t.trial_id
        for t in ctx.planned.values()
        if t.phase == "stability" and t.memory_size == memory_size and not t.provisioned_concurrency
    }
    rows = ctx.rows.frame(ids)
    if rows.empty:
        return [], 0.0
    warm = rows.loc[(rows["outcome"] == "ok") & ~rows["cold"].astype(bool), "latency_ms"]
    if warm.empty:
        return [], 0.0
    mean_ms = float(warm.mean())
    wall_ms = mean_ms * (ctx.time_scale or 1.0)
    if wall_ms < MIN_WALL_SERVICE_MS:
        log.info(
            "open-loop check skipped: %.1f ms of wall-clock time per request is too short "
            "beside the client's own time (time scale %s)",
            wall_ms,
            ctx.time_scale,
        )
        return [], 0.0
    trials, rate = open_loop_trials(
        traffic, memory_size, mean_ms, ctx.config.concurrency_benchmark_invocations
    )
    for t in [t for t in trials if t.max_concurrency > most]:
        ctx.report(
            f"open-loop check at MaxConcurrency {t.max_concurrency} skipped: the account "
            f"allows at most {most} in all (service quota)"
        )
    return [t for t in trials if t.max_concurrency <= most], rate


def account_concurrency(ctx: RunContext) -> int:
    """The account's total serverless concurrency quota (read once), recorded with the run
    so that its result's traffic answer keeps within it."""
    most = ctx.deployments.quotas.max_concurrency
    if ctx.account_concurrency_quota != most:
        ctx.account_concurrency_quota = most
        if ctx.store is not None:
            ctx.store.update_config(account_concurrency_quota=most)
    return most


def open_loop_trials(
    traffic: Traffic, memory_size: int, mean_ms: float, invocations: int
) -> tuple[list[Trial], float]:
    """The open-loop trials for ``traffic`` at ``memory_size`` when a request takes
    ``mean_ms`` (service clock), each sending ``invocations`` after its burst, and the
    peak rate they send: at the MaxConcurrency Erlang-B picks for the peak, and at the
    largest smaller one predicted to throttle at least ``CHECK_SHARE``. Also what the
    estimate counts before a run, at its assumed latency."""
    rate = traffic.needs(mean_ms).peak_rps
    if rate <= 0:
        return [], 0.0
    answer = model.smallest_max_concurrency(rate, mean_ms, traffic.throttle_limit)
    if answer is None:
        return [], 0.0
    load = model.offered_load(rate, mean_ms)
    check = [c for c in range(1, answer) if model.erlang_b(load, c) >= CHECK_SHARE]
    trials = [
        Trial(
            trial_id=f"open-m{memory_size}-c{c}",
            phase=PHASE,
            memory_size=memory_size,
            max_concurrency=c,
            provisioned_concurrency=0,
            clients=0,
            max_invocations=invocations + c,
            endpoint_key=endpoint_key(memory_size, c, 0),
        )
        for c in sorted({answer, *check[-1:]})
    ]
    return trials, rate


def open_loop_span_s(traffic: Traffic, rate: float, count: int) -> float:
    """How long (service-clock seconds) ``count`` open-loop arrivals at the peak ``rate``
    take, as ``arrivals`` draws them (expected)."""
    if rate <= 0 or count <= 0:
        return 0.0
    if not traffic.per_minute:
        return count / rate
    counts = traffic.per_minute
    scale = rate * TRACE_MINUTE_S / max(counts)
    first, end = busiest_stretch(counts, count / scale)
    return (end - first) * TRACE_MINUTE_S


def open_loop_phase(ctx: RunContext, memory_size: int) -> None:
    """Plan, deploy and run the open-loop trials at ``memory_size`` (one endpoint each),
    then the idle-window probe when the traffic asks for it."""
    trials, rate = plan_open_loop(ctx, memory_size)
    # a resumed run runs again only the checks that did not finish
    trials = [t for t in trials if t.trial_id not in ctx.stop_reasons]
    if trials:
        run_open_loop(ctx, trials, rate)
    traffic = ctx.config.traffic
    if traffic is not None and traffic.probe_idle_window and not ctx.stop_event.is_set():
        idle_window_phase(ctx, memory_size)


def run_open_loop(ctx: RunContext, trials: list[Trial], rate: float) -> None:
    """Deploy the open-loop trials in waves and run each at ``rate``."""
    ctx.plan(trials)
    ctx.publish(
        PhaseStarted(
            phase=PHASE,
            trials=len(trials),
            max_invocations=sum(t.max_invocations for t in trials),
        )
    )
    for wave, deployed in deploy_waves(ctx, trials):
        for trial in wave:
            d = deployed[trial.endpoint_key]
            if not d.ok:
                continue
            if ctx.stop_event.is_set():
                release(ctx, d.name, [trial])
                continue
            ctx.guarded([trial], open_loop_trial, ctx, trial, d.name, rate)


def idle_window_phase(ctx: RunContext, memory_size: int) -> None:
    """Measure the idle-reclaim window at ``memory_size`` on an endpoint of its own
    (``idle_probe``): gaps doubling from a minute up to 4 times the window given."""
    gaps = idle_gaps(4 * ctx.config.traffic.idle_window_s)
    trial = Trial(
        trial_id=f"idle-m{memory_size}",
        phase=IDLE_PHASE,
        memory_size=memory_size,
        max_concurrency=1,
        provisioned_concurrency=0,
        clients=1,
        max_invocations=len(gaps) + 2,
        endpoint_key=endpoint_key(memory_size, 1, 0),
    )
    if trial.trial_id in ctx.stop_reasons:  # a resumed run's finished probe
        return
    ctx.plan([trial])
    ctx.publish(PhaseStarted(phase=IDLE_PHASE, trials=1, max_invocations=trial.max_invocations))
    for _, deployed in deploy_waves(ctx, [trial]):
        d = deployed[trial.endpoint_key]
        if d.ok:
            ctx.guarded([trial], idle_window_trial, ctx, trial, d.name, gaps)


def idle_window_trial(ctx: RunContext, trial: Trial, endpoint: str, gaps: list[float]) -> None:
    """Invoke after each idle gap until one finds the instance reclaimed."""
    try:
        state = ctx.new_state(trial)
        invoker = ctx.invoker(trial, endpoint)
        ctx.trial_started(trial, endpoint)
        warm, cold = probe_idle_window(
            invoker, gaps, ctx.row_sink(state), ctx.stop_event, ctx.time_scale or 1.0
        )
        log.info("idle-reclaim window: warm after %g s, cold after %s s", warm, cold)
        end_trial(ctx, trial, state.final_reason())
    finally:
        release(ctx, endpoint, [trial])


def arrivals(ctx: RunContext, rate: float, count: int) -> np.ndarray:
    """``count`` arrival offsets at the peak ``rate``: the trace's shape when the traffic
    came from a trace or CloudWatch (``trace_replay_offsets``), Poisson otherwise."""
    traffic = ctx.config.traffic
    seed = ctx.options.seed
    if traffic is not None and traffic.per_minute:
        return trace_replay_offsets(traffic.per_minute, rate, count, seed=seed)
    return poisson_offsets(rate, count, seed)


def open_loop_trial(ctx: RunContext, trial: Trial, endpoint: str, rate: float) -> None:
    """Start every instance with a burst, then send the arrivals at ``rate`` from the
    run's load worker (threads here when ``RunOptions.load_in_worker`` is False)."""
    try:
        state = ctx.new_state(trial)
        invoker = ctx.invoker(trial, endpoint)
        # what the budget leaves after the burst that starts every instance
        offsets = arrivals(ctx, rate, trial.max_invocations - trial.max_concurrency)
        scale = ctx.time_scale or 1.0
        worker = None
        if ctx.loader is not None:  # prepared while the burst runs
            job = job_for(invoker, SENDERS)
            job = dataclasses.replace(job, offsets=tuple(map(float, offsets)), time_scale=scale)
            worker = ctx.loader.load(job)
        ctx.trial_started(trial, endpoint)
        probe_cold_starts(ctx, invoker, state, trial.max_concurrency)
        sink = ctx.row_sink(state)
        if worker is not None:
            limit = max(1, ctx.config.stability_benchmark_error_thresh - state.errors)
            run_closed_loop(worker, state.load, sink, ctx.saw_emulator, limit)
            stats = worker.open_loop
        elif state.load.max_invocations > state.load.issued:
            stats = open_loop(invoker, offsets, state.load, sink, time_scale=scale)
        else:
            stats = None
        _log_timing(trial, stats)
        end_trial(ctx, trial, state.final_reason())
    finally:
        release(ctx, endpoint, [trial])


def _log_timing(trial: Trial, stats: OpenLoopStats | None) -> None:
    if stats is not None and stats.late:
        log.warning(
            "open-loop trial %s: %d of %d requests went out late (at most %.0f ms)",
            trial.trial_id,
            stats.late,
            stats.sent,
            stats.max_late_ms,
        )
