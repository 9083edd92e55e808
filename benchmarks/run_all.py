"""Run every benchmark in benchmarks/ with one command and print one table.

Each benchmark runs in its own process, one after another (they would distort each other
side by side). The table gives each one's wall time, whether it ran to the end, and its
headline (the last lines it printed); each full output is kept in ``--out``. ``--quick``
runs each with small settings for a rough table within about 3 minutes (benchmarks too
heavy for that, e.g. the notebook's, are listed as skipped); a benchmark added to the
folder without settings here runs with its defaults, and is skipped by ``--quick``.
Figures measured while other work runs are noisy: the README's come from a quiet machine.

    nice -n 10 python benchmarks/run_all.py [--quick] [--out DIR] [--only fidelity,...]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"run_all.py", "stub_endpoint.py"}
QUICK_BUDGET_S = 170.0


@dataclass(frozen=True)
class Bench:
    """One benchmark script: its arguments for a full run and for ``--quick`` (None:
    skipped by ``--quick``)."""

    script: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] | None = None
    headline: int = 3  # last lines of output shown in the table
    weight: float = 1.0  # its share of the --quick time budget


BENCHES = [
    Bench("fidelity.py", (), ("--quick",), headline=2, weight=2.0),
    Bench("emulator_overhead.py", (), ("--seconds", "1", "--levels", "1,8"), headline=5),
    Bench("engine_vs_seed.py", (), ("--quick",), headline=6),  # time to recommendation
    Bench("recommendation_hit_rate.py", (), ("--seeds", "1", "--invocations", "80")),
    Bench(
        "job_modes.py",
        (),
        ("--invocations", "10", "--no-split"),
        weight=1.5,
    ),
    Bench("panel_responsiveness.py", (), ("--idle-seconds", "1", "--invocations", "100")),
    Bench("under_load_memory.py", (), ("--invocations", "3000", "--sample-seconds", "0.1")),
    Bench("notebook_latency.py", (), None),
]


def discover() -> list[Bench]:
    """The benchmarks in the folder: known settings first, then any other script."""
    present = {p.name for p in HERE.glob("*.py")} - NOT_BENCHMARKS
    known = [b for b in BENCHES if b.script in present]
    others = [Bench(name) for name in sorted(present - {b.script for b in BENCHES})]
    return known + others


@dataclass
class Outcome:
    bench: Bench
    status: str
    seconds: float
    headline: list[str]


def run(bench: Bench, quick: bool, out: Path, timeout: float | None) -> Outcome:
    """Run one benchmark, keeping its output in ``out``."""
    args = bench.quick if quick else bench.full
    if args is None:
        return Outcome(bench, "skipped (too heavy for --quick)", 0.0, [])
    log = out / (Path(bench.script).stem + ".txt")
    path = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(HERE / bench.script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=HERE.parent,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), *path])},
        )
        status = "ok" if done.returncode == 0 else f"failed (exit {done.returncode})"
        text, errors = done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        status = f"timed out after {timeout:.0f} s"
        text = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        errors = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
    seconds = time.perf_counter() - started
    log.write_text(text + ("\n--- stderr ---\n" + errors if errors else ""))
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    if status != "ok" and errors.strip():
        lines.append(errors.strip().splitlines()[-1])
    return Outcome(bench, status, seconds, lines[-bench.headline :])


def table(outcomes: list[Outcome]) -> str:
    """One table: benchmark, status, seconds, headline."""
    width = max(len(o.bench.script) for o in outcomes)
    rows = [f"{'benchmark':<{width}}  {'seconds':>7}  status / headline"]
    for o in outcomes:
        rows.append(f"{o.bench.script:<{width}}  {o.seconds:>7.0f}  {o.status}")
        rows.extend(f"{'':<{width}}  {'':>7}    {line}" for line in o.headline)
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="rough figures within ~3 minutes")
    parser.add_argument("--out", default=None, help="folder for each benchmark's full output")
    parser.add_argument("--only", default="", help="comma-separated script names (no .py)")
    args = parser.parse_args(argv)
    benches = discover()
    if args.only:
        wanted = {name.removesuffix(".py") for name in args.only.split(",")}
        benches = [b for b in benches if Path(b.script).stem in wanted]
    out = Path(args.out or tempfile.mkdtemp(prefix="sm-bench-benchmarks-"))
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}; {'quick' if args.quick else 'full'} settings",
        flush=True,
    )
    started = time.perf_counter()
    outcomes = []
    runnable = [b for b in benches if (b.quick if args.quick else b.full) is not None]
    for bench in benches:
        timeout = None
        if args.quick:
            left = QUICK_BUDGET_S - (time.perf_counter() - started)
            done = [o.bench for o in outcomes]
            remaining = sum(b.weight for b in runnable if b not in done) or 1.0
            timeout = max(10.0, left * bench.weight / remaining * 1.5)
        outcome = run(bench, args.quick, out, timeout)
        outcomes.append(outcome)
        print(f"  {bench.script}: {outcome.status} in {outcome.seconds:.0f} s", flush=True)
    print()
    print(table(outcomes))
    print(f"\n{time.perf_counter() - started:.0f} s in all; full outputs in {out}")
    return 0 if all(o.status.startswith(("ok", "skipped")) for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
