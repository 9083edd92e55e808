"""The run store: append-only files on disk, so a crash loses at most in-flight invocations.

Layout of one run directory, ``<result_save_path>/sm-bench-results/<run_id>/``:

- ``config.json``: the ``BenchmarkConfig`` options plus ``run_id``, ``created`` (epoch
  seconds), ``emulated`` and ``region``; written at the start (``emulated`` is set later
  if the first answers reveal the local emulator behind a plain endpoint URL).
- ``trials.jsonl``: one ``{"event": "planned", ...trial}`` line per planned trial and one
  ``{"event": "ended", "trial_id", "stop_reason", "summary"}`` line per finished trial.
- ``invocations.jsonl``: one JSON object per invocation (``schema.INVOCATION_COLUMNS``),
  appended and flushed per batch while the run goes on.
- ``cloudwatch.jsonl``: CloudWatch rows (``schema.CLOUDWATCH_COLUMNS``) appended per
  endpoint as they are fetched; ``cloudwatch.csv`` is the same data written at the end.
- ``payloads.jsonl``: the invoke-argument examples the run draws from (binary bodies as
  base64), so a run can be resumed, or its job run elsewhere, without the original file.
- ``status.json``: ``status`` (running, completed, stopped, failed), ``updated``,
  ``invocations`` count and ``errors`` (messages); replaced atomically on each update.

With ``segment_seconds`` (a Processing job, whose output is uploaded file by file while it
runs), each of the three append-only streams is written instead as a folder of segment
files closed at least every ``segment_seconds``: ``invocations/part-00001.jsonl``, ...
(likewise ``trials/`` and ``cloudwatch/``), so every closed file is final and can be
uploaded once.

``load_run(dir)`` reads a directory back (either layout, or both after a resume), also one
whose run crashed: its status stays ``running`` with an old ``updated`` time, and a torn
last line is skipped.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sm_bench_widgets.frames import (
    FOLD_ROWS,
    InvocationColumns,
    cloudwatch_frame,
    normalize_invocations,
)

RESULTS_DIRNAME = "sm-bench-results"
PAYLOADS_FILENAME = "payloads.jsonl"
LOCK_FILENAME = ".lock"


def run_directory(result_save_path: str | os.PathLike[str], run_id: str) -> Path:
    """Where the run ``run_id`` keeps its files under ``result_save_path`` (absolute)."""
    return Path(result_save_path).absolute() / RESULTS_DIRNAME / run_id


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            return _jsonable(value.item())
        except (AttributeError, ValueError):
            return str(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


_ENCODER = json.JSONEncoder(allow_nan=False)


def _dumps(obj: Any) -> str:
    """One JSON line; plain Python values (an invocation row) take the fast path, anything
    else (numpy scalars, timestamps, NaN) is made JSON-able first, with the same output."""
    try:
        return _ENCODER.encode(obj)
    except (TypeError, ValueError):
        return json.dumps(_jsonable(obj), default=str, allow_nan=False)


class RunInUse(RuntimeError):
    """Another live process holds the run directory (a run cannot be written twice)."""


def _lock(run_dir: Path) -> Any:
    """An exclusive lock on ``run_dir`` held while the store is open; the OS drops it when
    the process dies, so a killed run's directory can be resumed."""
    handle = open(run_dir / LOCK_FILENAME, "a")  # noqa: SIM115
    try:
        import fcntl
    except ImportError:  # no advisory locks on this platform
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise RunInUse(f"the run in {run_dir} is still running in another process") from None
    return handle


def ensure_free(run_dir: Path) -> None:
    """Raise ``RunInUse`` if a live process holds ``run_dir``."""
    _lock(run_dir).close()


class _Stream:
    """One append-only JSON Lines stream: a single file, or segment files closed at least
    every ``segment_seconds``. Callers hold the store's lock."""

    def __init__(self, run_dir: Path, name: str, segment_seconds: float | None):
        self.path = run_dir / f"{name}.jsonl"
        self.folder = run_dir / name
        self.segment_seconds = segment_seconds
        self._file: Any = None
        self._opened = 0.0
        if segment_seconds is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            if self._file.tell() and not _ends_with_newline(self.path):
                self._file.write("\n")  # end a line torn by a crash before appending
        else:
            self.folder.mkdir(exist_ok=True)
            self._next = 1 + max(
                (_part_number(p) for p in self.folder.glob("part-*.jsonl")), default=0
            )

    def write(self, text: str) -> None:
        if self._file is None:
            self._file = open(self.folder / f"part-{self._next:05d}.jsonl", "x", encoding="utf-8")  # noqa: SIM115
            self._next += 1
            self._opened = time.monotonic()
        self._file.write(text)
        self._file.flush()

    def close_stale(self) -> None:
        """Close the open segment once it is ``segment_seconds`` old (it is then final)."""
        if (
            self.segment_seconds is not None
            and self._file is not None
            and time.monotonic() - self._opened >= self.segment_seconds
        ):
            self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _part_number(path: Path) -> int:
    try:
        return int(path.stem.split("-", 1)[1])
    except (IndexError, ValueError):
        return 0


class RunStore:
    """Writes one run directory; thread-safe; every append is flushed before returning."""

    def __init__(self, run_dir: str | os.PathLike[str], segment_seconds: float | None = None):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._held = _lock(self.run_dir)
        self._lock = threading.Lock()
        self._count = 0
        self._errors: list[str] = []
        self._status = "running"
        self._inv = _Stream(self.run_dir, "invocations", segment_seconds)
        self._trials = _Stream(self.run_dir, "trials", segment_seconds)
        self._cw = _Stream(self.run_dir, "cloudwatch", segment_seconds)
        self._closed = threading.Event()
        if segment_seconds is not None:
            threading.Thread(
                target=self._close_stale_segments,
                args=(segment_seconds,),
                name="sm-bench-store-segments",
                daemon=True,
            ).start()

    def _close_stale_segments(self, every: float) -> None:
        while not self._closed.wait(every / 4):
            with self._lock:
                for stream in (self._inv, self._trials, self._cw):
                    stream.close_stale()

    def write_config(self, config_dict: dict[str, Any], **meta: Any) -> None:
        """Write ``config.json`` (options and run metadata) and the first status."""
        data = {**config_dict, **meta}
        (self.run_dir / "config.json").write_text(
            json.dumps(_jsonable(data), indent=2, default=str)
        )
        self.write_status()

    def write_payloads(self, examples: list[dict[str, Any]]) -> None:
        """Write ``payloads.jsonl``: the examples the run draws from."""
        from sm_bench_widgets.payloads import write_jsonl

        write_jsonl(examples, self.run_dir / PAYLOADS_FILENAME)

    def continue_from(self, count: int, errors: list[str]) -> None:
        """Carry on a run an earlier process wrote: its ``count`` of rows and its errors."""
        with self._lock:
            self._count = count
            self._errors = list(errors)

    def update_config(self, **meta: Any) -> None:
        """Replace some run metadata in ``config.json`` (atomically)."""
        path = self.run_dir / "config.json"
        with self._lock:
            data = json.loads(path.read_text()) if path.exists() else {}
            data.update(meta)
            tmp = self.run_dir / "config.json.tmp"
            tmp.write_text(json.dumps(_jsonable(data), indent=2, default=str))
            os.replace(tmp, path)

    def append_invocations(self, rows: list[dict[str, Any]]) -> None:
        """Append invocation rows and flush them to disk."""
        if not rows:
            return
        text = "".join(_dumps(r) + "\n" for r in rows)
        with self._lock:
            self._inv.write(text)
            self._count += len(rows)

    def append_trial(self, record: dict[str, Any]) -> None:
        """Append a trial record (planned or ended)."""
        with self._lock:
            self._trials.write(_dumps(record) + "\n")

    def append_cloudwatch(self, frame: pd.DataFrame) -> None:
        """Append one endpoint's CloudWatch rows."""
        if frame is None or not len(frame):
            return
        text = "".join(_dumps(r) + "\n" for r in frame.to_dict(orient="records"))
        with self._lock:
            self._cw.write(text)

    def add_error(self, message: str) -> None:
        """Record an error message in ``status.json``."""
        with self._lock:
            self._errors.append(message)
        self.write_status()

    def write_status(self, status: str | None = None, **extra: Any) -> None:
        """Replace ``status.json`` atomically with the current status and counts."""
        with self._lock:
            if status is not None:
                self._status = status
            data = {
                "status": self._status,
                "updated": time.time(),
                "invocations": self._count,
                "errors": list(self._errors),
                **extra,
            }
            tmp = self.run_dir / "status.json.tmp"
            tmp.write_text(json.dumps(_jsonable(data), indent=2, default=str))
            os.replace(tmp, self.run_dir / "status.json")

    def close(self, status: str) -> None:
        """Write ``cloudwatch.csv`` and the final status, and close the files."""
        self._closed.set()
        with self._lock:
            for stream in (self._inv, self._trials, self._cw):
                stream.close()
        cw = read_stream(self.run_dir, "cloudwatch")
        cloudwatch_frame([pd.DataFrame(cw)]).to_csv(self.run_dir / "cloudwatch.csv", index=False)
        self.write_status(status, finished=time.time())
        self._held.close()


@dataclass
class StoredRun:
    """A run directory read back: options, trials, invocations, CloudWatch and status."""

    run_dir: Path
    config: dict[str, Any]
    status: dict[str, Any]
    invocations: pd.DataFrame
    cloudwatch: pd.DataFrame
    trials: list[dict[str, Any]] = field(default_factory=list)
    stop_reasons: dict[str, str] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        """The run's id."""
        return str(self.config.get("run_id", self.run_dir.name))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The complete records of a JSON Lines file: a last line without its newline (a
    crash mid-write, or a file caught mid-upload) is left for a later read."""
    return [r for batch in _jsonl_batches(path) for r in batch]


def _jsonl_from(
    path: Path, offset: int = 0, size: int = FOLD_ROWS
) -> Iterator[tuple[list[dict[str, Any]], int]]:
    """The complete records of a JSON Lines file from byte ``offset`` on, ``size`` at a
    time, each batch with the byte where reading may go on (the last batch may be empty).
    Read line by line, so a million invocations never sit in memory as text or as dicts at
    once; a last line without its newline (a crash mid-write, or a file caught mid-upload)
    is left for a later read; a file shorter than ``offset`` was replaced and is read whole."""
    try:
        handle = open(path, "rb")  # noqa: SIM115
    except OSError:
        return
    with handle:
        if os.fstat(handle.fileno()).st_size < offset:
            offset = 0
        handle.seek(offset)
        batch: list[dict[str, Any]] = []
        for line in handle:
            if not line.endswith(b"\n"):
                break
            offset += len(line)
            if not line.strip():
                continue
            try:
                batch.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a torn line that a later run appended after
            if len(batch) >= size:
                yield batch, offset
                batch = []
        yield batch, offset


def _jsonl_batches(path: Path, size: int = FOLD_ROWS) -> Iterator[list[dict[str, Any]]]:
    """``_read_jsonl``'s records, ``size`` at a time."""
    for batch, _ in _jsonl_from(path, 0, size):
        if batch:
            yield batch


def _stream_files(run_dir: Path, name: str) -> list[Path]:
    """The files of one stream in order: the single file, then the segments."""
    parts = sorted((run_dir / name).glob("part-*.jsonl"), key=_part_number)
    return [run_dir / f"{name}.jsonl", *parts]


def read_stream(run_dir: Path, name: str) -> list[dict[str, Any]]:
    """Every complete record of one stream: the single file, then the segments in order."""
    return [r for path in _stream_files(run_dir, name) for r in _read_jsonl(path)]


def stream_batches(run_dir: Path, name: str) -> Iterator[list[dict[str, Any]]]:
    """``read_stream``'s records a few thousand at a time, read line by line (for streams
    too long to hold as dicts at once, such as a million invocations)."""
    for path in _stream_files(run_dir, name):
        yield from _jsonl_batches(path)


class StreamTail:
    """The records of one stream appended since the last read: each file is read on from
    the byte where the last read stopped, so following a growing run costs what it adds,
    not its whole length at every look. A torn last line waits for a later read."""

    def __init__(self, run_dir: Path, name: str):
        self.run_dir = Path(run_dir)
        self.name = name
        self._offsets: dict[Path, int] = {}

    def read(self) -> list[dict[str, Any]]:
        """Every complete record added since the last read, in stream order."""
        return [r for batch in self.batches() for r in batch]

    def batches(self, size: int = FOLD_ROWS) -> Iterator[list[dict[str, Any]]]:
        """``read``'s records ``size`` at a time (a long first read never sits in memory
        as dicts at once)."""
        for path in _stream_files(self.run_dir, self.name):
            for batch, offset in _jsonl_from(path, self._offsets.get(path, 0), size):
                self._offsets[path] = offset
                if batch:
                    yield batch


def read_invocations(run_dir: Path) -> pd.DataFrame:
    """The invocations stream as a normalised frame, folded into compact columns as it is
    read (a stored run of a million invocations opens in a few hundred megabytes)."""
    columns = InvocationColumns()
    for batch in stream_batches(run_dir, "invocations"):
        columns.add(batch)
    return columns.frame()


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file's object, or an empty dict while it is missing or partial."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def store_folders(run_dir: Path) -> list[Path]:
    """The folders holding a run's stores: its hosts' subfolders, or the run folder."""
    return host_directories(run_dir) or [run_dir]


def load_run(run_dir: str | os.PathLike[str]) -> StoredRun:
    """Read a run directory back into DataFrames (works for a crashed run too).

    A run shared by several hosts keeps one store per host in a subfolder; its directory
    reads back as the one run they make together.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"no run directory at {path}")
    hosts = host_directories(path)
    if hosts:
        return _merge(path, [_load_one(h) for h in hosts])
    return _load_one(path)


def host_directories(run_dir: Path) -> list[Path]:
    """The per-host stores of a run shared by several hosts (none for a lone host's run)."""
    if (run_dir / "config.json").exists():
        return []
    return sorted(p for p in run_dir.iterdir() if (p / "config.json").is_file())


def _load_one(path: Path) -> StoredRun:
    trials = read_stream(path, "trials")
    planned = [
        {k: v for k, v in t.items() if k != "event"} for t in trials if t.get("event") == "planned"
    ]
    stop_reasons = {
        t["trial_id"]: t.get("stop_reason", "") for t in trials if t.get("event") == "ended"
    }
    return StoredRun(
        run_dir=path,
        config=read_json(path / "config.json"),
        status=read_json(path / "status.json"),
        invocations=read_invocations(path),
        cloudwatch=cloudwatch_frame([pd.DataFrame(read_stream(path, "cloudwatch"))]),
        trials=planned,
        stop_reasons=stop_reasons,
    )


# how the hosts' statuses add up: the first that any host has, in this order
_STATUS_ORDER = ("running", "failed", "stopped", "completed")


def _merge(path: Path, runs: list[StoredRun]) -> StoredRun:
    """One run from its hosts' stores: every trial once, from the host that ran it."""
    statuses = [str(r.status.get("status", "running")) for r in runs]
    status = next((s for s in _STATUS_ORDER if s in statuses), "running")
    config = {k: v for k, v in runs[0].config.items() if k != "host"}
    return StoredRun(
        run_dir=path,
        config=config,
        status={
            "status": status,
            "hosts": {
                str(r.config.get("host", r.run_dir.name)): s
                for r, s in zip(runs, statuses, strict=True)
            },
            "invocations": sum(len(r.invocations) for r in runs),
            "errors": [e for r in runs for e in r.status.get("errors") or []],
            "finished": max((r.status.get("finished") or 0 for r in runs), default=None)
            if status != "running"
            else None,
        },
        invocations=normalize_invocations(
            pd.concat([r.invocations for r in runs], ignore_index=True) if runs else None
        ),
        cloudwatch=cloudwatch_frame([r.cloudwatch for r in runs]),
        trials=[t for r in runs for t in r.trials],
        stop_reasons={k: v for r in runs for k, v in r.stop_reasons.items()},
    )
