"""``sm-bench job start|status|logs|stop|result``: a benchmark as a SageMaker Processing job.

``job start`` takes the ``run`` command's benchmark options plus the job's own (role, S3
output, instance, KMS keys, VPC, tags, runtime, clients per host) and prints the job's
name; the other commands take that name and read everything else from the job and S3, so
they work from any shell that reaches the same account.
"""

from __future__ import annotations

import argparse
from typing import Any

from sm_bench_widgets.cli.errors import fail, one_line_errors
from sm_bench_widgets.cli.run import add_benchmark_options, config_from_args, guarded
from sm_bench_widgets.cli.target import add_target_options, target_from_args
from sm_bench_widgets.config import ConfigError

PROG = "sm-bench job"


def register(subparsers: Any) -> None:
    """Add ``job`` and its commands to the ``sm-bench`` command."""
    job = subparsers.add_parser(
        "job",
        help="run a benchmark as a SageMaker Processing job and follow it",
        description="Run a benchmark as a SageMaker Processing job, and follow it by name.",
    )
    commands = job.add_subparsers(dest="job_command", metavar="COMMAND")
    commands.required = True
    one_line_errors(job)

    start = commands.add_parser(
        "start",
        help="launch the benchmark of MODEL_NAME as a Processing job",
        description="Launch the benchmark of MODEL_NAME with the InvokeEndpoint arguments "
        "in INVOKE_ARGS_FILE as a Processing job, and print the job's name.",
    )
    start.add_argument("model_name", metavar="MODEL_NAME")
    start.add_argument("invoke_args_examples_file", metavar="INVOKE_ARGS_FILE")
    add_benchmark_options(start)
    _add_job_options(start)
    add_target_options(start)
    start.set_defaults(func=start_command)
    one_line_errors(start)

    for name, func, text in (
        ("status", status_command, "the job's status and invocations so far per trial"),
        ("logs", logs_command, "the job's log lines (CloudWatch Logs)"),
        ("stop", stop_command, "stop the job; it deletes its endpoints before it ends"),
        ("result", result_command, "the job's result so far: summary and recommendation"),
    ):
        command = commands.add_parser(name, help=text, description=text[0].upper() + text[1:])
        command.add_argument("job_name", metavar="JOB_NAME")
        if name == "logs":
            command.add_argument("--tail", type=int, default=50, help="last N lines (50; 0: all)")
        if name == "result":
            command.add_argument("--wait", action="store_true", help="wait for the job to end")
        if name in ("status", "result"):
            command.add_argument(
                "--cache-dir", default=None, help="where results are mirrored locally"
            )
        add_target_options(command)
        command.set_defaults(func=func)
        one_line_errors(command)


def _add_job_options(parser: argparse.ArgumentParser) -> None:
    """The Processing job's own options (``JobOptions``)."""
    group = parser.add_argument_group("Processing job")
    group.add_argument("--role", default=None, help="IAM role ARN (default: Studio's role)")
    group.add_argument(
        "--s3-output-path", default=None, help="s3:// prefix (default: SageMaker's bucket)"
    )
    group.add_argument(
        "--job-instance-type", default=None, help="the job's instance type (ml.m5.large)"
    )
    group.add_argument(
        "--job-instance-count", type=int, default=None, help="the job's instances (1)"
    )
    group.add_argument("--volume-kms-key", default=None, help="KMS key of the job's volume")
    group.add_argument("--output-kms-key", default=None, help="KMS key of the job's output")
    group.add_argument(
        "--tag", action="append", default=None, metavar="KEY=VALUE", help="a tag (repeatable)"
    )
    group.add_argument("--subnets", nargs="+", default=None, help="VPC subnet ids")
    group.add_argument(
        "--security-group-ids", nargs="+", default=None, help="VPC security group ids"
    )
    group.add_argument(
        "--max-runtime", type=int, default=None, help="MaxRuntimeInSeconds (AWS: 24 h)"
    )
    group.add_argument("--image-uri", default=None, help="container image (default: stock)")
    group.add_argument(
        "--clients-per-host",
        type=int,
        default=None,
        help="clients one host drives (1-200); bigger concurrency trials are split over "
        "the job's hosts (default: measured by the first host)",
    )
    group.add_argument("--cache-dir", default=None, help="where results are mirrored locally")
    group.add_argument("--wait", action="store_true", help="wait for the job and print its result")


def job_options_from_args(args: argparse.Namespace) -> Any:
    """The ``JobOptions`` the options describe (``ConfigError`` names a bad one)."""
    from sm_bench_widgets.jobs.options import DEFAULT_INSTANCE_TYPE, JobOptions

    tags = None
    if args.tag:
        pairs = [t.split("=", 1) for t in args.tag]
        bad = [t for t, p in zip(args.tag, pairs, strict=True) if len(p) != 2]
        if bad:
            raise ConfigError("tags", bad[0], "KEY=VALUE")
        tags = dict(pairs)
    network = None
    if args.subnets or args.security_group_ids:
        network = {"subnets": args.subnets, "security_group_ids": args.security_group_ids}
    return JobOptions(
        role=args.role,
        s3_output_path=args.s3_output_path,
        instance_type=args.job_instance_type or DEFAULT_INSTANCE_TYPE,
        instance_count=1 if args.job_instance_count is None else args.job_instance_count,
        volume_kms_key=args.volume_kms_key,
        output_kms_key=args.output_kms_key,
        tags=tags,
        network_config=network,
        max_runtime_in_seconds=args.max_runtime,
        image_uri=args.image_uri,
        clients_per_host=args.clients_per_host,
    )


def start_command(args: argparse.Namespace) -> int:
    """``sm-bench job start``: launch the job and print its name."""
    prog = f"{PROG} start"
    try:
        config = config_from_args(args)
        job = job_options_from_args(args)
    except ConfigError as exc:
        return fail(prog, str(exc), 2)

    def launch() -> Any:
        from sm_bench_widgets.jobs.launcher import launch_job

        return launch_job(config, target_from_args(args), job, cache_dir=args.cache_dir)

    code, handle = guarded(prog, launch)
    if handle is None:
        return code
    print(handle.name)
    if not args.wait:
        return 0
    code, result = guarded(prog, handle.wait)
    if result is None:
        return code
    print(result.summary_text())
    return 0 if result.status == "completed" else 1


def _handle(args: argparse.Namespace) -> Any:
    from sm_bench_widgets.jobs.handle import ProcessingJobHandle

    return ProcessingJobHandle.attach(
        args.job_name, target_from_args(args), cache_dir=getattr(args, "cache_dir", None)
    )


def status_command(args: argparse.Namespace) -> int:
    """``sm-bench job status``: status, failure reason and invocations per trial."""

    def work() -> Any:
        handle = _handle(args)
        lines = [f"{handle.name}: {handle.status()}"]
        if handle.failure_reason:
            lines.append(f"reason: {handle.failure_reason}")
        if handle.run_id:
            lines.append(f"run {handle.run_id}")
        lines += [f"  {trial}: {count} invocations" for trial, count in handle.progress().items()]
        return "\n".join(lines)

    code, text = guarded(f"{PROG} status", work)
    if text is not None:
        print(text)
    return code


def logs_command(args: argparse.Namespace) -> int:
    """``sm-bench job logs``: the job's last log lines."""
    code, lines = guarded(f"{PROG} logs", lambda: _handle(args).logs(tail=args.tail or None))
    for line in lines or []:
        print(line)
    return code


def stop_command(args: argparse.Namespace) -> int:
    """``sm-bench job stop``: ask SageMaker to stop the job."""

    def work() -> str:
        handle = _handle(args)
        handle.stop()
        return f"{handle.name}: {handle.status()}"

    code, text = guarded(f"{PROG} stop", work)
    if text is not None:
        print(text)
    return code


def result_command(args: argparse.Namespace) -> int:
    """``sm-bench job result``: the result so far (or, with --wait, the final one)."""

    def work() -> Any:
        handle = _handle(args)
        return handle.wait() if args.wait else handle.result()

    code, result = guarded(f"{PROG} result", work)
    if result is None:
        return code
    print(result.summary_text())
    if result.run_dir is not None:
        print(f"Run directory: {result.run_dir}")
    return 0
