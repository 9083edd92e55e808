"""A tiny Processing job for the emulator's job runner tests (uploaded to S3 as the code input).

``--input DIR --output DIR``; what it does after recording itself depends on ``MODE``:
``done`` exits 0, ``fail`` exits 3 after two lines on standard error, ``wait`` waits for
the object ``GO`` before writing a second file, ``hang`` starts a child and runs until
stopped. On SIGTERM it writes ``<host>-sigterm.txt``, waits for the object ``RELEASE``
and exits 0. It reaches S3 through the environment the runner gives it.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import boto3

opt_ml = pathlib.Path(os.environ["SM_BENCH_OPT_ML"])
args = dict(zip(sys.argv[1::2], sys.argv[2::2], strict=False))
input_dir, output_dir = pathlib.Path(args["--input"]), pathlib.Path(args["--output"])
config = json.loads((opt_ml / "config" / "resourceconfig.json").read_text())
host = config["current_host"]
output_dir.mkdir(parents=True, exist_ok=True)
s3 = boto3.client("s3")


def wait_for(uri: str, limit: float = 60) -> bool:
    """Whether the object ``uri`` appeared within ``limit`` seconds."""
    bucket, key = uri[len("s3://") :].split("/", 1)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return True
        except Exception:  # noqa: BLE001 - not there yet
            time.sleep(0.05)
    return False


def on_sigterm(signum: int, frame: object) -> None:
    (output_dir / f"{host}-sigterm.txt").write_text("SIGTERM")
    print(f"{host} got SIGTERM", flush=True)
    wait_for(os.environ["RELEASE"])
    sys.exit(0)


signal.signal(signal.SIGTERM, on_sigterm)
inputs = sorted(p.relative_to(input_dir).as_posix() for p in input_dir.rglob("*") if p.is_file())
record = {
    "config": config,
    "inputs": inputs,
    "input_text": {name: (input_dir / name).read_text() for name in inputs},
    "pid": os.getpid(),
    "argv": sys.argv,
    "opt_ml": str(opt_ml),
    "region": os.environ.get("AWS_DEFAULT_REGION"),
    "env": os.environ.get("JOB_SETTING"),
}
(output_dir / f"{host}.json").write_text(json.dumps(record))
print(f"job on {host} read {len(inputs)} input files")
mode = os.environ.get("MODE", "done")
if mode == "fail":
    print("something went wrong", file=sys.stderr)
    print("ValueError: the last error line", file=sys.stderr)
    sys.exit(3)
if mode == "wait":
    if not wait_for(os.environ["GO"]):
        sys.exit(4)
    (output_dir / f"{host}-after.txt").write_text("after GO")
if mode == "hang":
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    (output_dir / f"{host}-pids.json").write_text(json.dumps([os.getpid(), child.pid]))
    print(f"{host} runs until stopped", flush=True)
    while True:
        time.sleep(0.05)
print(f"job on {host} done")
