"""Endpoints of one run: planned to fit the account's quotas, created in parallel, waited
for together, always deleted.

Every endpoint this run creates is tracked by ``aws.endpoints.ManagedEndpoints`` from the
moment its creation is asked for until its deletion succeeds, so ``delete_all`` (called
on success, error, stop and Ctrl-C) leaves nothing behind; a deletion that fails is
reported, never silent.

The account's serverless quotas (``aws.quotas``) are known before anything is created: a
configuration that can never fit them is refused (``check_quotas``), and endpoints are
deployed in waves that fit what is free now (``room_for``). A ``ResourceLimitExceeded``
that comes anyway (another tool took the capacity) is waited out and retried, then
reported as that endpoint's failure. Expired credentials stop the run, saying how to
refresh them and how ``sm-bench cleanup`` finishes the job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from sm_bench_widgets.aws import endpoints as aws_endpoints
from sm_bench_widgets.aws import quotas as aws_quotas
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.config import BenchmarkConfig, ConfigError
from sm_bench_widgets.engine.plan import provisioned_max_concurrency

log = logging.getLogger(__name__)

MAX_QUOTA_POLL = 30.0
EXPIRED_MESSAGE = (
    "AWS credentials have expired ({code}): the run stops. Refresh them (e.g. `aws sso "
    "login --profile <profile>`, or a new session token / role session in the "
    "environment), then run `sm-bench cleanup --run-id {run_id}` to delete the endpoints "
    "and endpoint configs this run may still hold (results so far are kept)."
)


class QuotaError(ConfigError):
    """A benchmarked configuration can never fit the account's serverless quotas."""


def needed_concurrency(config: BenchmarkConfig) -> list[tuple[str, list[int], int]]:
    """(field, its value, MaxConcurrency one endpoint needs) for each endpoint shape."""
    needs = [("memory_sizes", list(config.memory_sizes), 1)] if config.memory_sizes else []
    if config.include_concurrency_benchmark:
        values = list(config.concurrency_benchmark_max_conc)
        needs += [("concurrency_benchmark_max_conc", values, c) for c in values]
    for p in config.provisioned_concurrency:
        values = list(config.provisioned_concurrency)
        needs.append(("provisioned_concurrency", values, provisioned_max_concurrency(config, p)))
    return needs


def check_quotas(quotas: aws_quotas.AccountQuotas, config: BenchmarkConfig) -> None:
    """Raise ``QuotaError`` naming the quota and what to ask AWS for when an endpoint the
    config needs can never fit, however long the run waits."""
    if quotas.max_endpoints < 1:
        raise QuotaError(
            "account_max_endpoints",
            quotas.max_endpoints,
            f"at least 1: {aws_quotas.describe(quotas, aws_quotas.ENDPOINTS)}; "
            + aws_quotas.increase_hint(aws_quotas.ENDPOINTS, quotas.region, 1),
        )
    for field_name, value, concurrency in needed_concurrency(config):
        if concurrency > quotas.max_concurrency:
            quota = aws_quotas.CONCURRENCY
            raise QuotaError(
                field_name,
                value,
                f"MaxConcurrency {concurrency} can never be deployed, since "
                f"{aws_quotas.describe(quotas, quota)}. To benchmark it, "
                f"{aws_quotas.increase_hint(quota, quotas.region, concurrency)}; or keep "
                f"MaxConcurrency at most {quotas.max_concurrency}",
            )


def account_quotas(target: Target, config: BenchmarkConfig) -> aws_quotas.AccountQuotas:
    """The quotas a run of ``config`` plans with (the config's values win)."""
    return aws_quotas.read_quotas(
        target, config.account_max_concurrency, config.account_max_endpoints
    )


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
        given_quotas: tuple[int | None, int | None] = (None, None),
    ):
        self.target = target
        self.run_id = run_id
        self.model_name = model_name
        self.stop_event = stop_event
        self.report = report
        self.wait_timeout = wait_timeout
        self.poll = poll
        self.given_quotas = given_quotas
        self.managed = aws_endpoints.managed_endpoints(target, run_id)
        self._quotas: aws_quotas.AccountQuotas | None = None
        self._lock = threading.Lock()
        self._expired_told = False

    # -- quotas --------------------------------------------------------------------------
    @property
    def quotas(self) -> aws_quotas.AccountQuotas:
        """The account's serverless quotas, read once."""
        if self._quotas is None:
            self._quotas = aws_quotas.read_quotas(self.target, *self.given_quotas)
        return self._quotas

    def room_for(self, wanted: dict[str, tuple[int, int, int]]) -> list[str]:
        """The keys of ``wanted`` (in order) that fit what the account has free now; when
        none does, wait (up to ``wait_timeout``) for other endpoints to go. Empty after a
        stop, or when the wait ran out (reported)."""
        deadline = time.monotonic() + self.wait_timeout
        delay, told = self.poll, False
        while not self.stop_event.is_set():
            usage = self._usage()
            if usage is None:
                return []
            keys = self._fitting(wanted, usage)
            if keys:
                return keys
            remaining = deadline - time.monotonic()
            quotas = self.quotas
            held = (
                f"the account's serverless endpoints hold {usage.concurrency} of "
                f"{quotas.max_concurrency} total MaxConcurrency and {usage.endpoints} of "
                f"{quotas.max_endpoints} endpoints"
            )
            if remaining <= 0:
                self.report(
                    f"no room to deploy {', '.join(wanted)} within {self.wait_timeout:g} s: {held}"
                )
                return []
            if not told:
                told = True
                self.report(f"waiting for room to deploy {', '.join(wanted)}: {held}")
            self.stop_event.wait(min(delay, remaining))
            delay = min(delay * 2, MAX_QUOTA_POLL)
        return []

    def _usage(self) -> aws_quotas.Usage | None:
        """What the account holds now (nothing known: as if empty); None once credentials
        expired."""
        try:
            return aws_quotas.serverless_usage(self.target)
        except (ClientError, BotoCoreError) as exc:
            if aws_endpoints.credentials_expired(exc):
                self.credentials_expired(exc)
                return None
            log.info("cannot read the account's serverless endpoints (%s)", exc)
            return aws_quotas.Usage()

    def _fitting(
        self, wanted: dict[str, tuple[int, int, int]], usage: aws_quotas.Usage
    ) -> list[str]:
        quotas = self.quotas
        free_conc = quotas.max_concurrency - usage.concurrency
        free_eps = quotas.max_endpoints - usage.endpoints
        keys = []
        for key, (_memory, concurrency, _provisioned) in wanted.items():
            if free_eps >= 1 and concurrency <= free_conc:
                keys.append(key)
                free_conc, free_eps = free_conc - concurrency, free_eps - 1
        return keys

    def credentials_expired(self, exc: BaseException | str) -> None:
        """Stop the run, saying once how to refresh credentials and clean up later."""
        with self._lock:
            if self._expired_told:
                return
            self._expired_told = True
        code = aws_endpoints.error_code(exc) if isinstance(exc, BaseException) else ""
        self.report(EXPIRED_MESSAGE.format(code=code or "expired token", run_id=self.run_id))
        self.stop_event.set()

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
            reason = self._create(specs[key], names[key])
            if reason is not None:
                results[key] = Deployed(key, names[key], False, reason)

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

    def _create(self, spec: aws_endpoints.EndpointSpec, name: str) -> str | None:
        """Create one endpoint; None when AWS accepted it, else why not. A quota hit is
        waited out (up to ``wait_timeout``) and retried."""
        deadline = time.monotonic() + self.wait_timeout
        delay, told = self.poll, False
        while True:
            if self.stop_event.is_set():  # a stop came first: create nothing more
                return "stopped"
            try:
                self.managed.create(spec)
                return None
            except Exception as exc:
                if aws_endpoints.credentials_expired(exc):
                    self.credentials_expired(exc)
                    return "stopped"
                remaining = deadline - time.monotonic()
                if aws_endpoints.error_code(exc) != aws_endpoints.LIMIT_EXCEEDED:
                    return f"could not be created: {exc}"
                if remaining <= 0:
                    return (
                        f"could not be created within {self.wait_timeout:g} s, the account's "
                        f"serverless quota being taken: {exc}"
                    )
                if not told:
                    told = True
                    self.report(
                        f"endpoint {name} hit the account's serverless quota (another tool "
                        f"holds the capacity): retrying for up to {self.wait_timeout:g} s: {exc}"
                    )
                self.stop_event.wait(min(delay, remaining))
                delay = min(delay * 2, MAX_QUOTA_POLL)

    def delete(self, name: str) -> bool:
        """Delete one endpoint and its config now; True when it is gone."""
        try:
            self.managed.delete(name)
        except Exception as exc:
            if aws_endpoints.credentials_expired(exc):
                self.credentials_expired(exc)
            self.report(
                f"could not delete endpoint {name}: {exc}; "
                f"run `sm-bench cleanup --run-id {self.run_id}`"
            )
            return False
        return True

    def delete_all(self) -> list[str]:
        """Delete every endpoint still live; returns (and reports) those left behind."""
        failures = self.managed.delete_all()
        expired = [r for r in failures.values() if _says_expired(r)]
        if expired:
            self.credentials_expired(expired[0])
        for name, reason in failures.items():
            self.report(
                f"could not delete endpoint {name}: {reason}; "
                f"run `sm-bench cleanup --run-id {self.run_id}`"
            )
        return sorted(failures)


def _says_expired(reason: str) -> bool:
    return any(code in reason for code in aws_endpoints.EXPIRED_CREDENTIALS)
