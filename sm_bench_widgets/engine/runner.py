"""The runner: per trial deploy, cold-start probe, load, metrics, teardown, in a background thread.

A run has two phases. Stability: one endpoint per memory size (MaxConcurrency 1), all
created at once and loaded concurrently, one sequential client each, so racing can
compare them while they run. Concurrency: at the memory size the stability results
recommend, one endpoint per MaxConcurrency (and per provisioned value), each loaded by
closed-loop clients for every client multiplier, one endpoint at a time. Each endpoint is
deleted as soon as its trials end; whatever is still live when the run ends, fails or is
stopped is deleted then.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sm_bench_widgets.analysis import cost, pricing, recommend, stats
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.engine import stopping
from sm_bench_widgets.engine.batches import Batcher
from sm_bench_widgets.engine.bus import EventBus
from sm_bench_widgets.engine.deploy import Deployments
from sm_bench_widgets.engine.events import (
    PhaseStarted,
    RunEnded,
    RunError,
    RunStarted,
    TrialEnded,
    TrialStarted,
)
from sm_bench_widgets.engine.loads import (
    FirstWave,
    Invoker,
    TrialLoad,
    burst,
    closed_loop,
    mark_slowest_cold,
    sequential,
)
from sm_bench_widgets.engine.plan import (
    Trial,
    check_provisioned,
    group_by_endpoint,
    plan_concurrency,
    plan_stability,
)
from sm_bench_widgets.engine.store import RunStore, run_directory
from sm_bench_widgets.frames import cloudwatch_frame, invocations_frame
from sm_bench_widgets.payloads import PayloadSampler, load_examples

log = logging.getLogger(__name__)

Row = dict[str, Any]


@dataclass
class RunOptions:
    """How the engine works, beyond what to benchmark (``BenchmarkConfig``).

    ``cloudwatch_wait``: seconds to wait for an endpoint's metrics to show up (None: 60 on
    AWS, 1 against the emulator). ``pause``: a function giving the seconds to sleep before
    each invocation (overrides ``config.invocation_pause``; the seed paused
    ``random.random()`` seconds). ``seed``: payload draw seed.
    """

    cloudwatch_wait: float | None = None
    batch_interval: float = 0.2
    batch_size: int = 50
    check_every: int = 10
    race_interval: float = 0.5
    endpoint_poll: float | None = None
    pause: Callable[[], float] | None = None
    seed: int | None = None


class RunFailed(RuntimeError):
    """The run could not produce results; the message says why."""


def new_run_id() -> str:
    """A short, unique, sortable-enough run id (8 hex digits)."""
    return secrets.token_hex(4)


def load_payloads(config: BenchmarkConfig, seed: int | None = None) -> PayloadSampler:
    """The payload sampler for ``config``; raises ``ConfigError`` on bad examples."""
    if config.invoke_args_examples is not None:
        examples = config.invoke_args_examples  # PayloadSampler checks them
    else:
        examples = load_examples(config.invoke_args_examples_file)
    return PayloadSampler(examples, config.payload_weights, seed=seed)


def prepare(config: BenchmarkConfig, seed: int | None = None) -> PayloadSampler:
    """Every check a run needs before any AWS call; returns the payload sampler."""
    config.validate()
    config.require_runnable()
    check_provisioned(config)
    return load_payloads(config, seed)


class Runner:
    """One benchmark run: call ``start()``; it runs in a daemon thread until done or stopped."""

    def __init__(
        self,
        config: BenchmarkConfig,
        target: Target,
        options: RunOptions | None = None,
        sampler: PayloadSampler | None = None,
    ):
        self.config = config
        self.target = target
        self.options = options or RunOptions()
        self.sampler = sampler or prepare(config, self.options.seed)
        self.run_id = new_run_id()
        self.run_dir = run_directory(config.result_save_path, self.run_id)
        self.emulated = bool(target.emulated)
        self.bus = EventBus()
        self.stop_event = threading.Event()
        self.done = threading.Event()
        self.status = "running"
        self.error: BaseException | None = None
        self._rows: list[Row] = []
        self._rows_lock = threading.Lock()
        self._cloudwatch: list[pd.DataFrame] = []
        self._stop_reasons: dict[str, str] = {}
        self._errors: list[str] = []
        self._trial_phase: dict[str, str] = {}
        self._cw_futures: list[Future] = []
        self._cw_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sm-bench-cw")
        self._cw_failed = False
        self._cw_lock = threading.Lock()
        self._cw_closed = False
        self._thread: threading.Thread | None = None
        self._publish_lock = threading.RLock()
        self._ended = False  # RunEnded was published: nothing follows it
        self._prices: pricing.Prices | None = None
        self.store: RunStore | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.region = config.region or target.region_name
        self.batcher: Batcher | None = None
        self.deployments: Deployments | None = None

    # -- public -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the run in its background thread."""
        self._thread = threading.Thread(
            target=self._main, name=f"sm-bench-run-{self.run_id}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Ask the run to stop: load ends, in-flight requests finish, endpoints are deleted."""
        if not self.done.is_set():
            self.stop_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run is over (True) or ``timeout`` seconds passed (False)."""
        return self.done.wait(timeout)

    def invocations(self) -> pd.DataFrame:
        """Every invocation handed on so far (``INVOCATION_COLUMNS``)."""
        with self._rows_lock:
            rows = list(self._rows)
        return invocations_frame(rows)

    def cloudwatch(self) -> pd.DataFrame:
        """CloudWatch rows fetched so far."""
        return cloudwatch_frame(list(self._cloudwatch))

    @property
    def errors(self) -> list[str]:
        """Error messages reported so far."""
        return list(self._errors)

    @property
    def stop_reasons(self) -> dict[str, str]:
        """trial_id -> why it stopped, for finished trials."""
        return dict(self._stop_reasons)

    # -- plumbing -----------------------------------------------------------------------
    def _publish(self, event: Any) -> None:
        """Publish ``event``, unless the run already ended (late CloudWatch fetches)."""
        with self._publish_lock:
            if not self._ended:
                self.bus.publish(event)

    def _report(self, message: str, trial_id: str | None = None, fatal: bool = False) -> None:
        log.warning("%s", message)
        if self._ended:
            return
        self._errors.append(message)
        if self.store is not None:
            try:
                self.store.add_error(message)
            except OSError:
                log.exception("could not record an error in the run store")
        self._publish(RunError(message=message, trial_id=trial_id, fatal=fatal))

    def _sink(self, rows: list[Row]) -> None:
        with self._rows_lock:
            self._rows.extend(rows)
        try:
            self.store.append_invocations(rows)
        except OSError as exc:
            self._report(f"could not write invocations to {self.run_dir}: {exc}")

    @property
    def prices(self) -> pricing.Prices:
        """Prices for the run's region (with the config's overrides)."""
        if self._prices is None:
            self._prices = pricing.get_prices(self.region, self.config.pricing_overrides)
        return self._prices

    def rank_inputs(self, df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Summary and cost tables of ``df`` (the inputs of racing and the recommendation)."""
        summary = stats.summarize(df, self._stop_reasons, confidence=self.config.confidence)
        costs = cost.cost_table(summary, df, self.prices, self.config.monthly_invocations)
        return summary, costs

    def _rows_of(self, trial_ids: set[str]) -> pd.DataFrame:
        with self._rows_lock:
            rows = [r for r in self._rows if r["trial_id"] in trial_ids]
        return invocations_frame(rows)

    # -- the run ------------------------------------------------------------------------
    def _main(self) -> None:
        status = "failed"
        try:
            self.store = RunStore(self.run_dir)
            self.started_at = time.time()
            self.store.write_config(
                self.config.to_dict(),
                run_id=self.run_id,
                created=self.started_at,
                emulated=self.emulated,
                region=self.region,
            )
            self.batcher = Batcher(
                self._sink, self._publish, self.options.batch_interval, self.options.batch_size
            )
            poll = self.options.endpoint_poll or (0.2 if self.emulated else 5.0)
            self.deployments = Deployments(
                self.target,
                self.run_id,
                self.config.model_name,
                self.stop_event,
                self._report,
                wait_timeout=self.config.endpoint_wait_timeout,
                poll=poll,
            )
            self._run_phases()
            if not self.stop_event.is_set() and not self._rows and self._errors:
                raise RunFailed(f"no invocation could be made: {self._errors[0]}")
            status = "stopped" if self.stop_event.is_set() else "completed"
        except BaseException as exc:
            self.error = exc
            if not isinstance(exc, RunFailed):
                log.exception("benchmark run %s failed", self.run_id)
            self._report(f"run failed: {exc}", fatal=True)
        finally:
            self._finish(status)

    def _finish(self, status: str) -> None:
        """Delete what is live, collect metrics, close the store; always ends the run.

        Each step runs even when an earlier one failed, so a failed deletion never costs
        the rows still queued for the store, nor a full disk the endpoint deletion.
        """
        reason = stopping.STOPPED if status != "failed" else stopping.FAILED
        steps: list[tuple[str, Callable[[], Any] | None]] = [
            ("delete endpoints", self.deployments and self.deployments.delete_all),
            ("end unfinished trials", lambda: self._end_unfinished(reason)),
            ("collect CloudWatch metrics", self._collect_cloudwatch),
            ("write the last invocations", self.batcher and self.batcher.close),
            ("close the run store", self.store and (lambda: self.store.close(status))),
        ]
        try:
            for what, step in steps:
                if step is None:
                    continue
                try:
                    step()
                except Exception as exc:
                    log.exception("finishing run %s: %s", self.run_id, what)
                    self._report(f"could not {what}: {exc}")
        finally:
            self.status = status
            self.ended_at = time.time()
            with self._publish_lock:
                self._publish(RunEnded(status=status, run_dir=str(self.run_dir)))
                self._ended = True
            self.done.set()

    def _end_unfinished(self, reason: str, trial_ids: list[str] | None = None) -> None:
        """Give every planned trial (of ``trial_ids``) that never ended its reason."""
        for trial_id in list(self._trial_phase) if trial_ids is None else trial_ids:
            if trial_id not in self._stop_reasons:
                self._stop_reasons[trial_id] = reason
                if self.store is not None:
                    self.store.append_trial(
                        {
                            "event": "ended",
                            "trial_id": trial_id,
                            "stop_reason": reason,
                            "summary": {},
                        }
                    )
                self._publish(TrialEnded(trial_id=trial_id, stop_reason=reason))

    def _collect_cloudwatch(self) -> None:
        """Wait for pending metric fetches (none are started or awaited after a stop)."""
        for fut in self._cw_futures:
            if self.stop_event.is_set():
                fut.cancel()
        for fut in self._cw_futures:
            if not fut.cancelled():
                try:
                    fut.result(timeout=max(5.0, 3 * self._cloudwatch_wait()))
                except Exception:
                    log.debug("CloudWatch fetch did not finish", exc_info=True)
        self._cw_pool.shutdown(wait=False, cancel_futures=True)
        with self._cw_lock:
            self._cw_closed = True

    def _run_phases(self) -> None:
        trials = plan_stability(self.config)
        self._planned(trials)
        self._publish(
            RunStarted(
                run_id=self.run_id,
                run_dir=str(self.run_dir),
                trials=[t.to_dict() for t in trials],
                emulated=self.emulated,
            )
        )
        self._stability_phase(trials)
        if self.stop_event.is_set():
            return
        if not (self.config.include_concurrency_benchmark or self.config.provisioned_concurrency):
            return
        memory = self._chosen_memory(trials)
        if memory is None:
            return
        ctrials = plan_concurrency(self.config, memory)
        self._planned(ctrials)
        self._concurrency_phase(ctrials)

    def _planned(self, trials: list[Trial]) -> None:
        for t in trials:
            self._trial_phase[t.trial_id] = t.phase
            self.store.append_trial({"event": "planned", **t.to_dict()})

    def _chosen_memory(self, trials: list[Trial]) -> int | None:
        df = self._rows_of({t.trial_id for t in trials})
        if df.empty:
            self._report("no stability results: concurrency benchmark skipped")
            return None
        summary, costs = self.rank_inputs(df)
        rec, why = recommend.recommend_or_reason(
            summary,
            costs,
            self.config.strategy,
            self.config.balanced_weight,
            self.config.sla_percentile,
            self.config.sla_ms,
            self.config.max_error_rate,
        )
        if rec is None:
            self._report(f"no memory size qualifies, concurrency benchmark skipped: {why}")
            return None
        return int(rec.memory_size)

    # -- stability ----------------------------------------------------------------------
    def _stability_phase(self, trials: list[Trial]) -> None:
        deployed = self._start_phase("stability", trials)
        ready = [t for t in trials if deployed[t.endpoint_key].ok]
        if not ready or self.stop_event.is_set():
            return
        if self.config.cold_start_delay:
            self.stop_event.wait(self.config.cold_start_delay)
            if self.stop_event.is_set():
                return
        states: dict[str, stopping.TrialState] = {}
        threads = []
        for t in ready:
            state = self._new_state(t)
            states[t.trial_id] = state
            name = deployed[t.endpoint_key].name
            th = threading.Thread(
                target=self._guarded,
                args=([t], self._stability_trial, t, name, state),
                name=f"sm-bench-{t.trial_id}",
                daemon=True,
            )
            threads.append(th)
            th.start()
        self._race(threads, states)

    def _stability_trial(self, trial: Trial, name: str, state: stopping.TrialState) -> None:
        try:
            invoker = self._invoker(trial, name)
            self._trial_started(trial, name)
            self._cold_probe(invoker, trial, state, k=1)
            sequential(invoker, state.load, self._row_sink(state))
            self._end_trial(trial, state.final_reason())
        finally:
            self._release(name, [trial])

    def _race(
        self, threads: list[threading.Thread], states: dict[str, stopping.TrialState]
    ) -> None:
        racing = self.config.adaptive and len(states) > 1
        ranked_at = -1  # invocations counted when the trials were last ranked
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(timeout=self.options.race_interval / max(1, len(threads)))
            if not racing:
                continue
            # only trials past min_invocations can be dropped; rank only on new rows
            eligible = [
                s
                for s in states.values()
                if s.stop_reason is None and s.count >= self.config.min_invocations
            ]
            seen = sum(s.count for s in states.values())
            if not eligible or seen == ranked_at:
                continue
            ranked_at = seen
            try:
                self.batcher.flush()
                losers = stopping.dominated_trials(
                    self._rows_of(set(states)), states, self.config, self.rank_inputs
                )
            except Exception:
                log.exception("racing check failed; trials go on")
                racing = False
                continue
            for trial_id in losers:
                states[trial_id].stop(stopping.DOMINATED)

    # -- concurrency --------------------------------------------------------------------
    def _concurrency_phase(self, trials: list[Trial]) -> None:
        deployed = self._start_phase("concurrency", trials)
        for key, group in group_by_endpoint(trials).items():
            d = deployed[key]
            if not d.ok:
                continue
            if self.stop_event.is_set():
                break
            self._guarded(group, self._concurrency_endpoint, group, d.name)

    def _concurrency_endpoint(self, group: list[Trial], name: str) -> None:
        try:
            warm = group[0].provisioned_concurrency  # instances known to be warm
            for i, trial in enumerate(group):
                if self.stop_event.is_set():
                    break
                state = self._new_state(trial)
                invoker = self._invoker(trial, name)
                self._trial_started(trial, name)
                if i == 0:
                    k = min(self.config.cold_start_probes, trial.max_concurrency)
                    warm = max(warm, self._cold_probe(invoker, trial, state, k, warm))
                wave = min(trial.clients, trial.max_concurrency)
                first_wave = FirstWave(trial.clients, wave - warm, self._row_sink(state))
                closed_loop(
                    invoker, trial.clients, state.load, first_wave, backoff=state.throttle_backoff
                )
                first_wave.close()
                warm = max(warm, wave)
                self._end_trial(trial, state.final_reason())
        finally:
            self._release(name, group)

    # -- trial helpers ------------------------------------------------------------------
    def _guarded(self, trials: list[Trial], fn: Callable[..., None], *args: Any) -> None:
        """Run one trial's (or endpoint's) work; a failure is reported, its unfinished
        trials end as failed (not as stopped), and the run goes on."""
        try:
            fn(*args)
        except Exception as exc:
            trial_id = trials[0].trial_id
            log.exception("trial %s failed", trial_id)
            self._report(f"trial {trial_id} failed: {type(exc).__name__}: {exc}", trial_id=trial_id)
            self._end_unfinished(stopping.FAILED, [t.trial_id for t in trials])

    def _start_phase(self, phase: str, trials: list[Trial]) -> dict[str, Any]:
        """Announce ``phase`` and deploy the endpoints of its ``trials``."""
        self._publish(
            PhaseStarted(
                phase=phase,
                trials=len(trials),
                max_invocations=sum(t.max_invocations for t in trials),
            )
        )
        return self._deploy(trials)

    def _deploy(self, trials: list[Trial]) -> dict[str, Any]:
        shapes = {
            t.endpoint_key: (t.memory_size, t.max_concurrency, t.provisioned_concurrency)
            for t in trials
        }
        deployed = self.deployments.deploy(shapes)
        for t in trials:
            d = deployed[t.endpoint_key]
            if not d.ok:
                reason = stopping.STOPPED if d.reason == "stopped" else stopping.ENDPOINT_FAILED
                self._stop_reasons[t.trial_id] = reason
                self.store.append_trial(
                    {
                        "event": "ended",
                        "trial_id": t.trial_id,
                        "stop_reason": reason,
                        "summary": {},
                        "detail": d.reason,
                    }
                )
                self._publish(TrialEnded(trial_id=t.trial_id, stop_reason=reason))
        return deployed

    def _new_state(self, trial: Trial) -> stopping.TrialState:
        pause = self.options.pause
        if pause is None and self.config.invocation_pause > 0:
            seconds = float(self.config.invocation_pause)

            def pause() -> float:
                return seconds

        load = TrialLoad(trial.max_invocations, self.stop_event, pause)
        return stopping.TrialState(trial, self.config, load, self.options.check_every)

    def _invoker(self, trial: Trial, name: str) -> Invoker:
        labels = {
            "run_id": self.run_id,
            "trial_id": trial.trial_id,
            "phase": trial.phase,
            "memory_size": trial.memory_size,
            "max_concurrency": trial.max_concurrency,
            "provisioned_concurrency": trial.provisioned_concurrency,
            "clients": trial.clients,
        }
        return Invoker(
            self.target.client("sagemaker-runtime"),
            name,
            self.sampler,
            labels,
            on_emulated=None if self.emulated else self._saw_emulator,
        )

    def _saw_emulator(self) -> None:
        """An answer came from the local emulator: label the run emulated (once)."""
        if self.emulated:
            return
        self.emulated = True
        if self.store is not None:
            self.store.update_config(emulated=True)

    def _row_sink(self, state: stopping.TrialState) -> Callable[[Row], None]:
        batcher = self.batcher

        def sink(row: Row) -> None:
            state.record(row)
            batcher.add(row)

        return sink

    def _trial_started(self, trial: Trial, name: str) -> None:
        self._publish(
            TrialStarted(
                trial_id=trial.trial_id,
                phase=trial.phase,
                memory_size=trial.memory_size,
                max_concurrency=trial.max_concurrency,
                provisioned_concurrency=trial.provisioned_concurrency,
                clients=trial.clients,
                endpoint_name=name,
                max_invocations=trial.max_invocations,
            )
        )

    def _cold_probe(
        self, invoker: Invoker, trial: Trial, state: stopping.TrialState, k: int, warm: int = 0
    ) -> int:
        """Send ``k`` concurrent first requests to the fresh endpoint: ``k`` cold starts.

        With ``warm`` instances already up (provisioned concurrency), only the
        ``k - warm`` slowest requests of the burst are marked cold. Returns how many
        requests were answered (instances now warm).
        """
        k = state.load.reserve(k)
        if k <= 0:
            return 0
        rows = burst(invoker, k)
        if warm:
            mark_slowest_cold(rows, k - warm)
        for row in rows:
            state.record(row)
        self.batcher.add_many(rows)
        return sum(1 for r in rows if r["outcome"] == "ok")

    def _end_trial(self, trial: Trial, reason: str) -> None:
        self.batcher.flush()
        self._stop_reasons[trial.trial_id] = reason
        df = self._rows_of({trial.trial_id})
        summary: dict[str, Any] = {}
        if not df.empty:
            table = stats.summarize(
                df,
                {trial.trial_id: reason},
                confidence=self.config.confidence,
            )
            if len(table):
                summary = table.iloc[0].to_dict()
        self.store.append_trial(
            {
                "event": "ended",
                "trial_id": trial.trial_id,
                "stop_reason": reason,
                "summary": summary,
            }
        )
        self._publish(TrialEnded(trial_id=trial.trial_id, stop_reason=reason, summary=summary))

    def _release(self, name: str, trials: list[Trial]) -> None:
        """Delete the endpoint of finished trials and fetch its metrics in the background."""
        self.deployments.delete(name)
        if not self.config.fetch_cloudwatch:
            return
        df = self._rows_of({t.trial_id for t in trials})
        if df.empty:
            return
        t = trials[0]
        labels = {
            "memory_size": t.memory_size,
            "max_concurrency": t.max_concurrency,
            "provisioned_concurrency": t.provisioned_concurrency,
        }
        start, end = float(df["start"].min()), float(df["end"].max())
        self._cw_futures.append(self._cw_pool.submit(self._fetch_metrics, name, start, end, labels))

    def _cloudwatch_wait(self) -> float:
        if self.options.cloudwatch_wait is not None:
            return self.options.cloudwatch_wait
        return 1.0 if self.emulated else 60.0

    def _fetch_metrics(self, name: str, start: float, end: float, labels: dict[str, int]) -> None:
        from sm_bench_widgets.aws import cloudwatch

        wait = 0.0 if self.stop_event.is_set() else self._cloudwatch_wait()
        try:
            frame = cloudwatch.fetch_endpoint_metrics(
                self.target,
                name,
                start,
                end,
                wait=wait,
                poll=min(15.0, max(0.2, wait / 4)),
                labels=labels,
            )
        except Exception as exc:
            if not self._cw_failed:
                self._cw_failed = True
                self._report(f"CloudWatch metrics of {name} could not be fetched: {exc}")
            return
        if frame is None or not len(frame):
            return
        with self._cw_lock:
            if self._cw_closed:  # came after the run stopped waiting for it
                return
            self._cloudwatch.append(frame)
            self.store.append_cloudwatch(frame)
