"""Any input to ``BenchmarkConfig`` or to ``sm-bench run``'s parser is a valid config or a
``ConfigError`` naming a field, never another exception (property-based, hypothesis)."""

from __future__ import annotations

import dataclasses
import math

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sm_bench_widgets.cli.run import OWN_OPTIONS, SEED_OPTIONS, parse_config
from sm_bench_widgets.config import BenchmarkConfig, ConfigError

FIELDS = [f.name for f in dataclasses.fields(BenchmarkConfig)]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.binary(max_size=8),
)
# near-valid values too, so that many draws get past the first check
plausible = st.one_of(
    st.sampled_from([1024, 2048, 6144, 0, 1, 2, 8, 200, 201, 0.5, 0.95, "balanced", "cost"]),
    st.lists(st.sampled_from([1024, 2048, 3072, 1, 2, 4, 8, 200, 0, -1, 1.5]), max_size=4),
)
values = st.recursive(
    st.one_of(scalars, plausible),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), inner, max_size=3),
    ),
    max_leaves=8,
)
config_dicts = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=8), st.integers()), values, max_size=8
)


def _is_valid(config: BenchmarkConfig) -> None:
    """What a built config promises: every number finite, every list within its bounds."""
    config.validate()  # idempotent on a valid config
    for name in ("precision", "precision_ms", "confidence", "balanced_weight", "cold_start_delay"):
        assert math.isfinite(getattr(config, name))
    assert all(1 <= c <= 200 for c in config.concurrency_benchmark_max_conc)
    assert all(
        p <= max(config.concurrency_benchmark_max_conc) for p in config.provisioned_concurrency
    )
    config.to_json()
    assert BenchmarkConfig.from_dict(config.to_dict(include_examples=True)) == config


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config_dicts)
def test_any_dict_is_a_config_or_a_config_error(data):
    try:
        config = BenchmarkConfig.from_dict(data)
    except ConfigError as exc:
        assert exc.field and str(exc)
        event("refused")
        return
    event("built")
    _is_valid(config)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers())))
def test_from_dict_of_a_non_dict_is_a_config_error(data):
    try:
        BenchmarkConfig.from_dict(data)
    except ConfigError:
        return
    raise AssertionError("from_dict accepted a non-dict")


OPTION_SPELLINGS = sorted(
    {f"--{s}" for s, _d, _k in SEED_OPTIONS + OWN_OPTIONS}
    | {f"--{s.replace('_', '-')}" for s, _d, _k in SEED_OPTIONS + OWN_OPTIONS}
    | {
        "--no_include_concurrency_benchmark",
        "--include_concurrency_benchmark",
        "--adaptive",
        "--no-cloudwatch",
        "--allow-pickle",
        "--region",
        "--profile",
        "--endpoint-url",
        "--emulated",
        "--no-progress",
    }
)
tokens = st.one_of(
    st.sampled_from(OPTION_SPELLINGS),
    st.sampled_from(
        ["0", "1", "2", "8", "200", "1024", "2048", "-1", "1.5", "nan", "inf", "1e400"]
    ),
    st.sampled_from(["on", "off", "cost", "balanced", "us-east-1", "ml.c5.large", "50", "99"]),
    st.text(max_size=10),
)


def _asks_for_help(token: str) -> bool:
    # "--he", "--help", "-h": argparse prints help and exits 0, which is not an input error
    return (
        token == "-h" or (len(token) >= 3 and "--help".startswith(token)) or token.startswith("-h")
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.lists(tokens, max_size=10),
        st.lists(tokens, max_size=10).map(lambda rest: ["demo-nlp", "ex.jsonl", *rest]),
    )
)
def test_any_command_line_is_a_config_or_a_config_error(argv):
    if any(_asks_for_help(t) for t in argv):
        return
    try:
        config = parse_config(argv)
    except ConfigError as exc:
        assert exc.field and str(exc)
        event("refused")
        return
    event("built")
    _is_valid(config)
