"""``BenchmarkPanel``: pick a model and payloads, set options, run, watch, decide.

The panel is an ``ipywidgets.VBox``: it displays itself in JupyterLab, Notebook, VS Code
and SageMaker Studio. The run goes on in the engine's background thread, or as a SageMaker
Processing job (the launch choice) whose streamed results the panel follows; events are
buffered and applied to the widgets by a throttled refresher, so neither the run nor the
kernel waits for the display. ``start``/``stop``/``wait``/``result``/``config``/``attach``
give the same control to scripts and tests. A panel never starts a run by itself: it
remembers the job it launched from a folder and a new panel offers to reattach to it, and
it offers to resume an interrupted run it finds in its result folder.

A bare ``BenchmarkPanel()`` on the emulator is ready to run: a demo model's own sample
payloads are filled in, the defaults are sized for about a minute, and while Run is
disabled the status line says what it still needs.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from sm_bench_widgets import api, charts
from sm_bench_widgets.api import (
    JobOptions,
    ProcessingJobHandle,
    RunFailed,
    RunHandle,
    estimate_benchmark,
    start_benchmark,
)
from sm_bench_widgets.charts import enable_offline
from sm_bench_widgets.config import BenchmarkConfig, ConfigError
from sm_bench_widgets.emulator import demo_examples, demo_latency_bound_ms
from sm_bench_widgets.result import BenchmarkResult
from sm_bench_widgets.widgets.card import RecommendationCard
from sm_bench_widgets.widgets.cleanup import LeftoversCleanup
from sm_bench_widgets.widgets.dashboard import Dashboard
from sm_bench_widgets.widgets.estimate import estimate_html, format_duration
from sm_bench_widgets.widgets.exports import ExportButtons
from sm_bench_widgets.widgets.fields import flag_markup
from sm_bench_widgets.widgets.form import ConfigForm
from sm_bench_widgets.widgets.job_form import JobForm, ensure_bucket
from sm_bench_widgets.widgets.job_monitor import TERMINAL, JobMonitor
from sm_bench_widgets.widgets.job_run import JobRun
from sm_bench_widgets.widgets.job_state import forget, recalled, remember
from sm_bench_widgets.widgets.launch import PROCESSING_JOB, LaunchChoice
from sm_bench_widgets.widgets.live import DEFAULT_INTERVAL_S, EventBuffer, Refresher
from sm_bench_widgets.widgets.models import ModelPicker
from sm_bench_widgets.widgets.payload_source import PayloadSource
from sm_bench_widgets.widgets.progress import ProgressView
from sm_bench_widgets.widgets.resume import ResumeOffer
from sm_bench_widgets.widgets.target import TargetChooser
from sm_bench_widgets.widgets.validation import PAYLOAD_FIELD, check_values, runnable_errors
from sm_bench_widgets.widgets.whatif import WhatIf

log = logging.getLogger(__name__)

CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(BenchmarkConfig))
RESULT_REFRESH_S = 3.0  # cost and concurrency charts: at most this often (and at the end)
EMULATOR_SETUP_S = 3.0
AWS_SETUP_S = 240.0
FINALIZE_WAIT_S = 30.0
ASSUMED_LATENCY_MS = 1000.0  # what invocations may take, for the estimate's bounds
JOB_POLL_S = 3.0  # job monitor and streamed results: at most this often
_NOT_RERANKED = object()


def _section(title: str, *children: w.Widget) -> w.VBox:
    return w.VBox([w.HTML(f"<b>{title}</b>"), *children], layout=w.Layout(margin="4px 0"))


class BenchmarkPanel(w.VBox):
    """The notebook UI of a benchmark; ``BenchmarkPanel(**defaults)`` with config field names.

    ``target`` fixes where the run goes (else AWS when credentials exist, the embedded
    emulator otherwise, at ``emulator_time_scale``); ``refresh_interval`` is the shortest
    time between two display refreshes while a run goes on; ``job_poll_interval`` how often
    a Processing job's status, log and results are read; ``state_folder`` the folder whose
    launched job is remembered (the working folder: where the notebook runs).
    """

    def __init__(
        self,
        *,
        target: Any = None,
        emulator_time_scale: float = 1.0,
        refresh_interval: float = DEFAULT_INTERVAL_S,
        job_poll_interval: float = JOB_POLL_S,
        state_folder: str | os.PathLike[str] | None = None,
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
        self._job_poll_interval = job_poll_interval
        self._state_folder = os.path.abspath(state_folder or os.getcwd())
        self._lock = threading.RLock()
        self._handle: RunHandle | JobRun | None = None
        self._job: ProcessingJobHandle | None = None
        self._recorded: ProcessingJobHandle | None = None  # a job this folder launched earlier
        self._recorded_status: str | None = None
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
        self.form = ConfigForm(defaults, emulated=self.target_chooser.emulated)
        # CloudWatch history is read where the run goes
        self.form.fields["traffic"].widget.target = self.target_chooser.target
        self._auto_latency = ASSUMED_LATENCY_MS
        self.assumed_latency = w.BoundedFloatText(
            value=ASSUMED_LATENCY_MS,
            min=1,
            max=60000,
            description="Invocations take up to (ms)",
            style={"description_width": "190px"},
            layout=w.Layout(width="300px"),
        )
        self.estimate_html = w.HTML()
        self.estimate: Any = None  # the last ``Estimate`` shown, None while the form is invalid
        self.launch = LaunchChoice()
        self.job_form = JobForm()
        self.attach_name = w.Text(
            placeholder="a Processing job's name", layout=w.Layout(width="420px")
        )
        self.attach_button = w.Button(description="Attach", icon="link", tooltip="Follow a job")
        self.attach_row = w.HBox(
            [w.HTML("<b>Or attach to a job</b>&nbsp;"), self.attach_name, self.attach_button],
            layout=w.Layout(display="none"),
        )
        self.reattach_text = w.HTML()
        self.reattach_button = w.Button(
            button_style="info", icon="link", layout=w.Layout(width="auto")
        )
        self.forget_button = w.Button(description="Forget it", tooltip="Launch another job anyway")
        self.reattach_offer = w.HBox(
            [self.reattach_text, self.reattach_button, self.forget_button],
            layout=w.Layout(display="none"),
        )
        self.reattach_offer.add_class("smb-reattach")
        self.job_monitor = JobMonitor()
        self.run_button = w.Button(description="Run", button_style="success", icon="play")
        self.stop_button = w.Button(
            description="Stop", button_style="danger", icon="stop", disabled=True
        )
        self.run_hint = w.HTML()
        self.resume_offer = ResumeOffer(lambda run_dir: self._resume_from_button(run_dir))
        self.cleanup = LeftoversCleanup(
            lambda: self.target_chooser.target(), lambda: not self.target_chooser.emulated
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
                self.job_form.widget,
                self.attach_row,
                self.reattach_offer,
                self.resume_offer.widget,
                w.HBox([self.run_button, self.stop_button, self.run_hint]),
                self.job_monitor.widget,
                self.progress.widget,
                self.dashboard.widget,
                self.card.widget,
                self.whatif.widget,
                self.exports.widget,
                _section("Housekeeping", self.cleanup.widget),
            ]
        )
        self.add_class("smb-panel")
        self.dashboard.widget.add_class("smb-dashboard")

        self.run_button.on_click(lambda _b: self._start_from_button())
        self.stop_button.on_click(lambda _b: self.stop())
        self.attach_button.on_click(lambda _b: self._attach_from_button(self.attach_name.value))
        self.reattach_button.on_click(
            lambda _b: self._recorded and self._attach_from_button(self._recorded.name)
        )
        self.forget_button.on_click(lambda _b: self._forget_recorded())
        for part in (self.payloads, self.form):
            part.on_change(self._validate)
        self.model_picker.on_change(self._model_changed)
        self.form.fields["result_save_path"].observe(lambda _c: self._look_for_interrupted())
        self.job_form.on_change(self._validate)
        self.launch.on_change(self._launch_changed)
        self.assumed_latency.observe(lambda _c: self._validate(), names="value")
        self.model_picker.bind(self.target_chooser.target)
        self.target_chooser.on_change(self._target_changed)
        if self.target_chooser.problem() is None:
            self.model_picker.refresh()
        self._use_demo_model()
        self._validate()
        self._check_recorded_job()
        self._look_for_interrupted()

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
        self.form.flag(errors)
        self.model_picker.flag(str(errors["model_name"]) if "model_name" in errors else None)
        if PAYLOAD_FIELD in errors:
            self.payloads.flag(str(errors[PAYLOAD_FIELD]))
        job_errors = self._job_options()[1] if self.launch.job else {}
        self.job_form.flag(job_errors)
        errors = {**errors, **job_errors}
        self.errors = list(errors.values())
        target_problem = self.target_chooser.problem()
        blocked = self._live_recorded_message() if self.launch.job else None
        self.run_button.disabled = bool(errors) or target_problem is not None or bool(blocked)
        self.run_button.tooltip = (
            "Fix the flagged fields first"
            if errors
            else target_problem or blocked or "Start the benchmark"
        )
        self._show_estimate(buildable)
        self._show_run_hint(self._missing(errors, target_problem or blocked))
        if self.launch.job:
            self.job_form.show_cost(
                self.estimate.duration_s if self.estimate is not None else None,
                self._region(buildable),
                self.target_chooser.emulated,
            )

    def _missing(self, errors: dict[str, Any], problem: str | None) -> str | None:
        """What Run still needs, in words (None when it may run)."""
        if problem:
            return problem
        if not errors:
            return None
        needs = []
        if "model_name" in errors:
            needs.append("a model (pick or type its name under Model)")
        if PAYLOAD_FIELD in errors:
            needs.append(
                "payload examples (paste JSON Lines under Payloads, or give a file)"
                if self.payloads.missing
                else "payload examples that pass the checks (see under Payloads)"
            )
        others = [n for n in errors if n not in ("model_name", PAYLOAD_FIELD)]
        if others:
            needs.append("valid values for " + ", ".join(others) + " (flagged above)")
        return "Run needs " + "; and ".join(needs) + "."

    def _show_run_hint(self, missing: str | None) -> None:
        """Say next to Run what it needs; before any run, on the status line as well."""
        if missing is None:
            est = self.estimate
            where = "on the emulator" if self.target_chooser.emulated else "on AWS"
            text = "Ready: press Run" + (
                f" (at most {format_duration(est.duration_s)} {where})." if est else "."
            )
        else:
            text = missing
        markup = f"<span class='smb-run-hint' style='color:#555'>{html.escape(text)}</span>"
        self.run_hint.value = markup if missing is not None else ""
        if self._handle is None and self._final is None:
            self.progress.set_status(text)

    def _show_estimate(self, config: BenchmarkConfig | None) -> None:
        self.estimate = None
        if config is None:
            self.estimate_html.value = (
                "<span style='color:#555'>The estimate appears once the flagged fields are "
                "fixed.</span>"
            )
            return
        emulated = self.target_chooser.emulated
        region = self._region(config)
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

    def _region(self, config: BenchmarkConfig | None) -> str | None:
        """The config's region, else the target's (None while the target is unusable)."""
        if config is not None and config.region:
            return config.region
        if self.target_chooser.problem() is None:
            return self.target_chooser.target().region_name
        return None

    def _target_changed(self) -> None:
        self.form.retarget(self.target_chooser.emulated)
        if self.target_chooser.problem() is None:
            self.model_picker.refresh()
            if self.launch.job:
                self.job_form.prefill(self.target_chooser.target())
        self._use_demo_model()
        self._validate()
        self._check_recorded_job()

    def _model_changed(self) -> None:
        self._use_demo_model()
        self._validate()

    def _use_demo_model(self) -> None:
        """On the emulator, fill in a demo model's sample payloads (unless the user gave
        payloads of their own) and its invocation time for the estimate; take them back
        for any other model."""
        model = self.model_picker.value
        usable = self.target_chooser.emulated and self.target_chooser.problem() is None
        examples = demo_examples(model) if usable else None
        self.payloads.fill(examples, model)
        values, _ = self.form.values()
        bound = demo_latency_bound_ms(model, values.get("memory_sizes") or []) if usable else None
        latency = float(bound or ASSUMED_LATENCY_MS)
        if self.assumed_latency.value == self._auto_latency:  # not typed by the user
            self.assumed_latency.value = latency
            self._auto_latency = latency

    def _look_for_interrupted(self) -> None:
        """Offer to resume an interrupted run of the result folder (none while running)."""
        if self.running:
            return
        try:
            folder = self.form.fields["result_save_path"].get()
        except ConfigError:
            return
        self.resume_offer.look(folder or ".")

    def _launch_changed(self) -> None:
        job = self.launch.job
        self.job_form.show(job)
        self.attach_row.layout.display = "" if job else "none"
        if job and self.target_chooser.problem() is None:
            self.job_form.prefill(self.target_chooser.target())
        self._validate()

    def _job_options(self) -> tuple[JobOptions | None, dict[str, ConfigError]]:
        """The Processing job's options from the job form, or every problem by field."""
        return self.job_form.options(emulated=self.target_chooser.emulated)

    # -- run control --------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether a run is going on (until its end has been shown)."""
        return self._handle is not None and not self._finalized.is_set()

    @property
    def handle(self) -> RunHandle | ProcessingJobHandle | None:
        """The handle of the current or last run: the engine's, or the Processing job's."""
        if self._job is not None:
            return self._job
        return self._handle if isinstance(self._handle, RunHandle) else None

    @property
    def job(self) -> ProcessingJobHandle | None:
        """The Processing job launched or attached to, if the last run was one."""
        return self._job

    def start(self) -> RunHandle | ProcessingJobHandle:
        """Start a run with the form's config, in a thread or as a Processing job as chosen
        (``ConfigError`` naming the field when a value is invalid, before anything is made)."""
        with self._lock:
            if self.running:
                raise RuntimeError("a run is already going on: stop it or wait for it first")
            config = self.config
            problem = self.target_chooser.problem()
            if problem:
                raise RuntimeError(problem)
            target = self.target_chooser.target()
            job_options: JobOptions | None = None
            if self.launch.job:
                job_options, errors = self._job_options()
                if job_options is None:
                    raise next(iter(errors.values()))
                self._refuse_second_job(target)
            self._reset_views()
            self._set_running(True)
            try:
                if job_options is None:
                    handle: Any = start_benchmark(config, target)
                    job = None
                else:
                    self.progress.set_status("Launching the Processing job: uploading its code...")
                    if target.emulated and job_options.s3_output_path:
                        ensure_bucket(target, job_options.s3_output_path)
                    job = start_benchmark(config, target, launch="processing-job", job=job_options)
                    remember(job.name, target, self._state_folder)
                    handle = JobRun(job)
            except Exception as exc:
                self.progress.add_error(str(exc))
                self.progress.set_status("Not started.")
                self._set_running(False)
                raise
            self._follow(handle, job, config, bool(target.emulated))
            return job if job is not None else handle

    def attach(self, job_name: str) -> ProcessingJobHandle:
        """Follow an existing Processing job by name (after a kernel restart, or one launched
        elsewhere): the job monitor, the live charts and, at its end, the card, as if it
        had been started here."""
        with self._lock:
            if self.running:
                raise RuntimeError("a run is already going on: stop it or wait for it first")
            problem = self.target_chooser.problem()
            if problem:
                raise RuntimeError(problem)
            name = (job_name or "").strip()
            if not name:
                raise ConfigError("job_name", job_name, "the name of a Processing job")
            target = self.target_chooser.target()
            job = ProcessingJobHandle.attach(name, target)
            self.launch.value = PROCESSING_JOB
            self._reset_views()
            self._set_running(True)
            remember(job.name, target, self._state_folder)
            self._hide_offer()
            self._follow(JobRun(job), job, None, bool(target.emulated))
            return job

    def resume(self, run_dir: str | os.PathLike[str]) -> RunHandle:
        """Carry on an interrupted run from its directory (``api.resume_benchmark``): only
        what is still needed is redeployed; the charts start with the rows it holds."""
        with self._lock:
            if self.running:
                raise RuntimeError("a run is already going on: stop it or wait for it first")
            problem = self.target_chooser.problem()
            if problem:
                raise RuntimeError(problem)
            target = self.target_chooser.target()
            self._reset_views()
            self._set_running(True)
            try:
                handle = api.resume_benchmark(run_dir, target)
            except Exception as exc:
                self.progress.add_error(str(exc))
                self.progress.set_status("Not resumed.")
                self._set_running(False)
                raise
            self.resume_offer.dismiss()
            earlier = handle.result
            self.dashboard.replace_rows(earlier.invocations)
            self.dashboard.refresh_invocations()
            self._follow(handle, None, earlier.config, bool(target.emulated))
            self.progress.set_status(
                f"Run {handle.run_id} resuming with {len(earlier.invocations):,} invocations "
                "stored: creating the endpoints still needed..."
            )
            return handle

    def _resume_from_button(self, run_dir: Any) -> None:
        self._guarded(lambda: self.resume(run_dir), f"resume {run_dir}")

    def _follow(
        self,
        handle: RunHandle | JobRun,
        job: ProcessingJobHandle | None,
        config: BenchmarkConfig | None,
        emulated: bool,
    ) -> None:
        """Subscribe the refresher to a started run's events (and poll its job, if any)."""
        self._handle = handle
        self._job = job
        self._config = config
        self._emulated = emulated
        self._stop_reasons = {}
        self._finalized.clear()
        buffer = EventBuffer()
        tick = None
        if job is not None:
            job.poll_seconds = self._job_poll_interval
            self.job_monitor.watch(job.name)
            tick = self._poll_job
        self._refresher = Refresher(
            buffer,
            self._apply,
            self._report_error,
            self._refresh_interval,
            tick=tick,
            tick_interval=self._job_poll_interval,
        )
        self._unsubscribe = handle.subscribe(buffer.put)
        self._refresher.start()
        if job is not None:
            self.progress.set_status(
                f"Job {job.name}: its results appear here as they reach S3 "
                f"(every {self._job_poll_interval:g} s)..."
            )
        else:
            self.progress.set_status(f"Run {handle.run_id} starting: creating endpoints...")

    def _poll_job(self) -> None:
        """Refresh the job monitor (refresher thread, every ``job_poll_interval``)."""
        job = self._job
        if job is not None:
            self.job_monitor.poll(job)

    def _refuse_second_job(self, target: Any) -> None:
        """RuntimeError when the job this folder launched earlier is still going on."""
        self._check_recorded_job(target, background=False)
        message = self._live_recorded_message()
        if message:
            raise RuntimeError(message)

    def _live_recorded_message(self) -> str | None:
        """Why a new job may not be launched: the folder's recorded job still runs."""
        job, status = self._recorded, self._recorded_status
        if (
            job is None
            or status in TERMINAL
            or (self._job is not None and job.name == self._job.name)
        ):
            return None
        return (
            f"Job {job.name}, launched from this folder, is {status}: reattach to it "
            f"(panel.attach({job.name!r})) or stop it before launching another"
        )

    def _check_recorded_job(self, target: Any = None, background: bool | None = None) -> None:
        """Look up the job this folder launched last and offer to reattach to it.

        On AWS the lookup runs in a thread (the kernel never waits for the network); on
        the emulator, which answers at once, before returning.
        """
        record = recalled(self._state_folder)
        if record is None or self.target_chooser.problem() is not None:
            self._recorded, self._recorded_status = None, None
            self._hide_offer()
            return
        target = target or self.target_chooser.target()
        if background is None:
            background = not target.emulated
        if background:
            threading.Thread(
                target=self._look_up_recorded,
                args=(record["job_name"], target),
                name="smb-recorded-job",
                daemon=True,
            ).start()
        else:
            self._look_up_recorded(record["job_name"], target)

    def _look_up_recorded(self, name: str, target: Any) -> None:
        try:
            job = ProcessingJobHandle.attach(name, target)
            status = job.status()
        except Exception:  # gone, another account, or not ours: nothing to offer
            self._recorded, self._recorded_status = None, None
            self._hide_offer()
            return
        self._recorded, self._recorded_status = job, status
        if self._job is not None and self._job.name == name:
            self._hide_offer()  # the panel follows it already
        else:
            self.reattach_text.value = (
                f"<span class='smb-reattach-text'>A job launched from this folder: "
                f"<b>{html.escape(name)}</b> ({html.escape(status)})&nbsp;</span>"
            )
            self.reattach_button.description = f"Reattach to {name} ({status})"
            self.reattach_offer.layout.display = ""
        self._validate()

    def _hide_offer(self) -> None:
        self.reattach_offer.layout.display = "none"

    def _forget_recorded(self) -> None:
        job = self._recorded
        if job is not None:
            forget(job.name, self._state_folder)
        self._recorded, self._recorded_status = None, None
        self._hide_offer()
        self._validate()

    def _start_from_button(self) -> None:
        if self.launch.job:  # uploading and creating a job takes seconds: not on the kernel
            self.run_button.disabled = True
            self._in_background(self.start, "start the Processing job")
            return
        self._guarded(self.start, "start the benchmark")

    def _attach_from_button(self, job_name: str) -> None:
        self._in_background(lambda: self.attach(job_name), f"attach to {job_name!r}")

    def _in_background(self, action: Callable[[], Any], what: str) -> None:
        threading.Thread(
            target=self._guarded, args=(action, what), name="smb-launch", daemon=True
        ).start()

    def _guarded(self, action: Callable[[], Any], what: str) -> None:
        """Run ``action``; its errors are shown in the panel, never lost in a thread."""
        try:
            action()
        except (ConfigError, RuntimeError) as exc:
            self.progress.add_error(str(exc))
        except Exception as exc:  # anything else from the engine or AWS: shown, not lost
            log.exception("could not %s", what)
            self.progress.add_error(f"could not {what}: {exc!r}")
        finally:
            if not self.running:
                self._validate()

    def stop(self) -> None:
        """Ask the run to stop: load ends, endpoints are deleted, results so far are kept.
        A Processing job is stopped; it deletes its endpoints before it ends."""
        if self._handle is not None and not self._handle.done:
            self._handle.stop()
            self.stop_button.disabled = True
            if self._job is not None:
                self.progress.set_status(
                    f"Stopping job {self._job.name}: it deletes its endpoints; the results "
                    "so far are kept..."
                )
            else:
                self.progress.set_status(
                    "Stopping: deleting endpoints; the results so far are kept..."
                )

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the run is over and shown; its ``BenchmarkResult`` (None on timeout).

        A Processing job that ended without results raises ``JobFailed`` with its reason.
        """
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
        if self._config is None:  # an attached job: its config is in its run store
            self._config = handle.result.config
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
            if self._unsubscribe is not None:
                self._unsubscribe()
            try:
                if self._job is not None:
                    self._final_job_poll()
                try:
                    result = handle.wait()
                except RunFailed as exc:  # a job that ended without results
                    result = None
                    self.progress.add_error(str(exc))
                    self.progress.set_status(f"Job {self._job.name if self._job else ''}: {exc}")
                self._final = result
                self._pick = _NOT_RERANKED
                if result is not None:
                    self._show_result(result)
            finally:  # whatever failed to show, the run is over: never stuck "running"
                try:
                    self._set_running(False)
                finally:
                    self._finalized.set()
                    if self._refresher is not None:
                        self._refresher.stop(timeout=0)

    def _final_job_poll(self) -> None:
        """The job monitor's last refresh: the final status, elapsed time and log lines."""
        try:
            self._poll_job()
        except Exception as exc:  # shown; the result is still shown below
            self._report_error(exc)

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
        overhead = getattr(result, "client_overhead", None)
        warning = f" Warning: {overhead.warning}" if overhead and overhead.distorting else ""
        self.progress.set_status(
            f"Run {result.run_id} {result.status}{emulated}: {len(result.invocations):,} "
            f"invocations; {result.recommendation_line()} Results in {result.run_dir}{warning}"
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
        self.job_monitor.hide()

    def _set_running(self, running: bool) -> None:
        parts = (
            self.form,
            self.model_picker,
            self.payloads,
            self.target_chooser,
            self.launch,
            self.job_form,
        )
        for part in (*parts, self.cleanup, self.resume_offer):
            part.set_disabled(running)
        for widget in (
            self.attach_name,
            self.attach_button,
            self.reattach_button,
            self.forget_button,
        ):
            widget.disabled = running
        self.assumed_latency.disabled = running
        self.stop_button.disabled = not running
        self.run_button.disabled = running
        if not running:  # still "running" until the end is shown: check the form directly
            self._show_form_state()
        else:
            self.run_hint.value = ""
