"""The sagemaker SDK (``sagemaker-core``), imported only when a job is launched.

``sdk_session(target)`` gives the SDK a session whose every boto3 client comes from the
target's client factory, STS included (the SDK otherwise builds its STS client with a fixed
regional URL and ignores ``AWS_ENDPOINT_URL``), so the same code reaches AWS or the
emulator. The defaults a job takes from the SDK live here too: the execution role in
SageMaker Studio, the default bucket and the stock scikit-learn image of the region.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import boto3

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.config import ConfigError

INSTALL_COMMAND = "pip install 'sm-bench-widgets[jobs]'"
# the stock image the job runs in: Python 3.12 with boto3, numpy and pandas
IMAGE_FRAMEWORK = "sklearn"
IMAGE_VERSION = "1.4-2-py312"
IMAGE_SCOPE = "training"
# SageMaker Studio and notebook instances describe themselves here
STUDIO_METADATA_FILE = "/opt/ml/metadata/resource-metadata.json"
# the SDK's client names that differ from botocore's service names
_SERVICE_ALIASES = {"runtime.sagemaker": "sagemaker-runtime"}


class SdkMissing(ImportError):
    """The sagemaker SDK is not installed; the message says how to install it."""


def require_sdk() -> None:
    """Raise ``SdkMissing`` (naming the install command) unless ``sagemaker.core`` imports."""
    try:
        importlib.import_module("sagemaker.core.processing")
    except ImportError as exc:
        raise SdkMissing(
            f"Processing jobs need the sagemaker SDK (sagemaker-core): {INSTALL_COMMAND}"
        ) from exc


class _TargetBotoSession(boto3.session.Session):
    """A boto3 session whose clients (and so resources) are the target's clients."""

    def __init__(self, target: Target):
        kwargs: dict[str, Any] = {"region_name": target.region_name}
        if target.profile:
            kwargs["profile_name"] = target.profile
        if target.emulated:
            kwargs.update(aws_access_key_id="emulated", aws_secret_access_key="emulated")
        super().__init__(**kwargs)
        self._target = target

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        """The target's client for ``service_name``; region and endpoint are the target's."""
        return self._target.client(_SERVICE_ALIASES.get(service_name, service_name))


def sdk_session(target: Target) -> Any:
    """A ``sagemaker.core`` session at ``target`` (its clients from ``target.client``)."""
    require_sdk()
    from sagemaker.core.helper.session_helper import Session

    return Session(boto_session=_TargetBotoSession(target))


def in_studio() -> bool:
    """Whether this runs in SageMaker Studio or on a notebook instance."""
    return os.path.exists(STUDIO_METADATA_FILE)


def default_role(session: Any) -> str:
    """The Studio (or notebook instance) execution role; ``ConfigError`` elsewhere."""
    allowed = "an IAM role ARN SageMaker can assume, arn:aws:iam::<account>:role/<name>"
    if not in_studio():
        raise ConfigError("role", None, f"{allowed} (required outside SageMaker Studio)")
    from sagemaker.core.helper.session_helper import get_execution_role

    try:
        return str(get_execution_role(session))
    except ValueError as exc:
        raise ConfigError("role", None, f"{allowed} ({exc})") from None


def default_output(session: Any) -> str:
    """``s3://<the SDK's default bucket>/[<its prefix>/]sm-bench-widgets``."""
    parts = [session.default_bucket(), session.default_bucket_prefix, "sm-bench-widgets"]
    return "s3://" + "/".join(p.strip("/") for p in parts if p)


def image_uri(region: str, instance_type: str) -> str:
    """The stock scikit-learn image of ``region`` (what the job runs in by default)."""
    from sagemaker.core import image_uris

    return str(
        image_uris.retrieve(
            IMAGE_FRAMEWORK,
            region,
            version=IMAGE_VERSION,
            instance_type=instance_type,
            image_scope=IMAGE_SCOPE,
        )
    )
