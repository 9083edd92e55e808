"""The configuration clicked in the cost chart, beside the recommendation.

``comparison`` (pure) puts the selected configuration's figures next to the recommended
one's, from the same cost table (so at the same monthly volume), with the differences.
``SelectionView`` shows them for the rows the cost chart shows (``cost_vs_latency_data``:
figures and the recommended row, also after a what-if re-ranking), the selected
configuration's own boto3 snippet (the card's ``boto3_snippet``) and an export of both
into the result's folder.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ipywidgets as w
import pandas as pd

from sm_bench_widgets.analysis.recommend import NO_MATH
from sm_bench_widgets.charts import CONFIG_KEYS
from sm_bench_widgets.widgets.card import boto3_snippet, config_label, endpoint_config_name
from sm_bench_widgets.widgets.exports import result_folder

FIGURES = {  # cost table column -> (label, unit)
    "p50_ms": ("p50 latency", "ms"),
    "p90_ms": ("p90 latency", "ms"),
    "cost_per_1m_usd": ("cost per 1M", "USD"),
    "monthly_cost_usd": ("cost per month", "USD"),
}


@dataclass(frozen=True)
class Configuration:
    """One serverless configuration, as the cost chart's selection names it."""

    memory_size: int
    max_concurrency: int
    provisioned_concurrency: int = 0

    @classmethod
    def of(cls, source: Any) -> Configuration:
        """From a selection's values (a dict of ``CONFIG_KEYS``) or an object that has them
        (a ``Recommendation``); no provisioned concurrency means 0."""
        get = source.get if isinstance(source, dict) else lambda key: getattr(source, key, None)
        provisioned = get("provisioned_concurrency")
        provisioned = 0 if provisioned is None or pd.isna(provisioned) else provisioned
        return cls(int(get("memory_size")), int(get("max_concurrency")), int(provisioned))

    def key(self) -> dict[str, int]:
        """``CONFIG_KEYS`` values (what the charts filter on)."""
        return asdict(self)


def _row(costs: pd.DataFrame | None, config: Any) -> pd.Series | None:
    """The cost table's row of ``config`` (None when it has none)."""
    if costs is None or costs.empty or config is None:
        return None
    match = pd.Series(True, index=costs.index)
    for key in CONFIG_KEYS:
        values = pd.to_numeric(costs[key], errors="coerce")
        want = getattr(config, key)
        if key == "provisioned_concurrency":
            values, want = values.fillna(0), want or 0
        match &= values == want
    rows = costs.loc[match]
    return None if rows.empty else rows.iloc[0]


def recommended_in(rows: pd.DataFrame | None) -> Configuration | None:
    """The configuration whose ``role`` is ``recommended`` in the cost chart's rows."""
    if rows is None or rows.empty or "role" not in rows:
        return None
    picked = rows.loc[rows["role"] == "recommended"]
    return None if picked.empty else Configuration.of(picked.iloc[0].to_dict())


def monthly_volume(costs: pd.DataFrame | None) -> int | None:
    """The monthly invocations a cost table was computed at (a configuration's monthly cost
    over its cost per invocation, which spreads any provisioned holding cost over that
    volume); None when it cannot tell."""
    if costs is None or costs.empty or "cost_per_invocation_usd" not in costs:
        return None
    per = pd.to_numeric(costs["cost_per_invocation_usd"], errors="coerce")
    monthly = pd.to_numeric(costs["monthly_cost_usd"], errors="coerce")
    volumes = (monthly / per.where(per > 0)).dropna()
    return int(round(float(volumes.median()))) if len(volumes) else None


def comparison(
    costs: pd.DataFrame | None, selected: Configuration, recommended: Any = None
) -> pd.DataFrame:
    """Rows of ``FIGURES``: the selected and recommended configurations' figures from the
    same cost table, the difference (selected minus recommended) and it as a share."""
    picked, rec = _row(costs, selected), _row(costs, recommended)
    rows = []
    for column, (label, unit) in FIGURES.items():
        mine = float(picked[column]) if picked is not None else math.nan
        theirs = float(rec[column]) if rec is not None else math.nan
        delta = mine - theirs
        share = delta / theirs if theirs else math.nan
        rows.append(
            {
                "figure": label,
                "unit": unit,
                "selected": mine,
                "recommended": theirs,
                "delta": delta,
                "delta_share": share,
            }
        )
    return pd.DataFrame(rows)


def _sign(value: float) -> str:
    return "+" if value > 0 else ("−" if value < 0 else "±")


def _figure(value: float, unit: str, signed: bool = False) -> str:
    """``$1.2345`` or ``12.3 ms``; with ``signed``, a difference such as ``−$0.0094``."""
    if not math.isfinite(value):
        return "n/a"
    sign = _sign(value) if signed else ""
    size = abs(value) if signed else value
    return f"{sign}${size:,.4f}" if unit == "USD" else f"{sign}{size:,.1f} ms"


def comparison_html(
    table: pd.DataFrame,
    selected: Configuration,
    recommended: Any = None,
    monthly: int | None = None,
    emulated: bool = False,
) -> str:
    """The comparison as an HTML table (every text escaped), headed by what was selected."""
    e = html.escape
    same = recommended is not None and Configuration.of(recommended) == selected
    if recommended is None:
        against = "There is no recommendation yet to compare it with."
    elif same:
        against = "This is the recommended configuration."
    else:
        against = f"Against the recommendation, {e(config_label(recommended))}:"
    volume = (
        f"<p style='margin:2px 0'>Cost per month at {monthly:,} invocations a month.</p>"
        if monthly is not None
        else ""
    )
    cell = "style='padding:2px 8px;white-space:nowrap;text-align:right'"
    head = (
        f"<tr><th></th><th {cell}>selected</th><th {cell}>recommended</th>"
        f"<th {cell}>difference</th></tr>"
    )
    body = []
    for row in table.itertuples():
        share = row.delta_share
        share = f" ({_sign(share)}{abs(share):.1%})" if math.isfinite(share) else ""
        body.append(
            f"<tr><td style='padding:2px 8px 2px 0;white-space:nowrap'>{e(row.figure)}</td>"
            f"<td {cell}>{e(_figure(row.selected, row.unit))}</td>"
            f"<td {cell}>{e(_figure(row.recommended, row.unit))}</td>"
            f"<td {cell}><b>{e(_figure(row.delta, row.unit, signed=True) + share)}</b></td></tr>"
        )
    note = "<p style='color:#8a5300;margin:2px 0'>Emulated figures.</p>" if emulated else ""
    return (
        f"<div class='smb-selection-figures {NO_MATH}'>"
        f"<h4 style='margin:4px 0'>Selected: {e(config_label(selected))}</h4>"
        f"<p style='margin:2px 0'>{against}</p>{note}{volume}"
        f"<table class='smb-selection-table' style='border-collapse:collapse'>{head}"
        f"{''.join(body)}</table></div>"
    )


def export_selection(
    result: Any,
    selected: Configuration,
    recommended: Any = None,
    costs: pd.DataFrame | None = None,
    model_name: str = "",
) -> list[Path]:
    """Write the selected configuration (figures, differences, endpoint config) as JSON and
    its boto3 snippet as Python into the result's folder; the paths written."""
    costs = result.costs if costs is None else costs
    folder = result_folder(result)
    folder.mkdir(parents=True, exist_ok=True)
    stem = "selected-" + endpoint_config_name(model_name or "model", selected)
    table = comparison(costs, selected, recommended)
    record = {
        "run_id": getattr(result, "run_id", ""),
        "emulated": bool(getattr(result, "emulated", False)),
        "model_name": model_name,
        "selected": selected.key(),
        "recommended": Configuration.of(recommended).key() if recommended else None,
        "monthly_invocations": monthly_volume(costs),
        "figures": json.loads(table.to_json(orient="records")),
        "endpoint_config_name": endpoint_config_name(model_name or "model", selected),
    }
    snippet = boto3_snippet(selected, model_name, getattr(result, "region", None))
    paths = [folder / f"{stem}.json", folder / f"{stem}.py"]
    paths[0].write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(snippet + "\n", encoding="utf-8")
    return paths


class SelectionView:
    """The selected configuration against the recommendation, its snippet and its export;
    hidden while nothing is selected."""

    def __init__(self) -> None:
        self.selected: Configuration | None = None
        self._context: tuple[Any, Configuration | None, pd.DataFrame, int | None] | None = None
        self.html = w.HTML()
        self.snippet = w.Textarea(rows=12, layout=w.Layout(width="520px"))
        self.snippet.add_class("smb-selection-snippet")
        self.export_button = w.Button(description="Export this configuration", icon="download")
        self.export_button.layout.width = "auto"
        self.paths = w.HTML()
        self.export_button.on_click(lambda _b: self.export())
        self.widget = w.VBox(
            [
                self.html,
                w.HTML("<b>Create it with boto3</b> (select and copy):"),
                self.snippet,
                w.HBox([self.export_button]),
                self.paths,
            ],
            layout=w.Layout(display="none", margin="0 0 0 16px", width="560px"),
        )
        self.widget.add_class("smb-selection")

    def show(self, selected: Configuration, result: Any, rows: pd.DataFrame) -> None:
        """Show ``selected`` against the recommended row of ``rows`` (the cost chart's: a
        cost table with roles), at the monthly volume the table was computed for."""
        recommended = recommended_in(rows)
        monthly = monthly_volume(rows)
        if selected != self.selected:
            self.paths.value = ""
        self.selected = selected
        self._context = (result, recommended, rows, monthly)
        table = comparison(rows, selected, recommended)
        self.html.value = comparison_html(
            table, selected, recommended, monthly, bool(getattr(result, "emulated", False))
        )
        model = getattr(getattr(result, "config", None), "model_name", "") or ""
        self.snippet.value = boto3_snippet(selected, model, getattr(result, "region", None))
        self.widget.layout.display = ""

    def hide(self) -> None:
        """Nothing selected: hide the view."""
        self.selected, self._context = None, None
        self.paths.value = ""
        self.widget.layout.display = "none"

    def export(self) -> list[Path]:
        """Write the shown configuration (see ``export_selection``); errors are shown."""
        if self.selected is None or self._context is None:
            return []
        result, recommended, costs, _ = self._context
        model = getattr(getattr(result, "config", None), "model_name", "") or ""
        try:
            paths = export_selection(result, self.selected, recommended, costs, model)
        except Exception as exc:  # e.g. a folder that cannot be written: say so here
            self.paths.value = (
                f"<span style='color:#b00020'>Export failed: {html.escape(str(exc))}</span>"
            )
            return []
        items = ", ".join(f"<code>{html.escape(str(p))}</code>" for p in paths)
        self.paths.value = f"<span class='smb-selection-exports'>Written: {items}</span>"
        return paths
