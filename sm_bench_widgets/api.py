"""The public API: ``run_benchmark`` (blocking) and ``start_benchmark`` (a ``RunHandle``).

Every check of the configuration and the payload examples happens before any AWS call;
then the model is looked up, then the run starts in a background thread. Without a
target, AWS is reached as boto3 finds it (region, profile, ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.aws.endpoints import check_model
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.engine.runner import RunFailed, Runner, RunOptions, prepare

if TYPE_CHECKING:
    from sm_bench_widgets.result import BenchmarkResult

__all__ = ["RunFailed", "RunHandle", "RunOptions", "run_benchmark", "start_benchmark"]


class RunHandle:
    """A benchmark running in the background: subscribe to its events, stop it, wait for it.

    ``subscribe(callback)`` replays the run's past events (all but invocation batches,
    whose rows are in ``result``) and then passes each new event; callbacks run in the
    runner's threads and their exceptions never stop the run.
    """

    def __init__(self, runner: Runner):
        self._runner = runner
        self._final: BenchmarkResult | None = None

    def __repr__(self) -> str:
        return f"<RunHandle {self.run_id} {self.status} at {self.run_dir}>"

    @property
    def run_id(self) -> str:
        """The run's short id (also in endpoint names and tags)."""
        return self._runner.run_id

    @property
    def run_dir(self) -> Path:
        """Where the run store keeps this run's files."""
        return self._runner.run_dir

    @property
    def status(self) -> str:
        """running, stopping, completed, stopped or failed."""
        if not self._runner.done.is_set():
            return "stopping" if self._runner.stop_event.is_set() else "running"
        return self._runner.status

    @property
    def error(self) -> BaseException | None:
        """The exception that failed the run, if it failed."""
        return self._runner.error

    @property
    def errors(self) -> list[str]:
        """Every error message reported so far (failed endpoints, trials, cleanup)."""
        return self._runner.errors

    @property
    def done(self) -> bool:
        """True once the run is over and its endpoints are deleted."""
        return self._runner.done.is_set()

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for each event; returns a function to unsubscribe."""
        return self._runner.bus.subscribe(callback)

    def stop(self) -> None:
        """End the load soon (in-flight requests finish), delete endpoints, keep results."""
        self._runner.stop()

    def wait(self, timeout: float | None = None) -> BenchmarkResult | None:
        """The final result once the run is over, or None if ``timeout`` passed first."""
        if not self._runner.wait(timeout):
            return None
        return self.result

    @property
    def result(self) -> BenchmarkResult:
        """The result so far (partial while running; final once done)."""
        from sm_bench_widgets.result import BenchmarkResult

        if self._final is not None:
            return self._final
        runner = self._runner
        done = runner.done.is_set()
        result = BenchmarkResult(
            runner.config,
            runner.invocations(),
            cloudwatch=runner.cloudwatch(),
            run_id=self.run_id,
            run_dir=self.run_dir,
            emulated=runner.emulated,
            status=self.status,
            stop_reasons=runner.stop_reasons,
            started_at=runner.started_at,
            ended_at=runner.ended_at,
            region=runner.region,
            errors=runner.errors,
        )
        if done:
            self._final = result
        return result


def start_benchmark(
    config: BenchmarkConfig, target: Target | None = None, *, options: RunOptions | None = None
) -> RunHandle:
    """Check everything, then start the run in a background thread and return its handle.

    Raises ``ConfigError`` (naming the field) for a bad option, payload file or example,
    or a model that does not exist, before any endpoint is created.
    """
    options = options or RunOptions()
    sampler = prepare(config, options.seed)
    target = target or Target.from_environment()
    check_model(target, config.model_name)
    runner = Runner(config, target, options, sampler)
    runner.start()
    return RunHandle(runner)


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
    handle = start_benchmark(config, target, options=options)
    try:  # from here on, Ctrl-C must stop the run so its endpoints are deleted
        if progress:
            from sm_bench_widgets.engine.progress import ProgressBars

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
