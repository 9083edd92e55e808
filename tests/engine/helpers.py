"""Helpers for engine tests: small configs and the endpoints an account holds."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.config import BenchmarkConfig

CSV_EXAMPLES = [
    {"Body": "1,2,3,4", "ContentType": "text/csv"},
    {"Body": "5.1,3.5,1.4,0.2", "ContentType": "text/csv"},
]


def small_config(tmp_path: Path, **changes: Any) -> BenchmarkConfig:
    """A quick stability-only config of demo-nlp at 2048 MB writing under ``tmp_path``."""
    fields: dict[str, Any] = dict(
        model_name="demo-nlp",
        invoke_args_examples=list(CSV_EXAMPLES),
        memory_sizes=[2048],
        stability_benchmark_invocations=40,
        include_concurrency_benchmark=False,
        concurrency_benchmark_invocations=40,
        result_save_path=str(tmp_path),
    )
    fields.update(changes)
    return BenchmarkConfig(**fields)


def endpoint_names(target: Target) -> list[str]:
    """Every endpoint and endpoint config the target's account holds."""
    sm = target.client("sagemaker")
    names = [e["EndpointName"] for e in sm.list_endpoints(MaxResults=100)["Endpoints"]]
    names += [
        c["EndpointConfigName"] for c in sm.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]
    ]
    return names


# A run in a process of its own, to be killed: argv = endpoint URL, result path, invocations.
KILLABLE_RUN = textwrap.dedent("""
    import sys
    from sm_bench_widgets.api import run_benchmark
    from sm_bench_widgets.aws.clients import Target
    from sm_bench_widgets.config import BenchmarkConfig
    config = BenchmarkConfig(
        model_name="demo-nlp", memory_sizes=[2048], adaptive=False,
        invoke_args_examples=[{"Body": b"1,2,3,4", "ContentType": "text/csv"}],
        stability_benchmark_invocations=int(sys.argv[3]), include_concurrency_benchmark=False,
        result_save_path=sys.argv[2])
    run_benchmark(config, Target.for_emulator(sys.argv[1]), progress=False)
""")
