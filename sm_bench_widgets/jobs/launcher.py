"""Launch a benchmark as a SageMaker Processing job with the sagemaker SDK.

Everything is checked first (the job options, the benchmark config, its payloads, the
model), then the job's code (``bootstrap.py`` and wheels) and its benchmark (config.json,
payloads.jsonl) are uploaded under ``<s3_output_path>/<job_name>/``, and the job is
created: the stock scikit-learn image, our bootstrap as the entrypoint, the run store
written to an output in Continuous upload mode so results reach S3 while it runs.
"""

from __future__ import annotations

import json
import re
import secrets
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.aws.endpoints import TOOL_TAG_KEY, TOOL_TAG_VALUE, check_model
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.engine.deploy import account_quotas, check_quotas
from sm_bench_widgets.engine.options import new_run_id, prepare, with_region
from sm_bench_widgets.jobs import s3 as s3paths
from sm_bench_widgets.jobs import sdk
from sm_bench_widgets.jobs.bundle import build_code
from sm_bench_widgets.jobs.entrypoint import CONFIG_FILE, PAYLOADS_FILE
from sm_bench_widgets.jobs.handle import RESULTS_OUTPUT, ProcessingJobHandle
from sm_bench_widgets.jobs.options import JobOptions
from sm_bench_widgets.payloads import write_jsonl

PROCESSING = "/opt/ml/processing"
CODE_DIR = f"{PROCESSING}/input/code"
BENCHMARK_DIR = f"{PROCESSING}/input/benchmark"
RESULTS_DIR = f"{PROCESSING}/output/results"
ENTRYPOINT = ["python3", f"{CODE_DIR}/bootstrap.py"]
ARGUMENTS = ["--input", BENCHMARK_DIR, "--output", RESULTS_DIR]
ENVIRONMENT = {"PYTHONUNBUFFERED": "1"}  # log lines reach CloudWatch as they are printed


def job_name_for(model_name: str) -> str:
    """A unique job name: ``sm-bench-<model>-<UTC time>-<4 hex>`` within 63 characters."""
    model = re.sub(r"[^a-zA-Z0-9]+", "-", model_name).strip("-")[:24] or "model"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"sm-bench-{model}-{stamp}-{secrets.token_hex(2)}"


def launch_job(
    config: BenchmarkConfig,
    target: Target | None = None,
    job: JobOptions | None = None,
    *,
    job_name: str | None = None,
    cache_dir: str | Path | None = None,
) -> ProcessingJobHandle:
    """Check everything, upload the job's code and benchmark, create the job; its handle.

    Raises ``ConfigError`` (naming the field) for a bad option, payload or model, or a grid
    that can never fit the account's serverless quotas, and ``SdkMissing`` without the
    sagemaker SDK, before anything is uploaded or created.
    """
    job = job or JobOptions()
    job.validate()
    sdk.require_sdk()
    sampler = prepare(config)
    target = with_region(config, target or Target.from_environment())
    check_model(target, config.model_name)
    check_quotas(account_quotas(target, config), config)
    session = sdk.sdk_session(target)
    job = replace(
        job,
        role=job.role or sdk.default_role(session),
        s3_output_path=job.s3_output_path or sdk.default_output(session),
    )
    image = job.image_uri or sdk.image_uri(target.region_name, job.instance_type)
    name = job_name or job_name_for(config.model_name)
    base = s3paths.join(job.s3_output_path, name)
    with tempfile.TemporaryDirectory(prefix="sm-bench-job-") as folder:
        code, benchmark = Path(folder, "code"), Path(folder, "benchmark")
        build_code(code)
        benchmark.mkdir()
        options = config.replace(invoke_args_examples_file=None, invoke_args_examples=None)
        (benchmark / CONFIG_FILE).write_text(json.dumps(options.to_dict(), indent=2))
        write_jsonl(sampler.examples, benchmark / PAYLOADS_FILE)
        extra = _encryption(job.output_kms_key)
        s3 = target.client("s3")
        s3paths.upload_folder(s3, code, s3paths.join(base, "code"), extra)
        s3paths.upload_folder(s3, benchmark, s3paths.join(base, "benchmark"), extra)
    results = s3paths.join(base, RESULTS_OUTPUT) + "/"
    # every host runs its share of the same run, and reads the others' results from S3
    arguments = [*ARGUMENTS, "--run-id", new_run_id(), "--results-s3", results]
    if job.clients_per_host is not None:
        arguments += ["--clients-per-host", str(job.clients_per_host)]
    _create(session, job, image, name, base, results, arguments)
    return ProcessingJobHandle(name, results, target, cache_dir)


def _encryption(kms_key: str | None) -> dict[str, str] | None:
    """S3 upload arguments that encrypt with ``kms_key`` (the job's output key)."""
    if kms_key is None:
        return None
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}


def _create(
    session: Any,
    job: JobOptions,
    image: str,
    name: str,
    base: str,
    results: str,
    arguments: list[str],
) -> None:
    """CreateProcessingJob through the SDK's ``Processor``, without waiting."""
    from sagemaker.core.network import NetworkConfig
    from sagemaker.core.processing import Processor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )

    network = None
    if job.network_config is not None:
        network = NetworkConfig(
            subnets=job.network_config["subnets"],
            security_group_ids=job.network_config["security_group_ids"],
        )
    processor = Processor(
        role=job.role,
        image_uri=image,
        instance_count=job.instance_count,
        instance_type=job.instance_type,
        entrypoint=list(ENTRYPOINT),
        volume_kms_key=job.volume_kms_key,
        output_kms_key=job.output_kms_key,
        max_runtime_in_seconds=job.max_runtime_in_seconds,
        sagemaker_session=session,
        env=dict(ENVIRONMENT),
        tags=[{"Key": TOOL_TAG_KEY, "Value": TOOL_TAG_VALUE}, *job.tag_list],
        network_config=network,
    )
    inputs = [
        ProcessingInput(
            input_name=input_name,
            s3_input=ProcessingS3Input(
                s3_uri=s3paths.join(base, input_name) + "/",
                local_path=local_path,
                s3_data_type="S3Prefix",
                s3_input_mode="File",
                s3_data_distribution_type="FullyReplicated",
            ),
        )
        for input_name, local_path in (("code", CODE_DIR), ("benchmark", BENCHMARK_DIR))
    ]
    outputs = [
        ProcessingOutput(
            output_name=RESULTS_OUTPUT,
            s3_output=ProcessingS3Output(
                s3_uri=results, local_path=RESULTS_DIR, s3_upload_mode="Continuous"
            ),
        )
    ]
    processor.run(
        inputs=inputs,
        outputs=outputs,
        arguments=arguments,
        wait=False,
        logs=False,
        job_name=name,
    )
