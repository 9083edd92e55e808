"""Run a job host's command so that it dies with the emulator: ``guard.py PARENT_PID CMD...``.

On Linux the process asks to be killed when the emulator thread that started it ends
(``PR_SET_PDEATHSIG``), then becomes the command (``exec``), so a job never outlives the
emulator, even one that was killed. Run as a plain script: it imports nothing of the package.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> int:
    """Arm the parent-death signal, then exec the command (127 when it cannot be run)."""
    parent, command = int(argv[0]), argv[1:]
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        return 1
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"cannot run {command[0]}: {exc}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
