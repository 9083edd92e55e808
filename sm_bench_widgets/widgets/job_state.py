"""The job a panel launched from a folder, remembered across kernel restarts.

A small JSON file per notebook folder under the user's cache dir holds the current job's
name, so a panel made again (the cell re-run, the kernel restarted) offers to reattach to
it instead of launching a second job.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any


def state_dir() -> Path:
    """``$XDG_CACHE_HOME/sm-bench-widgets/panels`` (``~/.cache`` without the variable)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "sm-bench-widgets" / "panels"


def state_file(folder: str | os.PathLike[str] | None = None) -> Path:
    """The state file of ``folder`` (the working folder, where the notebook runs)."""
    where = os.path.abspath(folder if folder is not None else os.getcwd())
    key = hashlib.sha256(where.encode()).hexdigest()[:16]
    return state_dir() / f"{key}.json"


def remember(job_name: str, target: Any, folder: str | os.PathLike[str] | None = None) -> None:
    """Record ``job_name`` as the folder's current job (written atomically)."""
    path = state_file(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "job_name": job_name,
        "folder": os.path.abspath(folder if folder is not None else os.getcwd()),
        "endpoint_url": getattr(target, "endpoint_url", None),
        "region": getattr(target, "region_name", None),
        "recorded_at": time.time(),
    }
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(record))
    partial.replace(path)


def recalled(folder: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The folder's recorded job (``{"job_name", ...}``), or None."""
    try:
        record = json.loads(state_file(folder).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("job_name") else None


def forget(job_name: str, folder: str | os.PathLike[str] | None = None) -> None:
    """Drop the record when it still names ``job_name``."""
    record = recalled(folder)
    if record is not None and record["job_name"] == job_name:
        state_file(folder).unlink(missing_ok=True)
