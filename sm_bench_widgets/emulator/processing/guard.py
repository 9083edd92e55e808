"""A job host's first process, as a container's init: ``guard.py PARENT_PID FOLDER CMD...``.

It runs the command as its child in the host's process group, passes SIGTERM on to it
(``docker stop`` and StopProcessingJob send it), and exits with the child's status (128 + N
when signal N ended it, as in a container). On Linux it also asks for SIGUSR1 when the
emulator thread that started it ends (``PR_SET_PDEATHSIG``), and then removes the job's
FOLDER and kills the whole group, so nothing of a job outlives the emulator, even a killed
one. Run as a plain script: it imports nothing of the package.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
from typing import Any

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> int:
    """Run the command to its end; its exit status (127 when it cannot be run)."""
    parent, folder, command = int(argv[0]), argv[1], argv[2:]

    def orphaned(*_: Any) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        os.killpg(0, signal.SIGKILL)

    signal.signal(signal.SIGUSR1, orphaned)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGUSR1, 0, 0, 0)
    if os.getppid() != parent:
        orphaned()
    terminated: list[bool] = []
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: Any) -> None:
        terminated.append(True)
        if child is not None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    try:
        child = subprocess.Popen(command)
    except OSError as exc:
        print(f"cannot run {command[0]}: {exc}", file=sys.stderr)
        return 127
    if terminated:
        child.send_signal(signal.SIGTERM)
    code = child.wait()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
