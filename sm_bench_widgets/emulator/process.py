"""``sm-bench emulator`` in a process of its own, for the embedded emulator, tests and benchmarks.

A served emulator shares no GIL with the caller, as the design asks of the emulator; its
URL is read from the banner the command prints, as a user would read it. ``start()`` with
``watch_parent=True`` runs it through this module's ``__main__``, which stops the emulator
when its stdin reaches end of file: the parent holds the only write end of that pipe, so
the child goes with the parent however the parent ends (exit, crash, SIGKILL).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

URL_MARKER = "AWS_ENDPOINT_URL="
# after the parent is gone: the emulator stops as on SIGTERM, else is ended this much later
ORPHAN_GRACE_S = 10.0


def emulator_command(*args: str) -> list[str]:
    """The argv of ``sm-bench emulator ARGS`` (the console script, else ``python -m``)."""
    exe = shutil.which("sm-bench")
    base = [exe] if exe else [sys.executable, "-m", "sm_bench_widgets.cli"]
    return [*base, "emulator", *args]


@dataclass
class ServedEmulator:
    """A running ``sm-bench emulator`` process: its URL, its banner and all it printed."""

    process: subprocess.Popen[str]
    url: str = ""
    time_scale: float = 1.0
    banner: str = ""
    _lines: list[str] = field(default_factory=list, repr=False)
    _reader: threading.Thread | None = field(default=None, repr=False)

    @property
    def output(self) -> str:
        """Everything the process printed so far (stdout and stderr)."""
        return "".join(self._lines)

    @property
    def running(self) -> bool:
        """Whether the process is still alive."""
        return self.process.poll() is None

    @property
    def endpoint_url(self) -> str:
        """The URL to give boto3 (``AWS_ENDPOINT_URL``), as ``LocalServerless`` names it."""
        return self.url

    def target(self) -> Any:
        """A ``Target`` pointing at this emulator (dummy credentials, us-east-1)."""
        from sm_bench_widgets.aws.clients import Target

        return Target.for_emulator(self.url)

    def stop(self, timeout: float = 15) -> int:
        """Stop it as Ctrl-C would (killed after ``timeout`` s); return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        if self._reader is not None:
            self._reader.join(timeout)
        return self.process.returncode


def start(
    *args: str,
    time_scale: float = 1.0,
    seed: int | None = 1,
    start_timeout: float = 60,
    watch_parent: bool = False,
) -> ServedEmulator:
    """Start ``sm-bench emulator`` on a free port and return it once it prints its URL.

    ``args`` are further options of the command; with ``watch_parent`` the process ends
    when this one does. Raises ``RuntimeError`` with what the process printed if no URL
    appears within ``start_timeout`` seconds (the process is stopped then).
    """
    options = ["--port", "0", "--time-scale", str(time_scale)]
    if seed is not None:
        options += ["--seed", str(seed)]
    argv = (
        [sys.executable, "-m", __name__, *options, *args]
        if watch_parent
        else emulator_command(*options, *args)
    )
    process = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if watch_parent else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if watch_parent:
        _keep_pipe_from_forks(process)
    emulator = ServedEmulator(process, time_scale=float(time_scale))
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        # drain the pipe for the whole life of the process, so it never blocks on output
        assert process.stdout is not None
        for line in process.stdout:
            emulator._lines.append(line)
            lines.put(line)
        lines.put(None)

    emulator._reader = threading.Thread(target=read, name="sm-bench-emulator-output", daemon=True)
    emulator._reader.start()
    emulator.url = _wait_for_url(lines, time.monotonic() + start_timeout)
    if not emulator.url:
        emulator.stop()
        raise RuntimeError(
            f"sm-bench emulator printed no {URL_MARKER} within {start_timeout:g} s:\n"
            + emulator.output
        )
    emulator.banner = emulator.output
    return emulator


@contextlib.contextmanager
def served(
    *args: str, time_scale: float = 1.0, seed: int | None = 1, start_timeout: float = 60
) -> Iterator[ServedEmulator]:
    """Start ``sm-bench emulator`` on a free port, yield it once it prints its URL, stop after.

    ``args`` are further options of the command. Raises ``RuntimeError`` with what the
    process printed if no URL appears within ``start_timeout`` seconds.
    """
    emulator = start(
        *args, time_scale=time_scale, seed=seed, start_timeout=start_timeout, watch_parent=True
    )
    try:
        yield emulator
    finally:
        emulator.stop()


# -- the process-wide emulators, one per time scale ------------------------------------------
_processes: dict[float, ServedEmulator] = {}
_processes_lock = threading.Lock()


def process_wide(time_scale: float = 1.0) -> ServedEmulator:
    """This process's emulator at ``time_scale``, started in a process of its own on first use.

    Later calls with the same time scale reuse it; another time scale gets its own process
    (an emulator's clock has one scale), so every caller runs at the scale it asked for.
    All of them stop when this interpreter exits, and with it if it is killed.
    """
    scale = float(time_scale)
    if not scale > 0:
        raise ValueError(f"time_scale must be > 0, got {time_scale!r}")
    with _processes_lock:
        emulator = _processes.get(scale)
        if emulator is None or not emulator.running:
            if not _processes:
                atexit.register(stop_process_wide)
            emulator = start(time_scale=scale, seed=None, watch_parent=True)
            _processes[scale] = emulator
        return emulator


def stop_process_wide() -> None:
    """Stop every process-wide emulator this process started."""
    with _processes_lock:
        running = list(_processes.values())
        _processes.clear()
    for emulator in running:
        emulator.stop()


def _keep_pipe_from_forks(process: subprocess.Popen[str]) -> None:
    """Close the child's stdin pipe in processes forked from this one.

    A forked worker would otherwise hold the write end open and keep the emulator alive
    after this process is gone.
    """
    assert process.stdin is not None
    fd = process.stdin.fileno()

    def close_in_child() -> None:
        with contextlib.suppress(OSError):
            os.close(fd)

    os.register_at_fork(after_in_child=close_in_child)


def _wait_for_url(lines: queue.Queue[str | None], deadline: float) -> str:
    """The URL from the first banner line that exports it; "" at end of output or deadline."""
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            break
        if URL_MARKER in line:
            return line.split("=", 1)[1].strip()
    return ""


def _exit_with_parent() -> None:
    """Stop this emulator once stdin ends (the parent is gone), ended outright if it lingers."""

    def watch() -> None:
        with contextlib.suppress(OSError):  # the raw descriptor: no buffer lock at exit
            while os.read(0, 4096):
                pass
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(ORPHAN_GRACE_S)
        os._exit(1)

    threading.Thread(target=watch, name="sm-bench-parent-watch", daemon=True).start()


if __name__ == "__main__":
    from sm_bench_widgets.cli import main

    _exit_with_parent()
    sys.exit(main(["emulator", *sys.argv[1:]]))
