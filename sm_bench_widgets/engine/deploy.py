"""Endpoints of one run: created in parallel, waited for together, always deleted.

Every endpoint this run creates is tracked by ``aws.endpoints.ManagedEndpoints`` from the
moment its creation is asked for until its deletion succeeds, so ``delete_all`` (called
on success, error, stop and Ctrl-C) leaves nothing behind; a deletion that fails is
reported, never silent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sm_bench_widgets.aws import endpoints as aws_endpoints
from sm_bench_widgets.aws.clients import Target


@dataclass(frozen=True)
class Deployed:
    """What became of one requested endpoint: InService, or why not."""

    key: str
    name: str
    ok: bool
    reason: str = ""


class Deployments:
    """Creates, waits for and deletes the endpoints of one run (via ``ManagedEndpoints``)."""

    def __init__(
        self,
        target: Target,
        run_id: str,
        model_name: str,
        stop_event: threading.Event,
        report: Callable[[str], None],
        wait_timeout: float = aws_endpoints.ENDPOINT_WAIT_TIMEOUT_S,
        poll: float = 5.0,
    ):
        self.target = target
        self.run_id = run_id
        self.model_name = model_name
        self.stop_event = stop_event
        self.report = report
        self.wait_timeout = wait_timeout
        self.poll = poll
        self.managed = aws_endpoints.managed_endpoints(target, run_id)

    @property
    def live(self) -> list[str]:
        """Names of endpoints created (or being created) and not yet deleted."""
        return self.managed.names

    def deploy(self, wanted: dict[str, tuple[int, int, int]]) -> dict[str, Deployed]:
        """Create every ``key -> (memory, max_concurrency, provisioned)`` endpoint at once
        and wait for all of them; failed ones are reported and deleted, others go on."""
        specs = {
            key: aws_endpoints.EndpointSpec(self.model_name, *shape)
            for key, shape in wanted.items()
        }
        names = {
            key: aws_endpoints.endpoint_name_for(self.model_name, self.run_id, spec)
            for key, spec in specs.items()
        }
        results: dict[str, Deployed] = {}

        def create(key: str) -> None:
            if self.stop_event.is_set():  # a stop came first: create nothing more
                results[key] = Deployed(key, names[key], False, "stopped")
                return
            try:
                self.managed.create(specs[key])
            except Exception as exc:
                results[key] = Deployed(key, names[key], False, f"could not be created: {exc}")

        with ThreadPoolExecutor(
            max_workers=max(1, min(8, len(wanted))), thread_name_prefix="sm-bench-create"
        ) as pool:
            list(pool.map(create, list(wanted)))
        pending = {names[k]: k for k in wanted if k not in results}
        deadline = time.monotonic() + self.wait_timeout
        while pending and not self.stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            statuses = aws_endpoints.wait_endpoints(
                self.target,
                list(pending),
                timeout=min(remaining, max(1.0, 4 * self.poll)),
                poll=self.poll,
            )
            for name, st in statuses.items():
                if name not in pending or st.status in aws_endpoints.IN_PROGRESS:
                    continue
                key = pending.pop(name)
                results[key] = Deployed(
                    key,
                    name,
                    st.ok,
                    "" if st.ok else f"is {st.status}: {st.failure_reason or 'no reason'}",
                )
        for name, key in pending.items():
            why = (
                "stopped"
                if self.stop_event.is_set()
                else (f"was not InService within {self.wait_timeout:g} s")
            )
            results[key] = Deployed(key, name, False, why)
        for d in results.values():
            if not d.ok:
                if d.reason != "stopped":
                    self.report(f"endpoint {d.name} {d.reason}")
                self.delete(d.name)
        return {key: results[key] for key in wanted}

    def delete(self, name: str) -> bool:
        """Delete one endpoint and its config now; True when it is gone."""
        try:
            self.managed.delete(name)
        except Exception as exc:
            self.report(
                f"could not delete endpoint {name}: {exc}; "
                f"run `sm-bench cleanup --run-id {self.run_id}`"
            )
            return False
        return True

    def delete_all(self) -> list[str]:
        """Delete every endpoint still live; returns (and reports) those left behind."""
        failures = self.managed.delete_all()
        for name, reason in failures.items():
            self.report(
                f"could not delete endpoint {name}: {reason}; "
                f"run `sm-bench cleanup --run-id {self.run_id}`"
            )
        return sorted(failures)
