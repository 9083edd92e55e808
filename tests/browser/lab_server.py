"""A JupyterLab server on 127.0.0.1 for browser tests: own port, token, root and settings.

It runs with every network feature off (news, update checks, extension manager), so a
page that renders under it proves it needs nothing from the internet.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

SETTINGS = {
    "apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLab:
    """A JupyterLab process serving ``root_dir``; use as a context manager."""

    def __init__(
        self,
        root_dir: str | Path,
        env: dict[str, str] | None = None,
        startup_timeout: float = 120.0,
    ):
        self.root_dir = Path(root_dir)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.startup_timeout = startup_timeout
        self._env = env
        self._state = tempfile.TemporaryDirectory(prefix="lab-state-")
        self._proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(self._state.name) / "server.log"

    def command(self) -> list[str]:
        """The command line that starts the server."""
        state = Path(self._state.name)
        root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        return [
            sys.executable,
            "-m",
            "jupyterlab",
            "--ServerApp.open_browser=False",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--IdentityProvider.token={self.token}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.user_settings_dir={state / 'settings'}",
            f"--LabApp.workspaces_dir={state / 'workspaces'}",
            *root,
        ]

    def write_settings(self) -> None:
        """User settings: no news fetched or asked about; every cell rendered, even off-screen
        (no notebook windowing), so what a test looks for is in the page."""
        settings = Path(self._state.name) / "settings" / "@jupyterlab"
        for name, values in SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

    def start(self) -> JupyterLab:
        """Start the server and wait until its API answers."""
        self.write_settings()
        env = dict(os.environ if self._env is None else self._env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env["JUPYTER_RUNTIME_DIR"] = str(Path(self._state.name) / "runtime")
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process in stop()
        self._log = log
        self._proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.root_dir,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with {self._proc.returncode}:\n" + self.log_text()
                )
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(self.api_url("status"), timeout=2) as resp,
            ):
                if resp.status == 200:
                    return self
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(
            f"JupyterLab did not answer within {self.startup_timeout} s:\n" + self.log_text()
        )

    def stop(self) -> None:
        """Stop the server (and the kernels it started) and remove its state."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()  # SIGTERM: jupyter_server shuts kernels down, then exits
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait(timeout=10)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    def cleanup(self) -> None:
        """Remove the server's settings and workspace state."""
        self._state.cleanup()

    def log_text(self) -> str:
        """What the server printed so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def api_url(self, path: str) -> str:
        """A REST API URL with the token."""
        return f"{self.base_url}/api/{path}?token={self.token}"

    def lab_url(self, notebook: str) -> str:
        """The JupyterLab URL that opens ``notebook`` (relative to the root dir)."""
        return f"{self.base_url}/lab/tree/{notebook}?token={self.token}&reset"

    def __enter__(self) -> JupyterLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.cleanup()
