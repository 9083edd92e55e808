"""The account's serverless quotas: read before deploying, so a run plans to fit them.

AWS limits, per account and region, the total MaxConcurrency of all serverless endpoints
(documented default 200; new accounts have been reported at 10) and the number of
serverless endpoint variants (documented 50). Past either, CreateEndpoint fails with
``ResourceLimitExceeded``. The values come from the Service Quotas API when the caller may
read it, else the documented defaults; a value the user gives wins over both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sm_bench_widgets.aws.clients import Target

logger = logging.getLogger(__name__)

SERVICE_CODE = "sagemaker"
# Statuses of endpoints that hold no capacity (a Deleting one is on its way out).
NOT_COUNTED = frozenset({"Deleting"})


@dataclass(frozen=True)
class Quota:
    """One serverless quota: its Service Quotas code (when known), name and default."""

    key: str
    name: str
    default: int
    code: str | None = None


CONCURRENCY = Quota(
    "max_concurrency",
    "Maximum total concurrency that can be allocated across all serverless endpoints",
    200,
    code="L-96300102",
)
ENDPOINTS = Quota("max_endpoints", "Maximum number of serverless endpoints", 50)
QUOTAS = (CONCURRENCY, ENDPOINTS)


@dataclass(frozen=True)
class AccountQuotas:
    """The serverless quotas a run plans with, and where each value came from."""

    max_concurrency: int
    max_endpoints: int
    region: str
    sources: tuple[str, str] = ("documented default", "documented default")

    def source(self, quota: Quota) -> str:
        """Where the value of ``quota`` came from."""
        return self.sources[QUOTAS.index(quota)]

    def value(self, quota: Quota) -> int:
        """The value of ``quota``."""
        return self.max_concurrency if quota is CONCURRENCY else self.max_endpoints


@dataclass(frozen=True)
class Usage:
    """What the account's serverless endpoints hold now (every tool's, not only ours)."""

    concurrency: int = 0
    endpoints: int = 0


def read_quotas(
    target: Target,
    max_concurrency: int | None = None,
    max_endpoints: int | None = None,
) -> AccountQuotas:
    """The quotas of the target's account and region: given values, else Service Quotas,
    else the documented defaults (when Service Quotas may not be read)."""
    given = {CONCURRENCY: max_concurrency, ENDPOINTS: max_endpoints}
    values: dict[Quota, int] = {}
    sources: dict[Quota, str] = {}
    client, readable = None, True
    for quota in QUOTAS:
        if given[quota] is not None:
            values[quota], sources[quota] = int(given[quota]), "given"
            continue
        if client is None:
            client = target.client("service-quotas")
        found = None
        if readable:  # once Service Quotas failed to answer, it is not asked again
            found, readable = _read_quota(client, quota)
        if found is None:
            values[quota], sources[quota] = quota.default, "documented default"
        else:
            values[quota], sources[quota] = found, "Service Quotas"
    return AccountQuotas(
        values[CONCURRENCY],
        values[ENDPOINTS],
        target.region_name,
        (sources[CONCURRENCY], sources[ENDPOINTS]),
    )


def _read_quota(client: Any, quota: Quota) -> tuple[int | None, bool]:
    """The applied value of ``quota`` (or AWS's default for the account), None if not found;
    and False when Service Quotas cannot be read (not allowed, not served, unreachable)."""
    try:
        if quota.code is not None:
            try:
                answer = client.get_service_quota(ServiceCode=SERVICE_CODE, QuotaCode=quota.code)
            except ClientError as err:
                if _code(err) != "NoSuchResourceException":
                    raise
                answer = client.get_aws_default_service_quota(
                    ServiceCode=SERVICE_CODE, QuotaCode=quota.code
                )
            return _value(answer.get("Quota", {})), True
        for operation in ("list_service_quotas", "list_aws_default_service_quotas"):
            for page in client.get_paginator(operation).paginate(ServiceCode=SERVICE_CODE):
                for entry in page.get("Quotas", []):
                    if str(entry.get("QuotaName", "")).lower() == quota.name.lower():
                        return _value(entry), True
    except (ClientError, BotoCoreError) as err:
        logger.info("cannot read the quota %r (%s); using its documented default", quota.name, err)
        return None, False
    return None, True


def _value(entry: dict[str, Any]) -> int | None:
    value = entry.get("Value")
    return int(value) if isinstance(value, int | float) else None


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def serverless_usage(target: Target) -> Usage:
    """The MaxConcurrency and variants held by every serverless endpoint of the account."""
    sm = target.client("sagemaker")
    names = [
        e["EndpointName"]
        for page in sm.get_paginator("list_endpoints").paginate()
        for e in page.get("Endpoints", [])
        if e.get("EndpointStatus") not in NOT_COUNTED
    ]
    if not names:
        return Usage()
    with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
        held = list(pool.map(lambda n: _held(sm, n), names))
    return Usage(sum(c for c, _ in held), sum(v for _, v in held))


def _held(sm: Any, name: str) -> tuple[int, int]:
    """(MaxConcurrency, serverless variants) endpoint ``name`` holds; (0, 0) once gone."""
    try:
        desc = sm.describe_endpoint(EndpointName=name)
    except ClientError:
        return 0, 0
    configs = [
        v.get("DesiredServerlessConfig") or v.get("CurrentServerlessConfig")
        for v in desc.get("ProductionVariants") or []
    ]
    if not configs or not all(configs):
        try:
            config = sm.describe_endpoint_config(EndpointConfigName=desc["EndpointConfigName"])
            configs = [v.get("ServerlessConfig") for v in config.get("ProductionVariants", [])]
        except ClientError:
            configs = [c for c in configs if c]
    serverless = [c for c in configs if c]
    return sum(int(c.get("MaxConcurrency", 0)) for c in serverless), len(serverless)


def increase_hint(quota: Quota, region: str, wanted: int) -> str:
    """How to ask AWS for ``quota`` at ``wanted`` in ``region``."""
    where = f"Service Quotas > Amazon SageMaker > '{quota.name}' in {region}"
    if quota.code is None:
        return f"ask AWS for an increase to {wanted} ({where})"
    return (
        f"ask AWS for an increase to {wanted} ({where}, or `aws service-quotas "
        f"request-service-quota-increase --region {region} --service-code {SERVICE_CODE} "
        f"--quota-code {quota.code} --desired-value {wanted}`)"
    )


def describe(quotas: AccountQuotas, quota: Quota) -> str:
    """``quota`` named with its code, value and source, for messages."""
    code = f" ({quota.code})" if quota.code else ""
    return (
        f"the quota '{quota.name}'{code} is {quotas.value(quota)} in {quotas.region} "
        f"({quotas.source(quota)})"
    )


def fits(shapes: Iterable[int], quotas: AccountQuotas, usage: Usage) -> bool:
    """Whether endpoints of the given MaxConcurrency values fit next to ``usage``."""
    values = list(shapes)
    return (
        usage.concurrency + sum(values) <= quotas.max_concurrency
        and usage.endpoints + len(values) <= quotas.max_endpoints
    )
