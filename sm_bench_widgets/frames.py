"""The measured tables as DataFrames with the schema's columns and fixed dtypes.

Every producer and reader (runner, run store, saved results) goes through here, so a table
read back from disk has the same dtypes as the one the runner built.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from sm_bench_widgets.schema import CLOUDWATCH_COLUMNS, INVOCATION_COLUMNS

_INVOCATION_KINDS = {
    **dict.fromkeys(
        ("run_id", "trial_id", "phase", "endpoint_name", "outcome", "error_code"), "str"
    ),
    **dict.fromkeys(
        (
            "memory_size",
            "max_concurrency",
            "provisioned_concurrency",
            "clients",
            "client_id",
            "bytes_in",
            "bytes_out",
            "payload_index",
        ),
        "int",
    ),
    **dict.fromkeys(("start", "end", "latency_ms"), "float"),
    "cold": "bool",
}
_CLOUDWATCH_KINDS = {
    **dict.fromkeys(("endpoint_name", "metric", "statistic", "unit"), "str"),
    **dict.fromkeys(("memory_size", "max_concurrency", "provisioned_concurrency"), "int"),
    "timestamp": "time",
    "value": "float",
}
_TRUE = {"true", "1", "yes", "y", "t"}


def as_bool(series: pd.Series) -> pd.Series:
    """A column of flags as booleans, tolerating strings (\"True\"/\"false\") and missing values."""
    if series.dtype == bool:
        return series
    return series.map(
        lambda v: (
            str(v).strip().lower() in _TRUE
            if isinstance(v, str)
            else bool(v)
            if pd.notna(v)
            else False
        )
    ).astype(bool)


_DTYPES = {
    "str": pd.Series([], dtype=object).astype(str).dtype,
    "int": np.dtype("int64"),
    "float": np.dtype("float64"),
    "bool": np.dtype("bool"),
    "time": pd.DatetimeTZDtype("ns", "UTC"),
}


def _is_coerced(frame: pd.DataFrame, columns: list[str], kinds: dict[str, str]) -> bool:
    """Whether ``frame`` already has ``columns`` first, each of its kind, on a plain index."""
    index = frame.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1):
        return False
    if list(frame.columns[: len(columns)]) != columns or frame.columns.has_duplicates:
        return False
    for col in columns:
        kind = kinds.get(col)
        if kind is not None and frame[col].dtype != _DTYPES[kind]:
            return False
        if kind == "str" and frame[col].hasnans:
            return False
    return True


def _coerce(frame: pd.DataFrame | None, columns: list[str], kinds: dict[str, str]) -> pd.DataFrame:
    """``frame`` with ``columns`` first (missing ones added) and each column of its kind.

    A frame that already is so comes back as a shallow copy (copy-on-write keeps it apart),
    so a million-row table is not copied again each time it passes through.
    """
    frame = pd.DataFrame() if frame is None else frame
    if _is_coerced(frame, columns, kinds):
        return frame.copy(deep=False)
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    extra = [c for c in frame.columns if c not in columns]
    for col in [*columns, *extra]:
        values = (
            frame[col].reset_index(drop=True)
            if col in frame.columns
            else pd.Series([None] * len(frame), dtype=object)
        )
        kind = kinds.get(col)
        if kind == "str":
            values = values.astype(object).where(values.notna(), "").astype(str)
        elif kind == "int":
            values = pd.to_numeric(values, errors="coerce").fillna(0).astype("int64")
        elif kind == "float":
            values = pd.to_numeric(values, errors="coerce").astype("float64")
        elif kind == "bool":
            values = as_bool(values)
        elif kind == "time":
            values = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
            values = values.astype("datetime64[ns, UTC]")
        out[col] = values
    return out


def normalize_invocations(frame: pd.DataFrame | None) -> pd.DataFrame:
    """Invocations with ``INVOCATION_COLUMNS`` first and fixed dtypes (empty is fine)."""
    return _coerce(frame, INVOCATION_COLUMNS, _INVOCATION_KINDS)


def normalize_cloudwatch(frame: pd.DataFrame | None) -> pd.DataFrame:
    """CloudWatch rows with ``CLOUDWATCH_COLUMNS`` first and fixed dtypes (UTC timestamps)."""
    return _coerce(frame, CLOUDWATCH_COLUMNS, _CLOUDWATCH_KINDS)


def invocations_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Invocation rows (dicts) as a normalised frame."""
    return normalize_invocations(pd.DataFrame(list(rows)))


def cloudwatch_frame(frames: Iterable[pd.DataFrame | None]) -> pd.DataFrame:
    """CloudWatch rows of several endpoints in one normalised frame."""
    parts = [f for f in frames if f is not None and len(f)]
    return normalize_cloudwatch(pd.concat(parts, ignore_index=True) if parts else None)


# -- compact invocation rows ----------------------------------------------------------------
FOLD_ROWS = 4096  # rows buffered as dicts before they are folded into a columnar chunk
_STR_COLUMNS = tuple(c for c, k in _INVOCATION_KINDS.items() if k == "str")
_NARROW = tuple((t, np.iinfo(t)) for t in (np.int8, np.int16, np.int32))


def _narrow(ints: np.ndarray, low: int, high: int) -> np.ndarray:
    """``ints`` (all within ``low``..``high``) in the narrowest signed dtype holding both."""
    for dtype, info in _NARROW:
        if info.min <= low and high <= info.max:
            return ints.astype(dtype)
    return ints


@dataclass(frozen=True)
class _Chunk:
    """Folded rows, one array per column: repeated strings as codes into the labels,
    numbers in narrow dtypes. Never changed once made (readers share it)."""

    columns: dict[str, np.ndarray]
    size: int
    trials: frozenset[int]  # codes of the trial ids it holds


@dataclass(frozen=True)
class _View:
    """What a reader needs of ``InvocationColumns`` at one moment (immutable)."""

    chunks: tuple[_Chunk, ...]
    labels: dict[str, tuple[str, ...]]


class InvocationColumns:
    """Invocation rows kept compactly: under 100 bytes a row instead of a dict's 1-2 KB.

    Rows come in as dicts and wait in a small buffer; every ``FOLD_ROWS`` (or when read)
    they are folded into a columnar chunk whose repeated strings (trial, phase, outcome,
    error code, ...) are codes into one table of labels per column. Not thread-safe:
    ``engine.context.Rows`` adds the lock; the run store's reader uses it alone.
    """

    def __init__(self) -> None:
        self._chunks: list[_Chunk] = []
        self._buffer: list[dict[str, Any]] = []
        self._codes: dict[str, dict[str, int]] = {c: {} for c in _STR_COLUMNS}
        self._labels: dict[str, list[str]] = {c: [] for c in _STR_COLUMNS}
        self._counts: Counter[str] = Counter()
        self._length = 0

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows (dicts, in order)."""
        for row in rows:
            self._buffer.append(row)
            trial = row.get("trial_id")
            self._counts["" if trial is None else str(trial)] += 1
            self._length += 1
        if len(self._buffer) >= FOLD_ROWS:
            self._fold()

    def add_frame(self, frame: pd.DataFrame | None) -> None:
        """Append the rows of an invocations frame (e.g. a stored run's)."""
        if frame is None or not len(frame):
            return
        self._fold()
        frame = normalize_invocations(frame)
        for start in range(0, len(frame), 16 * FOLD_ROWS):
            part = frame.iloc[start : start + 16 * FOLD_ROWS]
            self._chunks.append(self._compact({c: part[c] for c in part.columns}, len(part)))
        self._counts.update(frame["trial_id"].value_counts().to_dict())
        self._length += len(frame)

    def __len__(self) -> int:
        return self._length

    def count(self, trial_id: str) -> int:
        """How many rows ``trial_id`` has."""
        return self._counts.get(trial_id, 0)

    def view(self) -> _View:
        """An immutable snapshot (the buffer folded in) to build frames from, outside any lock."""
        self._fold()
        return _View(tuple(self._chunks), {c: tuple(v) for c, v in self._labels.items()})

    def frame(self, trial_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """The rows (of ``trial_ids`` only, if given) as a normalised invocations frame."""
        return frame_of(self.view(), trial_ids)

    def _fold(self) -> None:
        """Fold the buffer into a chunk; a small last chunk (a read came early) grows
        instead, so frequent reads do not leave many tiny chunks."""
        if not self._buffer:
            return
        rows, self._buffer = self._buffer, []
        chunk = self._compact(_columns_of(rows), len(rows))
        if self._chunks and self._chunks[-1].size < FOLD_ROWS:
            chunk = _joined(self._chunks.pop(), chunk)
        self._chunks.append(chunk)

    def _compact(self, given: dict[str, Any], size: int) -> _Chunk:
        """A chunk of ``given`` columns (sequences or Series of ``size`` values)."""
        columns: dict[str, np.ndarray] = {}
        for col, values in given.items():
            kind = _INVOCATION_KINDS.get(col)
            if kind == "str":
                columns[col] = self._encode(col, pd.Series(values, dtype=object, copy=False))
            elif kind == "int":
                ints = _plain(values, np.int64)
                if ints is None:
                    ints = pd.to_numeric(pd.Series(values), errors="coerce").fillna(0)
                    ints = ints.to_numpy(np.int64)
                columns[col] = _narrow(ints, int(ints.min()), int(ints.max())) if size else ints
            elif kind == "float":
                floats = _plain(values, np.float64)
                if floats is None:
                    floats = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(np.float64)
                columns[col] = floats
            elif kind == "bool":
                flags = np.asarray(values)
                columns[col] = (
                    flags if flags.dtype == bool else as_bool(pd.Series(values)).to_numpy()
                )
            else:
                columns[col] = pd.Series(values).to_numpy()
        if "trial_id" not in columns:
            columns["trial_id"] = np.full(size, self._code("trial_id", ""), np.int32)
        trials = frozenset(np.unique(columns["trial_id"]).tolist())
        return _Chunk(columns, size, trials)

    def _encode(self, col: str, values: pd.Series) -> np.ndarray:
        text = values.astype(object).where(values.notna(), "")
        local, uniques = pd.factorize(text, use_na_sentinel=False)
        mapping = np.array([self._code(col, str(u)) for u in uniques], dtype=np.int64)
        codes = mapping[local] if len(mapping) else np.zeros(0, np.int64)
        return _narrow(codes, -1, len(self._labels[col]))

    def _code(self, col: str, label: str) -> int:
        codes = self._codes[col]
        code = codes.get(label)
        if code is None:
            code = codes[label] = len(self._labels[col])
            self._labels[col].append(label)
        return code


def _plain(values: Any, dtype: type) -> np.ndarray | None:
    """``values`` as an array of ``dtype`` when they are plain numbers (None as NaN for
    floats), else None (the caller coerces them the slow way)."""
    try:
        return np.asarray(values, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        return None


def _columns_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Dict rows as columns (every key any row has, in order of appearance); strings stay
    Python objects until they are encoded."""
    names = list(rows[0])
    if len(names) > 1 and set(map(len, rows)) == {len(names)}:
        try:  # every row has the same keys: transpose at C speed
            return dict(zip(names, zip(*map(itemgetter(*names), rows), strict=True), strict=True))
        except KeyError:  # same sizes, other keys
            pass
    for row in rows:  # rare: rows with other columns
        names += [k for k in row if k not in names]
    return {col: [r.get(col) for r in rows] for col in names}


def _filler(col: str, size: int) -> np.ndarray:
    """Values of a column a chunk lacks: what normalising a missing value gives (code -1
    is the label "")."""
    kind = _INVOCATION_KINDS.get(col)
    if kind == "str":
        return np.full(size, -1, np.int32)
    if kind == "int":
        return np.zeros(size, np.int32)
    if kind == "float":
        return np.full(size, np.nan)
    if kind == "bool":
        return np.zeros(size, bool)
    return np.full(size, None, dtype=object)


def _joined(first: _Chunk, second: _Chunk) -> _Chunk:
    """Two chunks as one (a column one lacks takes the other's missing values)."""
    names = [*first.columns, *(c for c in second.columns if c not in first.columns)]
    columns = {}
    for col in names:
        a = first.columns.get(col)
        b = second.columns.get(col)
        if a is None or b is None:  # rare: a row with a column the others lack
            columns = _stacked([first, second], names, None)
            break
        columns[col] = np.concatenate([a, b])
    return _Chunk(columns, first.size + second.size, first.trials | second.trials)


def _stacked(
    chunks: list[_Chunk], names: list[str], masks: list[np.ndarray | None] | None
) -> dict[str, np.ndarray]:
    """Each column of ``chunks`` (rows picked by ``masks``) as one array."""
    out = {}
    for col in names:
        pieces = []
        for i, chunk in enumerate(chunks):
            values = chunk.columns.get(col)
            if values is None:
                values = _filler(col, chunk.size)
            mask = masks[i] if masks is not None else None
            pieces.append(values if mask is None else values[mask])
        out[col] = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
    return out


def frame_of(view: _View, trial_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The rows of a snapshot (of ``trial_ids`` only, if given) as an invocations frame,
    built one column at a time in its final dtypes (no copy of the whole table on the way)."""
    wanted = None if trial_ids is None else {str(t) for t in trial_ids}
    codes = (
        None
        if wanted is None
        else np.array([i for i, t in enumerate(view.labels["trial_id"]) if t in wanted], np.int32)
    )
    chosen = frozenset(codes.tolist()) if codes is not None else frozenset()
    chunks: list[_Chunk] = []
    masks: list[np.ndarray | None] = []
    for chunk in view.chunks:
        if codes is None or chunk.trials <= chosen:
            chunks.append(chunk)
            masks.append(None)
        elif not chunk.trials.isdisjoint(chosen):
            chunks.append(chunk)
            masks.append(np.isin(chunk.columns["trial_id"], codes))
    size = sum(c.size if m is None else int(m.sum()) for c, m in zip(chunks, masks, strict=True))
    if not size:
        return normalize_invocations(None)
    present = {c for chunk in chunks for c in chunk.columns}
    extras = [c for chunk in chunks for c in chunk.columns if c not in INVOCATION_COLUMNS]
    names = [*INVOCATION_COLUMNS, *dict.fromkeys(extras)]
    data: dict[str, Any] = {}
    for col in names:
        if col not in present:
            data[col] = _final(col, _filler(col, size), ())
            continue
        values = _stacked(chunks, [col], masks)[col]
        data[col] = _final(col, values, view.labels.get(col, ()))
    return normalize_invocations(pd.DataFrame(data, index=pd.RangeIndex(size), copy=False))


def _final(col: str, values: np.ndarray, labels: tuple[str, ...]) -> Any:
    """One stacked column in the dtype ``normalize_invocations`` gives it."""
    kind = _INVOCATION_KINDS.get(col)
    if kind == "str":  # code -1 (a chunk without the column) reads as ""
        table = np.asarray((*labels, ""), dtype=object)
        return pd.Series(table[values], copy=False).astype(_DTYPES["str"])
    if kind == "int":
        return values.astype(np.int64)
    if kind == "float":
        return values.astype(np.float64, copy=False)
    if kind == "bool":
        return values.astype(bool, copy=False)
    return pd.Series(values, copy=False).infer_objects()
