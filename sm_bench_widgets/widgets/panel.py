"""``BenchmarkPanel``: pick a model and payloads, set options, run, watch, decide.

The panel is an ``ipywidgets.VBox``: it displays itself in JupyterLab, Notebook, VS Code
and SageMaker Studio. The run goes on in the engine's background thread; its events are
buffered and applied to the widgets by a throttled refresher, so neither the run nor the
kernel waits for the display. ``start``/``stop``/``wait``/``result``/``config`` give the
same control to scripts and tests.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from sm_bench_widgets import api, charts
from sm_bench_widgets.api import RunHandle, estimate_benchmark, start_benchmark
from sm_bench_widgets.charts import enable_offline
from sm_bench_widgets.config import BenchmarkConfig, ConfigError
from sm_bench_widgets.result import BenchmarkResult
from sm_bench_widgets.widgets.card import RecommendationCard
from sm_bench_widgets.widgets.dashboard import Dashboard
from sm_bench_widgets.widgets.estimate import estimate_html
from sm_bench_widgets.widgets.exports import ExportButtons
from sm_bench_widgets.widgets.fields import flag_markup
from sm_bench_widgets.widgets.form import ConfigForm
from sm_bench_widgets.widgets.launch import LaunchChoice
from sm_bench_widgets.widgets.live import DEFAULT_INTERVAL_S, EventBuffer, Refresher
from sm_bench_widgets.widgets.models import ModelPicker
from sm_bench_widgets.widgets.payload_source import PayloadSource
from sm_bench_widgets.widgets.progress import ProgressView
from sm_bench_widgets.widgets.target import TargetChooser
from sm_bench_widgets.widgets.validation import PAYLOAD_FIELD, check_values, runnable_errors
from sm_bench_widgets.widgets.whatif import WhatIf

log = logging.getLogger(__name__)

CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(BenchmarkConfig))
RESULT_REFRESH_S = 3.0  # cost and concurrency charts: at most this often (and at the end)
EMULATOR_SETUP_S = 3.0
AWS_SETUP_S = 240.0
FINALIZE_WAIT_S = 30.0
_NOT_RERANKED = object()


def _section(title: str, *children: w.Widget) -> w.VBox:
    return w.VBox([w.HTML(f"<b>{title}</b>"), *children], layout=w.Layout(margin="4px 0"))


class BenchmarkPanel(w.VBox):
    """The notebook UI of a benchmark; ``BenchmarkPanel(**defaults)`` with config field names.

    ``target`` fixes where the run goes (else AWS when credentials exist, the embedded
    emulator otherwise, at ``emulator_time_scale``); ``refresh_interval`` is the shortest
    time between two display refreshes while a run goes on.
    """

    def __init__(
        self,
        *,
        target: Any = None,
        emulator_time_scale: float = 1.0,
        refresh_interval: float = DEFAULT_INTERVAL_S,
        **defaults: Any,
    ):
        unknown = sorted(set(defaults) - set(CONFIG_FIELDS))
        if unknown:
            raise ConfigError(
                unknown[0],
                defaults[unknown[0]],
                f"an option name, one of: {', '.join(CONFIG_FIELDS)}",
            )
        enable_offline()
        self._defaults = dict(defaults)
        self._refresh_interval = refresh_interval
        self._lock = threading.RLock()
        self._handle: RunHandle | None = None
        self._refresher: Refresher | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._final: Any = None
        self._pick: Any = _NOT_RERANKED
        self._finalized = threading.Event()
        self._last_result_refresh = 0.0
        self._config: BenchmarkConfig | None = None
        self._emulated = False
        self._stop_reasons: dict[str, str] = {}
        self.chart_observers: list[Callable[[list[dict[str, Any]], float], None]] = []
        self.errors: list[ConfigError] = []

        self.target_chooser = TargetChooser(target, emulator_time_scale)
        self.model_picker = ModelPicker(defaults.get("model_name", ""))
        self.payloads = PayloadSource(
            defaults.get("invoke_args_examples_file"), defaults.get("invoke_args_examples")
        )
        self.form = ConfigForm(defaults)
        self.assumed_latency = w.BoundedFloatText(
            value=1000,
            min=1,
            max=60000,
            description="Invocations take up to (ms)",
            style={"description_width": "190px"},
            layout=w.Layout(width="300px"),
        )
        self.estimate_html = w.HTML()
        self.estimate: Any = None  # the last ``Estimate`` shown, None while the form is invalid
        self.launch = LaunchChoice()
        self.run_button = w.Button(description="Run", button_style="success", icon="play")
        self.stop_button = w.Button(
            description="Stop", button_style="danger", icon="stop", disabled=True
        )
        self.progress = ProgressView()
        self.dashboard = Dashboard()
        self.card = RecommendationCard()
        self.whatif = WhatIf(self._show_pick)
        self.exports = ExportButtons()

        super().__init__(
            children=[
                w.HTML("<h3 style='margin:2px 0'>SageMaker Serverless Inference benchmark</h3>"),
                _section("Target", self.target_chooser.widget),
                _section("Model", self.model_picker.widget),
                _section("Payloads", self.payloads.widget),
                self.form.widget,
                _section("Estimate (upper bounds)", self.assumed_latency, self.estimate_html),
                self.launch.widget,
                w.HBox([self.run_button, self.stop_button]),
                self.progress.widget,
                self.dashboard.widget,
                self.card.widget,
                self.whatif.widget,
                self.exports.widget,
            ]
        )
        self.add_class("smb-panel")

        self.run_button.on_click(lambda _b: self._start_from_button())
        self.stop_button.on_click(lambda _b: self.stop())
        for part in (self.target_chooser, self.model_picker, self.payloads, self.form):
            part.on_change(self._validate)
        self.assumed_latency.observe(lambda _c: self._validate(), names="value")
        self.model_picker.bind(self.target_chooser.target)
        self.target_chooser.on_change(self._target_changed)
        if self.target_chooser.problem() is None:
            self.model_picker.refresh()
        self._validate()

    # -- form ---------------------------------------------------------------------------
    def _values(self) -> tuple[dict[str, Any], dict[str, ConfigError]]:
        values, errors = self.form.values()
        for name in CONFIG_FIELDS:
            if name in self._defaults and name not in values:
                values[name] = self._defaults[name]
        values["model_name"] = self.model_picker.value
        problem = self.payloads.refresh()
        if problem is not None:
            errors[PAYLOAD_FIELD] = problem
            values.pop("invoke_args_examples", None)
            values.pop("invoke_args_examples_file", None)
        else:
            values.update(self.payloads.config_values())
        return values, errors

    def _check(self) -> tuple[BenchmarkConfig | None, BenchmarkConfig | None, dict[str, Any]]:
        """(config to estimate, config to run, errors): the form read and checked once."""
        values, errors = self._values()
        config, found = check_values(values, runnable=False)
        for name, exc in found.items():
            errors.setdefault(name, exc)
        if errors:
            return None, None, errors
        runnable, errors = runnable_errors(config)
        return config, runnable, errors

    @property
    def config(self) -> BenchmarkConfig:
        """The validated config the form stands for; ``ConfigError`` for the first problem."""
        _, config, errors = self._check()
        if config is None:
            raise next(iter(errors.values()))
        return config

    def _validate(self) -> None:
        if not self.running:
            self._show_form_state()

    def _show_form_state(self) -> None:
        """Flag the fields, enable Run only for a valid form and target, show the estimate."""
        buildable, _, errors = self._check()
        self.errors = list(errors.values())
        self.form.flag(errors)
        self.model_picker.flag(str(errors["model_name"]) if "model_name" in errors else None)
        if PAYLOAD_FIELD in errors:
            self.payloads.flag(str(errors[PAYLOAD_FIELD]))
        target_problem = self.target_chooser.problem()
        self.run_button.disabled = bool(errors) or target_problem is not None
        self.run_button.tooltip = (
            "Fix the flagged fields first" if errors else target_problem or "Start the benchmark"
        )
        self._show_estimate(buildable)

    def _show_estimate(self, config: BenchmarkConfig | None) -> None:
        self.estimate = None
        if config is None:
            self.estimate_html.value = (
                "<span style='color:#555'>The estimate appears once the flagged fields are "
                "fixed.</span>"
            )
            return
        emulated = self.target_chooser.emulated
        region = config.region or (
            self.target_chooser.target().region_name
            if self.target_chooser.problem() is None
            else None
        )
        try:
            est = estimate_benchmark(
                config,
                latency_ms=float(self.assumed_latency.value),
                body_bytes=self.payloads.max_body_bytes,
                endpoint_setup_s=EMULATOR_SETUP_S if emulated else AWS_SETUP_S,
                region=region,
            )
        except ConfigError as exc:
            self.estimate_html.value = flag_markup(str(exc))
            return
        self.estimate = est
        self.estimate_html.value = estimate_html(est, emulated=emulated)

    def _target_changed(self) -> None:
        if self.target_chooser.problem() is None:
            self.model_picker.refresh()
        self._validate()

    # -- run control --------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether a run is going on (until its end has been shown)."""
        return self._handle is not None and not self._finalized.is_set()

    @property
    def handle(self) -> RunHandle | None:
        """The engine's handle of the current or last run."""
        return self._handle

    def start(self) -> RunHandle:
        """Start a run with the form's config (``ConfigError`` when a field is invalid)."""
        with self._lock:
            if self.running:
                raise RuntimeError("a run is already going on: stop it or wait for it first")
            config = self.config
            problem = self.target_chooser.problem()
            if problem:
                raise RuntimeError(problem)
            target = self.target_chooser.target()
            self._reset_views()
            self._set_running(True)
            try:
                handle = start_benchmark(config, target)
            except Exception as exc:
                self.progress.add_error(str(exc))
                self.progress.set_status("Not started.")
                self._set_running(False)
                raise
            self._handle = handle
            self._config = config
            self._emulated = bool(target.emulated)
            self._stop_reasons = {}
            self._finalized.clear()
            buffer = EventBuffer()
            self._refresher = Refresher(
                buffer, self._apply, self._report_error, self._refresh_interval
            )
            self._unsubscribe = handle.subscribe(buffer.put)
            self._refresher.start()
            self.progress.set_status(f"Run {handle.run_id} starting: creating endpoints...")
            return handle

    def _start_from_button(self) -> None:
        try:
            self.start()
        except (ConfigError, RuntimeError) as exc:
            self.progress.add_error(str(exc))
        except Exception as exc:  # anything else from the engine: shown, not lost
            log.exception("could not start the benchmark")
            self.progress.add_error(f"could not start: {exc!r}")

    def stop(self) -> None:
        """Ask the run to stop: load ends, endpoints are deleted, results so far are kept."""
        if self._handle is not None and not self._handle.done:
            self._handle.stop()
            self.stop_button.disabled = True
            self.progress.set_status("Stopping: deleting endpoints; the results so far are kept...")

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the run is over and shown; its ``BenchmarkResult`` (None on timeout)."""
        handle = self._handle
        if handle is None:
            raise RuntimeError("no run was started: call start() first")
        if handle.wait(timeout) is None:
            return None
        if self._refresher is not None:
            self._refresher.flush()
        if not self._finalized.wait(FINALIZE_WAIT_S):
            self._finalize()
        return self.result

    @property
    def result(self) -> Any:
        """The final result of the last run, else the partial one of the current run."""
        if self._final is not None:
            return self._final
        return self._handle.result if self._handle is not None else None

    @property
    def recommendation(self) -> Any:
        """The configuration picked now (the what-if controls may have re-ranked it)."""
        if self._pick is not _NOT_RERANKED:
            return self._pick
        return self._final.recommendation if self._final is not None else None

    # -- applying events (refresher thread) ---------------------------------------------
    def _apply(self, events: list[Any]) -> None:
        rows: list[dict[str, Any]] = []
        trial_ended = run_ended = False
        for event in events:
            try:
                self.progress.apply(event)
            except Exception as exc:  # shown; the other events still apply
                self._report_error(exc)
            if isinstance(event, api.InvocationBatch):
                rows.extend(event.rows)
            elif isinstance(event, api.TrialEnded):
                trial_ended = True
                self._stop_reasons[event.trial_id] = event.stop_reason
            elif isinstance(event, api.RunEnded):
                run_ended = True
        try:
            if rows:
                self.dashboard.add_rows(rows)
                self.dashboard.refresh_invocations()
                self._tell_chart_observers(rows, time.time())
            now = time.monotonic()
            due = now - self._last_result_refresh >= RESULT_REFRESH_S
            if not run_ended and (trial_ended or rows) and due:
                self._last_result_refresh = now
                self.dashboard.refresh_result(self._partial_result())
        finally:
            if run_ended:  # the end is shown even when a display update above failed
                self._finalize()

    def _partial_result(self) -> Any:
        """A result of the rows the dashboard holds (no copy of the runner's rows needed)."""
        handle = self._handle
        return BenchmarkResult(
            self._config,
            self.dashboard.invocations(),
            run_id=handle.run_id,
            run_dir=handle.run_dir,
            emulated=self._emulated,
            status="running",
            stop_reasons=dict(self._stop_reasons),
        )

    def _tell_chart_observers(self, rows: list[dict[str, Any]], applied: float) -> None:
        for observer in list(self.chart_observers):
            try:
                observer(rows, applied)
            except Exception as exc:  # one bad observer must not stop the display
                self._report_error(exc)

    def _finalize(self) -> None:
        with self._lock:
            if self._finalized.is_set() or self._handle is None:
                return
            handle = self._handle
            result = handle.wait()
            self._final = result
            self._pick = _NOT_RERANKED
            if self._unsubscribe is not None:
                self._unsubscribe()
            try:
                self._show_result(result)
            finally:  # whatever failed to show, the run is over: never stuck "running"
                try:
                    self._set_running(False)
                finally:
                    self._finalized.set()
                    if self._refresher is not None:
                        self._refresher.stop(timeout=0)

    def show(self, result: Any) -> None:
        """Show a finished ``BenchmarkResult`` (e.g. one loaded from disk): charts, card,
        what-if controls and exports, as after a run."""
        if self.running:
            raise RuntimeError("a run is going on: wait for it or stop it first")
        self._reset_views()
        self._final = result
        self._show_result(result)

    def _show_result(self, result: Any) -> None:
        self.exports.bind(result)  # first: the result can be exported whatever fails below
        if self.dashboard.row_count != len(result.invocations):
            # a loaded result, or rows published before the panel subscribed to the run
            self.dashboard.replace_rows(result.invocations)
            self.dashboard.refresh_invocations()
        self.dashboard.refresh_result(result)
        self.dashboard.resync()
        self.card.show(result.recommendation, result, result.config.model_name)
        self.whatif.bind(result)
        emulated = " (emulated)" if result.emulated else ""
        self.progress.set_status(
            f"Run {result.run_id} {result.status}{emulated}: {len(result.invocations):,} "
            f"invocations; {result.recommendation_line()} Results in {result.run_dir}"
        )

    def _show_pick(self, rec: Any, costs: Any) -> None:
        self._pick = rec
        result = self._final
        self.card.show(rec, result, result.config.model_name)
        self.dashboard.charts["cost_vs_latency"].update(charts.cost_vs_latency(costs, rec))

    def _report_error(self, exc: BaseException) -> None:
        log.error("the panel could not show an update", exc_info=exc)
        self.progress.add_error(f"display update failed: {exc!r}")

    # -- views --------------------------------------------------------------------------
    def _reset_views(self) -> None:
        self._final = None
        self._pick = _NOT_RERANKED
        self._last_result_refresh = 0.0
        self.progress.reset()
        self.dashboard.reset()
        self.dashboard.show(True)
        self.card.hide()
        self.whatif.hide()
        self.exports.hide()

    def _set_running(self, running: bool) -> None:
        for part in (self.form, self.model_picker, self.payloads, self.target_chooser, self.launch):
            part.set_disabled(running)
        self.assumed_latency.disabled = running
        self.stop_button.disabled = not running
        self.run_button.disabled = running
        if not running:  # still "running" until the end is shown: check the form directly
            self._show_form_state()
