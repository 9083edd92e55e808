"""The one way ``sm-bench`` commands pick where AWS calls go.

``--emulated`` says the endpoint URL is the local emulator. Without it, a loopback endpoint
URL while no AWS credentials are configured is taken to be the emulator too: it needs none,
so dummy ones are used. Anything else goes to AWS as boto3 resolves it.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:
    from sm_bench_widgets.aws.clients import Target


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--region``, ``--profile``, ``--endpoint-url`` and ``--emulated``."""
    parser.add_argument("--region", default=None, help="AWS region (default: as boto3 finds it)")
    parser.add_argument("--profile", default=None, help="AWS profile name")
    parser.add_argument(
        "--endpoint-url",
        "--endpoint_url",
        dest="endpoint_url",
        default=None,
        help="send AWS calls here, e.g. the local emulator (default: $AWS_ENDPOINT_URL)",
    )
    parser.add_argument(
        "--emulated",
        action="store_true",
        help="the endpoint URL is the local emulator: dummy credentials, results labelled "
        "emulated (assumed for a loopback URL when no credentials are configured)",
    )


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (localhost, 127.0.0.0/8, ::1)."""
    host = urlparse(url).hostname
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def target_from_args(args: argparse.Namespace) -> Target:
    """The ``Target`` the target options (and ``$AWS_ENDPOINT_URL``) describe.

    Raises botocore's ``ProfileNotFound`` for an unknown ``--profile``.
    """
    from sm_bench_widgets.aws.clients import Target, has_credentials

    url = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    emulated = bool(url) and (
        args.emulated or (is_loopback(url) and not has_credentials(args.profile))
    )
    return Target(
        region=args.region,
        profile=args.profile,
        endpoint_url=url,
        emulated=emulated,
        # a URL from the environment is botocore's to resolve, per service
        endpoint_explicit=bool(args.endpoint_url),
    )
