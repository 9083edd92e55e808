"""The live dashboard: one ``alt.JupyterChart`` per chart of ``sm_bench_widgets.charts``.

While a chart keeps its layout (``charts.layout_key``), a refresh swaps only the rows: the new
rows go to the front end as a Vega changeset (no re-embedding, no flicker) and into the
widget's ``spec`` on the Python side, which is what a newly opened view or a reloaded page
gets. When the layout changes (the first rows replace the waiting note, a selection
retitles a chart) the chart is embedded anew. ``resync()`` sends the whole spec again.

A click on a point of the cost chart selects that configuration (the chart's ``PICK``
selection, read back through ``JupyterChart.selections``): the selection view shows it
beside the recommendation, and the latency distribution and the timeline keep only its
invocations until the selection is cleared (double click).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import altair as alt
import ipywidgets as w
import pandas as pd

from sm_bench_widgets import charts
from sm_bench_widgets.adapters import altair_jupyter
from sm_bench_widgets.widgets.selection import Configuration, SelectionView

INVOCATION_CHARTS = ("latency_distribution", "cold_vs_warm", "timeline")
RESULT_CHARTS = ("cost_vs_latency", "concurrency_chart")
SELECTED_CHARTS = ("latency_distribution", "timeline")
"""The charts that keep only the selected configuration's invocations."""


class LiveChart:
    """A JupyterChart whose named datasets are replaced in place while its layout stays."""

    def __init__(self, chart: alt.TopLevelMixin, embed_options: dict[str, Any] | None = None):
        self.widget = alt.JupyterChart(
            chart, embed_options={"actions": False, **(embed_options or {})}
        )
        self._layout = charts.layout_key(chart)
        self._on_select: list[tuple[str, Callable[[list[dict[str, Any]]], None]]] = []
        self._on_change: list[Callable[[], None]] = []
        self.updates = 0
        self.embeds = 1

    def datasets(self) -> dict[str, list[dict[str, Any]]]:
        """The rows the chart currently shows, by dataset name."""
        return (self.widget.spec or {}).get("datasets", {})

    def update(self, chart: alt.TopLevelMixin) -> bool:
        """Show ``chart``: its rows in place if its layout is the current one, else embedded
        anew (which clears a selection made in it); whether anything changed."""
        layout = charts.layout_key(chart)
        if layout != self._layout:
            self._layout = layout
            self.widget.chart = chart
            self.updates += 1
            self.embeds += 1
            self._observe_selections()
            for _, callback in self._on_select:
                callback([])
            self._changed()
            return True
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
        self._changed()
        return True

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every update that changed what the chart shows."""
        self._on_change.append(callback)

    def _changed(self) -> None:
        for callback in self._on_change:
            callback()

    def on_select(self, name: str, callback: Callable[[list[dict[str, Any]]], None]) -> None:
        """Call ``callback(values)`` whenever selection ``name`` changes in the front end
        (``values``: the selected points' fields; empty when cleared or re-embedded)."""
        self._on_select.append((name, callback))
        self._observe_selections()

    def _observe_selections(self) -> None:
        # JupyterChart makes a new ``selections`` object whenever its chart is assigned
        selections = self.widget.selections
        for name, callback in self._on_select:
            if selections.has_trait(name):
                selections.observe(
                    lambda change, callback=callback: callback(list(change.new.value)),
                    names=[name],
                )

    def resync(self) -> None:
        """Send the whole spec (with current data) to every view."""
        self.widget.send_state("spec")


class Dashboard:
    """Accumulates invocation rows, keeps the five live charts up to date, and follows the
    configuration selected in the cost chart."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # the refresher thread and front-end clicks both draw
        self.selected: Configuration | None = None
        self._result: Any = None
        self.selection = SelectionView()
        self.charts: dict[str, LiveChart] = {
            "latency_distribution": LiveChart(charts.latency_distribution(None)),
            "cold_vs_warm": LiveChart(charts.cold_vs_warm(None)),
            # SVG: each point is an element a user (or a browser test) can click
            "cost_vs_latency": LiveChart(charts.cost_vs_latency(None), {"renderer": "svg"}),
            "concurrency_chart": LiveChart(charts.concurrency_chart(None)),
            "timeline": LiveChart(charts.timeline(None)),
        }
        cost = self.charts["cost_vs_latency"]
        cost.on_select(charts.PICK, self._picked)
        cost.on_change(self._show_selection)  # e.g. a what-if re-ranking moved the pick
        c = {name: live.widget for name, live in self.charts.items()}
        self.widget = w.VBox(
            [
                w.HBox([c["latency_distribution"], c["cold_vs_warm"]]),
                w.HBox([c["cost_vs_latency"], self.selection.widget]),
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
        """Forget the rows, result and selection of a previous run."""
        with self._lock:
            self._chunks, self._frame, self.row_count = [], None, 0
            self.selected, self._result = None, None
            self.selection.hide()
            self.refresh_invocations()
            self.refresh_result(None)

    def add_rows(self, rows: list[dict[str, Any]]) -> None:
        """Take invocation rows (``INVOCATION_COLUMNS`` dicts) for the next refresh."""
        if rows:
            with self._lock:
                self._chunks.append(pd.DataFrame.from_records(rows))
                self.row_count += len(rows)
                self._frame = None

    def replace_rows(self, frame: pd.DataFrame) -> None:
        """Hold exactly the rows of ``frame`` (e.g. a finished result's invocations)."""
        with self._lock:
            self._chunks, self._frame, self.row_count = [frame], frame, len(frame)

    def invocations(self) -> pd.DataFrame | None:
        """Every row taken so far as one frame (None before the first)."""
        with self._lock:
            if self._frame is None and self._chunks:
                self._frame = pd.concat(self._chunks, ignore_index=True)
                self._chunks = [self._frame]
            return self._frame

    def _waiting(self) -> bool:
        """Whether an empty chart waits for data: no result yet, or its run goes on."""
        return self._result is None or getattr(self._result, "status", "") == "running"

    def _invocation_chart(self, name: str, frame: pd.DataFrame | None) -> alt.TopLevelMixin:
        build = getattr(charts, name)
        if name in SELECTED_CHARTS and self.selected is not None:
            return build(frame, self.selected.key(), waiting=self._waiting())
        return build(frame, waiting=self._waiting())

    def refresh_invocations(self) -> list[str]:
        """Recompute the charts built from raw invocations; the names that changed."""
        with self._lock:
            frame = self.invocations()
            return [
                name
                for name in INVOCATION_CHARTS
                if self.charts[name].update(self._invocation_chart(name, frame))
            ]

    def refresh_result(self, result: Any) -> list[str]:
        """Recompute cost and concurrency charts from a (partial) ``BenchmarkResult``."""
        with self._lock:
            was_waiting = self._waiting()
            self._result = result
            waiting = self._waiting()
            if result is None:
                built = {
                    "cost_vs_latency": charts.cost_vs_latency(None),
                    "concurrency_chart": charts.concurrency_chart(None),
                }
            else:
                built = {
                    "cost_vs_latency": charts.cost_vs_latency(
                        result.costs, result.recommendation, waiting=waiting
                    ),
                    "concurrency_chart": charts.concurrency_chart(
                        result.concurrency, waiting=waiting
                    ),
                }
            changed = [name for name, chart in built.items() if self.charts[name].update(chart)]
            if waiting != was_waiting:  # the run ended (or a new one began): their notes change
                changed += self.refresh_invocations()
            self._show_selection()
            return changed

    def select(self, selected: Configuration | None) -> None:
        """Select a configuration (None: clear): the selection view and the filtered charts
        follow. A click in the cost chart lands here."""
        with self._lock:
            if selected == self.selected:
                return
            self.selected = selected
            frame = self.invocations()
            for name in SELECTED_CHARTS:
                self.charts[name].update(self._invocation_chart(name, frame))
            self._show_selection()

    def _picked(self, values: list[dict[str, Any]]) -> None:
        """The cost chart's selection changed in the front end."""
        self.select(Configuration.of(values[0]) if values else None)

    def _show_selection(self) -> None:
        """Show the selected configuration against what the cost chart shows now."""
        with self._lock:
            rows = self.charts["cost_vs_latency"].datasets().get("cost_vs_latency")
            if self.selected is None or self._result is None or not rows:
                self.selection.hide()
                return
            self.selection.show(self.selected, self._result, pd.DataFrame(rows))

    def resync(self) -> None:
        """Send every chart's whole spec again (for views opened during the run)."""
        for live in self.charts.values():
            live.resync()
