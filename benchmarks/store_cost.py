"""CPU cost of storing invocations: the run store's write and the in-memory rows, per invocation.

Hands ``--invocations`` rows like the invoker's (default 200,000) to what the batcher's
thread calls for each batch (``RunContext._sink``): ``Rows.extend``, then
``RunStore.append_invocations`` (encode to JSON Lines, write and flush). Measures the CPU
time of that thread (user and system, ``time.thread_time``) per invocation, and what it
comes to at 1,000 invocations per second as a share of one core. Goal: the store's write
under 5% of one core at 1,000 invocations per second.

This work runs on the batcher's thread in the run's process; the load itself runs in the
load worker process (``RunOptions.load_in_worker``, the default), so none of it delays a
request in flight.

    nice -n 10 python benchmarks/store_cost.py [--invocations 200000] [--batch 50] [--segments]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from memory import batches  # the same synthetic rows (this folder is on the path)

GOAL_SHARE = 0.05
RATE = 1000  # invocations per second


def main() -> int:
    """Measure and print the cost; 0 when the store's write is under the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=50, help="rows per batch (the batcher's)")
    parser.add_argument(
        "--segments", action="store_true", help="write segment files (a Processing job's layout)"
    )
    args = parser.parse_args()

    from sm_bench_widgets.engine.context import Rows
    from sm_bench_widgets.engine.store import RunStore

    made = list(batches(args.invocations, "costrun"))
    if args.batch != 50:  # regroup the rows into batches of the asked size
        flat = [row for batch in made for row in batch]
        made = [flat[i : i + args.batch] for i in range(0, len(flat), args.batch)]
    rows = Rows()
    store_cpu = rows_cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="sm-bench-store-cost-") as folder:
        store = RunStore(Path(folder) / "run", 60.0 if args.segments else None)
        wall = time.perf_counter()
        for batch in made:
            t0 = time.thread_time()
            rows.extend(batch)
            t1 = time.thread_time()
            store.append_invocations(batch)
            t2 = time.thread_time()
            rows_cpu += t1 - t0
            store_cpu += t2 - t1
        wall = time.perf_counter() - wall
        store.close("completed")
    n = args.invocations
    print(f"{n:,} invocations in batches of {args.batch}, {wall:.1f} s wall on this machine")
    print(f"{'':38}{'us CPU / invocation':>20}{'share of a core at 1,000/s':>28}")
    for label, cpu in (
        ("run store write (JSON Lines, flush)", store_cpu),
        ("in-memory rows (Rows.extend)", rows_cpu),
        ("both (the batcher's sink)", store_cpu + rows_cpu),
    ):
        per = cpu / n
        print(f"{label:38}{per * 1e6:>20.1f}{per * RATE:>27.2%}")
    share = store_cpu / n * RATE
    verdict = "met" if share < GOAL_SHARE else "NOT met"
    print(f"goal: the store's write under {GOAL_SHARE:.0%} of one core at {RATE:,}/s: {verdict}")
    return 0 if share < GOAL_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
