"""What a Processing job runs first: install the shipped wheels offline, then the benchmark.

``python3 bootstrap.py ARGS...`` installs ``wheels/*.whl`` next to this file with
``pip install --no-index --no-deps --target <temp dir>`` (never from a package index: the
job may have no internet), then runs ``python -m sm_bench_widgets.jobs.entrypoint ARGS...``
with that folder first on PYTHONPATH, passes SIGTERM (what StopProcessingJob sends) on to
it, and exits with its exit status. Standard library only: nothing else is installed yet.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ENTRYPOINT_MODULE = "sm_bench_widgets.jobs.entrypoint"


def install_wheels(wheels: list[Path], target: Path) -> None:
    """Install ``wheels`` into ``target`` from the files alone; exits 2 if pip fails."""
    command = [sys.executable, "-m", "pip", "install", "--no-index", "--no-deps"]
    command += ["--disable-pip-version-check", "--no-warn-script-location", "--quiet"]
    command += ["--target", str(target), *map(str, wheels)]
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        print(f"bootstrap: pip could not install {len(wheels)} wheels", file=sys.stderr)
        sys.exit(2)


def main(argv: list[str]) -> int:
    """Install, run the entrypoint with ``argv``, forward SIGTERM; its exit status."""
    here = Path(__file__).resolve().parent
    wheels = sorted((here / "wheels").glob("*.whl"))
    if not wheels:
        print(f"bootstrap: no wheels in {here / 'wheels'}", file=sys.stderr)
        return 2
    site = Path(tempfile.mkdtemp(prefix="sm-bench-site-"))
    install_wheels(wheels, site)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    env.setdefault("PYTHONUNBUFFERED", "1")
    child = subprocess.Popen([sys.executable, "-m", ENTRYPOINT_MODULE, *argv], env=env)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
