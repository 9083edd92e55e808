"""The public API: ``run_benchmark`` (blocking), ``start_benchmark`` and ``resume_benchmark``
(a ``RunHandle``), ``check_config`` and ``estimate_benchmark`` (before a run), the
events a handle's subscribers receive, and the housekeeping a face offers: the runs of a
result folder that can be resumed, and this tool's leftover endpoints (listed, deleted).

Every check of the configuration and the payload examples happens before any AWS call;
then the model is looked up, then the run starts in a background thread. Without a
target, AWS is reached as boto3 finds it (region, profile, ``AWS_ENDPOINT_URL``). Faces
(the panel, the CLI) use this module only, as a script does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.aws.endpoints import Leftover, check_model, find_leftover_resources
from sm_bench_widgets.config import BenchmarkConfig, ConfigError
from sm_bench_widgets.engine.deploy import account_quotas, check_quotas
from sm_bench_widgets.engine.events import (
    Event,
    InvocationBatch,
    PhaseStarted,
    RunEnded,
    RunError,
    RunStarted,
    TrialEnded,
    TrialStarted,
)
from sm_bench_widgets.engine.options import (
    RunFailed,
    RunOptions,
    check_config,
    prepare,
    with_region,
)
from sm_bench_widgets.engine.orchestrator import Orchestrator
from sm_bench_widgets.engine.resume import resume_point, runs_again
from sm_bench_widgets.engine.store import RESULTS_DIRNAME, RunInUse, ensure_free, read_json
from sm_bench_widgets.estimate import (
    Estimate,
    JobCost,
    estimate_benchmark,
    estimate_job_cost,
    priced_processing_types,
)
from sm_bench_widgets.jobs.handle import ProcessingJobHandle
from sm_bench_widgets.jobs.options import JobOptions

if TYPE_CHECKING:
    from sm_bench_widgets.result import BenchmarkResult

LAUNCH_MODES = ("thread", "processing-job")

__all__ = [
    "Estimate",
    "Event",
    "InvocationBatch",
    "JobCost",
    "JobOptions",
    "Leftover",
    "PhaseStarted",
    "ProcessingJobHandle",
    "RunEnded",
    "RunError",
    "RunFailed",
    "RunHandle",
    "RunOptions",
    "RunStarted",
    "TrialEnded",
    "TrialStarted",
    "check_config",
    "clean_up_leftovers",
    "estimate_benchmark",
    "estimate_job_cost",
    "interrupted_runs",
    "runs_again",
    "list_leftovers",
    "priced_processing_types",
    "resume_benchmark",
    "run_benchmark",
    "start_benchmark",
]


class RunHandle:
    """A benchmark running in the background: subscribe to its events, stop it, wait for it.

    ``subscribe(callback)`` replays the run's past events (all but invocation batches,
    whose rows are in ``result``) and then passes each new event; callbacks run in the
    engine's threads and their exceptions never stop the run.
    """

    def __init__(self, run: Orchestrator):
        self._run = run
        self._final: BenchmarkResult | None = None

    def __repr__(self) -> str:
        return f"<RunHandle {self.run_id} {self.status} at {self.run_dir}>"

    @property
    def run_id(self) -> str:
        """The run's short id (also in endpoint names and tags)."""
        return self._run.run_id

    @property
    def run_dir(self) -> Path:
        """Where the run store keeps this run's files (``resume_benchmark`` reads them)."""
        return self._run.run_dir

    @property
    def resumed(self) -> str | None:
        """What a resumed run carries on, in one line (None for a new run)."""
        point = self._run.resumed
        return point.describe() if point is not None else None

    @property
    def status(self) -> str:
        """running, stopping, completed, stopped or failed."""
        if not self._run.done.is_set():
            return "stopping" if self._run.stop_event.is_set() else "running"
        return self._run.status

    @property
    def error(self) -> BaseException | None:
        """The exception that failed the run, if it failed."""
        return self._run.error

    @property
    def errors(self) -> list[str]:
        """Every error message reported so far (failed endpoints, trials, cleanup)."""
        return self._run.errors

    @property
    def done(self) -> bool:
        """True once the run is over and its endpoints are deleted."""
        return self._run.done.is_set()

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for each event; returns a function to unsubscribe."""
        return self._run.bus.subscribe(callback)

    def stop(self) -> None:
        """End the load soon (in-flight requests finish), delete endpoints, keep results."""
        self._run.stop()

    def wait(self, timeout: float | None = None) -> BenchmarkResult | None:
        """The final result once the run is over, or None if ``timeout`` passed first."""
        if not self._run.wait(timeout):
            return None
        return self.result

    @property
    def result(self) -> BenchmarkResult:
        """The result so far (partial while running; final once done)."""
        from sm_bench_widgets.result import BenchmarkResult

        if self._final is not None:
            return self._final
        run = self._run
        done = run.done.is_set()
        result = BenchmarkResult(
            run.config,
            run.invocations(),
            cloudwatch=run.cloudwatch(),
            run_id=self.run_id,
            run_dir=self.run_dir,
            emulated=run.emulated,
            status=self.status,
            stop_reasons=run.stop_reasons,
            started_at=run.started_at,
            ended_at=run.ended_at,
            region=run.region,
            errors=run.errors,
            time_scale=run.time_scale,
            account_concurrency_quota=run.account_concurrency_quota,
        )
        if done:
            self._final = result
        return result


def start_benchmark(
    config: BenchmarkConfig,
    target: Target | None = None,
    *,
    options: RunOptions | None = None,
    launch: str = "thread",
    job: JobOptions | None = None,
) -> RunHandle | ProcessingJobHandle:
    """Check everything, then start the run and return its handle.

    ``launch="thread"`` runs it in a background thread of this process (a ``RunHandle``);
    ``launch="processing-job"`` runs it as a SageMaker Processing job configured by ``job``
    (a ``ProcessingJobHandle``; needs the sagemaker SDK, ``pip install
    'sm-bench-widgets[jobs]'``). Raises ``ConfigError`` (naming the field) for a bad
    option, payload file or example, or a model that does not exist, before any endpoint
    or job is created.
    """
    if launch not in LAUNCH_MODES:
        raise ConfigError("launch", launch, " or ".join(LAUNCH_MODES))
    if launch == "processing-job":
        if options is not None:
            raise ConfigError("options", options, "None for a Processing job (it sets its own)")
        from sm_bench_widgets.jobs.launcher import launch_job

        return launch_job(config, target, job)
    if job is not None:
        raise ConfigError("job", job, 'None unless launch="processing-job"')
    options = options or RunOptions()
    sampler = prepare(config, options.seed)
    target = with_region(config, target or Target.from_environment())
    check_model(target, config.model_name)
    check_quotas(account_quotas(target, config), config)
    run = Orchestrator(config, target, options, sampler)
    run.start()
    return RunHandle(run)


def resume_benchmark(
    run_dir: str | os.PathLike[str],
    target: Target | None = None,
    *,
    options: RunOptions | None = None,
) -> RunHandle:
    """Carry on a run from its run directory: one that was stopped, failed or killed, or
    one that completed with trials that failed.

    Endpoints the earlier process left live are deleted first; trials that ended for a
    reason of their own keep their results, the others run again on fresh endpoints with
    the invocations already stored counted towards their budget, and the phases that
    follow them (concurrency, the open-loop check and the idle probe of a traffic-aware
    run) run what they had not finished. Of a completed run, only the trials that failed
    for a reason a retry may cure run again: an exception in the trial, an endpoint that
    could not be created or started, a quota hit; not an endpoint whose model did not fit
    its memory size, and not trials stopped by racing, precision or the user. The run keeps
    its id and directory. Raises ``ConfigError`` for a directory that cannot be resumed
    (none, or a completed run with no such trial: its results are final) and ``RunInUse``
    while another process still runs it.
    """
    point = resume_point(run_dir)
    target = target or Target.from_environment()
    check_model(target, point.config.model_name)
    check_quotas(account_quotas(target, point.config), point.config)
    run = Orchestrator.resume(point, target, options)
    run.start()
    return RunHandle(run)


def run_benchmark(
    config: BenchmarkConfig,
    target: Target | None = None,
    progress: bool = True,
    *,
    options: RunOptions | None = None,
) -> BenchmarkResult:
    """Run a benchmark to the end and return its result (``progress``: tqdm bars).

    Ctrl-C stops the run, deletes its endpoints (results so far stay in the run
    directory) and raises ``KeyboardInterrupt``. A run that fails raises ``RunFailed``.
    """
    return follow(start_benchmark(config, target, options=options), progress)


def follow(handle: RunHandle, progress: bool = True) -> BenchmarkResult:
    """Wait for ``handle``'s run in the foreground (``progress``: tqdm bars) and return its
    result; Ctrl-C stops it and deletes its endpoints, a failed run raises ``RunFailed``."""
    try:  # from here on, Ctrl-C must stop the run so its endpoints are deleted
        if progress:
            from sm_bench_widgets.progress import ProgressBars

            handle.subscribe(ProgressBars())
        while not handle.done:  # short waits keep the main thread responsive to Ctrl-C
            handle.wait(0.5)
    except KeyboardInterrupt:
        handle.stop()
        print(f"stopping: deleting endpoints of run {handle.run_id}...", file=sys.stderr)
        while not handle.done:
            try:
                handle.wait(0.5)
            except KeyboardInterrupt:
                print("still deleting endpoints; please wait", file=sys.stderr)
        print(f"stopped; results so far are in {handle.run_dir}", file=sys.stderr)
        raise
    if handle.status == "failed":
        error = handle.error
        message = f"benchmark run {handle.run_id} failed: {error}"
        raise RunFailed(message) from error
    return handle.result


def interrupted_runs(result_save_path: str | os.PathLike[str]) -> list[Path]:
    """Run directories under ``result_save_path`` that ``resume_benchmark`` can carry on:
    stopped, failed or killed, or completed with trials that failed for a reason a retry
    may cure, and held by no live process; newest first."""
    runs = []
    for run_dir in (Path(result_save_path).absolute() / RESULTS_DIRNAME).glob("*/"):
        status = read_json(run_dir / "status.json")
        if not (run_dir / "config.json").is_file() or status.get("status") is None:
            continue
        if status.get("status") == "completed" and not runs_again(run_dir):
            continue
        try:
            ensure_free(run_dir)
        except (RunInUse, OSError):  # still running here or elsewhere, or unreadable
            continue
        runs.append((float(status.get("updated") or 0.0), run_dir))
    return [run_dir for _, run_dir in sorted(runs, reverse=True)]


def run_status(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """What a run directory's ``status.json`` says (status, invocations stored, last update);
    empty when it has none yet."""
    return read_json(Path(run_dir) / "status.json")


def list_leftovers(target: Target | None = None, run_id: str | None = None) -> list[Leftover]:
    """This tool's endpoints and endpoint configs in the account (of run ``run_id`` only,
    when given), found by the tool's tag alone: the dry run of ``clean_up_leftovers``.
    Includes the endpoints of runs still going on."""
    return find_leftover_resources(target or Target.from_environment(), run_id)


def clean_up_leftovers(
    target: Target | None = None,
    *,
    run_id: str | None = None,
    only: Collection[str] | None = None,
    out: Callable[[str], None] = print,
) -> list[str]:
    """Delete this tool's leftover endpoints and endpoint configs, found by tag (with
    ``only``, just those names, e.g. a list the user confirmed); the names deleted.
    Untagged and foreign resources are never touched; failures raise ``CleanupError``
    after the rest were tried."""
    from sm_bench_widgets.aws.cleanup import sweep

    return sweep(target or Target.from_environment(), run_id=run_id, out=out, only=only)
