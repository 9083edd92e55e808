"""What the steps of one run share: its options, target, store, events, rows and trial book.

Steps receive a ``RunContext`` and their own explicit inputs, and return their outputs;
the context is the run's environment (where rows go, how errors are reported, how a
trial's end is recorded), so every step records things the same way.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from sm_bench_widgets.analysis import cost, pricing, stats
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.engine import stopping
from sm_bench_widgets.engine.batches import Batcher
from sm_bench_widgets.engine.bus import EventBus
from sm_bench_widgets.engine.deploy import Deployments
from sm_bench_widgets.engine.events import RunError, TrialEnded, TrialStarted
from sm_bench_widgets.engine.load_process import LoadProcess
from sm_bench_widgets.engine.loads import EmulatorClock, Invoker, TrialLoad
from sm_bench_widgets.engine.options import RunOptions
from sm_bench_widgets.engine.plan import Trial
from sm_bench_widgets.engine.steps.metrics import MetricsCollector
from sm_bench_widgets.engine.store import RunStore
from sm_bench_widgets.frames import InvocationColumns, frame_of
from sm_bench_widgets.payloads import PayloadSampler
from sm_bench_widgets.traffic import monthly_volume

log = logging.getLogger(__name__)

Row = dict[str, Any]


class Rows:
    """Every invocation row of the run, appended from the batcher's thread, read anywhere.

    Rows are kept compactly (``frames.InvocationColumns``: columns of codes and numbers, not
    a dict per row), so a million invocations take tens of megabytes; readers build frames
    from a snapshot outside the lock, so they never hold up the batcher for long.
    """

    def __init__(self, rows: Iterable[Row] | pd.DataFrame = ()):
        self._columns = InvocationColumns()
        if isinstance(rows, pd.DataFrame):
            self._columns.add_frame(rows)
        else:
            self._columns.add(rows)
        self._lock = threading.Lock()

    def extend(self, rows: list[Row]) -> None:
        """Add rows (in order)."""
        with self._lock:
            self._columns.add(rows)

    def frame(self, trial_ids: set[str] | None = None) -> pd.DataFrame:
        """The rows (of ``trial_ids`` only, if given) as an invocations frame."""
        with self._lock:
            view = self._columns.view()
        return frame_of(view, trial_ids)

    def of(self, trial_id: str) -> list[Row]:
        """The rows of one trial (a copy, as dicts with the frame's columns)."""
        return self.frame({trial_id}).to_dict("records")

    def count(self, trial_id: str) -> int:
        """How many rows ``trial_id`` has (without building them)."""
        with self._lock:
            return self._columns.count(trial_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._columns)


class RunContext:
    """One run's shared environment; built by the orchestrator, used by every step."""

    def __init__(
        self,
        config: BenchmarkConfig,
        target: Target,
        options: RunOptions,
        sampler: PayloadSampler,
        run_id: str,
        run_dir: Path,
        rows: Iterable[Row] = (),
        stop_reasons: dict[str, str] | None = None,
        cloudwatch: list[pd.DataFrame] | None = None,
    ):
        self.config = config
        self.target = target
        self.options = options
        self.sampler = sampler
        self.run_id = run_id
        self.run_dir = run_dir
        self.emulated = bool(target.emulated)
        # the emulator's clock, once an answer told it: its time scale and where it meets
        # the wall clock (None on AWS, whose clock is the wall clock)
        self.time_scale: float | None = None
        self.clock_origin: float | None = None
        # the account's total serverless concurrency quota the run planned with, once read
        self.account_concurrency_quota: int | None = None
        self.region = config.region or target.region_name
        self.bus = EventBus()
        self.stop_event = threading.Event()
        self.rows = Rows(rows)
        self.stop_reasons: dict[str, str] = dict(stop_reasons or {})
        self.planned: dict[str, Trial] = {}
        self.errors: list[str] = []
        self.store: RunStore | None = None
        self.batcher: Batcher | None = None
        self.deployments: Deployments | None = None
        self.metrics: MetricsCollector | None = None
        self.loader: LoadProcess | None = None
        self._earlier_cloudwatch = list(cloudwatch or [])
        self._prices: pricing.Prices | None = None
        self._publish_lock = threading.RLock()
        self._ended = False  # RunEnded was published: nothing follows it

    # -- opening ------------------------------------------------------------------------
    def open(self, meta: dict[str, Any], earlier_errors: list[str] | None = None) -> None:
        """Open the run store, the batcher, the endpoint book and the metrics collector.

        A new run writes its config and payloads; a resumed one (``earlier_errors`` given)
        adds ``meta`` to the config it wrote before and carries its counts on.
        """
        self.store = RunStore(self.run_dir, self.options.store_segment_seconds)
        if earlier_errors is not None:
            self.store.continue_from(len(self.rows), earlier_errors)
            self.store.update_config(**meta)
            self.store.write_status("running")
        else:
            self.store.write_config(self.config.to_dict(), **meta)
            self.store.write_payloads(self.sampler.examples)
        self.batcher = Batcher(
            self._sink, self.publish, self.options.batch_interval, self.options.batch_size
        )
        poll = self.options.endpoint_poll or (0.2 if self.emulated else 5.0)
        self.deployments = Deployments(
            self.target,
            self.run_id,
            self.config.model_name,
            self.stop_event,
            self.report,
            wait_timeout=self.config.endpoint_wait_timeout,
            poll=poll,
            given_quotas=(self.config.account_max_concurrency, self.config.account_max_endpoints),
        )
        self.metrics = MetricsCollector(self, self._earlier_cloudwatch)
        if self.options.load_in_worker:  # starts while the endpoints deploy
            self.loader = LoadProcess(self.target)

    def close_load(self) -> None:
        """End the load worker process (once every trial ended)."""
        if self.loader is not None:
            self.loader.close()

    def _sink(self, rows: list[Row]) -> None:
        self.rows.extend(rows)
        try:
            self.store.append_invocations(rows)
        except OSError as exc:
            self.report(f"could not write invocations to {self.run_dir}: {exc}")

    # -- events and errors --------------------------------------------------------------
    def publish(self, event: Any) -> None:
        """Publish ``event``, unless the run already ended (late CloudWatch fetches)."""
        with self._publish_lock:
            if not self._ended:
                self.bus.publish(event)

    def publish_last(self, event: Any) -> None:
        """Publish the run's last event; nothing is published after it."""
        with self._publish_lock:
            self.publish(event)
            self._ended = True

    @property
    def ended(self) -> bool:
        """True once the last event was published."""
        return self._ended

    def report(self, message: str, trial_id: str | None = None, fatal: bool = False) -> None:
        """Log, keep, store and publish an error message."""
        log.warning("%s", message)
        if self._ended:
            return
        self.errors.append(message)
        if self.store is not None:
            try:
                self.store.add_error(message)
            except OSError:
                log.exception("could not record an error in the run store")
        self.publish(RunError(message=message, trial_id=trial_id, fatal=fatal))

    # -- analysis inputs ----------------------------------------------------------------
    @property
    def prices(self) -> pricing.Prices:
        """Prices for the run's region (with the config's overrides)."""
        if self._prices is None:
            self._prices = pricing.get_prices(self.region, self.config.pricing_overrides)
        return self._prices

    def rank_inputs(
        self, df: pd.DataFrame, stop_reasons: dict[str, str] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Summary and cost tables of ``df`` (the inputs of racing and the recommendation),
        with the run's stop reasons unless others are given."""
        reasons = self.stop_reasons if stop_reasons is None else stop_reasons
        summary = stats.summarize(df, reasons, confidence=self.config.confidence)
        costs = cost.cost_table(summary, df, self.prices, monthly_volume(self.config))
        return summary, costs

    # -- trials -------------------------------------------------------------------------
    def plan(self, trials: list[Trial]) -> None:
        """Record planned trials (a resumed run's are recorded once, in the first run)."""
        for t in trials:
            if t.trial_id not in self.planned:
                self.planned[t.trial_id] = t
                self.store.append_trial({"event": "planned", **t.to_dict()})

    def remember_planned(self, trials: list[Trial]) -> None:
        """Know trials planned by an earlier process of this run, without storing them."""
        for t in trials:
            self.planned.setdefault(t.trial_id, t)

    def end_trial(
        self,
        trial_id: str,
        reason: str,
        summary: dict[str, Any] | None = None,
        detail: str | None = None,
    ) -> None:
        """Record why a trial ended, in the store and as a ``TrialEnded`` event.

        The stored record counts the trial's invocations handed on so far, so a reader of a
        store that arrives file by file (another host's, from S3) knows when it has them.
        """
        self.stop_reasons[trial_id] = reason
        record: dict[str, Any] = {
            "event": "ended",
            "trial_id": trial_id,
            "stop_reason": reason,
            "summary": summary or {},
            "invocations": self.rows.count(trial_id),
        }
        if detail is not None:
            record["detail"] = detail
        if self.store is not None:
            self.store.append_trial(record)
        self.publish(TrialEnded(trial_id=trial_id, stop_reason=reason, summary=summary or {}))

    def end_unfinished(self, reason: str, trial_ids: list[str] | None = None) -> None:
        """Give every planned trial (of ``trial_ids``) that never ended ``reason``."""
        for trial_id in list(self.planned) if trial_ids is None else trial_ids:
            if trial_id not in self.stop_reasons:
                self.end_trial(trial_id, reason)

    def trial_started(self, trial: Trial, endpoint_name: str) -> None:
        """Announce that ``trial``'s load begins on ``endpoint_name``."""
        self.publish(TrialStarted.of(trial, endpoint_name))

    def new_state(self, trial: Trial) -> stopping.TrialState:
        """Fresh stopping state of ``trial``, counting rows an earlier process recorded."""
        pause = self.options.pause
        if pause is None and self.config.invocation_pause > 0:
            # picklable, so a load worker process can pause too
            pause = functools.partial(float, self.config.invocation_pause)

        earlier = self.rows.of(trial.trial_id)
        load = TrialLoad(max(0, trial.max_invocations - len(earlier)), self.stop_event, pause)
        state = stopping.TrialState(trial, self.config, load, self.options.check_every)
        for row in earlier:
            state.record(row)
        return state

    def invoker(self, trial: Trial, endpoint_name: str) -> Invoker:
        """An invoker of ``endpoint_name`` that labels rows with ``trial``."""
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
            self.target.runtime_client(max(trial.clients, self.config.cold_start_probes)),
            endpoint_name,
            self.sampler,
            labels,
            on_emulated=self.saw_emulator,
        )

    def wall_clock(self, t: float) -> float:
        """The wall-clock time of ``t`` on the service's clock (they differ only on an
        emulator running at a time scale other than 1)."""
        if not self.time_scale or self.clock_origin is None:
            return t
        return self.clock_origin + (t - self.clock_origin) * self.time_scale

    def service_clock(self, t: float) -> float:
        """The service's clock at wall-clock time ``t`` (``wall_clock``'s inverse)."""
        if not self.time_scale or self.clock_origin is None:
            return t
        return self.clock_origin + (t - self.clock_origin) / self.time_scale

    def saw_emulator(self, clock: EmulatorClock) -> None:
        """An answer came from the local emulator: label the run emulated, with the
        emulator's clock (recorded once)."""
        told = (clock.time_scale, clock.origin)
        if self.emulated and (self.time_scale, self.clock_origin) == told:
            return
        with self._publish_lock:
            if self.emulated and (self.time_scale, self.clock_origin) == told:
                return
            self.emulated = True
            self.time_scale, self.clock_origin = told
            if self.store is not None:
                self.store.update_config(
                    emulated=True, time_scale=clock.time_scale, clock_origin=clock.origin
                )

    def row_sink(self, state: stopping.TrialState) -> Callable[[Row], None]:
        """Where the load of one trial hands each row: its stopping state, then the batcher."""
        batcher = self.batcher

        def sink(row: Row) -> None:
            state.record(row)
            batcher.add(row)

        return sink

    def guarded(self, trials: list[Trial], fn: Callable[..., None], *args: Any) -> None:
        """Run one trial's (or endpoint's) work; a failure is reported, its unfinished
        trials end as failed (not as stopped), and the run goes on."""
        try:
            fn(*args)
        except Exception as exc:
            trial_id = trials[0].trial_id
            log.exception("trial %s failed", trial_id)
            self.report(f"trial {trial_id} failed: {type(exc).__name__}: {exc}", trial_id=trial_id)
            self.end_unfinished(stopping.FAILED, [t.trial_id for t in trials])
