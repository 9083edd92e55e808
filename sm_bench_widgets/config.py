"""``BenchmarkConfig``: every option of a benchmark, validated once at construction.

The seed toolkit's option names and defaults are kept for the seed's options; an invalid
value raises ``ConfigError`` naming the field, the value and what is allowed, before any
AWS call is made.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from typing import Any

from sm_bench_widgets.limits import (
    MAX_CONCURRENCY_RANGE,
    MEMORY_SIZES,
    PROVISIONED_CONCURRENCY_RANGE,
)

# How long the tool waits for an endpoint to reach InService or to be deleted, by default.
ENDPOINT_WAIT_TIMEOUT_S = 1800.0

STRATEGIES = ("cost", "speed", "balanced")
# Clients per trial are ceil(MaxConcurrency x multiplier): 10 x 200 is already 2000 threads.
MAX_CLIENTS_MULTIPLIER = 10.0
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
SLA_PERCENTILES = (50, 90, 95, 99)


class ConfigError(ValueError):
    """An option has a value that is not allowed; the message names field and allowed values."""

    def __init__(self, field_name: str, value: Any, allowed: str):
        self.field = field_name
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field_name}={value!r} is not allowed: {allowed}")


@dataclass
class BenchmarkConfig:
    """What to benchmark and how; see the README for each option."""

    model_name: str = ""
    invoke_args_examples_file: str | None = None
    invoke_args_examples: list[dict[str, Any]] | None = None
    payload_weights: list[float] | None = None
    # Seed options, with the seed's defaults.
    cold_start_delay: int = 0
    memory_sizes: list[int] = field(default_factory=lambda: list(MEMORY_SIZES))
    stability_benchmark_invocations: int = 1000
    stability_benchmark_error_thresh: int = 3
    include_concurrency_benchmark: bool = True
    concurrency_benchmark_max_conc: list[int] = field(default_factory=lambda: [2, 4, 8])
    concurrency_benchmark_invocations: int = 1000
    concurrency_num_clients_multiplier: list[float] = field(
        default_factory=lambda: [1, 1.5, 1.75, 2]
    )
    result_save_path: str = "."
    # Options beyond the seed.
    provisioned_concurrency: list[int] = field(default_factory=list)
    adaptive: bool = True
    precision: float = 0.05
    # a percentile known within +-precision_ms is known well enough whatever its size: on
    # AWS the network and the client add milliseconds of jitter of their own, so +-5% of
    # a 5 ms latency would measure noise (and take hundreds of invocations); 0 turns it off
    precision_ms: float = 1.0
    confidence: float = 0.95
    min_invocations: int = 30
    cold_start_probes: int = 1
    invocation_pause: float = 0.0
    strategy: str = "balanced"
    balanced_weight: float = 0.5
    sla_percentile: int | None = None
    sla_ms: float | None = None
    max_error_rate: float | None = None
    indifference: float = 0.02
    monthly_invocations: int = 1_000_000
    # The user's traffic (sm_bench_widgets.traffic.Traffic or its dict): sizes the answer.
    traffic: Any = None
    comparison_instance_type: str = "ml.c5.large"
    region: str | None = None
    pricing_overrides: dict[str, float] | None = None
    fetch_cloudwatch: bool = True
    endpoint_wait_timeout: float = ENDPOINT_WAIT_TIMEOUT_S
    allow_pickle: bool = False
    # The account's serverless quotas, when known better than Service Quotas tells (None:
    # read them, else AWS's documented 200 total MaxConcurrency and 50 endpoints).
    account_max_concurrency: int | None = None
    account_max_endpoints: int | None = None

    def __post_init__(self) -> None:
        self.validate()

    # -- validation ---------------------------------------------------------------------
    def validate(self) -> None:
        """Check every field; raise ``ConfigError`` on the first invalid one."""
        if not isinstance(self.model_name, str):
            raise ConfigError("model_name", self.model_name, "a SageMaker model name (str)")
        if self.invoke_args_examples_file is not None and (
            not isinstance(self.invoke_args_examples_file, str | os.PathLike)
            or not str(self.invoke_args_examples_file)
        ):
            raise ConfigError(
                "invoke_args_examples_file",
                self.invoke_args_examples_file,
                "the path of a JSON Lines (or, with allow_pickle, .pkl) file, or None",
            )
        _int_list("memory_sizes", self.memory_sizes, allowed=MEMORY_SIZES)
        _int("stability_benchmark_invocations", self.stability_benchmark_invocations, 1)
        _int("stability_benchmark_error_thresh", self.stability_benchmark_error_thresh, 0)
        _bool("include_concurrency_benchmark", self.include_concurrency_benchmark)
        # checked even when the concurrency benchmark is off: provisioned endpoints use it,
        # and a value kept for later must not fail only once switched on
        _int_list(
            "concurrency_benchmark_max_conc",
            self.concurrency_benchmark_max_conc,
            bounds=MAX_CONCURRENCY_RANGE,
        )
        _int("concurrency_benchmark_invocations", self.concurrency_benchmark_invocations, 1)
        mult = self.concurrency_num_clients_multiplier
        if (
            not isinstance(mult, list | tuple)
            or not mult
            or not all(_is_number(m) and 0 < m <= MAX_CLIENTS_MULTIPLIER for m in mult)
        ):
            raise ConfigError(
                "concurrency_num_clients_multiplier",
                mult,
                f"a non-empty list of numbers > 0 and <= {MAX_CLIENTS_MULTIPLIER:g}, "
                "e.g. [1, 1.5, 2]",
            )
        self.concurrency_num_clients_multiplier = [float(m) for m in mult]
        _number("cold_start_delay", self.cold_start_delay, 0)
        if not isinstance(self.result_save_path, str) or not self.result_save_path:
            raise ConfigError("result_save_path", self.result_save_path, "a directory path")
        if self.provisioned_concurrency:
            _int_list(
                "provisioned_concurrency",
                self.provisioned_concurrency,
                bounds=PROVISIONED_CONCURRENCY_RANGE,
                allow_empty=True,
            )
            largest = max(self.concurrency_benchmark_max_conc)
            for p in self.provisioned_concurrency:
                if p > largest:
                    raise ConfigError(
                        "provisioned_concurrency",
                        p,
                        "values not above MaxConcurrency: at most the largest "
                        f"concurrency_benchmark_max_conc ({largest})",
                    )
        elif self.provisioned_concurrency is None or self.provisioned_concurrency == []:
            self.provisioned_concurrency = []
        else:
            raise ConfigError(
                "provisioned_concurrency",
                self.provisioned_concurrency,
                "a list of whole numbers from "
                f"{PROVISIONED_CONCURRENCY_RANGE[0]} to {PROVISIONED_CONCURRENCY_RANGE[1]}",
            )
        _bool("adaptive", self.adaptive)
        if not _is_number(self.precision) or not 0 < self.precision < 1:
            raise ConfigError(
                "precision",
                self.precision,
                "a relative half-width between 0 and 1, e.g. 0.05 for +-5%",
            )
        _number("precision_ms", self.precision_ms, 0)
        if not _is_number(self.confidence) or not 0.5 <= self.confidence < 1:
            raise ConfigError("confidence", self.confidence, "a level in [0.5, 1), e.g. 0.95")
        _int("min_invocations", self.min_invocations, 2)
        _int("cold_start_probes", self.cold_start_probes, 0, MAX_CONCURRENCY_RANGE[1])
        _number("invocation_pause", self.invocation_pause, 0)
        if self.strategy not in STRATEGIES:
            raise ConfigError("strategy", self.strategy, f"one of {', '.join(STRATEGIES)}")
        if not _is_number(self.balanced_weight) or not 0 <= self.balanced_weight <= 1:
            raise ConfigError(
                "balanced_weight",
                self.balanced_weight,
                "a number from 0 (all cost) to 1 (all speed)",
            )
        if (self.sla_ms is None) != (self.sla_percentile is None):
            raise ConfigError(
                "sla_ms" if self.sla_ms is None else "sla_percentile",
                None,
                "sla_ms and sla_percentile are given together or not at all",
            )
        if self.sla_percentile is not None and self.sla_percentile not in SLA_PERCENTILES:
            raise ConfigError(
                "sla_percentile",
                self.sla_percentile,
                f"one of {', '.join(map(str, SLA_PERCENTILES))}",
            )
        if self.sla_ms is not None:
            _number("sla_ms", self.sla_ms, 0, strict=True)
        if self.region is not None and (
            not isinstance(self.region, str) or not REGION_PATTERN.match(self.region)
        ):
            raise ConfigError("region", self.region, "an AWS region name such as us-east-1")
        if self.max_error_rate is not None and (
            not _is_number(self.max_error_rate) or not 0 <= self.max_error_rate <= 1
        ):
            raise ConfigError("max_error_rate", self.max_error_rate, "a fraction from 0 to 1")
        if not _is_number(self.indifference) or not 0 <= self.indifference < 0.5:
            raise ConfigError(
                "indifference",
                self.indifference,
                "a fraction from 0 to below 0.5: configurations whose scores differ by less "
                "are a tie and the cheaper wins (0.02 = 2%)",
            )
        _int("monthly_invocations", self.monthly_invocations, 0)
        from sm_bench_widgets.traffic import Traffic  # imports ConfigError from here

        self.traffic = Traffic.coerce(self.traffic)
        if not isinstance(
            self.comparison_instance_type, str
        ) or not self.comparison_instance_type.startswith("ml."):
            raise ConfigError(
                "comparison_instance_type",
                self.comparison_instance_type,
                "a SageMaker instance type such as ml.c5.large",
            )
        if self.payload_weights is not None:
            w = self.payload_weights
            if (
                not isinstance(w, list | tuple)
                or not w
                or not all(_is_number(x) and x >= 0 for x in w)
                or sum(w) <= 0
            ):
                raise ConfigError(
                    "payload_weights",
                    w,
                    "a list of non-negative numbers, one per example, not all 0",
                )
            if self.invoke_args_examples is not None and len(w) != len(self.invoke_args_examples):
                raise ConfigError(
                    "payload_weights",
                    w,
                    f"{len(self.invoke_args_examples)} weights, one per example",
                )
        if self.invoke_args_examples is not None and (
            not isinstance(self.invoke_args_examples, list)
            or not all(isinstance(e, dict) and "Body" in e for e in self.invoke_args_examples)
        ):
            raise ConfigError(
                "invoke_args_examples",
                "...",
                "a list of InvokeEndpoint argument dicts, each with a 'Body'",
            )
        if self.pricing_overrides is not None and (
            not isinstance(self.pricing_overrides, dict)
            or not all(
                isinstance(k, str) and _is_number(v) and v >= 0
                for k, v in self.pricing_overrides.items()
            )
        ):
            raise ConfigError(
                "pricing_overrides", self.pricing_overrides, "a dict of price names to USD values"
            )
        _bool("fetch_cloudwatch", self.fetch_cloudwatch)
        _number("endpoint_wait_timeout", self.endpoint_wait_timeout, 0, strict=True)
        _bool("allow_pickle", self.allow_pickle)
        for quota in ("account_max_concurrency", "account_max_endpoints"):
            if getattr(self, quota) is not None:
                _int(quota, getattr(self, quota), 1)

    def require_runnable(self) -> None:
        """Check what a run needs beyond valid fields: a model and payload examples."""
        if not self.model_name:
            raise ConfigError("model_name", self.model_name, "the name of a SageMaker model")
        if not self.invoke_args_examples_file and not self.invoke_args_examples:
            raise ConfigError(
                "invoke_args_examples_file",
                self.invoke_args_examples_file,
                "a JSON Lines or pickle file of InvokeEndpoint arguments, "
                "or invoke_args_examples given inline",
            )

    # -- conversions --------------------------------------------------------------------
    def replace(self, **changes: Any) -> BenchmarkConfig:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self, include_examples: bool = False) -> dict[str, Any]:
        """The options as plain JSON-able values (inline examples left out unless asked)."""
        data = dataclasses.asdict(self)
        if not include_examples:
            data.pop("invoke_args_examples")
        return data

    def to_json(self) -> str:
        """The options as JSON, for the run directory."""
        return json.dumps(self.to_dict(), indent=2, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchmarkConfig:
        """Build from a dict, refusing unknown option names with the list of known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict):
            raise ConfigError("config", data, "a dict of option names to values")
        unknown = sorted((k for k in data if k not in known), key=str)
        if unknown:
            name = unknown[0]
            field_name = name if isinstance(name, str) and name.strip() else "option name"
            value = data[name] if field_name == name else name
            raise ConfigError(
                field_name, value, f"an option name, one of: {', '.join(sorted(known))}"
            )
        return cls(**data)


def check_result_folder(path: str | os.PathLike[str]) -> None:
    """Raise ``ConfigError`` unless results can be written under ``path``.

    The nearest existing folder on the way is probed with a temporary file (and nothing
    else is created), so a read-only mount or a missing permission is found before a run.
    """
    field_name = "result_save_path"
    allowed = "a folder this process can create files in"
    target = os.path.abspath(os.fspath(path))
    existing = target
    while not os.path.exists(existing):
        parent = os.path.dirname(existing)
        if parent == existing:
            break
        existing = parent
    if not os.path.isdir(existing):
        raise ConfigError(field_name, os.fspath(path), f"{allowed}; {existing} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(field_name, os.fspath(path), f"{allowed}; {existing}: {reason}") from None


def _is_number(value: Any) -> bool:
    """A finite int or float (not a bool): NaN and infinity are never a valid option."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(name, value, "True or False")


def _int(name: str, value: Any, low: int, high: int | None = None) -> None:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < low
        or (high is not None and value > high)
    ):
        bound = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ConfigError(name, value, f"a whole number {bound}")


def _number(name: str, value: Any, low: float, strict: bool = False) -> None:
    if not _is_number(value) or value < low or (strict and value == low):
        raise ConfigError(name, value, f"a finite number {'>' if strict else '>='} {low}")


def _int_list(
    name: str,
    values: Any,
    allowed: tuple[int, ...] | None = None,
    bounds: tuple[int, int] | None = None,
    allow_empty: bool = False,
) -> None:
    if allowed is not None:
        what = f"a list with values from {{{', '.join(map(str, allowed))}}}"
    else:
        assert bounds is not None
        what = f"a list of whole numbers from {bounds[0]} to {bounds[1]}"
    if not isinstance(values, list | tuple) or (not values and not allow_empty):
        raise ConfigError(name, values, what)
    for v in values:
        ok = isinstance(v, int) and not isinstance(v, bool)
        ok = ok and (v in allowed if allowed is not None else bounds[0] <= v <= bounds[1])
        if not ok:
            raise ConfigError(name, v, what)
    if len(set(values)) != len(values):
        raise ConfigError(name, list(values), what + ", without repeats")
