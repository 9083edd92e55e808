"""One local Processing job from start to end, and its status as SageMaker reports it.

A job's thread prepares every host (inputs, resourceconfig.json), starts the hosts'
processes, ships their output to CloudWatch Logs, uploads Continuous outputs about once a
second, enforces MaxRuntimeInSeconds and StopProcessingJob (SIGTERM, then SIGKILL after a
grace period), uploads every output at the end and removes the job's folder. The thread
that starts the processes lives until they end, so a process never outlives the emulator
(see ``guard.py``).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from sm_bench_widgets.emulator.processing import host as hosts
from sm_bench_widgets.emulator.processing.cwlogs import LogStream, stream_name
from sm_bench_widgets.emulator.processing.s3sync import (
    InputError,
    OutputSync,
    download_input,
    input_keys,
)

TICK_S = 0.1
LOG_FLUSH_S = 0.5
UPLOAD_S = 1.0
MAX_REASON = 1024
TERMINAL = ("Completed", "Failed", "Stopped")


def _now() -> datetime:
    return datetime.now(UTC)


def _quietly(*calls: Any) -> None:
    """Make each call; a failure is left for the next pass (the end's pass reports it)."""
    for call in calls:
        with contextlib.suppress(Exception):  # retried on the next tick
            call()


class JobRun:
    """A Processing job running on this machine: one process per host."""

    def __init__(
        self,
        request: dict[str, Any],
        arn: str,
        region: str,
        endpoint_url: str,
        stop_grace_s: float,
    ):
        self.request = request
        self.name: str = request["ProcessingJobName"]
        self.arn = arn
        self.region = region
        self.endpoint_url = endpoint_url
        self.stop_grace_s = stop_grace_s
        self.creation_time = _now()
        self.last_modified_time = self.creation_time
        self.start_time: datetime | None = None
        self.end_time: datetime | None = None
        self.status = "InProgress"
        self.failure_reason: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._closing = False
        self._folder: Path | None = None
        self._thread = threading.Thread(target=self._run, name=f"sm-bench-job-{self.name}")
        self._thread.daemon = True

    # -- control -----------------------------------------------------------------------
    def start(self) -> None:
        """Start the job's thread."""
        self._thread.start()

    def stop(self) -> bool:
        """StopProcessingJob: Stopping now, Stopped once every host ended; False if not running."""
        with self._lock:
            if self.status != "InProgress":
                return False
            self._set_status("Stopping")
        self._stop.set()
        return True

    def close(self, timeout: float = 10) -> None:
        """End the job now (the emulator stops): stop its processes and remove its folder."""
        self._closing = True
        self.stop()
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._remove_folder()

    @property
    def finished(self) -> bool:
        """Whether the job reached a terminal status."""
        return self.status in TERMINAL

    # -- what Describe and List show -----------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Status fields, as DescribeProcessingJob names them (only those set)."""
        with self._lock:
            out: dict[str, Any] = {
                "ProcessingJobStatus": self.status,
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified_time,
            }
            if self.failure_reason is not None:
                out["FailureReason"] = self.failure_reason
            if self.start_time is not None:
                out["ProcessingStartTime"] = self.start_time
            if self.end_time is not None:
                out["ProcessingEndTime"] = self.end_time
            return out

    def _set_status(self, status: str, reason: str | None = None) -> None:
        self.status = status
        if reason is not None:
            self.failure_reason = reason[:MAX_REASON]
        self.last_modified_time = _now()
        if status in TERMINAL:
            self.end_time = self.last_modified_time

    def _end(self, status: str, reason: str | None = None) -> None:
        with self._lock:
            self._set_status(status, reason)

    # -- the job's thread ---------------------------------------------------------------------
    def _client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="emulated",
            aws_secret_access_key="emulated",
            config=Config(retries={"total_max_attempts": 2}, max_pool_connections=4),
        )

    def _run(self) -> None:
        try:
            self._folder = Path(tempfile.mkdtemp(prefix=f"sm-bench-job-{self.name}-"))
            self._execute(self._folder)
        except InputError as exc:
            self._end("Failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - any fault ends the job, as on AWS
            if not self.finished:
                self._end("Failed", f"InternalServerError: the local job runner failed: {exc!r}")
        finally:
            self._remove_folder()

    def _execute(self, folder: Path) -> None:
        s3, logs = self._client("s3"), self._client("logs")
        cluster = self.request["ProcessingResources"]["ClusterConfig"]
        names = hosts.host_names(int(cluster["InstanceCount"]))
        with self._lock:
            self.start_time = _now()
            self.last_modified_time = self.start_time
        roots = {name: folder / name for name in names}
        for name in names:
            hosts.write_resource_config(roots[name], name, names)
        self._download_inputs(s3, names, roots)
        if self._stop.is_set():
            self._end("Stopped")
            return
        app = self.request["AppSpecification"]
        env_base = self.request.get("Environment") or {}
        streams: dict[str, LogStream] = {}
        running: list[hosts.HostProcess] = []
        syncs: list[OutputSync] = []
        started = time.time()
        outputs = (self.request.get("ProcessingOutputConfig") or {}).get("Outputs", [])
        try:
            for name in names:
                root = roots[name]
                stream = LogStream(logs, stream_name(self.name, name, started))
                streams[name] = stream
                env = hosts.environment(env_base, root, self.endpoint_url, self.region)
                argv = hosts.command(app, root)
                running.append(hosts.HostProcess(name, root, argv, env, stream.add, folder))
                syncs += [
                    OutputSync(
                        s3,
                        hosts.local_path(root, output["S3Output"]["LocalPath"]),
                        output["S3Output"]["S3Uri"],
                        output["S3Output"].get("S3UploadMode") == "Continuous",
                    )
                    for output in outputs
                ]
            timed_out = self._supervise(running, streams, syncs)
        finally:
            for proc in running:
                proc.terminate()
                proc.kill_all()
            codes = {proc.name: proc.finish() for proc in running}
        if self._closing:
            return
        _quietly(*(stream.flush for stream in streams.values()))
        try:
            for sync in syncs:
                sync.sync()
        except Exception as exc:  # noqa: BLE001 - the upload's failure is the job's
            self._end("Failed", f"ClientError: failed to upload the job's outputs: {exc}")
            return
        self._end(*self._outcome(running, codes, timed_out))

    def _download_inputs(self, s3: Any, names: list[str], roots: dict[str, Path]) -> None:
        for item in self.request.get("ProcessingInputs") or []:
            s3_input = item["S3Input"]
            keys = input_keys(s3, s3_input["S3Uri"])
            sharded = s3_input.get("S3DataDistributionType") == "ShardedByS3Key"
            for i, name in enumerate(names):
                mine = keys[i :: len(names)] if sharded else keys
                local = hosts.local_path(roots[name], s3_input["LocalPath"])
                download_input(s3, s3_input["S3Uri"], mine, local)
                if self._stop.is_set():
                    return

    def _supervise(
        self,
        running: list[hosts.HostProcess],
        streams: dict[str, LogStream],
        syncs: list[OutputSync],
    ) -> bool:
        """Wait for every host to end, stopping them when asked or out of time.

        Returns whether MaxRuntimeInSeconds ended the job.
        """
        limit = (self.request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        deadline = time.monotonic() + float(limit) if limit else None
        kill_at: float | None = None
        timed_out = False
        last_flush = last_upload = time.monotonic()
        while any(proc.returncode is None for proc in running):
            self._stop.wait(TICK_S)
            now = time.monotonic()
            if deadline is not None and now >= deadline and kill_at is None:
                timed_out = True
                self._stop.set()
            if self._stop.is_set() and kill_at is None:
                grace = min(self.stop_grace_s, 2.0) if self._closing else self.stop_grace_s
                kill_at = now + grace
                for proc in running:
                    proc.terminate()
            if kill_at is not None and now >= kill_at:
                for proc in running:
                    proc.kill_all()
            if self._closing:
                continue
            if now - last_flush >= LOG_FLUSH_S:
                last_flush = now
                _quietly(*(stream.flush for stream in streams.values()))
            if now - last_upload >= UPLOAD_S:
                last_upload = now
                _quietly(*(sync.sync for sync in syncs if sync.continuous))
        return timed_out

    def _outcome(
        self, running: list[hosts.HostProcess], codes: dict[str, int], timed_out: bool
    ) -> tuple[str, str | None]:
        if timed_out:
            limit = self.request["StoppingCondition"]["MaxRuntimeInSeconds"]
            return "Stopped", f"The job ran longer than MaxRuntimeInSeconds ({limit} s)."
        if self._stop.is_set():
            return "Stopped", None
        failed = [proc for proc in running if codes[proc.name] != 0]
        if not failed:
            return "Completed", None
        proc = failed[0]
        head = (
            f"AlgorithmError: the process of host {proc.name} exited with code {codes[proc.name]}"
        )
        tail = "\n".join(proc.stderr_tail)
        if not tail:
            return "Failed", head + "."
        head += ". Last lines of its standard error:\n"
        return "Failed", head + tail[-(MAX_REASON - len(head)) :]

    def _remove_folder(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
