"""Exports of a result's tables: a CSV or Parquet file per table, an Excel workbook, HTML.

Every export holds the measured and derived tables (``BenchmarkResult.tables``), the
recommendation and the run's metadata, so a file says whether its figures were emulated.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sm_bench_widgets.result.optional import require

if TYPE_CHECKING:
    from sm_bench_widgets.result.model import BenchmarkResult

PARQUET_TAG_KEYS = ("format", "format_version", "run_id", "status", "emulated", "label")


def export_tables(result: BenchmarkResult) -> dict[str, pd.DataFrame]:
    """Every table by name, plus ``recommendation``, as the exports write them."""
    return {**result.tables(), "recommendation": result.recommendation_table()}


def to_csv(result: BenchmarkResult, directory: str | os.PathLike[str]) -> dict[str, Path]:
    """One CSV per table plus ``meta.json``; returns the paths by table name."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, frame in export_tables(result).items():
        out[name] = path / f"{name}.csv"
        frame.to_csv(out[name], index=False)
    out["meta"] = path / "meta.json"
    out["meta"].write_text(json.dumps(result.meta(), indent=2))
    return out


def to_parquet(result: BenchmarkResult, directory: str | os.PathLike[str]) -> dict[str, Path]:
    """One Parquet file per table (run metadata in each file's schema) plus ``meta.json``."""
    require("pyarrow", "Parquet export")
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    meta = result.meta()
    tag = json.dumps({k: meta[k] for k in PARQUET_TAG_KEYS}).encode()
    out = {}
    for name, frame in export_tables(result).items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), b"sm_bench_widgets": tag}
        )
        out[name] = path / f"{name}.parquet"
        pq.write_table(table, out[name])
    out["meta"] = path / "meta.json"
    out["meta"].write_text(json.dumps(meta, indent=2))
    return out


def to_excel(result: BenchmarkResult, path: str | os.PathLike[str]) -> Path:
    """One workbook, a sheet per table, plus ``recommendation`` and ``meta`` sheets."""
    require("openpyxl", "Excel export")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    meta_rows = pd.DataFrame(
        [
            {
                "key": k,
                "value": v
                if isinstance(v, str | int | float | bool) or v is None
                else json.dumps(v),
            }
            for k, v in result.meta().items()
        ]
    )
    with pd.ExcelWriter(target, engine="openpyxl") as writer:
        meta_rows.to_excel(writer, sheet_name="meta", index=False)
        for name, frame in export_tables(result).items():
            _excel_safe(frame).to_excel(writer, sheet_name=name, index=False)
    return target


def to_html(result: BenchmarkResult, path: str | os.PathLike[str]) -> Path:
    """A standalone HTML report (see ``sm_bench_widgets.report.write_report``)."""
    from sm_bench_widgets.report import write_report  # Altair loads only for a report

    return write_report(result, path)


def _excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel holds no time zones: UTC timestamps become naive UTC."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None)
    return out
