"""The live dashboard: one ``alt.JupyterChart`` per chart of ``sm_bench_widgets.charts``.

Charts there read named datasets and their encodings never depend on the data, so a
refresh swaps only the rows: the new rows go to the front end as a Vega changeset (no
re-embedding, no flicker) and into the widget's ``spec`` on the Python side, which is what
a newly opened view or a reloaded page gets. ``resync()`` sends the whole spec again.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import ipywidgets as w
import pandas as pd

from sm_bench_widgets import charts
from sm_bench_widgets.adapters import altair_jupyter

INVOCATION_CHARTS = ("latency_distribution", "cold_vs_warm", "timeline")
RESULT_CHARTS = ("cost_vs_latency", "concurrency_chart")


class LiveChart:
    """A JupyterChart whose named datasets are replaced in place."""

    def __init__(self, chart: alt.TopLevelMixin):
        self.widget = alt.JupyterChart(chart, embed_options={"actions": False})
        self.updates = 0

    def datasets(self) -> dict[str, list[dict[str, Any]]]:
        """The rows the chart currently shows, by dataset name."""
        return (self.widget.spec or {}).get("datasets", {})

    def update(self, chart: alt.TopLevelMixin) -> bool:
        """Show the data of ``chart`` (same structure); whether anything changed."""
        current = self.datasets()
        changed = {
            name: rows
            for name, rows in charts.named_datasets(chart).items()
            if current.get(name) != rows
        }
        if not changed:
            return False
        current.update(changed)
        altair_jupyter.send_dataset_updates(self.widget, changed)
        self.updates += 1
        return True

    def resync(self) -> None:
        """Send the whole spec (with current data) to every view."""
        self.widget.send_state("spec")


class Dashboard:
    """Accumulates invocation rows and keeps the five live charts up to date."""

    def __init__(self) -> None:
        self.charts: dict[str, LiveChart] = {
            "latency_distribution": LiveChart(charts.latency_distribution(None)),
            "cold_vs_warm": LiveChart(charts.cold_vs_warm(None)),
            "cost_vs_latency": LiveChart(charts.cost_vs_latency(None)),
            "concurrency_chart": LiveChart(charts.concurrency_chart(None)),
            "timeline": LiveChart(charts.timeline(None)),
        }
        c = {name: live.widget for name, live in self.charts.items()}
        self.widget = w.VBox(
            [
                w.HBox([c["latency_distribution"], c["cold_vs_warm"]]),
                c["cost_vs_latency"],
                c["concurrency_chart"],
                c["timeline"],
            ],
            layout=w.Layout(display="none"),
        )
        self._chunks: list[pd.DataFrame] = []
        self._frame: pd.DataFrame | None = None
        self.row_count = 0

    def show(self, visible: bool = True) -> None:
        """Show or hide the charts (hidden until a run starts)."""
        self.widget.layout.display = "" if visible else "none"

    def reset(self) -> None:
        """Forget the rows of a previous run."""
        self._chunks, self._frame, self.row_count = [], None, 0
        self.refresh_invocations()
        self.refresh_result(None)

    def add_rows(self, rows: list[dict[str, Any]]) -> None:
        """Take invocation rows (``INVOCATION_COLUMNS`` dicts) for the next refresh."""
        if rows:
            self._chunks.append(pd.DataFrame.from_records(rows))
            self.row_count += len(rows)
            self._frame = None

    def replace_rows(self, frame: pd.DataFrame) -> None:
        """Hold exactly the rows of ``frame`` (e.g. a finished result's invocations)."""
        self._chunks, self._frame, self.row_count = [frame], frame, len(frame)

    def invocations(self) -> pd.DataFrame | None:
        """Every row taken so far as one frame (None before the first)."""
        if self._frame is None and self._chunks:
            self._frame = pd.concat(self._chunks, ignore_index=True)
            self._chunks = [self._frame]
        return self._frame

    def refresh_invocations(self) -> list[str]:
        """Recompute the charts built from raw invocations; the names that changed."""
        frame = self.invocations()
        changed = [
            name
            for name in INVOCATION_CHARTS
            if self.charts[name].update(getattr(charts, name)(frame))
        ]
        return changed

    def refresh_result(self, result: Any) -> list[str]:
        """Recompute cost and concurrency charts from a (partial) ``BenchmarkResult``."""
        if result is None:
            built = {
                "cost_vs_latency": charts.cost_vs_latency(None),
                "concurrency_chart": charts.concurrency_chart(None),
            }
        else:
            built = {
                "cost_vs_latency": charts.cost_vs_latency(result.costs, result.recommendation),
                "concurrency_chart": charts.concurrency_chart(result.concurrency),
            }
        return [name for name, chart in built.items() if self.charts[name].update(chart)]

    def resync(self) -> None:
        """Send every chart's whole spec again (for views opened during the run)."""
        for live in self.charts.values():
            live.resync()
