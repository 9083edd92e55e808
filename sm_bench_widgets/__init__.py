"""Benchmark Amazon SageMaker Serverless Inference configurations and get a recommendation."""

from __future__ import annotations

import importlib
from typing import Any

from sm_bench_widgets.config import BenchmarkConfig, ConfigError

__version__ = "0.1.0"

# public name -> module that defines it; imported on first use to keep import light
_LAZY = {
    "run_benchmark": "sm_bench_widgets.api",
    "start_benchmark": "sm_bench_widgets.api",
    "resume_benchmark": "sm_bench_widgets.api",
    "RunHandle": "sm_bench_widgets.api",
    "BenchmarkResult": "sm_bench_widgets.result",
    "BenchmarkPanel": "sm_bench_widgets.widgets",
    "LocalServerless": "sm_bench_widgets.emulator",
    "Target": "sm_bench_widgets.aws.clients",
}

__all__ = ["BenchmarkConfig", "ConfigError", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sm_bench_widgets' has no attribute {name!r}")
