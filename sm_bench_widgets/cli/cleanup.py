"""``sm-bench cleanup``: delete endpoints and configs this tool created and left behind."""

from __future__ import annotations

import argparse
from typing import Any

from sm_bench_widgets.cli.errors import fail, one_line_errors
from sm_bench_widgets.cli.target import add_target_options, target_from_args


def register(subparsers: Any) -> None:
    """Add ``cleanup`` to the ``sm-bench`` command."""
    parser = subparsers.add_parser(
        "cleanup",
        help="delete endpoints and endpoint configs left behind by sm-bench-widgets",
        description=(
            "Delete SageMaker endpoints and endpoint configs tagged sm-bench-widgets:tool "
            "(only those; optionally only one run's). Nothing else is touched."
        ),
    )
    parser.add_argument("--run-id", help="only resources of this run (tag sm-bench-widgets:run-id)")
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be deleted, delete nothing"
    )
    add_target_options(parser)
    parser.set_defaults(func=run)
    one_line_errors(parser)


def run(args: argparse.Namespace) -> int:
    """Sweep and report; exit status 1 with a one-line reason on failure."""
    from botocore.exceptions import BotoCoreError, ClientError

    from sm_bench_widgets.aws.cleanup import sweep
    from sm_bench_widgets.aws.endpoints import credentials_expired

    try:
        sweep(target_from_args(args), run_id=args.run_id, dry_run=args.dry_run)
    except (ClientError, BotoCoreError, RuntimeError, ValueError) as exc:
        if credentials_expired(exc):
            return fail(
                "sm-bench cleanup",
                f"{exc} -- the AWS credentials have expired: refresh them (e.g. `aws sso "
                "login`, or a new session token) and run this command again",
            )
        return fail("sm-bench cleanup", exc)
    return 0
