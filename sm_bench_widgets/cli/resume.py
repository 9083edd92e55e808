"""``sm-bench resume RUN_DIR``: carry on a run that was stopped, failed or killed, or retry
the failed trials of a completed run."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sm_bench_widgets.cli.errors import fail, one_line_errors
from sm_bench_widgets.cli.run import finish, guarded
from sm_bench_widgets.cli.target import add_target_options, target_from_args


def register(subparsers: Any) -> None:
    """Add the ``resume`` subcommand."""
    parser = subparsers.add_parser(
        "resume",
        help="carry on a stopped, failed or killed run, or retry a completed run's failed trials",
        description="Delete what the earlier process left live, then run again the trials "
        "of RUN_DIR that did not finish, counting the invocations already stored. Of a "
        "completed run, only trials that failed for a reason a retry may cure run again "
        "(an exception, an endpoint that could not be created or started, a quota hit); "
        "a model that did not fit its memory size and trials stopped by racing, precision "
        "or the user stay as they are, and a completed run with no such trial is refused. "
        "The run keeps its id and directory.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="sm-bench-results/<run id>")
    add_target_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=resume_command)
    one_line_errors(parser)


def resume_command(args: argparse.Namespace) -> int:
    """Resume the run and print its summary and recommendation like ``sm-bench run``."""
    from botocore.exceptions import BotoCoreError

    from sm_bench_widgets.api import follow, resume_benchmark

    prog = "sm-bench resume"
    try:
        target = target_from_args(args)
    except BotoCoreError as exc:
        return fail(prog, f"AWS: {exc}")

    def resume() -> Any:
        handle = resume_benchmark(args.run_dir, target)
        print(f"{prog}: {handle.resumed}", file=sys.stderr)
        return follow(handle, not args.no_progress)

    code, result = guarded(prog, resume)
    return code if result is None else finish(result)
