"""``sm-bench run`` and ``sm-bench demo``: benchmark from the shell.

``run`` takes the seed toolkit's options spelled as the seed spelled them
(``--memory_sizes 1024 2048``, ``--no_include_concurrency_benchmark``) and with hyphens
(``--memory-sizes``), plus this toolkit's own. ``demo`` runs a short benchmark of a demo
model on an in-process emulator and writes the HTML report. Both end with a summary table
and the recommendation; a failure exits non-zero with a one-line reason.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

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
]


def _add(parser: argparse.ArgumentParser, spelling: str, dest: str, kwargs: dict[str, Any]) -> None:
    names = [f"--{spelling}"]
    if "_" in spelling:
        names.append(f"--{spelling.replace('_', '-')}")
    parser.add_argument(*names, dest=dest, default=None, **kwargs)


def _one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Make argparse errors one line on stderr (exit 2), naming the option."""

    def error(message: str) -> None:
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)

    parser.error = error  # type: ignore[method-assign]


def register(subparsers: Any) -> None:
    """Add ``run`` and ``demo`` to the ``sm-bench`` command."""
    run = subparsers.add_parser(
        "run",
        help="benchmark a SageMaker model on serverless endpoints",
        description="Benchmark MODEL_NAME with the InvokeEndpoint arguments in "
        "INVOKE_ARGS_FILE (JSON Lines or .pkl) and recommend a configuration.",
    )
    run.add_argument("model_name", metavar="MODEL_NAME")
    run.add_argument("invoke_args_examples_file", metavar="INVOKE_ARGS_FILE")
    for spelling, dest, kwargs in SEED_OPTIONS:
        _add(run, spelling, dest, kwargs)
    inc = run.add_mutually_exclusive_group()
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
        _add(run, spelling, dest, kwargs)
    run.add_argument(
        "--adaptive",
        dest="adaptive",
        default=None,
        help="adaptive stopping: on (default) or off (exactly N invocations)",
    )
    _add_target_options(run)
    run.add_argument(
        "--no-cloudwatch",
        dest="fetch_cloudwatch",
        action="store_false",
        default=None,
        help="do not fetch CloudWatch metrics",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=run_command)
    _one_line_errors(run)

    demo = subparsers.add_parser(
        "demo",
        help="run a short benchmark against the built-in emulator",
        description="Start the local emulator in this process, benchmark the demo-nlp model "
        "on it and write the HTML report. The results are emulated.",
    )
    demo.add_argument("--out", default="sm-bench-demo", help="output directory")
    demo.add_argument(
        "--time-scale",
        "--time_scale",
        dest="time_scale",
        type=float,
        default=1.0,
        help="emulated time per real second (< 1 runs faster)",
    )
    demo.add_argument("--model", default="demo-nlp", help="demo model (demo-nlp)")
    demo.add_argument("--strategy", default=None, help=f"one of {', '.join(STRATEGIES)}")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.set_defaults(func=demo_command)
    _one_line_errors(demo)


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", default=None, help="AWS region")
    parser.add_argument("--profile", default=None, help="AWS profile")
    parser.add_argument(
        "--endpoint-url",
        "--endpoint_url",
        dest="endpoint_url",
        default=None,
        help="AWS endpoint URL (e.g. the emulator's); default AWS_ENDPOINT_URL",
    )
    parser.add_argument(
        "--emulated",
        action="store_true",
        help="the endpoint URL is the local emulator: dummy credentials, results "
        "labelled emulated (also detected from its answers)",
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
    for dest in ("include_concurrency_benchmark", "fetch_cloudwatch"):
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


def _on_off(name: str, value: str) -> bool:
    text = str(value).strip().lower()
    if text in ("on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    raise ConfigError(name, value, "on or off")


def target_from_args(args: argparse.Namespace) -> Any:
    """The ``Target`` the region/profile/endpoint-url options describe."""
    from sm_bench_widgets.aws.clients import Target

    url = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    if args.emulated and url:
        target = Target.for_emulator(url, region=args.region or "us-east-1")
        target.profile = args.profile
        return target
    return Target(region=args.region, profile=args.profile, endpoint_url=url)


def _fail(prog: str, message: str, code: int = 1) -> int:
    text = " ".join(str(message).split())
    print(f"{prog}: error: {text}", file=sys.stderr)
    return code


def _execute(prog: str, config: Any, target: Any, progress: bool) -> tuple[int, Any]:
    """Run the benchmark; (exit code, result or None) with one-line errors."""
    from botocore.exceptions import BotoCoreError, ClientError

    from sm_bench_widgets.api import RunFailed, run_benchmark

    try:
        result = run_benchmark(config, target, progress=progress)
    except ConfigError as exc:
        return _fail(prog, str(exc), 2), None
    except RunFailed as exc:
        return _fail(prog, str(exc)), None
    except (ClientError, BotoCoreError) as exc:
        return _fail(prog, f"AWS: {exc}"), None
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # one line for the user; details are in the run directory
        return _fail(prog, f"{type(exc).__name__}: {exc}"), None
    return 0, result


def _print_result(result: Any) -> None:
    print()
    print(result.summary_text())
    if result.run_dir is not None:
        print(f"Run directory: {result.run_dir}")


def run_command(args: argparse.Namespace) -> int:
    """``sm-bench run``: benchmark a model and print the summary and recommendation."""
    prog = "sm-bench run"
    try:
        config = config_from_args(args)
        target = target_from_args(args)
    except ConfigError as exc:
        return _fail(prog, str(exc), 2)
    code, result = _execute(prog, config, target, progress=not args.no_progress)
    if result is None:
        return code
    from sm_bench_widgets.benchmark import write_seed_outputs

    written = write_seed_outputs(result, config.result_save_path)
    _print_result(result)
    for path in written:
        if path.suffix == ".html":
            print(f"Report: {path}")
    return 0 if result.status == "completed" else 1


# -- demo ----------------------------------------------------------------------------------
DEMO_ROWS = [
    [5.1, 3.5, 1.4, 0.2],
    [6.2, 2.9, 4.3, 1.3],
    [7.7, 3.0, 6.1, 2.3],
    [5.8, 2.7, 5.1, 1.9],
]


def demo_payloads(path: Path) -> Path:
    """Write demo InvokeEndpoint examples (CSV and JSON rows of numbers) as JSON Lines."""
    from sm_bench_widgets.utils import convert_invoke_args_to_jsonl

    examples = [
        {"Body": ",".join(map(str, row)), "ContentType": "text/csv", "Accept": "text/csv"}
        for row in DEMO_ROWS
    ]
    examples.append(
        {
            "Body": '{"instances": [[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]]}',
            "ContentType": "application/json",
            "Accept": "application/json",
        }
    )
    return convert_invoke_args_to_jsonl(examples, output_path=str(path))


def demo_config(model: str, payload_file: Path, out: Path, strategy: str | None = None) -> Any:
    """A benchmark that shows memory errors, a cost/speed trade-off and concurrency.

    Sized to end in about a minute at time scale 1: three cold starts of demo-nlp (7 s
    each, one per phase and MaxConcurrency) and a few hundred requests of 0.2-0.3 s.
    """
    from sm_bench_widgets.config import BenchmarkConfig

    fields: dict[str, Any] = dict(
        model_name=model,
        invoke_args_examples_file=str(payload_file),
        memory_sizes=[1024, 2048, 3072, 4096],
        stability_benchmark_invocations=80,
        concurrency_benchmark_max_conc=[2, 4],
        concurrency_num_clients_multiplier=[1, 2],
        concurrency_benchmark_invocations=60,
        cold_start_probes=4,
        result_save_path=str(out),
    )
    if strategy is not None:
        fields["strategy"] = strategy
    return BenchmarkConfig.from_dict(fields)


def demo_command(args: argparse.Namespace) -> int:
    """``sm-bench demo``: a short benchmark on the in-process emulator, with the report."""
    prog = "sm-bench demo"
    from sm_bench_widgets.emulator import LocalServerless

    out = Path(args.out)
    try:
        if not args.time_scale > 0:
            raise ConfigError("time_scale", args.time_scale, "a number > 0, e.g. 0.1")
        out.mkdir(parents=True, exist_ok=True)
        config = demo_config(args.model, demo_payloads(out), out, args.strategy)
    except ConfigError as exc:
        return _fail(prog, str(exc), 2)
    print(
        f"Starting the local emulator (time scale {args.time_scale:g}); "
        "all figures below are EMULATED, not measured on AWS."
    )
    started = time.monotonic()
    with LocalServerless(time_scale=args.time_scale) as emulator:
        code, result = _execute(prog, config, emulator.target(), progress=not args.no_progress)
    if result is None:
        return code
    report = out / "benchmark-report.html"
    try:
        result.to_html(report)
    except Exception as exc:
        print(f"{prog}: warning: the report could not be written: {exc}", file=sys.stderr)
        report = None
    _print_result(result)
    if report is not None:
        print(f"Report: {report}")
    print(
        f"Demo finished in {time.monotonic() - started:.0f} s. These results are EMULATED "
        "by the local emulator; run `sm-bench run MODEL_NAME INVOKE_ARGS_FILE` on AWS "
        "for real figures."
    )
    return 0 if result.status == "completed" else 1
