"""A sagemaker SDK (``sagemaker.core``) session whose every client is at the emulator.

The SDK builds its STS client with a fixed regional URL, so a plain ``Session()`` fails on
``account_id()`` and ``default_bucket()`` even with ``AWS_ENDPOINT_URL`` set. The session
here takes all its clients (sagemaker, runtime, s3, sts, logs, cloudwatch, iam) from one
``Target`` at the emulator, as the Processing-job launcher does.
"""

from __future__ import annotations

from typing import Any


def emulator_url(emulator: Any) -> str:
    """The URL of an emulator: a ``LocalServerless``, a served one, or the URL itself."""
    if isinstance(emulator, str):
        return emulator
    for attr in ("endpoint_url", "url"):
        url = getattr(emulator, attr, None)
        if isinstance(url, str) and url:
            return url
    raise TypeError(
        f"expected a LocalServerless, a served emulator or its URL, got {type(emulator).__name__}"
    )


def sagemaker_session(emulator: Any, region: str = "us-east-1") -> Any:
    """A ``sagemaker.core`` Session at ``emulator`` (dummy credentials, ``region``)."""
    from sm_bench_widgets.aws.clients import Target
    from sm_bench_widgets.jobs.sdk import sdk_session

    return sdk_session(Target.for_emulator(emulator_url(emulator), region=region))
