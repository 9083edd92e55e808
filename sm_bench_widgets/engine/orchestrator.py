"""The orchestrator: threads a run's steps together and publishes its events.

A run has two phases. Stability: one endpoint per memory size (MaxConcurrency 1), all
created at once and loaded concurrently, one sequential client each, so racing can
compare them while they run. Concurrency: at the memory size the stability results
recommend, one endpoint per MaxConcurrency (and per provisioned value), each loaded by
closed-loop clients for every client multiplier, one endpoint at a time. Each endpoint is
deleted as soon as its trials end; the teardown step deletes whatever is still live when
the run ends, fails or is stopped.

``start()`` runs it in a daemon thread; ``run()`` runs it in the calling thread (a job's
entrypoint). ``Orchestrator.resume(point, target)`` carries on a run from its directory.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pandas as pd

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.engine import stopping
from sm_bench_widgets.engine.context import RunContext
from sm_bench_widgets.engine.events import PhaseStarted, RunEnded, RunStarted
from sm_bench_widgets.engine.hosts import HostShare
from sm_bench_widgets.engine.options import (
    RunFailed,
    RunOptions,
    load_payloads,
    new_run_id,
    prepare,
)
from sm_bench_widgets.engine.plan import (
    Trial,
    group_by_endpoint,
    plan_concurrency,
    plan_stability,
    share,
)
from sm_bench_widgets.engine.resume import ResumePoint
from sm_bench_widgets.engine.steps.choose import choose_memory
from sm_bench_widgets.engine.steps.deploy import deploy_waves
from sm_bench_widgets.engine.steps.load import concurrency_endpoint, stability_trial
from sm_bench_widgets.engine.steps.openloop import open_loop_phase
from sm_bench_widgets.engine.steps.race import race
from sm_bench_widgets.engine.steps.split import Splits
from sm_bench_widgets.engine.steps.teardown import delete_leftovers, finish
from sm_bench_widgets.engine.store import run_directory
from sm_bench_widgets.payloads import PayloadSampler

log = logging.getLogger(__name__)


class Orchestrator:
    """One benchmark run: ``start()`` (background thread) or ``run()`` (this thread)."""

    def __init__(
        self,
        config: BenchmarkConfig,
        target: Target,
        options: RunOptions | None = None,
        sampler: PayloadSampler | None = None,
        *,
        resume: ResumePoint | None = None,
        run_id: str | None = None,
        host: HostShare | None = None,
    ):
        self.options = options or RunOptions()
        sampler = sampler or prepare(config, self.options.seed)
        self.resumed = resume
        self.host = host if host is not None and host.count > 1 else None
        if resume is not None:
            run_id, run_dir = resume.run_id, resume.run_dir
        else:
            run_id = run_id or new_run_id()
            run_dir = run_directory(config.result_save_path, run_id)
            if self.host is not None:  # each host keeps its own store in the run's folder
                run_dir = run_dir / self.host.name
        self.ctx = RunContext(
            config,
            target,
            self.options,
            sampler,
            run_id,
            run_dir,
            rows=resume.rows if resume else (),
            stop_reasons=resume.finished if resume else None,
            cloudwatch=[resume.cloudwatch] if resume is not None else None,
        )
        if resume is not None and resume.emulated:
            self.ctx.emulated = True
        self.done = threading.Event()
        self.status = "running"
        self.error: BaseException | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def resume(
        cls, point: ResumePoint, target: Target, options: RunOptions | None = None
    ) -> Orchestrator:
        """An orchestrator that carries on the run ``point`` was read from."""
        options = options or RunOptions()
        return cls(point.config, target, options, load_payloads(point.config), resume=point)

    # -- what the handle reads ----------------------------------------------------------
    @property
    def config(self) -> BenchmarkConfig:
        """What the run benchmarks."""
        return self.ctx.config

    @property
    def run_id(self) -> str:
        """The run's short id."""
        return self.ctx.run_id

    @property
    def run_dir(self) -> Path:
        """Where the run store keeps the run's files."""
        return self.ctx.run_dir

    @property
    def bus(self):  # noqa: ANN201 - the EventBus
        """The run's event bus."""
        return self.ctx.bus

    @property
    def stop_event(self) -> threading.Event:
        """Set once a stop was asked."""
        return self.ctx.stop_event

    @property
    def emulated(self) -> bool:
        """True when the run talks to the local emulator."""
        return self.ctx.emulated

    @property
    def time_scale(self) -> float | None:
        """The emulator's time scale, once an answer told it (None on AWS)."""
        return self.ctx.time_scale

    @property
    def region(self) -> str | None:
        """The run's AWS region."""
        return self.ctx.region

    @property
    def account_concurrency_quota(self) -> int | None:
        """The account's total serverless concurrency quota the run planned with, once read."""
        return self.ctx.account_concurrency_quota

    @property
    def errors(self) -> list[str]:
        """Error messages reported so far."""
        return list(self.ctx.errors)

    @property
    def stop_reasons(self) -> dict[str, str]:
        """trial_id -> why it stopped, for finished trials."""
        return dict(self.ctx.stop_reasons)

    def invocations(self) -> pd.DataFrame:
        """Every invocation handed on so far (``INVOCATION_COLUMNS``)."""
        return self.ctx.rows.frame()

    def cloudwatch(self) -> pd.DataFrame:
        """CloudWatch rows fetched so far."""
        metrics = self.ctx.metrics
        return metrics.frame() if metrics is not None else pd.DataFrame()

    # -- control ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the run in its background thread."""
        self._thread = threading.Thread(
            target=self.run, name=f"sm-bench-run-{self.run_id}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Ask the run to stop: load ends, in-flight requests finish, endpoints are deleted."""
        if not self.done.is_set():
            self.ctx.stop_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run is over (True) or ``timeout`` seconds passed (False)."""
        return self.done.wait(timeout)

    # -- the run ------------------------------------------------------------------------
    def run(self) -> str:
        """Run every step to the end in this thread; returns the final status."""
        ctx = self.ctx
        status = "failed"
        try:
            self.started_at = time.time()
            if self.resumed is not None:  # the clock the earlier process stated rows on
                ctx.time_scale = self.resumed.time_scale
                ctx.clock_origin = self.resumed.clock_origin
            if self.resumed is None:
                meta = dict(
                    run_id=ctx.run_id,
                    created=self.started_at,
                    emulated=ctx.emulated,
                    region=ctx.region,
                )
                if self.host is not None:
                    meta.update(host=self.host.name, hosts=self.host.count)
                ctx.open(meta)
            else:
                ctx.open({"resumed": self.started_at}, earlier_errors=self.resumed.errors)
                delete_leftovers(ctx)
            self._phases()
            if not ctx.stop_event.is_set() and not len(ctx.rows) and ctx.errors:
                raise RunFailed(f"no invocation could be made: {ctx.errors[0]}")
            status = "stopped" if ctx.stop_event.is_set() else "completed"
        except BaseException as exc:
            self.error = exc
            if not isinstance(exc, RunFailed):
                log.exception("benchmark run %s failed", ctx.run_id)
            ctx.report(f"run failed: {exc}", fatal=True)
        finally:
            self._finish(status)
        return status

    def _finish(self, status: str) -> None:
        try:
            try:
                finish(self.ctx, status)
            finally:
                self.ctx.close_load()
        finally:
            self.status = status
            self.ended_at = time.time()
            self.ctx.publish_last(RunEnded(status=status, run_dir=str(self.run_dir)))
            self.done.set()

    def _phases(self) -> None:
        ctx = self.ctx
        earlier = self.resumed.trials if self.resumed is not None else []
        ctx.remember_planned(earlier)
        planned = [t for t in earlier if t.phase == "stability"] or plan_stability(ctx.config)
        stability = self._mine(planned)
        ctx.plan(stability)
        ctx.publish(
            RunStarted(
                run_id=ctx.run_id,
                run_dir=str(ctx.run_dir),
                trials=[t.to_dict() for t in stability],
                emulated=ctx.emulated,
                resumed=self.resumed is not None,
            )
        )
        self._stability_phase(self._to_run(stability))
        if ctx.stop_event.is_set():
            return
        config = ctx.config
        if not (config.include_concurrency_benchmark or config.provisioned_concurrency):
            return
        concurrency = [t for t in earlier if t.phase == "concurrency"]
        # a resumed run keeps the memory size its concurrency trials were planned at
        memory = concurrency[0].memory_size if concurrency else None
        splits, order = None, {}
        if not concurrency:
            others = {t.trial_id for t in planned} - {t.trial_id for t in stability}
            peers = self._gather(others)
            if peers is None:
                return
            memory = choose_memory(ctx, planned, *peers)
            if memory is None:
                return
            everyone = plan_concurrency(config, memory)
            concurrency = self._mine(everyone)
            ctx.plan(concurrency)
            if self.host is not None:  # trials too big for one host: split over several
                splits = Splits.plan(ctx, self.host, everyone, memory, peers[0])
                order = {t.trial_id: i for i, t in enumerate(everyone)}
        self._concurrency_phase(self._to_run(concurrency), splits, order)
        # the user's peak, open loop, where the traffic model sizes the endpoint (one host)
        first_host = self.host is None or self.host.index == 0
        if memory is not None and first_host and not ctx.stop_event.is_set():
            open_loop_phase(ctx, memory)

    def _mine(self, trials: list[Trial]) -> list[Trial]:
        """This host's share of ``trials`` (all of them on a lone host)."""
        return share(trials, self.host.index, self.host.count) if self.host else trials

    def _gather(self, trial_ids: set[str]) -> tuple[list[dict], dict[str, str]] | None:
        """What other hosts measured of ``trial_ids`` (nothing to gather on a lone host)."""
        if not trial_ids or self.host is None or self.host.peers is None:
            return [], {}
        return self.host.peers.gather(trial_ids, self.ctx.stop_event)

    def _to_run(self, trials: list[Trial]) -> list[Trial]:
        """The trials of a phase that still need load (all of them in a new run)."""
        return self.resumed.unfinished(trials) if self.resumed is not None else trials

    def _announce(self, phase: str, trials: list[Trial]) -> None:
        self.ctx.publish(
            PhaseStarted(
                phase=phase,
                trials=len(trials),
                max_invocations=sum(t.max_invocations for t in trials),
            )
        )

    def _stability_phase(self, trials: list[Trial]) -> None:
        ctx = self.ctx
        if not trials:
            return
        self._announce("stability", trials)
        for wave, deployed in deploy_waves(ctx, trials):
            self._stability_wave(wave, deployed)

    def _stability_wave(self, trials: list[Trial], deployed: dict) -> None:
        ctx = self.ctx
        ready = [t for t in trials if deployed[t.endpoint_key].ok]
        if not ready or ctx.stop_event.is_set():
            return
        if ctx.config.cold_start_delay:
            ctx.stop_event.wait(ctx.config.cold_start_delay)
            if ctx.stop_event.is_set():
                return
        states = {}
        threads = []
        for t in ready:
            state = ctx.new_state(t)
            states[t.trial_id] = state
            th = threading.Thread(
                target=ctx.guarded,
                args=([t], stability_trial, ctx, t, deployed[t.endpoint_key].name, state),
                name=f"sm-bench-{t.trial_id}",
                daemon=True,
            )
            threads.append(th)
            th.start()
        try:
            race(ctx, threads, states)
        except BaseException:
            # the run fails while its trials load: they end as failed (a resume runs them
            # again) once their requests in flight answer, before teardown deletes their
            # endpoints, so no request of theirs meets a deleted endpoint or a closed load
            for state in states.values():
                state.stop(stopping.FAILED)
            for th in threads:
                th.join()
            raise

    def _concurrency_phase(
        self, trials: list[Trial], splits: Splits | None = None, order: dict[str, int] | None = None
    ) -> None:
        """Each endpoint's trials in turn; with ``splits``, this host also joins other
        hosts' split trials, at their place in the plan (``order``), so hosts meet there in
        the same sequence."""
        ctx = self.ctx
        if not trials and splits is None:
            return
        self._announce("concurrency", trials)
        try:
            for wave, deployed in deploy_waves(ctx, trials):
                for key, group in group_by_endpoint(wave).items():
                    if splits is not None:
                        splits.join_before(ctx, order[group[0].trial_id], order)
                    d = deployed[key]
                    if not d.ok:
                        continue
                    if ctx.stop_event.is_set():
                        break
                    ctx.guarded(group, concurrency_endpoint, ctx, group, d.name, splits)
            if splits is not None:
                splits.join_before(ctx, None, order)
        finally:
            if splits is not None:
                splits.cancel_rest(ctx, "stopped" if ctx.stop_event.is_set() else "not run")
