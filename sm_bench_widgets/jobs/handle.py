"""``ProcessingJobHandle``: follow a benchmark that runs as a SageMaker Processing job.

Everything it needs is in the job's description and in S3, so ``attach(job_name)`` works
from a new kernel or another machine. The run store the job streams to S3 (Continuous
upload) is mirrored into a local cache folder; ``progress()``, ``result()`` and
``subscribe()`` read that mirror, so they see a partial run while the job goes on.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.engine.events import RunEnded
from sm_bench_widgets.engine.options import RunFailed
from sm_bench_widgets.engine.store import RESULTS_DIRNAME, StreamTail, load_run, store_folders
from sm_bench_widgets.jobs import s3 as s3paths
from sm_bench_widgets.jobs.stream import RunFollower

if TYPE_CHECKING:
    from sm_bench_widgets.result import BenchmarkResult

RESULTS_OUTPUT = "results"
LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
TERMINAL = ("Completed", "Failed", "Stopped")
# a job's status as a run's status (RunEnded, BenchmarkResult)
RUN_STATUS = {"Completed": "completed", "Stopped": "stopped", "Failed": "failed"}
POLL_SECONDS = 3.0


class JobFailed(RunFailed):
    """The Processing job ended without results; the message carries its FailureReason."""


def default_cache_dir() -> Path:
    """Where job results are mirrored: ``$XDG_CACHE_HOME/sm-bench-widgets/jobs``."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "sm-bench-widgets" / "jobs"


class ProcessingJobHandle:
    """A benchmark running as a Processing job: its status, logs, progress and result."""

    def __init__(
        self,
        job_name: str,
        results_uri: str,
        target: Target | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        poll_seconds: float = POLL_SECONDS,
    ):
        self.name = job_name
        self.results_uri = results_uri.rstrip("/") + "/"
        self.target = target or Target.from_environment()
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.poll_seconds = poll_seconds
        self._run_id: str | None = None
        self._mirror: s3paths.Mirror | None = None
        self._final: dict[str, Any] | None = None
        self._lock = threading.Lock()  # one mirror, whichever thread finds the run first
        # progress(): each stream read on from where the last look stopped
        self._progress_lock = threading.Lock()
        self._progress_tails: dict[Path, tuple[StreamTail, StreamTail]] = {}
        self._counts: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"<ProcessingJobHandle {self.name} {self.status()}>"

    @classmethod
    def attach(
        cls,
        job_name: str,
        target: Target | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> ProcessingJobHandle:
        """The handle of an existing job, from its description alone."""
        target = target or Target.from_environment()
        job = target.client("sagemaker").describe_processing_job(ProcessingJobName=job_name)
        outputs = job.get("ProcessingOutputConfig", {}).get("Outputs", [])
        uris = [o["S3Output"]["S3Uri"] for o in outputs if o.get("OutputName") == RESULTS_OUTPUT]
        if not uris:
            raise ValueError(f"{job_name} is not an sm-bench job: it has no results output")
        return cls(job_name, uris[0], target, cache_dir)

    # -- the job ----------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """DescribeProcessingJob's answer (kept once the job is over)."""
        if self._final is not None:
            return self._final
        job = self.target.client("sagemaker").describe_processing_job(ProcessingJobName=self.name)
        if job.get("ProcessingJobStatus") in TERMINAL:
            self._final = job
        return job

    def status(self) -> str:
        """InProgress, Stopping, Completed, Failed or Stopped (SageMaker's words)."""
        return str(self.describe()["ProcessingJobStatus"])

    @property
    def failure_reason(self) -> str | None:
        """Why the job failed, as SageMaker says."""
        return self.describe().get("FailureReason")

    @property
    def done(self) -> bool:
        """True once the job is Completed, Failed or Stopped."""
        return self.status() in TERMINAL

    def stop(self) -> None:
        """Stop the job; it stops its benchmark and deletes its endpoints before it ends."""
        try:
            self.target.client("sagemaker").stop_processing_job(ProcessingJobName=self.name)
        except ClientError:
            if self.status() not in TERMINAL:  # already over: nothing to stop
                raise

    def wait(self, timeout: float | None = None) -> BenchmarkResult | None:
        """The result once the job is over, or None if ``timeout`` seconds pass first.

        Raises ``JobFailed`` with the job's FailureReason if it ended without results.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            pause = self.poll_seconds
            if deadline is not None:
                pause = min(pause, max(0.0, deadline - time.monotonic()))
            time.sleep(pause)
        if self._run_folder() is None:
            reason = self.failure_reason or "it wrote no results"
            raise JobFailed(f"job {self.name} {self.status()}: {reason}")
        return self.result()

    def logs(self, tail: int | None = 50) -> list[str]:
        """The job's CloudWatch log lines (the last ``tail``, or all), oldest first."""
        client = self.target.client("logs")
        events: list[tuple[int, str]] = []
        try:
            paginator = client.get_paginator("describe_log_streams")
            streams = [
                s["logStreamName"]
                for page in paginator.paginate(
                    logGroupName=LOG_GROUP, logStreamNamePrefix=f"{self.name}/"
                )
                for s in page.get("logStreams", [])
            ]
            for stream in streams:
                events += _stream_events(client, stream, tail)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return []
            raise
        lines = [message.rstrip("\n") for _, message in sorted(events, key=lambda e: e[0])]
        return lines if tail is None else lines[-tail:]

    # -- its results --------------------------------------------------------------------------
    def _run_folder(self) -> str | None:
        """The run id, once the job has written its run store."""
        with self._lock:
            if self._run_id is None:
                s3 = self.target.client("s3")
                runs = s3paths.child_folders(s3, s3paths.join(self.results_uri, RESULTS_DIRNAME))
                if runs:
                    folder = self.cache_dir / self.name / runs[0]
                    uri = s3paths.join(self.results_uri, RESULTS_DIRNAME, runs[0])
                    self._mirror = s3paths.Mirror(s3, uri, folder)
                    self._run_id = runs[0]
            return self._run_id

    @property
    def run_id(self) -> str | None:
        """The benchmark run's id, once the job has started it."""
        return self._run_folder()

    @property
    def run_dir(self) -> Path | None:
        """The local mirror of the job's run store (``BenchmarkResult.load`` reads it)."""
        return self._mirror.folder if self._run_folder() and self._mirror else None

    def sync(self) -> Path | None:
        """Bring the local mirror up to date with S3; the run directory, if any yet."""
        if self._run_folder() is None or self._mirror is None:
            return None
        self._mirror.sync()
        return self._mirror.folder

    def progress(self) -> dict[str, int]:
        """Invocations stored so far per trial (planned trials with none show 0); each call
        reads only what the mirror gained since the last."""
        run_dir = self.sync()
        if run_dir is None:
            return {}
        with self._progress_lock:
            counts = self._counts
            for folder in store_folders(run_dir):
                if folder not in self._progress_tails:
                    tails = (StreamTail(folder, "trials"), StreamTail(folder, "invocations"))
                    self._progress_tails[folder] = tails
                trials, invocations = self._progress_tails[folder]
                for record in trials.read():
                    if record.get("event") == "planned":
                        counts.setdefault(str(record["trial_id"]), 0)
                for batch in invocations.batches():
                    for row in batch:
                        trial_id = str(row.get("trial_id"))
                        counts[trial_id] = counts.get(trial_id, 0) + 1
            return dict(counts)

    def result(self) -> BenchmarkResult:
        """The job's ``BenchmarkResult`` so far (partial while it runs)."""
        from sm_bench_widgets.result import BenchmarkResult

        run_dir = self.sync()
        if run_dir is None or not (store_folders(run_dir)[0] / "config.json").exists():
            raise RunFailed(f"job {self.name} ({self.status()}) has written no results yet")
        result = BenchmarkResult.load(run_dir)
        if result.status == "running" and self.done:  # killed before it could say how it ended
            result.status = RUN_STATUS.get(self.status(), "failed")
        return result

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for the run's events as they reach S3 (polled every
        ``poll_seconds``), ending with ``RunEnded``; returns a function to unsubscribe."""
        stopped = threading.Event()
        thread = threading.Thread(
            target=self._publish, args=(callback, stopped), name=f"follow-{self.name}", daemon=True
        )
        thread.start()
        return stopped.set

    def _publish(self, callback: Callable[[Any], None], stopped: threading.Event) -> None:
        follower: RunFollower | None = None
        while not stopped.is_set():
            over = self.done  # before the sync, so the last sync sees the final files
            run_dir = self.sync()
            if run_dir is not None:
                follower = follower or RunFollower(run_dir)
                for event in follower.events():
                    _deliver(callback, event)
            if over:
                status = load_run(run_dir).status.get("status") if run_dir else None
                if status in (None, "running"):
                    status = RUN_STATUS.get(self.status(), "failed")
                _deliver(callback, RunEnded(status, str(run_dir or "")))
                return
            stopped.wait(self.poll_seconds)


def _deliver(callback: Callable[[Any], None], event: Any) -> None:
    try:
        callback(event)
    except Exception:  # a subscriber's error never stops the others
        import logging

        logging.getLogger(__name__).exception("subscriber failed on %r", type(event).__name__)


def _stream_events(client: Any, stream: str, tail: int | None) -> list[tuple[int, str]]:
    """(timestamp, message) of one log stream: its last ``tail`` events, or all."""
    kwargs: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": stream}
    if tail is not None:
        answer = client.get_log_events(startFromHead=False, limit=max(tail, 1), **kwargs)
        return [(e["timestamp"], e["message"]) for e in answer.get("events", [])]
    events, token = [], None
    while True:
        page = client.get_log_events(
            startFromHead=True, **kwargs, **({"nextToken": token} if token else {})
        )
        events += [(e["timestamp"], e["message"]) for e in page.get("events", [])]
        if not page.get("events") or page.get("nextForwardToken") == token:
            return events
        token = page.get("nextForwardToken")
