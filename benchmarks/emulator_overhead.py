"""How much the local emulator adds on top of the service time it emulates.

Starts ``sm-bench emulator`` in a separate process, deploys the demo-tabular profile model
(about 12 ms of emulated compute at 2048 MB) with provisioned concurrency so no request
pays a cold start, and drives it from threads with their own boto3 clients at
concurrency 1, 8 and 64. The emulator reports each invocation's emulated model and
overhead time in response headers, so the latency it adds is the client's wall time minus
that emulated time. Prints invocations served per second next to the ideal rate
(concurrency / emulated service time) and the added latency at p50 and p99.

    python benchmarks/emulator_overhead.py [--seconds 4] [--levels 1,8,64]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass, field

import boto3
import numpy as np
from botocore.config import Config

from sm_bench_widgets.emulator.process import served

MODEL = "demo-tabular"
MEMORY = 2048
BODY = b"5.1,3.5,1.4,0.2\n"


@dataclass
class Level:
    """Measurements at one concurrency."""

    concurrency: int
    wall_ms: list[float] = field(default_factory=list)
    emulated_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0


def client(url: str, service: str):
    """A plain boto3 client at the emulator, without retries."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=4),
    )


def deploy(url: str, provisioned: int) -> str:
    """An endpoint with ``provisioned`` warm instances and MaxConcurrency 200."""
    sm = client(url, "sagemaker")
    name = "overhead"
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": MODEL,
                "ServerlessConfig": {
                    "MemorySizeInMB": MEMORY,
                    "MaxConcurrency": 200,
                    "ProvisionedConcurrency": provisioned,
                },
            }
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300}
    )
    return name


def run_level(url: str, endpoint: str, concurrency: int, seconds: float) -> Level:
    """Closed-loop load from ``concurrency`` threads for ``seconds``."""
    level = Level(concurrency)
    lock = threading.Lock()
    clients = [client(url, "sagemaker-runtime") for _ in range(concurrency)]
    gate = threading.Barrier(concurrency + 1)
    stop_at = [0.0]

    def worker(rt) -> None:
        gate.wait()
        while time.perf_counter() < stop_at[0]:
            started = time.perf_counter()
            try:
                resp = rt.invoke_endpoint(EndpointName=endpoint, Body=BODY, ContentType="text/csv")
                resp["Body"].read()
            except Exception:  # noqa: BLE001 - counted, the benchmark goes on
                with lock:
                    level.errors += 1
                continue
            wall = (time.perf_counter() - started) * 1000
            headers = resp["ResponseMetadata"]["HTTPHeaders"]
            emulated = (
                int(headers["x-sm-bench-model-latency-us"])
                + int(headers["x-sm-bench-overhead-latency-us"])
            ) / 1000
            with lock:
                level.wall_ms.append(wall)
                level.emulated_ms.append(emulated)

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    begin = time.perf_counter()
    stop_at[0] = begin + seconds
    gate.wait()
    for t in threads:
        t.join()
    level.seconds = time.perf_counter() - begin
    return level


def report(levels: list[Level]) -> str:
    """The results as a text table."""
    head = (
        f"{'conc':>4} {'requests':>8} {'inv/s':>8} {'ideal/s':>8} {'ratio':>6} "
        f"{'service p50':>11} {'added p50':>9} {'added p99':>9} {'errors':>6}"
    )
    rows = [head, "-" * len(head)]
    for lv in levels:
        wall = np.asarray(lv.wall_ms)
        emulated = np.asarray(lv.emulated_ms)
        added = wall - emulated
        rate = len(wall) / lv.seconds
        ideal = lv.concurrency / (emulated.mean() / 1000)
        rows.append(
            f"{lv.concurrency:>4} {len(wall):>8} {rate:>8.1f} {ideal:>8.1f} {rate / ideal:>6.2f} "
            f"{np.percentile(emulated, 50):>8.1f} ms {np.percentile(added, 50):>6.1f} ms "
            f"{np.percentile(added, 99):>6.1f} ms {lv.errors:>6}"
        )
    return "\n".join(rows)


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each level")
    parser.add_argument("--levels", default="1,8,64", help="comma-separated concurrencies")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    with served() as emulator:
        url = emulator.url
        endpoint = deploy(url, provisioned=min(max(levels), 200))
        results = []
        for c in levels:
            run_level(url, endpoint, c, min(0.5, args.seconds))  # warm connections and threads
            results.append(run_level(url, endpoint, c, args.seconds))
        print(
            f"emulator at {url}: {MODEL} at {MEMORY} MB, provisioned concurrency "
            f"{min(max(levels), 200)}, {os.cpu_count()} CPUs, {args.seconds:g} s per level"
        )
        print(
            "added = client wall time - emulated (model + overhead) time; "
            "ideal/s = concurrency / emulated time"
        )
        print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
