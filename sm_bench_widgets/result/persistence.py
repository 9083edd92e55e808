"""Saving a result to a self-describing folder and loading it back, or from a run directory.

``save`` writes meta.json, config.json and the measured tables (Parquet or CSV); ``load``
reads such a folder, or a run directory written by the run store (``engine.store``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.engine.store import host_directories, load_run
from sm_bench_widgets.result.optional import available, require

if TYPE_CHECKING:
    from sm_bench_widgets.result.model import BenchmarkResult

FORMAT = "sm-bench-widgets-result"
FORMAT_VERSION = 1
TABLE_FORMATS = ("parquet", "csv")

R = TypeVar("R", bound="BenchmarkResult")


def save(
    result: BenchmarkResult, directory: str | os.PathLike[str], table_format: str | None = None
) -> Path:
    """Write ``result`` to ``directory`` (see ``BenchmarkResult.save``); returns the folder."""
    if table_format not in (None, *TABLE_FORMATS):
        raise ValueError(f"table_format={table_format!r} is not allowed: 'parquet' or 'csv'")
    if table_format == "parquet":
        require("pyarrow", "Saving Parquet tables")
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    use_parquet = table_format == "parquet" or (table_format is None and available("pyarrow"))
    ext = "parquet" if use_parquet else "csv"
    files = {}
    for name, frame in (("invocations", result.invocations), ("cloudwatch", result.cloudwatch)):
        target = path / f"{name}.{ext}"
        if use_parquet:
            frame.to_parquet(target, index=False)
        else:
            frame.to_csv(target, index=False)
        files[name] = {
            "file": target.name,
            "rows": len(frame),
            "dtypes": {c: str(t) for c, t in frame.dtypes.items()},
        }
    (path / "config.json").write_text(result.config.to_json())
    meta = {**result.meta(), "tables": files}
    (path / "meta.json").write_text(json.dumps(meta, indent=2))
    return path


def load(cls: type[R], directory: str | os.PathLike[str]) -> R:
    """A ``cls`` read from a folder written by ``save``, or from a run directory."""
    path = Path(directory)
    meta_file = path / "meta.json"
    if meta_file.exists():
        meta = json.loads(meta_file.read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{meta_file} is not a saved {FORMAT} (format {meta.get('format')!r})")
        if int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise ValueError(
                f"{path} has format version {meta['format_version']}; this "
                f"version reads up to {FORMAT_VERSION}: upgrade sm-bench-widgets"
            )
        return _from_saved(cls, path, meta)
    if (path / "status.json").exists() or (path.is_dir() and host_directories(path)):
        return _from_run_dir(cls, path)
    raise FileNotFoundError(
        f"{path} holds neither a saved result (meta.json) nor a run "
        "directory (invocations.jsonl, status.json)"
    )


def _from_saved(cls: type[R], path: Path, meta: dict[str, Any]) -> R:
    tables = {}
    for name in ("invocations", "cloudwatch"):
        entry = meta.get("tables", {}).get(name)
        tables[name] = _read_table(path / entry["file"]) if entry else None
    return cls(
        config=_config_from(json.loads((path / "config.json").read_text())),
        invocations=tables["invocations"],
        cloudwatch=tables["cloudwatch"],
        run_id=meta.get("run_id", ""),
        run_dir=path,
        emulated=bool(meta.get("emulated", False)),
        time_scale=meta.get("time_scale"),
        status=meta.get("status", "completed"),
        stop_reasons=meta.get("stop_reasons") or {},
        started_at=meta.get("started_at"),
        ended_at=meta.get("ended_at"),
        region=meta.get("region"),
        errors=meta.get("errors") or [],
        account_concurrency_quota=meta.get("account_concurrency_quota"),
    )


def _from_run_dir(cls: type[R], path: Path) -> R:
    run = load_run(path)
    status = run.status
    return cls(
        config=_config_from(run.config),
        invocations=run.invocations,
        cloudwatch=run.cloudwatch,
        run_id=run.run_id,
        run_dir=path,
        emulated=bool(run.config.get("emulated", False)),
        time_scale=run.config.get("time_scale"),
        status=str(status.get("status", "running")),
        stop_reasons=run.stop_reasons,
        started_at=run.config.get("created"),
        ended_at=status.get("finished"),
        region=run.config.get("region"),
        errors=[str(e) for e in status.get("errors", [])],
        account_concurrency_quota=run.config.get("account_concurrency_quota"),
    )


def _config_from(data: dict[str, Any]) -> BenchmarkConfig:
    """A config from saved options, ignoring run metadata the run store adds to them."""
    known = set(BenchmarkConfig.__dataclass_fields__)
    return BenchmarkConfig.from_dict({k: v for k, v in data.items() if k in known})


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        require("pyarrow", f"Reading {path.name}")
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False)
