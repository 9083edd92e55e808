"""``sm-bench emulator`` in a process of its own, for benchmarks that must not share a GIL."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def served_emulator(time_scale: float = 1.0, seed: int = 1) -> Iterator[str]:
    """Start the emulator on a free port, yield its URL, and stop it with Ctrl-C after."""
    exe = shutil.which("sm-bench")
    cmd = [exe] if exe else [sys.executable, "-m", "sm_bench_widgets.cli"]
    proc = subprocess.Popen(
        [*cmd, "emulator", "--port", "0", "--time-scale", str(time_scale), "--seed", str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = next(
            (line.split("=", 1)[1].strip() for line in proc.stdout if "AWS_ENDPOINT_URL=" in line),
            None,
        )
        if url is None:
            raise RuntimeError("the emulator did not start")
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
