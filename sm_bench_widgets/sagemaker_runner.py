"""Seed-compatible ``run_as_sagemaker_job``: run a benchmark as a SageMaker Processing job.

The seed toolkit's parameters and defaults come first; every other benchmark option is a
keyword (``memory_sizes=[2048]``, ...). Returns a ``ProcessingJobHandle`` to follow the job
(status, logs, progress, result), not a bare processor.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.jobs.options import DEFAULT_INSTANCE_TYPE, JobOptions

if TYPE_CHECKING:
    from sm_bench_widgets.aws.clients import Target
    from sm_bench_widgets.jobs.handle import ProcessingJobHandle

__all__ = ["run_as_sagemaker_job"]


def run_as_sagemaker_job(
    role: str | None,
    model_name: str,
    invoke_args_examples_file: str | os.PathLike[str],
    s3_output_path: str | None = None,
    wait: bool = False,
    *,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    instance_count: int = 1,
    volume_kms_key: str | None = None,
    output_kms_key: str | None = None,
    tags: Mapping[str, str] | list[dict[str, str]] | None = None,
    network_config: Any = None,
    max_runtime_in_seconds: int | None = None,
    image_uri: str | None = None,
    clients_per_host: int | None = None,
    target: Target | None = None,
    **benchmark_options: Any,
) -> ProcessingJobHandle:
    """Launch the benchmark of ``model_name`` as a Processing job and return its handle.

    ``role``: the job's IAM role ARN (None: SageMaker Studio's execution role).
    ``s3_output_path``: where the job's code, inputs and results go (None: the SageMaker
    default bucket). ``wait``: block until the job ends. ``network_config``:
    ``{"subnets": [...], "security_group_ids": [...]}``. ``clients_per_host`` (1 to 200):
    the clients one host drives, above which a concurrency trial is split over the
    ``instance_count`` hosts (None: measured by the first host). Every check (options, payload
    file, model) happens before anything is uploaded or created, raising ``ConfigError``
    naming the field.
    """
    from sm_bench_widgets.jobs.launcher import launch_job

    job = JobOptions(
        role=role,
        s3_output_path=s3_output_path,
        instance_type=instance_type,
        instance_count=instance_count,
        volume_kms_key=volume_kms_key,
        output_kms_key=output_kms_key,
        tags=tags,
        network_config=network_config,
        max_runtime_in_seconds=max_runtime_in_seconds,
        image_uri=image_uri,
        clients_per_host=clients_per_host,
    )
    config = BenchmarkConfig.from_dict(
        {
            "model_name": model_name,
            "invoke_args_examples_file": os.fspath(invoke_args_examples_file),
            **benchmark_options,
        }
    )
    handle = launch_job(config, target, job)
    if wait:
        handle.wait()
    return handle
