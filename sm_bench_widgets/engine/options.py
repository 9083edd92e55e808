"""How a run works beyond what it benchmarks, and the checks made before any AWS call."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.config import BenchmarkConfig, ConfigError, check_result_folder
from sm_bench_widgets.engine.plan import check_provisioned
from sm_bench_widgets.payloads import PayloadSampler, load_examples


@dataclass
class RunOptions:
    """How the engine works, beyond what to benchmark (``BenchmarkConfig``).

    ``cloudwatch_wait``: seconds to wait for an endpoint's metrics to show up (None: 60 on
    AWS, 1 against the emulator). ``pause``: a function giving the seconds to sleep before
    each invocation (overrides ``config.invocation_pause``; the seed paused
    ``random.random()`` seconds). ``seed``: payload draw seed. ``store_segment_seconds``:
    write the run store as segment files closed at least this often (a Processing job's
    output, uploaded file by file while it runs); None writes one file per stream.
    ``load_in_worker``: send each trial's load from a worker process (False: threads in
    this process, which analysis and garbage collection here can delay).
    """

    cloudwatch_wait: float | None = None
    batch_interval: float = 0.2
    batch_size: int = 50
    check_every: int = 10
    race_interval: float = 0.5
    endpoint_poll: float | None = None
    pause: Callable[[], float] | None = None
    seed: int | None = None
    store_segment_seconds: float | None = None
    load_in_worker: bool = True


class RunFailed(RuntimeError):
    """The run could not produce results; the message says why."""


def new_run_id() -> str:
    """A short, unique, sortable-enough run id (8 hex digits)."""
    return secrets.token_hex(4)


def load_payloads(config: BenchmarkConfig, seed: int | None = None) -> PayloadSampler:
    """The payload sampler for ``config``; raises ``ConfigError`` on bad examples."""
    if config.invoke_args_examples is not None:
        examples = config.invoke_args_examples  # PayloadSampler checks them
    else:
        examples = load_examples(config.invoke_args_examples_file, config.allow_pickle)
    return PayloadSampler(examples, config.payload_weights, seed=seed)


def check_config(config: BenchmarkConfig, runnable: bool = True) -> None:
    """Every check of the options a run makes (``runnable``: model and payloads given too);
    raises ``ConfigError`` naming the field."""
    config.validate()
    if runnable:
        config.require_runnable()
    check_provisioned(config)


def with_region(config: BenchmarkConfig, target: Target) -> Target:
    """``target`` with the run's region, or ``ConfigError`` when none is configured.

    On AWS a region is never guessed: the calls would create endpoints somewhere the user
    does not look. An endpoint URL (the emulator) needs none; ``config.region`` fills in
    a target that has none.
    """
    if target.region or target.endpoint_url or target.emulated:
        return target
    if config.region:
        return dataclasses.replace(target, region=config.region)
    import boto3

    if boto3.session.Session(profile_name=target.profile).region_name:
        return target
    raise ConfigError(
        "region",
        None,
        "an AWS region such as us-east-1: --region (region= in Python), AWS_REGION or "
        "AWS_DEFAULT_REGION, or region in the profile's ~/.aws/config section",
    )


def prepare(config: BenchmarkConfig, seed: int | None = None) -> PayloadSampler:
    """Every check a run needs before any AWS call; returns the payload sampler."""
    check_config(config)
    sampler = load_payloads(config, seed)
    check_result_folder(config.result_save_path)
    return sampler
