"""One host of a local Processing job: its /opt/ml folder, its command and its process.

The command is the job's ContainerEntrypoint + ContainerArguments with every ``/opt/ml/...``
element moved under the host's folder and ``python``/``python3`` run as this interpreter.
It runs under ``guard.py``, the host's init, which leads the host's process group (the
container): SIGTERM goes to the command alone, as ``docker stop`` sends it, and SIGKILL to
the whole group.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

GUARD = Path(__file__).with_name("guard.py")
OPT_ML = "/opt/ml"
OPT_ML_VARIABLE = "SM_BENCH_OPT_ML"  # read by sm_bench_widgets.jobs.host
TAIL_LINES = 5
# variables of the emulator's own process that must not reach a job (credentials, targets)
PRIVATE_PREFIXES = ("AWS_",)


def host_names(count: int) -> list[str]:
    """SageMaker's host names: algo-1 ... algo-<count>."""
    return [f"algo-{i}" for i in range(1, count + 1)]


def local_path(root: Path, path: str) -> Path:
    """Where the job's ``/opt/ml/...`` path is on this host."""
    return root / path.lstrip("/")


def write_resource_config(root: Path, host: str, hosts: list[str]) -> None:
    """The host's /opt/ml/config/resourceconfig.json, as SageMaker writes it."""
    path = local_path(root, f"{OPT_ML}/config/resourceconfig.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"current_host": host, "hosts": hosts}))


def command(app: dict[str, Any], root: Path) -> list[str]:
    """The host's argv: the job's command with /opt/ml mapped under ``root``."""
    argv = [*app.get("ContainerEntrypoint", []), *app.get("ContainerArguments", [])]
    mapped = [
        str(local_path(root, a)) if a == OPT_ML or a.startswith(OPT_ML + "/") else a for a in argv
    ]
    if mapped and mapped[0] in ("python", "python3"):
        mapped[0] = sys.executable
    return mapped


def environment(job_env: dict[str, str], root: Path, endpoint_url: str, region: str) -> dict:
    """The host's environment: this process's (no AWS settings), the job's, the emulator's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PRIVATE_PREFIXES)}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(job_env or {})
    env.update(
        AWS_ENDPOINT_URL=endpoint_url,
        AWS_ACCESS_KEY_ID="emulated",
        AWS_SECRET_ACCESS_KEY="emulated",
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
    )
    env[OPT_ML_VARIABLE] = str(local_path(root, OPT_ML))
    return env


class HostProcess:
    """The running process of one host, its output sent line by line to ``on_line``.

    ``job_folder`` (the job's temporary folder) is removed if the emulator dies first.
    """

    def __init__(
        self,
        name: str,
        root: Path,
        argv: list[str],
        env: dict[str, str],
        on_line: Callable[[str], None],
        job_folder: Path,
    ):
        self.name = name
        self.root = root
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._on_line = on_line
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(GUARD), str(os.getpid()), str(job_folder), *argv],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, False), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, True), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, pipe: IO[bytes], is_stderr: bool) -> None:
        for raw in pipe:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if is_stderr and line.strip():
                self.stderr_tail.append(line)
            self._on_line(line)
        pipe.close()

    @property
    def returncode(self) -> int | None:
        """The exit status (negative: killed by that signal), None while it runs."""
        return self.process.poll()

    def terminate(self) -> None:
        """SIGTERM to the host's command (through its init), as ``docker stop`` sends it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def kill_all(self) -> None:
        """SIGKILL to every process of the host (its process group)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def finish(self, timeout: float = 10) -> int:
        """After the main process ended: kill what it left, read the rest of its output."""
        code = self.process.wait()
        self.kill_all()
        for reader in self._readers:
            reader.join(timeout)
        return code
