"""A run shared by several hosts (a Processing job with more than one instance).

Every host plans the same trials and runs its share of them (``plan.share``); the memory
size of the concurrency phase is chosen by each host from every host's stability results,
which ``Peers`` gathers once the other hosts' trials have ended, so all hosts choose alike.

A concurrency trial with more clients than one host drives faithfully (``capacity``) is
split into parts (``split_trials``): the host that owns its endpoint deploys it, posts
when the parts start (``Peers.post``), and every part's host drives its share of the
clients from that moment with its share of the invocation budget; the owner ends the
trial, and deletes the endpoint, once every part has ended (``Peers.gather_parts``).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from sm_bench_widgets.engine.plan import Trial, group_by_endpoint

Row = dict[str, Any]


class Peers(Protocol):
    """What the other hosts of a run measured, and what they post to each other."""

    def gather(
        self, trial_ids: set[str], stop: threading.Event
    ) -> tuple[list[Row], dict[str, str]] | None:
        """Rows and stop reasons of ``trial_ids`` once each has ended on its host (or its
        host stopped or failed); None if ``stop`` is set first."""

    def post(self, name: str, record: dict[str, Any]) -> None:
        """Publish ``record`` under ``name`` for the other hosts to read at once."""

    def await_post(self, host: str, name: str, stop: threading.Event) -> dict[str, Any] | None:
        """What ``host`` posted under ``name``, once it has; None if ``stop`` is set first
        or ``host`` ended without posting it."""

    def gather_parts(
        self, trial_id: str, hosts: set[str], stop: threading.Event
    ) -> tuple[list[Row], dict[str, str]] | None:
        """The rows of ``trial_id`` that ``hosts`` made and each host's stop reason, once
        every one of them ended its part (or ended altogether); None if ``stop`` is set."""


@dataclass(frozen=True)
class HostShare:
    """This host's place in a run shared by ``count`` hosts, and how to reach the others.

    ``hosts``: every host's name, in order; ``capacity``: the clients one host drives
    faithfully, when given (else the first host measures it and posts it).
    """

    name: str
    index: int
    count: int
    peers: Peers | None = None
    hosts: tuple[str, ...] = ()
    capacity: int | None = None

    def host_name(self, index: int) -> str:
        """The name of host ``index``."""
        return self.hosts[index] if self.hosts else f"algo-{index + 1}"


@dataclass(frozen=True)
class Part:
    """One host's share of a split concurrency trial: ``clients`` of the trial's clients
    and ``max_invocations`` of its budget. Part 0 runs on the host owning the endpoint.
    Its clients are numbered from ``first_client``, so a trial's client ids stay unique."""

    trial: Trial
    index: int
    count: int
    host: int
    owner: int
    clients: int
    max_invocations: int
    cold_share: float  # this part's share of the instances the trial's first wave starts
    first_client: int = 0

    @property
    def name(self) -> str:
        """The key the part's start is posted under."""
        return f"start-{self.trial.trial_id}"


def owners(trials: list[Trial], count: int) -> dict[str, int]:
    """Endpoint key -> the host that deploys it and runs its trials (``plan.share``'s deal:
    round-robin in plan order)."""
    return {key: i % max(1, count) for i, key in enumerate(group_by_endpoint(trials))}


def spread(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights``, whole numbers adding up to ``total``
    (the remainders to the largest fractions, earlier first)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    shares = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (shares[i] - exact[i], i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def split_trials(trials: list[Trial], capacity: int | None, count: int) -> dict[str, list[Part]]:
    """Trial id -> its parts, for each concurrency trial with more clients than
    ``capacity``: ``ceil(clients / capacity)`` parts (at most ``count``), the clients and
    budget dealt evenly, part ``j`` on the host after the owner's ``j``-th. Nothing is
    split on one host or without a capacity."""
    if count <= 1 or not capacity or capacity < 1:
        return {}
    owner_of = owners(trials, count)
    splits: dict[str, list[Part]] = {}
    for t in trials:
        k = min(count, math.ceil(t.clients / capacity), t.clients)
        if t.phase != "concurrency" or k <= 1:
            continue
        clients = spread(t.clients, [1] * k)
        budget = spread(t.max_invocations, clients)
        owner = owner_of[t.endpoint_key]
        splits[t.trial_id] = [
            Part(
                t,
                j,
                k,
                (owner + j) % count,
                owner,
                clients[j],
                budget[j],
                clients[j] / t.clients,
                sum(clients[:j]),
            )
            for j in range(k)
        ]
    return splits


def guest_parts(splits: dict[str, list[Part]], index: int) -> list[Part]:
    """The parts host ``index`` runs on endpoints other hosts own, in plan order."""
    return [p for parts in splits.values() for p in parts if p.host == index and p.index > 0]
