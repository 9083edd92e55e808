"""Run a user's SageMaker inference script in its own worker process, with measured memory.

One ``HandlerWorker`` is one serverless instance of a handler model: ``start`` launches a
fresh Python process (``handler_worker.py``), which imports the script and runs
``model_fn``; ``setup_seconds`` is that real cold start. Requests travel over the worker's
stdin/stdout pipes as length-prefixed frames, so bodies of any size up to the 4 MB service
limit (and beyond) pass unchanged.

Memory limit: enforced by measuring, not by an address-space rlimit. ``RLIMIT_AS`` counts
virtual memory, which numpy, BLAS thread pools and glibc arenas reserve generously without
using, so it fails healthy models at random; what a serverless container is billed and
killed for is resident memory. A watcher thread samples the worker's RSS with psutil (every
10 ms while it starts or serves, every 100 ms while idle) and kills the worker's whole
process group once RSS exceeds the limit; in addition the worker reports its kernel-kept peak
RSS (Linux ``VmHWM``, reset before each request) after ``model_fn`` and after every request,
so a spike shorter than the sampling interval is still caught. Exceeding the limit during
start raises ``HandlerStartError(out_of_memory=True)``; during a request it raises
``HandlerOutOfMemory``; either way the worker is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Any

import psutil

from sm_bench_widgets.emulator.handler_worker import read_frame, write_frame
from sm_bench_widgets.limits import INVOCATION_TIMEOUT_S

WORKER_SCRIPT = Path(__file__).with_name("handler_worker.py")

_MIB = 1024 * 1024
_BUSY_POLL_S = 0.01
_IDLE_POLL_S = 0.1
_STDERR_TAIL = 50

log = logging.getLogger("sm_bench_widgets.emulator.worker")


class HandlerStartError(Exception):
    """The worker could not load the model (import error, model_fn raised, too little memory)."""

    def __init__(self, message: str, out_of_memory: bool = False) -> None:
        """Keep the message and whether memory was the cause."""
        super().__init__(message)
        self.message = message
        self.out_of_memory = out_of_memory


class HandlerInvokeError(Exception):
    """The user's handler raised (or the worker crashed) while serving a request."""

    def __init__(self, message: str, status_code: int = 500, traceback: str = "") -> None:
        """Keep the one-line message, the HTTP status and the worker-side traceback."""
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.traceback = traceback


class HandlerTimeout(Exception):
    """A request ran past its timeout; the worker was killed."""


class HandlerOutOfMemory(Exception):
    """The worker went over its memory limit while serving; it was killed."""

    def __init__(self, message: str, peak_mb: float) -> None:
        """Keep the message and the measured peak in MiB."""
        super().__init__(message)
        self.message = message
        self.peak_mb = peak_mb


_LIVE: set[HandlerWorker] = set()
_LIVE_LOCK = threading.Lock()


def _kill_all_at_exit() -> None:
    with _LIVE_LOCK:
        workers = list(_LIVE)
    for worker in workers:
        worker.close()


atexit.register(_kill_all_at_exit)


def _local_dir(source_dir: str | os.PathLike[str]) -> str:
    """A local directory path from a path or ``file://`` URL."""
    text = os.fspath(source_dir)
    if text.startswith("file://"):
        text = text[len("file://") :]
    return os.path.abspath(text)


class HandlerWorker:
    """One worker process hosting one inference script; one request at a time.

    ``setup_seconds``: wall time from process launch to model loaded (the real cold start).
    ``footprint_mb``: the worker's RSS right after ``model_fn``. ``peak_mb``: the highest RSS
    seen so far (loading and serving). Sizes are MiB, as SageMaker's memory sizes are.
    """

    setup_seconds: float
    footprint_mb: float
    peak_mb: float

    def __init__(self, proc: subprocess.Popen[bytes], memory_limit_mb: int) -> None:
        """Wrap a launched worker process; use ``HandlerWorker.start`` instead."""
        self._proc = proc
        self._pid = proc.pid
        self.memory_limit_mb = memory_limit_mb
        self.setup_seconds = 0.0
        self.footprint_mb = 0.0
        self.peak_mb = 0.0
        self._lock = threading.Lock()
        self._frames: queue.Queue[tuple[dict[str, Any], bytes] | None] = queue.Queue()
        self._stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL)
        self._busy = True
        self._closed = False
        self._oom_mb: float | None = None
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._threads = [
            threading.Thread(target=self._read_frames, name=f"worker-{proc.pid}-out", daemon=True),
            threading.Thread(target=self._read_stderr, name=f"worker-{proc.pid}-err", daemon=True),
            threading.Thread(target=self._watch_memory, name=f"worker-{proc.pid}-mem", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @classmethod
    def start(
        cls,
        source_dir: str,
        program: str = "inference.py",
        memory_limit_mb: int = 1024,
        env: dict[str, str] | None = None,
        start_timeout_s: float = 600,
    ) -> HandlerWorker:
        """Launch a worker, import the script and run model_fn; return once it can serve."""
        source = _local_dir(source_dir)
        if not os.path.isdir(source):
            raise HandlerStartError(f"source directory {source!r} does not exist")
        if not os.path.isfile(os.path.join(source, program)):
            raise HandlerStartError(f"program {program!r} not found in {source!r}")
        if memory_limit_mb <= 0:
            raise ValueError(f"memory_limit_mb must be positive, got {memory_limit_mb!r}")
        overrides = dict(env or {})
        model_dir = _local_dir(overrides.get("SM_MODEL_DIR") or source)
        child_env = {
            **os.environ,
            **overrides,
            "SM_MODEL_DIR": model_dir,
            "SAGEMAKER_PROGRAM": program,
            "SAGEMAKER_SUBMIT_DIRECTORY": source,
        }
        started = time.perf_counter()
        try:
            proc = subprocess.Popen(
                [sys.executable, str(WORKER_SCRIPT), source, program, model_dir],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=child_env,
                cwd=source,
                start_new_session=os.name == "posix",
            )
        except OSError as exc:
            raise HandlerStartError(f"could not start the model worker: {exc}") from exc
        worker = cls(proc, memory_limit_mb)
        with _LIVE_LOCK:
            _LIVE.add(worker)
        try:
            worker._await_ready(start_timeout_s)
        except BaseException:
            worker.close()
            raise
        worker.setup_seconds = time.perf_counter() - started
        return worker

    @property
    def alive(self) -> bool:
        """True while the worker process runs and has not been closed."""
        return not self._closed and self._proc.poll() is None

    @property
    def pid(self) -> int:
        """The worker's OS process id."""
        return self._pid

    @property
    def stderr_tail(self) -> list[str]:
        """The last lines the worker (and the user's code) wrote to stdout/stderr."""
        return list(self._stderr_tail)

    def invoke(
        self, body: bytes, content_type: str, accept: str, timeout_s: float = INVOCATION_TIMEOUT_S
    ) -> tuple[bytes, str]:
        """Serve one request; returns (response body, response content type)."""
        with self._lock:
            if not self.alive:
                if self._oom_mb is not None:
                    self._raise_if_over_memory(None, during_start=False)
                raise HandlerInvokeError("the model worker is not running", 500)
            deadline = time.monotonic() + timeout_s
            self._set_busy(True)
            try:
                frame = self._send_and_wait(body, content_type, accept, deadline)
            finally:
                self._set_busy(False)
            if frame is _TIMED_OUT:
                self._kill()
                raise HandlerTimeout(f"the model did not answer within {timeout_s:g} s")
            self._raise_if_over_memory(frame, during_start=False)
            if frame is None:
                self._kill()
                raise HandlerInvokeError(self._exit_message("while serving a request"), 500)
            meta, response = frame
            if meta.get("kind") == "error":
                raise HandlerInvokeError(
                    meta.get("message") or "the handler raised",
                    int(meta.get("status_code") or 500),
                    meta.get("traceback") or "",
                )
            return response, str(meta.get("content_type") or accept)

    def close(self) -> None:
        """Kill the worker process (and anything it started) and release its pipes."""
        self._closed = True
        self._stopped.set()
        self._wake.set()
        self._kill()
        streams = [(self._proc.stdin, None)]
        streams += [(self._proc.stdout, self._threads[0]), (self._proc.stderr, self._threads[1])]
        for stream, reader in streams:
            if reader is not None and reader is not threading.current_thread():
                reader.join(timeout=1)
            if stream is None or (reader is not None and reader.is_alive()):
                continue  # a reader still blocked on it would deadlock close()
            with contextlib.suppress(OSError):
                stream.close()
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def __enter__(self) -> HandlerWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _await_ready(self, timeout_s: float) -> None:
        try:
            frame = self._frames.get(timeout=timeout_s)
        except queue.Empty:
            self._kill()
            raise HandlerStartError(f"the model did not load within {timeout_s:g} s") from None
        self._raise_if_over_memory(frame, during_start=True)
        if frame is None:
            raise HandlerStartError(self._exit_message("while loading the model"))
        meta, _ = frame
        if meta.get("kind") != "ready":
            raise HandlerStartError(meta.get("message") or "model_fn failed")
        try:
            self.footprint_mb = psutil.Process(self._pid).memory_info().rss / _MIB
        except psutil.Error:
            raise HandlerStartError(self._exit_message("right after loading the model")) from None
        self.peak_mb = max(self.peak_mb, self.footprint_mb)
        self._raise_if_over_memory(frame, during_start=True)
        self._set_busy(False)

    def _send_and_wait(
        self, body: bytes, content_type: str, accept: str, deadline: float
    ) -> tuple[dict[str, Any], bytes] | None | object:
        stdin = self._proc.stdin
        try:
            assert stdin is not None
            write_frame(
                stdin, {"kind": "invoke", "content_type": content_type, "accept": accept}, body
            )
        except (OSError, ValueError):
            pass  # the worker is gone; its end-of-stream marker is (or soon will be) queued
        try:
            return self._frames.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return _TIMED_OUT

    def _raise_if_over_memory(
        self, frame: tuple[dict[str, Any], bytes] | None, during_start: bool
    ) -> None:
        reported = frame[0].get("peak_mb") if frame is not None else None
        if isinstance(reported, int | float):
            self.peak_mb = max(self.peak_mb, float(reported))
            if reported > self.memory_limit_mb and self._oom_mb is None:
                self._oom_mb = float(reported)
        if self.footprint_mb > self.memory_limit_mb and self._oom_mb is None:
            self._oom_mb = self.footprint_mb
        if self._oom_mb is None:
            return
        self._kill()
        used = self._oom_mb
        if during_start:
            raise HandlerStartError(
                f"insufficient memory: the model used {used:.0f} MB while loading, "
                f"more than the {self.memory_limit_mb} MB memory size",
                out_of_memory=True,
            )
        raise HandlerOutOfMemory(
            f"insufficient memory: the model used {used:.0f} MB while serving a request, "
            f"more than the {self.memory_limit_mb} MB memory size",
            used,
        )

    def _exit_message(self, when: str) -> str:
        try:
            code = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self._threads[1].join(timeout=1)
        last = next((line for line in reversed(self._stderr_tail) if line.strip()), "")
        detail = f": {last.strip()}" if last else ""
        return f"the model worker exited with code {code} {when}{detail}"

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._wake.set()

    def _kill(self) -> None:
        if self._proc.poll() is None:
            try:
                if os.name == "posix":
                    os.killpg(self._pid, signal.SIGKILL)
                else:
                    self._proc.kill()
            except OSError:
                pass
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("worker %s did not exit after SIGKILL", self._pid)
        self._stopped.set()
        self._wake.set()

    def _read_frames(self) -> None:
        stdout: IO[bytes] | None = self._proc.stdout
        try:
            while stdout is not None and (frame := read_frame(stdout)) is not None:
                self._frames.put(frame)
        except (OSError, ValueError):
            pass
        self._frames.put(None)

    def _read_stderr(self) -> None:
        stderr: IO[bytes] | None = self._proc.stderr
        try:
            for raw in iter(stderr.readline, b"") if stderr is not None else ():
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self._stderr_tail.append(line)
                log.info("[worker %s] %s", self._pid, line)
        except (OSError, ValueError):
            pass

    def _watch_memory(self) -> None:
        try:
            process = psutil.Process(self._pid)
        except psutil.Error:
            return
        while not self._stopped.is_set():
            try:
                rss_mb = process.memory_info().rss / _MIB
            except psutil.Error:
                return
            if self._busy:
                self.peak_mb = max(self.peak_mb, rss_mb)
            if rss_mb > self.memory_limit_mb:
                self._oom_mb = rss_mb
                self._kill()
                return
            self._wake.wait(_BUSY_POLL_S if self._busy else _IDLE_POLL_S)
            self._wake.clear()


_TIMED_OUT = object()
