"""The Altair internals the live charts rely on are still there, and do what we use them for."""

from __future__ import annotations

import altair as alt
import pandas as pd

from sm_bench_widgets import charts
from sm_bench_widgets.adapters import altair_jupyter


def test_altair_still_has_the_internals_the_adapter_uses():
    problems = altair_jupyter.compatibility_problems()
    assert not problems, (
        "sm_bench_widgets/adapters/altair_jupyter.py relies on private JupyterChart names "
        f"that altair {alt.__version__} changed:\n  "
        + "\n  ".join(problems)
        + "\nPin altair below this version in pyproject.toml, or update the adapter to the "
        "new internals (or a public API, if this version has one for in-place data updates)."
    )


def test_updates_carry_only_the_named_datasets():
    chart = charts.timeline(None)
    widget = alt.JupyterChart(chart)
    assert altair_jupyter.sent_dataset_updates(widget) == []
    frame = pd.DataFrame({"x": [1]})
    rows = {"timeline_points": frame.to_dict("records")}
    altair_jupyter.send_dataset_updates(widget, rows)
    assert altair_jupyter.sent_dataset_updates(widget) == [
        {"namespace": "data", "name": "timeline_points", "scope": [], "value": [{"x": 1}]}
    ]
    assert widget.get_state(altair_jupyter.UPDATES_TRAIT)  # synced to the front end
