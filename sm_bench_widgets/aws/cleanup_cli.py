"""``sm-bench cleanup``: delete endpoints and configs this tool created and left behind."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from sm_bench_widgets.aws.cleanup import sweep
from sm_bench_widgets.aws.clients import Target, has_credentials

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def register(subparsers: Any) -> None:
    """Add the ``cleanup`` subcommand to the ``sm-bench`` parser."""
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
    parser.add_argument("--region", help="AWS region (default: as boto3 finds it)")
    parser.add_argument("--profile", help="AWS profile name")
    parser.add_argument(
        "--endpoint-url",
        help="send AWS calls here, e.g. a local emulator (default: $AWS_ENDPOINT_URL)",
    )
    parser.set_defaults(func=run)


def target_from_args(args: argparse.Namespace) -> Target:
    """The target the options describe.

    A loopback endpoint URL without any credentials configured is taken to be the local
    emulator, which needs none: dummy ones are used.
    """
    url = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    target = Target(region=args.region, profile=args.profile, endpoint_url=url)
    if url and urlparse(url).hostname in LOCAL_HOSTS:
        target.emulated = not has_credentials(args.profile)
    return target


def run(args: argparse.Namespace) -> int:
    """Sweep and report; exit status 1 with a one-line reason on failure."""
    try:
        sweep(target_from_args(args), run_id=args.run_id, dry_run=args.dry_run)
    except (ClientError, BotoCoreError, RuntimeError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        print(f"sm-bench cleanup: error: {reason}", file=sys.stderr)
        return 1
    return 0
