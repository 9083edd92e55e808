"""Panels built against the session emulator (see tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sm_bench_widgets.widgets import BenchmarkPanel

CSV_EXAMPLES = [
    {"Body": "1,2,3,4", "ContentType": "text/csv"},
    {"Body": "5,6,7,8", "ContentType": "text/csv"},
]


@pytest.fixture(autouse=True)
def own_cache_dir(tmp_path_factory, monkeypatch) -> Any:
    """A cache dir of each test's own: panels' remembered jobs and job result mirrors."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder


@pytest.fixture
def make_panel(emulator_target, tmp_path) -> Callable[..., BenchmarkPanel]:
    """Build a panel at the emulator with small, valid defaults (overridable)."""

    def make(**overrides: Any) -> BenchmarkPanel:
        defaults: dict[str, Any] = {
            "model_name": "demo-tabular",
            "invoke_args_examples": CSV_EXAMPLES,
            "memory_sizes": [1024, 2048],
            "stability_benchmark_invocations": 60,
            "concurrency_benchmark_max_conc": [2],
            "concurrency_num_clients_multiplier": [1, 2],
            "concurrency_benchmark_invocations": 40,
            "result_save_path": str(tmp_path),
        }
        defaults.update(overrides)
        return BenchmarkPanel(target=emulator_target, refresh_interval=0.1, **defaults)

    return make
