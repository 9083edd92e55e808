"""``sm-bench emulator`` in a process of its own, for tests and benchmarks.

A served emulator shares no GIL with the caller, as the design asks of the emulator; its
URL is read from the banner the command prints, as a user would read it.
"""

from __future__ import annotations

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

URL_MARKER = "AWS_ENDPOINT_URL="


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
    banner: str = ""
    _lines: list[str] = field(default_factory=list, repr=False)
    _reader: threading.Thread | None = field(default=None, repr=False)

    @property
    def output(self) -> str:
        """Everything the process printed so far (stdout and stderr)."""
        return "".join(self._lines)

    def stop(self, timeout: float = 15) -> int:
        """Stop it as Ctrl-C would (killed after ``timeout`` s); return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._reader is not None:
            self._reader.join(timeout)
        return self.process.returncode


@contextlib.contextmanager
def served(
    *args: str, time_scale: float = 1.0, seed: int | None = 1, start_timeout: float = 60
) -> Iterator[ServedEmulator]:
    """Start ``sm-bench emulator`` on a free port, yield it once it prints its URL, stop after.

    ``args`` are further options of the command. Raises ``RuntimeError`` with what the
    process printed if no URL appears within ``start_timeout`` seconds.
    """
    options = ["--port", "0", "--time-scale", str(time_scale)]
    if seed is not None:
        options += ["--seed", str(seed)]
    process = subprocess.Popen(
        emulator_command(*options, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    emulator = ServedEmulator(process)
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
    try:
        emulator.url = _wait_for_url(lines, time.monotonic() + start_timeout)
        if not emulator.url:
            raise RuntimeError(
                f"sm-bench emulator printed no {URL_MARKER} within {start_timeout:g} s:\n"
                + emulator.output
            )
        emulator.banner = emulator.output
        yield emulator
    finally:
        emulator.stop()


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
