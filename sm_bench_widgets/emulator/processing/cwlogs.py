"""A job host's output lines to CloudWatch Logs, as SageMaker ships a container's output.

Group ``/aws/sagemaker/ProcessingJobs``, stream ``<job>/algo-<i>-<epoch seconds>``; lines
are batched and sent about twice a second by ``flush``, through boto3 at the emulator's URL.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
MAX_BATCH = 1000


def stream_name(job_name: str, host: str, started: float) -> str:
    """The log stream of one host of a job."""
    return f"{job_name}/{host}-{int(started)}"


class LogStream:
    """Collects a host's lines and sends them to its log stream."""

    def __init__(self, logs: Any, stream: str):
        self.logs = logs
        self.stream = stream
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._created = False

    def add(self, line: str) -> None:
        """Queue one line (its trailing newline dropped), stamped now."""
        event = {"timestamp": int(time.time() * 1000), "message": line.rstrip("\r\n")}
        with self._lock:
            self._pending.append(event)

    def flush(self) -> None:
        """Send every queued line."""
        with self._send_lock:
            with self._lock:
                events, self._pending = self._pending, []
            if not events:
                return
            self._ensure_stream()
            for start in range(0, len(events), MAX_BATCH):
                self.logs.put_log_events(
                    logGroupName=LOG_GROUP,
                    logStreamName=self.stream,
                    logEvents=events[start : start + MAX_BATCH],
                )

    def _ensure_stream(self) -> None:
        if self._created:
            return
        with contextlib.suppress(self.logs.exceptions.ResourceAlreadyExistsException):
            self.logs.create_log_group(logGroupName=LOG_GROUP)
        with contextlib.suppress(self.logs.exceptions.ResourceAlreadyExistsException):
            self.logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=self.stream)
        self._created = True
