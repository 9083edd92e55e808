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

RESOURCE_CONFIG = Path("/opt/ml/config/resourceconfig.json")


@dataclass(frozen=True)
class Host:
    """This host's name and every host of the job, in SageMaker's order."""

    name: str
    hosts: tuple[str, ...]

    @property
    def count(self) -> int:
        """How many hosts the job runs on."""
        return len(self.hosts)


def this_host(path: str | os.PathLike[str] = RESOURCE_CONFIG) -> Host:
    """The host described by ``path``, or a lone host named ``algo-1`` if there is none."""
    p = Path(path)
    if not p.exists():
        return Host("algo-1", ("algo-1",))
    data = json.loads(p.read_text())
    hosts = tuple(data.get("hosts") or [data["current_host"]])
    return Host(str(data["current_host"]), hosts)
