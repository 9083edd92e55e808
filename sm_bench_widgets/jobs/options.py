"""``JobOptions``: how a benchmark runs as a SageMaker Processing job, validated once.

Every field is checked at construction, before anything is uploaded or created; a bad
value raises ``ConfigError`` naming the field and what is allowed. The role and the S3
output may be left out: the launcher fills them in from SageMaker Studio's execution role
and the SDK session's default bucket.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sm_bench_widgets.config import ConfigError
from sm_bench_widgets.limits import (
    MAX_CONCURRENCY_RANGE,
    PROCESSING_INSTANCE_COUNT_RANGE,
    PROCESSING_MAX_RUNTIME_RANGE,
)

DEFAULT_INSTANCE_TYPE = "ml.m5.large"

# patterns of the SageMaker API reference (CreateProcessingJob and its shapes)
ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
KMS_KEY = re.compile(r"^[a-zA-Z0-9:/_\-]{1,2048}$")
SUBNET = re.compile(r"^subnet-[0-9a-z]+$")
SECURITY_GROUP = re.compile(r"^sg-[0-9a-z]+$")
S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")
MAX_TAGS = 50  # per resource, ours included
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5
# clients one host drives: at most the most an endpoint serves at once (MaxConcurrency)
CLIENTS_PER_HOST_RANGE = (1, MAX_CONCURRENCY_RANGE[1])


@dataclass
class JobOptions:
    """Where and how the Processing job runs; see each field's check for what is allowed.

    ``network_config``: ``{"subnets": [...], "security_group_ids": [...]}`` (or the SDK's
    ``NetworkConfig``) to run in a VPC, which then needs endpoints or a NAT for the
    SageMaker, S3 and CloudWatch APIs: the job calls them, never a package index.
    ``tags``: a dict or a list of ``{"Key", "Value"}``, added to the tool's own tag.
    ``clients_per_host``: the clients one host drives faithfully; a concurrency trial with
    more is split over up to ``instance_count`` hosts in one time window. None (the
    default): the first host measures it (``engine.load_check.load_capacity`` at the
    stability requests' latency). Set it (1 to 200) to split smaller trials, e.g. in a test.
    """

    role: str | None = None
    s3_output_path: str | None = None
    instance_type: str = DEFAULT_INSTANCE_TYPE
    instance_count: int = 1
    volume_kms_key: str | None = None
    output_kms_key: str | None = None
    tags: Mapping[str, str] | list[dict[str, str]] | None = None
    network_config: Any = None
    max_runtime_in_seconds: int | None = None
    image_uri: str | None = None
    clients_per_host: int | None = None
    _normal_tags: list[dict[str, str]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every field; raises ``ConfigError`` naming the first bad one."""
        if self.role is not None and not (isinstance(self.role, str) and ROLE_ARN.match(self.role)):
            raise ConfigError(
                "role", self.role, "an IAM role ARN, arn:aws:iam::<account>:role/<name>"
            )
        if self.s3_output_path is not None and not (
            isinstance(self.s3_output_path, str) and S3_URI.match(self.s3_output_path)
        ):
            raise ConfigError("s3_output_path", self.s3_output_path, "an s3://bucket/prefix URI")
        if not (isinstance(self.instance_type, str) and INSTANCE_TYPE.match(self.instance_type)):
            raise ConfigError(
                "instance_type", self.instance_type, "a Processing instance type, e.g. ml.m5.large"
            )
        _check_instance_count(self.instance_count)
        for name in ("volume_kms_key", "output_kms_key"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and KMS_KEY.match(value)):
                raise ConfigError(name, value, "a KMS key id, key ARN or alias ARN")
        self._normal_tags = _check_tags(self.tags)
        self.network_config = _check_network(self.network_config)
        low, high = PROCESSING_MAX_RUNTIME_RANGE
        runtime = self.max_runtime_in_seconds
        if runtime is not None and not (
            isinstance(runtime, int) and not isinstance(runtime, bool) and low <= runtime <= high
        ):
            raise ConfigError(
                "max_runtime_in_seconds", runtime, f"an integer from {low} to {high} (9 days)"
            )
        check_clients_per_host(self.clients_per_host)
        if self.image_uri is not None and not (
            isinstance(self.image_uri, str)
            and self.image_uri
            and not re.search(r"\s", self.image_uri)
        ):
            raise ConfigError("image_uri", self.image_uri, "a container image URI")

    @property
    def tag_list(self) -> list[dict[str, str]]:
        """The user's tags as ``[{"Key", "Value"}]``."""
        return list(self._normal_tags)


def check_clients_per_host(per_host: Any) -> None:
    """``clients_per_host`` is None (measured) or a whole number in range; ``ConfigError``."""
    low, high = CLIENTS_PER_HOST_RANGE
    if per_host is not None and not (
        isinstance(per_host, int) and not isinstance(per_host, bool) and low <= per_host <= high
    ):
        raise ConfigError(
            "clients_per_host",
            per_host,
            f"an integer from {low} to {high}, or None to measure it on the first host",
        )


def _check_instance_count(count: Any) -> None:
    low, high = PROCESSING_INSTANCE_COUNT_RANGE
    if not isinstance(count, int) or isinstance(count, bool) or not low <= count <= high:
        raise ConfigError("instance_count", count, f"an integer from {low} to {high}")


def _check_tags(tags: Any) -> list[dict[str, str]]:
    if tags is None:
        return []
    if isinstance(tags, Mapping):
        pairs = list(tags.items())
    elif isinstance(tags, list) and all(isinstance(t, Mapping) and "Key" in t for t in tags):
        pairs = [(t["Key"], t.get("Value", "")) for t in tags]
    else:
        raise ConfigError("tags", tags, 'a dict, or a list of {"Key": ..., "Value": ...}')
    for key, value in pairs:
        if not (isinstance(key, str) and 1 <= len(key) <= 128) or key.lower().startswith("aws:"):
            raise ConfigError("tags", key, "tag keys of 1 to 128 characters, not starting aws:")
        if not (isinstance(value, str) and len(value) <= 256):
            raise ConfigError("tags", value, "tag values: strings of at most 256 characters")
    if len(pairs) > MAX_TAGS - 1:
        raise ConfigError("tags", len(pairs), f"at most {MAX_TAGS - 1} tags (one is the tool's)")
    return [{"Key": k, "Value": v} for k, v in pairs]


def _check_network(config: Any) -> dict[str, Any] | None:
    """The network config as ``{"subnets", "security_group_ids"}`` lists, checked."""
    if config is None:
        return None
    if not isinstance(config, Mapping):  # the SDK's NetworkConfig
        config = {
            "subnets": getattr(config, "subnets", None),
            "security_group_ids": getattr(config, "security_group_ids", None),
            "enable_network_isolation": getattr(config, "enable_network_isolation", False),
        }
    allowed = {"subnets", "security_group_ids", "enable_network_isolation"}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ConfigError("network_config", unknown[0], "keys subnets and security_group_ids")
    if config.get("enable_network_isolation"):
        raise ConfigError(
            "network_config",
            "enable_network_isolation",
            "False: the job calls the SageMaker, S3 and CloudWatch APIs",
        )
    subnets = config.get("subnets")
    groups = config.get("security_group_ids")
    if not _ids(subnets, SUBNET, MAX_SUBNETS):
        raise ConfigError(
            "network_config.subnets", subnets, f"1 to {MAX_SUBNETS} subnet ids (subnet-...)"
        )
    if not _ids(groups, SECURITY_GROUP, MAX_SECURITY_GROUPS):
        raise ConfigError(
            "network_config.security_group_ids",
            groups,
            f"1 to {MAX_SECURITY_GROUPS} security group ids (sg-...)",
        )
    return {"subnets": list(subnets), "security_group_ids": list(groups)}


def _ids(values: Any, pattern: re.Pattern[str], most: int) -> bool:
    return (
        isinstance(values, list | tuple)
        and 1 <= len(values) <= most
        and all(isinstance(v, str) and pattern.match(v) for v in values)
    )
