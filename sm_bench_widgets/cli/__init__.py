"""``sm-bench``: the command line, one module per command.

Command modules import nothing heavy at import time (pandas, boto3, moto load inside the
command that needs them), so ``sm-bench --help`` and ``sm-bench emulator`` start fast.
"""

from __future__ import annotations

import argparse
import sys

from sm_bench_widgets.cli import cleanup, demo, emulator, iam_policy, job, resume, run

COMMANDS = (emulator, run, resume, job, demo, cleanup, iam_policy)

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``sm-bench`` parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="sm-bench",
        description="Benchmark SageMaker Serverless Inference configurations.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sm-bench`` console script."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
