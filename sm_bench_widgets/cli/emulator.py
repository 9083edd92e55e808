"""``sm-bench emulator``: serve the local SageMaker Serverless emulator in the foreground."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from sm_bench_widgets.cli.errors import fail, one_line_errors

BANNER = """\
sm-bench-widgets local SageMaker Serverless emulator
  Results measured against it are EMULATED, not AWS measurements.
  Serving sagemaker, sagemaker-runtime, cloudwatch, s3 and sts at {url}
  (time scale {scale:g}, account {account}); demo models: {models}
  Serverless quotas: total MaxConcurrency {max_concurrency}, endpoints {max_endpoints}{faults}

Point any boto3 program at it:
  export AWS_ENDPOINT_URL={url}
  export AWS_ACCESS_KEY_ID=emulated AWS_SECRET_ACCESS_KEY=emulated AWS_DEFAULT_REGION=us-east-1

Press Ctrl-C to stop."""


def register(subparsers: Any) -> None:
    """Add ``emulator`` to the ``sm-bench`` command."""
    parser = subparsers.add_parser(
        "emulator",
        help="serve the local SageMaker Serverless emulator (emulated results)",
        description="Serve a local emulator of SageMaker Serverless Inference (with "
        "CloudWatch, S3 and STS) until interrupted. Its numbers are emulated.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=5005, help="port (0 picks a free one)")
    parser.add_argument(
        "--time-scale",
        type=_positive_float,
        default=1.0,
        help="multiply every emulated duration by this (0.1 runs ten times faster)",
    )
    parser.add_argument(
        "--no-demo-models", action="store_true", help="do not register the demo models"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the emulated noise")
    parser.add_argument(
        "--idle-timeout",
        type=_positive_float,
        default=None,
        help="seconds (emulated) before an idle instance is reclaimed",
    )
    parser.add_argument(
        "--account-max-concurrency",
        type=_count,
        default=200,
        metavar="N",
        help="the account's quota of total MaxConcurrency over all serverless endpoints "
        "(AWS's default 200; new accounts have been reported at 10)",
    )
    parser.add_argument(
        "--account-max-endpoints",
        type=_count,
        default=50,
        metavar="N",
        help="the account's quota of serverless endpoint variants (AWS's default 50)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        type=_fault,
        default=[],
        metavar="OPERATION=CODE[:COUNT]",
        help="answer OPERATION ('*': any but InvokeEndpoint) with the AWS error CODE "
        "(ThrottlingException, InternalFailure, ServiceUnavailable, ExpiredTokenException, "
        "ResourceLimitExceeded, ... or EndpointFailed), COUNT times (default 1, 'always'); "
        "repeatable. Faults can also be set over HTTP at /_sm_bench/faults",
    )
    parser.set_defaults(func=run)
    one_line_errors(parser)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return int(text)


def _fault(text: str) -> Any:
    from sm_bench_widgets.emulator.faults import Fault, FaultError

    try:
        return Fault.from_option(text)
    except FaultError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


def run(args: argparse.Namespace) -> int:
    """Start the emulator, print how to use it, and serve until Ctrl-C or SIGTERM."""
    from sm_bench_widgets.emulator.server import DEFAULT_IDLE_TIMEOUT_S, LocalServerless

    emulator = LocalServerless(
        host=args.host,
        port=args.port,
        time_scale=args.time_scale,
        demo_models=not args.no_demo_models,
        seed=args.seed,
        idle_timeout=args.idle_timeout or DEFAULT_IDLE_TIMEOUT_S,
        account_max_concurrency=args.account_max_concurrency,
        account_max_endpoints=args.account_max_endpoints,
    )
    for fault in args.fault:
        emulator.faults.add(fault)
    try:
        emulator.start()
    except OSError as exc:
        return fail("sm-bench emulator", f"cannot listen on {args.host}:{args.port}: {exc}", 2)
    done = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        models = ", ".join(sorted(emulator.registry.containers)) or "none"
        print(
            BANNER.format(
                url=emulator.endpoint_url,
                scale=emulator.time_scale,
                account=emulator.account,
                models=models,
                max_concurrency=emulator.quotas.max_concurrency,
                max_endpoints=emulator.quotas.max_endpoints,
                faults=f"; {len(args.fault)} fault(s) set" if args.fault else "",
            ),
            flush=True,
        )
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        emulator.stop()
        print("emulator stopped", flush=True)
    return 0
