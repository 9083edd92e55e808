"""Who this Processing-job host is: ``/opt/ml/config/resourceconfig.json``.

SageMaker writes ``{"current_host": "algo-1", "hosts": ["algo-1", ...]}`` there on every
host of a Processing job; outside a job (a test, a laptop) the file is absent and the
process is the only host.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

# the local emulator's job runner maps /opt/ml to a folder of its own and says where here
OPT_ML_VARIABLE = "SM_BENCH_OPT_ML"


def opt_ml() -> Path:
    """The job's /opt/ml (the emulator's stand-in for it when ``SM_BENCH_OPT_ML`` is set)."""
    return Path(os.environ.get(OPT_ML_VARIABLE) or "/opt/ml")


def resource_config_path() -> Path:
    """Where SageMaker describes the job's hosts."""
    return opt_ml() / "config" / "resourceconfig.json"


@dataclass(frozen=True)
class Host:
    """This host's name and every host of the job, in SageMaker's order."""

    name: str
    hosts: tuple[str, ...]

    @property
    def count(self) -> int:
        """How many hosts the job runs on."""
        return len(self.hosts)


def this_host(path: str | os.PathLike[str] | None = None) -> Host:
    """The host described by ``path`` (default: the job's resourceconfig.json), or a lone
    host named ``algo-1`` if there is none."""
    p = Path(path) if path is not None else resource_config_path()
    if not p.exists():
        return Host("algo-1", ("algo-1",))
    data = json.loads(p.read_text())
    hosts = tuple(data.get("hosts") or [data["current_host"]])
    return Host(str(data["current_host"]), hosts)
