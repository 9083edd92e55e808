"""``sm-bench``: the command line. Each subcommand lives with the code it drives."""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand name -> module with ``register(subparsers)``; imported lazily per call
SUBCOMMANDS = {
    "emulator": "sm_bench_widgets.emulator.cli",
    "run": "sm_bench_widgets.engine.cli",
    "demo": "sm_bench_widgets.engine.cli",
    "cleanup": "sm_bench_widgets.aws.cleanup_cli",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand (or just ``only``) registered."""
    parser = argparse.ArgumentParser(
        prog="sm-bench",
        description="Benchmark SageMaker Serverless Inference configurations.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    seen: set[str] = set()
    for name, module in SUBCOMMANDS.items():
        if (only and name != only) or module in seen:
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        mod.register(sub)
        seen.add(module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sm-bench`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    args = build_parser(only).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
