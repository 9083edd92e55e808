"""The account's serverless quotas, enforced as SageMaker enforces them, and read back
through the Service Quotas API.

Every serverless endpoint of the emulator's account in a region counts, whichever tool
made it: the sum of their MaxConcurrency against the total-concurrency quota, their
serverless variants against the endpoint quota. A CreateEndpoint, UpdateEndpoint or
UpdateEndpointWeightsAndCapacities that would pass either fails with
``ResourceLimitExceeded`` (HTTP 400), worded as AWS words its account-level limits.
``GetServiceQuota`` / ``ListServiceQuotas`` (and their AWS-default forms) for the
``sagemaker`` service code answer the emulator's values, so a client can plan to fit.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sm_bench_widgets.aws.quotas import CONCURRENCY, ENDPOINTS, QUOTAS, SERVICE_CODE, Quota
from sm_bench_widgets.emulator.deployments import ConfigSnapshot
from sm_bench_widgets.emulator.processing.requests import RequestError

LIMIT_EXCEEDED = "ResourceLimitExceeded"
TARGET_PREFIX = "ServiceQuotasV20190624."
ANSWERED = (
    "GetServiceQuota",
    "GetAWSDefaultServiceQuota",
    "ListServiceQuotas",
    "ListAWSDefaultServiceQuotas",
)


def limit_message(quota: Quota, limit: int, used: int, delta: int) -> str:
    """AWS's wording of an account-level limit, as reported for its instance quotas
    (aws/amazon-sagemaker-examples#307, awsdocs/amazon-sagemaker-developer-guide#70)."""
    return (
        f"The account-level service limit '{quota.name}' is {limit}, with current "
        f"utilization of {used} and a request delta of {delta}. Please contact AWS support "
        "to request an increase for this limit."
    )


def held(snapshot: ConfigSnapshot | None) -> tuple[int, int]:
    """(total MaxConcurrency, serverless variants) of a deployment."""
    if snapshot is None:
        return 0, 0
    configs = [v.get("ServerlessConfig") for v in snapshot.variants]
    serverless = [c for c in configs if isinstance(c, dict)]
    return sum(int(c.get("MaxConcurrency") or 0) for c in serverless), len(serverless)


@dataclass
class AccountQuotas:
    """The two serverless quotas of the emulator's account (per region, as on AWS)."""

    max_concurrency: int = CONCURRENCY.default
    max_endpoints: int = ENDPOINTS.default
    # endpoint (region, name) -> the larger deployment it may hold while it is updated
    _reserved: dict[tuple[str, str], ConfigSnapshot] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        for name in ("max_concurrency", "max_endpoints"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"account {name}={value!r}: a whole number >= 0")

    def limit(self, quota: Quota) -> int:
        """The emulator's value of ``quota``."""
        return self.max_concurrency if quota is CONCURRENCY else self.max_endpoints

    # -- admission ---------------------------------------------------------------------
    @contextlib.contextmanager
    def admitting(
        self,
        region: str,
        holdings: Callable[[], dict[str, ConfigSnapshot | None]],
        name: str,
        new: ConfigSnapshot | None,
    ) -> Iterator[None]:
        """Hold the account while endpoint ``name`` takes ``new``; ``RequestError`` first
        when that passes a quota. ``holdings()`` maps each endpoint of the region to what
        it runs now (read under the lock); only growth is refused."""
        with self._lock:
            self.check(region, holdings(), name, new)
            yield

    def check(
        self,
        region: str,
        holdings: dict[str, ConfigSnapshot | None],
        name: str,
        new: ConfigSnapshot | None,
    ) -> None:
        """``RequestError(ResourceLimitExceeded)`` when ``name`` taking ``new`` passes a quota."""
        with self._lock:
            used_conc = used_eps = 0
            for other, snapshot in holdings.items():
                if other == name:
                    continue
                conc, eps = self._holding(region, other, snapshot)
                used_conc, used_eps = used_conc + conc, used_eps + eps
            now_conc, now_eps = self._holding(region, name, holdings.get(name))
            new_conc, new_eps = held(new)
            for quota, used, now, wanted in (
                (CONCURRENCY, used_conc, now_conc, new_conc),
                (ENDPOINTS, used_eps, now_eps, new_eps),
            ):
                limit = self.limit(quota)
                if wanted > now and used + wanted > limit:
                    raise RequestError(
                        LIMIT_EXCEEDED, limit_message(quota, limit, used + now, wanted - now)
                    )

    def _holding(self, region: str, name: str, snapshot: ConfigSnapshot | None) -> tuple[int, int]:
        conc, eps = held(snapshot)
        pending = self._reserved.get((region, name))
        if pending is not None:
            p_conc, p_eps = held(pending)
            conc, eps = max(conc, p_conc), max(eps, p_eps)
        return conc, eps

    def reserve(self, region: str, name: str, snapshot: ConfigSnapshot) -> None:
        """Count ``snapshot`` for endpoint ``name`` while its update is carried out."""
        with self._lock:
            self._reserved[(region, name)] = snapshot

    def release(self, region: str, name: str) -> None:
        """The update of ``name`` is over (done, rolled back or the endpoint deleted)."""
        with self._lock:
            self._reserved.pop((region, name), None)

    # -- Service Quotas API ----------------------------------------------------------
    def answer(self, action: str, region: str, account: str, params: dict[str, Any]) -> Any:
        """The Service Quotas answer for ``action`` (``RequestError`` when it has none)."""
        service = params.get("ServiceCode")
        default = "Default" in action
        if action.startswith("List"):
            quotas = QUOTAS if service == SERVICE_CODE else ()
            return {"Quotas": [self._entry(q, region, account, default) for q in quotas]}
        code = params.get("QuotaCode")
        for quota in QUOTAS:
            if service == SERVICE_CODE and code is not None and code == quota.code:
                return {"Quota": self._entry(quota, region, account, default)}
        raise RequestError(
            "NoSuchResourceException",
            f"The request failed because the specified quota {code} of service {service} "
            "does not exist.",
        )

    def _entry(self, quota: Quota, region: str, account: str, default: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "ServiceCode": SERVICE_CODE,
            "ServiceName": "Amazon SageMaker",
            "QuotaName": quota.name,
            "Value": float(quota.default if default else self.limit(quota)),
            "Unit": "None",
            "Adjustable": True,
            "GlobalQuota": False,
        }
        if quota.code is not None:
            entry["QuotaCode"] = quota.code
            where = f"{region}:{'' if default else account}"
            entry["QuotaArn"] = f"arn:aws:servicequotas:{where}:sagemaker/{quota.code}"
        return entry
