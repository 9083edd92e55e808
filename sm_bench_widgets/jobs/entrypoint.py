"""The Processing job's entrypoint: run one benchmark with the engine's steps, in this process.

``python -m sm_bench_widgets.jobs.entrypoint --input DIR --output DIR`` reads the
benchmark from ``DIR/config.json`` (``BenchmarkConfig`` options) and its payloads from
``DIR/payloads.jsonl``, and writes the run store under the output directory in segment
files, so an output in Continuous upload mode carries invocations to S3 while the job
runs. SIGTERM (what StopProcessingJob sends) stops the load and deletes the run's
endpoints before the process exits. The exit status is 0 for a completed or stopped run,
1 for a failed one and 2 for a bad input; the reason goes to standard error (the job's
CloudWatch log).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from sm_bench_widgets.config import BenchmarkConfig, ConfigError
from sm_bench_widgets.jobs.host import this_host

CONFIG_FILE = "config.json"
PAYLOADS_FILE = "payloads.jsonl"
DEFAULT_INPUT = "/opt/ml/processing/input/benchmark"
DEFAULT_OUTPUT = "/opt/ml/processing/output/results"
# run-store segments close at least this often: the delay of live results from a job
SEGMENT_SECONDS = 5.0

log = logging.getLogger("sm_bench_widgets.job")


def read_config(input_dir: Path, output_dir: Path) -> BenchmarkConfig:
    """The benchmark in ``input_dir``, its results going under ``output_dir``."""
    path = input_dir / CONFIG_FILE
    try:
        options: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError("input", str(path), "a config.json written at launch") from None
    except json.JSONDecodeError as exc:
        raise ConfigError("input", str(path), f"valid JSON ({exc})") from None
    options.pop("invoke_args_examples", None)
    options["invoke_args_examples_file"] = str(input_dir / PAYLOADS_FILE)
    options["result_save_path"] = str(output_dir)
    return BenchmarkConfig.from_dict(options)


def main(argv: list[str] | None = None) -> int:
    """Run the job's benchmark to its end; the exit status says how it ended."""
    parser = argparse.ArgumentParser(prog="sm-bench-job", description=__doc__.splitlines()[0])
    parser.add_argument("--input", default=DEFAULT_INPUT, help="folder of config and payloads")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="folder of the run store")
    parser.add_argument("--resource-config", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    from sm_bench_widgets.api import RunFailed, RunOptions, start_benchmark

    stopping = threading.Event()
    handle = None

    def on_sigterm(*_: Any) -> None:
        stopping.set()
        if handle is not None:
            handle.stop()

    signal.signal(signal.SIGTERM, on_sigterm)  # before anything is created
    host = this_host(args.resource_config)
    try:
        if host.count > 1:
            raise ConfigError(
                "instance_count", host.count, "1 (a benchmark runs on one host for now)"
            )
        config = read_config(Path(args.input), Path(args.output))
        handle = start_benchmark(config, options=RunOptions(store_segment_seconds=SEGMENT_SECONDS))
    except ConfigError as exc:
        print(f"sm-bench job: error: {exc}", file=sys.stderr, flush=True)
        return 2
    if stopping.is_set():
        handle.stop()
    log.info("run %s on %s; files in %s", handle.run_id, host.name, handle.run_dir)
    handle.subscribe(_log_event)
    while not handle.done:
        handle.wait(1.0)
    if handle.status == "failed":
        error = handle.error
        reason = error if isinstance(error, RunFailed) else f"{type(error).__name__}: {error}"
        print(f"sm-bench job: run {handle.run_id} failed: {reason}", file=sys.stderr, flush=True)
        return 1
    log.info("run %s %s", handle.run_id, handle.status)
    return 0


def _log_event(event: Any) -> None:
    """One log line per trial and error (the job's log is its progress)."""
    from sm_bench_widgets import api

    if isinstance(event, api.TrialStarted):
        log.info("trial %s started on %s", event.trial_id, event.endpoint_name)
    elif isinstance(event, api.TrialEnded):
        log.info("trial %s ended: %s", event.trial_id, event.stop_reason)
    elif isinstance(event, api.RunError):
        log.warning("%s", event.message)


if __name__ == "__main__":
    sys.exit(main())
