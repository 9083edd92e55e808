"""The Processing job's entrypoint: run one benchmark with the engine's steps, in this process.

``python -m sm_bench_widgets.jobs.entrypoint --input DIR --output DIR`` reads the
benchmark from ``DIR/config.json`` (``BenchmarkConfig`` options) and its payloads from
``DIR/payloads.jsonl``, and writes the run store under the output directory in segment
files, so an output in Continuous upload mode carries invocations to S3 while the job
runs. SIGTERM (what StopProcessingJob sends) stops the load and deletes the run's
endpoints before the process exits. The exit status is 0 for a completed or stopped run,
1 for a failed one and 2 for a bad input; the reason goes to standard error (the job's
CloudWatch log).

On a job of several hosts (``/opt/ml/config/resourceconfig.json``), every host runs with the
same ``--run-id`` and takes its share of the trials; each keeps its own store in a
subfolder named after it, and reads the others' stability results (from ``--results-s3``,
where the Continuous output puts them, or else from the shared output folder) to choose the
memory size of the concurrency phase alike. A concurrency trial with more clients than one
host drives faithfully (``--clients-per-host``, else measured by the first host) is split
over hosts that drive their shares of its clients against one endpoint in one time window.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from sm_bench_widgets.config import BenchmarkConfig, ConfigError
from sm_bench_widgets.jobs.host import Host, this_host
from sm_bench_widgets.jobs.options import check_clients_per_host
from sm_bench_widgets.jobs.peers import FolderPeers, S3Peers

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
    parser.add_argument(
        "--run-id", default=None, help="the run's id, the same on every host (several hosts)"
    )
    parser.add_argument(
        "--results-s3",
        default=None,
        help="s3:// URI the output goes to, where hosts read each other's results "
        "(several hosts; without it they read the shared output folder)",
    )
    parser.add_argument(
        "--clients-per-host",
        type=int,
        default=None,
        help="clients one host drives faithfully; bigger concurrency trials are split over "
        "hosts (default: measured by the first host)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    from sm_bench_widgets.api import RunFailed

    stopping = threading.Event()
    handle = None

    def on_sigterm(*_: Any) -> None:
        stopping.set()
        if handle is not None:
            handle.stop()

    signal.signal(signal.SIGTERM, on_sigterm)  # before anything is created
    host = this_host(args.resource_config)
    try:
        config = read_config(Path(args.input), Path(args.output))
        handle = start(config, host, args.run_id, args.results_s3, args.clients_per_host)
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


def start(
    config: BenchmarkConfig,
    host: Host,
    run_id: str | None,
    results_s3: str | None,
    clients_per_host: int | None = None,
) -> Any:
    """Check everything, then start this host's share of the run; its ``RunHandle``.
    ``clients_per_host`` (None: measured) decides which concurrency trials hosts split."""
    from sm_bench_widgets.api import RunHandle, RunOptions
    from sm_bench_widgets.aws.clients import Target
    from sm_bench_widgets.aws.endpoints import check_model
    from sm_bench_widgets.engine.hosts import HostShare
    from sm_bench_widgets.engine.options import prepare
    from sm_bench_widgets.engine.orchestrator import Orchestrator
    from sm_bench_widgets.engine.store import run_directory

    options = RunOptions(store_segment_seconds=SEGMENT_SECONDS)
    sampler = prepare(config)
    target = Target.from_environment()
    check_model(target, config.model_name)
    share = None
    if host.count > 1:
        if not run_id:
            raise ConfigError("run_id", run_id, "the run's id, the same on every host")
        if results_s3 is not None and not results_s3.startswith("s3://"):
            raise ConfigError("results_s3", results_s3, "an s3:// URI")
        if results_s3:
            mirror = Path(tempfile.mkdtemp(prefix="sm-bench-peers-"))
            peers = S3Peers(target, results_s3, run_id, host.name, list(host.hosts), mirror)
        else:
            folder = run_directory(config.result_save_path, run_id)
            peers = FolderPeers(folder, host.name, list(host.hosts))
        check_clients_per_host(clients_per_host)
        index = host.hosts.index(host.name)
        share = HostShare(host.name, index, host.count, peers, host.hosts, clients_per_host)
    run = Orchestrator(config, target, options, sampler, run_id=run_id, host=share)
    run.start()
    return RunHandle(run)


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
