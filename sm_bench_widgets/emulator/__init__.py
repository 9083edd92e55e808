"""A local stand-in for SageMaker Serverless Inference (control plane from moto).

``LocalServerless`` serves sagemaker, sagemaker-runtime, cloudwatch, s3 and sts at one URL;
``embedded()`` is the process-wide one the panel and the demo use without AWS credentials;
``sagemaker_session(emulator)`` is a sagemaker SDK session whose every client is at it.
Its numbers are emulated.
"""

from __future__ import annotations

import importlib
from typing import Any

from sm_bench_widgets.emulator.profiles import DEMO_PROFILES, ModelProfile, vcpus_for_memory
from sm_bench_widgets.emulator.samples import demo_examples, demo_latency_bound_ms

# The server (and moto) load on first use, so that a light submodule such as ``demo_io``,
# which the demo inference script imports in its worker, keeps that worker's cold start small.
_LAZY = {
    "LocalServerless": "sm_bench_widgets.emulator.server",
    "embedded": "sm_bench_widgets.emulator.server",
    "sagemaker_session": "sm_bench_widgets.emulator.sdk_session",
}

__all__ = [
    "DEMO_PROFILES",
    "LocalServerless",
    "ModelProfile",
    "demo_examples",
    "demo_latency_bound_ms",
    "embedded",
    "sagemaker_session",
    "vcpus_for_memory",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sm_bench_widgets.emulator' has no attribute {name!r}")
