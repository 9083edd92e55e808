"""How a run works beyond what it benchmarks, and the checks made before any AWS call."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sm_bench_widgets.config import BenchmarkConfig
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
        examples = load_examples(config.invoke_args_examples_file)
    return PayloadSampler(examples, config.payload_weights, seed=seed)


def check_config(config: BenchmarkConfig, runnable: bool = True) -> None:
    """Every check of the options a run makes (``runnable``: model and payloads given too);
    raises ``ConfigError`` naming the field."""
    config.validate()
    if runnable:
        config.require_runnable()
    check_provisioned(config)


def prepare(config: BenchmarkConfig, seed: int | None = None) -> PayloadSampler:
    """Every check a run needs before any AWS call; returns the payload sampler."""
    check_config(config)
    return load_payloads(config, seed)
