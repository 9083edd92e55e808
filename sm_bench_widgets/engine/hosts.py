"""A run shared by several hosts (a Processing job with more than one instance).

Every host plans the same trials and runs its share of them (``plan.share``); the memory
size of the concurrency phase is chosen by each host from every host's stability results,
which ``Peers`` gathers once the other hosts' trials have ended, so all hosts choose alike.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

Row = dict[str, Any]


class Peers(Protocol):
    """What the other hosts of a run measured."""

    def gather(
        self, trial_ids: set[str], stop: threading.Event
    ) -> tuple[list[Row], dict[str, str]] | None:
        """Rows and stop reasons of ``trial_ids`` once each has ended on its host (or its
        host stopped or failed); None if ``stop`` is set first."""


@dataclass(frozen=True)
class HostShare:
    """This host's place in a run shared by ``count`` hosts, and how to reach the others."""

    name: str
    index: int
    count: int
    peers: Peers | None = None
