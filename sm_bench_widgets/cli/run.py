"""``sm-bench run``: benchmark a model from the shell.

Takes the seed toolkit's options spelled as the seed spelled them
(``--memory_sizes 1024 2048``, ``--no_include_concurrency_benchmark``) and with hyphens
(``--memory-sizes``), plus this toolkit's own. Ends with a summary table and the
recommendation; a failure exits non-zero with a one-line reason.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any

from sm_bench_widgets.cli.errors import fail, one_line_errors
from sm_bench_widgets.cli.target import add_target_options, target_from_args
from sm_bench_widgets.config import STRATEGIES, ConfigError

# (seed spelling, BenchmarkConfig field, argparse kwargs)
SEED_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "cold_start_delay",
        "cold_start_delay",
        {"type": float, "help": "seconds to sleep before the first invocation (default 0)"},
    ),
    (
        "memory_sizes",
        "memory_sizes",
        {"type": int, "nargs": "+", "help": "memory sizes in MB (default all six)"},
    ),
    (
        "stability_benchmark_invocations",
        "stability_benchmark_invocations",
        {"type": int, "help": "most invocations per memory size (default 1000)"},
    ),
    (
        "stability_benchmark_error_thresh",
        "stability_benchmark_error_thresh",
        {"type": int, "help": "errors after which a memory size stops (default 3)"},
    ),
    (
        "concurrency_benchmark_max_conc",
        "concurrency_benchmark_max_conc",
        {"type": int, "nargs": "+", "help": "MaxConcurrency values (default 2 4 8)"},
    ),
    (
        "concurrency_benchmark_invocations",
        "concurrency_benchmark_invocations",
        {"type": int, "help": "most invocations per concurrency trial (default 1000)"},
    ),
    (
        "concurrency_num_clients_multiplier",
        "concurrency_num_clients_multiplier",
        {
            "type": float,
            "nargs": "+",
            "help": "clients = ceil(max_conc x multiplier) (default 1 1.5 1.75 2)",
        },
    ),
    (
        "result_save_path",
        "result_save_path",
        {"help": "directory for results and the report (default .)"},
    ),
]

OWN_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("strategy", "strategy", {"help": f"recommendation strategy: {', '.join(STRATEGIES)}"}),
    (
        "weight",
        "balanced_weight",
        {"type": float, "help": "balanced strategy weight, 0 = all cost .. 1 = all speed"},
    ),
    ("sla_percentile", "sla_percentile", {"type": int, "help": "SLA percentile: 50 90 95 99"}),
    ("sla_ms", "sla_ms", {"type": float, "help": "SLA latency bound in ms"}),
    ("max_error_rate", "max_error_rate", {"type": float, "help": "error-rate limit, 0..1"}),
    (
        "provisioned",
        "provisioned_concurrency",
        {"type": int, "nargs": "+", "help": "provisioned concurrency values to benchmark"},
    ),
    (
        "precision",
        "precision",
        {"type": float, "help": "adaptive stop: relative CI half-width of p50/p90 (0.05)"},
    ),
    (
        "precision_ms",
        "precision_ms",
        {"type": float, "help": "adaptive stop: or within +- this many ms (1.0; 0 = off)"},
    ),
    ("confidence", "confidence", {"type": float, "help": "confidence level (0.95)"}),
    (
        "min_invocations",
        "min_invocations",
        {"type": int, "help": "adaptive stop never below this many (30)"},
    ),
    (
        "cold_start_probes",
        "cold_start_probes",
        {"type": int, "help": "concurrent first requests per concurrency endpoint (1)"},
    ),
    (
        "invocation_pause",
        "invocation_pause",
        {"type": float, "help": "seconds to pause before each invocation (0)"},
    ),
    (
        "payload_weights",
        "payload_weights",
        {"type": float, "nargs": "+", "help": "one weight per payload example"},
    ),
    (
        "monthly_invocations",
        "monthly_invocations",
        {"type": int, "help": "expected monthly invocations for costs"},
    ),
    (
        "instance_type",
        "comparison_instance_type",
        {"help": "instance type for break-even (ml.c5.large)"},
    ),
    (
        "account_max_concurrency",
        "account_max_concurrency",
        {
            "type": int,
            "help": "the account's total serverless MaxConcurrency quota, if Service Quotas "
            "cannot tell it (default: read it, else AWS's documented 200)",
        },
    ),
    (
        "account_max_endpoints",
        "account_max_endpoints",
        {
            "type": int,
            "help": "the account's serverless endpoint quota, if Service Quotas cannot tell "
            "it (default: read it, else AWS's documented 50)",
        },
    ),
]


def _add(parser: argparse.ArgumentParser, spelling: str, dest: str, kwargs: dict[str, Any]) -> None:
    names = [f"--{spelling}"]
    if "_" in spelling:
        names.append(f"--{spelling.replace('_', '-')}")
    parser.add_argument(*names, dest=dest, default=None, **kwargs)


def register(subparsers: Any) -> None:
    """Add ``run`` to the ``sm-bench`` command."""
    run = subparsers.add_parser("run", **PARSER_TEXT)
    add_run_arguments(run)
    run.set_defaults(func=run_command)
    one_line_errors(run)


PARSER_TEXT = {
    "help": "benchmark a SageMaker model on serverless endpoints",
    "description": "Benchmark MODEL_NAME with the InvokeEndpoint arguments in "
    "INVOKE_ARGS_FILE (JSON Lines, or .pkl with --allow-pickle) and recommend a "
    "configuration.",
}


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    """The arguments and options of ``sm-bench run``."""
    run.add_argument("model_name", metavar="MODEL_NAME")
    run.add_argument("invoke_args_examples_file", metavar="INVOKE_ARGS_FILE")
    add_benchmark_options(run)
    add_target_options(run)
    run.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_benchmark_options(parser: argparse.ArgumentParser) -> None:
    """Add every benchmark option (``config_from_args`` reads them), as ``run`` takes them."""
    for spelling, dest, kwargs in SEED_OPTIONS:
        _add(parser, spelling, dest, kwargs)
    inc = parser.add_mutually_exclusive_group()
    inc.add_argument(
        "--no_include_concurrency_benchmark",
        "--no-include-concurrency-benchmark",
        dest="include_concurrency_benchmark",
        action="store_false",
        default=None,
        help="run the stability benchmark only",
    )
    inc.add_argument(
        "--include_concurrency_benchmark",
        "--include-concurrency-benchmark",
        dest="include_concurrency_benchmark",
        action="store_true",
        default=None,
        help=argparse.SUPPRESS,
    )
    for spelling, dest, kwargs in OWN_OPTIONS:
        _add(parser, spelling, dest, kwargs)
    parser.add_argument(
        "--adaptive",
        dest="adaptive",
        default=None,
        help="adaptive stopping: on (default) or off (exactly N invocations)",
    )
    parser.add_argument(
        "--no-cloudwatch",
        dest="fetch_cloudwatch",
        action="store_false",
        default=None,
        help="do not fetch CloudWatch metrics",
    )
    parser.add_argument(
        "--allow-pickle",
        "--allow_pickle",
        dest="allow_pickle",
        action="store_true",
        default=None,
        help="read a .pkl INVOKE_ARGS_FILE (unpickling runs code: only a file you trust)",
    )


def config_from_args(args: argparse.Namespace) -> Any:
    """The ``BenchmarkConfig`` the options describe (``ConfigError`` names a bad one)."""
    from sm_bench_widgets.config import BenchmarkConfig

    fields: dict[str, Any] = {
        "model_name": args.model_name,
        "invoke_args_examples_file": args.invoke_args_examples_file,
    }
    for _, dest, _kw in SEED_OPTIONS + OWN_OPTIONS:
        value = getattr(args, dest, None)
        if value is not None:
            fields[dest] = value
    for dest in ("include_concurrency_benchmark", "fetch_cloudwatch", "allow_pickle"):
        if getattr(args, dest, None) is not None:
            fields[dest] = getattr(args, dest)
    if args.adaptive is not None:
        fields["adaptive"] = _on_off("adaptive", args.adaptive)
    delay = fields.get("cold_start_delay")
    if isinstance(delay, float) and delay.is_integer():
        fields["cold_start_delay"] = int(delay)
    if args.region:
        fields["region"] = args.region
    return BenchmarkConfig.from_dict(fields)


def parse_config(argv: list[str]) -> Any:
    """The ``BenchmarkConfig`` that ``sm-bench run ARGV`` describes.

    The parser's own refusals (a missing argument, a value of the wrong type, an unknown
    option) come as ``ConfigError`` too, naming the option, as the command prints them.
    """
    parser = argparse.ArgumentParser(prog="sm-bench run")
    add_run_arguments(parser)
    parser.error = _raise_config_error  # type: ignore[method-assign]
    return config_from_args(parser.parse_args(argv))


def _raise_config_error(message: str) -> None:
    """An argparse error as ``ConfigError`` naming the option (its first spelling)."""
    head, _, reason = message.partition(": ")
    if head.startswith("argument "):
        option = head.removeprefix("argument ").split("/")[0]
        bad = re.fullmatch(r"invalid (\w+) value: '(.*)'", reason, re.DOTALL)
        if bad:
            kind = {"int": "a whole number", "float": "a number"}.get(bad[1], f"a {bad[1]}")
            raise ConfigError(option, bad[2], kind)
        raise ConfigError(option, None, reason)
    if head == "the following arguments are required":
        raise ConfigError(reason.split(", ")[0], None, "a value: it is required")
    if head == "unrecognized arguments":
        raise ConfigError(
            "arguments",
            reason,
            "MODEL_NAME, INVOKE_ARGS_FILE and options of sm-bench run (see --help)",
        )
    raise ConfigError("arguments", None, message)


def _on_off(name: str, value: str) -> bool:
    text = str(value).strip().lower()
    if text in ("on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    raise ConfigError(name, value, "on or off")


def execute(prog: str, config: Any, target: Any, progress: bool) -> tuple[int, Any]:
    """Run the benchmark; (exit code, result or None) with one-line errors."""
    from sm_bench_widgets.api import run_benchmark

    return guarded(prog, lambda: run_benchmark(config, target, progress=progress))


def guarded(prog: str, work: Callable[[], Any]) -> tuple[int, Any]:
    """(exit code, what ``work`` returned or None), its failures as one-line errors."""
    from botocore.exceptions import BotoCoreError, ClientError

    from sm_bench_widgets.api import RunFailed

    try:
        result = work()
    except ConfigError as exc:
        return fail(prog, str(exc), 2), None
    except RunFailed as exc:
        return fail(prog, str(exc)), None
    except (ClientError, BotoCoreError) as exc:
        return fail(prog, f"AWS: {exc}"), None
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # one line for the user; details are in the run directory
        return fail(prog, f"{type(exc).__name__}: {exc}"), None
    return 0, result


def print_result(result: Any) -> None:
    """Print the summary table, the recommendation and where the run is stored."""
    print()
    print(result.summary_text())
    if result.run_dir is not None:
        print(f"Run directory: {result.run_dir}")


def run_command(args: argparse.Namespace) -> int:
    """``sm-bench run``: benchmark a model and print the summary and recommendation."""
    from botocore.exceptions import BotoCoreError

    prog = "sm-bench run"
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        return fail(prog, str(exc), 2)
    try:
        target = target_from_args(args)
    except BotoCoreError as exc:  # e.g. an unknown --profile
        return fail(prog, f"AWS: {exc}")
    code, result = execute(prog, config, target, progress=not args.no_progress)
    if result is None:
        return code
    return finish(result)


def finish(result: Any) -> int:
    """Write the seed's output files and the report, print the summary; the exit code."""
    from sm_bench_widgets.benchmark import write_seed_outputs

    written = write_seed_outputs(result, result.config.result_save_path)
    print_result(result)
    for path in written:
        if path.suffix == ".html":
            print(f"Report: {path.resolve().as_uri()}")
    return 0 if result.status == "completed" else 1
