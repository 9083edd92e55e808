"""``sm-bench demo``: a short benchmark of a demo model on an emulator in its own process.

Writes the HTML report and ends with the summary table and the recommendation, all
labelled emulated; a failure exits non-zero with a one-line reason.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from sm_bench_widgets.cli.errors import fail, one_line_errors
from sm_bench_widgets.cli.run import execute, print_result
from sm_bench_widgets.config import STRATEGIES, ConfigError


def register(subparsers: Any) -> None:
    """Add ``demo`` to the ``sm-bench`` command."""
    demo = subparsers.add_parser(
        "demo",
        help="run a short benchmark against the built-in emulator",
        description="Start the local emulator in a process of its own, benchmark the demo-nlp "
        "model on it and write the HTML report. The results are emulated.",
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
    one_line_errors(demo)


def demo_payloads(path: Path, model: str = "demo-nlp") -> Path:
    """Write the demo model's sample InvokeEndpoint examples (text for demo-nlp, rows of
    numbers for the others) as JSON Lines."""
    from sm_bench_widgets.emulator.samples import demo_examples
    from sm_bench_widgets.utils import convert_invoke_args_to_jsonl

    examples = demo_examples(model)
    if examples is None:
        raise ConfigError("model", model, "a demo model: demo-nlp, demo-tabular or demo-mlp")
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
    """``sm-bench demo``: a short benchmark on an emulator of its own, with the report."""
    prog = "sm-bench demo"
    from sm_bench_widgets.emulator.process import served

    out = Path(args.out)
    try:
        if not args.time_scale > 0:
            raise ConfigError("time_scale", args.time_scale, "a number > 0, e.g. 0.1")
        out.mkdir(parents=True, exist_ok=True)
        config = demo_config(args.model, demo_payloads(out, args.model), out, args.strategy)
    except ConfigError as exc:
        return fail(prog, str(exc), 2)
    print(
        f"Starting the local emulator (time scale {args.time_scale:g}); "
        "all figures below are EMULATED, not measured on AWS."
    )
    started = time.monotonic()
    # its own process, so the emulator shares no interpreter with the load generator
    with served(time_scale=args.time_scale, seed=None) as emulator:
        code, result = execute(prog, config, emulator.target(), progress=not args.no_progress)
    if result is None:
        return code
    report = out / "benchmark-report.html"
    try:
        result.to_html(report)
    except Exception as exc:
        print(f"{prog}: warning: the report could not be written: {exc}", file=sys.stderr)
        report = None
    print_result(result)
    if report is not None:
        print(f"Report: {report.resolve().as_uri()}")
    print(
        f"Demo finished in {time.monotonic() - started:.0f} s. These results are EMULATED "
        "by the local emulator; run `sm-bench run MODEL_NAME INVOKE_ARGS_FILE` on AWS "
        "for real figures."
    )
    return 0 if result.status == "completed" else 1
